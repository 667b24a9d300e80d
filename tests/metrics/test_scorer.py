"""make_cold_start_scorer and cold_start_report."""

import copy
import math
import pickle

import numpy as np
import pandas as pd
import pytest
from sklearn.model_selection import GridSearchCV, cross_val_score

from sklearn_metarec.metrics import (
    cold_start_report,
    make_cold_start_scorer,
    mrr_at_k,
    ndcg_at_k,
)
from sklearn_metarec.model_selection import ColdStartSplit, MeLUSplit
from tests.metrics._toy import CALLS, ToyBiasRecommender, toy_log


def small_log():
    """Two users with 4 rows each, in time order reversed for user b."""
    X = pd.DataFrame(
        {
            "user_id": ["a"] * 4 + ["b"] * 4,
            "item_id": [1, 2, 3, 4, 1, 2, 3, 4],
            "timestamp": [1, 2, 3, 4, 40, 30, 20, 10],
        }
    )
    y = np.array([5, 5, 3, 4, 1, 2, 3, 3], dtype=float)
    return X, y


def global_mean_model():
    """A toy model fitted on nothing but an unrelated user: mu = 3, no item bias."""
    X = pd.DataFrame({"user_id": ["z"], "item_id": [99], "timestamp": [0]})
    return ToyBiasRecommender(shrinkage=0.0).fit(X, [3.0])


def test_mae_scorer_by_hand_first_rows():
    # mu = 3, item biases 0 for items 1-4, shrinkage 0 -> a user's prediction is the
    # mean of their support ratings.
    # a: support 5, 5 -> 5; query 3, 4 -> |5-3|, |5-4| -> MAE 1.5
    # b: support 1, 2 -> 1.5; query 3, 3 -> 1.5, 1.5 -> MAE 1.5
    # per-user mean 1.5, negated.
    X, y = small_log()
    scorer = make_cold_start_scorer("mae", n_support=2, support="first")
    assert scorer(global_mean_model(), X, y) == pytest.approx(-1.5)
    # RMSE: a: sqrt((4 + 1) / 2); b: 1.5
    scorer = make_cold_start_scorer("rmse", n_support=2, support="first")
    expected = -(math.sqrt(2.5) + 1.5) / 2
    assert scorer(global_mean_model(), X, y) == pytest.approx(expected)


def test_time_order_support():
    # By time, b's first two rows are rows 7, 6 (ratings 3, 3) -> prediction 3;
    # query ratings 2, 1 -> errors 1, 2 -> MAE 1.5; a as before 1.5.
    X, y = small_log()
    scorer = make_cold_start_scorer(
        "mae", n_support=2, support="first", timestamp_column="timestamp"
    )
    assert scorer(global_mean_model(), X, y) == pytest.approx(-1.5)
    # with n_query=1 the query is the last row in time: a: |5-4| = 1; b: |3-1| = 2
    scorer = make_cold_start_scorer(
        "mae", n_support=2, n_query=1, support="first", timestamp_column="timestamp"
    )
    assert scorer(global_mean_model(), X, y) == pytest.approx(-1.5)


def test_ranking_scorer_uses_predict_on_query_items():
    X, y = toy_log()
    model = ToyBiasRecommender().fit(X, y)
    scorer = make_cold_start_scorer("ndcg@3", n_support=4, support="first")
    # Same number by hand: adapt a copy, predict the query rows, call ndcg_at_k.
    adapted = copy.deepcopy(model)
    positions = X.groupby("user_id").cumcount().to_numpy()
    adapted.partial_fit(X[positions < 4], y[positions < 4])
    query = positions >= 4
    expected = ndcg_at_k(
        y[query], adapted.predict(X[query]), users=X["user_id"][query], k=3
    )
    assert scorer(model, X, y) == pytest.approx(expected)
    scorer = make_cold_start_scorer(mrr_at_k, k=2, n_support=4, support="first")
    expected = mrr_at_k(
        y[query], adapted.predict(X[query]), users=X["user_id"][query], k=2
    )
    assert scorer(model, X, y) == pytest.approx(expected)


def test_catalog_scorer_uses_recommend():
    X, y = toy_log(n_users=8, n_items=30, per_user=12)
    model = ToyBiasRecommender().fit(X[X.user_id != "u0"], y[X.user_id != "u0"])
    X_test, y_test = X[X.user_id == "u0"], y[X.user_id == "u0"]
    # u0's support = its first 4 rows; its query items are relevant when >= 4.
    adapted = copy.deepcopy(model).partial_fit(X_test.iloc[:4], y_test[:4])
    recs = adapted.recommend(["u0"], n=5)[0]
    query = dict(zip(X_test.item_id.iloc[4:], y_test[4:]))
    relevant = {item for item, rating in query.items() if rating >= 4}
    hits = len(relevant.intersection(recs))
    scorer = make_cold_start_scorer("catalog_recall", k=5, n_support=4, support="first")
    value = scorer(model, X_test, y_test)
    if relevant:
        assert value == pytest.approx(hits / len(relevant))
    else:
        assert math.isnan(value)
    coverage = make_cold_start_scorer(
        "catalog_coverage", k=5, n_support=4, support="first", n_items=30
    )
    assert coverage(model, X_test, y_test) == pytest.approx(len(set(recs)) / 30)


