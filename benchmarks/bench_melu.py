"""The MeLU protocol on MovieLens-1M: every estimator beside the baselines.

One command fits each estimator once on the MeLU train rows (existing users'
ratings of existing items, warm query rows held out) and scores it on the four
scenarios of :class:`~sklearn_metarec.model_selection.MeLUSplit` (warm, user_cold,
item_cold, both_cold): MAE, RMSE, nDCG@1/@3 over each user's 10 query items, and
nDCG@10 / Recall@10 of ``recommend`` over the whole catalogue; then fit seconds,
``partial_fit`` milliseconds per new user (10 ratings), ``recommend`` seconds for
every user, and peak memory. The protocol is spelled out in ``_harness.py`` and in
the section this script writes to ``docs/benchmarks.md``.

The baselines (``bias``, ``itemknn``, ``popularity``) always run, in the same
process and on the same split, whatever ``--estimators`` asks for.

Usage::

    python benchmarks/bench_melu.py [--estimators bias,itemknn,popularity,metacf]
                                    [--quick] [--data-home PATH] [--random-state 0]
                                    [--no-write]

``--quick`` runs the same protocol on the bundled MovieLens latest-small (release
years parsed from the titles) and writes section ``melu_quick`` instead of
``melu_ml1m``. ``--data-home`` defaults to ``$SKLEARN_METAREC_DATA``, then
``$SKLEARN_METAREC_SHARED_DATA``, then ``shared/data`` beside the repository.

Adding an estimator: put a factory in ``ESTIMATORS`` (``name -> callable(random_state)
returning an unfitted estimator with its benchmark settings``); add the name to
``RATING_FREE`` if its ``predict`` is a ranking score rather than a rating.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))

from _harness import format_report, run_benchmark  # noqa: E402
from _report import write_section  # noqa: E402

from sklearn_metarec.baselines import (  # noqa: E402
    BiasRecommender,
    ItemKNNRecommender,
    PopularityRecommender,
)
from sklearn_metarec.model_selection import MeLUSplit  # noqa: E402

BASELINES = ("bias", "itemknn", "popularity")

#: name -> factory(random_state) returning an unfitted estimator (benchmark settings).
ESTIMATORS: dict[str, Callable[[int], object]] = {
    "bias": lambda random_state: BiasRecommender(),
    "itemknn": lambda random_state: ItemKNNRecommender(),
    "popularity": lambda random_state: PopularityRecommender(),
}

#: Estimators whose ``predict`` is a ranking score, not a rating: no MAE / RMSE.
RATING_FREE = frozenset({"popularity"})

#: Registered below only when importable; listed in the error for unknown names.
PENDING: dict[str, str] = {}

try:
    from sklearn_metarec import MetaCFRecommender
except ImportError as exc:
    PENDING["metacf"] = str(exc)
else:
    ESTIMATORS["metacf"] = lambda random_state: MetaCFRecommender(
        random_state=random_state
    )

# The text estimators read title, genres, director, actors and plot (ML-1M with
# MeLU's extra text; on latest-small only the columns that exist are used). Their
# embeddings are cached on disk (git-ignored), so only the first run encodes.
TEXT_COLUMNS = ["title", "genres", "director", "actors", "plot"]
_text_columns = list(TEXT_COLUMNS)  # narrowed by load() to the columns X has
TEXT_CACHE = Path(__file__).resolve().parent / ".text_cache"


def _encoder():
    from sklearn_metarec.text import TransformerTextEncoder

    return TransformerTextEncoder(cache_dir=str(TEXT_CACHE))


try:
    from sklearn_metarec import LLMContentRecommender
except ImportError as exc:
    PENDING["llm"] = str(exc)
else:
    ESTIMATORS["llm"] = lambda random_state: LLMContentRecommender(
        text_columns=_text_columns, encoder=_encoder(), random_state=random_state
    )

    # The genre-only content baseline of the LLM issue: the same estimator reading
    # nothing but the genres (TF-IDF), no other side features.
    def _genre_only(random_state):
        from sklearn_metarec.text import TfidfSVDEncoder

        return LLMContentRecommender(
            text_columns=["genres"],
            encoder=TfidfSVDEncoder(n_components=16),
            item_features=None,
            random_state=random_state,
        )

    ESTIMATORS["genre_only"] = _genre_only

try:
    from sklearn_metarec import HybridMetaRecommender
except ImportError as exc:
    PENDING["hybrid"] = str(exc)
else:
    ESTIMATORS["hybrid"] = lambda random_state: HybridMetaRecommender(
        text_columns=_text_columns, encoder=_encoder(), random_state=random_state
    )

    # The hybrid reading the genres alone (TF-IDF), like genre_only: on ML-1M its
    # rating error is lower than with MiniLM over five columns in every scenario
    # but item-cold, where the two are level (docs/benchmarks.md).
    def _hybrid_genres(random_state):
        from sklearn_metarec.text import TfidfSVDEncoder

        return HybridMetaRecommender(
            text_columns=["genres"],
            encoder=TfidfSVDEncoder(n_components=16, random_state=random_state),
            random_state=random_state,
        )

    ESTIMATORS["hybrid_genres"] = _hybrid_genres


PROTOCOL = """\
Protocol (`sklearn_metarec.model_selection.MeLUSplit`, \
`random_state={seed}`): users with 13-100 ratings, 20% of them new; items released \
in 1998 or later are new; per user and scenario 10 random ratings are the query set, \
the rest (at least 3) the support set. Each estimator is fitted once on the train \
rows (existing users x existing items, warm query rows held out). For each scenario \
a deep copy of the fitted model gets the scenario's support rows that are not train \
rows in one `partial_fit` call (new users adapt, new items enter the catalogue; \
warm support rows are train rows already, so the warm model is scored as fitted), \
then:

