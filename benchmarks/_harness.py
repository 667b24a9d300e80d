"""Evaluation harness behind ``bench_melu.py``: scenarios in, tables out.

The harness is independent of the command line so tests can run it on small data.
Everything here works with any estimator that has ``fit``, ``partial_fit``,
``predict`` and ``recommend(users, n, exclude_seen)`` (the package contract).

Protocol, per estimator (:func:`run_estimator`):

1. ``fit`` once on the shared train rows of the scenarios (timed: *fit s*).
2. For each scenario, a deep copy of the fitted estimator receives the scenario's
   support rows that are not train rows in **one** ``partial_fit`` call (new users
   adapt, new items enter the catalogue). Support rows that are train rows are not
   given again: in :class:`~sklearn_metarec.model_selection.MeLUSplit`'s ``warm``
   scenario every support row is a train row, so the fitted model is scored as is.
3. The query rows are scored with ``predict``: MAE and RMSE averaged per user
   (``users=``), nDCG@1 and nDCG@3 ranking each user's query items (linear gain =
   the rating).
4. Each scenario user gets ``recommend(users, n=10, exclude_seen=True)``: the whole
   catalogue of the adapted model (every item of train and of the scenario's
   support rows) minus the items the user has in train or support. An item is
   relevant when the user rated it >= 4 in the query set; nDCG@10 (binary gain) and
   Recall@10 are averaged over users with at least one relevant query item. A
   relevant query item outside the catalogue (a new item that no support row of the
   scenario rated) cannot be recommended by any estimator and counts as a miss;
   :func:`scenario_summary` reports how many relevant items are rankable.
5. Adaptation latency: on a fresh deep copy, the first ``n_adapt_ratings`` support
   rows (row order) of up to ``n_adapt_users`` users of the ``adapt_scenario``
   (users with at least that many support rows) are given to ``partial_fit`` one
   user per call; the table reports the median and 90th percentile of those calls.
   Then ``recommend(n=10)`` is timed for every user id of the data set on that
   adapted copy (users unknown to the model are served as cold users).
6. Memory: a thread samples the resident set size every 5 ms while the estimator
   runs; the Linux high-water mark (``VmHWM``, reset at the start of the section
   when the kernel allows it) catches spikes between samples.
"""

from __future__ import annotations

import contextlib
import copy
import gc
import os
import resource
import threading
import time
import warnings
from collections.abc import Callable, Mapping

import numpy as np
import pandas as pd

from sklearn_metarec.metrics import mae, ndcg_at_k, recall_at_k, rmse

__all__ = [
    "PeakRSS",
    "process_peak_mib",
    "evaluate_scenario",
    "format_report",
    "rss_mib",
    "run_benchmark",
    "run_estimator",
    "scenario_summary",
    "time_adaptation",
]

SCENARIO_ORDER = ("warm", "user_cold", "item_cold", "both_cold")
RELEVANT_RATING = 4.0
QUERY_KS = (1, 3)
CATALOG_K = 10
METRIC_COLUMNS = (
    "MAE",
    "RMSE",
    "nDCG@1",
    "nDCG@3",
    f"cat nDCG@{CATALOG_K}",
    f"cat Recall@{CATALOG_K}",
    f"new nDCG@{CATALOG_K}",
)


# --------------------------------------------------------------------------- memory
def rss_mib() -> float:
    """Current resident set size of this process, in MiB (Linux; else ru_maxrss)."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError, IndexError):  # pragma: no cover - non-Linux
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _hwm_mib() -> float | None:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:  # pragma: no cover - non-Linux
        pass
    return None


_PEAK_BEFORE_RESETS = [0.0]


def process_peak_mib() -> float:
    """Peak RSS of the whole process so far, in MiB.

    ``ru_maxrss`` alone is not enough once :class:`PeakRSS` has reset the kernel's
    high-water mark (Linux derives ``ru_maxrss`` from it), so the mark read before
    each reset is kept and included.
    """
    usage = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return max(usage, _hwm_mib() or 0.0, _PEAK_BEFORE_RESETS[0])


def _reset_hwm() -> bool:
    """Reset the kernel's peak-RSS mark (``echo 5 > /proc/self/clear_refs``)."""
    _PEAK_BEFORE_RESETS[0] = process_peak_mib()
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:  # pragma: no cover - not permitted / non-Linux
        return False


