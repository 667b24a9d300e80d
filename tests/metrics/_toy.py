"""A tiny test-only recommender: global mean + item bias + user bias, with fold-in."""

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator

CALLS = []
"""Every ``partial_fit`` / ``fit`` call of any ToyBiasRecommender: (method, n_rows)."""


class ToyBiasRecommender(BaseEstimator):
    """``mu + b_item + b_user``; ``partial_fit`` (re)fits the given users' biases.

    Items unseen in ``fit`` have bias 0. ``partial_fit`` never changes item biases
    or other users, as the estimator contract asks.
    """

    def __init__(self, shrinkage=1.0):
        self.shrinkage = shrinkage

    def fit(self, X, y):
        CALLS.append(("fit", len(X)))
        users, items, y = _ids(X, y)
        self.mu_ = float(y.mean())
        residual = pd.Series(y - self.mu_)
        self.item_bias_ = residual.groupby(items).sum() / (
            residual.groupby(items).size() + self.shrinkage
        )
        self.user_sum_ = pd.Series(dtype=float)
        self.user_count_ = pd.Series(dtype=float)
        self.seen_ = {}
        self._add_users(users, items, y)
        return self

    def partial_fit(self, X, y):
        CALLS.append(("partial_fit", len(X)))
        users, items, y = _ids(X, y)
        self._add_users(users, items, y)
        return self

    def predict(self, X):
        users, items, _ = _ids(X, None)
        user_bias = self._user_bias().reindex(users).fillna(0.0).to_numpy()
        item_bias = self.item_bias_.reindex(items).fillna(0.0).to_numpy()
        return self.mu_ + user_bias + item_bias

    def recommend(self, users, n=10, exclude_seen=True):
        ranked = self.item_bias_.sort_values(ascending=False, kind="stable").index
        out = []
        for user in users:
            seen = self.seen_.get(user, set()) if exclude_seen else set()
            out.append(np.array([i for i in ranked if i not in seen][:n], dtype=object))
        return out

    def _add_users(self, users, items, y):
        residual = y - self.mu_ - self.item_bias_.reindex(items).fillna(0.0).to_numpy()
        frame = pd.DataFrame({"u": users, "r": residual})
        sums = frame.groupby("u")["r"].sum()
        counts = frame.groupby("u")["r"].size().astype(float)
        self.user_sum_ = self.user_sum_.add(sums, fill_value=0.0)
        self.user_count_ = self.user_count_.add(counts, fill_value=0.0)
        for user, item in zip(users, items):
            self.seen_.setdefault(user, set()).add(item)

    def _user_bias(self):
        return self.user_sum_ / (self.user_count_ + self.shrinkage)


def _ids(X, y):
    frame = X if isinstance(X, pd.DataFrame) else pd.DataFrame(np.asarray(X))
    users = frame.iloc[:, 0].to_numpy()
    items = frame.iloc[:, 1].to_numpy()
    return users, items, None if y is None else np.asarray(y, dtype=float)


def toy_log(n_users=30, n_items=25, per_user=12, seed=0):
    """A log where every user rates ``per_user`` distinct items, with timestamps."""
    rng = np.random.default_rng(seed)
    item_quality = rng.normal(size=n_items)
    user_taste = rng.normal(scale=0.7, size=n_users)
    users = np.repeat(np.arange(n_users), per_user)
    items = np.concatenate(
        [rng.permutation(n_items)[:per_user] for _ in range(n_users)]
    )
    raw = 3.2 + item_quality[items] + user_taste[users] + rng.normal(0, 0.3, len(users))
    y = np.clip(np.round(raw), 1, 5)
    X = pd.DataFrame(
        {
            "user_id": [f"u{u}" for u in users],
            "item_id": items,
            "timestamp": rng.permutation(len(users)),
        }
    )
    return X, y
