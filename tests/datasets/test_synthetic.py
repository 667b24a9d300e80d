"""Tests of make_interactions, the synthetic rating log."""

import numpy as np
import pandas as pd
import pytest

from sklearn_metarec.datasets import make_interactions
from sklearn_metarec.datasets._synthetic import _DENSE_LIMIT, _PRAISE, _SCORN


def test_shapes_columns_and_dtypes():
    X, y = make_interactions(random_state=0)
    assert X.shape == (1000, 4)
    assert y.shape == (1000,) and y.dtype == np.float64
    assert X.columns.tolist() == ["user_id", "item_id", "title", "genres"]
    assert X["user_id"].dtype == np.int64 and X["item_id"].dtype == np.int64
    assert isinstance(X["title"].dtype, pd.CategoricalDtype)
    assert isinstance(X["genres"].dtype, pd.CategoricalDtype)
    assert X["user_id"].between(0, 99).all() and X["item_id"].between(0, 49).all()


def test_distinct_pairs_sorted_by_user_then_item():
    X, _ = make_interactions(n_users=30, n_items=20, n_interactions=300, random_state=1)
    assert not X.duplicated(["user_id", "item_id"]).any()
    keys = X["user_id"].to_numpy() * 20 + X["item_id"].to_numpy()
    assert (np.diff(keys) > 0).all()


def test_full_matrix():
    X, _ = make_interactions(n_users=4, n_items=3, n_interactions=12, random_state=0)
    assert len(X.drop_duplicates(["user_id", "item_id"])) == 12


@pytest.mark.parametrize("scale", [(1, 5), (0, 1), (1, 10), (-2, 2)])
def test_ratings_on_the_scale(scale):
    _, y = make_interactions(rating_scale=scale, random_state=0)
    low, high = scale
    assert set(np.unique(y)) <= set(np.arange(low, high + 1, dtype=float))
    assert len(np.unique(y)) >= 2


def test_same_seed_same_data_other_seed_other_data():
    X1, y1 = make_interactions(random_state=3)
    X2, y2 = make_interactions(random_state=np.random.RandomState(3))
    pd.testing.assert_frame_equal(X1, X2)
    np.testing.assert_array_equal(y1, y2)
    X3, _ = make_interactions(random_state=4)
    assert not X1.equals(X3)


def test_does_not_touch_global_random_state():
    before = np.random.get_state()  # noqa: NPY002 - reading it, not seeding
    X1, _ = make_interactions(random_state=None)
    X2, _ = make_interactions(random_state=None)
    after = np.random.get_state()  # noqa: NPY002
    np.testing.assert_array_equal(before[1], after[1])
    assert before[2] == after[2]
    assert not X1.equals(X2)  # fresh entropy each call


def test_side_information_is_per_item_and_readable():
    X, _ = make_interactions(n_users=50, n_items=30, n_interactions=600, random_state=0)
    assert (X.groupby("item_id", observed=True)["title"].nunique() == 1).all()
    assert (X.groupby("item_id", observed=True)["genres"].nunique() == 1).all()
    for title in X["title"].cat.categories:
        words = title.split()
        assert 3 <= len(words) <= 5 and all(w.isalpha() for w in words)
    assert all(1 <= len(g.split("|")) <= 2 for g in X["genres"].cat.categories)


@pytest.fixture(scope="module")
def large_log():
    X, y = make_interactions(
        n_users=300, n_items=200, n_interactions=20_000, noise=0.1, random_state=0
    )
    return X.assign(rating=y)


def test_genres_predict_ratings_of_cold_items(large_log):
    # Hold out half of the items: a user's mean rating of training items of the
    # same first genre predicts the held-out ratings better than the user's mean.
    frame = large_log.assign(
        genre=large_log["genres"].astype(str).str.split("|").str[0]
    )
    cold = frame["item_id"] % 2 == 1
    train, test = frame[~cold], frame[cold]
    user_mean = train.groupby("user_id")["rating"].mean()
    user_genre = train.groupby(["user_id", "genre"])["rating"].mean()
    base = user_mean.reindex(test["user_id"]).to_numpy()
    keys = pd.MultiIndex.from_arrays([test["user_id"], test["genre"]])
    by_genre = user_genre.reindex(keys).to_numpy()
    by_genre = np.where(np.isnan(by_genre), base, by_genre)
    truth = test["rating"].to_numpy()
    assert np.mean((by_genre - truth) ** 2) < 0.8 * np.mean((base - truth) ** 2)


def test_quality_words_predict_item_means(large_log):
    item_mean = large_log.groupby("item_id")["rating"].mean()
    first_word = (
        large_log.groupby("item_id")["title"].first().astype(str).str.split().str[0]
    ).str.lower()
    praised = item_mean[first_word.isin(_PRAISE)]
    scorned = item_mean[first_word.isin(_SCORN)]
    assert len(praised) > 10 and len(scorned) > 10
    assert praised.mean() > scorned.mean() + 0.3


def test_large_sparse_path_gives_distinct_pairs():
    n_users, n_items = 5_000, 1_000
    assert n_users * n_items > _DENSE_LIMIT
    X, y = make_interactions(
        n_users=n_users, n_items=n_items, n_interactions=50_000, random_state=0
    )
    assert len(X) == 50_000 and len(y) == 50_000
    assert not X.duplicated(["user_id", "item_id"]).any()


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"n_users": 0}, "n_users must be >= 1"),
        ({"n_items": 2.5}, "n_items must be an int"),
        ({"n_interactions": True}, "n_interactions must be an int"),
        ({"n_users": 3, "n_items": 3, "n_interactions": 10}, "exceeds the 9"),
        ({"n_factors": 0}, "n_factors must be >= 1"),
        ({"noise": -1.0}, "noise must be"),
        ({"noise": float("nan")}, "noise must be"),
        ({"rating_scale": (5, 1)}, "low < high"),
        ({"rating_scale": (1, 4.5)}, "two ints"),
        ({"rating_scale": 5}, "pair"),
    ],
)
def test_invalid_parameters(kwargs, match):
    with pytest.raises(ValueError, match=match):
        make_interactions(**kwargs)
