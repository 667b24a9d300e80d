"""Padded task batches from flat arrays."""

import numpy as np
import pytest
import torch

from sklearn_metarec.meta import (
    TaskSampler,
    make_task_batch,
    pad_tasks,
    split_support_query,
)

from ._meta_helpers import make_rows


def test_make_task_batch_matches_naive_loop():
    rows = make_rows(n_tasks=6, seed=2)
    batch = make_task_batch(
        rows["task"],
        {"items": rows["items"]},
        rows["y"],
        rows["is_query"],
        task_x={"user_features": rows["features"]},
    )
    assert batch.n_tasks == 6
    assert batch.support_x["items"].dtype == torch.long
    assert batch.support_y.dtype == torch.float32
    assert batch.support_mask.dtype == torch.bool
    for t in range(6):
        for query, x, y, m in [
            (False, batch.support_x, batch.support_y, batch.support_mask),
            (True, batch.query_x, batch.query_y, batch.query_mask),
        ]:
            sel = (rows["task"] == t) & (rows["is_query"] == query)
            n = int(sel.sum())
            assert m[t].sum() == n and m[t, :n].all()
            assert x["items"][t, :n].tolist() == rows["items"][sel].tolist()
            assert y[t, :n].tolist() == rows["y"][sel].tolist()
    assert batch.task_x["user_features"].tolist() == rows["features"].tolist()


def test_caps_keep_first_rows_and_empty_tasks_are_padding():
    batch = make_task_batch(
        [2, 2, 2, 0],
        {"items": np.array([5, 6, 7, 8])},
        np.arange(4.0),
        [False] * 4,
        n_tasks=3,
        max_support=2,
    )
    assert batch.support_x["items"].tolist() == [[8, 0], [0, 0], [5, 6]]
    assert batch.support_mask.tolist() == [[True, False], [False, False], [True, True]]
    assert batch.query_mask.shape == (3, 1) and not batch.query_mask.any()


def test_float_inputs_and_to_device():
    batch = make_task_batch(
        [0, 1],
        {"vec": np.ones((2, 3), dtype=np.float64)},
        [1.0, 2.0],
        [False, True],
        dtype=torch.float64,
    )
    assert batch.support_x["vec"].dtype == torch.float64
    assert batch.support_x["vec"].shape == (2, 1, 3)
    moved = batch.to("cpu")
    assert torch.equal(moved.query_y, batch.query_y)


def test_bad_inputs_raise():
    with pytest.raises(ValueError, match="same length"):
        make_task_batch([0, 1], {"items": np.arange(2)}, [1.0], [False, True])
    with pytest.raises(ValueError, match="task_index"):
        pad_tasks([0, 5], {"a": np.arange(2)}, n_tasks=2)
    with pytest.raises(ValueError, match="task_x"):
        make_task_batch(
            [0, 1],
            {"items": np.arange(2)},
            [1.0, 2.0],
            [False, True],
            task_x={"f": np.zeros((3, 1))},
        )
    with pytest.raises(ValueError, match="exactly one"):
        split_support_query([0], rng=np.random.default_rng(0))


def test_split_support_query_counts_and_determinism():
    task = np.repeat([0, 1, 2, 3], [1, 2, 5, 30])
    task = np.random.default_rng(0).permutation(task)
    s, q = split_support_query(task, n_query=10, rng=np.random.default_rng(1))
    assert not (s & q).any() and (s | q).all()
    counts = {t: (int(s[task == t].sum()), int(q[task == t].sum())) for t in range(4)}
    assert counts == {0: (1, 0), 1: (1, 1), 2: (1, 4), 3: (20, 10)}
    s2, q2 = split_support_query(task, n_query=10, rng=np.random.default_rng(1))
    assert np.array_equal(q, q2)
    s3, q3 = split_support_query(
        task, query_fraction=0.5, n_support=3, rng=np.random.default_rng(2)
    )
    assert int(q3[task == 3].sum()) == 15 and int(s3[task == 3].sum()) == 3
    assert not (s3 & q3).any()


