"""Cold-start curve: a metric against the number of support ratings per user."""

from __future__ import annotations

import numbers

import numpy as np
import pandas as pd

from sklearn_metarec.metrics import cold_start_report

from ..utils._random import check_random_state

__all__ = ["ColdStartCurveDisplay"]

_LOWER_IS_BETTER = ("rmse", "mae")
_REQUIRED_COLUMNS = ("estimator", "n_support", "value")


class ColdStartCurveDisplay:
    """Cold-start curve: a metric against the number of support ratings per user.

    One line per estimator shows how well a recommender serves a new user after
    ``partial_fit`` on 1, 3, 5, ... of that user's ratings (its *support set*). The
    protocol behind the numbers is the one of
    :func:`~sklearn_metarec.metrics.cold_start_report`.

    Build it with :meth:`from_estimator` (fits and scores the estimators) or
    :meth:`from_predictions` (plots a tidy table of results you already have), or
    from arrays with the constructor and then :meth:`plot`. All attributes are
    stored as given; :meth:`plot` checks them.

    Parameters
    ----------
    support_sizes : array-like of shape (n_sizes,)
        Number of support ratings per user at each point of the curve, ints >= 0;
        ``None`` stands for "every rating that is not a query rating" and is drawn
        last, labelled ``"all"``.
    scores : array-like of shape (n_estimators, n_sizes)
        Metric value of each estimator at each support size (a 1-D array is one
        estimator). ``nan`` leaves a gap in the line.
    estimator_names : list of str of length n_estimators
        Legend label of each line.
    metric_name : str
        Name of the metric, the y-axis label (e.g. ``"ndcg@10"``).
    scores_std : array-like of shape (n_estimators, n_sizes), default=None
        Spread of the metric across cross-validation splits, drawn as a band or as
        error bars around each line; ``None`` draws none.

    Attributes
    ----------
    ax_ : matplotlib Axes
        Axes with the curves.
    figure_ : matplotlib Figure
        Figure containing the curves.
    lines_ : list of matplotlib Line2D
        One line per estimator, in ``estimator_names`` order.
    fill_between_ : list of matplotlib PolyCollection or None
        The bands of ``scores_std`` when drawn with ``std_display_style=
        "fill_between"``, else ``None``.
    errorbar_ : list of matplotlib ErrorbarContainer or None
        The error bars of ``scores_std`` when drawn with ``std_display_style=
        "errorbar"``, else ``None``.
    report_ : DataFrame
        Only on displays made by :meth:`from_estimator` or :meth:`from_predictions`:
        the tidy rows the curve was computed from (``from_estimator``: the output of
        :func:`~sklearn_metarec.metrics.cold_start_report` per estimator, with an
        ``estimator`` column first).

    See Also
    --------
    sklearn_metarec.metrics.cold_start_report : The numbers behind the curve.
    sklearn_metarec.metrics.make_cold_start_scorer : One point of the curve as a
        scorer for grid searches.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import pandas as pd
    >>> from sklearn_metarec.inspection import ColdStartCurveDisplay
    >>> results = pd.DataFrame({
    ...     "estimator": ["bias"] * 3 + ["knn"] * 3,
    ...     "n_support": [1, 5, 20] * 2,
    ...     "metric": "ndcg@10",
    ...     "value": [0.80, 0.82, 0.84, 0.79, 0.83, 0.87],
    ... })
    >>> display = ColdStartCurveDisplay.from_predictions(results)
    >>> [line.get_label() for line in display.lines_]
    ['bias', 'knn']
    >>> display.ax_.get_ylabel()
    'ndcg@10'

    From estimators, on a synthetic log:

    >>> from sklearn_metarec.baselines import BiasRecommender, ItemKNNRecommender
    >>> from sklearn_metarec.datasets import make_interactions
    >>> from sklearn_metarec.model_selection import ColdStartSplit
    >>> X, y = make_interactions(n_users=80, n_items=40, n_interactions=1600,
    ...                          random_state=0)
    >>> display = ColdStartCurveDisplay.from_estimator(
    ...     [BiasRecommender(), ItemKNNRecommender()], X, y,
    ...     cv=ColdStartSplit("user", n_splits=2, random_state=0),
    ...     metric="mae", support_sizes=(1, 3, 5), random_state=0)
    >>> display.scores.shape
    (2, 3)
    >>> display.report_.columns.tolist()
    ['estimator', 'split', 'scenario', 'n_support', 'metric', 'value', 'n_users']
    """

    def __init__(
        self, *, support_sizes, scores, estimator_names, metric_name, scores_std=None
    ):
        self.support_sizes = support_sizes
        self.scores = scores
        self.estimator_names = estimator_names
        self.metric_name = metric_name
        self.scores_std = scores_std

    def plot(
        self,
        ax=None,
        *,
        xscale="auto",
        std_display_style="fill_between",
        line_kw=None,
        fill_between_kw=None,
        errorbar_kw=None,
    ):
        """Plot the curves.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Axes to draw on; ``None`` makes a new figure and axes.
        xscale : {"auto", "log", "linear", "categorical"}, default="auto"
            ``"log"``: support sizes on a logarithmic axis, ticked at each size
            (needs every size > 0). ``"linear"``: a linear axis (needs no ``None``
            size). ``"categorical"``: evenly spaced ticks labelled with the sizes.
            ``"auto"``: ``"log"`` when possible, else ``"categorical"``.
        std_display_style : {"fill_between", "errorbar"} or None, \
default="fill_between"
            How ``scores_std`` is drawn: a shaded band, error bars, or not at all.
            Ignored when ``scores_std`` is None.
        line_kw : dict, default=None
            Keyword arguments of ``ax.plot`` for every line (e.g. ``marker``,
            ``linestyle``); they override the defaults.
        fill_between_kw : dict, default=None
            Keyword arguments of ``ax.fill_between`` for the bands.
        errorbar_kw : dict, default=None
            Keyword arguments of ``ax.errorbar`` for the error bars.

        Returns
        -------
        display : ColdStartCurveDisplay
            The display, with ``ax_``, ``figure_`` and ``lines_`` set.
        """
        plt = _pyplot()
        from matplotlib.ticker import NullLocator

        sizes, scores, std, names = self._check_data()
        if xscale not in ("auto", "log", "linear", "categorical"):
            raise ValueError(
                "xscale must be 'auto', 'log', 'linear' or 'categorical'; got "
                f"{xscale!r}."
            )
        if std_display_style not in ("fill_between", "errorbar", None):
            raise ValueError(
                "std_display_style must be 'fill_between', 'errorbar' or None; got "
                f"{std_display_style!r}."
            )
        has_all = any(size is None for size in sizes)
        positive = not has_all and all(size > 0 for size in sizes)
        if xscale == "auto":
            xscale = "log" if positive else "categorical"
        if xscale == "log" and not positive:
            raise ValueError(
                "xscale='log' needs every support size to be an int > 0; got "
                f"{sizes}. Use xscale='categorical'."
            )
        if xscale == "linear" and has_all:
            raise ValueError(
                "xscale='linear' cannot place the support size None ('all'); use "
                "xscale='categorical'."
            )
        if xscale == "categorical":
            x = np.arange(len(sizes), dtype=np.float64)
        else:
            x = np.array(sizes, dtype=np.float64)

        if ax is None:
            _, ax = plt.subplots()

        lines, bands, bars = [], [], []
        for row, name in enumerate(names):
            kw = {"marker": "o", "label": name, **(line_kw or {})}
            (line,) = ax.plot(x, scores[row], **kw)
            lines.append(line)
            if std is None or std_display_style is None:
                continue
            color = line.get_color()
            if std_display_style == "fill_between":
                kw = {"alpha": 0.2, "color": color, "linewidth": 0}
                kw.update(fill_between_kw or {})
                bands.append(
                    ax.fill_between(
                        x, scores[row] - std[row], scores[row] + std[row], **kw
                    )
                )
            else:
                kw = {"fmt": "none", "ecolor": color, "capsize": 3}
                kw.update(errorbar_kw or {})
                bars.append(ax.errorbar(x, scores[row], yerr=std[row], **kw))

        labels = ["all" if size is None else str(size) for size in sizes]
        if xscale == "log":
            ax.set_xscale("log")
            ax.xaxis.set_minor_locator(NullLocator())
        ax.set_xticks(x, labels=labels)
        ax.set_xlabel("Support ratings per user")
        ylabel = str(self.metric_name)
        if ylabel.split("@")[0] in _LOWER_IS_BETTER:
            ylabel += " (lower is better)"
        ax.set_ylabel(ylabel)
        if names:
            ax.legend()

        self.ax_ = ax
        self.figure_ = ax.figure
        self.lines_ = lines
        has_std = std is not None
        self.fill_between_ = (
            bands if has_std and std_display_style == "fill_between" else None
        )
        self.errorbar_ = bars if has_std and std_display_style == "errorbar" else None
        return self

    @classmethod
    def from_predictions(
        cls,
        results,
        *,
        metric=None,
        scenario=None,
        ax=None,
        xscale="auto",
        std_display_style="fill_between",
        line_kw=None,
        fill_between_kw=None,
        errorbar_kw=None,
    ):
        """Plot a tidy table of cold-start results, e.g. from ``cold_start_report``.

        Rows are averaged per estimator and support size (typically over
        cross-validation splits, ignoring ``nan``); when some estimator and size
        has more than one row, their standard deviation is drawn around the line.

        Parameters
        ----------
        results : DataFrame
            One row per result, with columns ``estimator`` (the legend labels, in
            order of first appearance), ``n_support`` (ints >= 0, or missing for
            "all") and ``value`` (the metric). Optional columns: ``metric`` (the
            metric's name; required to select one when there are several) and
            ``scenario`` (as written by
            :func:`~sklearn_metarec.metrics.cold_start_report`). Other columns,
            such as ``split`` and ``n_users``, are ignored.
        metric : str, default=None
            Keep the rows whose ``metric`` is this name (e.g. ``"ndcg@10"``).
            Needed when ``results`` holds several metrics. Without a ``metric``
            column it only names the y axis.
        scenario : str, default=None
            Keep the rows of this scenario (e.g. ``"user_cold"``). Needed when the
            ``scenario`` column holds several.
        ax : matplotlib Axes, default=None
            Axes to draw on; ``None`` makes a new figure and axes.
        xscale : {"auto", "log", "linear", "categorical"}, default="auto"
            See :meth:`plot`.
        std_display_style : {"fill_between", "errorbar"} or None, \
default="fill_between"
            See :meth:`plot`.
        line_kw : dict, default=None
            See :meth:`plot`.
        fill_between_kw : dict, default=None
            See :meth:`plot`.
        errorbar_kw : dict, default=None
            See :meth:`plot`.

        Returns
        -------
        display : ColdStartCurveDisplay
            The plotted display.
        """
        if not isinstance(results, pd.DataFrame):
            raise ValueError(
                "results must be a pandas DataFrame with columns "
                f"{list(_REQUIRED_COLUMNS)}; got {type(results).__name__}."
            )
        missing = [c for c in _REQUIRED_COLUMNS if c not in results.columns]
        if missing:
            raise ValueError(
                f"results is missing the column(s) {missing}; it needs "
                f"{list(_REQUIRED_COLUMNS)} (and 'metric' when it holds several "
                f"metrics). It has {list(results.columns)}."
            )
        if len(results) == 0:
            raise ValueError("results has no rows to plot.")
        frame, metric_name = _select_metric(results, metric)
        frame = _select_scenario(frame, scenario)
        sizes, size_codes = _support_codes(frame["n_support"])
        name_codes, names = pd.factorize(frame["estimator"], use_na_sentinel=False)
        try:
            values = pd.to_numeric(frame["value"], errors="raise").to_numpy(
                dtype=np.float64, na_value=np.nan
            )
        except (TypeError, ValueError) as exc:
            raise ValueError(f"results['value'] must hold numbers: {exc}") from exc

        grouped = pd.DataFrame(
            {"row": name_codes, "col": size_codes, "value": values}
        ).groupby(["row", "col"])["value"]
        shape = (len(names), len(sizes))
        scores = np.full(shape, np.nan)
        std = np.full(shape, np.nan)
        counts = np.zeros(shape, dtype=np.int64)
        for (row, col), group in grouped:
            finite = group.dropna().to_numpy()
            counts[row, col] = len(finite)
            if len(finite):
                scores[row, col] = finite.mean()
                std[row, col] = finite.std()
        if not (counts > 1).any():
            std = None

        display = cls(
            support_sizes=sizes,
            scores=scores,
            estimator_names=[str(name) for name in names],
            metric_name=metric_name,
            scores_std=std,
        )
        display.report_ = results
        return display.plot(
            ax=ax,
            xscale=xscale,
            std_display_style=std_display_style,
            line_kw=line_kw,
            fill_between_kw=fill_between_kw,
            errorbar_kw=errorbar_kw,
        )

    @classmethod
    def from_estimator(
        cls,
        estimators,
        X,
        y,
        *,
        cv,
        metric="ndcg",
        k=10,
        support_sizes=(1, 3, 5, 10, 20),
        scenario=None,
        n_query=None,
        support="random",
        timestamp_column=None,
        threshold="auto",
        gain="linear",
        random_state=None,
        ax=None,
        xscale="auto",
        std_display_style="fill_between",
        line_kw=None,
        fill_between_kw=None,
        errorbar_kw=None,
    ):
        """Fit, adapt and score recommenders at each support size, then plot.

        Each estimator goes through
        :func:`~sklearn_metarec.metrics.cold_start_report` on the **same** splits
        and the same support draws: ``cv`` is split once, and one seed drawn from
        ``random_state`` orders every user's ratings for every estimator. The curve
        is the mean over splits; the spread across splits is drawn around it.

        Parameters
        ----------
        estimators : estimator, list of estimators or dict of str to estimator
            Unfitted recommenders (cloned, never fitted themselves). Lines are
            labelled with the dict keys, else with the class names (a repeated
            class name gets a number).
        X : DataFrame or array-like of shape (n_rows, n_columns)
            Interaction log: user id, item id, side columns.
        y : array-like of shape (n_rows,)
            Ratings or 0/1 labels.
        cv : cross-validation splitter or iterable of (train, test) index arrays
            E.g. :class:`~sklearn_metarec.model_selection.ColdStartSplit` or
            :class:`~sklearn_metarec.model_selection.MeLUSplit`.
        metric : str, default="ndcg"
            A metric name of :func:`~sklearn_metarec.metrics.make_cold_start_scorer`
            (``"ndcg"``, ``"recall"``, ``"catalog_ndcg"``, ``"mae"``, ...),
            optionally with its cut-off (``"ndcg@3"``).
        k : int or None, default=10
            Cut-off of ranking metrics, >= 1. Ignored when ``metric`` names its own
            cut-off or takes none (``"rmse"``, ``"mae"``); ``None`` uses the
            metric's default.
        support_sizes : sequence of int, default=(1, 3, 5, 10, 20)
            Support ratings per user, ints >= 0 (``None``: every non-query rating,
            needs ``n_query``).
        scenario : str, default=None
            Score only the splits of this scenario (names as in the ``scenario``
            column of ``cold_start_report``, e.g. ``"user_cold"`` for
            :class:`~sklearn_metarec.model_selection.MeLUSplit`). Needed when
            ``cv`` yields several scenarios.
        n_query : int, default=None
            See :func:`~sklearn_metarec.metrics.cold_start_report`.
        support : {"random", "first"}, default="random"
            See :func:`~sklearn_metarec.metrics.cold_start_report`.
        timestamp_column : str, default=None
            See :func:`~sklearn_metarec.metrics.cold_start_report`.
        threshold : float or "auto", default="auto"
            See :func:`~sklearn_metarec.metrics.cold_start_report`.
        gain : {"linear", "exponential"}, default="linear"
            See :func:`~sklearn_metarec.metrics.cold_start_report`.
        random_state : int, RandomState instance or None, default=None
            Draws the support orders (one seed shared by all estimators).
        ax : matplotlib Axes, default=None
            Axes to draw on; ``None`` makes a new figure and axes.
        xscale : {"auto", "log", "linear", "categorical"}, default="auto"
            See :meth:`plot`.
        std_display_style : {"fill_between", "errorbar"} or None, \
default="fill_between"
            See :meth:`plot`.
        line_kw : dict, default=None
            See :meth:`plot`.
        fill_between_kw : dict, default=None
            See :meth:`plot`.
        errorbar_kw : dict, default=None
            See :meth:`plot`.

        Returns
        -------
        display : ColdStartCurveDisplay
            The plotted display; ``report_`` holds the per-split results.
        """
        named = _name_estimators(estimators)
        label = _metric_label(metric, k)
        splits, split_names = _fixed_splits(cv, X, y, scenario)
        if isinstance(random_state, numbers.Integral):
            seed = int(random_state)
        else:
            seed = int(check_random_state(random_state).randint(np.iinfo(np.int32).max))

        reports = []
        for name, estimator in named:
            report = cold_start_report(
                estimator,
                X,
                y,
                splits,
                support_sizes=support_sizes,
                metrics=[label],
                n_query=n_query,
                support=support,
                timestamp_column=timestamp_column,
                threshold=threshold,
                gain=gain,
                random_state=seed,
            )
            report["scenario"] = [split_names[i][1] for i in report["split"]]
            report["split"] = [split_names[i][0] for i in report["split"]]
            report.insert(0, "estimator", name)
            reports.append(report)
        report = pd.concat(reports, ignore_index=True)
        return cls.from_predictions(
            report,
            ax=ax,
            xscale=xscale,
            std_display_style=std_display_style,
            line_kw=line_kw,
            fill_between_kw=fill_between_kw,
            errorbar_kw=errorbar_kw,
        )

    # ------------------------------------------------------------------ private
    def _check_data(self):
        """Validated (sizes, scores, std, names) from the stored attributes."""
        sizes = [_check_size(size) for size in np.ravel(np.asarray(self.support_sizes))]
        scores = np.asarray(self.scores, dtype=np.float64)
        if scores.ndim == 1:
            scores = scores[np.newaxis, :]
        if scores.ndim != 2 or scores.shape[1] != len(sizes):
            raise ValueError(
                "scores must have shape (n_estimators, n_sizes) with n_sizes="
                f"{len(sizes)} (the number of support_sizes); got {scores.shape}."
            )
        names = [str(name) for name in self.estimator_names]
        if len(names) != scores.shape[0]:
            raise ValueError(
                f"estimator_names has {len(names)} names for {scores.shape[0]} rows "
                "of scores."
            )
        std = None
        if self.scores_std is not None:
            std = np.asarray(self.scores_std, dtype=np.float64)
            if std.ndim == 1:
                std = std[np.newaxis, :]
            if std.shape != scores.shape:
                raise ValueError(
                    f"scores_std must have the shape of scores {scores.shape}; got "
                    f"{std.shape}."
                )
        return sizes, scores, std, names


