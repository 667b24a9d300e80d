"""Seeding without touching numpy's global random state."""

from __future__ import annotations

import numpy as np
from sklearn.utils import check_random_state as _sklearn_check_random_state

__all__ = ["check_random_state"]


def check_random_state(seed) -> np.random.RandomState:
    """:func:`sklearn.utils.check_random_state`, but ``None`` means fresh entropy.

    scikit-learn maps ``None`` to numpy's global ``RandomState``, so every draw
    would advance the caller's global state; library code never does that here.

    Parameters
    ----------
    seed : None, int or RandomState instance
        None: a new ``RandomState`` seeded from the operating system.

    Returns
    -------
    RandomState

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_metarec.utils._random import check_random_state
    >>> before = np.random.get_state()[1].copy()
    >>> _ = check_random_state(None).rand(3)
    >>> bool((np.random.get_state()[1] == before).all())
    True
    """
    if seed is None:
        return np.random.RandomState()
    return _sklearn_check_random_state(seed)
