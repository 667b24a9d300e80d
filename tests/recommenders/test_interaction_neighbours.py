"""The interaction neighbourhood of the ranking (``neighbor_weight``)."""

import numpy as np
import pandas as pd
import pytest

from sklearn_metarec import MetaCFRecommender

from ..conftest import synthetic_log

FAST = {"max_epochs": 2, "embedding_dim": 4, "random_state": 0}


def paired_log(n_users=300, n_pairs=30, pairs_per_user=4, seed=0):
    """Positive interactions that come in pairs: a user who has item 2k has item
    2k + 1. Many more pairs than a 4-dimensional fold-in can tell apart."""
    rng = np.random.default_rng(seed)
    users, items = [], []
    for user in range(n_users):
        for pair in rng.choice(n_pairs, pairs_per_user, replace=False):
            users += [f"u{user}"] * 2
            items += [2 * pair, 2 * pair + 1]
    return pd.DataFrame({"user_id": users, "item_id": items})


def neighbour_sums(model, user):
    """sum_j s_ij over the user's items j (each once), for every fitted item."""
    pos = model.user_index_.get_positions(np.array([user]))[0]
    seen = model._users_items([pos]).toarray().ravel() > 0
    similarity = model.interaction_similarity_.toarray()
    return similarity[:, seen[: similarity.shape[0]]].sum(axis=1)


@pytest.mark.parametrize("kind", ["ratings", "positive"])
def test_recommend_adds_the_weighted_similarities_of_the_users_items(kind):
    X, y = synthetic_log()
    y = y if kind == "ratings" else None
    off = MetaCFRecommender(neighbor_weight=0, **FAST).fit(X, y)
    on = MetaCFRecommender(neighbor_weight=2.0, **FAST).fit(X, y)
    assert off.interaction_similarity_ is None and off.neighbor_weight_ == 0.0
    assert on.neighbor_weight_ == 2.0 and on.neighbor_calibration_ is None
    user = X["user_id"].iloc[0]
    items = on.item_index_.ids
    _, scores_on = on.recommend([user], n=len(items), return_scores=True)
    ranked, scores_off = off.recommend([user], n=len(items), return_scores=True)
    ranked_on = on.recommend([user], n=len(items))[0]
    # Same meta-training (the term comes after it): the scores differ by the term.
    by_item_on = dict(zip(ranked_on, scores_on[0]))
    by_item_off = dict(zip(ranked[0], scores_off[0]))
    assert set(by_item_on) == set(by_item_off)
    term = 2.0 * neighbour_sums(on, user)
    position = {item: k for k, item in enumerate(items)}
    for item in by_item_on:
        expected = by_item_off[item] + term[position[item]]
        assert by_item_on[item] == pytest.approx(expected, abs=1e-6)
    rows = pd.DataFrame({"user_id": [user] * len(items), "item_id": items})
    if kind == "positive":  # predict returns what recommend ranks
        gap = on.predict(rows) - off.predict(rows)
        np.testing.assert_allclose(gap, term, atol=1e-6)
    else:  # predict returns ratings, untouched by the term
        np.testing.assert_allclose(on.predict(rows), off.predict(rows))


def test_a_new_user_gets_the_term_from_their_partial_fit_rows():
    X = paired_log()
    model = MetaCFRecommender(neighbor_weight=4.0, **FAST).fit(X)
    new = pd.DataFrame({"user_id": ["new"], "item_id": [6]})
    model.partial_fit(new)
    # Item 7 always comes with item 6: it leads the new user's list.
    assert model.recommend(["new"], n=1)[0][0] == 7
    assert neighbour_sums(model, "new")[model.item_index_.get_positions([7])[0]] > 0


def test_auto_weight_is_calibrated_on_held_out_users_and_seeded():
    X = paired_log()
    model = MetaCFRecommender(**FAST).fit(X)
    calibration = model.neighbor_calibration_
    assert list(calibration) == [0.0, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0]
    # Pairs the fold-in cannot hold: the neighbourhood raises the held-out nDCG.
    assert max(calibration.values()) > calibration[0.0] + 0.1
    assert model.neighbor_weight_ > 0
    assert model.neighbor_weight_ in calibration
    again = MetaCFRecommender(**FAST).fit(X)
    assert again.neighbor_weight_ == model.neighbor_weight_
    assert again.neighbor_calibration_ == calibration


def test_few_users_take_the_uncalibrated_weight():
    X, y = synthetic_log(n_users=60)  # 10% of them is under 20 held-out users
    model = MetaCFRecommender(**FAST).fit(X, y)
    assert model.neighbor_weight_ == 1.0 and model.neighbor_calibration_ is None


@pytest.mark.parametrize(
    "params", [{"n_neighbors": None}, {"ranking_loss": None}, {"neighbor_weight": 0}]
)
def test_term_is_off(params):
    X, y = synthetic_log()
    model = MetaCFRecommender(**params, **FAST).fit(X, y)
    assert model.interaction_similarity_ is None and model.neighbor_weight_ == 0.0


def test_bad_neighbor_weight_is_a_value_error():
    X, y = synthetic_log()
    with pytest.raises(ValueError, match="neighbor_weight"):
        MetaCFRecommender(neighbor_weight=-1.0, **FAST).fit(X, y)


def test_an_added_item_borrows_the_rows_of_its_closest_fitted_items():
    X, y = synthetic_log()
    model = MetaCFRecommender(neighbor_weight=2.0, **FAST).fit(X, y)
    twin = X.drop_duplicates("item_id").iloc[[3]][["item_id", "title", "genres"]]
    model.add_items(twin.assign(item_id=99999))
    user = X["user_id"].iloc[0]
    pos = model.user_index_.get_positions(np.array([user]))
    offsets = np.zeros((1, len(model.item_index_)))
    model._add_interaction_offsets(pos, offsets)
    offsets = offsets[0]
    closest, cosine = model.similar_items([99999], n=10, return_scores=True)
    closest_pos = model.item_index_.get_positions(closest[0])
    weight = np.maximum(cosine[0], 0.0)
    expected = (weight * offsets[closest_pos]).sum() / weight.sum()
    new_pos = model.item_index_.get_positions(np.array([99999]))[0]
    assert offsets[new_pos] == pytest.approx(expected)
    assert offsets[new_pos] > 0


def test_a_small_log_is_calibrated_on_disjoint_folds_of_its_users(monkeypatch):
    from sklearn_metarec.recommenders._meta_base import MetaRecommenderMixin

    X = paired_log(n_users=300)
    folds = []
    calibrate = MetaRecommenderMixin._calibration_fold

    def spy(self, batch, interacted, held, *args):
        folds.append(held.copy())
        return calibrate(self, batch, interacted, held, *args)

    monkeypatch.setattr(MetaRecommenderMixin, "_calibration_fold", spy)
    model = MetaCFRecommender(**FAST).fit(X)
    # 10% of 300 users is 30, short of the 400 aimed at: four folds of 75.
    assert [len(held) for held in folds] == [75] * 4
    assert len(np.unique(np.concatenate(folds))) == 300
    assert model.neighbor_weight_ in model.neighbor_calibration_
