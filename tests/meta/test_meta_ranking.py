"""The ranking objective of meta/: closed-form fold-in, negatives, losses."""

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from sklearn_metarec.meta import (
    EpisodeBatch,
    MetaLearner,
    NegativeSampler,
    implicit_foldin,
    make_task_batch,
    ranking_loss,
    split_support_query,
)
from sklearn_metarec.meta._ranking import (
    bpr_task_losses,
    importance_gram,
    own_items_mask,
    softmax_task_losses,
)
from sklearn_metarec.nn import MetaRecNet


@settings(max_examples=25, deadline=None)
@given(
    n_rows=st.integers(0, 6),
    d=st.integers(1, 4),
    seed=st.integers(0, 2**16),
    alpha=st.floats(0.01, 2.0),
    lam=st.floats(0.1, 5.0),
)
def test_foldin_is_the_least_squares_solution(n_rows, d, seed, alpha, lam):
    rng = np.random.default_rng(seed)
    support = rng.normal(size=(n_rows, d))
    weight = rng.uniform(0.0, 3.0, size=n_rows)
    catalogue = rng.normal(size=(7, d))
    prior = rng.normal(size=d)
    got = implicit_foldin(
        torch.from_numpy(support)[None],
        torch.from_numpy(weight)[None],
        torch.from_numpy(prior),
        gram=torch.from_numpy(catalogue.T @ catalogue),
        negative_weight=alpha,
        precision=lam,
    )[0].numpy()
    # The same objective as one stacked least-squares problem: each positive with
    # target 1, each catalogue item with target 0, the prior as pseudo-rows.
    rows = [np.sqrt(weight)[:, None] * support, np.sqrt(alpha) * catalogue]
    targets = [np.sqrt(weight), np.zeros(len(catalogue))]
    rows.append(np.sqrt(lam) * np.eye(d))
    targets.append(np.sqrt(lam) * prior)
    expected = np.linalg.lstsq(np.vstack(rows), np.concatenate(targets), rcond=None)[0]
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-8)


def test_padding_rows_do_not_count():
    q = torch.randn(2, 3, generator=torch.Generator().manual_seed(0))
    kwargs = dict(gram=torch.eye(3), negative_weight=0.5, precision=1.0)
    one = implicit_foldin(q[:1][None], torch.ones(1, 1), torch.zeros(3), **kwargs)
    padded = implicit_foldin(
        q[None], torch.tensor([[1.0, 0.0]]), torch.zeros(3), **kwargs
    )
    torch.testing.assert_close(one, padded)


def test_importance_gram_is_unbiased():
    gen = torch.Generator().manual_seed(0)
    vec = torch.randn(6, 2, generator=gen, dtype=torch.float64)
    sampler = NegativeSampler([50, 1, 0, 10, 3, 7], n_negatives=4)
    rng = np.random.default_rng(0)
    draws = [sampler.draw(rng) for _ in range(4000)]
    estimate = sum(
        importance_gram(vec[d.items], d.log_prob.double()) for d in draws
    ) / len(draws)
    torch.testing.assert_close(estimate, vec.T @ vec, rtol=0.05, atol=0.05)


def test_negative_sampler_mixes_uniform_and_popularity():
    counts = np.array([90.0, 10.0, 0.0, 0.0])
    sampler = NegativeSampler(counts, n_negatives=3)
    expected = 0.5 / 4 + 0.5 * counts / counts.sum()
    np.testing.assert_allclose(sampler.prob, expected)
    assert torch.equal(  # seeded
        sampler.draw(np.random.default_rng(3)).items,
        sampler.draw(np.random.default_rng(3)).items,
    )
    rng = np.random.default_rng(0)
    draws = [sampler.draw(rng) for _ in range(5000)]
    items = torch.cat([d.items for d in draws]).numpy()
    frequency = np.bincount(items, minlength=4) / len(items)
    np.testing.assert_allclose(frequency, expected, atol=0.01)
    log_prob = torch.log(torch.tensor(expected)).float()
    torch.testing.assert_close(draws[0].log_prob, log_prob[draws[0].items])


def test_exhaustive_negatives_give_the_exact_softmax():
    gen = torch.Generator().manual_seed(0)
    user = torch.randn(1, 3, generator=gen)
    vec, bias = torch.randn(5, 3, generator=gen), torch.randn(5, generator=gen)
    negatives = NegativeSampler(np.ones(5), n_negatives=5).draw(None)
    logits = bias + user @ vec.T  # (1, 5)
    positive = logits[:, [2]] - negatives.item_log_prob[[2]]
    negative = logits - negatives.log_prob
    keep = own_items_mask(negatives.items, torch.tensor([[2]]))
    loss = softmax_task_losses(positive, torch.ones(1, 1), negative, keep)
    expected = -torch.log_softmax(logits, dim=1)[0, 2]
    torch.testing.assert_close(loss[0], expected)


