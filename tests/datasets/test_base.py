"""Tests of the dataset plumbing: data home, fast parsing, row expansion."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sklearn_metarec.datasets import _base
from sklearn_metarec.datasets._base import get_data_home, read_separated, take_rows


def test_get_data_home(monkeypatch, tmp_path):
    monkeypatch.delenv("SKLEARN_METAREC_DATA", raising=False)
    assert get_data_home() == Path.home() / "sklearn_metarec_data"
    monkeypatch.setenv("SKLEARN_METAREC_DATA", str(tmp_path))
    assert get_data_home() == tmp_path
    assert get_data_home(tmp_path / "x") == tmp_path / "x"
    assert get_data_home("~/y") == Path.home() / "y"
    assert not (tmp_path / "x").exists()  # never created here


ROWS = 'ab::1::x, "q"::N/A\r\nc\x1fd::2::::z\r\n'


@pytest.mark.parametrize("candidates", [_base._SEPARATOR_CANDIDATES, ()])
def test_read_separated_fast_and_fallback_agree(tmp_path, monkeypatch, candidates):
    # With no free single-byte separator the Python engine reads the same frame.
    monkeypatch.setattr(_base, "_SEPARATOR_CANDIDATES", candidates)
    path = tmp_path / "f.dat"
    path.write_bytes(ROWS.encode("latin-1"))
    frame = read_separated(
        path,
        "::",
        names=["a", "n", "b", "c"],
        dtype={"a": str, "n": np.int64, "b": str, "c": str},
        encoding="latin-1",
        na_values=["N/A", ""],
    )
    assert frame["a"].tolist() == ["ab", "c\x1fd"]
    assert frame["n"].tolist() == [1, 2]
    assert frame.loc[0, "b"] == 'x, "q"'
    assert pd.isna(frame.loc[1, "b"]) and pd.isna(frame.loc[0, "c"])
    assert frame.loc[1, "c"] == "z"


def test_read_separated_keeps_na_like_strings(tmp_path):
    path = tmp_path / "f.dat"
    path.write_bytes(b"NA|null\nNaN|\n")
    frame = read_separated(path, "|", names=["a", "b"], dtype=str)
    assert frame.to_numpy().tolist() == [["NA", "null"], ["NaN", ""]]


def test_take_rows():
    column = pd.Series(pd.Categorical(["b", "a", "b"]), index=[10, 20, 30])
    taken = take_rows(column, np.array([2, 0, -1, 1]))
    assert isinstance(taken, pd.Categorical)
    assert taken.categories.tolist() == ["a", "b"]
    assert taken.tolist()[:2] == ["b", "b"] and pd.isna(taken[2])
    ints = take_rows(pd.Series([1, 2, 3]), np.array([0, -1]))
    assert ints.dtype == np.float64 and np.isnan(ints[1])
    np.testing.assert_array_equal(
        take_rows(pd.Series([1, 2, 3]), np.array([2, 0])), [3, 1]
    )
