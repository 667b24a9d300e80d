"""How ``partial_fit`` of one user grows with the users and rows a model holds.

A service that folds in every new user as they arrive, and every new rating of a
known user, calls ``partial_fit`` once per user, so its cost must not grow with
the users and rows served so far. This fits models on synthetic logs of 10k,
100k and 1M users (``--sizes``; 2,000 items, ``--ratings-per-user`` ratings
each, item ids drawn by a Zipf-like popularity), then times ``--n-calls`` calls
of ``partial_fit``, one user per call, on a deep copy of the fitted model: *new
user*, an unseen user with 10 ratings; *known user* (MetaCF, which adapts a
known user on their whole history), one more rating of a fitted user; *new
user, then recommend*, the new user's ``partial_fit`` followed by their
``recommend(n=10)``, the list a person sees (timed together); *known user after
a new user* (MetaCF), one more rating of a fitted user given with their user
column (``age``, which every log here has), right after a new user's call
(untimed), as calls interleave in a service.

Each model is timed twice in one run, alternating in blocks of 20 calls: as it
is (*now*: :class:`~sklearn_metarec.utils.IdIndex` keeps new ids in a
dictionary beside its hashed index, and the seen log and the meta estimators'
user states are appended in room kept after their rows) and as before
2026-12-07 (*before*: an index that appends every new id to the pandas index
and hashes it again, states copied whole, ``torch.cat``, for every new user,
and the seen log joined whole in a known user's call, as the log appended then
joined at the next read did). For *new user, then recommend*, *before* is
``recommend`` as before 2026-12-08, which left out the user's items (and
EASE scored them) through a users x items matrix of the whole log, built again
after every ``partial_fit``, and multiplied a few users' rows by EASE's
column-major weights, which copied them (*now* reads the user's own rows of
the log, and EASE keeps its weights row-major); its
``partial_fit`` is as now. For *known user after a new user*, *before* checks
the known user's column against the user table as before 2026-12-08: the
table's values read again whole whenever the users grew (*now* appends the new
users' values). The table gives both medians and their ratio.
Estimators: :class:`~sklearn_metarec.baselines.PopularityRecommender` and
:class:`~sklearn_metarec.baselines.EASERecommender` (default ``l2``; new users
only, as popularity) at every size and
:class:`~sklearn_metarec.MetaCFRecommender` (``max_epochs=1``, the
other parameters default; up to ``--metacf-max-users`` known users, by default
all sizes: its fit on 1M users takes a few minutes).

Usage::

    python benchmarks/bench_partial_fit_scale.py [--sizes 10000,100000,1000000]
        [--ratings-per-user 5] [--n-calls 200] [--metacf-max-users 1000000]
        [--quick] [--no-write]

The table is printed and written to the ``partial_fit_scale`` section of
``docs/benchmarks.md`` (``--quick``, tiny sizes for a smoke test, never writes).
"""

from __future__ import annotations

import argparse
import copy
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _report import markdown_table, write_section  # noqa: E402

from sklearn_metarec import MetaCFRecommender  # noqa: E402
from sklearn_metarec.baselines import (  # noqa: E402
    EASERecommender,
    PopularityRecommender,
)
from sklearn_metarec.utils import IdIndex  # noqa: E402
from sklearn_metarec.utils._data import _append_ids, _as_id_array  # noqa: E402

N_ITEMS = 2000
NEW_USER_ROWS = 10
BLOCK = 20  # calls per block; the two indexes alternate block by block
RECOMMEND = "new user, then recommend"
SIDE = "known user after a new user"
N_AGES = 7  # categories of the synthetic user column


class RehashingIndex(IdIndex):
    """``IdIndex`` as it extended before 2026-12-07: every new id is appended
    to the pandas index, whose hash table is then built again (O(known ids))."""

    def extend(self, ids) -> np.ndarray:
        ids = _as_id_array(ids)
        pos = self.get_positions(ids)
        unknown = pos < 0
        if unknown.any():
            index = _append_ids(self._folded(), pd.unique(ids[unknown]))
            self._set_index(index)
            pos = self.get_positions(ids)
        return pos


def synthetic_log(n_users: int, ratings_per_user: int, seed: int):
    """``(X, y)``: ``ratings_per_user`` rows per user over ``N_ITEMS`` items."""
    rng = np.random.default_rng(seed)
    weights = 1.0 / np.arange(1, N_ITEMS + 1) ** 0.8
    items = rng.choice(
        N_ITEMS, size=n_users * ratings_per_user, p=weights / weights.sum()
    )
    users = np.repeat(np.arange(n_users), ratings_per_user)
    X = pd.DataFrame({"user_id": users, "item_id": items, "age": _age(users)})
    y = rng.integers(1, 6, size=len(X)).astype(np.float64)
    return X, y


