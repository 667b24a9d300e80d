"""Popularity: the same ranking for everybody."""

from __future__ import annotations

import numpy as np

from ..base import ID_COLUMN_CONSTRAINTS, BaseRecommender, EncodedBatch

__all__ = ["PopularityRecommender"]


class PopularityRecommender(BaseRecommender):
    """Rank items by their number of interactions.

    ``predict`` returns the item's interaction count (0 for unknown items): a ranking
    score, not a rating. ``partial_fit`` counts the interactions of items it adds to
    the catalogue; counts of items known before the call are frozen, so the scores
    other users see for them never change. Side columns of ``X`` are ignored.
    Every row is one interaction: duplicate (user, item) rows count again, and
    ``y`` may be None (a log of positive interactions); its values are ignored.

    Parameters
    ----------
    user_column : str, default="user_id"
        Name of the user id column of ``X`` (a DataFrame's id columns are found
        by name; an array's are its first two columns).
    item_column : str, default="item_id"
        Name of the item id column of ``X``.

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
    >>> model.explain(1, ["b"])[["source", "contribution", "score"]]
           source  contribution  score
    0  popularity           1.0    1.0
    """

    _parameter_constraints: dict = dict(ID_COLUMN_CONSTRAINTS)
    _uses_side_information = False

    def __init__(self, *, user_column="user_id", item_column="item_id"):
        self.user_column = user_column
        self.item_column = item_column

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

    def _explain_parts(self, user_pos, item_pos, scores):
        rated = np.empty(0, dtype=np.int64)
        return (
            rated,
            np.zeros((len(item_pos), 0)),
            [("popularity", self.item_counts_[item_pos])],
        )
