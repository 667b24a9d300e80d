"""Outer objectives: MAML, FOMAML, Reptile, Meta-SGD step sizes."""

import numpy as np
import pytest
import torch

from sklearn_metarec.meta import (
    TaskBatch,
    adapt,
    make_task_batch,
    meta_backward,
    meta_loss,
    reptile_grads,
    task_loss,
)

from ._meta_helpers import LinearModel, batch_from, make_net, make_rows

GENERIC = ("user.embedding", "user.bias")


def grads_of(loss, module, extra=()):
    params = [p for p in module.parameters()] + list(extra)
    out = torch.autograd.grad(loss, params, allow_unused=True)
    return [torch.zeros_like(p) if g is None else g for p, g in zip(params, out)]


def loop_meta_loss(net, rows, names, first_order, **kw):
    """Reference: a Python loop over tasks on unpadded rows."""
    losses = []
    for t in np.unique(rows["task"]):
        sel = rows["task"] == t
        s, q = sel & ~rows["is_query"], sel & rows["is_query"]
        tx = {"user_features": torch.as_tensor(rows["features"][t])}
        fast = adapt(
            net,
            None,
            None,
            {"items": torch.as_tensor(rows["items"][s])},
            torch.as_tensor(rows["y"][s], dtype=torch.float32),
            None,
            tx,
            adapt_names=names,
            first_order=first_order,
            linear=False,
            **kw,
        )
        losses.append(
            task_loss(
                net,
                fast,
                None,
                {"items": torch.as_tensor(rows["items"][q])},
                torch.as_tensor(rows["y"][q], dtype=torch.float32),
                None,
                tx,
            )
        )
    return torch.stack(losses).mean()


@pytest.mark.parametrize("hidden", [(), (4,)])
@pytest.mark.parametrize("first_order", [False, True])
@pytest.mark.parametrize("linear", ["auto", False])
def test_meta_loss_and_grads_equal_loop(rows, hidden, first_order, linear):
    net = make_net(hidden)
    names = GENERIC + (net.head_parameter_names() if hidden else ())
    kw = dict(n_steps=2, inner_lr=0.1)
    batch = batch_from(rows)
    loss = meta_loss(
        net,
        None,
        None,
        batch,
        adapt_names=names,
        first_order=first_order,
        linear=linear,
        **kw,
    )
    ref = loop_meta_loss(net, rows, names, first_order, **kw)
    torch.testing.assert_close(loss, ref)
    for g, r in zip(grads_of(loss, net), grads_of(ref, net)):
        torch.testing.assert_close(g, r, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("first_order", [False, True])
def test_linear_and_generic_meta_gradients_agree(rows, first_order):
    net = make_net()
    batch = batch_from(rows)
    lrs = {
        "user.embedding": torch.full((3,), 0.2, requires_grad=True),
        "user.bias": torch.tensor(0.3, requires_grad=True),
    }
    out = []
    for linear in (True, False):
        loss = meta_loss(
            net,
            None,
            None,
            batch,
            adapt_names=GENERIC,
            n_steps=3,
            inner_lrs=lrs,
            first_order=first_order,
            linear=linear,
        )
        out.append((loss, grads_of(loss, net, lrs.values())))
    torch.testing.assert_close(out[0][0], out[1][0])
    for a, b in zip(out[0][1], out[1][1]):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-6)


def linear_regression_batch(seed=0, n_support=6, n_query=4, n_features=3):
    g = torch.Generator().manual_seed(seed)
    xs = torch.randn(1, n_support, n_features, generator=g)
    xq = torch.randn(1, n_query, n_features, generator=g)
    ys, yq = (
        torch.randn(1, n_support, generator=g),
        torch.randn(1, n_query, generator=g),
    )
    return TaskBatch(
        {"x": xs},
        ys,
        torch.ones(1, n_support, dtype=torch.bool),
        {"x": xq},
        yq,
        torch.ones(1, n_query, dtype=torch.bool),
        {},
    )


