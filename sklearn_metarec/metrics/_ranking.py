"""Top-k ranking metrics, computed per user and averaged over users.

Every ranking metric takes ``(y_true, y_score)`` in one of two layouts:

Candidate mode (1-D arrays and ``users=``)
    One row per (user, item) pair, as returned by ``predict``. Each user's rows are
    ranked by ``y_score`` (highest first) and judged by ``y_true``. This is how MeLU
    scores its 10 query items per user (nDCG@1, nDCG@3).

Catalogue mode (2-D arrays, no ``users``)
    ``y_true`` and ``y_score`` have shape ``(n_users, n_items)``, one row per user,
    as in :func:`sklearn.metrics.ndcg_score`. A ``NaN`` or ``-inf`` score marks an
    item that cannot be recommended (for example one the user has already seen).

In both modes:

- Items with a ``NaN`` or ``-inf`` score are never ranked; a relevant one still counts
  in the user's ideal DCG and number of relevant items, i.e. it is a miss.
- Ties in ``y_score`` are broken *pessimistically*: among items with equal scores the
  least relevant is ranked first. The result therefore does not depend on the order
  of the rows, and a constant scorer earns the worst score its ties allow.
- Users with no relevant item (for :func:`ndcg_at_k`: whose ideal DCG is 0) are
  skipped: their metric is undefined. When no user is left the result is ``nan``
  with an :class:`~sklearn.exceptions.UndefinedMetricWarning`.
- ``k`` larger than a user's list is allowed: the list is simply shorter than ``k``.
- ``users`` may hold ids of any hashable type, mixed; every row is a candidate, so
  a (user, item) pair given twice is ranked twice (duplicates are repeated
  observations). Any finite relevance works: nDCG divides each user's gains by
  their largest one, so huge ratings (or ``2 ** rating``) do not overflow.
"""

from __future__ import annotations

import numbers
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.exceptions import UndefinedMetricWarning

from ..utils._data import _as_id_array, as_float_array, check_ids

__all__ = [
    "ndcg_at_k",
    "precision_at_k",
    "recall_at_k",
    "hit_rate_at_k",
    "map_at_k",
    "mrr_at_k",
    "catalog_coverage",
]

DEFAULT_RATING_THRESHOLD = 4.0
"""Relevance threshold that ``threshold="auto"`` uses for explicit ratings."""


@dataclass
class _Ranked:
    """Top-k view of every user's ranking (internal).

    Attributes
    ----------
    rel : ndarray of shape (n_users, k)
        Relevance of the item at each rank, 0 past the end of a user's list.
    ideal : ndarray of shape (n_users, k)
        The user's true relevances sorted in decreasing order, 0-padded.
    n_ranked : ndarray of shape (n_users,)
        Length of the user's top-k list (``min(k, n_rankable_items)``).
    n_relevant : ndarray of shape (n_users,)
        Number of items with non-zero relevance, ranked or not.
    """

    rel: np.ndarray
    ideal: np.ndarray
    n_ranked: np.ndarray
    n_relevant: np.ndarray


# --------------------------------------------------------------------------------------
# Public metrics
# --------------------------------------------------------------------------------------


