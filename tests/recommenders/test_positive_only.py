"""Positive-only logs, the ranking objective and what ``recommend`` ranks."""

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone

from sklearn_metarec import (
    HybridMetaRecommender,
    LLMContentRecommender,
    MetaCFRecommender,
)
from sklearn_metarec.baselines import EASERecommender, PopularityRecommender
from sklearn_metarec.text import TfidfSVDEncoder

FAST = {"max_epochs": 3, "embedding_dim": 4, "random_state": 0}
META = [
    MetaCFRecommender(**FAST),
    LLMContentRecommender(encoder=TfidfSVDEncoder(n_components=8), **FAST),
    HybridMetaRecommender(encoder=TfidfSVDEncoder(n_components=8), **FAST),
]


def _name(est):
    return type(est).__name__


@pytest.mark.parametrize("estimator", META, ids=_name)
def test_a_log_without_target_is_fitted_as_implicit_feedback(estimator, ratings_log):
    X, _ = ratings_log
    model = clone(estimator).fit(X)
    assert model.objective_ == "implicit"
    assert set(model.user_state_) == {"user.embedding"}  # the interaction vector
    scores = model.predict(X.head(30))
    assert np.isfinite(scores).all()
    new = X.head(6).assign(user_id="new-user")
    model.partial_fit(new)  # no target either
    (recs,) = model.recommend(["new-user"], n=5)
    assert len(recs) == 5 and not set(recs) & set(new["item_id"])


def test_confidences_weigh_the_fold_in(ratings_log):
    X, _ = ratings_log
    model = MetaCFRecommender(objective="implicit", **FAST).fit(X)
    rows = X.head(4).assign(user_id="u")
    light = clone(model).fit(X)
    light.partial_fit(rows, [1.0, 1.0, 1.0, 1.0])
    heavy = clone(model).fit(X)
    heavy.partial_fit(rows, [1.0, 1.0, 1.0, 20.0])
    plain = clone(model).fit(X).partial_fit(rows)
    # y=None is confidence 1 everywhere; a larger confidence moves the user.
    np.testing.assert_array_equal(
        plain.user_state_["user.embedding"][-1], light.user_state_["user.embedding"][-1]
    )
    assert not np.allclose(
        heavy.user_state_["user.embedding"][-1], light.user_state_["user.embedding"][-1]
    )


def test_bad_targets_for_positive_only_data_are_value_errors(ratings_log):
    X, y = ratings_log
    with pytest.raises(ValueError, match="confidence weights.*>= 0"):
        MetaCFRecommender(objective="implicit", **FAST).fit(X, -y)
    with pytest.raises(ValueError, match="requires y"):
        MetaCFRecommender(objective="rating", **FAST).fit(X)
    with pytest.raises(ValueError, match="ranking_loss=None leaves nothing"):
        MetaCFRecommender(ranking_loss=None, **FAST).fit(X)
    with pytest.raises(ValueError, match="adapt='user\\+head' needs ratings"):
        MetaCFRecommender(adapt="user+head", **FAST).fit(X)
    rated = MetaCFRecommender(**FAST).fit(X, y)
    with pytest.raises(ValueError, match="requires y"):  # fitted on ratings
        rated.partial_fit(X.head(3).assign(user_id="n"))
    implicit = MetaCFRecommender(**FAST).fit(X)
    with pytest.raises(ValueError, match=">= 0"):
        implicit.partial_fit(X.head(3).assign(user_id="n"), [1.0, -1.0, 1.0])


def test_negative_sampling_is_seeded(ratings_log):
    X, _ = ratings_log
    small = {"max_epochs": 2, "embedding_dim": 4, "n_negatives": 5}
    a = MetaCFRecommender(random_state=3, **small).fit(X).predict(X)
    b = MetaCFRecommender(random_state=3, **small).fit(X).predict(X)
    c = MetaCFRecommender(random_state=4, **small).fit(X).predict(X)
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)


def test_ratings_keep_predicting_ratings_and_rank_by_the_interaction_tower(
    ratings_log,
):
    X, y = ratings_log
    model = MetaCFRecommender(**FAST).fit(X, y)
    assert model.objective_ == "rating"
    pred = model.predict(X)
    assert y.min() <= pred.min() and pred.max() <= y.max()
    without = MetaCFRecommender(ranking_loss=None, **FAST).fit(X, y)
    # The rating tower is the same with and without the ranking objective.
    np.testing.assert_allclose(without.predict(X), pred, rtol=1e-6)
    user = X["user_id"].iloc[0]
    ranked, scores = model.recommend(
        [user], n=len(model.item_index_), return_scores=True
    )
    position = model.user_index_.get_positions([user])
    logits = model._ranking_logits(position)[0].numpy()
    ratings = model._predict_items(position)[0]
    from scipy.stats import norm

    like = norm.logcdf((ratings - y.mean()) / model._rating_scale)
    expected = logits + model.like_weight * like
    items = model.item_index_.get_positions(ranked[0])
    np.testing.assert_allclose(scores[0], expected[items], rtol=1e-5, atol=1e-6)


