"""Hyper-parameter search on a Dask cluster through joblib's ``dask`` backend.

A two-worker :class:`distributed.LocalCluster` on loopback runs a cold-start
``GridSearchCV``; its results must equal those of the same search run in this
process with joblib's default (sequential) backend. Worker processes receive the
estimators, splitter and scorer pickled, as on a real cluster.
"""

import joblib
import numpy as np
import pytest
import torch
from sklearn.model_selection import GridSearchCV

from sklearn_metarec import MetaCFRecommender
from sklearn_metarec.baselines import BiasRecommender
from sklearn_metarec.datasets import make_interactions
from sklearn_metarec.metrics import make_cold_start_scorer
from sklearn_metarec.model_selection import ColdStartSplit

distributed = pytest.importorskip(
    "distributed", reason="dask.distributed is not installed (pip install -e .[dev])"
)
# One xdist worker runs every test here (``--dist loadgroup``): one cluster, not two.
pytestmark = pytest.mark.xdist_group("dask_cluster")


@pytest.fixture(scope="module")
def client():
    """A two-process cluster on 127.0.0.1 with random ports and no dashboard, so
    pytest-xdist workers can each start one without clashing."""
    with (
        distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            scheduler_port=0,
            dashboard_address=None,
            # The scheduler's bare HTTP routes, off the default port 8787 as well.
            scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},
            memory_limit=0,
            silence_logs=40,
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        client.run(torch.set_num_threads, 1)  # as in this process (conftest.py)
        yield client


SEARCHES = {
    "bias": (BiasRecommender(), {"reg_user": [1.0, 5.0], "reg_item": [2.0, 10.0]}),
    "metacf": (
        MetaCFRecommender(max_epochs=1, embedding_dim=4, random_state=0),
        {"prior_precision": [1.0, 5.0], "lr": [0.003, 0.03]},
    ),
}


def _search(estimator, grid):
    return GridSearchCV(
        estimator,
        grid,
        scoring={
            "mae": make_cold_start_scorer("mae", n_support=3, random_state=0),
            "ndcg": make_cold_start_scorer("ndcg", k=5, n_support=3, random_state=0),
        },
        refit="mae",
        cv=ColdStartSplit("user", n_splits=2, test_size=0.25, random_state=0),
    )


@pytest.mark.parametrize("name", list(SEARCHES))
def test_grid_search_on_dask_matches_sequential(client, name):
    X, y = make_interactions(n_users=60, n_items=30, n_interactions=900, random_state=0)
    estimator, grid = SEARCHES[name]

    sequential = _search(estimator, grid).fit(X, y)
    with (
        distributed.get_task_stream(client) as tasks,
        joblib.parallel_backend("dask"),
    ):
        on_dask = _search(estimator, grid).fit(X, y)

    # The candidates were fitted and scored on the cluster's workers (joblib
    # batches several fits into one task, so tasks are fewer than fits).
    workers = {task["worker"] for task in tasks.data}
    assert tasks.data and workers <= set(client.scheduler_info()["workers"])

    assert len(sequential.cv_results_["params"]) == 4
    assert np.isfinite(sequential.cv_results_["mean_test_mae"]).all()
    assert on_dask.cv_results_["params"] == sequential.cv_results_["params"]
    for key, value in sequential.cv_results_.items():
        if key.startswith(("split", "mean_test", "std_test", "rank_test")):
            np.testing.assert_array_equal(on_dask.cv_results_[key], value, err_msg=key)
    assert on_dask.best_params_ == sequential.best_params_
    np.testing.assert_array_equal(
        on_dask.best_estimator_.predict(X), sequential.best_estimator_.predict(X)
    )
