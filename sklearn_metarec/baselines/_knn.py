"""Item-based k-nearest neighbours on bias residuals."""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp

from .._similar import SimilarItemsMixin
from ..base import EncodedBatch
from ..utils._neighbours import (
    cell_means,
    neighbour_contributions,
    neighbour_offsets,
    residual_similarity,
)
from ..utils._sklearn import Interval
from ._bias import BiasRecommender

__all__ = ["ItemKNNRecommender"]

_SCORE_CHUNK_CELLS = 2**22


class ItemKNNRecommender(SimilarItemsMixin, BiasRecommender):
    """Item-kNN on the residuals of a bias model, using a user's rows at predict time.

    The score of user ``u`` on item ``i`` is the bias model's ``mu + b_u + b_i`` plus
    a similarity-weighted mean of the user's residuals ``r_uj - mu - b_u - b_j`` over
    the items ``j`` the user rated among the ``n_neighbors`` most similar to ``i``,
    ``sum_j s_ij res_uj / (sum_j s_ij + neighbor_reg)``; ``neighbor_reg`` shrinks the
    correction when the user rated few neighbours. Similarity is the cosine of residual
    columns shrunk by ``n_common / (n_common + shrinkage)``; only positive
    similarities are kept. Because neighbours are looked up in the user's rows when
    scoring, a user added by ``partial_fit`` is served from their rows at once (their
    bias is folded in as in :class:`BiasRecommender`). Items added by ``partial_fit``
    have no neighbours and are scored by the bias model. Side columns are ignored.
    A user rating the same item twice contributes the mean residual.

    Parameters
    ----------
    n_neighbors : int, default=200
        Neighbours kept per item; >= 1.
    shrinkage : float, default=100.0
        Shrinks similarities built on few common users; >= 0.
    neighbor_reg : float, default=0.5
        Added to the sum of similarities in the denominator; >= 0.
    reg_user : float, default=5.0
        See :class:`BiasRecommender`.
    reg_item : float, default=10.0
        See :class:`BiasRecommender`.
    n_iter : int, default=10
        See :class:`BiasRecommender`.
    user_column : str, default="user_id"
        Name of the user id column of ``X`` (a DataFrame's id columns are found
        by name; an array's are its first two columns).
    item_column : str, default="item_id"
        Name of the item id column of ``X``.

    Attributes
    ----------
    similarity_ : sparse matrix of shape (n_fitted_items, n_fitted_items)
        Row ``i`` holds the similarities of item ``i``'s neighbours.

    Examples
    --------
    >>> import pandas as pd
    >>> from sklearn_metarec.baselines import ItemKNNRecommender
    >>> X = pd.DataFrame({"user_id": [1, 1, 2, 2, 3], "item_id": list("ababa")})
    >>> model = ItemKNNRecommender(shrinkage=0).fit(X, [5, 4, 2, 1, 5])
    >>> model.predict(pd.DataFrame({"user_id": [3], "item_id": ["b"]})).round(2)
    array([4.19])
    >>> table = model.explain(3, ["b"])  # the neighbour "a" and the biases
    >>> table["source"].tolist()
    ['item', 'global mean', 'user bias', 'item bias']
    >>> float(table["contribution"].sum().round(2))
    4.19
    >>> model.similar_items(["a"], n=1)
    [array(['b'], dtype=object)]
    """

    _parameter_constraints: dict = {
        **BiasRecommender._parameter_constraints,
        "n_neighbors": [Interval(Integral, 1, None, closed="left")],
        "shrinkage": [Interval(Real, 0, None, closed="left")],
        "neighbor_reg": [Interval(Real, 0, None, closed="left")],
    }

    def __init__(
        self,
        *,
        n_neighbors=200,
        shrinkage=100.0,
        neighbor_reg=0.5,
        reg_user=5.0,
        reg_item=10.0,
        n_iter=10,
        user_column="user_id",
        item_column="item_id",
    ):
        super().__init__(
            reg_user=reg_user,
            reg_item=reg_item,
            n_iter=n_iter,
            user_column=user_column,
            item_column=item_column,
        )
        self.n_neighbors = n_neighbors
        self.shrinkage = shrinkage
        self.neighbor_reg = neighbor_reg

    _lazy_caches = (*BiasRecommender._lazy_caches, "_ratings_cache")

    def _fit(self, batch: EncodedBatch) -> None:
        super()._fit(batch)
        self._ratings_cache = None
        residual = self._residual_matrix(np.arange(len(self.user_index_)))
        self.similarity_ = self._similarity(residual)

    def _partial_fit(self, batch: EncodedBatch) -> None:
        super()._partial_fit(batch)
        self._ratings_cache = None

    def _predict(self, batch: EncodedBatch) -> np.ndarray:
        scores = super()._predict(batch)
        rows = np.flatnonzero((batch.user_pos >= 0) & (batch.item_pos >= 0))
        if not len(rows):
            return scores
        users, inverse = np.unique(batch.user_pos[rows], return_inverse=True)
        items = batch.item_pos[rows]
        n_items = len(self.item_index_)
        chunk = max(1, _SCORE_CHUNK_CELLS // max(n_items, 1))
        for start in range(0, len(users), chunk):
            sel = (inverse >= start) & (inverse < start + chunk)
            offsets = self._neighbour_offsets(users[start : start + chunk])
            scores[rows[sel]] += offsets[inverse[sel] - start, items[sel]]
        return scores

    def _score_items(self, user_pos: np.ndarray) -> np.ndarray:
        scores = super()._score_items(user_pos)
        known = np.flatnonzero(user_pos >= 0)
        if len(known):
            scores[known] += self._neighbour_offsets(user_pos[known])
        return scores

    def _explain_parts(self, user_pos, item_pos, scores):
        _, _, parts = super()._explain_parts(user_pos, item_pos, scores)
        if user_pos < 0:  # a cold user: the bias model alone
            return np.empty(0, dtype=np.int64), np.zeros((len(item_pos), 0)), parts
        users = np.array([user_pos])
        _, rated = self._ratings_matrix()
        items, contributions = neighbour_contributions(
            self._residual_matrix(users),
            rated[users],
            self.similarity_,
            item_pos,
            self.neighbor_reg,
        )
        return items, contributions, parts

    def _item_similarities(self, item_pos: np.ndarray) -> np.ndarray:
        # Row i of the residual similarity (0 outside i's n_neighbors).
        n_fitted = self.similarity_.shape[0]
        sim = np.zeros((len(item_pos), len(self.item_index_)))
        fitted = np.flatnonzero(item_pos < n_fitted)
        sim[fitted, :n_fitted] = self.similarity_[item_pos[fitted]].toarray()
        return sim

    # ------------------------------------------------------------------ helpers
    def _ratings_matrix(self) -> tuple[sp.csr_matrix, sp.csr_matrix]:
        """Users x items mean rating and an indicator of rated cells (cached).

        Built lazily after ``partial_fit``, once, under the cache lock (concurrent
        ``predict`` / ``recommend`` calls share one build).
        """
        shape = (len(self.user_index_), len(self.item_index_))
        cache = self._ratings_cache
        if cache is None or cache[0].shape != shape:
            with self._lock("caches"):
                cache = self._ratings_cache
                if cache is None or cache[0].shape != shape:
                    cache = self._build_ratings_matrix(shape)
                    self._ratings_cache = cache
        return cache

    def _build_ratings_matrix(self, shape) -> tuple[sp.csr_matrix, sp.csr_matrix]:
        return cell_means(*self._seen_log(), shape)

    def _residual_matrix(self, users: np.ndarray) -> sp.csr_matrix:
        mean, _ = self._ratings_matrix()
        sub = mean[users].tocoo()
        data = (
            sub.data
            - self.global_mean_
            - self.user_bias_[users[sub.row]]
            - self.item_bias_[sub.col]
        )
        return sp.csr_matrix((data, (sub.row, sub.col)), shape=sub.shape)

    def _similarity(self, residual: sp.csr_matrix) -> sp.csr_matrix:
        return residual_similarity(residual, self.n_neighbors, self.shrinkage)

    def _neighbour_offsets(self, users: np.ndarray) -> np.ndarray:
        """Similarity-weighted mean residual, shape (len(users), n_items)."""
        n_items = len(self.item_index_)
        sim = self.similarity_
        if sim.shape[0] < n_items:
            sim = sim.copy()
            sim.resize((n_items, n_items))
        _, rated = self._ratings_matrix()
        return neighbour_offsets(
            self._residual_matrix(users), rated[users], sim, self.neighbor_reg
        )
