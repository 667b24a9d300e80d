"""The contract every recommender of the package keeps (DESIGN §2-3, STYLE tests)."""

import pickle

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone

from sklearn_metarec import (
    HybridMetaRecommender,
    LLMContentRecommender,
    MetaCFRecommender,
)
from sklearn_metarec.baselines import (
    BiasRecommender,
    EASERecommender,
    ItemKNNRecommender,
    PopularityRecommender,
)
from sklearn_metarec.text import TfidfSVDEncoder  # noqa: E402

from .conftest import synthetic_log

_FAST = {"max_epochs": 3, "embedding_dim": 4, "random_state": 0}
META_ESTIMATORS = [
    MetaCFRecommender(**_FAST),
    MetaCFRecommender(inner_solver="gradient", algorithm="fomaml", **_FAST),
    LLMContentRecommender(encoder=TfidfSVDEncoder(n_components=8), **_FAST),
    HybridMetaRecommender(encoder=TfidfSVDEncoder(n_components=8), **_FAST),
]
ESTIMATORS = [
    BiasRecommender(),
    ItemKNNRecommender(),
    PopularityRecommender(),
    EASERecommender(l2=10.0),
    *META_ESTIMATORS,
]
RATING_ESTIMATORS = [BiasRecommender(), ItemKNNRecommender(), *META_ESTIMATORS]
# Fitted on the same log with the ratings dropped (y=None: every row a positive).
POSITIVE_ONLY = [
    PopularityRecommender(),
    EASERecommender(l2=10.0),
    MetaCFRecommender(**_FAST),
    LLMContentRecommender(encoder=TfidfSVDEncoder(n_components=8), **_FAST),
    HybridMetaRecommender(encoder=TfidfSVDEncoder(n_components=8), **_FAST),
]
CASES = [(e, False) for e in ESTIMATORS] + [(e, True) for e in POSITIVE_ONLY]


def _ids(est):
    name = type(est).__name__
    return name + (
        "-gradient" if getattr(est, "inner_solver", "") == "gradient" else ""
    )


def _case_ids(case):
    est, positive_only = case
    return _ids(est) + ("-positive" if positive_only else "")


def _split_users(X, y, n_cold=10):
    users = X["user_id"].unique()
    cold = set(users[-n_cold:])
    is_cold = X["user_id"].isin(cold).to_numpy()
    return X[~is_cold], y[~is_cold], X[is_cold], y[is_cold]


@pytest.fixture(params=CASES, ids=_case_ids)
def fitted(request, ratings_log):
    """A fitted estimator with its train rows and new users' rows; the targets
    are None for the positive-only cases."""
    estimator, positive_only = request.param
    X, y = ratings_log
    X_train, y_train, X_cold, y_cold = _split_users(X, y)
    if positive_only:
        y_train = y_cold = None
    est = clone(estimator).fit(X_train, y_train)
    return est, X_train, y_train, X_cold, y_cold


def test_unknown_users_and_items_get_finite_scores(fitted):
    est, X_train, *_ = fitted
    X_new = pd.DataFrame(
        {
            "user_id": ["never-seen", X_train["user_id"].iloc[0], "never-seen"],
            "item_id": [X_train["item_id"].iloc[0], -5, -6],
            # A known item's side information is what the model holds.
            "title": [X_train["title"].iloc[0], "a brand new film", "another"],
            "genres": [X_train["genres"].iloc[0], "Drama", "Action|Comedy"],
        }
    )
    scores = est.predict(X_new)
    assert scores.shape == (3,)
    assert np.all(np.isfinite(scores))
    recs = est.recommend(["never-seen"], n=5)
    assert len(recs) == 1 and len(recs[0]) == 5


def test_recommend_returns_unique_ordered_unseen_items(fitted):
    est, X_train, *_ = fitted
    users = X_train["user_id"].unique()[:5]
    recs, scores = est.recommend(users, n=7, return_scores=True)
    everything = est.recommend(users, n=len(est.item_index_), return_scores=True)
    for user, items, item_scores, (all_items, all_scores) in zip(
        users, recs, scores, zip(*everything)
    ):
        assert len(items) == len(set(items.tolist()))
        seen = set(X_train.loc[X_train["user_id"] == user, "item_id"])
        assert not seen & set(items.tolist())
        assert np.all(np.diff(item_scores) <= 0), "recommendations must be best first"
        # The n best of the whole ranking (no unseen item scores higher).
        np.testing.assert_array_equal(items, all_items[:7])
        np.testing.assert_allclose(item_scores, all_scores[:7])
        if not _ranks_interactions(est):  # the ranking is predict's order
            pred = est.predict(
                pd.DataFrame(
                    {"user_id": user, "item_id": items, "title": "", "genres": ""}
                ).iloc[:, : est.n_features_in_]
            )
            assert np.all(np.diff(pred) <= 1e-9)
    all_recs = est.recommend(users, n=7, exclude_seen=False)
    assert all(len(r) == 7 for r in all_recs)


def _ranks_interactions(est) -> bool:
    """Whether ``recommend`` ranks by the interaction tower rather than predict."""
    return getattr(est, "ranking_loss", None) is not None


