"""Rating-prediction errors, over rows or averaged per user."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..utils._data import as_float_array
from ._ranking import _user_codes

__all__ = ["rmse", "mae"]


def rmse(y_true, y_pred, *, users=None):
    """Root mean squared error of predicted ratings.

    Parameters
    ----------
    y_true : array-like of shape (n_rows,)
        True ratings, finite.
    y_pred : array-like of shape (n_rows,)
        Predicted ratings, finite.
    users : array-like of shape (n_rows,), default=None
        User id of each row. ``None``: the RMSE over all rows (as
        :func:`sklearn.metrics.root_mean_squared_error`). Given: each user's RMSE,
        averaged over users (every user weighs the same, as in the per-task
        evaluation of meta-learning recommenders such as MeLU).

    Returns
    -------
    error : float
        Non-negative; lower is better.

    Examples
    --------
    >>> from sklearn_metarec.metrics import rmse
    >>> rmse([4, 2], [3, 2])  # sqrt((1 + 0) / 2)
    0.7071...
    >>> rmse([4, 2, 5], [3, 2, 5], users=["a", "a", "b"])  # (sqrt(1/2) + 0) / 2
    0.3535...
    """
    errors, scale, codes = _scaled_errors(y_true, y_pred, users)
    squared = errors**2
    if codes is None:
        return float(scale * np.sqrt(squared.mean()))
    per_user = pd.Series(squared).groupby(codes, sort=False)
    return float(scale * np.sqrt(per_user.mean().to_numpy()).mean())


def mae(y_true, y_pred, *, users=None):
    """Mean absolute error of predicted ratings.

    Parameters
    ----------
    y_true : array-like of shape (n_rows,)
        True ratings, finite.
    y_pred : array-like of shape (n_rows,)
        Predicted ratings, finite.
    users : array-like of shape (n_rows,), default=None
        User id of each row. ``None``: the MAE over all rows. Given: each user's
        MAE, averaged over users.

    Returns
    -------
    error : float
        Non-negative; lower is better.

    Examples
    --------
    >>> from sklearn_metarec.metrics import mae
    >>> mae([4, 2, 5], [3, 2, 5])  # (1 + 0 + 0) / 3
    0.333...
    >>> mae([4, 2, 5], [3, 2, 5], users=["a", "a", "b"])  # (1/2 + 0) / 2
    0.25
    """
    errors, scale, codes = _scaled_errors(y_true, y_pred, users)
    errors = np.abs(errors)
    if codes is None:
        return float(scale * errors.mean())
    per_user = pd.Series(errors).groupby(codes, sort=False)
    return float(scale * per_user.mean().mean())


def _scaled_errors(y_true, y_pred, users):
    """Errors ``y_pred - y_true`` divided by their largest magnitude, that scale,
    and the user code of each row (None without ``users``).

    Working on scaled errors keeps squares and sums of huge (but finite) errors
    from overflowing: the metrics stay finite for any finite input.
    """
    y_true = as_float_array(y_true, "y_true", "numeric values")
    y_pred = as_float_array(y_pred, "y_pred", "numeric values")
    if y_true.ndim != 1 or y_pred.ndim != 1:
        raise ValueError(
            f"y_true and y_pred must be 1-D; got shapes {y_true.shape} and "
            f"{y_pred.shape}."
        )
    if len(y_true) != len(y_pred):
        raise ValueError(
            f"y_true and y_pred have different lengths: {len(y_true)} and "
            f"{len(y_pred)}."
        )
    if len(y_true) == 0:
        raise ValueError("y_true is empty.")
    if not np.all(np.isfinite(y_true)):
        raise ValueError("y_true contains NaN or infinite values.")
    if not np.all(np.isfinite(y_pred)):
        raise ValueError("y_pred contains NaN or infinite values.")
    codes = None if users is None else _user_codes(users, len(y_true))[0]
    with np.errstate(over="ignore"):
        errors = y_pred - y_true
    if not np.all(np.isfinite(errors)):
        raise ValueError(
            "y_pred - y_true exceeds the float64 range (errors above 1.8e308)."
        )
    scale = float(np.max(np.abs(errors)))
    if scale == 0:
        return errors, 0.0, codes
    return errors / scale, scale, codes
