"""Generic cold-start and temporal splitters."""

from __future__ import annotations

import numbers

import numpy as np
from sklearn.model_selection import BaseCrossValidator

from ..utils._random import check_random_state
from ._base import (
    _check_int,
    _indices,
    _positions,
    _read,
    _timestamps,
)

__all__ = ["ColdStartSplit", "LeaveLastKOut"]

_KINDS = ("user", "item", "both")


class ColdStartSplit(BaseCrossValidator):
    """Shuffle-split whose test users and/or items never appear in the train rows.

    Each split draws its own held-out set of users (``kind="user"``), items
    (``kind="item"``) or both, as :class:`~sklearn.model_selection.ShuffleSplit` draws
    rows; held-out sets of different splits may overlap.

    - ``kind="user"``: test = every row of the held-out users, train = the rest.
    - ``kind="item"``: test = every row of the held-out items, train = the rest.
    - ``kind="both"``: users and items are held out independently; test = rows whose
      user **and** item are held out, train = rows whose user and item are both kept.
      Rows with exactly one held-out side are **dropped from both** train and test:
      in train they would reveal a test user or item, in test they would not be
      doubly cold.

    Parameters
    ----------
    kind : {"user", "item", "both"}, default="user"
        What is held out.
    n_splits : int, default=5
        Number of splits, at least 1.
    test_size : float or int, default=0.2
        Float in (0, 1): the fraction of users (items) held out, rounded up. Int: the
        number of users (items) held out. For ``kind="both"`` it applies to users and
        items alike.
    random_state : int, RandomState instance or None, default=None
        Controls the draws; an int makes ``split`` give the same splits every call.

    Examples
    --------
    >>> import pandas as pd
    >>> from sklearn_metarec.model_selection import ColdStartSplit
    >>> X = pd.DataFrame({"user_id": [1, 1, 2, 2, 3, 3, 4, 4],
    ...                   "item_id": list("abababab")})
    >>> cv = ColdStartSplit("user", n_splits=2, test_size=0.25, random_state=0)
    >>> cv
    ColdStartSplit(kind='user', n_splits=2, random_state=0, test_size=0.25)
    >>> for train, test in cv.split(X):
    ...     print(train, test)
    [0 1 2 3 6 7] [4 5]
    [2 3 4 5 6 7] [0 1]
    """

    def __init__(self, kind="user", *, n_splits=5, test_size=0.2, random_state=None):
        self.kind = kind
        self.n_splits = n_splits
        self.test_size = test_size
        self.random_state = random_state

    def split(self, X, y=None, groups=None):
        """Generate ``(train, test)`` row indices.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_rows, n_columns)
            Interaction log whose first two columns are user id and item id.
        y : array-like of shape (n_rows,), default=None
            Ignored (checked for length when given).
        groups : None
            Ignored, for API compatibility.

        Yields
        ------
        train : ndarray of int64
        test : ndarray of int64
        """
        kind = self._check_params()
        _, user_codes, user_ids, item_codes, item_ids = _read(X, y, "ColdStartSplit")
        rng = check_random_state(self.random_state)
        n_users, n_items = len(user_ids), len(item_ids)
        n_test_users = self._n_test(n_users, "users") if kind != "item" else 0
        n_test_items = self._n_test(n_items, "items") if kind != "user" else 0
        for _ in range(self.n_splits):
            held_user = np.zeros(n_users, dtype=bool)
            held_item = np.zeros(n_items, dtype=bool)
            if kind != "item":
                held_user[rng.permutation(n_users)[:n_test_users]] = True
            if kind != "user":
                held_item[rng.permutation(n_items)[:n_test_items]] = True
            row_user, row_item = held_user[user_codes], held_item[item_codes]
            if kind == "user":
                test, train = row_user, ~row_user
            elif kind == "item":
                test, train = row_item, ~row_item
            else:
                test, train = row_user & row_item, ~row_user & ~row_item
                if not test.any():
                    raise ValueError(
                        "ColdStartSplit(kind='both') drew held-out users and items "
                        "that share no row, so the test set is empty; increase "
                        "test_size or use denser data."
                    )
                if not train.any():
                    raise ValueError(
                        "ColdStartSplit(kind='both') left no train row; decrease "
                        "test_size."
                    )
            yield _indices(train), _indices(test)

    def get_n_splits(self, X=None, y=None, groups=None):
        """Number of splits.

        Parameters
        ----------
        X, y, groups : object
            Ignored.

        Returns
        -------
        n_splits : int
        """
        self._check_params()
        return self.n_splits

    def _split_names(self):
        return [f"{self.kind}_cold"] * self.n_splits

    def _check_params(self):
        if not isinstance(self.kind, str) or self.kind not in _KINDS:
            raise ValueError(f"kind must be one of {list(_KINDS)}, got {self.kind!r}.")
        _check_int(self.n_splits, "n_splits", 1)
        size = self.test_size
        if isinstance(size, bool) or not isinstance(size, numbers.Real):
            raise ValueError(
                f"test_size must be a float in (0, 1) or an int >= 1, got {size!r}."
            )
        if isinstance(size, numbers.Integral):
            _check_int(size, "test_size", 1)
        elif not 0 < size < 1:
            raise ValueError(
                f"test_size must be a float in (0, 1) or an int >= 1, got {size}."
            )
        return self.kind

    def _n_test(self, n, what):
        size = self.test_size
        n_test = (
            int(size) if isinstance(size, numbers.Integral) else int(np.ceil(size * n))
        )
        if n_test >= n:
            raise ValueError(
                f"Too few {what} for ColdStartSplit: test_size={size} holds out "
                f"{n_test} of {n} {what}, leaving none to train on."
            )
        return n_test