def _clustered_log(n_items_per_group=15, seed=0):
    """Two groups of users, each interacting with its own half of the catalogue;
    the second half is more popular overall (more users), so popularity serves the
    wrong half to the first group."""
    rng = np.random.default_rng(seed)
    rows = []
    for user in range(150):
        group = 0 if user < 50 else 1
        items = np.arange(n_items_per_group) + group * n_items_per_group
        taken = rng.choice(items, size=8, replace=False)
        rows += [(f"u{user}", int(i), float(rng.integers(3, 6))) for i in taken]
    frame = pd.DataFrame(rows, columns=["user_id", "item_id", "rating"])
    return frame[["user_id", "item_id"]], frame["rating"].to_numpy()


@pytest.mark.parametrize("positive_only", [False, True], ids=["ratings", "positive"])
def test_the_ranking_beats_popularity_where_it_must(positive_only):
    X, y = _clustered_log()
    y_fit = None if positive_only else y
    # New users of the first (less popular) group with 3 of their group's items.
    rng = np.random.default_rng(1)
    new_rows, test_rows = [], []
    for user in range(20):
        items = rng.permutation(15)
        new_rows += [(f"n{user}", int(i)) for i in items[:3]]
        test_rows += [(f"n{user}", int(i)) for i in items[3:]]
    support = pd.DataFrame(new_rows, columns=["user_id", "item_id"])
    test = pd.DataFrame(test_rows, columns=["user_id", "item_id"])
    y_support = None if positive_only else np.full(len(support), 5.0)
    results = {}
    for name, est in {
        # A tiny log gives few meta-batches per epoch: a larger step size.
        "meta": MetaCFRecommender(max_epochs=20, lr=0.03, random_state=0),
        "popularity": PopularityRecommender(),
    }.items():
        est.fit(X, y_fit).partial_fit(support, y_support)
        users = support["user_id"].unique().tolist()
        recs = est.recommend(users, n=5)
        truth = set(zip(test["user_id"], test["item_id"]))
        hits = [[(u, i) in truth for i in r] for u, r in zip(users, recs)]
        results[name] = float(np.mean(hits))  # precision@5
    assert results["popularity"] == 0.0  # it serves the other group's items
    assert results["meta"] > 0.9


def test_ease_is_the_closed_form_and_folds_users_in():
    rng = np.random.default_rng(0)
    users = rng.integers(0, 30, size=200)
    items = rng.integers(0, 12, size=200)
    X = pd.DataFrame({"user_id": users, "item_id": items})
    model = EASERecommender(l2=5.0).fit(X)
    index = model.item_index_
    x = np.zeros((30, 12))
    x[model.user_index_.get_positions(users), index.get_positions(items)] = 1.0
    gram = x.T @ x
    # B minimises ||x - xB||^2 + l2 ||B||^2 with diag(B) = 0: for each column j, the
    # ridge regression of x_j on the other columns.
    for j in range(12):
        others = [k for k in range(12) if k != j]
        coef = np.linalg.solve(
            gram[np.ix_(others, others)] + 5.0 * np.eye(11), gram[others, j]
        )
        np.testing.assert_allclose(model.weights_[others, j], coef, atol=1e-8)
        assert model.weights_[j, j] == 0
    # Row-major, so that a few users' rows @ weights_ do not copy it.
    assert model.weights_.flags["C_CONTIGUOUS"]
    new = pd.DataFrame({"user_id": ["n", "n"], "item_id": [items[0], items[1]]})
    model.partial_fit(new)
    row = np.zeros(12)
    row[index.get_positions(new["item_id"])] = 1.0
    probe = pd.DataFrame({"user_id": ["n"] * 12, "item_id": index.ids})
    np.testing.assert_allclose(model.predict(probe), row @ model.weights_, atol=1e-10)


def test_ease_min_rating_keeps_the_liked_rows():
    X = pd.DataFrame({"user_id": [1, 1, 2, 2, 3], "item_id": list("abacb")})
    y = np.array([5.0, 1.0, 5.0, 4.0, 2.0])
    model = EASERecommender(l2=1.0, min_rating=4.0).fit(X, y)
    np.testing.assert_array_equal(model.item_counts_, [2.0, 0.0, 1.0])
    (recs,) = model.recommend([99], n=1)  # cold: the most liked item
    assert recs.tolist() == ["a"]
    # A known user's later rows count by the same rule: "c" liked, "b" not.
    model.partial_fit(pd.DataFrame({"user_id": [1, 1], "item_id": ["c", "b"]}), [5, 2])
    probe = pd.DataFrame({"user_id": [1] * 3, "item_id": list("abc")})
    liked = np.array([1.0, 0.0, 1.0])  # a (5) and c (5); b rated 1 and 2
    np.testing.assert_allclose(model.predict(probe), liked @ model.weights_)
    (recs,) = model.recommend([1], n=3)
    assert recs.tolist() == []  # every item is the user's own
