"""MovieLens loaders: the bundled latest-small snapshot and the GroupLens downloads."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from . import _descr
from ._base import (
    build_interaction_bunch,
    bundled_path,
    download_and_extract,
    get_data_home,
    read_separated,
)

__all__ = ["load_movielens_small", "fetch_movielens"]

BASE_URL = "https://files.grouplens.org/datasets/movielens/"

_FOLDERS = {"100k": "ml-100k", "1m": "ml-1m", "latest-small": "ml-latest-small"}
_REQUIRED_FILES = {
    "100k": ("u.data", "u.item", "u.user"),
    "1m": ("ratings.dat", "movies.dat", "users.dat"),
    "latest-small": ("ratings.csv", "movies.csv", "tags.csv"),
}

EXTRA_INFO_FOLDER = "ml-1m-melu-extrainfo"
EXTRA_INFO_FILE = "movies_extrainfos.dat"
_EXTRA_INFO_FIELDS = [
    "item_id",
    "omdb_title",
    "year",
    "rated",
    "released",
    "omdb_genre",
    "director",
    "writer",
    "actors",
    "plot",
    "poster_url",
]
EXTRA_INFO_COLUMNS = ("year", "rated", "director", "writer", "actors", "plot")

_RATING_DTYPES = {
    "user_id": np.int64,
    "item_id": np.int64,
    "rating": np.float64,
    "timestamp": np.int64,
}

# Codes 0-20 of users.dat, in code order (from the ML-1M README).
OCCUPATIONS_1M = (
    "other",
    "academic/educator",
    "artist",
    "clerical/admin",
    "college/grad student",
    "customer service",
    "doctor/health care",
    "executive/managerial",
    "farmer",
    "homemaker",
    "K-12 student",
    "lawyer",
    "programmer",
    "retired",
    "sales/marketing",
    "scientist",
    "self-employed",
    "technician/engineer",
    "tradesman/craftsman",
    "unemployed",
    "writer",
)

# The 19 genre flags of u.item, in column order (the content of ML-100K's u.genre).
GENRES_100K = (
    "unknown",
    "Action",
    "Adventure",
    "Animation",
    "Children's",
    "Comedy",
    "Crime",
    "Documentary",
    "Drama",
    "Fantasy",
    "Film-Noir",
    "Horror",
    "Musical",
    "Mystery",
    "Romance",
    "Sci-Fi",
    "Thriller",
    "War",
    "Western",
)


def load_movielens_small(*, return_X_y=False, as_frame=True):
    """Load MovieLens latest-small, bundled with the package (no download).

    100,836 ratings (0.5 to 5 stars) of 9,742 movies by 610 users, with each movie's
    title, genres and user tags. GroupLens licence: research use, no endorsement,
    cite the data set, no commercial use; it may be redistributed under these same
    conditions, whose full text ships beside the data
    (``sklearn_metarec/datasets/data/ml_latest_small_README.txt``).

    =================  ===========================
    Ratings            100,836
    Users              610
    Items              9,742 (9,724 rated)
    Rating scale       0.5 to 5.0 in 0.5 steps
    =================  ===========================

    Parameters
    ----------
    return_X_y : bool, default=False
        If True, return ``(data, target)`` instead of a Bunch.
    as_frame : bool, default=True
        If True, ``data`` is a pandas DataFrame and ``target`` a Series (and the
        Bunch has a ``frame``). If False, ``data`` is a 2-D object ndarray with the
        same columns, ``target`` a float ndarray and ``frame`` is None.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        Dictionary-like object with attributes:

        data : DataFrame of shape (100836, 6)
            One row per rating, in file order (by user, then movie id). Columns
            ``user_id`` and ``item_id`` (int64), ``timestamp`` (int64, seconds
            since 1970-01-01 UTC), and the Categorical text columns ``title``,
            ``genres`` (joined by ``"|"``) and ``tags`` (the movie's distinct tags in
            order of first application, joined by ``"|"``; the empty string ``""``
            for a movie without tags, never NaN).
        target : Series of shape (100836,)
            The rating (float64), named ``"rating"``.
        frame : DataFrame of shape (100836, 7)
            ``data`` with ``target`` as a last column ``rating``.
        feature_names : list of str
            The columns of ``data``.
        target_names : list of str
            ``["rating"]``.
        item_frame : DataFrame of shape (9742, 3)
            ``title``, ``genres`` and ``tags`` of every movie, indexed by
            ``item_id`` (including the 18 movies that have tags but no rating).
        user_frame : DataFrame of shape (610, 0)
            Indexed by ``user_id``; the data set has no user attributes.
        DESCR : str
            Description of the data set, its licence and citation.

    (data, target) : tuple if ``return_X_y`` is True

    See Also
    --------
    fetch_movielens : Download and load MovieLens 100K, 1M or latest-small.

    Examples
    --------
    >>> from sklearn_metarec.datasets import load_movielens_small
    >>> movielens = load_movielens_small()
    >>> movielens.data.shape
    (100836, 6)
    >>> movielens.feature_names
    ['user_id', 'item_id', 'timestamp', 'title', 'genres', 'tags']
    >>> first = movielens.data.iloc[0]
    >>> int(first["user_id"]), int(first["item_id"]), first["title"]
    (1, 1, 'Toy Story (1995)')
    >>> movielens.data["genres"].dtype.name
    'category'
    >>> movielens.target.describe()[["min", "max"]].tolist()
    [0.5, 5.0]
    >>> movielens.item_frame.loc[1, "tags"]
    'pixar|fun'
    """
    files = [
        bundled_path(f"ml_latest_small_{name}.csv.gz")
        for name in ("ratings", "movies", "tags")
    ]
    with (
        resources.as_file(files[0]) as ratings_path,
        resources.as_file(files[1]) as movies_path,
        resources.as_file(files[2]) as tags_path,
    ):
        ratings, items, users = _read_latest_small(
            ratings_path, movies_path, tags_path, compression="gzip"
        )
    return build_interaction_bunch(
        ratings,
        items,
        users,
        descr=_descr.LATEST_SMALL,
        as_frame=as_frame,
        return_X_y=return_X_y,
    )


def fetch_movielens(
    variant="1m",
    *,
    data_home=None,
    download_if_missing=True,
    return_X_y=False,
    as_frame=True,
):
    """Load a MovieLens data set from the data home, downloading it if needed.

    The GroupLens zip archives are read in their original layout:
    ``<data_home>/ml-100k/`` (``u.data``, ``u.item``, ``u.user``),
    ``<data_home>/ml-1m/`` (``ratings.dat``, ``movies.dat``, ``users.dat``) and
    ``<data_home>/ml-latest-small/`` (``ratings.csv``, ``movies.csv``,
    ``tags.csv``). A missing folder is downloaded from
    ``https://files.grouplens.org/datasets/movielens/ml-<variant>.zip`` and
    extracted into the data home.

    For ``"1m"``, when ``<data_home>/ml-1m-melu-extrainfo/movies_extrainfos.dat``
    exists (the per-movie OMDb information of the MeLU repository; it is never
    downloaded because it has no licence), its year, MPAA rating, director, writer,
    actors and plot are added as item columns.

    MovieLens 100K and 1M may not be redistributed: keep them in a data home, never
    in a package or a repository. See ``DESCR`` for each licence.

    ==================  =========  =====  =============  ========
    variant             ratings    users  items (rated)  scale
    ==================  =========  =====  =============  ========
    ``"100k"``          100,000    943    1,682 (1,682)  1 to 5
    ``"1m"``            1,000,209  6,040  3,883 (3,706)  1 to 5
    ``"latest-small"``  100,836    610    9,742 (9,724)  0.5 to 5
    ==================  =========  =====  =============  ========

    The latest-small counts are those of the 2018-09-26 snapshot (the one bundled
    by :func:`load_movielens_small`); GroupLens updates that data set over time.

    Parameters
    ----------
    variant : {"100k", "1m", "latest-small"}, default="1m"
        Which MovieLens release to load.
    data_home : str or path-like, default=None
        Folder holding the data sets. ``None`` means the environment variable
        ``SKLEARN_METAREC_DATA`` when set, else ``~/sklearn_metarec_data``.
    download_if_missing : bool, default=True
        If False, raise an ``OSError`` instead of downloading a data set that is not
        in the data home.
    return_X_y : bool, default=False
        If True, return ``(data, target)`` instead of a Bunch.
    as_frame : bool, default=True
        If True, ``data`` is a pandas DataFrame and ``target`` a Series (and the
        Bunch has a ``frame``). If False, ``data`` is a 2-D object ndarray with the
        same columns, ``target`` a float ndarray and ``frame`` is None.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        Dictionary-like object with attributes:

        data : DataFrame of shape (n_ratings, n_features)
            One row per rating, in file order: ``user_id``, ``item_id`` (int64),
            ``timestamp`` (int64, seconds since 1970-01-01 UTC), ``title`` and
            ``genres`` (Categorical, genres joined by ``"|"``); then ``tags`` for
            ``"latest-small"`` (as in :func:`load_movielens_small`) or the user
            columns ``gender`` (Categorical), ``age`` (int64), ``occupation``
            (Categorical of labels) and ``zip`` (Categorical) for ``"100k"`` and
            ``"1m"``; then, for ``"1m"`` with the extra information, ``year``
            (float64) and the Categorical ``rated``, ``director``, ``writer``,
            ``actors`` and ``plot``, NaN where the file says ``"N/A"`` or has no
            entry for the movie.
        target : Series of shape (n_ratings,)
            The rating (float64), named ``"rating"``.
        frame : DataFrame of shape (n_ratings, n_features + 1)
            ``data`` with ``target`` as a last column ``rating``.
        feature_names : list of str
            The columns of ``data``.
        target_names : list of str
            ``["rating"]``.
        item_frame : DataFrame of shape (n_items, n_item_features)
            The item columns of ``data`` for every movie of the catalogue, rated or
            not, indexed by ``item_id``.
        user_frame : DataFrame of shape (n_users, n_user_features)
            The user columns of ``data``, indexed by ``user_id`` (no columns for
            ``"latest-small"``).
        DESCR : str
            Description of the data set, its licence and citation.

    (data, target) : tuple if ``return_X_y`` is True

    Raises
    ------
    ValueError
        If ``variant`` is not one of the allowed variants.
    OSError
        If the data set is missing and ``download_if_missing`` is False, if the
        download fails, or if a folder of the data home lacks a required file.

    See Also
    --------
    load_movielens_small : The bundled MovieLens latest-small, offline.

    Examples
    --------
    >>> from sklearn_metarec.datasets import fetch_movielens
    >>> movielens = fetch_movielens("1m")  # doctest: +SKIP
    >>> movielens.data.shape  # doctest: +SKIP
    (1000209, 15)
    >>> movielens.item_frame.loc[1, ["title", "director"]].tolist()  # doctest: +SKIP
    ['Toy Story (1995)', 'John Lasseter']
    """
    if not isinstance(variant, str) or variant not in _FOLDERS:
        raise ValueError(f"variant must be one of {sorted(_FOLDERS)}, got {variant!r}.")
    data_home = get_data_home(data_home)
    folder = data_home / _FOLDERS[variant]
    url = f"{BASE_URL}{_FOLDERS[variant]}.zip"
    if not folder.is_dir():
        if not download_if_missing:
            raise OSError(
                f"MovieLens {variant!r} was not found in {folder} and "
                "download_if_missing=False. Download "
                f"{url} and extract it into {data_home}, or pass "
                "download_if_missing=True."
            )
        download_and_extract(url, data_home, folder.name)
    missing = [
        name for name in _REQUIRED_FILES[variant] if not (folder / name).is_file()
    ]
    if missing:
        raise OSError(
            f"{folder} lacks {', '.join(missing)}; remove the folder to download "
            f"MovieLens {variant!r} again."
        )

    trailing: tuple[str, ...] = ()
    if variant == "latest-small":
        ratings, items, users = _read_latest_small(
            folder / "ratings.csv", folder / "movies.csv", folder / "tags.csv"
        )
        descr = _descr.LATEST_SMALL
    elif variant == "1m":
        ratings, items, users = _read_1m(folder)
        extra = data_home / EXTRA_INFO_FOLDER / EXTRA_INFO_FILE
        if extra.is_file():
            items = _add_extra_info(items, extra)
            trailing = EXTRA_INFO_COLUMNS
        descr = _descr.ML_1M
    else:
        ratings, items, users = _read_100k(folder)
        descr = _descr.ML_100K
    return build_interaction_bunch(
        ratings,
        items,
        users,
        descr=descr,
        as_frame=as_frame,
        return_X_y=return_X_y,
        trailing_item_columns=trailing,
    )


def _read_latest_small(ratings_path, movies_path, tags_path, compression="infer"):
    """Ratings, items (title, genres, tags) and users of MovieLens latest-small."""
    ratings = pd.read_csv(
        ratings_path,
        header=0,
        names=["user_id", "item_id", "rating", "timestamp"],
        dtype=_RATING_DTYPES,
        compression=compression,
        engine="c",
    )
    movies = pd.read_csv(
        movies_path,
        header=0,
        names=["item_id", "title", "genres"],
        dtype={"item_id": np.int64, "title": str, "genres": str},
        keep_default_na=False,
        compression=compression,
        engine="c",
    )
    tags = pd.read_csv(
        tags_path,
        header=0,
        names=["user_id", "item_id", "tag", "timestamp"],
        usecols=["item_id", "tag"],
        dtype={"item_id": np.int64, "tag": str},
        keep_default_na=False,
        compression=compression,
        engine="c",
    )
    items = movies.set_index("item_id")
    tags = tags.drop_duplicates(["item_id", "tag"])
    joined = tags.groupby("item_id", sort=False)["tag"].agg("|".join)
    items["tags"] = joined.reindex(items.index).fillna("")
    for name in ("title", "genres", "tags"):
        items[name] = pd.Categorical(items[name])
    users = pd.DataFrame(index=pd.Index(np.unique(ratings["user_id"]), name="user_id"))
    return ratings, items, users


def _read_1m(folder: Path):
    """Ratings, items (title, genres) and users of MovieLens 1M."""
    ratings = read_separated(
        folder / "ratings.dat",
        "::",
        names=["user_id", "item_id", "rating", "timestamp"],
        dtype=_RATING_DTYPES,
    )
    movies = read_separated(
        folder / "movies.dat",
        "::",
        names=["item_id", "title", "genres"],
        dtype={"item_id": np.int64, "title": str, "genres": str},
        encoding="latin-1",
    )
    users = read_separated(
        folder / "users.dat",
        "::",
        names=["user_id", "gender", "age", "occupation", "zip"],
        dtype={
            "user_id": np.int64,
            "gender": str,
            "age": np.int64,
            "occupation": np.int64,
            "zip": str,
        },
    )
    items = movies.set_index("item_id")
    for name in ("title", "genres"):
        items[name] = pd.Categorical(items[name])
    users = users.set_index("user_id")
    users["gender"] = pd.Categorical(users["gender"])
    users["occupation"] = pd.Categorical.from_codes(
        users["occupation"].to_numpy(), categories=list(OCCUPATIONS_1M)
    )
    users["zip"] = pd.Categorical(users["zip"])
    return ratings, items, users


def _add_extra_info(items: pd.DataFrame, path: Path) -> pd.DataFrame:
    """``items`` with the MeLU extra columns (year, rated, credits, plot) joined."""
    extra = read_separated(
        path,
        "::",
        names=_EXTRA_INFO_FIELDS,
        dtype={
            name: (np.int64 if name == "item_id" else str)
            for name in _EXTRA_INFO_FIELDS
        },
        encoding="utf-8",
        na_values=["N/A", ""],
    )
    extra = extra.drop_duplicates("item_id").set_index("item_id")
    extra = extra.reindex(items.index)
    items = items.copy()
    items["year"] = pd.to_numeric(extra["year"], errors="coerce").astype(np.float64)
    for name in EXTRA_INFO_COLUMNS[1:]:
        items[name] = pd.Categorical(extra[name])
    return items


def _read_100k(folder: Path):
    """Ratings, items (title, genres) and users of MovieLens 100K."""
    ratings = read_separated(
        folder / "u.data",
        "\t",
        names=["user_id", "item_id", "rating", "timestamp"],
        dtype=_RATING_DTYPES,
    )
    flag_names = [f"genre_{i}" for i in range(len(GENRES_100K))]
    movies = read_separated(
        folder / "u.item",
        "|",
        names=["item_id", "title", "release_date", "video_release_date", "imdb_url"]
        + flag_names,
        dtype={"item_id": np.int64, "title": str} | dict.fromkeys(flag_names, np.int8),
        encoding="latin-1",
    )
    users = read_separated(
        folder / "u.user",
        "|",
        names=["user_id", "age", "gender", "occupation", "zip"],
        dtype={
            "user_id": np.int64,
            "age": np.int64,
            "gender": str,
            "occupation": str,
            "zip": str,
        },
    )
    flags = movies[flag_names].to_numpy(dtype=bool)
    names = np.array(GENRES_100K, dtype=object)
    genres = ["|".join(names[row]) for row in flags]
    items = pd.DataFrame(
        {
            "title": pd.Categorical(movies["title"]),
            "genres": pd.Categorical(genres),
        },
        index=pd.Index(movies["item_id"].to_numpy(), name="item_id"),
    )
    users = users.set_index("user_id")[["gender", "age", "occupation", "zip"]]
    for name in ("gender", "occupation", "zip"):
        users[name] = pd.Categorical(users[name])
    return ratings, items, users
