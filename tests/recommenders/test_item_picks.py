"""Items added after fit learn how often they are picked (``partial_fit``)."""

import pickle

import numpy as np
import pandas as pd
import pytest

from sklearn_metarec import MetaCFRecommender
from sklearn_metarec.recommenders._meta_base import (
    _BORROWED_PRIOR,
    _NEIGHBOUR_SHRINKAGE,
    _PICK_PRIOR,
)

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
    # The picked twin's neighbourhood row is its pickers' now; the rest of the
    # gap is its bias's shift.
    user = X["user_id"].iloc[0]
    positions = model.item_index_.get_positions(np.array([PICKED, UNPICKED]))
    user_pos = model.user_index_.get_positions(np.array([user] * 2))
    neighbourhood = model._interaction_offsets_at(user_pos, positions)
    expected = np.log((6 + _PICK_PRIOR) / _PICK_PRIOR)
    expected += neighbourhood[0] - neighbourhood[1]
    assert twin_gap(model, user) == pytest.approx(expected, rel=1e-6)


@pytest.mark.parametrize("kind", ["ratings", "positive"])
def test_picks_add_up_over_batches_and_fall_for_an_ignored_item(kind):
    model, X, _ = fitted_with_twins(kind)
    user = X["user_id"].iloc[0]
    model.partial_fit(*picks(["a0", "a1", "a2"], kind))
    model.partial_fit(*picks(["b0", "b1", "b2"], kind))
    picked, expected = model._picks["picked"], model._picks["expected"]
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


def test_a_picked_item_takes_its_neighbourhood_row_from_its_pickers():
    model, X, _ = fitted_with_twins("positive")
    n_fitted = model._n_fitted_items
    picked, unpicked = (
        model.item_index_.get_positions(np.array([PICKED, UNPICKED])) - n_fitted
    )
    borrowed = model._added_rows.toarray()
    np.testing.assert_array_equal(borrowed[picked], borrowed[unpicked])  # twins
    assert borrowed[picked].sum() > 0
    model.partial_fit(*picks([f"new{k}" for k in range(6)], "positive"))
    rows = model._added_rows.toarray()
    np.testing.assert_array_equal(rows[unpicked], borrowed[unpicked])
    # Its 6 pickers share fitted items 1000 and 1001 with it and nothing else:
    # the shrunk cosines fit gives, beside the borrowed row faded by 6 picks.
    fitted = model.item_index_.get_positions(np.array([1000, 1001]))
    cosine = 6 / np.sqrt(6 * model._item_users[fitted])
    expected = borrowed[picked] * _BORROWED_PRIOR / (_BORROWED_PRIOR + 6)
    expected[fitted] += cosine * 6 / (6 + _NEIGHBOUR_SHRINKAGE)
    np.testing.assert_allclose(rows[picked], expected, rtol=1e-12)


def test_one_shift_makes_the_added_items_picked_as_often_as_observed():
    # Positive-only, so that recommend's scores are the logits that rank (tower
    # and neighbourhood); each new user picks an added item and two fitted ones.
    model, X, _ = fitted_with_twins("positive")
    users = [f"new{k}" for k in range(6)]
    model.partial_fit(*picks(users, "positive"))
    counts, (_, dbias) = model._picks, model._pick_fix
    own = np.log((counts["picked"] + _PICK_PRIOR) / (counts["expected"] + _PICK_PRIOR))
    shift = dbias - own
    np.testing.assert_allclose(shift, shift[0], rtol=0, atol=1e-12)  # shared
    assert shift[0] != 0
    # Undo the shift on the served shares of the added items; what remains is
    # the expected picks it was computed from.
    n_items = len(model.item_index_)
    added = model.item_index_.ids_at(np.arange(model._n_fitted_items, n_items))
    ranked, scores = model.recommend(
        users, n=n_items, exclude_seen=False, return_scores=True
    )
    served = 0.0
    for items, logits in zip(ranked, scores):
        share = np.exp(logits - logits.max())
        after = share[np.isin(items, added)].sum() / share.sum()
        served += 3 * after / (np.exp(shift[0]) * (1 - after) + after)
    observed = counts["shared_picked"]
    assert observed == counts["picked"].sum() == 6
    assert shift[0] == pytest.approx(
        np.log((observed + _PICK_PRIOR) / (served + _PICK_PRIOR)), rel=1e-4
    )


def test_the_pick_that_brings_an_item_in_is_left_out_of_the_shared_shift():
    # An item a batch adds is in the catalogue because the batch picked it:
    # its own count has every pick, the shared shift all but that one.
    model, X, _ = fitted_with_twins("positive")
    rows, _ = picks(["n0", "n1"], "positive")
    brought = pd.DataFrame({"user_id": ["n0", "n1"], "item_id": [77777, 77777]})
    rows = pd.concat([rows, brought])
    items = X.drop_duplicates("item_id")[["item_id", "title", "genres"]]
    twin = items.iloc[[3]]
    items = pd.concat(
        [items, twin.assign(item_id=PICKED), items.iloc[[5]].assign(item_id=77777)]
    )
    model.partial_fit(rows.merge(items, on="item_id", how="left"))
    counts = model._picks
    n_items = len(model.item_index_)
    ids = list(model.item_index_.ids_at(np.arange(model._n_fitted_items, n_items)))
    assert counts["picked"][ids.index(77777)] == 2
    assert counts["picked"][ids.index(PICKED)] == 2
    assert counts["shared_picked"] == 2 + 2 - 1
