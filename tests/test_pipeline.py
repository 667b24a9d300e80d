"""RecommenderPipeline: a Pipeline that keeps recommend, partial_fit and friends."""

import copy
import inspect
import pickle

import numpy as np
import pandas as pd
import pytest
import sklearn
from sklearn.base import BaseEstimator, TransformerMixin, clone
from sklearn.compose import ColumnTransformer
from sklearn.dummy import DummyRegressor
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer

from sklearn_metarec import MetaCFRecommender
from sklearn_metarec.baselines import BiasRecommender
from sklearn_metarec.metrics import make_cold_start_scorer
from sklearn_metarec.model_selection import ColdStartSplit
from sklearn_metarec.pipeline import RecommenderPipeline, make_recommender_pipeline

FAST = {"max_epochs": 2, "embedding_dim": 4, "random_state": 0}
SERVING = [
    "partial_fit",
    "recommend",
    "explain",
    "similar_items",
    "recommend_from_text",
    "add_items",
]


def _select_ids():
    return ColumnTransformer(
        [("ids", "passthrough", ["user_id", "item_id"])],
        remainder="drop",
        verbose_feature_names_out=False,
    ).set_output(transform="pandas")


def _pipeline(final):
    return RecommenderPipeline([("select", _select_ids()), ("rec", final)])


finals = pytest.mark.parametrize(
    "final",
    [BiasRecommender(), MetaCFRecommender(**FAST)],
    ids=["bias", "metacf"],
)


def _new_user(X, y, user="u0", n=5, new_id="new-user"):
    rows = (X["user_id"] == user).to_numpy()
    return X[rows].head(n).assign(user_id=new_id), y[rows][:n]


@finals
def test_recommend_is_the_final_steps(final, ratings_log):
    X, y = ratings_log
    pipe = _pipeline(final).fit(X, y)
    users = ["u0", "u1", "someone new"]
    expected = pipe[-1].recommend(users, n=5)
    got = pipe.recommend(users, n=5)
    assert len(got) == len(expected) == 3
    for a, b in zip(got, expected):
        np.testing.assert_array_equal(a, b)
    ids, scores = pipe.recommend(["u0"], n=3, exclude_seen=False, return_scores=True)
    ids_by_hand, scores_by_hand = pipe[-1].recommend(
        ["u0"], n=3, exclude_seen=False, return_scores=True
    )
    np.testing.assert_array_equal(ids[0], ids_by_hand[0])
    np.testing.assert_allclose(scores[0], scores_by_hand[0])
    assert pipe.user_index_ is pipe[-1].user_index_
    assert pipe.item_index_ is pipe[-1].item_index_


@finals
def test_partial_fit_equals_transforming_by_hand(final, ratings_log):
    X, y = ratings_log
    pipe = _pipeline(final).fit(X, y)
    by_hand = copy.deepcopy(pipe)
    new_rows, new_y = _new_user(X, y)
    # a new item in the batch too
    new_rows = new_rows.copy()
    new_rows.iloc[0, new_rows.columns.get_loc("item_id")] = 99_999

    assert pipe.partial_fit(new_rows, new_y) is pipe
    by_hand[-1].partial_fit(by_hand[:-1].transform(new_rows), new_y)

    np.testing.assert_allclose(pipe.predict(X.head(50)), by_hand.predict(X.head(50)))
    np.testing.assert_allclose(pipe.predict(new_rows), by_hand.predict(new_rows))
    np.testing.assert_array_equal(
        pipe.recommend(["new-user"], n=5)[0], by_hand.recommend(["new-user"], n=5)[0]
    )
    assert "new-user" in pipe.user_index_.ids.tolist()
    assert 99_999 in pipe.item_index_.ids.tolist()


def test_partial_fit_before_fit_fits_the_whole_pipeline(ratings_log):
    X, y = ratings_log
    fitted = _pipeline(BiasRecommender()).fit(X, y)
    partial = _pipeline(BiasRecommender()).partial_fit(X, y)
    assert hasattr(partial[0], "transformers_")  # the first step was fitted too
    np.testing.assert_allclose(partial.predict(X), fitted.predict(X))


