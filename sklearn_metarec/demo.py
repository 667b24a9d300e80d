"""The main job: a cold-start comparison on the bundled MovieLens latest-small.

Run with ``python -m sklearn_metarec.demo`` (``make demo`` does the set-up first).
It holds out 20% of the users (their rows never reach ``fit``), adapts each held-out
user from their first 1, 5, 10 and 20 ratings (time order) with ``partial_fit``, and
scores the rest of their ratings two ways: the ratings predicted (MAE, nDCG@3 of
their remaining items) and the list a person sees, ``recommend(user, n=10)`` over the
whole catalogue (nDCG@10, relevant = the user's later ratings of 4 or more), per
estimator and support size: :class:`~sklearn_metarec.HybridMetaRecommender` (items
read by all-MiniLM-L6-v2 from their title, genres and tags) and
:class:`~sklearn_metarec.MetaCFRecommender`, beside the simple baselines and EASE
measured in the same run.
"""

from __future__ import annotations

import argparse
import time

import pandas as pd
from sklearn.base import clone

from .baselines import (
    BiasRecommender,
    EASERecommender,
    ItemKNNRecommender,
    PopularityRecommender,
)
from .datasets import load_movielens_small
from .metrics import cold_start_report
from .model_selection import ColdStartSplit
from .recommenders import HybridMetaRecommender, MetaCFRecommender

__all__ = ["main", "demo_estimators"]

SUPPORT_SIZES = (1, 5, 10, 20)
METRICS = ("mae", "ndcg@3", "catalog_ndcg@10")
#: Estimators whose scores are not ratings (no MAE).
RANKING_ONLY = (PopularityRecommender, EASERecommender)


def demo_estimators(random_state=0) -> dict:
    """The estimators the demo compares, by display name.

    Examples
    --------
    >>> estimators = demo_estimators(random_state=0)
    >>> for name, estimator in estimators.items():
    ...     print(f"{name:<15} {type(estimator).__name__}")
    Popularity      PopularityRecommender
    EASE            EASERecommender
    Bias (fold-in)  BiasRecommender
    Item-kNN        ItemKNNRecommender
    MetaCF          MetaCFRecommender
    HybridMeta      HybridMetaRecommender
    >>> estimators["HybridMeta"].text_columns, estimators["MetaCF"].random_state
    (['title', 'genres', 'tags'], 0)
    """
    estimators = {
        "Popularity": PopularityRecommender(),
        "EASE": EASERecommender(),
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
            metrics=METRICS,
            support="first",
            timestamp_column="timestamp",
            threshold=4.0,
            random_state=args.random_state,
        )
        report["estimator"] = name
        if isinstance(estimator, RANKING_ONLY):
            # They rank items; their scores are not ratings.
            report.loc[report["metric"] == "mae", "value"] = float("nan")
        frames.append(report)
        print(f"  {name:<16} done in {time.perf_counter() - start:5.1f} s")
    report = pd.concat(frames, ignore_index=True)
    n_users = int(report["n_users"].max())
    print(
        f"\nCold users ({n_users} held out), by number of first ratings given to "
        "partial_fit.\n\nThe ratings predicted for the rest of their ratings (MAE: "
        "lower is better; nDCG@3 of their remaining items: higher is better; "
        "Popularity and EASE predict no ratings):\n"
    )
    _print_table(report[report["metric"] != "catalog_ndcg@10"])
    print(
        "\nThe list they see, recommend(user, n=10) over the whole catalogue "
        "(nDCG@10; relevant = their later ratings >= 4; higher is better):\n"
    )
    _print_table(report[report["metric"] == "catalog_ndcg@10"])
    return report


def _print_table(report: pd.DataFrame) -> None:
    table = report.pivot_table(
        index="estimator",
        columns=["metric", "n_support"],
        values="value",
        sort=False,
        dropna=False,
    )
    with pd.option_context("display.width", 120, "display.precision", 4):
        print(table.to_string())


if __name__ == "__main__":  # pragma: no cover
    main()
