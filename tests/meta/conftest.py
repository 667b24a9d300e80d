"""Fixtures of the meta-learning tests."""

import pytest
import torch

from ._meta_helpers import make_rows


@pytest.fixture(autouse=True)
def _one_torch_thread():
    """Run each test on one intra-op thread, restoring the setting afterwards.

    These tests run thousands of tiny tensor operations; with several threads per
    process (pytest-xdist runs one process per core) they are oversubscribed and
    can run 20x slower. Not a random state: results do not depend on it.
    """
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture
def rows():
    return make_rows()
