"""Shared fixtures. No global seeding: every random draw uses its own Generator."""

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

REPO = Path(__file__).resolve().parents[1]


def shared_data_home() -> Path | None:
    """``shared/data`` beside the repository (or $SKLEARN_METAREC_SHARED_DATA)."""
    env = os.environ.get("SKLEARN_METAREC_SHARED_DATA")
    path = Path(env) if env else REPO.parent / "shared" / "data"
    return path if (path / "ml-1m" / "ratings.dat").exists() else None


@pytest.fixture(autouse=True)
def _one_torch_thread():
    """Run each test on one torch intra-op thread, restoring the setting afterwards.

    pytest-xdist runs one process per core; the meta-learning code runs many small
    tensor operations, which oversubscribed threads slow down many times over. This
    is a speed setting, not a random state: results do not depend on it.
    """
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def shared_data():
    path = shared_data_home()
    if path is None:
        pytest.skip("MovieLens 1M not found beside the repository")
    return path


WORDS = np.array(
    (
        "space robot love war comedy family ghost detective music school dragon "
        "ocean heist zombie princess cowboy alien spy dance horse"
    ).split()
)
GENRES = np.array(["Action", "Comedy", "Drama", "Horror", "Romance", "Sci-Fi"])


def synthetic_log(n_users=60, n_items=40, density=0.3, seed=0):
    """A small low-rank rating log with item titles and genres (test helper)."""
    rng = np.random.default_rng(seed)
    user_f = rng.normal(size=(n_users, 3))
    item_f = rng.normal(size=(n_items, 3))
    item_b = rng.normal(scale=0.5, size=n_items)
    user_b = rng.normal(scale=0.5, size=n_users)
    mask = rng.random((n_users, n_items)) < density
    u, i = np.nonzero(mask)
    order = rng.permutation(len(u))
    u, i = u[order], i[order]
    raw = 3.5 + user_b[u] + item_b[i] + 0.6 * np.sum(user_f[u] * item_f[i], axis=1)
    y = np.clip(np.round(raw + rng.normal(scale=0.3, size=len(u))), 1, 5)
    top_word = WORDS[np.argmax(item_f @ rng.normal(size=(3, len(WORDS))), axis=1)]
    titles = np.array([f"The {w} story {k}" for k, w in enumerate(top_word)])
    genres = np.array(
        ["|".join(GENRES[rng.choice(len(GENRES), 2, replace=False)]) for _ in item_b]
    )
    X = pd.DataFrame(
        {
            "user_id": [f"u{k}" for k in u],
            "item_id": i + 1000,
            "title": titles[i],
            "genres": genres[i],
        }
    )
    return X, y


@pytest.fixture
def ratings_log():
    return synthetic_log()
