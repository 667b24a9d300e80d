"""The inner loop: adapt, adapt_batch, the closed-form path, masks."""

import numpy as np
import pytest
import torch

from sklearn_metarec.meta import (
    adapt,
    adapt_batch,
    make_task_batch,
    precompute,
    predict,
    predict_batch,
    task_loss,
)

from ._meta_helpers import LinearModel, batch_from, make_net, make_rows, randomize

GENERIC = ("user.embedding", "user.bias")


def task_rows(rows, t, query=False):
    sel = (rows["task"] == t) & (rows["is_query"] == query)
    return (
        {"items": torch.as_tensor(rows["items"][sel])},
        torch.as_tensor(rows["y"][sel], dtype=torch.float32),
        {"user_features": torch.as_tensor(rows["features"][t])},
    )


CASES = [
    # (hidden_dims, adapt names, linear path)
    ((), GENERIC, "auto"),
    ((), GENERIC, False),
    ((4,), GENERIC, "auto"),
    ((4,), "head", "auto"),  # MeLU: user state and decision layers
]


def names_for(net, spec):
    return GENERIC + net.head_parameter_names() if spec == "head" else spec


@pytest.mark.parametrize("hidden, spec, linear", CASES)
def test_vmap_equals_loop(rows, hidden, spec, linear):
    net = make_net(hidden)
    names = names_for(net, spec)
    kw = dict(adapt_names=names, n_steps=3, inner_lr=0.2, linear=linear)
    batch = batch_from(rows)
    batched = adapt_batch(
        net,
        None,
        None,
        batch.support_x,
        batch.support_y,
        batch.support_mask,
        batch.task_x,
        **kw,
    )
    for t in range(batch.n_tasks):
        x, y, tx = task_rows(rows, t)
        single = adapt(net, None, None, x, y, None, tx, **kw)
        for n in names:
            torch.testing.assert_close(batched[n][t], single[n], rtol=1e-5, atol=1e-6)


def test_linear_path_equals_generic_path(rows):
    net = make_net()
    batch = batch_from(rows)
    lrs = {
        "user.embedding": torch.tensor([0.1, 0.3, 0.2]),
        "user.bias": torch.tensor(0.5),
    }
    args = (
        net,
        None,
        None,
        batch.support_x,
        batch.support_y,
        batch.support_mask,
        batch.task_x,
    )
    for inner_lrs in (None, lrs):
        kw = dict(adapt_names=GENERIC, n_steps=4, inner_lr=0.2, inner_lrs=inner_lrs)
        fast = adapt_batch(*args, linear=True, **kw)
        slow = adapt_batch(*args, linear=False, **kw)
        for n in GENERIC:
            torch.testing.assert_close(fast[n], slow[n], rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="not linear"):
        adapt_batch(*args, adapt_names=("global_bias",), linear=True)


@pytest.mark.parametrize("hidden, spec, linear", CASES)
@pytest.mark.parametrize("n_steps, lr", [(0, 0.3), (3, 0.0)])
def test_no_step_changes_nothing(rows, hidden, spec, linear, n_steps, lr):
    net = make_net(hidden)
    names = names_for(net, spec)
    x, y, tx = task_rows(rows, 0)
    out = adapt(
        net,
        None,
        None,
        x,
        y,
        None,
        tx,
        adapt_names=names,
        n_steps=n_steps,
        inner_lr=lr,
        linear=linear,
    )
    own = dict(net.named_parameters())
    assert set(out) == set(names)
    for n in names:
        torch.testing.assert_close(out[n], own[n])


@pytest.mark.parametrize("hidden, spec, linear", CASES)
def test_adaptation_lowers_support_loss(rows, hidden, spec, linear):
    net = make_net(hidden)
    names = names_for(net, spec)
    x, y, tx = task_rows(rows, 1)
    before = task_loss(net, {}, None, x, y, None, tx)
    fast = adapt(
        net,
        None,
        None,
        x,
        y,
        None,
        tx,
        adapt_names=names,
        n_steps=5,
        inner_lr=0.05,
        linear=linear,
    )
    after = task_loss(net, fast, None, x, y, None, tx)
    assert after < before


@pytest.mark.parametrize("hidden, spec, linear", CASES)
def test_padding_rows_do_not_matter(hidden, spec, linear):
    net = make_net(hidden)
    names = names_for(net, spec)
    rows = make_rows(seed=3)
    batch = batch_from(rows)
    # the same tasks with garbage rows added and masked out
    padded = batch_from(rows, max_support=batch.support_y.shape[1] + 3)
    g = torch.Generator().manual_seed(0)
    garbage_items = torch.randint(-1, 10, padded.support_x["items"].shape, generator=g)
    items = torch.where(padded.support_mask, padded.support_x["items"], garbage_items)
    y = torch.where(padded.support_mask, padded.support_y, torch.tensor(1e4))
    kw = dict(adapt_names=names, n_steps=2, inner_lr=0.1, linear=linear)
    a = adapt_batch(
        net,
        None,
        None,
        batch.support_x,
        batch.support_y,
        batch.support_mask,
        batch.task_x,
        **kw,
    )
    b = adapt_batch(
        net, None, None, {"items": items}, y, padded.support_mask, padded.task_x, **kw
    )
    for n in names:
        torch.testing.assert_close(a[n], b[n], rtol=1e-5, atol=1e-6)


