"""predict and recommend are safe from several threads at once (issue #6).

Eight threads call ``predict``, ``recommend`` and ``explain`` (and
``similar_items`` and the text estimators' ``recommend_from_text``) on one
fitted estimator at the same time, right after ``fit`` and then after each of
many ``partial_fit`` calls, when the lazily built caches (the seen-items matrix,
the item-kNN rating matrices) are empty and every thread may try to build them.
Every result must equal the serial result of an identical estimator. The Python
thread switch interval is shortened so that races show up within a few rounds.
"""

import copy
import sys
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd
import pytest

from .test_invariants import (
    ESTIMATORS,
    estimator_id,
    fitted_copy,
    grid,
    item_table,
    split_log,
)

N_THREADS = 8
N_ROUNDS = 20


@pytest.fixture
def fast_thread_switches():
    before = sys.getswitchinterval()
    sys.setswitchinterval(1e-4)
    yield
    sys.setswitchinterval(before)


def _rounds():
    """The partial_fit batch of each round: new users, new items, known users."""
    X_train, _, batches = split_log()
    X_users, y_users = batches["new_users"]
    X_items, y_items = batches["new_items"]
    X_known, y_known = batches["known_users"]
    cold = X_users["user_id"].unique()
    known = X_known["user_id"].unique()
    out = [None]  # round 0: right after fit
    for k in range(1, N_ROUNDS):
        mine = (X_users["user_id"] == cold[k % len(cold)]).to_numpy()
        parts = [(X_users[mine].assign(user_id=f"new-{k}"), y_users[mine])]
        if k % 3 == 0:  # new items, with their own text
            parts.append(
                (
                    X_items.assign(
                        user_id=f"new-{k}",
                        item_id=X_items["item_id"] + 1000 * k,
                        title=X_items["title"] + f" part {k}",
                    ),
                    y_items,
                )
            )
        if k % 4 == 0:  # more rows of a known user
            mine = (X_known["user_id"] == known[k % len(known)]).to_numpy()
            parts.append((X_known[mine], y_known[mine]))
        out.append(
            (
                pd.concat([X for X, _ in parts], ignore_index=True),
                np.concatenate([y for _, y in parts]),
            )
        )
    return X_train, out


def _calls(est, X_train, batch):
    """The read-only calls of one round, as (name, function) pairs."""
    users = [*X_train["user_id"].unique()[::10], "unknown"]
    items = item_table(X_train)[::2]
    if batch is not None:
        users += list(batch[0]["user_id"].unique())
        items = pd.concat([items, item_table(batch[0])])
    cold_item = items.head(1).assign(item_id=-7, title="A cold film", genres="Drama")
    probe = grid(users, pd.concat([items, cold_item]))
    calls = [
        ("predict", lambda: est.predict(probe)),
        ("recommend", lambda: est.recommend(users, n=10)),
    ]
    user, some = users[0], items["item_id"].head(3)
    calls.append(("explain", lambda: est.explain(user, some)))
    if hasattr(est, "similar_items"):
        calls.append(("similar_items", lambda: est.similar_items(some, n=5)))
    if hasattr(est, "recommend_from_text"):
        calls.append(
            ("recommend_from_text", lambda: est.recommend_from_text("a dragon", n=5))
        )
    return calls


def _same(a, b) -> bool:
    if isinstance(a, pd.DataFrame):
        return a.equals(b)
    if isinstance(a, list):
        return len(a) == len(b) and all(map(_same, a, b))
    return np.array_equal(a, b)


def _difference(a, b) -> str:
    """How a concurrent result differs from the serial one (for the failure
    message: a race and a floating-point difference read differently)."""
    if isinstance(a, list):
        bad = [k for k, (x, y) in enumerate(zip(a, b)) if not _same(x, y)]
        return f"{len(a)} vs {len(b)} entries, unequal at {bad[:5]}: " + (
            _difference(a[bad[0]], b[bad[0]]) if bad else ""
        )
    a, b = (
        x.to_numpy() if isinstance(x, pd.DataFrame) else np.asarray(x) for x in (a, b)
    )
    if a.shape != b.shape:
        return f"shapes {a.shape} vs {b.shape}"
    if a.dtype.kind == "f" and b.dtype.kind == "f":
        gap = np.abs(a - b)
        return f"{int((gap > 0).sum())} cells differ, by up to {np.nanmax(gap):.3g}"
    first = np.argwhere(a != b)[:3].tolist()
    return f"{int((a != b).sum())} cells differ, first at {first}"


@pytest.mark.parametrize("estimator", ESTIMATORS, ids=estimator_id)
def test_concurrent_calls_match_serial_calls(estimator, fast_thread_switches):
    X_train, rounds = _rounds()
    est = fitted_copy(estimator)
    reference = copy.deepcopy(est)
    with ThreadPoolExecutor(N_THREADS) as pool:
        for k, batch in enumerate(rounds):
            if batch is not None:
                est.partial_fit(*batch)
                reference.partial_fit(*batch)
            expected = [call() for _, call in _calls(reference, X_train, batch)]
            calls = _calls(est, X_train, batch)
            barrier = threading.Barrier(N_THREADS)

            def work(offset, calls=calls, barrier=barrier):
                barrier.wait(timeout=60)
                # Each thread starts at another call, so different calls overlap.
                order = np.roll(np.arange(len(calls)), -offset)
                return {int(i): calls[i][1]() for i in order}

            for results in pool.map(work, range(N_THREADS)):
                for i, (name, _) in enumerate(calls):
                    assert _same(results[i], expected[i]), (
                        f"round {k}: {name}: {_difference(results[i], expected[i])}"
                    )