def _age(users) -> np.ndarray:
    """The synthetic user column: one of ``N_AGES`` categories per user id."""
    return np.char.add("a", (np.asarray(users) % N_AGES).astype(str))


def side_batches(n_users: int, n_calls: int, seed: int) -> list:
    """``n_calls`` pairs of calls, given with the user column: a new user (10
    ratings), then one more rating of a known user."""
    pairs = zip(
        new_user_batches(n_users, n_calls, seed),
        known_user_batches(n_users, n_calls, seed),
    )
    return [
        tuple((X.assign(age=_age(X["user_id"])), y) for X, y in pair) for pair in pairs
    ]


def new_user_batches(n_users: int, n_calls: int, seed: int) -> list:
    """``n_calls`` batches of one unseen user (ids from ``n_users`` on)."""
    rng = np.random.default_rng(seed + 1)
    batches = []
    for k in range(n_calls):
        items = rng.choice(N_ITEMS, size=NEW_USER_ROWS, replace=False)
        X = pd.DataFrame({"user_id": n_users + k, "item_id": items})
        batches.append((X, rng.integers(1, 6, size=NEW_USER_ROWS).astype(np.float64)))
    return batches


def known_user_batches(n_users: int, n_calls: int, seed: int) -> list:
    """``n_calls`` batches of one more rating of one known user."""
    rng = np.random.default_rng(seed + 2)
    users = rng.choice(n_users, size=n_calls, replace=False)
    return [
        (
            pd.DataFrame({"user_id": [user], "item_id": [rng.integers(N_ITEMS)]}),
            np.array([float(rng.integers(1, 6))]),
        )
        for user in users
    ]


def _as_before(model, mode: str):
    """Make ``model`` grow its arrays as before 2026-12-07: a user index hashed
    again for every new id, tensors (user states and codes) copied whole for
    every new user and, for a known user's rows, the seen log joined whole
    (it was appended as a part and joined at the next read, which a known
    user's history makes in the same call, and a new user's never did)."""
    import torch

    index = RehashingIndex.__new__(RehashingIndex)  # the same ids and dtype
    index._set_index(model.user_index_._folded())
    model.user_index_ = index
    kept_room = type(model)._append_rows

    def append(key, array, rows):
        if isinstance(array, torch.Tensor):
            return torch.cat([array, rows])
        if mode == "known user":
            return np.concatenate([array, rows])
        return kept_room(model, key, array, rows)

    model._append_rows = append


def _recommend_as_before(model):
    """Make ``recommend`` read users' items as before 2026-12-08: rows of a users
    x items matrix of the whole log (for EASE's scores, of the rows that count),
    built again after every ``partial_fit``; and EASE's weights column-major,
    as ``fit`` left them then (each product with a few users' rows copied
    them)."""
    import scipy.sparse as sp

    built = {}

    def users_items(users, keep=None):
        rows, cols, y = model._seen_log()
        shape = (len(model.user_index_), len(model.item_index_))
        key = keep is None
        if built.get(key, (None,))[0] != (len(rows), shape):
            mask = np.ones(len(rows), dtype=bool) if keep is None else keep(y)
            matrix = sp.csr_matrix(
                (np.ones(int(mask.sum())), (rows[mask], cols[mask])), shape=shape
            )
            matrix.sum_duplicates()
            matrix.data[:] = 1.0
            built[key] = ((len(rows), shape), matrix)
        return built[key][1][np.asarray(users)]

    model._users_items = users_items
    if hasattr(model, "weights_"):  # EASE's weights came back column-major
        model.weights_ = np.asfortranarray(model.weights_)


def _side_values_as_before(model):
    """Make ``model`` read its side values as before 2026-12-08: the whole side
    table (its appended parts joined) whenever the users or items grew."""

    def side_values(kind):
        features = model.item_features_ if kind == "item" else model.user_features_
        entry = model.__dict__.get("_before_side_values", {}).get(kind)
        if entry is None or entry[0] != len(features):
            values = {str(c): features[c].to_numpy(dtype=object) for c in features}
            entry = (len(features), values)
            model._before_side_values = {
                **model.__dict__.get("_before_side_values", {}),
                kind: entry,
            }
        return entry[1]

    model._side_values = side_values


