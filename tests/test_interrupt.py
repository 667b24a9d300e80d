"""An interrupted fit or partial_fit changes nothing (issue #6).

A ``KeyboardInterrupt`` raised anywhere inside ``fit`` or ``partial_fit`` (inside
skorch's epoch loop, which would otherwise swallow it, in the adaptation at the
end of fit, in the middle of a partial_fit) propagates to the caller and leaves
the estimator exactly as it was: not fitted after an interrupted first fit, the
previous model (bit-identical predictions, and the same behaviour afterwards)
after an interrupted refit or partial_fit.
"""

import copy
import functools

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.utils.validation import check_is_fitted
from skorch.callbacks import Callback

from sklearn_metarec import HybridMetaRecommender, MetaCFRecommender
from sklearn_metarec.meta import MetaLearner

from .test_invariants import (
    ESTIMATORS,
    META_ESTIMATORS,
    estimator_id,
    fitted_copy,
    grid,
    item_table,
    split_log,
)

#: Estimators that get every meta-specific injection point (the others get the
#: generic ones and the skorch callback).
DEEP = (MetaCFRecommender, HybridMetaRecommender)


class InterruptAt(Callback):
    """Raise KeyboardInterrupt at the end of an epoch, or of a batch within it."""

    def __init__(self, epoch=2, batch=None):
        self.epoch = epoch
        self.batch = batch

    def on_epoch_end(self, net, **kwargs):
        if self.batch is None and len(net.history) == self.epoch:
            raise KeyboardInterrupt

    def on_batch_end(self, net, training=None, **kwargs):
        if (
            self.batch is not None
            and training
            and len(net.history) == self.epoch
            and len(net.history[-1]["batches"]) == self.batch
        ):
            raise KeyboardInterrupt


def _inject(monkeypatch, cls, name, *, after=True, on_call=1):
    """Make ``cls.name`` raise KeyboardInterrupt on its ``on_call``-th call,
    before or after running (so that it has done its work when interrupted)."""
    owner = next(c for c in cls.__mro__ if name in vars(c))
    original = getattr(owner, name)
    calls = []

    @functools.wraps(original)
    def wrapper(*args, **kwargs):
        calls.append(None)
        if len(calls) == on_call and not after:
            raise KeyboardInterrupt
        out = original(*args, **kwargs)
        if len(calls) == on_call and after:
            raise KeyboardInterrupt
        return out

    monkeypatch.setattr(owner, name, wrapper)
    return calls


def _arm(point, est, monkeypatch):
    """Set up the injection ``point`` on ``est``."""
    kind, *args = point[:3]
    if kind == "callback":
        est.set_params(callbacks=[InterruptAt(*args)])
    elif kind == "learner":
        _inject(monkeypatch, MetaLearner, args[0], after=False, on_call=args[1])
    else:
        name, on_call = args
        _inject(monkeypatch, type(est), name, after=kind == "after", on_call=on_call)


FIT_POINTS = {
    "all": [
        ("after", "_encode_for_fit", 1),
        ("after", "_fit", 1),
    ],
    "meta": [
        ("callback", 2),  # end of epoch 2, inside skorch's loop
        ("callback", 2, 1),  # end of the first batch of epoch 2
    ],
    "deep": [
        ("learner", "meta_backward", 3),  # inside a train step
        ("after", "_make_net", 1),
        ("after", "_adapt_new", 1),  # adaptation of every user after training
        ("after", "_refresh_items", 1),
        ("before", "_fit_neighbours", 1),  # last step of fit
    ],
    "knn": [("before", "_similarity", 1)],
}
PARTIAL_FIT_POINTS = {  # (when, method, call[, batch kind]); default batch: mixed
    "all": [
        ("after", "_encode_for_update", 1),
        ("after", "_partial_fit", 1),
        ("after", "_partial_fit", 1, "known_users"),
    ],
    "bias": [("after", "_grow", 1)],
    "deep": [
        ("after", "_add_items", 1),
        ("after", "_add_users", 1),
        ("after", "_write_states", 1),
        ("after", "_write_states", 2),
        ("after", "_write_states", 2, "known_users"),  # rows of existing tensors
        ("after", "_warm_items", 1),
        ("after", "_refresh_items", 2),
        # Items added by an earlier partial_fit warmed again: rows of the existing
        # item cache and warm-up corrections.
        ("after", "_warm_items", 1, "rewarm"),
        ("after", "_refresh_items", 1, "rewarm"),
    ],
}


