"""``similar_items`` for the recommenders that have item vectors (internal).

Estimators mix :class:`SimilarItemsMixin` in (left of their base class) and
implement ``_item_similarities(item_pos)``; the validation and the ranking are
shared here. Estimators without item vectors (popularity, biases) do not mix it
in, so they have no ``similar_items``.
"""

from __future__ import annotations

from numbers import Integral

import numpy as np
from sklearn.utils.validation import check_is_fitted

from .base import _RECOMMEND_CHUNK_CELLS, _check_finite_scores, _top_k

__all__ = ["SimilarItemsMixin"]


class SimilarItemsMixin:
    """Adds :meth:`similar_items` to a recommender with item-item similarities.

    The estimator implements ``_item_similarities(item_pos)``: the similarity of
    each query item (catalogue positions) to every catalogue item, shape
    ``(len(item_pos), n_items)``, larger meaning more similar.

    Examples
    --------
    >>> from sklearn_metarec.baselines import EASERecommender, BiasRecommender
    >>> issubclass(EASERecommender, SimilarItemsMixin)
    True
    >>> hasattr(BiasRecommender(), "similar_items")
    False
    """

    def similar_items(self, items, n=10, *, return_scores=False):
        """The ``n`` catalogue items most similar to each of ``items``.

        Similarity is what the model itself relates items by:
        :class:`~sklearn_metarec.baselines.EASERecommender` ranks the items
        ``j`` by ``B[j, i]`` (how much an interaction with ``j`` adds to the
        score of ``i``), :class:`~sklearn_metarec.baselines.ItemKNNRecommender`
        by its residual similarity (items outside the ``n_neighbors`` of ``i``
        score 0), and the meta estimators by the cosine of their item vectors
        (those of the interaction tower when the model has one, else the rating
        tower's). Items added after ``fit`` have no weights in EASE and no
        neighbours in item-kNN: they score 0 there.

        Parameters
        ----------
        items : array-like of shape (n_queries,)
            Catalogue item ids (``item_index_``).
        n : int, default=10
            Number of similar items per query, at least 1; at most the
            catalogue size minus one are returned.
        return_scores : bool, default=False
            Also return the similarities.

        Returns
        -------
        similar : list of ndarray
            One array of item ids per query item, most similar first, without
            the query item itself; ties are broken by catalogue position.
        scores : list of ndarray of float
            Only with ``return_scores``: their similarities, decreasing.

        Raises
        ------
        ValueError
            ``items`` is not a 1-D sequence of catalogue item ids (the message
            names the first unknown one), ``n`` is not a positive integer, or
            the model has diverged (NaN similarities).

        Examples
        --------
        >>> import pandas as pd
        >>> from sklearn_metarec.baselines import EASERecommender
        >>> X = pd.DataFrame({"user_id": [1, 1, 2, 2, 3, 3],
        ...                   "item_id": ["a", "b", "a", "b", "b", "c"]})
        >>> model = EASERecommender(l2=1.0).fit(X)
        >>> model.similar_items(["a", "c"], n=2)
        [array(['b', 'c'], dtype=object), array(['b', 'a'], dtype=object)]
        >>> similar, scores = model.similar_items(["a"], n=1, return_scores=True)
        >>> similar[0].tolist(), scores[0].round(3).tolist()
        (['b'], [0.571])
        """
        check_is_fitted(self, "item_index_")
        if not isinstance(n, Integral) or isinstance(n, bool) or n < 1:
            raise ValueError(f"n must be a positive integer; got {n!r}.")
        item_pos = self._item_positions(items)
        n_items = len(self.item_index_)
        ids = self.item_index_.ids
        k = min(int(n), n_items - 1)
        out, out_scores = [], []
        chunk = max(1, _RECOMMEND_CHUNK_CELLS // max(n_items, 1))
        for start in range(0, len(item_pos) if k > 0 else 0, chunk):
            pos = item_pos[start : start + chunk]
            sim = np.asarray(self._item_similarities(pos), dtype=np.float64)
            # A new array: the query item itself goes last, as a seen item would.
            sim = _check_finite_scores(
                self, np.maximum(sim, np.finfo(np.float64).min), "similar_items"
            )
            sim[np.arange(len(pos)), pos] = -np.inf
            top = _top_k(sim, k)
            top_sim = np.take_along_axis(sim, top, axis=1)
            order = np.lexsort((top, -top_sim), axis=1)
            top = np.take_along_axis(top, order, axis=1)
            top_sim = np.take_along_axis(top_sim, order, axis=1)
            out += [ids[row] for row in top]
            out_scores += list(top_sim)
        if k < 1:  # a catalogue of one item: nothing is similar to it
            out = [ids[:0] for _ in item_pos]
            out_scores = [np.empty(0) for _ in item_pos]
        return (out, out_scores) if return_scores else out

    def _item_similarities(self, item_pos: np.ndarray) -> np.ndarray:
        """Similarities of the query items to the catalogue (abstract hook)."""
        raise NotImplementedError  # pragma: no cover - abstract
