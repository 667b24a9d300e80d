"""New items from their features alone: where they land in each user's list.

Issue #19. ``LLMContentRecommender`` and ``HybridMetaRecommender`` (and
``MetaCFRecommender`` for reference) are fitted with their defaults (text columns,
the encoder's disk cache and ``random_state`` as in ``bench_topn.py``; torch on one
thread) on ``bench_topn.py``'s split (``topn_split``, ratings): 20% of the users
and 10% of the items are new, the models see the other users' ratings of the
other items minus each user's last 10 in time. The held-out items then enter
each fitted model from their text and side columns alone, ``model.add_items(
items_table)``, with no interaction. The test pairs are every (user, new item)
pair of a warm (fitted) user who rated the new item >= 4 (``Bench.item_cold()``);
the user's other new items compete in the same list.

Columns of the table (``--protocol ranks``, the default):

- *catalogue median rank*, *catalogue hit@10*, *catalogue hit@50*: the
  1-based rank of the pair's new item in ``model.recommend(user, n=<all>)``, the
  user's list over the whole catalogue (the fitted items and the added ones) minus
  the items the user rated in the fitted rows; its median over the pairs, and the
  share of pairs whose item is in the top 10 / top 50.
- *new-items median rank*, *new-items hit@10*, *new-items hit@50*: the same with
  the candidates restricted to the new items, ``recommend(user, n=<all new>,
  items=new_items)``: the rank among the new items only.
- *fit s*: wall clock of ``fit``; *add+rank s*: ``add_items`` and both lists of
  every test user.

Reference rows, scored on the same pairs and candidates:

- *popularity among new items (oracle)*: the new items ordered by their number of
  ratings from the new users (rows held out of every model: an oracle of the new
  items' early popularity that no model has; the test pairs themselves are not
  counted), one order for every user, ties by item id. It has no scale on which to
  compete with the old items, so it has no catalogue columns.
- *text nearest neighbour*: cosine between an item's all-MiniLM-L6-v2 embedding
  (title, genres, director, actors, plot) and the mean embedding of the items the
  user rated >= 4 in the fitted rows, as in ``bench_topn.py``; over the whole
  catalogue (minus the user's fitted items) and over the new items.
- *random (expected)*: a random order; hit@k is the mean of ``k / C`` over the
  pairs and the median rank the median of ``(C + 1) / 2``, where ``C`` is the
  number of the user's candidates.

``--protocol melu`` instead repeats the *new nDCG@10* of ``bench_melu.py`` (each
user's candidates are the items never seen in training) over
``MeLUSplit(random_state=s)`` for several seeds (each estimator fitted once per
split with ``random_state=s``) and reports each split and the mean, to compare text
and genre-only content on more than one draw.

Usage::

    python benchmarks/bench_new_items.py [--protocol ranks|melu]
        ranks: [--dataset ml-1m|latest-small] [--estimators metacf,llm,hybrid]
               [--random-state 0]
        melu:  [--seeds 0,1,2,3,4,5] [--estimators bias,llm,genre_only,...]
        both:  [--torch-threads 1] [--data-home PATH] [--no-write]

Prints a table and writes section ``new_items_ranks_ml1m`` (``ranks``; ``_small``
on latest-small) or ``new_items_ml1m`` (``melu``) of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_melu  # noqa: E402
import bench_topn  # noqa: E402
from _harness import RELEVANT_RATING, _table, _take, evaluate_scenario  # noqa: E402
from _report import write_section  # noqa: E402

from sklearn_metarec.model_selection import MeLUSplit  # noqa: E402

MODELS = ("metacf", "llm", "hybrid")
CUTOFFS = (10, 50)
VIEWS = ("catalogue", "new-items")
USER_CHUNK = 256  # users per recommend call: full lists are n_items long
MELU_SCENARIOS = ("item_cold", "both_cold")
MELU_COLUMN = "new nDCG@10"


# ----------------------------------------------------------------------- ranks
def pair_ranks(users, lists, pair_users, pair_items) -> np.ndarray:
    """1-based rank of each pair's item in its user's list (inf: not in it).

    ``lists[i]`` is the list of ``users[i]``; pairs of users not in ``users`` get
    inf too.
    """
    ranks = np.full(len(pair_users), np.inf)
    by_user = pd.Series(np.arange(len(pair_users))).groupby(pair_users).indices
    for user, items in zip(users, lists):
        rows = by_user.get(user)
        if rows is None:
            continue
        position = pd.Index(items).get_indexer(pair_items[rows])
        ranks[rows] = np.where(position >= 0, position + 1.0, np.inf)
    return ranks


def model_ranks(model, users, pair_users, pair_items, items=None) -> np.ndarray:
    """Ranks in ``model.recommend(users, n=<every candidate>, items=items)``."""
    n = len(model.item_index_) if items is None else len(items)
    ranks = np.full(len(pair_users), np.inf)
    for start in range(0, len(users), USER_CHUNK):
        part = users[start : start + USER_CHUNK]
        lists = model.recommend(part, n=n, items=items)
        rows = np.isin(pair_users, part)
        ranks[rows] = pair_ranks(part, lists, pair_users[rows], pair_items[rows])
    return ranks


def score_ranks(scores, candidates, users, pair_users, pair_items) -> np.ndarray:
    """Ranks in the lists that sort ``scores`` (users x candidates; -inf: left
    out), ties by candidate order."""
    ranks = np.full(len(pair_users), np.inf)
    for start in range(0, len(users), USER_CHUNK):
        part = users[start : start + USER_CHUNK]
        block = scores[start : start + USER_CHUNK]
        order = np.argsort(-block, axis=1, kind="stable")
        lists = [
            candidates[row[np.isfinite(values[row])]]
            for row, values in zip(order, block)
        ]
        rows = np.isin(pair_users, part)
        ranks[rows] = pair_ranks(part, lists, pair_users[rows], pair_items[rows])
    return ranks


def summarize(ranks, prefix) -> dict:
    out = {f"{prefix} median rank": float(np.median(ranks))}
    for k in CUTOFFS:
        out[f"{prefix} hit@{k}"] = float(np.mean(ranks <= k))
    return out


def random_expected(n_candidates, prefix) -> dict:
    """What a random order scores in expectation, ``n_candidates`` per pair."""
    n = np.asarray(n_candidates, dtype=np.float64)
    out = {f"{prefix} median rank": float(np.median((n + 1) / 2))}
    for k in CUTOFFS:
        out[f"{prefix} hit@{k}"] = float(np.mean(np.minimum(k, n) / n))
    return out


class NewItemRanks:
    """The test pairs of one ``bench_topn`` split and the reference rankings."""

    def __init__(self, frame, split, text_columns):
        self.bench = bench_topn.Bench(frame, split, "ratings", text_columns)
        rows, relevant, users, new_items = self.bench.item_cold()
        pairs = rows[relevant]
        self.pair_users = frame["user_id"].to_numpy()[pairs]
        self.pair_items = frame["item_id"].to_numpy()[pairs]
        self.users = np.asarray(users)
        self.new_items = new_items
        train = frame.iloc[split["train"]]
        self.train = train
        self.catalogue = np.union1d(train["item_id"].unique(), new_items)
        seen = train[train["user_id"].isin(self.users)]
        self.seen_by_user = seen.groupby("user_id")["item_id"].unique()

    def pairs(self) -> dict:
        """Sizes the report states."""
        return {
            "pairs": len(self.pair_users),
            "users": len(self.users),
            "new items": len(self.new_items),
            "catalogue": len(self.catalogue),
        }

    def model_row(self, model) -> dict:
        """``add_items`` on ``model`` (fitted on the split's train rows), then the
        ranks of the test pairs in both views."""
        start = time.perf_counter()
        model.add_items(self.bench.item_table(list(model.item_features_.columns)))
        if len(model.item_index_) != len(self.catalogue):
            raise RuntimeError(
                f"the model's catalogue has {len(model.item_index_)} items, the "
                f"split's {len(self.catalogue)}"
            )
        args = (self.users, self.pair_users, self.pair_items)
        row = summarize(model_ranks(model, *args), "catalogue")
        row |= summarize(model_ranks(model, *args, items=self.new_items), "new-items")
        row["add+rank s"] = time.perf_counter() - start
        return row

    def reference_rows(self, encode) -> list[dict]:
        frame, split = self.bench.frame, self.bench.split
        counts = (
            frame["item_id"]
            .iloc[split["new_item_of_new_users"]]
            .value_counts()
            .reindex(self.new_items, fill_value=0)
        )
        order = counts.sort_values(ascending=False, kind="stable").index.to_numpy()
        ranks = pair_ranks(
            self.users, [order] * len(self.users), self.pair_users, self.pair_items
        )
        popular = {"estimator": "popularity among new items (oracle)"}
        popular |= summarize(ranks, "new-items")
        text = {"estimator": "text nearest neighbour"}
        text |= self._text_ranks(encode)
        n_seen = self.seen_by_user.map(len).reindex(self.pair_users).to_numpy()
        chance = {"estimator": "random (expected)"}
        chance |= random_expected(len(self.catalogue) - n_seen, "catalogue")
        chance |= random_expected(
            np.full(len(n_seen), len(self.new_items)), "new-items"
        )
        return [popular, text, chance]

    def _text_ranks(self, encode) -> dict:
        """Cosine to the mean embedding of the user's fitted items rated >= 4
        (``bench_topn``'s text nearest neighbour), both views."""
        catalogue = (
            self.bench.frame.drop_duplicates("item_id")
            .set_index("item_id")
            .loc[self.catalogue]
        )
        vectors = np.asarray(encode(catalogue[self.bench.text_columns]), float)
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        vectors = pd.DataFrame(vectors, index=catalogue.index)
        liked = self.train[self.train["rating"] >= RELEVANT_RATING]
        liked = liked if len(liked) else self.train
        profile = (
            vectors.loc[liked["item_id"]].groupby(liked["user_id"].to_numpy()).mean()
        )
        profile = profile.reindex(self.users).fillna(0.0).to_numpy()
        scores = profile @ vectors.to_numpy().T
        items = pd.Index(self.catalogue)
        for row, user in enumerate(self.users):
            scores[row, items.get_indexer(self.seen_by_user.get(user, []))] = -np.inf
        args = (self.users, self.pair_users, self.pair_items)
        new = items.get_indexer(self.new_items)
        out = summarize(score_ranks(scores, self.catalogue, *args), "catalogue")
        out |= summarize(
            score_ranks(scores[:, new], self.new_items, *args), "new-items"
        )
        return out


def run_ranks(args, argv) -> int:
    names = tuple(n.strip() for n in (args.estimators or ",".join(MODELS)).split(","))
    unknown = [n for n in names if n not in bench_topn.CONTENT]
    if unknown:
        raise SystemExit(f"unknown estimators {unknown}; known {bench_topn.CONTENT}")

    def log(message):
        print(message, file=sys.stderr, flush=True)

    total = time.perf_counter()
    frame, title, text_columns = bench_topn.load(
        args.dataset, args.data_home or bench_melu.default_data_home()
    )
    split = bench_topn.topn_split(frame, args.random_state)
    ranks = NewItemRanks(frame, split, text_columns)
    log(f"{title}: train {len(split['train']):,} rows; {ranks.pairs()}")
    rows = []
    for name in names:
        model = bench_topn.make_estimator(name, None, args.random_state, text_columns)
        train = split["train"]
        start = time.perf_counter()
        model.fit(ranks.bench.rows(train), ranks.bench.y(train))
        row = {"estimator": name, "fit s": time.perf_counter() - start}
        row |= ranks.model_row(model)
        log(f"  {name}: {row}")
        rows.append(row)
        del model
    from sklearn_metarec.text import TransformerTextEncoder, join_text_columns

    encoder = TransformerTextEncoder(cache_dir=str(bench_melu.TEXT_CACHE))

    def encode(side):
        return encoder.fit_transform(join_text_columns(side, list(side.columns)))

    rows += ranks.reference_rows(encode)
    columns = ["estimator"]
    columns += [f"{v} {m}" for v in VIEWS for m in ("median rank", "hit@10", "hit@50")]
    columns += ["fit s", "add+rank s"]
    digits = {c: 3 if "hit@" in c else 1 for c in columns}
    table = _table(
        [{c: r.get(c, np.nan) for c in columns} for r in rows], columns, digits
    )
    sizes = ranks.pairs()
    body = (
        f"Data: {title}, `bench_topn.py`'s split (`random_state={args.random_state}`,"
        f" ratings): the models are fitted with their defaults on "
        f"{len(split['train']):,} rows, then `add_items` adds the "
        f"{sizes['new items']} held-out items from their text and side columns "
        f"alone (catalogue {sizes['catalogue']} items). Test pairs: the "
        f"{sizes['pairs']:,} (user, new item) pairs of {sizes['users']:,} fitted "
        "users who rated the new item >= 4. *catalogue*: the item's 1-based rank in "
        "the user's `recommend` list over the whole catalogue minus the user's "
        "fitted items; *new-items*: its rank among the new items only. Median over "
        "the pairs, and hit@k the share of pairs ranked in the top k. *popularity "
        "among new items (oracle)*: the new items by their number of ratings from "
        "the new users (held out of every model), the same order for every user; "
        "*text nearest neighbour*: cosine to the mean MiniLM embedding of the "
        "user's fitted items rated >= 4; *random (expected)*: a random order. "
        "*add+rank s*: `add_items` plus both lists of every test user. Torch on "
        f"one thread; total wall time {time.perf_counter() - total:.0f} s.\n\n" + table
    )
    print(body)
    if not args.no_write:
        command = " ".join(
            ["python benchmarks/bench_new_items.py", *(argv or sys.argv[1:])]
        )
        section = "new_items_ranks_" + ("ml1m" if args.dataset == "ml-1m" else "small")
        path = write_section(
            section,
            f"New items from their features alone: rank in each user's list ({title})",
            command,
            body,
        )
        log(f"wrote {path}")
    return 0


# ------------------------------------------------------------------ MeLU splits
def run_melu(args, argv) -> int:
    seeds = [int(s) for s in args.seeds.split(",") if s.strip()]
    names = [
        n.strip()
        for n in (args.estimators or "bias,llm,genre_only,hybrid,hybrid_genres").split(
            ","
        )
        if n.strip()
    ]
    unknown = [n for n in names if n not in bench_melu.ESTIMATORS]
    if unknown:
        raise SystemExit(f"unknown estimator(s) {unknown}")
    start = time.perf_counter()
    X, y, dataset = bench_melu.load(
        False, args.data_home or bench_melu.default_data_home()
    )
    scores = {(n, s): {} for n in names for s in seeds}
    users = {}
    for seed in seeds:
        scenarios = MeLUSplit(random_state=seed).split_scenarios(X, y)
        train = scenarios["item_cold"].train
        for name in names:
            model = bench_melu.ESTIMATORS[name](seed)
            model.fit(_take(X, train), y[train])
            for scenario in MELU_SCENARIOS:
                out = evaluate_scenario(
                    model, X, y, scenarios[scenario], rating_metrics=False
                )
                scores[name, seed][scenario] = out[MELU_COLUMN]
                users[seed, scenario] = out["n_users"]
            print(
                f"  seed {seed} {name}: "
                + ", ".join(f"{k} {v:.4f}" for k, v in scores[name, seed].items()),
                file=sys.stderr,
            )

    header = ["estimator"]
    for scenario in MELU_SCENARIOS:
        header += [f"{scenario} s={s}" for s in seeds] + [f"{scenario} mean"]
    lines = ["| " + " | ".join(header) + " |", "|---" * len(header) + "|"]
    means = {}
    for name in names:
        cells = [name]
        for scenario in MELU_SCENARIOS:
            values = [scores[name, s][scenario] for s in seeds]
            means[name, scenario] = float(np.mean(values))
            cells += [f"{v:.4f}" for v in values] + [f"{means[name, scenario]:.4f}"]
        lines.append("| " + " | ".join(cells) + " |")
    comparison = []
    if {"llm", "genre_only"} <= set(names):
        for scenario in MELU_SCENARIOS:
            wins = sum(
                scores["llm", s][scenario] > scores["genre_only", s][scenario]
                for s in seeds
            )
            diff = means["llm", scenario] - means["genre_only", scenario]
            comparison.append(
                f"- {scenario}: llm minus genre_only, mean over the splits "
                f"{diff:+.4f}; llm higher on {wins} of {len(seeds)} splits."
            )
    sizes = ", ".join(
        f"{scenario} {min(users[s, scenario] for s in seeds)}-"
        f"{max(users[s, scenario] for s in seeds)}"
        for scenario in MELU_SCENARIOS
    )
    elapsed = time.perf_counter() - start
    body = (
        f"Data: {dataset}. *new nDCG@10* as in the MeLU section (candidates: the "
        "scenario's items never seen in training, minus the user's support items, "
        "scored with `predict` after one `partial_fit` of the scenario's support "
        "rows; relevant: query items rated >= 4), on `MeLUSplit(random_state=s)` "
        f"for s in {seeds}, each estimator fitted once per split with "
        f"`random_state=s`. Users per scenario over the splits: {sizes}. Torch on "
        f"one thread; total wall time {elapsed:.0f} s.\n\n"
        + "\n".join(lines)
        + ("\n\n" + "\n".join(comparison) if comparison else "")
    )
    print(body)
    if not args.no_write:
        command = " ".join(
            ["python benchmarks/bench_new_items.py", *(argv or sys.argv[1:])]
        )
        write_section(
            "new_items_ml1m",
            "Ranking new items over several MeLU splits (ML-1M)",
            command,
            body,
        )
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--protocol", default="ranks", choices=["ranks", "melu"])
    parser.add_argument("--estimators", default=None)
    parser.add_argument("--dataset", default="ml-1m", choices=["ml-1m", "latest-small"])
    parser.add_argument("--random-state", type=int, default=0)
    parser.add_argument("--seeds", default="0,1,2,3,4,5")
    parser.add_argument("--data-home", type=Path, default=None)
    parser.add_argument("--torch-threads", type=int, default=1)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args(argv)
    import torch

    if args.torch_threads:
        torch.set_num_threads(args.torch_threads)
    return (run_ranks if args.protocol == "ranks" else run_melu)(args, argv)


if __name__ == "__main__":
    sys.exit(main())
