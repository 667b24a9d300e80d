"""Error against the number of support ratings of new users (MeLU user-cold, ML-1M).

Every estimator is fitted once on the MeLU train rows (``random_state=0``); each
user-cold user then gets their first 1, 3, 5, 10 and 20 ratings of one random order
as support in ``partial_fit``, and is scored on the same query rows at every size
(:func:`sklearn_metarec.metrics.cold_start_report`). Prints a table and writes it to
docs/benchmarks.md.

    python benchmarks/bench_support_curve.py [--estimators metacf,hybrid] [--quick]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_melu  # noqa: E402
from _report import write_section  # noqa: E402

from sklearn_metarec.metrics import cold_start_report  # noqa: E402
from sklearn_metarec.model_selection import MeLUSplit  # noqa: E402

SUPPORT_SIZES = (1, 3, 5, 10, 20)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--estimators", default="metacf,llm,hybrid,hybrid_genres")
    parser.add_argument("--quick", action="store_true", help="latest-small")
    parser.add_argument("--random-state", type=int, default=0)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args(argv)
    import torch

    torch.set_num_threads(1)
    start = time.perf_counter()
    X, y, dataset = bench_melu.load(args.quick, bench_melu.default_data_home())
    scenario = MeLUSplit(random_state=args.random_state).split_scenarios(X, y)[
        "user_cold"
    ]
    cv = [(scenario.train, np.concatenate([scenario.support, scenario.query]))]
    names = ["bias", *bench_melu.parse_estimators(args.estimators)]
    names = [n for n in dict.fromkeys(names) if n != "popularity"]
    rows = []
    for name in names:
        began = time.perf_counter()
        report = cold_start_report(
            bench_melu.ESTIMATORS[name](args.random_state),
            X,
            y,
            cv,
            support_sizes=SUPPORT_SIZES,
            metrics=("mae", "ndcg@3"),
            random_state=args.random_state,
        )
        report["estimator"] = name
        rows.append(report)
        print(f"  {name}: {time.perf_counter() - began:.1f} s", file=sys.stderr)
    report = pd.concat(rows, ignore_index=True)
    table = report.pivot_table(
        index=["metric", "estimator"], columns="n_support", values="value", sort=False
    )
    users = int(report["n_users"].max())
    lines = [
        "| metric | estimator | "
        + " | ".join(f"{s} ratings" for s in SUPPORT_SIZES)
        + " |",
        "|---|---|" + "---|" * len(SUPPORT_SIZES),
    ]
    bias = table.xs("bias", level="estimator")
    for (metric, name), values in table.iterrows():
        cells = []
        for size in SUPPORT_SIZES:
            cell = f"{values[size]:.4f}"
            if name != "bias":
                better = (
                    values[size] < bias.loc[metric, size]
                    if metric == "mae"
                    else values[size] > bias.loc[metric, size]
                )
                cell += "" if better else " (not better than bias)"
            cells.append(cell)
        lines.append(f"| {metric} | {name} | " + " | ".join(cells) + " |")
    elapsed = time.perf_counter() - start
    body = (
        f"Data: {dataset}; MeLU user-cold scenario (`MeLUSplit(random_state="
        f"{args.random_state})`), {users} users with more than 20 non-train ratings. "
        "Each estimator is fitted once on the train rows; every user's ratings are "
        "put in one random order (the same for every estimator); the first *s* are "
        "the support given to `partial_fit`, the ratings after the 20th are the "
        "query at every size. `mae` is per-user MAE averaged over users (lower is "
        "better), `ndcg@3` ranks each user's query items by `predict`. Torch on one "
        f"thread; total wall time {elapsed:.0f} s.\n\n" + "\n".join(lines)
    )
    print(body)
    if not args.no_write:
        command = " ".join(
            ["python benchmarks/bench_support_curve.py", *(argv or sys.argv[1:])]
        )
        suffix = "quick" if args.quick else "ml1m"
        write_section(
            f"support_curve_{suffix}",
            "New users by number of support ratings (MeLU user-cold)",
            command,
            body,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