class PeakRSS:
    """Context manager: the peak resident set size while the block runs.

    A daemon thread samples ``/proc/self/statm`` every ``interval`` seconds; where
    the kernel lets the process reset its high-water mark, ``VmHWM`` is read at the
    end too, so a spike shorter than the interval is not missed.

    Attributes
    ----------
    start_mib, peak_mib, end_mib : float
        RSS on entry, its maximum during the block and RSS on exit, in MiB.
    """

    def __init__(self, interval: float = 0.005):
        self.interval = interval

    def __enter__(self) -> PeakRSS:
        gc.collect()
        self._hwm_reset = _reset_hwm()
        self.start_mib = self.peak_mib = rss_mib()
        self._stop = threading.Event()
        self._paused = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self) -> None:
        while not self._stop.wait(self.interval):
            if not self._paused.is_set():
                self.peak_mib = max(self.peak_mib, rss_mib())

    @contextlib.contextmanager
    def paused(self):
        """Stop sampling inside the block (latency timings: the sampler thread
        would compete for the GIL). The kernel's high-water mark still sees it."""
        self._paused.set()
        try:
            yield
        finally:
            self.peak_mib = max(self.peak_mib, rss_mib())
            self._paused.clear()

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.end_mib = rss_mib()
        self.peak_mib = max(self.peak_mib, self.end_mib)
        hwm = _hwm_mib() if self._hwm_reset else None
        if hwm is not None:
            self.peak_mib = max(self.peak_mib, hwm)
        # A sampled RSS can exceed the kernel's mark by a page (the two are read
        # from different files): the process peak includes every sample.
        _PEAK_BEFORE_RESETS[0] = max(_PEAK_BEFORE_RESETS[0], self.peak_mib)


# ------------------------------------------------------------------------- helpers
def _take(X, rows):
    return X.iloc[rows] if hasattr(X, "iloc") else np.asarray(X)[rows]


def _ids(X, column: int) -> np.ndarray:
    """User (column 0) or item (column 1) ids of every row, as an ndarray."""
    if hasattr(X, "iloc"):
        return X.iloc[:, column].to_numpy()
    return np.asarray(X)[:, column]


def _fresh_support(scenario) -> np.ndarray:
    """Support rows that are not train rows (the ones ``partial_fit`` receives)."""
    return np.setdiff1d(scenario.support, scenario.train, assume_unique=True)


def _slot_matrices(users, recommendations, query_users, query_items, relevant):
    """Per-user slot matrices for the catalogue metrics (small, exact).

    Row ``u`` holds the user's ``k`` recommended items (scores ``k, k-1, ...``),
    then every relevant query item that was not recommended (score NaN: a relevant
    item that was not ranked counts as a miss). ``y_true`` is 1 for relevant items.
    """
    truth = (
        pd.DataFrame({"user": query_users, "item": query_items, "rel": relevant})
        .groupby(["user", "item"], sort=False)["rel"]
        .max()
    )
    relevant_sets: dict = {}
    for (user, item), rel in truth.items():
        if rel:
            relevant_sets.setdefault(user, set()).add(item)
    width = CATALOG_K + max((len(s) for s in relevant_sets.values()), default=0)
    y_true = np.zeros((len(users), width))
    y_score = np.full((len(users), width), np.nan)
    for row, (user, recs) in enumerate(zip(users, recommendations)):
        rel = relevant_sets.get(user, set())
        recs = list(recs)[:CATALOG_K]
        for slot, item in enumerate(recs):
            y_score[row, slot] = CATALOG_K - slot
            y_true[row, slot] = item in rel
        missed = rel.difference(recs)
        y_true[row, CATALOG_K : CATALOG_K + len(missed)] = 1.0
    return y_true, y_score


