"""Hostile input to every metric and to the cold-start scorer and report.

A metric returns a finite number, or ``nan`` with an UndefinedMetricWarning when
no user has a relevant item (documented), or raises a ValueError that names the
problem. Duplicate (user, item) rows are repeated observations: every row counts.
"""

import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.exceptions import UndefinedMetricWarning
from sklearn.metrics import mean_absolute_error, root_mean_squared_error

from sklearn_metarec.baselines import BiasRecommender
from sklearn_metarec.metrics import (
    catalog_coverage,
    cold_start_report,
    hit_rate_at_k,
    mae,
    make_cold_start_scorer,
    map_at_k,
    mrr_at_k,
    ndcg_at_k,
    precision_at_k,
    recall_at_k,
    rmse,
)
from sklearn_metarec.model_selection import ColdStartSplit

from ._hostile import (
    assert_unchanged,
    attempt,
    expect_value_error,
    id_column,
    id_list,
    ids,
    snapshot,
)

RANKING = [ndcg_at_k, precision_at_k, recall_at_k, hit_rate_at_k, map_at_k, mrr_at_k]
ERRORS = [rmse, mae]
FAST = settings(max_examples=25, deadline=None)

#: Finite values of any magnitude, tiny to huge.
finite = st.floats(allow_nan=False, allow_infinity=False)
relevance = st.one_of(
    st.floats(0, 1e308), st.integers(0, 5).map(float), st.sampled_from([0.0, 1.0])
)
#: Scores: finite of any size, or NaN / -inf (the documented "excluded" marks).
scores = st.one_of(finite, st.sampled_from([float("nan"), -float("inf")]))


@st.composite
def candidate_rows(draw, values=relevance):
    n = draw(st.integers(1, 12))
    pool = draw(st.lists(ids, min_size=1, max_size=4, unique=True))
    users = draw(st.lists(st.sampled_from(pool), min_size=n, max_size=n))
    y_true = np.array(draw(st.lists(values, min_size=n, max_size=n)))
    y_score = np.array(draw(st.lists(scores, min_size=n, max_size=n)))
    as_array = draw(st.booleans())
    return y_true, y_score, (id_list(users) if as_array else list(users))


def _check_metric_value(value, caught, name):
    if np.isnan(value):  # documented: no user has a relevant item
        assert any(issubclass(w.category, UndefinedMetricWarning) for w in caught), (
            f"{name} returned nan without an UndefinedMetricWarning"
        )
    else:
        assert 0.0 <= value <= 1.0 + 1e-12, f"{name} = {value} outside [0, 1]"


@pytest.mark.parametrize("metric", RANKING, ids=lambda f: f.__name__)
@FAST
@given(rows=candidate_rows(), k=st.one_of(st.integers(1, 5), st.just(2**62)))
def test_ranking_metrics_candidate_mode(metric, rows, k):
    y_true, y_score, users = rows
    saved = snapshot(y_true, y_score, users)
    kwargs = {"gain": "exponential"} if metric is ndcg_at_k and k % 2 else {}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        value, exc = attempt(metric, y_true, y_score, users=users, k=k, **kwargs)
    assert exc is None, f"{metric.__name__} rejected valid input: {exc}"
    _check_metric_value(value, caught, metric.__name__)
    assert_unchanged(saved, (y_true, y_score, users))


@pytest.mark.parametrize("metric", RANKING, ids=lambda f: f.__name__)
@FAST
@given(
    shape=st.tuples(st.integers(1, 4), st.integers(1, 6)),
    data=st.data(),
)
def test_ranking_metrics_catalogue_mode(metric, shape, data):
    size = shape[0] * shape[1]
    y_true = np.array(data.draw(st.lists(relevance, min_size=size, max_size=size)))
    y_score = np.array(data.draw(st.lists(scores, min_size=size, max_size=size)))
    y_true, y_score = y_true.reshape(shape), y_score.reshape(shape)
    saved = snapshot(y_true, y_score)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        value, exc = attempt(metric, y_true, y_score, k=data.draw(st.integers(1, 8)))
    assert exc is None, f"{metric.__name__} rejected valid input: {exc}"
    _check_metric_value(value, caught, metric.__name__)
    assert_unchanged(saved, (y_true, y_score))


