"""Hostile input to the text side: TfidfSVDEncoder and join_text_columns.

Empty, unicode (any script, emoji, combining marks, control characters), very
long and missing texts embed to finite vectors; anything that is not text is a
ValueError naming the element. (The transformer encoder's cases, which need the
offline model, are in test_hostile_transformer.py.)
"""

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sklearn_metarec.text import TfidfSVDEncoder, join_text_columns

from ._hostile import assert_unchanged, attempt, expect_value_error, snapshot, texts

CORPUS = [
    "Toy Story. Animation, Comedy",
    "Heat. Action, Crime",
    "Amélie. Romance, Comédie",
    "千と千尋の神隠し. アニメ",
    "Casino. Crime, Drama",
]
ENCODER = TfidfSVDEncoder(n_components=4, random_state=0).fit(CORPUS)
any_text = st.one_of(texts, st.text(), st.sampled_from(CORPUS))


def _check_embeddings(out, n):
    assert out.shape == (n, 4) and out.dtype == np.float32
    assert np.all(np.isfinite(out))
    norms = np.linalg.norm(out, axis=1)
    # Unit norm, or (numerically) zero for a text with no known term.
    assert np.all((np.abs(norms - 1) < 1e-4) | (norms < 1e-6)), norms


@settings(max_examples=30, deadline=None)
@given(
    values=st.lists(any_text, max_size=6),
    container=st.sampled_from(["list", "tuple", "array", "series", "string", "frame"]),
)
def test_tfidf_transform_any_text(values, container):
    if container == "list":
        X = list(values)
    elif container == "tuple":
        X = tuple(values)
    elif container == "array":
        X = np.array(values, dtype=object)
    elif container == "series":
        X = pd.Series(values, dtype=object, index=np.arange(len(values))[::-1])
    elif container == "string":
        X = pd.Series(values, dtype="string")
    else:
        X = pd.DataFrame({"text": pd.Series(values, dtype=object)})
    saved = snapshot(X)
    out, exc = attempt(ENCODER.transform, X)
    assert exc is None, f"transform rejected texts: {exc}"
    _check_embeddings(out, len(values))
    assert_unchanged(saved, (X,))


@settings(max_examples=15, deadline=None)
@given(values=st.lists(any_text, min_size=1, max_size=6))
def test_tfidf_fit_any_text(values):
    saved = snapshot(values)
    out, exc = attempt(TfidfSVDEncoder(4, random_state=0).fit_transform, values)
    assert_unchanged(saved, (values,))
    if exc is not None:  # documented: a vocabulary needs at least one word
        assert "found no words" in str(exc), exc
        return
    _check_embeddings(out, len(values))


@settings(max_examples=20, deadline=None)
@given(
    values=st.lists(any_text, min_size=1, max_size=5),
    bad=st.one_of(
        st.integers(),
        st.floats(allow_nan=False),
        st.booleans(),
        st.binary(min_size=1, max_size=3),
        st.just(1 + 2j),
    ),
    data=st.data(),
    method=st.sampled_from(["fit", "transform"]),
)
def test_tfidf_non_text_elements_are_value_errors(values, bad, data, method):
    row = data.draw(st.integers(0, len(values)))
    X = np.array([*values[:row], bad, *values[row:]], dtype=object)
    saved = snapshot(X)
    encoder = TfidfSVDEncoder(4) if method == "fit" else ENCODER
    expect_value_error(
        getattr(encoder, method),
        X,
        match=rf"expects text, but element {row} is {type(bad).__name__}",
    )
    assert_unchanged(saved, (X,))


@pytest.mark.parametrize(
    ("X", "match"),
    [
        ("one text", "single string"),
        (None, "got None"),
        (pd.DataFrame({"a": ["x"], "b": ["y"]}), "2 columns"),
        (np.array([["a", "b"]], dtype=object), "1-D sequence"),
        (pd.Series([1, 2], dtype="category"), "category 0 is int 1"),
    ],
)
@pytest.mark.parametrize("method", ["fit", "transform"])
def test_tfidf_malformed_input(X, match, method):
    encoder = TfidfSVDEncoder(4) if method == "fit" else ENCODER
    expect_value_error(getattr(encoder, method), X, match=match)


def test_tfidf_empty_input():
    out = ENCODER.transform([])
    assert out.shape == (0, 4) and out.dtype == np.float32
    expect_value_error(TfidfSVDEncoder(4).fit, [], match="at least one text")
    expect_value_error(TfidfSVDEncoder(4).fit, ["", None], match="found no words")


@st.composite
def text_frames(draw):
    n = draw(st.integers(0, 5))
    cell = st.one_of(
        texts,
        st.integers(-(2**70), 2**70),
        st.floats(),  # NaN and inf included
        st.booleans(),
        st.lists(st.one_of(st.text(max_size=5), st.integers(), st.none()), max_size=3),
    )
    columns = draw(st.lists(st.text(min_size=1, max_size=6), min_size=1, max_size=3))
    columns = list(dict.fromkeys(columns))
    return pd.DataFrame(
        {
            c: pd.Series(draw(st.lists(cell, min_size=n, max_size=n)), dtype=object)
            for c in columns
        }
    )


@settings(max_examples=25, deadline=None)
@given(frame=text_frames(), labels=st.sampled_from(["auto", True, False]))
def test_join_text_columns_any_cells(frame, labels):
    saved = snapshot(frame)
    out, exc = attempt(join_text_columns, frame, labels=labels)
    assert exc is None, exc
    assert out.index.equals(frame.index)
    assert all(isinstance(t, str) for t in out)
    assert_unchanged(saved, (frame,))


@pytest.mark.parametrize(
    ("frame", "columns", "match"),
    [
        (pd.DataFrame({"a": [b"x"]}), None, "holds bytes"),
        (pd.DataFrame({"a": [{"x": 1}]}), None, "holds dict"),
        (pd.DataFrame({"a": pd.to_datetime(["2020"])}), None, "holds Timestamp"),
        (pd.DataFrame({"a": ["x"]}), ["b"], r"Text columns \['b'\] are missing"),
        (pd.DataFrame({"a": ["x"]}), "a", "list of column names"),
        (["x", "y"], None, "expects a pandas DataFrame"),
    ],
)
def test_join_text_columns_bad_input(frame, columns, match):
    expect_value_error(join_text_columns, frame, columns, match=match)
