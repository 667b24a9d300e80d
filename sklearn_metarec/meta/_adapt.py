"""The inner loop: adapt a model's parameters to one task (one user), or to many.

Adaptation is a pure function of tensors: a dict of parameters in, a dict of adapted
parameters out. Nothing is patched into the module; the model runs through
``torch.func.functional_call``. Because the function is pure, ``torch.func.vmap``
batches it over tasks (users) and ordinary autograd differentiates through it (the
second-order MAML gradient).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch
from torch import nn
from torch.func import grad, vmap

from ._functional import TensorDict, call, own_parameter
from ._linear import (
    adapt_linear,
    flatten,
    linear_terms,
    per_coordinate,
    solve_ridge,
    supports_linear,
    unflatten,
)
from ._losses import RowLoss, check_loss, masked_mean, masked_reduce, squared_error

__all__ = [
    "adapt",
    "adapt_batch",
    "precompute",
    "predict",
    "predict_batch",
    "task_loss",
    "use_linear",
]


def _call(
    model: nn.Module,
    params: TensorDict,
    buffers: TensorDict | None,
    row_x: TensorDict,
    task_x: TensorDict | None,
) -> torch.Tensor:
    """``model(**row_x, **task_x)`` with ``params`` and ``buffers`` swapped in."""
    return call(model, params, buffers, {**row_x, **(task_x or {})})


def precompute(
    model: nn.Module,
    params: TensorDict | None,
    buffers: TensorDict | None,
    x: TensorDict,
    adapt_names: Sequence[str],
) -> dict[str, torch.Tensor]:
    """Row inputs with the parts that do not depend on ``adapt_names`` precomputed.

    Calls the model's optional ``precompute_inputs(adapt_names, **x)`` hook (for
    :class:`~sklearn_metarec.nn.MetaRecNet`: item ids become item vectors and
    biases), so the inner loop does not re-encode the same rows at every step.
    Models without the hook get ``x`` back unchanged.

    Examples
    --------
    >>> import torch
    >>> from sklearn_metarec.nn import MetaRecNet
    >>> net = MetaRecNet(5, embedding_dim=3, generator=torch.Generator())
    >>> rows = {"items": torch.tensor([0, 4])}
    >>> x = precompute(net, None, None, rows, net.DEFAULT_ADAPT_NAMES)
    >>> sorted(x), tuple(x["item_vec"].shape)
    (['item_bias', 'item_vec'], (2, 3))
    >>> torch.allclose(net(**x), net(**rows))  # the same scores, items encoded once
    True
    >>> sorted(precompute(net, None, None, rows, ["item.id_bias.weight"]))
    ['items']
    """
    if not hasattr(model, "precompute_inputs"):
        return dict(x)
    return call(
        model,
        params,
        buffers,
        dict(x),
        method="precompute_inputs",
        args=(tuple(adapt_names),),
    )


def precompute_together(
    model: nn.Module,
    params: TensorDict | None,
    buffers: TensorDict | None,
    parts: Sequence[TensorDict],
    adapt_names: Sequence[str],
) -> list[dict[str, torch.Tensor]]:
    """:func:`precompute` of several row sets in one call (one item encoding).

    The parts (a batch's support and query rows, say) are joined along their row
    axis, the last axis of ``items``, precomputed once, and split again, so an
    item that several parts share is encoded once (and its gradient gathered in
    one backward). Parts with other keys are precomputed one by one.

    Examples
    --------
    >>> import torch
    >>> from sklearn_metarec.nn import MetaRecNet
    >>> net = MetaRecNet(5, embedding_dim=3, generator=torch.Generator())
    >>> support = {"items": torch.tensor([[0, 1], [2, 3]])}
    >>> query = {"items": torch.tensor([[4], [0]])}
    >>> s, q = precompute_together(net, None, None, [support, query],
    ...                            net.DEFAULT_ADAPT_NAMES)
    >>> tuple(s["item_vec"].shape), tuple(q["item_vec"].shape)
    ((2, 2, 3), (2, 1, 3))
    >>> alone = precompute(net, None, None, query, net.DEFAULT_ADAPT_NAMES)
    >>> torch.equal(q["item_vec"], alone["item_vec"])
    True
    """
    keys = [sorted(part) for part in parts]
    if not parts or "items" not in parts[0] or any(k != keys[0] for k in keys):
        return [precompute(model, params, buffers, part, adapt_names) for part in parts]
    axis = parts[0]["items"].ndim - 1
    if any(
        part[k].shape[:axis] != parts[0]["items"].shape[:axis]
        for part in parts
        for k in part
    ):
        return [precompute(model, params, buffers, part, adapt_names) for part in parts]
    sizes = [part["items"].shape[axis] for part in parts]
    joined = {k: torch.cat([part[k] for part in parts], dim=axis) for k in keys[0]}
    out = precompute(model, params, buffers, joined, adapt_names)
    pieces = {k: torch.split(v, sizes, dim=axis) for k, v in out.items()}
    return [{k: v[i] for k, v in pieces.items()} for i in range(len(parts))]


def task_loss(
    model: nn.Module,
    params: TensorDict,
    buffers: TensorDict | None,
    x: TensorDict,
    y: torch.Tensor,
    mask: torch.Tensor | None = None,
    task_x: TensorDict | None = None,
    *,
    loss_fn: str | RowLoss = "mse",
) -> torch.Tensor:
    """Masked mean loss of the model on one task's rows.

    Parameters
    ----------
    model : nn.Module
        Called as ``model(**x, **task_x)``; returns one prediction per row.
    params : dict of str to Tensor
        Parameters to use instead of the module's (any subset of them).
    buffers : dict of str to Tensor or None
        Buffers to use instead of the module's; None keeps the module's.
    x : dict of str to Tensor of shape (n_rows, ...)
        Row inputs of the model.
    y : Tensor of shape (n_rows,)
        Targets.
    mask : BoolTensor of shape (n_rows,), default=None
        Valid rows; None for all.
    task_x : dict of str to Tensor, default=None
        Per-task inputs of the model (e.g. user features), without the row axis.
    loss_fn : {"mse", "bce"} or callable, default="mse"
        Per-row loss ``(pred, target) -> loss`` (no reduction).

    Returns
    -------
    Tensor of shape ()

    Examples
    --------
    >>> import torch
    >>> from sklearn_metarec.nn import MetaRecNet
    >>> net = MetaRecNet(5, embedding_dim=3, global_bias=3.0,
    ...                  generator=torch.Generator())
    >>> x, y = {"items": torch.tensor([0, 1, 2])}, torch.tensor([5.0, 4.0, 0.0])
    >>> mask = torch.tensor([True, True, False])  # the last row is padding
    >>> loss = task_loss(net, dict(net.named_parameters()), None, x, y, mask)
    >>> pred = net(**x)
    >>> torch.allclose(loss, ((pred[:2] - y[:2]) ** 2).mean())
    True
    >>> raised = task_loss(net, {"user.bias": torch.tensor(1.5)}, None, x, y, mask)
    >>> bool(raised < loss)  # a higher user bias fits the ratings 5 and 4 better
    True
    """
    pred = _call(model, params, buffers, x, task_x)
    return masked_mean(check_loss(loss_fn)(pred, y), mask)


SOLVERS = ("gradient", "ridge")
"""Inner-loop solvers of :func:`adapt`."""


def adapt(
    model: nn.Module,
    params: TensorDict | None,
    buffers: TensorDict | None,
    support_x: TensorDict,
    support_y: torch.Tensor,
    support_mask: torch.Tensor | None = None,
    task_x: TensorDict | None = None,
    *,
    adapt_names: Sequence[str],
    loss_fn: str | RowLoss = "mse",
    n_steps: int = 1,
    inner_lr: float | torch.Tensor = 0.01,
    inner_lrs: TensorDict | None = None,
    first_order: bool = False,
    inner_reduction: str = "mean",
    solver: str = "gradient",
    prior_precision: float | torch.Tensor | TensorDict = 1.0,
    linear: bool | str = "auto",
) -> dict[str, torch.Tensor]:
    """Adapt the parameters named in ``adapt_names`` to one task.

    Runs ``n_steps`` steps of ``theta <- theta - lr * grad L_support(theta)`` on the
    parameters in ``adapt_names`` only; every other parameter is shared and fixed.
    The function is pure and differentiable: gradients of a loss computed from its
    output flow back through the inner steps into ``params`` (and into ``inner_lrs``),
    which is the second-order MAML gradient. With ``first_order=True`` the inner
    gradients are detached (FOMAML): the outer gradient then only sees
    ``theta' = theta - lr * const``.

    Parameters
    ----------
    model : nn.Module
        Called as ``model(**support_x, **task_x)``, returning predictions of shape
        ``(n_rows,)``.
    params : dict of str to Tensor or None
        Parameters to use instead of the module's own; it may hold any subset of
        them (typically ``dict(model.named_parameters())``, or the current adapted
        state of a user to continue its adaptation). None uses the module's own.
    buffers : dict of str to Tensor or None
        Buffers to use instead of the module's; None keeps the module's.
    support_x : dict of str to Tensor of shape (n_support, ...)
        Row inputs of the model, e.g. ``{"items": LongTensor (n_support,)}``.
    support_y : Tensor of shape (n_support,)
        Targets of the support rows.
    support_mask : BoolTensor of shape (n_support,), default=None
        Valid (non-padding) rows; None for all.
    task_x : dict of str to Tensor, default=None
        Per-task model inputs without a row axis, e.g. ``{"user_features": ...}``.
    adapt_names : sequence of str
        Names (as in ``named_parameters``) of the parameters to adapt.
    loss_fn : {"mse", "bce"} or callable, default="mse"
        Per-row loss ``(pred, target) -> loss`` (no reduction).
    n_steps : int, default=1
        Number of inner gradient steps, 0 or more (0 returns the initial values).
    inner_lr : float or Tensor, default=0.01
        Step size for parameters without an entry in ``inner_lrs``.
    inner_lrs : dict of str to Tensor, default=None
        Per-parameter step sizes (Meta-SGD), each broadcastable to its parameter;
        they may require grad to be learned in the outer loop.
    first_order : bool, default=False
        Detach the inner gradients (first-order MAML). Ignored by the ridge solver.
    inner_reduction : {"mean", "sum"}, default="mean"
        Support loss as the masked mean or the masked sum of the row losses. With
        ``"sum"`` the size of a step grows with the number of support rows, so a
        user with few ratings moves less from the prior than one with many, as in a
        ridge fold-in (on MovieLens this predicts better); keep ``inner_lr`` small
        enough for the largest support sets you will adapt on, or use the ridge
        solver, which has no step size.
    solver : {"gradient", "ridge"}, default="gradient"
        ``"gradient"``: ``n_steps`` gradient steps. ``"ridge"``: the exact
        minimiser of the (mean or sum) squared error plus
        ``sum(prior_precision * (theta - theta_init)**2)``, in closed form
        (:func:`~sklearn_metarec.meta.solve_ridge`); only for MSE and models linear
        in the adapted parameters; ``n_steps``, ``inner_lr(s)`` and
        ``first_order`` are unused.
    prior_precision : float, Tensor or dict of str to Tensor, default=1.0
        Ridge penalty per parameter (dict entries broadcast to the parameter's
        shape; may require grad to be learned), > 0.
    linear : {"auto", True, False}, default="auto"
        Use the closed-form inner loop of :mod:`sklearn_metarec.meta._linear` when
        the model's scores are linear in the adapted parameters (its
        ``supports_linear_adaptation(adapt_names)`` is true): same result, no
        autodiff through the network, several times faster. False forces the
        generic ``torch.func.grad`` path; True requires the closed form.

    Returns
    -------
    dict of str to Tensor
        The adapted values of the ``adapt_names`` parameters (shapes as in
        ``params``). Merge with ``{**params, **adapted}`` to run the adapted model.

    Examples
    --------
    >>> import torch
    >>> from sklearn_metarec.nn import MetaRecNet
    >>> net = MetaRecNet(5, embedding_dim=3, generator=torch.Generator())
    >>> adapted = adapt(net, None, None, {"items": torch.tensor([0, 1, 2])},
    ...                 torch.tensor([5.0, 4.0, 5.0]), adapt_names=["user.bias"],
    ...                 n_steps=2, inner_lr=0.5)
    >>> adapted["user.bias"].item() > 0  # the bias moved toward the high ratings
    True
    """
    if n_steps < 0:
        raise ValueError(f"n_steps must be >= 0, got {n_steps}")
    if solver not in SOLVERS:
        raise ValueError(f"solver must be one of {SOLVERS}, got {solver!r}")
    if inner_reduction not in ("mean", "sum"):
        raise ValueError(
            f"inner_reduction must be 'mean' or 'sum', got {inner_reduction!r}"
        )
    loss = check_loss(loss_fn)
    if solver == "ridge":
        if loss is not squared_error:
            raise ValueError("the ridge solver needs the squared error (loss 'mse')")
        if linear is False or not supports_linear(model, adapt_names):
            raise ValueError(
                "the ridge solver needs a model linear in the adapted parameters "
                f"{tuple(adapt_names)} (see supports_linear_adaptation)"
            )
    if use_linear(model, adapt_names, linear):
        return _adapt_linear(
            model,
            params,
            buffers,
            support_x,
            support_y,
            support_mask,
            task_x,
            adapt_names=tuple(adapt_names),
            loss=loss,
            n_steps=n_steps,
            inner_lr=inner_lr,
            inner_lrs=inner_lrs,
            first_order=first_order,
            reduction=inner_reduction,
            solver=solver,
            prior_precision=prior_precision,
        )
    params = dict(model.named_parameters()) if params is None else dict(params)
    missing = [n for n in adapt_names if n not in params]
    if missing:
        own = dict(model.named_parameters())
        unknown = [n for n in missing if n not in own]
        if unknown:
            raise KeyError(f"adapt_names not among the model parameters: {unknown}")
        params.update({n: own[n] for n in missing})
    fast = {n: params[n] for n in adapt_names}
    shared = {n: p for n, p in params.items() if n not in fast}
    inner_lrs = inner_lrs or {}
    support_x = precompute(model, shared, buffers, support_x, adapt_names)

    def support_loss(fast_params):
        pred = _call(model, {**shared, **fast_params}, buffers, support_x, task_x)
        return masked_reduce(loss(pred, support_y), support_mask, inner_reduction)

    support_grad = grad(support_loss)
    for _ in range(n_steps):
        grads = support_grad(fast)
        if first_order:
            grads = {n: g.detach() for n, g in grads.items()}
        fast = {n: fast[n] - inner_lrs.get(n, inner_lr) * grads[n] for n in fast}
    return fast


def use_linear(model: nn.Module, adapt_names: Sequence[str], linear) -> bool:
    """Resolve the ``linear`` option of :func:`adapt` for this model.

    Examples
    --------
    >>> import torch
    >>> from sklearn_metarec.nn import MetaRecNet
    >>> net = MetaRecNet(5, embedding_dim=3, generator=torch.Generator())
    >>> use_linear(net, net.DEFAULT_ADAPT_NAMES, "auto")
    True
    >>> use_linear(net, net.DEFAULT_ADAPT_NAMES, False)  # force the generic path
    False
    >>> mlp = MetaRecNet(5, embedding_dim=3, hidden_dims=[4],
    ...                  generator=torch.Generator())
    >>> use_linear(mlp, ["user.bias"], "auto")  # an MLP head has no closed form
    False
    >>> use_linear(mlp, ["user.bias"], True)
    Traceback (most recent call last):
    ...
    ValueError: the model's scores are not linear in ('user.bias',)
    """
    if linear not in ("auto", True, False):
        raise ValueError(f"linear must be 'auto', True or False, got {linear!r}")
    supported = supports_linear(model, adapt_names)
    if linear is True and not supported:
        raise ValueError(f"the model's scores are not linear in {tuple(adapt_names)}")
    return bool(linear) and supported


def _initial(model, params, adapt_names):
    """Initial values of the adapted parameters (``params`` first, then own)."""
    params = params or {}
    own = {n: own_parameter(model, n) for n in adapt_names if n not in params}
    unknown = [n for n, value in own.items() if value is None]
    if unknown:
        raise KeyError(f"adapt_names not among the model parameters: {unknown}")
    return {n: params[n] if n in params else own[n] for n in adapt_names}


def _adapt_linear(
    model,
    params,
    buffers,
    x,
    y,
    mask,
    task_x,
    *,
    adapt_names,
    loss,
    n_steps,
    inner_lr,
    inner_lrs,
    first_order,
    reduction,
    solver,
    prior_precision,
):
    """The closed-form path of :func:`adapt` (and of :func:`adapt_batch`)."""
    init = _initial(model, params, adapt_names)
    shapes = {n: model.get_parameter(n).shape for n in adapt_names}
    params_batch_ndim = {n: v.ndim - len(shapes[n]) for n, v in init.items()}
    if len(set(params_batch_ndim.values())) > 1:
        raise ValueError("adapted parameters have inconsistent task axes")
    theta = flatten(init, adapt_names, next(iter(params_batch_ndim.values())))
    shared = {k: v for k, v in (params or {}).items() if k not in init}
    offset, design = linear_terms(model, shared, buffers, x, task_x, adapt_names)
    if solver == "ridge":
        if isinstance(prior_precision, Mapping):
            precision = per_coordinate(adapt_names, shapes, 1.0, prior_precision, theta)
        else:
            precision = prior_precision
        theta = solve_ridge(
            offset, design, y, mask, theta, precision=precision, reduction=reduction
        )
        return unflatten(theta, shapes, adapt_names)
    lr = per_coordinate(adapt_names, shapes, inner_lr, inner_lrs, theta)
    theta = adapt_linear(
        offset,
        design,
        y,
        mask,
        theta,
        loss_fn=loss,
        n_steps=n_steps,
        lr=lr,
        first_order=first_order,
        reduction=reduction,
    )
    return unflatten(theta, shapes, adapt_names)


def adapt_batch(
    model: nn.Module,
    params: TensorDict | None,
    buffers: TensorDict | None,
    support_x: TensorDict,
    support_y: torch.Tensor,
    support_mask: torch.Tensor | None = None,
    task_x: TensorDict | None = None,
    **kwargs,
) -> dict[str, torch.Tensor]:
    """:func:`adapt` over a batch of padded tasks at once, with ``vmap``.

    Parameters
    ----------
    model, params, buffers
        As in :func:`adapt`; shared by all tasks.
    support_x : dict of str to Tensor of shape (n_tasks, max_support, ...)
    support_y : Tensor of shape (n_tasks, max_support)
    support_mask : BoolTensor of shape (n_tasks, max_support), default=None
    task_x : dict of str to Tensor of shape (n_tasks, ...), default=None
    **kwargs
        Keyword arguments of :func:`adapt` (``adapt_names``, ``n_steps``, ...).

    Returns
    -------
    dict of str to Tensor
        Adapted parameters with a leading task axis: ``(n_tasks, *param.shape)``.

    Examples
    --------
    Two users, the second with one real support row and one padding row:

    >>> import torch
    >>> from sklearn_metarec.nn import MetaRecNet
    >>> net = MetaRecNet(5, embedding_dim=3, global_bias=3.0,
    ...                  generator=torch.Generator())
    >>> support_x = {"items": torch.tensor([[0, 1], [2, 0]])}
    >>> support_y = torch.tensor([[5.0, 4.0], [1.0, 0.0]])
    >>> mask = torch.tensor([[True, True], [True, False]])
    >>> adapted = adapt_batch(net, None, None, support_x, support_y, mask,
    ...                       adapt_names=net.DEFAULT_ADAPT_NAMES, n_steps=3,
    ...                       inner_lr=0.5)
    >>> {name: tuple(value.shape) for name, value in adapted.items()}
    {'user.embedding': (2, 3), 'user.bias': (2,)}
    >>> bool(adapted["user.bias"][0] > 0 > adapted["user.bias"][1])
    True
    >>> alone = adapt(net, None, None, {"items": torch.tensor([2])},
    ...               torch.tensor([1.0]), adapt_names=net.DEFAULT_ADAPT_NAMES,
    ...               n_steps=3, inner_lr=0.5)
    >>> all(torch.allclose(alone[name], adapted[name][1]) for name in alone)
    True
    """
    if support_mask is None:
        support_mask = torch.ones_like(support_y, dtype=torch.bool)
    if use_linear(model, kwargs["adapt_names"], kwargs.get("linear", "auto")):
        # The closed form is batched natively: no vmap needed.
        return adapt(
            model, params, buffers, support_x, support_y, support_mask, task_x, **kwargs
        )

    def one(sx, sy, sm, tx):
        return adapt(model, params, buffers, sx, sy, sm, tx, **kwargs)

    return vmap(one)(dict(support_x), support_y, support_mask, dict(task_x or {}))


def predict(
    model: nn.Module,
    params: TensorDict | None,
    buffers: TensorDict | None,
    x: TensorDict,
    task_x: TensorDict | None = None,
) -> torch.Tensor:
    """Predictions of the model with (adapted) parameters swapped in, for one task.

    Parameters
    ----------
    model : nn.Module
    params : dict of str to Tensor or None
        E.g. the output of :func:`adapt`; other parameters are the module's own.
    buffers : dict of str to Tensor or None
    x : dict of str to Tensor of shape (n_rows, ...)
    task_x : dict of str to Tensor, default=None

    Returns
    -------
    Tensor of shape (n_rows,)

    Examples
    --------
    >>> import torch
    >>> from sklearn_metarec.nn import MetaRecNet
    >>> net = MetaRecNet(5, embedding_dim=3, global_bias=3.0,
    ...                  generator=torch.Generator())
    >>> x = {"items": torch.tensor([0, 1, 2])}
    >>> adapted = adapt(net, None, None, x, torch.tensor([5.0, 4.0, 5.0]),
    ...                 adapt_names=["user.bias"], n_steps=2, inner_lr=0.5)
    >>> before, after = predict(net, None, None, x), predict(net, adapted, None, x)
    >>> after.shape
    torch.Size([3])
    >>> torch.allclose(after - before, adapted["user.bias"] - net.user.bias)
    True
    """
    return _call(model, params or {}, buffers, x, task_x)


def predict_batch(
    model: nn.Module,
    adapted: TensorDict,
    x: TensorDict,
    task_x: TensorDict | None = None,
    *,
    params: TensorDict | None = None,
    buffers: TensorDict | None = None,
    shared_rows: bool = False,
) -> torch.Tensor:
    """Predictions for many tasks, each with its own adapted parameters (``vmap``).

    Use it to score users whose adapted state includes head parameters; for the
    default user-state-only adaptation :meth:`MetaRecNet.score_all
    <sklearn_metarec.nn.MetaRecNet.score_all>` is faster.

    Parameters
    ----------
    model : nn.Module
    adapted : dict of str to Tensor of shape (n_tasks, *param.shape)
        Per-task parameters, e.g. the output of :func:`adapt_batch`.
    x : dict of str to Tensor of shape (n_tasks, n_rows, ...)
        Row inputs; of shape ``(n_rows, ...)`` when ``shared_rows`` is true (the same
        rows, e.g. the whole catalogue, for every task).
    task_x : dict of str to Tensor of shape (n_tasks, ...), default=None
    params : dict of str to Tensor, default=None
        Shared parameters to use instead of the module's.
    buffers : dict of str to Tensor, default=None
    shared_rows : bool, default=False
        Whether ``x`` lacks the task axis.

    Returns
    -------
    Tensor of shape (n_tasks, n_rows)

    Examples
    --------
    Score the whole catalogue for two users adapted by :func:`adapt_batch`:

    >>> import torch
    >>> from sklearn_metarec.nn import MetaRecNet
    >>> net = MetaRecNet(5, embedding_dim=3, global_bias=3.0,
    ...                  generator=torch.Generator())
    >>> support_x = {"items": torch.tensor([[0, 1], [2, 3]])}
    >>> adapted = adapt_batch(net, None, None, support_x,
    ...                       torch.tensor([[5.0, 4.0], [1.0, 2.0]]),
    ...                       adapt_names=net.DEFAULT_ADAPT_NAMES, n_steps=3,
    ...                       inner_lr=0.5)
    >>> catalogue = {"items": torch.arange(5)}
    >>> scores = predict_batch(net, adapted, catalogue, shared_rows=True)
    >>> scores.shape
    torch.Size([2, 5])
    >>> second = {name: value[1] for name, value in adapted.items()}
    >>> torch.allclose(scores[1], predict(net, second, None, catalogue))
    True
    """
    shared = dict(params or {})

    def one(ad, rows, tx):
        return _call(model, {**shared, **ad}, buffers, rows, tx)

    in_dims = (0, None if shared_rows else 0, 0)
    return vmap(one, in_dims=in_dims)(dict(adapted), dict(x), dict(task_x or {}))
