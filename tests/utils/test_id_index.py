"""IdIndex: positions never move, ids keep their type, copies stay apart."""

import copy
import pickle

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from sklearn_metarec.utils import IdIndex
from sklearn_metarec.utils._data import _TAIL_SIZE

_IDS = st.one_of(
    st.integers(-5, 40),
    st.sampled_from([2**63 - 1, -(2**63), 2.5, "a", "b", ("t", 1)]),
)


def _reference(batches, start=()):
    positions = {}
    for id_ in start:
        positions.setdefault(id_, len(positions))
    answers = []
    for batch in batches:
        for id_ in batch:
            positions.setdefault(id_, len(positions))
        answers.append([positions[id_] for id_ in batch])
    return positions, answers


@settings(max_examples=60, deadline=None)
@given(
    start=st.lists(_IDS, max_size=8),
    batches=st.lists(st.lists(_IDS, min_size=1, max_size=6), max_size=12),
)
def test_extend_matches_a_dictionary(start, batches):
    index = IdIndex(start)
    positions, answers = _reference(batches, start)
    for batch, expected in zip(batches, answers):
        assert index.extend(batch).tolist() == expected
    assert len(index) == len(positions)
    assert index.ids.tolist() == list(positions)
    probe = [*positions, "unknown", 99]
    assert index.get_positions(probe).tolist() == [*positions.values(), -1, -1]


def test_many_new_ids_fold_into_the_index_with_their_types():
    # Int ids, then a float and a string: past the tail's size they are folded
    # into one index, and each id keeps the value it was given.
    index = IdIndex(np.arange(10))
    huge = 2**63 - 1
    for id_ in range(10, 10 + _TAIL_SIZE + 5):
        index.extend(np.array([id_]))
    index.extend([huge, 0.5, "s"])
    assert index._n - len(index._index) < _TAIL_SIZE  # folded at least once
    n = 10 + _TAIL_SIZE + 5
    assert len(index) == n + 3
    assert index.get_positions([huge, 0.5, "s", 7, n - 1]).tolist() == [
        n,
        n + 1,
        n + 2,
        7,
        n - 1,
    ]
    assert index.ids_at([n, n + 2]).tolist() == [huge, "s"]
    assert type(index.ids[n]) is int


def test_many_lookups_of_tail_ids_at_once():
    index = IdIndex(["a"])
    index.extend([f"n{k}" for k in range(100)])
    probe = [f"n{k}" for k in range(99, -1, -1)] + ["zz", "a"]
    assert index.get_positions(probe).tolist() == [*range(100, 0, -1), -1, 0]
    few = probe[:5] + ["zz"]  # looked up one by one
    assert index.get_positions(few).tolist() == [100, 99, 98, 97, 96, -1]


def test_a_copy_extended_leaves_the_original_as_it_was():
    # Write, then swap: the estimator extends a shallow copy; a call that is
    # interrupted keeps the original, which must not see the copy's ids.
    original = IdIndex(["a", "b"])
    original.extend(["c"])
    written = copy.copy(original)
    assert written.extend(["d", "e"]).tolist() == [3, 4]
    assert len(original) == 3
    assert original.get_positions(["d", "c"]).tolist() == [-1, 2]
    assert "d" not in original and "d" in written
    assert original.ids.tolist() == ["a", "b", "c"]
    # The original goes on with other ids at the same positions.
    assert original.extend(["x", "d"]).tolist() == [3, 4]
    assert original.ids.tolist() == ["a", "b", "c", "x", "d"]
    assert written.get_positions(["d", "e", "x"]).tolist() == [3, 4, -1]


def test_pickle_keeps_the_tail():
    index = IdIndex([1, 2])
    index.extend([3, "x"])
    loaded = pickle.loads(pickle.dumps(index))
    assert loaded.ids.tolist() == [1, 2, 3, "x"]
    assert loaded.get_positions(["x", 3]).tolist() == [3, 2]
    assert len(loaded._index) == 4
