"""Hostile input to every recommender: fit, partial_fit, predict, recommend, score.

DESIGN §2: unseen ids are legal everywhere and never give NaN; bad input is a
ValueError naming the problem; nothing mutates the caller's data. Duplicate
(user, item) rows are repeated observations (docs/user_guide/data.rst).

Each estimator is fitted once per module (tiny settings) and deep-copied before
anything that changes it, so hypothesis varies the inputs, not the training.
"""

import copy

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.base import clone

from sklearn_metarec import (
    HybridMetaRecommender,
    LLMContentRecommender,
    MetaCFRecommender,
)
from sklearn_metarec.baselines import (
    BiasRecommender,
    ItemKNNRecommender,
    PopularityRecommender,
)
from sklearn_metarec.text import TfidfSVDEncoder

from ..conftest import synthetic_log
from ._hostile import (
    assert_finite,
    assert_unchanged,
    attempt,
    expect_value_error,
    id_column,
    id_list,
    ids,
    sane_ratings,
    snapshot,
    texts,
)

_FAST = {
    "max_epochs": 1,
    "embedding_dim": 2,
    "n_query": 2,
    "meta_batch_size": 16,
    "random_state": 0,
}
_TEXT = {"text_columns": ["title", "genres"]}
ESTIMATORS = {
    "bias": BiasRecommender(),
    "popularity": PopularityRecommender(),
    "item_knn": ItemKNNRecommender(n_neighbors=5),
    "meta_cf": MetaCFRecommender(**_FAST),
    "meta_cf_gradient": MetaCFRecommender(
        inner_solver="gradient", n_inner_steps=1, **_FAST
    ),
    "llm_content": LLMContentRecommender(
        encoder=TfidfSVDEncoder(4, random_state=0), **_TEXT, **_FAST
    ),
    "hybrid": HybridMetaRecommender(
        encoder=TfidfSVDEncoder(4, random_state=0), **_TEXT, **_FAST
    ),
}
NAMES = list(ESTIMATORS)
F32_MAX = float(np.finfo(np.float32).max)
TEXT_NAMES = ["llm_content", "hybrid"]
BASELINES = ["bias", "popularity", "item_knn"]

X_TRAIN, Y_TRAIN = synthetic_log(n_users=12, n_items=10, density=0.5)
USERS = X_TRAIN["user_id"].unique().tolist()
ITEMS = X_TRAIN["item_id"].unique().tolist()
# The side information of a known item is what fit saw (another value is an error).
KNOWN_TEXT = {
    item: (title, genres)
    for item, title, genres in X_TRAIN[["item_id", "title", "genres"]].itertuples(
        index=False
    )
}
ITEM_TEXT = X_TRAIN.drop_duplicates("item_id").set_index("item_id")[["title", "genres"]]
# Known users on known items: their predictions must survive anybody's partial_fit.
PROBE = pd.DataFrame(
    [(u, i) for u in USERS[:4] for i in ITEMS[:4]], columns=["user_id", "item_id"]
).join(ITEM_TEXT, on="item_id")


def hostile(max_examples):
    """Few examples (the file runs in well under a minute), no deadline, and the
    module-scoped fitted estimators shared across examples."""
    return settings(
        max_examples=max_examples,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture],
    )


@pytest.fixture(scope="module")
def fitted():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return {
            name: clone(est).fit(X_TRAIN, Y_TRAIN) for name, est in ESTIMATORS.items()
        }
    finally:
        torch.set_num_threads(threads)


# --------------------------------------------------------------------------------------
# Strategies
# --------------------------------------------------------------------------------------


