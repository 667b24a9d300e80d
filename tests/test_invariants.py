"""partial_fit leaves everybody outside the batch bit-identical (issue #6).

For every estimator and each kind of arrival (new users, new items, new rows of
known users, all three at once, and known users rating items that an earlier
partial_fit added), the predictions of users not in the batch and of unknown users
on every item of fit, and the order of those items in everybody else's
recommendations, do not change by a bit. (Items added by partial_fit keep warming
up from later batches that rate them, by design, so scores on them may move.)

The estimator list and data helpers here are shared by ``test_interrupt.py``,
``test_rng.py`` and ``test_threads.py``.
"""

import copy

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
from sklearn_metarec.text import TfidfSVDEncoder

from .conftest import synthetic_log

FAST = {"max_epochs": 3, "embedding_dim": 4, "random_state": 0}


def _text_encoder():
    return TfidfSVDEncoder(n_components=8, random_state=0)


ESTIMATORS = [
    BiasRecommender(),
    ItemKNNRecommender(),
    PopularityRecommender(),
    MetaCFRecommender(**FAST),
    MetaCFRecommender(
        inner_solver="gradient", adapt="user+head", hidden_dims=(4,), **FAST
    ),
    LLMContentRecommender(encoder=_text_encoder(), **FAST),
    HybridMetaRecommender(encoder=_text_encoder(), **FAST),
]
META_ESTIMATORS = [e for e in ESTIMATORS if hasattr(e, "max_epochs")]


def estimator_id(est) -> str:
    return type(est).__name__ + ("-head" if getattr(est, "hidden_dims", ()) else "")


# ----------------------------------------------------------------- shared data
N_COLD_USERS = 8
N_NEW_ITEMS = 4
N_WARM_USERS = 3  # known users holding rows back for a later partial_fit


def split_log():
    """Training rows and the held-back rows of each kind of arrival.

    Returns ``X_train, y_train, batches`` where ``batches`` maps an arrival kind
    to ``(X, y)``: ``"new_users"`` (unseen users on known items), ``"new_items"``
    (unseen items, rated by unseen users), ``"known_users"`` (new rows of known
    users on known items) and ``"mixed"`` (all of them, known users also rating
    the new items); ``"rewarm"`` holds the rows of known users on the items
    that ``"new_items"`` adds (to give after it).
    """
    X, y = synthetic_log()
    users = X["user_id"].unique()
    items = np.sort(X["item_id"].unique())
    cold_users = set(users[-N_COLD_USERS:])
    new_items = set(items[-N_NEW_ITEMS:])
    warm_users = set(users[:N_WARM_USERS])
    is_cold_user = X["user_id"].isin(cold_users).to_numpy()
    is_new_item = X["item_id"].isin(new_items).to_numpy()
    is_warm_user = X["user_id"].isin(warm_users).to_numpy()
    # Every other row of the warm users is held back.
    held_back = is_warm_user & (X.groupby("user_id").cumcount().to_numpy() % 2 == 1)
    train = ~is_cold_user & ~is_new_item & ~held_back
    kinds = {
        "new_users": is_cold_user & ~is_new_item,
        "new_items": is_cold_user & is_new_item,
        "known_users": held_back & ~is_new_item,
        "mixed": ~train & ~(is_new_item & ~is_cold_user & ~is_warm_user),
    }
    added = X.loc[kinds["new_items"], "item_id"].unique()
    kinds["rewarm"] = ~is_cold_user & X["item_id"].isin(added).to_numpy()
    batches = {kind: (X[rows], y[rows]) for kind, rows in kinds.items()}
    return X[train], y[train], batches


def item_table(X) -> pd.DataFrame:
    """One row of side columns per item of ``X``."""
    return X.drop(columns="user_id").drop_duplicates("item_id")


def grid(users, items: pd.DataFrame) -> pd.DataFrame:
    """Every (user, item) pair, with the item's side columns."""
    return pd.DataFrame(
        {"user_id": np.repeat(np.asarray(users, dtype=object), len(items))}
    ).join(
        pd.concat([items] * len(users), ignore_index=True),
    )[["user_id", *items.columns]]


_FITTED: dict = {}


def fitted_copy(estimator):
    """A deep copy of ``estimator`` fitted on the training rows (fitted once)."""
    key = repr(estimator)
    if key not in _FITTED:
        X_train, y_train, _ = split_log()
        _FITTED[key] = clone(estimator).fit(X_train, y_train)
    return copy.deepcopy(_FITTED[key])


