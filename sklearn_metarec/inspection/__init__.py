"""Plots that explain recommenders: how they serve users as ratings arrive.

:class:`ColdStartCurveDisplay` draws a metric against the number of support ratings
per new user, one line per estimator. matplotlib is imported only when plotting.
"""

from sklearn_metarec.inspection._cold_start_curve import ColdStartCurveDisplay

__all__ = ["ColdStartCurveDisplay"]
