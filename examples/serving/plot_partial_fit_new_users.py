"""
======================================
Serving new users with ``partial_fit``
======================================

In production a recommender is fitted now and then (nightly, say) while new users
sign up all day, each with a handful of ratings. Refitting for every one of them is
out of the question. :class:`~sklearn_metarec.MetaCFRecommender` meta-learns, across
the users it is fitted on, a starting point and an adaptation rule for a user's
parameters; ``partial_fit`` then runs that adaptation for the users it is given, and
only for them.

This example fits the model without a group of held-out users, lets them arrive one
at a time, times ``partial_fit`` per user, checks that nobody else's predictions
move, and measures how the error on a user's later ratings falls as their ratings
arrive.
"""

# %%
# One torch thread
# ----------------
# torch uses every core by default. On a small or shared CPU (this gallery is built
# on two cores shared with other jobs) threads compete with each other and with the
# rest of the machine; the small matrix products of this model run faster on one.
# Set it in your own script, not in library code.
import torch

torch.set_num_threads(1)

# %%
# Data: hold out some users
# -------------------------
# MovieLens latest-small ships with the package. The model below reads only the
# user and item ids (its ``item_features`` can add side columns such as the genres).
# We hold out 10% of the users: the model never sees their rows in ``fit``; they
# play the new users, whose ratings arrive in the order they gave them.
import numpy as np

from sklearn_metarec.datasets import load_movielens_small

movielens = load_movielens_small()
titles = movielens.item_frame["title"]
log = movielens.frame[["user_id", "item_id", "timestamp", "rating"]]

