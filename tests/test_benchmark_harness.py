"""Smoke test of the MeLU benchmark harness (benchmarks/_harness.py, bench_melu.py).

``benchmarks/`` is not a package: the modules are loaded from their paths.
"""

import importlib.util
import math
import sys
from pathlib import Path

import numpy as np
import pytest

from sklearn_metarec.baselines import BiasRecommender, PopularityRecommender
from sklearn_metarec.datasets import make_interactions
from sklearn_metarec.model_selection import MeLUSplit

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


def _load(name):
    if str(BENCHMARKS) not in sys.path:
        sys.path.insert(0, str(BENCHMARKS))  # bench_melu imports _harness, _report
    spec = importlib.util.spec_from_file_location(name, BENCHMARKS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def harness():
    return _load("_harness")


@pytest.fixture(scope="module")
def melu_like():
    """A small log with release years, split by MeLUSplit into four scenarios."""
    X, y = make_interactions(
        n_users=80, n_items=60, n_interactions=2400, random_state=0
    )
    X["year"] = np.where(X["item_id"] < 42, 1990.0, 1999.0)
    split = MeLUSplit(
        min_ratings=10, max_ratings=100, n_query=4, min_support=2, random_state=0
    )
    return X, y, split.split_scenarios(X, y)


def test_run_benchmark_tables(harness, melu_like):
    X, y, scenarios = melu_like
    results = harness.run_benchmark(
        {"bias": BiasRecommender(), "popularity": PopularityRecommender()},
        X,
        y,
        scenarios,
        rating_free=frozenset({"popularity"}),
        n_adapt_users=5,
        n_adapt_ratings=5,
    )
    assert list(results["metrics"]) == ["warm", "user_cold", "item_cold", "both_cold"]
    for name, rows in results["metrics"].items():
        assert [row["estimator"] for row in rows] == ["bias", "popularity"]
        bias, popularity = rows
        assert bias["n_users"] == scenarios[name].n_tasks > 0
        for column in harness.METRIC_COLUMNS:
            if column.startswith("new "):
                # NaN where the scenario brings no new item (always in warm).
                value = bias[column]
                assert math.isnan(value) if name == "warm" else not value > 1
                continue
            assert math.isfinite(bias[column]), (name, column)
        assert 0 <= bias["nDCG@1"] <= 1 and 0 <= bias["cat Recall@10"] <= 1
        assert math.isnan(popularity["MAE"]) and math.isfinite(popularity["nDCG@3"])
    # Warm support rows are train rows: nothing is given to partial_fit.
    assert results["summary"][0]["partial_fit rows"] == 0
    assert [row["estimator"] for row in results["timing"]] == ["bias", "popularity"]
    for row in results["timing"]:
        assert row["adapted users"] == 5
        assert row["recommend users"] == X["user_id"].nunique()
        for key in ("fit s", "adapt ms median", "adapt ms p90", "recommend all s"):
            assert math.isfinite(row[key]) and row[key] >= 0
        assert row["peak RSS MiB"] >= row["RSS before MiB"] > 0
    assert results["max_rss_mib"] >= max(r["peak RSS MiB"] for r in results["timing"])

    report = harness.format_report(results)
    for heading in ("### warm", "### user_cold", "### item_cold", "### both_cold"):
        assert heading in report
    assert "| bias |" in report and "adapt ms median" in report


def test_evaluate_scenario_leaves_model_alone(harness, melu_like):
    X, y, scenarios = melu_like
    scenario = scenarios["user_cold"]
    model = BiasRecommender().fit(X.iloc[scenario.train], y[scenario.train])
    n_users = len(model.user_index_)
    metrics = harness.evaluate_scenario(model, X, y, scenario)
    assert len(model.user_index_) == n_users  # adapted a deep copy
    assert metrics["n_users"] == scenario.n_tasks


def test_catalogue_metrics_count_unranked_relevant_items_as_misses(harness):
    # User "a": relevant items 1 and 3; 1 is recommended first, 3 not at all.
    y_true, y_score = harness._slot_matrices(
        ["a", "b"],
        [[1, 2], [5]],
        np.array(["a", "a", "a", "b"]),
        np.array([1, 3, 4, 5]),
        np.array([True, True, False, False]),
    )
    assert y_true.shape == y_score.shape == (2, harness.CATALOG_K + 2)
    assert y_true[0].sum() == 2 and y_true[1].sum() == 0
    assert np.isnan(y_score[0, harness.CATALOG_K])  # the missed item: unranked


def test_bench_melu_estimator_names():
    bench = _load("bench_melu")
    assert {"bias", "itemknn", "popularity"} <= set(bench.ESTIMATORS)
    # The baselines always run, first, without duplicates.
    assert bench.parse_estimators("popularity,bias") == [
        "bias",
        "itemknn",
        "popularity",
    ]
    with pytest.raises(ValueError, match="known: .*bias"):
        bench.parse_estimators("bias,nope")
    for name in ("bias", "itemknn", "popularity"):
        assert hasattr(bench.ESTIMATORS[name](0), "partial_fit")


def test_new_item_ranks_are_one_based_and_misses_are_infinite():
    bench = _load("bench_new_items")
    pair_users = np.array(["a", "a", "b", "c"])
    pair_items = np.array([1, 3, 1, 1])
    ranks = bench.pair_ranks(
        ["a", "b"], [np.array([3, 1, 2]), np.array([2])], pair_users, pair_items
    )
    # "b" has no item 1 in its list, "c" no list at all.
    np.testing.assert_array_equal(ranks, [2, 1, np.inf, np.inf])
    scores = np.array([[0.1, -np.inf, 0.5], [0.0, 0.0, 0.0]])
    ranks = bench.score_ranks(
        scores, np.array([1, 2, 3]), np.array(["a", "b"]), pair_users, pair_items
    )
    # Ties keep the candidate order; a -inf score is left out of the list.
    np.testing.assert_array_equal(ranks, [2, 1, 1, np.inf])
    summary = bench.summarize(np.array([1.0, 20.0, 60.0, np.inf]), "new")
    assert summary == {"new median rank": 40.0, "new hit@10": 0.25, "new hit@50": 0.5}
    expected = bench.random_expected([100, 100], "new")
    assert expected == {"new median rank": 50.5, "new hit@10": 0.1, "new hit@50": 0.5}


def test_partial_fit_scale_smoke():
    # Now and as before, every new user gets the same position and the same
    # list (time_calls checks both); MetaCF only up to metacf_max_users.
    bench = _load("bench_partial_fit_scale")
    rows = bench.run([30, 60], 3, 6, metacf_max_users=30)
    lists = bench.RECOMMEND
    assert [(r["estimator"], r["known users"], r["call"]) for r in rows] == [
        ("popularity", "30", "new user"),
        ("popularity", "30", lists),
        ("ease", "30", "new user"),
        ("ease", "30", lists),
        ("metacf", "30", "new user"),
        ("metacf", "30", "known user"),
        ("metacf", "30", lists),
        ("metacf", "30", bench.SIDE),
        ("popularity", "60", "new user"),
        ("popularity", "60", lists),
        ("ease", "60", "new user"),
        ("ease", "60", lists),
    ]
    assert all(float(r["before / now"]) > 0 for r in rows)
    index = bench.RehashingIndex(["a", "b"])
    assert index.extend(["c", "a"]).tolist() == [2, 0]
    assert index.ids.tolist() == ["a", "b", "c"]


def test_topn_times_every_estimator_side_by_side(monkeypatch):
    # Each estimator adapts its own fresh copy in each pass, all of them taking
    # turns by blocks of users; the fitted models are left as they were.
    bench = _load("bench_topn")
    monkeypatch.setattr(bench, "N_ADAPT_USERS", 6)
    monkeypatch.setattr(bench, "ADAPT_BLOCK", 4)
    frame, _, text_columns = bench.load("latest-small", None)
    split = bench.topn_split(frame, 0)
    topn = bench.Bench(frame, split, "ratings", text_columns)
    train = topn.rows(split["train"]), topn.y(split["train"])
    models = {
        "popularity": PopularityRecommender().fit(*train),
        "bias": BiasRecommender().fit(*train),
    }
    calls = []
    for name, model in models.items():
        original = type(model).partial_fit

        def spy(self, X, y=None, *, _name=name, _original=original):
            calls.append(_name)
            return _original(self, X, y)

        monkeypatch.setattr(type(model), "partial_fit", spy)
    n_users = len(models["bias"].user_index_)
    ms = topn.time_adaptations(models, bench.USER_COLUMNS)
    assert list(ms) == ["popularity", "bias"] and all(v > 0 for v in ms.values())
    one_pass = ["popularity"] * 4 + ["bias"] * 4 + ["popularity"] * 2 + ["bias"] * 2
    assert calls == one_pass * bench.ADAPT_PASSES
    assert len(models["bias"].user_index_) == n_users
