"""Cold-start scoring: adapt a copy of a fitted recommender to each test user, score it.

The protocol behind :func:`make_cold_start_scorer` and :func:`cold_start_report`:

1. Each test user's rows are put in an order: a random one (``support="random"``) or
   row order / time order (``support="first"``, with ``timestamp_column``).
2. The first ``n_support`` rows of that order are the user's *support set*; the rows
   after them (or, with ``n_query``, the last ``n_query`` rows of the order) are the
   *query set*. ``n_support=None`` with ``n_query`` makes every non-query row support.
   Users with too few rows for both (at most ``n_support`` rows, or fewer than
   ``n_support + n_query``) are skipped.
3. A deep copy of the fitted estimator receives every test user's support rows in
   **one** ``partial_fit`` call; the estimator contract says ``partial_fit`` adapts the
   users it is given and leaves every other user alone, so one call is equivalent to
   one per user and much faster. The caller's estimator is never mutated.
4. The query rows are scored with ``predict`` (rating errors and *candidate* ranking
   metrics: each user's query items ranked by the predicted score) or the users get
   ``recommend(users, n=k, exclude_seen=True)`` (*catalogue* metrics, named
   ``catalog_*``: the whole catalogue ranked, the query items are the relevant ones;
   a (user, item) pair with several query rows counts once, with its highest
   relevance, since a recommendation list holds each item once).
5. Every metric is computed per user, then averaged over users.

Metric names: ``"ndcg"``, ``"precision"``, ``"recall"``, ``"hit_rate"``, ``"map"``,
``"mrr"`` (ranking of the query items), the same with a ``"catalog_"`` prefix (ranking
of the catalogue), ``"catalog_coverage"``, ``"rmse"``, ``"mae"``. A cut-off can be
written into the name: ``"ndcg@3"`` is ``"ndcg"`` with ``k=3``.
"""

from __future__ import annotations

import copy
import numbers
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.base import clone

from ..utils._data import check_interactions, check_timestamps
from ..utils._random import check_random_state
from ._ranking import (
    _average,
    _binarise,
    _binary,
    _check_option,
    _graded,
    _per_user,
    _position_in_group,
    _rank_groups,
    _rank_recommendations,
    catalog_coverage,
    hit_rate_at_k,
    map_at_k,
    mrr_at_k,
    ndcg_at_k,
    precision_at_k,
    recall_at_k,
)
from ._regression import mae, rmse

__all__ = ["make_cold_start_scorer", "cold_start_report"]

_RANKING = ("ndcg", "precision", "recall", "hit_rate", "map", "mrr")
_ERRORS = ("rmse", "mae")
_CATALOG = tuple(f"catalog_{name}" for name in _RANKING) + ("catalog_coverage",)
_ALL_METRICS = _RANKING + _CATALOG + _ERRORS
_FUNCTIONS = {
    ndcg_at_k: "ndcg",
    precision_at_k: "precision",
    recall_at_k: "recall",
    hit_rate_at_k: "hit_rate",
    map_at_k: "map",
    mrr_at_k: "mrr",
    catalog_coverage: "catalog_coverage",
    rmse: "rmse",
    mae: "mae",
}
DEFAULT_K = 10


@dataclass(frozen=True)
class _Metric:
    """A parsed metric: canonical name and cut-off (internal)."""

    name: str
    k: int | None

    @property
    def label(self) -> str:
        return self.name if self.k is None else f"{self.name}@{self.k}"

    @property
    def catalog(self) -> bool:
        return self.name.startswith("catalog_")

    @property
    def sign(self) -> float:
        return -1.0 if self.name in _ERRORS else 1.0


