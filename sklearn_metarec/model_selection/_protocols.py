"""The published meta-learning recommender protocols as splitters (MeLU, TaNP, MAMO).

Each splitter has ``split_scenarios(X, y=None)``, returning ``{name: Scenario}`` with
``train``, ``support`` and ``query`` row indices and the scenario's task users, and
``task_counts(X)``. ``split`` yields one sklearn-style ``(train, test)`` pair per
scenario named in ``scenarios`` (``test`` = support rows, then query rows), so the
splitters work as ``cv=`` in ``GridSearchCV`` and in
:func:`~sklearn_metarec.metrics.cold_start_report`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..utils._random import check_random_state
from ._base import (
    Scenario,
    _check_fraction,
    _check_int,
    _indices,
    _positions,
    _read,
    _ScenarioSplit,
    _task_users,
    _timestamps,
)

__all__ = ["MeLUSplit", "TaNPSplit", "MAMOSplit"]

_FOUR_SCENARIOS = ("warm", "user_cold", "item_cold", "both_cold")
_YEAR_IN_TITLE = r"\((\d{4})\)\s*$"


class MeLUSplit(_ScenarioSplit):
    """The MeLU protocol (Lee et al., KDD 2019) on MovieLens-style data.

    What it does, in order:

    1. **Users**: keep users with ``min_ratings``–``max_ratings`` ratings in ``X``
       (13–100 in the paper); the others' rows are dropped. A random
       ``new_user_fraction`` of the kept users (20%) are *new*, the rest *existing*.
    2. **Items**: an item is *new* when its release year is ``>= new_item_year``,
       else *existing*. The year is read from a ``year`` column of ``X`` when there is
       one, else parsed from a trailing ``"(1995)"`` in the ``title`` column. Items
       without a year are dropped.
    3. **Scenarios** pair the user and item groups: ``warm`` (existing users, existing
       items), ``user_cold`` (new users, existing items), ``item_cold`` (existing
       users, new items), ``both_cold`` (new users, new items). In each scenario a
       user's ratings are restricted to the scenario's items; the user is a task when
       they have at least ``n_query + min_support`` of them. ``n_query`` (10) random
       ratings are the query set, the rest the support set.
    4. **Train** = existing users' ratings of existing items, minus the ``warm`` query
       rows. New users and new items never appear in train.

    Where the years between go: the paper calls items released *before 1997* existing
    and *after 1998* new, "about 8:2", leaving 1997 and 1998 unassigned. With the
    default ``new_item_year=1998``, 1997 is existing and 1998 new: on MovieLens-1M
    that makes 20.0% of the rated movies new, the paper's 8:2 (counting 1997 as new
    gives 28%, dropping both years discards a third of the 1997–2000 movies).

    Where it departs from the paper and its code:

    - The paper's data ship as pre-generated per-scenario files; the user split here
      is a seeded random 80/20 split of the kept users.
    - MeLU's code applies the 13–100 filter to a user's ratings *within each
      scenario*; here 13–100 filters users on all their ratings and the scenario
      asks for ``n_query + min_support`` (13 by default) ratings of its items, so a
      task has 13–100 ratings as in both the paper and the code.
    - MeLU trains on all warm tasks, query sets included, and reports warm results on
      them; here the warm query rows are held out of train, so ``warm`` measures
      prediction of unseen ratings. A warm user's support rows are train rows too
      (the model has seen them; ``partial_fit`` continues that user's adaptation).

    Parameters
    ----------
    min_ratings : int, default=13
        Fewest ratings a kept user has, at least 1.
    max_ratings : int, default=100
        Most ratings a kept user has, at least ``min_ratings``.
    new_item_year : int, default=1998
        Items released in this year or later are new.
    new_user_fraction : float, default=0.2
        Fraction of kept users that are new, in (0, 1).
    n_query : int, default=10
        Query ratings per task, at least 1.
    min_support : int, default=3
        Fewest support ratings per task, at least 1.
    scenarios : str or tuple of str, default=("warm", "user_cold", "item_cold", \
"both_cold")
        The scenarios ``split`` yields, in this order.
    year_column : str, default="year"
        Column with the release year.
    title_column : str, default="title"
        Column with titles ending in ``"(year)"``, used when ``year_column`` is absent.
    random_state : int, RandomState instance or None, default=None
        Draws the new users and the query sets.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from sklearn_metarec.model_selection import MeLUSplit
    >>> rng = np.random.RandomState(0)
    >>> items = pd.DataFrame({"item_id": range(40),
    ...                       "year": np.where(np.arange(40) < 30, 1990, 1999)})
    >>> X = pd.DataFrame({"user_id": np.repeat(range(10), 30),
    ...                   "item_id": np.concatenate([rng.permutation(40)[:30]
    ...                                              for _ in range(10)])})
    >>> X = X.merge(items, on="item_id")
    >>> cv = MeLUSplit(min_ratings=13, max_ratings=100, n_query=5, min_support=1,
    ...                random_state=0)
    >>> cv.task_counts(X)["n_tasks"].to_dict()
    {'warm': 8, 'user_cold': 2, 'item_cold': 7, 'both_cold': 2}
    >>> scenarios = cv.split_scenarios(X)
    >>> scenarios["user_cold"]
    Scenario(name='user_cold', n_tasks=2, n_train=143, n_support=34, n_query=10)
    """

    _all_scenarios = _FOUR_SCENARIOS

    def __init__(
        self,
        *,
        min_ratings=13,
        max_ratings=100,
        new_item_year=1998,
        new_user_fraction=0.2,
        n_query=10,
        min_support=3,
        scenarios=_FOUR_SCENARIOS,
        year_column="year",
        title_column="title",
        random_state=None,
    ):
        self.min_ratings = min_ratings
        self.max_ratings = max_ratings
        self.new_item_year = new_item_year
        self.new_user_fraction = new_user_fraction
        self.n_query = n_query
        self.min_support = min_support
        self.scenarios = scenarios
        self.year_column = year_column
        self.title_column = title_column
        self.random_state = random_state

    def split_scenarios(self, X, y=None):
        """Draw the four scenarios.

        Parameters
        ----------
        X : DataFrame of shape (n_rows, n_columns)
            Interaction log with user id, item id and a ``year`` or ``title`` column.
        y : array-like of shape (n_rows,), default=None
            Ignored (checked for length when given).

        Returns
        -------
        scenarios : dict of str to Scenario
            Keys ``"warm"``, ``"user_cold"``, ``"item_cold"``, ``"both_cold"``.
        """
        min_ratings = _check_int(self.min_ratings, "min_ratings", 1)
        max_ratings = _check_int(self.max_ratings, "max_ratings", min_ratings)
        _check_int(self.new_item_year, "new_item_year", -(10**6))
        fraction = _check_fraction(self.new_user_fraction, "new_user_fraction")
        n_query = _check_int(self.n_query, "n_query", 1)
        min_support = _check_int(self.min_support, "min_support", 1)
        self._selected()
        data, user_codes, user_ids, item_codes, item_ids = _read(X, y, "MeLUSplit")
        rng = check_random_state(self.random_state)

        counts = np.bincount(user_codes)
        kept_users = np.flatnonzero((counts >= min_ratings) & (counts <= max_ratings))
        n_new = int(round(fraction * len(kept_users)))
        if n_new < 1 or n_new >= len(kept_users):
            raise ValueError(
                f"Too few users for MeLUSplit: {len(kept_users)} users have "
                f"{min_ratings}-{max_ratings} ratings, which cannot be split into "
                f"existing and new users with new_user_fraction={fraction}."
            )
        # User group per user code: -1 dropped, 0 existing, 1 new.
        user_group = np.full(len(user_ids), -1, dtype=np.int64)
        user_group[kept_users] = 0
        user_group[rng.permutation(kept_users)[:n_new]] = 1

        year = self._item_years(data, item_codes, len(item_ids))
        item_group = np.where(np.isnan(year), -1, (year >= self.new_item_year) * 1)
        row_user, row_item = user_group[user_codes], item_group[item_codes]
        if not np.any(row_item == 1):
            raise ValueError(
                f"MeLUSplit found no new item (released in {self.new_item_year} or "
                "later); check the year column or new_item_year."
            )
        if not np.any(row_item == 0):
            raise ValueError(
                f"MeLUSplit found no existing item (released before "
                f"{self.new_item_year}); check the year column or new_item_year."
            )

        order_key = rng.random_sample(len(user_codes))
        groups = {
            "warm": (0, 0),
            "user_cold": (1, 0),
            "item_cold": (0, 1),
            "both_cold": (1, 1),
        }
        draws = {}
        for name, (u, i) in groups.items():
            rows = (row_user == u) & (row_item == i)
            per_user = np.bincount(user_codes[rows], minlength=len(user_ids))
            task = rows & (per_user[user_codes] >= n_query + min_support)
            # Positions among the task's rows: rank the key within the task only.
            positions = _positions(np.where(task, user_codes, -1), order_key)
            query = task & (positions < n_query)
            draws[name] = (task, query)
        train = (row_user == 0) & (row_item == 0) & ~draws["warm"][1]
        train_idx = _indices(train)
        return {
            name: Scenario(
                name=name,
                train=train_idx,
                support=_indices(task & ~query),
                query=_indices(query),
                users=_task_users(user_ids, user_codes, task),
            )
            for name, (task, query) in draws.items()
        }

    def _item_years(self, data, item_codes, n_items):
        """Release year per item code (NaN when unknown)."""
        first_row = np.full(n_items, len(item_codes), dtype=np.int64)
        np.minimum.at(first_row, item_codes, np.arange(len(item_codes)))
        side = data.side
        if self.year_column is not None and self.year_column in side.columns:
            values = side[self.year_column].iloc[first_row]
            years = pd.to_numeric(values, errors="coerce")
        elif self.title_column is not None and self.title_column in side.columns:
            titles = side[self.title_column].iloc[first_row].astype("string")
            years = pd.to_numeric(
                titles.str.extract(_YEAR_IN_TITLE, expand=False), errors="coerce"
            )
        else:
            raise ValueError(
                f"MeLUSplit needs the item release year: a {self.year_column!r} column "
                f"or a {self.title_column!r} column ending in '(year)'; X has columns "
                f"{data.columns}."
            )
        years = years.to_numpy(dtype=np.float64, na_value=np.nan)
        if np.all(np.isnan(years)):
            raise ValueError(
                "MeLUSplit could not read a release year for any item; check the "
                f"{self.year_column!r} / {self.title_column!r} column."
            )
        return years


class TaNPSplit(_ScenarioSplit):
    """The TaNP protocol (Lin et al., WWW 2021): users split 70/10/20.

    What it does:

    1. Users are shuffled and split into training (``train_size``), validation
       (``validation_size``) and test users (the rest), sizes rounded down for
       training and validation as in TaNP's code.
    2. The known items are the items rated by the training users. Validation and
       test users' ratings of other (new) items are removed, so those users are cold
       but their items are not.
    3. A validation or test user is a task when they have at least
       ``n_support + min_query`` and at most ``max_ratings`` ratings left (30 and 200
       in TaNP's code). ``n_support`` (20) random ratings are the support set, all the
       others the query set.
    4. Train = every rating of the training users.

    Departures from TaNP's code: it removes new items for test users only (the
    validation data are unused there); here validation users are treated like test
    users. TaNP meta-trains only on training users with 30–200 ratings; here train
    holds every rating of the training users (an estimator that trains on episodes
    can filter them itself), which is also the set TaNP takes its known items from.

    Parameters
    ----------
    train_size : float, default=0.7
        Fraction of users for training, in (0, 1).
    validation_size : float, default=0.1
        Fraction of users for validation, in [0, 1); ``train_size + validation_size``
        must be below 1.
    n_support : int, default=20
        Support ratings per task, at least 1.
    min_query : int, default=10
        Fewest query ratings per task, at least 1.
    max_ratings : int, default=200
        Most ratings per task (after new items are removed).
    scenarios : str or tuple of str, default=("test",)
        Which of ``"validation"`` and ``"test"`` ``split`` yields: tune on
        ``"validation"``, report ``"test"``.
    random_state : int, RandomState instance or None, default=None
        Draws the user split and the support sets.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from sklearn_metarec.model_selection import TaNPSplit
    >>> rng = np.random.RandomState(0)
    >>> X = pd.DataFrame({"user_id": np.repeat(range(20), 40),
    ...                   "item_id": np.concatenate([rng.permutation(60)[:40]
    ...                                              for _ in range(20)])})
    >>> cv = TaNPSplit(random_state=0)
    >>> cv.task_counts(X)[["n_tasks", "n_support"]]
                n_tasks  n_support
    scenario
    validation        2         40
    test              4         80
    """

    _all_scenarios = ("validation", "test")

    def __init__(
        self,
        *,
        train_size=0.7,
        validation_size=0.1,
        n_support=20,
        min_query=10,
        max_ratings=200,
        scenarios=("test",),
        random_state=None,
    ):
        self.train_size = train_size
        self.validation_size = validation_size
        self.n_support = n_support
        self.min_query = min_query
        self.max_ratings = max_ratings
        self.scenarios = scenarios
        self.random_state = random_state

    def split_scenarios(self, X, y=None):
        """Draw the validation and test scenarios.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_rows, n_columns)
            Interaction log.
        y : array-like of shape (n_rows,), default=None
            Ignored (checked for length when given).

        Returns
        -------
        scenarios : dict of str to Scenario
            Keys ``"validation"`` and ``"test"``.
        """
        train_size = _check_fraction(self.train_size, "train_size")
        validation_size = _check_fraction(
            self.validation_size, "validation_size", closed=True
        )
        if train_size + validation_size >= 1:
            raise ValueError(
                f"train_size + validation_size must be below 1 to leave test users; "
                f"got {train_size} + {validation_size}."
            )
        n_support = _check_int(self.n_support, "n_support", 1)
        min_query = _check_int(self.min_query, "min_query", 1)
        max_ratings = _check_int(self.max_ratings, "max_ratings", n_support + min_query)
        self._selected()
        _, user_codes, user_ids, item_codes, item_ids = _read(X, y, "TaNPSplit")
        rng = check_random_state(self.random_state)

        n_users = len(user_ids)
        n_train = int(n_users * train_size)
        n_validation = int(n_users * validation_size)
        if n_train < 1 or n_users - n_train - n_validation < 1:
            raise ValueError(
                f"Too few users for TaNPSplit: {n_users} users give {n_train} "
                f"training and {n_users - n_train - n_validation} test users."
            )
        permutation = rng.permutation(n_users)
        # Role per user code: 0 train, 1 validation, 2 test.
        role = np.full(n_users, 2, dtype=np.int64)
        role[permutation[:n_train]] = 0
        role[permutation[n_train : n_train + n_validation]] = 1
        row_role = role[user_codes]

        known_item = np.zeros(len(item_ids), dtype=bool)
        known_item[item_codes[row_role == 0]] = True
        order_key = rng.random_sample(len(user_codes))
        train_idx = _indices(row_role == 0)
        scenarios = {}
        for name, value in (("validation", 1), ("test", 2)):
            rows = (row_role == value) & known_item[item_codes]
            per_user = np.bincount(user_codes[rows], minlength=n_users)[user_codes]
            task = rows & (per_user >= n_support + min_query)
            task &= per_user <= max_ratings
            positions = _positions(np.where(task, user_codes, -1), order_key)
            support = task & (positions < n_support)
            scenarios[name] = Scenario(
                name=name,
                train=train_idx,
                support=_indices(support),
                query=_indices(task & ~support),
                users=_task_users(user_ids, user_codes, task),
            )
        return scenarios


class MAMOSplit(_ScenarioSplit):
    """The MAMO protocol (Dong et al., KDD 2020): each user's first ratings in time.

    What it does, following MAMO's data preparation code:

    1. Users with at least ``n_ratings`` (20) ratings are kept, with only their first
       ``n_ratings`` ratings in time order (ties in row order).
    2. A user is *new* when their first rating is at or after the
       ``new_user_quantile`` (80%) quantile of all rating times in ``X``, else
       *existing*. An item is *cold* when it has at most ``cold_item_max_ratings``
       (10) of the kept ratings, else *warm*.
    3. Each kept user's first ``n_support`` (15) kept ratings are the support set and
       the next ``n_ratings - n_support`` (5) the query candidates.
    4. Scenarios: ``warm`` (existing users, warm items), ``user_cold`` (new users,
       warm items), ``item_cold`` (existing users, cold items), ``both_cold`` (new
       users, cold items). A user is a task of a scenario when at least one of their
       query candidates is an item of the scenario's kind; those candidates are the
       query set and the user's whole support set is the support set.
    5. Train = existing users' support ratings of warm items. New users, cold items
       and every query rating stay out of it.

    Departures from MAMO's code: there, every rating of a user carries a state code
    and the train/test users are a random 80/20 split; here the new users are the
    time-defined cold users (as the paper describes) and scenarios select query rows
    by state. Support sets keep their cold-item rows, as MAMO's do; those rows are
    not in train.

    Parameters
    ----------
    n_ratings : int, default=20
        Ratings kept per user (from the first in time), at least 2.
    n_support : int, default=15
        Support ratings per user, in [1, n_ratings - 1]; the rest are the query.
    new_user_quantile : float, default=0.8
        Quantile of the rating times after which first-time raters are new users,
        in (0, 1).
    cold_item_max_ratings : int, default=10
        Items with at most this many kept ratings are cold, at least 0.
    timestamp_column : str, default="timestamp"
        Column of ``X`` with the rating times (numbers or datetimes).
    scenarios : str or tuple of str, default=("warm", "user_cold", "item_cold", \
"both_cold")
        The scenarios ``split`` yields, in this order.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from sklearn_metarec.model_selection import MAMOSplit
    >>> rng = np.random.RandomState(0)
    >>> X = pd.DataFrame({"user_id": np.repeat(range(10), 25),
    ...                   "item_id": rng.randint(0, 40, 250),
    ...                   "timestamp": np.repeat(np.arange(10) * 100, 25)
    ...                                + np.tile(np.arange(25), 10)})
    >>> cv = MAMOSplit(cold_item_max_ratings=2)
    >>> cv.task_counts(X)["n_tasks"].to_dict()
    {'warm': 8, 'user_cold': 2, 'item_cold': 2, 'both_cold': 0}
    """

    _all_scenarios = _FOUR_SCENARIOS

    def __init__(
        self,
        *,
        n_ratings=20,
        n_support=15,
        new_user_quantile=0.8,
        cold_item_max_ratings=10,
        timestamp_column="timestamp",
        scenarios=_FOUR_SCENARIOS,
    ):
        self.n_ratings = n_ratings
        self.n_support = n_support
        self.new_user_quantile = new_user_quantile
        self.cold_item_max_ratings = cold_item_max_ratings
        self.timestamp_column = timestamp_column
        self.scenarios = scenarios

    def split_scenarios(self, X, y=None):
        """Build the four scenarios (deterministic: everything follows time).

        Parameters
        ----------
        X : DataFrame of shape (n_rows, n_columns)
            Interaction log with a timestamp column.
        y : array-like of shape (n_rows,), default=None
            Ignored (checked for length when given).

        Returns
        -------
        scenarios : dict of str to Scenario
            Keys ``"warm"``, ``"user_cold"``, ``"item_cold"``, ``"both_cold"``.
        """
        n_ratings = _check_int(self.n_ratings, "n_ratings", 2)
        n_support = _check_int(self.n_support, "n_support", 1, n_ratings - 1)
        quantile = _check_fraction(self.new_user_quantile, "new_user_quantile")
        max_cold = _check_int(self.cold_item_max_ratings, "cold_item_max_ratings", 0)
        self._selected()
        data, user_codes, user_ids, item_codes, item_ids = _read(X, y, "MAMOSplit")
        times = _timestamps(data, self.timestamp_column, "MAMOSplit")

        # MAMO's split time: the rating time at position round(q * n) in time order.
        sorted_times = np.sort(times)
        split_time = sorted_times[
            min(int(round(quantile * len(times))), len(times) - 1)
        ]
        positions = _positions(user_codes, times)
        counts = np.bincount(user_codes)
        kept = (positions < n_ratings) & (counts[user_codes] >= n_ratings)
        if not kept.any():
            raise ValueError(
                f"Too few ratings for MAMOSplit: no user has n_ratings={n_ratings} "
                "ratings."
            )
        first_time = np.full(len(user_ids), np.inf)
        np.minimum.at(first_time, user_codes, times)
        new_user = first_time >= split_time
        kept_users = np.unique(user_codes[kept])
        if new_user[kept_users].all() or not new_user[kept_users].any():
            raise ValueError(
                "Too few users for MAMOSplit: the kept users are all new or all "
                f"existing at the {quantile} time quantile."
            )
        item_counts = np.bincount(item_codes[kept], minlength=len(item_ids))
        cold_item = item_counts <= max_cold

        row_new, row_cold = new_user[user_codes], cold_item[item_codes]
        support = kept & (positions < n_support)
        query = kept & (positions >= n_support)
        train_idx = _indices(support & ~row_new & ~row_cold)
        groups = {
            "warm": (False, False),
            "user_cold": (True, False),
            "item_cold": (False, True),
            "both_cold": (True, True),
        }
        scenarios = {}
        for name, (is_new, is_cold) in groups.items():
            scenario_query = query & (row_new == is_new) & (row_cold == is_cold)
            task_user = np.zeros(len(user_ids), dtype=bool)
            task_user[user_codes[scenario_query]] = True
            scenarios[name] = Scenario(
                name=name,
                train=train_idx,
                support=_indices(support & task_user[user_codes]),
                query=_indices(scenario_query),
                users=_task_users(user_ids, user_codes, scenario_query),
            )
        return scenarios