@st.composite
def hostile_rows(draw, max_rows=6):
    """Rows of known and never-seen users and items, ids of mixed types (huge
    ints, unicode and very long strings, tuples, floats) in one column, possibly
    duplicated (user, item) pairs, and empty / unicode / very long / missing item
    texts (one text per item, as the data contract asks)."""
    n = draw(st.integers(1, max_rows))
    users = draw(
        st.lists(st.one_of(st.sampled_from(USERS), ids), min_size=n, max_size=n)
    )
    items = draw(
        st.lists(st.one_of(st.sampled_from(ITEMS), ids), min_size=n, max_size=n)
    )
    if n > 1 and draw(st.booleans()):  # an exact duplicate (user, item) row
        users[-1], items[-1] = users[0], items[0]
    text = {}
    for item in items:
        if item not in text:
            known = next((KNOWN_TEXT[i] for i in ITEMS if _same_id(i, item)), None)
            text[item] = known or (draw(texts), draw(texts))
    return pd.DataFrame(
        {
            "user_id": id_column(users),
            "item_id": id_column(items),
            "title": pd.Series([text[i][0] for i in items], dtype=object),
            "genres": pd.Series([text[i][1] for i in items], dtype=object),
        }
    )


@st.composite
def hostile_logs(draw):
    """A whole small log: few users and items of mixed id types, so repeated
    users and duplicate (user, item) pairs are common; sane ratings."""
    user_pool = draw(st.lists(ids, min_size=1, max_size=5, unique=True))
    item_pool = draw(st.lists(ids, min_size=1, max_size=5, unique=True))
    n = draw(st.integers(1, 20))
    users = draw(st.lists(st.sampled_from(user_pool), min_size=n, max_size=n))
    items = draw(st.lists(st.sampled_from(item_pool), min_size=n, max_size=n))
    text = {item: (draw(texts), draw(texts)) for item in item_pool}
    X = pd.DataFrame(
        {
            "user_id": id_column(users),
            "item_id": id_column(items),
            "title": pd.Series([text[i][0] for i in items], dtype=object),
            "genres": pd.Series([text[i][1] for i in items], dtype=object),
        }
    )
    return X, _ratings(draw, n)


def ratings_for(data, X):
    return _ratings(data.draw, len(X))


def _ratings(draw, n):
    """Ratings in any container and dtype the contract accepts: float, bool (0/1
    labels), object, nullable Float64 arrays, lists, Series with any index."""
    kind = draw(st.sampled_from(["float", "bool", "object", "Float64", "list"]))
    if kind == "bool":
        return np.array(draw(st.lists(st.booleans(), min_size=n, max_size=n)))
    values = draw(st.lists(sane_ratings, min_size=n, max_size=n))
    if kind == "object":
        return np.array(values, dtype=object)
    if kind == "Float64":
        return pd.Series(values, dtype="Float64", index=np.arange(n)[::-1] + 7)
    return values if kind == "list" else np.array(values, dtype=np.float64)


def _rows_of(X, column, value):
    return [row for row, v in enumerate(X[column].tolist()) if _same_id(v, value)]


def _same_id(a, b):
    try:
        return bool(a == b)
    except Exception:  # noqa: BLE001 - incomparable ids are different ids
        return False


def _without_users(X, users):
    keep = [not any(_same_id(u, v) for v in users) for u in X["user_id"].tolist()]
    return X[keep]


def _check_recommendations(est, users, recs, n, seen=None):
    assert len(recs) == len(users)
    catalogue = set(est.item_index_.ids.tolist())
    for row, items in enumerate(recs):
        items = items.tolist()
        assert len(items) <= n
        assert len(items) == len(set(items)), "recommend repeated an item"
        assert set(items) <= catalogue
        if seen is not None:
            assert not set(items) & seen[row], "recommend returned a seen item"


# --------------------------------------------------------------------------------------
# Unseen and odd ids: finite scores
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
@hostile(15)
@given(X=hostile_rows())
def test_predict_on_hostile_rows_is_finite(fitted, name, X):
    est = fitted[name]
    saved = snapshot(X)
    scores, exc = attempt(est.predict, X)
    assert exc is None, f"predict rejected valid rows: {exc}"
    assert scores.shape == (len(X),)
    assert_finite(scores, f"{name}.predict")
    assert_unchanged(saved, (X,))