def make_cold_start_scorer(
    metric,
    *,
    k=None,
    n_support=10,
    n_query=None,
    support="random",
    timestamp_column=None,
    threshold="auto",
    gain="linear",
    n_items=None,
    random_state=None,
):
    """Make a scorer that adapts a fitted recommender to each test user, then scores.

    The returned callable ``scorer(estimator, X_test, y_test) -> float`` follows the
    protocol in the module docstring: per test user, ``n_support`` rows go to
    ``partial_fit`` (on a deep copy of ``estimator``, all users in one call) and the
    remaining rows are scored. It plugs into ``GridSearchCV(scoring=...)``,
    ``cross_val_score`` and friends; greater is better, so ``"rmse"`` and ``"mae"``
    are returned negated, like scikit-learn's ``neg_*`` scorers.

    Parameters
    ----------
    metric : str or callable
        One of ``"ndcg"``, ``"precision"``, ``"recall"``, ``"hit_rate"``, ``"map"``,
        ``"mrr"`` (rank each user's query items by ``predict``), the same names
        prefixed with ``"catalog_"`` (rank the whole catalogue with ``recommend``;
        the query items are the relevant ones), ``"catalog_coverage"``, ``"rmse"``,
        ``"mae"``; optionally with the cut-off, ``"ndcg@3"``. The functions of
        :mod:`sklearn_metarec.metrics` are accepted too (``ndcg_at_k`` is ``"ndcg"``).
    k : int, default=None
        Rank cut-off for ranking metrics, at least 1; ``None`` means 10 (or the
        ``@k`` in ``metric``). Must be ``None`` for ``"rmse"`` and ``"mae"``.
    n_support : int or None, default=10
        Support rows per test user, at least 0 (0: no adaptation, the cold prior is
        scored). ``None`` (needs ``n_query``): every row that is not a query row.
    n_query : int, default=None
        ``None``: every row after the support rows is a query row. An int (at least
        1): the last ``n_query`` rows of each user's order are the query rows.
    support : {"random", "first"}, default="random"
        ``"random"``: a random order of each user's rows (drawn from
        ``random_state``). ``"first"``: row order, or time order when
        ``timestamp_column`` is given (ties in row order), so the support is the
        user's earliest rows.
    timestamp_column : str, default=None
        Column of ``X`` holding times, used by ``support="first"``.
    threshold : float or "auto", default="auto"
        Relevance threshold of the binary ranking metrics (see
        :func:`~sklearn_metarec.metrics.precision_at_k`). nDCG uses the graded
        ``y`` itself as relevance.
    gain : {"linear", "exponential"}, default="linear"
        nDCG gain, see :func:`~sklearn_metarec.metrics.ndcg_at_k`.
    n_items : int, default=None
        Catalogue size for ``"catalog_coverage"``; ``None``: the number of distinct
        items among the scored rows and the recommendations.
    random_state : int, RandomState instance or None, default=None
        Draws the random support order. An int gives every call the same draws, so
        all candidates of a grid search are scored on the same support sets.

    Returns
    -------
    scorer : callable
        ``scorer(estimator, X, y) -> float``.

    Examples
    --------
    A toy recommender (a user's mean rating, learnt by ``partial_fit``):

    >>> import numpy as np, pandas as pd
    >>> from sklearn.base import BaseEstimator
    >>> class UserMean(BaseEstimator):
    ...     def fit(self, X, y):
    ...         self.means_ = pd.Series(y).groupby(X["user_id"].to_numpy()).mean()
    ...         return self
    ...     def partial_fit(self, X, y):
    ...         new = pd.Series(y).groupby(X["user_id"].to_numpy()).mean()
    ...         self.means_ = pd.concat([self.means_.drop(new.index, errors="ignore"),
    ...                                  new])
    ...         return self
    ...     def predict(self, X):
    ...         return self.means_.reindex(X["user_id"]).fillna(3.0).to_numpy()
    >>> X = pd.DataFrame({"user_id": np.repeat(["a", "b"], 4), "item_id": range(8)})
    >>> y = np.array([5, 5, 4, 5, 1, 2, 1, 1.0])
    >>> model = UserMean().fit(X.iloc[:0], y[:0])
    >>> scorer = make_cold_start_scorer("mae", n_support=2, support="first")
    >>> scorer(model, X, y)  # a: |5-4|, |5-5|; b: |1.5-1|, |1.5-1|
    -0.5
    """
    spec = _parse_metric(metric, k)
    _check_support_arguments([n_support], n_query, support)
    _check_option(gain, ("linear", "exponential"), "gain")
    _binary(threshold)  # validates threshold
    return _ColdStartScorer(
        spec,
        metric=metric,
        k=k,
        n_support=n_support,
        n_query=n_query,
        support=support,
        timestamp_column=timestamp_column,
        threshold=threshold,
        gain=gain,
        n_items=n_items,
        random_state=random_state,
    )