def ndcg_at_k(y_true, y_score, *, users=None, k=10, gain="linear"):
    """Normalised discounted cumulative gain at rank ``k``, averaged over users.

    ``DCG@k = sum_{i=1..k} g(rel_i) / log2(i + 1)`` with ``i`` the 1-based rank and
    ``g`` the gain; nDCG divides by the DCG of the user's ideal ordering (their true
    relevances sorted in decreasing order, truncated at ``k``). Users whose ideal DCG
    is 0 (no relevant item) are skipped. See the module docstring for the two input
    layouts, tie-breaking and excluded items.

    Parameters
    ----------
    y_true : array-like of shape (n_rows,) or (n_users, n_items)
        Graded relevance, non-negative (a rating, or 0/1).
    y_score : array-like of the same shape as ``y_true``
        Predicted scores; higher ranks first. ``NaN`` / ``-inf`` mark items that
        cannot be ranked.
    users : array-like of shape (n_rows,), default=None
        User id of each row: required with 1-D inputs (candidate mode), forbidden
        with 2-D inputs (catalogue mode).
    k : int, default=10
        Rank cut-off, at least 1.
    gain : {"linear", "exponential"}, default="linear"
        ``"linear"``: the gain is the relevance itself (MeLU's published nDCG values
        are consistent with this); ``"exponential"``: ``2 ** rel - 1``.

    Returns
    -------
    score : float
        Mean nDCG@k over users with a non-zero ideal DCG, in ``[0, 1]``; ``nan`` if
        there is no such user.

    Examples
    --------
    Two users with three candidate items each (candidate mode):

    >>> from sklearn_metarec.metrics import ndcg_at_k
    >>> y_true = [5, 3, 1, 4, 4, 2]
    >>> y_score = [0.9, 0.5, 0.1, 0.2, 0.8, 0.6]
    >>> users = ["a", "a", "a", "b", "b", "b"]
    >>> round(ndcg_at_k(y_true, y_score, users=users, k=3), 4)
    0.9826

    The same metric on a score matrix (catalogue mode), ``NaN`` excluding an item:

    >>> import numpy as np
    >>> ndcg_at_k([[0, 1, 1]], [[0.9, np.nan, 0.1]], k=2)
    0.3868...
    """
    gain = _check_option(gain, ("linear", "exponential"), "gain")
    ranked = _rank(y_true, y_score, users, k, relevance=_graded)
    return _average(_per_user(ranked, "ndcg", gain=gain), "ndcg_at_k")


def precision_at_k(y_true, y_score, *, users=None, k=10, threshold="auto"):
    """Precision at rank ``k``: the fraction of a user's top-k list that is relevant.

    The denominator is the length of the list, ``min(k, n_rankable_items)``, so a
    user with fewer than ``k`` candidates is not penalised for the short list. Users
    with no relevant item are skipped.

    Parameters
    ----------
    y_true : array-like of shape (n_rows,) or (n_users, n_items)
        Ratings or 0/1 labels, binarised with ``threshold``.
    y_score : array-like of the same shape as ``y_true``
        Predicted scores; ``NaN`` / ``-inf`` mark items that cannot be ranked.
    users : array-like of shape (n_rows,), default=None
        User id per row, for 1-D inputs (candidate mode) only.
    k : int, default=10
        Rank cut-off, at least 1.
    threshold : float or "auto", default="auto"
        An item is relevant when ``y_true >= threshold``. ``"auto"`` uses 4.0 (a
        "liked" item on a 1–5 star scale) when any ``y_true`` exceeds 1, and
        ``y_true > 0`` for 0/1 implicit labels.

    Returns
    -------
    score : float
        In ``[0, 1]``; ``nan`` when no user has a relevant item.

    Examples
    --------
    >>> from sklearn_metarec.metrics import precision_at_k
    >>> precision_at_k([5, 3, 4, 1], [0.9, 0.8, 0.1, 0.5], users=[1, 1, 1, 1], k=2)
    0.5
    """
    ranked = _rank(y_true, y_score, users, k, relevance=_binary(threshold))
    return _average(_per_user(ranked, "precision"), "precision_at_k")


def recall_at_k(y_true, y_score, *, users=None, k=10, threshold="auto"):
    """Recall at rank ``k``: the fraction of a user's relevant items in the top k.

    The denominator is the user's number of relevant items (ranked or excluded), so
    recall reaches 1 only when ``k`` is at least that number. Users with no relevant
    item are skipped.

    Parameters
    ----------
    y_true : array-like of shape (n_rows,) or (n_users, n_items)
        Ratings or 0/1 labels, binarised with ``threshold``.
    y_score : array-like of the same shape as ``y_true``
        Predicted scores; ``NaN`` / ``-inf`` mark items that cannot be ranked.
    users : array-like of shape (n_rows,), default=None
        User id per row, for 1-D inputs (candidate mode) only.
    k : int, default=10
        Rank cut-off, at least 1.
    threshold : float or "auto", default="auto"
        Relevance threshold, see :func:`precision_at_k`.

    Returns
    -------
    score : float
        In ``[0, 1]``; ``nan`` when no user has a relevant item.

    Examples
    --------
    >>> from sklearn_metarec.metrics import recall_at_k
    >>> recall_at_k([[1, 0, 1, 1]], [[0.9, 0.8, 0.7, 0.1]], k=2)
    0.333...
    """
    ranked = _rank(y_true, y_score, users, k, relevance=_binary(threshold))
    return _average(_per_user(ranked, "recall"), "recall_at_k")


