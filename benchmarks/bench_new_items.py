"""Ranking new items on several MeLU splits: text against genres (ML-1M).

The *new nDCG@10* of ``bench_melu.py`` (each user's candidates are the items never
seen in training) on one split moves by a few hundredths between splits: the
item-cold and both-cold scenarios have a few hundred users with a relevant new
item. This script repeats it on ``MeLUSplit(random_state=s)`` for several seeds
(each estimator is fitted once per split, with ``random_state=s``) and reports each
split and the mean, so that text and genre-only content can be compared on more
than one draw. Prints a table and writes section ``new_items_ml1m`` of
docs/benchmarks.md.

    python benchmarks/bench_new_items.py [--seeds 0,1,2,3,4,5]
                                         [--estimators llm,genre_only,hybrid]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_melu  # noqa: E402
from _harness import _take, evaluate_scenario  # noqa: E402
from _report import write_section  # noqa: E402

from sklearn_metarec.model_selection import MeLUSplit  # noqa: E402

SCENARIOS = ("item_cold", "both_cold")
COLUMN = "new nDCG@10"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", default="0,1,2,3,4,5")
    parser.add_argument(
        "--estimators", default="bias,llm,genre_only,hybrid,hybrid_genres"
    )
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args(argv)
    import torch

    torch.set_num_threads(1)
    start = time.perf_counter()
    seeds = [int(s) for s in args.seeds.split(",") if s.strip()]
    names = [n.strip() for n in args.estimators.split(",") if n.strip()]
    unknown = [n for n in names if n not in bench_melu.ESTIMATORS]
    if unknown:
        parser.error(f"unknown estimator(s) {unknown}")
    X, y, dataset = bench_melu.load(False, bench_melu.default_data_home())
    scores = {(n, s): {} for n in names for s in seeds}
    users = {}
    for seed in seeds:
        scenarios = MeLUSplit(random_state=seed).split_scenarios(X, y)
        train = scenarios["item_cold"].train
        for name in names:
            model = bench_melu.ESTIMATORS[name](seed)
            model.fit(_take(X, train), y[train])
            for scenario in SCENARIOS:
                out = evaluate_scenario(
                    model, X, y, scenarios[scenario], rating_metrics=False
                )
                scores[name, seed][scenario] = out[COLUMN]
                users[seed, scenario] = out["n_users"]
            print(
                f"  seed {seed} {name}: "
                + ", ".join(f"{k} {v:.4f}" for k, v in scores[name, seed].items()),
                file=sys.stderr,
            )

    header = ["estimator"]
    for scenario in SCENARIOS:
        header += [f"{scenario} s={s}" for s in seeds] + [f"{scenario} mean"]
    lines = ["| " + " | ".join(header) + " |", "|---" * len(header) + "|"]
    means = {}
    for name in names:
        cells = [name]
        for scenario in SCENARIOS:
            values = [scores[name, s][scenario] for s in seeds]
            means[name, scenario] = float(np.mean(values))
            cells += [f"{v:.4f}" for v in values] + [f"{means[name, scenario]:.4f}"]
        lines.append("| " + " | ".join(cells) + " |")
    comparison = []
    if {"llm", "genre_only"} <= set(names):
        for scenario in SCENARIOS:
            wins = sum(
                scores["llm", s][scenario] > scores["genre_only", s][scenario]
                for s in seeds
            )
            diff = means["llm", scenario] - means["genre_only", scenario]
            comparison.append(
                f"- {scenario}: llm minus genre_only, mean over the splits "
                f"{diff:+.4f}; llm higher on {wins} of {len(seeds)} splits."
            )
    sizes = ", ".join(
        f"{scenario} {min(users[s, scenario] for s in seeds)}-"
        f"{max(users[s, scenario] for s in seeds)}"
        for scenario in SCENARIOS
    )
    elapsed = time.perf_counter() - start
    body = (
        f"Data: {dataset}. *new nDCG@10* as in the MeLU section (candidates: the "
        "scenario's items never seen in training, minus the user's support items, "
        "scored with `predict` after one `partial_fit` of the scenario's support "
        "rows; relevant: query items rated >= 4), on `MeLUSplit(random_state=s)` "
        f"for s in {seeds}, each estimator fitted once per split with "
        f"`random_state=s`. Users per scenario over the splits: {sizes}. Torch on "
        f"one thread; total wall time {elapsed:.0f} s.\n\n"
        + "\n".join(lines)
        + ("\n\n" + "\n".join(comparison) if comparison else "")
    )
    print(body)
    if not args.no_write:
        command = " ".join(
            ["python benchmarks/bench_new_items.py", *(argv or sys.argv[1:])]
        )
        write_section(
            "new_items_ml1m",
            "Ranking new items over several MeLU splits (ML-1M)",
            command,
            body,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