def test_fitted_estimator_is_never_mutated_and_one_partial_fit_call():
    X, y = toy_log()
    model = ToyBiasRecommender().fit(X.iloc[:100], y[:100])
    before = pickle.dumps(model)
    predictions = model.predict(X)
    CALLS.clear()
    scorer = make_cold_start_scorer("ndcg", k=3, n_support=5, random_state=0)
    scorer(model, X.iloc[100:], y[100:])
    assert pickle.dumps(model) == before
    np.testing.assert_array_equal(model.predict(X), predictions)
    # every test user's support in ONE partial_fit call
    n_test_users = X.iloc[100:].user_id.nunique()
    assert list(CALLS) == [("partial_fit", 5 * n_test_users)]


def test_users_with_too_few_rows_are_skipped():
    X, y = toy_log(n_users=6, per_user=12)
    keep = ~((X.user_id == "u0") & (X.groupby("user_id").cumcount() >= 5))
    X, y = X[keep], y[keep]  # u0 has 5 rows, the others 12
    model = ToyBiasRecommender().fit(X, y)
    report = cold_start_report(
        ToyBiasRecommender(),
        X,
        y,
        [(np.arange(len(X)), np.arange(len(X)))],
        support_sizes=(1, 5),
        metrics=["mae"],
    )
    assert report.n_users.tolist() == [5, 5]  # u0 (5 rows <= 5) skipped at both
    with pytest.raises(ValueError, match="No test user has enough rows"):
        make_cold_start_scorer("mae", n_support=12)(model, X, y)


def test_random_support_is_reproducible():
    X, y = toy_log()
    model = ToyBiasRecommender().fit(X.iloc[:120], y[:120])
    X_test, y_test = X.iloc[120:], y[120:]
    scores = [
        make_cold_start_scorer("mae", n_support=3, random_state=seed)(
            model, X_test, y_test
        )
        for seed in (0, 0, 1)
    ]
    assert scores[0] == scores[1]
    assert scores[0] != scores[2]


def test_zero_support_scores_the_prior_without_partial_fit():
    X, y = toy_log()
    model = ToyBiasRecommender().fit(X.iloc[:120], y[:120])
    CALLS.clear()
    make_cold_start_scorer("mae", n_support=0)(model, X.iloc[120:], y[120:])
    assert CALLS == []


def test_works_in_grid_search_and_cross_val_score():
    X, y = toy_log()
    search = GridSearchCV(
        ToyBiasRecommender(),
        {"shrinkage": [0.1, 5.0]},
        cv=ColdStartSplit(kind="user", n_splits=2, random_state=0),
        scoring=make_cold_start_scorer("ndcg", k=3, n_support=4, random_state=0),
    )
    search.fit(X, y)
    assert search.best_params_["shrinkage"] in (0.1, 5.0)
    assert np.all(np.isfinite(search.cv_results_["mean_test_score"]))
    scores = cross_val_score(
        ToyBiasRecommender(),
        X,
        y,
        cv=ColdStartSplit(kind="item", n_splits=2, random_state=0),
        scoring=make_cold_start_scorer("rmse", n_support=3, random_state=0),
    )
    assert np.all(scores < 0)  # negated errors


def test_design_snippet_with_bias_recommender():
    baselines = pytest.importorskip("sklearn_metarec.baselines")
    X, y = toy_log(n_users=40, per_user=15)
    X = X.drop(columns="timestamp")
    search = GridSearchCV(
        baselines.BiasRecommender(),
        {"reg_user": [1.0, 10.0]},
        cv=ColdStartSplit(kind="user", n_splits=3, random_state=0),
        scoring=make_cold_start_scorer("ndcg", k=10, n_support=10, random_state=0),
    )
    search.fit(X, y)
    assert np.all(np.isfinite(search.cv_results_["mean_test_score"]))
    report = cold_start_report(
        baselines.BiasRecommender(),
        X,
        y,
        ColdStartSplit(kind="user", n_splits=2, random_state=0),
        support_sizes=(0, 5),
        metrics=["mae", "ndcg@3", "catalog_ndcg@10", "catalog_coverage@10"],
        random_state=0,
    )
    assert report.value.notna().all()


