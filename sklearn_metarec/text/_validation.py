"""Input validation shared by the text encoders.

Both encoders take one text per sample: a list, tuple, 1-D array, pandas Series (also
``string`` and ``category`` dtypes), pandas Index or a one-column DataFrame. Missing
values (``None``, ``NaN``, ``pd.NA``) read as the empty text ``""``; anything else that
is not a ``str`` is a ``ValueError`` naming the position and the offending value.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import sparse

__all__ = ["check_texts"]


def check_texts(X, estimator_name: str = "The encoder") -> np.ndarray:
    """Validate a sequence of texts and return it as a 1-D object array of ``str``.

    Parameters
    ----------
    X : sequence of str, 1-D array, Series, Index or one-column DataFrame
        One text per sample. ``None``, ``NaN`` and ``pd.NA`` become ``""``.
    estimator_name : str, default="The encoder"
        Used in error messages.

    Returns
    -------
    texts : ndarray of shape (n_samples,), dtype object
        Python ``str`` values; the caller's data is not modified.

    Raises
    ------
    ValueError
        A single string instead of a sequence, a 2-D input with more than one
        column, sparse input, or an element that is neither text nor missing.

    Examples
    --------
    >>> import pandas as pd
    >>> check_texts(["Heat", None, float("nan")]).tolist()
    ['Heat', '', '']
    >>> check_texts(pd.Series(["a", "b", "a"], dtype="category")).tolist()
    ['a', 'b', 'a']
    >>> check_texts(["Heat", 3])
    Traceback (most recent call last):
    ...
    ValueError: The encoder expects text, but element 1 is int 3. ...
    """
    if X is None:
        raise ValueError(f"{estimator_name} expects a sequence of texts, got None.")
    if isinstance(X, str | bytes):
        raise ValueError(
            f"{estimator_name} expects a sequence of texts (one per sample), got a "
            "single string. Wrap it in a list: [text]."
        )
    # issparse, not hasattr(X, "tocsr"): a Series indexed by item ids answers
    # X.tocsr with its element when an item is called "tocsr".
    if sparse.issparse(X):
        raise ValueError(
            f"{estimator_name} expects raw texts, got a sparse matrix "
            f"({type(X).__name__})."
        )
    if isinstance(X, pd.DataFrame):
        if X.shape[1] != 1:
            raise ValueError(
                f"{estimator_name} expects one text per sample (a 1-D sequence or a "
                f"one-column DataFrame), got a DataFrame with {X.shape[1]} columns "
                f"{list(X.columns)}. Build one text per row first, e.g. with "
                "join_text_columns."
            )
        X = X.iloc[:, 0]
    if isinstance(X, pd.Categorical):
        X = pd.Series(X)
    if isinstance(X, pd.Series | pd.Index):
        if isinstance(X.dtype, pd.CategoricalDtype):
            return _categorical_texts(X, estimator_name)
        arr = X.to_numpy(dtype=object)
    else:
        if not hasattr(X, "__len__") and not hasattr(X, "__array__"):
            try:
                X = list(X)
            except TypeError:
                raise ValueError(
                    f"{estimator_name} expects a sequence of texts, got "
                    f"{type(X).__name__}."
                ) from None
        try:
            arr = np.asarray(X, dtype=object)
        except ValueError as exc:  # ragged nested sequences
            raise ValueError(
                f"{estimator_name} expects a 1-D sequence of texts; could not read "
                f"the input as one ({exc})."
            ) from None
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr[:, 0]
    if arr.ndim != 1:
        raise ValueError(
            f"{estimator_name} expects a 1-D sequence of texts (one per sample), got "
            f"an array of shape {arr.shape}."
        )
    out = np.empty(len(arr), dtype=object)
    for i, value in enumerate(arr):
        out[i] = _as_text(value, i, estimator_name)
    return out


def _categorical_texts(X, estimator_name: str) -> np.ndarray:
    values = pd.Series(X) if isinstance(X, pd.Index) else X
    categories = values.cat.categories.to_numpy(dtype=object)
    texts = np.empty(len(categories) + 1, dtype=object)
    for i, value in enumerate(categories):
        texts[i] = _as_text(value, i, estimator_name, where="category")
    texts[-1] = ""  # code -1 is a missing value
    return texts[values.cat.codes.to_numpy()]


def _as_text(value, position: int, estimator_name: str, where: str = "element") -> str:
    if isinstance(value, str):
        return str(value)  # also turns np.str_ into a plain str
    if value is None or value is pd.NA:
        return ""
    if isinstance(value, float | np.floating) and math.isnan(value):
        return ""
    raise ValueError(
        f"{estimator_name} expects text, but {where} {position} is "
        f"{type(value).__name__} {value!r}. Pass strings (missing values may be "
        "None or NaN); convert other columns to text first."
    )