# ---------------------------------------------------------------------- evaluation
def evaluate_scenario(fitted, X, y, scenario, *, rating_metrics=True) -> dict:
    """Adapt a deep copy of ``fitted`` to one scenario and compute its metrics.

    Parameters
    ----------
    fitted : estimator
        Fitted on ``scenario.train``; never modified.
    X : DataFrame
        The whole interaction log the scenario indexes.
    y : ndarray
        Ratings of ``X``.
    scenario : Scenario
        With ``train``, ``support``, ``query`` and ``users``.
    rating_metrics : bool, default=True
        Whether ``predict`` returns ratings; when False (a ranking score such as
        popularity counts), MAE and RMSE are NaN.

    Returns
    -------
    metrics : dict
        ``METRIC_COLUMNS`` plus ``partial_fit s`` (the one-call adaptation time) and
        ``n_users`` (scenario users).
    """
    y = np.asarray(y, dtype=np.float64)
    if not len(scenario.query):  # an empty scenario: nothing to score
        return {
            **dict.fromkeys(METRIC_COLUMNS, float("nan")),
            "partial_fit s": float("nan"),
            "n_users": 0,
        }
    adapted = copy.deepcopy(fitted)
    support = _fresh_support(scenario)
    start = time.perf_counter()
    if len(support):
        adapted.partial_fit(_take(X, support), y[support])
    adapt_s = time.perf_counter() - start

    query = scenario.query
    query_users = _ids(X, 0)[query]
    query_items = _ids(X, 1)[query]
    y_query = y[query]
    scores = np.asarray(adapted.predict(_take(X, query)), dtype=np.float64)
    out: dict = {}
    if rating_metrics:
        out["MAE"] = mae(y_query, scores, users=query_users)
        out["RMSE"] = rmse(y_query, scores, users=query_users)
    else:
        out["MAE"] = out["RMSE"] = float("nan")
    for k in QUERY_KS:
        out[f"nDCG@{k}"] = ndcg_at_k(y_query, scores, users=query_users, k=k)

    users = list(scenario.users)
    recommendations = adapted.recommend(users, n=CATALOG_K, exclude_seen=True)
    y_true, y_score = _slot_matrices(
        users,
        recommendations,
        query_users,
        query_items,
        y_query >= RELEVANT_RATING,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # no relevant item at all: nan, reported
        out[f"cat nDCG@{CATALOG_K}"] = ndcg_at_k(y_true, y_score, k=CATALOG_K)
        out[f"cat Recall@{CATALOG_K}"] = recall_at_k(
            y_true, y_score, k=CATALOG_K, threshold=1.0
        )
    out[f"new nDCG@{CATALOG_K}"] = _new_item_ndcg(
        adapted, X, y, scenario, query_users, query_items, y_query
    )
    out["partial_fit s"] = adapt_s
    out["n_users"] = len(users)
    return out


def _pair_rows(X, scenario, users, items):
    """Every (user, item) pair as rows of ``X``'s columns, user-major.

    A column that is constant per user over the scenario's rows is taken from one of
    the user's rows, every other column from one of the item's rows.
    """
    rows = np.concatenate([scenario.support, scenario.query])
    sub = X.iloc[rows]
    user_col, item_col = X.columns[0], X.columns[1]
    user_columns = [
        c
        for c in X.columns[2:]
        if sub.groupby(user_col, sort=False)[c].nunique(dropna=False).max() <= 1
        and sub.groupby(item_col, sort=False)[c].nunique(dropna=False).max() > 1
    ]
    user_rows = sub.drop_duplicates(user_col).set_index(user_col).loc[users]
    item_rows = sub.drop_duplicates(item_col).set_index(item_col).loc[items]
    frame = pd.DataFrame(
        {user_col: np.repeat(users, len(items)), item_col: np.tile(items, len(users))}
    )
    for column in X.columns[2:]:
        if column in user_columns:
            frame[column] = np.repeat(user_rows[column].to_numpy(), len(items))
        else:
            frame[column] = np.tile(item_rows[column].to_numpy(), len(users))
    return frame


def _new_item_ndcg(adapted, X, y, scenario, query_users, query_items, y_query):
    """nDCG@10 of ranking only the items never seen in training.

    Candidates: the scenario's items that are in no train row but in a support row
    (the new items ``partial_fit`` added to the catalogue), minus the user's own
    support items; every candidate is scored with ``predict``. Relevant: the user's
    query items among the candidates rated >= 4. NaN where the scenario has no new
    item (warm, user-cold).
    """
    item_ids = _ids(X, 1)
    user_ids = _ids(X, 0)
    support = _fresh_support(scenario)
    new_items = np.setdiff1d(item_ids[support], item_ids[scenario.train])
    if not len(new_items):
        return float("nan")
    candidates = pd.Index(new_items)
    relevant = (y_query >= RELEVANT_RATING) & np.isin(query_items, new_items)
    users = pd.unique(query_users[relevant])
    if not len(users):
        return float("nan")
    n_items = len(candidates)
    frame = _pair_rows(X, scenario, users, candidates.to_numpy())
    scores = np.asarray(adapted.predict(frame), dtype=np.float64).reshape(-1, n_items)
    user_pos = pd.Index(users)
    seen_rows = support[np.isin(user_ids[support], users)]
    seen_col = candidates.get_indexer(item_ids[seen_rows])
    keep = seen_col >= 0
    scores[user_pos.get_indexer(user_ids[seen_rows][keep]), seen_col[keep]] = -np.inf
    y_true = np.zeros_like(scores)
    rows = user_pos.get_indexer(query_users[relevant])
    y_true[rows, candidates.get_indexer(query_items[relevant])] = 1.0
    return ndcg_at_k(y_true, scores, k=CATALOG_K)


def scenario_summary(X, y, scenarios: Mapping) -> list[dict]:
    """Estimator-independent facts per scenario: sizes and rankable relevant items.

    *catalogue* is the number of items in train plus the scenario's support rows
    (what ``recommend`` can rank after adaptation); *new items* those of them not in
    train. *rankable relevant* is the share of relevant (rating >= 4) query pairs
    whose item is in the catalogue and not already seen by the user: the ceiling of
    catalogue Recall@10 when the user has at most 10 relevant items.
    """
    y = np.asarray(y, dtype=np.float64)
    users_all, items_all = _ids(X, 0), _ids(X, 1)
    rows = []
    for name, s in scenarios.items():
        train_items = pd.unique(items_all[s.train])
        support_items = pd.unique(items_all[s.support])
        catalogue = pd.Index(train_items).union(pd.Index(support_items))
        seen_rows = np.union1d(s.train, s.support)
        seen = pd.MultiIndex.from_arrays(
            [users_all[seen_rows], items_all[seen_rows]]
        ).unique()
        q = s.query[y[s.query] >= RELEVANT_RATING]
        pairs = pd.MultiIndex.from_arrays([users_all[q], items_all[q]])
        rankable = catalogue.get_indexer(items_all[q]) >= 0
        rankable &= ~pairs.isin(seen)
        rows.append(
            {
                "scenario": name,
                "users": s.n_tasks,
                "train rows": len(s.train),
                "support rows": len(s.support),
                "partial_fit rows": len(_fresh_support(s)),
                "query rows": len(s.query),
                "catalogue items": len(catalogue),
                "items not in train": len(catalogue.difference(pd.Index(train_items))),
                "relevant query pairs": len(q),
                "rankable relevant": f"{100 * rankable.mean():.1f}%"
                if len(q)
                else "n/a",
            }
        )
    return rows


def time_adaptation(
    fitted, X, y, scenario, *, n_users=200, n_ratings=10
) -> tuple[object, np.ndarray]:
    """``partial_fit`` one new user per call on a deep copy; seconds per call.

    The first ``n_ratings`` support rows (row order) of the first ``n_users``
    scenario users having at least that many support rows.

    Returns
    -------
    adapted : estimator
        The copy, after every call.
    seconds : ndarray of shape (n_timed_users,)
    """
    y = np.asarray(y, dtype=np.float64)
    support = _fresh_support(scenario)
    users = _ids(X, 0)[support]
    order = pd.Series(np.arange(len(support))).groupby(users, sort=False)
    batches = []
    for _, positions in order:
        if len(positions) >= n_ratings:
            rows = support[positions.to_numpy()[:n_ratings]]
            batches.append((_take(X, rows), y[rows]))
        if len(batches) == n_users:
            break
    adapted = copy.deepcopy(fitted)
    seconds = np.empty(len(batches))
    for index, (X_user, y_user) in enumerate(batches):
        start = time.perf_counter()
        adapted.partial_fit(X_user, y_user)
        seconds[index] = time.perf_counter() - start
    return adapted, seconds


def run_estimator(
    name: str,
    estimator,
    X,
    y,
    scenarios: Mapping,
    *,
    rating_metrics: bool = True,
    adapt_scenario: str = "user_cold",
    n_adapt_users: int = 200,
    n_adapt_ratings: int = 10,
    all_users=None,
    log: Callable[[str], None] | None = None,
) -> tuple[dict, dict]:
    """Fit ``estimator`` once and evaluate it on every scenario.

    Returns
    -------
    metrics : dict of str to dict
        Scenario name -> :func:`evaluate_scenario` output.
    timing : dict
        ``fit s``, adaptation ``ms`` median / p90, ``recommend all s``, RSS figures.
    """
    log = log or (lambda message: None)
    y = np.asarray(y, dtype=np.float64)
    train = next(iter(scenarios.values())).train
    if any(not np.array_equal(s.train, train) for s in scenarios.values()):
        raise ValueError("The scenarios must share their train rows.")
    with PeakRSS() as memory:
        start = time.perf_counter()
        estimator.fit(_take(X, train), y[train])
        fit_s = time.perf_counter() - start
        log(f"  {name}: fit {fit_s:.2f} s")
        metrics = {}
        for scenario_name, scenario in scenarios.items():
            metrics[scenario_name] = evaluate_scenario(
                estimator, X, y, scenario, rating_metrics=rating_metrics
            )
            log(
                f"  {name}: {scenario_name} "
                + ", ".join(
                    f"{k} {v:.4f}"
                    for k, v in metrics[scenario_name].items()
                    if k in METRIC_COLUMNS
                )
            )
        timing = {"estimator": name, "fit s": fit_s}
        if adapt_scenario in scenarios:
            with memory.paused():
                adapted, seconds = time_adaptation(
                    estimator,
                    X,
                    y,
                    scenarios[adapt_scenario],
                    n_users=n_adapt_users,
                    n_ratings=n_adapt_ratings,
                )
            timing["adapted users"] = len(seconds)
            timing["adapt ratings"] = n_adapt_ratings
            timing["adapt ms median"] = (
                float(np.median(seconds)) * 1e3 if len(seconds) else float("nan")
            )
            timing["adapt ms p90"] = (
                float(np.percentile(seconds, 90)) * 1e3 if len(seconds) else np.nan
            )
            if all_users is None:
                all_users = pd.unique(_ids(X, 0))
            start = time.perf_counter()
            adapted.recommend(list(all_users), n=CATALOG_K, exclude_seen=True)
            timing["recommend users"] = len(all_users)
            timing["recommend all s"] = time.perf_counter() - start
            del adapted
    timing["RSS before MiB"] = memory.start_mib
    timing["peak RSS MiB"] = memory.peak_mib
    timing["peak - before MiB"] = memory.peak_mib - memory.start_mib
    log(
        f"  {name}: adapt median {timing.get('adapt ms median', np.nan):.2f} ms, "
        f"peak RSS {memory.peak_mib:.0f} MiB"
    )
    return metrics, timing


def run_benchmark(
    estimators: Mapping[str, object],
    X,
    y,
    scenarios: Mapping,
    *,
    rating_free: frozenset = frozenset(),
    log: Callable[[str], None] | None = None,
    **kwargs,
) -> dict:
    """Run :func:`run_estimator` for each estimator, in the same process.

    Parameters
    ----------
    estimators : mapping of str to estimator
        Unfitted estimators by name, run in this order.
    rating_free : set of str
        Names whose ``predict`` is a ranking score, not a rating (no MAE / RMSE).
    **kwargs
        Passed to :func:`run_estimator`.

    Returns
    -------
    results : dict
        ``metrics`` (scenario -> list of rows, one per estimator), ``timing`` (one
        row per estimator), ``summary`` (:func:`scenario_summary`) and
        ``max_rss_mib`` (:func:`process_peak_mib` at the end).
    """
    ordered = [n for n in SCENARIO_ORDER if n in scenarios]
    ordered += [n for n in scenarios if n not in ordered]
    scenarios = {n: scenarios[n] for n in ordered}
    per_scenario: dict = {n: [] for n in ordered}
    timing = []
    for name, estimator in estimators.items():
        metrics, row = run_estimator(
            name,
            estimator,
            X,
            y,
            scenarios,
            rating_metrics=name not in rating_free,
            log=log,
            **kwargs,
        )
        for scenario_name, values in metrics.items():
            per_scenario[scenario_name].append({"estimator": name, **values})
        timing.append(row)
        del estimator
        gc.collect()
    return {
        "metrics": per_scenario,
        "timing": timing,
        "summary": scenario_summary(X, y, scenarios),
        "max_rss_mib": process_peak_mib(),
    }


# -------------------------------------------------------------------------- output
def _fmt(value, digits=4):
    if isinstance(value, float | np.floating):
        return "–" if np.isnan(value) else f"{value:.{digits}f}"
    return str(value)


def _table(rows: list[dict], columns, digits) -> str:
    lines = [
        "| " + " | ".join(columns) + " |",
        "|" + "|".join("---" for _ in columns) + "|",
    ]
    for row in rows:
        cells = [_fmt(row.get(c, ""), digits.get(c, 4)) for c in columns]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def metric_table(rows: list[dict]) -> str:
    """Markdown table of one scenario: a row per estimator."""
    columns = ["estimator", *METRIC_COLUMNS, "partial_fit s"]
    return _table(rows, columns, {"partial_fit s": 3})


def timing_table(rows: list[dict]) -> str:
    """Markdown table of fit / adaptation / recommend times and memory."""
    columns = [
        "estimator",
        "fit s",
        "adapt ms median",
        "adapt ms p90",
        "recommend all s",
        "RSS before MiB",
        "peak RSS MiB",
        "peak - before MiB",
    ]
    digits = {c: 2 for c in columns}
    digits["RSS before MiB"] = digits["peak RSS MiB"] = digits["peak - before MiB"] = 0
    return _table(rows, columns, digits)


def format_report(results: dict) -> str:
    """All tables of :func:`run_benchmark` as markdown (the printed report)."""
    parts = [
        "### Scenarios\n",
        _table(results["summary"], list(results["summary"][0]), {}),
    ]
    for name, rows in results["metrics"].items():
        n_users = rows[0]["n_users"] if rows else 0
        parts.append(f"\n### {name} ({n_users} users)\n")
        parts.append(metric_table(rows))
    timing = results["timing"]
    first = timing[0] if timing else {}
    adapted = first.get("adapted users", 0)
    ratings = first.get("adapt ratings", 0)
    users = first.get("recommend users", 0)
    parts.append(
        f"\n### Time and memory\n\n*adapt ms*: `partial_fit` of one new user "
        f"with {ratings} ratings, {adapted} users one after another; *recommend "
        f"all s*: top-10 for all {users} users of the data set. Peak RSS of the "
        f"whole process (data loading included): {results['max_rss_mib']:.0f} MiB.\n\n"
    )
    parts.append(timing_table(timing))
    return "".join(parts)
