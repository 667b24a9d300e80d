"""MeLUSplit, TaNPSplit and MAMOSplit: invariants on synthetic logs, ML-1M counts."""

import numpy as np
import pandas as pd
import pytest

from sklearn_metarec.model_selection import MAMOSplit, MeLUSplit, Scenario, TaNPSplit


def melu_log(n_users=60, n_items=80, seed=0):
    """Users with 10-110 ratings; items from 1990 to 2000 (1997 and 1998 included)."""
    rng = np.random.default_rng(seed)
    counts = rng.integers(10, 111, n_users)
    counts = np.minimum(counts, n_items)
    users = np.repeat(np.arange(n_users), counts)
    items = np.concatenate([rng.permutation(n_items)[:c] for c in counts])
    years = np.arange(n_items) % 11 + 1990
    X = pd.DataFrame(
        {
            "user_id": users,
            "item_id": items,
            "title": [f"Movie {i} ({years[i]})" for i in items],
        }
    )
    return X, rng.integers(1, 6, len(X)).astype(float), years


def test_melu_invariants():
    X, y, years = melu_log()
    cv = MeLUSplit(random_state=0)
    scenarios = cv.split_scenarios(X, y)
    assert list(scenarios) == ["warm", "user_cold", "item_cold", "both_cold"]
    counts = X.groupby("user_id").size()
    kept = set(counts[(counts >= 13) & (counts <= 100)].index)
    new_item = years[X.item_id.to_numpy()] >= 1998
    train = scenarios["warm"].train
    train_users = set(X.user_id.iloc[train])
    assert train_users <= kept
    assert not new_item[train].any()
    new_users = set(scenarios["user_cold"].users) | set(scenarios["both_cold"].users)
    existing = set(scenarios["warm"].users) | set(scenarios["item_cold"].users)
    assert not new_users & existing
    assert not new_users & train_users
    # 80/20 of the kept users (task users are a subset of each side)
    assert len(new_users) <= round(0.2 * len(kept))
    for name, s in scenarios.items():
        assert isinstance(s, Scenario) and s.name == name
        assert np.array_equal(s.train, train)
        assert len(np.intersect1d(s.support, s.query)) == 0
        rows = np.r_[s.support, s.query]
        assert set(X.user_id.iloc[rows]) == set(s.users)
        is_new_item = name in ("item_cold", "both_cold")
        assert (new_item[rows] == is_new_item).all()
        per_user_query = X.iloc[s.query].groupby("user_id").size()
        assert (per_user_query == 10).all()
        assert (X.iloc[s.support].groupby("user_id").size() >= 3).all()
        assert s.n_tasks == len(per_user_query)
        if name != "warm":
            assert len(np.intersect1d(rows, train)) == 0
    # warm: support rows are train rows, query rows are held out of train
    assert np.isin(scenarios["warm"].support, train).all()
    assert not np.isin(scenarios["warm"].query, train).any()


def test_melu_year_boundaries_and_year_column():
    # 1997 is existing, 1998 new.
    X, y, years = melu_log()
    X_year = X.drop(columns="title").assign(year=years[X.item_id.to_numpy()])
    by_title = MeLUSplit(random_state=3).split_scenarios(X, y)
    by_column = MeLUSplit(random_state=3).split_scenarios(X_year, y)
    for name in by_title:
        np.testing.assert_array_equal(by_title[name].query, by_column[name].query)
    item_cold_years = set(years[X.item_id.iloc[by_title["item_cold"].query]])
    warm_years = set(years[X.item_id.iloc[by_title["warm"].query]])
    assert 1998 in item_cold_years and 1997 not in item_cold_years
    assert 1997 in warm_years and max(warm_years) == 1997


def test_melu_split_and_counts():
    X, y, _ = melu_log()
    cv = MeLUSplit(random_state=0, scenarios=("user_cold", "warm"))
    scenarios = cv.split_scenarios(X, y)
    splits = list(cv.split(X, y))
    assert cv.get_n_splits() == 2 == len(splits)
    np.testing.assert_array_equal(splits[0][1], scenarios["user_cold"].test)
    np.testing.assert_array_equal(splits[1][0], scenarios["warm"].train)
    counts = cv.task_counts(X, y)
    assert counts.loc["warm", "n_tasks"] == scenarios["warm"].n_tasks
    assert counts.columns.tolist() == ["n_tasks", "n_support", "n_query", "n_train"]
    # deterministic given random_state, different otherwise
    again = MeLUSplit(random_state=0).split_scenarios(X, y)
    np.testing.assert_array_equal(again["warm"].query, scenarios["warm"].query)
    other = MeLUSplit(random_state=1).split_scenarios(X, y)
    assert not np.array_equal(other["warm"].query, scenarios["warm"].query)
    assert "random_state=0" in repr(cv)
    assert "Scenario(name='warm'" in repr(scenarios["warm"])


