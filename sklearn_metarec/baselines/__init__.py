"""Simple reference recommenders printed beside every benchmark."""

from ._bias import BiasRecommender

__all__ = ["BiasRecommender"]