def hit_rate_at_k(y_true, y_score, *, users=None, k=10, threshold="auto"):
    """Hit rate at rank ``k``: the fraction of users with a relevant item in the top k.

    Users with no relevant item are skipped.

    Parameters
    ----------
    y_true : array-like of shape (n_rows,) or (n_users, n_items)
        Ratings or 0/1 labels, binarised with ``threshold``.
    y_score : array-like of the same shape as ``y_true``
        Predicted scores; ``NaN`` / ``-inf`` mark items that cannot be ranked.
    users : array-like of shape (n_rows,), default=None
        User id per row, for 1-D inputs (candidate mode) only.
    k : int, default=10
        Rank cut-off, at least 1.
    threshold : float or "auto", default="auto"
        Relevance threshold, see :func:`precision_at_k`.

    Returns
    -------
    score : float
        In ``[0, 1]``; ``nan`` when no user has a relevant item.

    Examples
    --------
    >>> from sklearn_metarec.metrics import hit_rate_at_k
    >>> hit_rate_at_k([[0, 1, 0], [1, 0, 0]], [[3, 2, 1], [1, 2, 3]], k=2)
    0.5
    """
    ranked = _rank(y_true, y_score, users, k, relevance=_binary(threshold))
    return _average(_per_user(ranked, "hit_rate"), "hit_rate_at_k")


def map_at_k(y_true, y_score, *, users=None, k=10, threshold="auto"):
    """Mean average precision at rank ``k``.

    ``AP@k = sum_{i=1..k} precision@i * rel_i / min(k, n_relevant)`` per user, then the
    mean over users with at least one relevant item.

    Parameters
    ----------
    y_true : array-like of shape (n_rows,) or (n_users, n_items)
        Ratings or 0/1 labels, binarised with ``threshold``.
    y_score : array-like of the same shape as ``y_true``
        Predicted scores; ``NaN`` / ``-inf`` mark items that cannot be ranked.
    users : array-like of shape (n_rows,), default=None
        User id per row, for 1-D inputs (candidate mode) only.
    k : int, default=10
        Rank cut-off, at least 1.
    threshold : float or "auto", default="auto"
        Relevance threshold, see :func:`precision_at_k`.

    Returns
    -------
    score : float
        In ``[0, 1]``; ``nan`` when no user has a relevant item.

    Examples
    --------
    >>> from sklearn_metarec.metrics import map_at_k
    >>> map_at_k([[1, 0, 1]], [[3, 2, 1]], k=3)  # (1/1 + 2/3) / 2
    0.833...
    """
    ranked = _rank(y_true, y_score, users, k, relevance=_binary(threshold))
    return _average(_per_user(ranked, "map"), "map_at_k")


def mrr_at_k(y_true, y_score, *, users=None, k=10, threshold="auto"):
    """Mean reciprocal rank at ``k``: ``1 / rank`` of a user's first relevant item.

    A user with no relevant item in the top ``k`` scores 0; users with no relevant
    item at all are skipped.

    Parameters
    ----------
    y_true : array-like of shape (n_rows,) or (n_users, n_items)
        Ratings or 0/1 labels, binarised with ``threshold``.
    y_score : array-like of the same shape as ``y_true``
        Predicted scores; ``NaN`` / ``-inf`` mark items that cannot be ranked.
    users : array-like of shape (n_rows,), default=None
        User id per row, for 1-D inputs (candidate mode) only.
    k : int, default=10
        Rank cut-off, at least 1.
    threshold : float or "auto", default="auto"
        Relevance threshold, see :func:`precision_at_k`.

    Returns
    -------
    score : float
        In ``[0, 1]``; ``nan`` when no user has a relevant item.

    Examples
    --------
    >>> from sklearn_metarec.metrics import mrr_at_k
    >>> mrr_at_k([[0, 0, 1], [1, 0, 0]], [[3, 2, 1], [3, 2, 1]], k=3)  # (1/3 + 1) / 2
    0.666...
    """
    ranked = _rank(y_true, y_score, users, k, relevance=_binary(threshold))
    return _average(_per_user(ranked, "mrr"), "mrr_at_k")