class _Recorder(BaseEstimator):
    """A recommender stand-in that records what fit / partial_fit receive."""

    def fit(self, X, y=None, weights=None):
        self.calls_ = [("fit", list(X.columns), weights)]
        return self

    def partial_fit(self, X, y=None, weights=None):
        if not hasattr(self, "calls_"):
            return self.fit(X, y, weights=weights)
        self.calls_.append(("partial_fit", list(X.columns), weights))
        return self


class _TaggingTransformer(TransformerMixin, BaseEstimator):
    """Passes X through; records the ``tag`` metadata given to ``transform``."""

    def fit(self, X, y=None):
        self.tags_ = []
        return self

    def transform(self, X, tag=None):
        self.tags_.append(tag)
        return X[["user_id", "item_id"]]


def test_partial_fit_passes_params_to_the_final_step(ratings_log):
    X, y = ratings_log
    pipe = _pipeline(_Recorder())
    pipe.partial_fit(X, y, weights="w0")  # not fitted: fit, params to the last step
    pipe.partial_fit(X.head(3), y[:3], weights="w1")
    assert pipe[-1].calls_ == [
        ("fit", ["user_id", "item_id"], "w0"),
        ("partial_fit", ["user_id", "item_id"], "w1"),
    ]


def test_partial_fit_routes_metadata_when_routing_is_enabled(ratings_log):
    X, y = ratings_log
    with sklearn.config_context(enable_metadata_routing=True):
        pipe = RecommenderPipeline(
            [
                ("tag", _TaggingTransformer().set_transform_request(tag=True)),
                (
                    "rec",
                    _Recorder()
                    .set_fit_request(weights=True)
                    .set_partial_fit_request(weights=True),
                ),
            ]
        )
        pipe.partial_fit(X, y, weights="w0")  # fit: TransformerMixin's fit_transform
        pipe.partial_fit(X.head(3), y[:3], weights="w1", tag="t1")
        routing = pipe.get_metadata_routing()
        assert routing.consumes("partial_fit", ["weights", "tag"]) == {"weights", "tag"}
        # Pipeline's own routes are kept
        assert routing.consumes("fit", ["weights"]) == {"weights"}
    assert pipe[-1].calls_ == [
        ("fit", ["user_id", "item_id"], "w0"),
        ("partial_fit", ["user_id", "item_id"], "w1"),
    ]
    assert pipe[0].tags_ == [None, "t1"]  # fit_transform, then partial_fit


def test_item_table_reaches_the_recommender(ratings_log):
    if "items" not in inspect.signature(BiasRecommender.partial_fit).parameters:
        pytest.skip("the recommenders take no items= table yet")
    X, y = ratings_log
    items = X.drop_duplicates("item_id")[["item_id", "genres"]]
    extra = items.head(1).assign(item_id=-1)  # in the table, not in the log
    table = pd.concat([items, extra])
    pipe = _pipeline(BiasRecommender()).partial_fit(X, y, items=table)  # fits
    assert -1 in pipe.item_index_.ids.tolist()
    new_rows, new_y = _new_user(X, y)
    extra = extra.assign(item_id=-2)
    pipe.partial_fit(new_rows, new_y, items=pd.concat([table, extra]))
    assert -2 in pipe.item_index_.ids.tolist()


def test_grid_search_best_estimator_keeps_serving(ratings_log):
    X, y = ratings_log
    search = GridSearchCV(
        _pipeline(MetaCFRecommender(**FAST)),
        {"rec__prior_precision": [1.0, 10.0]},
        cv=ColdStartSplit(kind="user", n_splits=2, random_state=0),
        scoring={
            "mae": make_cold_start_scorer("mae", n_support=5),
            "catalog_ndcg": make_cold_start_scorer("catalog_ndcg", n_support=5),
        },
        refit="mae",
    )
    search.fit(X, y)
    assert np.all(np.isfinite(search.cv_results_["mean_test_mae"]))
    assert np.all(np.isfinite(search.cv_results_["mean_test_catalog_ndcg"]))
    best = search.best_estimator_
    assert isinstance(best, RecommenderPipeline)
    assert hasattr(best, "recommend") and hasattr(best, "partial_fit")
    new_rows, new_y = _new_user(X, y)
    best.partial_fit(new_rows, new_y)
    [items] = best.recommend(["new-user"], n=5)
    assert len(items) == 5
    assert not set(items) & set(new_rows["item_id"])  # seen items are excluded
    assert search.predict(new_rows).shape == (len(new_rows),)


