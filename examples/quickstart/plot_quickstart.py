"""
==============================================
Quickstart: fit, fold in a new user, recommend
==============================================

The whole life of a recommender on one page, with the MovieLens data bundled in the
package: fit it on a rating log, serve a user it has never seen, adapt to that user
with ``partial_fit`` as their ratings arrive, and recommend.

We use the baselines of :mod:`sklearn_metarec.baselines`; the meta-learning
recommenders have the same methods.
"""

# %%
# Load the data
# -------------
# :func:`~sklearn_metarec.datasets.load_movielens_small` gives the log as a
# DataFrame: the user id and the item id first, then side columns (a timestamp and
# each movie's title, genres and tags), and the ratings as the target.
import numpy as np

from sklearn_metarec.datasets import load_movielens_small

movielens = load_movielens_small()
titles = movielens.item_frame["title"]
log = movielens.frame  # the data with the rating as a last column
print(
    f"{len(log):,} ratings, {log['user_id'].nunique()} users, "
    f"{log['item_id'].nunique():,} movies"
)
log.head(3)

# %%
# Hold out a user
# ---------------
# To play a brand-new user we take one user's rows out of the log, so the model is
# fitted without them. Their ratings will arrive in the order they gave them.
new_user = 17
is_new = log["user_id"] == new_user
train = log[~is_new]
arriving = log[is_new].sort_values("timestamp", kind="stable")

X_train, y_train = train.drop(columns="rating"), train["rating"]
X_new, y_new = arriving.drop(columns="rating"), arriving["rating"].to_numpy()
print(f"user {new_user} has {len(y_new)} ratings")

# %%
# Fit
# ---
# :class:`~sklearn_metarec.baselines.BiasRecommender` predicts
# ``global mean + user bias + item bias``;
# :class:`~sklearn_metarec.baselines.ItemKNNRecommender` adds what the user thought
# of similar movies. Both are ordinary scikit-learn estimators.
from sklearn_metarec.baselines import BiasRecommender, ItemKNNRecommender

bias = BiasRecommender().fit(X_train, y_train)
knn = ItemKNNRecommender().fit(X_train, y_train)


# %%
# Serve a user the model has never seen
# -------------------------------------
# Unknown users are legal everywhere. A cold user is served from the prior: for the
# bias model, the movies with the highest item bias.
def show(item_ids):
    return [titles[i] for i in item_ids]


show(bias.recommend([new_user], n=5)[0])

# %%
# Fold the user in with ``partial_fit``
# -------------------------------------
# The first five ratings arrive. ``partial_fit`` adapts the model to the user and
# leaves every other user's predictions untouched.
first = slice(0, 5)
bias.partial_fit(X_new.iloc[first], y_new[first])
knn.partial_fit(X_new.iloc[first], y_new[first])
print("rated:", show(X_new["item_id"].iloc[first]))
print("bias recommends:", show(bias.recommend([new_user], n=5)[0]))
print("kNN recommends:", show(knn.recommend([new_user], n=5)[0]))

# %%
# ``recommend`` leaves out what the user has already rated. ``predict`` scores any
# (user, item) rows, here the user's ratings still to come:
later = slice(20, None)
error = np.abs(knn.predict(X_new.iloc[later]) - y_new[later]).mean()
print(f"kNN mean absolute error on the user's later ratings: {error:.3f}")

# %%
# Watch the model learn the user
# ------------------------------
# Fit each model again (``partial_fit`` changed the ones above in place), then feed
# it the user's ratings a few at a time, measuring the error on the user's later
# ratings (the same ones each time) after each step.
import matplotlib.pyplot as plt

sizes = [0, 1, 2, 3, 5, 8, 12, 20]
fig, ax = plt.subplots(figsize=(6, 3.5))
for name, model in [("bias", BiasRecommender()), ("item-kNN", ItemKNNRecommender())]:
    model.fit(X_train, y_train)
    errors = []
    for seen, n in zip([0, *sizes[:-1]], sizes):
        if n > seen:  # ratings seen..n arrive
            model.partial_fit(X_new.iloc[seen:n], y_new[seen:n])
        errors.append(np.abs(model.predict(X_new.iloc[later]) - y_new[later]).mean())
    ax.plot(sizes, errors, marker="o", label=name)
ax.set_xlabel(f"ratings of user {new_user} given to partial_fit")
ax.set_ylabel("MAE on the later ratings")
ax.legend()
fig.tight_layout()

# %%
# One user is an anecdote: the example
# :ref:`sphx_glr_auto_examples_evaluation_plot_cold_start_curve.py` measures the same
# thing over many held-out users. The meta-learning recommenders have the same
# methods: :ref:`sphx_glr_auto_examples_serving_plot_partial_fit_new_users.py` serves
# new users with :class:`~sklearn_metarec.MetaCFRecommender`, and
# :ref:`sphx_glr_auto_examples_text_plot_new_items_from_text.py` serves new movies
# from their text.