# ------------------------------------------------------------------- the tests
@pytest.mark.parametrize(
    "kind", ["new_users", "new_items", "known_users", "mixed", "rewarm"]
)
@pytest.mark.parametrize("estimator", ESTIMATORS, ids=estimator_id)
def test_partial_fit_leaves_users_outside_the_batch_bit_identical(estimator, kind):
    X_train, _, batches = split_log()
    X_batch, y_batch = batches[kind]
    est = fitted_copy(estimator)
    if kind == "rewarm":
        # Known users rate items that an earlier partial_fit added. Those items
        # keep warming up (documented), so everybody's scores on them may move:
        # the invariance is about the items of fit, checked below.
        est.partial_fit(*batches["new_items"])
    fitted_items = item_table(X_train)
    in_batch = set(X_batch["user_id"])
    others = [u for u in X_train["user_id"].unique() if u not in in_batch]
    assert len(others) >= 10
    probe = grid([*others, "unknown-1", "unknown-2"], fitted_items)
    before = est.predict(probe)
    catalogue = set(est.item_index_.ids.tolist())
    recs_before = est.recommend(others[:6], n=len(catalogue))

    est.partial_fit(X_batch, y_batch)

    # The batch did arrive: new ids are known, new items in the catalogue.
    assert in_batch <= set(est.user_index_.ids)
    new_ids = set(est.item_index_.ids.tolist()) - catalogue
    assert new_ids == set(X_batch["item_id"]) - catalogue
    assert bool(new_ids) == (kind in ("new_items", "mixed"))
    np.testing.assert_array_equal(est.predict(probe), before)
    # Everybody else's ranking of the items of fit is unchanged.
    late = set(est.item_index_.ids.tolist()) - set(fitted_items["item_id"])
    recs_after = est.recommend(others[:6], n=len(est.item_index_))
    for a, b in zip(recs_before, recs_after):
        np.testing.assert_array_equal(
            [item for item in a if item not in late],
            [item for item in b if item not in late],
        )


@pytest.mark.parametrize("estimator", ESTIMATORS, ids=estimator_id)
def test_partial_fit_changes_the_batch_users(estimator):
    """The invariance above is not vacuous: known users in the batch do change."""
    X_train, _, batches = split_log()
    X_batch, y_batch = batches["known_users"]
    est = fitted_copy(estimator)
    if isinstance(est, PopularityRecommender):
        pytest.skip("popularity serves everybody the same scores")
    probe = grid(X_batch["user_id"].unique(), item_table(X_train))
    before = est.predict(probe)
    est.partial_fit(X_batch, y_batch)
    assert not np.array_equal(est.predict(probe), before)


@pytest.mark.parametrize("estimator", ESTIMATORS, ids=estimator_id)
def test_successive_batches_leave_earlier_users_bit_identical(estimator):
    """Users adapted by an earlier partial_fit are outside later batches too."""
    _, _, batches = split_log()
    X_users, y_users = batches["new_users"]
    first = X_users["user_id"].unique()[:4]
    is_first = X_users["user_id"].isin(first).to_numpy()
    est = fitted_copy(estimator)
    est.partial_fit(X_users[is_first], y_users[is_first])
    probe = X_users[is_first]
    before = est.predict(probe)
    est.partial_fit(X_users[~is_first], y_users[~is_first])
    X_items, y_items = batches["new_items"]
    is_rest = ~X_items["user_id"].isin(first).to_numpy()
    est.partial_fit(X_items[is_rest], y_items[is_rest])
    np.testing.assert_array_equal(est.predict(probe), before)


@pytest.mark.parametrize(
    "estimator",
    [e for e in ESTIMATORS if not isinstance(e, PopularityRecommender)],  # counts
    ids=estimator_id,
)
def test_predicted_ratings_stay_within_the_range_of_fits_targets(estimator):
    # Scores pushed past the scale are clipped by predict (ratings only), not by
    # recommend's ranking; a partial_fit with a rating beyond the range moves
    # nothing.
    X_train, y_train, batches = split_log()
    low, high = y_train.min(), y_train.max()
    model = fitted_copy(estimator)
    X_new, y_new = batches["new_users"]
    model.partial_fit(X_new, np.full(len(y_new), high + 3.0))
    probe = grid(X_new["user_id"].unique()[:3], item_table(X_train))
    scores = model.predict(probe)
    assert scores.min() >= low and scores.max() == high
