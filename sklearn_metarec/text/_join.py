"""Build one text per item from several text columns."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from numbers import Integral, Real

import numpy as np
import pandas as pd

__all__ = ["join_text_columns"]

_SENTENCE_END = (".", "!", "?")


def join_text_columns(
    frame,
    columns=None,
    *,
    sep=". ",
    labels="auto",
    multi_value_sep="|",
):
    """Join several text columns of a per-item table into one text per row.

    The text of a row is its non-missing fields, in the order of ``columns``,
    joined by ``sep``::

        Toy Story (1995). Genres: Animation, Children's, Comedy. Director: John Lasseter

    Each field is ``"<label>: <value>"`` or just ``"<value>"`` (see ``labels``).
    Values are stripped of surrounding white space; a multi-valued cell
    ``"Animation|Comedy"`` (split on ``multi_value_sep``) or a list/tuple of values
    is written ``"Animation, Comedy"``; numbers are written as numbers (``1995``,
    not ``1995.0``). Missing fields (``None``, ``NaN``, ``pd.NA``, empty or blank
    strings) are left out with their label. When a field already ends a sentence
    (``.``, ``!`` or ``?``) and ``sep`` starts with ``"."``, the full stop is not
    doubled. A row with no field at all gives ``""``.

    Parameters
    ----------
    frame : DataFrame
        One row per item (for instance the item side information), not modified.
    columns : list of str, default=None
        Columns to join, in order. ``None`` joins every column of ``frame``.
    sep : str, default=". "
        Text between two fields.
    labels : "auto", bool or dict, default="auto"
        Prefix fields with a label. ``"auto"``: every column but the first (usually
        the title) is labelled with its name, underscores as spaces and the first
        letter upper-cased (``"genres"`` → ``"Genres: "``). ``True``: every column.
        ``False``: none. A dict maps column names to label texts; columns absent
        from it are not labelled.
    multi_value_sep : str or None, default="|"
        Separator of multi-valued cells (MovieLens genres); ``None`` leaves cells
        whole.

    Returns
    -------
    texts : Series of str
        One text per row, with the index of ``frame``, named ``"text"``.

    Raises
    ------
    ValueError
        ``frame`` is not a DataFrame, a column is missing, or a cell is neither
        text, a number, a list of those, nor missing.

    Examples
    --------
    >>> import pandas as pd
    >>> from sklearn_metarec.text import join_text_columns
    >>> items = pd.DataFrame({
    ...     "title": ["Toy Story (1995)", "Heat (1995)"],
    ...     "genres": ["Animation|Children's|Comedy", "Action|Crime|Thriller"],
    ...     "director": ["John Lasseter", None],
    ... })
    >>> for text in join_text_columns(items):
    ...     print(text)
    Toy Story (1995). Genres: Animation, Children's, Comedy. Director: John Lasseter
    Heat (1995). Genres: Action, Crime, Thriller
    >>> join_text_columns(items, ["title", "genres"], labels=False).iloc[1]
    'Heat (1995). Action, Crime, Thriller'
    """
    if not isinstance(frame, pd.DataFrame):
        raise ValueError(
            "join_text_columns expects a pandas DataFrame with one row per item, got "
            f"{type(frame).__name__}."
        )
    if columns is None:
        columns = list(frame.columns)
    elif isinstance(columns, str) or not isinstance(columns, Iterable):
        raise ValueError(
            f"columns must be a list of column names, got {type(columns).__name__} "
            f"{columns!r}."
        )
    columns = list(columns)
    absent = [c for c in columns if c not in frame.columns]
    if absent:
        raise ValueError(
            f"Text columns {absent} are missing from the frame; it has columns "
            f"{list(frame.columns)}."
        )
    prefixes = _prefixes(columns, labels)
    fields = [
        _format_column(frame[column], column, prefix, multi_value_sep)
        for column, prefix in zip(columns, prefixes)
    ]
    texts = [_join_fields(row, sep) for row in zip(*fields)] if fields else None
    if texts is None:
        texts = [""] * len(frame)
    return pd.Series(texts, index=frame.index, dtype=object, name="text")


def _prefixes(columns, labels) -> list[str]:
    if isinstance(labels, Mapping):
        return [f"{labels[c]}: " if labels.get(c) else "" for c in columns]
    if isinstance(labels, bool | np.bool_):
        return [f"{_humanise(c)}: " if labels else "" for c in columns]
    if labels == "auto":
        return ["" if i == 0 else f"{_humanise(c)}: " for i, c in enumerate(columns)]
    raise ValueError(f'labels must be "auto", a bool or a dict; got {labels!r}.')


def _humanise(column) -> str:
    name = str(column).replace("_", " ").strip()
    return name[:1].upper() + name[1:]


def _format_column(values: pd.Series, column, prefix, multi_value_sep) -> list:
    if isinstance(values, pd.DataFrame):
        raise ValueError(f"Column name {column!r} is not unique in the frame.")
    formatted = []
    for row, value in enumerate(values.to_numpy(dtype=object)):
        text = _format_value(value, column, row, multi_value_sep)
        formatted.append(prefix + text if text else None)
    return formatted


def _format_value(value, column, row, multi_value_sep) -> str:
    if value is None or value is pd.NA or value is pd.NaT:
        return ""
    if isinstance(value, str):
        if multi_value_sep and multi_value_sep in value:
            parts = (p.strip() for p in value.split(multi_value_sep))
            return ", ".join(p for p in parts if p)
        return value.strip()
    if isinstance(value, bool | np.bool_):
        return str(bool(value))
    if isinstance(value, Integral):
        return str(int(value))
    if isinstance(value, Real):
        value = float(value)
        if math.isnan(value):
            return ""
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, list | tuple | np.ndarray):
        parts = (_format_value(v, column, row, multi_value_sep) for v in value)
        return ", ".join(p for p in parts if p)
    raise ValueError(
        f"Column {column!r} holds {type(value).__name__} {value!r} at row {row}; "
        "expected text, a number, a list of those, or a missing value."
    )


def _join_fields(fields, sep: str) -> str:
    text = ""
    for field in fields:
        if field is None:
            continue
        if not text:
            text = field
        elif sep.startswith(".") and text.endswith(_SENTENCE_END):
            text += sep[1:] + field
        else:
            text += sep + field
    return text
