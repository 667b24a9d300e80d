"""Users as tasks: padded task batches built from flat interaction arrays.

A task batch holds ``n_tasks`` tasks (users), each with up to ``max_support`` support
rows and ``max_query`` query rows, padded to rectangles with boolean masks. Building
one is a few numpy sorts and scatters, never a Python loop over users.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import NamedTuple

import numpy as np
import torch

from ._ranking import Negatives

__all__ = [
    "EpisodeBatch",
    "TaskBatch",
    "TaskSampler",
    "make_task_batch",
    "pad_tasks",
    "split_support_query",
]


class TaskBatch(NamedTuple):
    """Support and query rows of a batch of tasks, padded, with masks.

    A ``NamedTuple`` of tensors and dicts of tensors, so it is a pytree that
    ``torch.func.vmap`` maps over directly.

    Attributes
    ----------
    support_x : dict of str to Tensor of shape (n_tasks, max_support, ...)
        Row inputs of the model (keyword arguments of its forward).
    support_y : Tensor of shape (n_tasks, max_support)
    support_mask : BoolTensor of shape (n_tasks, max_support)
        True for real rows, False for padding.
    query_x : dict of str to Tensor of shape (n_tasks, max_query, ...)
    query_y : Tensor of shape (n_tasks, max_query)
    query_mask : BoolTensor of shape (n_tasks, max_query)
    task_x : dict of str to Tensor of shape (n_tasks, ...)
        Per-task inputs of the model (e.g. ``user_features``); may be empty.

    Examples
    --------
    Usually built by :func:`make_task_batch`:

    >>> from sklearn_metarec.meta import masked_mean
    >>> batch = make_task_batch([0, 0, 1, 1, 1], {"items": np.arange(5)},
    ...                         np.arange(5.0), [False, True, False, False, True])
    >>> isinstance(batch, TaskBatch), batch.n_tasks
    (True, 2)
    >>> batch.support_y.tolist(), batch.support_mask.tolist()
    ([[0.0, 0.0], [2.0, 3.0]], [[True, False], [True, True]])

    ``vmap`` maps a per-task function over it, one task at a time:

    >>> per_task = torch.func.vmap(lambda t: masked_mean(t.support_y, t.support_mask))
    >>> per_task(batch).tolist()
    [0.0, 2.5]
    """

    support_x: dict[str, torch.Tensor]
    support_y: torch.Tensor
    support_mask: torch.Tensor
    query_x: dict[str, torch.Tensor]
    query_y: torch.Tensor
    query_mask: torch.Tensor
    task_x: dict[str, torch.Tensor]

    @property
    def n_tasks(self) -> int:
        """Number of tasks in the batch."""
        return int(self.support_y.shape[0])

    def to(self, device: torch.device | str) -> TaskBatch:
        """A copy of the batch on ``device``."""

        def move(d):
            return {k: v.to(device) for k, v in d.items()}

        return TaskBatch(
            move(self.support_x),
            self.support_y.to(device),
            self.support_mask.to(device),
            move(self.query_x),
            self.query_y.to(device),
            self.query_mask.to(device),
            move(self.task_x),
        )


class EpisodeBatch(NamedTuple):
    """One meta-training step's episodes: ratings, rankings, or both.

    The pointwise objective (ratings) and the ranking objective (which items a
    user interacts with) draw their own support/query splits of the same users:
    ratings are predicted from all but ``n_query`` of a user's rows, while a
    ranking episode folds a user in from a few interactions and ranks the rest.

    Attributes
    ----------
    ranking : TaskBatch or None
        Episode of the ranking objective (targets are confidences).
    negatives : Negatives or None
        Negatives shared by the tasks of ``ranking``.
    rating : TaskBatch or None
        Episode of the pointwise objective (targets are ratings or labels) of the
        same tasks; None for positive-only data.

    Examples
    --------
    >>> batch = make_task_batch([0, 0, 1, 1], {"items": np.arange(4)}, np.ones(4),
    ...                         [False, True, False, True])
    >>> episode = EpisodeBatch(batch, None, None).to("cpu")
    >>> episode.rating is None, episode.ranking.n_tasks
    (True, 2)
    """

    ranking: TaskBatch | None
    negatives: Negatives | None
    rating: TaskBatch | None = None

    def to(self, device: torch.device | str) -> EpisodeBatch:
        """A copy of the episodes on ``device``."""
        return EpisodeBatch(*(None if b is None else b.to(device) for b in self))


def _rank_within_task(task_index: np.ndarray, n_tasks: int):
    """Stable order by task, and each sorted row's rank inside its task."""
    order = np.argsort(task_index, kind="stable")
    sorted_tasks = task_index[order]
    counts = np.bincount(sorted_tasks, minlength=n_tasks)
    starts = np.cumsum(counts) - counts
    rank = np.arange(len(order)) - starts[sorted_tasks]
    return order, sorted_tasks, rank, counts


