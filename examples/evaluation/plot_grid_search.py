"""
=======================================================
Tuning hyperparameters for cold users with GridSearchCV
=======================================================

scikit-learn's :class:`~sklearn.model_selection.GridSearchCV` tunes a recommender
for the cold start when it is given two things from this package:

- a splitter whose test users never appear in the training rows,
  :class:`~sklearn_metarec.model_selection.ColdStartSplit`;
- a scorer that first adapts (a copy of) the fitted model to each test user with a
  few of their ratings, then scores the rest:
  :func:`~sklearn_metarec.metrics.make_cold_start_scorer`.
"""

# %%
# Data
# ----
# MovieLens latest-small, bundled. To keep the example fast we keep the movies with
# at least 10 ratings (about 2,300 of the 9,700 movies, 80% of the ratings).
import pandas as pd

from sklearn_metarec.datasets import load_movielens_small

X, y = load_movielens_small(return_X_y=True)
n_ratings = X["item_id"].map(X["item_id"].value_counts())
keep = (n_ratings >= 10).to_numpy()
X, y = X[keep], y[keep]
print(f"{len(y):,} ratings, {X['item_id'].nunique():,} movies")

# %%
# The cold-start scorer
# ---------------------
# ``make_cold_start_scorer("mae", n_support=5)`` gives each test user 5 random
# ratings through ``partial_fit`` and measures the mean absolute error on the others.
# Greater is better for scikit-learn, so errors come out negated, like its
# ``neg_mean_absolute_error``. A fixed ``random_state`` gives every candidate the
# same support sets. Several scorers can be passed at once as a dict.
from sklearn_metarec.metrics import make_cold_start_scorer
from sklearn_metarec.model_selection import ColdStartSplit

scoring = {
    "mae": make_cold_start_scorer("mae", n_support=5, random_state=0),
    "catalog_ndcg": make_cold_start_scorer(
        "catalog_ndcg", k=10, n_support=5, random_state=0
    ),
}
cv = ColdStartSplit("user", n_splits=2, test_size=0.2, random_state=0)
scoring["mae"]

# %%
# Search
# ------
# :class:`~sklearn_metarec.baselines.ItemKNNRecommender`: how many neighbours, and how
# strongly to shrink the user bias of a user with few ratings (``reg_user``, in
# pseudo-ratings). ``refit="mae"`` picks the candidate with the lowest cold-user MAE.
from sklearn.model_selection import GridSearchCV

from sklearn_metarec.baselines import ItemKNNRecommender

search = GridSearchCV(
    ItemKNNRecommender(),
    {"n_neighbors": [10, 40], "reg_user": [1.0, 5.0, 20.0]},
    scoring=scoring,
    refit="mae",
    cv=cv,
)
search.fit(X, y)
print("best:", search.best_params_, f"MAE {-search.best_score_:.3f}")

# %%
# All candidates, best first:
columns = [
    "rank_test_mae",
    "param_n_neighbors",
    "param_reg_user",
    "mean_test_mae",
    "mean_test_catalog_ndcg",
]
table = pd.DataFrame(search.cv_results_)[columns].sort_values("rank_test_mae")
table.assign(mean_test_mae=-table["mean_test_mae"]).round(4)

# %%
# Plot the search
# ---------------
import matplotlib.pyplot as plt

results = pd.DataFrame(search.cv_results_)
fig, ax = plt.subplots(figsize=(6, 3.5))
for n_neighbors, group in results.groupby("param_n_neighbors"):
    ax.plot(
        group["param_reg_user"].astype(float),
        -group["mean_test_mae"],
        marker="o",
        label=f"n_neighbors={n_neighbors}",
    )
ax.set_xscale("log")
ax.set_xlabel("reg_user")
ax.set_ylabel("MAE of new users, 5 ratings")
ax.legend()
fig.tight_layout()

# %%
# The refitted ``search.best_estimator_`` is an ordinary fitted recommender: adapt it
# to a new user with ``partial_fit`` and call ``recommend``.
#
# .. note::
#
#    A scikit-learn :class:`~sklearn.pipeline.Pipeline` has no ``partial_fit``, so the
#    cold-start scorers cannot adapt a pipeline to test users. Pass the recommender
#    itself to the search (recommenders read their side columns, such as text,
#    directly from ``X``).
