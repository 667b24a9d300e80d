"""Ranking metrics: hand-computed cases, input checks and hypothesis properties."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.exceptions import UndefinedMetricWarning

from sklearn_metarec.metrics import (
    catalog_coverage,
    hit_rate_at_k,
    map_at_k,
    mrr_at_k,
    ndcg_at_k,
    precision_at_k,
    recall_at_k,
)

LOG2_3 = math.log2(3)  # discount of rank 2
BINARY = [precision_at_k, recall_at_k, hit_rate_at_k, map_at_k, mrr_at_k]
ALL = [ndcg_at_k, *BINARY]


# --------------------------------------------------------------------- hand computed


def test_ndcg_candidate_mode_by_hand():
    # user a: scores rank the items 5, 3, 1: the ideal order, nDCG 1.
    # user b: scores 0.8 > 0.6 > 0.2 rank relevances 4, 2, 4:
    #   DCG  = 4/1 + 2/log2(3) + 4/2 = 7.26186
    #   IDCG = 4/1 + 4/log2(3) + 2/2 = 7.52372  -> 0.96520
    # mean over users = (1 + 0.96520) / 2 = 0.98260
    y_true = [5, 3, 1, 4, 4, 2]
    y_score = [0.9, 0.5, 0.1, 0.2, 0.8, 0.6]
    users = ["a", "a", "a", "b", "b", "b"]
    dcg_b = 4 + 2 / LOG2_3 + 4 / 2
    idcg_b = 4 + 4 / LOG2_3 + 2 / 2
    expected = (1 + dcg_b / idcg_b) / 2
    assert expected == pytest.approx(0.98260, abs=1e-5)
    assert ndcg_at_k(y_true, y_score, users=users, k=3) == pytest.approx(expected)


def test_ndcg_gain_and_cutoff_by_hand():
    # One user, relevances 3, 1, 2 scored 0.1, 0.9, 0.5: the top item has rel 1.
    # nDCG@1 linear = 1 / 3; exponential = (2^1 - 1) / (2^3 - 1) = 1 / 7.
    y_true, y_score, users = [3, 1, 2], [0.1, 0.9, 0.5], [0, 0, 0]
    assert ndcg_at_k(y_true, y_score, users=users, k=1) == pytest.approx(1 / 3)
    assert ndcg_at_k(
        y_true, y_score, users=users, k=1, gain="exponential"
    ) == pytest.approx(1 / 7)
    # nDCG@3 exponential: DCG = 1 + 3/log2(3) + 7/2, IDCG = 7 + 3/log2(3) + 1/2
    dcg = 1 + 3 / LOG2_3 + 7 / 2
    idcg = 7 + 3 / LOG2_3 + 1 / 2
    assert ndcg_at_k(
        y_true, y_score, users=users, k=3, gain="exponential"
    ) == pytest.approx(dcg / idcg)


def test_binary_metrics_by_hand():
    # One user; threshold "auto" -> ratings >= 4 are relevant: rel = 1, 1, 0, 0, 1.
    # Score order: rows 0 (rel 1), 2 (0), 3 (0), 4 (1), 1 (1). Top 3 rel = 1, 0, 0.
    y_true = [5, 4, 2, 1, 5]
    y_score = [0.9, 0.1, 0.8, 0.7, 0.2]
    kw = {"users": [7] * 5, "k": 3}
    assert precision_at_k(y_true, y_score, **kw) == pytest.approx(1 / 3)  # 1 hit / 3
    assert recall_at_k(y_true, y_score, **kw) == pytest.approx(1 / 3)  # 1 of 3 rel
    assert hit_rate_at_k(y_true, y_score, **kw) == 1.0
    assert mrr_at_k(y_true, y_score, **kw) == 1.0  # first relevant at rank 1
    assert map_at_k(y_true, y_score, **kw) == pytest.approx(1 / 3)  # (1/1) / min(3, 3)
    # linear nDCG@3: DCG = 5 + 2/log2(3) + 1/2; IDCG = 5 + 5/log2(3) + 4/2
    expected = (5 + 2 / LOG2_3 + 0.5) / (5 + 5 / LOG2_3 + 2)
    assert expected == pytest.approx(0.665888, abs=1e-6)  # 6.76186 / 10.15465
    assert ndcg_at_k(y_true, y_score, **kw) == pytest.approx(expected)
    # k = 5: hits at ranks 1, 4, 5 -> AP = (1/1 + 2/4 + 3/5) / 3 = 0.7; MRR still 1.
    kw["k"] = 5
    assert map_at_k(y_true, y_score, **kw) == pytest.approx((1 + 2 / 4 + 3 / 5) / 3)
    assert precision_at_k(y_true, y_score, **kw) == pytest.approx(3 / 5)
    assert recall_at_k(y_true, y_score, **kw) == 1.0


def test_mrr_and_map_two_users_by_hand():
    # user 0: relevant only at rank 3 -> RR = 1/3, AP@3 = (1/3) / 1
    # user 1: relevant at rank 1     -> RR = 1,   AP@3 = 1
    y_true = [[0, 0, 1], [1, 0, 0]]
    y_score = [[3, 2, 1], [3, 2, 1]]
    assert mrr_at_k(y_true, y_score, k=3) == pytest.approx((1 / 3 + 1) / 2)
    assert map_at_k(y_true, y_score, k=3) == pytest.approx((1 / 3 + 1) / 2)
    assert mrr_at_k(y_true, y_score, k=2) == pytest.approx((0 + 1) / 2)


def test_threshold_options():
    y_true, y_score, users = [5, 3, 1], [0.1, 0.9, 0.5], [0, 0, 0]
    # auto: 5 is the only rating >= 4, ranked third -> P@1 = 0.
    assert precision_at_k(y_true, y_score, users=users, k=1) == 0.0
    # threshold 3: ratings 5 and 3 relevant; the top item (3) is relevant.
    assert precision_at_k(y_true, y_score, users=users, k=1, threshold=3) == 1.0
    # 0/1 labels under "auto": > 0 is relevant.
    assert hit_rate_at_k([0, 1, 0], [0.9, 0.8, 0.1], users=users, k=2) == 1.0


def test_ties_are_pessimistic_and_order_free():
    # Equal scores: the less relevant item is ranked first, whatever the row order.
    for y_true in ([1, 0], [0, 1]):
        kw = {"users": [0, 0], "k": 1}
        assert ndcg_at_k(y_true, [0.5, 0.5], **kw) == 0.0
        assert hit_rate_at_k(y_true, [0.5, 0.5], **kw) == 0.0
        assert mrr_at_k(y_true, [0.5, 0.5], users=[0, 0], k=2) == 0.5


def test_users_without_relevant_items_are_skipped():
    # user "b" has no relevant item: only user "a" (P@1 = 1) counts.
    y_true = [5, 1, 0, 0]
    y_score = [0.9, 0.1, 0.5, 0.4]
    users = ["a", "a", "b", "b"]
    assert precision_at_k(y_true, y_score, users=users, k=1) == 1.0
    assert ndcg_at_k(y_true, y_score, users=users, k=1) == 1.0


@pytest.mark.parametrize("metric", ALL)
def test_no_relevant_user_gives_nan_and_warns(metric):
    with pytest.warns(UndefinedMetricWarning, match="no user has a relevant item"):
        value = metric([0, 0], [0.5, 0.1], users=[1, 1])
    assert math.isnan(value)


def test_catalogue_mode_excludes_nan_and_counts_them_as_misses():
    # Item 1 (relevant) is excluded (NaN). Top-2 list: item 0 (rel 0), item 2 (rel 1).
    # DCG = 1/log2(3); IDCG@2 = 1 + 1/log2(3)  -> 0.386853
    y_true = np.array([[0.0, 1.0, 1.0]])
    y_score = np.array([[0.9, np.nan, 0.1]])
    expected = (1 / LOG2_3) / (1 + 1 / LOG2_3)
    assert ndcg_at_k(y_true, y_score, k=2) == pytest.approx(expected)
    # recall: 1 of 2 relevant retrieved; precision: 1 of the 2-item list.
    assert recall_at_k(y_true, y_score, k=2) == 0.5
    assert precision_at_k(y_true, y_score, k=2) == 0.5
    # -inf also excludes; only 1 rankable item: precision over a 1-item list.
    y_score = np.array([[-np.inf, np.nan, 0.1]])
    assert precision_at_k(y_true, y_score, k=2) == 1.0


def test_k_larger_than_list():
    y_true, y_score, users = [3, 1], [0.2, 0.9], [0, 0]
    # ranking rel 1, 3: DCG = 1 + 3/log2(3); IDCG = 3 + 1/log2(3)
    expected = (1 + 3 / LOG2_3) / (3 + 1 / LOG2_3)
    assert ndcg_at_k(y_true, y_score, users=users, k=50) == pytest.approx(expected)
    assert precision_at_k([5, 1], y_score, users=users, k=50) == 0.5  # 1 of 2 items


def test_catalog_coverage():
    assert catalog_coverage([["a", "b"], ["b", "c"]], n_items=10) == 0.3
    assert catalog_coverage([np.array([1, 2]), np.array([], dtype=int)], 4) == 0.5
    assert catalog_coverage([], 4) == 0.0
    with pytest.raises(ValueError, match="n_items"):
        catalog_coverage([["a"]], n_items=0)
    with pytest.raises(ValueError, match="more than n_items"):
        catalog_coverage([["a", "b"]], n_items=1)
    with pytest.raises(ValueError, match="sequence"):
        catalog_coverage("ab", n_items=3)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"y_true": [1, 0], "y_score": [1, 0]}, "need users="),
        ({"y_true": [1, 0], "y_score": [1, 0, 1], "users": [0, 0]}, "same shape"),
        ({"y_true": [[1, 0]], "y_score": [[1, 0]], "users": [0]}, "users= is for 1-D"),
        ({"y_true": [1, 0], "y_score": [1, 0], "users": [0]}, "one id per row"),
        ({"y_true": [1, 0], "y_score": [1, 0], "users": [0, 0], "k": 0}, "k must"),
        ({"y_true": [1, 0], "y_score": [1, 0], "users": [0, 0], "k": 1.5}, "k must"),
        (
            {"y_true": [np.nan, 0], "y_score": [1, 0], "users": [0, 0]},
            "y_true contains",
        ),
        ({"y_true": [1, 0], "y_score": [np.inf, 0], "users": [0, 0]}, r"\+inf"),
        ({"y_true": [], "y_score": [], "users": []}, "empty"),
        ({"y_true": [1, 0], "y_score": [1, 0], "users": [0, None]}, "missing"),
        ({"y_true": [[[1]]], "y_score": [[[1]]]}, "1-D"),
    ],
)
@pytest.mark.parametrize("metric", [ndcg_at_k, recall_at_k])
def test_bad_input_raises(metric, kwargs, match):
    with pytest.raises(ValueError, match=match):
        metric(**kwargs)


def test_bad_options_raise():
    with pytest.raises(ValueError, match="non-negative"):
        ndcg_at_k([-1, 2], [1, 0], users=[0, 0])
    with pytest.raises(ValueError, match="gain"):
        ndcg_at_k([1, 2], [1, 0], users=[0, 0], gain="log")
    with pytest.raises(ValueError, match="threshold"):
        precision_at_k([1, 2], [1, 0], users=[0, 0], threshold="high")
    with pytest.raises(ValueError, match="threshold"):
        precision_at_k([1, 2], [1, 0], users=[0, 0], threshold=float("nan"))


def test_catalogue_mode_is_fast_at_movielens_scale():
    # ~6,000 users x 3,700 items, the ML-1M catalogue evaluation.
    rng = np.random.default_rng(0)
    y_true = np.zeros((6000, 3700))
    y_true.ravel()[rng.integers(0, y_true.size, 100_000)] = 1.0
    y_score = rng.random((6000, 3700))
    y_score.ravel()[rng.integers(0, y_score.size, 1_000_000)] = np.nan  # seen items
    value = recall_at_k(y_true, y_score, k=10)
    assert 0 <= value <= 0.05


# --------------------------------------------------------------------- properties


@st.composite
def candidate_data(draw, integer_scores=False):
    """Rows of (user, relevance, score): a few users, a few rows each."""
    n_users = draw(st.integers(1, 5))
    sizes = draw(st.lists(st.integers(1, 8), min_size=n_users, max_size=n_users))
    users = np.repeat(np.arange(n_users), sizes)
    n = len(users)
    rel = np.array(draw(st.lists(st.integers(0, 5), min_size=n, max_size=n)), float)
    if integer_scores:  # many ties
        scores = draw(st.lists(st.integers(0, 3), min_size=n, max_size=n))
    else:
        scores = draw(
            st.lists(st.floats(-10, 10, allow_nan=False), min_size=n, max_size=n)
        )
    return users, rel, np.array(scores, float)


@settings(max_examples=60, deadline=None)
@given(data=candidate_data(integer_scores=True), k=st.integers(1, 10))
def test_values_in_unit_interval(data, k):
    users, rel, score = data
    rel[0] = 5  # at least one relevant user
    for metric in ALL:
        value = metric(rel, score, users=users, k=k)
        assert 0.0 <= value <= 1.0 + 1e-12


@settings(max_examples=60, deadline=None)
@given(data=candidate_data(), k=st.integers(1, 10))
def test_perfect_ranking_scores_one(data, k):
    users, rel, _ = data
    rel[0] = 5
    score = rel.copy()  # the true relevance is the perfect score
    for metric in (ndcg_at_k, hit_rate_at_k, mrr_at_k, map_at_k):
        assert metric(rel, score, users=users, k=k) == pytest.approx(1.0)
    # recall is 1 when k covers every relevant item
    assert recall_at_k(rel, score, users=users, k=10) == pytest.approx(1.0)


@settings(max_examples=60, deadline=None)
@given(
    data=candidate_data(integer_scores=True),
    k=st.integers(1, 10),
    seed=st.integers(0, 2**32 - 1),
)
def test_invariant_to_row_order_and_user_labels(data, k, seed):
    users, rel, score = data
    rel[0] = 5
    perm = np.random.default_rng(seed).permutation(len(users))
    labels = np.array([f"user-{u * 7 % 11}" for u in users], dtype=object)
    for metric in ALL:
        base = metric(rel, score, users=users, k=k)
        assert metric(rel[perm], score[perm], users=labels[perm], k=k) == (
            pytest.approx(base)
        )


@settings(max_examples=60, deadline=None)
@given(data=candidate_data(integer_scores=True), extra=st.integers(0, 20))
def test_k_beyond_longest_list_changes_nothing(data, extra):
    users, rel, score = data
    rel[0] = 5
    longest = int(np.bincount(users).max())
    for metric in ALL:
        assert metric(rel, score, users=users, k=longest + extra) == pytest.approx(
            metric(rel, score, users=users, k=longest)
        )


@settings(max_examples=40, deadline=None)
@given(
    n_users=st.integers(1, 6),
    n_items=st.integers(1, 9),
    k=st.integers(1, 12),
    seed=st.integers(0, 2**32 - 1),
)
def test_catalogue_mode_matches_candidate_mode(n_users, n_items, k, seed):
    rng = np.random.default_rng(seed)
    rel = rng.integers(0, 6, size=(n_users, n_items)).astype(float)
    rel[0, 0] = 5
    score = rng.integers(0, 4, size=(n_users, n_items)).astype(float)  # ties
    users = np.repeat(np.arange(n_users), n_items)
    for metric in ALL:
        assert metric(rel, score, k=k) == pytest.approx(
            metric(rel.ravel(), score.ravel(), users=users, k=k)
        )
