"""Draw the README's figure: cold-start curves of the baselines on MovieLens.

Writes ``docs/images/cold_start_curve.png``. Run from anywhere::

    python docs/make_readme_figure.py

It takes about half a minute on two CPU cores, offline (the data set is bundled).
"""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import pandas as pd

from sklearn_metarec.baselines import (
    BiasRecommender,
    ItemKNNRecommender,
    PopularityRecommender,
)
from sklearn_metarec.datasets import load_movielens_small
from sklearn_metarec.inspection import ColdStartCurveDisplay
from sklearn_metarec.metrics import cold_start_report
from sklearn_metarec.model_selection import ColdStartSplit

OUTPUT = Path(__file__).resolve().parent / "images" / "cold_start_curve.png"
SUPPORT_SIZES = (1, 3, 5, 10, 20)


def main(output=OUTPUT):
    X, y = load_movielens_small(return_X_y=True)
    cv = ColdStartSplit("user", n_splits=3, test_size=0.2, random_state=0)
    estimators = {
        "popularity": PopularityRecommender(),
        "bias (fold-in)": BiasRecommender(),
        "item-kNN": ItemKNNRecommender(),
    }
    reports = []
    for name, estimator in estimators.items():
        report = cold_start_report(
            estimator,
            X,
            y,
            cv,
            support_sizes=SUPPORT_SIZES,
            metrics=["catalog_ndcg@10", "mae"],
            random_state=0,
        )
        reports.append(report.assign(estimator=name))
    results = pd.concat(reports, ignore_index=True)
    # Popularity's predict is a count, not a rating: no MAE for it.
    ratings = results[
        (results["metric"] == "mae") & (results["estimator"] != "popularity")
    ]

    fig, (left, right) = plt.subplots(1, 2, figsize=(8, 3.2))
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    right.set_prop_cycle(color=colors[1:])  # the colours of the left panel
    ColdStartCurveDisplay.from_predictions(results, metric="catalog_ndcg@10", ax=left)
    ColdStartCurveDisplay.from_predictions(ratings, metric="mae", ax=right)
    left.set_title("Ranking the catalogue", fontsize=10)
    right.set_title("Predicting ratings", fontsize=10)
    for ax in (left, right):
        ax.legend(fontsize=8)
    fig.suptitle(
        "New users on MovieLens latest-small (20% of users held out, 3 splits)",
        fontsize=10,
    )
    fig.tight_layout()
    output.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(output, dpi=90)
    plt.close(fig)
    return output


if __name__ == "__main__":
    path = main()
    print(f"wrote {path} ({path.stat().st_size / 1024:.0f} KiB)")
