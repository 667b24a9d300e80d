"""Bounded-memory serving: ``predict`` and ``recommend`` work in chunks.

The chunk sizes are private constants of :mod:`sklearn_metarec.base`; shrinking them
must not change any result, and no hook may see more than one chunk at a time.
"""

import importlib.util
from pathlib import Path

import numpy as np
import pytest
from sklearn.base import clone

import sklearn_metarec.base as base
from sklearn_metarec import (
    HybridMetaRecommender,
    LLMContentRecommender,
    MetaCFRecommender,
)
from sklearn_metarec.baselines import (
    BiasRecommender,
    ItemKNNRecommender,
    PopularityRecommender,
)
from sklearn_metarec.datasets import make_interactions
from sklearn_metarec.text import TfidfSVDEncoder

_FAST = {"max_epochs": 1, "embedding_dim": 4, "random_state": 0}
#: Every row's score is computed on its own: chunking is bit-identical.
EXACT = [
    BiasRecommender(),
    PopularityRecommender(),
    ItemKNNRecommender(n_neighbors=5),
    MetaCFRecommender(**_FAST),
    MetaCFRecommender(inner_solver="gradient", **_FAST),
]
#: An MLP head, or the text projection of cold items, is a float32 matrix product
#: whose rounding depends on how many rows it multiplies at once (as predicting
#: the same rows in two calls does): equal to float32 precision.
ROUNDED = [
    MetaCFRecommender(hidden_dims=(8,), **_FAST),
    MetaCFRecommender(
        hidden_dims=(8,), adapt="user+head", inner_solver="gradient", **_FAST
    ),
    LLMContentRecommender(encoder=TfidfSVDEncoder(n_components=8), **_FAST),
    HybridMetaRecommender(encoder=TfidfSVDEncoder(n_components=8), **_FAST),
]


EXACT_IDS = ["bias", "popularity", "itemknn", "metacf", "metacf-gradient"]
ROUNDED_IDS = ["metacf-mlp", "metacf-user+head", "llm-content", "hybrid"]


@pytest.fixture(scope="module")
def log():
    """A log, and rows to score with cold users and cold items among them."""
    X, y = make_interactions(n_users=40, n_items=30, n_interactions=500, random_state=0)
    X_train, y_train = X.iloc[:420], y[:420]
    X_test = X.copy()
    X_test.loc[::7, "user_id"] = 999  # cold users
    X_test.loc[::5, "item_id"] = 998  # a cold item, with its title and genres
    return X_train, y_train, X_test


class _Spy:
    """Records the size of each call to a hook of a fitted estimator."""

    def __init__(self, monkeypatch, est, hook):
        self.sizes = []
        method = getattr(est, hook)

        def spy(arg):
            self.sizes.append(len(arg))
            return method(arg)

        monkeypatch.setattr(est, hook, spy)


def _predict_in_chunks(est, X, monkeypatch, rows):
    monkeypatch.setattr(base, "_PREDICT_CHUNK_ROWS", rows)
    spy = _Spy(monkeypatch, est, "_predict")
    scores = est.predict(X)
    monkeypatch.undo()
    assert spy.sizes == [min(rows, len(X) - s) for s in range(0, len(X), rows)]
    return scores


@pytest.mark.parametrize("est", EXACT, ids=EXACT_IDS)
def test_chunked_predict_is_bit_identical(est, log, monkeypatch):
    X_train, y_train, X_test = log
    est = clone(est).fit(X_train, y_train)
    whole = est.predict(X_test)
    for rows in (1, 7, 64):
        np.testing.assert_array_equal(
            _predict_in_chunks(est, X_test, monkeypatch, rows), whole
        )