def _pyplot():
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:  # pragma: no cover - matplotlib is in the dev extra
        raise ImportError(
            "ColdStartCurveDisplay.plot needs matplotlib: pip install matplotlib"
        ) from exc
    return plt


def _check_size(size):
    if size is None or size is pd.NA or (isinstance(size, float) and np.isnan(size)):
        return None
    if isinstance(size, bool | np.bool_) or not isinstance(size, numbers.Real):
        raise ValueError(f"support sizes must be ints >= 0 or None; got {size!r}.")
    if size < 0 or size != int(size):
        raise ValueError(f"support sizes must be ints >= 0 or None; got {size!r}.")
    return int(size)


def _select_metric(frame, metric):
    if "metric" not in frame.columns:
        return frame, "value" if metric is None else str(metric)
    available = list(pd.unique(frame["metric"]))
    if metric is None:
        if len(available) > 1:
            raise ValueError(
                f"results holds several metrics {available}; choose one with metric=..."
            )
        return frame, str(available[0])
    if metric not in available:
        raise ValueError(f"metric {metric!r} is not in results; it has {available}.")
    return frame[frame["metric"] == metric], str(metric)


def _select_scenario(frame, scenario):
    if "scenario" not in frame.columns:
        if scenario is not None:
            raise ValueError(
                f"scenario={scenario!r} was given but results has no 'scenario' column."
            )
        return frame
    available = [s for s in pd.unique(frame["scenario"]) if not pd.isna(s)]
    if scenario is None:
        if len(available) > 1:
            raise ValueError(
                f"results holds several scenarios {available}; choose one with "
                "scenario=..."
            )
        return frame
    if scenario not in available:
        raise ValueError(
            f"scenario {scenario!r} is not in results; it has {available}."
        )
    return frame[frame["scenario"] == scenario]


