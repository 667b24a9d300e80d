"""Fixtures for the text encoder tests."""

import pytest

from sklearn_metarec.text import TransformerTextEncoder


@pytest.fixture
def fresh_caches():
    """Empty the shared in-memory embedding cache before and after a test."""
    TransformerTextEncoder.clear_cache()
    yield
    TransformerTextEncoder.clear_cache()
