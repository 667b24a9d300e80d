"""Every private scikit-learn import of the package lives here.

A scikit-learn upgrade that moves one of these helpers touches this file only.
"""

from sklearn.base import _fit_context
from sklearn.utils._param_validation import (
    HasMethods,
    Interval,
    Options,
    StrOptions,
)
from sklearn.utils.validation import _check_feature_names, _check_n_features

__all__ = [
    "_fit_context",
    "HasMethods",
    "Interval",
    "Options",
    "StrOptions",
    "_check_feature_names",
    "_check_n_features",
]
