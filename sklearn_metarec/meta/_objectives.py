"""Outer objectives: MAML, first-order MAML and Reptile over a batch of tasks.

The outer update is always an ordinary torch optimizer step:

- ``"maml"`` and ``"fomaml"``: :func:`meta_loss` returns a scalar whose
  ``.backward()`` writes the meta-gradient into ``.grad`` (second order for MAML,
  inner gradients detached for FOMAML);
- ``"reptile"``: :func:`reptile_grads` returns the Reptile direction as gradients, so
  ``optimizer.step()`` moves the initialisation toward the adapted parameters.

:func:`meta_backward` does either and is what a training step calls::

    optimizer.zero_grad()
    loss = meta_backward(model, batch, algorithm="maml", adapt_names=names, ...)
    optimizer.step()
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch
from torch import nn
from torch.func import vmap

from ._adapt import (
    TensorDict,
    _call,
    adapt,
    adapt_batch,
    precompute,
    precompute_together,
    use_linear,
)
from ._linear import flatten, linear_terms
from ._losses import RowLoss, check_loss, masked_mean
from ._tasks import TaskBatch

__all__ = ["ALGORITHMS", "meta_backward", "meta_loss", "reptile_grads"]

ALGORITHMS = ("maml", "fomaml", "reptile")
"""Outer objectives understood by :func:`meta_backward`."""


def _detach(value):
    """Detach a tensor or the tensors of a dict (Reptile needs no graph)."""
    if torch.is_tensor(value):
        return value.detach()
    if isinstance(value, Mapping):
        return {k: _detach(v) for k, v in value.items()}
    return value


def _task_weights(mask: torch.Tensor) -> torch.Tensor:
    """1.0 for tasks with at least one valid row, else 0.0: shape (n_tasks,)."""
    return mask.bool().any(-1).to(torch.get_default_dtype())


def _weighted_task_mean(values: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """Mean over tasks (first axis) with 0/1 weights; values (n_tasks, ...)."""
    w = weights.to(values.dtype).reshape((-1,) + (1,) * (values.ndim - 1))
    return (values * w).sum(0) / weights.sum().clamp(min=1.0)


def _query_losses(
    model: nn.Module,
    params: TensorDict,
    buffers: TensorDict | None,
    batch: TaskBatch,
    adapt_kwargs: dict,
    loss: RowLoss,
    adapted: TensorDict | None = None,
) -> torch.Tensor:
    """Per-task query loss after adaptation, shape (n_tasks,).

    Adapts inside the vmapped function unless per-task ``adapted`` values (leading
    task axis) are given. Models linear in the adapted parameters take the batched
    closed-form path instead of ``vmap``.
    """
    names = adapt_kwargs["adapt_names"]
    if use_linear(model, names, adapt_kwargs.get("linear", "auto")):
        query_x = batch.query_x
        if not adapted:
            # Support and query items encoded in one call.
            support_x, query_x = precompute_together(
                model, params, buffers, [batch.support_x, batch.query_x], names
            )
            adapted = adapt(
                model,
                params,
                buffers,
                support_x,
                batch.support_y,
                batch.support_mask,
                batch.task_x,
                **adapt_kwargs,
            )
        theta = flatten(adapted, names, 1)
        shared = {k: v for k, v in params.items() if k not in adapted}
        offset, design = linear_terms(
            model, shared, buffers, query_x, batch.task_x, names
        )
        pred = offset + (design @ theta.unsqueeze(-1)).squeeze(-1)
        return masked_mean(loss(pred, batch.query_y), batch.query_mask)

    def one(sx, sy, sm, qx, qy, qm, tx, ad):
        if not ad:
            ad = adapt(model, params, buffers, sx, sy, sm, tx, **adapt_kwargs)
        shared = {k: v for k, v in params.items() if k not in ad}
        qx = precompute(model, shared, buffers, qx, names)
        pred = _call(model, {**shared, **ad}, buffers, qx, tx)
        return masked_mean(loss(pred, qy), qm)

    return vmap(one)(
        dict(batch.support_x),
        batch.support_y,
        batch.support_mask,
        dict(batch.query_x),
        batch.query_y,
        batch.query_mask,
        dict(batch.task_x),
        dict(adapted or {}),
    )


def meta_loss(
    model: nn.Module,
    params: TensorDict | None,
    buffers: TensorDict | None,
    batch: TaskBatch,
    *,
    adapt_names: Sequence[str],
    loss_fn: str | RowLoss = "mse",
    return_task_losses: bool = False,
    **adapt_kwargs,
):
    """MAML / first-order MAML meta-loss of a batch of tasks.

    For every task, in one ``vmap``: adapt on its support rows (:func:`adapt`), then
    take the masked mean loss on its query rows. The result is the mean over tasks
    that have at least one query row (padding tasks count for nothing). Calling
    ``.backward()`` on it gives the MAML gradient (through the inner loop) or, with
    ``first_order=True``, the FOMAML gradient; Meta-SGD ``inner_lrs`` that require
    grad receive gradients in both cases.

    Parameters
    ----------
    model : nn.Module
        Called as ``model(**row_x, **task_x)`` for one task.
    params : dict of str to Tensor or None
        Parameters to use instead of the module's (any subset); None uses the
        module's own, which is what a training step wants.
    buffers : dict of str to Tensor or None
        Buffers to use instead of the module's; None keeps them.
    batch : TaskBatch
        Padded support and query rows of ``n_tasks`` tasks.
    adapt_names : sequence of str
        Parameters adapted per task (see :func:`adapt`).
    loss_fn : {"mse", "bce"} or callable, default="mse"
        Per-row loss of the inner loop and of the query sets.
    return_task_losses : bool, default=False
        Also return the per-task query losses.
    **adapt_kwargs
        The other keyword arguments of :func:`adapt` (``n_steps``, ``inner_lr``,
        ``inner_lrs``, ``first_order``, ``inner_reduction``, ``solver``,
        ``prior_precision``, ``linear``).

    Returns
    -------
    loss : Tensor of shape ()
    task_losses : Tensor of shape (n_tasks,)
        Only when ``return_task_losses``; 0 for tasks without query rows.

    Examples
    --------
    >>> import numpy as np, torch
    >>> from sklearn_metarec.nn import MetaRecNet
    >>> from sklearn_metarec.meta import make_task_batch
    >>> net = MetaRecNet(6, embedding_dim=4, generator=torch.Generator())
    >>> batch = make_task_batch(
    ...     task_index=np.array([0, 0, 0, 1, 1, 1]),
    ...     x={"items": np.array([0, 1, 2, 3, 4, 5])},
    ...     y=np.array([4.0, 5.0, 3.0, 1.0, 2.0, 2.0]),
    ...     is_query=np.array([False, False, True, False, False, True]))
    >>> loss = meta_loss(net, None, None, batch, adapt_names=net.DEFAULT_ADAPT_NAMES,
    ...                  n_steps=2, inner_lr=0.1)
    >>> loss.backward()
    >>> net.global_bias.grad is not None
    True
    """
    params = dict(model.named_parameters()) if params is None else dict(params)
    adapt_kwargs = dict(adapt_names=tuple(adapt_names), loss_fn=loss_fn, **adapt_kwargs)
    losses = _query_losses(
        model, params, buffers, batch, adapt_kwargs, check_loss(loss_fn)
    )
    loss = _weighted_task_mean(losses, _task_weights(batch.query_mask))
    return (loss, losses) if return_task_losses else loss


def reptile_grads(
    model: nn.Module,
    params: Mapping[str, torch.Tensor] | None,
    buffers: TensorDict | None,
    batch: TaskBatch,
    *,
    adapt_names: Sequence[str],
    loss_fn: str | RowLoss = "mse",
    **adapt_kwargs,
) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
    """Reptile update direction of a batch of tasks, as gradients.

    For a parameter in ``adapt_names`` the "gradient" is ``theta - mean_t(phi_t)``:
    the initial value minus the adapted values averaged over tasks with at least one
    support row. An optimizer step ``theta -= lr * grad`` (plain SGD) is then exactly
    Reptile's ``theta += lr * (mean phi - theta)``; Adam rescales it per coordinate,
    as Reptile implementations commonly do.

    Reptile has no use for the other, shared parameters; here they get the
    first-order gradient of the mean query loss at the adapted parameters, so that
    the shared item encoder and head still learn. ``inner_lrs`` are used as step sizes
    but receive no gradient (Reptile gives none), nor do learnable ridge
    ``prior_precision``.

    Parameters
    ----------
    model, params, buffers, batch, adapt_names, loss_fn, **adapt_kwargs
        As in :func:`meta_loss` (``first_order`` is always true here). ``params``
        None uses the module's own.

    Returns
    -------
    grads : dict of str to Tensor
        One entry per parameter in ``params`` (or in the module) that requires grad,
        of that parameter's shape; detached.
    loss : Tensor of shape ()
        Mean query loss after adaptation (detached), for logging.

    Examples
    --------
    >>> import numpy as np, torch
    >>> from sklearn_metarec.nn import MetaRecNet
    >>> from sklearn_metarec.meta import make_task_batch
    >>> net = MetaRecNet(6, embedding_dim=4, global_bias=3.0,
    ...                  generator=torch.Generator())
    >>> batch = make_task_batch(
    ...     task_index=np.array([0, 0, 0, 1, 1, 1]),
    ...     x={"items": np.array([0, 1, 2, 3, 4, 5])},
    ...     y=np.array([4.0, 5.0, 3.0, 1.0, 2.0, 2.0]),
    ...     is_query=np.array([False, False, True, False, False, True]))
    >>> grads, loss = reptile_grads(net, None, None, batch, adapt_names=["user.bias"],
    ...                             n_steps=2, inner_lr=0.1)
    >>> sorted(grads)  # every trainable parameter, adapted or shared
    ['global_bias', 'item.id_bias.weight', 'item.id_embedding.weight', 'user.bias',
     'user.embedding']

    The direction of an adapted parameter is its initial value minus its adapted
    value averaged over the tasks:

    >>> adapted = adapt_batch(net, None, None, batch.support_x, batch.support_y,
    ...                       batch.support_mask, adapt_names=["user.bias"],
    ...                       n_steps=2, inner_lr=0.1)
    >>> torch.allclose(grads["user.bias"], net.user.bias - adapted["user.bias"].mean(0))
    True
    """
    params = dict(model.named_parameters()) if params is None else dict(params)
    adapt_kwargs = {k: _detach(v) for k, v in adapt_kwargs.items()}
    adapt_kwargs.update(adapt_names=tuple(adapt_names), loss_fn=loss_fn)
    adapt_kwargs["first_order"] = True
    with torch.no_grad():  # torch.func.grad inside still works; no graph is kept
        adapted = adapt_batch(
            model,
            params,
            buffers,
            batch.support_x,
            batch.support_y,
            batch.support_mask,
            batch.task_x,
            **adapt_kwargs,
        )
    support_weights = _task_weights(batch.support_mask)
    grads = {
        n: params[n].detach() - _weighted_task_mean(adapted[n], support_weights)
        for n in adapted
    }

    shared = {n: p for n, p in params.items() if n not in adapted and p.requires_grad}
    losses = _query_losses(
        model,
        params,
        buffers,
        batch,
        adapt_kwargs,
        check_loss(loss_fn),
        adapted=adapted,
    )
    loss = _weighted_task_mean(losses, _task_weights(batch.query_mask))
    if shared:
        shared_grads = torch.autograd.grad(
            loss, list(shared.values()), allow_unused=True
        )
        for (n, p), g in zip(shared.items(), shared_grads, strict=True):
            grads[n] = torch.zeros_like(p) if g is None else g.detach()
    return grads, loss.detach()


def meta_backward(
    model: nn.Module,
    batch: TaskBatch,
    *,
    algorithm: str = "maml",
    adapt_names: Sequence[str],
    buffers: TensorDict | None = None,
    **adapt_kwargs,
) -> torch.Tensor:
    """Accumulate the meta-gradient of ``batch`` into ``.grad`` of the model.

    The one call a training step needs between ``optimizer.zero_grad()`` and
    ``optimizer.step()``. Gradients are added to existing ``.grad`` (as
    ``backward()`` does), so several calls accumulate.

    Parameters
    ----------
    model : nn.Module
        Its ``named_parameters()`` are the meta-parameters.
    batch : TaskBatch
    algorithm : {"maml", "fomaml", "reptile"}, default="maml"
        Second-order MAML, first-order MAML, or Reptile (see :func:`reptile_grads`).
        It sets ``first_order``; do not pass that too.
    adapt_names : sequence of str
        Parameters adapted per task.
    buffers : dict of str to Tensor, default=None
        Buffers to use instead of the module's.
    **adapt_kwargs
        The other keyword arguments of :func:`adapt` (``loss_fn``, ``n_steps``,
        ``inner_lr``, ``inner_lrs``, ``inner_reduction``, ``solver``,
        ``prior_precision``, ``linear``). Learnable ``inner_lrs`` and
        ``prior_precision`` get their ``.grad`` from MAML and FOMAML, none from
        Reptile.

    Returns
    -------
    Tensor of shape ()
        The mean query loss after adaptation, detached (for logging).

    Examples
    --------
    >>> import numpy as np, torch
    >>> from sklearn_metarec.nn import MetaRecNet
    >>> from sklearn_metarec.meta import make_task_batch
    >>> net = MetaRecNet(6, embedding_dim=4, global_bias=3.0,
    ...                  generator=torch.Generator())
    >>> batch = make_task_batch(
    ...     task_index=np.array([0, 0, 0, 1, 1, 1]),
    ...     x={"items": np.array([0, 1, 2, 3, 4, 5])},
    ...     y=np.array([4.0, 5.0, 3.0, 1.0, 2.0, 2.0]),
    ...     is_query=np.array([False, False, True, False, False, True]))
    >>> optimizer = torch.optim.Adam(net.parameters(), lr=0.05)
    >>> losses = []
    >>> for _ in range(10):
    ...     optimizer.zero_grad()
    ...     loss = meta_backward(net, batch, algorithm="maml", n_steps=2, inner_lr=0.1,
    ...                          adapt_names=net.DEFAULT_ADAPT_NAMES)
    ...     optimizer.step()
    ...     losses.append(loss.item())
    >>> losses[-1] < losses[0]  # the meta-learned initialisation adapts better
    True

    Gradients accumulate across calls, as with ``backward()``:

    >>> optimizer.zero_grad()
    >>> _ = meta_backward(net, batch, algorithm="reptile", adapt_names=["user.bias"])
    >>> once = net.user.bias.grad.clone()
    >>> _ = meta_backward(net, batch, algorithm="reptile", adapt_names=["user.bias"])
    >>> torch.allclose(net.user.bias.grad, 2 * once)
    True
    """
    if algorithm not in ALGORITHMS:
        raise ValueError(f"algorithm must be one of {ALGORITHMS}, got {algorithm!r}")
    if "first_order" in adapt_kwargs:
        raise TypeError("meta_backward sets first_order from algorithm")
    kwargs = dict(adapt_names=adapt_names, **adapt_kwargs)
    if algorithm != "reptile":
        loss = meta_loss(
            model, None, buffers, batch, first_order=algorithm == "fomaml", **kwargs
        )
        loss.backward()
        return loss.detach()
    grads, loss = reptile_grads(model, None, buffers, batch, **kwargs)
    for name, param in model.named_parameters():
        if name in grads and param.requires_grad:
            g = grads[name].to(param.dtype)
            param.grad = g.clone() if param.grad is None else param.grad + g
    return loss