def test_recommend_n_larger_than_catalogue(fitted):
    est, *_ = fitted
    n_items = len(est.item_index_)
    (recs,) = est.recommend(["cold"], n=n_items + 10)
    assert len(recs) == n_items


def test_recommend_rejects_bad_arguments(fitted):
    est, *_ = fitted
    with pytest.raises(ValueError, match="1-D list"):
        est.recommend("u1")
    with pytest.raises(ValueError, match="positive integer"):
        est.recommend(["u1"], n=0)


def test_pickle_round_trip_gives_identical_predictions(fitted):
    est, X_train, *_ = fitted
    restored = pickle.loads(pickle.dumps(est))
    np.testing.assert_array_equal(est.predict(X_train), restored.predict(X_train))


@pytest.mark.parametrize("case", CASES, ids=_case_ids)
def test_same_seed_refits_are_identical(case, ratings_log):
    estimator, positive_only = case
    X, y = ratings_log
    y = None if positive_only else y
    a = clone(estimator).fit(X, y).predict(X)
    b = clone(estimator).fit(X, y).predict(X)
    np.testing.assert_array_equal(a, b)


def test_partial_fit_leaves_other_users_bit_identical(fitted):
    est, X_train, y_train, X_cold, y_cold = fitted
    before = est.predict(X_train)
    recs_before = est.recommend(X_train["user_id"].unique()[:3], n=5)
    est.partial_fit(X_cold, y_cold)
    np.testing.assert_array_equal(before, est.predict(X_train))
    recs_after = est.recommend(X_train["user_id"].unique()[:3], n=5)
    for a, b in zip(recs_before, recs_after):
        np.testing.assert_array_equal(a, b)


def test_partial_fit_registers_new_users_and_excludes_their_items(fitted):
    est, _, _, X_cold, y_cold = fitted
    user = X_cold["user_id"].iloc[0]
    est.partial_fit(X_cold, y_cold)
    assert user in est.user_index_
    (recs,) = est.recommend([user], n=len(est.item_index_))
    rated = set(X_cold.loc[X_cold["user_id"] == user, "item_id"])
    assert not rated & set(recs.tolist())


def test_recommend_after_partial_fit_leaves_out_every_item_given(fitted):
    """recommend reads each user's items from their own rows of the log, also
    the rows partial_fit appended after an earlier recommend: a known user's new
    item, a new user's items; users repeated or out of order get the same list."""
    est, X_train, y_train, X_cold, y_cold = fitted
    known = X_train["user_id"].iloc[0]
    est.recommend([known], n=5)  # reads (and indexes) the log before the call
    mine = set(X_train.loc[X_train["user_id"] == known, "item_id"])
    extra = X_train.loc[~X_train["item_id"].isin(mine)].iloc[:1].assign(user_id=known)
    X_new = pd.concat([X_cold, extra], ignore_index=True)
    y_new = None if y_cold is None else np.append(y_cold, 4.0)
    est.partial_fit(X_new, y_new)
    new = X_cold["user_id"].iloc[0]
    X_all = pd.concat([X_train, X_new])
    users = [new, known, new, "never-seen", known]
    n_items = len(est.item_index_)
    recs = est.recommend(users, n=n_items)
    for user, items in zip(users, recs):
        given = set(X_all.loc[X_all["user_id"] == user, "item_id"])
        assert set(items.tolist()) == set(est.item_index_.ids.tolist()) - given
    np.testing.assert_array_equal(recs[0], recs[2])
    np.testing.assert_array_equal(recs[1], recs[4])


@pytest.mark.parametrize("estimator", RATING_ESTIMATORS, ids=_ids)
def test_adaptation_lowers_query_loss_of_new_users(estimator):
    X, y = synthetic_log(n_users=120, n_items=40, density=0.5, seed=1)
    X_train, y_train, X_cold, y_cold = _split_users(X, y, n_cold=30)
    est = clone(estimator).fit(X_train, y_train)
    # Per cold user: first half of their rows is the support set, the rest query.
    rank = X_cold.groupby("user_id").cumcount().to_numpy()
    size = X_cold.groupby("user_id")["item_id"].transform("size").to_numpy()
    support = rank < size // 2
    before = np.mean((est.predict(X_cold[~support]) - y_cold[~support]) ** 2)
    est.partial_fit(X_cold[support], y_cold[support])
    after = np.mean((est.predict(X_cold[~support]) - y_cold[~support]) ** 2)
    assert after < before


@pytest.mark.parametrize("case", CASES, ids=_case_ids)
def test_partial_fit_before_fit_fits(case, ratings_log):
    estimator, positive_only = case
    X, y = ratings_log
    y = None if positive_only else y
    a = clone(estimator).partial_fit(X, y).predict(X)
    b = clone(estimator).fit(X, y).predict(X)
    np.testing.assert_array_equal(a, b)


def test_partial_fit_adds_new_items_to_the_catalogue(fitted):
    est, X_train, y_train, *_ = fitted
    X_new = pd.DataFrame(
        {"user_id": ["x", "y"], "item_id": [-1, -1], "title": "new", "genres": "Drama"}
    )
    est.partial_fit(X_new, None if y_train is None else [5.0, 4.0])
    assert -1 in est.item_index_
    recs = est.recommend([X_train["user_id"].iloc[0]], n=len(est.item_index_))[0]
    assert -1 in set(recs.tolist())
