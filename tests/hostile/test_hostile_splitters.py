"""Hostile input to every splitter of ``sklearn_metarec.model_selection``.

A splitter yields valid int64 row indices (cold sides really cold, nothing out of
range) or raises a ValueError naming the problem ("Too few users", a missing
column, bad timestamps...). Duplicate (user, item) rows are repeated
observations: each row is assigned on its own and none is dropped silently.
"""

import re

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sklearn_metarec.model_selection import (
    ColdStartSplit,
    LeaveLastKOut,
    MAMOSplit,
    MeLUSplit,
    TaNPSplit,
)

from ._hostile import (
    assert_unchanged,
    attempt,
    expect_value_error,
    id_column,
    ids,
    snapshot,
)

SPLITTERS = {
    "cold_user": ColdStartSplit("user", n_splits=2, test_size=0.3, random_state=0),
    "cold_item": ColdStartSplit("item", n_splits=2, test_size=0.3, random_state=0),
    "cold_both": ColdStartSplit("both", n_splits=2, test_size=0.5, random_state=0),
    "last_k": LeaveLastKOut(k=2),
    "melu": MeLUSplit(min_ratings=3, max_ratings=30, n_query=1, min_support=1),
    "tanp": TaNPSplit(n_support=1, min_query=1, max_ratings=30, random_state=0),
    "mamo": MAMOSplit(n_ratings=3, n_support=2, cold_item_max_ratings=1),
}
SCENARIO_SPLITTERS = {"melu", "tanp", "mamo"}
# Messages of the documented refusals for data a protocol cannot split.
TOO_SMALL = (
    r"Too few|no user|found no|test set is empty|left no train row|"
    r"could not read a release year|found no (new|existing) item"
)


@st.composite
def hostile_logs(draw):
    """Logs with ids of mixed types (huge ints, unicode / long strings, tuples,
    floats), duplicate (user, item) rows, years and timestamps (numbers or
    timezone-aware datetimes)."""
    user_pool = draw(st.lists(ids, min_size=1, max_size=8, unique=True))
    item_pool = draw(st.lists(ids, min_size=1, max_size=8, unique=True))
    rows, times = [], []
    for user in user_pool:
        n = draw(st.integers(1, 8))
        start = draw(st.integers(0, 10**6))  # users arrive at different times
        rows += [(user, draw(st.sampled_from(item_pool))) for _ in range(n)]
        times += [start + draw(st.integers(0, 100)) for _ in range(n)]
    if draw(st.booleans()):
        k = draw(st.integers(1, 3))  # exact duplicate rows
        rows, times = rows + rows[:k], times + times[:k]
    n = len(rows)
    year = {item: draw(st.sampled_from([1990, 1995, 1999, 2001])) for item in item_pool}
    if draw(st.booleans()):
        times = pd.to_datetime(times, unit="s", utc=True)
    X = pd.DataFrame(
        {
            "user_id": id_column([u for u, _ in rows]),
            "item_id": id_column([i for _, i in rows]),
            "year": [year[i] for _, i in rows],
            "timestamp": times,
        }
    )
    y = np.array(draw(st.lists(st.integers(1, 5), min_size=n, max_size=n)), float)
    return X, y


def _ids_of(X, column, rows):
    return set(X[column].iloc[rows].tolist())


def _check_split(name, X, train, test):
    n = len(X)
    for rows in (train, test):
        assert rows.dtype == np.int64
        assert np.all((rows >= 0) & (rows < n)), "row index out of range"
        assert len(np.unique(rows)) == len(rows), "a row appears twice"
    if name == "cold_user":
        assert not _ids_of(X, "user_id", train) & _ids_of(X, "user_id", test)
    if name == "cold_item":
        assert not _ids_of(X, "item_id", train) & _ids_of(X, "item_id", test)
    if name == "cold_both":
        assert not _ids_of(X, "user_id", train) & _ids_of(X, "user_id", test)
        assert not _ids_of(X, "item_id", train) & _ids_of(X, "item_id", test)
    if name in ("cold_user", "cold_item", "last_k"):  # a partition: nothing dropped
        np.testing.assert_array_equal(np.sort(np.r_[train, test]), np.arange(n))


@pytest.mark.parametrize("name", list(SPLITTERS))
@pytest.mark.filterwarnings("error::UserWarning")  # tz-aware times read cleanly
@settings(max_examples=20, deadline=None)
@given(log=hostile_logs(), pass_y=st.booleans())
def test_splitters_on_hostile_logs(name, log, pass_y):
    X, y = log
    saved = snapshot(X, y)
    splitter = SPLITTERS[name]
    splits, exc = attempt(lambda: list(splitter.split(X, y if pass_y else None)))
    assert_unchanged(saved, (X, y))
    if exc is not None:
        assert re.search(TOO_SMALL, str(exc)), exc
        return
    assert len(splits) == splitter.get_n_splits(X)
    for train, test in splits:
        _check_split(name, X, train, test)
    if name in SCENARIO_SPLITTERS:
        for scenario in splitter.split_scenarios(X).values():
            # query rows are never trained on
            assert not set(scenario.query) & set(scenario.train)
            assert not set(scenario.query) & set(scenario.support)


