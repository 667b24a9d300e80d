"""Fixtures of the meta-learning tests."""

import pytest

from ._meta_helpers import make_rows


@pytest.fixture
def rows():
    return make_rows()