class _ColdStartScorer:
    """Callable returned by :func:`make_cold_start_scorer`."""

    def __init__(self, spec, **kwargs):
        self._spec = spec
        self._kwargs = kwargs

    def __call__(self, estimator, X, y, sample_weight=None):
        if sample_weight is not None:
            raise ValueError("Cold-start scorers do not support sample_weight.")
        kw = self._kwargs
        data = check_interactions(
            X, y, estimator_name="Cold-start scorer", **_id_columns(estimator)
        )
        results = _evaluate(
            estimator,
            X,
            data,
            [self._spec],
            support_sizes=[kw["n_support"]],
            n_query=kw["n_query"],
            support=kw["support"],
            timestamp_column=kw["timestamp_column"],
            threshold=kw["threshold"],
            gain=kw["gain"],
            n_items=kw["n_items"],
            rng=check_random_state(kw["random_state"]),
        )
        return self._spec.sign * results[0]["value"]

    def __repr__(self):
        args = [repr(self._kwargs["metric"])]
        defaults = {
            "k": None,
            "n_support": 10,
            "n_query": None,
            "support": "random",
            "timestamp_column": None,
            "threshold": "auto",
            "gain": "linear",
            "n_items": None,
            "random_state": None,
        }
        for name, default in defaults.items():
            value = self._kwargs[name]
            if value is not default and value != default:
                args.append(f"{name}={value!r}")
        return f"make_cold_start_scorer({', '.join(args)})"


