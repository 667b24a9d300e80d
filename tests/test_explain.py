"""explain (every estimator) and similar_items (the estimators with item vectors)."""

import copy

import numpy as np
import pytest
import torch
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
from sklearn_metarec.text import TfidfSVDEncoder

from .conftest import synthetic_log

FAST = {"max_epochs": 2, "embedding_dim": 4, "random_state": 0}
TEXT = {"encoder": TfidfSVDEncoder(n_components=8), **FAST}
# name -> (estimator, whether it is fitted on ratings)
CASES = {
    "bias": (BiasRecommender(), True),
    "item_knn": (ItemKNNRecommender(), True),
    "popularity": (PopularityRecommender(), True),
    "ease": (EASERecommender(l2=10.0), True),
    "meta_cf": (MetaCFRecommender(**FAST), True),
    "meta_cf_clicks": (MetaCFRecommender(**FAST), False),
    "meta_cf_no_ranking": (MetaCFRecommender(ranking_loss=None, **FAST), True),
    "llm_content": (LLMContentRecommender(**TEXT), True),
    "hybrid": (HybridMetaRecommender(**TEXT), True),
}
WITH_VECTORS = [n for n in CASES if n not in ("bias", "popularity")]
FOLD_IN = ["meta_cf", "meta_cf_clicks", "llm_content", "hybrid"]
X, Y = synthetic_log(n_users=30, n_items=25, density=0.4)
USERS = list(X["user_id"].unique()[:2])


@pytest.fixture(scope="module")
def fitted():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return {
            name: clone(est).fit(X, Y if ratings else None)
            for name, (est, ratings) in CASES.items()
        }
    finally:
        torch.set_num_threads(threads)


def _block_sums(table):
    return table.groupby("item_id", sort=False)["contribution"].sum()


def _assert_adds_up(model, user, n=5):
    (recs,), (scores,) = model.recommend([user], n=n, return_scores=True)
    table = model.explain(user, recs, n_contributions=2)
    assert table["item_id"].drop_duplicates().tolist() == recs.tolist()
    np.testing.assert_allclose(_block_sums(table)[recs], scores, rtol=0, atol=1e-9)
    first = table.drop_duplicates("item_id")["score"].to_numpy()
    np.testing.assert_allclose(first, scores, rtol=0, atol=0)
    return table


@pytest.mark.parametrize("name", CASES)
def test_contributions_add_up_to_the_recommend_score(fitted, name):
    for user in USERS:
        _assert_adds_up(fitted[name], user)


@pytest.mark.parametrize("name", CASES)
def test_item_rows_are_the_users_items_largest_first(fitted, name):
    model = fitted[name]
    user = USERS[0]
    (recs,) = model.recommend([user], n=3)
    full = model.explain(user, recs, n_contributions=None)
    short = model.explain(user, recs, n_contributions=2)
    own = set(X.loc[X["user_id"] == user, "item_id"])
    for item in recs:
        rows = full[(full["item_id"] == item) & (full["source"] == "item")]
        assert set(rows["rated_item_id"]) <= own
        assert rows["rated_item_id"].is_unique
        values = rows["contribution"].to_numpy()
        assert np.all(np.diff(values) <= 0)
        top = short[(short["item_id"] == item) & (short["source"] == "item")]
        assert len(top) == min(2, len(rows))
        if len(rows):
            assert top["contribution"].iloc[0] == values.max()
        other = short[(short["item_id"] == item) & (short["source"] == "other items")]
        if len(rows) > 2:
            np.testing.assert_allclose(other["contribution"], values[2:].sum())
        else:
            assert other.empty
    assert full["rated_item_id"].isna().eq(full["source"] != "item").all()


@pytest.mark.parametrize("name", CASES)
def test_cold_user_is_explained_from_the_prior(fitted, name):
    table = _assert_adds_up(fitted[name], "never seen", n=3)
    assert not table["source"].isin(["item", "other items"]).any()


@pytest.mark.parametrize("name", ["ease", "item_knn", "meta_cf", "meta_cf_clicks"])
def test_a_user_added_by_partial_fit_adds_up(fitted, name):
    model = copy.deepcopy(fitted[name])
    rows = X.head(6).assign(user_id="newcomer")
    model.partial_fit(rows, Y[:6] if name != "meta_cf_clicks" else None)
    table = _assert_adds_up(model, "newcomer")
    items = table.loc[table["source"] == "item", "rated_item_id"]
    assert set(items) <= set(rows["item_id"])