def test_melu_drops_items_without_a_year():
    X, y, _ = melu_log()
    X.loc[X.item_id == 5, "title"] = "No year here"
    scenarios = MeLUSplit(random_state=0).split_scenarios(X, y)
    used = np.concatenate(
        [s.test for s in scenarios.values()] + [scenarios["warm"].train]
    )
    assert 5 not in set(X.item_id.iloc[used])


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"min_ratings": 0}, "min_ratings"),
        ({"max_ratings": 5}, "max_ratings"),
        ({"new_user_fraction": 1.0}, "new_user_fraction"),
        ({"n_query": 0}, "n_query"),
        ({"min_support": 0}, "min_support"),
        ({"scenarios": ("hot",)}, "Unknown scenario"),
        ({"scenarios": ()}, "scenarios is empty"),
        ({"new_item_year": 2050}, "no new item"),
        ({"new_item_year": 1900}, "no existing item"),
        ({"min_ratings": 100, "max_ratings": 100}, "Too few users"),
    ],
)
def test_melu_bad_params(params, match):
    X, y, _ = melu_log()
    with pytest.raises(ValueError, match=match):
        MeLUSplit(**params).split_scenarios(X, y)


def test_melu_needs_a_year():
    X, y, _ = melu_log()
    with pytest.raises(ValueError, match="needs the item release year"):
        MeLUSplit().split_scenarios(X.drop(columns="title"), y)
    X["title"] = "untitled"
    with pytest.raises(ValueError, match="could not read a release year"):
        MeLUSplit().split_scenarios(X, y)


# -------------------------------------------------------------------------- TaNP


def tanp_log(n_users=50, n_items=120, seed=0):
    rng = np.random.default_rng(seed)
    counts = rng.integers(20, 100, n_users)
    users = np.repeat(np.arange(n_users), counts)
    items = np.concatenate([rng.permutation(n_items)[:c] for c in counts])
    return pd.DataFrame({"user_id": users, "item_id": items})


def test_tanp_invariants():
    X = tanp_log()
    cv = TaNPSplit(random_state=0, scenarios=("validation", "test"))
    scenarios = cv.split_scenarios(X)
    train = scenarios["test"].train
    train_users = set(X.user_id.iloc[train])
    assert len(train_users) == int(50 * 0.7)
    known_items = set(X.item_id.iloc[train])
    for s in scenarios.values():
        rows = s.test
        assert not set(X.user_id.iloc[rows]) & train_users
        assert set(X.item_id.iloc[rows]) <= known_items  # new items removed
        assert (X.iloc[s.support].groupby("user_id").size() == 20).all()
        assert (X.iloc[s.query].groupby("user_id").size() >= 10).all()
    val_users = set(scenarios["validation"].users)
    assert not val_users & set(scenarios["test"].users)
    assert len(list(cv.split(X))) == cv.get_n_splits() == 2
    assert cv._split_names() == ["validation", "test"]


def test_tanp_bad_params():
    X = tanp_log()
    with pytest.raises(ValueError, match="below 1"):
        TaNPSplit(train_size=0.8, validation_size=0.2).split_scenarios(X)
    with pytest.raises(ValueError, match="max_ratings"):
        TaNPSplit(max_ratings=10).split_scenarios(X)
    with pytest.raises(ValueError, match="Too few users"):
        TaNPSplit().split_scenarios(X[X.user_id < 1])


# -------------------------------------------------------------------------- MAMO


def mamo_log(n_users=40, n_items=60, seed=0):
    rng = np.random.default_rng(seed)
    counts = rng.integers(15, 40, n_users)
    users = np.repeat(np.arange(n_users), counts)
    items = np.concatenate([rng.permutation(n_items)[:c] for c in counts])
    start = rng.integers(0, 20_000, n_users)
    times = start[users] + rng.integers(0, 2_000, len(users))
    return pd.DataFrame({"user_id": users, "item_id": items, "timestamp": times})


