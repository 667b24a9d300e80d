"""The interaction log by column name, and side information as its own tables."""

import numpy as np
import pandas as pd
import pytest
import sklearn
from sklearn.compose import ColumnTransformer
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline

from sklearn_metarec import HybridMetaRecommender, MetaCFRecommender
from sklearn_metarec.baselines import BiasRecommender, EASERecommender
from sklearn_metarec.metrics import make_cold_start_scorer
from sklearn_metarec.model_selection import ColdStartSplit
from sklearn_metarec.text import TfidfSVDEncoder

from .conftest import synthetic_log

FAST = dict(max_epochs=2, embedding_dim=4, random_state=0)


@pytest.fixture(scope="module")
def log():
    X, y = synthetic_log(n_users=30, n_items=20, seed=3)
    return X, y


def _tables(X):
    """The log's ids, and its item columns as a catalogue table."""
    items = X[["item_id", "title", "genres"]].drop_duplicates("item_id")
    return X[["user_id", "item_id"]], items.reset_index(drop=True)


def _hybrid(**params):
    return HybridMetaRecommender(
        text_columns=["title", "genres"], encoder=TfidfSVDEncoder(4), **FAST, **params
    )


# ----------------------------------------------------------------- columns by name
def test_id_columns_are_found_by_name_in_any_order(log):
    X, y = log
    swapped = X[["genres", "item_id", "title", "user_id"]]
    a = MetaCFRecommender(**FAST).fit(X, y)
    b = MetaCFRecommender(**FAST).fit(swapped, y)
    assert a.user_index_.ids.tolist() == b.user_index_.ids.tolist()
    np.testing.assert_allclose(a.predict(X), b.predict(swapped), rtol=1e-6)


def test_a_missing_id_column_names_it_and_the_parameter(log):
    X, y = log
    renamed = X.rename(columns={"user_id": "uid"})
    with pytest.raises(ValueError, match=r"no column 'user_id' \(user_column\)"):
        BiasRecommender().fit(renamed, y)
    model = BiasRecommender(user_column="uid").fit(renamed, y)
    assert len(model.user_index_) == X["user_id"].nunique()
    with pytest.raises(ValueError, match="both 'uid'"):
        BiasRecommender(user_column="uid", item_column="uid").fit(renamed, y)


def test_arrays_keep_their_columns_by_position(log):
    X, y = log
    frame = BiasRecommender().fit(X[["user_id", "item_id"]], y)
    array = BiasRecommender().fit(X[["user_id", "item_id"]].to_numpy(), y)
    np.testing.assert_allclose(
        frame.predict(X[["user_id", "item_id"]]),
        array.predict(X[["user_id", "item_id"]].to_numpy()),
    )


# ------------------------------------------------------- partial_fit and predict
def test_partial_fit_and_predict_need_only_the_id_columns(log):
    X, y = log
    model = MetaCFRecommender(**FAST).fit(X, y)
    ids = X[["user_id", "item_id"]]
    np.testing.assert_allclose(model.predict(ids), model.predict(X), rtol=1e-6)
    new = pd.DataFrame({"user_id": ["new"] * 3, "item_id": X["item_id"].iloc[:3]})
    model.partial_fit(new, [5.0, 1.0, 3.0])
    assert "new" in model.user_index_
    assert len(model.recommend(["new"], n=3)[0]) == 3


def test_a_column_fit_did_not_see_is_an_error(log):
    X, y = log
    model = BiasRecommender().fit(X, y)
    with pytest.raises(ValueError, match=r"column\(s\) \['color'\] that fit did not"):
        model.predict(X.assign(color="red"))


@pytest.mark.parametrize("method", ["partial_fit", "predict"])
def test_changed_side_information_of_a_known_item_names_the_item(log, method):
    X, y = log
    model = MetaCFRecommender(**FAST).fit(X, y)
    rows = X.iloc[:2].assign(user_id="new")
    rows.loc[rows.index[1], "title"] = "Another title"
    item = rows["item_id"].iloc[1]
    call = getattr(model, method)
    args = (rows, [4.0, 3.0]) if method == "partial_fit" else (rows,)
    with pytest.raises(ValueError, match=rf"Item {item} is known with 'title'"):
        call(*args)
    assert "new" not in model.user_index_  # nothing changed


