"""The decision head: a user vector and an item vector to a score."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from ._init import check_generator, make_linear

__all__ = ["DecisionHead"]

ACTIVATIONS = {
    "relu": nn.ReLU,
    "gelu": nn.GELU,
    "tanh": nn.Tanh,
    "silu": nn.SiLU,
    "leaky_relu": nn.LeakyReLU,
}


class DecisionHead(nn.Module):
    """Score a (user vector, item vector) pair: a dot product plus an optional MLP.

    ``score = <u, i> + mlp([u, i, u * i])``. The dot term alone is matrix
    factorisation; the MLP (MeLU's "decision layers") adds non-linear interactions. Its
    last layer starts at zero, so an untrained head equals the dot product.

    Parameters
    ----------
    embedding_dim : int
        Size ``d`` of the user and item vectors.
    hidden_dims : sequence of int, default=()
        Widths of the hidden layers of the MLP; empty for no MLP.
    activation : {"relu", "gelu", "tanh", "silu", "leaky_relu"}, default="relu"
        Non-linearity between MLP layers.
    use_dot : bool, default=True
        Include the dot product term. With ``use_dot=False`` and no hidden layers
        the head is a linear function of ``[u, i, u * i]``.
    generator : torch.Generator or None, default=None
        Source of the initial weights; None uses a fresh default-seeded generator.

    Examples
    --------
    >>> import torch
    >>> head = DecisionHead(4, hidden_dims=[8], generator=torch.Generator())
    >>> head(torch.ones(4), torch.ones(3, 4))  # one user, three items
    tensor([4., 4., 4.], grad_fn=<AddBackward0>)
    """

    def __init__(
        self,
        embedding_dim: int,
        *,
        hidden_dims: Sequence[int] = (),
        activation: str = "relu",
        use_dot: bool = True,
        generator: torch.Generator | None = None,
    ):
        super().__init__()
        generator = check_generator(generator)
        if activation not in ACTIVATIONS:
            raise ValueError(
                f"activation must be one of {sorted(ACTIVATIONS)}, got {activation!r}"
            )
        self.embedding_dim = int(embedding_dim)
        self.hidden_dims = tuple(int(h) for h in hidden_dims)
        self.activation = activation
        self.use_dot = bool(use_dot)
        layers: list[nn.Module] = []
        width = 3 * self.embedding_dim
        if self.hidden_dims or not self.use_dot:
            for h in self.hidden_dims:
                layers += [make_linear(width, h, generator=generator)]
                layers += [ACTIVATIONS[activation]()]
                width = h
            layers.append(make_linear(width, 1, generator=generator, zero=True))
        self.mlp = nn.Sequential(*layers) if layers else None

    def forward(self, user: torch.Tensor, item: torch.Tensor) -> torch.Tensor:
        """Scores of broadcast (user, item) pairs.

        Parameters
        ----------
        user : Tensor of shape (..., d)
        item : Tensor of shape (..., d)
            Broadcast against ``user``, e.g. ``(d,)`` with ``(n_items, d)``.

        Returns
        -------
        Tensor of shape (...)
            The broadcast batch shape of ``user`` and ``item``.
        """
        user, item = torch.broadcast_tensors(user, item)
        product = user * item
        score = product.sum(-1) if self.use_dot else None
        if self.mlp is not None:
            out = self.mlp(torch.cat([user, item, product], dim=-1)).squeeze(-1)
            score = out if score is None else score + out
        return score

    def pairwise(
        self, user: torch.Tensor, item: torch.Tensor, *, chunk_size: int = 256
    ) -> torch.Tensor:
        """Scores of every user against every item.

        The dot term is one matrix product; the MLP, when present, runs over chunks of
        ``chunk_size`` users so memory stays at ``chunk_size * n_items * 3d`` floats.

        Parameters
        ----------
        user : Tensor of shape (n_users, d)
        item : Tensor of shape (n_items, d)
        chunk_size : int, default=256
            Users per MLP chunk, at least 1.

        Returns
        -------
        Tensor of shape (n_users, n_items)
        """
        if self.use_dot:
            score = user @ item.T
        else:
            score = user.new_zeros((user.shape[0], item.shape[0]))
        if self.mlp is None:
            return score
        parts = []
        for start in range(0, user.shape[0], chunk_size):
            u = user[start : start + chunk_size].unsqueeze(1)
            u, i = torch.broadcast_tensors(u, item.unsqueeze(0))
            parts.append(self.mlp(torch.cat([u, i, u * i], dim=-1)).squeeze(-1))
        return score + torch.cat(parts, dim=0)
