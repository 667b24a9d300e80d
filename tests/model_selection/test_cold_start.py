"""ColdStartSplit and LeaveLastKOut."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sklearn_metarec.model_selection import ColdStartSplit, LeaveLastKOut


def log(n_users=20, n_items=15, n_rows=200, seed=0):
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "user_id": [f"u{u}" for u in rng.integers(0, n_users, n_rows)],
            "item_id": rng.integers(0, n_items, n_rows),
            "timestamp": rng.permutation(n_rows),
        }
    )


@pytest.mark.parametrize("kind", ["user", "item"])
def test_held_out_side_never_in_train(kind):
    X = log()
    column = f"{kind}_id"
    splits = list(ColdStartSplit(kind, n_splits=4, random_state=0).split(X))
    assert len(splits) == 4
    for train, test in splits:
        assert train.dtype == np.int64 and test.dtype == np.int64
        assert not set(X[column].iloc[train]) & set(X[column].iloc[test])
        # a partition of the rows
        np.testing.assert_array_equal(np.sort(np.r_[train, test]), np.arange(len(X)))
        # 20% of the users / items, rounded up
        assert X[column].iloc[test].nunique() == int(np.ceil(0.2 * X[column].nunique()))
    # each split draws its own held-out set
    assert len({tuple(test) for _, test in splits}) > 1


def test_both_drops_rows_with_one_held_out_side():
    X = log(n_rows=600)
    for train, test in ColdStartSplit(
        "both", n_splits=3, test_size=0.4, random_state=1
    ).split(X):
        test_users, test_items = set(X.user_id.iloc[test]), set(X.item_id.iloc[test])
        assert not test_users & set(X.user_id.iloc[train])
        assert not test_items & set(X.item_id.iloc[train])
        dropped = np.setdiff1d(np.arange(len(X)), np.r_[train, test])
        assert len(dropped) > 0
        # a dropped row has a held-out side, so its user or its item is absent
        # from train (it would leak into train otherwise)
        train_users, train_items = (
            set(X.user_id.iloc[train]),
            set(X.item_id.iloc[train]),
        )
        for row in dropped:
            assert (X.user_id.iloc[row] not in train_users) or (
                X.item_id.iloc[row] not in train_items
            )


def test_deterministic_with_random_state():
    X = log()
    cv = ColdStartSplit("user", n_splits=3, random_state=42)
    first = [test.tolist() for _, test in cv.split(X)]
    assert first == [test.tolist() for _, test in cv.split(X)]
    other = [test.tolist() for _, test in ColdStartSplit(random_state=7).split(X)]
    assert first[0] != other[0]


def test_int_test_size_and_array_input():
    X = log().to_numpy()
    train, test = next(
        ColdStartSplit("user", n_splits=1, test_size=3, random_state=0).split(X)
    )
    assert len(set(X[test, 0])) == 3


def test_repr_and_n_splits():
    cv = ColdStartSplit("item", n_splits=3, random_state=0)
    assert repr(cv) == (
        "ColdStartSplit(kind='item', n_splits=3, random_state=0, test_size=0.2)"
    )
    assert cv.get_n_splits() == 3


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"kind": "users"}, "kind must be one of"),
        ({"n_splits": 0}, "n_splits"),
        ({"n_splits": 2.0}, "n_splits"),
        ({"test_size": 1.5}, "test_size"),
        ({"test_size": 0}, "test_size"),
        ({"test_size": "a"}, "test_size"),
        ({"test_size": 20}, "Too few users"),
    ],
)
def test_bad_params(params, match):
    with pytest.raises(ValueError, match=match):
        list(ColdStartSplit(**params).split(log()))


def test_both_with_no_doubly_cold_row_raises():
    X = pd.DataFrame({"user_id": [1, 2], "item_id": [1, 2]})
    cv = ColdStartSplit("both", n_splits=5, test_size=1, random_state=0)
    with pytest.raises(ValueError, match="test set is empty"):
        list(cv.split(X))


def test_bad_X():
    with pytest.raises(ValueError, match="empty"):
        list(ColdStartSplit().split(pd.DataFrame({"user_id": [], "item_id": []})))
    with pytest.raises(ValueError, match="id column"):
        list(ColdStartSplit().split(pd.DataFrame({"user_id": [1, 2]})))


@settings(max_examples=40, deadline=None)
@given(
    n_users=st.integers(2, 12),
    n_items=st.integers(2, 12),
    n_rows=st.integers(1, 80),
    seed=st.integers(0, 2**16),
    kind=st.sampled_from(["user", "item"]),
)
def test_partition_property(n_users, n_items, n_rows, seed, kind):
    X = log(n_users, n_items, n_rows, seed)
    column = X[f"{kind}_id"]
    if column.nunique() < 2:
        with pytest.raises(ValueError, match="Too few"):
            list(ColdStartSplit(kind, n_splits=2, random_state=seed).split(X))
        return
    for train, test in ColdStartSplit(kind, n_splits=2, random_state=seed).split(X):
        assert len(test) and len(train)
        assert not set(column.iloc[train]) & set(column.iloc[test])
        assert len(train) + len(test) == len(X)


# ---------------------------------------------------------------------- LeaveLastKOut


def test_leave_last_k_out_by_hand():
    X = pd.DataFrame(
        {
            "user_id": [1, 1, 1, 2, 2, 3],
            "item_id": [7, 8, 9, 7, 8, 9],
            "timestamp": [30, 10, 20, 5, 5, 1],
        }
    )
    train, test = next(LeaveLastKOut(k=1).split(X))
    # user 1: latest is row 0 (t=30); user 2: tie at t=5 -> later row (4) is last;
    # user 3 has 1 row <= k -> stays in train.
    assert test.tolist() == [0, 4]
    assert train.tolist() == [1, 2, 3, 5]
    train, test = next(LeaveLastKOut(k=2).split(X))
    assert test.tolist() == [0, 2]  # only user 1 has more than 2 rows
    # row order when there is no timestamp column
    train, test = next(LeaveLastKOut(k=1, timestamp_column=None).split(X))
    assert test.tolist() == [2, 4]


def test_leave_last_k_out_datetimes_and_n_splits():
    X = pd.DataFrame(
        {
            "user_id": [1, 1],
            "item_id": [1, 2],
            "when": pd.to_datetime(["2024-01-02", "2024-01-01"]),
        }
    )
    cv = LeaveLastKOut(timestamp_column="when")
    assert next(cv.split(X))[1].tolist() == [0]
    assert cv.get_n_splits() == 1
    assert repr(cv) == "LeaveLastKOut(k=1, timestamp_column='when')"


def test_leave_last_k_out_errors():
    X = pd.DataFrame({"user_id": [1, 1], "item_id": [1, 2]})
    with pytest.raises(ValueError, match="needs a 'timestamp' column"):
        list(LeaveLastKOut().split(X))
    with pytest.raises(ValueError, match="k must be"):
        list(LeaveLastKOut(k=0, timestamp_column=None).split(X))
    with pytest.raises(ValueError, match="no user with more than 2 rows"):
        list(LeaveLastKOut(k=2, timestamp_column=None).split(X))
    X["timestamp"] = ["a", "b"]
    with pytest.raises(ValueError, match="numeric timestamps"):
        list(LeaveLastKOut().split(X))