def pad_tasks(
    task_index,
    arrays: Mapping[str, np.ndarray],
    *,
    n_tasks: int,
    max_rows: int | None = None,
    pad_value=0,
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Scatter rows into per-task padded arrays, keeping the rows' order in a task.

    Parameters
    ----------
    task_index : array-like of int of shape (n_rows,)
        Task of each row, in ``[0, n_tasks)``.
    arrays : dict of str to ndarray of shape (n_rows, ...)
    n_tasks : int
    max_rows : int, default=None
        Width of the padded arrays; rows of a task beyond it are dropped (the first
        ones are kept). None: the largest task (at least 1).
    pad_value : scalar, default=0
        Fill value of padding cells; keep it a valid model input (e.g. item 0).

    Returns
    -------
    padded : dict of str to ndarray of shape (n_tasks, max_rows, ...)
    mask : ndarray of bool of shape (n_tasks, max_rows)

    Examples
    --------
    >>> padded, mask = pad_tasks([1, 0, 1], {"a": np.array([10, 20, 30])}, n_tasks=3)
    >>> padded["a"].tolist(), mask.tolist()
    ([[20, 0], [10, 30], [0, 0]], [[True, False], [True, True], [False, False]])
    """
    task_index = np.asarray(task_index, dtype=np.int64)
    if task_index.size and (task_index.min() < 0 or task_index.max() >= n_tasks):
        raise ValueError(f"task_index must lie in [0, {n_tasks})")
    order, sorted_tasks, rank, counts = _rank_within_task(task_index, n_tasks)
    width = max(int(counts.max()) if counts.size else 0, 1)
    if max_rows is not None:
        width = max(int(max_rows), 1)
    keep = rank < width
    rows, cols = sorted_tasks[keep], rank[keep]
    kept = order[keep]
    padded = {}
    for name, values in arrays.items():
        values = np.asarray(values)
        if len(values) != len(task_index):
            raise ValueError(f"{name} has {len(values)} rows, expected {len(order)}")
        out = np.full((n_tasks, width) + values.shape[1:], pad_value, values.dtype)
        out[rows, cols] = values[kept]
        padded[name] = out
    mask = np.zeros((n_tasks, width), dtype=bool)
    mask[rows, cols] = True
    return padded, mask


def _to_tensor(values: np.ndarray, float_dtype: torch.dtype) -> torch.Tensor:
    tensor = torch.from_numpy(np.ascontiguousarray(values))
    if tensor.is_floating_point():
        return tensor.to(float_dtype)
    if tensor.dtype == torch.bool:
        return tensor
    return tensor.long()


def make_task_batch(
    task_index,
    x: Mapping[str, np.ndarray],
    y,
    is_query,
    *,
    n_tasks: int | None = None,
    task_x: Mapping[str, np.ndarray] | None = None,
    max_support: int | None = None,
    max_query: int | None = None,
    dtype: torch.dtype = torch.float32,
) -> TaskBatch:
    """Build a padded :class:`TaskBatch` from flat per-row arrays.

    Parameters
    ----------
    task_index : array-like of int of shape (n_rows,)
        Position of each row's task (user) in the batch, in ``[0, n_tasks)``.
    x : dict of str to array-like of shape (n_rows, ...)
        Row inputs of the model, e.g. ``{"items": item_positions}``. Integer arrays
        become int64 tensors, floating arrays ``dtype`` tensors.
    y : array-like of shape (n_rows,)
        Targets.
    is_query : array-like of bool of shape (n_rows,)
        True for query rows, False for support rows (select rows beforehand to drop
        some, or use :func:`split_support_query`).
    n_tasks : int, default=None
        Number of tasks; None: ``max(task_index) + 1``. Tasks without rows are all
        padding and count for nothing in the losses.
    task_x : dict of str to array-like of shape (n_tasks, ...), default=None
        Per-task inputs of the model, e.g. ``{"user_features": codes}``.
    max_support, max_query : int, default=None
        Caps on the padded widths; extra rows of a task are dropped (the first ones
        in row order are kept). None: the largest task.
    dtype : torch.dtype, default=torch.float32
        Floating dtype of targets and floating inputs.

    Returns
    -------
    TaskBatch
        Rows keep their relative order within each task.

    Examples
    --------
    >>> batch = make_task_batch([0, 0, 1, 1, 1], {"items": np.arange(5)},
    ...                         np.arange(5.0), [False, True, False, False, True])
    >>> batch.support_x["items"].tolist(), batch.support_mask.tolist()
    ([[0, 0], [2, 3]], [[True, False], [True, True]])
    >>> batch.query_x["items"].tolist()
    [[1], [4]]
    """
    task_index = np.asarray(task_index, dtype=np.int64).reshape(-1)
    is_query = np.asarray(is_query, dtype=bool).reshape(-1)
    y = np.asarray(y)
    if not (len(is_query) == len(y) == len(task_index)):
        raise ValueError("task_index, y and is_query must have the same length")
    if n_tasks is None:
        n_tasks = int(task_index.max()) + 1 if task_index.size else 0
    arrays = {**{f"x:{k}": np.asarray(v) for k, v in x.items()}, "y": y}

    def side(rows, width):
        sub = {k: v[rows] for k, v in arrays.items()}
        padded, mask = pad_tasks(task_index[rows], sub, n_tasks=n_tasks, max_rows=width)
        inputs = {k[2:]: _to_tensor(v, dtype) for k, v in padded.items() if k != "y"}
        return inputs, torch.from_numpy(padded["y"]).to(dtype), torch.from_numpy(mask)

    sx, sy, sm = side(~is_query, max_support)
    qx, qy, qm = side(is_query, max_query)
    tx = {k: _to_tensor(np.asarray(v), dtype) for k, v in (task_x or {}).items()}
    for k, v in tx.items():
        if v.shape[0] != n_tasks:
            raise ValueError(f"task_x[{k!r}] has {v.shape[0]} rows, need {n_tasks}")
    return TaskBatch(sx, sy, sm, qx, qy, qm, tx)


def split_support_query(
    task_index,
    *,
    rng: np.random.Generator,
    n_query: int | None = None,
    query_fraction: float | None = None,
    n_support: int | None = None,
    min_support: int = 1,
    support_range: tuple[int, int] | None = None,
    order=None,
) -> tuple[np.ndarray, np.ndarray]:
    """Randomly assign each task's rows to support or query, vectorised.

    Per task, rows are shuffled; the first ``q`` are query rows and the next
    ``n_support`` (or all the rest) support rows. ``q`` is ``n_query`` or
    ``round(query_fraction * n_rows)``, reduced so that ``min_support`` rows stay for
    support when the task has that many. With ``order``, rows are put in that
    order instead of shuffled, and the support comes before the query.

    Parameters
    ----------
    task_index : array-like of int of shape (n_rows,)
        Task of each row (any non-negative integers, e.g. user positions).
    rng : numpy.random.Generator
        Source of the shuffles.
    n_query : int, default=None
        Query rows per task. Exactly one of ``n_query`` and ``query_fraction``.
    query_fraction : float, default=None
        Fraction of each task's rows used as query, in ``[0, 1]``.
    n_support : int, default=None
        Cap on support rows per task; None keeps all the remaining rows.
    min_support : int, default=1
        Support rows to keep even if that leaves fewer query rows.
    support_range : (int, int), default=None
        Support first: each task draws its number of support rows uniformly in
        ``[low, min(high, n_rows - 1)]`` (new users arrive with a few interactions,
        not with all but ``n_query``), and up to ``n_query`` of the remaining rows
        (or ``query_fraction`` of them) are its query rows. ``n_support`` and
        ``min_support`` are then unused.
    order : array-like of shape (n_rows,), default=None
        Sort keys of the rows, e.g. their timestamps: each task's rows are
        ranked by them (ties at random) instead of shuffled, and a task is split
        at a point of that order, as a new user's first interactions come before
        what they do next. With ``support_range`` the first ``k`` rows are the
        support and up to ``n_query`` of the next ones the query; otherwise the
        last ``q`` rows are the query and up to ``n_support`` of the rows before
        them the support.

    Returns
    -------
    is_support : ndarray of bool of shape (n_rows,)
    is_query : ndarray of bool of shape (n_rows,)
        Disjoint; rows in neither are unused.

    Examples
    --------
    >>> s, q = split_support_query([0, 0, 0, 1, 1], n_query=1,
    ...                            rng=np.random.default_rng(0))
    >>> int(q.sum()), int(s.sum())
    (2, 3)
    >>> s, q = split_support_query([0] * 6, n_query=10, support_range=(2, 2),
    ...                            rng=np.random.default_rng(0))
    >>> int(s.sum()), int(q.sum())  # two support rows, the other four query rows
    (2, 4)
    >>> s, q = split_support_query([0] * 4, n_query=1, support_range=(2, 2),
    ...                            order=[40, 10, 30, 20],
    ...                            rng=np.random.default_rng(0))
    >>> s.tolist(), q.tolist()  # the two earliest rows, then the next one
    ([False, True, False, True], [False, False, True, False])
    """
    if (n_query is None) == (query_fraction is None):
        raise ValueError("give exactly one of n_query and query_fraction")
    task_index = np.asarray(task_index, dtype=np.int64).reshape(-1)
    n_tasks = int(task_index.max()) + 1 if task_index.size else 0
    keys = rng.random(len(task_index))
    if order is None:
        # By task, then key: the task plus a key in [0, 1) as one float (7x faster
        # than ``np.lexsort((keys, task_index))``, the same order barring float
        # ties).
        permutation = np.argsort(task_index + keys)
    else:
        order = np.asarray(order).reshape(-1)
        if len(order) != len(task_index):
            raise ValueError(
                f"order has {len(order)} values for {len(task_index)} rows."
            )
        permutation = np.lexsort((keys, order, task_index))
    sorted_tasks = task_index[permutation]
    counts = np.bincount(sorted_tasks, minlength=n_tasks)
    rank_sorted = (
        np.arange(len(permutation)) - (np.cumsum(counts) - counts)[sorted_tasks]
    )
    rank = np.empty_like(rank_sorted)
    rank[permutation] = rank_sorted
    n_rows = counts[task_index]
    if support_range is not None:
        low, high = (int(v) for v in support_range)
        top = np.maximum(np.minimum(high, counts - 1), 1)
        low = np.minimum(max(low, 1), top)
        k = (low + np.floor(rng.random(n_tasks) * (top - low + 1))).astype(np.int64)
        k = k[task_index]
        rest = n_rows - k
        if n_query is not None:
            q = np.minimum(rest, int(n_query))
        else:
            q = np.rint(float(query_fraction) * rest).astype(np.int64)
        is_support = rank < k
        return is_support, (rank >= k) & (rank < k + q)
    if n_query is not None:
        q = np.full_like(n_rows, int(n_query))
    else:
        q = np.rint(float(query_fraction) * n_rows).astype(np.int64)
    q = np.minimum(q, np.maximum(n_rows - int(min_support), 0))
    if order is not None:  # rank from the latest row: the query comes last
        rank = n_rows - 1 - rank
    is_query = rank < q
    is_support = ~is_query
    if n_support is not None:
        is_support &= rank < q + int(n_support)
    return is_support, is_query


class TaskSampler:
    """Draw padded episodes (task batches) of users from a flat interaction log.

    The rows are grouped by task once (CSR layout); each call to :meth:`batch`
    gathers the rows of the requested tasks, splits them at random into support and
    query rows (:func:`split_support_query`) and pads them (:func:`make_task_batch`),
    all vectorised. Use it in a training loop or inside a DataLoader ``collate_fn``.

    Parameters
    ----------
    task_index : array-like of int of shape (n_rows,)
        Task (user position) of each row, in ``[0, n_tasks)``.
    x : dict of str to array-like of shape (n_rows, ...)
        Row inputs of the model.
    y : array-like of shape (n_rows,)
    task_x : dict of str to array-like of shape (n_tasks, ...), default=None
        Per-task inputs of the model.
    n_tasks : int, default=None
        Number of tasks; None: ``max(task_index) + 1``.
    n_query : int, default=None
        Query rows per task (see :func:`split_support_query`); if both this and
        ``query_fraction`` are None, ``query_fraction=0.5``.
    query_fraction : float, default=None
    n_support : int, default=None
        Cap on support rows per task.
    max_support, max_query : int, default=None
        Caps on the padded widths (see :func:`make_task_batch`).
    support_range : (int, int), default=None
        Draw each task's support size in this range, support first (see
        :func:`split_support_query`).
    min_rows : int, default=2
        Tasks with fewer rows are never drawn by :meth:`epoch`.
    order : array-like of shape (n_rows,), default=None
        Sort keys of the rows (e.g. timestamps): tasks are split in that order,
        support first, instead of at random (see :func:`split_support_query`).
    dtype : torch.dtype, default=torch.float32

    Examples
    --------
    >>> sampler = TaskSampler([0, 0, 0, 1, 1, 1], {"items": np.arange(6)},
    ...                       np.ones(6), n_query=1)
    >>> batches = list(sampler.epoch(meta_batch_size=2, rng=np.random.default_rng(0)))
    >>> len(batches), batches[0].query_mask.sum().item()
    (1, 2)
    """

    def __init__(
        self,
        task_index,
        x: Mapping[str, np.ndarray],
        y,
        *,
        task_x: Mapping[str, np.ndarray] | None = None,
        n_tasks: int | None = None,
        n_query: int | None = None,
        query_fraction: float | None = None,
        n_support: int | None = None,
        max_support: int | None = None,
        max_query: int | None = None,
        support_range: tuple[int, int] | None = None,
        min_rows: int = 2,
        order=None,
        dtype: torch.dtype = torch.float32,
    ):
        task_index = np.asarray(task_index, dtype=np.int64).reshape(-1)
        if n_tasks is None:
            n_tasks = int(task_index.max()) + 1 if task_index.size else 0
        self.n_tasks = int(n_tasks)
        layout, _, _, counts = _rank_within_task(task_index, self.n_tasks)
        self._order = layout
        self._indptr = np.concatenate([[0], np.cumsum(counts)])
        self.counts = counts
        self.x = {k: np.asarray(v) for k, v in x.items()}
        self.y = np.asarray(y)
        self.task_x = {k: np.asarray(v) for k, v in (task_x or {}).items()}
        if n_query is None and query_fraction is None:
            query_fraction = 0.5
        self.n_query = n_query
        self.query_fraction = query_fraction
        self.n_support = n_support
        self.max_support = max_support
        self.max_query = max_query
        self.support_range = support_range
        self.min_rows = int(min_rows)
        self.order = None if order is None else np.asarray(order).reshape(-1)
        if self.order is not None and len(self.order) != len(task_index):
            raise ValueError(
                f"order has {len(self.order)} values for {len(task_index)} rows."
            )
        self.dtype = dtype

    def rows_of(self, tasks) -> tuple[np.ndarray, np.ndarray]:
        """Row ids of ``tasks`` and the position of each row's task in ``tasks``.

        Parameters
        ----------
        tasks : array-like of int of shape (n_batch,)

        Returns
        -------
        rows : ndarray of int of shape (n_selected_rows,)
        position : ndarray of int of shape (n_selected_rows,)
        """
        tasks = np.asarray(tasks, dtype=np.int64).reshape(-1)
        starts, stops = self._indptr[tasks], self._indptr[tasks + 1]
        lengths = stops - starts
        position = np.repeat(np.arange(len(tasks)), lengths)
        offsets = np.arange(lengths.sum()) - np.repeat(
            np.cumsum(lengths) - lengths, lengths
        )
        return self._order[np.repeat(starts, lengths) + offsets], position

    def batch(self, tasks, rng: np.random.Generator) -> TaskBatch:
        """The padded episode of ``tasks`` with a fresh random support/query split.

        Parameters
        ----------
        tasks : array-like of int of shape (n_batch,)
            Tasks to include, in batch order.
        rng : numpy.random.Generator

        Returns
        -------
        TaskBatch
            With ``n_tasks == len(tasks)``.
        """
        tasks = np.asarray(tasks, dtype=np.int64).reshape(-1)
        rows, position = self.rows_of(tasks)
        is_support, is_query = split_support_query(
            position,
            rng=rng,
            n_query=self.n_query,
            query_fraction=self.query_fraction,
            n_support=self.n_support,
            support_range=self.support_range,
            order=None if self.order is None else self.order[rows],
        )
        used = is_support | is_query
        rows, position, is_query = rows[used], position[used], is_query[used]
        return make_task_batch(
            position,
            {k: v[rows] for k, v in self.x.items()},
            self.y[rows],
            is_query,
            n_tasks=len(tasks),
            task_x={k: v[tasks] for k, v in self.task_x.items()},
            max_support=self.max_support,
            max_query=self.max_query,
            dtype=self.dtype,
        )

    def epoch(
        self, meta_batch_size: int, rng: np.random.Generator, *, shuffle: bool = True
    ) -> Iterator[TaskBatch]:
        """Episodes covering every task with at least ``min_rows`` rows once.

        Parameters
        ----------
        meta_batch_size : int
            Tasks per episode, at least 1 (the last episode may be smaller).
        rng : numpy.random.Generator
            Source of the task order and of the support/query splits.
        shuffle : bool, default=True

        Yields
        ------
        TaskBatch
        """
        tasks = np.flatnonzero(self.counts >= self.min_rows)
        if shuffle:
            tasks = rng.permutation(tasks)
        for start in range(0, len(tasks), int(meta_batch_size)):
            yield self.batch(tasks[start : start + int(meta_batch_size)], rng)
