"""A thin module bundling a model, its adaptation settings and Meta-SGD step sizes."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import torch
from torch import nn

from ._adapt import SOLVERS, TensorDict, adapt, adapt_batch
from ._losses import RowLoss
from ._objectives import ALGORITHMS, meta_backward, meta_loss
from ._ranking import RANKING_LOSSES, implicit_foldin, ranking_loss
from ._tasks import EpisodeBatch, TaskBatch

__all__ = ["InnerLearningRates", "MetaLearner"]


class InnerLearningRates(nn.Module):
    """Learnable inner-loop step sizes, one tensor per adapted parameter (Meta-SGD).

    Parameters
    ----------
    shapes : dict of str to tuple of int
        Adapted parameter names and the shape of their step sizes: the parameter's
        shape for per-coordinate step sizes (Meta-SGD) or ``()`` for one per tensor.
    init : float, default=0.01
        Initial step size.

    Examples
    --------
    >>> lrs = InnerLearningRates({"user.embedding": (3,), "user.bias": ()}, init=0.1)
    >>> {k: tuple(v.shape) for k, v in lrs().items()}
    {'user.embedding': (3,), 'user.bias': ()}
    """

    def __init__(self, shapes: Mapping[str, Sequence[int]], *, init: float = 0.01):
        super().__init__()
        # Parameter names may not contain dots: store by position, map back by name.
        self.names = tuple(shapes)
        self.rates = nn.ParameterList(
            nn.Parameter(torch.full(tuple(shape), float(init)))
            for shape in shapes.values()
        )

    def forward(self) -> dict[str, torch.Tensor]:
        """The step sizes by parameter name."""
        return dict(zip(self.names, self.rates, strict=True))


class MetaLearner(nn.Module):
    """A model plus how to adapt it: what a training shell (skorch) holds as module.

    It owns the model (the meta-parameters) and, with ``learn_inner_lr``, the
    Meta-SGD step sizes, so ``MetaLearner.parameters()`` is exactly what the outer
    optimizer updates and ``state_dict()`` is everything to save. Methods delegate to
    the pure functions of :mod:`sklearn_metarec.meta`.

    Parameters
    ----------
    model : nn.Module
        Called as ``model(**row_x, **task_x)`` for the rows of one task.
    adapt_names : sequence of str, default=None
        Parameters adapted per task; None uses ``model.DEFAULT_ADAPT_NAMES``.
    algorithm : {"maml", "fomaml", "reptile"}, default="maml"
        Outer objective (see :func:`meta_backward`).
    n_inner_steps : int, default=1
        Inner gradient steps, 0 or more.
    inner_lr : float, default=0.01
        Inner step size (the initial one when ``learn_inner_lr``).
    learn_inner_lr : {False, True, "per_tensor"}, default=False
        Learn per-coordinate step sizes (Meta-SGD, ``True``) or one per adapted
        tensor (``"per_tensor"``) in the outer loop. With the ridge solver this
        learns the prior precisions instead (as logarithms, so they stay > 0).
    loss_fn : {"mse", "bce"} or callable, default="mse"
        Per-row loss.
    inner_reduction : {"mean", "sum"}, default="mean"
        Support loss as the mean or the sum of the row losses (see :func:`adapt`);
        ``"sum"`` makes the fold-in shrink users with few ratings more.
    inner_solver : {"gradient", "ridge"}, default="gradient"
        Gradient steps, or the closed-form ridge fold-in (see :func:`adapt`; MSE and
        linear models only).
    prior_precision : float, default=1.0
        Ridge penalty (the initial one when learned), > 0.
    ranking : {None, "softmax", "bpr"}, default=None
        Add the ranking objective (:func:`~sklearn_metarec.meta.ranking_loss`):
        the model's ranking state (``model.ranking_adapt_name``) is folded in from
        a task's interactions in closed form and its other items are ranked against
        shared negatives by a sampled softmax or BPR. It needs
        :class:`EpisodeBatch` episodes with a ``ranking`` part.
    ranking_weight : float, default=1.0
        Weight of the ranking loss beside the pointwise one.
    negative_weight : float, default=0.01
        Initial weight ``alpha`` of the implicit zeros in the ranking fold-in, > 0
        (learned, as a logarithm).
    ranking_precision : float, default=1.0
        Initial prior precision ``lambda`` of the ranking fold-in, > 0 (learned).

    With ``adapt_names=()`` there is no pointwise objective: the learner adapts
    and trains the ranking state alone (positive-only data); a task's row
    targets are then the confidences of its interactions.

    Examples
    --------
    >>> import numpy as np, torch
    >>> from sklearn_metarec.nn import MetaRecNet
    >>> from sklearn_metarec.meta import make_task_batch
    >>> net = MetaRecNet(6, embedding_dim=4, generator=torch.Generator())
    >>> learner = MetaLearner(net, n_inner_steps=2, inner_lr=0.1, learn_inner_lr=True)
    >>> optimizer = torch.optim.Adam(learner.parameters(), lr=0.01)
    >>> batch = make_task_batch([0, 0, 0, 1, 1, 1], {"items": np.arange(6)},
    ...                         np.array([4.0, 5.0, 3.0, 1.0, 2.0, 2.0]),
    ...                         [False, False, True, False, False, True])
    >>> optimizer.zero_grad()
    >>> loss = learner.meta_backward(batch)
    >>> optimizer.step()
    >>> state = learner.adapt({"items": torch.tensor([0, 1])}, torch.tensor([4.0, 5.0]))
    >>> sorted(state)
    ['user.bias', 'user.embedding']
    >>> learner.predict({"items": torch.tensor([2, 3])}, state=state).shape
    torch.Size([2])
    """

    def __init__(
        self,
        model: nn.Module,
        *,
        adapt_names: Sequence[str] | None = None,
        algorithm: str = "maml",
        n_inner_steps: int = 1,
        inner_lr: float = 0.01,
        learn_inner_lr: bool | str = False,
        loss_fn: str | RowLoss = "mse",
        inner_reduction: str = "mean",
        inner_solver: str = "gradient",
        prior_precision: float = 1.0,
        ranking: str | None = None,
        ranking_weight: float = 1.0,
        negative_weight: float = 0.01,
        ranking_precision: float = 1.0,
    ):
        super().__init__()
        if algorithm not in ALGORITHMS:
            raise ValueError(
                f"algorithm must be one of {ALGORITHMS}, got {algorithm!r}"
            )
        self.model = model
        if adapt_names is None:
            adapt_names = getattr(model, "DEFAULT_ADAPT_NAMES", None)
            if adapt_names is None:
                raise ValueError("adapt_names is required for this model")
        own = dict(model.named_parameters())
        unknown = [n for n in adapt_names if n not in own]
        if unknown:
            raise ValueError(f"adapt_names not among the model parameters: {unknown}")
        self.adapt_names = tuple(adapt_names)
        self.algorithm = algorithm
        self.n_inner_steps = int(n_inner_steps)
        self.inner_lr = float(inner_lr)
        self.loss_fn = loss_fn
        if inner_reduction not in ("mean", "sum"):
            raise ValueError("inner_reduction must be 'mean' or 'sum'")
        if inner_solver not in SOLVERS:
            raise ValueError(f"inner_solver must be one of {SOLVERS}")
        if not prior_precision > 0:
            raise ValueError("prior_precision must be > 0")
        self.inner_reduction = inner_reduction
        self.inner_solver = inner_solver
        self.prior_precision = float(prior_precision)
        if learn_inner_lr not in (False, True, "per_tensor"):
            raise ValueError("learn_inner_lr must be False, True or 'per_tensor'")
        shapes = {
            n: (own[n].shape if learn_inner_lr is True else ())
            for n in self.adapt_names
        }
        ridge = inner_solver == "ridge"
        self.inner_lrs = (
            InnerLearningRates(shapes, init=inner_lr)
            if learn_inner_lr and not ridge
            else None
        )
        self.log_prior_precision = (
            InnerLearningRates(shapes, init=math.log(prior_precision))
            if learn_inner_lr and ridge
            else None
        )
        if ranking is not None and ranking not in RANKING_LOSSES:
            raise ValueError(f"ranking must be None or one of {RANKING_LOSSES}")
        if ranking is None and not self.adapt_names:
            raise ValueError("adapt_names is empty and there is no ranking objective")
        self.ranking = ranking
        self.ranking_weight = float(ranking_weight)
        if ranking is not None:
            if not (negative_weight > 0 and ranking_precision > 0):
                raise ValueError("negative_weight and ranking_precision must be > 0")
            self.ranking_name = model.ranking_adapt_name
            self.log_negative_weight = nn.Parameter(
                torch.tensor(math.log(negative_weight))
            )
            self.log_ranking_precision = nn.Parameter(
                torch.tensor(math.log(ranking_precision))
            )

    def forward(self, *args, **kwargs):
        """The model with its shared (unadapted, prior) parameters."""
        return self.model(*args, **kwargs)

    @property
    def state_names(self) -> tuple[str, ...]:
        """Every parameter adapted per task: the pointwise ones, then the ranking
        state (when there is a ranking objective)."""
        extra = (self.ranking_name,) if self.ranking is not None else ()
        return self.adapt_names + extra

    def _ranking_kwargs(self) -> dict:
        return dict(
            negative_weight=self.log_negative_weight.exp(),
            precision=self.log_ranking_precision.exp(),
        )

    def _adapt_kwargs(self, n_steps: int | None = None) -> dict:
        precision = self.prior_precision
        if self.log_prior_precision is not None:
            precision = {n: v.exp() for n, v in self.log_prior_precision().items()}
        return dict(
            adapt_names=self.adapt_names,
            loss_fn=self.loss_fn,
            n_steps=self.n_inner_steps if n_steps is None else int(n_steps),
            inner_lr=self.inner_lr,
            inner_lrs=self.inner_lrs() if self.inner_lrs is not None else None,
            inner_reduction=self.inner_reduction,
            solver=self.inner_solver,
            prior_precision=precision,
        )

    def meta_backward(self, batch: TaskBatch | EpisodeBatch) -> torch.Tensor:
        """Accumulate the meta-gradient of ``batch``; return the detached loss.

        Call between ``optimizer.zero_grad()`` and ``optimizer.step()``. The
        ranking loss (closed-form fold-in) is differentiated directly whatever the
        ``algorithm``, which only concerns the pointwise inner loop.

        Parameters
        ----------
        batch : TaskBatch or EpisodeBatch
            A TaskBatch is a pointwise episode.

        Returns
        -------
        Tensor of shape ()
        """
        if isinstance(batch, TaskBatch):
            batch = EpisodeBatch(None, None, batch)
        total = torch.zeros(())
        if batch.rating is not None and self.adapt_names:
            total = total + meta_backward(
                self.model,
                batch.rating,
                algorithm=self.algorithm,
                **self._adapt_kwargs(),
            )
        if batch.ranking is not None and self.ranking is not None:
            loss = self.ranking_weight * self._ranking_loss(batch)
            loss.backward()
            total = total + loss.detach()
        return total

    def _ranking_loss(self, batch: EpisodeBatch, **kwargs):
        return ranking_loss(
            self.model,
            batch.ranking,
            batch.negatives,
            loss=self.ranking,
            **self._ranking_kwargs(),
            **kwargs,
        )

    def meta_loss(
        self, batch: TaskBatch | EpisodeBatch, *, return_task_losses: bool = False
    ):
        """Query loss after adaptation (differentiable; first-order for FOMAML).

        For validation, call it under ``torch.no_grad()``: the inner loop still
        runs (``torch.func.grad`` ignores an outer ``no_grad``) and no graph is kept.
        Reptile learners get the first-order value.

        Parameters
        ----------
        batch : TaskBatch or EpisodeBatch
        return_task_losses : bool, default=False

        Returns
        -------
        loss : Tensor of shape ()
            For an EpisodeBatch, the pointwise loss plus ``ranking_weight`` times
            the ranking loss.
        task_losses : Tensor of shape (n_tasks,), if ``return_task_losses``
            The same sum per task.
        """
        if isinstance(batch, TaskBatch):
            batch = EpisodeBatch(None, None, batch)
        parts = []
        if batch.rating is not None and self.adapt_names:
            parts.append(
                meta_loss(
                    self.model,
                    None,
                    None,
                    batch.rating,
                    first_order=self.algorithm != "maml",
                    return_task_losses=True,
                    **self._adapt_kwargs(),
                )
            )
        if batch.ranking is not None and self.ranking is not None:
            loss, losses = self._ranking_loss(batch, return_task_losses=True)
            parts.append((self.ranking_weight * loss, self.ranking_weight * losses))
        loss = sum(p[0] for p in parts)
        losses = sum(p[1] for p in parts)
        return (loss, losses) if return_task_losses else loss

    @torch.no_grad()
    def adapt(
        self,
        x: TensorDict,
        y: torch.Tensor,
        mask: torch.Tensor | None = None,
        task_x: TensorDict | None = None,
        *,
        state: TensorDict | None = None,
        n_steps: int | None = None,
        gram: torch.Tensor | None = None,
    ) -> dict[str, torch.Tensor]:
        """Adapt ONE task (a new user at serving time); no graph, detached output.

        Parameters
        ----------
        x : dict of str to Tensor of shape (n_rows, ...)
            Row inputs, e.g. ``{"items": LongTensor (n_rows,)}``.
        y : Tensor of shape (n_rows,)
        mask : BoolTensor of shape (n_rows,), default=None
        task_x : dict of str to Tensor, default=None
            Per-task inputs, e.g. ``{"user_features": LongTensor (n_features,)}``.
        state : dict of str to Tensor, default=None
            The user's current adapted parameters, to continue adapting a known
            user; None starts from the meta-learned prior.
        n_steps : int, default=None
            Inner steps; None uses ``n_inner_steps``.
        gram : Tensor of shape (d, d), default=None
            Gramian of the catalogue's ranking item vectors (ranking objective
            only); None computes it from the whole catalogue.

        Returns
        -------
        dict of str to Tensor
            The adapted :attr:`state_names` parameters, detached. The ranking
            state always starts from the prior (``state`` does not apply to it).
        """
        return self._adapt_states(
            lambda x, **kw: adapt(self.model, state, None, x, y, mask, task_x, **kw),
            x,
            y,
            mask,
            task_x,
            n_steps,
            gram,
        )

    @torch.no_grad()
    def adapt_batch(
        self,
        x: TensorDict,
        y: torch.Tensor,
        mask: torch.Tensor | None = None,
        task_x: TensorDict | None = None,
        *,
        n_steps: int | None = None,
        gram: torch.Tensor | None = None,
    ) -> dict[str, torch.Tensor]:
        """Adapt many padded tasks at once (``vmap``); no graph, detached output.

        Parameters
        ----------
        x : dict of str to Tensor of shape (n_tasks, max_rows, ...)
        y : Tensor of shape (n_tasks, max_rows)
        mask : BoolTensor of shape (n_tasks, max_rows), default=None
        task_x : dict of str to Tensor of shape (n_tasks, ...), default=None
        n_steps : int, default=None
        gram : Tensor of shape (d, d), default=None
            As in :meth:`adapt`.

        Returns
        -------
        dict of str to Tensor of shape (n_tasks, *param.shape)
        """
        return self._adapt_states(
            lambda x, **kw: adapt_batch(
                self.model, None, None, x, y, mask, task_x, **kw
            ),
            x,
            y,
            mask,
            task_x,
            n_steps,
            gram,
        )

    def _adapt_states(self, pointwise, x, y, mask, task_x, n_steps, gram) -> dict:
        """The pointwise states (``pointwise(x, **adapt_kwargs)``, the inner loop
        of :meth:`adapt` or :meth:`adapt_batch`) and the ranking state, detached.
        ``x["rank_vec"]`` (precomputed ranking item vectors) feeds the fold-in."""
        x = dict(x)
        rank_vec = x.pop("rank_vec", None)
        adapted = {}
        if self.adapt_names:
            adapted = pointwise(x, **self._adapt_kwargs(n_steps))
        if self.ranking is not None:
            adapted[self.ranking_name] = self._fold_in(
                x, rank_vec, y, mask, task_x, gram
            )
        return {n: v.detach() for n, v in adapted.items()}

    def _fold_in(self, x, rank_vec, y, mask, task_x, gram) -> torch.Tensor:
        """Ranking states of tasks from their rows (:func:`implicit_foldin`).

        Every row is a positive; its confidence is ``y`` when the ranking is the
        only objective (positive-only data), else 1 (the rows are ratings).
        """
        model = self.model
        if rank_vec is None:
            rank_vec, _ = model.ranking_items(x["items"], x.get("cold_items"))
        if gram is None:
            vec, _ = model.ranking_items()
            gram = vec.T @ vec
        weight = y.to(rank_vec.dtype) if not self.adapt_names else torch.ones_like(y)
        if mask is not None:
            weight = torch.where(mask.bool(), weight, torch.zeros_like(weight))
        features = (task_x or {}).get("user_features")
        return implicit_foldin(
            rank_vec,
            weight,
            model.ranking_prior(features),
            gram=gram,
            **self._ranking_kwargs(),
        )

    @torch.no_grad()
    def predict(
        self,
        x: TensorDict,
        task_x: TensorDict | None = None,
        *,
        state: TensorDict | None = None,
    ) -> torch.Tensor:
        """Predictions for one task with its adapted ``state`` (None: the prior).

        Parameters
        ----------
        x : dict of str to Tensor of shape (n_rows, ...)
        task_x : dict of str to Tensor, default=None
        state : dict of str to Tensor, default=None
            Output of :meth:`adapt`.

        Returns
        -------
        Tensor of shape (n_rows,)
        """
        from torch.func import functional_call

        kwargs = {**x, **(task_x or {})}
        return functional_call(self.model, dict(state or {}), args=(), kwargs=kwargs)