@pytest.mark.parametrize("est", ROUNDED, ids=ROUNDED_IDS)
def test_chunked_predict_equals_to_float32_precision(est, log, monkeypatch):
    X_train, y_train, X_test = log
    est = clone(est).fit(X_train, y_train)
    whole = est.predict(X_test)
    for rows in (7, 64):
        chunked = _predict_in_chunks(est, X_test, monkeypatch, rows)
        np.testing.assert_allclose(chunked, whole, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("est", EXACT[:4], ids=EXACT_IDS[:4])
def test_recommend_scores_bounded_chunks_of_users(est, log, monkeypatch):
    X_train, y_train, _ = log
    est = clone(est).fit(X_train, y_train)
    users = [*X_train["user_id"].unique(), "cold-1", "cold-2"]
    whole = est.recommend(users, n=5)
    n_items = len(est.item_index_)
    monkeypatch.setattr(base, "_RECOMMEND_CHUNK_CELLS", 3 * n_items)
    spy = _Spy(monkeypatch, est, "_score_items")
    chunked = est.recommend(users, n=5)
    assert max(spy.sizes) == 3 and sum(spy.sizes) == len(users)
    assert len(chunked) == len(whole)
    for a, b in zip(chunked, whole):
        np.testing.assert_array_equal(a, b)


@pytest.fixture(scope="module")
def bench():
    """``benchmarks/bench_scale.py`` as a module."""
    path = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_scale.py"
    spec = importlib.util.spec_from_file_location("bench_scale", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_bench_scale_cases_run(bench):
    """The benchmark's cases, in this process on tiny data (the script runs each
    in a subprocess)."""
    common = {"torch_threads": 0, "n_items": 40, "ratings_per_user": 5}
    fits = [
        bench.fit_case({**common, "n_users": 60, "max_epochs": 1, "estimator": name})
        for name in ("bias", "ease", "metacf")
    ]
    fit = {**fits[0], "rows": [row for f in fits for row in f["rows"]]}
    assert [r["estimator"] for r in fit["rows"]] == ["bias", "ease", "metacf"]
    assert fit["n_ratings"] == 300
    assert fit["rows"][-1]["meta_batch_size"] == 32
    assert set(fit["rows"][-1]["steps"]) >= {"meta-train", "neighbours"}
    serve = bench.serve_case(
        {**common, "n_users": 60, "estimator": "bias", "max_epochs": 1}
        | {"predict_rows": 500}
    )
    calls = [r["call"] for r in serve["rows"]]
    assert calls[0] == "fit" and calls[-1] == "recommend 60 users"
    for row in fit["rows"] + serve["rows"]:
        assert row["wall_s"] >= 0 and row["peak_rss_mib"] >= row["rss_before_mib"] > 0
    bigger = {**fit, "n_ratings": 600, "rows": [dict(r) for r in fit["rows"]]}
    for row in bigger["rows"]:
        row["wall_s"] *= 4.0  # 4x the time for 2x the ratings: exponent 2
    results = [{**common, "n_users": 60, **fit}, {**common, "n_users": 120, **bigger}]
    table = bench.fit_table(results)
    assert [r["fit s / first"] for r in table] == pytest.approx([1.0] * 3 + [4.0] * 3)
    assert [r["time exponent"] for r in table] == pytest.approx([2.0] * 6)
    assert len(bench.serve_table([{"estimator": "bias", **serve}])) == len(calls)


def test_recommend_runs_an_mlp_head_on_bounded_blocks(log, monkeypatch):
    import sklearn_metarec.recommenders._meta_base as meta_base

    X_train, y_train, _ = log
    est = MetaCFRecommender(hidden_dims=(8,), **_FAST).fit(X_train, y_train)
    users = X_train["user_id"].unique()[:10]
    whole = est.recommend(users, n=5)
    n_items = len(est.item_index_)
    monkeypatch.setattr(meta_base, "_HEAD_CHUNK_CELLS", 2 * n_items)
    pairs = []
    hook = est._model.head.mlp.register_forward_hook(
        lambda module, args, output: pairs.append(args[0].shape[:-1].numel())
    )
    try:
        blocked = est.recommend(users, n=5)
    finally:
        hook.remove()
    assert pairs and max(pairs) <= 2 * n_items
    for a, b in zip(blocked, whole):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("tail_rows", [0, 10**9], ids=["rebuilt", "scanned"])
def test_seen_rows_index_gives_each_users_rows(log, monkeypatch, tail_rows):
    """recommend's blocks read their users' rows from a by-user index of the log,
    not a pass over it; rows appended by partial_fit are scanned until the index
    is rebuilt. Either way: each user's rows in log order, results unchanged."""
    monkeypatch.setattr(base, "_SEEN_INDEX_TAIL_ROWS", tail_rows)
    X_train, y_train, _ = log
    est = MetaCFRecommender(**_FAST).fit(X_train.iloc[:300], y_train[:300])
    before = est.recommend(X_train["user_id"].unique()[:5], n=5)
    for start in (300, 360):  # known users and new ones, twice
        part = slice(start, start + 60)
        est.partial_fit(X_train.iloc[part], y_train[part])
        user_pos = est._seen_log()[0]
        users = np.array([0, 3, 3, len(est.user_index_) - 1, -1, 10**6])
        rows = est._seen_rows(users)
        np.testing.assert_array_equal(rows, np.flatnonzero(np.isin(user_pos, users)))
        assert len(est._seen_rows([])) == 0
    indexed = est._seen_index_cache["index"][0]
    assert indexed == (len(user_pos) if tail_rows == 0 else 300)
    refit = MetaCFRecommender(**_FAST).fit(X_train.iloc[:300], y_train[:300])
    for a, b in zip(refit.recommend(X_train["user_id"].unique()[:5], n=5), before):
        np.testing.assert_array_equal(a, b)


def test_bench_scale_ml1m_table_takes_the_median_run(bench):
    def run(name, wall, text=0.0):
        steps = {"encode text": text} if text else {"meta-train": wall / 2}
        row = {"wall_s": wall, "steps": steps, "delta_mib": wall, "load_avg": 1.0}
        return {"estimator": name, "rows": [row]}

    results = [run("als", 4.0), run("metacf", 30.0), run("hybrid", 40.0, text=5.0)]
    results += [run("als", 6.0), run("metacf", 20.0), run("hybrid", 50.0, text=5.0)]
    results += [run("als", 5.0), run("metacf", 25.0), run("hybrid", 45.0, text=5.0)]
    table = {row["estimator"]: row for row in bench.ml1m_table(results)}
    assert table["metacf"]["fit s"] == 25.0
    assert table["metacf"]["fit s range"] == "20.0-30.0"
    assert table["metacf"]["fit peak - before MiB"] == 25.0  # from the same run
    assert table["metacf"]["/ ALS"] == pytest.approx(5.0)
    assert table["hybrid"]["/ ALS"] == pytest.approx(8.0)  # text encoding excluded


def test_item_counts_follow_the_log(log):
    """LLMContent's text search ranks by popularity counted from the log, kept
    up to date by counting only the rows appended since (new items included);
    a refit counts its own log."""
    X_train, y_train, _ = log
    est = LLMContentRecommender(encoder=TfidfSVDEncoder(n_components=4), **_FAST)
    est.fit(X_train.iloc[:300], y_train[:300])

    def expected():
        items = est._seen_log()[1]
        return np.bincount(items, minlength=len(est.item_index_))

    np.testing.assert_array_equal(est._item_counts(), expected())
    new = X_train.iloc[300:].copy()
    picks = new.index[::4]  # a new item, picked often, one title and genres
    new.loc[picks, "item_id"] = 10**6
    for column in est.item_features_.columns:
        new.loc[picks, column] = new.loc[picks[0], column]
    est.partial_fit(new, y_train[300:])
    np.testing.assert_array_equal(est._item_counts(), expected())
    title = str(new["title"].iloc[0])
    (top,) = est.recommend_from_text(title, n=1, popularity_weight=100.0)[:1]
    assert top == est.item_index_.ids[np.argmax(expected())]
    est.fit(X_train.iloc[:100], y_train[:100])
    np.testing.assert_array_equal(est._item_counts(), expected())