def catalog_coverage(recommendations, n_items):
    """Fraction of the catalogue that appears in at least one recommendation list.

    Parameters
    ----------
    recommendations : sequence of array-like
        One list of item ids per user, as returned by ``recommend``.
    n_items : int
        Size of the catalogue, at least 1.

    Returns
    -------
    coverage : float
        ``n_distinct_recommended_items / n_items``, in ``[0, 1]``.

    Examples
    --------
    >>> from sklearn_metarec.metrics import catalog_coverage
    >>> catalog_coverage([["a", "b"], ["b", "c"]], n_items=10)
    0.3
    """
    if not isinstance(n_items, numbers.Integral) or isinstance(n_items, bool):
        raise ValueError(f"n_items must be an int >= 1, got {n_items!r}.")
    if n_items < 1:
        raise ValueError(f"n_items must be an int >= 1, got {n_items}.")
    if isinstance(recommendations, str) or not hasattr(recommendations, "__iter__"):
        raise ValueError(
            "recommendations must be a sequence of item-id lists, one per user; got "
            f"{type(recommendations).__name__}."
        )
    lists = [np.asarray(r, dtype=object).ravel() for r in recommendations]
    if not lists:
        return 0.0
    try:
        distinct = pd.unique(np.concatenate(lists))
    except TypeError:
        raise ValueError(
            "recommendations must hold hashable item ids (int, str, tuple, ...)."
        ) from None
    if len(distinct) > n_items:
        raise ValueError(
            f"The recommendations hold {len(distinct)} distinct items, more than "
            f"n_items={n_items}."
        )
    return len(distinct) / n_items


# --------------------------------------------------------------------------------------
# Internals shared with the scorer
# --------------------------------------------------------------------------------------


def _check_option(value, options, name):
    if not isinstance(value, str) or value not in options:
        raise ValueError(f"{name} must be one of {list(options)}, got {value!r}.")
    return value


def _check_k(k):
    if isinstance(k, bool) or not isinstance(k, numbers.Integral) or k < 1:
        raise ValueError(f"k must be an int >= 1, got {k!r}.")
    return int(k)


def _graded(y_true):
    if np.any(y_true < 0):
        raise ValueError(
            "y_true must be non-negative relevance (a rating or a 0/1 label) for "
            "nDCG; found a negative value."
        )
    return y_true


def _binary(threshold):
    """Return a function that binarises relevance with ``threshold``."""
    if isinstance(threshold, str):
        _check_option(threshold, ("auto",), "threshold")
    elif isinstance(threshold, bool) or not isinstance(threshold, numbers.Real):
        raise ValueError(f"threshold must be a number or 'auto', got {threshold!r}.")
    elif not np.isfinite(threshold):
        raise ValueError(f"threshold must be finite, got {threshold!r}.")

    def binarise(y_true):
        return _binarise(y_true, threshold)

    return binarise


def _binarise(y_true, threshold):
    if isinstance(threshold, str):  # "auto"
        if np.any(y_true > 1):
            return (y_true >= DEFAULT_RATING_THRESHOLD).astype(np.float64)
        return (y_true > 0).astype(np.float64)
    return (y_true >= threshold).astype(np.float64)


def _as_float(values, name):
    return as_float_array(values, name, "numeric values")


def _user_codes(users, n_rows):
    """Integer codes of per-row user ids (any hashable values) and their number.

    Raises a ValueError for a scalar or string instead of one id per row, a length
    other than ``n_rows``, missing ids and unhashable ids.
    """
    if isinstance(users, str | bytes) or not hasattr(users, "__len__"):
        raise ValueError(
            "users must be a 1-D sequence with one user id per row; got "
            f"{type(users).__name__}."
        )
    ids = _as_id_array(users)
    if ids.ndim != 1 or len(ids) != n_rows:
        raise ValueError(
            f"users must be 1-D with one id per row: got shape {ids.shape} for "
            f"{n_rows} rows; give one user id per row."
        )
    ids = check_ids(ids, "users")
    codes, uniques = pd.factorize(ids, use_na_sentinel=True)
    return codes, len(uniques)


