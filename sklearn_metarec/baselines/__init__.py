"""Simple reference recommenders printed beside every benchmark.

They follow the same contract as the meta-learning estimators (``fit``,
``partial_fit`` with fold-in of new users, ``predict``, ``recommend``), so every
benchmark number has a reference measured in the same process on the same split.
"""

from ._bias import BiasRecommender
from ._ease import EASERecommender
from ._knn import ItemKNNRecommender
from ._popularity import PopularityRecommender

__all__ = [
    "BiasRecommender",
    "EASERecommender",
    "ItemKNNRecommender",
    "PopularityRecommender",
]
