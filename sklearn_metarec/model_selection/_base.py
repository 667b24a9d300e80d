"""Shared pieces of the splitters: input reading, parameter checks, scenarios."""

from __future__ import annotations

import numbers
from abc import abstractmethod
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.model_selection import BaseCrossValidator

from ..utils._data import check_interactions, check_timestamps

__all__ = ["Scenario"]


@dataclass(frozen=True, repr=False, eq=False)
class Scenario:
    """The rows of one evaluation scenario of a published protocol.

    Row indices are positions in the ``X`` given to ``split_scenarios`` (sorted,
    ``int64``).

    Attributes
    ----------
    name : str
        E.g. ``"user_cold"``.
    train : ndarray of shape (n_train,)
        Rows to ``fit`` on. Shared by all scenarios of one protocol.
    support : ndarray of shape (n_support,)
        Rows given to ``partial_fit`` to adapt the scenario's users.
    query : ndarray of shape (n_query,)
        Rows to score after adaptation.
    users : ndarray of shape (n_tasks,)
        Raw ids of the scenario's users (its tasks), in order of first appearance.

    Examples
    --------
    >>> import numpy as np
    >>> s = Scenario("user_cold", np.array([0, 1]), np.array([2]), np.array([3, 4]),
    ...              np.array(["u"], dtype=object))
    >>> s.n_tasks, s.test.tolist()
    (1, [2, 3, 4])
    """

    name: str
    train: np.ndarray
    support: np.ndarray
    query: np.ndarray
    users: np.ndarray

    @property
    def n_tasks(self) -> int:
        """Number of users (tasks) in the scenario."""
        return len(self.users)

    @property
    def test(self) -> np.ndarray:
        """Support rows followed by query rows: the ``test`` of ``split()``.

        Each user's support rows come before their query rows, so a scorer made
        with ``make_cold_start_scorer(..., n_support=None, n_query=n,
        support="first")`` adapts on exactly this support and scores exactly this
        query (when every task has ``n`` query rows).
        """
        return np.concatenate([self.support, self.query])

    def __repr__(self) -> str:
        return (
            f"Scenario(name={self.name!r}, n_tasks={self.n_tasks}, "
            f"n_train={len(self.train)}, n_support={len(self.support)}, "
            f"n_query={len(self.query)})"
        )


class _ScenarioSplit(BaseCrossValidator):
    """Base of the protocol splitters: ``split`` yields one split per scenario."""

    _all_scenarios: tuple[str, ...] = ()

    @abstractmethod
    def split_scenarios(self, X, y=None):
        """Return ``{scenario name: Scenario}``."""

    def split(self, X, y=None, groups=None):
        """Yield ``(train, test)`` for each scenario named in ``scenarios``.

        ``test`` is the scenario's support rows followed by its query rows (see
        :attr:`Scenario.test`).

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_rows, n_columns)
            Interaction log: user id, item id, side columns.
        y : array-like of shape (n_rows,), default=None
            Ignored (checked for length when given).
        groups : None
            Ignored, for API compatibility.

        Yields
        ------
        train : ndarray of int64
            Rows to fit on.
        test : ndarray of int64
            Support rows, then query rows.
        """
        scenarios = self.split_scenarios(X, y)
        for name in self._selected():
            yield scenarios[name].train, scenarios[name].test

    def get_n_splits(self, X=None, y=None, groups=None):
        """Number of splits: the number of selected scenarios.

        Parameters
        ----------
        X, y, groups : object
            Ignored.

        Returns
        -------
        n_splits : int
        """
        return len(self._selected())

    def task_counts(self, X, y=None):
        """Tasks (users) and rows per scenario.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_rows, n_columns)
            Interaction log.
        y : array-like of shape (n_rows,), default=None
            Ignored (checked for length when given).

        Returns
        -------
        counts : DataFrame
            Indexed by scenario, columns ``n_tasks``, ``n_support``, ``n_query``
            (rows) and ``n_train`` (rows).
        """
        scenarios = self.split_scenarios(X, y)
        return pd.DataFrame(
            {
                "n_tasks": [s.n_tasks for s in scenarios.values()],
                "n_support": [len(s.support) for s in scenarios.values()],
                "n_query": [len(s.query) for s in scenarios.values()],
                "n_train": [len(s.train) for s in scenarios.values()],
            },
            index=pd.Index(list(scenarios), name="scenario"),
        )

    def _split_names(self):
        return list(self._selected())

    def _selected(self):
        scenarios = self.scenarios
        if isinstance(scenarios, str):
            scenarios = (scenarios,)
        scenarios = tuple(scenarios)
        if not scenarios:
            raise ValueError(
                f"scenarios is empty; choose from {list(self._all_scenarios)}."
            )
        for name in scenarios:
            if name not in self._all_scenarios:
                raise ValueError(
                    f"Unknown scenario {name!r} for {type(self).__name__}; choose "
                    f"from {list(self._all_scenarios)}."
                )
        return scenarios


def _read(X, y, name):
    """Validated interactions plus integer user and item codes."""
    data = check_interactions(X, y, require_y=False, estimator_name=name)
    user_codes, user_ids = pd.factorize(data.users)
    item_codes, item_ids = pd.factorize(data.items)
    return data, user_codes, np.asarray(user_ids, dtype=object), item_codes, item_ids


def _check_int(value, name, low, high=None):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValueError(f"{name} must be an int, got {value!r}.")
    if value < low or (high is not None and value > high):
        bound = f">= {low}" if high is None else f"in [{low}, {high}]"
        raise ValueError(f"{name} must be an int {bound}, got {value}.")
    return int(value)


def _check_fraction(value, name, *, closed=False):
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{name} must be a float in (0, 1), got {value!r}.")
    ok = 0 <= value <= 1 if closed else 0 < value < 1
    if not ok:
        interval = "[0, 1]" if closed else "(0, 1)"
        raise ValueError(f"{name} must be a float in {interval}, got {value}.")
    return float(value)


def _check_column(data, column, name, purpose):
    if column is None or column not in data.side.columns:
        raise ValueError(
            f"{name} needs a {column!r} column in X ({purpose}); X has columns "
            f"{data.columns}."
        )
    return data.side[column]


def _timestamps(data, column, name):
    values = _check_column(data, column, name, "the time of each interaction")
    return check_timestamps(values, column)


def _positions(codes, *keys):
    """Position of each row within its group after sorting by ``keys`` (primary first).

    Ties are broken by row order.
    """
    n = len(codes)
    order = np.lexsort((np.arange(n), *reversed(keys), codes))
    sorted_codes = codes[order]
    starts = np.flatnonzero(np.r_[True, sorted_codes[1:] != sorted_codes[:-1]])
    pos_sorted = np.arange(n) - np.repeat(starts, np.diff(np.r_[starts, n]))
    positions = np.empty(n, dtype=np.int64)
    positions[order] = pos_sorted
    return positions


def _indices(mask):
    return np.flatnonzero(mask).astype(np.int64)


def _task_users(user_ids, user_codes, rows_mask):
    """Raw ids of users with rows in ``rows_mask``, in order of first appearance."""
    codes = pd.unique(user_codes[rows_mask])
    return user_ids[codes]
