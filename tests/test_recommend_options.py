"""recommend's candidates and scores, and add_items, for every recommender."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.base import clone

from sklearn_metarec import HybridMetaRecommender, MetaCFRecommender
from sklearn_metarec.base import _top_k
from sklearn_metarec.baselines import (
    BiasRecommender,
    EASERecommender,
    ItemKNNRecommender,
    PopularityRecommender,
)
from sklearn_metarec.text import TfidfSVDEncoder

FAST = {"max_epochs": 2, "embedding_dim": 4, "random_state": 0}
ESTIMATORS = [
    BiasRecommender(),
    ItemKNNRecommender(),
    PopularityRecommender(),
    EASERecommender(l2=10.0),
    MetaCFRecommender(**FAST),
    HybridMetaRecommender(encoder=TfidfSVDEncoder(n_components=8), **FAST),
]
NEW_ITEMS = pd.DataFrame(
    {"item_id": ["n1", "n2"], "title": ["A new film", "Another"], "genres": "Drama"}
)


@pytest.fixture(params=ESTIMATORS, ids=lambda e: type(e).__name__)
def fitted(request, ratings_log):
    X, y = ratings_log
    return clone(request.param).fit(X, y), X


def test_candidates_restrict_the_lists(fitted):
    model, X = fitted
    user = X["user_id"].iloc[0]
    seen = set(X.loc[X["user_id"] == user, "item_id"])
    allowed = [i for i in model.item_index_.ids[:15] if i not in seen][:6]
    (recs,), (scores,) = model.recommend([user], n=4, items=allowed, return_scores=True)
    assert set(recs) <= set(allowed) and len(recs) == 4
    mask = np.isin(model.item_index_.ids, allowed)
    (by_mask,) = model.recommend([user], n=4, items=mask)
    np.testing.assert_array_equal(recs, by_mask)
    # The candidates keep their order in the whole ranking.
    (everything,) = model.recommend([user], n=len(model.item_index_))
    np.testing.assert_array_equal(recs, [i for i in everything if i in allowed][:4])
    assert np.all(np.diff(scores) <= 0)


def test_bad_candidates_are_value_errors(fitted):
    model, X = fitted
    with pytest.raises(ValueError, match="not in the catalogue"):
        model.recommend([X["user_id"].iloc[0]], items=["no such item"])
    with pytest.raises(ValueError, match="one entry per catalogue item"):
        model.recommend([X["user_id"].iloc[0]], items=np.ones(3, dtype=bool))
    with pytest.raises(ValueError, match="iterable of item ids"):
        model.recommend([X["user_id"].iloc[0]], items=5)


def test_add_items_puts_items_in_the_catalogue_without_interactions(fitted):
    model, X = fitted
    probe = X.head(20)
    before = model.predict(probe)
    columns = list(model.item_features_.columns)
    model.add_items(NEW_ITEMS[["item_id", *columns]])
    assert {"n1", "n2"} <= set(model.item_index_.ids)
    np.testing.assert_array_equal(model.predict(probe), before)  # others unchanged
    (recs,) = model.recommend([X["user_id"].iloc[0]], n=2, items=["n1", "n2"])
    assert sorted(recs) == ["n1", "n2"]


def test_add_items_rejects_what_it_cannot_add(fitted):
    model, X = fitted
    columns = list(model.item_features_.columns)
    table = NEW_ITEMS[["item_id", *columns]]
    with pytest.raises(ValueError, match="must be a DataFrame"):
        model.add_items(["n1"])
    with pytest.raises(ValueError, match="no item id column"):
        model.add_items(table.rename(columns={"item_id": "id"}))
    with pytest.raises(ValueError, match="already in the catalogue"):
        model.add_items(table.assign(item_id=X["item_id"].iloc[:2].to_numpy()))
    with pytest.raises(ValueError, match="repeats the item id"):
        model.add_items(table.assign(item_id=["n1", "n1"]))
    n_items = len(model.item_index_)
    if columns:
        with pytest.raises(ValueError, match="not item features of this model"):
            model.add_items(table.assign(shoe_size=3))
    assert len(model.item_index_) == n_items  # nothing was added by the failures


def test_add_items_reads_ids_from_the_index_and_allows_missing_columns(fitted):
    model, _ = fitted
    columns = list(model.item_features_.columns)
    table = NEW_ITEMS[["item_id", *columns]].set_index("item_id")
    model.add_items(table[columns[:1]])  # the other columns: missing values
    assert model.item_index_.ids[-2:].tolist() == ["n1", "n2"]
    added = model.item_features_.iloc[-2:]
    assert added[columns[1:]].isna().all().all()


@settings(max_examples=60, deadline=None)
@given(
    scores=st.lists(
        st.lists(st.sampled_from([0.0, 1.0, 2.0, -np.inf]), min_size=6, max_size=6),
        min_size=1,
        max_size=4,
    ),
    k=st.integers(1, 5),
)
def test_top_k_breaks_ties_by_position(scores, k):
    scores = np.array(scores)
    top = np.sort(_top_k(scores, k), axis=1)
    # The k best under the order (score descending, position ascending).
    for row, chosen in zip(scores, top):
        order = np.lexsort((np.arange(len(row)), -row))
        np.testing.assert_array_equal(chosen, np.sort(order[:k]))
    # So the k best are a prefix of the k + 1 best.
    more = _top_k(scores, k + 1)
    for chosen, bigger in zip(top, more):
        assert set(chosen) <= set(bigger)
