"""The sum reduction of the support loss and the closed-form ridge fold-in."""

import pytest
import torch

from sklearn_metarec.meta import adapt, adapt_batch, meta_backward, solve_ridge

from ._meta_helpers import batch_from, make_net, make_rows

GENERIC = ("user.embedding", "user.bias")


def support(batch):
    return (batch.support_x, batch.support_y, batch.support_mask, batch.task_x)


@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_sum_reduction_same_on_both_paths(rows, reduction):
    net = make_net()
    batch = batch_from(rows)
    kw = dict(adapt_names=GENERIC, n_steps=3, inner_lr=0.02, inner_reduction=reduction)
    fast = adapt_batch(net, None, None, *support(batch), linear=True, **kw)
    slow = adapt_batch(net, None, None, *support(batch), linear=False, **kw)
    for n in GENERIC:
        torch.testing.assert_close(fast[n], slow[n], rtol=1e-5, atol=1e-6)


def test_sum_is_mean_with_step_scaled_by_support_size(rows):
    net = make_net()
    batch = batch_from(rows)
    x, y, m, tx = support(batch)
    t = 0
    n = int(m[t].sum())
    one = (
        {k: v[t] for k, v in x.items()},
        y[t],
        m[t],
        {k: v[t] for k, v in tx.items()},
    )
    summed = adapt(
        net,
        None,
        None,
        *one,
        adapt_names=GENERIC,
        n_steps=1,
        inner_lr=0.01,
        inner_reduction="sum",
    )
    mean = adapt(
        net,
        None,
        None,
        *one,
        adapt_names=GENERIC,
        n_steps=1,
        inner_lr=0.01 * n,
        inner_reduction="mean",
    )
    for k in GENERIC:
        torch.testing.assert_close(summed[k], mean[k])


@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_ridge_solves_the_penalised_least_squares(rows, reduction):
    net = make_net()
    batch = batch_from(rows)
    precision = torch.tensor([0.5, 1.0, 2.0, 3.0])
    out = adapt_batch(
        net,
        None,
        None,
        *support(batch),
        adapt_names=GENERIC,
        solver="ridge",
        inner_reduction=reduction,
        prior_precision={"user.embedding": precision[:3], "user.bias": precision[3]},
    )
    theta = torch.cat([out["user.embedding"], out["user.bias"][:, None]], 1)
    theta0 = torch.cat([net.user.embedding, net.user.bias.reshape(1)]).detach()
    # the gradient of the penalised objective vanishes at the solution
    offset, design = net.linear_adaptation_terms(
        GENERIC, batch.support_x["items"], batch.task_x["user_features"]
    )
    w = batch.support_mask.float()
    if reduction == "mean":
        w = w / w.sum(1, keepdim=True)
    residual = offset + (design @ theta.unsqueeze(-1)).squeeze(-1) - batch.support_y
    grad = (design * (w * residual).unsqueeze(-1)).sum(1) + precision * (theta - theta0)
    torch.testing.assert_close(grad, torch.zeros_like(grad), atol=1e-4, rtol=0)


def test_ridge_limits_and_padding():
    net = make_net()
    rows = make_rows(seed=7)
    batch = batch_from(rows)
    prior = adapt_batch(
        net,
        None,
        None,
        *support(batch),
        adapt_names=GENERIC,
        solver="ridge",
        prior_precision=1e6,
    )
    torch.testing.assert_close(
        prior["user.bias"],
        net.user.bias.detach().expand(batch.n_tasks),
        atol=1e-4,
        rtol=0,
    )
    wide = batch_from(rows, max_support=batch.support_y.shape[1] + 4)
    a = adapt_batch(
        net,
        None,
        None,
        *support(batch),
        adapt_names=GENERIC,
        solver="ridge",
        prior_precision=2.0,
    )
    b = adapt_batch(
        net,
        None,
        None,
        *support(wide),
        adapt_names=GENERIC,
        solver="ridge",
        prior_precision=2.0,
    )
    for n in GENERIC:
        torch.testing.assert_close(a[n], b[n])


def test_ridge_equals_many_gradient_steps_on_penalised_loss():
    # with one coordinate (the bias) and precision 0 the ridge solution is the
    # least-squares bias, which gradient descent reaches after many steps
    net = make_net()
    x = {"items": torch.tensor([0, 3, 5, 7])}
    y = torch.tensor([5.0, 4.0, 1.0, 3.0])
    ridge = adapt(
        net,
        None,
        None,
        x,
        y,
        adapt_names=["user.bias"],
        solver="ridge",
        prior_precision=1e-8,
    )
    gd = adapt(
        net, None, None, x, y, adapt_names=["user.bias"], n_steps=200, inner_lr=0.2
    )
    torch.testing.assert_close(ridge["user.bias"], gd["user.bias"], atol=1e-4, rtol=0)


@pytest.mark.parametrize("algorithm", ["maml", "fomaml", "reptile"])
def test_learned_precision_gets_gradients(rows, algorithm):
    net = make_net()
    precision = {
        "user.embedding": torch.ones(3, requires_grad=True),
        "user.bias": torch.tensor(1.0, requires_grad=True),
    }
    meta_backward(
        net,
        batch_from(rows),
        algorithm=algorithm,
        adapt_names=GENERIC,
        solver="ridge",
        prior_precision=precision,
    )
    assert net.item.id_embedding.weight.grad is not None
    for p in precision.values():
        if algorithm == "reptile":
            assert p.grad is None
        else:
            assert p.grad is not None and p.grad.abs().sum() > 0


def test_ridge_and_reduction_validation(rows):
    net = make_net()
    batch = batch_from(rows)
    with pytest.raises(ValueError, match="squared error"):
        adapt_batch(
            net,
            None,
            None,
            *support(batch),
            adapt_names=GENERIC,
            solver="ridge",
            loss_fn="bce",
        )
    with pytest.raises(ValueError, match="linear"):
        adapt_batch(
            make_net((4,)),
            None,
            None,
            *support(batch),
            adapt_names=GENERIC,
            solver="ridge",
        )
    with pytest.raises(ValueError, match="solver"):
        adapt_batch(
            net, None, None, *support(batch), adapt_names=GENERIC, solver="newton"
        )
    with pytest.raises(ValueError, match="inner_reduction"):
        adapt_batch(
            net, None, None, *support(batch), adapt_names=GENERIC, inner_reduction="max"
        )
    with pytest.raises(TypeError, match="first_order"):
        meta_backward(net, batch, adapt_names=GENERIC, first_order=True)


def test_solve_ridge_batched_shapes():
    g = torch.Generator().manual_seed(0)
    offset, design = torch.randn(2, 5, generator=g), torch.randn(2, 5, 3, generator=g)
    y = torch.randn(2, 5, generator=g)
    out = solve_ridge(offset, design, y, None, torch.zeros(3), precision=1.0)
    assert out.shape == (2, 3)
    expected = torch.linalg.solve(
        design[0].T @ design[0] + torch.eye(3), design[0].T @ (y[0] - offset[0])
    )
    torch.testing.assert_close(out[0], expected)
