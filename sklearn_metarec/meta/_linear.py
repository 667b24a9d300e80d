"""Closed-form inner loop for models whose scores are linear in the adapted parameters.

When only a user vector and a user bias are adapted and the head is a dot product,
``score = offset + design @ theta`` with ``offset`` and ``design`` independent of
``theta``. Gradient descent on ``theta`` then needs no automatic differentiation of
the network: each step is ``theta -= lr * design.T @ dloss/dscore / n``, a handful of
tensor operations that run batched over tasks without ``vmap``. The result equals
the generic path of :func:`sklearn_metarec.meta.adapt` up to float rounding and is
just as differentiable (second-order MAML gradients flow through ``offset``,
``design``, the initial ``theta`` and the step sizes).

A model opts in with two methods (see :class:`sklearn_metarec.nn.MetaRecNet`):
``supports_linear_adaptation(adapt_names) -> bool`` and
``linear_adaptation_terms(adapt_names, **row_x, **task_x) -> (offset, design)``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch
from torch import nn
from torch.func import grad

from ._functional import call
from ._losses import RowLoss, binary_cross_entropy, squared_error


def _row_weights(offset: torch.Tensor, mask: torch.Tensor | None, reduction: str):
    """Weight of each row in the support loss: mask, divided by n for "mean"."""
    weight = torch.ones_like(offset) if mask is None else mask.to(offset.dtype)
    if reduction == "mean":
        weight = weight / weight.sum(-1, keepdim=True).clamp(min=1.0)
    elif reduction != "sum":
        raise ValueError(f"inner_reduction must be 'mean' or 'sum', got {reduction!r}")
    return weight


__all__ = ["adapt_linear", "linear_terms", "solve_ridge", "supports_linear"]


def supports_linear(model: nn.Module, adapt_names: Sequence[str]) -> bool:
    """Whether ``model`` offers the closed-form path for ``adapt_names``."""
    check = getattr(model, "supports_linear_adaptation", None)
    return bool(check is not None and check(tuple(adapt_names)))


def linear_terms(
    model: nn.Module,
    params: Mapping[str, torch.Tensor] | None,
    buffers: Mapping[str, torch.Tensor] | None,
    x: Mapping[str, torch.Tensor],
    task_x: Mapping[str, torch.Tensor] | None,
    adapt_names: Sequence[str],
) -> tuple[torch.Tensor, torch.Tensor]:
    """``(offset, design)`` of the rows ``x``, with ``params``/``buffers`` swapped in.

    Shapes follow the model: ``offset`` ``(..., n_rows)``, ``design``
    ``(..., n_rows, n_theta)``; ``...`` is the task axis for a batch of tasks.
    """
    return call(
        model,
        params,
        buffers,
        {**x, **(task_x or {})},
        method="linear_adaptation_terms",
        args=(tuple(adapt_names),),
    )


def flatten(values: Mapping[str, torch.Tensor], names: Sequence[str], batch_ndim: int):
    """Concatenate the named tensors, flattened after ``batch_ndim`` leading axes."""
    parts = [values[n].reshape(values[n].shape[:batch_ndim] + (-1,)) for n in names]
    return torch.cat(parts, dim=-1)


def unflatten(
    theta: torch.Tensor, shapes: Mapping[str, torch.Size], names: Sequence[str]
) -> dict[str, torch.Tensor]:
    """Split ``theta`` of shape (..., n_theta) back into tensors of ``shapes``."""
    out, start = {}, 0
    batch = theta.shape[:-1]
    for n in names:
        size = shapes[n].numel()
        out[n] = theta[..., start : start + size].reshape(batch + tuple(shapes[n]))
        start += size
    return out


def per_coordinate(
    names: Sequence[str],
    shapes: Mapping[str, torch.Size],
    default,
    overrides: Mapping[str, torch.Tensor] | None,
    like: torch.Tensor,
):
    """Per-coordinate values (step sizes, precisions) of ``theta``.

    ``default`` for parameters without an entry in ``overrides``; each override is
    broadcast to its parameter's shape. Returns ``default`` itself when there is no
    override, else a tensor of shape (n_theta,).
    """
    overrides = overrides or {}
    if not any(n in overrides for n in names):
        return default
    parts = []
    for n in names:
        lr = overrides.get(n, default)
        lr = torch.as_tensor(lr, dtype=like.dtype, device=like.device)
        parts.append(lr.expand(shapes[n]).reshape(-1))
    return torch.cat(parts)


def _score_grad(loss: RowLoss, score: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Derivative of the per-row loss with respect to the score, per row."""
    if loss is squared_error:
        return 2.0 * (score - y)
    if loss is binary_cross_entropy:
        return torch.sigmoid(score) - y
    return grad(lambda s: loss(s, y).sum())(score)


