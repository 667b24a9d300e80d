"""How fit cost grows with the number of users, and the memory of predict / recommend.

Two parts, on synthetic logs from
:func:`~sklearn_metarec.datasets.make_interactions` (user id, item id, title and
genres; every user rates ``--ratings-per-user`` items on average):

1. **Fit**: :class:`~sklearn_metarec.MetaCFRecommender` (default parameters
   unless ``--max-epochs``) beside implicit's ALS (``bench_topn.ALSPeer``), EASE
   (where its dense item x item matrices fit in ``EASE_MAX_GIB``) and
   :class:`~sklearn_metarec.baselines.BiasRecommender`, one fresh process per
   (size, estimator) (10k, 50k and 200k users over 50k items, 100 ratings per
   user: 1M, 5M and 20M ratings, by default); the table gives wall time and peak
   memory of each fit, how both grow against the smallest size, and the exponent
   of fit time against the number of ratings.
2. **Serving memory**: on 100k users x 50k items, one process per estimator fits it,
   then measures ``predict`` on 100k and 1M rows (and, for reference, on 1M rows with
   the row chunking switched off) and ``recommend(n=10)`` for 10k and for all 100k
   users. Memory above the RSS before each call should stay flat as the calls grow:
   ``predict`` scores rows in blocks of ``_PREDICT_CHUNK_ROWS`` and ``recommend``
   holds at most ``_RECOMMEND_CHUNK_CELLS`` scores at once (both constants are in
   ``sklearn_metarec/base.py``).

3. **All of MovieLens-1M** (1,000,209 ratings, 6,040 users, 3,706 movies with
   MeLU's text; read from the data home, see ``bench_melu.default_data_home``): one
   fresh process per estimator fits it with default parameters, the meta
   estimators beside implicit's ALS (``bench_topn.ALSPeer``), EASE and the bias
   model, ``--ml1m-repeats`` times each (estimators interleaved; this machine's
   timings vary by 10-20 % from run to run), and the table gives the run of median
   wall time, the range, peak memory, the ratio to ALS and each step of the meta
   estimators' ``fit`` (``fit_times_``); ``metacf@1`` is MetaCF on one torch
   thread. Their text is read by
   MiniLM through the embedding cache ``benchmarks/.text_cache``: the *encode
   text* step is reported apart, and is about a second once the cache is warm.
   With ``--profile``, one more process runs the MetaCF fit (2 epochs) under
   cProfile and its top rows (own time) are written too.

Every case runs in a fresh Python subprocess, so one case's memory does not carry
over to the next. Inside it, each measured call starts after ``gc.collect()`` and
``malloc_trim(0)`` (freed memory goes back to the system), and its peak is the
kernel's high-water mark, reset at the start of the call, or a 20 ms RSS sampler
(``benchmarks/_harness.py``, :class:`PeakRSS`).

Usage::

    python benchmarks/bench_scale.py [--sizes 10000,50000,200000] [--n-items 50000]
        [--ratings-per-user 100] [--max-epochs N] [--fit-estimators ...]
        [--serve-users 100000]
        [--serve-items 50000] [--serve-ratings-per-user 20] [--serve-max-epochs 1]
        [--predict-rows 1000000]
        [--torch-threads 0] [--skip-fit] [--skip-serve] [--skip-ml1m] [--profile]
        [--ml1m-repeats 3]
        [--quick] [--no-write]

The tables are printed and written to sections ``scale`` (fit), ``scale_serve``
and ``scale_ml1m`` of ``docs/benchmarks.md``, each only by a run of its part
(``--quick``, tiny sizes for a smoke test, never writes).
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import gc
import json
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

from _harness import PeakRSS, rss_mib  # noqa: E402
from _report import markdown_table, write_section  # noqa: E402

QUICK = {
    "sizes": [500, 1000],
    "n_items": 200,
    "ratings_per_user": 20,
    "max_epochs": 1,
    "serve_users": 2000,
    "serve_items": 1000,
    "serve_ratings_per_user": 20,
    "predict_rows": 100_000,
}


# ----------------------------------------------------------------- child process
def _trim() -> None:
    """Collect garbage and hand freed heap memory back to the system (glibc)."""
    gc.collect()
    with contextlib.suppress(OSError, AttributeError):  # not glibc
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def _load_avg() -> float:
    try:
        return os.getloadavg()[0]
    except OSError:  # pragma: no cover
        return float("nan")


def _measure(label: str, call) -> tuple[dict, object]:
    """Run ``call()`` and return its wall time and memory, and its result."""
    _trim()
    load = _load_avg()
    with PeakRSS(interval=0.02) as mem:
        start = time.perf_counter()
        result = call()
        wall = time.perf_counter() - start
    row = {
        "call": label,
        "wall_s": wall,
        "rss_before_mib": mem.start_mib,
        "peak_rss_mib": mem.peak_mib,
        "delta_mib": mem.peak_mib - mem.start_mib,
        "load_avg": load,
    }
    print(f"  {label}: {wall:.2f} s, +{row['delta_mib']:.0f} MiB", file=sys.stderr)
    return row, result


FIT_ESTIMATORS = ("bias", "als", "ease", "metacf")
#: EASE runs where its dense item x item matrices (the Gram matrix, its inverse
#: and the weights, float64) take at most this much memory.
EASE_MAX_GIB = 8.0


def _ease_gib(n_items: int) -> float:
    return 3 * 8 * n_items**2 / 2**30


def _estimator(name: str, max_epochs: int | None, random_state: int = 0):
    from sklearn_metarec import MetaCFRecommender
    from sklearn_metarec.baselines import BiasRecommender, EASERecommender

    if name == "bias":
        return BiasRecommender()
    if name == "als":
        from bench_topn import ALSPeer

        return ALSPeer(random_state=random_state)
    if name == "ease":
        return EASERecommender()
    epochs = {} if max_epochs is None else {"max_epochs": max_epochs}
    return MetaCFRecommender(random_state=random_state, **epochs)


def _data(n_users: int, n_items: int, ratings_per_user: int):
    from sklearn_metarec.datasets import make_interactions

    start = time.perf_counter()
    n = min(n_users * ratings_per_user, n_users * n_items)
    X, y = make_interactions(n_users, n_items, n, random_state=0)
    info = {
        "make_interactions_s": time.perf_counter() - start,
        "n_ratings": len(X),
        "n_users_rated": int(X["user_id"].nunique()),
        "n_items_rated": int(X["item_id"].nunique()),
        "X_mib": float(X.memory_usage(deep=True).sum()) / 2**20,
    }
    return X, y, info


def fit_case(cfg: dict) -> dict:
    """Fit one estimator (``cfg["estimator"]``) on one synthetic log."""
    X, y, info = _data(cfg["n_users"], cfg["n_items"], cfg["ratings_per_user"])
    info["rss_after_data_mib"] = rss_mib()
    name = cfg["estimator"]
    est = _estimator(name, cfg["max_epochs"])
    row, _ = _measure(f"fit {name}", lambda: est.fit(X, y))
    row["estimator"] = name
    row["steps"] = dict(getattr(est, "fit_times_", {}))
    if hasattr(est, "meta_batch_size_"):
        row["meta_batch_size"] = est.meta_batch_size_
        row["epochs"] = len(est.history_)
    return {**info, "rows": [row]}


def serve_case(cfg: dict) -> dict:
    """Fit one estimator on a large log, then measure predict and recommend."""
    import numpy as np

    import sklearn_metarec.base as base

    X, y, info = _data(cfg["n_users"], cfg["n_items"], cfg["ratings_per_user"])
    est = _estimator(cfg["estimator"], cfg["max_epochs"])
    fit_row, _ = _measure("fit", lambda: est.fit(X, y))
    rng = np.random.default_rng(0)
    n_rows = cfg["predict_rows"]
    rows = rng.choice(len(X), n_rows, replace=n_rows > len(X))
    X_big = X.iloc[rows].reset_index(drop=True)
    X_small = X_big.iloc[: n_rows // 10]
    users = np.arange(cfg["n_users"])
    out = [fit_row]
    calls = [
        (f"predict {len(X_small):,} rows", lambda: est.predict(X_small)),
        (f"predict {len(X_big):,} rows", lambda: est.predict(X_big)),
        (f"predict {len(X_big):,} rows, unchunked", lambda: est.predict(X_big)),
        ("recommend 1 user (first call)", lambda: est.recommend(users[:1], n=10)),
        (
            f"recommend {len(users) // 10:,} users",
            lambda: est.recommend(users[: len(users) // 10], n=10),
        ),
        (f"recommend {len(users):,} users", lambda: est.recommend(users, n=10)),
    ]
    chunk_rows = base._PREDICT_CHUNK_ROWS
    for label, call in calls:
        if label.endswith("unchunked"):
            base._PREDICT_CHUNK_ROWS = len(X_big) + 1
        try:
            row, result = _measure(label, call)
        finally:
            base._PREDICT_CHUNK_ROWS = chunk_rows
        out.append(row)
        del result
    info["predict_chunk_rows"] = chunk_rows
    info["recommend_chunk_cells"] = base._RECOMMEND_CHUNK_CELLS
    return {**info, "rows": out}


ML1M_ESTIMATORS = ("als", "ease", "bias", "metacf", "metacf@1", "hybrid")
#: An ML-1M estimator name with this suffix runs on one torch thread, whatever
#: --torch-threads says.
ONE_THREAD = "@1"
ML1M_STEPS = ("encode text", "meta-train", "refit biases", "neighbours")


def _ml1m_estimator(name: str, text_columns):
    from bench_topn import TEXT_CACHE, ALSPeer

    from sklearn_metarec import HybridMetaRecommender, MetaCFRecommender
    from sklearn_metarec.baselines import BiasRecommender, EASERecommender
    from sklearn_metarec.text import TransformerTextEncoder

    if name == "als":
        return ALSPeer(random_state=0)
    if name == "ease":
        return EASERecommender()
    if name == "bias":
        return BiasRecommender()
    if name == "metacf":
        return MetaCFRecommender(random_state=0)
    return HybridMetaRecommender(
        text_columns=text_columns,
        encoder=TransformerTextEncoder(cache_dir=str(TEXT_CACHE)),
        random_state=0,
    )


def ml1m_case(cfg: dict) -> dict:
    """Fit one estimator, defaults, on all of MovieLens-1M (or profile MetaCF)."""
    from bench_topn import load

    frame, _, text_columns = load("ml-1m", Path(cfg["data_home"]))
    y = frame.pop("rating").to_numpy()
    info = {"n_ratings": len(frame), "n_users": int(frame["user_id"].nunique())}
    if cfg["estimator"] == "profile":
        import cProfile
        import pstats

        from sklearn_metarec import MetaCFRecommender

        est = MetaCFRecommender(random_state=0, max_epochs=2)
        profile = cProfile.Profile()
        profile.runcall(est.fit, frame, y)
        stats = pstats.Stats(profile)
        rows = []
        for (path, line, func), (_, calls, own, cum, _) in sorted(
            stats.stats.items(), key=lambda kv: -kv[1][2]
        )[: cfg["profile_rows"]]:
            where = f"{Path(path).name}:{line}({func})" if line else func
            rows.append({"function": where, "calls": calls, "own s": own, "cum s": cum})
        return {**info, "profile": rows, "total_s": stats.total_tt}
    est = _ml1m_estimator(cfg["estimator"].removesuffix(ONE_THREAD), text_columns)
    row, _ = _measure(f"fit {cfg['estimator']}", lambda: est.fit(frame, y))
    row["steps"] = dict(getattr(est, "fit_times_", {}))
    return {**info, "rows": [row]}


def child(argv: list[str]) -> None:
    cfg = json.loads(argv[0])
    threads = cfg["torch_threads"]
    if str(cfg.get("estimator", "")).endswith(ONE_THREAD):
        threads = 1
    if threads:
        import torch

        torch.set_num_threads(threads)
    cases = {"fit": fit_case, "serve": serve_case, "ml1m": ml1m_case}
    print(json.dumps(cases[cfg["kind"]](cfg)))


def run_child(cfg: dict) -> dict:
    """Run one case in a fresh interpreter; its progress goes to our stderr."""
    out = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--child", json.dumps(cfg)],
        check=True,
        stdout=subprocess.PIPE,
        text=True,
        cwd=REPO,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


# --------------------------------------------------------------------- tables
def growth_exponents(results: list[dict]) -> dict[str, float]:
    """Per estimator, the least-squares slope of log fit time against log ratings
    over the sizes it ran at (NaN with fewer than two)."""
    import numpy as np

    points: dict[str, list] = {}
    for res in results:
        for row in res["rows"]:
            points.setdefault(row["estimator"], []).append(
                (res["n_ratings"], row["wall_s"])
            )
    out = {}
    for name, pts in points.items():
        n, t = np.log(np.array(pts, dtype=float)).T
        out[name] = float(np.polyfit(n, t, 1)[0]) if len(pts) > 1 else float("nan")
    return out


def fit_table(results: list[dict]) -> list[dict]:
    """One row per (size, estimator); growth against the estimator's first size."""
    first: dict = {}
    for res in results:
        for row in res["rows"]:
            first.setdefault(row["estimator"], (res, row))
    exponents = growth_exponents(results)
    table = []
    for res in results:
        for row in res["rows"]:
            res0, ref = first[row["estimator"]]
            n0, r0 = res0["n_users"], res0["n_ratings"]
            steps = row.get("steps", {})
            table.append(
                {
                    "users": f"{res['n_users']:,}",
                    "items": f"{res['n_items']:,}",
                    "ratings": f"{res['n_ratings']:,}",
                    "estimator": row["estimator"],
                    "fit s": row["wall_s"],
                    "meta-train s": steps.get("meta-train", float("nan")),
                    "fit s / first": _ratio(row["wall_s"], ref["wall_s"]),
                    "ratings / first": res["n_ratings"] / r0,
                    "time exponent": exponents[row["estimator"]],
                    "users / first": res["n_users"] / n0,
                    "RSS before MiB": row["rss_before_mib"],
                    "peak RSS MiB": row["peak_rss_mib"],
                    "fit peak - before MiB": row["delta_mib"],
                    "fit memory / first": _ratio(row["delta_mib"], ref["delta_mib"]),
                    "load avg": row["load_avg"],
                }
            )
    return table


