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