def test_continue_from_state_and_params_override(rows):
    net = make_net()
    x, y, tx = task_rows(rows, 2)
    kw = dict(adapt_names=GENERIC, inner_lr=0.1)
    two = adapt(net, None, None, x, y, None, tx, n_steps=2, **kw)
    one = adapt(net, None, None, x, y, None, tx, n_steps=1, **kw)
    one_more = adapt(net, one, None, x, y, None, tx, n_steps=1, **kw)
    for n in GENERIC:
        torch.testing.assert_close(two[n], one_more[n])
    with pytest.raises(KeyError, match="nope"):
        adapt(net, None, None, x, y, None, tx, adapt_names=["nope"], linear=False)
    with pytest.raises(ValueError, match="n_steps"):
        adapt(net, None, None, x, y, adapt_names=GENERIC, n_steps=-1)


def test_predict_batch_matches_predict(rows):
    net = make_net((4,))
    names = GENERIC + net.head_parameter_names()
    batch = batch_from(rows)
    fast = adapt_batch(
        net,
        None,
        None,
        batch.support_x,
        batch.support_y,
        batch.support_mask,
        batch.task_x,
        adapt_names=names,
        n_steps=2,
        inner_lr=0.1,
    )
    out = predict_batch(net, fast, batch.query_x, batch.task_x)
    catalogue = predict_batch(
        net, fast, {"items": torch.arange(10)}, batch.task_x, shared_rows=True
    )
    for t in range(batch.n_tasks):
        state = {n: v[t] for n, v in fast.items()}
        tx = {k: v[t] for k, v in batch.task_x.items()}
        expected = predict(net, state, None, {"items": batch.query_x["items"][t]}, tx)
        torch.testing.assert_close(out[t], expected)
        expected = predict(net, state, None, {"items": torch.arange(10)}, tx)
        torch.testing.assert_close(catalogue[t], expected)


def test_precompute_passthrough_for_models_without_hook():
    model = LinearModel()
    x = {"x": torch.ones(2, 3)}
    assert precompute(model, None, None, x, ["w"]) == x


def test_explicit_params_and_buffers_are_used(rows):
    net = make_net()
    x, y, tx = task_rows(rows, 0)
    params = {n: p.detach() + 0.5 for n, p in net.named_parameters()}
    buffers = dict(net.named_buffers())
    for linear in (True, False):
        out = adapt(
            net,
            params,
            buffers,
            x,
            y,
            None,
            tx,
            adapt_names=GENERIC,
            n_steps=1,
            inner_lr=0.1,
            linear=linear,
        )
        # compare with a copy of the module holding those parameters
        twin = make_net()
        with torch.no_grad():
            for n, p in twin.named_parameters():
                p.copy_(params[n])
        ref = adapt(
            twin,
            None,
            None,
            x,
            y,
            None,
            tx,
            adapt_names=GENERIC,
            n_steps=1,
            inner_lr=0.1,
            linear=linear,
        )
        for n in GENERIC:
            torch.testing.assert_close(out[n], ref[n])


def test_custom_loss_callable_on_both_paths(rows):
    net = make_net()
    x, y, tx = task_rows(rows, 0)

    def huber(pred, target):
        return torch.nn.functional.huber_loss(pred, target, reduction="none")

    outs = [
        adapt(
            net,
            None,
            None,
            x,
            y,
            None,
            tx,
            adapt_names=GENERIC,
            n_steps=2,
            inner_lr=0.1,
            loss_fn=huber,
            linear=linear,
        )
        for linear in (True, False)
    ]
    for n in GENERIC:
        torch.testing.assert_close(outs[0][n], outs[1][n])


def test_bce_on_both_paths():
    net = make_net()
    rows = make_rows(seed=4)
    rows["y"] = (rows["y"] > 3).astype(float)
    batch = batch_from(rows)
    args = (
        net,
        None,
        None,
        batch.support_x,
        batch.support_y,
        batch.support_mask,
        batch.task_x,
    )
    kw = dict(adapt_names=GENERIC, n_steps=2, inner_lr=0.3, loss_fn="bce")
    fast, slow = (
        adapt_batch(*args, linear=True, **kw),
        adapt_batch(*args, linear=False, **kw),
    )
    for n in GENERIC:
        torch.testing.assert_close(fast[n], slow[n])


def test_empty_task_keeps_prior():
    net = make_net()
    batch = make_task_batch(
        [0, 0], {"items": np.array([1, 2])}, [4.0, 5.0], [False, True], n_tasks=2
    )
    for linear in (True, False):
        out = adapt_batch(
            net,
            None,
            None,
            batch.support_x,
            batch.support_y,
            batch.support_mask,
            batch.task_x,
            adapt_names=GENERIC,
            n_steps=2,
            inner_lr=0.1,
            linear=linear,
        )
        torch.testing.assert_close(out["user.bias"][1], net.user.bias.detach())


def test_randomize_helper_keeps_padding_rows():
    net = randomize(make_net())
    assert torch.equal(net.item.id_embedding.weight[0], torch.zeros(3))