def test_cold_start_scorer_gives_the_same_score_as_for_a_plain_pipeline(ratings_log):
    X, y = ratings_log
    train = ~X["user_id"].isin([f"u{k}" for k in range(10)]).to_numpy()
    steps = [("select", _select_ids()), ("rec", BiasRecommender())]
    plain = Pipeline(copy.deepcopy(steps)).fit(X[train], y[train])
    ours = RecommenderPipeline(copy.deepcopy(steps)).fit(X[train], y[train])
    for metric in ["mae", "catalog_ndcg"]:
        scorer = make_cold_start_scorer(metric, n_support=5, random_state=0)
        assert scorer(ours, X[~train], y[~train]) == pytest.approx(
            scorer(plain, X[~train], y[~train])
        )


class _ExplainOnly(DummyRegressor):
    def explain(self, user, items, *, top=3):
        return ("explained", user, list(items), top)


def test_methods_the_final_step_lacks_are_absent(ratings_log):
    X, y = ratings_log
    numeric = FunctionTransformer(lambda frame: frame[["item_id"]])
    plain = RecommenderPipeline([("f", numeric), ("dummy", DummyRegressor())])
    for name in [*SERVING, "user_index_", "item_index_"]:
        assert not hasattr(plain, name), name
    plain.fit(X, y)
    assert plain.predict(X.head(3)).shape == (3,)
    for name in SERVING:
        assert not hasattr(plain, name), name

    explaining = RecommenderPipeline([("f", numeric), ("dummy", _ExplainOnly())])
    assert hasattr(explaining, "explain") and not hasattr(explaining, "recommend")
    assert explaining.explain("u1", [1, 2], top=5) == ("explained", "u1", [1, 2], 5)

    bias = _pipeline(BiasRecommender())
    for name in SERVING:
        assert hasattr(bias, name) == hasattr(bias[-1], name), name
    assert not hasattr(bias, "user_index_")  # not fitted yet


def test_add_items_is_not_transformed(ratings_log):
    X, y = ratings_log
    pipe = _pipeline(BiasRecommender()).fit(X, y)
    by_hand = copy.deepcopy(pipe)
    items = X.drop_duplicates("item_id").head(2).assign(item_id=[-1, -2])
    items = items[["item_id"]]  # no user_id column: the first step would fail
    assert pipe.add_items(items) is pipe
    by_hand[-1].add_items(items)
    np.testing.assert_array_equal(pipe.item_index_.ids, by_hand.item_index_.ids)
    assert -1 in pipe.item_index_.ids.tolist()


def test_clone_params_and_pickle_round_trip(ratings_log):
    X, y = ratings_log
    pipe = _pipeline(BiasRecommender(reg_user=2.0))
    params = pipe.get_params()
    assert params["rec__reg_user"] == 2.0
    assert "select__remainder" in params
    cloned = clone(pipe)
    assert type(cloned) is RecommenderPipeline
    assert cloned.set_params(rec__reg_user=3.0)[-1].reg_user == 3.0
    assert pipe[-1].reg_user == 2.0

    pipe.fit(X, y)
    restored = pickle.loads(pickle.dumps(pipe))
    assert type(restored) is RecommenderPipeline
    assert hasattr(restored, "partial_fit") and hasattr(restored, "recommend")
    np.testing.assert_allclose(restored.predict(X.head(20)), pipe.predict(X.head(20)))
    new_rows, new_y = _new_user(X, y)
    pipe.partial_fit(new_rows, new_y)
    restored.partial_fit(new_rows, new_y)
    np.testing.assert_array_equal(
        restored.recommend(["new-user"], n=5)[0], pipe.recommend(["new-user"], n=5)[0]
    )


def test_make_recommender_pipeline(ratings_log):
    X, y = ratings_log
    pipe = make_recommender_pipeline(
        FunctionTransformer(), BiasRecommender(), verbose=False
    )
    assert isinstance(pipe, RecommenderPipeline)
    assert [name for name, _ in pipe.steps] == [
        "functiontransformer",
        "biasrecommender",
    ]
    assert pipe.memory is None and pipe.verbose is False
    assert len(pipe.fit(X, y).recommend(["u0"], n=3)[0]) == 3