def test_maml_gradient_is_second_order_on_linear_regression():
    model = LinearModel()
    batch = linear_regression_batch()
    alpha = 0.1
    kw = dict(adapt_names=["w", "b"], n_steps=1, inner_lr=alpha)
    maml = grads_of(meta_loss(model, None, None, batch, **kw), model)
    fomaml = grads_of(
        meta_loss(model, None, None, batch, first_order=True, **kw), model
    )
    # closed form: theta' = theta - alpha * g_s, MAML = (I - alpha H) grad_q(theta')
    zs = torch.cat([batch.support_x["x"][0], torch.ones(6, 1)], 1)
    zq = torch.cat([batch.query_x["x"][0], torch.ones(4, 1)], 1)
    theta = torch.cat([model.w, model.b.reshape(1)]).detach()
    g_s = 2 / 6 * zs.T @ (zs @ theta - batch.support_y[0])
    hessian = 2 / 6 * zs.T @ zs
    adapted = theta - alpha * g_s
    g_q = 2 / 4 * zq.T @ (zq @ adapted - batch.query_y[0])
    expected_maml = (torch.eye(4) - alpha * hessian) @ g_q
    torch.testing.assert_close(torch.cat([maml[0], maml[1].reshape(1)]), expected_maml)
    torch.testing.assert_close(torch.cat([fomaml[0], fomaml[1].reshape(1)]), g_q)
    assert not torch.allclose(expected_maml, g_q)


def test_maml_equals_fomaml_when_inner_gradient_is_constant():
    # loss = -y * pred on a model linear in (w, b): the inner gradient
    # -mean(y * [x, 1]) does not depend on any parameter, so the second-order term
    # vanishes and MAML and first-order MAML coincide.
    model = LinearModel()
    batch = linear_regression_batch(seed=1)

    def linear_loss(pred, y):
        return -y * pred

    kw = dict(adapt_names=["w", "b"], n_steps=3, inner_lr=0.3, loss_fn=linear_loss)
    maml = grads_of(meta_loss(model, None, None, batch, **kw), model)
    fomaml = grads_of(
        meta_loss(model, None, None, batch, first_order=True, **kw), model
    )
    for a, b in zip(maml, fomaml):
        torch.testing.assert_close(a, b)


@pytest.mark.parametrize("hidden", [(), (4,)])
def test_second_order_differs_on_recommender(rows, hidden):
    net = make_net(hidden)
    batch = batch_from(rows)
    kw = dict(adapt_names=GENERIC, n_steps=2, inner_lr=0.3)
    maml = grads_of(meta_loss(net, None, None, batch, **kw), net)
    fomaml = grads_of(meta_loss(net, None, None, batch, first_order=True, **kw), net)
    assert any(not torch.allclose(a, b) for a, b in zip(maml, fomaml))


def test_padding_tasks_and_rows_change_nothing():
    net = make_net((4,))
    rows = make_rows(seed=5)
    kw = dict(adapt_names=GENERIC + net.head_parameter_names(), n_steps=2, inner_lr=0.1)
    base = batch_from(rows)
    loss = meta_loss(net, None, None, base, **kw)
    # two extra all-padding tasks and wider padding
    padded = make_task_batch(
        rows["task"],
        {"items": rows["items"]},
        rows["y"],
        rows["is_query"],
        n_tasks=base.n_tasks + 2,
        task_x={"user_features": np.vstack([rows["features"], [[0], [1]]])},
        max_support=base.support_y.shape[1] + 2,
        max_query=base.query_y.shape[1] + 1,
    )
    loss2, per_task = meta_loss(net, None, None, padded, return_task_losses=True, **kw)
    torch.testing.assert_close(loss, loss2)
    assert per_task.shape == (base.n_tasks + 2,)
    assert torch.all(per_task[-2:] == 0)
    for a, b in zip(grads_of(loss, net), grads_of(loss2, net)):
        torch.testing.assert_close(a, b)


