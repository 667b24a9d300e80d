"""Per-row losses and the masked per-task mean."""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

__all__ = [
    "binary_cross_entropy",
    "check_loss",
    "masked_mean",
    "masked_reduce",
    "squared_error",
]

RowLoss = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def squared_error(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Squared error per row, for explicit ratings: shapes ``(...)`` to ``(...)``.

    Examples
    --------
    >>> import torch
    >>> squared_error(torch.tensor([3.0, 5.0]), torch.tensor([4.0, 5.0]))
    tensor([1., 0.])
    """
    return (pred - target) ** 2


def binary_cross_entropy(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Binary cross-entropy per row, ``pred`` being logits: ``(...)`` to ``(...)``.

    Examples
    --------
    >>> import torch
    >>> loss = binary_cross_entropy(torch.tensor([0.0, 3.0]), torch.tensor([1.0, 1.0]))
    >>> [round(v, 4) for v in loss.tolist()]  # log(2) at logit 0, log(1 + e**-3)
    [0.6931, 0.0486]
    """
    return F.binary_cross_entropy_with_logits(pred, target, reduction="none")


LOSSES: dict[str, RowLoss] = {"mse": squared_error, "bce": binary_cross_entropy}


def check_loss(loss: str | RowLoss) -> RowLoss:
    """Resolve ``"mse"``, ``"bce"`` or a callable ``(pred, target) -> per-row loss``.

    Examples
    --------
    >>> check_loss("mse") is squared_error
    True
    >>> check_loss(abs) is abs  # a callable is used as given
    True
    >>> check_loss("hinge")
    Traceback (most recent call last):
    ...
    ValueError: loss must be one of ['bce', 'mse'] or a callable
    """
    if callable(loss):
        return loss
    if loss not in LOSSES:
        raise ValueError(f"loss must be one of {sorted(LOSSES)} or a callable")
    return LOSSES[loss]


def masked_mean(values: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
    """Mean of ``values`` over the rows where ``mask`` is true, along the last axis.

    Padding rows contribute exactly nothing, even when their values are not finite,
    and a task with no valid row has mean 0.

    Parameters
    ----------
    values : Tensor of shape (..., n_rows)
    mask : BoolTensor or Tensor of shape (..., n_rows), or None for all rows

    Returns
    -------
    Tensor of shape (...)

    Examples
    --------
    >>> import torch
    >>> masked_mean(torch.tensor([1.0, 3.0, 100.0]), torch.tensor([True, True, False]))
    tensor(2.)
    """
    if mask is None:
        return values.mean(-1)
    mask = mask.bool()
    total = torch.where(mask, values, torch.zeros_like(values)).sum(-1)
    return total / mask.sum(-1).clamp(min=1).to(values.dtype)


REDUCTIONS = ("mean", "sum")


def masked_reduce(
    values: torch.Tensor, mask: torch.Tensor | None, reduction: str
) -> torch.Tensor:
    """Masked ``"mean"`` (see :func:`masked_mean`) or ``"sum"`` along the last axis.

    Parameters
    ----------
    values : Tensor of shape (..., n_rows)
    mask : BoolTensor of shape (..., n_rows), or None for all rows
    reduction : {"mean", "sum"}

    Returns
    -------
    Tensor of shape (...)

    Examples
    --------
    >>> import torch
    >>> values = torch.tensor([[1.0, 3.0, 100.0], [2.0, 0.0, 0.0]])
    >>> mask = torch.tensor([[True, True, False], [True, False, False]])
    >>> masked_reduce(values, mask, "sum")
    tensor([4., 2.])
    >>> masked_reduce(values, mask, "mean")
    tensor([2., 2.])
    """
    if reduction == "mean":
        return masked_mean(values, mask)
    if reduction != "sum":
        raise ValueError(f"reduction must be one of {REDUCTIONS}, got {reduction!r}")
    if mask is None:
        return values.sum(-1)
    return torch.where(mask.bool(), values, torch.zeros_like(values)).sum(-1)