@pytest.mark.parametrize("few_rows", [True, False], ids=["few-rows", "pandas"])
def test_a_few_rows_are_checked_as_many_are(log, monkeypatch, few_rows):
    # partial_fit of a few rows checks and splits side information in plain
    # Python; it must agree with the pandas path of larger batches.
    import sklearn_metarec.base as base

    if not few_rows:
        monkeypatch.setattr(base, "_SMALL_BATCH", 0)
    X, y = log
    model = MetaCFRecommender(**FAST).fit(X, y)
    rows = X.iloc[:4].assign(user_id="new")
    rows.loc[rows.index[3], "item_id"] = 10**6  # new, with its title and genres
    model.partial_fit(rows, [4.0, 3.0, 5.0, 2.0])
    assert (
        model.item_features_.loc[10**6].tolist()
        == rows.iloc[3][list(model.item_features_.columns)].tolist()
    )
    again = rows.assign(user_id="other")
    again.loc[again.index[1], "title"] = "Changed"
    with pytest.raises(ValueError, match="is known with 'title'"):
        model.partial_fit(again, [4.0, 3.0, 5.0, 2.0])
    twice = pd.concat([rows.iloc[:1], rows.iloc[1:2]]).assign(
        user_id="third", item_id=10**6 + 1
    )
    twice.loc[twice.index[1], "title"] = "Other"  # a new item, two titles
    with pytest.raises(ValueError, match="two different values in side column"):
        model.partial_fit(twice, [4.0, 3.0])


def test_known_side_information_given_again_unchanged_is_accepted(log):
    X, y = log
    model = MetaCFRecommender(**FAST).fit(X, y)
    rows = X.iloc[:3].assign(user_id="new")
    model.partial_fit(rows, [4.0, 3.0, 5.0])
    assert "new" in model.user_index_


# ------------------------------------------------------------------------ tables
def test_an_items_table_fits_the_same_model_as_columns_on_the_rows(log):
    X, y = log
    ids, items = _tables(X)
    on_rows = _hybrid().fit(X, y)
    as_table = _hybrid().fit(ids, y, items=items)
    pd.testing.assert_frame_equal(
        on_rows.item_features_.astype(object), as_table.item_features_.astype(object)
    )
    np.testing.assert_allclose(on_rows.predict(X), as_table.predict(ids), rtol=1e-5)


def test_items_of_the_table_without_interactions_enter_the_catalogue(log):
    X, y = log
    ids, items = _tables(X)
    extra = pd.DataFrame(
        {"item_id": [-1, -2], "title": ["A new film", "Another"], "genres": "Drama"}
    )
    model = _hybrid().fit(ids, y, items=pd.concat([items, extra]))
    assert model.item_index_.ids[-2:].tolist() == [-1, -2]
    everything = model.recommend([X["user_id"].iloc[0]], n=len(model.item_index_))
    assert {-1, -2} <= set(everything[0].tolist())
    # partial_fit with a table adds its new items too.
    more = pd.DataFrame({"item_id": [-3], "title": ["Third"], "genres": ["Comedy"]})
    model.partial_fit(ids.iloc[:1], y[:1], items=more)
    assert model.item_index_.ids[-1] == -3


def test_a_users_table_serves_users_who_arrive_later(log):
    X, y = log
    X = X.assign(age=X["user_id"].str[1:].astype(int) % 3)
    users = X[["user_id", "age"]].drop_duplicates("user_id")
    later = users["user_id"].iloc[-1]
    train = X[X["user_id"] != later]
    model = MetaCFRecommender(**FAST).fit(
        train.drop(columns="age"), y[X["user_id"] != later], users=users
    )
    assert model.user_features_.columns.tolist() == ["age"]
    rows = X[X["user_id"] == later]
    model.partial_fit(rows[["user_id", "item_id"]], y[X["user_id"] == later])
    assert (
        model.user_features_.loc[later, "age"]
        == users.set_index("user_id").loc[later, "age"]
    )


def test_bad_tables_are_clear_errors(log):
    X, y = log
    ids, items = _tables(X)
    with pytest.raises(ValueError, match="items must be a DataFrame"):
        _hybrid().fit(ids, y, items=items.to_numpy())
    with pytest.raises(ValueError, match="no item id column 'item_id'"):
        _hybrid().fit(ids, y, items=items.drop(columns="item_id"))
    with pytest.raises(ValueError, match="repeats the item id"):
        _hybrid().fit(ids, y, items=pd.concat([items, items.iloc[:1]]))
    with pytest.raises(ValueError, match="'title' is given twice, in X and in items"):
        _hybrid().fit(X, y, items=items)
    with pytest.raises(ValueError, match=r"\[.title.\] \(text_columns\) are in"):
        _hybrid().fit(ids, y, items=items.drop(columns="title"))
    with pytest.raises(ValueError, match="is not text"):
        _hybrid().fit(ids, y, items=items.assign(title=1.5))


