"""Rating-prediction errors, over rows or averaged per user."""

from __future__ import annotations

import numpy as np
import pandas as pd

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
    squared = _errors(y_true, y_pred, users) ** 2
    if users is None:
        return float(np.sqrt(squared.mean()))
    per_user = pd.Series(squared).groupby(_codes(users), sort=False).mean()
    return float(np.sqrt(per_user.to_numpy()).mean())


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
    errors = np.abs(_errors(y_true, y_pred, users))
    if users is None:
        return float(errors.mean())
    return float(pd.Series(errors).groupby(_codes(users), sort=False).mean().mean())


def _errors(y_true, y_pred, users):
    try:
        y_true = np.asarray(y_true, dtype=np.float64)
        y_pred = np.asarray(y_pred, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError("y_true and y_pred must be numeric.") from None
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
    if users is not None and len(users) != len(y_true):
        raise ValueError(
            f"users has {len(users)} entries for {len(y_true)} rows; give one user "
            "id per row."
        )
    return y_pred - y_true


def _codes(users):
    codes, _ = pd.factorize(np.asarray(users), use_na_sentinel=True)
    if np.any(codes < 0):
        raise ValueError("users contains missing values (NaN/None).")
    return codes
