"""Shared plumbing of the dataset loaders: data home, download, fast parsing, Bunch.

Nothing here imports torch: ``sklearn_metarec.datasets`` must stay importable (and
cheap to import) without the deep-learning stack.
"""

from __future__ import annotations

import csv
import io
import logging
import os
import re
import shutil
import tempfile
import urllib.request
import zipfile
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.utils import Bunch

logger = logging.getLogger(__name__)

DATA_HOME_ENV = "SKLEARN_METAREC_DATA"
"""Environment variable naming the default data home (see :func:`get_data_home`)."""

DEFAULT_DATA_HOME = Path("~") / "sklearn_metarec_data"

# Single-byte separators that never occur in the MovieLens files; the first one absent
# from a file replaces its multi-character separator so pandas' C parser can read it.
_SEPARATOR_CANDIDATES = (b"\x1f", b"\x1e", b"\t", b"\x1d")


def get_data_home(data_home: str | os.PathLike | None = None) -> Path:
    """Return the folder that holds downloaded datasets (not created here).

    Parameters
    ----------
    data_home : str or path-like, default=None
        The folder to use. ``None`` means the environment variable
        ``SKLEARN_METAREC_DATA`` when set, else ``~/sklearn_metarec_data``. A leading
        ``~`` is expanded.

    Returns
    -------
    data_home : pathlib.Path
        The data home.
    """
    if data_home is None:
        data_home = os.environ.get(DATA_HOME_ENV) or DEFAULT_DATA_HOME
    return Path(data_home).expanduser()


def bundled_path(name: str):
    """Traversable of a file bundled under ``sklearn_metarec/datasets/data/``."""
    return resources.files("sklearn_metarec.datasets").joinpath("data", name)


def download_and_extract(url: str, data_home: Path, folder: str) -> Path:
    """Download the zip at ``url`` and extract its top folder ``folder`` into
    ``data_home``.

    The archive is downloaded and extracted inside a temporary folder of
    ``data_home`` and only then renamed into place, so an interrupted download never
    leaves a half-extracted dataset behind.

    Returns
    -------
    path : pathlib.Path
        ``data_home / folder``.

    Raises
    ------
    OSError
        When the download fails, the answer is not a valid zip archive, or the archive
        does not contain ``folder``.
    """
    data_home.mkdir(parents=True, exist_ok=True)
    target = data_home / folder
    logger.info("Downloading %s into %s", url, data_home)
    with tempfile.TemporaryDirectory(dir=data_home, prefix=".download-") as tmp:
        archive = Path(tmp) / "archive.zip"
        try:
            with (
                urllib.request.urlopen(url, timeout=60) as response,
                open(archive, "wb") as out,
            ):
                shutil.copyfileobj(response, out)
        except OSError as exc:  # URLError and HTTPError are OSErrors
            raise OSError(f"Could not download {url}: {exc}") from exc
        if not zipfile.is_zipfile(archive):
            raise OSError(f"The file downloaded from {url} is not a zip archive.")
        extracted = Path(tmp) / "extracted"
        with zipfile.ZipFile(archive) as zf:
            corrupt = zf.testzip()
            if corrupt is not None:
                raise OSError(f"The zip archive from {url} is corrupt ({corrupt!r}).")
            root = extracted.resolve()
            for member in zf.namelist():
                if not (root / member).resolve().is_relative_to(root):
                    raise OSError(
                        f"The zip archive from {url} has an unsafe path {member!r}."
                    )
            zf.extractall(extracted)
        source = extracted / folder
        if not source.is_dir():
            raise OSError(
                f"The zip archive from {url} has no top-level folder {folder!r}."
            )
        try:
            os.replace(source, target)
        except OSError:
            if not target.is_dir():  # not merely a concurrent download that won
                raise
    return target


