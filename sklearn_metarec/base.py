"""Base class of every recommender: data contract, ``recommend``, ``partial_fit``.

Subclasses implement four private hooks and get the public surface of DESIGN §3:

``_fit(batch)``
    Train from scratch on a :class:`EncodedBatch` (every user and item is new).
``_partial_fit(batch)``
    Adapt to a batch whose ``new_users`` / ``new_items`` were just added to the
    catalogue. Users not in the batch must keep bit-identical predictions.
    ``fit`` and ``partial_fit`` are atomic (see :meth:`BaseRecommender._transaction`):
    ``_partial_fit`` replaces the fitted objects it changes (write, then swap), and
    writes rows in place only through :meth:`BaseRecommender._set_rows`.
``_predict(batch)``
    A score per row; ``batch.user_pos`` / ``batch.item_pos`` hold ``-1`` for ids never
    seen (cold users and cold items), whose side information is in ``batch.data.side``.
``_score_items(user_pos)``
    Scores of every catalogue item for each user position (``-1`` = cold user), shape
    ``(len(user_pos), n_items)``; ``recommend`` ranks them.
"""

from __future__ import annotations

import threading
import weakref
from contextlib import contextmanager
from dataclasses import dataclass, replace
from numbers import Integral

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.utils.validation import check_is_fitted

from .utils._data import (
    _SMALL_BATCH,
    INTERACTION_COLUMNS,
    IdIndex,
    Interactions,
    _as_id_array,
    _first_rows,
    _same_value,
    check_ids,
    check_interactions,
    split_side_information,
)
from .utils._persistence import from_plain, to_plain
from .utils._sklearn import _check_feature_names, _check_n_features, _fit_context

__all__ = ["BaseRecommender", "EncodedBatch"]

ID_COLUMN_CONSTRAINTS: dict = {"user_column": [str], "item_column": [str]}
"""Constraints of the id-column parameters every recommender has."""

_RECOMMEND_CHUNK_CELLS = 2**22  # scores held at once by recommend: 4M floats, 16 MiB
_PREDICT_CHUNK_ROWS = 2**16  # rows scored at once by predict (bounds intermediates)
# Rows appended by partial_fit that the seen log's user index scans before it is
# rebuilt (also at least an eighth of the indexed rows).
_SEEN_INDEX_TAIL_ROWS = 2**17
# Side tables that partial_fit appends are kept apart up to this many, then
# folded (see _with_part).
_SIDE_PARTS = 16
# Run-time state kept off the estimators (never pickled, cloned or restored):
# the locks of each estimator (its lazily built caches), and the undo log of its
# running fit / partial_fit (see ``BaseRecommender._transaction``).
_RUNTIME_GUARD = threading.Lock()
_LOCKS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_UNDO_LOGS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


@dataclass
class EncodedBatch:
    """Interaction rows with ids mapped to catalogue positions (internal).

    Attributes
    ----------
    data : Interactions
        The validated rows (raw ids, targets, side columns).
    user_pos, item_pos : ndarray of shape (n_rows,)
        Positions in ``user_index_`` / ``item_index_``; ``-1`` for unknown ids
        (only in ``predict``: ``fit`` and ``partial_fit`` add every id they see).
    new_users, new_items : ndarray of int
        Positions of users / items first added by this call.
    new_user_side, new_item_side : DataFrame or None
        Side information of the new users / items (one row each, in position order).
    positive_only : bool
        Whether the caller gave no ``y`` (every row a positive interaction);
        ``data.y`` then holds ones.

    Examples
    --------
    What ``fit`` hands to ``_fit``: every id is new and gets the next position.

    >>> import numpy as np, pandas as pd
    >>> from sklearn_metarec.utils import IdIndex, check_interactions
    >>> X = pd.DataFrame({"user_id": ["a", "b", "a"], "item_id": [10, 10, 20]})
    >>> data = check_interactions(X, [4.0, 3.0, 5.0])
    >>> users, items = IdIndex(data.users), IdIndex(data.items)
    >>> batch = EncodedBatch(data, users.get_positions(data.users),
    ...                      items.get_positions(data.items),
    ...                      new_users=np.arange(len(users)),
    ...                      new_items=np.arange(len(items)))
    >>> len(batch), batch.user_pos.tolist(), batch.item_pos.tolist()
    (3, [0, 1, 0], [0, 0, 1])
    >>> batch.y.tolist()
    [4.0, 3.0, 5.0]
    """

    data: Interactions
    user_pos: np.ndarray
    item_pos: np.ndarray
    new_users: np.ndarray
    new_items: np.ndarray
    new_user_side: pd.DataFrame | None = None
    new_item_side: pd.DataFrame | None = None
    positive_only: bool = False

    @property
    def y(self):
        return self.data.y

    def __len__(self) -> int:
        return len(self.user_pos)


