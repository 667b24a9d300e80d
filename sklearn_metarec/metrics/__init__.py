"""Evaluation metrics and cold-start scoring.

Ranking metrics (``*_at_k``) are computed per user and averaged over users; they take
either rows of (user, item) pairs with ``users=`` (candidate mode) or 2-D
``(n_users, n_items)`` matrices (catalogue mode). :func:`make_cold_start_scorer` and
:func:`cold_start_report` adapt a copy of a fitted recommender to each test user
through ``partial_fit`` before scoring it.

Every row is one observation: duplicate (user, item) rows count again in
``rmse``/``mae`` and are separate candidates of the ranking metrics; the scorer's
``catalog_*`` metrics, which rank each item once, take a pair's highest relevance.
Bad input (NaN/infinite or non-numeric values, mismatched lengths, missing or
unhashable user ids) raises a ``ValueError`` that names it.
"""

from ._ranking import (
    catalog_coverage,
    hit_rate_at_k,
    map_at_k,
    mrr_at_k,
    ndcg_at_k,
    precision_at_k,
    recall_at_k,
)
from ._regression import mae, rmse
from ._scorer import cold_start_report, make_cold_start_scorer

__all__ = [
    "ndcg_at_k",
    "precision_at_k",
    "recall_at_k",
    "hit_rate_at_k",
    "map_at_k",
    "mrr_at_k",
    "catalog_coverage",
    "rmse",
    "mae",
    "make_cold_start_scorer",
    "cold_start_report",
]
