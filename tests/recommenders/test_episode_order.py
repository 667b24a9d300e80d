"""Time-ordered ranking episodes and calibration (``episode_order``)."""

import numpy as np
import pandas as pd
import pytest

from sklearn_metarec import HybridMetaRecommender, MetaCFRecommender
from sklearn_metarec.base import EncodedBatch
from sklearn_metarec.utils import IdIndex, check_interactions

from ..conftest import synthetic_log

FAST = {"max_epochs": 2, "embedding_dim": 4, "random_state": 0}


def timed_log(seed=0):
    X, y = synthetic_log(seed=seed)
    times = np.random.default_rng(seed).integers(0, 1000, len(X))
    return X.assign(timestamp=times), y


@pytest.mark.parametrize("kind", ["ratings", "positive"])
def test_auto_orders_the_episodes_in_time_when_x_has_timestamps(kind):
    X, y = timed_log()
    y = y if kind == "ratings" else None
    assert MetaCFRecommender(**FAST).fit(X, y).episode_order_ == "time"
    untimed = X.drop(columns="timestamp")
    assert MetaCFRecommender(**FAST).fit(untimed, y).episode_order_ == "random"


def test_time_order_changes_the_model_and_random_ignores_the_timestamps():
    X, _ = timed_log()
    untimed = X.drop(columns="timestamp")
    timed = MetaCFRecommender(**FAST).fit(X)
    random = MetaCFRecommender(episode_order="random", **FAST).fit(X)
    plain = MetaCFRecommender(**FAST).fit(untimed)
    assert random.episode_order_ == plain.episode_order_ == "random"
    np.testing.assert_array_equal(random.predict(untimed), plain.predict(untimed))
    assert not np.allclose(timed.predict(untimed), plain.predict(untimed))


def test_time_order_needs_a_timestamp_column():
    X, y = synthetic_log()
    with pytest.raises(ValueError, match="'timestamp' column of X"):
        MetaCFRecommender(episode_order="time", **FAST).fit(X, y)
    bad = X.assign(timestamp=np.where(np.arange(len(X)) == 3, np.nan, 1.0))
    with pytest.raises(ValueError, match="missing or infinite timestamps"):
        MetaCFRecommender(episode_order="time", **FAST).fit(bad, y)


def test_the_text_estimators_take_episode_order():
    from sklearn_metarec.text import TfidfSVDEncoder

    X, y = timed_log()
    model = HybridMetaRecommender(
        text_columns=["title"], encoder=TfidfSVDEncoder(4), **FAST
    ).fit(X, y)
    assert model.episode_order_ == "time"
    assert model.get_params()["episode_order"] == "auto"


def test_calibration_folds_held_out_users_in_from_their_first_items():
    X = pd.DataFrame(
        {
            "user_id": ["a", "a", "a", "b", "b", "a", "b"],
            "item_id": [1, 2, 3, 1, 4, 1, 2],
            "timestamp": [30, 10, 20, 5, 6, 1, 7],
        }
    )
    data = check_interactions(X, np.ones(len(X)))
    users, items = IdIndex(data.users), IdIndex(data.items)
    batch = EncodedBatch(
        data,
        users.get_positions(data.users),
        items.get_positions(data.items),
        new_users=np.arange(len(users)),
        new_items=np.arange(len(items)),
    )
    times = X["timestamp"].to_numpy(dtype=float)
    rng = np.random.default_rng(0)
    first = MetaCFRecommender._items_in_time(batch, np.array([0, 1]), times, rng)
    # a: item 1 at time 1 (again at 30), 2 at 10, 3 at 20; b: 1, 4, 2.
    assert [items.ids_at(f).tolist() for f in first] == [[1, 2, 3], [1, 4, 2]]


def recency_weights(model, user, items):
    """The weight of each of ``items`` in the user's neighbourhood term."""
    pos = model.user_index_.get_positions(np.array([user]))
    weights = model._fitted_items_of(pos).toarray()[0]
    return weights[model.item_index_.get_positions(np.asarray(items))]


