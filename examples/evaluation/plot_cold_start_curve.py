"""
=========================================================
Comparing recommenders across support sizes (cold users)
=========================================================

How good is a recommender for a user it has never seen, after 1, 3, 5, 10 or 20 of
their ratings? :class:`~sklearn_metarec.inspection.ColdStartCurveDisplay` answers
with one line per estimator.

The protocol (that of :func:`~sklearn_metarec.metrics.cold_start_report`): a
:class:`~sklearn_metarec.model_selection.ColdStartSplit` holds out 20% of the users,
whose rows never reach ``fit``. Each held-out user's ratings are shuffled; the first
``n`` go to ``partial_fit`` (the *support set*), and the ratings after the first 20
are scored (the *query set*, the same at every ``n``).
"""

# %%
# Data and estimators
# -------------------
# MovieLens latest-small ships with the package. Three baselines: popularity, a bias
# model with fold-in of new users, and item-kNN on bias residuals.
from sklearn_metarec.baselines import (
    BiasRecommender,
    ItemKNNRecommender,
    PopularityRecommender,
)
from sklearn_metarec.datasets import load_movielens_small
from sklearn_metarec.inspection import ColdStartCurveDisplay
from sklearn_metarec.model_selection import ColdStartSplit

X, y = load_movielens_small(return_X_y=True)
cv = ColdStartSplit("user", n_splits=2, test_size=0.2, random_state=0)
estimators = {
    "popularity": PopularityRecommender(),
    "bias": BiasRecommender(),
    "item-kNN": ItemKNNRecommender(),
}

# %%
# Ranking the catalogue
# ---------------------
# ``metric="catalog_ndcg"`` ranks the whole catalogue with ``recommend`` (what the
# user would be shown) and counts the user's query items as relevant, graded by their
# rating. Each line is the mean over the two splits; the band is their spread.
display = ColdStartCurveDisplay.from_estimator(
    estimators, X, y, cv=cv, metric="catalog_ndcg", k=10, random_state=0
)
_ = display.ax_.set_title("Catalogue ranking for new users")

# %%
# Popularity is a strong bar for catalogue ranking: the query items of a random user
# are mostly popular movies. The bias model barely moves with more ratings (a user's
# bias shifts all their scores alike), while item-kNN uses the ratings it is given.
#
# The numbers behind the plot are in ``display.report_``, one row per estimator,
# split and support size:
display.report_.head()

# %%
# Rating error, from a report
# ---------------------------
# :func:`~sklearn_metarec.metrics.cold_start_report` computes several metrics at
# once. Tag each report with the estimator's name and plot any metric with
# :meth:`~sklearn_metarec.inspection.ColdStartCurveDisplay.from_predictions`.
# (Popularity is left out: its ``predict`` is a count, not a rating.)
import matplotlib.pyplot as plt
import pandas as pd

from sklearn_metarec.metrics import cold_start_report

reports = []
for name in ["bias", "item-kNN"]:
    report = cold_start_report(
        estimators[name], X, y, cv, metrics=["mae", "ndcg@3"], random_state=0
    )
    reports.append(report.assign(estimator=name))
results = pd.concat(reports, ignore_index=True)

fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
ColdStartCurveDisplay.from_predictions(results, metric="mae", ax=left)
ColdStartCurveDisplay.from_predictions(results, metric="ndcg@3", ax=right)
left.set_title("Rating error")
right.set_title("Ranking each user's query items")
fig.tight_layout()

# %%
# With more ratings both models predict a new user's ratings better. nDCG@3 over the
# query items (the protocol of the MeLU paper) ranks only the items the user rated,
# so even a weak model scores high on it; see :ref:`evaluation` in the user guide.
#
# The same table, wide:
results.pivot_table(
    index="n_support", columns=["metric", "estimator"], values="value"
).round(3)