def _bad_ranking_input(kind, y_true, y_score, users, row):
    """Corrupt one argument; return the kwargs and the message to expect."""
    y_true, y_score = y_true.astype(object), y_score.astype(object)
    if kind == "nan y_true":
        y_true[row] = float("nan")
        return dict(y_true=y_true, y_score=y_score, users=users), "y_true contains"
    if kind == "inf y_true":
        y_true[row] = float("inf")
        return dict(y_true=y_true, y_score=y_score, users=users), "y_true contains"
    if kind == "+inf y_score":
        y_score[row] = float("inf")
        return dict(y_true=y_true, y_score=y_score, users=users), r"\+inf"
    if kind == "str y_true":
        y_true[row] = "5"
        return dict(y_true=y_true, y_score=y_score, users=users), "found str"
    if kind == "complex y_score":
        y_score[row] = 1 + 2j
        return dict(y_true=y_true, y_score=y_score, users=users), "found complex"
    if kind == "datetime y_true":
        times = pd.to_datetime(np.arange(len(users)), unit="D").to_numpy()
        return dict(y_true=times, y_score=y_score, users=users), "got dtype datetime"
    if kind == "short y_score":
        return dict(y_true=y_true, y_score=y_score[1:], users=users), "same shape"
    if kind == "short users":
        return dict(y_true=y_true, y_score=y_score, users=users[1:]), "one id per row"
    if kind == "missing user":
        users = id_list(users)
        users[row] = None
        return dict(y_true=y_true, y_score=y_score, users=users), "missing values"
    if kind == "unhashable user":
        users = id_list(users)
        users[row] = ["u"]
        return dict(y_true=y_true, y_score=y_score, users=users), "unhashable"
    if kind == "scalar users":
        return dict(y_true=y_true, y_score=y_score, users=7), "one user id per row"
    if kind == "no users":
        return dict(y_true=y_true, y_score=y_score), "need users="
    if kind == "empty":
        return dict(y_true=[], y_score=[], users=[]), "empty"
    raise AssertionError(kind)


BAD_RANKING = [
    "nan y_true",
    "inf y_true",
    "+inf y_score",
    "str y_true",
    "complex y_score",
    "datetime y_true",
    "short y_score",
    "short users",
    "missing user",
    "unhashable user",
    "scalar users",
    "no users",
    "empty",
]


@pytest.mark.parametrize("metric", RANKING, ids=lambda f: f.__name__)
@settings(max_examples=15, deadline=None)
@given(rows=candidate_rows(), kind=st.sampled_from(BAD_RANKING), data=st.data())
def test_ranking_metrics_bad_input(metric, rows, kind, data):
    y_true, y_score, users = rows
    row = data.draw(st.integers(0, len(users) - 1))
    kwargs, match = _bad_ranking_input(kind, y_true, y_score, users, row)
    saved = snapshot(*kwargs.values())
    expect_value_error(metric, **kwargs, match=match)
    assert_unchanged(saved, tuple(kwargs.values()))


@pytest.mark.parametrize("metric", ERRORS, ids=lambda f: f.__name__)
@settings(max_examples=40, deadline=None)
@given(
    data=st.data(),
    n=st.integers(1, 10),
    per_user=st.booleans(),
)
def test_rating_errors_any_finite_values(metric, data, n, per_user):
    y_true = np.array(data.draw(st.lists(finite, min_size=n, max_size=n)))
    y_pred = np.array(data.draw(st.lists(finite, min_size=n, max_size=n)))
    users = data.draw(st.lists(ids, min_size=n, max_size=n)) if per_user else None
    saved = snapshot(y_true, y_pred, users)
    value, exc = attempt(metric, y_true, y_pred, users=users)
    if exc is not None:  # only when a difference itself overflows float64
        assert "exceeds the float64 range" in str(exc), exc
        assert np.any(np.abs(y_true) > 8e307) or np.any(np.abs(y_pred) > 8e307)
        return
    assert np.isfinite(value) and value >= 0, f"{metric.__name__} = {value}"
    diffs = np.abs(y_true - y_pred)
    # sklearn squares unscaled differences: below 1e-100 they underflow to 0.
    comparable = np.all(np.abs(np.r_[y_true, y_pred]) < 1e100) and np.all(
        (diffs == 0) | (diffs > 1e-100)
    )
    if users is None and comparable:
        reference = {rmse: root_mean_squared_error, mae: mean_absolute_error}[metric]
        assert value == pytest.approx(reference(y_true, y_pred), rel=1e-9, abs=1e-300)
    assert_unchanged(saved, (y_true, y_pred, users))


