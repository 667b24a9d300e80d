"""Items added after fit learn how often they are picked (``partial_fit``)."""

import pickle

import numpy as np
import pandas as pd
import pytest

from sklearn_metarec import MetaCFRecommender
from sklearn_metarec.recommenders._meta_base import _PICK_PRIOR

from ..conftest import synthetic_log

FAST = {"max_epochs": 2, "embedding_dim": 4, "random_state": 0}
PICKED, UNPICKED = 99998, 99999


def fitted_with_twins(kind):
    """A model (no rating warm-up, so that only the interaction logits can
    move) with two added items whose side columns are those of one fitted
    item, its log and its targets."""
    X, y = synthetic_log()
    y = y if kind == "ratings" else None
    model = MetaCFRecommender(warmup_reg=None, neighbor_weight=2.0, **FAST).fit(X, y)
    twin = X.drop_duplicates("item_id").iloc[[3]][["item_id", "title", "genres"]]
    model.add_items(
        pd.concat([twin.assign(item_id=PICKED), twin.assign(item_id=UNPICKED)])
    )
    return model, X, y


def picks(users, kind, item=PICKED, repeat=1):
    """Rows of ``users``: each picks ``item`` (``repeat`` times) and two fitted
    items."""
    rows = [
        {"user_id": user, "item_id": i}
        for user in users
        for i in [item] * repeat + [1000, 1001]
    ]
    X = pd.DataFrame(rows)
    return X, (None if kind == "positive" else np.full(len(X), 4.0))


def twin_gap(model, user):
    """The picked twin's ranking score minus the other's, for ``user``."""
    (ranked,), (scores,) = model.recommend(
        [user], n=2, items=[PICKED, UNPICKED], return_scores=True
    )
    by_item = dict(zip(ranked, scores))
    return by_item[PICKED] - by_item[UNPICKED]


@pytest.mark.parametrize("kind", ["ratings", "positive"])
def test_an_added_item_rises_by_its_picks(kind):
    model, X, _ = fitted_with_twins(kind)
    user = X["user_id"].iloc[0]
    # Twins: the same content, the same borrowed neighbourhood, the same score.
    assert twin_gap(model, user) == pytest.approx(0.0, abs=1e-9)
    items = model.item_index_.ids[: model._n_fitted_items]
    before = model.recommend([user], n=len(items), items=items, return_scores=True)
    model.partial_fit(*picks([f"new{k}" for k in range(6)], kind, repeat=2))
    # Both twins are expected alike; only one was picked (6 users, once each),
    # and it rises above the other in every known user's list.
    _, shift = model._pick_fix
    picked, unpicked = model.item_index_.get_positions(np.array([PICKED, UNPICKED]))
    n_fitted = model._n_fitted_items
    expected = np.log((6 + _PICK_PRIOR) / _PICK_PRIOR)
    assert shift[picked - n_fitted] - shift[unpicked - n_fitted] == pytest.approx(
        expected, rel=1e-9
    )
    assert all(twin_gap(model, u) > 1.0 for u in X["user_id"].unique()[:20])
    # The fitted items keep their scores for a user outside the batch.
    after = model.recommend([user], n=len(items), items=items, return_scores=True)
    np.testing.assert_array_equal(before[0][0], after[0][0])
    np.testing.assert_allclose(before[1][0], after[1][0], atol=1e-9)
    # explain still adds up to the score of the picked item.
    (ranked,), (scores,) = model.recommend(
        [user], n=1, items=[PICKED], return_scores=True
    )
    table = model.explain(user, [PICKED], n_contributions=1000)
    assert table["contribution"].sum() == pytest.approx(scores[0], abs=1e-6)
    # Pickle and skops keep the counts, and later batches add to them.
    restored = pickle.loads(pickle.dumps(model))
    assert twin_gap(restored, user) == twin_gap(model, user)
    sio = pytest.importorskip("skops.io")
    data = sio.dumps(model)
    restored = sio.loads(data, trusted=sio.get_untrusted_types(data=data))
    assert twin_gap(restored, user) == twin_gap(model, user)
    for fitted in (model, restored):
        fitted.partial_fit(*picks(["late"], kind, item=UNPICKED))
    assert twin_gap(restored, user) == pytest.approx(twin_gap(model, user), abs=1e-9)


@pytest.mark.parametrize(
    "kind, params",
    [("ratings", {}), ("positive", {}), ("positive", {"hidden_dims": (8,)})],
)
def test_without_the_vector_step_the_gap_is_the_bias_shift(kind, params, monkeypatch):
    # An MLP head takes no vector step; a huge ridge leaves the vector too.
    import sklearn_metarec.recommenders._meta_base as meta_base

    if not params:
        monkeypatch.setattr(meta_base, "_PICK_VECTOR_REG", 1e15)
    X, y = synthetic_log()
    model = MetaCFRecommender(
        warmup_reg=None, neighbor_weight=2.0, **params, **FAST
    ).fit(X, None if kind == "positive" else y)
    twin = X.drop_duplicates("item_id").iloc[[3]][["item_id", "title", "genres"]]
    model.add_items(pd.concat([twin.assign(item_id=i) for i in (PICKED, UNPICKED)]))
    model.partial_fit(*picks([f"new{k}" for k in range(6)], kind))
    expected = np.log((6 + _PICK_PRIOR) / _PICK_PRIOR)
    assert twin_gap(model, X["user_id"].iloc[0]) == pytest.approx(expected, rel=1e-6)


@pytest.mark.parametrize("kind", ["ratings", "positive"])
def test_picks_add_up_over_batches_and_fall_for_an_ignored_item(kind):
    model, X, _ = fitted_with_twins(kind)
    user = X["user_id"].iloc[0]
    model.partial_fit(*picks(["a0", "a1", "a2"], kind))
    model.partial_fit(*picks(["b0", "b1", "b2"], kind))
    picked, expected = model._picks[:2]
    ids = model.item_index_.ids_at(
        np.arange(model._n_fitted_items, len(picked) + model._n_fitted_items)
    )
    assert picked[list(ids).index(PICKED)] == 6
    assert picked[list(ids).index(UNPICKED)] == 0
    # The twins are expected alike, as often as the batches' 18 picks allow.
    assert expected[list(ids).index(PICKED)] == pytest.approx(
        expected[list(ids).index(UNPICKED)],
        rel=1e-5,  # float32 logits
    )
    assert 0 < expected.sum() < 18
    assert twin_gap(model, user) > 1.0
    # An item nobody picks falls below its content's score as users pass by.
    fresh, _, _ = fitted_with_twins(kind)
    (_,), (start,) = fresh.recommend([user], n=1, items=[UNPICKED], return_scores=True)
    fresh.partial_fit(*picks(["c0", "c1", "c2"], kind, item=1002))
    (_,), (end,) = fresh.recommend([user], n=1, items=[UNPICKED], return_scores=True)
    assert end[0] < start[0]


def test_fitted_items_and_models_without_added_items_are_left_alone():
    X, _ = synthetic_log()
    model = MetaCFRecommender(**FAST).fit(X)
    user = X["user_id"].iloc[0]
    before = model.recommend([user], n=10, return_scores=True)
    model.partial_fit(*picks(["n0", "n1"], "positive", item=1003))
    assert model._picks is None  # nothing added, nothing counted
    after = model.recommend([user], n=10, return_scores=True)
    np.testing.assert_array_equal(before[0], after[0])
    np.testing.assert_allclose(before[1], after[1], atol=1e-9)
