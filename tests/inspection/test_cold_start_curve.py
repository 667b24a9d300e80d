"""ColdStartCurveDisplay: drawing, from_predictions validation, from_estimator."""

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from matplotlib.collections import PolyCollection
from matplotlib.container import ErrorbarContainer

from sklearn_metarec.baselines import BiasRecommender, ItemKNNRecommender
from sklearn_metarec.datasets import make_interactions
from sklearn_metarec.inspection import ColdStartCurveDisplay
from sklearn_metarec.model_selection import ColdStartSplit

SIZES = (1, 3, 5, 10, 20)


def _display(**kwargs):
    params = dict(
        support_sizes=[1, 3, 5],
        scores=[[0.5, 0.6, 0.7], [0.4, 0.6, 0.8]],
        estimator_names=["bias", "knn"],
        metric_name="ndcg@10",
    )
    params.update(kwargs)
    return ColdStartCurveDisplay(**params)


def _results(n_splits=2, metrics=("ndcg@10",), scenarios=("user_cold",)):
    rows = []
    for scenario in scenarios:
        for metric in metrics:
            for split in range(n_splits):
                for estimator, slope in (("bias", 0.0), ("knn", 0.01)):
                    for size in SIZES:
                        value = 0.8 + slope * size + 0.01 * split
                        rows.append(
                            {
                                "estimator": estimator,
                                "split": split,
                                "scenario": scenario,
                                "n_support": size,
                                "metric": metric,
                                "value": value,
                                "n_users": 10,
                            }
                        )
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def log():
    return make_interactions(
        n_users=120, n_items=50, n_interactions=3000, random_state=0
    )


# ------------------------------------------------------------------------- plot
def test_plot_draws_one_labelled_line_per_estimator():
    display = _display().plot()
    assert [line.get_label() for line in display.lines_] == ["bias", "knn"]
    assert display.ax_.figure is display.figure_
    np.testing.assert_allclose(display.lines_[1].get_ydata(), [0.4, 0.6, 0.8])
    np.testing.assert_allclose(display.lines_[0].get_xdata(), [1, 3, 5])
    legend = display.ax_.get_legend()
    assert [t.get_text() for t in legend.get_texts()] == ["bias", "knn"]
    assert display.ax_.get_xlabel() == "Support ratings per user"
    assert display.ax_.get_ylabel() == "ndcg@10"
    assert display.fill_between_ is None and display.errorbar_ is None


def test_plot_log_axis_ticked_at_the_support_sizes():
    display = _display(
        support_sizes=SIZES, scores=np.linspace(0, 1, 10).reshape(2, 5)
    ).plot()
    ax = display.ax_
    assert ax.get_xscale() == "log"
    np.testing.assert_allclose(ax.get_xticks(), SIZES)
    assert [t.get_text() for t in ax.get_xticklabels()] == ["1", "3", "5", "10", "20"]
    assert len(ax.xaxis.get_minorticklocs()) == 0


def test_plot_uses_given_axes():
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2)
    display = _display().plot(ax=right)
    assert display.ax_ is right and display.figure_ is fig
    assert len(left.get_lines()) == 0 and len(right.get_lines()) == 2


def test_plot_categorical_axis_for_zero_and_all():
    display = _display(
        support_sizes=[0, 5, None], scores=[[0.1, 0.2, 0.3], [0.2, 0.3, 0.4]]
    ).plot()
    ax = display.ax_
    assert ax.get_xscale() == "linear"
    np.testing.assert_allclose(display.lines_[0].get_xdata(), [0, 1, 2])
    assert [t.get_text() for t in ax.get_xticklabels()] == ["0", "5", "all"]


@pytest.mark.parametrize("xscale", ["linear", "categorical"])
def test_plot_other_scales(xscale):
    display = _display().plot(xscale=xscale)
    assert display.ax_.get_xscale() == "linear"
    expected = [1, 3, 5] if xscale == "linear" else [0, 1, 2]
    np.testing.assert_allclose(display.lines_[0].get_xdata(), expected)


def test_plot_one_estimator_from_1d_scores():
    display = _display(scores=[0.1, 0.2, 0.3], estimator_names=["only"]).plot()
    assert len(display.lines_) == 1


def test_plot_error_metric_says_lower_is_better():
    display = _display(metric_name="mae").plot()
    assert display.ax_.get_ylabel() == "mae (lower is better)"


def test_plot_std_styles():
    std = [[0.01, 0.02, 0.03]] * 2
    display = _display(scores_std=std).plot()
    assert len(display.fill_between_) == 2
    assert all(isinstance(b, PolyCollection) for b in display.fill_between_)
    assert display.errorbar_ is None
    display = _display(scores_std=std).plot(std_display_style="errorbar")
    assert len(display.errorbar_) == 2
    assert all(isinstance(b, ErrorbarContainer) for b in display.errorbar_)
    assert display.fill_between_ is None
    display = _display(scores_std=std).plot(std_display_style=None)
    assert display.fill_between_ is None and display.errorbar_ is None


