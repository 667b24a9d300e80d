"""MetaLearner: training reduces the post-adaptation loss; serving paths agree."""

import numpy as np
import pytest
import torch

from sklearn_metarec.meta import InnerLearningRates, MetaLearner, TaskSampler
from sklearn_metarec.nn import MetaRecNet


def synthetic_ratings(n_users=60, n_items=25, dim=2, seed=0):
    """Ratings from a low-rank model plus biases, every user rates 12 items."""
    rng = np.random.default_rng(seed)
    users = rng.normal(size=(n_users, dim))
    items = rng.normal(size=(n_items, dim))
    item_bias = rng.normal(scale=0.5, size=n_items)
    task = np.repeat(np.arange(n_users), 12)
    item = np.concatenate(
        [rng.choice(n_items, 12, replace=False) for _ in range(n_users)]
    )
    y = 3 + item_bias[item] + (users[task] * items[item]).sum(1)
    y = y + rng.normal(scale=0.1, size=len(y))
    return task, item, y.astype(np.float32), n_items


def train(algorithm, steps=40, seed=0, learner_kwargs=None, **kwargs):
    task, item, y, n_items = synthetic_ratings()
    net = MetaRecNet(
        n_items,
        embedding_dim=4,
        global_bias=3.0,
        generator=torch.Generator().manual_seed(seed),
        **kwargs,
    )
    learner_kwargs = {
        "n_inner_steps": 3,
        "inner_lr": 0.5,
        "learn_inner_lr": algorithm != "reptile",
        **(learner_kwargs or {}),
    }
    learner = MetaLearner(net, algorithm=algorithm, **learner_kwargs)
    sampler = TaskSampler(task, {"items": item}, y, n_query=4)
    rng = np.random.default_rng(seed)
    valid = sampler.batch(np.arange(40, 60), np.random.default_rng(123))
    with torch.no_grad():
        before = learner.meta_loss(valid)
    opt = torch.optim.Adam(learner.parameters(), lr=0.05)
    done = 0
    while done < steps:
        for batch in sampler.epoch(10, rng):
            opt.zero_grad()
            learner.meta_backward(batch)
            opt.step()
            done += 1
    with torch.no_grad():
        after = learner.meta_loss(valid)
    return learner, before, after


@pytest.mark.parametrize("algorithm", ["maml", "fomaml", "reptile"])
def test_training_lowers_query_loss_after_adaptation(algorithm):
    _, before, after = train(algorithm)
    assert after < 0.7 * before


@pytest.mark.parametrize(
    "learner_kwargs",
    [
        {"inner_reduction": "sum", "inner_lr": 0.05},
        {"inner_solver": "ridge", "prior_precision": 2.0},
        {"inner_solver": "ridge", "inner_reduction": "sum", "prior_precision": 5.0},
    ],
)
def test_training_with_sum_and_ridge(learner_kwargs):
    learner, before, after = train("maml", learner_kwargs=learner_kwargs)
    assert after < 0.7 * before
    if learner.inner_solver == "ridge":
        assert learner.inner_lrs is None
        assert learner.log_prior_precision is not None


def test_training_with_mlp_head_adapted():
    task, item, y, n_items = synthetic_ratings()
    net = MetaRecNet(
        n_items,
        embedding_dim=4,
        hidden_dims=(8,),
        global_bias=3.0,
        generator=torch.Generator(),
    )
    learner = MetaLearner(
        net,
        adapt_names=net.DEFAULT_ADAPT_NAMES + net.head_parameter_names(),
        n_inner_steps=2,
        inner_lr=0.3,
    )
    sampler = TaskSampler(task, {"items": item}, y, n_query=4)
    valid = sampler.batch(np.arange(40, 60), np.random.default_rng(123))
    with torch.no_grad():
        before = learner.meta_loss(valid)
    opt = torch.optim.Adam(learner.parameters(), lr=0.05)
    rng = np.random.default_rng(0)
    for _ in range(6):
        for batch in sampler.epoch(10, rng):
            opt.zero_grad()
            learner.meta_backward(batch)
            opt.step()
    with torch.no_grad():
        assert learner.meta_loss(valid) < 0.7 * before


