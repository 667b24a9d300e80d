"""Growth of the interaction neighbourhood with the history (``neighbor_growth``)."""

import numpy as np
import pandas as pd
import pytest

from sklearn_metarec import MetaCFRecommender

from .test_interaction_neighbours import neighbour_sums, paired_log

FAST = {"max_epochs": 2, "embedding_dim": 4, "random_state": 0}


def long_and_short_log():
    """A paired log (see ``paired_log``) with one user of 60 items and one of 10."""
    X = paired_log(n_users=100, n_pairs=40, pairs_per_user=4)
    long = pd.DataFrame({"user_id": "long", "item_id": np.arange(60)})
    short = pd.DataFrame({"user_id": "short", "item_id": np.arange(10)})
    return pd.concat([X, long, short], ignore_index=True)


@pytest.mark.parametrize("kind", ["ratings", "positive"])
def test_the_term_grows_as_the_history_beyond_40_items(kind):
    X = long_and_short_log()
    y = None if kind == "positive" else 1.0 + np.arange(len(X)) % 5
    params = {"neighbor_weight": 2.0, **FAST}
    flat = MetaCFRecommender(neighbor_growth=0, **params).fit(X, y)
    grown = MetaCFRecommender(neighbor_growth=0.5, **params).fit(X, y)
    assert flat.neighbor_growth_ == 0.0 and grown.neighbor_growth_ == 0.5
    assert grown.growth_calibration_ is None  # a fixed exponent
    items = grown.item_index_.ids
    for user, factor in (("long", (60 / 40) ** 0.5), ("short", 1.0)):
        (ranked,), (scores,) = grown.recommend([user], n=len(items), return_scores=True)
        (ranked_flat,), (scores_flat,) = flat.recommend(
            [user], n=len(items), return_scores=True
        )
        by_item = dict(zip(ranked_flat, scores_flat))
        term = 2.0 * (factor - 1.0) * neighbour_sums(grown, user)
        position = grown.item_index_.get_positions(ranked)
        expected = np.array([by_item[i] for i in ranked]) + term[position]
        np.testing.assert_allclose(scores, expected, atol=1e-6)
        table = grown.explain(user, ranked[:3], n_contributions=100)
        sums = table.groupby("item_id", sort=False)["contribution"].sum()
        np.testing.assert_allclose(sums.to_numpy(), scores[:3], atol=1e-6)


def test_auto_growth_is_calibrated_on_long_held_out_histories_and_seeded():
    X = paired_log(n_users=220, n_pairs=40, pairs_per_user=28)  # 56 items each
    model = MetaCFRecommender(**FAST).fit(X)
    calibration = model.growth_calibration_
    assert list(calibration) == [0.0, 0.25, 0.5, 0.75, 1.0]
    assert model.neighbor_growth_ in calibration
    for ndcg, coverage in calibration.values():
        assert 0.0 <= ndcg <= 1.0 and 0.0 < coverage <= 1.0
    # Within the noise of the best nDCG, no exponent shows more of the catalogue.
    chosen = calibration[model.neighbor_growth_][1]
    best = max(ndcg for ndcg, _ in calibration.values())
    assert chosen >= max(c for n, c in calibration.values() if n == best)
    again = MetaCFRecommender(**FAST).fit(X)
    assert again.growth_calibration_ == calibration
    assert again.neighbor_growth_ == model.neighbor_growth_
    # The calibration's table is plain data: skops stores and restores it.
    sio = pytest.importorskip("skops.io")
    data = sio.dumps(model)
    restored = sio.loads(data, trusted=sio.get_untrusted_types(data=data))
    assert restored.growth_calibration_ == calibration
    users = ["u0", "u1"]
    for ours, theirs in zip(model.recommend(users), restored.recommend(users)):
        np.testing.assert_array_equal(ours, theirs)


def test_growth_is_off_without_calibration_and_checks_its_value():
    X = long_and_short_log()
    few = MetaCFRecommender(**FAST).fit(X)  # too few long histories held out
    assert few.neighbor_growth_ == 0.0 and few.growth_calibration_ is None
    fixed = MetaCFRecommender(neighbor_weight=1.0, **FAST).fit(X)
    assert fixed.neighbor_growth_ == 0.0 and fixed.growth_calibration_ is None
    with pytest.raises(ValueError, match="neighbor_growth"):
        MetaCFRecommender(neighbor_growth=-0.5, **FAST).fit(X)
