"""Popularity: the same ranking for everybody."""

from __future__ import annotations

import numpy as np

from ..base import BaseRecommender, EncodedBatch

__all__ = ["PopularityRecommender"]


class PopularityRecommender(BaseRecommender):
    """Rank items by their number of interactions.

    ``predict`` returns the item's interaction count (0 for unknown items): a ranking
    score, not a rating. ``partial_fit`` counts the interactions of items it adds to
    the catalogue; counts of items known before the call are frozen, so the scores
    other users see for them never change. Side columns of ``X`` are ignored.
    Every row is one interaction: duplicate (user, item) rows count again, and
    ``y`` may be None (a log of positive interactions); its values are ignored.

    Attributes
    ----------
    item_counts_ : ndarray of shape (n_items,)
        Interactions per catalogue item.

    Examples
    --------
    >>> import pandas as pd
    >>> from sklearn_metarec.baselines import PopularityRecommender
    >>> X = pd.DataFrame({"user_id": [1, 2, 2, 3], "item_id": ["a", "a", "b", "c"]})
    >>> model = PopularityRecommender().fit(X, [1, 1, 1, 1])
    >>> model.recommend([1, "new user"], n=2)
    [array(['b', 'c'], dtype=object), array(['a', 'b'], dtype=object)]
    """

    _uses_side_information = False

    def __init__(self):
        pass

    def _accepts_positive_only(self) -> bool:
        return True

    def _fit(self, batch: EncodedBatch) -> None:
        self.item_counts_ = np.bincount(
            batch.item_pos, minlength=len(self.item_index_)
        ).astype(np.float64)
        self._n_fitted_items = len(self.item_counts_)

    def _partial_fit(self, batch: EncodedBatch) -> None:
        n_items = len(self.item_index_)
        counts = np.zeros(n_items)
        counts[: len(self.item_counts_)] = self.item_counts_
        late = batch.item_pos >= self._n_fitted_items
        np.add.at(counts, batch.item_pos[late], 1.0)
        self.item_counts_ = counts

    def _predict(self, batch: EncodedBatch) -> np.ndarray:
        i = batch.item_pos
        return np.where(i >= 0, self.item_counts_[np.maximum(i, 0)], 0.0)

    def _score_items(self, user_pos: np.ndarray) -> np.ndarray:
        return np.broadcast_to(
            self.item_counts_, (len(user_pos), len(self.item_counts_))
        )