@pytest.mark.parametrize("name", NAMES)
@hostile(12)
@given(
    users=st.lists(st.one_of(st.sampled_from(USERS), ids), max_size=5),
    n=st.one_of(st.integers(1, 12), st.just(2**62)),
    as_array=st.booleans(),
)
def test_recommend_any_user_ids(fitted, name, users, n, as_array):
    est = fitted[name]
    query = id_list(users) if as_array else list(users)
    saved = snapshot(query)
    recs, exc = attempt(est.recommend, query, n=n)
    assert exc is None, f"recommend rejected valid user ids: {exc}"
    seen = [
        set(X_TRAIN["item_id"].iloc[_rows_of(X_TRAIN, "user_id", u)].tolist())
        for u in users
    ]
    _check_recommendations(est, users, recs, n, seen)
    assert_unchanged(saved, (query,))


@pytest.mark.parametrize("name", NAMES)
@hostile(10)
@given(
    users=st.one_of(
        st.just("u1"),
        st.just(7),
        st.just(np.array([["u1"], ["u2"]], dtype=object)),
        st.lists(st.just(float("nan")), min_size=1, max_size=2),
        st.lists(st.just(["u1"]), min_size=1, max_size=2),
    ),
    n=st.one_of(st.just(1), st.integers(-3, 0), st.just(1.5), st.just(True)),
)
def test_recommend_bad_arguments_are_value_errors(fitted, name, users, n):
    est = fitted[name]
    saved = snapshot(users)
    match = "1-D|positive integer|missing values|unhashable"
    expect_value_error(est.recommend, users, n=n, match=match)
    assert_unchanged(saved, (users,))


# --------------------------------------------------------------------------------------
# partial_fit with hostile batches
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
@hostile(12)
@given(X=hostile_rows(), data=st.data())
def test_partial_fit_hostile_batch(fitted, name, X, data):
    y = ratings_for(data, X)
    est = copy.deepcopy(fitted[name])
    probe = _without_users(PROBE, X["user_id"].tolist())
    before = est.predict(probe) if len(probe) else None
    saved = snapshot(X, y)

    _, exc = attempt(est.partial_fit, X, y)
    assert exc is None, f"partial_fit rejected a valid batch: {exc}"
    assert_unchanged(saved, (X, y))

    assert_finite(est.predict(X), f"{name}.predict after partial_fit")
    if before is not None:  # users outside the batch are untouched
        np.testing.assert_array_equal(est.predict(probe), before)
    users = list(dict.fromkeys(X["user_id"].tolist()))
    seen = [set(X["item_id"].iloc[_rows_of(X, "user_id", u)].tolist()) for u in users]
    _check_recommendations(est, users, est.recommend(id_list(users), n=5), 5, seen)


# --------------------------------------------------------------------------------------
# fit on whole hostile logs
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
@hostile(6)
@given(log=hostile_logs())
def test_fit_on_hostile_log(name, log):
    X, y = log
    saved = snapshot(X, y)
    est, exc = attempt(clone(ESTIMATORS[name]).fit, X, y)
    if exc is not None:
        # Documented: a text encoder cannot learn a vocabulary from no word.
        assert name in TEXT_NAMES and "found no words" in str(exc), exc
        return
    assert_unchanged(saved, (X, y))
    assert_finite(est.predict(X), f"{name}.predict")
    users = list(dict.fromkeys(X["user_id"].tolist()))
    _check_recommendations(est, users, est.recommend(id_list(users), n=3), 3)


@pytest.mark.parametrize("name", NAMES)
@hostile(4)
@given(
    y=st.lists(
        st.floats(-F32_MAX, F32_MAX, width=32).map(float),
        min_size=len(Y_TRAIN),
        max_size=len(Y_TRAIN),
    ).map(np.array)
)
def test_extreme_but_finite_ratings(name, y):
    """Ratings within float32's range are accepted. Baselines stay finite; a neural
    estimator whose training overflows raises a ValueError naming the divergence
    instead of serving NaN."""
    est = clone(ESTIMATORS[name]).fit(X_TRAIN, y)
    scores, exc = attempt(est.predict, X_TRAIN)
    if exc is None:
        assert_finite(scores, f"{name}.predict")
        _, exc = attempt(est.recommend, USERS[:2], n=3)
    if exc is not None:
        assert name not in BASELINES, exc
        assert "diverged" in str(exc), exc