@pytest.mark.parametrize("metric", ERRORS, ids=lambda f: f.__name__)
@pytest.mark.parametrize(
    ("args", "kwargs", "match"),
    [
        (([1.0, np.nan], [1, 2]), {}, "y_true contains NaN or infinite"),
        (([1.0, 2.0], [1, -np.inf]), {}, "y_pred contains NaN or infinite"),
        (([1.0, 2.0], [1.0]), {}, "different lengths"),
        (([], []), {}, "empty"),
        ((np.array(["1", "2"]), [1, 2]), {}, "numeric values; got dtype <U1"),
        ((np.array([1, 2j]), [1, 2]), {}, "numeric values; got dtype complex"),
        ((pd.array([1, None], dtype="Int64"), [1, 2]), {}, "y_true contains NaN"),
        (([1, 2], [1, 2]), {"users": [1]}, "one user id per row"),
        (([1, 2], [1, 2]), {"users": 5}, "one user id per row"),
        (([1, 2], [1, 2]), {"users": "ab"}, "one user id per row"),
        (([1, 2], [1, 2]), {"users": [None, 1]}, "missing values"),
        (([1, 2], [1, 2]), {"users": [[1], [2]]}, "unhashable"),
        (([1.7e308, -1.7e308], [-1.7e308, 0]), {}, "exceeds the float64 range"),
    ],
)
def test_rating_errors_bad_input(metric, args, kwargs, match):
    saved = snapshot(*args)
    expect_value_error(metric, *args, **kwargs, match=match)
    assert_unchanged(saved, args)


def test_rating_errors_mixed_user_ids_group_by_python_equality():
    users = id_list([1, "1", (1, "a"), 1.0, 2**70])
    value = mae([0, 0, 0, 0, 0], [1, 2, 3, 5, 4], users=users)
    # users 1 and 1.0 are one user (errors 1 and 5 -> 3); the others stand alone.
    assert value == pytest.approx((3 + 2 + 3 + 4) / 4)


@settings(max_examples=25, deadline=None)
@given(
    lists=st.lists(st.lists(ids, max_size=4, unique=True), max_size=4),
    extra=st.integers(0, 5),
)
def test_catalog_coverage_any_item_ids(lists, extra):
    n_items = len({x for r in lists for x in r}) + extra or 1
    recommendations = [id_list(r) for r in lists]
    saved = snapshot(recommendations)
    value = catalog_coverage(recommendations, n_items)
    assert 0.0 <= value <= 1.0
    assert_unchanged(saved, (recommendations,))


@pytest.mark.parametrize(
    ("recommendations", "n_items", "match"),
    [
        ([["a"]], 0, "n_items must be an int >= 1"),
        ([["a"]], 1.5, "n_items must be an int >= 1"),
        ([["a", "b"]], 1, "more than n_items"),
        ("ab", 3, "sequence of item-id lists"),
        ([[{"a": 1}]], 3, "hashable item ids"),
    ],
)
def test_catalog_coverage_bad_input(recommendations, n_items, match):
    expect_value_error(catalog_coverage, recommendations, n_items, match=match)


# --------------------------------------------------------------------------------------
# Duplicate rows are repeated observations
# --------------------------------------------------------------------------------------


@settings(max_examples=20, deadline=None)
@given(
    rows=st.lists(
        st.tuples(st.integers(0, 2), finite.filter(lambda v: abs(v) < 1e6)),
        min_size=1,
        max_size=6,
    ),
    copies=st.integers(1, 3),
)
def test_duplicated_rows_count_in_rating_errors(rows, copies):
    """Repeating a row is one more observation, exactly like a new row."""
    users = [u for u, _ in rows]
    y_true = np.array([v for _, v in rows])
    y_pred = np.zeros(len(rows))
    dup_true = np.r_[y_true, [y_true[0]] * copies]
    dup_pred = np.r_[y_pred, [y_pred[0]] * copies]
    assert mae(dup_true, dup_pred) == pytest.approx(
        mean_absolute_error(dup_true, dup_pred)
    )
    assert rmse(dup_true, dup_pred, users=[*users, *[users[0]] * copies]) >= 0


# --------------------------------------------------------------------------------------
# Cold-start scorer and report
# --------------------------------------------------------------------------------------

_RNG = np.random.default_rng(0)
LOG = pd.DataFrame(
    {"user_id": np.repeat(np.arange(16), 8), "item_id": _RNG.integers(0, 12, 128)}
)
LOG_Y = _RNG.integers(1, 6, 128).astype(float)
MODEL = BiasRecommender().fit(LOG.iloc[:64], LOG_Y[:64])


@st.composite
def scoring_logs(draw):
    """A scoring log: users of mixed id types, duplicate rows, known and unseen
    items; ratings 0-5."""
    n_users = draw(st.integers(1, 4))
    user_pool = draw(st.lists(ids, min_size=n_users, max_size=n_users, unique=True))
    rows = []
    for user in user_pool:
        n = draw(st.integers(1, 6))
        items = draw(
            st.lists(st.one_of(st.integers(0, 11), ids), min_size=n, max_size=n)
        )
        rows += [(user, item) for item in items]
    if draw(st.booleans()):
        rows += rows[:2]  # duplicate (user, item) rows
    X = pd.DataFrame(
        {
            "user_id": id_column([u for u, _ in rows]),
            "item_id": id_column([i for _, i in rows]),
        }
    )
    y = np.array(draw(st.lists(st.integers(0, 5), min_size=len(X), max_size=len(X))))
    return X, y.astype(float)