def test_task_sampler_epoch_covers_tasks_once():
    rows = make_rows(n_tasks=7, seed=1)
    sampler = TaskSampler(
        rows["task"],
        {"items": rows["items"]},
        rows["y"],
        task_x={"user_features": rows["features"]},
        n_query=2,
    )
    seen = []
    for batch in sampler.epoch(3, np.random.default_rng(0)):
        assert batch.n_tasks <= 3
        assert (batch.query_mask.sum(1) == 2).all()
        assert (batch.support_mask.sum(1) >= 1).all()
        seen.append(batch.task_x["user_features"])
    assert sum(len(f) for f in seen) == 7
    # the gathered rows of a task are exactly its rows
    rows_of, position = sampler.rows_of([4, 1])
    assert sorted(rows_of[position == 0]) == sorted(np.flatnonzero(rows["task"] == 4))
    assert sorted(rows_of[position == 1]) == sorted(np.flatnonzero(rows["task"] == 1))


def test_task_sampler_is_deterministic_given_rng():
    rows = make_rows(n_tasks=5, seed=3)
    sampler = TaskSampler(
        rows["task"],
        {"items": rows["items"]},
        rows["y"],
        query_fraction=0.3,
        max_support=4,
    )
    a = list(sampler.epoch(2, np.random.default_rng(7)))
    b = list(sampler.epoch(2, np.random.default_rng(7)))
    for x, y in zip(a, b):
        assert torch.equal(x.support_x["items"], y.support_x["items"])
        assert torch.equal(x.query_y, y.query_y)
    assert all(x.support_y.shape[1] <= 4 for x in a)


def test_split_support_query_in_time_order_takes_the_first_rows_as_support():
    rng = np.random.default_rng(0)
    task = np.repeat(np.arange(50), 12)
    times = rng.permutation(len(task)).astype(float)
    support, query = split_support_query(
        task, n_query=3, support_range=(1, 5), order=times, rng=rng
    )
    for t in range(50):
        mine = task == t
        ranks = np.argsort(np.argsort(times[mine]))  # 0 = earliest
        k = int(support[mine].sum())
        assert 1 <= k <= 5
        assert sorted(ranks[support[mine]]) == list(range(k))  # the first k
        assert sorted(ranks[query[mine]]) == list(range(k, k + 3))  # then the next 3
    # Without support_range: the query is the latest rows, the support before it.
    support, query = split_support_query(
        task, n_query=2, n_support=4, order=times, rng=rng
    )
    for t in range(50):
        mine = task == t
        ranks = np.argsort(np.argsort(times[mine]))
        assert sorted(ranks[query[mine]]) == [10, 11]
        assert sorted(ranks[support[mine]]) == [6, 7, 8, 9]


def test_split_support_query_breaks_time_ties_at_random():
    task = np.zeros(6, dtype=int)
    times = np.array([0.0, 1.0, 1.0, 1.0, 1.0, 2.0])  # four rows at the same time
    chosen = set()
    for seed in range(40):
        support, _ = split_support_query(
            task,
            n_query=1,
            support_range=(2, 2),
            order=times,
            rng=np.random.default_rng(seed),
        )
        assert support[0] and not support[5]
        chosen.add(int(np.flatnonzero(support)[1]))
    assert chosen == {1, 2, 3, 4}


def test_split_support_query_without_order_is_unchanged_and_order_is_checked():
    task = np.repeat(np.arange(5), 7)
    a = split_support_query(
        task, n_query=2, support_range=(1, 4), rng=np.random.default_rng(3)
    )
    b = split_support_query(
        task, n_query=2, support_range=(1, 4), order=None, rng=np.random.default_rng(3)
    )
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    with pytest.raises(ValueError, match="order has 3 values for 35 rows"):
        split_support_query(
            task, n_query=2, order=[1, 2, 3], rng=np.random.default_rng(0)
        )
    with pytest.raises(ValueError, match="order has 3 values for 35 rows"):
        TaskSampler(task, {"items": np.arange(35)}, np.ones(35), order=[1, 2, 3])


def test_task_sampler_splits_each_task_in_time_order():
    task = np.repeat([0, 1], 6)
    times = np.array([5, 3, 1, 2, 4, 6, 60, 50, 40, 30, 20, 10], dtype=float)
    sampler = TaskSampler(
        task,
        {"items": np.arange(12)},
        np.ones(12),
        n_query=2,
        support_range=(2, 2),
        order=times,
    )
    batch = sampler.batch([0, 1], np.random.default_rng(0))
    assert sorted(batch.support_x["items"][0].tolist()) == [2, 3]  # times 1, 2
    assert sorted(batch.query_x["items"][0].tolist()) == [1, 4]  # times 3, 4
    assert sorted(batch.support_x["items"][1].tolist()) == [10, 11]
    assert sorted(batch.query_x["items"][1].tolist()) == [8, 9]
