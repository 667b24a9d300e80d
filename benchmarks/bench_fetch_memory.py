"""Peak memory and wall time of the MovieLens loaders.

Every case runs in a fresh Python subprocess (so peak RSS is the loader's own, not
left over from an earlier case) and is repeated; the table reports the median wall
time and the largest peak RSS. Cases:

- ``load_movielens_small()``, the bundled data set;
- ``fetch_movielens("1m")`` from the shared data home with the MeLU extra
  information (year, credits, plot text), and from a data home with ``ml-1m`` only;
- for reference, the naive parse of ``ratings.dat`` alone with
  ``pd.read_csv(sep="::", engine="python")``, which the loaders avoid.

Usage::

    python benchmarks/bench_fetch_memory.py [--data-home PATH] [--repeats 3]

``--data-home`` defaults to ``$SKLEARN_METAREC_SHARED_DATA`` or ``shared/data`` beside
the repository. The table is printed and written to the ``fetch_memory`` section of
``docs/benchmarks.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

CHILD = r"""
import json, resource, sys, time
import pandas as pd
import sklearn_metarec.datasets as ds

def rss_mib():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")

case, data_home = sys.argv[1], sys.argv[2]
before = rss_mib()
start = time.perf_counter()
if case == "small":
    bunch = ds.load_movielens_small()
elif case == "naive":
    frame = pd.read_csv(
        data_home + "/ml-1m/ratings.dat", sep="::", engine="python", header=None,
        names=["user_id", "item_id", "rating", "timestamp"],
    )
else:
    bunch = ds.fetch_movielens(case, data_home=data_home, download_if_missing=False)
wall = time.perf_counter() - start
if case != "naive":
    frame = bunch.frame
print(json.dumps({
    "wall_s": wall,
    "rss_before_mib": before,
    "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    "rss_after_mib": rss_mib(),
    "frame_mib": float(frame.memory_usage(deep=True).sum()) / 2**20,
    "n_rows": len(frame),
    "n_columns": frame.shape[1],
    "n_users": int(frame["user_id"].nunique()),
    "n_items": int(frame["item_id"].nunique()),
    "has_plot": "plot" in frame.columns,
}))
"""


def run_case(case: str, data_home: Path) -> dict:
    """Run one case in a fresh interpreter and return its measurements."""
    out = subprocess.run(
        [sys.executable, "-c", CHILD, case, str(data_home)],
        check=True,
        capture_output=True,
        text=True,
        cwd=REPO,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def default_data_home() -> Path:
    env = os.environ.get("SKLEARN_METAREC_SHARED_DATA")
    return Path(env) if env else REPO.parent / "shared" / "data"


def main(argv=None) -> str:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-home", type=Path, default=default_data_home())
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    data_home = args.data_home.resolve()
    if not (data_home / "ml-1m" / "ratings.dat").is_file():
        sys.exit(f"MovieLens 1M not found under {data_home}; pass --data-home.")

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from _report import markdown_table, write_section

    with tempfile.TemporaryDirectory() as tmp:
        # A data home holding ml-1m but not the MeLU extra information.
        plain_home = Path(tmp)
        (plain_home / "ml-1m").symlink_to(data_home / "ml-1m")
        cases = [
            ("load_movielens_small()", "small", data_home),
            ('fetch_movielens("latest-small")', "latest-small", data_home),
            ('fetch_movielens("1m"), ml-1m only', "1m", plain_home),
            ('fetch_movielens("1m") with plots', "1m", data_home),
            (
                'reference: read_csv(ratings.dat, sep="::", engine="python")',
                "naive",
                data_home,
            ),
        ]
        rows = []
        for label, case, home in cases:
            runs = [run_case(case, home) for _ in range(args.repeats)]
            first = runs[0]
            peak = max(r["peak_rss_mib"] for r in runs)
            before = statistics.median(r["rss_before_mib"] for r in runs)
            rows.append(
                {
                    "case": label,
                    "ratings": f"{first['n_rows']:,}",
                    "users": f"{first['n_users']:,}",
                    "items": f"{first['n_items']:,}",
                    "frame columns": first["n_columns"],
                    "wall s (median)": statistics.median(r["wall_s"] for r in runs),
                    "wall s (min)": min(r["wall_s"] for r in runs),
                    "RSS after imports MiB": before,
                    "peak RSS MiB": peak,
                    "peak - imports MiB": peak - before,
                    "result MiB": first["frame_mib"],
                }
            )
            print(f"{label}: {rows[-1]}", flush=True)

    table = markdown_table(rows, floatfmt=".2f")
    body = (
        f"Each case runs {args.repeats} times, each in a fresh Python subprocess; "
        "wall time covers the loader call only (imports excluded). Peak RSS is the "
        "process maximum (`ru_maxrss`), including the interpreter, numpy, pandas and "
        "scikit-learn; *peak - imports* is the loader's own high-water mark. *Result "
        "MiB* is `frame.memory_usage(deep=True)`: the text columns are pandas "
        "Categoricals, so per-rating title, genres and plot cost two bytes each.\n\n"
        + table
    )
    print()
    print(table)
    command = "python benchmarks/bench_fetch_memory.py"
    if args.repeats != 3:
        command += f" --repeats {args.repeats}"
    path = write_section(
        "fetch_memory", "MovieLens loading: wall time and peak memory", command, body
    )
    print(f"wrote {path}")
    return table


if __name__ == "__main__":
    main()
