"""Interaction data sets: bundled, downloaded and synthetic.

- :func:`load_movielens_small` ships with the package and works offline.
- :func:`fetch_movielens` reads MovieLens 100K, 1M or latest-small from a data home
  (``SKLEARN_METAREC_DATA`` or ``~/sklearn_metarec_data``), downloading it if needed.
- :func:`make_interactions` draws a synthetic log with a low-rank ground truth and item
  text, for tests and scale benchmarks.

This subpackage imports neither torch nor any other deep-learning library.
"""

from ._movielens import fetch_movielens, load_movielens_small
from ._synthetic import make_interactions

__all__ = ["load_movielens_small", "fetch_movielens", "make_interactions"]