def cold_start_report(
    estimator,
    X,
    y,
    cv,
    *,
    support_sizes=(1, 3, 5, 10, 20),
    metrics=("mae", "rmse", "ndcg@1", "ndcg@3"),
    n_query=None,
    support="random",
    timestamp_column=None,
    threshold="auto",
    gain="linear",
    random_state=None,
):
    """Every metric, per split (scenario) and support size, as a tidy DataFrame.

    For each ``(train, test)`` split of ``cv``, a clone of ``estimator`` is fitted on
    the train rows (a split whose train rows equal the previous split's reuses that
    fit, so the four scenarios of :class:`~sklearn_metarec.model_selection.MeLUSplit`
    cost one fit). The test rows are then scored as by
    :func:`make_cold_start_scorer` at each support size. Within a split the query
    rows are the same at every support size: with ``n_query=None`` they are the rows
    after the first ``max(support_sizes)`` of each user's order, and users with at
    most ``max(support_sizes)`` rows are skipped at every size; the support of size
    ``s`` is the first ``s`` rows of the order. So the curve compares the same users
    on the same query items.

    Parameters
    ----------
    estimator : estimator
        Unfitted recommender with ``fit``, ``partial_fit``, ``predict`` (and
        ``recommend`` for ``catalog_*`` metrics). It is cloned, never fitted itself.
    X : DataFrame or array-like of shape (n_rows, n_columns)
        Interaction log (user id, item id, side columns).
    y : array-like of shape (n_rows,)
        Ratings or 0/1 labels.
    cv : cross-validation splitter or iterable of (train, test) index arrays
        E.g. :class:`~sklearn_metarec.model_selection.ColdStartSplit` or
        :class:`~sklearn_metarec.model_selection.MeLUSplit`.
    support_sizes : sequence of int or None, default=(1, 3, 5, 10, 20)
        Support rows per test user; ``None`` means every non-query row (needs
        ``n_query``).
    metrics : sequence of str, default=("mae", "rmse", "ndcg@1", "ndcg@3")
        Metric names as in :func:`make_cold_start_scorer`, ``"name@k"`` for a
        cut-off. Errors are reported as they are (lower is better), not negated.
    n_query : int, default=None
        See :func:`make_cold_start_scorer`.
    support : {"random", "first"}, default="random"
        See :func:`make_cold_start_scorer`.
    timestamp_column : str, default=None
        See :func:`make_cold_start_scorer`.
    threshold : float or "auto", default="auto"
        See :func:`make_cold_start_scorer`.
    gain : {"linear", "exponential"}, default="linear"
        See :func:`make_cold_start_scorer`.
    random_state : int, RandomState instance or None, default=None
        Draws the random support orders.

    Returns
    -------
    report : DataFrame
        One row per split, support size and metric, with columns ``split`` (int),
        ``scenario`` (the splitter's name for the split, e.g. ``"user_cold"``;
        ``None`` for a plain iterable), ``n_support`` (nullable int; ``<NA>`` for
        ``None``), ``metric`` (e.g. ``"ndcg@3"``), ``value`` (float) and ``n_users``
        (users the value averages over). A split with no user to score (e.g. an
        empty scenario) gets ``nan`` values and ``n_users`` 0.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from sklearn.base import BaseEstimator
    >>> from sklearn_metarec.model_selection import ColdStartSplit
    >>> class GlobalMean(BaseEstimator):
    ...     def fit(self, X, y):
    ...         self.mean_ = float(np.mean(y))
    ...         return self
    ...     def partial_fit(self, X, y):
    ...         return self
    ...     def predict(self, X):
    ...         return np.full(len(X), self.mean_)
    >>> rng = np.random.RandomState(0)
    >>> X = pd.DataFrame({"user_id": np.repeat(np.arange(20), 8),
    ...                   "item_id": rng.randint(0, 30, 160)})
    >>> y = rng.randint(1, 6, 160).astype(float)
    >>> report = cold_start_report(GlobalMean(), X, y,
    ...                            ColdStartSplit("user", n_splits=2, random_state=0),
    ...                            support_sizes=(1, 3), metrics=["mae"])
    >>> report.drop(columns="value")
       split   scenario  n_support metric  n_users
    0      0  user_cold          1    mae        4
    1      0  user_cold          3    mae        4
    2      1  user_cold          1    mae        4
    3      1  user_cold          3    mae        4
    """
    specs = [_parse_metric(metric, None) for metric in metrics]
    if not specs:
        raise ValueError("metrics is empty; name at least one metric.")
    support_sizes = list(support_sizes)
    _check_support_arguments(support_sizes, n_query, support)
    _check_option(gain, ("linear", "exponential"), "gain")
    _binary(threshold)  # validates threshold
    data = check_interactions(
        X, y, estimator_name="cold_start_report", **_id_columns(estimator)
    )
    n_items = len(pd.unique(data.items))
    rng = check_random_state(random_state)

    if hasattr(cv, "split"):
        splits = list(cv.split(X, y))
        names = cv._split_names() if hasattr(cv, "_split_names") else None
    else:
        splits = list(cv)
        names = None
    if not splits:
        raise ValueError("cv yielded no split.")
    if names is None or len(names) != len(splits):
        names = [None] * len(splits)

    rows = []
    previous_train, fitted = None, None
    for index, (train, test) in enumerate(splits):
        train, test = np.asarray(train), np.asarray(test)
        if previous_train is None or not np.array_equal(train, previous_train):
            fitted = clone(estimator).fit(_take(X, train), data.y[train])
            previous_train = train
        if len(test) == 0:
            results = _empty_results(specs, support_sizes)
        else:
            X_test = _take(X, test)
            results = _evaluate(
                fitted,
                X_test,
                check_interactions(X_test, data.y[test], **_id_columns(estimator)),
                specs,
                support_sizes=support_sizes,
                n_query=n_query,
                support=support,
                timestamp_column=timestamp_column,
                threshold=threshold,
                gain=gain,
                n_items=n_items,
                rng=rng,
                raise_if_empty=False,
            )
        for result in results:
            rows.append({"split": index, "scenario": names[index], **result})
    report = pd.DataFrame(
        rows, columns=["split", "scenario", "n_support", "metric", "value", "n_users"]
    )
    report["n_support"] = report["n_support"].astype("Int64")
    return report