def test_tables_pass_through_a_pipeline_and_a_grid_search(log):
    X, y = log
    ids, items = _tables(X)
    select = ColumnTransformer(
        [("ids", "passthrough", ["user_id", "item_id"])],
        remainder="drop",
        verbose_feature_names_out=False,
    ).set_output(transform="pandas")
    with sklearn.config_context(enable_metadata_routing=True):
        rec = EASERecommender(l2=10.0).set_fit_request(items=True)
        pipe = Pipeline([("select", select), ("rec", rec)])
        extra = pd.DataFrame({"item_id": [-1], "title": ["New"], "genres": ["Drama"]})
        pipe.fit(X, y, items=pd.concat([items, extra]))
        assert pipe[-1].item_index_.ids[-1] == -1
        search = GridSearchCV(
            _hybrid().set_fit_request(items=True),
            {"prior_precision": [1.0, 5.0]},
            cv=ColdStartSplit(kind="user", n_splits=2, random_state=0),
            scoring=make_cold_start_scorer("mae", n_support=3),
        ).fit(ids, y, items=items)
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()
    assert len(search.best_estimator_.item_index_) == len(items)


# ------------------------------------------- side tables of a stream of partial_fit
@pytest.mark.parametrize("side_parts", [3, 16])
def test_a_stream_of_partial_fit_keeps_side_tables_whole_and_checked(
    log, monkeypatch, side_parts
):
    """One new user (with a user column) and one new item per call, and a known
    user's row between: the side tables are those rows in order, kept in a few
    folded tables, and a late user's or item's value is checked as a fitted
    one's."""
    import sklearn_metarec.base as base

    monkeypatch.setattr(base, "_SIDE_PARTS", side_parts)
    X, y = log
    X = X.assign(age=X["user_id"].str.len())
    model = MetaCFRecommender(**FAST).fit(X, y)
    users = [model.user_features_]
    items = [model.item_features_]
    for k in range(40):
        new = X.iloc[[k]].assign(user_id=f"new{k}", item_id=10**6 + k, age=k)
        new["title"] = f"film {k}"
        model.partial_fit(new, [4.0])
        users.append(new.set_index("user_id")[["age"]])
        items.append(new.set_index("item_id")[["title", "genres"]])
        known = X.iloc[[k]].assign(user_id=f"new{k // 2}", age=k // 2)
        model.partial_fit(known, [3.0])  # reads the side values held
        assert len(model._user_side_parts) <= side_parts
    pd.testing.assert_frame_equal(
        model.user_features_, pd.concat(users), check_names=False
    )
    pd.testing.assert_frame_equal(
        model.item_features_, pd.concat(items), check_names=False
    )
    late = X.iloc[[0]].assign(user_id="new39", age=0)
    with pytest.raises(ValueError, match="User 'new39' is known with 'age' = 39"):
        model.partial_fit(late, [3.0])
    late = X.iloc[[0]].assign(user_id="new0", age=0, item_id=10**6 + 39)
    with pytest.raises(ValueError, match=f"Item {10**6 + 39} is known with 'title'"):
        model.partial_fit(late, [3.0])


def test_folded_side_tables_hold_every_row_once():
    from sklearn_metarec.base import _rows_after, _with_part

    rng = np.random.default_rng(0)
    parts, rows = [pd.DataFrame({"a": np.arange(5)})], 5
    for _ in range(300):
        k = int(rng.integers(0, 4))
        parts = _with_part(parts, pd.DataFrame({"a": np.arange(rows, rows + k)}))
        rows += k
        assert len(parts) <= 16
        whole = pd.concat(parts)["a"].to_numpy()
        np.testing.assert_array_equal(whole, np.arange(rows))
        start = int(rng.integers(0, rows + 1))
        np.testing.assert_array_equal(
            _rows_after(parts, start)["a"].to_numpy(), np.arange(start, rows)
        )


def test_a_refit_checks_side_columns_against_its_own_tables(log):
    X, y = log
    model = MetaCFRecommender(**FAST).fit(X, y)
    model.partial_fit(X.iloc[:1].assign(user_id="new"), [4.0])  # values cached
    renamed = X.assign(title="Renamed " + X["title"])
    model.fit(renamed, y)
    model.partial_fit(renamed.iloc[:1].assign(user_id="new"), [4.0])
    with pytest.raises(ValueError, match="is known with 'title' = 'Renamed"):
        model.partial_fit(X.iloc[:1].assign(user_id="other"), [4.0])
