"""Strategies and checks shared by the hostile-input tests (issue #6).

Every public entry point either gives finite outputs (a documented behaviour) or
raises a ``ValueError`` whose message names the problem. Anything else (a torch
``RuntimeError``, an ``IndexError``, ``KeyError``, ``TypeError``...) fails the test
with a message saying which call leaked it, and every test checks that the
caller's inputs are unchanged afterwards.
"""

from __future__ import annotations

import copy
import re

import numpy as np
import pandas as pd
import pytest
from hypothesis import strategies as st

# --------------------------------------------------------------------------------------
# Calls
# --------------------------------------------------------------------------------------


def attempt(fn, *args, **kwargs):
    """``(result, None)`` or ``(None, ValueError)``; any other exception fails."""
    try:
        return fn(*args, **kwargs), None
    except ValueError as exc:
        return None, exc
    except Exception as exc:  # noqa: BLE001 - the point is to catch everything
        pytest.fail(
            f"{_name(fn)} leaked {type(exc).__name__} instead of a ValueError: {exc}"
        )


def expect_value_error(fn, *args, match, **kwargs):
    """Call ``fn``; it must raise a ValueError whose message matches ``match``."""
    result, exc = attempt(fn, *args, **kwargs)
    if exc is None:
        pytest.fail(
            f"{_name(fn)} accepted bad input (returned {type(result).__name__}); "
            f"expected a ValueError matching {match!r}"
        )
    assert re.search(match, str(exc)), (
        f"{_name(fn)} raised ValueError({str(exc)!r}), which does not name the "
        f"problem ({match!r})"
    )
    return exc


def _name(fn):
    owner = getattr(fn, "__self__", None)
    if owner is not None and not isinstance(owner, type):
        return f"{type(owner).__name__}.{fn.__name__}"
    return getattr(fn, "__qualname__", repr(fn))


# --------------------------------------------------------------------------------------
# Checks
# --------------------------------------------------------------------------------------


def snapshot(*objects):
    """Deep copies of the inputs, to compare with :func:`assert_unchanged`."""
    return copy.deepcopy(objects)


def assert_unchanged(before, after):
    """Every object of ``after`` equals its deep copy in ``before`` (no mutation)."""
    for old, new in zip(before, after, strict=True):
        if isinstance(new, pd.DataFrame):
            pd.testing.assert_frame_equal(new, old)
        elif isinstance(new, pd.Series):
            pd.testing.assert_series_equal(new, old)
        elif isinstance(new, pd.api.extensions.ExtensionArray):
            pd.testing.assert_extension_array_equal(new, old)
        elif isinstance(new, np.ndarray):
            assert new.dtype == old.dtype and new.shape == old.shape
            assert _same_values(new.ravel(), old.ravel()), "an input array was mutated"
        else:
            assert repr(new) == repr(old), "an input was mutated"


def _same_values(a, b):
    return all(
        (x is y) or (x == y) or (_is_nan(x) and _is_nan(y))
        for x, y in zip(a.tolist(), b.tolist())
    )


def _is_nan(value):
    return isinstance(value, float) and value != value


def assert_finite(values, what):
    arr = np.asarray(values, dtype=np.float64)
    assert np.all(np.isfinite(arr)), f"{what} contains NaN or inf: {arr}"


def id_list(values):
    """An object array of ids (a list would broadcast tuple ids into 2-D)."""
    out = np.empty(len(values), dtype=object)
    for position, value in enumerate(values):
        out[position] = value
    return out


def id_column(values):
    """A DataFrame column of ids; pandas infers int64 / uint64 / object itself."""
    return pd.Series(list(values), dtype=None if _plain(values) else object)


def _plain(values):
    return all(isinstance(v, int | str) for v in values) and not any(
        isinstance(v, bool) for v in values
    )


# --------------------------------------------------------------------------------------
# Strategies
# --------------------------------------------------------------------------------------

HUGE_INTS = [2**62, -(2**62), 2**63 - 1, -(2**63), 2**64 + 7, 10**30]

long_strings = st.builds(
    lambda c, n: c * n, st.characters(codec="utf-8"), st.integers(1_000, 20_000)
)
#: Ids that are also attribute names of pandas / scipy objects: code that asks
#: ``hasattr(series, "tocsr")`` of a Series indexed by ids finds them.
ATTRIBUTE_IDS = ["tocsr", "toarray", "shape", "index", "values", "T", "dtype", "name"]

#: Ids of any hashable kind: small and huge ints (beyond int64 too), unicode and
#: very long strings, tuples, floats. Mixed in one column they stay distinct ids.
ids = st.one_of(
    st.integers(-(10**6), 10**6),
    st.sampled_from(HUGE_INTS),
    st.text(max_size=10),
    st.sampled_from(ATTRIBUTE_IDS),
    long_strings,
    st.tuples(st.integers(0, 3), st.text(max_size=3)),
    st.floats(allow_nan=False, allow_infinity=False),
)

words = st.text(
    st.characters(codec="utf-8", categories=("L", "N", "P", "S", "Zs", "Mn")),
    max_size=40,
)
long_texts = st.builds(
    lambda w, n: (w + " ") * n, st.text(min_size=1, max_size=8), st.integers(300, 3_000)
)
#: Item texts: empty, unicode (any script, emoji, combining marks), very long,
#: missing (None / NaN).
texts = st.one_of(st.just(""), words, long_texts, st.none(), st.just(float("nan")))

#: Ratings every estimator must handle with finite outputs: explicit ratings,
#: negative ones and 0/1 labels.
sane_ratings = st.one_of(
    st.floats(-10, 10, allow_nan=False),
    st.integers(1, 5).map(float),
    st.sampled_from([0.0, 1.0]),
)
