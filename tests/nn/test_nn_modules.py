"""Tests of the pure torch modules in sklearn_metarec.nn."""

import numpy as np
import pytest
import torch
from torch.func import functional_call

from sklearn_metarec.nn import DecisionHead, ItemEncoder, MetaRecNet, UserEncoder, _net

N_ITEMS = 9


def make_net(seed=0, **kwargs):
    rng = np.random.default_rng(seed)
    defaults = dict(
        embedding_dim=4,
        item_categorical=rng.integers(-1, 3, (N_ITEMS, 2)),
        item_multi_valued=[rng.integers(-1, 5, (N_ITEMS, 3))],
        item_numeric=rng.normal(size=(N_ITEMS, 2)),
        item_text=rng.normal(size=(N_ITEMS, 6)),
        item_counts=np.array([0, 1, 2, 3, 5, 8, 13, 0, 4]),
        user_categorical_cardinalities=[2, 3],
        global_bias=3.5,
        generator=torch.Generator().manual_seed(seed),
    )
    defaults.update(kwargs)
    return MetaRecNet(N_ITEMS, **defaults)


def randomize(net, seed=1):
    """Give every parameter (zero-initialised ones too) random values."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in net.parameters():
            p.copy_(torch.randn(p.shape, generator=g) * 0.3)
        for m in net.modules():  # keep the reserved "missing" rows at zero
            if isinstance(m, torch.nn.Embedding) and m.padding_idx is not None:
                m.weight[m.padding_idx].zero_()
    return net


@pytest.mark.parametrize("hidden_dims", [(), (5, 3)])
@pytest.mark.parametrize("gate", [False, True])
def test_forward_shapes_and_finite(hidden_dims, gate):
    net = randomize(make_net(hidden_dims=hidden_dims, gate=gate))
    items = torch.tensor([0, 3, -1, 8])
    out = net(items, torch.tensor([1, -1]))
    assert out.shape == (4,)
    assert torch.isfinite(out).all()
    batched = net(items.repeat(3, 1), torch.tensor([[1, -1], [0, 0], [-1, -1]]))
    assert batched.shape == (3, 4)
    torch.testing.assert_close(batched[0], out)


def test_construction_leaves_global_rng_alone():
    state = torch.random.get_rng_state()
    make_net(hidden_dims=(8,), gate=True)
    assert torch.equal(state, torch.random.get_rng_state())


def test_same_generator_seed_same_weights():
    a, b = make_net(seed=3), make_net(seed=3)
    for (na, pa), (nb, pb) in zip(a.named_parameters(), b.named_parameters()):
        assert na == nb
        assert torch.equal(pa, pb)
    c = make_net(seed=4)
    assert not torch.equal(a.item.id_embedding.weight, c.item.id_embedding.weight)


def test_cold_items_ignore_their_id_embedding():
    net = randomize(make_net())
    before = net(torch.tensor([0, 7, 1]))
    with torch.no_grad():  # items 0 and 7 have count 0: their id rows are unused
        net.item.id_embedding.weight[[1, 8]] += 10.0
        net.item.id_bias.weight[[1, 8]] += 10.0
    after = net(torch.tensor([0, 7, 1]))
    torch.testing.assert_close(before, after)
    # the cold_items flag makes a warm item cold
    warm = net(torch.tensor([1]))
    cold = net(torch.tensor([1]), cold_items=torch.tensor([True]))
    with torch.no_grad():
        net.item.id_embedding.weight[2] += 10.0
    torch.testing.assert_close(
        cold, net(torch.tensor([1]), cold_items=torch.tensor([True]))
    )
    assert not torch.allclose(warm, net(torch.tensor([1])))


def test_unknown_item_and_missing_features_are_finite():
    net = randomize(make_net(hidden_dims=(4,)))
    out = net(torch.tensor([-1, -1]), torch.tensor([-1, -1]))
    assert torch.isfinite(out).all()
    torch.testing.assert_close(out[0], out[1])


def test_gate_uses_content_for_cold_and_adds_weighted_ids_for_warm():
    enc = ItemEncoder(3, 2, text_dim=2, gate=True, generator=torch.Generator())
    randomize(enc)
    items = torch.tensor([0, 1])
    text = torch.randn(2, 2, generator=torch.Generator().manual_seed(0))
    evidence = torch.tensor([0.0, 1.0])
    with torch.no_grad():
        enc.gate_weight.fill_(2.0)
        enc.gate_bias.fill_(-1.0)
    vec, bias = enc(items, text=text, evidence=evidence)
    content = enc.text(text)
    content_bias = enc.content_bias(content).squeeze(-1)
    torch.testing.assert_close(vec[0], content[0])  # cold: content only
    torch.testing.assert_close(bias[0], content_bias[0])
    g = torch.sigmoid(torch.tensor(1.0))  # 2 * 1 - 1
    id_vec = enc.id_embedding(items + 1)[1]
    id_bias = enc.id_bias(items + 1)[1, 0]
    torch.testing.assert_close(vec[1], content[1] + g * id_vec)
    torch.testing.assert_close(bias[1], content_bias[1] + g * id_bias)


def test_multi_valued_mean_ignores_padding():
    enc = ItemEncoder(
        2, 3, multi_valued_cardinalities=[4], use_ids=False, generator=torch.Generator()
    )
    tokens = torch.tensor([[1, 2, -1, -1], [1, 2, 2, -1]])
    vec, _ = enc(torch.tensor([0, 1]), multi_valued=[tokens])
    table = enc.multi_valued[0].weight
    torch.testing.assert_close(vec[0], (table[2] + table[3]) / 2)
    torch.testing.assert_close(vec[1], (table[2] + 2 * table[3]) / 3)
    empty, _ = enc(torch.tensor([0]), multi_valued=[torch.tensor([[-1, -1]])])
    torch.testing.assert_close(empty, torch.zeros(1, 3))


def test_user_encoder_overrides_and_features():
    enc = randomize(UserEncoder(3, categorical_cardinalities=[2]))
    vec, bias = enc(torch.tensor([[1], [-1]]))
    torch.testing.assert_close(vec[1], enc.embedding)
    torch.testing.assert_close(vec[0], enc.embedding + enc.categorical[0].weight[2])
    emb = torch.ones(2, 3)
    vec2, bias2 = enc(torch.tensor([[1], [-1]]), embedding=emb, bias=torch.zeros(2))
    torch.testing.assert_close(vec2[1], emb[1])
    torch.testing.assert_close(bias2[1], torch.tensor(0.0))


@pytest.mark.parametrize("hidden_dims", [(), (5,)])
def test_score_all_matches_forward(hidden_dims):
    net = randomize(make_net(hidden_dims=hidden_dims))
    g = torch.Generator().manual_seed(2)
    n_users = 5
    emb = torch.randn(n_users, 4, generator=g)
    bias = torch.randn(n_users, generator=g)
    feats = torch.randint(-1, 2, (n_users, 2), generator=g)
    with torch.no_grad():
        uvec, ubias = net.user_representations(feats, emb, bias)
        scores = net.score_all(uvec, ubias, chunk_size=2)
        items = torch.arange(N_ITEMS)
        for u in range(n_users):
            expected = functional_call(
                net, {"user.embedding": emb[u], "user.bias": bias[u]}, (items, feats[u])
            )
            torch.testing.assert_close(scores[u], expected)
        # batched functional_call with per-user state gives the same
        batched = functional_call(
            net,
            {"user.embedding": emb, "user.bias": bias},
            (items.repeat(n_users, 1), feats),
        )
        torch.testing.assert_close(batched, scores)


def test_user_representations_prior_for_cold_users():
    net = randomize(make_net())
    vec, bias = net.user_representations(n_users=3)
    assert vec.shape == (3, 4) and bias.shape == (3,)
    torch.testing.assert_close(vec[0], net.user.embedding.detach())


def test_linear_adaptation_terms_reproduce_forward():
    net = randomize(make_net())
    names = net.DEFAULT_ADAPT_NAMES
    assert net.supports_linear_adaptation(names)
    assert net.supports_linear_adaptation(["user.bias"])
    assert not net.supports_linear_adaptation(["user.bias", "global_bias"])
    assert not make_net(hidden_dims=(3,)).supports_linear_adaptation(names)
    items = torch.tensor([[0, 4, -1], [2, 2, 8]])
    feats = torch.tensor([[1, 0], [-1, 2]])
    offset, design = net.linear_adaptation_terms(names, items, feats)
    theta = torch.cat([net.user.embedding, net.user.bias.reshape(1)])
    torch.testing.assert_close(offset + design @ theta, net(items, feats))
    offset, design = net.linear_adaptation_terms(["user.bias"], items, feats)
    torch.testing.assert_close(
        offset + design[..., 0] * net.user.bias, net(items, feats)
    )
    with pytest.raises(ValueError, match="not linear"):
        net.linear_adaptation_terms(["head.mlp.0.weight"], items)


def test_precompute_inputs_equivalent():
    net = randomize(make_net(hidden_dims=(3,)))
    items = torch.tensor([0, 5, -1])
    cold = torch.tensor([False, True, False])
    x = net.precompute_inputs(net.DEFAULT_ADAPT_NAMES, items=items, cold_items=cold)
    assert set(x) == {"item_vec", "item_bias"}
    torch.testing.assert_close(net(**x), net(items, cold_items=cold))
    kept = net.precompute_inputs(["item.id_embedding.weight"], items=items)
    assert set(kept) == {"items"}


@pytest.mark.parametrize("interaction", [False, True])
def test_repeated_items_are_encoded_once_with_the_same_values_and_gradients(
    interaction,
):
    # A batch of episodes repeats items: each distinct (item, cold) is encoded
    # once and gathered, which must equal encoding every row.
    g = torch.Generator().manual_seed(3)
    items = torch.randint(-1, N_ITEMS, (8, 64), generator=g)
    cold = torch.rand(items.shape, generator=g) < 0.3
    results = []
    for dedupe_min in (10**9, 0):  # row by row, then deduplicated
        net = randomize(make_net(interaction=interaction))
        before, _net._DEDUPE_MIN_ROWS = _net._DEDUPE_MIN_ROWS, dedupe_min
        try:
            vec, bias = net.ranking_items(items, cold_items=cold)
        finally:
            _net._DEDUPE_MIN_ROWS = before
        (vec.square().sum() + bias.sum()).backward()
        grads = [p.grad.clone() for p in net.parameters() if p.grad is not None]
        results.append((vec.detach(), bias.detach(), grads))
    (v0, b0, g0), (v1, b1, g1) = results
    torch.testing.assert_close(v1, v0)
    torch.testing.assert_close(b1, b0)
    assert len(g0) == len(g1) > 0
    for a, b in zip(g0, g1):
        torch.testing.assert_close(b, a, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("interaction", [False, True])
def test_parts_encoded_together_equal_parts_encoded_alone(interaction):
    # A training step encodes a batch's support rows, query rows and negatives
    # in one call (the ranking loss) or two (support and query of the ratings);
    # values and gradients must be those of one call per part.
    from sklearn_metarec.meta._adapt import precompute, precompute_together
    from sklearn_metarec.meta._ranking import _ranking_items_together

    g = torch.Generator().manual_seed(4)
    support = torch.randint(-1, N_ITEMS, (6, 40), generator=g)
    query = torch.randint(0, N_ITEMS, (6, 10), generator=g)
    negatives = torch.arange(N_ITEMS)
    cold = torch.rand(support.shape, generator=g) < 0.3
    parts = [(support, cold), (query, None), (negatives, None)]
    results = []
    for together in (False, True):
        net = randomize(make_net(interaction=interaction))
        if together:
            ranked = _ranking_items_together(net, parts)
            rows = precompute_together(
                net,
                None,
                None,
                [{"items": support, "cold_items": cold}, {"items": query}],
                net.DEFAULT_ADAPT_NAMES,
            )
            # Parts with other keys are precomputed one by one.
            assert [tuple(r["item_bias"].shape) for r in rows] == [(6, 40), (6, 10)]
            rows = precompute_together(
                net,
                None,
                None,
                [{"items": support}, {"items": query}],
                net.DEFAULT_ADAPT_NAMES,
            )
        else:
            ranked = [net.ranking_items(items, c) for items, c in parts]
            rows = [
                precompute(net, None, None, {"items": x}, net.DEFAULT_ADAPT_NAMES)
                for x in (support, query)
            ]
        total = sum(v.square().sum() + b.sum() for v, b in ranked)
        total = total + sum(r["item_vec"].square().sum() for r in rows)
        total.backward()
        grads = [p.grad.clone() for p in net.parameters() if p.grad is not None]
        values = [t.detach() for v, b in ranked for t in (v, b)]
        values += [r["item_vec"].detach() for r in rows]
        results.append((values, grads))
    (v0, g0), (v1, g1) = results
    assert [v.shape for v in v0] == [v.shape for v in v1]
    for a, b in zip(v0, v1):
        torch.testing.assert_close(b, a)
    assert len(g0) == len(g1) > 0
    for a, b in zip(g0, g1):
        # float32 sums over many rows, in another order
        torch.testing.assert_close(b, a, rtol=1e-4, atol=1e-4)


def test_head_parameter_names():
    net = make_net(hidden_dims=(3,))
    names = net.head_parameter_names()
    assert names and all(n.startswith("head.") for n in names)
    assert make_net().head_parameter_names() == ()


def test_extend_items_keeps_old_scores_and_serves_new_from_features():
    net = randomize(make_net(hidden_dims=(3,)))
    old = net(torch.arange(N_ITEMS))
    rng = np.random.default_rng(5)
    new = net.extend_items(
        2,
        categorical=[[0, 1], [2, -1]],
        multi_valued=[rng.integers(-1, 5, (2, 5))],  # wider token table
        text=rng.normal(size=(2, 6)),
    )
    assert new.tolist() == [N_ITEMS, N_ITEMS + 1]
    assert net.n_items == N_ITEMS + 2
    torch.testing.assert_close(net(torch.arange(N_ITEMS)), old)
    scores = net(new)
    assert torch.isfinite(scores).all()
    vec, _ = net.item_representations()
    assert vec.shape == (N_ITEMS + 2, 4)


def test_decision_head_pairwise_and_zero_mlp_start():
    head = DecisionHead(3, hidden_dims=(4,), generator=torch.Generator())
    u, i = torch.randn(2, 3), torch.randn(5, 3)
    torch.testing.assert_close(head(u.unsqueeze(1), i), u @ i.T)  # zero last layer
    randomize(head)
    torch.testing.assert_close(
        head.pairwise(u, i, chunk_size=1), head(u.unsqueeze(1), i)
    )
    with pytest.raises(ValueError, match="activation"):
        DecisionHead(3, activation="nope")


def test_bad_inputs_raise():
    with pytest.raises(ValueError, match="item_categorical"):
        MetaRecNet(3, item_categorical=np.zeros((2, 1), dtype=int))
    with pytest.raises(ValueError, match="finite"):
        MetaRecNet(2, item_text=[[0.0], [np.nan]])
    with pytest.raises(ValueError, match="item_counts"):
        MetaRecNet(2, item_counts=[1, -1])
    with pytest.raises(TypeError, match="generator"):
        MetaRecNet(2, generator=0)
