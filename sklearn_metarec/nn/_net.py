"""The recommender network shared by the three estimators."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from ._encoders import ItemEncoder, UserEncoder
from ._head import DecisionHead
from ._init import check_generator

__all__ = ["MetaRecNet"]


_DEDUPE_MIN_ROWS = 256  # smaller item batches are encoded row by row


def _is_batched(tensor: torch.Tensor) -> bool:
    """Whether ``tensor`` is batched by ``torch.func.vmap``."""
    return bool(torch._C._functorch.is_batchedtensor(tensor))


def _codes(values, n_rows: int, name: str) -> torch.Tensor:
    """Integer codes of shape (n_rows, n_columns), ``-1`` for missing."""
    codes = torch.as_tensor(np.asarray(values), dtype=torch.long)
    if codes.ndim == 1:
        codes = codes.unsqueeze(1)
    if codes.ndim != 2 or codes.shape[0] != n_rows:
        raise ValueError(
            f"{name} must have shape ({n_rows}, n_columns), got {tuple(codes.shape)}"
        )
    if codes.numel() and int(codes.min()) < -1:
        raise ValueError(f"{name} codes must be >= -1 (-1 is missing)")
    return codes


def _dense(values, n_rows: int, name: str) -> torch.Tensor:
    dense = torch.as_tensor(np.asarray(values), dtype=torch.get_default_dtype())
    if dense.ndim == 1:
        dense = dense.unsqueeze(1)
    if dense.ndim != 2 or dense.shape[0] != n_rows:
        raise ValueError(
            f"{name} must have shape ({n_rows}, n_features), got {tuple(dense.shape)}"
        )
    if not torch.isfinite(dense).all():
        raise ValueError(f"{name} must be finite")
    return dense


def _cardinalities(codes: torch.Tensor, given, name: str) -> tuple[int, ...]:
    inferred = tuple(int(c) + 1 for c in codes.max(0).values) if codes.numel() else ()
    if given is None:
        return tuple(max(c, 1) for c in inferred) or (1,) * codes.shape[1]
    given = tuple(int(c) for c in given)
    if len(given) != codes.shape[1] or any(
        i > g for i, g in zip(inferred, given, strict=False)
    ):
        raise ValueError(
            f"{name} cardinalities {given} do not cover the codes (need {inferred})"
        )
    return given


def _with_unknown_row(table: torch.Tensor, fill) -> torch.Tensor:
    """Prepend the row of the unknown item (index -1 maps to row 0)."""
    return torch.cat([torch.full_like(table[:1], fill), table], dim=0)


class MetaRecNet(nn.Module):
    """Biased factorisation with side information and an adaptable user state.

    ``score(u, i) = global_bias + user_bias(u) + item_bias(i) + head(user_vec(u),
    item_vec(i))`` where

    - ``item_vec``/``item_bias`` come from an :class:`ItemEncoder` over the item id
      and the item side information stored in this module as buffers (one row per
      item, plus a zero row for the unknown item ``-1``);
    - ``user_vec``/``user_bias`` come from a :class:`UserEncoder`: the shared,
      meta-learned initial state ``user.embedding``/``user.bias`` plus the user's
      categorical features. There is no user-id table: the inner loop adapts
      ``user.embedding`` and ``user.bias`` per user (:attr:`DEFAULT_ADAPT_NAMES`),
      which makes the model a learned, gradient-based ridge fold-in;
    - ``head`` is a :class:`DecisionHead` (dot product plus an optional MLP, whose
      parameters, :meth:`head_parameter_names`, can be adapted too, as in MeLU).

    :meth:`forward` scores the rows of ONE user (a task), which is the shape
    ``torch.func.functional_call`` and ``vmap`` want; :meth:`item_representations`
    and :meth:`score_all` score many users against the whole catalogue cheaply.

    Parameters
    ----------
    n_items : int
        Number of items; item ids are ``0..n_items-1`` and ``-1`` is unknown.
    embedding_dim : int, default=32
        Size of user and item vectors, at least 1.
    hidden_dims : sequence of int, default=()
        Hidden widths of the head MLP; empty for a dot-product head.
    activation : str, default="relu"
        Non-linearity of the head MLP (see :class:`DecisionHead`).
    use_dot : bool, default=True
        Include the dot product term in the head.
    item_categorical : array-like of shape (n_items, n_categorical), default=None
        Single-valued categorical item features as integer codes, ``-1`` missing.
    item_categorical_cardinalities : sequence of int, default=None
        Number of categories per column; None infers ``max code + 1``.
    item_multi_valued : sequence of array-like of shape (n_items, n_tokens_k), \
