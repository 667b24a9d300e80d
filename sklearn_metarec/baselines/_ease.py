"""EASE: the closed-form item-item autoencoder (Steck, WWW 2019)."""

from __future__ import annotations

from numbers import Real

import numpy as np
import scipy.linalg
import scipy.sparse as sp

from .._similar import SimilarItemsMixin
from ..base import ID_COLUMN_CONSTRAINTS, BaseRecommender, EncodedBatch
from ..utils._sklearn import Interval

__all__ = ["EASERecommender"]

_SCORE_CHUNK_CELLS = 2**22  # dense scores per block in predict


class EASERecommender(SimilarItemsMixin, BaseRecommender):
    """Embarrassingly shallow autoencoder: an item-item model in closed form.

    With ``X`` the binary users x items interaction matrix and ``G = X'X``, the
    item-item weights are ``B = argmin ||X - XB||^2 + l2 ||B||^2`` subject to
    ``diag(B) = 0``, which is ``B = I - P / diag(P)`` with ``P = (G + l2 I)^-1``
    (Steck, "Embarrassingly Shallow Autoencoders for Sparse Data", WWW 2019). The
    score of user ``u`` on item ``j`` is ``x_u B[:, j]``: the sum of the weights
    from the items the user has to ``j``. Scores are read from the user's rows
    when scoring, so ``partial_fit`` folds a new user in for free (their rows are
    their ``x_u``); items added by ``partial_fit`` have no weights (score 0, and
    they add nothing to other items' scores). A user with no interaction is
    served by popularity (the items' interaction counts), since ``x_u B`` is 0
    for them. Side columns of ``X`` are ignored.

    ``fit`` holds dense ``n_items x n_items`` matrices (``G``, ``P``, ``B``: three
    of them in float64 at the peak), so it is for catalogues of up to tens of
    thousands of items.

    Parameters
    ----------
    l2 : float, default=500.0
        The L2 penalty on ``B``, > 0 (Steck used 500 on MovieLens-20M; larger
        values lean towards popularity).
    min_rating : float or None, default=None
        With ratings, the rows whose ``y`` is below it are not interactions
        (e.g. 4 on a 1-5 scale keeps the liked items). None: every row is an
        interaction, whatever ``y`` (which may be None).
    user_column : str, default="user_id"
        Name of the user id column of ``X`` (a DataFrame's id columns are found
        by name; an array's are its first two columns).
    item_column : str, default="item_id"
        Name of the item id column of ``X``.

    Attributes
    ----------
    weights_ : ndarray of shape (n_fitted_items, n_fitted_items)
        ``B`` (zero diagonal), rows and columns in ``item_index_`` order.
    item_counts_ : ndarray of shape (n_items,)
        Interactions per catalogue item (the cold users' ranking).

    Examples
    --------
    >>> import pandas as pd
    >>> from sklearn_metarec.baselines import EASERecommender
    >>> X = pd.DataFrame({"user_id": [1, 1, 2, 2, 3, 3],
    ...                   "item_id": ["a", "b", "a", "b", "b", "c"]})
    >>> model = EASERecommender(l2=1.0).fit(X)  # positive-only: no y
    >>> model.recommend([4], n=1)  # a cold user: the most popular item
    [array(['b'], dtype=object)]
    >>> new = pd.DataFrame({"user_id": ["new"], "item_id": ["a"]})
    >>> model.partial_fit(new).recommend(["new"], n=1)  # folded in from "a"
    [array(['b'], dtype=object)]
    >>> model.explain("new", ["b"])[["source", "rated_item_id", "contribution"]]
      source rated_item_id  contribution
    0   item             a      0.666667
    >>> model.similar_items(["c"], n=2)  # by column of B
    [array(['b', 'a'], dtype=object)]
    """

    _parameter_constraints: dict = {
        "l2": [Interval(Real, 0, None, closed="neither")],
        "min_rating": [Real, None],
        **ID_COLUMN_CONSTRAINTS,
    }
    _uses_side_information = False

    def __init__(
        self, *, l2=500.0, min_rating=None, user_column="user_id", item_column="item_id"
    ):
        self.l2 = l2
        self.min_rating = min_rating
        self.user_column = user_column
        self.item_column = item_column

    def _accepts_positive_only(self) -> bool:
        return True

    def _fit(self, batch: EncodedBatch) -> None:
        n_items = len(self.item_index_)
        self._n_fitted_items = n_items
        history = self._history(np.arange(len(self.user_index_)))
        self.item_counts_ = np.asarray(history.sum(0), dtype=np.float64).ravel()
        gram = (history.T @ history).toarray().astype(np.float64)
        gram[np.diag_indices(n_items)] += self.l2
        precision = scipy.linalg.inv(gram, overwrite_a=True, check_finite=False)
        weights = precision / -np.diag(precision)
        weights[np.diag_indices(n_items)] = 0.0
        # Row-major: the inverse comes back column-major, and a users' rows @
        # weights would copy the whole matrix on every recommend.
        self.weights_ = np.ascontiguousarray(weights)

    def _partial_fit(self, batch: EncodedBatch) -> None:
        counts = np.zeros(len(self.item_index_))
        counts[: len(self.item_counts_)] = self.item_counts_
        late = (batch.item_pos >= self._n_fitted_items) & self._interacts(batch.y)
        np.add.at(counts, batch.item_pos[late], 1.0)
        self.item_counts_ = counts  # counts of known items stay frozen

    def _predict(self, batch: EncodedBatch) -> np.ndarray:
        out = np.zeros(len(batch))
        rows = np.flatnonzero((batch.user_pos >= 0) & (batch.item_pos >= 0))
        cold = np.flatnonzero(batch.user_pos < 0)
        items = batch.item_pos[cold]
        out[cold] = np.where(items >= 0, self.item_counts_[np.maximum(items, 0)], 0.0)
        if not len(rows):
            return out
        users, inverse = np.unique(batch.user_pos[rows], return_inverse=True)
        chunk = max(1, _SCORE_CHUNK_CELLS // max(len(self.item_index_), 1))
        for start in range(0, len(users), chunk):
            sel = np.flatnonzero((inverse >= start) & (inverse < start + chunk))
            scores = self._score_items(users[start : start + chunk])
            out[rows[sel]] = scores[inverse[sel] - start, batch.item_pos[rows[sel]]]
        return out

    def _score_items(self, user_pos: np.ndarray) -> np.ndarray:
        n_items, n_fitted = len(self.item_index_), self._n_fitted_items
        scores = np.zeros((len(user_pos), n_items))
        known = np.flatnonzero(user_pos >= 0)
        history = self._history(user_pos[known])[:, :n_fitted]
        scores[known, :n_fitted] = history @ self.weights_
        empty = np.ones(len(user_pos), dtype=bool)
        empty[known] = np.diff(history.indptr) == 0
        scores[empty] = self.item_counts_
        return scores

    def _explain_parts(self, user_pos, item_pos, scores):
        # score_ui = sum_j x_uj B_ji over the user's fitted items j.
        n_fitted = self._n_fitted_items
        rated = np.empty(0, dtype=np.int64)
        if user_pos >= 0:
            rated = self._history([user_pos]).indices
            rated = rated[rated < n_fitted]
        if not len(rated):  # served by popularity, as in _score_items
            return (
                rated,
                np.zeros((len(item_pos), 0)),
                [("popularity", self.item_counts_[item_pos])],
            )
        contributions = np.zeros((len(item_pos), len(rated)))
        fitted = np.flatnonzero(item_pos < n_fitted)
        contributions[fitted] = self.weights_[np.ix_(rated, item_pos[fitted])].T
        return rated, contributions, []

    def _item_similarities(self, item_pos: np.ndarray) -> np.ndarray:
        # Column i of B: what an interaction with each item adds to i's score.
        n_fitted = self._n_fitted_items
        sim = np.zeros((len(item_pos), len(self.item_index_)))
        fitted = np.flatnonzero(item_pos < n_fitted)
        sim[fitted, :n_fitted] = self.weights_[:, item_pos[fitted]].T
        return sim

    def _interacts(self, y: np.ndarray) -> np.ndarray:
        if self.min_rating is None:
            return np.ones(len(y), dtype=bool)
        return y >= self.min_rating

    def _history(self, users) -> sp.csr_matrix:
        """Binary CSR of the items each of ``users`` (known positions) interacted
        with so far, one row per user: the rows that count (``min_rating``) of
        their own part of the log, so that a list right after ``partial_fit``
        costs the user's rows, not the whole log's."""
        return self._users_items(users, keep=self._interacts)