def _with(X, column, row, value):
    values = X[column].astype(object).tolist()
    values[row] = value
    return X.assign(**{column: pd.Series(values, index=X.index, dtype=object)})


BASE = pd.DataFrame(
    {
        "user_id": np.repeat(np.arange(10), 6),
        "item_id": np.tile(np.arange(6), 10),
        "year": np.tile([1990, 1990, 1990, 1990, 1999, 1999], 10),
        "timestamp": np.arange(60),
    }
)
BAD = {
    "empty": (lambda X, r: X.iloc[:0], r"X is empty"),
    "missing user id": (
        lambda X, r: _with(X, "user_id", r, None),
        r"User id \('user_id'\) column contains missing values \(NaN/None\) at row {r}",
    ),
    "unhashable item id": (
        lambda X, r: _with(X, "item_id", r, [1, 2]),
        r"Item id \('item_id'\) column holds an unhashable value at row {r}",
    ),
    "datetime user ids": (
        lambda X, r: X.assign(user_id=pd.to_datetime(X["user_id"], unit="D")),
        r"unsupported dtype datetime64",
    ),
    "one column": (lambda X, r: X[["user_id"]], r"missing id column"),
    "None": (lambda X, r: None, r"expects X, got None"),
}
BAD_TIME = {
    "NaT timestamp": (
        lambda X, r: X.assign(
            timestamp=pd.to_datetime(X["timestamp"], unit="s").where(X.index != r)
        ),
        r"Column 'timestamp' contains missing or infinite timestamps \(row {r}\)",
    ),
    "NaN timestamp": (
        lambda X, r: X.assign(timestamp=X["timestamp"].where(X.index != r)),
        r"Column 'timestamp' contains missing or infinite timestamps \(row {r}\)",
    ),
    "inf timestamp": (
        lambda X, r: _with(X, "timestamp", r, np.inf).astype({"timestamp": float}),
        r"Column 'timestamp' contains missing or infinite timestamps \(row {r}\)",
    ),
    "text timestamp": (
        lambda X, r: X.assign(timestamp=X["timestamp"].astype(str)),
        r"must hold numeric timestamps or datetimes",
    ),
    "no timestamp": (
        lambda X, r: X.drop(columns="timestamp"),
        r"needs a 'timestamp' column",
    ),
}


@pytest.mark.parametrize("name", list(SPLITTERS))
@settings(max_examples=12, deadline=None)
@given(data=st.data())
def test_splitters_bad_input(name, data):
    cases = dict(BAD, **(BAD_TIME if name in ("last_k", "mamo") else {}))
    kind = data.draw(st.sampled_from(sorted(cases)))
    row = data.draw(st.integers(0, len(BASE) - 1))
    make, match = cases[kind]
    X = make(BASE, row)
    saved = snapshot(X)
    expect_value_error(
        lambda: list(SPLITTERS[name].split(X)), match=match.format(r=row)
    )
    assert_unchanged(saved, (X,))


@pytest.mark.parametrize("name", list(SPLITTERS))
@settings(max_examples=8, deadline=None)
@given(
    data=st.data(),
    kind=st.sampled_from(["nan", "inf", "short", "long", "str"]),
)
def test_splitters_check_y_when_given(name, data, kind):
    y = np.ones(len(BASE))
    row = data.draw(st.integers(0, len(BASE) - 1))
    if kind == "nan":
        y[row], match = np.nan, f"y contains NaN at row {row}"
    elif kind == "inf":
        y[row], match = np.inf, f"y contains an infinite value at row {row}"
    elif kind == "short":
        y, match = y[1:], "mismatched lengths"
    elif kind == "long":
        y, match = np.r_[y, 1.0], "mismatched lengths"
    else:
        y, match = y.astype(str), "numeric ratings"
    saved = snapshot(y)
    expect_value_error(lambda: list(SPLITTERS[name].split(BASE, y)), match=match)
    assert_unchanged(saved, (y,))


@settings(max_examples=10, deadline=None)
@given(copies=st.integers(1, 3), row=st.integers(0, len(BASE) - 1))
def test_duplicate_rows_stay_together_in_cold_start_splits(copies, row):
    """Copies of a (user, item) row are repeated observations: each is kept, and
    in a user- or item-cold split they fall on the same side."""
    X = pd.concat([BASE] + [BASE.iloc[[row]]] * copies, ignore_index=True)
    copies_at = [row, *range(len(BASE), len(X))]
    for kind in ("user", "item"):
        for train, test in ColdStartSplit(kind, n_splits=3, random_state=0).split(X):
            assert len(train) + len(test) == len(X)
            in_test = np.isin(copies_at, test)
            assert in_test.all() or not in_test.any()