default=()
        Multi-valued categorical item features (genres, actors), one padded token
        table per column with ``-1`` padding.
    item_multi_valued_cardinalities : sequence of int, default=None
        Number of distinct tokens per multi-valued column; None infers them.
    item_numeric : array-like of shape (n_items, n_numeric), default=None
        Finite numeric item features (standardise them first).
    item_text : array-like of shape (n_items, text_dim), default=None
        Precomputed text embeddings of the items.
    item_counts : array-like of shape (n_items,), default=None
        Training interactions per item. Items with count 0 are cold (no id part);
        ``log1p(count)`` is the evidence of the gate. None treats every item as warm.
    use_item_ids : bool, default=True
        Learn an item id embedding and id bias.
    gate : bool, default=False
        Mix id and content parts of items by a learned gate of their evidence
        (see :class:`ItemEncoder`).
    user_categorical_cardinalities : sequence of int, default=()
        Categories per categorical user feature; the features themselves are a
        :meth:`forward` input (``user_features``) because new users are not known
        at construction.
    global_bias : float, default=0.0
        Initial global bias; the mean training target is a good choice.
    interaction : bool, default=False
        Add an interaction tower beside the rating one: a second item encoder
        (``interaction_item``, same side information and evidence gate) and a
        second user prior (``interaction_user``) that score *whether* a user
        interacts with an item, for the ranking objective
        (:func:`~sklearn_metarec.meta.ranking_loss`). Without it the ranking
        methods read the main tower (a model trained on interactions alone).
    init_std : float, default=0.1
        Standard deviation of the normal initialisation of embeddings.
    generator : torch.Generator or None, default=None
        Source of all initial weights; None uses a fresh default-seeded generator.
        Building the module never touches torch's global random state.

    Examples
    --------
    >>> import torch
    >>> net = MetaRecNet(4, embedding_dim=3, hidden_dims=[5],
    ...                  item_categorical=[[0], [1], [1], [-1]],
    ...                  generator=torch.Generator().manual_seed(0))
    >>> net(torch.tensor([0, 3, -1])).shape  # one user, three items
    torch.Size([3])
    >>> vec, bias = net.item_representations()
    >>> user_vec, user_bias = net.user_representations(n_users=2)
    >>> net.score_all(user_vec, user_bias, vec, bias).shape
    torch.Size([2, 4])
    >>> net.DEFAULT_ADAPT_NAMES
    ('user.embedding', 'user.bias')
    """

    DEFAULT_ADAPT_NAMES = ("user.embedding", "user.bias")
    """Parameters adapted per user by default: the user vector and the user bias."""

    def __init__(
        self,
        n_items: int,
        *,
        embedding_dim: int = 32,
        hidden_dims: Sequence[int] = (),
        activation: str = "relu",
        use_dot: bool = True,
        item_categorical=None,
        item_categorical_cardinalities: Sequence[int] | None = None,
        item_multi_valued: Sequence = (),
        item_multi_valued_cardinalities: Sequence[int] | None = None,
        item_numeric=None,
        item_text=None,
        item_counts=None,
        use_item_ids: bool = True,
        gate: bool = False,
        user_categorical_cardinalities: Sequence[int] = (),
        global_bias: float = 0.0,
        interaction: bool = False,
        init_std: float = 0.1,
        generator: torch.Generator | None = None,
    ):
        super().__init__()
        generator = check_generator(generator)
        n_items = int(n_items)
        if n_items < 0:
            raise ValueError(f"n_items must be >= 0, got {n_items}")
        self.n_items = n_items

        categorical = (
            _codes(item_categorical, n_items, "item_categorical")
            if item_categorical is not None
            else torch.zeros((n_items, 0), dtype=torch.long)
        )
        cat_cards = _cardinalities(
            categorical, item_categorical_cardinalities, "item_categorical"
        )
        multi = [
            _codes(tokens, n_items, f"item_multi_valued[{k}]")
            for k, tokens in enumerate(item_multi_valued)
        ]
        if item_multi_valued_cardinalities is None:
            multi_cards = tuple(
                max(int(t.max()) + 1, 1) if t.numel() else 1 for t in multi
            )
        else:
            multi_cards = tuple(int(c) for c in item_multi_valued_cardinalities)
            if len(multi_cards) != len(multi):
                raise ValueError(
                    "item_multi_valued_cardinalities needs one entry per column"
                )
        numeric = (
            _dense(item_numeric, n_items, "item_numeric")
            if item_numeric is not None
            else None
        )
        text = (
            _dense(item_text, n_items, "item_text") if item_text is not None else None
        )
        counts = (
            torch.as_tensor(np.asarray(item_counts), dtype=torch.get_default_dtype())
            if item_counts is not None
            else torch.ones(n_items)
        )
        if counts.shape != (n_items,) or bool((counts < 0).any()):
            raise ValueError(f"item_counts must be {n_items} non-negative counts")

        self.register_buffer("item_categorical", _with_unknown_row(categorical, -1))
        self.n_item_multi_valued = len(multi)
        for k, tokens in enumerate(multi):
            self.register_buffer(
                f"item_multi_valued_{k}", _with_unknown_row(tokens, -1)
            )
        self.register_buffer(
            "item_numeric",
            _with_unknown_row(numeric, 0.0) if numeric is not None else None,
        )
        self.register_buffer(
            "item_text", _with_unknown_row(text, 0.0) if text is not None else None
        )
        self.register_buffer(
            "item_evidence", _with_unknown_row(torch.log1p(counts), 0.0)
        )

        def towers():  # an item encoder and a user prior over the same inputs
            item = ItemEncoder(
                n_items,
                embedding_dim,
                categorical_cardinalities=cat_cards,
                multi_valued_cardinalities=multi_cards,
                n_numeric=0 if numeric is None else numeric.shape[1],
                text_dim=0 if text is None else text.shape[1],
                use_ids=use_item_ids,
                gate=gate,
                init_std=init_std,
                generator=generator,
            )
            user = UserEncoder(
                embedding_dim,
                categorical_cardinalities=user_categorical_cardinalities,
                init_std=init_std,
                generator=generator,
            )
            return item, user

        self.item, self.user = towers()
        self.head = DecisionHead(
            embedding_dim,
            hidden_dims=hidden_dims,
            activation=activation,
            use_dot=use_dot,
            generator=generator,
        )
        self.global_bias = nn.Parameter(torch.tensor(float(global_bias)))
        self.interaction = bool(interaction)
        if self.interaction:  # built last: the rating tower's draws stay the same
            self.interaction_item, self.interaction_user = towers()

    def forward(
        self,
        items: torch.Tensor | None = None,
        user_features: torch.Tensor | None = None,
        cold_items: torch.Tensor | None = None,
        item_vec: torch.Tensor | None = None,
        item_bias: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Scores of one user's rows (or of a batch of users' rows).

        Parameters
        ----------
        items : LongTensor of shape (n_rows,) or (n_users, n_rows)
            Item ids in ``[-1, n_items)``, ``-1`` for unknown items.
        user_features : LongTensor of shape (n_user_features,) or \
(n_users, n_user_features), default=None
            The user's categorical codes, ``-1`` missing.
        cold_items : BoolTensor of the shape of ``items``, default=None
            Rows whose item is treated as cold (item dropout during training).
        item_vec : Tensor of shape (..., n_rows, embedding_dim), default=None
        item_bias : Tensor of shape (..., n_rows), default=None
            Precomputed item representations (:meth:`precompute_inputs`), used
            instead of ``items`` and ``cold_items``.

        Returns
        -------
        Tensor of shape (n_rows,) or (n_users, n_rows)
            Scores: predicted ratings (MSE) or logits (BCE).

        Notes
        -----
        With ``functional_call``, ``user.embedding`` may be replaced by a tensor of
        shape ``(n_users, d)`` and ``user.bias`` by ``(n_users,)`` together with
        ``items`` of shape ``(n_users, n_rows)``.
        """
        user_vec, user_bias = self.user(user_features)
        if item_vec is None or item_bias is None:
            item_vec, item_bias = self._encode_items(self.item, items, cold_items)
        score = self.head(user_vec.unsqueeze(-2), item_vec)
        return self.global_bias + user_bias.unsqueeze(-1) + item_bias + score

    def precompute_inputs(
        self,
        adapt_names: Sequence[str],
        items: torch.Tensor | None = None,
        cold_items: torch.Tensor | None = None,
        **row_inputs,
    ) -> dict:
        """Replace item ids by item representations when those are not adapted.

        The inner loop calls this hook once per task instead of encoding the same
        items at every step (see :func:`sklearn_metarec.meta.precompute`).

        Parameters
        ----------
        adapt_names : sequence of str
            Adapted parameters; if any belongs to the item encoder (``item.*``),
            nothing is precomputed.
        items, cold_items
            As in :meth:`forward`.
        **row_inputs
            Other row inputs, passed through.

        Returns
        -------
        dict
            Keyword arguments for :meth:`forward`.
        """
        if items is None or any(n.startswith("item.") for n in adapt_names):
            passed = {"items": items, "cold_items": cold_items}
            return {**{k: v for k, v in passed.items() if v is not None}, **row_inputs}
        item_vec, item_bias = self._encode_items(self.item, items, cold_items)
        return {"item_vec": item_vec, "item_bias": item_bias, **row_inputs}

    def item_representations(
        self, items: torch.Tensor | None = None, cold_items: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Item vectors and biases, to compute once and reuse across users.

        Parameters
        ----------
        items : LongTensor of shape (n,), default=None
            Item ids; None for the whole catalogue ``0..n_items-1``.
        cold_items : BoolTensor of shape (n,), default=None
            Items to treat as cold.

        Returns
        -------
        vec : Tensor of shape (n, embedding_dim)
        bias : Tensor of shape (n,)
        """
        if items is None:
            items = torch.arange(self.n_items, device=self.global_bias.device)
        return self._encode_items(self.item, items, cold_items)

    def user_representations(
        self,
        user_features: torch.Tensor | None = None,
        embedding: torch.Tensor | None = None,
        bias: torch.Tensor | None = None,
        *,
        n_users: int | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """User vectors and biases from per-user adapted states and features.

        Parameters
        ----------
        user_features : LongTensor of shape (n_users, n_user_features), default=None
        embedding : Tensor of shape (n_users, embedding_dim), default=None
            Adapted ``user.embedding`` per user; None uses the shared prior (a cold
            user with no interactions).
        bias : Tensor of shape (n_users,), default=None
            Adapted ``user.bias`` per user; None uses the shared prior.
        n_users : int, default=None
            Number of users when none of the tensors above gives it.

        Returns
        -------
        vec : Tensor of shape (n_users, embedding_dim)
        bias : Tensor of shape (n_users,)
        """
        vec, b = self.user(user_features, embedding=embedding, bias=bias)
        if n_users is None:
            n_users = vec.shape[0] if vec.ndim == 2 else 1
        return vec.expand(n_users, vec.shape[-1]), b.expand(n_users)

    def score_all(
        self,
        user_vec: torch.Tensor,
        user_bias: torch.Tensor,
        item_vec: torch.Tensor | None = None,
        item_bias: torch.Tensor | None = None,
        *,
        chunk_size: int = 256,
    ) -> torch.Tensor:
        """Scores of every user against every item, as a matrix product.

        Only valid when the head is not adapted per user (the default adapt names);
        for per-user head parameters score with ``vmap`` over ``functional_call``.

        Parameters
        ----------
        user_vec : Tensor of shape (n_users, d)
        user_bias : Tensor of shape (n_users,)
            From :meth:`user_representations`.
        item_vec : Tensor of shape (n, d), default=None
        item_bias : Tensor of shape (n,), default=None
            From :meth:`item_representations`; None computes them for the catalogue.
        chunk_size : int, default=256
            Users per chunk of the head MLP (see :meth:`DecisionHead.pairwise`).

        Returns
        -------
        Tensor of shape (n_users, n)
        """
        if item_vec is None or item_bias is None:
            item_vec, item_bias = self.item_representations()
        score = self.head.pairwise(user_vec, item_vec, chunk_size=chunk_size)
        return score + (self.global_bias + user_bias).unsqueeze(1) + item_bias

    def supports_linear_adaptation(self, adapt_names: Sequence[str]) -> bool:
        """Whether scores are linear in the parameters ``adapt_names``.

        True when the head has no MLP and only ``user.embedding`` and/or
        ``user.bias`` are adapted. The inner loop can then run in closed form on
        :meth:`linear_adaptation_terms` (see :func:`sklearn_metarec.meta.adapt`),
        which is exact and much faster than differentiating through the network.
        """
        names = set(adapt_names)
        return (
            self.head.mlp is None
            and self.head.use_dot
            and bool(names)
            and names <= {"user.embedding", "user.bias"}
            and len(names) == len(adapt_names)
        )

    def linear_adaptation_terms(
        self,
        adapt_names: Sequence[str],
        items: torch.Tensor | None = None,
        user_features: torch.Tensor | None = None,
        cold_items: torch.Tensor | None = None,
        item_vec: torch.Tensor | None = None,
        item_bias: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Write the scores as ``offset + design @ theta``, theta the adapted params.

        ``theta`` is the concatenation of the flattened parameters ``adapt_names`` in
        that order (``user.embedding`` gives ``d`` columns: the item vectors;
        ``user.bias`` one column of ones). Only valid when
        :meth:`supports_linear_adaptation` is true.

        Parameters
        ----------
        adapt_names : sequence of str
        items : LongTensor of shape (..., n_rows) or None
        user_features : LongTensor of shape (..., n_user_features), default=None
        cold_items : BoolTensor of the shape of ``items``, default=None
        item_vec : Tensor of shape (..., n_rows, embedding_dim), default=None
        item_bias : Tensor of shape (..., n_rows), default=None
            Precomputed item representations, used instead of ``items`` and
            ``cold_items`` (as in :meth:`forward`).

        Returns
        -------
        offset : Tensor of shape (..., n_rows)
            The part of the scores that does not depend on ``theta``.
        design : Tensor of shape (..., n_rows, n_theta)
        """
        if not self.supports_linear_adaptation(adapt_names):
            raise ValueError(f"scores are not linear in {tuple(adapt_names)}")
        if item_vec is None or item_bias is None:
            item_vec, item_bias = self._encode_items(self.item, items, cold_items)
        embedding = (
            torch.zeros_like(self.user.embedding)
            if "user.embedding" in adapt_names
            else None
        )
        bias = torch.zeros_like(self.user.bias) if "user.bias" in adapt_names else None
        user_vec, user_bias = self.user(user_features, embedding=embedding, bias=bias)
        offset = (
            self.global_bias
            + user_bias.unsqueeze(-1)
            + item_bias
            + (user_vec.unsqueeze(-2) * item_vec).sum(-1)
        )
        columns = {
            "user.embedding": item_vec,
            "user.bias": torch.ones_like(item_bias).unsqueeze(-1),
        }
        return offset, torch.cat([columns[n] for n in adapt_names], dim=-1)

    @property
    def ranking_adapt_name(self) -> str:
        """The user parameter that the ranking fold-in adapts per user."""
        return "interaction_user.embedding" if self.interaction else "user.embedding"

    def ranking_items(
        self, items: torch.Tensor | None = None, cold_items: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Item vectors and biases of the ranking (interaction) tower.

        Parameters
        ----------
        items : LongTensor of shape (...), default=None
            Item ids; None for the whole catalogue.
        cold_items : BoolTensor of the shape of ``items``, default=None

        Returns
        -------
        vec : Tensor of shape (..., embedding_dim)
        bias : Tensor of shape (...)
            The interaction logit of a user with state ``p`` is
            ``bias + <p, vec>``.
        """
        if items is None:
            items = torch.arange(self.n_items, device=self.global_bias.device)
        encoder = self.interaction_item if self.interaction else self.item
        return self._encode_items(encoder, items, cold_items)

    def ranking_prior(
        self,
        user_features: torch.Tensor | None = None,
        embedding: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Users' interaction vectors: the prior (or ``embedding``) plus features.

        Parameters
        ----------
        user_features : LongTensor of shape (n_users, n_user_features), default=None
        embedding : Tensor of shape (..., embedding_dim), default=None
            Adapted states to use instead of the prior.

        Returns
        -------
        Tensor of shape (embedding_dim,) or (n_users, embedding_dim)
        """
        encoder = self.interaction_user if self.interaction else self.user
        vec, _ = encoder(user_features, embedding=embedding)
        return vec

    def head_parameter_names(self) -> tuple[str, ...]:
        """Names of the head parameters, to adapt them per user as MeLU does."""
        return tuple(n for n, _ in self.named_parameters() if n.startswith("head."))

    @torch.no_grad()
    def extend_items(
        self,
        n_new: int,
        *,
        categorical=None,
        multi_valued: Sequence = (),
        numeric=None,
        text=None,
        counts=None,
    ) -> torch.Tensor:
        """Append new items to the catalogue (``partial_fit`` with unseen items).

        New items get zero id embeddings and id biases and are cold (count 0) unless
        ``counts`` says otherwise, so they are scored from their side information.
        Features left out are missing (``-1`` codes, zero numeric and text). Token
        tables wider or narrower than the stored ones are padded to the wider width.
        Parameters are replaced by larger ones: rebuild any optimizer afterwards.

        Parameters
        ----------
        n_new : int
            Number of items to add.
        categorical : array-like of shape (n_new, n_categorical), default=None
        multi_valued : sequence of array-like of shape (n_new, n_tokens_k), default=()
        numeric : array-like of shape (n_new, n_numeric), default=None
        text : array-like of shape (n_new, text_dim), default=None
        counts : array-like of shape (n_new,), default=None

        Returns
        -------
        LongTensor of shape (n_new,)
            The ids of the new items.
        """
        n_new = int(n_new)
        start = self.n_items

        def append(name, new):
            old = getattr(self, name)
            new = new.to(device=old.device, dtype=old.dtype)
            if new.shape[1:] != old.shape[1:]:  # token tables of another width
                width = max(old.shape[1], new.shape[1])
                old = nn.functional.pad(old, (0, width - old.shape[1]), value=-1)
                new = nn.functional.pad(new, (0, width - new.shape[1]), value=-1)
            setattr(self, name, torch.cat([old, new], dim=0))

        n_cat = self.item_categorical.shape[1]
        append(
            "item_categorical",
            _codes(categorical, n_new, "categorical")
            if categorical is not None
            else torch.full((n_new, n_cat), -1, dtype=torch.long),
        )
        multi_valued = list(multi_valued)
        for k in range(self.n_item_multi_valued):
            tokens = (
                _codes(multi_valued[k], n_new, f"multi_valued[{k}]")
                if k < len(multi_valued)
                else torch.full((n_new, 1), -1, dtype=torch.long)
            )
            append(f"item_multi_valued_{k}", tokens)
        if self.item_numeric is not None:
            append(
                "item_numeric",
                _dense(numeric, n_new, "numeric")
                if numeric is not None
                else torch.zeros(n_new, self.item_numeric.shape[1]),
            )
        if self.item_text is not None:
            append(
                "item_text",
                _dense(text, n_new, "text")
                if text is not None
                else torch.zeros(n_new, self.item_text.shape[1]),
            )
        counts = (
            torch.as_tensor(np.asarray(counts), dtype=torch.get_default_dtype())
            if counts is not None
            else torch.zeros(n_new)
        )
        append("item_evidence", torch.log1p(counts).reshape(n_new))
        encoders = [self.item] + ([self.interaction_item] if self.interaction else [])
        for encoder in encoders:
            if encoder.use_ids:
                for table in (encoder.id_embedding, encoder.id_bias):
                    w = table.weight
                    table.weight = nn.Parameter(
                        torch.cat([w, w.new_zeros((n_new, w.shape[1]))], dim=0)
                    )
                    table.num_embeddings += n_new
            encoder.n_items += n_new
        self.n_items += n_new
        return torch.arange(start, start + n_new, device=self.global_bias.device)

    def _encode_items(self, encoder, items, cold_items=None):
        """``encoder``'s vectors and biases of ``items`` (any shape).

        An item is encoded once however often it occurs: the rows of a batch of
        episodes repeat the popular items many times, and the content part (the
        mean of a cast list's embeddings, say) costs the same for each
        occurrence. Under ``vmap`` (a batched ``items``) the rows are encoded as
        they are.
        """
        if items.numel() <= _DEDUPE_MIN_ROWS or _is_batched(items):
            return encoder(items, cold=cold_items, **self._item_inputs(items))
        key = (items.reshape(-1) + 1) * 2  # >= 0; the unknown item -1 is 0
        if cold_items is not None:
            key = key + cold_items.reshape(-1).to(key.dtype)
        unique, inverse = torch.unique(key, return_inverse=True)
        if len(unique) * 2 > key.numel():  # few repeats: not worth the gather
            return encoder(items, cold=cold_items, **self._item_inputs(items))
        rows = torch.div(unique, 2, rounding_mode="floor") - 1
        cold = (unique % 2).bool() if cold_items is not None else None
        vec, bias = encoder(rows, cold=cold, **self._item_inputs(rows))
        return (
            vec.index_select(0, inverse).reshape(*items.shape, vec.shape[-1]),
            bias.index_select(0, inverse).reshape(items.shape),
        )

    def _item_inputs(self, items: torch.Tensor) -> dict:
        """Side information of ``items`` gathered from the buffers."""
        row = items + 1
        inputs: dict = {"evidence": self.item_evidence[row]}
        if self.item_categorical.shape[1]:
            inputs["categorical"] = self.item_categorical[row]
        if self.n_item_multi_valued:
            inputs["multi_valued"] = [
                getattr(self, f"item_multi_valued_{k}")[row]
                for k in range(self.n_item_multi_valued)
            ]
        if self.item_numeric is not None:
            inputs["numeric"] = self.item_numeric[row]
        if self.item_text is not None:
            inputs["text"] = self.item_text[row]
        return inputs
