"""The main job: a cold-start comparison on the bundled MovieLens latest-small.

Run with ``python -m sklearn_metarec.demo`` (``make demo`` does the set-up first).
It holds out 20% of the users (their rows never reach ``fit``), adapts each held-out
user from 1, 5, 10 and 20 of their ratings with ``partial_fit``, scores the rest of
their ratings, and prints MAE and nDCG@3 per estimator and support size:
:class:`~sklearn_metarec.HybridMetaRecommender` (items read by all-MiniLM-L6-v2 from
their title, genres and tags) and :class:`~sklearn_metarec.MetaCFRecommender`, beside
the simple baselines measured in the same run.
"""

from __future__ import annotations

import argparse
import time

import pandas as pd
from sklearn.base import clone

from .baselines import BiasRecommender, ItemKNNRecommender, PopularityRecommender
from .datasets import load_movielens_small
from .metrics import cold_start_report
from .model_selection import ColdStartSplit
from .recommenders import HybridMetaRecommender, MetaCFRecommender

__all__ = ["main", "demo_estimators"]

SUPPORT_SIZES = (1, 5, 10, 20)


def demo_estimators(random_state=0) -> dict:
    """The estimators the demo compares, by display name.

    Examples
    --------
    >>> estimators = demo_estimators(random_state=0)
    >>> for name, estimator in estimators.items():
    ...     print(f"{name:<15} {type(estimator).__name__}")
    Popularity      PopularityRecommender
    Bias (fold-in)  BiasRecommender
    Item-kNN        ItemKNNRecommender
    MetaCF          MetaCFRecommender
    HybridMeta      HybridMetaRecommender
    >>> estimators["HybridMeta"].text_columns, estimators["MetaCF"].random_state
    (['title', 'genres', 'tags'], 0)
    """
    estimators = {
        "Popularity": PopularityRecommender(),
        "Bias (fold-in)": BiasRecommender(),
        "Item-kNN": ItemKNNRecommender(),
    }
    estimators["MetaCF"] = MetaCFRecommender(random_state=random_state)
    estimators["HybridMeta"] = HybridMetaRecommender(
        text_columns=["title", "genres", "tags"], random_state=random_state
    )
    return estimators


def main(argv=None) -> pd.DataFrame:
    """Run the demo and print its table; returns the tidy report.

    Examples
    --------
    A full run fits every estimator of :func:`demo_estimators` on the whole dataset,
    far too long for an example (``make demo`` runs it). Its command line:

    >>> import contextlib
    >>> with contextlib.suppress(SystemExit):
    ...     main(["--help"])
    usage: ... [-h] [--random-state RANDOM_STATE]
    <BLANKLINE>
    The main job: a cold-start comparison on the bundled MovieLens latest-small.
    <BLANKLINE>
    options:
      -h, --help            show this help message and exit
      --random-state RANDOM_STATE
    """
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--random-state", type=int, default=0)
    args = parser.parse_args(argv)

    X, y = load_movielens_small(return_X_y=True)
    print(
        f"MovieLens latest-small: {len(y):,} ratings, {X['user_id'].nunique()} users, "
        f"{X['item_id'].nunique():,} items"
    )
    cv = ColdStartSplit(kind="user", n_splits=1, test_size=0.2, random_state=0)
    frames = []
    for name, estimator in demo_estimators(args.random_state).items():
        start = time.perf_counter()
        report = cold_start_report(
            clone(estimator),
            X,
            y,
            cv,
            support_sizes=SUPPORT_SIZES,
            metrics=("mae", "ndcg@3"),
            random_state=args.random_state,
        )
        report["estimator"] = name
        if isinstance(estimator, PopularityRecommender):
            # Popularity ranks items; its scores are counts, not ratings.
            report.loc[report["metric"] == "mae", "value"] = float("nan")
        frames.append(report)
        print(f"  {name:<16} done in {time.perf_counter() - start:5.1f} s")
    report = pd.concat(frames, ignore_index=True)
    table = report.pivot_table(
        index="estimator",
        columns=["metric", "n_support"],
        values="value",
        sort=False,
    )
    n_users = int(report["n_users"].max())
    print(
        f"\nCold users ({n_users} held out): metric by number of support ratings "
        "given to partial_fit (MAE: lower is better; nDCG@3 over each user's "
        "remaining ratings: higher is better; Popularity predicts no ratings)\n"
    )
    with pd.option_context("display.width", 120, "display.precision", 4):
        print(table.to_string())
    return report


if __name__ == "__main__":  # pragma: no cover
    main()