@pytest.mark.parametrize("hidden", [(), (4,)])
def test_reptile_grads(rows, hidden):
    net = make_net(hidden)
    names = GENERIC + (net.head_parameter_names() if hidden else ())
    kw = dict(adapt_names=names, n_steps=3, inner_lr=0.1)
    batch = batch_from(rows)
    grads, loss = reptile_grads(net, None, None, batch, **kw)
    assert set(grads) == {n for n, _ in net.named_parameters()}
    adapted = []
    for t in range(batch.n_tasks):
        m = batch.support_mask[t]
        adapted.append(
            adapt(
                net,
                None,
                None,
                {"items": batch.support_x["items"][t][m]},
                batch.support_y[t][m],
                None,
                {k: v[t] for k, v in batch.task_x.items()},
                **kw,
            )
        )
    own = dict(net.named_parameters())
    for n in names:
        mean = torch.stack([a[n] for a in adapted]).mean(0)
        torch.testing.assert_close(grads[n], (own[n] - mean).detach())
    # shared parameters: first-order query gradient at the adapted parameters
    ref = meta_loss(net, None, None, batch, first_order=True, **kw)
    torch.testing.assert_close(loss, ref.detach())
    ref_grads = dict(zip([n for n, _ in net.named_parameters()], grads_of(ref, net)))
    for n in own:
        if n not in names:
            torch.testing.assert_close(grads[n], ref_grads[n], rtol=1e-4, atol=1e-6)


def test_reptile_step_with_sgd_moves_toward_adapted(rows):
    net = make_net()
    batch = batch_from(rows)
    kw = dict(adapt_names=GENERIC, n_steps=2, inner_lr=0.1)
    grads, _ = reptile_grads(net, None, None, batch, **kw)
    before = net.user.embedding.detach().clone()
    opt = torch.optim.SGD(net.parameters(), lr=0.5)
    opt.zero_grad()
    meta_backward(net, batch, algorithm="reptile", **kw)
    torch.testing.assert_close(net.user.embedding.grad, grads["user.embedding"])
    opt.step()
    torch.testing.assert_close(
        net.user.embedding.detach(), before - 0.5 * grads["user.embedding"]
    )


@pytest.mark.parametrize("algorithm", ["maml", "fomaml", "reptile"])
@pytest.mark.parametrize("hidden", [(), (4,)])
def test_meta_backward_and_inner_lrs(rows, algorithm, hidden):
    net = make_net(hidden)
    batch = batch_from(rows)
    lrs = {
        "user.embedding": torch.full((3,), 0.1, requires_grad=True),
        "user.bias": torch.tensor(0.1, requires_grad=True),
    }
    loss = meta_backward(
        net, batch, algorithm=algorithm, adapt_names=GENERIC, n_steps=2, inner_lrs=lrs
    )
    assert loss.ndim == 0 and not loss.requires_grad
    assert all(p.grad is not None for p in net.parameters() if p.requires_grad)
    if algorithm == "reptile":
        assert all(lr.grad is None for lr in lrs.values())
    else:
        assert all(
            lr.grad is not None and lr.grad.abs().sum() > 0 for lr in lrs.values()
        )
    # a second call accumulates like backward() does
    first = net.global_bias.grad.clone()
    meta_backward(
        net, batch, algorithm=algorithm, adapt_names=GENERIC, n_steps=2, inner_lrs=lrs
    )
    torch.testing.assert_close(net.global_bias.grad, 2 * first)


def test_meta_backward_rejects_unknown_algorithm(rows):
    with pytest.raises(ValueError, match="algorithm"):
        meta_backward(
            make_net(), batch_from(rows), algorithm="anil", adapt_names=GENERIC
        )


def test_objectives_leave_global_rng_alone(rows):
    net = make_net((4,))
    batch = batch_from(rows)
    state = torch.random.get_rng_state()
    for algorithm in ("maml", "fomaml", "reptile"):
        meta_backward(net, batch, algorithm=algorithm, adapt_names=GENERIC)
    assert torch.equal(state, torch.random.get_rng_state())