def test_mamo_invariants():
    X = mamo_log()
    scenarios = MAMOSplit(cold_item_max_ratings=5).split_scenarios(X)
    times = X.timestamp.to_numpy()
    split_time = np.sort(times)[round(0.8 * len(times))]
    first = X.groupby("user_id").timestamp.min()
    new_users = set(first[first >= split_time].index)
    train = scenarios["warm"].train
    assert not set(X.user_id.iloc[train]) & new_users
    # the kept rows: first 20 per user in time
    order = X.sort_values(["user_id", "timestamp"], kind="stable")
    rank = order.groupby("user_id").cumcount().reindex(X.index).to_numpy()
    long_enough = X.groupby("user_id").user_id.transform("size").to_numpy() >= 20
    for name, s in scenarios.items():
        assert (rank[s.support] < 15).all() and (rank[s.query] >= 15).all()
        assert (rank[s.query] < 20).all() and long_enough[s.test].all()
        assert (X.iloc[s.support].groupby("user_id").size() == 15).all()
        users_new = set(X.user_id.iloc[s.query])
        assert (
            users_new <= new_users
            if "user" in name or "both" in name
            else (not users_new & new_users)
        )
    assert (rank[train] < 15).all()
    cold_items = set(X.item_id.iloc[scenarios["item_cold"].query])
    assert not cold_items & set(X.item_id.iloc[train])


def test_mamo_needs_timestamps():
    X = mamo_log().drop(columns="timestamp")
    with pytest.raises(ValueError, match="needs a 'timestamp' column"):
        MAMOSplit().split_scenarios(X)
    with pytest.raises(ValueError, match="n_support"):
        MAMOSplit(n_support=20).split_scenarios(mamo_log())
    with pytest.raises(ValueError, match="no user has n_ratings=50"):
        MAMOSplit(n_ratings=50, n_support=10).split_scenarios(mamo_log())


# ------------------------------------------------------------------- MovieLens 1M


def read_ml1m(folder):
    # '::' separated; splitting on ':' (C parser, fast) leaves empty odd columns.
    ratings = pd.read_csv(
        folder / "ratings.dat",
        sep=":",
        header=None,
        usecols=[0, 2, 4, 6],
        names=["user_id", "item_id", "rating", "timestamp"],
    )
    movies = pd.read_csv(
        folder / "movies.dat",
        sep="::",
        engine="python",
        names=["item_id", "title", "genres"],
        encoding="latin-1",
    )
    X = ratings.merge(movies, on="item_id", how="left")
    return X.drop(columns="rating"), X["rating"].to_numpy(dtype=float)


@pytest.mark.slow
def test_melu_split_on_movielens_1m(shared_data):
    X, y = read_ml1m(shared_data / "ml-1m")
    counts = MeLUSplit(random_state=0).task_counts(X, y)
    assert counts["n_tasks"].to_dict() == {
        "warm": 2265,
        "user_cold": 564,
        "item_cold": 1059,
        "both_cold": 243,
    }
    assert (counts["n_query"] == 10 * counts["n_tasks"]).all()
    # MAMO's preparation script reports 5400 warm and 640 cold users on ML-1M.
    mamo = MAMOSplit().split_scenarios(X, y)
    existing = set(mamo["warm"].users) | set(mamo["item_cold"].users)
    new = set(mamo["user_cold"].users) | set(mamo["both_cold"].users)
    assert (len(existing), len(new)) == (5400, 640)


@pytest.mark.slow
def test_bias_baseline_on_melu_protocol(shared_data):
    """The DESIGN §5 bar: a bias model with fold-in beats published MeLU-5 MAE."""
    baselines = pytest.importorskip("sklearn_metarec.baselines")
    from sklearn_metarec.metrics import cold_start_report

    X, y = read_ml1m(shared_data / "ml-1m")
    report = cold_start_report(
        baselines.BiasRecommender(),
        X[["user_id", "item_id", "title"]],
        y,
        MeLUSplit(random_state=0, scenarios=("user_cold", "both_cold")),
        support_sizes=(None,),
        n_query=10,
        support="first",
        metrics=["mae", "ndcg@1"],
    )
    value = report.set_index(["scenario", "metric"])["value"]
    assert value["user_cold", "mae"] < 0.7854  # MeLU-5, user-cold
    assert value["both_cold", "mae"] < 0.9235  # MeLU-5, both-cold
    assert 0.5 < value["user_cold", "ndcg@1"] <= 1