@pytest.mark.parametrize(
    "metric", ["ndcg@3", "rmse", "mae", "catalog_recall", "catalog_coverage", "mrr"]
)
@settings(max_examples=10, deadline=None)
@given(log=scoring_logs(), n_support=st.integers(0, 3))
def test_cold_start_scorer_hostile_logs(metric, log, n_support):
    X, y = log
    scorer = make_cold_start_scorer(metric, n_support=n_support, random_state=0)
    saved = snapshot(X, y)
    n_known = len(MODEL.user_index_)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        value, exc = attempt(scorer, MODEL, X, y)
    assert len(MODEL.user_index_) == n_known, "the scorer adapted the caller's model"
    assert_unchanged(saved, (X, y))
    if exc is not None:  # documented: no user has more rows than n_support
        assert "No test user has enough rows" in str(exc), exc
        return
    _check_scorer_value(value, caught, metric)


def _check_scorer_value(value, caught, metric):
    if np.isnan(value):
        assert any(issubclass(w.category, UndefinedMetricWarning) for w in caught)
    else:
        assert np.isfinite(value)


@settings(max_examples=10, deadline=None)
@given(
    data=st.data(),
    kind=st.sampled_from(
        ["nan y", "inf y", "str y", "short y", "empty", "missing id", "unhashable id"]
    ),
)
def test_cold_start_scorer_bad_input(data, kind):
    X, y = LOG.iloc[64:].reset_index(drop=True), LOG_Y[64:].copy()
    row = data.draw(st.integers(0, len(X) - 1))
    if kind == "nan y":
        y[row], match = np.nan, f"y contains NaN at row {row}"
    elif kind == "inf y":
        y[row], match = -np.inf, f"y contains an infinite value at row {row}"
    elif kind == "str y":
        y, match = y.astype(str), "numeric ratings"
    elif kind == "short y":
        y, match = y[1:], "mismatched lengths"
    elif kind == "empty":
        X, y, match = X.iloc[:0], y[:0], "X is empty"
    else:
        values = X["user_id"].astype(object).tolist()
        values[row] = None if kind == "missing id" else {"u": 1}
        X = X.assign(user_id=pd.Series(values, dtype=object))
        match = "missing values" if kind == "missing id" else "unhashable"
    saved = snapshot(X, y)
    scorer = make_cold_start_scorer("mae", n_support=2, random_state=0)
    expect_value_error(scorer, MODEL, X, y, match=match)
    assert_unchanged(saved, (X, y))


@settings(max_examples=4, deadline=None)
@given(log=scoring_logs())
def test_cold_start_report_hostile_logs(log):
    X, y = log
    X = pd.concat([X, LOG], ignore_index=True)  # enough users to split
    y = np.r_[y, LOG_Y]
    saved = snapshot(X, y)
    cv = ColdStartSplit("user", n_splits=2, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UndefinedMetricWarning)
        report, exc = attempt(
            cold_start_report,
            BiasRecommender(),
            X,
            y,
            cv,
            support_sizes=(0, 2),
            metrics=["mae", "ndcg@3"],
            random_state=0,
        )
    assert exc is None, exc
    assert_unchanged(saved, (X, y))
    scored = report[report["n_users"] > 0]
    assert np.isfinite(scored.loc[scored["metric"] == "mae", "value"]).all()


def test_scorer_timestamps_missing_or_timezone_aware():
    times = pd.Series(pd.to_datetime(np.arange(len(LOG)), unit="h", utc=True))
    model = BiasRecommender().fit(LOG.assign(timestamp=times)[:64], LOG_Y[:64])
    X = LOG.iloc[64:].reset_index(drop=True)
    y = LOG_Y[64:]
    times = times.iloc[64:].reset_index(drop=True)
    scorer = make_cold_start_scorer(
        "mae", n_support=2, support="first", timestamp_column="timestamp"
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # tz-aware times are read without warnings
        assert np.isfinite(scorer(model, X.assign(timestamp=times), y))
    expect_value_error(
        scorer,
        model,
        X.assign(timestamp=times.where(times.index != 5)),
        y,
        match=r"Column 'timestamp' contains missing or infinite timestamps \(row 5\)",
    )