@pytest.mark.parametrize("kind", ["ratings", "positive"])
def test_recency_weighs_each_item_by_the_users_items_after_it(kind):
    X, y = timed_log()
    y = y if kind == "ratings" else None
    params = {"neighbor_weight": 2.0, "neighbor_recency": 5.0, **FAST}
    model = MetaCFRecommender(**params).fit(X, y)
    assert model.neighbor_recency_ == 5.0
    user = X["user_id"].iloc[0]
    mine = X[X["user_id"] == user].assign(row=np.arange((X["user_id"] == user).sum()))
    # Latest first; of rows at one time, the one given last.
    latest = mine.sort_values(["timestamp", "row"], ascending=False)
    latest = latest.drop_duplicates("item_id")["item_id"].to_numpy()
    expected = np.exp(-np.arange(len(latest)) / 5.0)
    np.testing.assert_allclose(recency_weights(model, user, latest), expected)
    # recommend adds exactly the weighted term to the scores without it.
    off = MetaCFRecommender(**{**params, "neighbor_weight": 0}).fit(X, y)
    items = model.item_index_.ids
    ranked, scores = model.recommend([user], n=len(items), return_scores=True)
    ranked_off, scores_off = off.recommend([user], n=len(items), return_scores=True)
    weights = np.zeros(len(items))
    weights[model.item_index_.get_positions(latest)] = expected
    term = 2.0 * model.interaction_similarity_.toarray() @ weights
    by_item_off = dict(zip(ranked_off[0], scores_off[0]))
    position = model.item_index_.get_positions(ranked[0])
    expected_scores = [by_item_off[i] for i in ranked[0]] + term[position]
    np.testing.assert_allclose(scores[0], expected_scores, atol=1e-6)


def test_partial_fit_rows_weigh_by_their_times_or_as_the_latest():
    X, _ = timed_log()
    params = {"neighbor_weight": 1.0, "neighbor_recency": 2.0, **FAST}
    model = MetaCFRecommender(**params).fit(X)
    a, b, c = X["item_id"].unique()[:3]
    rows = pd.DataFrame(
        {"user_id": ["new"] * 2, "item_id": [a, b], "timestamp": [5, 1]}
    )
    model.partial_fit(rows)
    np.testing.assert_allclose(recency_weights(model, "new", [a, b]), [1, np.exp(-0.5)])
    # Without a timestamp, a row counts as at the latest time seen, given last.
    model.partial_fit(pd.DataFrame({"user_id": ["new"], "item_id": [c]}))
    np.testing.assert_allclose(
        recency_weights(model, "new", [c, a, b]), [1, np.exp(-0.5), np.exp(-1)]
    )


def test_recency_is_calibrated_with_the_weight_and_seeded():
    from .test_interaction_neighbours import paired_log

    X = paired_log()
    X = X.assign(timestamp=np.random.default_rng(0).integers(0, 10**6, len(X)))
    model = MetaCFRecommender(**FAST).fit(X)
    assert list(model.recency_calibration_) == [None, 20.0, 10.0, 5.0]
    assert model.neighbor_recency_ in model.recency_calibration_
    again = MetaCFRecommender(**FAST).fit(X)
    assert again.neighbor_recency_ == model.neighbor_recency_
    assert again.recency_calibration_ == model.recency_calibration_
    assert again.neighbor_weight_ == model.neighbor_weight_


def test_recency_resolves_without_timestamps_and_checks_its_value():
    X, y = synthetic_log()
    model = MetaCFRecommender(**FAST).fit(X, y)
    assert model.neighbor_recency_ is None and model.recency_calibration_ is None
    timed, _ = timed_log()
    few = MetaCFRecommender(**FAST).fit(timed, y)  # too few users to calibrate
    assert few.neighbor_recency_ == 10.0
    off = MetaCFRecommender(neighbor_recency=None, **FAST).fit(timed, y)
    assert off.neighbor_recency_ is None
    with pytest.raises(ValueError, match="neighbor_recency=5.0 weighs"):
        MetaCFRecommender(neighbor_recency=5.0, **FAST).fit(X, y)
    with pytest.raises(ValueError, match="neighbor_recency"):
        MetaCFRecommender(neighbor_recency=0.0, **FAST).fit(timed, y)


@pytest.mark.parametrize("kind", ["ratings", "positive"])
def test_explain_adds_up_with_recency(kind):
    X, y = timed_log()
    y = y if kind == "ratings" else None
    model = MetaCFRecommender(neighbor_recency=3.0, **FAST).fit(X, y)
    for user in X["user_id"].unique()[:2]:
        (recs,), (scores,) = model.recommend([user], n=5, return_scores=True)
        table = model.explain(user, recs, n_contributions=2)
        sums = table.groupby("item_id", sort=False)["contribution"].sum()
        np.testing.assert_allclose(sums[recs], scores, rtol=0, atol=1e-9)
