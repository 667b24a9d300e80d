"""Synthetic interaction logs with a known low-rank structure and readable item text."""

from __future__ import annotations

import numbers

import numpy as np
import pandas as pd

from ..utils._random import check_random_state

__all__ = ["make_interactions"]

# One word list and one genre per (latent factor, sign) pair: item text and genres
# are drawn from the item's strongest factors, so they carry the signal that the
# ratings are made of and a text encoder can serve cold items from them.
_TOPICS = (
    ("Sci-Fi", "star galaxy orbit rocket planet comet nebula robot"),
    ("Romance", "love heart kiss wedding letter summer promise dance"),
    ("Crime", "heist detective murder gang alibi witness vault chase"),
    ("Comedy", "laugh prank goofy party banana chaos roommate vacation"),
    ("Horror", "ghost haunted scream shadow curse cellar blood midnight"),
    ("Children", "puppy dragon castle princess toy adventure forest magic"),
    ("War", "soldier battle empire general trench siege victory flag"),
    ("Drama", "family secret journey memory truth river silence winter"),
)
# Quality words reveal the item bias: high above, low below half its spread.
_PRAISE = ("acclaimed", "brilliant", "timeless", "beloved")
_SCORN = ("forgettable", "clumsy", "tedious", "dull")
_FILLERS = ("the", "of", "a", "last", "great", "little", "return", "night", "city")
_DENSE_LIMIT = 4_000_000  # user-item pairs up to which sampling is exact


def make_interactions(
    n_users=100,
    n_items=50,
    n_interactions=1000,
    *,
    n_factors=3,
    noise=0.5,
    rating_scale=(1, 5),
    random_state=None,
):
    """Generate a synthetic rating log with a low-rank ground truth and item text.

    Each user and item gets a bias and ``n_factors`` latent factors (standard
    normal). A rating is ``mid + spread * (b_u + b_i + p_u . q_i / sqrt(n_factors) +
    noise * e)``, rounded to a whole step and clipped to ``rating_scale`` (``mid``
    is the middle of the scale, ``spread`` a quarter of its width, ``e`` standard
    normal noise). Which (user, item) pairs are observed follows a mild popularity
    skew (log-normal user activity and item popularity), without repeats.

    Each item's ``title`` is three to five words drawn mostly from the
    word lists of its two strongest latent factors (one list per factor and sign,
    e.g. "ghost haunted ..." or "love kiss ..."), opened by a word of praise
    ("acclaimed", ...) or scorn ("tedious", ...) when its bias is far from zero;
    ``genres`` names the genres of those two factors joined by ``"|"``
    (``"Horror|Romance"``). The side information thus predicts the ratings: text
    and content models have something to learn from, and cold items can be served.

    Parameters
    ----------
    n_users : int, default=100
        Number of users, at least 1. User ids are ``0 .. n_users - 1``; a user
        with very low activity may have no interaction.
    n_items : int, default=50
        Number of items, at least 1. Item ids are ``0 .. n_items - 1``.
    n_interactions : int, default=1000
        Number of distinct (user, item) pairs rated, from 1 to
        ``n_users * n_items``.
    n_factors : int, default=3
        Rank of the ground truth, at least 1.
    noise : float, default=0.5
        Standard deviation of the rating noise before scaling, at least 0.
    rating_scale : tuple of two int, default=(1, 5)
        Lowest and highest rating, ``low < high``; ratings take the whole values
        ``low, low + 1, ..., high``. ``(0, 1)`` gives implicit 0/1 labels.
    random_state : int, RandomState instance or None, default=None
        Seed of every random draw. Pass an int for reproducible output; None draws
        fresh entropy (numpy's global random state is never used).

    Returns
    -------
    X : DataFrame of shape (n_interactions, 4)
        Columns ``user_id`` and ``item_id`` (int64), ``title`` and ``genres``
        (Categorical, functions of ``item_id``), sorted by user, then item.
    y : ndarray of shape (n_interactions,)
        The ratings (float64).

    See Also
    --------
    load_movielens_small : A real rating log, bundled with the package.

    Examples
    --------
    >>> from sklearn_metarec.datasets import make_interactions
    >>> X, y = make_interactions(n_users=20, n_items=10, n_interactions=60,
    ...                          random_state=0)
    >>> X.shape, y.shape
    ((60, 4), (60,))
    >>> X.columns.tolist()
    ['user_id', 'item_id', 'title', 'genres']
    >>> X["title"].dtype.name
    'category'
    >>> bool(set(y) <= {1.0, 2.0, 3.0, 4.0, 5.0})
    True
    """
    n_users = _check_int(n_users, "n_users", 1)
    n_items = _check_int(n_items, "n_items", 1)
    n_interactions = _check_int(n_interactions, "n_interactions", 1)
    n_factors = _check_int(n_factors, "n_factors", 1)
    if n_interactions > n_users * n_items:
        raise ValueError(
            f"n_interactions={n_interactions} exceeds the {n_users * n_items} "
            f"distinct (user, item) pairs of n_users={n_users} and "
            f"n_items={n_items}."
        )
    if (
        not isinstance(noise, numbers.Real)
        or isinstance(noise, bool)
        or not np.isfinite(noise)
        or noise < 0
    ):
        raise ValueError(f"noise must be a finite number >= 0, got {noise!r}.")
    low, high = _check_rating_scale(rating_scale)
    rng = check_random_state(random_state)  # None: fresh entropy, never the global

    user_factors = rng.standard_normal((n_users, n_factors))
    item_factors = rng.standard_normal((n_items, n_factors))
    user_bias = 0.3 * rng.standard_normal(n_users)
    item_bias = 0.5 * rng.standard_normal(n_items)
    activity = rng.lognormal(0.0, 0.5, n_users)
    popularity = rng.lognormal(0.0, 0.7, n_items)

    pairs = _sample_pairs(activity, popularity, n_interactions, rng)
    users, items = np.divmod(pairs, n_items)
    affinity = np.einsum("ij,ij->i", user_factors[users], item_factors[items])
    signal = user_bias[users] + item_bias[items] + affinity / np.sqrt(n_factors)
    signal += noise * rng.standard_normal(len(pairs))
    mid, spread = (low + high) / 2, (high - low) / 4
    y = np.clip(low + np.round(mid + spread * signal - low), low, high)

    titles, genres = _item_text(item_factors, item_bias / 0.5, rng)
    X = pd.DataFrame(
        {
            "user_id": users.astype(np.int64),
            "item_id": items.astype(np.int64),
            "title": titles[items],
            "genres": genres[items],
        }
    )
    return X, y.astype(np.float64)


