"""TfidfSVDEncoder: the non-neural fallback encoder."""

import pickle

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer
from sklearn.utils.estimator_checks import (
    check_get_params_invariance,
    check_no_attributes_set_in_init,
    check_parameters_default_constructible,
    check_set_params,
)

from sklearn_metarec.text import TfidfSVDEncoder

CATALOGUE = [
    "Toy Story. Genres: Animation, Children's, Comedy. A boy's toys come to life.",
    "Heat. Genres: Action, Crime, Thriller. A detective hunts a crew of robbers.",
    "Casino. Genres: Drama, Crime. Greed and mob ties in Las Vegas.",
    "Jumanji. Genres: Adventure, Children's, Fantasy. A board game comes to life.",
    "GoodFellas. Genres: Crime, Drama. The mob life of Henry Hill.",
    "Babe. Genres: Children's, Comedy, Drama. A pig learns to herd sheep.",
    "Se7en. Genres: Crime, Thriller. Two detectives hunt a serial killer.",
    "Aladdin. Genres: Animation, Children's, Comedy, Musical. A genie in a lamp.",
]


def test_shape_dtype_and_unit_rows():
    encoder = TfidfSVDEncoder(n_components=4, random_state=0)
    X = encoder.fit_transform(CATALOGUE)
    assert X.shape == (8, 4) and X.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(X, axis=1), 1.0, rtol=1e-5)
    assert encoder.n_components_ == 4
    assert encoder.components_.shape == (4, len(encoder.vectorizer_.vocabulary_))
    np.testing.assert_allclose(encoder.transform(CATALOGUE), X, atol=1e-6)


def test_similar_texts_are_close():
    X = TfidfSVDEncoder(n_components=6, random_state=0).fit_transform(CATALOGUE)
    sims = X @ X.T
    # Heat is closer to Se7en (crime thriller, detectives) than to Babe.
    assert sims[1, 6] > sims[1, 5]


@pytest.mark.parametrize("n_components", [8, 9, 500])
def test_n_components_beyond_rank_pads_with_zeros(n_components):
    encoder = TfidfSVDEncoder(n_components=n_components, random_state=0)
    X = encoder.fit_transform(CATALOGUE)
    assert X.shape == (8, n_components)
    assert encoder.n_components_ == 8  # 8 texts: rank at most 8
    assert (X[:, 8:] == 0).all()
    np.testing.assert_allclose(np.linalg.norm(X, axis=1), 1.0, rtol=1e-5)


def test_tiny_inputs():
    X = TfidfSVDEncoder(n_components=3).fit_transform(["heat"])  # one text, one term
    assert X.shape == (1, 3)
    np.testing.assert_allclose(np.abs(X[0, 0]), 1.0)
    X = TfidfSVDEncoder(n_components=3).fit_transform(["heat casino", "casino"])
    assert X.shape == (2, 3)


def test_unknown_words_and_missing_give_zero_rows():
    encoder = TfidfSVDEncoder(n_components=4, random_state=0).fit(CATALOGUE)
    X = encoder.transform(["zzzz qqqq", None, np.nan, "crime"])
    assert (X[:3] == 0).all()
    assert np.linalg.norm(X[3]) == pytest.approx(1.0, rel=1e-5)


def test_reproducible_with_random_state():
    a = TfidfSVDEncoder(n_components=3, random_state=0).fit_transform(CATALOGUE)
    b = TfidfSVDEncoder(n_components=3, random_state=0).fit_transform(CATALOGUE)
    np.testing.assert_array_equal(a, b)


def test_input_containers():
    expected = TfidfSVDEncoder(n_components=3, random_state=0).fit_transform(CATALOGUE)
    for container in (
        pd.Series(CATALOGUE, dtype="category"),
        np.array(CATALOGUE),
        pd.DataFrame({"text": CATALOGUE}),
    ):
        X = TfidfSVDEncoder(n_components=3, random_state=0).fit_transform(container)
        np.testing.assert_allclose(X, expected, atol=1e-6)


@pytest.mark.parametrize(
    "X, match",
    [
        ([], "at least one text"),
        (["", None], "no words"),
        ([1.0, 2.0], "element 0 is float 1.0"),
        ("one string", "single string"),
    ],
)
def test_bad_input_raises(X, match):
    with pytest.raises(ValueError, match=match):
        TfidfSVDEncoder().fit(X)


def test_bad_parameters_raise():
    with pytest.raises(ValueError, match="n_components"):
        TfidfSVDEncoder(n_components=0).fit(CATALOGUE)
    with pytest.raises(ValueError, match="ngram_range"):
        TfidfSVDEncoder(ngram_range=(2, 1)).fit(CATALOGUE)


def test_not_fitted():
    with pytest.raises(NotFittedError):
        TfidfSVDEncoder().transform(CATALOGUE)


def test_clone_pickle_pipeline_and_feature_names():
    encoder = TfidfSVDEncoder(n_components=3, random_state=0).fit(CATALOGUE)
    restored = pickle.loads(pickle.dumps(encoder))
    np.testing.assert_array_equal(
        restored.transform(CATALOGUE), encoder.transform(CATALOGUE)
    )
    assert clone(encoder).get_params() == encoder.get_params()
    assert list(encoder.get_feature_names_out()) == [
        "tfidfsvdencoder0",
        "tfidfsvdencoder1",
        "tfidfsvdencoder2",
    ]
    pipe = make_pipeline(
        TfidfSVDEncoder(n_components=3, random_state=0),
        FunctionTransformer(lambda X: 2 * X),
    )
    assert pipe.fit_transform(CATALOGUE).shape == (8, 3)


def test_sklearn_api_checks():
    name = "TfidfSVDEncoder"
    encoder = TfidfSVDEncoder()
    check_no_attributes_set_in_init(name, encoder)
    check_parameters_default_constructible(name, encoder)
    check_get_params_invariance(name, encoder)
    check_set_params(name, encoder)
    tags = encoder.__sklearn_tags__()
    assert tags.input_tags.string and not tags.input_tags.two_d_array