def test_plot_keyword_overrides():
    display = _display(scores_std=[[0.1] * 3] * 2).plot(
        line_kw={"marker": "s", "linestyle": "--"}, fill_between_kw={"alpha": 0.5}
    )
    assert display.lines_[0].get_marker() == "s"
    assert display.lines_[0].get_linestyle() == "--"
    assert display.fill_between_[0].get_alpha() == 0.5


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"scores": [[0.1, 0.2], [0.3, 0.4]]}, "scores must have shape"),
        ({"estimator_names": ["one"]}, "estimator_names has 1 names"),
        ({"scores_std": [[0.1, 0.2]]}, "scores_std must have the shape"),
        ({"support_sizes": [1, -3, 5]}, "support sizes must be ints"),
        ({"support_sizes": [1, 2.5, 5]}, "support sizes must be ints"),
    ],
)
def test_plot_checks_its_data(kwargs, match):
    with pytest.raises(ValueError, match=match):
        _display(**kwargs).plot()


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"xscale": "symlog"}, "xscale must be"),
        ({"std_display_style": "band"}, "std_display_style must be"),
    ],
)
def test_plot_checks_options(kwargs, match):
    with pytest.raises(ValueError, match=match):
        _display().plot(**kwargs)


def test_plot_log_and_linear_need_placeable_sizes():
    with pytest.raises(ValueError, match="xscale='log' needs"):
        _display(support_sizes=[0, 1, 2]).plot(xscale="log")
    with pytest.raises(ValueError, match="xscale='linear' cannot"):
        _display(support_sizes=[1, 2, None]).plot(xscale="linear")


# ------------------------------------------------------------- from_predictions
def test_from_predictions_averages_splits_and_draws_spread():
    results = _results(n_splits=2)
    display = ColdStartCurveDisplay.from_predictions(results)
    assert display.estimator_names == ["bias", "knn"]
    assert display.support_sizes == list(SIZES)
    assert display.metric_name == "ndcg@10"
    expected_knn = 0.8 + 0.01 * np.array(SIZES) + 0.005
    np.testing.assert_allclose(display.scores[1], expected_knn)
    np.testing.assert_allclose(display.scores_std, 0.005)
    assert len(display.lines_) == 2 and len(display.fill_between_) == 2
    assert display.report_ is results


def test_from_predictions_one_row_per_point_has_no_spread():
    display = ColdStartCurveDisplay.from_predictions(_results(n_splits=1))
    assert display.scores_std is None and display.fill_between_ is None


def test_from_predictions_minimal_columns_and_nan():
    results = pd.DataFrame(
        {
            "estimator": ["a", "a", "a", "b"],
            "n_support": pd.array([1, 1, None, 1], dtype="Int64"),
            "value": [0.5, np.nan, 0.7, 0.2],
        }
    )
    display = ColdStartCurveDisplay.from_predictions(results, metric="recall@5")
    assert display.support_sizes == [1, None]
    assert display.metric_name == "recall@5"
    np.testing.assert_allclose(display.scores, [[0.5, 0.7], [0.2, np.nan]])
    assert [t.get_text() for t in display.ax_.get_xticklabels()] == ["1", "all"]


@pytest.mark.parametrize("missing", ["estimator", "n_support", "value"])
def test_from_predictions_missing_column(missing):
    results = _results().drop(columns=missing)
    with pytest.raises(ValueError, match=f"missing the column.*'{missing}'"):
        ColdStartCurveDisplay.from_predictions(results)


def test_from_predictions_needs_a_dataframe():
    with pytest.raises(ValueError, match="must be a pandas DataFrame"):
        ColdStartCurveDisplay.from_predictions(_results().to_dict("list"))


def test_from_predictions_selects_a_metric():
    results = _results(metrics=("ndcg@10", "mae"))
    with pytest.raises(ValueError, match="several metrics"):
        ColdStartCurveDisplay.from_predictions(results)
    with pytest.raises(ValueError, match="'rmse' is not in results"):
        ColdStartCurveDisplay.from_predictions(results, metric="rmse")
    display = ColdStartCurveDisplay.from_predictions(results, metric="mae")
    assert display.ax_.get_ylabel() == "mae (lower is better)"


def test_from_predictions_selects_a_scenario():
    results = _results(scenarios=("warm", "user_cold"))
    with pytest.raises(ValueError, match="several scenarios"):
        ColdStartCurveDisplay.from_predictions(results)
    with pytest.raises(ValueError, match="'item_cold' is not in results"):
        ColdStartCurveDisplay.from_predictions(results, scenario="item_cold")
    display = ColdStartCurveDisplay.from_predictions(results, scenario="warm")
    assert len(display.lines_) == 2
    with pytest.raises(ValueError, match="no 'scenario' column"):
        ColdStartCurveDisplay.from_predictions(
            results.drop(columns="scenario"), scenario="warm", metric="ndcg@10"
        )


