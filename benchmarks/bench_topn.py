"""Top-N lists over the whole catalogue: new users, warm users and new items.

The list ``recommend(user, n=10)`` is what a person sees. This benchmark scores it
for the meta estimators beside popularity, EASE (:class:`~sklearn_metarec.
baselines.EASERecommender`) and implicit's ``AlternatingLeastSquares`` with user
fold-in (``recalculate_user=True``; the ``implicit`` package is a benchmark-only
dependency), every peer in the same process on the same rows, on ratings data and
on the same data with the ratings dropped (positive-only). The protocol is spelled
out in ``PROTOCOL`` below and in the section this script writes to
``docs/benchmarks.md``.

Usage::

    python benchmarks/bench_topn.py [--dataset ml-1m|latest-small]
                                    [--estimators popularity,ease,als,metacf,...]
                                    [--kinds ratings,positive] [--data-home PATH]
                                    [--random-state 0] [--no-write]

The peers (popularity, EASE, ALS) always run. EASE and ALS are tuned on a
validation split of the training users (the new-user protocol at 10 support
interactions); the meta estimators run with their defaults.
"""

from __future__ import annotations

import argparse
import copy
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp
from threadpoolctl import threadpool_limits

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _harness import CATALOG_K, RELEVANT_RATING, _slot_matrices  # noqa: E402
from _report import markdown_table, write_section  # noqa: E402
from bench_melu import TEXT_CACHE, default_data_home  # noqa: E402

from sklearn_metarec import (  # noqa: E402
    HybridMetaRecommender,
    LLMContentRecommender,
    MetaCFRecommender,
)
from sklearn_metarec.baselines import (  # noqa: E402
    EASERecommender,
    PopularityRecommender,
)
from sklearn_metarec.metrics import (  # noqa: E402
    catalog_coverage,
    ndcg_at_k,
    recall_at_k,
)

SUPPORT_SIZES = (1, 5, 10, 20)
NEW_USER_SHARE = 0.2
NEW_ITEM_SHARE = 0.1
WARM_HOLDOUT = 10  # last interactions of each warm user held out
VALIDATION_SHARE = 0.1
VALIDATION_SUPPORT = 10
N_ADAPT_USERS = 200
ADAPT_PASSES = 3  # of the N_ADAPT_USERS calls: one pass is at the mercy of noise
ADAPT_SIZE = 10
# The estimators' partial_fit calls take turns by blocks of this many users, so
# that a slow spell of the machine falls on all of them alike.
ADAPT_BLOCK = 20
TEXT_COLUMNS = ["title", "genres", "director", "actors", "plot"]
EARLY_NDCG = "new-item nDCG, new users folded in"
PEERS = ("popularity", "ease", "als")
EASE_GRID = (100.0, 300.0, 1000.0, 3000.0, 10000.0, 30000.0, 100000.0)
ALS_GRID = [
    {"factors": f, "regularization": r, "alpha": a}
    for f in (32, 64, 128)
    for r in (0.01, 0.1, 1.0)
    for a in (1.0, 10.0)
]


# ----------------------------------------------------------------------- split
def topn_split(frame: pd.DataFrame, random_state: int) -> dict:
    """Row positions of each part of the protocol (see ``PROTOCOL``)."""
    rng = np.random.default_rng(random_state)
    users = np.unique(frame["user_id"].to_numpy())
    items = np.unique(frame["item_id"].to_numpy())
    new_users = rng.choice(users, round(NEW_USER_SHARE * len(users)), replace=False)
    new_items = rng.choice(items, round(NEW_ITEM_SHARE * len(items)), replace=False)
    new_user = frame["user_id"].isin(new_users).to_numpy()
    new_item = frame["item_id"].isin(new_items).to_numpy()
    user_ids, times = frame["user_id"].to_numpy(), frame["timestamp"].to_numpy()

    def time_ordered(rows):  # by user, then time, then row
        return rows[np.lexsort((rows, times[rows], user_ids[rows]))]

    old = time_ordered(np.flatnonzero(~new_user & ~new_item))
    from_end = pd.Series(user_ids[old]).groupby(user_ids[old]).cumcount(ascending=False)
    warm_test = np.sort(old[from_end.to_numpy() < WARM_HOLDOUT])
    train = np.setdiff1d(old, warm_test)
    new_rows = time_ordered(np.flatnonzero(new_user & ~new_item))
    return {
        "train": train,
        "warm_test": warm_test,
        "new_user_rows": new_rows,  # time-ordered per user
        "item_cold_rows": np.flatnonzero(~new_user & new_item),
        "new_item_of_new_users": np.flatnonzero(new_user & new_item),
        "new_items": np.sort(new_items),
    }