def test_bpr_averages_over_kept_negatives():
    positive = torch.tensor([[2.0, 0.0]])
    negative = torch.tensor([[1.0, 3.0, 9.0]])
    keep = torch.tensor([[True, True, False]])
    loss = bpr_task_losses(positive, torch.tensor([[1.0, 3.0]]), negative, keep)
    pairs = torch.nn.functional.softplus(
        torch.tensor([[1.0 - 2.0, 3.0 - 2.0], [1.0 - 0.0, 3.0 - 0.0]])
    ).mean(1)
    torch.testing.assert_close(loss[0], (pairs[0] + 3 * pairs[1]) / 4)


def test_ranking_loss_falls_with_training_and_ranks_the_users_items():
    # Two groups of users, each interacting with its own half of the catalogue.
    n_items, rng = 10, np.random.default_rng(0)
    users, items = [], []
    for user in range(40):
        half = np.arange(5) + 5 * (user % 2)
        chosen = rng.choice(half, size=4, replace=False)
        users += [user] * 4
        items += chosen.tolist()
    users, items = np.array(users), np.array(items)
    net = MetaRecNet(
        n_items, embedding_dim=4, generator=torch.Generator().manual_seed(0)
    )
    learner = MetaLearner(net, adapt_names=(), ranking="softmax")
    optimizer = torch.optim.Adam(learner.parameters(), lr=0.05)
    sampler = NegativeSampler(
        np.bincount(items, minlength=n_items), n_negatives=n_items
    )
    losses = []
    for step in range(60):
        support, query = split_support_query(
            users, rng=np.random.default_rng(step), n_query=2
        )
        batch = make_task_batch(
            users[support | query],
            {"items": items[support | query]},
            np.ones(int((support | query).sum())),
            query[support | query],
        )
        optimizer.zero_grad()
        losses.append(
            learner.meta_backward(EpisodeBatch(batch, sampler.draw(None))).item()
        )
        optimizer.step()
    assert losses[-1] < losses[0] - 0.3
    # A new user with two items of the first half ranks the first half first.
    state = learner.adapt({"items": torch.tensor([0, 1])}, torch.ones(2))
    vec, bias = net.ranking_items()
    scores = bias + vec @ state[net.ranking_adapt_name]
    assert set(torch.argsort(scores, descending=True)[:5].tolist()) == set(range(5))


def test_ranking_loss_leaves_the_tasks_own_items_out_of_its_negatives():
    net = MetaRecNet(4, embedding_dim=2, generator=torch.Generator().manual_seed(0))
    batch = make_task_batch(
        [0, 0], {"items": np.array([0, 1])}, np.ones(2), [False, True]
    )
    everything = NegativeSampler(np.ones(4), n_negatives=4).draw(None)
    loss = ranking_loss(net, batch, everything, negative_weight=0.1, precision=1.0)
    # The same loss by hand: item 1 against items 2 and 3 (0 is support).
    vec, bias = net.ranking_items()
    user = implicit_foldin(
        vec[[0]][None],
        torch.ones(1, 1),
        net.ranking_prior(),
        gram=vec.T @ vec,
        negative_weight=0.1,
        precision=1.0,
    )[0]
    logits = bias + vec @ user
    expected = -torch.log_softmax(logits[[1, 2, 3]], dim=0)[0]
    torch.testing.assert_close(loss, expected)


def test_learner_without_any_objective_is_refused():
    net = MetaRecNet(3, embedding_dim=2, generator=torch.Generator())
    with pytest.raises(ValueError, match="no ranking objective"):
        MetaLearner(net, adapt_names=())
    with pytest.raises(ValueError, match="ranking must be"):
        MetaLearner(net, ranking="hinge")


@settings(max_examples=30, deadline=None)
@given(
    sizes=st.lists(st.integers(2, 30), min_size=1, max_size=6),
    low=st.integers(1, 5),
    high=st.integers(1, 12),
    n_query=st.integers(1, 8),
    seed=st.integers(0, 2**16),
)
def test_support_range_draws_support_first(sizes, low, high, n_query, seed):
    task = np.repeat(np.arange(len(sizes)), sizes)
    support, query = split_support_query(
        task,
        rng=np.random.default_rng(seed),
        n_query=n_query,
        support_range=(low, max(low, high)),
    )
    assert not (support & query).any()
    for t, size in enumerate(sizes):
        n_s, n_q = int(support[task == t].sum()), int(query[task == t].sum())
        top = max(min(max(low, high), size - 1), 1)
        assert min(low, top) <= n_s <= top
        assert n_q == min(n_query, size - n_s)


def test_negatives_log_prob_matches_probabilities():
    sampler = NegativeSampler([1, 3], n_negatives=1)
    draw = sampler.draw(np.random.default_rng(0))
    total = float(draw.item_log_prob.exp().sum())
    assert math.isclose(total, 1.0, rel_tol=1e-6)
