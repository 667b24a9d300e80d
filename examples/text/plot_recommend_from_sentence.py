"""
============================================
Recommending from a sentence, and explaining
============================================

A visitor with no history can still say what they want: "a funny animated film for
kids". The text estimators (:class:`~sklearn_metarec.LLMContentRecommender` and
:class:`~sklearn_metarec.HybridMetaRecommender`) embed every item's text with a
sentence encoder, so they can embed the sentence too and rank the catalogue by how
close each item's text is to it: ``recommend_from_text``. For a known user,
``explain`` splits the score of a recommended movie over the movies they rated.
"""

# %%
# Fit a text model
# ----------------
# As in :ref:`sphx_glr_auto_examples_text_plot_new_items_from_text.py`: one torch
# thread (faster on a small shared CPU), the movies of the bundled MovieLens
# latest-small with at least 20 ratings (text encoding is the slow part on a CPU),
# and all-MiniLM-L6-v2 reading each movie's title and genres, offline.
import time

import torch

from sklearn_metarec import LLMContentRecommender
from sklearn_metarec.datasets import load_movielens_small
from sklearn_metarec.text import TransformerTextEncoder

torch.set_num_threads(1)

movielens = load_movielens_small()
movies = movielens.item_frame[["title", "genres"]]
X, y = load_movielens_small(return_X_y=True)
X = X[["user_id", "item_id", "title", "genres"]]
keep = (X["item_id"].map(X["item_id"].value_counts()) >= 20).to_numpy()
X, y = X[keep], y[keep].to_numpy()

model = LLMContentRecommender(
    text_columns=["title", "genres"],
    encoder=TransformerTextEncoder(),
    max_epochs=3,
    random_state=0,
)
start = time.perf_counter()
model.fit(X, y)
print(
    f"{len(model.item_index_):,} movies, {len(model.user_index_)} users; "
    f"fit in {time.perf_counter() - start:.1f} s (text encoding included)"
)

# %%
# Recommend from a sentence
# -------------------------
# Items are ranked by the cosine similarity of their text embedding to the
# sentence's, plus ``popularity_weight`` (default 0.1) times their standardised log
# number of ratings, which breaks near-ties in favour of movies people actually
# watch.
query = "a funny animated film for kids"
items = model.recommend_from_text(query, n=10)
movies.loc[items].reset_index(drop=True).rename_axis(query)

# %%
# ``popularity_weight=0`` ranks by the text alone:
items_text_only = model.recommend_from_text(query, n=10, popularity_weight=0)
movies.loc[items_text_only].reset_index(drop=True).rename_axis(query)

# %%
# Any sentence works. The encoder sees only titles and genres here; richer item text
# (a plot, tags) would give a sentence more to match. When the similarities of many
# movies are close, the popularity prior decides between them: compare the two
# columns.
import pandas as pd


def top_titles(sentence, weight):
    items = model.recommend_from_text(sentence, n=5, popularity_weight=weight)
    return movies.loc[items, "title"].to_numpy()


sentences = ["a scary horror movie", "a romantic comedy", "science fiction war"]
weights = [0.1, 0.0]
pd.concat(
    {
        sentence: pd.DataFrame(
            {f"popularity_weight={w}": top_titles(sentence, w) for w in weights}
        )
        for sentence in sentences
    }
)

# %%
# How close is each recommendation to the sentence?
# -------------------------------------------------
# The fitted encoder is ``model.encoder_``; embeddings are unit vectors, so a dot
# product is a cosine. The texts are those the model read
# (:func:`~sklearn_metarec.text.join_text_columns`), and were encoded during ``fit``:
# the encoder's cache returns them at once.
import matplotlib.pyplot as plt

from sklearn_metarec.text import join_text_columns

texts = join_text_columns(movies.loc[items], ["title", "genres"])
similarity = model.encoder_.transform(texts) @ model.encoder_.transform([query])[0]

fig, ax = plt.subplots(figsize=(6, 3.5))
ax.barh(movies.loc[items, "title"], similarity)
ax.invert_yaxis()
ax.set_xlabel(f"cosine similarity to {query!r}")
fig.tight_layout()

# %%
# Explain a user's recommendations
# --------------------------------
# ``explain(user, items)`` splits the score that ranked each item (what
# ``recommend(..., return_scores=True)`` reports) into its parts: the movies the
# user rated that pushed it up most (the interaction tower folds a user in from
# their movies in closed form, as implicit ALS does, so each rated movie's share
# is exact), one row for the rest of their movies, the prior, the item's bias
# and the rating term (how likely the user is to like it, which is not split per
# movie). The parts of an item add up to its score. Here, the top three
# recommendations of one user, with their titles.
user = X["user_id"].iloc[0]
recommended = model.recommend([user], n=3)[0]
explanation = model.explain(user, recommended, n_contributions=3)
explanation[["title", "source", "rated_title", "contribution", "score"]].round(3)

# %%
# A user the model has never seen is explained from the prior alone (no movie
# rows); adapt them first with ``partial_fit`` (see
# :ref:`sphx_glr_auto_examples_serving_plot_partial_fit_new_users.py`) and the
# explanation draws on the ratings given to ``partial_fit``. ``similar_items``
# lists the movies whose interaction vectors are closest to a movie's:
similar = model.similar_items(recommended[:1], n=5)[0]
movies.loc[similar, "title"].tolist()
