"""
==========================================================
Meta-learning against the baselines, across support sizes
==========================================================

Does meta-learning pay off for new users? This example puts the two meta-learning
estimators, :class:`~sklearn_metarec.MetaCFRecommender` (ids only) and
:class:`~sklearn_metarec.HybridMetaRecommender` (ids and the items' text, read by
all-MiniLM-L6-v2), beside two baselines with fold-in of new users, on the same
cold-user splits, and draws the curves with
:class:`~sklearn_metarec.inspection.ColdStartCurveDisplay`.

The protocol is that of :func:`~sklearn_metarec.metrics.cold_start_report`: a
:class:`~sklearn_metarec.model_selection.ColdStartSplit` holds out 20% of the
users, whose rows never reach ``fit``. Each held-out user's ratings are shuffled;
the first ``n`` go to ``partial_fit`` (the support set) and the ratings after the
first 20 are scored (the query set, the same at every ``n``).
"""

# %%
# Data and estimators
# -------------------
# MovieLens latest-small, bundled, restricted to the movies with at least 20
# ratings: encoding text is the slow part on a CPU. torch runs on one thread, which
# is faster on a small shared CPU like the one that builds this gallery.
#
# The meta estimators use small settings (three passes over the training users) to
# keep the example fast. They are compared on the same splits and the same support
# draws as the baselines:
#
# - :class:`~sklearn_metarec.baselines.BiasRecommender`: ``global mean + user bias +
#   item bias``, a new user's bias folded in from their ratings;
# - :class:`~sklearn_metarec.baselines.ItemKNNRecommender`: item-kNN on the bias
#   residuals.
import torch

from sklearn_metarec import HybridMetaRecommender, MetaCFRecommender
from sklearn_metarec.baselines import BiasRecommender, ItemKNNRecommender
from sklearn_metarec.datasets import load_movielens_small
from sklearn_metarec.model_selection import ColdStartSplit
from sklearn_metarec.text import TransformerTextEncoder

torch.set_num_threads(1)

X, y = load_movielens_small(return_X_y=True)
X = X[["user_id", "item_id", "title", "genres"]]
keep = (X["item_id"].map(X["item_id"].value_counts()) >= 20).to_numpy()
X, y = X[keep], y[keep]
print(
    f"{len(y):,} ratings, {X['user_id'].nunique()} users, "
    f"{X['item_id'].nunique():,} movies"
)

cv = ColdStartSplit("user", n_splits=2, test_size=0.2, random_state=0)
estimators = {
    "bias": BiasRecommender(),
    "item-kNN": ItemKNNRecommender(),
    "MetaCF": MetaCFRecommender(item_features=None, max_epochs=3, random_state=0),
    "Hybrid": HybridMetaRecommender(
        text_columns=["title", "genres"],
        encoder=TransformerTextEncoder(),
        max_epochs=3,
        random_state=0,
    ),
}

# %%
# Two metrics at once
# -------------------
# ``ColdStartCurveDisplay.from_estimator`` fits and scores for one metric. For
# several, compute each estimator's
# :func:`~sklearn_metarec.metrics.cold_start_report` once (with an ``estimator``
# column) and plot any of its metrics with
# :meth:`~sklearn_metarec.inspection.ColdStartCurveDisplay.from_predictions`:
#
# - ``mae``: error of ``predict`` on the query ratings;
# - ``catalog_ndcg@10``: ``recommend`` ranks the whole catalogue (minus what the user
#   rated in the support set) and the user's query items are the relevant ones,
#   graded by their rating.
#
# The same ``random_state`` gives every estimator the same support draws.
import time

import pandas as pd

from sklearn_metarec.metrics import cold_start_report

reports = []
for name, estimator in estimators.items():
    start = time.perf_counter()
    report = cold_start_report(
        estimator, X, y, cv, metrics=["mae", "catalog_ndcg@10"], random_state=0
    )
    reports.append(report.assign(estimator=name))
    print(f"{name:>8}: {time.perf_counter() - start:4.1f} s")
results = pd.concat(reports, ignore_index=True)

# %%
import matplotlib.pyplot as plt

from sklearn_metarec.inspection import ColdStartCurveDisplay

fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
ColdStartCurveDisplay.from_predictions(results, metric="mae", ax=left)
ColdStartCurveDisplay.from_predictions(results, metric="catalog_ndcg@10", ax=right)
left.set_title("Rating error (lower is better)")
right.set_title("Catalogue ranking (higher is better)")
fig.tight_layout()

# %%
# The lines are means over the two splits; the bands their spread. The table
# behind them:
table = results.pivot_table(
    index="n_support", columns=["metric", "estimator"], values="value"
)
table.round(4)

# %%
# Who leads?
# ----------
# Computed from the table rather than read off the plot: the best estimator at each
# support size, for each metric.
best = pd.DataFrame(
    {
        "mae (lowest)": table["mae"].idxmin(axis=1),
        "catalog_ndcg@10 (highest)": table["catalog_ndcg@10"].idxmax(axis=1),
    }
)
best

# %%
# And the meta estimators against the bias model with fold-in, the simple baseline
# to beat (a positive gap: the meta estimator is better):
gaps = pd.DataFrame(
    {
        f"{metric} gap, {name}": sign * (table[metric]["bias"] - table[metric][name])
        for metric, sign in [("mae", 1), ("catalog_ndcg@10", -1)]
        for name in ["MetaCF", "Hybrid"]
    }
)
gaps.round(4)

# %%
# The two metrics need not agree: the MAE asks how well a model predicts the
# ratings a user gives, the catalogue nDCG which movies, out of all of them, the
# user rates (and how highly), which rewards popular movies. The meta estimators
# here are small and briefly trained (three epochs) to fit the gallery's time
# budget; the benchmarks page of the documentation has full-size runs on
# MovieLens-1M, always beside the same baselines.
