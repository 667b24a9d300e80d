"""The data contract (DESIGN §2): every bad input is a ValueError naming the problem."""

import numpy as np
import pandas as pd
import pytest

from sklearn_metarec.baselines import BiasRecommender
from sklearn_metarec.utils import (
    IdIndex,
    check_interactions,
    check_text_columns,
    split_side_information,
)


def _frame(**extra):
    data = {"user_id": ["u1", "u1", "u2"], "item_id": [10, 11, 10]}
    data.update(extra)
    return pd.DataFrame(data)


@pytest.mark.parametrize(
    ("X", "y", "message"),
    [
        (_frame(), [1.0, np.nan, 3.0], "y contains NaN at row 1"),
        (_frame(), [1.0, np.inf, 3.0], "infinite value at row 1"),
        (_frame(), [1.0, 2.0], "inconsistent numbers of samples"),
        (_frame().iloc[:0], [], "X is empty"),
        (_frame()[["user_id"]], [1.0, 2.0, 3.0], "missing id column"),
        (_frame(), ["a", "b", "c"], "numeric ratings"),
        (_frame(), np.ones((3, 2)), "y must be 1-D"),
        (
            pd.DataFrame({"user_id": ["u1", None], "item_id": [1, 2]}),
            [1.0, 2.0],
            "User id ('user_id') column contains missing values",
        ),
        (
            pd.DataFrame({"user_id": [1.0, 2.0], "item_id": [1.0, np.nan]}),
            [1.0, 2.0],
            "Item id ('item_id') column contains missing values",
        ),
        (np.array(["a", "b"]), [1.0, 2.0], "Expected a 2-D array"),
        (None, [1.0], "expects X, got None"),
    ],
)
def test_bad_input_is_a_value_error_naming_the_problem(X, y, message):
    with pytest.raises(
        ValueError, match=message.replace("(", r"\(").replace(")", r"\)")
    ):
        check_interactions(X, y)
    with pytest.raises(ValueError):
        BiasRecommender().fit(X, y)


def test_text_column_that_is_not_text():
    data = check_interactions(_frame(title=[1.5, 2.5, 1.5]), [1, 2, 3])
    with pytest.raises(ValueError, match="Text column 'title' is not text"):
        check_text_columns(data.side, ["title"])


def test_categorical_text_column_is_checked_on_the_categories_its_rows_use():
    # Rows sliced from a large frame keep all of its categories; only the
    # values of the rows count, and the error names the row that holds one.
    column = pd.Categorical(["Heat", None, 7.0, "Up"], categories=["Heat", "Up", 7.0])
    side = pd.DataFrame({"title": column})
    check_text_columns(side.iloc[[0, 1, 3]], ["title"])
    with pytest.raises(ValueError, match="found float 7.0 at row 2"):
        check_text_columns(side, ["title"])


def test_missing_text_column():
    data = check_interactions(_frame(), [1, 2, 3])
    with pytest.raises(ValueError, match="Text column 'plot' is missing"):
        check_text_columns(data.side, ["plot"])


def test_item_with_two_titles_names_the_item():
    X = _frame(title=["A", "B", "C"])
    with pytest.raises(ValueError, match="Item 10 has two different values"):
        split_side_information(check_interactions(X, [1, 2, 3]), item_columns=["title"])


def test_column_neither_item_nor_user_feature():
    X = pd.DataFrame(
        {"user_id": [1, 1, 2, 2], "item_id": [1, 2, 1, 2], "noise": [1, 2, 3, 4]}
    )
    with pytest.raises(ValueError, match="neither an item feature nor a user feature"):
        split_side_information(check_interactions(X, [1, 2, 3, 4]))


def test_side_information_is_deduplicated_by_id():
    X = _frame(title=["A", "B", "A"], age=[30, 30, 40])
    items, users = split_side_information(check_interactions(X, [1, 2, 3]))
    assert items.index.tolist() == [10, 11]
    assert items["title"].tolist() == ["A", "B"]
    assert users.index.tolist() == ["u1", "u2"]
    assert users["age"].tolist() == [30, 40]


def test_side_columns_keep_their_dtypes_for_small_and_large_batches():
    # A few rows (a partial_fit batch) take a shortcut; both paths keep dtypes.
    small = _frame(year=[1990, 2000, 1990], age=[30.5, 30.5, 40.0])
    large = pd.concat([small] * 200, ignore_index=True)  # > 256 rows
    for X in (small, large):
        data = check_interactions(X, np.ones(len(X)))
        items, users = split_side_information(
            data, item_columns=["year"], user_columns=["age"]
        )
        assert items["year"].dtype == np.int64
        assert users["age"].dtype == np.float64


def test_categorical_side_columns_are_accepted():
    X = _frame(genres=pd.Categorical(["Comedy", "Drama", "Comedy"]))
    items, _ = split_side_information(check_interactions(X, [1, 2, 3]))
    assert items["genres"].tolist() == ["Comedy", "Drama"]


def test_input_is_not_mutated():
    X = _frame(title=["A", "B", "A"])
    y = np.array([1.0, 2.0, 3.0])
    X_copy, y_copy = X.copy(), y.copy()
    BiasRecommender().fit(X, y).partial_fit(X, y)
    pd.testing.assert_frame_equal(X, X_copy)
    np.testing.assert_array_equal(y, y_copy)


def test_id_index_any_hashable_and_unknown_ids():
    index = IdIndex([("a", 1), 2, "x", 2.5])
    assert index.get_positions(["x", ("a", 1), "nope", 3]).tolist() == [2, 0, -1, -1]
    assert IdIndex().get_positions([1, 2]).tolist() == [-1, -1]


def test_id_index_extend_keeps_positions():
    index = IdIndex(["a", "b"])
    pos = index.extend(["c", "a", "c", "d"])
    assert pos.tolist() == [2, 0, 2, 3]
    assert index.ids.tolist() == ["a", "b", "c", "d"]


def test_mixed_type_ids_survive_a_list_input():
    X = [["u1", 1], [2, "item"]]
    data = check_interactions(X, [1.0, 2.0])
    assert data.users.tolist() == ["u1", 2]
    assert data.items.tolist() == [1, "item"]


def test_timestamp_is_an_interaction_column():
    X = _frame(timestamp=[3, 1, 2], title=["A", "B", "A"])
    items, users = split_side_information(check_interactions(X, [1, 2, 3]))
    assert list(items.columns) == ["title"]
    assert list(users.columns) == []
