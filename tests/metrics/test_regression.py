"""rmse and mae, over rows and per user."""

import math

import numpy as np
import pytest

from sklearn_metarec.metrics import mae, rmse


def test_over_rows_by_hand():
    # errors 1, -2, 0 -> RMSE = sqrt((1 + 4 + 0) / 3), MAE = (1 + 2 + 0) / 3
    y_true, y_pred = [4, 3, 5], [5, 1, 5]
    assert rmse(y_true, y_pred) == pytest.approx(math.sqrt(5 / 3))
    assert mae(y_true, y_pred) == pytest.approx(1.0)


def test_per_user_by_hand():
    # user a: errors 1, -2 -> RMSE sqrt(5/2), MAE 1.5; user b: error 0.
    y_true, y_pred, users = [4, 3, 5], [5, 1, 5], ["a", "a", "b"]
    assert rmse(y_true, y_pred, users=users) == pytest.approx(math.sqrt(2.5) / 2)
    assert mae(y_true, y_pred, users=users) == pytest.approx(0.75)


def test_matches_sklearn_over_rows():
    from sklearn.metrics import mean_absolute_error, root_mean_squared_error

    rng = np.random.default_rng(0)
    y_true, y_pred = rng.normal(size=50), rng.normal(size=50)
    assert rmse(y_true, y_pred) == pytest.approx(
        root_mean_squared_error(y_true, y_pred)
    )
    assert mae(y_true, y_pred) == pytest.approx(mean_absolute_error(y_true, y_pred))


@pytest.mark.parametrize(
    ("args", "kwargs", "match"),
    [
        (([1, 2], [1]), {}, "different lengths"),
        (([1, np.nan], [1, 2]), {}, "y_true contains"),
        (([1, 2], [1, np.inf]), {}, "y_pred contains"),
        (([[1, 2]], [[1, 2]]), {}, "1-D"),
        (([], []), {}, "empty"),
        (([1, 2], [1, 2]), {"users": [0]}, "one user id per row"),
        ((["a"], [1]), {}, "numeric"),
    ],
)
@pytest.mark.parametrize("metric", [rmse, mae])
def test_bad_input_raises(metric, args, kwargs, match):
    with pytest.raises(ValueError, match=match):
        metric(*args, **kwargs)