def adapt_linear(
    offset: torch.Tensor,
    design: torch.Tensor,
    y: torch.Tensor,
    mask: torch.Tensor | None,
    theta: torch.Tensor,
    *,
    loss_fn: RowLoss,
    n_steps: int,
    lr,
    first_order: bool = False,
    reduction: str = "mean",
) -> torch.Tensor:
    """Gradient descent on the masked loss of ``offset + design @ theta``.

    Parameters
    ----------
    offset : Tensor of shape (..., n_rows)
    design : Tensor of shape (..., n_rows, n_theta)
    y : Tensor of shape (..., n_rows)
    mask : BoolTensor of shape (..., n_rows) or None
    theta : Tensor of shape (n_theta,) or (..., n_theta)
        Initial value.
    loss_fn : callable
        Per-row loss ``(score, y) -> loss``.
    n_steps : int
    lr : float or Tensor of shape () or (n_theta,)
    first_order : bool, default=False
        Detach the gradients.
    reduction : {"mean", "sum"}, default="mean"
        Support loss as the masked mean or sum of the row losses.

    Returns
    -------
    Tensor of shape (..., n_theta)

    Examples
    --------
    Two tasks whose only adapted parameter is a bias (a column of ones); the second
    task has one real row and one padding row. With the mean squared error and
    ``lr=0.25`` each step halves the distance to the task's mean rating:

    >>> import torch
    >>> design = torch.ones(2, 2, 1)
    >>> y = torch.tensor([[4.0, 6.0], [2.0, 99.0]])
    >>> mask = torch.tensor([[True, True], [True, False]])
    >>> theta = adapt_linear(torch.zeros(2, 2), design, y, mask, torch.zeros(1),
    ...                      loss_fn=squared_error, n_steps=3, lr=0.25)
    >>> theta.tolist()  # 5 * (1 - 1/8) and 2 * (1 - 1/8)
    [[4.375], [1.75]]
    """
    theta = theta.expand(offset.shape[:-1] + theta.shape[-1:])
    weight = _row_weights(offset, mask, reduction)
    for _ in range(n_steps):
        score = offset + (design @ theta.unsqueeze(-1)).squeeze(-1)
        dscore = torch.where(weight > 0, _score_grad(loss_fn, score, y) * weight, 0.0)
        g = (design.transpose(-1, -2) @ dscore.unsqueeze(-1)).squeeze(-1)
        if first_order:
            g = g.detach()
        theta = theta - lr * g
    return theta


def solve_ridge(
    offset: torch.Tensor,
    design: torch.Tensor,
    y: torch.Tensor,
    mask: torch.Tensor | None,
    theta: torch.Tensor,
    *,
    precision,
    reduction: str = "sum",
) -> torch.Tensor:
    """Exact minimiser of the penalised squared error (a ridge fold-in).

    Solves ``argmin_t sum_j w_j (offset_j + design_j @ t - y_j)**2
    + sum_p precision_p (t_p - theta_p)**2`` with ``w`` the row weights (the mask,
    divided by the number of rows for ``"mean"``): the posterior mean of a Bayesian
    linear regression whose prior is centred on the meta-learned ``theta``. It is the
    limit of infinitely many gradient steps on that penalised loss, is stable for any
    number of rows, and is differentiable in everything (one batched
    ``torch.linalg.solve`` of size ``n_theta``).

    Parameters
    ----------
    offset : Tensor of shape (..., n_rows)
    design : Tensor of shape (..., n_rows, n_theta)
    y : Tensor of shape (..., n_rows)
    mask : BoolTensor of shape (..., n_rows) or None
    theta : Tensor of shape (n_theta,) or (..., n_theta)
        Prior mean (the initial value).
    precision : float or Tensor of shape () or (n_theta,)
        Prior precision per coordinate, > 0 (in pseudo-ratings for ``"sum"``).
    reduction : {"mean", "sum"}, default="sum"

    Returns
    -------
    Tensor of shape (..., n_theta)

    Examples
    --------
    A bias alone: the mean rating, pulled toward the prior by ``precision``
    pseudo-ratings, ``(4 + 6 + 2 * 3) / (2 + 2)``:

    >>> import numpy as np, torch
    >>> solve_ridge(torch.zeros(2), torch.ones(2, 1), torch.tensor([4.0, 6.0]), None,
    ...             torch.tensor([3.0]), precision=2.0).tolist()
    [4.0]

    With unit precision it is the least-squares solution of the rows stacked on one
    pseudo-row per coordinate whose target is the prior:

    >>> rng = np.random.default_rng(0)
    >>> design, y = rng.normal(size=(5, 2)), rng.normal(size=5)
    >>> prior = np.array([0.5, -0.5])
    >>> theta = solve_ridge(torch.zeros(5, dtype=torch.float64),
    ...                     torch.from_numpy(design), torch.from_numpy(y), None,
    ...                     torch.from_numpy(prior), precision=1.0)
    >>> stacked = np.linalg.lstsq(np.vstack([design, np.eye(2)]),
    ...                           np.concatenate([y, prior]), rcond=None)[0]
    >>> np.allclose(theta.numpy(), stacked)
    True
    """
    theta = theta.expand(offset.shape[:-1] + theta.shape[-1:])
    weight = _row_weights(offset, mask, reduction)
    precision = torch.as_tensor(precision, dtype=offset.dtype, device=offset.device)
    precision = precision.expand(theta.shape)
    weighted = design * weight.unsqueeze(-1)
    gram = weighted.transpose(-1, -2) @ design + torch.diag_embed(precision)
    residual = torch.where(weight > 0, y - offset, torch.zeros_like(offset))
    rhs = (weighted.transpose(-1, -2) @ residual.unsqueeze(-1)).squeeze(-1)
    rhs = rhs + precision * theta
    return torch.linalg.solve(gram, rhs.unsqueeze(-1)).squeeze(-1)