rng = np.random.default_rng(0)
users = log["user_id"].unique()
new_users = rng.choice(users, size=len(users) // 10, replace=False)
is_new = log["user_id"].isin(new_users).to_numpy()
train = log[~is_new]
arriving = log[is_new].sort_values(["user_id", "timestamp"], kind="stable")
columns = ["user_id", "item_id"]  # what the model is given
X_train, y_train = train[columns], train["rating"].to_numpy()
print(f"fit on {len(train):,} ratings of {train['user_id'].nunique()} users")
print(f"{len(new_users)} new users will arrive with {len(arriving):,} ratings")

# %%
# Fit
# ---
# Small settings keep the example fast: 16-dimensional user and item vectors and
# three passes over the training users (the default is 12). With these settings a
# user's state adapts by the closed-form ridge inner solver around the meta-learned
# prior (see the ``inner_solver`` parameter).
import time

from sklearn_metarec import MetaCFRecommender

model = MetaCFRecommender(embedding_dim=16, max_epochs=3, random_state=0)
start = time.perf_counter()
model.fit(X_train, y_train)
print(f"fit in {time.perf_counter() - start:.1f} s")

# %%
# A copy of the fitted model, for the learning curve at the end.
import copy

fitted = copy.deepcopy(model)

# %%
# A new user, before and after five ratings
# -----------------------------------------
# An unknown user is legal everywhere: they are served from the meta-learned prior.
# Then their first five ratings arrive.
first_user = new_users[0]
rows = arriving[arriving["user_id"] == first_user]
X_user, y_user = rows[columns], rows["rating"].to_numpy()


def show(item_ids):
    return [titles[i] for i in item_ids]


print("cold:", show(model.recommend([first_user], n=5)[0]))
model.partial_fit(X_user.iloc[:5], y_user[:5])
print("rated:", dict(zip(show(X_user["item_id"].iloc[:5]), y_user[:5].tolist())))
print("after 5 ratings:", show(model.recommend([first_user], n=5)[0]))

# %%
# A serving loop
# --------------
# Every other new user now arrives with their first five ratings: one
# ``partial_fit`` call each (the user's state is adapted and stored), then one
# ``recommend`` call. Before the loop we keep the predictions of the training users
# on some of their ratings, to compare afterwards.
check = X_train.sample(2000, random_state=0)
before = model.predict(check)

adapt_ms, recommend_ms = [], []
for user in new_users[1:]:
    rows = arriving[arriving["user_id"] == user].iloc[:5]
    X_rows, y_rows = rows[columns], rows["rating"].to_numpy()
    start = time.perf_counter()
    model.partial_fit(X_rows, y_rows)
    adapt_ms.append(1000 * (time.perf_counter() - start))
    start = time.perf_counter()
    model.recommend([user], n=10)
    recommend_ms.append(1000 * (time.perf_counter() - start))

print(
    f"partial_fit: median {np.median(adapt_ms):.1f} ms per user, "
    f"90th percentile {np.percentile(adapt_ms, 90):.1f} ms"
)
print(
    f"recommend (top 10 of {len(model.item_index_):,} items): "
    f"median {np.median(recommend_ms):.1f} ms per user"
)

# %%
# Users not in a batch are unaffected
# -----------------------------------
# ``partial_fit`` adapted the new users and nobody else: the training users'
# predictions are exactly what they were before the loop.
after = model.predict(check)
print("training users' predictions unchanged:", np.array_equal(before, after))

# %%
# Error as ratings arrive
# -----------------------
# Back to the model as fitted. The new users' ratings now arrive in batches, in the
# order they were given, and after each batch one ``partial_fit`` call adapts every
# new user on their new ratings (a user already known continues their adaptation).
# We measure the mean absolute error on each user's ratings after their 20th (the
# same ratings at every step), averaged over the users who have more than 20.
#
# For reference, :class:`~sklearn_metarec.baselines.BiasRecommender` (``global mean
# + user bias + item bias``, with fold-in of new users) is fitted on the same rows
# and given the same batches.
import matplotlib.pyplot as plt
import pandas as pd

from sklearn_metarec.baselines import BiasRecommender
from sklearn_metarec.metrics import mae

position = arriving.groupby("user_id").cumcount().to_numpy()
n_rated = arriving.groupby("user_id")["item_id"].transform("size").to_numpy()
query = (position >= 20) & (n_rated > 20)
X_query, y_query = arriving[query][columns], arriving["rating"][query]
query_users = X_query["user_id"].to_numpy()


def ratings(start, stop):
    """Rows of each new user's ratings ``start`` to ``stop`` (0-based, excluded)."""
    rows = arriving[(position >= start) & (position < stop)]
    return rows[columns], rows["rating"].to_numpy()


sizes = [0, 1, 2, 3, 5, 10, 20]
models = {
    "MetaCF": copy.deepcopy(fitted),
    "bias (fold-in)": BiasRecommender().fit(X_train, y_train),
}
errors = pd.DataFrame(index=pd.Index(sizes, name="ratings seen"), columns=[*models])
for seen, n in zip([0, *sizes[:-1]], sizes):
    for name, estimator in models.items():
        if n > seen:  # ratings seen..n of each new user arrive
            estimator.partial_fit(*ratings(seen, n))
        errors.loc[n, name] = mae(
            y_query, estimator.predict(X_query), users=query_users
        )

fig, ax = plt.subplots(figsize=(6, 3.5))
for name in errors:
    ax.plot(sizes, errors[name], marker="o", label=name)
ax.set_xlabel("ratings of each new user given to partial_fit")
ax.set_ylabel("MAE on ratings after the 20th")
ax.set_title(f"{len(np.unique(query_users))} new users")
ax.legend()
fig.tight_layout()

# %%
# The numbers behind the plot (lower is better):
errors.astype(float).round(4)

# %%
# Batch by batch, or all at once?
# -------------------------------
# The curve fed each user's first 20 ratings in several batches. Adapting a fresh
# copy of the fitted model on the same 20 ratings in one call gives the predictions
# below; how far they are from the batch-by-batch ones is printed, not assumed.
#
# For movies the model was fitted on, a known user's state is recomputed from all
# the ratings they have given, so the split into batches should not matter. Movies
# that no training user rated are different: they enter the catalogue with the
# first batch that mentions them and are warmed up from each batch's ratings
# (``warmup_reg``), against the users' states at that time, so for the users who
# rated them the order of arrival can matter a little.
at_once = copy.deepcopy(fitted).partial_fit(*ratings(0, sizes[-1]))
gap = np.abs(at_once.predict(X_query) - models["MetaCF"].predict(X_query))
n_differ = len(np.unique(query_users[gap > 1e-5]))
given = arriving["item_id"][position < sizes[-1]]
n_unseen = given[~given.isin(train["item_id"])].nunique()
print(f"largest difference between the two: {gap.max():.2e} stars")
print(f"users whose predictions differ by more than 1e-5 stars: {n_differ}")
print(f"movies among the 20 ratings that no training user rated: {n_unseen}")

# %%
# Which model predicts best at which point depends on the data and the settings
# (the model here is small and briefly trained, to keep the example fast; the
# query ratings are each user's *later* ones, whose mean can drift from their
# first). The user guide's :ref:`serving` page covers the production side
# (batching calls, copies for what-if scoring, periodic refits), and the example
# :ref:`sphx_glr_auto_examples_evaluation_plot_compare_support_sizes.py` compares
# the estimators over many held-out users and several splits.
