"""The meta-learning estimators (sklearn glue over ``meta/`` and ``nn/``)."""

from ._hybrid import HybridMetaRecommender
from ._llm_content import LLMContentRecommender
from ._meta_cf import MetaCFRecommender

__all__ = ["HybridMetaRecommender", "LLMContentRecommender", "MetaCFRecommender"]