def test_from_predictions_bad_values():
    results = _results()
    results["value"] = "high"
    with pytest.raises(ValueError, match="must hold numbers"):
        ColdStartCurveDisplay.from_predictions(results)
    with pytest.raises(ValueError, match="no rows"):
        ColdStartCurveDisplay.from_predictions(_results().iloc[:0])
    results = _results()
    results["n_support"] = "ten"
    with pytest.raises(ValueError, match="support sizes must be ints"):
        ColdStartCurveDisplay.from_predictions(results)


# --------------------------------------------------------------- from_estimator
def test_from_estimator_end_to_end(log):
    X, y = log
    bias, knn = BiasRecommender(), ItemKNNRecommender()
    display = ColdStartCurveDisplay.from_estimator(
        [bias, knn],
        X,
        y,
        cv=ColdStartSplit("user", n_splits=2, random_state=0),
        random_state=0,
    )
    assert [line.get_label() for line in display.lines_] == [
        "BiasRecommender",
        "ItemKNNRecommender",
    ]
    assert display.support_sizes == list(SIZES)
    assert display.metric_name == "ndcg@10"
    assert display.scores.shape == (2, len(SIZES))
    assert np.all(np.isfinite(display.scores))
    assert np.all((display.scores > 0) & (display.scores <= 1))
    # A user's bias does not reorder their items: bias nDCG is flat; kNN uses them.
    np.testing.assert_allclose(display.scores[0], display.scores[0][0])
    assert display.scores[1][-1] > display.scores[1][0]
    report = display.report_
    assert set(report["estimator"]) == {"BiasRecommender", "ItemKNNRecommender"}
    assert set(report["scenario"]) == {"user_cold"}
    assert len(report) == 2 * 2 * len(SIZES)
    assert display.ax_.get_xscale() == "log"
    assert not hasattr(bias, "user_index_") and not hasattr(knn, "user_index_")


def test_from_estimator_shares_splits_and_support_draws(log):
    X, y = log
    display = ColdStartCurveDisplay.from_estimator(
        [BiasRecommender(), BiasRecommender()],
        X,
        y,
        cv=ColdStartSplit("user", n_splits=2, random_state=None),
        metric="mae",
        support_sizes=(1, 5),
        random_state=None,
    )
    assert display.estimator_names == ["BiasRecommender (1)", "BiasRecommender (2)"]
    np.testing.assert_array_equal(display.scores[0], display.scores[1])
    assert display.metric_name == "mae"


def test_from_estimator_dict_names_and_cut_off(log):
    X, y = log
    display = ColdStartCurveDisplay.from_estimator(
        {"bias": BiasRecommender()},
        X,
        y,
        cv=ColdStartSplit("user", n_splits=1, random_state=0),
        metric="recall",
        k=5,
        support_sizes=(0, 3),
        random_state=0,
    )
    assert display.estimator_names == ["bias"]
    assert display.metric_name == "recall@5"
    assert display.ax_.get_xscale() == "linear"  # 0 forces categorical ticks
    assert display.report_["metric"].unique().tolist() == ["recall@5"]


class _TwoScenarios:
    """A cv that names its splits, like the protocol splitters."""

    def __init__(self, n_rows):
        rows = np.arange(n_rows)
        self._splits = [(rows[rows % 2 == 0], rows[rows % 2 == 1])] * 2

    def split(self, X, y=None, groups=None):
        yield from self._splits

    def _split_names(self):
        return ["warm", "user_cold"]


def test_from_estimator_scenarios(log):
    X, y = log
    cv = _TwoScenarios(len(X))
    with pytest.raises(ValueError, match="several scenarios"):
        ColdStartCurveDisplay.from_estimator(BiasRecommender(), X, y, cv=cv)
    with pytest.raises(ValueError, match="'both_cold' is not a scenario"):
        ColdStartCurveDisplay.from_estimator(
            BiasRecommender(), X, y, cv=cv, scenario="both_cold"
        )
    display = ColdStartCurveDisplay.from_estimator(
        BiasRecommender(),
        X,
        y,
        cv=cv,
        scenario="user_cold",
        metric="rmse",
        support_sizes=(1, 3),
        random_state=0,
    )
    assert display.estimator_names == ["BiasRecommender"]
    assert display.report_["scenario"].unique().tolist() == ["user_cold"]
    assert display.report_["split"].unique().tolist() == [1]


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"estimators": []}, "estimators is empty"),
        ({"estimators": {}}, "estimators is empty"),
        ({"metric": len}, "metric must be a metric name"),
        ({"cv": []}, "cv yielded no split"),
    ],
)
def test_from_estimator_bad_arguments(log, kwargs, match):
    X, y = log
    params = {
        "estimators": BiasRecommender(),
        "cv": ColdStartSplit("user", n_splits=1, random_state=0),
    }
    params.update(kwargs)
    estimators = params.pop("estimators")
    with pytest.raises(ValueError, match=match):
        ColdStartCurveDisplay.from_estimator(estimators, X, y, **params)


def test_matplotlib_is_imported_only_when_plotting():
    code = (
        "import sys, sklearn_metarec.inspection; "
        "assert 'matplotlib' not in sys.modules, 'matplotlib imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