# --------------------------------------------------------------------------------------
# Bad ratings, bad X, bad text: ValueErrors that name the problem
# --------------------------------------------------------------------------------------

BAD_RATINGS = {
    "nan": (np.nan, r"y contains NaN at row {row}"),
    "inf": (np.inf, r"y contains an infinite value at row {row}"),
    "-inf": (-np.inf, r"y contains an infinite value at row {row}"),
    "too large": (1e39, r"y holds 1e\+39 at row {row}, beyond the float32 range"),
    "str": ("4", r"numeric ratings or 0/1 labels; found str '4' at row {row}"),
    "complex": (3 + 1j, r"numeric ratings or 0/1 labels; found complex"),
    "missing": (None, r"y contains NaN at row {row}"),
}


def _bad_y(y, kind, row):
    value, match = BAD_RATINGS[kind]
    out = y.astype(object)
    out[row] = value
    return out, match.format(row=row)


@pytest.mark.parametrize("name", NAMES)
@hostile(14)
@given(data=st.data())
def test_bad_ratings_are_value_errors(fitted, name, data):
    method = data.draw(st.sampled_from(["fit", "partial_fit"]))
    X = X_TRAIN.head(6)
    if method == "partial_fit":
        X = X.assign(user_id=["new-user"] * len(X))
        est = copy.deepcopy(fitted[name])
    else:
        est = clone(ESTIMATORS[name])
    y = Y_TRAIN[: len(X)].copy()
    # y=None is a log of positive interactions, legal where the estimator (before
    # fit) or its fitted model (partial_fit) learns from one.
    positives_ok = est._accepts_positive_only()
    kind = data.draw(
        st.sampled_from(
            [*BAD_RATINGS, "length", "dtype str", "datetime", "2-D", "scalar"]
            + ([] if positives_ok else ["None"])
        )
    )
    row = data.draw(st.integers(0, len(X) - 1))
    if kind in BAD_RATINGS:
        y, match = _bad_y(y, kind, row)
    elif kind == "length":
        y = np.r_[y, y][: len(X) + data.draw(st.sampled_from([-1, 1, len(X)]))]
        match = "inconsistent numbers of samples.*mismatched lengths"
    elif kind == "dtype str":
        y, match = y.astype(str), "numeric ratings or 0/1 labels; got dtype <U"
    elif kind == "datetime":
        y = pd.to_datetime(y, unit="D").to_numpy()
        match = "numeric ratings or 0/1 labels; got dtype datetime64"
    elif kind == "2-D":
        y, match = np.c_[y, y], r"y must be 1-D; got an array of shape \(6, 2\)"
    elif kind == "None":
        y, match = None, "requires y to be passed"
    else:
        y, match = 3.0, "y must be 1-D"
    saved = snapshot(X, y)
    n_users = len(est.user_index_) if method == "partial_fit" else None
    before = est.predict(PROBE) if method == "partial_fit" else None
    expect_value_error(getattr(est, method), X, y, match=match)
    assert_unchanged(saved, (X, y))
    if method == "partial_fit":  # a rejected batch leaves the estimator alone
        assert len(est.user_index_) == n_users
        np.testing.assert_array_equal(est.predict(PROBE), before)


def _with(X, column, row, value):
    values = X[column].astype(object).tolist()
    values[row] = value
    out = X.copy()
    out[column] = pd.Series(values, index=X.index, dtype=object)
    return out