def _check_int(value, name, minimum):
    if not isinstance(value, numbers.Integral) or isinstance(value, bool):
        raise ValueError(f"{name} must be an int, got {value!r}.")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}.")
    return int(value)


def _check_rating_scale(rating_scale):
    try:
        low, high = rating_scale
    except (TypeError, ValueError):
        raise ValueError(
            f"rating_scale must be a pair (low, high), got {rating_scale!r}."
        ) from None
    if not all(
        isinstance(v, numbers.Integral) and not isinstance(v, bool) for v in (low, high)
    ):
        raise ValueError(f"rating_scale must hold two ints, got {rating_scale!r}.")
    if low >= high:
        raise ValueError(f"rating_scale needs low < high, got {rating_scale!r}.")
    return float(low), float(high)


def _sample_pairs(activity, popularity, n_interactions, rng):
    """Flat indices ``user * n_items + item`` of distinct pairs, sorted."""
    n_users, n_items = len(activity), len(popularity)
    if n_users * n_items <= _DENSE_LIMIT:
        # Weighted sampling without replacement by the Gumbel top-k trick.
        keys = np.log(activity)[:, None] + np.log(popularity)[None, :]
        keys = (keys + rng.gumbel(size=keys.shape)).ravel()
        chosen = np.argpartition(-keys, n_interactions - 1)[:n_interactions]
        return np.sort(chosen)
    # Large and sparse: draw with replacement and drop repeats until enough.
    p_user = activity / activity.sum()
    p_item = popularity / popularity.sum()
    chosen = np.empty(0, dtype=np.int64)
    while len(chosen) < n_interactions:
        size = int(1.1 * (n_interactions - len(chosen))) + 16
        draw = rng.choice(n_users, size, p=p_user) * n_items + rng.choice(
            n_items, size, p=p_item
        )
        chosen = pd.unique(np.concatenate([chosen, draw]))
    return np.sort(chosen[:n_interactions])


def _item_text(item_factors, item_quality, rng):
    """Categorical title and genres per item, drawn from its strongest factors.

    ``item_quality`` is the standardized item bias: a title opens with a word of
    praise above 0.5 and of scorn below -0.5.
    """
    n_items, n_factors = item_factors.shape
    order = np.argsort(-np.abs(item_factors), axis=1)[:, :2]
    titles, genres = [], []
    for i in range(n_items):
        topics = [(2 * f + (item_factors[i, f] < 0)) % len(_TOPICS) for f in order[i]]
        n_words = rng.randint(3, 6)
        words = []
        if item_quality[i] > 0.5:
            words.append(_PRAISE[rng.randint(len(_PRAISE))])
        elif item_quality[i] < -0.5:
            words.append(_SCORN[rng.randint(len(_SCORN))])
        while len(words) < n_words:
            if len(words) == n_words - 1 and rng.random_sample() < 0.3:
                words.append(_FILLERS[rng.randint(len(_FILLERS))])
            else:
                topic = topics[0] if rng.random_sample() < 0.7 else topics[-1]
                vocabulary = _TOPICS[topic][1].split()
                words.append(vocabulary[rng.randint(len(vocabulary))])
        titles.append(" ".join(words).capitalize())
        genres.append("|".join(dict.fromkeys(_TOPICS[t][0] for t in topics)))
    return pd.Categorical(titles), pd.Categorical(genres)
