"""Scikit-learn recommenders that meta-learn to adapt to cold users and items."""

__version__ = "0.1.0.dev0"

from .recommenders import (  # noqa: E402
    HybridMetaRecommender,
    LLMContentRecommender,
    MetaCFRecommender,
)

__all__ = [
    "HybridMetaRecommender",
    "LLMContentRecommender",
    "MetaCFRecommender",
    "__version__",
]