def support_and_test(frame: pd.DataFrame, rows: np.ndarray, k: int):
    """The first ``k`` rows of each user of ``rows`` (time-ordered) and the rest;
    users without a row beyond the first ``k`` are left out."""
    users = frame["user_id"].to_numpy()[rows]
    rank = pd.Series(users).groupby(users).cumcount().to_numpy()
    counts = pd.Series(users).map(pd.Series(users).value_counts()).to_numpy()
    keep = counts > k
    return rows[keep & (rank < k)], rows[keep & (rank >= k)]


# ------------------------------------------------------------------------ peers
class ALSPeer:
    """implicit's ``AlternatingLeastSquares`` behind the package's surface.

    ``partial_fit`` folds users in with ``recalculate_user=True`` (item factors
    fixed); items it has never seen score 0. ``fit`` runs with BLAS on one thread,
    as implicit asks (its own threads do the work; a BLAS thread pool beside them
    slows it down).
    """

    def __init__(
        self,
        *,
        factors=64,
        regularization=0.1,
        alpha=1.0,
        iterations=15,
        random_state=0,
    ):
        self.params = dict(
            factors=factors,
            regularization=regularization,
            alpha=alpha,
            iterations=iterations,
            random_state=random_state,
        )

    def fit(self, X, y=None):
        from implicit.als import AlternatingLeastSquares

        self.items = pd.Index(pd.unique(X["item_id"]))
        self.users = pd.Index(pd.unique(X["user_id"]))
        matrix = sp.csr_matrix(
            (
                np.ones(len(X), dtype=np.float32),
                (
                    self.users.get_indexer(X["user_id"]),
                    self.items.get_indexer(X["item_id"]),
                ),
            ),
            shape=(len(self.users), len(self.items)),
        )
        matrix.sum_duplicates()
        matrix.data[:] = 1.0
        self.seen = matrix
        self.model = AlternatingLeastSquares(**self.params)
        with warnings.catch_warnings(), threadpool_limits(1, "blas"):
            warnings.simplefilter("ignore")
            self.model.fit(matrix, show_progress=False)
        self.item_factors = np.asarray(self.model.item_factors)
        self.folded: dict = {}
        return self

    def partial_fit(self, X, y=None):
        for user, rows in X.groupby("user_id", sort=False):
            cols = self.items.get_indexer(rows["item_id"])
            cols = np.unique(cols[cols >= 0])
            history = sp.csr_matrix(
                (
                    np.ones(len(cols), dtype=np.float32),
                    (np.zeros(len(cols), int), cols),
                ),
                shape=(1, len(self.items)),
            )
            vector = np.asarray(self.model.recalculate_user(0, history)).ravel()
            self.folded[user] = (vector, cols)
        return self

    def recommend(self, users, n=10, *, items=None):
        out = []
        candidates = None if items is None else self.items.get_indexer(items)
        for user in users:
            if user in self.folded:
                vector, seen = self.folded[user]
            elif user in self.users:
                pos = self.users.get_loc(user)
                vector = np.asarray(self.model.user_factors[pos])
                seen = self.seen[pos].indices
            else:
                vector, seen = np.zeros(self.item_factors.shape[1]), []
            scores = self.item_factors @ vector
            scores[seen] = -np.inf
            if candidates is not None:
                mask = np.full(len(scores), -np.inf)
                mask[candidates[candidates >= 0]] = 0.0
                scores = scores + mask
            top = np.argsort(-scores, kind="stable")[:n]
            out.append(self.items.to_numpy()[top[np.isfinite(scores[top])]])
        return out