def _cases(points):
    cases = []
    for est in ESTIMATORS:
        groups = ["all"]
        if est in META_ESTIMATORS:
            groups.append("meta")
        if isinstance(est, DEEP) and not getattr(est, "hidden_dims", ()):
            groups.append("deep")
        if hasattr(est, "reg_user"):
            groups.append("bias")
        if hasattr(est, "_similarity"):
            groups.append("knn")
        for group in groups:
            for point in points.get(group, []):
                label = "-".join(str(p) for p in point)
                cases.append(
                    pytest.param(est, point, id=f"{estimator_id(est)}-{label}")
                )
    return cases


def _probe(est):
    """Rows touching every kind of user of the split, on every item."""
    X_train, _, batches = split_log()
    X_mixed = batches["mixed"][0]
    users = [*X_train["user_id"].unique()[::7], *X_mixed["user_id"].unique()[:4]]
    items = item_table(pd.concat([X_train, *(X for X, _ in batches.values())]))
    return grid([*users, "unknown"], items)


def _snapshot(est):
    probe = _probe(est)
    users = probe["user_id"].unique()[:5]
    return sorted(vars(est)), est.predict(probe), est.recommend(users, n=5)


def _assert_same(a, b):
    assert a[0] == b[0], "attributes differ"
    np.testing.assert_array_equal(a[1], b[1])
    for x, y in zip(a[2], b[2]):
        np.testing.assert_array_equal(x, y)


def _assert_same_behaviour(est, pristine, batch="mixed"):
    """Same predictions now, after ``batch`` (the interrupted one, tried again),
    and after a batch of other new items (at the positions the interrupted call
    had given to its new items)."""
    _assert_same(_snapshot(est), _snapshot(pristine))
    X_batch, y_batch = split_log()[2][batch]
    X_other, y_other = split_log()[2]["new_items"]
    X_other = X_other.assign(
        item_id=X_other["item_id"] + 5000, title="A heist on a horse", genres="Horror"
    )
    for X, y in ((X_batch, y_batch), (X_other, y_other)):
        est.partial_fit(X, y)
        pristine.partial_fit(X, y)
        _assert_same(_snapshot(est), _snapshot(pristine))


@pytest.mark.parametrize(("estimator", "point"), _cases(FIT_POINTS))
def test_interrupted_first_fit_leaves_the_estimator_unfitted(
    estimator, point, monkeypatch
):
    X_train, y_train, _ = split_log()
    est = clone(estimator)
    params = sorted(vars(est))
    _arm(point, est, monkeypatch)
    with pytest.raises(KeyboardInterrupt):
        est.fit(X_train, y_train)
    assert sorted(vars(est)) == params
    with pytest.raises(NotFittedError):
        check_is_fitted(est)
    with pytest.raises(NotFittedError):
        est.predict(X_train)
    monkeypatch.undo()
    # Nothing half-built is left behind: a fit now is an ordinary fit.
    if hasattr(est, "callbacks"):
        est.set_params(callbacks=None)
    est.fit(X_train, y_train)
    _assert_same(_snapshot(est), _snapshot(fitted_copy(estimator)))


@pytest.mark.parametrize(("estimator", "point"), _cases(FIT_POINTS))
def test_interrupted_refit_keeps_the_previous_model(estimator, point, monkeypatch):
    X_train, y_train, _ = split_log()
    est = fitted_copy(estimator)
    pristine = copy.deepcopy(est)
    _arm(point, est, monkeypatch)
    # Refit on other rows: a completed refit would change every prediction.
    rows = np.arange(len(X_train)) % 4 != 0
    with pytest.raises(KeyboardInterrupt):
        est.fit(X_train[rows], y_train[rows] + 0.5)
    monkeypatch.undo()
    if hasattr(est, "callbacks"):
        est.set_params(callbacks=None)
    _assert_same_behaviour(est, pristine)


@pytest.mark.parametrize(("estimator", "point"), _cases(PARTIAL_FIT_POINTS))
def test_interrupted_partial_fit_keeps_the_previous_model(
    estimator, point, monkeypatch
):
    batch = point[3] if len(point) > 3 else "mixed"
    est = fitted_copy(estimator)
    if batch == "rewarm":
        est.partial_fit(*split_log()[2]["new_items"])
    pristine = copy.deepcopy(est)
    X_batch, y_batch = split_log()[2][batch]
    _arm(point, est, monkeypatch)
    with pytest.raises(KeyboardInterrupt):
        est.partial_fit(X_batch, y_batch)
    monkeypatch.undo()
    _assert_same_behaviour(est, pristine, batch)


@pytest.mark.parametrize("estimator", ESTIMATORS, ids=estimator_id)
def test_interrupted_partial_fit_before_fit_leaves_the_estimator_unfitted(
    estimator, monkeypatch
):
    X_train, y_train, _ = split_log()
    est = clone(estimator)
    params = sorted(vars(est))
    _inject(monkeypatch, type(est), "_fit")
    with pytest.raises(KeyboardInterrupt):
        est.partial_fit(X_train, y_train)
    assert sorted(vars(est)) == params
    with pytest.raises(NotFittedError):
        check_is_fitted(est)