class LeaveLastKOut(BaseCrossValidator):
    """Hold out each user's last ``k`` interactions in time (one split).

    Rows are ordered per user by ``timestamp_column`` (ties in row order; row order
    alone when ``timestamp_column=None``). A user's last ``k`` rows are test rows, the
    others train rows. Users with at most ``k`` rows stay wholly in train: holding
    out all their rows would leave nothing to learn them from.

    Parameters
    ----------
    k : int, default=1
        Rows held out per user, at least 1.
    timestamp_column : str or None, default="timestamp"
        Column of ``X`` with the interaction times (numbers or datetimes). ``None``:
        the rows are already in time order.

    Examples
    --------
    >>> import pandas as pd
    >>> from sklearn_metarec.model_selection import LeaveLastKOut
    >>> X = pd.DataFrame({"user_id": [1, 1, 1, 2], "item_id": [7, 8, 9, 7],
    ...                   "timestamp": [30, 10, 20, 5]})
    >>> train, test = next(LeaveLastKOut(k=1).split(X))
    >>> train.tolist(), test.tolist()
    ([1, 2, 3], [0])
    """

    def __init__(self, k=1, *, timestamp_column="timestamp"):
        self.k = k
        self.timestamp_column = timestamp_column

    def split(self, X, y=None, groups=None):
        """Generate the single ``(train, test)`` split.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_rows, n_columns)
            Interaction log with the timestamp column.
        y : array-like of shape (n_rows,), default=None
            Ignored (checked for length when given).
        groups : None
            Ignored, for API compatibility.

        Yields
        ------
        train : ndarray of int64
        test : ndarray of int64
        """
        k = _check_int(self.k, "k", 1)
        data, user_codes, *_ = _read(X, y, "LeaveLastKOut")
        if self.timestamp_column is None:
            positions = _positions(user_codes)
        else:
            times = _timestamps(data, self.timestamp_column, "LeaveLastKOut")
            positions = _positions(user_codes, times)
        counts = np.bincount(user_codes)[user_codes]
        test = (positions >= counts - k) & (counts > k)
        if not test.any():
            raise ValueError(
                f"LeaveLastKOut(k={k}) found no user with more than {k} rows; the "
                "test set would be empty."
            )
        yield _indices(~test), _indices(test)

    def get_n_splits(self, X=None, y=None, groups=None):
        """Number of splits: always 1.

        Parameters
        ----------
        X, y, groups : object
            Ignored.

        Returns
        -------
        n_splits : int
        """
        return 1

    def _split_names(self):
        return [f"last_{self.k}"]