# --------------------------------------------------------------------------------------
# Internals
# --------------------------------------------------------------------------------------


def _final_step(estimator):
    """What serves ``recommend`` and ``partial_fit``: the estimator, or the last step.

    A :class:`~sklearn_metarec.pipeline.RecommenderPipeline` (or any estimator with
    ``recommend`` or ``partial_fit`` of its own) serves itself; for a plain
    scikit-learn Pipeline, which has neither, it is the last step.
    """
    steps = getattr(estimator, "steps", None)
    if steps and not (
        hasattr(estimator, "recommend") or hasattr(estimator, "partial_fit")
    ):
        return steps[-1][1]
    return estimator


def _id_columns(estimator) -> dict:
    """The id column names of the recommender (a Pipeline's last step), if it
    names them; the data contract's defaults otherwise."""
    steps = getattr(estimator, "steps", None)
    final = steps[-1][1] if steps else estimator
    params = final.get_params(deep=False) if hasattr(final, "get_params") else {}
    return {
        "user_column": params.get("user_column"),
        "item_column": params.get("item_column"),
    }


def _adapt(estimator, X, y):
    """``partial_fit`` the estimator, or a Pipeline's last step on transformed rows.

    An estimator with ``partial_fit`` (a recommender, a
    :class:`~sklearn_metarec.pipeline.RecommenderPipeline`) adapts itself.
    scikit-learn's Pipeline has no ``partial_fit``; its earlier steps are fitted
    transformers, so the support rows pass through them (``transform``) and the
    final recommender adapts to the result.
    """
    if hasattr(estimator, "partial_fit"):
        estimator.partial_fit(X, y)
        return
    final = _final_step(estimator)
    if final is estimator:
        raise ValueError(
            f"{type(estimator).__name__} has no partial_fit: the cold-start scorer "
            "adapts the estimator to each test user's support rows."
        )
    for _, step in estimator.steps[:-1]:
        if step is not None and step != "passthrough":
            X = step.transform(X)
    final.partial_fit(X, y)


def _parse_metric(metric, k):
    if callable(metric) and not isinstance(metric, str):
        if metric not in _FUNCTIONS:
            raise ValueError(
                f"metric must be a name in {list(_ALL_METRICS)} or one of the "
                f"functions of sklearn_metarec.metrics; got {metric!r}."
            )
        name, k_in_name = _FUNCTIONS[metric], None
    elif isinstance(metric, str):
        name, _, k_text = metric.partition("@")
        k_in_name = None
        if k_text:
            if not k_text.isdigit() or int(k_text) < 1:
                raise ValueError(f"Bad cut-off in metric {metric!r}: use 'name@k'.")
            k_in_name = int(k_text)
        if name not in _ALL_METRICS:
            raise ValueError(
                f"Unknown metric {name!r}; choose one of {list(_ALL_METRICS)}, "
                "optionally with a cut-off as in 'ndcg@3'."
            )
    else:
        raise ValueError(f"metric must be a str or a metric function, got {metric!r}.")
    if k is not None and (isinstance(k, bool) or not isinstance(k, numbers.Integral)):
        raise ValueError(f"k must be an int >= 1 or None, got {k!r}.")
    if k is not None and k < 1:
        raise ValueError(f"k must be an int >= 1 or None, got {k!r}.")
    if k is not None and k_in_name is not None and k != k_in_name:
        raise ValueError(f"metric {metric!r} and k={k} give two different cut-offs.")
    k = k if k is not None else k_in_name
    if name in _ERRORS:
        if k is not None:
            raise ValueError(f"{name} takes no cut-off k; got k={k}.")
        return _Metric(name, None)
    return _Metric(name, int(k) if k is not None else DEFAULT_K)


