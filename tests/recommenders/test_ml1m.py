"""Real-data checks on MovieLens-1M (MeLU protocol), marked slow; CI runs them."""

import numpy as np
import pytest

from sklearn_metarec import MetaCFRecommender
from sklearn_metarec.baselines import BiasRecommender

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def melu(shared_data):
    from sklearn_metarec.datasets import fetch_movielens
    from sklearn_metarec.model_selection import MeLUSplit

    X, y = fetch_movielens(
        "1m", data_home=shared_data, download_if_missing=False, return_X_y=True
    )
    y = y.to_numpy()
    return X, y, MeLUSplit(random_state=0).split_scenarios(X, y)["user_cold"]


def _user_cold_mae(estimator, melu):
    X, y, scenario = melu
    estimator.fit(X.iloc[scenario.train], y[scenario.train])
    estimator.partial_fit(X.iloc[scenario.support], y[scenario.support])
    return np.abs(estimator.predict(X.iloc[scenario.query]) - y[scenario.query]).mean()


def test_meta_cf_beats_bias_fold_in_on_user_cold_start(melu):
    bias = _user_cold_mae(BiasRecommender(), melu)
    meta = _user_cold_mae(MetaCFRecommender(random_state=0), melu)
    assert meta < bias, (meta, bias)
    assert meta < 0.735