def test_training_is_deterministic_and_leaves_global_rng_alone():
    state = torch.random.get_rng_state()
    a, _, after_a = train("maml", steps=6, seed=3)
    b, _, after_b = train("maml", steps=6, seed=3)
    assert torch.equal(state, torch.random.get_rng_state())
    assert after_a == after_b
    for pa, pb in zip(a.parameters(), b.parameters()):
        assert torch.equal(pa, pb)


def test_serving_adapt_matches_batch_and_lowers_loss():
    learner, _, _ = train("maml", steps=10)
    task, item, y, _ = synthetic_ratings(seed=9)  # users the learner has not seen
    x = {"items": torch.as_tensor(item[:12])}
    target = torch.as_tensor(y[:12])
    state = learner.adapt(x, target)
    assert all(not v.requires_grad for v in state.values())
    prior = learner.predict(x)
    adapted = learner.predict(x, state=state)
    assert ((adapted - target) ** 2).mean() < ((prior - target) ** 2).mean()
    batched = learner.adapt_batch({"items": x["items"][None]}, target[None])
    for n in state:
        torch.testing.assert_close(batched[n][0], state[n])
    # continuing from a state = more steps
    more = learner.adapt(x, target, state=state, n_steps=1)
    assert not torch.equal(more["user.bias"], state["user.bias"])


def test_inner_learning_rates_module():
    lrs = InnerLearningRates({"a.b": (2, 3), "c": ()}, init=0.2)
    out = lrs()
    assert list(out) == ["a.b", "c"]
    assert out["a.b"].shape == (2, 3) and out["c"].item() == pytest.approx(0.2)
    assert len(list(lrs.parameters())) == 2
    net = MetaRecNet(3, embedding_dim=2, generator=torch.Generator())
    per_tensor = MetaLearner(net, learn_inner_lr="per_tensor")
    assert all(v.shape == () for v in per_tensor.inner_lrs().values())


def test_learner_validation():
    net = MetaRecNet(3, embedding_dim=2, generator=torch.Generator())
    with pytest.raises(ValueError, match="algorithm"):
        MetaLearner(net, algorithm="nope")
    with pytest.raises(ValueError, match="adapt_names"):
        MetaLearner(net, adapt_names=["user.nope"])
    with pytest.raises(ValueError, match="learn_inner_lr"):
        MetaLearner(net, learn_inner_lr="yes")
    with pytest.raises(ValueError, match="inner_solver"):
        MetaLearner(net, inner_solver="newton")
    with pytest.raises(ValueError, match="inner_reduction"):
        MetaLearner(net, inner_reduction="max")
    with pytest.raises(ValueError, match="prior_precision"):
        MetaLearner(net, prior_precision=0.0)
    with pytest.raises(ValueError, match="adapt_names"):
        MetaLearner(torch.nn.Linear(2, 1))
    assert torch.equal(
        MetaLearner(net)(torch.tensor([0, 1])), net(torch.tensor([0, 1]))
    )


def test_serving_generic_path_with_head_state():
    net = MetaRecNet(8, embedding_dim=3, hidden_dims=(4,), generator=torch.Generator())
    names = net.DEFAULT_ADAPT_NAMES + net.head_parameter_names()
    learner = MetaLearner(net, adapt_names=names, n_inner_steps=3, inner_lr=0.1)
    x, y = {"items": torch.tensor([0, 1, 2, 3])}, torch.tensor([5.0, 1.0, 5.0, 1.0])
    state = learner.adapt(x, y)
    assert set(state) == set(names)
    assert all(not v.requires_grad for v in state.values())
    loss_before = ((learner.predict(x) - y) ** 2).mean()
    loss_after = ((learner.predict(x, state=state) - y) ** 2).mean()
    assert loss_after < loss_before


def test_pickle_round_trip_keeps_predictions():
    import pickle

    learner, _, _ = train("maml", steps=3, learner_kwargs={"learn_inner_lr": True})
    clone = pickle.loads(pickle.dumps(learner))
    x, y = {"items": torch.tensor([0, 4, 7])}, torch.tensor([4.0, 2.0, 5.0])
    a, b = learner.adapt(x, y), clone.adapt(x, y)
    for n in a:
        assert torch.equal(a[n], b[n])
    assert torch.equal(learner.predict(x, state=a), clone.predict(x, state=b))