def _check_support_arguments(support_sizes, n_query, support):
    _check_option(support, ("random", "first"), "support")
    if not support_sizes:
        raise ValueError("support_sizes is empty.")
    for size in support_sizes:
        if size is None:
            if n_query is None:
                raise ValueError(
                    "n_support=None (every non-query row is support) needs n_query."
                )
            continue
        if isinstance(size, bool) or not isinstance(size, numbers.Integral) or size < 0:
            raise ValueError(f"n_support must be an int >= 0 or None, got {size!r}.")
    if n_query is not None and (
        isinstance(n_query, bool) or not isinstance(n_query, numbers.Integral)
    ):
        raise ValueError(f"n_query must be an int >= 1 or None, got {n_query!r}.")
    if n_query is not None and n_query < 1:
        raise ValueError(f"n_query must be an int >= 1 or None, got {n_query!r}.")


def _take(X, indices):
    """Rows of X (DataFrame or array-like) at integer positions, order kept."""
    if hasattr(X, "iloc"):
        return X.iloc[indices]
    return np.asarray(X)[indices]


def _user_order_positions(codes, *, support, timestamps, rng):
    """Position of each row in its user's order (0 = first support row)."""
    n = len(codes)
    rows = np.arange(n)
    if support == "first":
        keys = (rows, codes) if timestamps is None else (rows, timestamps, codes)
    else:
        keys = (rng.permutation(n), codes)
    order = np.lexsort(keys)
    positions = np.empty(n, dtype=np.int64)
    positions[order] = _position_in_group(codes[order])
    return positions


def _timestamps(data, timestamp_column):
    if timestamp_column is None:
        return None
    if timestamp_column not in data.side.columns:
        raise ValueError(
            f"timestamp_column {timestamp_column!r} is not a column of X; X has "
            f"columns {data.columns}."
        )
    return check_timestamps(data.side[timestamp_column], timestamp_column)


def _evaluate(
    estimator,
    X,
    data,
    specs,
    *,
    support_sizes,
    n_query,
    support,
    timestamp_column,
    threshold,
    gain,
    n_items,
    rng,
    raise_if_empty=True,
):
    """Adapt a copy of ``estimator`` per support size and compute ``specs``.

    Returns a list of dicts with keys ``n_support``, ``metric``, ``value``,
    ``n_users``. When no user can be scored: a ValueError, or (``raise_if_empty=False``)
    ``nan`` values for 0 users.
    """
    codes, user_ids = pd.factorize(data.users)
    counts = np.bincount(codes)
    positions = _user_order_positions(
        codes, support=support, timestamps=_timestamps(data, timestamp_column), rng=rng
    )
    largest = max((s for s in support_sizes if s is not None), default=0)
    if n_query is None:
        query = positions >= largest
        eligible = counts > largest
    else:
        query = positions >= counts[codes] - n_query
        needed = largest + n_query
        if any(s is None for s in support_sizes):
            needed = max(needed, n_query + 1)
        eligible = counts >= needed
    query &= eligible[codes]
    if not query.any():
        if not raise_if_empty:
            return _empty_results(specs, support_sizes)
        detail = (
            f"more than n_support={largest}"
            if n_query is None
            else f"at least {needed} (support + n_query={n_query})"
        )
        raise ValueError(
            f"No test user has enough rows to score: users need {detail} rows; the "
            f"largest user has {counts.max()}."
        )
    query_rows = np.flatnonzero(query)
    query_codes, query_users = pd.factorize(codes[query_rows])
    query_y = data.y[query_rows]
    n_users = len(query_users)

    results = []
    for size in support_sizes:
        in_support = eligible[codes] & ~query
        if size is not None:
            in_support &= positions < size
        adapted = copy.deepcopy(estimator)
        support_rows = np.flatnonzero(in_support)
        if len(support_rows):
            _adapt(adapted, _take(X, support_rows), data.y[support_rows])
        scores = None
        if any(not spec.catalog for spec in specs):
            scores = np.asarray(adapted.predict(_take(X, query_rows)), dtype=np.float64)
            if scores.shape != (len(query_rows),):
                raise ValueError(
                    f"predict returned shape {scores.shape} for {len(query_rows)} "
                    "rows; expected one score per row."
                )
        recommendations = None
        catalog_specs = [spec for spec in specs if spec.catalog]
        if catalog_specs:
            n = max(spec.k for spec in catalog_specs)
            raw_users = user_ids[query_users]
            recommendations = _final_step(adapted).recommend(
                list(raw_users), n=n, exclude_seen=True
            )
            if len(recommendations) != n_users:
                raise ValueError(
                    f"recommend returned {len(recommendations)} lists for {n_users} "
                    "users."
                )
        for spec in specs:
            value, n_defined = _compute(
                spec,
                query_codes,
                n_users,
                query_y,
                data.items[query_rows],
                scores,
                recommendations,
                threshold=threshold,
                gain=gain,
                n_items=n_items,
            )
            results.append(
                {
                    "n_support": size,
                    "metric": spec.label,
                    "value": value,
                    "n_users": n_defined,
                }
            )
    return results