BAD_X = {
    "empty": (lambda X, r: X.iloc[:0], r"X is empty"),
    "missing user id": (
        lambda X, r: _with(X, "user_id", r, None),
        r"User id \('user_id'\) column contains missing values \(NaN/None\) at row {r}",
    ),
    "NaN item id": (
        lambda X, r: _with(X, "item_id", r, float("nan")),
        r"Item id \('item_id'\) column contains missing values \(NaN/None\) at row {r}",
    ),
    "unhashable user id": (
        lambda X, r: _with(X, "user_id", r, ["u", 1]),
        r"User id \('user_id'\) column holds an unhashable value at row {r}: list",
    ),
    "unhashable item id": (
        lambda X, r: _with(X, "item_id", r, {"id": 1}),
        r"Item id \('item_id'\) column holds an unhashable value at row {r}: dict",
    ),
    "datetime user ids": (
        lambda X, r: X.assign(user_id=pd.to_datetime(np.arange(len(X)), unit="D")),
        r"User id \('user_id'\) column has unsupported dtype datetime64",
    ),
    "complex item ids": (
        lambda X, r: X.assign(item_id=X["item_id"] + 1j),
        r"Item id \('item_id'\) column has unsupported dtype complex",
    ),
    "one column": (
        lambda X, r: X[["user_id"]],
        r"missing id column|no column 'item_id'",
    ),
    "duplicate column names": (
        lambda X, r: X.set_axis(["user_id", "item_id", "title", "title"], axis=1),
        r"duplicate column names|unique column names",
    ),
    "None": (lambda X, r: None, r"expects X, got None"),
    "1-D strings": (
        lambda X, r: X["user_id"].to_numpy(dtype=str),
        r"Expected a 2-D array",
    ),
    "3-D": (lambda X, r: np.zeros((len(X), 4, 2)), r"Expected a 2-D array"),
    "sparse": (
        lambda X, r: sp.csr_matrix(np.ones((len(X), 4))),
        r"does not accept sparse X",
    ),
}


@pytest.mark.parametrize("name", NAMES)
@hostile(14)
@given(data=st.data())
def test_malformed_X_is_a_value_error(fitted, name, data):
    method = data.draw(st.sampled_from(["fit", "partial_fit", "predict"]))
    kind = data.draw(st.sampled_from(list(BAD_X)))
    X = X_TRAIN.head(6).assign(user_id=["new-user"] * 6)
    row = data.draw(st.integers(0, len(X) - 1))
    make, match = BAD_X[kind]
    X_bad = make(X, row)
    y = Y_TRAIN[: len(X)] if X_bad is None else Y_TRAIN[: np.shape(X_bad)[0]]
    est = clone(ESTIMATORS[name]) if method == "fit" else copy.deepcopy(fitted[name])
    args = (X_bad,) if method == "predict" else (X_bad, y)
    saved = snapshot(*args)
    expect_value_error(getattr(est, method), *args, match=match.format(r=row))
    assert_unchanged(saved, args)


@pytest.mark.parametrize("name", TEXT_NAMES)
@hostile(10)
@given(
    data=st.data(),
    value=st.one_of(
        st.integers(), st.floats(allow_nan=False), st.booleans(), st.binary(max_size=3)
    ),
)
def test_text_column_that_is_not_text(fitted, name, data, value):
    method = data.draw(st.sampled_from(["fit", "partial_fit", "predict"]))
    X = X_TRAIN.head(6).assign(user_id=["new-user"] * 6, item_id=np.arange(6) + 5000)
    row = data.draw(st.integers(0, len(X) - 1))
    column = data.draw(st.sampled_from(["title", "genres"]))
    whole = data.draw(st.booleans())  # a numeric column, or one odd cell
    if whole:
        X_bad = X.assign(**{column: np.arange(len(X), dtype=float) + 0.5})
        match = rf"Text column '{column}' is not text: found float 0.5 at row 0"
    else:
        X_bad = _with(X, column, row, value)
        match = rf"Text column '{column}' is not text: found {type(value).__name__}"
        match += rf" .* at row {row}"
    y = Y_TRAIN[: len(X)]
    est = clone(ESTIMATORS[name]) if method == "fit" else copy.deepcopy(fitted[name])
    args = (X_bad,) if method == "predict" else (X_bad, y)
    saved = snapshot(*args)
    expect_value_error(getattr(est, method), *args, match=match)
    assert_unchanged(saved, args)