def serve_table(results: list[dict]) -> list[dict]:
    table = []
    for res in results:
        for row in res["rows"]:
            table.append(
                {
                    "estimator": res["estimator"],
                    "call": row["call"],
                    "wall s": row["wall_s"],
                    "RSS before MiB": row["rss_before_mib"],
                    "peak RSS MiB": row["peak_rss_mib"],
                    "peak - before MiB": row["delta_mib"],
                    "load avg": row["load_avg"],
                }
            )
    return table


def ml1m_table(results: list[dict]) -> list[dict]:
    """One row per estimator, from its median run of the repeats: wall time (and
    the range over the repeats), ratio to ALS, memory, fit's steps."""
    runs: dict[str, list[dict]] = {}
    for res in results:
        row = res["rows"][0]
        text = row["steps"].get("encode text", 0.0)
        runs.setdefault(res["estimator"], []).append(
            {**row, "without_text_s": row["wall_s"] - text}
        )
    medians = {
        name: sorted(rows, key=lambda r: r["wall_s"])[(len(rows) - 1) // 2]
        for name, rows in runs.items()
    }
    als = medians["als"]["without_text_s"] if "als" in medians else 0.0
    table = []
    for name, row in medians.items():
        walls = [r["wall_s"] for r in runs[name]]
        steps = row["steps"]
        table.append(
            {
                "estimator": name,
                "fit s": row["wall_s"],
                "fit s range": f"{min(walls):.1f}-{max(walls):.1f}",
                "fit s without encode text": row["without_text_s"],
                "/ ALS": _ratio(row["without_text_s"], als),
                **{f"{step} s": steps.get(step, float("nan")) for step in ML1M_STEPS},
                "fit peak - before MiB": row["delta_mib"],
                "load avg": row["load_avg"],
            }
        )
    return table


def describe(args, fit_results, serve_results, elapsed, ml1m=(), profile=None) -> str:
    parts = []
    if ml1m:
        data = ml1m[0]
        parts.append(
            "### All of MovieLens-1M, default parameters\n\n"
            f"{data['n_ratings']:,} ratings of {data['n_users']:,} users, every "
            "column `fetch_movielens('1m')` returns (MeLU's year, rating, genre, "
            "director, writer, actors, plot; user gender, age, occupation, zip). "
            "One fresh process per estimator and repeat: `ALSPeer()` (implicit's "
            "ALS, 64 factors, 15 iterations, its own threads), `EASERecommender()`, "
            "`BiasRecommender()`, `MetaCFRecommender(random_state=0)` and "
            "`HybridMetaRecommender(text_columns, MiniLM with the embedding cache, "
            f"random_state=0)`, torch on {_threads(args.torch_threads)}; "
            f"*metacf@1* is MetaCF again on one torch thread. Each estimator runs "
            f"{args.ml1m_repeats} times in turn (the estimators interleaved); the row "
            "is its run of median fit time, *fit s range* the fastest and slowest "
            "run. */ ALS* divides the fit time without the text encoding by ALS's; "
            "the step columns are `fit_times_` (NaN: no such step).\n\n"
            + markdown_table(ml1m_table(ml1m), floatfmt=".1f")
        )
    if profile is not None:
        parts.append(
            "### Where MetaCF's fit time goes (cProfile, ML-1M, 2 epochs)\n\n"
            f"`MetaCFRecommender(random_state=0, max_epochs=2).fit` under cProfile "
            f"({profile['total_s']:.1f} s in all, profiler overhead included); the "
            f"top {len(profile['profile'])} functions by own time.\n\n"
            + markdown_table(profile["profile"], floatfmt=".2f")
        )
    if fit_results:
        data = fit_results[-1]
        parts.append(
            "### Fit time and memory against the number of interactions\n\n"
            f"`make_interactions(n_users, {args.n_items:,} items, "
            f"{args.ratings_per_user} x n_users ratings, random_state=0)` (user id, "
            "item id, title, genres; power-law item popularity; the largest log "
            f"takes {data['make_interactions_s']:.1f} s to generate and "
            f"{data['X_mib']:.0f} MiB). One fresh process per size and estimator: "
            "`BiasRecommender()`, `ALSPeer()` (implicit's ALS, 64 factors, 15 "
            "iterations, binary interactions, its own threads), "
            "`EASERecommender()` (only where its three dense item x item float64 "
            f"matrices take at most {EASE_MAX_GIB:.0f} GiB: "
            f"{_ease_gib(args.n_items):.1f} GiB for {args.n_items:,} items"
            f"{'' if _ease_gib(args.n_items) <= EASE_MAX_GIB else ', so not run'}) "
            "and `MetaCFRecommender("
            + ("" if args.max_epochs is None else f"max_epochs={args.max_epochs}, ")
            + "random_state=0)` (default parameters otherwise: "
            f"meta_batch_size='auto' gives {_batches(fit_results)}), torch on "
            f"{_threads(args.torch_threads)}. *time exponent* is the slope of log "
            "fit time against log ratings over the sizes (1: linear). *fit peak - "
            "before* is the peak RSS during `fit` above the RSS just before it "
            "(the log is already in memory; *peak RSS* is the process's); */ "
            "first* columns divide by the smallest size.\n\n"
            + markdown_table(fit_table(fit_results), floatfmt=".2f")
        )
    if serve_results:
        data = serve_results[0]
        parts.append(
            "### Memory of predict and recommend\n\n"
            f"`make_interactions({data['n_users']:,} users, {data['n_items']:,} "
            f"items, {data['n_ratings']:,} ratings, random_state=0)`; one fresh "
            "process per estimator fits it (`MetaCFRecommender("
            f"max_epochs={args.serve_max_epochs}, random_state=0)`: the model's "
            "quality does not matter here), then runs the calls in table order. "
            "`predict` gets rows drawn at random from the log (the smaller call "
            "takes the first tenth of them); *unchunked* is the same call with "
            "`_PREDICT_CHUNK_ROWS` raised above the number of rows, i.e. the "
            "behaviour before chunking. `predict` scores "
            f"{data['predict_chunk_rows']:,} rows at a time and `recommend` "
            f"{data['recommend_chunk_cells']:,} (user, item) scores at a time "
            f"({data['recommend_chunk_cells'] // data['n_items']} users of "
            f"{data['n_items']:,} items). The first `recommend` call builds the "
            "users x items matrix of seen items (O(ratings), cached), so the "
            "later calls show the cost per user. *peak - before* is the peak RSS "
            "during the call above the RSS just before it; it includes the "
            "result (8 bytes per predicted row; one array of 10 ids per "
            "recommended user).\n\n"
            + markdown_table(serve_table(serve_results), floatfmt=".2f")
        )
    parts.append(
        f"Total wall time of the command: {elapsed:.0f} s. *load avg* is the "
        "1-minute load average when the call started: other processes share "
        "this machine's 2 cores, and a load above 2 inflates wall times."
    )
    return "\n".join(parts)


def main(argv=None) -> str:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["--child"]:
        child(argv[1:])
        return ""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10000,50000,200000")
    parser.add_argument("--n-items", type=int, default=50_000)
    parser.add_argument("--ratings-per-user", type=int, default=100)
    parser.add_argument(
        "--max-epochs", type=int, default=None, help="MetaCF's (default: its own)"
    )
    parser.add_argument(
        "--fit-estimators", default=",".join(FIT_ESTIMATORS), help="comma list"
    )
    parser.add_argument("--serve-users", type=int, default=100_000)
    parser.add_argument("--serve-items", type=int, default=50_000)
    parser.add_argument("--serve-max-epochs", type=int, default=1)
    parser.add_argument("--serve-ratings-per-user", type=int, default=20)
    parser.add_argument("--predict-rows", type=int, default=1_000_000)
    parser.add_argument(
        "--torch-threads",
        type=int,
        default=0,
        help="torch intra-op threads in each case (0: torch's default)",
    )
    parser.add_argument("--skip-fit", action="store_true")
    parser.add_argument("--skip-serve", action="store_true")
    parser.add_argument("--skip-ml1m", action="store_true")
    parser.add_argument(
        "--ml1m-estimators", default=",".join(ML1M_ESTIMATORS), help="comma list"
    )
    parser.add_argument(
        "--ml1m-repeats", type=int, default=3, help="fresh fits per estimator"
    )
    parser.add_argument(
        "--profile", action="store_true", help="profile MetaCF's fit on ML-1M"
    )
    parser.add_argument("--profile-rows", type=int, default=15)
    parser.add_argument("--data-home", default=None)
    parser.add_argument(
        "--quick", action="store_true", help="tiny sizes (smoke test); never writes"
    )
    parser.add_argument(
        "--no-write", action="store_true", help="do not update docs/benchmarks.md"
    )
    args = parser.parse_args(argv)
    if args.quick:
        for key, value in QUICK.items():
            setattr(args, key, value)
        args.serve_max_epochs = 1
    sizes = (
        args.sizes
        if isinstance(args.sizes, list)
        else [int(s) for s in args.sizes.split(",")]
    )
    common = {"torch_threads": args.torch_threads}
    total = time.perf_counter()

    fit_results = []
    if not args.skip_fit:
        names = [n.strip() for n in args.fit_estimators.split(",") if n.strip()]
        if _ease_gib(args.n_items) > EASE_MAX_GIB:
            names = [n for n in names if n != "ease"]
        for n_users in sizes:
            cfg = {
                **common,
                "kind": "fit",
                "n_users": n_users,
                "n_items": args.n_items,
                "ratings_per_user": args.ratings_per_user,
                "max_epochs": args.max_epochs,
            }
            result = None
            for name in names:
                print(f"fit, {n_users:,} users, {name}", file=sys.stderr)
                out = run_child({**cfg, "estimator": name})
                if result is None:
                    result = {**cfg, **out}
                else:
                    result["rows"] += out["rows"]
            fit_results.append(result)
    serve_results = []
    if not args.skip_serve:
        for name in ("bias", "metacf"):
            print(f"serve, {name}", file=sys.stderr)
            cfg = {
                **common,
                "kind": "serve",
                "estimator": name,
                "n_users": args.serve_users,
                "n_items": args.serve_items,
                "ratings_per_user": args.serve_ratings_per_user,
                "max_epochs": args.serve_max_epochs,
                "predict_rows": args.predict_rows,
            }
            serve_results.append({**cfg, **run_child(cfg)})
    ml1m, profile = [], None
    if not (args.skip_ml1m or args.quick):
        from bench_melu import default_data_home

        home = str(args.data_home or default_data_home())
        names = [n.strip() for n in args.ml1m_estimators.split(",") if n.strip()]
        for repeat in range(args.ml1m_repeats):
            for name in names:
                print(f"ml-1m, {name}, run {repeat + 1}", file=sys.stderr)
                cfg = {**common, "kind": "ml1m", "estimator": name, "data_home": home}
                ml1m.append({**cfg, **run_child(cfg)})
        if args.profile:
            print("ml-1m, profile", file=sys.stderr)
            cfg = {
                **common,
                "kind": "ml1m",
                "estimator": "profile",
                "data_home": home,
                "profile_rows": args.profile_rows,
            }
            profile = run_child(cfg)
    elapsed = time.perf_counter() - total
    body = describe(args, fit_results, [], elapsed)
    serve_body = describe(args, [], serve_results, elapsed)
    ml1m_body = describe(args, [], [], elapsed, ml1m, profile)
    for part, shown in ((body, fit_results), (serve_body, serve_results)):
        if shown:
            print(part)
    if not (args.quick or args.no_write):
        command = " ".join(["python benchmarks/bench_scale.py", *argv])
        # Each part has its own section, so a run of one part keeps the others'.
        if fit_results:
            path = write_section(
                "scale",
                "Scaling: fit time and memory against the number of interactions",
                command,
                body,
            )
            print(f"wrote {path}", file=sys.stderr)
        if serve_results:
            path = write_section(
                "scale_serve",
                "Scaling: memory of predict and recommend",
                command,
                serve_body,
            )
            print(f"wrote {path}", file=sys.stderr)
        if ml1m or profile is not None:
            print(ml1m_body)
            path = write_section(
                "scale_ml1m",
                "Fit time on all of MovieLens-1M, beside ALS and EASE",
                command,
                ml1m_body,
            )
            print(f"wrote {path}", file=sys.stderr)
    return body


def _threads(torch_threads: int) -> str:
    if torch_threads:
        return f"{torch_threads} thread{'s' if torch_threads > 1 else ''}"
    import torch

    return f"its default threads ({torch.get_num_threads()} here)"


def _batches(fit_results: list[dict]) -> str:
    sizes = sorted(
        {
            row["meta_batch_size"]
            for res in fit_results
            for row in res["rows"]
            if "meta_batch_size" in row
        }
    )
    return f"{', '.join(map(str, sizes)) or 'no'} users per outer step"


def _ratio(value: float, reference: float) -> float:
    """``value / reference``; NaN when the reference is 0 (tiny smoke-test runs)."""
    return value / reference if reference else float("nan")


if __name__ == "__main__":
    main()
