"""join_text_columns: one text per item from several columns."""

import numpy as np
import pandas as pd
import pytest

from sklearn_metarec.text import join_text_columns


@pytest.fixture
def items():
    return pd.DataFrame(
        {
            "title": ["Toy Story (1995)", "Heat (1995)", None],
            "genres": ["Animation|Children's|Comedy", "Action|Crime|Thriller", np.nan],
            "director": ["John Lasseter", None, "  "],
            "plot": ["Toys come to life.", "A cop hunts a thief!", None],
        },
        index=pd.Index([1, 6, 99], name="item_id"),
    )


def test_documented_format(items):
    texts = join_text_columns(items)
    assert texts.tolist() == [
        "Toy Story (1995). Genres: Animation, Children's, Comedy. "
        "Director: John Lasseter. Plot: Toys come to life.",
        "Heat (1995). Genres: Action, Crime, Thriller. Plot: A cop hunts a thief!",
        "",
    ]
    assert texts.index.equals(items.index)
    assert texts.name == "text"


def test_no_doubled_full_stop():
    frame = pd.DataFrame({"plot": ["Ends here."], "actors": ["Tom Hanks"]})
    assert join_text_columns(frame, labels=False).iloc[0] == "Ends here. Tom Hanks"
    frame = pd.DataFrame({"plot": ["Ends here?"], "actors": ["Tom Hanks"]})
    assert join_text_columns(frame, sep="; ").iloc[0] == "Ends here?; Actors: Tom Hanks"


@pytest.mark.parametrize(
    "labels, expected",
    [
        (False, "Heat (1995). Action, Crime, Thriller"),
        (True, "Title: Heat (1995). Genres: Action, Crime, Thriller"),
        ({"genres": "Kind"}, "Heat (1995). Kind: Action, Crime, Thriller"),
    ],
)
def test_labels(items, labels, expected):
    texts = join_text_columns(items, ["title", "genres"], labels=labels)
    assert texts.iloc[1] == expected


def test_values_numbers_lists_and_categoricals():
    frame = pd.DataFrame(
        {
            "title": pd.Series(["Heat", "Heat", None], dtype="category"),
            "year": [1995.0, np.nan, 2001.0],
            "release_year": pd.array([1995, None, 2001], dtype="Int64"),
            "cast": [["Al Pacino", "Robert De Niro"], [], ("A", None)],
            "rating": [7.5, 8.0, 6.25],
        }
    )
    texts = join_text_columns(frame, sep=" | ", multi_value_sep=None)
    assert texts.tolist() == [
        "Heat | Year: 1995 | Release year: 1995 | Cast: Al Pacino, Robert De Niro"
        " | Rating: 7.5",
        "Heat | Rating: 8",
        "Year: 2001 | Release year: 2001 | Cast: A | Rating: 6.25",
    ]


def test_multi_value_sep_none_keeps_cells_whole():
    frame = pd.DataFrame({"genres": ["A|B"]})
    assert join_text_columns(frame, multi_value_sep=None).iloc[0] == "A|B"
    assert join_text_columns(frame).iloc[0] == "A, B"


def test_empty_columns_and_frames(items):
    assert join_text_columns(items, []).tolist() == ["", "", ""]
    assert join_text_columns(items.iloc[:0]).tolist() == []


def test_caller_frame_untouched(items):
    before = items.copy()
    join_text_columns(items)
    pd.testing.assert_frame_equal(items, before)


@pytest.mark.parametrize(
    "frame, columns, match",
    [
        (pd.DataFrame({"a": ["x"]}), ["title"], r"\['title'\] are missing"),
        (pd.DataFrame({"a": ["x"]}), "a", "list of column names"),
        (["x"], None, "expects a pandas DataFrame"),
        (pd.DataFrame({"a": [{"k": 1}]}), None, "holds dict"),
    ],
)
def test_bad_input_raises(frame, columns, match):
    with pytest.raises(ValueError, match=match):
        join_text_columns(frame, columns)


def test_bad_labels_raise(items):
    with pytest.raises(ValueError, match="labels must be"):
        join_text_columns(items, labels="first")