def _empty_results(specs, support_sizes):
    return [
        {"n_support": size, "metric": spec.label, "value": np.nan, "n_users": 0}
        for size in support_sizes
        for spec in specs
    ]


def _compute(
    spec, codes, n_users, y, items, scores, recommendations, *, threshold, gain, n_items
):
    """One metric's mean over users and the number of users it averages."""
    if spec.name in _ERRORS:
        function = rmse if spec.name == "rmse" else mae
        return function(y, scores, users=codes), n_users
    if spec.name == "catalog_coverage":
        lists = [np.asarray(r, dtype=object)[: spec.k] for r in recommendations]
        if n_items is None:
            n_items = len(pd.unique(np.concatenate([items.astype(object), *lists])))
        return catalog_coverage(lists, max(n_items, 1)), len(lists)
    base = spec.name.removeprefix("catalog_")
    relevance = _graded(y) if base == "ndcg" else _binarise(y, threshold)
    if spec.catalog:
        ranked = _ranked_from_lists(
            recommendations, codes, n_users, items, relevance, spec.k
        )
    else:
        k = min(spec.k, int(np.bincount(codes).max()))  # same values, less memory
        ranked = _rank_groups(codes, n_users, relevance, scores, k)
    values = _per_user(ranked, base, gain=gain)
    n_defined = int(np.sum(~np.isnan(values)))
    return _average(values, spec.label, stacklevel=4), n_defined


def _ranked_from_lists(recommendations, codes, n_users, items, relevance, k):
    """Top-k view from ``recommend`` lists; query rows give the true relevance."""
    lists = [np.asarray(r, dtype=object).ravel()[:k] for r in recommendations]
    lengths = np.array([len(r) for r in lists], dtype=np.int64)
    rec_codes = np.repeat(np.arange(n_users), lengths)
    rec_items = np.concatenate(lists) if lengths.sum() else np.zeros(0, dtype=object)
    rec_pos = _position_in_group(rec_codes)
    # Shared integer codes for the item ids of both sides.
    item_codes, item_uniques = pd.factorize(
        np.concatenate([items.astype(object), rec_items])
    )
    n_item_codes = max(len(item_uniques), 1)
    truth_keys = codes.astype(np.int64) * n_item_codes + item_codes[: len(items)]
    rec_keys = rec_codes * n_item_codes + item_codes[len(items) :]
    # A user may rate an item twice: keep the highest relevance.
    truth = pd.Series(relevance).groupby(truth_keys).max()
    rec_rel = truth.reindex(rec_keys).fillna(0.0).to_numpy()
    truth_codes = (truth.index.to_numpy() // n_item_codes).astype(np.int64)
    return _rank_recommendations(
        rec_codes,
        rec_pos,
        rec_rel,
        lengths,
        truth_codes,
        truth.to_numpy(),
        n_users,
        k,
    )