@pytest.mark.parametrize("name", TEXT_NAMES)
def test_missing_text_column(name):
    X = X_TRAIN.head(6).drop(columns="genres")
    y = Y_TRAIN[:6]
    est = clone(ESTIMATORS[name])
    saved = snapshot(X, y)
    match = r"\['genres'\] \(text_columns\) are in neither X nor the items table"
    expect_value_error(est.fit, X, y, match=match)
    assert_unchanged(saved, (X, y))


@pytest.mark.parametrize("name", TEXT_NAMES)
def test_known_items_need_no_text_after_fit(fitted, name):
    """After fit, X holds any of fit's side columns: known items keep theirs."""
    X = X_TRAIN.head(6)
    est = copy.deepcopy(fitted[name])
    np.testing.assert_allclose(
        est.predict(X.drop(columns="genres")), est.predict(X), rtol=1e-6
    )
    est.partial_fit(X.drop(columns=["title", "genres"]), Y_TRAIN[:6])
    assert_finite(est.predict(X), f"{name}.predict")


@pytest.mark.parametrize("name", ["bias", "popularity", "item_knn", "meta_cf"])
def test_numeric_side_columns_are_features_not_errors(name):
    """Estimators without text_columns read a numeric 'title' as a feature."""
    X = X_TRAIN.assign(title=X_TRAIN["item_id"] * 0.5, genres=True)
    est = clone(ESTIMATORS[name]).fit(X, Y_TRAIN)
    assert_finite(est.predict(X), f"{name}.predict")


@pytest.mark.parametrize("name", NAMES)
def test_score_with_bad_y_is_a_value_error(fitted, name):
    est = fitted[name]
    y = Y_TRAIN.copy()
    assert np.isfinite(est.score(X_TRAIN, y))
    y[3] = np.nan
    expect_value_error(est.score, X_TRAIN, y, match="NaN")


# --------------------------------------------------------------------------------------
# Duplicate (user, item) rows: repeated observations
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
@hostile(4)
@given(copies=st.integers(2, 4), rating=st.sampled_from([-5.0, 10.0]))
def test_duplicate_rows_are_repeated_observations(fitted, name, copies, rating):
    """A (user, item) row given k times weighs k times: it is not dropped, and
    recommend still lists (or excludes) the item once."""
    row = pd.DataFrame(
        {"user_id": ["dup-user"], "item_id": ["dup-item"], "title": ["A dup story"]}
    ).assign(genres="Drama")
    once, repeated = copy.deepcopy(fitted[name]), copy.deepcopy(fitted[name])
    once.partial_fit(row, [rating])
    X_dup = pd.concat([row] * copies, ignore_index=True)
    repeated.partial_fit(X_dup, [rating] * copies)

    # The scores recommend ranks: predict clips ratings to the scale, which can
    # hide the difference at its top.
    def score(model):
        user = model.user_index_.get_positions(["dup-user"])
        return model._score_items(user)[0, model.item_index_.get_positions(row.item_id)]

    assert not np.allclose(score(once), score(repeated)), (
        "a duplicated row had no more weight than a single one"
    )
    (recs,) = repeated.recommend(["dup-user"], n=len(repeated.item_index_))
    assert "dup-item" not in recs.tolist()
    assert len(repeated.item_index_) == len(fitted[name].item_index_) + 1
    (all_recs,) = repeated.recommend(["dup-user"], n=100, exclude_seen=False)
    assert all_recs.tolist().count("dup-item") == 1