# --------------------------------------------------------------------- metrics
def list_metrics(users, recommendations, test_users, test_items, relevant):
    """nDCG@10 and Recall@10 of the lists against the relevant test items."""
    y_true, y_score = _slot_matrices(
        users, recommendations, test_users, test_items, relevant
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return (
            ndcg_at_k(y_true, y_score, k=CATALOG_K),
            recall_at_k(y_true, y_score, k=CATALOG_K, threshold=1.0),
        )


def relevance(frame, rows, kind):
    if kind == "positive":
        return np.ones(len(rows), dtype=bool)
    return frame["rating"].to_numpy()[rows] >= RELEVANT_RATING


class Bench:
    """One data set and its split; scores any estimator of the package surface."""

    def __init__(self, frame, split, kind, text_columns):
        self.frame, self.split, self.kind = frame, split, kind
        self.text_columns = text_columns
        self.X = frame.drop(columns=["rating"])
        self.n_catalogue = int(self.X.iloc[split["train"]]["item_id"].nunique())

    def y(self, rows):
        return (
            None if self.kind == "positive" else self.frame["rating"].to_numpy()[rows]
        )

    def rows(self, rows):
        return self.X.iloc[rows]

    def evaluate(self, name, model, log) -> dict:
        frame, split = self.frame, self.split
        out: dict = {"estimator": name}
        ids = frame["user_id"].to_numpy()
        items = frame["item_id"].to_numpy()
        # warm users
        test = split["warm_test"]
        users = list(pd.unique(ids[test]))
        recs = model.recommend(users, n=CATALOG_K)
        out["warm nDCG"], out["warm Recall"] = list_metrics(
            users, recs, ids[test], items[test], relevance(frame, test, self.kind)
        )
        out["warm cov"] = catalog_coverage(recs, self.n_catalogue)
        # new users at each support size
        for k in SUPPORT_SIZES:
            support, test = support_and_test(frame, split["new_user_rows"], k)
            adapted = copy.deepcopy(model)
            adapted.partial_fit(self.rows(support), self.y(support))
            users = list(pd.unique(ids[support]))
            start = time.perf_counter()
            recs = adapted.recommend(users, n=CATALOG_K)
            rec_ms = 1000 * (time.perf_counter() - start) / max(len(users), 1)
            ndcg, recall = list_metrics(
                users, recs, ids[test], items[test], relevance(frame, test, self.kind)
            )
            out[f"new@{k} nDCG"], out[f"new@{k} Recall"] = ndcg, recall
            if k == 5:
                out["new@5 cov"] = catalog_coverage(recs, self.n_catalogue)
                out["recommend ms/user"] = rec_ms
            log(f"  {name} new users k={k}: nDCG@10 {ndcg:.4f}")
        return out

    def time_adaptations(self, models: dict, columns=None) -> dict:
        """Median ms of ``partial_fit`` of one new user for each fitted model of
        ``models`` (name -> model), side by side: their rows with every column
        (``columns`` None), or with the id columns and ``columns`` alone (the
        user's own features; the items are known to the model). Each of
        ``ADAPT_PASSES`` passes adapts a fresh copy of every model, the models
        taking turns by blocks of ``ADAPT_BLOCK`` users."""
        support, _ = support_and_test(
            self.frame, self.split["new_user_rows"], ADAPT_SIZE
        )
        ids = self.frame["user_id"].to_numpy()[support]
        if columns is not None:
            columns = ["user_id", "item_id", *(c for c in columns if c in self.X)]
        batches = []
        for user in pd.unique(ids)[:N_ADAPT_USERS]:
            rows = support[ids == user]
            X, y = self.rows(rows), self.y(rows)
            batches.append((X if columns is None else X[columns], y))
        times = {name: [] for name in models}
        for _ in range(ADAPT_PASSES):  # each on fresh copies
            copies = {name: copy.deepcopy(model) for name, model in models.items()}
            for first in range(0, len(batches), ADAPT_BLOCK):
                for name, adapted in copies.items():
                    for X, y in batches[first : first + ADAPT_BLOCK]:
                        start = time.perf_counter()
                        adapted.partial_fit(X, y)
                        times[name].append(time.perf_counter() - start)
        return {name: 1000 * float(np.median(t)) for name, t in times.items()}

    # ------------------------------------------------------------- new items
    def item_table(self, columns):
        rows = self.frame[self.frame["item_id"].isin(self.split["new_items"])]
        return rows.drop_duplicates("item_id")[["item_id", *columns]]

    def item_cold(self):
        """Rows of warm users on new items, their relevance, the users with a
        relevant one, and the new items' ids."""
        rows = self.split["item_cold_rows"]
        relevant = relevance(self.frame, rows, self.kind)
        users = list(pd.unique(self.frame["user_id"].to_numpy()[rows[relevant]]))
        return rows, relevant, users, self.item_table([]).item_id.to_numpy()

    def evaluate_new_items(self, name, model) -> dict:
        """Old users, new items added from their side information alone."""
        rows, relevant, users, new_items = self.item_cold()
        adapted = copy.deepcopy(model)
        adapted.add_items(self.item_table(list(adapted.item_features_.columns)))
        out = {"estimator": name}
        for label, candidates in (("new-item", new_items), ("catalogue", None)):
            recs = adapted.recommend(users, n=CATALOG_K, items=candidates)
            out[f"{label} nDCG"], out[f"{label} Recall"] = self._item_metrics(
                users, recs, rows, relevant
            )
        # The evidence that popularity among new items counts: the new users
        # arrive (partial_fit of all their rows, new items included).
        early = np.sort(
            np.concatenate(
                [self.split["new_user_rows"], self.split["new_item_of_new_users"]]
            )
        )
        adapted.partial_fit(self.rows(early), self.y(early))
        recs = adapted.recommend(users, n=CATALOG_K, items=new_items)
        out[EARLY_NDCG] = self._item_metrics(users, recs, rows, relevant)[0]
        return out

    def _item_metrics(self, users, recs, rows, relevant):
        frame = self.frame
        return list_metrics(
            users,
            recs,
            frame["user_id"].to_numpy()[rows],
            frame["item_id"].to_numpy()[rows],
            relevant,
        )

    def new_item_baselines(self, encode) -> list[dict]:
        """Popularity among new items (their counts among the new users) and the
        text nearest neighbours of each user's mean training-item embedding."""
        frame, split = self.frame, self.split
        rows, relevant, users, new_items = self.item_cold()
        counts = (
            frame["item_id"]
            .iloc[split["new_item_of_new_users"]]
            .value_counts()
            .reindex(new_items, fill_value=0)
        )
        top = counts.sort_values(ascending=False, kind="stable").index.to_numpy()
        popular = [top[:CATALOG_K]] * len(users)
        out = [{"estimator": "popularity among new items"}]
        out[0]["new-item nDCG"], out[0]["new-item Recall"] = self._item_metrics(
            users, popular, rows, relevant
        )
        out[0][EARLY_NDCG] = out[0]["new-item nDCG"]  # the same evidence
        # text nearest neighbour
        catalogue = frame.drop_duplicates("item_id").set_index("item_id")
        vectors = pd.DataFrame(
            encode(catalogue[self.text_columns]), index=catalogue.index
        )
        vectors = vectors.div(np.linalg.norm(vectors, axis=1), axis=0)
        train = frame.iloc[split["train"]]
        if self.kind == "ratings":  # the items the user liked, when ratings say so
            liked = train[train["rating"] >= RELEVANT_RATING]
            train = liked if len(liked) else train
        profile = (
            vectors.loc[train["item_id"]].groupby(train["user_id"].to_numpy()).mean()
        )
        new_vectors = vectors.loc[new_items].to_numpy()
        scores = profile.reindex(users).fillna(0).to_numpy() @ new_vectors.T
        order = np.argsort(-scores, axis=1, kind="stable")[:, :CATALOG_K]
        nearest = [new_items[row] for row in order]
        row = {"estimator": "text nearest neighbour"}
        row["new-item nDCG"], row["new-item Recall"] = self._item_metrics(
            users, nearest, rows, relevant
        )
        out.append(row)
        return out


# ---------------------------------------------------------------------- tuning
def tune_peers(frame, split, kind, log) -> dict:
    """EASE's l2 (and, on ratings, which rows count) and ALS's settings, chosen on
    a validation split of the training users (new-user protocol, 10 support)."""
    rng = np.random.default_rng(1)
    train = split["train"]
    ids = frame["user_id"].to_numpy()
    users = np.unique(ids[train])
    held = rng.choice(users, round(VALIDATION_SHARE * len(users)), replace=False)
    in_held = np.isin(ids[train], held)
    fit_rows, held_rows = train[~in_held], train[in_held]
    times = frame["timestamp"].to_numpy()
    held_rows = held_rows[np.lexsort((held_rows, times[held_rows], ids[held_rows]))]
    support, test = support_and_test(frame, held_rows, VALIDATION_SUPPORT)
    X = frame.drop(columns=["rating"])
    y = None if kind == "positive" else frame["rating"].to_numpy()
    relevant = relevance(frame, test, kind)
    items = frame["item_id"].to_numpy()

    def score(model):
        model.partial_fit(X.iloc[support], None if y is None else y[support])
        val_users = list(pd.unique(ids[support]))
        recs = model.recommend(val_users, n=CATALOG_K)
        return list_metrics(val_users, recs, ids[test], items[test], relevant)[0]

    chosen = {}
    best = (-1.0, None)
    for min_rating in (None, RELEVANT_RATING) if kind == "ratings" else (None,):
        for l2 in EASE_GRID:
            params = {"l2": l2, "min_rating": min_rating}
            model = EASERecommender(**params).fit(
                X.iloc[fit_rows], None if y is None else y[fit_rows]
            )
            value = score(model)
            log(f"  tune ease {params}: {value:.4f}")
            best = max(best, (value, params), key=lambda t: t[0])
    chosen["ease"] = best[1]
    best = (-1.0, None)
    for params in ALS_GRID:
        model = ALSPeer(**params).fit(X.iloc[fit_rows])
        value = score(model)
        log(f"  tune als {params}: {value:.4f}")
        best = max(best, (value, params), key=lambda t: t[0])
    chosen["als"] = best[1]
    return chosen


# ------------------------------------------------------------------ estimators
def make_estimator(name, tuned, random_state, text_columns):
    def encoder():
        from sklearn_metarec.text import TransformerTextEncoder

        return TransformerTextEncoder(cache_dir=str(TEXT_CACHE))

    if name == "popularity":
        return PopularityRecommender()
    if name == "ease":
        return EASERecommender(**tuned["ease"])
    if name == "als":
        return ALSPeer(**tuned["als"], random_state=random_state)
    if name == "metacf":
        return MetaCFRecommender(random_state=random_state)
    if name == "metacf_rating_only":  # what recommend ranked before the ranking
        return MetaCFRecommender(ranking_loss=None, random_state=random_state)
    if name == "llm":
        return LLMContentRecommender(
            text_columns=text_columns, encoder=encoder(), random_state=random_state
        )
    if name == "hybrid":
        return HybridMetaRecommender(
            text_columns=text_columns, encoder=encoder(), random_state=random_state
        )
    raise ValueError(f"unknown estimator {name!r}")


ESTIMATORS = ("popularity", "ease", "als", "metacf", "llm", "hybrid")
USER_COLUMNS = ("gender", "age", "occupation", "zip")  # MovieLens-1M's users
OPTIONAL = ("metacf_rating_only",)
CONTENT = ("metacf", "llm", "hybrid", "metacf_rating_only")


def load(dataset, data_home):
    if dataset == "latest-small":
        from sklearn_metarec.datasets import load_movielens_small

        X, y = load_movielens_small(return_X_y=True)
        title = "MovieLens latest-small (bundled)"
    else:
        from sklearn_metarec.datasets import fetch_movielens

        X, y = fetch_movielens(
            "1m", data_home=data_home, download_if_missing=False, return_X_y=True
        )
        title = "MovieLens-1M"
    frame = X.assign(rating=np.asarray(y, dtype=np.float64))
    text_columns = [c for c in [*TEXT_COLUMNS, "tags"] if c in frame.columns]
    return frame, title, text_columns


PROTOCOL = """\
Split (`random_state={seed}`): 20% of the users are new and 10% of the items are \
new, both drawn at random. The models are fitted on the other users' \
interactions with the other items, minus each such (warm) user's last \
{holdout} interactions in time, which are the warm test. Relevant: a test \
interaction rated >= 4 on ratings data, any test interaction on positive-only \
data (the same rows with the ratings dropped: every estimator gets `y=None`). \
Lists are `recommend(users, n=10)` over the whole catalogue of the fitted items \
minus the user's own items; a relevant item outside the catalogue counts as a \
miss. nDCG@10 (binary gain) and Recall@10 average over users with a relevant test \
item.

- **new@k**: each new user's first k interactions with old items (time order) \
are given to one `partial_fit` call (a deep copy of the fitted model per k), the \
rest of their interactions with old items are the test; users with no interaction \
beyond the first k are left out. ALS folds users in with `recalculate_user=True`.
- **warm**: the fitted model's lists for the warm users.
- **cov**: catalogue coverage@10, the share of the catalogue's items that appear \
in at least one list (new users at 5 interactions; warm users).
- **new items**: the new items enter the fitted model from their side \
information alone (`add_items`: text and side columns, no interaction); each warm \
user with a relevant interaction with a new item gets `recommend(user, n=10, \
items=new_items)` (*new-item*) and `recommend(user, n=10)` over old and new items \
(*catalogue*); relevant = the user's relevant interactions with new items (any \
time). Baselines: *popularity among new items* (their interaction counts among \
the new users, an oracle of early popularity no model here has) and *text nearest \
neighbour* (cosine between a new item's MiniLM embedding and the mean embedding \
of the user's training items, rated >= 4 on ratings data). *new-item nDCG, new \
users folded in*: the same new-item lists after one `partial_fit` of all the new \
users' rows (their interactions with old and new items), the evidence that \
popularity among new items counts (its row repeats its new-item nDCG).
- **Peers**: popularity counts interactions; EASE (l2, and on ratings which rows \
count: all or rated >= 4) and ALS (factors, regularization, alpha; 15 iterations, \
binary interactions) are tuned on a validation split of the training users (10% \
of them as new users at 10 support interactions, fitted on the other 90%): \
{tuned}. The meta estimators run with their defaults; `llm` and `hybrid` read \
title, genres, director, actors and plot with all-MiniLM-L6-v2 (embeddings from \
the encoder's disk cache when an earlier run filled it).
- **Time**: *fit s* wall clock of `fit`; *adapt ms* the median `partial_fit` of \
one new user from their first {adapt} interactions, {n_adapt} users one after \
another on one copy, {passes} times on fresh copies (the median of all the calls), \
every estimator side by side (after all are fitted, taking turns by blocks of \
{block} users), given every column of the log; *adapt ms (no item \
columns)* the same from the id columns and the user's own columns (gender, age, \
occupation, zip: the items are known to the model); *recommend ms/user* \
`recommend(n=10)` of the new users at 5 interactions, per user. Torch runs on \
one thread.
"""


def tables(rows, item_rows):
    """(title, columns, rows) of each table of one kind of data."""
    new_users = [f"new@{k} nDCG" for k in SUPPORT_SIZES]
    new_users += ["new@5 Recall", "new@20 Recall", "new@5 cov"]
    warm = ["warm nDCG", "warm Recall", "warm cov", "fit s", "adapt ms"]
    warm += ["adapt ms (no item columns)"]
    items = ["new-item nDCG", "new-item Recall", "catalogue nDCG", "catalogue Recall"]
    items += [EARLY_NDCG]
    return [
        ("New users", ["estimator", *new_users], rows),
        ("Warm users and time", ["estimator", *warm, "recommend ms/user"], rows),
        ("New items (text and side columns only)", ["estimator", *items], item_rows),
    ]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", default="ml-1m", choices=["ml-1m", "latest-small"])
    parser.add_argument("--estimators", default=None)
    parser.add_argument("--kinds", default="ratings,positive")
    parser.add_argument("--data-home", type=Path, default=None)
    parser.add_argument("--random-state", type=int, default=0)
    parser.add_argument("--no-write", action="store_true")
    parser.add_argument("--torch-threads", type=int, default=1)
    args = parser.parse_args(argv)
    import torch

    if args.torch_threads:
        torch.set_num_threads(args.torch_threads)
    names = (
        ESTIMATORS
        if args.estimators is None
        else tuple(n.strip() for n in args.estimators.split(",") if n.strip())
    )
    unknown = [n for n in names if n not in ESTIMATORS + OPTIONAL]
    if unknown:
        parser.error(f"unknown estimators {unknown}; known {ESTIMATORS + OPTIONAL}")
    names = tuple(dict.fromkeys([*PEERS, *names]))
    kinds = [k.strip() for k in args.kinds.split(",")]

    def log(message):
        print(message, file=sys.stderr, flush=True)

    total = time.perf_counter()
    frame, title, text_columns = load(
        args.dataset, args.data_home or default_data_home()
    )
    split = topn_split(frame, args.random_state)
    log(f"{title}: {len(frame):,} rows, train {len(split['train']):,}")
    from sklearn_metarec.text import TransformerTextEncoder, join_text_columns

    text_encoder = TransformerTextEncoder(cache_dir=str(TEXT_CACHE))

    def encode(side):
        return text_encoder.fit_transform(join_text_columns(side, list(side.columns)))

    sections = []
    tuned_text = []
    for kind in kinds:
        tuned = tune_peers(frame, split, kind, log)
        tuned_text.append(f"{kind}: EASE {tuned['ease']}, ALS {tuned['als']}")
        bench = Bench(frame, split, kind, text_columns)
        rows, item_rows, models = [], [], {}
        for name in names:
            model = make_estimator(name, tuned, args.random_state, text_columns)
            X_train = bench.rows(split["train"])
            start = time.perf_counter()
            model.fit(X_train, bench.y(split["train"]))
            fit_s = time.perf_counter() - start
            log(f"{kind} {name}: fit {fit_s:.1f} s")
            row = bench.evaluate(name, model, log)
            row["fit s"] = fit_s
            rows.append(row)
            if name in CONTENT:
                item_rows.append(bench.evaluate_new_items(name, model))
            models[name] = model
        for column, columns in (
            ("adapt ms", None),
            ("adapt ms (no item columns)", USER_COLUMNS),
        ):
            log(f"{kind}: timing partial_fit ({column}), estimators side by side")
            for row, ms in zip(rows, bench.time_adaptations(models, columns).values()):
                row[column] = ms
        item_rows += bench.new_item_baselines(encode)
        sections.append((kind, rows, item_rows))

    body = [
        PROTOCOL.format(
            seed=args.random_state,
            holdout=WARM_HOLDOUT,
            tuned="; ".join(tuned_text),
            adapt=ADAPT_SIZE,
            n_adapt=N_ADAPT_USERS,
            passes=ADAPT_PASSES,
            block=ADAPT_BLOCK,
        ),
        f"Data: {title}, {len(frame):,} interactions; train {len(split['train']):,} "
        f"rows, {len(split['new_items'])} new items. Total wall time of the command: "
        f"{time.perf_counter() - total:.0f} s.\n",
    ]
    for kind, rows, item_rows in sections:
        label = "ratings" if kind == "ratings" else "positive-only (ratings dropped)"
        for heading, columns, table_rows in tables(rows, item_rows):
            body.append(f"\n### {heading}, {label}\n")
            body.append(
                markdown_table(
                    [{c: r.get(c, float("nan")) for c in columns} for r in table_rows]
                )
            )
    report = "\n".join(body)
    print(report)
    if not args.no_write:
        command = " ".join(["python benchmarks/bench_topn.py", *(argv or sys.argv[1:])])
        section = "topn_ml1m" if args.dataset == "ml-1m" else "topn_small"
        path = write_section(section, f"Top-N lists ({title})", command, report)
        log(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
