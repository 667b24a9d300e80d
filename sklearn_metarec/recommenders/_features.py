"""Side information as model inputs: categorical codes, token tables, numbers.

A :class:`SideFeatureEncoder` is fitted on a per-id side table (one row per item or
per user) and turns any such table, including rows of ids never seen, into the arrays
:class:`~sklearn_metarec.nn.MetaRecNet` takes. Column kinds are inferred:

- numeric columns (bool, int, float) are standardised, missing values become 0 (the
  mean) and infinite values are a ``ValueError``;
- text-like columns (str, Categorical) holding separators (``|`` or ``,``) in at least
  5% of their values, whose tokens recur (at most 80% of the tokens are distinct),
  are *multi-valued* and split into tokens (genres, cast lists);
- other text-like columns are single-valued categorical, unless nearly every id has a
  value of its own (more than half of the values are distinct): those are free text
  (titles, plots), left to text encoders and skipped here;
- columns named in ``exclude`` (e.g. the estimator's ``text_columns``) are skipped.

Unknown categories and tokens map to ``-1`` (missing), which the network embeds as
zeros, so a cold item is represented by the features it shares with known items.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..utils._data import MULTI_VALUE_SEPARATORS, split_multi_valued

__all__ = ["SideFeatureEncoder", "EncodedSide"]

_MULTI_MIN_FRACTION = 0.05
_MULTI_MAX_UNIQUE_FRACTION = 0.8
_FREE_TEXT_UNIQUE_FRACTION = 0.5
_MAX_TOKENS = 20
_MAX_NUMERIC_CATEGORIES = 100
_SMALL = 64


@dataclass
class EncodedSide:
    """Arrays for the network, one row per id (internal)."""

    categorical: np.ndarray  # (n, n_categorical) int64, -1 missing
    multi_valued: list = field(default_factory=list)  # [(n, n_tokens_k) int64]
    numeric: np.ndarray | None = None  # (n, n_numeric) float32


class SideFeatureEncoder:
    """Encode per-id side columns into codes, token tables and standardised numbers.

    Parameters
    ----------
    exclude : sequence of str, default=()
        Columns never encoded (the text columns of a text encoder).
    max_tokens : int, default=20
        Tokens kept per multi-valued cell (the first ones).
    categorical_only : bool, default=False
        Encode user-style features: numeric columns with at most 100 distinct values
        become categories (age bands), other numeric and multi-valued columns are
        skipped.

    Examples
    --------
    >>> import pandas as pd
    >>> side = pd.DataFrame({"genres": ["Comedy|Drama", "Drama", "Horror"],
    ...                      "year": [1995, 1999, None], "title": ["A", "B", "C"]})
    >>> enc = SideFeatureEncoder().fit(side)
    >>> enc.categorical_, enc.multi_valued_, enc.numeric_
    ([], ['genres'], ['year'])
    >>> out = enc.transform(pd.DataFrame({"genres": ["Drama|Western"], "year": [1997],
    ...                                   "title": ["D"]}))
    >>> out.multi_valued[0].tolist(), out.numeric.round(2).tolist()
    ([[1, -1]], [[0.0]])
    """

    def __init__(self, exclude=(), max_tokens=_MAX_TOKENS, categorical_only=False):
        self.exclude = tuple(exclude)
        self.max_tokens = max_tokens
        self.categorical_only = categorical_only

    def fit(self, side: pd.DataFrame) -> SideFeatureEncoder:
        """Learn column kinds, vocabularies and numeric scales from ``side``."""
        self.categorical_, self.multi_valued_, self.numeric_ = [], [], []
        self.vocabularies_: dict[str, pd.Index] = {}
        self.means_, self.scales_ = [], []
        n = max(len(side), 1)
        for column in side.columns:
            if column in self.exclude:
                continue
            values = side[column]
            if _is_numeric(values) and self.categorical_only:
                if values.nunique() <= _MAX_NUMERIC_CATEGORIES:
                    self.categorical_.append(column)
                    self.vocabularies_[column] = pd.Index(
                        pd.unique(_strings(values)[values.notna()])
                    )
                continue
            if _is_numeric(values):
                arr = _numeric(values, column)
                finite = arr[np.isfinite(arr)]
                mean = float(finite.mean()) if finite.size else 0.0
                scale = float(finite.std()) if finite.size > 1 else 0.0
                self.numeric_.append(column)
                self.means_.append(mean)
                self.scales_.append(scale if scale > 0 else 1.0)
                continue
            strings = _strings(values)
            present = strings[strings != ""]
            if not len(present):
                continue
            pattern = "[" + "".join(f"\\{c}" for c in MULTI_VALUE_SEPARATORS) + "]"
            multi = present.str.contains(pattern, regex=True).mean()
            if multi >= _MULTI_MIN_FRACTION:
                # An object array: a fixed-width numpy string array is as wide as
                # the longest token (a plot's clause) and slow to convert.
                tokens = np.array(
                    [t for v in present for t in split_multi_valued(v)], dtype=object
                )
                vocabulary = pd.unique(tokens)
                recurring = len(vocabulary) <= _MULTI_MAX_UNIQUE_FRACTION * len(tokens)
                if recurring and not self.categorical_only:
                    self.multi_valued_.append(column)
                    self.vocabularies_[column] = pd.Index(vocabulary)
                    continue
            if present.nunique() <= _FREE_TEXT_UNIQUE_FRACTION * n:
                self.categorical_.append(column)
                self.vocabularies_[column] = pd.Index(pd.unique(present))
        return self

    @property
    def categorical_cardinalities_(self) -> list[int]:
        return [len(self.vocabularies_[c]) for c in self.categorical_]

    @property
    def multi_valued_cardinalities_(self) -> list[int]:
        return [len(self.vocabularies_[c]) for c in self.multi_valued_]

    @property
    def n_numeric_(self) -> int:
        return len(self.numeric_)

    def transform(self, side: pd.DataFrame) -> EncodedSide:
        """Encode ``side`` (same columns as in ``fit``; any ids)."""
        n = len(side)
        categorical = np.full((n, len(self.categorical_)), -1, dtype=np.int64)
        for k, column in enumerate(self.categorical_):
            if n <= _SMALL:  # a few new users or items: dict lookups beat pandas
                lookup = self._lookup(column)
                strings = _few_strings(side[column].tolist())
                categorical[:, k] = [lookup.get(v, -1) for v in strings]
                continue
            strings = _strings(side[column])
            codes = self.vocabularies_[column].get_indexer(strings)
            categorical[:, k] = np.where(strings == "", -1, codes)
        multi = [
            self._tokens(side[c], self.vocabularies_[c]) for c in self.multi_valued_
        ]
        numeric = None
        if self.numeric_:
            numeric = np.zeros((n, len(self.numeric_)), dtype=np.float32)
            for k, column in enumerate(self.numeric_):
                arr = _numeric(side[column], column)
                scaled = (arr - self.means_[k]) / self.scales_[k]
                numeric[:, k] = np.where(np.isfinite(scaled), scaled, 0.0)
        return EncodedSide(categorical=categorical, multi_valued=multi, numeric=numeric)

    def _lookup(self, column) -> dict:
        """Category -> code as a dict (built once per column)."""
        cache = self.__dict__.setdefault("_lookups", {})
        if column not in cache:
            vocabulary = self.vocabularies_[column]
            cache[column] = {v: i for i, v in enumerate(vocabulary.tolist())}
        return cache[column]

    def _tokens(self, values: pd.Series, vocabulary: pd.Index) -> np.ndarray:
        strings = _strings(values)
        cells = [split_multi_valued(v)[: self.max_tokens] if v else [] for v in strings]
        width = max([len(c) for c in cells] + [1])
        table = np.full((len(cells), width), -1, dtype=np.int64)
        lengths = np.array([len(c) for c in cells])
        if lengths.sum():
            flat = vocabulary.get_indexer(
                np.array([t for c in cells for t in c], dtype=object)
            )
            rows = np.repeat(np.arange(len(cells)), lengths)
            cols = np.concatenate([np.arange(k) for k in lengths])
            table[rows, cols] = flat
        return table


def _is_numeric(values: pd.Series) -> bool:
    dtype = values.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        return False
    return pd.api.types.is_bool_dtype(dtype) or pd.api.types.is_numeric_dtype(dtype)


def _numeric(values: pd.Series, column: str) -> np.ndarray:
    arr = values.to_numpy(dtype=np.float64, na_value=np.nan)
    if np.isinf(arr).any():
        raise ValueError(f"Numeric side column {column!r} contains infinite values.")
    return arr


def _few_strings(values: list) -> list:
    """:func:`_strings` of a list, in plain Python."""
    return [
        ""
        if v is None or v is pd.NA or (isinstance(v, float) and v != v)
        else (v.strip() if isinstance(v, str) else str(v))
        for v in values
    ]


def _strings(values: pd.Series) -> pd.Series:
    """Values as stripped strings, missing as ''."""
    if len(values) <= _SMALL:  # partial_fit of a few users: plain Python is faster
        out = _few_strings(values.tolist())
        return pd.Series(out, index=values.index, dtype=object)
    if isinstance(values.dtype, pd.CategoricalDtype):
        cats = pd.Series(values.cat.categories.astype(str).str.strip())
        codes = values.cat.codes.to_numpy()
        out = np.where(codes >= 0, cats.to_numpy(dtype=object)[codes], "")
        return pd.Series(out, index=values.index, dtype=object)
    out = values.astype(object).where(values.notna(), "")
    return out.map(lambda v: v.strip() if isinstance(v, str) else str(v))