def test_a_failed_partial_fit_is_undone_too(monkeypatch):
    """Atomicity is not only for interrupts: any exception restores the model."""
    est = fitted_copy(ESTIMATORS[3])
    pristine = copy.deepcopy(est)
    X_mixed, y_mixed = split_log()[2]["mixed"]
    original = type(est)._warm_items

    def fail(self, *args, **kwargs):
        original(self, *args, **kwargs)
        raise MemoryError

    monkeypatch.setattr(type(est), "_warm_items", fail)
    with pytest.raises(MemoryError):
        est.partial_fit(X_mixed, y_mixed)
    monkeypatch.undo()
    _assert_same_behaviour(est, pristine)


@pytest.mark.parametrize(
    "estimator", [e for e in ESTIMATORS if isinstance(e, DEEP)], ids=estimator_id
)
def test_new_users_after_an_interrupted_call_start_from_the_prior(
    estimator, monkeypatch
):
    # partial_fit appends new users' states in room kept after the known
    # users' (BaseRecommender._append_rows). The interrupted call appends its
    # users there, after a first batch of new users made that room; the next
    # call's users, at the same positions, must not see those rows.
    X_new, y_new = split_log()[2]["new_users"]
    users = X_new["user_id"].unique()
    first = X_new["user_id"].isin(users[: len(users) // 2]).to_numpy()
    est = fitted_copy(estimator)
    est.partial_fit(X_new[first], y_new[first])
    pristine = copy.deepcopy(est)  # no room kept: appends by copying
    _inject(monkeypatch, type(est), "_write_states", after=True, on_call=1)
    with pytest.raises(KeyboardInterrupt):
        est.partial_fit(X_new[~first], y_new[~first] * 0 + 1.0)
    monkeypatch.undo()
    _assert_same(_snapshot(est), _snapshot(pristine))
    est.partial_fit(X_new[~first], y_new[~first])
    pristine.partial_fit(X_new[~first], y_new[~first])
    _assert_same(_snapshot(est), _snapshot(pristine))
    for name, state in est.user_state_.items():
        np.testing.assert_array_equal(state.numpy(), pristine.user_state_[name].numpy())


def test_two_copies_sharing_kept_room_do_not_write_over_each_other():
    # Two estimators holding the same rows (a shallow copy of the attributes)
    # each append: the second finds the room used by the first and copies.
    est = fitted_copy(ESTIMATORS[3])
    X_new, y_new = split_log()[2]["new_users"]
    users = X_new["user_id"].unique()
    first = X_new["user_id"].isin(users[:2]).to_numpy()
    est.partial_fit(X_new[first], y_new[first])  # keeps room after the rows
    twin = copy.deepcopy(est)
    shallow = object.__new__(type(est))
    shallow.__dict__.update(est.__dict__)
    rest = X_new[~first]
    est.partial_fit(rest, y_new[~first])
    shallow.partial_fit(rest, np.full(len(rest), 1.0))
    twin.partial_fit(rest, y_new[~first])
    for name, state in est.user_state_.items():
        np.testing.assert_array_equal(state.numpy(), twin.user_state_[name].numpy())


def test_the_seen_log_grows_by_its_rows_and_an_interrupted_call_leaves_it():
    # partial_fit appends its rows in room kept after the log (BaseRecommender.
    # _append_rows): the arrays held before a call keep their values, and the
    # rows of an interrupted call never show.
    est = fitted_copy(ESTIMATORS[3])
    X_new, y_new = split_log()[2]["new_users"]
    users = X_new["user_id"].unique()
    parts = [X_new["user_id"].isin(users[k::3]).to_numpy() for k in range(3)]
    expected = [est._seen_log()[1]]
    est.partial_fit(X_new[parts[0]], y_new[parts[0]])
    expected.append(est.item_index_.get_positions(X_new["item_id"][parts[0]]))
    held = [a.copy() for a in est._seen_log()], est._seen_log()
    with pytest.MonkeyPatch.context() as patch:
        _inject(patch, type(est), "_partial_fit", after=True)
        with pytest.raises(KeyboardInterrupt):
            est.partial_fit(X_new[parts[1]], y_new[parts[1]])
    est.partial_fit(X_new[parts[2]], y_new[parts[2]])
    expected.append(est.item_index_.get_positions(X_new["item_id"][parts[2]]))
    np.testing.assert_array_equal(est._seen_log()[1], np.concatenate(expected))
    np.testing.assert_array_equal(
        est._seen_log()[2][-parts[2].sum() :], y_new[parts[2]]
    )
    for copied, kept in zip(*held):
        np.testing.assert_array_equal(copied, kept)