def test_melu_split_query_reproduced_by_first_order_scorer():
    # MeLUSplit's test rows are support then query per user, so n_support=None,
    # n_query=10, support="first" scores exactly the scenario's query rows.
    X, y, cv = melu_like_log()
    scenarios = cv.split_scenarios(X, y)
    seen = {}

    class Spy(ToyBiasRecommender):
        def predict(self, X):
            seen["query"] = X.index.to_numpy()
            return super().predict(X)

    model = Spy().fit(
        X.iloc[scenarios["user_cold"].train], y[scenarios["user_cold"].train]
    )
    scorer = make_cold_start_scorer("mae", n_support=None, n_query=10, support="first")
    test = scenarios["user_cold"].test
    scorer(model, X.iloc[test], y[test])
    np.testing.assert_array_equal(np.sort(seen["query"]), scenarios["user_cold"].query)


def melu_like_log():
    rng = np.random.default_rng(0)
    n_users, n_items = 30, 60
    users = np.repeat(np.arange(n_users), 40)
    items = np.concatenate([rng.permutation(n_items)[:40] for _ in range(n_users)])
    year = np.where(np.arange(n_items) < 45, 1990, 1999)
    X = pd.DataFrame({"user_id": users, "item_id": items, "year": year[items]})
    y = rng.integers(1, 6, len(X)).astype(float)
    return X, y, MeLUSplit(min_ratings=13, max_ratings=100, random_state=0)


def test_report_on_melu_split_fits_once_and_names_scenarios():
    X, y, cv = melu_like_log()
    CALLS.clear()
    report = cold_start_report(
        ToyBiasRecommender(),
        X,
        y,
        cv,
        support_sizes=(1, None),
        n_query=10,
        support="first",
        metrics=["mae", "ndcg@3"],
    )
    assert [c for c in CALLS if c[0] == "fit"] == [
        ("fit", len(cv.split_scenarios(X, y)["warm"].train))
    ]
    assert report.scenario.unique().tolist() == list(cv.scenarios)
    assert report.n_support.isna().sum() == 8  # None -> <NA>, 4 scenarios x 2 metrics
    assert set(report.metric) == {"mae", "ndcg@3"}
    # the same users are scored at every support size
    assert report.groupby(["split", "metric"]).n_users.nunique().eq(1).all()


def test_report_support_curve_uses_the_same_query():
    X, y = toy_log(n_users=20, per_user=14)
    report = cold_start_report(
        ToyBiasRecommender(),
        X,
        y,
        ColdStartSplit("user", n_splits=1, random_state=0),
        support_sizes=(0, 1, 3, 10),
        metrics=["mae"],
        random_state=0,
    )
    assert report.n_users.nunique() == 1
    assert report.n_support.tolist() == [0, 1, 3, 10]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"metric": "auc"}, "Unknown metric"),
        ({"metric": "mae", "k": 3}, "no cut-off"),
        ({"metric": "ndcg@x"}, "Bad cut-off"),
        ({"metric": "ndcg@3", "k": 5}, "two different cut-offs"),
        ({"metric": "ndcg", "k": 0}, "k must"),
        ({"metric": len}, "metric must be"),
        ({"metric": 3}, "metric must be"),
        ({"metric": "mae", "n_support": None}, "needs n_query"),
        ({"metric": "mae", "n_support": -1}, "n_support"),
        ({"metric": "mae", "n_query": 0}, "n_query"),
        ({"metric": "mae", "support": "last"}, "support"),
        ({"metric": "ndcg", "gain": "log"}, "gain"),
        ({"metric": "recall", "threshold": "high"}, "threshold"),
    ],
)
def test_bad_scorer_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        make_cold_start_scorer(**kwargs)


def test_scorer_input_errors():
    X, y = small_log()
    model = global_mean_model()
    scorer = make_cold_start_scorer(
        "mae", n_support=1, support="first", timestamp_column="time"
    )
    with pytest.raises(ValueError, match="'time' is not a column"):
        scorer(model, X, y)
    with pytest.raises(ValueError, match="sample_weight"):
        make_cold_start_scorer("mae")(model, X, y, sample_weight=np.ones(len(y)))
    with pytest.raises(ValueError, match="NaN"):
        make_cold_start_scorer("mae", n_support=1)(model, X, np.full(len(y), np.nan))


def test_report_errors():
    X, y = small_log()
    with pytest.raises(ValueError, match="metrics is empty"):
        cold_start_report(ToyBiasRecommender(), X, y, ColdStartSplit(), metrics=[])
    with pytest.raises(ValueError, match="cv yielded no split"):
        cold_start_report(ToyBiasRecommender(), X, y, [])


def test_scorer_repr():
    scorer = make_cold_start_scorer("ndcg", k=3, n_support=5, random_state=0)
    assert repr(scorer) == (
        "make_cold_start_scorer('ndcg', k=3, n_support=5, random_state=0)"
    )
