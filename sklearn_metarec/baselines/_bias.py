"""Global + item + user bias model with user fold-in."""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np

from ..base import ID_COLUMN_CONSTRAINTS, BaseRecommender, EncodedBatch
from ..utils._sklearn import Interval

__all__ = ["BiasRecommender"]


class BiasRecommender(BaseRecommender):
    """Regularised global, item and user biases, with fold-in of new users.

    The prediction for user ``u`` and item ``i`` is ``mu + b_u + b_i``. Biases are
    fitted by alternating closed-form ridge updates::

        b_i = sum_u (r_ui - mu - b_u) / (n_i + reg_item)
        b_u = sum_i (r_ui - mu - b_i) / (n_u + reg_user)

    ``partial_fit`` folds a new user in with the same update from their rows (item
    biases held fixed), continues it for a known user, and fits the bias of a new
    item from its rows. Biases of items known before the call never change, so
    users outside the batch keep their predictions on them. Side columns of ``X``
    are ignored. Duplicate (user, item) rows count as separate observations.

    Parameters
    ----------
    reg_user : float, default=5.0
        Ridge shrinkage of user biases towards 0, in pseudo-ratings; >= 0.
    reg_item : float, default=10.0
        Ridge shrinkage of item biases towards 0, in pseudo-ratings; >= 0.
    n_iter : int, default=10
        Alternating updates; >= 1.
    user_column : str, default="user_id"
        Name of the user id column of ``X`` (a DataFrame's id columns are found
        by name; an array's are its first two columns).
    item_column : str, default="item_id"
        Name of the item id column of ``X``.

    Attributes
    ----------
    global_mean_ : float
        Mean of ``y`` in ``fit``.
    user_bias_ : ndarray of shape (n_users,)
        One bias per known user (``user_index_`` order).
    item_bias_ : ndarray of shape (n_items,)
        One bias per catalogue item (``item_index_`` order).

    Examples
    --------
    >>> import pandas as pd
    >>> from sklearn_metarec.baselines import BiasRecommender
    >>> X = pd.DataFrame({"user_id": [1, 1, 2, 2], "item_id": ["a", "b", "a", "c"]})
    >>> model = BiasRecommender().fit(X, [5, 3, 4, 2])
    >>> model.predict(pd.DataFrame({"user_id": [1, 99], "item_id": ["c", "a"]}))
    array([3.50..., 3.66...])
    >>> model.recommend([2, 99], n=2)
    [array(['b'], dtype=object), array(['a', 'b'], dtype=object)]
    >>> model.explain(2, ["b"])[["source", "contribution"]].round(2)
            source  contribution
    0  global mean          3.50
    1    user bias         -0.15
    2    item bias         -0.06
    """

    _parameter_constraints: dict = {
        "reg_user": [Interval(Real, 0, None, closed="left")],
        "reg_item": [Interval(Real, 0, None, closed="left")],
        "n_iter": [Interval(Integral, 1, None, closed="left")],
        **ID_COLUMN_CONSTRAINTS,
    }
    _uses_side_information = False

    def __init__(
        self,
        *,
        reg_user=5.0,
        reg_item=10.0,
        n_iter=10,
        user_column="user_id",
        item_column="item_id",
    ):
        self.reg_user = reg_user
        self.reg_item = reg_item
        self.n_iter = n_iter
        self.user_column = user_column
        self.item_column = item_column

    # ------------------------------------------------------------------ hooks
    def _predicts_ratings(self) -> bool:
        return True

    def _fit(self, batch: EncodedBatch) -> None:
        u, i, y = batch.user_pos, batch.item_pos, batch.y
        n_users, n_items = len(self.user_index_), len(self.item_index_)
        self.global_mean_ = float(y.mean())
        r = y - self.global_mean_
        user_count = np.bincount(u, minlength=n_users).astype(np.float64)
        item_count = np.bincount(i, minlength=n_items).astype(np.float64)
        b_u = np.zeros(n_users)
        b_i = np.zeros(n_items)
        for _ in range(self.n_iter):
            b_i = np.bincount(i, r - b_u[u], minlength=n_items) / (
                item_count + self.reg_item
            )
            b_u = np.bincount(u, r - b_i[i], minlength=n_users) / (
                user_count + self.reg_user
            )
        self.item_bias_, self.user_bias_ = b_i, b_u
        # Sufficient statistics for fold-in: residual sums and counts.
        self._user_sum = np.bincount(u, r - b_i[i], minlength=n_users)
        self._user_count = user_count
        self._item_sum = np.zeros(n_items)
        self._item_count = np.zeros(n_items)
        self._n_fitted_items = n_items

    def _partial_fit(self, batch: EncodedBatch) -> None:
        # Write, then swap: every array changed is a new one (the bincounts below
        # are as long as the arrays anyway), so an interrupted call leaves the
        # fitted arrays as they were (see BaseRecommender._transaction).
        self._grow(len(self.user_index_), len(self.item_index_))
        u, i, y = batch.user_pos, batch.item_pos, batch.y
        r = y - self.global_mean_
        n_users, n_items = len(self.user_index_), len(self.item_index_)
        # Items added by partial_fit warm up from their rows (prior: user bias).
        late = i >= self._n_fitted_items
        item_bias = self.item_bias_
        if late.any():
            item_sum = self._item_sum + np.bincount(
                i[late], r[late] - self.user_bias_[u[late]], minlength=n_items
            )
            item_count = self._item_count + np.bincount(i[late], minlength=n_items)
            items = np.unique(i[late])
            item_bias = item_bias.copy()
            item_bias[items] = item_sum[items] / (item_count[items] + self.reg_item)
            self._item_sum, self._item_count = item_sum, item_count
            self.item_bias_ = item_bias
        user_sum = self._user_sum + np.bincount(u, r - item_bias[i], minlength=n_users)
        user_count = self._user_count + np.bincount(u, minlength=n_users)
        users = np.unique(u)
        user_bias = self.user_bias_.copy()
        user_bias[users] = user_sum[users] / (user_count[users] + self.reg_user)
        self._user_sum, self._user_count = user_sum, user_count
        self.user_bias_ = user_bias

    def _predict(self, batch: EncodedBatch) -> np.ndarray:
        u, i = batch.user_pos, batch.item_pos
        b_u = np.where(u >= 0, self.user_bias_[np.maximum(u, 0)], 0.0)
        b_i = np.where(i >= 0, self.item_bias_[np.maximum(i, 0)], 0.0)
        return self.global_mean_ + b_u + b_i

    def _score_items(self, user_pos: np.ndarray) -> np.ndarray:
        b_u = np.where(user_pos >= 0, self.user_bias_[np.maximum(user_pos, 0)], 0.0)
        return self.global_mean_ + b_u[:, None] + self.item_bias_[None, :]

    def _explain_parts(self, user_pos, item_pos, scores):
        n = len(item_pos)
        user_bias = self.user_bias_[user_pos] if user_pos >= 0 else 0.0
        parts = [
            ("global mean", np.full(n, self.global_mean_)),
            ("user bias", np.full(n, user_bias)),
            ("item bias", self.item_bias_[item_pos]),
        ]
        return np.empty(0, dtype=np.int64), np.zeros((n, 0)), parts

    def _grow(self, n_users: int, n_items: int) -> None:
        """Extend per-user / per-item arrays to the current catalogue size."""
        for name, size in (
            ("user_bias_", n_users),
            ("_user_sum", n_users),
            ("_user_count", n_users),
            ("item_bias_", n_items),
            ("_item_sum", n_items),
            ("_item_count", n_items),
        ):
            arr = getattr(self, name)
            if len(arr) < size:
                setattr(self, name, np.concatenate([arr, np.zeros(size - len(arr))]))