@pytest.mark.parametrize("name", BASELINES)
@hostile(5)
@given(copies=st.integers(1, 4), row=st.integers(0, len(X_TRAIN) - 1))
def test_fit_counts_every_duplicate_row(name, copies, row):
    X = pd.concat([X_TRAIN] + [X_TRAIN.iloc[[row]]] * copies, ignore_index=True)
    y = np.r_[Y_TRAIN, [5.0] * copies]
    est = clone(ESTIMATORS[name]).fit(X, y)
    if name == "popularity":
        pos = est.item_index_.get_positions([X_TRAIN["item_id"].iloc[row]])[0]
        assert est.item_counts_[pos] == (X["item_id"] == X["item_id"].iloc[row]).sum()
    else:
        assert est.global_mean_ == pytest.approx(y.mean())


# --------------------------------------------------------------------------------------
# The text estimators' extra method: recommend_from_text
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", TEXT_NAMES)
@hostile(8)
@given(query=texts.filter(lambda t: isinstance(t, str)), n=st.integers(1, 2**62))
def test_recommend_from_text_any_query(fitted, name, query, n):
    est = fitted[name]
    items, exc = attempt(est.recommend_from_text, query, n=n)
    assert exc is None, exc
    assert 1 <= len(items) <= min(n, len(est.item_index_))
    assert len(set(items.tolist())) == len(items)


@pytest.mark.parametrize("name", TEXT_NAMES)
@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda est: est.recommend_from_text(None), "query must be a string"),
        (lambda est: est.recommend_from_text(["a"]), "query must be a string"),
        (lambda est: est.recommend_from_text("a", n=0), "positive integer"),
        (
            lambda est: est.recommend_from_text("a", popularity_weight=float("inf")),
            "popularity_weight must be a finite number",
        ),
        (
            lambda est: est.recommend_from_text("a", popularity_weight="x"),
            "popularity_weight must be a finite number",
        ),
    ],
)
def test_text_estimator_methods_bad_input(fitted, name, call, match):
    expect_value_error(lambda: call(fitted[name]), match=match)


# --------------------------------------------------------------------------------------
# explain (every estimator) and similar_items (those with item vectors)
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda est: est.explain(float("nan"), ITEMS[:1]), "missing values"),
        (lambda est: est.explain(["u1"], ITEMS[:1]), "unhashable"),
        (lambda est: est.explain(USERS[0], [("no", "such")]), "not in the catalogue"),
        (lambda est: est.explain(USERS[0], [{"a": 1}]), "unhashable"),
        (lambda est: est.explain(USERS[0], ITEMS[0]), "1-D list or array"),
        (lambda est: est.explain(USERS[0], ITEMS[:1], n_contributions=0), "positive"),
        (lambda est: est.explain(USERS[0], ITEMS[:1], n_contributions=1.5), "positive"),
    ],
)
def test_explain_bad_input(fitted, name, call, match):
    expect_value_error(lambda: call(fitted[name]), match=match)
    table = fitted[name].explain(USERS[0], ITEMS[:2])
    assert np.isfinite(table[["contribution", "score"]].to_numpy()).all()
    cold = fitted[name].explain("never-seen", ITEMS[:1])  # from the prior
    assert not (cold["source"] == "item").any()


@pytest.mark.parametrize("name", [n for n in NAMES if n not in ("bias", "popularity")])
@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda est: est.similar_items([("no", "such")]), "not in the catalogue"),
        (lambda est: est.similar_items([{"a": 1}]), "unhashable"),
        (lambda est: est.similar_items([float("nan")]), "missing values"),
        (lambda est: est.similar_items("abc"), "1-D list or array"),
        (lambda est: est.similar_items(ITEMS[:1], n=0), "positive integer"),
        (lambda est: est.similar_items(ITEMS[:1], n=True), "positive integer"),
    ],
)
def test_similar_items_bad_input(fitted, name, call, match):
    expect_value_error(lambda: call(fitted[name]), match=match)
    (similar,) = fitted[name].similar_items(ITEMS[:1], n=2**62)
    assert len(similar) == len(fitted[name].item_index_) - 1