@pytest.mark.parametrize("name", FOLD_IN)
def test_fold_in_prior_row_is_the_priors_share(fitted, name):
    # p = A^-1 (sum_j c_j q_j + lambda p0): the "prior" row is q_i' A^-1 lambda p0.
    model = fitted[name]
    user = USERS[0]
    (recs,) = model.recommend([user], n=3)
    table = model.explain(user, recs, n_contributions=None)
    learner = model._learner
    rank_vec, _, gram = model._rank_cache
    rated, y = model._user_history(int(model.user_index_.get_positions([user])[0]))
    q = rank_vec[torch.as_tensor(rated)].double()
    c = torch.as_tensor(y if not learner.adapt_names else np.ones(len(y)))
    kwargs = {k: v.detach() for k, v in learner._ranking_kwargs().items()}
    lam = kwargs["precision"].double().expand(q.shape[1])
    system = (q * c[:, None]).T @ q + kwargs["negative_weight"] * gram.double()
    p0 = model._model.ranking_prior().detach().double()
    prior = torch.linalg.solve(system + torch.diag(lam), lam * p0)
    items = torch.as_tensor(model.item_index_.get_positions(recs))
    expected = (rank_vec[items].double() @ prior).numpy()
    got = table.loc[table["source"] == "prior", "contribution"].to_numpy()
    np.testing.assert_allclose(got, expected, atol=1e-5)
    sources = set(table["source"])
    assert ("rating term" in sources) == (name != "meta_cf_clicks")


def test_parts_of_the_baselines(fitted):
    bias = fitted["bias"].explain(USERS[0], [1000])
    assert bias["source"].tolist() == ["global mean", "user bias", "item bias"]
    assert fitted["popularity"].explain(USERS[0], [1000])["source"].tolist() == [
        "popularity"
    ]
    ease = fitted["ease"]
    table = ease.explain(USERS[0], [1000, 1001], n_contributions=None)
    assert set(table["source"]) == {"item"}
    rows = table[table["item_id"] == 1000]
    pos = ease.item_index_.get_positions(rows["rated_item_id"].to_numpy())
    column = ease.item_index_.get_positions([1000])[0]
    np.testing.assert_allclose(rows["contribution"], ease.weights_[pos, column])


def test_text_estimators_show_titles(fitted):
    model = fitted["hybrid"]
    (recs,) = model.recommend([USERS[0]], n=2)
    table = model.explain(USERS[0], recs)
    titles = model.item_features_["title"]
    assert list(table.columns) == [
        "item_id",
        "title",
        "source",
        "rated_item_id",
        "rated_title",
        "contribution",
        "score",
    ]
    assert (table["title"] == titles.loc[table["item_id"]].to_numpy()).all()
    items = table[table["source"] == "item"]
    assert (items["rated_title"] == titles.loc[items["rated_item_id"]].to_numpy()).all()
    assert "title" not in fitted["ease"].explain(USERS[0], recs).columns


@pytest.mark.parametrize("name", CASES)
def test_explain_rejects_bad_input(fitted, name):
    model = fitted[name]
    with pytest.raises(ValueError, match="'nope' of items is not in the catalogue"):
        model.explain(USERS[0], [1000, "nope"])
    with pytest.raises(ValueError, match="1-D list or array of item ids"):
        model.explain(USERS[0], "1000")
    with pytest.raises(ValueError, match="n_contributions must be a positive"):
        model.explain(USERS[0], [1000], n_contributions=0)
    with pytest.raises(ValueError, match="missing values"):
        model.explain(float("nan"), [1000])
    assert model.explain(USERS[0], []).empty


@pytest.mark.parametrize("name", WITH_VECTORS)
def test_similar_items_are_other_items_best_first(fitted, name):
    model = fitted[name]
    queries = [1000, 1003, 1010]
    similar, scores = model.similar_items(queries, n=5, return_scores=True)
    assert len(similar) == len(scores) == len(queries)
    for query, ids, values in zip(queries, similar, scores):
        assert len(ids) == 5 and len(set(ids)) == 5
        assert query not in set(ids)
        assert set(ids) <= set(model.item_index_.ids)
        assert np.all(np.diff(values) <= 0)
    # Without scores, the same lists; all of the catalogue but the item itself.
    plain = model.similar_items(queries, n=5)
    assert [a.tolist() for a in plain] == [a.tolist() for a in similar]
    (everything,) = model.similar_items([1000], n=1000)
    assert len(everything) == len(model.item_index_) - 1
    assert everything[:5].tolist() == similar[0].tolist()


@pytest.mark.parametrize("name", WITH_VECTORS)
def test_similar_items_rejects_bad_input(fitted, name):
    model = fitted[name]
    with pytest.raises(ValueError, match="'nope' of items is not in the catalogue"):
        model.similar_items([1000, "nope"])
    with pytest.raises(ValueError, match="positive integer"):
        model.similar_items([1000], n=0)
    with pytest.raises(ValueError, match="1-D list or array"):
        model.similar_items(1000)


def test_similar_items_only_where_there_are_item_vectors(fitted):
    assert not hasattr(fitted["bias"], "similar_items")
    assert not hasattr(fitted["popularity"], "similar_items")
    # EASE: the column of B; item-kNN: the row of its similarity.
    ease = fitted["ease"]
    query = ease.item_index_.get_positions([1000])[0]
    (ids,), (values,) = ease.similar_items([1000], n=3, return_scores=True)
    pos = ease.item_index_.get_positions(ids)
    np.testing.assert_allclose(values, ease.weights_[pos, query])
    knn = fitted["item_knn"]
    (ids,), (values,) = knn.similar_items([1000], n=3, return_scores=True)
    query = knn.item_index_.get_positions([1000])[0]
    row = knn.similarity_[query].toarray().ravel()
    np.testing.assert_allclose(values, np.sort(row)[::-1][:3])