class BaseRecommender(RegressorMixin, BaseEstimator):
    """Base class for recommenders: validation, id encoding and ``recommend``.

    Not meant to be used directly. Fitted attributes common to all recommenders:

    Attributes
    ----------
    user_index_ : IdIndex
        Known users (fitted or adapted by ``partial_fit``) and their positions.
    item_index_ : IdIndex
        Catalogue items and their positions.
    item_features_ : DataFrame
        Item side information, one row per catalogue item (index order), when the
        estimator uses side information; otherwise no columns.
    user_features_ : DataFrame
        User side information, one row per known user.
    n_features_in_ : int
        Number of columns of ``X`` in ``fit``.
    feature_names_in_ : ndarray of str
        Column names of ``X`` when it is a DataFrame with string column names.

    Examples
    --------
    Every recommender of the package inherits this surface, e.g.
    :class:`~sklearn_metarec.baselines.BiasRecommender`:

    >>> import pandas as pd
    >>> from sklearn_metarec.baselines import BiasRecommender
    >>> issubclass(BiasRecommender, BaseRecommender)
    True
    >>> X = pd.DataFrame({"user_id": ["u1", "u1", "u2"], "item_id": ["a", "b", "a"]})
    >>> model = BiasRecommender().fit(X, [4.0, 5.0, 3.0])
    >>> model.user_index_.ids.tolist(), model.item_index_.ids.tolist()
    (['u1', 'u2'], ['a', 'b'])
    >>> model.n_features_in_, model.feature_names_in_.tolist()
    (2, ['user_id', 'item_id'])
    >>> new = pd.DataFrame({"user_id": ["u3"], "item_id": ["c"]})  # new user and item
    >>> model.partial_fit(new, [2.0]).item_index_.ids.tolist()
    ['a', 'b', 'c']
    >>> model.recommend(["u2"], n=2)  # "a" is left out: u2 has rated it
    [array(['b', 'c'], dtype=object)]
    """

    _parameter_constraints: dict = {}

    #: Whether the side columns of X are used. Estimators that ignore them skip the
    #: per-item / per-user de-duplication (and its checks).
    _uses_side_information = True
    #: Side columns forced to be item / user features (estimators may extend these).
    _item_columns: tuple = ()
    _user_columns: tuple = ()

    # ----------------------------------------------------------------- public API
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None, *, items=None, users=None):
        """Fit the recommender on an interaction log.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_rows, n_columns)
            The interaction log: the user id and item id columns (a DataFrame's
            are found by name, ``user_column`` and ``item_column``; an array's
            are its first two columns), optionally side columns (per-item or
            per-user values repeated on each row, or a ``timestamp``).
        y : array-like of shape (n_rows,) or None, default=None
            Ratings (or, for positive-only models, confidence weights). None for a
            log of positive interactions (clicks, plays, purchases), where every
            row is a positive; only estimators that can learn from such a log
            accept it (the others raise a ``ValueError``).
        items : DataFrame or None, default=None
            The catalogue: one row per item, its id in the ``item_column``
            column, its side information (text, genres, ...) in the others.
            Items of the table that ``X`` does not mention enter the catalogue
            too, served from their side information alone. A column may be
            given here or on the rows of ``X``, not both. Routed by
            scikit-learn's metadata routing (``set_fit_request(items=True)``),
            or passed by a Pipeline as ``<step>__items``.
        users : DataFrame or None, default=None
            One row per user, its id in the ``user_column`` column, its side
            information in the others. Rows of users not in ``X`` are kept:
            when such a user arrives (``partial_fit``, ``predict``), their
            features are read from here.

        Returns
        -------
        self : object
            Fitted estimator.

        Notes
        -----
        ``fit`` is atomic: if it raises, ``KeyboardInterrupt`` included, the
        estimator is left exactly as it was before the call (the previous model, or
        not fitted) and the exception propagates.
        """
        with self._transaction():
            items = self._check_table(items, "items")
            users = self._check_table(users, "users")
            batch = self._encode_for_fit(X, y, items, users)
            self._fit(batch)
            self._add_table_items(items)
        return self

    def partial_fit(self, X, y=None, *, items=None, users=None):
        """Adapt incrementally: new users, new items and new interactions.

        Rows of users never seen adapt those users from the meta-learned (or prior)
        initialisation; rows of known users continue their adaptation; rows with
        unseen items add those items to the catalogue from their side information.
        Predictions of users not in ``X`` on the items of ``fit`` are unchanged;
        on items added after ``fit`` they may move, as those items learn from
        the rows they get (the meta estimators' ``warmup_reg``, and their
        interaction scores of how often an added item is picked). Called before
        ``fit``, it fits the estimator on ``X``.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_rows, n_columns)
            The id columns, and any of the side columns ``fit`` saw (an array:
            the same columns as in ``fit``). Side information is read only
            for users and items new to the model: for known ones it is checked
            against what the model holds (a different value is a
            ``ValueError`` naming the id).
        y : array-like of shape (n_rows,) or None, default=None
            As in ``fit``: None for positive interactions, if the model was
            fitted on (or, before ``fit``, accepts) such a log.
        items, users : DataFrame or None, default=None
            Side-information tables as in ``fit``, for the new items and users
            of ``X``; items of ``items`` new to the catalogue are added to it.
            A new user's features are also looked up in the ``users`` table
            given to ``fit``.

        Returns
        -------
        self : object
            The adapted estimator.

        Notes
        -----
        Like ``fit``, ``partial_fit`` is atomic: if it raises (``KeyboardInterrupt``
        included), the estimator is left exactly as it was before the call.
        """
        if not hasattr(self, "user_index_"):
            return self.fit(X, y, items=items, users=users)
        with self._transaction():
            items = self._check_table(items, "items")
            users = self._check_table(users, "users")
            batch = self._encode_for_update(X, y, items, users)
            self._partial_fit(batch)
            self._add_table_items(items)
        return self

    def add_items(self, items):
        """Add items to the catalogue from their side information alone.

        The items enter ``item_index_`` with no interaction: the meta estimators
        score them from their text and side features (content only), the
        baselines from what they know of an item without ratings (nothing, for
        most). They can be recommended at once. Nobody's predictions on other
        items change.

        Parameters
        ----------
        items : DataFrame
            One row per new item: the item id (in the ``item_column`` column, or
            the index when it has that name) and any of the item side columns
            the model uses (its ``item_features_`` columns, e.g. the text
            columns); a column left out is missing information for these items.
            Ids must be new to the catalogue and unique.

        Returns
        -------
        self : object

        Raises
        ------
        ValueError
            ``items`` is not a DataFrame, lacks the id column, has columns the
            model does not use for items, or repeats ids or ids already in the
            catalogue.
        """
        check_is_fitted(self, "user_index_")
        with self._transaction():
            self._partial_fit(self._encode_new_items(items))
        return self

    def _encode_new_items(self, items) -> EncodedBatch:
        side = self._check_table(items, "items")
        ids = side.index.to_numpy(dtype=object)
        known = self.item_index_.get_positions(ids) >= 0
        if known.any():
            raise ValueError(
                f"items holds {int(known.sum())} id(s) already in the catalogue, "
                f"e.g. {ids[known][:5].tolist()}; add_items adds new items only."
            )
        columns = list(self._item_side_parts[0].columns)
        extra = [c for c in side.columns if c not in columns]
        if extra and self._uses_side_information:
            raise ValueError(
                f"items has column(s) {extra} that are not item features of this "
                f"model; its item columns are {columns}."
            )
        if self._uses_side_information:
            self._check_item_side(side, complete=False)
        return self._new_item_rows(_side_rows([side], columns, ids, "item_id"))

    def _new_item_rows(self, side: pd.DataFrame) -> EncodedBatch:
        """Add the items of ``side`` (new ids, every item column, indexed by id) to
        the catalogue; the batch ``_partial_fit`` adapts to (no interaction)."""
        ids = side.index.to_numpy(dtype=object)
        n_items = len(self.item_index_)
        self.item_index_ = _shallow_copy(self.item_index_)  # write, then swap
        self.item_index_.extend(ids)
        self._item_side_parts = _with_part(self._item_side_parts, side)
        empty = np.empty(0, dtype=np.int64)
        data = Interactions(
            users=ids[:0],
            items=ids[:0],
            y=np.empty(0),
            side=pd.DataFrame(index=pd.RangeIndex(0)),
        )
        return EncodedBatch(
            data=data,
            user_pos=empty,
            item_pos=empty,
            new_users=empty,
            new_items=np.arange(n_items, len(self.item_index_)),
            new_item_side=side,
        )

    def predict(self, X, *, items=None, users=None):
        """Predict a score (rating, or logit for implicit feedback) per row.

        Unknown users are served from the prior, unknown items from their side
        information; no output is NaN. Ratings are clipped to the range of the
        targets given to ``fit`` (a rating beyond the scale is always further from
        the truth; ``partial_fit`` does not move the range, so that nobody outside
        its batch sees a change); ``recommend`` ranks the unclipped scores, so ties
        at the top of the scale keep their order. Rows are scored in
        blocks of a fixed size, so the model's intermediate arrays do not grow with
        ``len(X)`` (only the encoded ids and the output do).

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_rows, n_columns)
            The id columns, and any of the side columns ``fit`` saw (an array:
            the same columns as in ``fit``). Side information is read only for
            unknown users and items; for known ones it is checked against what
            the model holds.
        items, users : DataFrame or None, default=None
            Side-information tables (as in ``fit``) for unknown items and users.

        Returns
        -------
        scores : ndarray of shape (n_rows,)

        Raises
        ------
        ValueError
            Bad ``X`` (see the data contract), or a fitted model that has diverged
            (its training overflowed): it raises rather than return NaN.
        """
        check_is_fitted(self, "user_index_")
        data = self._check_X(X, None, reset=False, require_y=False)
        items = self._check_table(items, "items")
        users = self._check_table(users, "users")
        user_pos = self.user_index_.get_positions(data.users)
        item_pos = self.item_index_.get_positions(data.items)
        data = self._cold_side(data, user_pos, item_pos, items, users)
        no_ids = np.empty(0, dtype=np.int64)
        out = np.empty(len(user_pos), dtype=np.float64)
        for start in range(0, len(user_pos), _PREDICT_CHUNK_ROWS):
            rows = slice(start, start + _PREDICT_CHUNK_ROWS)
            chunk = data
            if len(user_pos) > _PREDICT_CHUNK_ROWS:
                # Side rows keep the positional index 0..n-1 of the contract.
                chunk = replace(
                    data,
                    users=data.users[rows],
                    items=data.items[rows],
                    y=None,
                    side=data.side.iloc[rows].reset_index(drop=True),
                )
            batch = EncodedBatch(
                data=chunk,
                user_pos=user_pos[rows],
                item_pos=item_pos[rows],
                new_users=no_ids,
                new_items=no_ids,
            )
            out[rows] = self._predict(batch)
        out = _check_finite_scores(self, out, "predict")
        if self._predicts_ratings():
            np.clip(out, *self._y_range, out=out)
        return out

    def _predicts_ratings(self) -> bool:
        """Whether ``predict`` returns ratings, clipped to the range of fit's
        targets (scores that are not ratings, such as logits, are not)."""
        return False

    def _accepts_positive_only(self) -> bool:
        """Whether ``fit`` / ``partial_fit`` accept ``y=None`` (a log of
        positive interactions, each row weighing 1)."""
        return False

    def recommend(
        self, users, n=10, *, items=None, exclude_seen=True, return_scores=False
    ):
        """Recommend the ``n`` best catalogue items for each user.

        Parameters
        ----------
        users : array-like of shape (n_users,)
            User ids; unknown users are cold users served from the prior.
        n : int, default=10
            Number of items per user, at least 1. Fewer are returned when the
            candidates (minus seen items) are fewer.
        items : iterable of item ids, or array-like of bool of shape (n_items,), \
default=None
            Restrict the candidates: item ids of the catalogue (``item_index_``),
            or a boolean mask over ``item_index_`` (e.g. the items in stock, or of
            one genre). None: the whole catalogue.
        exclude_seen : bool, default=True
            Leave out items the user interacted with in ``fit`` / ``partial_fit``.
        return_scores : bool, default=False
            Also return the score of each recommended item (what the ranking
            sorts: for the meta estimators fitted on ratings, the log chance that
            the user picks the item and likes it).

        Returns
        -------
        recommendations : list of ndarray
            One array of item ids per user, best first, without duplicates.
        scores : list of ndarray of float
            Only with ``return_scores``: the scores of those items, decreasing.

        Raises
        ------
        ValueError
            ``users`` is not a 1-D sequence of hashable, non-missing ids, ``n`` is
            not a positive integer, ``items`` names ids outside the catalogue (or
            is a mask of the wrong length), or the model has diverged (NaN
            scores).
        """
        check_is_fitted(self, "user_index_")
        # A list may hold ids of any hashable type, tuples included (np.ndim
        # would read those as a second dimension).
        if isinstance(users, str | bytes) or (
            not isinstance(users, list | tuple) and np.ndim(users) != 1
        ):
            raise ValueError(
                "users must be a 1-D list or array of user ids; got "
                f"{type(users).__name__}."
            )
        if not isinstance(n, Integral) or isinstance(n, bool) or n < 1:
            raise ValueError(f"n must be a positive integer; got {n!r}.")
        users = check_ids(_as_id_array(users), "users")
        user_pos = self.user_index_.get_positions(users)
        n_items = len(self.item_index_)
        item_ids = self.item_index_.ids
        candidates = None if items is None else self._candidate_mask(items)
        chunk = max(1, _RECOMMEND_CHUNK_CELLS // max(n_items, 1))
        out, out_scores = [], []
        for start in range(0, len(user_pos), chunk):
            pos = user_pos[start : start + chunk]
            scores = np.asarray(self._score_items(pos), dtype=np.float64)
            # A new array: -inf ranks last, NaN or +inf means a diverged model.
            scores = _check_finite_scores(
                self, np.maximum(scores, np.finfo(np.float64).min), "recommend"
            )
            if candidates is not None:
                scores[:, ~candidates] = -np.inf
            if exclude_seen:
                known = np.flatnonzero(pos >= 0)
                seen = self._users_items(pos[known]).tocoo()
                scores[known[seen.row], seen.col] = -np.inf
            k = min(n, n_items)
            top = _top_k(scores, k)
            top_scores = np.take_along_axis(scores, top, axis=1)
            order = np.lexsort((top, -top_scores), axis=1)
            top = np.take_along_axis(top, order, axis=1)
            top_scores = np.take_along_axis(top_scores, order, axis=1)
            for row, row_scores in zip(top, top_scores):
                keep = row_scores > -np.inf
                out.append(item_ids[row[keep]])
                out_scores.append(row_scores[keep])
        return (out, out_scores) if return_scores else out

    def explain(self, user, items, *, n_contributions=5):
        """Why ``user`` gets each of ``items``: the parts of its ranking score.

        The score explained is the one ``recommend`` ranks by (what
        ``recommend(..., return_scores=True)`` reports). Each item gets a block of
        rows: the items the user interacted with in ``fit`` / ``partial_fit``
        that contributed most to the score (source ``"item"``, largest first;
        items that add exactly nothing are left out), one ``"other items"`` row
        with the sum of the rest when ``n_contributions`` leaves some out, then
        the parts that are not the user's items (see Notes). The contributions
        of a block add up to its score.

        Parameters
        ----------
        user : hashable
            A user id. A user the model does not know is explained as
            ``recommend`` serves them: from the prior, with no item rows.
        items : array-like of shape (n_items,)
            Catalogue item ids (``item_index_``) to explain, e.g. one list that
            ``recommend`` returned.
        n_contributions : int or None, default=5
            Item rows per block, at least 1; None lists every item that
            contributes.

        Returns
        -------
        explanation : DataFrame
            One row per part, the blocks in the order of ``items``. Columns:
            ``item_id``; ``title`` (of the explained item, only when
            ``item_features_`` has a ``title`` column); ``source``;
            ``rated_item_id`` (the user's item, NaN on the other rows);
            ``rated_title`` (beside ``title``); ``contribution``; ``score`` (the
            item's total score, on every row of its block).

        Raises
        ------
        ValueError
            ``user`` is missing or unhashable, ``items`` is not a 1-D sequence
            of catalogue item ids (the message names the first unknown one),
            ``n_contributions`` is not a positive integer or None, or the model
            has diverged (NaN scores).

        Notes
        -----
        The parts, by estimator (``u`` the user, ``i`` the item explained, ``j``
        the user's items):

        - :class:`~sklearn_metarec.baselines.PopularityRecommender`:
          ``"popularity"``, the item's interaction count.
        - :class:`~sklearn_metarec.baselines.BiasRecommender`: ``"global
          mean"``, ``"user bias"`` and ``"item bias"``.
        - :class:`~sklearn_metarec.baselines.ItemKNNRecommender`: the same,
          plus an ``"item"`` row per rated neighbour ``j`` of ``i``,
          ``s_ij res_uj / (sum_k s_ik + neighbor_reg)``.
        - :class:`~sklearn_metarec.baselines.EASERecommender`: an ``"item"`` row
          per item of ``u``, ``B_ji``; a user with no interaction is served by
          ``"popularity"``.
        - The meta estimators with an interaction tower (``ranking_loss`` not
          None, and every model of positive-only data): the user's interaction
          vector is the implicit-ALS fold-in ``p = A^-1 (sum_j c_j q_j +
          lambda p0)``, so the logit ``q_i'p + b_i`` splits into an ``"item"``
          row ``c_j q_i' A^-1 q_j`` per interaction, ``"prior"`` (the rest of
          ``q_i'p``: the prior's share ``q_i' A^-1 lambda p0`` and the user
          features' offsets) and ``"item bias"``. On ratings the ranking also
          adds ``like_weight * log Phi((rating - threshold) / scale)``, which
          is not additive in the user's items: one ``"rating term"`` row. On
          positive-only data the score also holds ``"user bias"`` (the same for
          every item) and, with ``hidden_dims``, a non-additive ``"head MLP"``.
        - The meta estimators fitted on ratings with ``ranking_loss=None``: an
          ``"item"`` row per rated neighbour from the residual neighbourhood
          correction (``n_neighbors``), ``"item bias"``, and ``"user vector"``,
          the global and user biases plus the user's adapted vector scored
          against the item's (gradient or ridge steps from the prior, not split
          per rating).

        Examples
        --------
        >>> import pandas as pd
        >>> from sklearn_metarec.baselines import EASERecommender
        >>> X = pd.DataFrame({"user_id": [1, 1, 2, 2, 3, 3],
        ...                   "item_id": ["a", "b", "a", "b", "b", "c"]})
        >>> model = EASERecommender(l2=1.0).fit(X)
        >>> table = model.explain(3, ["a"])
        >>> table[["source", "rated_item_id", "contribution", "score"]].round(3)
          source rated_item_id  contribution  score
        0   item             b         0.571  0.286
        1   item             c        -0.286  0.286
        >>> (recs,), (scores,) = model.recommend([3], n=1, return_scores=True)
        >>> bool(abs(table["contribution"].sum() - scores[0]) < 1e-12)
        True
        """
        check_is_fitted(self, "user_index_")
        if n_contributions is not None and (
            not isinstance(n_contributions, Integral)
            or isinstance(n_contributions, bool)
            or n_contributions < 1
        ):
            raise ValueError(
                "n_contributions must be a positive integer or None; got "
                f"{n_contributions!r}."
            )
        user_pos = int(
            self.user_index_.get_positions(check_ids(_as_id_array([user]), "user"))[0]
        )
        item_pos = self._item_positions(items)
        scores = np.asarray(self._score_items(np.array([user_pos])), dtype=np.float64)
        scores = np.maximum(scores[0, item_pos], np.finfo(np.float64).min)
        scores = _check_finite_scores(self, scores, "explain")
        rated, contributions, parts = self._explain_parts(user_pos, item_pos, scores)
        return self._explanation_frame(
            item_pos, scores, rated, contributions, parts, n_contributions
        )

    def _candidate_mask(self, items) -> np.ndarray:
        """Boolean mask over ``item_index_`` from ``recommend``'s ``items``."""
        n_items = len(self.item_index_)
        if isinstance(items, np.ndarray | pd.Series) and items.dtype == bool:
            mask = np.asarray(items)
            if mask.shape != (n_items,):
                raise ValueError(
                    f"items as a boolean mask must have one entry per catalogue item "
                    f"(item_index_, {n_items}); got shape {mask.shape}."
                )
            return mask
        if isinstance(items, str | bytes) or not np.iterable(items):
            raise ValueError(
                "items must be an iterable of item ids or a boolean mask over "
                f"item_index_; got {type(items).__name__}."
            )
        ids = check_ids(_as_id_array(list(items)), "items")
        pos = self.item_index_.get_positions(ids)
        if (pos < 0).any():
            unknown = ids[pos < 0][:5].tolist()
            raise ValueError(
                f"items holds {int((pos < 0).sum())} id(s) that are not in the "
                f"catalogue (item_index_), e.g. {unknown}; add new items first "
                "(add_items or partial_fit)."
            )
        mask = np.zeros(n_items, dtype=bool)
        mask[pos] = True
        return mask

    def _item_positions(self, items, name: str = "items") -> np.ndarray:
        """Catalogue positions of a 1-D sequence of item ids (``explain``,
        ``similar_items``); a ValueError names the first id not in the catalogue."""
        if (
            isinstance(items, str | bytes | dict)
            or not np.iterable(items)
            or (isinstance(items, np.ndarray | pd.Series) and items.ndim != 1)
        ):
            raise ValueError(
                f"{name} must be a 1-D list or array of item ids; got "
                f"{type(items).__name__}."
            )
        ids = check_ids(_as_id_array(list(items)), name)
        pos = self.item_index_.get_positions(ids)
        if (pos < 0).any():
            unknown = ids[pos < 0]
            more = f" (and {len(unknown) - 1} more)" if len(unknown) > 1 else ""
            raise ValueError(
                f"Item {unknown[0]!r} of {name}{more} is not in the catalogue "
                "(item_index_)."
            )
        return pos

    def _explain_parts(self, user_pos: int, item_pos: np.ndarray, scores):
        """The parts of the ranking scores of one user (hook of ``explain``).

        Parameters
        ----------
        user_pos : int
            The user's position, ``-1`` for a cold user.
        item_pos : ndarray of int of shape (n_query,)
            Catalogue positions of the items explained.
        scores : ndarray of shape (n_query,)
            Their ranking scores (``_score_items``).

        Returns
        -------
        rated : ndarray of int of shape (n_rated,)
            Positions of the user's items (repeats allowed: they are summed).
        contributions : ndarray of shape (n_query, n_rated)
            What each of them adds to each score.
        parts : list of (str, ndarray of shape (n_query,))
            The other parts, as (source, values).
        """
        raise NotImplementedError  # pragma: no cover - abstract

    def _explanation_frame(
        self, item_pos, scores, rated, contributions, parts, n_contributions
    ) -> pd.DataFrame:
        """``explain``'s table from the parts of :meth:`_explain_parts`."""
        rated = np.asarray(rated, dtype=np.int64)
        contributions = np.asarray(contributions, dtype=np.float64).reshape(
            len(item_pos), len(rated)
        )
        if len(rated):  # one column per item: repeated rows add up
            rated, inverse = np.unique(rated, return_inverse=True)
            summed = np.zeros((len(item_pos), len(rated)))
            np.add.at(summed, (slice(None), inverse), contributions)
            contributions = summed
        ids = self.item_index_.ids
        features = self.item_features_
        titles = (
            features["title"].to_numpy(dtype=object)
            if "title" in features.columns
            else None
        )
        columns: dict = {
            "item_id": [],
            "title": [],
            "source": [],
            "rated_item_id": [],
            "rated_title": [],
            "contribution": [],
            "score": [],
        }
        for row, pos in enumerate(item_pos):
            values = contributions[row]
            nonzero = np.flatnonzero(values != 0)
            order = nonzero[np.lexsort((rated[nonzero], -values[nonzero]))]
            shown = order if n_contributions is None else order[:n_contributions]
            block = [("item", rated[k], values[k]) for k in shown]
            if len(shown) < len(order):
                block.append(("other items", -1, values[order[len(shown) :]].sum()))
            block += [(source, -1, part[row]) for source, part in parts]
            for source, rated_pos, value in block:
                columns["item_id"].append(ids[pos])
                columns["source"].append(source)
                columns["rated_item_id"].append(
                    ids[rated_pos] if rated_pos >= 0 else np.nan
                )
                if titles is not None:
                    columns["title"].append(titles[pos])
                    columns["rated_title"].append(
                        titles[rated_pos] if rated_pos >= 0 else np.nan
                    )
                columns["contribution"].append(float(value))
                columns["score"].append(float(scores[row]))
        if titles is None:
            del columns["title"], columns["rated_title"]
        return pd.DataFrame(
            {
                name: pd.Series(
                    values,
                    dtype=np.float64 if name in ("contribution", "score") else object,
                )
                for name, values in columns.items()
            }
        )

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.string = True
        tags.input_tags.categorical = True
        # Ratings of random features cannot be learnt: sklearn's score thresholds
        # for regressors do not apply to recommenders.
        tags.regressor_tags.poor_score = True
        return tags

    # ---------------------------------------------------------------- persistence
    #: Attributes rebuilt on demand when None: not stored by pickle or skops.
    _lazy_caches: tuple = (
        "_seen_index_cache",
        "_side_values_cache",
        "_row_buffers",
    )

    def __getstate__(self):
        # Plain data only (pandas objects, tensors, sparse matrices and the id
        # indexes rewritten as arrays), so that skops can store a fitted estimator
        # and pickle stores the same thing (see utils/_persistence.py).
        state = dict(super().__getstate__())
        for name in self._lazy_caches:
            if name in state:
                state[name] = None
        return to_plain(state)

    def __setstate__(self, state):
        super().__setstate__(from_plain(state))

    # -------------------------------------------------------------- subclass hooks
    def _fit(self, batch: EncodedBatch) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def _partial_fit(self, batch: EncodedBatch) -> None:  # pragma: no cover
        raise NotImplementedError

    def _predict(self, batch: EncodedBatch) -> np.ndarray:  # pragma: no cover
        raise NotImplementedError

    def _score_items(self, user_pos: np.ndarray) -> np.ndarray:  # pragma: no cover
        raise NotImplementedError

    # ---------------------------------------------------------------- internals
    def _check_X(self, X, y, *, reset: bool, require_y: bool) -> Interactions:
        X = _as_table(X)
        by_name = isinstance(X, pd.DataFrame) and hasattr(self, "feature_names_in_")
        if not reset and not by_name and getattr(X, "ndim", 0) == 2:
            # Columns by position: the same count as in fit. Checked first, so a
            # wrong count gets sklearn's message.
            _check_feature_names(self, X, reset=False)
            _check_n_features(self, _ShapeOnly(np.shape(X)[1]), reset=False)
        data = check_interactions(
            X,
            y,
            require_y=require_y,
            estimator_name=type(self).__name__,
            user_column=self.user_column,
            item_column=self.item_column,
        )
        if reset:
            _check_feature_names(self, X, reset=True)
            _check_n_features(self, _ShapeOnly(len(data.columns)), reset=True)
        elif by_name:
            # Columns by name: the ids and any of fit's side columns.
            ids = (self.user_column, self.item_column)
            known = [str(c) for c in self.feature_names_in_ if c not in ids]
            unknown = [c for c in data.side.columns if c not in known]
            if unknown:
                raise ValueError(
                    f"X has column(s) {unknown} that fit did not see. X holds the "
                    f"id columns and any of fit's side columns, {known}; give "
                    "side information of other columns in the items or users "
                    "table."
                )
        return data

    def _check_table(self, table, name: str) -> pd.DataFrame | None:
        """A side-information table (``items=`` / ``users=``) indexed by id.

        The ids are the ``item_column`` / ``user_column`` column, or the index
        when it bears that name (as in ``load_movielens_small().item_frame``).
        Returns the side columns (every column but the id), indexed by the ids
        (an object ``Index`` named ``item_id`` / ``user_id``); None stays None.
        """
        if table is None:
            return None
        kind = "item" if name == "items" else "user"
        id_column = self.item_column if kind == "item" else self.user_column
        other = self.user_column if kind == "item" else self.item_column
        if not isinstance(table, pd.DataFrame):
            raise ValueError(
                f"{name} must be a DataFrame with a {kind} id column {id_column!r}; "
                f"got {type(table).__name__}."
            )
        if id_column not in table.columns and table.index.name == id_column:
            table = table.reset_index()  # ids in the index (a new frame)
        columns = [str(c) for c in table.columns]
        if len(set(columns)) != len(columns):
            raise ValueError(f"{name} has duplicate column names: {columns}.")
        if id_column not in columns:
            raise ValueError(
                f"{name} has no {kind} id column {id_column!r} ({kind}_column), "
                f"neither as a column nor as the index; its columns are {columns}."
            )
        if other in columns:
            raise ValueError(
                f"{name} has a column {other!r}, the other id column: a {kind} "
                f"table holds one row per {kind}, keyed by {id_column!r}."
            )
        ids = _unique_ids(table[id_column], id_column, name, kind)
        side = table.drop(columns=table.columns[columns.index(id_column)])
        side.columns = [c for c in columns if c != id_column]
        return side.set_axis(pd.Index(ids, dtype=object, name=f"{kind}_id"), axis=0)

    def _check_y_or_positives(self, X, y, *, reset: bool):
        """Validated rows and whether they are positive-only (``y`` None: ones)."""
        positive_only = y is None and self._accepts_positive_only()
        data = self._check_X(X, y, reset=reset, require_y=not positive_only)
        if positive_only:
            data = replace(data, y=np.ones(len(data)))
        return data, positive_only

    def _encode_for_fit(self, X, y, items=None, users=None) -> EncodedBatch:
        data, positive_only = self._check_y_or_positives(X, y, reset=True)
        _check_no_clash(data, items, users)
        self.user_index_ = IdIndex(data.users)
        self.item_index_ = IdIndex(data.items)
        if self._uses_side_information:
            item_side, user_side = split_side_information(
                data,
                item_columns=self._item_columns_for(data),
                user_columns=self._user_columns_for(data),
            )
            item_side = _side_rows(
                [item_side, items],
                _columns_of(item_side, items),
                self.item_index_.ids,
                "item_id",
            )
            user_side = _side_rows(
                [user_side, users],
                _columns_of(user_side, users),
                self.user_index_.ids,
                "user_id",
            )
            self._check_item_side(item_side, complete=True)
        else:
            item_side = pd.DataFrame(index=pd.Index(self.item_index_.ids))
            user_side = pd.DataFrame(index=pd.Index(self.user_index_.ids))
        # Same order as the indexes (first appearance in X).
        self._item_side_parts = [item_side]
        self._user_side_parts = [user_side]
        # Features of users to come (partial_fit and predict look them up).
        self._user_table = users if self._uses_side_information else None
        user_pos = self.user_index_.get_positions(data.users)
        item_pos = self.item_index_.get_positions(data.items)
        self._seen_parts = [(user_pos, item_pos, data.y)]
        self._seen_index_cache = {}  # filled in place: predict leaves __dict__ as is
        self._side_values_cache = None  # the refit's side tables
        self._row_buffers = None  # a refit's rows start without room kept
        self._y_range = (float(data.y.min()), float(data.y.max()))
        return EncodedBatch(
            data=data,
            user_pos=user_pos,
            item_pos=item_pos,
            new_users=np.arange(len(self.user_index_)),
            new_items=np.arange(len(self.item_index_)),
            new_user_side=user_side,
            new_item_side=item_side,
            positive_only=positive_only,
        )

    def _check_item_side(self, side: pd.DataFrame, *, complete: bool) -> None:
        """Check item side information (``complete``: the catalogue's at fit, else
        a table given later); text estimators check their text columns."""

    def _add_table_items(self, items: pd.DataFrame | None) -> None:
        """Add the items of an ``items`` table that are not in the catalogue yet."""
        if items is None:
            return
        new = self.item_index_.get_positions(items.index) < 0
        if new.any():
            columns = list(self._item_side_parts[0].columns)
            side = _side_rows([items], columns, items.index[new], "item_id")
            self._partial_fit(self._new_item_rows(side))

    @property
    def item_features_(self) -> pd.DataFrame:
        """Item side information, one row per catalogue item (``item_index_`` order)."""
        return _consolidate(self._item_side_parts)

    @property
    def user_features_(self) -> pd.DataFrame:
        """User side information, one row per known user (``user_index_`` order)."""
        return _consolidate(self._user_side_parts)

    def _encode_for_update(self, X, y, items=None, users=None) -> EncodedBatch:
        data, positive_only = self._check_y_or_positives(X, y, reset=False)
        n_users, n_items = len(self.user_index_), len(self.item_index_)
        item_side, user_side = self._known_side(data, items, users)
        # Write, then swap: the objects held before the call are never modified,
        # so an interrupted partial_fit can restore them (see ``_transaction``).
        self.user_index_ = _shallow_copy(self.user_index_)
        self.item_index_ = _shallow_copy(self.item_index_)
        user_pos = self.user_index_.extend(data.users)
        item_pos = self.item_index_.extend(data.items)
        new_users = np.arange(n_users, len(self.user_index_))
        new_items = np.arange(n_items, len(self.item_index_))
        new_item_side = new_user_side = None
        if len(new_items):
            new_item_side = _side_rows(
                [item_side, items],
                list(self._item_side_parts[0].columns),
                self.item_index_.ids_at(new_items),
                "item_id",
            )
            self._item_side_parts = _with_part(self._item_side_parts, new_item_side)
        if len(new_users):
            new_user_side = _side_rows(
                [user_side, users, self._user_table],
                list(self._user_side_parts[0].columns),
                self.user_index_.ids_at(new_users),
                "user_id",
            )
            self._user_side_parts = _with_part(self._user_side_parts, new_user_side)
        # Appended in room kept after the log (not joined whole at the next
        # read): a call costs its own rows however long the log.
        log = self._seen_log()
        self._seen_parts = [
            tuple(
                self._append_rows(f"seen {name}", held, given)
                for name, held, given in zip(
                    ("users", "items", "y"), log, (user_pos, item_pos, data.y)
                )
            )
        ]
        # A new holder (the index stays valid: the log only grew), so that an
        # interrupted call restores one that never saw these rows.
        self._seen_index_cache = dict(getattr(self, "_seen_index_cache", None) or {})
        return EncodedBatch(
            data=data,
            user_pos=user_pos,
            item_pos=item_pos,
            new_users=new_users,
            new_items=new_items,
            new_user_side=new_user_side,
            new_item_side=new_item_side,
            positive_only=positive_only,
        )

    def _known_side(self, data: Interactions, items, users):
        """The side information of ``X``'s rows, per item and per user, checked
        against the model's for known ids (with the ``items`` / ``users``
        tables); ``(None, None)`` when the estimator ignores side information."""
        if not self._uses_side_information:
            return None, None
        self._check_tables(data, items, users)
        item_columns = [c for c in self._item_side_parts[0].columns if c in data.side]
        user_columns = [c for c in self._user_side_parts[0].columns if c in data.side]
        item_side = user_side = None
        assigned = {*item_columns, *user_columns, *INTERACTION_COLUMNS}
        if len(data.side) <= _SMALL_BATCH and all(c in assigned for c in data.side):
            # A few rows (partial_fit of a user): checked in place, and only the
            # new ids' rows are taken (pandas' per-call overhead dominates here).
            item_side, user_side = (
                self._small_side(data, columns, kind)
                for columns, kind in ((item_columns, "item"), (user_columns, "user"))
            )
        elif item_columns or user_columns:
            item_side, user_side = split_side_information(
                data, item_columns=item_columns, user_columns=user_columns
            )
            self._check_unchanged(item_side, "item", "X")
            self._check_unchanged(user_side, "user", "X")
        self._check_unchanged(items, "item", "items")
        self._check_unchanged(users, "user", "users")
        return item_side, user_side

    def _small_side(self, data: Interactions, columns: list, kind: str):
        """:meth:`_known_side` of a few rows for one kind: the rows of an id must
        agree, and a known id must agree with the model. Returns the side rows of
        the new ids (None when there are none), read column by column: on a few
        rows pandas' per-call cost dominates, more so across many columns."""
        if not columns:
            return None
        side = data.side
        ids = data.items if kind == "item" else data.users
        arrays = [side._get_column_array(side.columns.get_loc(c)) for c in columns]
        values = np.empty((len(side), len(columns)), dtype=object)
        for k, array in enumerate(arrays):
            values[:, k] = _object_values(array)
        rows = np.asarray(_first_rows(values, ids, columns, range(len(columns)), kind))
        index = self.item_index_ if kind == "item" else self.user_index_
        pos = index.get_positions(ids[rows])
        known = pos >= 0
        if known.any():
            self._check_known(
                kind,
                "X",
                ids[rows[known]],
                pos[known],
                {c: values[rows[known], k] for k, c in enumerate(columns)},
            )
        new = rows[~known]
        if not len(new):
            return None
        return pd.DataFrame(  # each column keeps its dtype
            {c: array.take(new) for c, array in zip(columns, arrays)},
            index=pd.Index(ids[new], dtype=object, name=f"{kind}_id"),
            copy=False,
        )

    def _check_tables(self, data: Interactions, items, users) -> None:
        """Tables given after fit: no column twice, and valid item side columns."""
        _check_no_clash(data, items, users)
        if items is not None:
            self._check_item_side(items, complete=False)

    def _check_unchanged(self, side, kind: str, source: str) -> None:
        """Raise if ``side`` gives a known id other values than the model holds."""
        if side is None or not side.shape[1] or not len(side):
            return
        index = self.item_index_ if kind == "item" else self.user_index_
        pos = index.get_positions(side.index)
        known = pos >= 0
        if not known.any():
            return
        given_rows = np.flatnonzero(known)
        self._check_known(
            kind,
            source,
            side.index[given_rows],
            pos[known],
            {
                c: side[c].to_numpy(dtype=object)[given_rows]
                for c in side.columns
                if c in self._side_values(kind)
            },
        )

    def _check_known(self, kind: str, source: str, ids, pos, given: dict) -> None:
        """Raise if the values ``given`` (column -> object array) of known
        ``ids`` (at positions ``pos``) differ from those the model holds."""
        held = self._side_values(kind)
        for column, values in given.items():
            if column not in held:
                continue
            kept = held[column][pos]
            differs = _differs(values, kept)
            if not differs.any():
                continue
            row = int(np.flatnonzero(differs)[0])
            id_, given_value = ids[row], values[row]
            if isinstance(id_, np.generic):  # the id as the user wrote it
                id_ = id_.item()
            raise ValueError(
                f"{kind.capitalize()} {id_!r} is known with {column!r} = "
                f"{kept[row]!r}, but {source} gives {given_value!r}. The side "
                f"information of a known {kind} cannot change; give it only for "
                f"new {kind}s (or leave the column out)."
            )

    def _side_values(self, kind: str) -> dict:
        """The model's item (or user) side columns as object arrays in position
        order, so that checking a few rows of ``partial_fit`` costs a few
        lookups. Cached; when the catalogue (or the users) grows, the values of
        the new rows alone are appended (:meth:`_append_rows`), so a known
        user's call after new users costs its own rows, not the users held."""
        parts = self._item_side_parts if kind == "item" else self._user_side_parts
        n_rows = sum(len(part) for part in parts)

        def current():
            cache = getattr(self, "_side_values_cache", None) or {}
            entry = cache.get(kind)
            return cache, entry if entry is not None and entry[0] <= n_rows else None

        cache, entry = current()
        if entry is not None and entry[0] == n_rows:
            return entry[1]
        with self._lock("caches"):
            cache, entry = current()
            if entry is None:
                empty = np.empty(0, dtype=object)
                entry = (0, {str(c): empty for c in parts[0].columns})
            covered, values = entry
            if covered < n_rows:
                new = _rows_after(parts, covered)
                values = {
                    str(c): self._append_rows(
                        f"{kind} side {c}",
                        values[str(c)],
                        new[c].to_numpy(dtype=object),
                    )
                    for c in parts[0].columns
                }
                # A new dict, swapped in whole: readers see one or the other.
                self._side_values_cache = {**cache, kind: (n_rows, values)}
        return values

    def _cold_side(self, data, user_pos, item_pos, items, users) -> Interactions:
        """``data`` whose side columns cover every fitted item and user column,
        looked up in the tables for the rows of unknown ids (``predict``)."""
        if not self._uses_side_information:
            return data
        self._check_tables(data, items, users)
        item_columns = list(self._item_side_parts[0].columns)
        user_columns = list(self._user_side_parts[0].columns)
        # Rows are scored one by one: only known ids' values are checked (per row).
        for columns, ids, kind, table in (
            (item_columns, data.items, "item", items),
            (user_columns, data.users, "user", users),
        ):
            given = [c for c in columns if c in data.side]
            if given:
                rows = data.side[given].set_axis(pd.Index(ids, dtype=object), axis=0)
                self._check_unchanged(rows, kind, "X")
            self._check_unchanged(table, kind, f"{kind}s")
        missing = [c for c in item_columns + user_columns if c not in data.side]
        if not missing or ((item_pos >= 0).all() and (user_pos >= 0).all()):
            return data
        rows = pd.RangeIndex(len(data))
        side = dict(data.side.items())
        for columns, ids, tables in (
            (item_columns, data.items, [items]),
            (user_columns, data.users, [users, self._user_table]),
        ):
            wanted = [c for c in columns if c not in side]
            if wanted:
                looked_up = _side_rows(tables, wanted, ids, "id")
                for column in wanted:
                    side[column] = looked_up[column].set_axis(rows)
        return replace(data, side=pd.DataFrame(side, index=rows))

    def _item_columns_for(self, data: Interactions) -> list:
        return [c for c in self._item_columns if c in data.side.columns]

    def _user_columns_for(self, data: Interactions) -> list:
        return [c for c in self._user_columns if c in data.side.columns]

    def _item_counts(self) -> np.ndarray:
        """Rows of the log per catalogue item (every row given to fit /
        partial_fit), kept up to date by counting only the rows appended since
        the last call."""
        user_pos, item_pos, _ = self._seen_log()
        n_rows, n_items = len(item_pos), len(self.item_index_)
        holder = self._cache_holder("_seen_index_cache")
        with self._lock("caches"):
            covered, counts = holder.get("item counts", (0, np.zeros(0, np.int64)))
            if covered > n_rows:  # a log of another fit
                covered, counts = 0, np.zeros(0, np.int64)
            if covered < n_rows or len(counts) < n_items:
                new = np.bincount(item_pos[covered:], minlength=n_items)
                new[: len(counts)] += counts
                covered, counts = n_rows, new
                holder["item counts"] = (covered, counts)
        return counts[:n_items]

    def _seen_log(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(user_pos, item_pos, y)`` of every row given to fit / partial_fit.

        One part: ``partial_fit`` appends its rows in room kept after the log
        (:meth:`_append_rows`). Models saved when it appended a part per call
        hold several, joined here once, under their own lock.
        """
        parts = self._seen_parts
        if len(parts) > 1:
            with self._lock("seen log"):
                parts = self._seen_parts
                if len(parts) > 1:
                    parts = [tuple(np.concatenate(p) for p in zip(*parts))]
                    self._seen_parts = parts
        return parts[0]

    def _cache_holder(self, name: str) -> dict:
        """The dict in attribute ``name`` that a lazy cache is filled into in
        place (so that predict leaves ``__dict__`` as it was); a new one after
        unpickling, which does not store lazy caches."""
        holder = getattr(self, name, None)
        if holder is None:
            holder = {}
            setattr(self, name, holder)
        return holder

    def _seen_rows(self, users) -> np.ndarray:
        """Positions in :meth:`_seen_log` of the rows of ``users`` (user positions;
        negative ones have none), in log order.

        Reads a by-user index of the log (a stable argsort and each user's bounds,
        built lazily under the cache lock), so a block of users costs their own
        rows, not a pass over the whole log. Rows that ``partial_fit`` appended
        after the index was built are scanned; the index is rebuilt once they
        exceed ``_SEEN_INDEX_TAIL_ROWS`` and an eighth of the indexed rows.
        """
        user_pos = self._seen_log()[0]
        n_rows = len(user_pos)

        def stale(index):
            return (
                index is None
                or index[0] > n_rows
                or n_rows - index[0] > max(_SEEN_INDEX_TAIL_ROWS, index[0] // 8)
            )

        holder = self._cache_holder("_seen_index_cache")
        index = holder.get("index")
        if stale(index):
            with self._lock("caches"):
                index = holder.get("index")
                if stale(index):
                    order = np.argsort(user_pos, kind="stable")
                    n_users = int(user_pos.max()) + 1 if n_rows else 0
                    bounds = np.searchsorted(user_pos[order], np.arange(n_users + 1))
                    index = holder["index"] = (n_rows, order, bounds)
        n_indexed, order, bounds = index
        users = np.unique(np.asarray(users, dtype=np.int64))
        indexed = users[(users >= 0) & (users < len(bounds) - 1)]
        starts = bounds[indexed]
        lengths = bounds[indexed + 1] - starts
        offsets = np.arange(lengths.sum()) + np.repeat(
            starts - (np.cumsum(lengths) - lengths), lengths
        )
        tail = n_indexed + np.flatnonzero(np.isin(user_pos[n_indexed:], users))
        return np.sort(np.concatenate([order[offsets], tail]))

    def _users_items(self, users, keep=None) -> sp.csr_matrix:
        """Binary CSR of the catalogue items each of ``users`` (known user
        positions, in any order, repeats allowed) interacted with in fit /
        partial_fit, one row per user; ``keep(y)``: which rows of the log count
        (all when None).

        Read from the users' own rows of the log (:meth:`_seen_rows`), so that
        ``recommend`` right after a ``partial_fit`` costs the users' rows, not a
        users x items matrix of the whole log built again.
        """
        users = np.asarray(users, dtype=np.int64)
        distinct, inverse = np.unique(users, return_inverse=True)
        user_pos, item_pos, y = self._seen_log()
        mine = self._seen_rows(distinct)
        if keep is not None:
            mine = mine[keep(y[mine])]
        matrix = sp.csr_matrix(
            (
                np.ones(len(mine)),
                (np.searchsorted(distinct, user_pos[mine]), item_pos[mine]),
            ),
            shape=(len(distinct), len(self.item_index_)),
        )
        matrix.sum_duplicates()
        matrix.data[:] = 1.0  # a repeated row is one interaction
        if len(distinct) < len(users) or (users[1:] < users[:-1]).any():
            matrix = matrix[inverse]
        return matrix

    def _user_history(self, user: int) -> tuple[np.ndarray, np.ndarray]:
        """Item positions and targets of every row given for user position ``user``."""
        _, cols, y = self._seen_log()
        mine = self._seen_rows([user])
        return cols[mine], y[mine]

    # ------------------------------------------------ atomicity and thread safety
    @contextmanager
    def _transaction(self):
        """Run the body atomically: on any exception, restore ``self`` and re-raise.

        The restore covers ``KeyboardInterrupt`` raised anywhere inside (the skorch
        shell re-raises it instead of stopping training quietly): the estimator is
        left with its previous model, or not fitted at all, never half trained.
        The snapshot is shallow (the attribute dict), which is exact because
        ``_fit`` builds new objects and ``_partial_fit`` writes, then swaps; the
        few in-place row writes go through :meth:`_set_rows`, which logs the old
        rows. Nested transactions are left to the outermost one.
        """
        if self in _UNDO_LOGS:
            yield
            return
        saved = self.__dict__.copy()
        undo: list = []
        _UNDO_LOGS[self] = undo
        try:
            yield
        except BaseException:
            for action in reversed(undo):
                action()
            self.__dict__.clear()
            self.__dict__.update(saved)
            raise
        finally:
            _UNDO_LOGS.pop(self, None)

    def _set_rows(self, array, index, values) -> None:
        """``array[index] = values`` in place, undone if the transaction fails.

        For fitted arrays or tensors held before the current ``fit`` /
        ``partial_fit`` (copying them whole would cost more than the update).
        """
        log = _UNDO_LOGS.get(self)
        if log is not None:
            old = array[index]
            old = old.clone() if hasattr(old, "clone") else np.array(old, copy=True)
            log.append(lambda: array.__setitem__(index, old))
        array[index] = values

    def _append_rows(self, key: str, array, rows):
        """``array`` (a tensor or an ndarray) with ``rows`` appended along its
        first axis, as a new tensor or array (write, then swap), in time that
        grows with ``rows``, not with ``array``.

        The rows go into spare room after ``array`` in a buffer kept under
        ``key``, when ``array`` is that buffer's used part (no other copy of
        the estimator, and no interrupted call, has appended to it since);
        else ``array`` and ``rows`` are copied into a new buffer with room for
        a quarter more rows (memory grows by a quarter at most). What ``array``
        holds is never written, so the tensors held before a failed call stay
        as they were. Pickles store the used part only.
        """
        buffers = dict(getattr(self, "_row_buffers", None) or {})
        entry = buffers.get(key)
        n, k = len(array), len(rows)
        if (
            entry is None
            or entry.used != n
            or type(entry.buffer) is not type(array)
            or _address(entry.buffer) != _address(array)
            or len(entry.buffer) < n + k
            or entry.buffer.shape[1:] != array.shape[1:]
            or entry.buffer.dtype != array.dtype
        ):
            room = max((n + k) // 4, 16)  # a quarter more: amortised O(rows)
            shape = (n + k + room, *array.shape[1:])
            if isinstance(array, np.ndarray):
                buffer = np.empty(shape, dtype=array.dtype)
            else:
                buffer = array.new_empty(shape)
            buffer[:n] = array
            entry = _RowBuffer(buffer, n)
        entry.buffer[n : n + k] = rows
        entry.used = n + k
        buffers[key] = entry
        self._row_buffers = buffers
        return entry.buffer[: n + k]

    def _on_rollback(self, action) -> None:
        """Call ``action()`` if the running ``fit`` / ``partial_fit`` fails (the undo
        of an in-place change; newest first, before the attributes are restored)."""
        log = _UNDO_LOGS.get(self)
        if log is not None:
            log.append(action)

    def _lock(self, name: str) -> threading.Lock:
        """This estimator's lock for ``name`` (created on first use, never pickled).

        ``"caches"`` guards the build of lazily built caches (double-checked, so
        concurrent readers share one build).
        """
        with _RUNTIME_GUARD:
            locks = _LOCKS.setdefault(self, {})
            lock = locks.get(name)
            if lock is None:
                lock = locks[name] = threading.Lock()
        return lock


def _top_k(scores: np.ndarray, k: int) -> np.ndarray:
    """Column positions of the ``k`` best scores of each row, in no order; among
    tied scores the lower positions win, so the ``k`` best are a prefix of the
    ``k + 1`` best."""
    kth = np.partition(scores, scores.shape[1] - k, axis=1)[:, -k]
    above = scores > kth[:, None]
    tied = scores == kth[:, None]
    room = k - above.sum(axis=1)
    chosen = above | (tied & (np.cumsum(tied, axis=1) <= room[:, None]))
    return np.nonzero(chosen)[1].reshape(len(scores), k)


@dataclass
class _RowBuffer:
    """Rows of a growing tensor and room for more: ``buffer[:used]`` is the
    longest tensor handed out (:meth:`BaseRecommender._append_rows`)."""

    buffer: object
    used: int


def _address(array) -> int:
    """Where the first element of a tensor or an ndarray is in memory."""
    if isinstance(array, np.ndarray):
        return array.__array_interface__["data"][0]
    return array.data_ptr()


def _shallow_copy(obj):
    """A new object sharing ``obj``'s attribute values (for write-then-swap)."""
    new = object.__new__(type(obj))
    new.__dict__.update(obj.__dict__)
    return new


def _as_table(X):
    """A DataFrame stays; lists and array-likes become ndarrays (object for lists,
    so mixed id types survive); anything else is left for validation to reject."""
    if X is None or isinstance(X, pd.DataFrame) or hasattr(X, "tocsr"):
        return X
    if isinstance(X, list | tuple):
        return np.array(X, dtype=object)
    return np.asarray(X)


def _check_finite_scores(estimator, scores, method):
    """Return ``scores``, or raise a ValueError if any is NaN or infinite."""
    bad = ~np.isfinite(scores)
    if bad.any():
        raise ValueError(
            f"{type(estimator).__name__}.{method} computed {int(bad.sum())} NaN or "
            "infinite score(s): the fitted model has diverged (its training or "
            "adaptation overflowed). Rescale y (for example to a 1-5 rating scale), "
            "or lower inner_lr / lr, or use inner_solver='ridge'."
        )
    return scores


class _ShapeOnly:
    """Stands in for X in sklearn's n_features check without converting X."""

    def __init__(self, n_features: int):
        self.shape = (0, n_features)


def _side_rows(sources, columns, ids, name) -> pd.DataFrame:
    """Side rows of ``ids``: each column from the first of ``sources`` (tables
    indexed by id, or None) that has it, missing values where it lacks the id or
    none has the column."""
    index = pd.Index(ids, dtype=object, name=name)
    columns = list(columns)
    first = sources[0] if sources else None
    if (
        first is not None
        and all(c in first.columns for c in columns)
        and len(first) == len(index)
        and first.index.equals(index)
    ):
        # The common case: the rows of X, in order.
        return first if list(first.columns) == columns else first[columns]
    out = {}
    for column in columns:
        for source in sources:
            if source is not None and column in source.columns:
                values = source[column]
                if not (len(values) == len(index) and values.index.equals(index)):
                    values = values.reindex(index)
                out[column] = values.set_axis(index)
                break
    frame = pd.DataFrame(out, index=index, columns=list(columns))
    return frame


def _object_values(array) -> np.ndarray:
    """A column's values as an object array, missing values as NaN; quick for a
    few rows of a categorical (pandas' own conversion costs far more there)."""
    if isinstance(array, pd.Categorical):
        codes = array.codes
        taken = array.categories.take(np.maximum(codes, 0))
        out = taken.to_numpy(dtype=object, copy=True)
        out[codes < 0] = np.nan
        return out
    return np.asarray(array, dtype=object)


def _differs(given: np.ndarray, kept: np.ndarray) -> np.ndarray:
    """Where two object arrays of side values differ (two missing values agree)."""
    try:
        equal = np.asarray(given == kept, dtype=bool)
    except (TypeError, ValueError):  # pd.NA and other values that refuse ``bool``
        equal = None
    if equal is None or equal.shape != given.shape:
        return ~np.array([_same_value(a, b) for a, b in zip(given, kept)], dtype=bool)
    return ~(equal | (pd.isna(given) & pd.isna(kept)))


def _columns_of(*tables) -> list:
    """The columns of ``tables`` (None skipped), in order."""
    return [c for t in tables if t is not None for c in t.columns]


def _check_no_clash(data: Interactions, items, users) -> None:
    """A side column comes from one place: X's rows, the items or the users table."""
    places = [("X", list(data.side.columns))]
    places += [
        (n, list(t.columns))
        for n, t in (("items", items), ("users", users))
        if t is not None
    ]
    seen: dict = {}
    for place, columns in places:
        for column in columns:
            if column in seen:
                raise ValueError(
                    f"Side column {column!r} is given twice, in {seen[column]} and "
                    f"in {place}; give each column in one place."
                )
            seen[column] = place


def _unique_ids(values, column, name, kind) -> np.ndarray:
    """The ids of a table's id column; repeated ids are a ValueError."""
    ids = check_ids(values.to_numpy(), f"{kind.capitalize()} id ({column!r}) column")
    repeated = pd.Index(ids).duplicated()
    if repeated.any():
        raise ValueError(
            f"{name} repeats the {kind} id(s) {ids[repeated][:5].tolist()}; give "
            f"each {kind} once."
        )
    return ids


def _with_part(parts: list, part: pd.DataFrame) -> list:
    """``parts`` (appended side tables) and ``part``, as a new list (the frames
    held are never modified: write, then swap).

    Past ``_SIDE_PARTS`` tables, the last ones are concatenated, taking in the
    one before them while they hold at least half its rows: O(log) tables of
    decreasing size, each row copied O(log) times, one concatenation per
    ``_SIDE_PARTS`` calls or so, so that a stream of ``partial_fit`` calls
    neither keeps a table per call nor copies the whole side table each time.
    """
    parts = [*parts, part]
    if len(parts) <= _SIDE_PARTS:
        return parts
    start, rows = len(parts) - 1, len(part)
    while start > 0 and 2 * rows >= len(parts[start - 1]):
        start -= 1
        rows += len(parts[start])
    start = min(start, len(parts) - 2)  # at least the last two
    return [*parts[:start], pd.concat(parts[start:])]


def _rows_after(parts: list, start: int) -> pd.DataFrame:
    """Rows ``start:`` of the concatenation of ``parts``, reading only the
    tables that hold them."""
    first, offset = len(parts), sum(len(part) for part in parts)
    while first > 0 and offset > start:
        first -= 1
        offset -= len(parts[first])
    if first == len(parts):  # no row from start on
        return parts[-1].iloc[:0]
    tail = [parts[first].iloc[start - offset :], *parts[first + 1 :]]
    return pd.concat(tail) if len(tail) > 1 else tail[0]


def _consolidate(parts: list) -> pd.DataFrame:
    """Concatenate appended side tables once, when they are read."""
    if len(parts) > 1:
        frames = [p for p in parts if len(p)] or parts[:1]
        parts[:] = [pd.concat(frames) if len(frames) > 1 else frames[0]]
    return parts[0]
