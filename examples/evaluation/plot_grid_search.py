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

The recommender may be the last step of a pipeline:
:class:`~sklearn_metarec.pipeline.RecommenderPipeline` is a
:class:`~sklearn.pipeline.Pipeline` that keeps the recommender's ``partial_fit``
and ``recommend``, so the scorer adapts it to each test user like a bare
recommender, and the tuned pipeline serves new users as it is.
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
# A pipeline around a meta-learning recommender
# ---------------------------------------------
# The log has more columns than the model should read (a timestamp, titles, genres,
# tags). A first step keeps the ids;
# :class:`~sklearn_metarec.MetaCFRecommender` follows. With pandas output the
# column names and dtypes go through unchanged.
# :class:`~sklearn_metarec.pipeline.RecommenderPipeline` takes the steps of a
# :class:`~sklearn.pipeline.Pipeline` and adds the recommender's methods:
# ``partial_fit`` passes new rows through the fitted first step before adapting
# the recommender; ``recommend`` goes straight to it.
#
# The search tunes ``prior_precision``: how strongly the meta-learned prior holds a
# new user's state back from their few ratings (the model adapts by a ridge fold-in
# around that prior). Three passes over the training users keep the example fast,
# and torch runs on one thread, which is faster on a small shared CPU like the one
# that builds this gallery. ``refit="mae"`` picks the candidate with the lowest
# cold-user MAE.
import torch
from sklearn.compose import ColumnTransformer
from sklearn.model_selection import GridSearchCV

from sklearn_metarec import MetaCFRecommender
from sklearn_metarec.pipeline import RecommenderPipeline

torch.set_num_threads(1)

select_ids = ColumnTransformer(
    [("ids", "passthrough", ["user_id", "item_id"])],
    remainder="drop",
    verbose_feature_names_out=False,
).set_output(transform="pandas")
pipeline = RecommenderPipeline(
    [
        ("select", select_ids),
        ("rec", MetaCFRecommender(max_epochs=3, random_state=0)),
    ]
)
search = GridSearchCV(
    pipeline,
    {"rec__prior_precision": [1.0, 5.0, 25.0]},
    scoring=scoring,
    refit="mae",
    cv=cv,
)
search.fit(X, y)
print("best:", search.best_params_, f"MAE {-search.best_score_:.3f}")

# %%
# All candidates, best first (MAE turned back into an error):
columns = ["rank_test_mae", "mean_test_mae", "mean_test_catalog_ndcg"]
table = pd.DataFrame(search.cv_results_).set_index("param_rec__prior_precision")
table = table[columns].sort_values("rank_test_mae")
table.assign(mean_test_mae=-table["mean_test_mae"]).round(4)

# %%
# Plot the search
# ---------------
import matplotlib.pyplot as plt

results = pd.DataFrame(search.cv_results_)
fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.5))
precision = results["param_rec__prior_precision"].astype(float)
left.plot(precision, -results["mean_test_mae"], marker="o")
right.plot(precision, results["mean_test_catalog_ndcg"], marker="o")
for ax, label in [(left, "MAE (lower is better)"), (right, "catalogue nDCG@10")]:
    ax.set_xscale("log")
    ax.set_xlabel("prior_precision")
    ax.set_ylabel(label)
fig.suptitle("MetaCF on new users with 5 ratings")
fig.tight_layout()

# %%
# The two metrics need not pick the same value; ``refit`` says which one decides.
#
# A tuned baseline on the same splits
# -----------------------------------
# A tuned model is only meaningful beside a tuned reference. The same search for
# :class:`~sklearn_metarec.baselines.ItemKNNRecommender` (no pipeline this time):
# how many neighbours, and how strongly to shrink the user bias of a user with few
# ratings (``reg_user``, in pseudo-ratings). The same ``cv`` and scorers (with
# their fixed ``random_state``) give both searches the same test users and
# support sets.
from sklearn_metarec.baselines import ItemKNNRecommender

knn_search = GridSearchCV(
    ItemKNNRecommender(),
    {"n_neighbors": [10, 40], "reg_user": [1.0, 5.0, 20.0]},
    scoring=scoring,
    refit="mae",
    cv=cv,
)
knn_search.fit(X, y)

summary = pd.DataFrame(
    {
        name: {
            "best params": s.best_params_,
            "MAE": -s.cv_results_["mean_test_mae"][s.best_index_],
            "catalogue nDCG@10": s.cv_results_["mean_test_catalog_ndcg"][s.best_index_],
        }
        for name, s in [("MetaCF pipeline", search), ("item-kNN", knn_search)]
    }
).T
summary

# %%
# Serving the tuned pipeline
# --------------------------
# ``search.best_estimator_`` is the pipeline refitted on all the rows, still a
# :class:`~sklearn_metarec.pipeline.RecommenderPipeline`: it adapts to a new user
# and recommends like the recommender itself, with the raw log's columns (the
# first step drops the extra ones). Here a user made up from the first five
# ratings of user 1, under a new id:
best = search.best_estimator_
new_rows = X[X["user_id"] == 1].head(5).assign(user_id="new-user")
new_y = y[(X["user_id"] == 1).to_numpy()][:5]
best.partial_fit(new_rows, new_y)
titles = X.drop_duplicates("item_id").set_index("item_id")["title"]
print("rated:", list(titles[new_rows["item_id"]]))
print("recommended:", list(titles[best.recommend(["new-user"], n=5)[0]]))

# %%
# The recommender's other fitted attributes are those of the last step,
# ``best[-1]``; ``best.user_index_`` and ``best.item_index_`` are there too:
print(f"{len(best.user_index_):,} users, {len(best.item_index_):,} items")