def time_calls(fitted, batches, mode: str) -> dict:
    """Median ms per call (``partial_fit``, then ``recommend`` in mode
    ``RECOMMEND``), now and as before, alternating."""
    models = {"now": copy.deepcopy(fitted), "before": copy.deepcopy(fitted)}
    lists = mode == RECOMMEND
    if lists:
        _recommend_as_before(models["before"])
    elif mode == SIDE:
        _side_values_as_before(models["before"])
    else:
        _as_before(models["before"], mode)
    seconds = {name: [] for name in models}
    shown = {name: [] for name in models}
    for start in range(0, len(batches), BLOCK):
        for name, model in models.items():
            for batch in batches[start : start + BLOCK]:
                if mode == SIDE:  # the new user's call, untimed
                    model.partial_fit(*batch[0])
                    batch = batch[1]
                X, y = batch
                begin = time.perf_counter()
                model.partial_fit(X, y)
                if lists:
                    shown[name] += model.recommend(X["user_id"].iloc[:1], n=10)
                seconds[name].append(time.perf_counter() - begin)
    if not all(np.array_equal(a, b) for a, b in zip(*shown.values())):
        raise RuntimeError("the two models' lists disagree")
    first, second = (m.user_index_ for m in models.values())
    if not np.array_equal(first.ids, second.ids):
        raise RuntimeError("the two user indexes disagree")
    return {name: 1000 * float(np.median(s)) for name, s in seconds.items()}


def run(sizes, ratings_per_user, n_calls, metacf_max_users, seed=0) -> list[dict]:
    factories = {
        "popularity": lambda: PopularityRecommender(),
        "ease": lambda: EASERecommender(),
        "metacf": lambda: MetaCFRecommender(max_epochs=1, random_state=seed),
    }
    rows = []
    for n_users in sizes:
        X, y = synthetic_log(n_users, ratings_per_user, seed)
        modes = {
            "new user": new_user_batches(n_users, n_calls, seed),
            "known user": known_user_batches(n_users, n_calls, seed),
            RECOMMEND: new_user_batches(n_users, n_calls, seed),
            SIDE: side_batches(n_users, n_calls, seed),
        }
        for name, factory in factories.items():
            if name == "metacf" and n_users > metacf_max_users:
                continue
            begin = time.perf_counter()
            model = factory().fit(X, y)
            fit_s = time.perf_counter() - begin
            for mode, batches in modes.items():
                if mode in ("known user", SIDE) and name != "metacf":
                    continue  # they never read the log nor side columns there
                ms = time_calls(model, batches, mode)
                rows.append(
                    {
                        "estimator": name,
                        "known users": f"{n_users:,}",
                        "rows": f"{len(X):,}",
                        "fit s": f"{fit_s:.1f}",
                        "call": mode,
                        "ms per call (now)": f"{ms['now']:.2f}",
                        "ms per call (before)": f"{ms['before']:.2f}",
                        "before / now": f"{ms['before'] / ms['now']:.2f}",
                    }
                )
                print(rows[-1], file=sys.stderr)
    return rows


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--ratings-per-user", type=int, default=5)
    parser.add_argument("--n-calls", type=int, default=200)
    parser.add_argument("--metacf-max-users", type=int, default=1_000_000)
    parser.add_argument("--torch-threads", type=int, default=1)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args(argv)
    if args.torch_threads:
        import torch

        torch.set_num_threads(args.torch_threads)
    sizes = [int(s) for s in args.sizes.split(",")]
    n_calls = args.n_calls
    if args.quick:
        sizes, n_calls = [200, 2000], 40
    total = time.perf_counter()
    rows = run(sizes, args.ratings_per_user, n_calls, args.metacf_max_users)
    table = markdown_table(rows)
    elapsed = time.perf_counter() - total
    print(table)
    print(f"Total wall time {elapsed:.1f} s", file=sys.stderr)
    if not (args.quick or args.no_write):
        body = (
            f"Synthetic logs over {N_ITEMS:,} items, {args.ratings_per_user} ratings "
            f"per user and a user column (`age`, {N_AGES} categories); median of "
            f"{n_calls} `partial_fit` calls, one user each (a "
            f"new user with {NEW_USER_ROWS} ratings, or one more rating of a known "
            "user), now and as before 2026-12-07 (a user index hashed again and "
            "user states copied whole for every new user, the seen log joined "
            "whole for a known user); *new user, then recommend*: the new user's "
            "`partial_fit` and `recommend(n=10)` timed together, now and as "
            "before 2026-12-08 (their items left out, and EASE's scores read, "
            "through a users x items matrix of the whole log, built again after "
            "every `partial_fit`, and EASE's weights column-major); "
            "*known user after a new user*: one more rating of a known user "
            "given with their user column (`age`), after a new user's call, now "
            "and as before 2026-12-08 (the user table's values read again whole "
            "whenever the users grew); "
            "alternating in blocks of "
            f"{BLOCK} calls in one process. Total wall time: {elapsed:.0f} s.\n\n"
            f"{table}"
        )
        command = " ".join(
            ["python benchmarks/bench_partial_fit_scale.py", *(argv or sys.argv[1:])]
        )
        path = write_section(
            "partial_fit_scale",
            "partial_fit of one user against the users and rows already held",
            command,
            body,
        )
        print(f"wrote {path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