def _ndcg_per_user(y_true, y_score, k: int) -> np.ndarray:
    """:func:`ndcg_at_k` of each row of (n_users, n_items) matrices, ``nan``
    for a user with no relevant item (internal: the meta estimators' choice of
    ``neighbor_weight`` needs the spread over users, not only the mean)."""
    return _per_user(_rank(y_true, y_score, None, k, relevance=_graded), "ndcg")


def _rank(y_true, y_score, users, k, *, relevance):
    """Validate either input layout and return the users' top-k view."""
    k = _check_k(k)
    y_true = _as_float(y_true, "y_true")
    y_score = _as_float(y_score, "y_score")
    if y_true.shape != y_score.shape:
        raise ValueError(
            f"y_true and y_score must have the same shape; got {y_true.shape} and "
            f"{y_score.shape}."
        )
    if y_true.ndim not in (1, 2):
        raise ValueError(
            f"y_true must be 1-D (with users=) or 2-D (n_users, n_items); got "
            f"{y_true.ndim}-D."
        )
    if y_true.size == 0:
        raise ValueError("y_true is empty.")
    if not np.all(np.isfinite(y_true)):
        raise ValueError("y_true contains NaN or infinite values.")
    if np.any(y_score == np.inf):
        raise ValueError(
            "y_score contains +inf; use finite scores (NaN or -inf mark excluded "
            "items)."
        )
    rel = relevance(y_true)
    if y_true.ndim == 1:
        if users is None:
            raise ValueError(
                "1-D y_true and y_score need users= (the user id of each row) to "
                "group rows into per-user rankings; pass 2-D arrays of shape "
                "(n_users, n_items) for catalogue mode."
            )
        codes, n_users = _user_codes(users, len(y_true))
        # A cut-off beyond the longest list changes nothing; capping it bounds memory.
        k = min(k, int(np.bincount(codes).max()))
        return _rank_groups(codes, n_users, rel, y_score, k)
    if users is not None:
        raise ValueError(
            "users= is for 1-D inputs (candidate mode); 2-D inputs already hold one "
            "row per user."
        )
    return _rank_matrix(rel, y_score, min(k, y_true.shape[1]))


def _rank_groups(codes, n_users, rel, score, k):
    """Top-k view from rows grouped by user code (candidate mode)."""
    excluded = ~np.isfinite(score)
    key = np.where(excluded, 0.0, -score)
    # Primary key last: user, then rankable before excluded, then score descending,
    # then relevance ascending (pessimistic ties).
    order = np.lexsort((rel, key, excluded, codes))
    sorted_codes = codes[order]
    pos = _position_in_group(sorted_codes)
    keep = (pos < k) & ~excluded[order]
    ranked = np.zeros((n_users, k))
    ranked[sorted_codes[keep], pos[keep]] = rel[order][keep]
    n_ranked = np.minimum(np.bincount(codes[~excluded], minlength=n_users), k)

    ideal_order = np.lexsort((-rel, codes))
    ideal_codes = codes[ideal_order]
    ideal_pos = _position_in_group(ideal_codes)
    top = ideal_pos < k
    ideal = np.zeros((n_users, k))
    ideal[ideal_codes[top], ideal_pos[top]] = rel[ideal_order][top]
    n_relevant = np.bincount(codes, weights=rel > 0, minlength=n_users)
    return _Ranked(ranked, ideal, n_ranked, n_relevant)


def _rank_matrix(rel, score, k):
    """Top-k view from (n_users, n_items) matrices (catalogue mode)."""
    n_users, n_items = rel.shape
    excluded = ~np.isfinite(score)
    filled = np.where(excluded, -np.inf, score)
    kk = min(k, n_items)
    kth = np.partition(filled, n_items - kk, axis=1)[:, n_items - kk]
    # Candidates: every rankable item scoring at least the k-th best (ties included).
    rows, cols = np.nonzero((filled >= kth[:, None]) & ~excluded)
    view = _rank_groups(rows, n_users, rel[rows, cols], filled[rows, cols], k)
    # The ideal ordering and relevant counts use every item, not just candidates.
    ideal = -np.partition(-rel, kk - 1, axis=1)[:, :kk]
    ideal = -np.sort(-ideal, axis=1)
    if kk < k:
        ideal = np.pad(ideal, ((0, 0), (0, k - kk)))
    view.ideal = ideal
    view.n_ranked = np.minimum((~excluded).sum(axis=1), k)
    view.n_relevant = (rel > 0).sum(axis=1)
    return view