def read_separated(
    path,
    sep: str,
    names: list[str],
    *,
    dtype=None,
    encoding: str = "utf-8",
    na_values=None,
) -> pd.DataFrame:
    """Read a delimited text file with pandas' C parser, whatever its separator.

    Multi-character separators (MovieLens ``"::"``) would force pandas' slow Python
    engine; instead the file is read as bytes, the separator is replaced by a single
    byte that does not occur in the file, and the C engine parses the result. The
    file has no header and no quoting (a ``"`` is an ordinary character); only
    ``na_values`` (and nothing else: no ``"NA"``, no ``"null"``) mark missing values.
    """
    kwargs = dict(
        header=None,
        names=names,
        dtype=dtype,
        encoding=encoding,
        engine="c",
        keep_default_na=False,
        na_values=na_values if na_values is not None else [],
    )
    if len(sep) == 1:
        return pd.read_csv(path, sep=sep, quoting=csv.QUOTE_NONE, **kwargs)
    with open(path, "rb") as f:
        raw = f.read()
    encoded_sep = sep.encode(encoding)
    for candidate in _SEPARATOR_CANDIDATES:
        if candidate not in raw:
            raw = raw.replace(encoded_sep, candidate)
            return pd.read_csv(
                io.BytesIO(raw),
                sep=candidate.decode(),
                quoting=csv.QUOTE_NONE,
                **kwargs,
            )
    # Every candidate occurs in the file: fall back on the slow Python engine.
    kwargs["engine"] = "python"
    return pd.read_csv(
        io.BytesIO(raw), sep=re.escape(sep), quoting=csv.QUOTE_NONE, **kwargs
    )


def take_rows(column: pd.Series, positions: np.ndarray):
    """``column`` values at ``positions`` (``-1`` gives a missing value), as an array.

    Categorical columns stay Categorical (only their integer codes are gathered), so
    expanding a per-item text column to a per-rating column costs one small integer
    per rating.
    """
    missing = positions < 0
    if isinstance(column.dtype, pd.CategoricalDtype):
        codes = column.cat.codes.to_numpy()[positions]
        if missing.any():
            codes[missing] = -1
        return pd.Categorical.from_codes(codes, dtype=column.dtype)
    values = column.to_numpy()
    taken = values[positions]
    if missing.any():
        if not np.issubdtype(taken.dtype, np.floating):
            taken = taken.astype(np.float64 if taken.dtype.kind in "iub" else object)
        taken[missing] = np.nan
    return taken


def build_interaction_bunch(
    ratings: pd.DataFrame,
    items: pd.DataFrame,
    users: pd.DataFrame,
    *,
    descr: str,
    as_frame: bool,
    return_X_y: bool,
    trailing_item_columns: tuple[str, ...] = (),
):
    """Join per-item and per-user columns onto the ratings and package the result.

    ``ratings`` has columns ``user_id, item_id, rating, timestamp`` (file order is
    kept). X gets ``user_id, item_id, timestamp``, then the columns of ``items``
    (except ``trailing_item_columns``), then those of ``users``, then
    ``trailing_item_columns``.
    """
    item_pos = items.index.get_indexer(ratings["item_id"].to_numpy())
    user_pos = users.index.get_indexer(ratings["user_id"].to_numpy())
    columns = {
        "user_id": ratings["user_id"].to_numpy(),
        "item_id": ratings["item_id"].to_numpy(),
        "timestamp": ratings["timestamp"].to_numpy(),
    }
    leading = [c for c in items.columns if c not in trailing_item_columns]
    for name in leading:
        columns[name] = take_rows(items[name], item_pos)
    for name in users.columns:
        columns[name] = take_rows(users[name], user_pos)
    for name in trailing_item_columns:
        columns[name] = take_rows(items[name], item_pos)
    feature_names = list(columns)
    columns["rating"] = ratings["rating"].to_numpy(dtype=np.float64)
    frame = pd.DataFrame(columns, copy=False)
    data = frame[feature_names]
    target = frame["rating"]
    if not as_frame:
        data = data.to_numpy(dtype=object)
        target = target.to_numpy()
        frame = None
    if return_X_y:
        return data, target
    return Bunch(
        frame=frame,
        data=data,
        target=target,
        feature_names=feature_names,
        target_names=["rating"],
        item_frame=items,
        user_frame=users,
        DESCR=descr,
    )
