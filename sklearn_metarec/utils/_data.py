"""The data contract: interaction logs, id encoding and side information.

``X`` is a pandas DataFrame (or a 2-D array) whose first two columns are the user id
and the item id. Any further columns are side information about items or users. ``y``
is a 1-D array of explicit ratings or implicit confidences, or None for a log of
positive interactions. See DESIGN §2.

Nothing here mutates the caller's data: every function reads its inputs and builds new
arrays.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from numbers import Number

import numpy as np
import pandas as pd
from scipy import sparse

from ._persistence import from_plain, register_plain_class, to_plain

__all__ = [
    "IdIndex",
    "Interactions",
    "check_interactions",
    "check_ids",
    "split_side_information",
    "check_text_columns",
]

INTERACTION_COLUMNS = ("timestamp",)
"""Side columns that describe an interaction, not its item or user (left out of the
per-item and per-user tables)."""

MULTI_VALUE_SEPARATORS = "|,"
"""Characters on which a multi-valued categorical column is split (see
:func:`split_multi_valued`)."""


@register_plain_class
class IdIndex:
    """Map raw ids (any hashable values) to positions ``0..n-1``.

    Unknown ids map to ``-1``; nothing ever raises an ``IndexError``. The index can
    grow (``extend``) when ``partial_fit`` meets new ids; existing positions never move.

    Extending costs the new ids, not the index: they go to a dictionary beside the
    hashed index (shared, append-only, by the copies that write-then-swap makes),
    folded into the index once they are a quarter of it.

    Parameters
    ----------
    ids : array-like of hashable
        Ids in order of first appearance; duplicates are collapsed.

    Examples
    --------
    >>> index = IdIndex(["u1", "u2", "u1"])
    >>> index.ids.tolist()
    ['u1', 'u2']
    >>> index.get_positions(["u2", "unknown"]).tolist()
    [1, -1]
    >>> index.extend(["u3", "u1"]).tolist()
    [2, 0]
    """

    def __init__(self, ids=()):
        self._set_index(pd.Index(pd.unique(_as_id_array(ids))))

    def _set_index(self, index: pd.Index) -> None:
        self._index = index
        # Ids appended since ``_index`` was built: id -> position, and the ids
        # in order (arrays as extended). Shared with shallow copies and only
        # appended to; ``_n`` is this object's length, so entries at or beyond
        # it (an interrupted call's, appended to a shared tail) are not its own.
        self._tail: dict = {}
        self._tail_ids: list = []
        self._chunks: list = []
        self._n = len(index)

    def __len__(self) -> int:
        return self._n

    def __contains__(self, id_) -> bool:
        return id_ in self._index or self._tail.get(id_, self._n) < self._n

    @property
    def ids(self) -> np.ndarray:
        """Raw ids in position order, shape (n_ids,)."""
        out = np.empty(self._n, dtype=object)
        out[: len(self._index)] = np.asarray(self._index, dtype=object)
        out[len(self._index) :] = _as_id_array(
            self._tail_ids[: self._n - len(self._index)]
        )
        return out

    def ids_at(self, positions) -> np.ndarray:
        """Raw ids at ``positions`` (without converting the whole index)."""
        positions = np.asarray(positions, dtype=np.int64)
        in_index = positions < len(self._index)
        if in_index.all():
            return np.asarray(self._index[positions], dtype=object)
        out = np.empty(len(positions), dtype=object)
        out[in_index] = np.asarray(self._index[positions[in_index]], dtype=object)
        tail = positions[~in_index] - len(self._index)
        out[~in_index] = _as_id_array([self._tail_ids[k] for k in tail])
        return out

    def get_positions(self, ids) -> np.ndarray:
        """Positions of ``ids``, ``-1`` for ids not in the index (int64 array)."""
        ids = _as_id_array(ids)
        if self._n == 0:
            return np.full(len(ids), -1, dtype=np.int64)
        pos = self._index.get_indexer(ids).astype(np.int64, copy=False)
        n_tail = self._n - len(self._index)
        if n_tail:
            missing = np.flatnonzero(pos < 0)
            if len(missing) > max(64, n_tail // 8):
                # Many for the tail: hash it once (costs the tail, not the index).
                tail = pd.Index(_as_id_array(self._tail_ids[:n_tail]), dtype=object)
                found = tail.get_indexer(ids[missing])
                pos[missing] = np.where(found >= 0, found + len(self._index), -1)
            elif len(missing):
                n, tail = self._n, self._tail
                found = [tail.get(id_, n) for id_ in ids[missing]]
                pos[missing] = [p if p < n else -1 for p in found]
        return pos

    def extend(self, ids) -> np.ndarray:
        """Append the ids not yet known (in order of first appearance).

        Returns the positions of ``ids`` after the extension.
        """
        ids = _as_id_array(ids)
        pos = self.get_positions(ids)
        unknown = pos < 0
        if not unknown.any():
            return pos
        inverse, new = pd.factorize(ids[unknown])  # in order of appearance
        n_tail = self._n - len(self._index)
        if len(self._tail) > n_tail:  # another copy appended: start a tail of ours
            self._tail = dict(list(self._tail.items())[:n_tail])
            self._tail_ids = self._tail_ids[:n_tail]
            self._chunks = _take_chunks(self._chunks, n_tail)
        positions = np.arange(self._n, self._n + len(new))
        self._tail.update(zip(new, positions.tolist()))
        self._tail_ids.extend(new.astype(object))  # as the index gives them
        self._chunks.append(new)
        self._n += len(new)
        pos[unknown] = positions[inverse]
        if self._n - len(self._index) > max(_TAIL_SIZE, len(self._index) // 4):
            self._set_index(self._folded())
        return pos

    def _folded(self) -> pd.Index:
        """The index with its tail appended (as :func:`_append_ids`)."""
        index = self._index
        chunks = _take_chunks(self._chunks, self._n - len(index))
        if not chunks:
            return index
        if index.dtype != object and all(c.dtype == index.dtype for c in chunks):
            return _append_ids(index, np.concatenate(chunks))
        values = np.empty(self._n, dtype=object)
        values[: len(index)] = index.to_numpy(dtype=object)
        start = len(index)
        for chunk in chunks:
            values[start : start + len(chunk)] = chunk
            start += len(chunk)
        return pd.Index(values, dtype=object)

    def __getstate__(self):
        # Plain data (the ids with their dtype) for pickle and skops alike.
        return {"ids": to_plain(self._folded())}

    def __setstate__(self, state):
        ids = from_plain(state["ids"])
        if not isinstance(ids, pd.Index):  # a plain list: the earlier format
            ids = pd.Index(pd.unique(_as_id_array(ids)))
        self._set_index(ids)


#: Ids an :class:`IdIndex` keeps beside its hashed index before folding them in
#: (or a quarter of the index, if more).
_TAIL_SIZE = 1024


def _take_chunks(chunks: list, n: int) -> list:
    """The first ``n`` ids of a list of arrays, as a list of arrays."""
    out, left = [], n
    for chunk in chunks:
        if left <= 0:
            break
        out.append(chunk[:left])
        left -= len(chunk)
    return out


def _append_ids(index: pd.Index, new: np.ndarray) -> pd.Index:
    """``index`` followed by ``new``, every id kept as given.

    ``Index.append`` infers a common dtype, which turns int ids into floats when a
    float id arrives (``1000`` becomes ``1000.0``, ``2**63 - 1`` a rounded float
    that no longer finds the id): ids of another kind go to an object index.
    """
    if index.dtype != object and new.dtype == index.dtype:
        return index.append(pd.Index(new))
    values = np.empty(len(index) + len(new), dtype=object)
    values[: len(index)] = index.to_numpy(dtype=object)
    values[len(index) :] = new
    return pd.Index(values, dtype=object)


def _as_id_array(ids) -> np.ndarray:
    if isinstance(ids, pd.Series | pd.Index):
        ids = ids.to_numpy()
    if isinstance(ids, list | tuple):
        # Keep each id's own type: np.asarray would turn [1, "a"] into strings.
        arr = np.empty(len(ids), dtype=object)
        try:
            arr[:] = ids
        except ValueError:
            # Sequence ids of one length ([("a", 1), ("b", 2)]) would broadcast
            # into a 2-D array: place them one by one.
            for position, id_ in enumerate(ids):
                arr[position] = id_
        return arr
    arr = np.asarray(ids)
    if arr.dtype.kind in "US":
        arr = arr.astype(object)
    if arr.ndim == 0:
        arr = np.array([ids], dtype=object)
    return arr


@dataclass
class Interactions:
    """A validated interaction log (internal).

    Attributes
    ----------
    users, items : ndarray of shape (n_rows,)
        Raw user and item ids, as given.
    y : ndarray of shape (n_rows,) or None
        Float64 targets.
    side : DataFrame
        The side-information columns (possibly none), positional index 0..n_rows-1.
    user_column, item_column : str
        Names of the id columns.
    columns : list of str
        All column names, in order.

    Examples
    --------
    :func:`check_interactions` returns one:

    >>> import pandas as pd
    >>> X = pd.DataFrame({"user_id": ["a", "b", "a"], "item_id": [1, 2, 2],
    ...                   "genre": ["x", "y", "y"]})
    >>> data = check_interactions(X, [4, 3, 5])
    >>> isinstance(data, Interactions), len(data), data.columns
    (True, 3, ['user_id', 'item_id', 'genre'])
    >>> data.users.tolist(), data.y.tolist()
    (['a', 'b', 'a'], [4.0, 3.0, 5.0])
    >>> data.side.columns.tolist(), data.side.index.tolist()
    (['genre'], [0, 1, 2])
    """

    users: np.ndarray
    items: np.ndarray
    y: np.ndarray | None
    side: pd.DataFrame
    user_column: str = "user_id"
    item_column: str = "item_id"
    columns: list = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.users)


def check_ids(ids, name: str) -> np.ndarray:
    """Validate a 1-D array of ids: hashable, no missing values.

    Parameters
    ----------
    ids : array-like of shape (n,)
        Raw ids.
    name : str
        What the ids are, the subject of the error messages, e.g.
        ``"user id column"``.

    Returns
    -------
    ids : ndarray of shape (n,)

    Examples
    --------
    >>> check_ids(["a", "b"], "user id column").tolist()
    ['a', 'b']
    >>> check_ids([1.0, float("nan")], "user id column")
    Traceback (most recent call last):
    ...
    ValueError: user id column contains missing values (NaN/None) at row 1.
    """
    arr = _as_id_array(ids)
    if arr.dtype.kind == "f":
        bad = ~np.isfinite(arr)
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            raise ValueError(
                f"{name} contains missing values (NaN/None) at row {row}."
                if np.isnan(arr[row])
                else f"{name} contains an infinite value at row {row}."
            )
    elif arr.dtype == object:
        if arr.ndim != 1:
            raise ValueError(
                f"{name} must be 1-D (one id per row); got shape {arr.shape}."
            )
        missing = pd.isna(arr)
        if missing.any():
            row = int(np.flatnonzero(missing)[0])
            raise ValueError(f"{name} contains missing values (NaN/None) at row {row}.")
        _check_hashable(arr, name)
    elif arr.dtype.kind not in "iub":
        raise ValueError(
            f"{name} has unsupported dtype {arr.dtype}; ids must be integers, "
            "strings or other hashable values (convert with .astype(str))."
        )
    return arr


def _check_hashable(arr: np.ndarray, name: str) -> None:
    """Raise a ValueError naming the first unhashable id of an object array."""
    try:
        deque(map(hash, arr), maxlen=0)  # C loop; str hashes are cached
    except TypeError:
        for row, value in enumerate(arr):
            try:
                hash(value)
            except TypeError:
                raise ValueError(
                    f"{name} holds an unhashable value at row {row}: "
                    f"{type(value).__name__} {_short_repr(value)}. Ids must be "
                    "hashable (int, str, tuple, ...)."
                ) from None
        raise  # pragma: no cover - hash failed, then succeeded


def _short_repr(value, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def check_interactions(
    X,
    y=None,
    *,
    require_y: bool = True,
    estimator_name: str = "Recommender",
    user_column: str | None = None,
    item_column: str | None = None,
) -> Interactions:
    """Validate an interaction log and split it into ids, targets and side columns.

    Parameters
    ----------
    X : DataFrame or array-like of shape (n_rows, n_columns)
        The user id and item id columns, then any side information;
        ``n_columns >= 2``. A DataFrame's id columns are found by name (any
        position); an array's are its first two columns.
    y : array-like of shape (n_rows,), default=None
        Ratings or 0/1 labels; finite numbers.
    require_y : bool, default=True
        Whether ``y`` must be given.
    estimator_name : str, default="Recommender"
        Used in error messages.
    user_column, item_column : str or None, default=None
        Names of the id columns. A DataFrame without a column of that name is a
        ``ValueError``. None (the splitters and metrics, which have no such
        parameter): ``"user_id"`` / ``"item_id"`` when the DataFrame has both,
        else its first two columns.

    Returns
    -------
    Interactions

    Raises
    ------
    ValueError
        Empty X, fewer than two columns, missing, NaN or unhashable ids, id columns
        of datetimes or complex numbers, mismatched lengths, NaN/infinite or
        non-numeric targets (see :func:`check_target`), a 2-D y with more than one
        column.

    Notes
    -----
    Duplicate (user, item) rows are kept: each row is one observation (the
    package-wide policy, see the data-contract page of the user guide).

    Examples
    --------
    >>> import pandas as pd
    >>> X = pd.DataFrame({"user_id": ["a", "b"], "item_id": [1, 2]})
    >>> data = check_interactions(X, [4.0, 3.5])
    >>> data.users.tolist(), data.items.tolist(), data.y.tolist()
    (['a', 'b'], [1, 2], [4.0, 3.5])
    """
    if X is None:
        raise ValueError(f"{estimator_name} expects X, got None.")
    by_name = user_column is not None or item_column is not None
    user_column = "user_id" if user_column is None else str(user_column)
    item_column = "item_id" if item_column is None else str(item_column)
    if user_column == item_column:
        raise ValueError(
            f"user_column and item_column are both {user_column!r}; the user id and "
            "the item id need two columns."
        )
    if isinstance(X, pd.DataFrame):
        frame = X
        columns = [str(c) for c in frame.columns]
        if len(set(columns)) != len(columns):
            raise ValueError(f"X has duplicate column names: {columns}.")
        frame = _ids_first(frame, columns, user_column, item_column, by_name)
        columns = [str(c) for c in frame.columns]
    else:
        if sparse.issparse(X):
            raise ValueError(
                f"{estimator_name} does not accept sparse X: pass a DataFrame or a "
                "dense 2-D array whose first two columns are user id and item id."
            )
        arr = (
            np.array(X, dtype=object) if isinstance(X, list | tuple) else np.asarray(X)
        )
        if arr.ndim == 1 and arr.size and isinstance(arr[0], str | bytes):
            raise ValueError(
                "Expected a 2-D array, got a 1-D array of strings; X must have a user "
                "id column and an item id column."
            )
        if arr.ndim != 2:
            raise ValueError(
                f"Expected a 2-D array or DataFrame for X, got {arr.ndim}-D array of "
                f"shape {arr.shape}. Reshape your data: X must have a user id column "
                "and an item id column."
            )
        if arr.dtype.kind == "c":
            raise ValueError("Complex data not supported in X.")
        frame = pd.DataFrame(arr, copy=False)
        columns = [user_column, item_column]
        columns += [f"x{i}" for i in range(2, arr.shape[1])]
        frame.columns = columns[: arr.shape[1]]
    n_rows, n_columns = frame.shape
    if n_rows == 0:
        raise ValueError(
            f"Found array with 0 sample(s) (shape={frame.shape}) while a minimum of 1 "
            f"is required by {estimator_name}: X is empty."
        )
    if n_columns < 2:
        raise ValueError(
            f"Found array with {n_columns} feature(s) (shape={frame.shape}) while a "
            f"minimum of 2 is required by {estimator_name}: X needs a user id column "
            "and an item id column (missing id column)."
        )
    users = check_ids(frame.iloc[:, 0].to_numpy(), f"User id ({columns[0]!r}) column")
    items = check_ids(frame.iloc[:, 1].to_numpy(), f"Item id ({columns[1]!r}) column")
    if isinstance(X, pd.DataFrame):
        # Column by column, each keeping its array: on the few rows of a
        # partial_fit, slicing the frame costs several times as much.
        side = pd.DataFrame(
            {c: frame._get_column_array(k) for k, c in enumerate(columns[2:], 2)},
            index=pd.RangeIndex(n_rows),
            columns=columns[2:],
            copy=False,
        )
    else:
        side = frame.iloc[:, 2:].infer_objects()
        side = (
            side.set_axis(range(n_rows), axis=0)
            if n_columns > 2
            else pd.DataFrame(index=range(n_rows))
        )
        side.columns = columns[2:]

    y_arr = None
    if y is None:
        if require_y:
            raise ValueError(
                f"{estimator_name} requires y to be passed, but the target y is None."
            )
    else:
        y_arr = check_target(y, n_rows)
    return Interactions(
        users=users,
        items=items,
        y=y_arr,
        side=side,
        user_column=columns[0],
        item_column=columns[1],
        columns=columns,
    )


def _ids_first(frame, columns, user_column, item_column, by_name) -> pd.DataFrame:
    """``frame`` with its user and item id columns first (a view when they are).

    By name: each must exist. Otherwise (``by_name`` False) the default names are
    used when both exist, else the first two columns. A frame whose column names
    are not all strings has no names to go by: its first two columns are the ids.
    """
    if not all(isinstance(c, str) for c in frame.columns):
        # Unnamed columns (``pd.DataFrame(array)``): by position, as an array's.
        return frame
    have_user, have_item = user_column in columns, item_column in columns
    if not by_name and not (have_user and have_item):
        return frame
    for name, present, parameter in (
        (user_column, have_user, "user_column"),
        (item_column, have_item, "item_column"),
    ):
        if not present:
            raise ValueError(
                f"X has no column {name!r} ({parameter}): the id columns of a "
                f"DataFrame are found by name; its columns are {columns}. Rename "
                f"the column or set {parameter}."
            )
    if columns[:2] == [user_column, item_column]:
        return frame
    order = [columns.index(user_column), columns.index(item_column)]
    order += [i for i in range(len(columns)) if i not in order]
    return frame.iloc[:, order]


def check_target(y, n_rows: int | None = None) -> np.ndarray:
    """Validate ratings / labels: 1-D, numeric, finite; returns float64.

    Accepted: numbers (bool, int, float, nullable pandas numbers, object arrays of
    numbers). Rejected with a ``ValueError``: strings (also ``"4"``), complex
    numbers, datetimes, missing values, infinite values and values beyond the
    float32 range (about ``3.4e38``) that the neural estimators compute in.

    Examples
    --------
    >>> check_target([1, 2, 3]).dtype
    dtype('float64')
    >>> check_target([1.0, float("inf")])
    Traceback (most recent call last):
    ...
    ValueError: y contains an infinite value at row 1 (ratings must be finite).
    >>> check_target(["4", "5"])
    Traceback (most recent call last):
    ...
    ValueError: y must hold numeric ratings or 0/1 labels; got dtype <U1.
    """
    if isinstance(y, pd.DataFrame):
        if y.shape[1] != 1:
            raise ValueError(f"y must be 1-D; got a DataFrame of shape {y.shape}.")
        y = y.iloc[:, 0]
    arr = as_float_array(y, "y", "numeric ratings or 0/1 labels")
    if arr.ndim == 2 and arr.shape[1] == 1:
        import warnings

        from sklearn.exceptions import DataConversionWarning

        warnings.warn(
            "A column-vector y was passed when a 1d array was expected. Please change "
            "the shape of y to (n_samples, ), for example using ravel().",
            DataConversionWarning,
            stacklevel=3,
        )
        arr = arr.ravel()
    if arr.ndim != 1:
        raise ValueError(f"y must be 1-D; got an array of shape {arr.shape}.")
    nan = np.isnan(arr)
    if nan.any():
        row = int(np.flatnonzero(nan)[0])
        raise ValueError(f"y contains NaN at row {row} (ratings must be finite).")
    inf = np.isinf(arr)
    if inf.any():
        row = int(np.flatnonzero(inf)[0])
        raise ValueError(
            f"y contains an infinite value at row {row} (ratings must be finite)."
        )
    too_large = np.abs(arr) > MAX_ABS_TARGET
    if too_large.any():
        row = int(np.flatnonzero(too_large)[0])
        raise ValueError(
            f"y holds {float(arr[row])!r} at row {row}, beyond the float32 range "
            "(about 3.4e38) the models compute in; rescale y."
        )
    if n_rows is not None and len(arr) != n_rows:
        raise ValueError(
            f"Found input variables with inconsistent numbers of samples: X has "
            f"{n_rows} rows but y has {len(arr)} (mismatched lengths)."
        )
    return arr


_NOT_NUMBERS = (str, bytes, complex, np.complexfloating, np.datetime64, np.timedelta64)
MAX_ABS_TARGET = float(np.finfo(np.float32).max)
"""Largest rating magnitude :func:`check_target` accepts (float32's largest value)."""


def as_float_array(values, name: str, expected: str = "numeric values") -> np.ndarray:
    """A new float64 array of ``values`` (any shape); missing values become NaN.

    Bools, ints, floats, nullable pandas numbers and object arrays of numbers are
    accepted. Strings (even ``"4"``), bytes, complex numbers, datetimes and
    timedeltas are a ``ValueError`` that names ``name`` and the offending dtype or
    value: converting them silently would hide a wrong column.

    Examples
    --------
    >>> as_float_array([1, True, 2.5], "y_true").tolist()
    [1.0, 1.0, 2.5]
    >>> as_float_array(np.array([1, "2"], dtype=object), "y_true")
    Traceback (most recent call last):
    ...
    ValueError: y_true must hold numeric values; found str '2' at row 1.
    """
    if isinstance(values, pd.Series | pd.Index):
        values = values.array
    if isinstance(values, pd.api.extensions.ExtensionArray):
        if isinstance(values.dtype, pd.CategoricalDtype):
            values = np.asarray(values.astype(object))
        elif pd.api.types.is_bool_dtype(values.dtype) or (
            pd.api.types.is_numeric_dtype(values.dtype)
            and not pd.api.types.is_complex_dtype(values.dtype)
        ):
            return values.to_numpy(dtype=np.float64, na_value=np.nan)
    try:
        arr = np.asarray(values)
    except ValueError as exc:  # ragged nested lists
        raise ValueError(
            f"{name} must be an array of {expected}; could not read it as one ({exc})"
        ) from None
    kind = arr.dtype.kind
    if kind in "biuf":
        return arr.astype(np.float64, copy=True)
    if kind != "O":
        raise ValueError(f"{name} must hold {expected}; got dtype {arr.dtype}.")
    flat = arr.ravel()
    for row, value in enumerate(flat):
        if isinstance(value, _NOT_NUMBERS) or not (
            _is_missing(value) or isinstance(value, Number | np.number)
        ):
            raise ValueError(
                f"{name} must hold {expected}; found {type(value).__name__} "
                f"{_short_repr(value)} at row {row}."
            )
    out = np.empty(flat.shape, dtype=np.float64)
    for row, value in enumerate(flat):
        out[row] = np.nan if _is_missing(value) else float(value)
    return out.reshape(arr.shape)


def check_timestamps(values: pd.Series, column) -> np.ndarray:
    """Interaction times as float64 (numbers as given, datetimes in ns since epoch).

    Timezone-aware datetimes are compared in UTC. Missing (``NaN``/``NaT``) or
    infinite times and columns of any other dtype are a ``ValueError`` naming the
    column: a splitter or scorer cannot put such rows in time order.

    Examples
    --------
    >>> import pandas as pd
    >>> check_timestamps(pd.Series([3, 1]), "timestamp").tolist()
    [3.0, 1.0]
    >>> check_timestamps(pd.Series(pd.to_datetime([1, None], unit="s")), "t")
    Traceback (most recent call last):
    ...
    ValueError: Column 't' contains missing or infinite timestamps (row 1).
    """
    dtype = values.dtype
    if isinstance(dtype, pd.DatetimeTZDtype):
        values = values.dt.tz_convert("UTC").dt.tz_localize(None)
    if pd.api.types.is_datetime64_any_dtype(values.dtype):
        missing = values.isna().to_numpy()
        times = values.to_numpy().astype("datetime64[ns]").astype(np.int64)
        times = times.astype(np.float64)
    elif pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_complex_dtype(
        dtype
    ):
        times = values.to_numpy(dtype=np.float64, na_value=np.nan)
        missing = ~np.isfinite(times)
    else:
        raise ValueError(
            f"Column {column!r} must hold numeric timestamps or datetimes; got dtype "
            f"{dtype}."
        )
    if missing.any():
        row = int(np.flatnonzero(missing)[0])
        raise ValueError(
            f"Column {column!r} contains missing or infinite timestamps (row {row})."
        )
    return times


def check_text_columns(side: pd.DataFrame, text_columns: Sequence[str]) -> None:
    """Check that every named text column exists and holds text.

    Missing values are allowed (treated as empty text); numbers are not.

    Examples
    --------
    >>> import pandas as pd
    >>> check_text_columns(pd.DataFrame({"title": ["Heat", None]}), ["title"])
    >>> check_text_columns(pd.DataFrame({"title": [1.5, 2.0]}), ["title"])
    Traceback (most recent call last):
    ...
    ValueError: Text column 'title' is not text: found float 1.5 at row 0.
    >>> check_text_columns(pd.DataFrame({"a": ["x"]}), ["title"])
    Traceback (most recent call last):
    ...
    ValueError: Text column 'title' is missing from X; X has columns ['a'].
    """
    for column in text_columns:
        if column not in side.columns:
            raise ValueError(
                f"Text column {column!r} is missing from X; X has columns "
                f"{list(side.columns)}."
            )
        values = side[column]
        if isinstance(values.dtype, pd.CategoricalDtype):
            categories = values.cat.categories
            if _is_text_dtype(categories.dtype):
                continue
            # Only the categories the rows use: a few rows sliced from a large
            # frame keep all of its categories.
            codes = values.cat.codes.to_numpy()
            used, rows = np.unique(codes, return_index=True)
            keep = used >= 0
            arr = categories.take(used[keep]).to_numpy(dtype=object)
            rows = rows[keep]
        elif _is_text_dtype(values.dtype):
            continue
        else:
            arr = values.to_numpy(dtype=object)
            rows = np.arange(len(arr))
        for row, value in zip(rows.tolist(), arr):
            if isinstance(value, str) or value is None or value is pd.NA:
                continue
            if isinstance(value, float) and np.isnan(value):
                continue
            raise ValueError(
                f"Text column {column!r} is not text: found "
                f"{type(value).__name__} {value!r} at row {row}."
            )


def _is_text_dtype(dtype) -> bool:
    """A dtype that holds only text and missing values (pandas' string dtypes)."""
    return pd.api.types.is_string_dtype(dtype) and not pd.api.types.is_object_dtype(
        dtype
    )


def split_side_information(
    data: Interactions,
    *,
    item_columns: Sequence[str] | None = None,
    user_columns: Sequence[str] | None = None,
    interaction_columns: Sequence[str] = INTERACTION_COLUMNS,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """De-duplicate side columns into per-item and per-user tables.

    A column named in ``item_columns`` (or ``user_columns``) must take one value per
    item (user). Columns in ``interaction_columns`` (by default ``timestamp``)
    describe the interaction itself: they are neither and are left out. Any other
    column is an item feature when it is a function of the item id, else a user
    feature when it is a function of the user id, else a ``ValueError`` says it is
    neither.

    Parameters
    ----------
    data : Interactions
        Validated log.
    item_columns, user_columns : sequence of str, default=None
        Explicit assignment of side columns.

    Returns
    -------
    item_side : DataFrame
        Indexed by item id (first appearance order), one row per item.
    user_side : DataFrame
        Indexed by user id, one row per user.

    Examples
    --------
    >>> import pandas as pd
    >>> X = pd.DataFrame({"user_id": [1, 1, 2], "item_id": ["a", "b", "a"],
    ...                   "title": ["A", "B", "A"], "age": [30, 30, 40]})
    >>> items, users = split_side_information(check_interactions(X, [1, 2, 3]))
    >>> items["title"].tolist(), users["age"].tolist()
    (['A', 'B'], [30, 40])
    """
    side = data.side
    item_columns = list(item_columns or [])
    user_columns = list(user_columns or [])
    for column in item_columns + user_columns:
        if column not in side.columns:
            raise ValueError(
                f"Side column {column!r} is missing from X; X has side columns "
                f"{list(side.columns)}."
            )
    skip = {c for c in interaction_columns if c not in item_columns + user_columns}
    both = set(item_columns) & set(user_columns)
    if both:
        raise ValueError(
            f"Columns {sorted(both)} are named both item and user columns."
        )

    unassigned = [
        c
        for c in side.columns
        if c not in item_columns + user_columns and c not in skip
    ]
    if not unassigned and len(side) <= _SMALL_BATCH:
        values = side.to_numpy(dtype=object)
        return (
            _dedupe_small(side, values, data.items, item_columns, "item"),
            _dedupe_small(side, values, data.users, user_columns, "user"),
        )
    item_codes, item_first = _group_codes(data.items)
    user_codes, user_first = _group_codes(data.users)
    for column in side.columns:
        if column in item_columns or column in user_columns or column in skip:
            continue
        codes = _value_codes(side[column])
        if _is_function_of(item_codes, codes, len(item_first)):
            item_columns.append(column)
        elif _is_function_of(user_codes, codes, len(user_first)):
            user_columns.append(column)
        else:
            raise ValueError(
                f"Side column {column!r} is neither an item feature nor a user "
                "feature: it takes different values for the same item and for the "
                "same user. Drop it from X (only the interaction columns "
                f"{list(interaction_columns)} may vary from row to row), or give "
                "side information in fit's items= and users= tables."
            )
    for column in item_columns:
        _check_unique_per_id(side[column], item_codes, data.items, "item", column)
    for column in user_columns:
        _check_unique_per_id(side[column], user_codes, data.users, "user", column)

    item_order = [c for c in side.columns if c in item_columns]
    user_order = [c for c in side.columns if c in user_columns]
    item_side = side[item_order].iloc[item_first]
    item_side.index = pd.Index(data.items[item_first], dtype=object, name="item_id")
    user_side = side[user_order].iloc[user_first]
    user_side.index = pd.Index(data.users[user_first], dtype=object, name="user_id")
    return item_side, user_side


_SMALL_BATCH = 256


def _dedupe_small(side, values, ids, columns, kind) -> pd.DataFrame:
    """:func:`split_side_information` for a few rows (``partial_fit`` of a user):
    the same checks in plain Python, which beats pandas' per-call overhead here.
    ``values`` is ``side`` as an object array."""
    positions = [side.columns.get_loc(c) for c in columns]
    rows = _first_rows(values, ids, columns, positions, kind)
    # Taken from ``side`` itself so that every column keeps its dtype.
    out = side.iloc[rows, positions]
    out.index = pd.Index(ids[rows], dtype=object, name=f"{kind}_id")
    return out


def _first_rows(values, ids, columns, positions, kind) -> list:
    """The first row of each id of ``ids`` (in order of first appearance), after
    checking that its other rows agree in ``columns`` (at ``positions`` of the
    object array ``values``)."""
    first: dict = {}
    for row, id_ in enumerate(ids.tolist()):
        origin = first.setdefault(id_, row)
        if origin == row:
            continue
        for column, k in zip(columns, positions):
            a, b = values[origin, k], values[row, k]
            if not _same_value(a, b):
                raise ValueError(
                    f"{kind.capitalize()} {id_!r} has two different values in side "
                    f"column {column!r}: {a!r} and {b!r}. Side information must take "
                    f"one value per {kind}."
                )
    return list(first.values())


def _same_value(a, b) -> bool:
    """Whether two side values are equal (two missing values are)."""
    if _is_missing(a) or _is_missing(b):
        return _is_missing(a) and _is_missing(b)
    return bool(a == b)


def _is_missing(value) -> bool:
    return (
        value is None or value is pd.NA or (isinstance(value, float) and value != value)
    )


def _group_codes(ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Codes in order of first appearance, and the first row of each id."""
    codes, uniques = pd.factorize(ids)
    first = np.full(len(uniques), len(ids), dtype=np.int64)
    np.minimum.at(first, codes, np.arange(len(ids)))
    return codes, first


def _value_codes(values: pd.Series) -> np.ndarray:
    codes, _ = pd.factorize(values, use_na_sentinel=True)
    return codes


def _is_function_of(id_codes: np.ndarray, value_codes: np.ndarray, n_ids: int) -> bool:
    first_value = np.full(n_ids, -2, dtype=np.int64)
    first_value[id_codes[::-1]] = value_codes[::-1]
    return bool(np.all(first_value[id_codes] == value_codes))


def _check_unique_per_id(values, id_codes, ids, kind, column) -> None:
    codes = _value_codes(values)
    first_value = np.full(id_codes.max() + 1, -2, dtype=np.int64)
    first_value[id_codes[::-1]] = codes[::-1]
    bad = np.flatnonzero(first_value[id_codes] != codes)
    if len(bad):
        row = int(bad[0])
        id_ = ids[row].item() if isinstance(ids[row], np.generic) else ids[row]
        first_row = int(np.flatnonzero(id_codes == id_codes[row])[0])
        raise ValueError(
            f"{kind.capitalize()} {id_!r} has two different values in side column "
            f"{column!r}: {values.iloc[first_row]!r} and {values.iloc[row]!r}. Side "
            f"information must take one value per {kind}."
        )


def split_multi_valued(value, separators: str = MULTI_VALUE_SEPARATORS) -> list[str]:
    """Split a multi-valued categorical cell into stripped, non-empty tokens.

    The separators are ``|`` (MovieLens genres) and ``,`` (cast lists).

    Examples
    --------
    >>> split_multi_valued("Animation|Children's|Comedy")
    ['Animation', "Children's", 'Comedy']
    >>> split_multi_valued("Tom Hanks, Tim Allen")
    ['Tom Hanks', 'Tim Allen']
    >>> split_multi_valued(None)
    []
    """
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return []
    text = str(value)
    for sep in separators[1:]:
        text = text.replace(sep, separators[0])
    return [t.strip() for t in text.split(separators[0]) if t.strip()]