def _position_in_group(sorted_codes):
    """0-based position of each element within its run of equal codes."""
    n = len(sorted_codes)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    starts = np.flatnonzero(np.r_[True, sorted_codes[1:] != sorted_codes[:-1]])
    run_lengths = np.diff(np.r_[starts, n])
    return np.arange(n) - np.repeat(starts, run_lengths)


def _ndcg(ranked, gain):
    k = ranked.rel.shape[1]
    discount = 1.0 / np.log2(np.arange(2, k + 2))
    # nDCG is a ratio, so each user's gains are divided by the gain of their most
    # relevant item: huge ratings (or 2 ** rating) then cannot overflow to inf.
    top = ranked.ideal[:, :1]  # the user's largest relevance (ideal is sorted)
    if gain == "exponential":
        # (2 ** rel - 1) / 2 ** top, computed without forming 2 ** rel.
        gains = np.exp2(ranked.rel - top) - np.exp2(-top)
        ideal = np.exp2(ranked.ideal - top) - np.exp2(-top)
    else:
        scale = np.where(top > 0, top, 1.0)
        gains, ideal = ranked.rel / scale, ranked.ideal / scale
    dcg = gains @ discount
    idcg = ideal @ discount
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(idcg > 0, dcg / np.where(idcg > 0, idcg, 1.0), 0.0)


def _average(values, name, stacklevel=3):
    """Mean of per-user ``values`` over the users where they are defined (not nan)."""
    defined = ~np.isnan(values)
    if not np.any(defined):
        warnings.warn(
            f"{name} is undefined: no user has a relevant item; returning nan.",
            UndefinedMetricWarning,
            stacklevel=stacklevel,
        )
        return float("nan")
    return float(np.mean(values[defined]))


def _per_user(ranked, metric, *, gain="linear"):
    """Per-user values of a metric from a top-k view (``nan`` where undefined)."""
    rel = ranked.rel
    defined = ranked.n_relevant > 0
    if metric == "ndcg":
        values = _ndcg(ranked, gain)
    elif metric == "precision":
        values = rel.sum(axis=1) / np.maximum(ranked.n_ranked, 1)
    elif metric == "recall":
        values = rel.sum(axis=1) / np.maximum(ranked.n_relevant, 1)
    elif metric == "hit_rate":
        values = (rel.sum(axis=1) > 0).astype(np.float64)
    elif metric == "map":
        ranks = np.arange(1, rel.shape[1] + 1)
        denominator = np.maximum(np.minimum(rel.shape[1], ranked.n_relevant), 1)
        values = (np.cumsum(rel, axis=1) / ranks * rel).sum(axis=1) / denominator
    elif metric == "mrr":
        first = np.argmax(rel > 0, axis=1)
        values = np.where(rel.any(axis=1), 1.0 / (first + 1.0), 0.0)
    else:  # pragma: no cover - guarded by the callers
        raise ValueError(f"Unknown ranking metric {metric!r}.")
    return np.where(defined, values, np.nan)


def _rank_recommendations(
    rec_codes, rec_pos, rec_rel, n_ranked, truth_codes, truth_rel, n_users, k
):
    """Top-k view from recommendation lists and the users' true relevances.

    Parameters
    ----------
    rec_codes, rec_pos, rec_rel : ndarray of shape (n_recommended,)
        User code, 0-based rank and relevance of every recommended item.
    n_ranked : ndarray of shape (n_users,)
        Length of each user's list.
    truth_codes, truth_rel : ndarray of shape (n_truth,)
        User code and relevance of every held-out item.
    """
    keep = rec_pos < k
    rel = np.zeros((n_users, k))
    rel[rec_codes[keep], rec_pos[keep]] = rec_rel[keep]
    order = np.lexsort((-truth_rel, truth_codes))
    codes = truth_codes[order]
    pos = _position_in_group(codes)
    top = pos < k
    ideal = np.zeros((n_users, k))
    ideal[codes[top], pos[top]] = truth_rel[order][top]
    n_relevant = np.bincount(truth_codes, weights=truth_rel > 0, minlength=n_users)
    return _Ranked(rel, ideal, np.minimum(n_ranked, k), n_relevant)