def _support_codes(column):
    """Sorted distinct support sizes (None last) and each row's position in them."""
    sizes = [_check_size(size) for size in column.astype(object)]
    distinct = sorted({s for s in sizes if s is not None})
    if any(s is None for s in sizes):
        distinct.append(None)
    position = {size: code for code, size in enumerate(distinct)}
    return distinct, np.array([position[s] for s in sizes], dtype=np.int64)


def _name_estimators(estimators):
    if isinstance(estimators, dict):
        if not estimators:
            raise ValueError("estimators is empty.")
        return [(str(name), est) for name, est in estimators.items()]
    if hasattr(estimators, "fit"):
        estimators = [estimators]
    estimators = list(estimators)
    if not estimators:
        raise ValueError("estimators is empty.")
    base = [type(est).__name__ for est in estimators]
    named, seen = [], {}
    for name, est in zip(base, estimators):
        seen[name] = seen.get(name, 0) + 1
        if base.count(name) > 1:
            name = f"{name} ({seen[name]})"
        named.append((name, est))
    return named


def _metric_label(metric, k):
    if not isinstance(metric, str):
        raise ValueError(
            f"metric must be a metric name such as 'ndcg' or 'mae'; got {metric!r}."
        )
    if "@" in metric or metric in _LOWER_IS_BETTER or k is None:
        return metric
    return f"{metric}@{k}"


def _fixed_splits(cv, X, y, scenario):
    """The splits of ``cv`` (drawn once) and their (split index, scenario) names."""
    if hasattr(cv, "split"):
        splits = list(cv.split(X, y))
        get_names = getattr(cv, "_split_names", None)
        names = get_names() if callable(get_names) else None
    else:
        splits = list(cv)
        names = None
    if not splits:
        raise ValueError("cv yielded no split.")
    if names is None or len(names) != len(splits):
        names = [None] * len(splits)
    keep = list(range(len(splits)))
    distinct = [n for n in dict.fromkeys(names) if n is not None]
    if scenario is not None:
        if scenario not in distinct:
            raise ValueError(
                f"scenario {scenario!r} is not a scenario of cv; it has {distinct}."
            )
        keep = [i for i in keep if names[i] == scenario]
    elif len(distinct) > 1:
        raise ValueError(
            f"cv yields several scenarios {distinct}; choose one with scenario=..."
        )
    return [splits[i] for i in keep], [(i, names[i]) for i in keep]