- **MAE, RMSE**: `predict` on the query rows, per-user error averaged over users \
(`users=`); `–` for popularity, whose score is not a rating.
- **nDCG@1, nDCG@3**: each user's 10 query items ranked by `predict`, gain = the \
rating (linear), ties broken pessimistically.
- **cat nDCG@10, cat Recall@10**: `recommend(users, n=10, exclude_seen=True)` over \
the adapted model's whole catalogue (items of train plus the scenario's support \
rows) minus the user's train and support items. Relevant = the user's query items \
rated >= 4 (binary gain); users without one are skipped. A relevant query item \
that is in no train or support row of the scenario (rated in query sets only) is \
outside every estimator's catalogue and counts as a miss; \
*rankable relevant* in the scenario table is the share of relevant pairs that can \
be ranked. In the item-cold scenarios only new items are relevant while the \
catalogue holds old and new items alike: a model must rank a new item, known \
from a few support ratings or its text, above the established items to score there.
- **new nDCG@10**: ranking among the items never seen in training only: each user's \
candidates are the scenario's new items (in support rows, in no train row) minus the \
user's own support items, scored with `predict`; relevant = the user's query items \
among them rated >= 4. Empty (`–`) where a scenario has no new item; in user_cold \
the few new items are those that new users' support rows bring.
- **partial_fit s**: the scenario's one-call adaptation.
- **Time and memory**: *adapt ms* is `partial_fit` of one user_cold user with their \
first 10 support rows, one call per user, for the first 200 user_cold users with at \
least 10 support rows, on a fresh copy of the fitted model (median and 90th \
percentile); *recommend all s* is `recommend(n=10)` for every user id of the data \
set on that copy (users neither fitted nor adapted are served as cold users). \
*peak RSS* is the maximum resident set size during the estimator's whole run \
(fit, four scenarios, timing; sampled every 5 ms, the sampler paused while \
*adapt ms* is timed, and read from the kernel's high-water mark), *RSS before* \
the process's RSS when it started (data and earlier estimators included).
- **Text estimators** (`llm`, `hybrid`, `genre_only`, `hybrid_genres`): `llm` and \
`hybrid` read title, genres, director, actors and plot with all-MiniLM-L6-v2; \
`genre_only` and `hybrid_genres` read the genres alone (TF-IDF, 16 SVD \
components). MiniLM embeddings come from the encoder's disk cache \
(`benchmarks/.text_cache`, git-ignored) when an earlier run filled it; *fit s* then \
excludes encoding, whose first run over the 3,883 ML-1M texts is measured in the \
"Text encoding" section (about 120 s on an idle machine of this kind). The item \
warm-up (`warmup_reg`), the item-bias refit at the end of fit (`item_refit_reg`), \
the residual neighbourhood correction (`n_neighbors`) and the parameter average \
over the second half of the epochs (`average`) of the meta estimators are on \
(library defaults); `warmup_reg=None` is zero-shot. `predict` clips ratings \
to the range of fit's targets (every rating estimator).
- **Threads**: the process runs torch on one intra-op thread (`--torch-threads 1`).
- **Noise**: on this 2-core VM, wall-clock timings of the same command vary by up to \
2x between runs (the baselines' *adapt ms* moved between 0.8 and 1.6 ms, MetaCF's \
between 4 and 9 ms); compare estimators as ratios within one table.
"""


def default_data_home() -> Path:
    for env in ("SKLEARN_METAREC_DATA", "SKLEARN_METAREC_SHARED_DATA"):
        if os.environ.get(env):
            return Path(os.environ[env])
    return REPO.parent / "shared" / "data"


def parse_estimators(text: str | None) -> list[str]:
    """Requested names, baselines first, without duplicates; unknown: ValueError."""
    requested = (
        list(ESTIMATORS)
        if text is None
        else [n.strip() for n in text.split(",") if n.strip()]
    )
    unknown = [n for n in requested if n not in ESTIMATORS]
    if unknown:
        pending = "".join(
            f"\n  {name} is not importable yet ({reason})"
            for name, reason in PENDING.items()
            if name in unknown
        )
        raise ValueError(
            f"Unknown estimator(s) {unknown}; known: {sorted(ESTIMATORS)}.{pending}"
        )
    return list(dict.fromkeys([*BASELINES, *requested]))


def load(quick: bool, data_home: Path):
    """``(X, y, title)``: ML-1M with the MeLU extra info, or latest-small.

    Also narrows the text estimators' columns to the text columns ``X`` has.
    """
    X, y, title = _load(quick, data_home)
    _text_columns[:] = [c for c in [*TEXT_COLUMNS, "tags"] if c in X.columns]
    return X, y, title


def _load(quick: bool, data_home: Path):
    if quick:
        from sklearn_metarec.datasets import load_movielens_small

        X, y = load_movielens_small(return_X_y=True)
        return X, y.to_numpy(), "MovieLens latest-small (bundled; years from titles)"
    from sklearn_metarec.datasets import fetch_movielens

    X, y = fetch_movielens(
        "1m", data_home=data_home, download_if_missing=False, return_X_y=True
    )
    if "year" not in X.columns:
        print(
            "note: no ml-1m-melu-extrainfo in the data home; release years are "
            "parsed from the titles",
            file=sys.stderr,
        )
    return X, y.to_numpy(), "MovieLens-1M"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--estimators",
        default=None,
        help=f"comma-separated names (default: all registered: {','.join(ESTIMATORS)})"
        "; the baselines always run",
    )
    parser.add_argument(
        "--quick", action="store_true", help="bundled latest-small instead of ML-1M"
    )
    parser.add_argument("--data-home", type=Path, default=None)
    parser.add_argument("--random-state", type=int, default=0)
    parser.add_argument(
        "--no-write", action="store_true", help="do not update docs/benchmarks.md"
    )
    parser.add_argument(
        "--torch-threads",
        type=int,
        default=1,
        help="torch intra-op threads for this process (default 1: the meta-learning "
        "estimators run many small tensor operations, which extra threads slow down "
        "on a 2-core machine); 0 leaves torch's default",
    )
    args = parser.parse_args(argv)
    if args.torch_threads:
        import torch

        torch.set_num_threads(args.torch_threads)
    try:
        names = parse_estimators(args.estimators)
    except ValueError as exc:
        parser.error(str(exc))

    total = time.perf_counter()
    data_home = args.data_home or default_data_home()
    X, y, dataset = load(args.quick, data_home)
    split = MeLUSplit(random_state=args.random_state)
    scenarios = split.split_scenarios(X, y)
    print(
        f"{dataset}: {len(X):,} ratings; MeLU split in "
        f"{time.perf_counter() - total:.1f} s; estimators: {', '.join(names)}",
        file=sys.stderr,
    )
    estimators = {name: ESTIMATORS[name](args.random_state) for name in names}
    results = run_benchmark(
        estimators,
        X,
        y,
        scenarios,
        rating_free=RATING_FREE,
        all_users=np.unique(X["user_id"].to_numpy()),
        log=lambda message: print(message, file=sys.stderr),
    )
    report = format_report(results)
    elapsed = time.perf_counter() - total
    print(report)
    print(f"Total wall time {elapsed:.1f} s", file=sys.stderr)

    if not args.no_write:
        command = " ".join(["python benchmarks/bench_melu.py", *(argv or sys.argv[1:])])
        body = (
            f"{PROTOCOL.format(seed=args.random_state)}\n"
            f"Data: {dataset}. Total wall time of the command: {elapsed:.0f} s.\n\n"
            f"{report}"
        )
        title = (
            "MeLU protocol, quick check (MovieLens latest-small)"
            if args.quick
            else "MeLU protocol on MovieLens-1M"
        )
        path = write_section(
            "melu_quick" if args.quick else "melu_ml1m", title, command, body
        )
        print(f"wrote {path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
