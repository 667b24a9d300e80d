"""Fitted state as plain data, for pickle, joblib and skops (internal).

``skops.io`` only stores what it knows: Python scalars, strings, lists, tuples, dicts,
numpy arrays and types it has been told to trust. The estimators' ``__getstate__``
therefore run their fitted state through :func:`to_plain`, which rewrites

- pandas ``Index`` / ``Series`` / ``DataFrame`` (numpy, categorical, string and
  nullable dtypes) as their values, dtypes and names;
- torch tensors as numpy arrays plus dtype, device and ``requires_grad``;
- scipy CSR / CSC matrices as their three arrays and shape;
- objects of the package's registered helper classes (:func:`register_plain_class`)
  as their state;

each as a dict tagged with :data:`TAG`. :func:`from_plain` rebuilds them exactly
(same dtypes, same values bit for bit). Nothing here pickles or unpickles: loading
only ever calls constructors of pandas, numpy, scipy and torch on arrays, and the
``__new__`` / ``__setstate__`` of the registered classes. Anything else is left as
it is: pickle stores it as usual, and skops reports its type as untrusted.
"""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd

__all__ = ["TAG", "from_plain", "register_plain_class", "to_plain"]

TAG = "__sklearn_metarec__"
"""Key marking a dict that stands for a converted object."""

_PLAIN_SCALARS = (bool, int, float, str, type(None), np.generic)
_REGISTRY: dict[str, type] = {}


def register_plain_class(cls: type) -> type:
    """Let :func:`to_plain` store instances of ``cls`` by their ``__getstate__``.

    Only for the package's own classes whose state is data (converted recursively)
    and whose ``__setstate__`` (or ``__dict__``) restores them without side effects.
    Usable as a class decorator.
    """
    _REGISTRY[_class_key(cls)] = cls
    return cls


def to_plain(obj):
    """``obj`` with every convertible part rewritten as plain data (see module doc)."""
    if isinstance(obj, _PLAIN_SCALARS) or type(obj) is np.ndarray:
        return obj
    if isinstance(obj, np.memmap):  # from joblib.load(..., mmap_mode=...)
        return np.asarray(obj)
    kind = type(obj)
    if kind is list:
        return [to_plain(v) for v in obj]
    if kind is tuple:
        return tuple(to_plain(v) for v in obj)
    if kind is dict:
        return {k: to_plain(v) for k, v in obj.items()}
    torch = sys.modules.get("torch")  # no tensor can exist before torch is imported
    if torch is not None and isinstance(obj, torch.Tensor):
        return _tensor_to_plain(obj, torch)
    if isinstance(obj, pd.Index | pd.Series | pd.DataFrame):
        return _pandas_to_plain(obj)
    if _REGISTRY.get(_class_key(kind)) is kind:
        # object.__getstate__ exists from Python 3.11 on, and gives None for an
        # empty __dict__.
        state = obj.__getstate__() if hasattr(obj, "__getstate__") else vars(obj)
        return {
            TAG: "object",
            "class": _class_key(kind),
            "state": to_plain(state if state is not None else {}),
        }
    sparse = sys.modules.get("scipy.sparse")
    if sparse is not None and sparse.issparse(obj) and obj.format in ("csr", "csc"):
        return {
            TAG: "sparse",
            "format": obj.format,
            "array": isinstance(obj, sparse.sparray),
            "data": obj.data,
            "indices": obj.indices,
            "indptr": obj.indptr,
            "shape": tuple(int(n) for n in obj.shape),
        }
    return obj


def from_plain(obj):
    """Inverse of :func:`to_plain`."""
    kind = type(obj)
    if kind is list:
        return [from_plain(v) for v in obj]
    if kind is tuple:
        return tuple(from_plain(v) for v in obj)
    if kind is not dict:
        return obj
    tag = obj.get(TAG)
    if tag is None:
        return {k: from_plain(v) for k, v in obj.items()}
    if tag == "tensor":
        return _tensor_from_plain(obj)
    if tag in ("index", "series", "frame"):
        return _pandas_from_plain(obj)
    if tag == "object":
        cls = _REGISTRY.get(obj["class"])
        if cls is None:
            raise TypeError(
                f"Cannot restore an object of unknown class {obj['class']}."
            )
        instance = cls.__new__(cls)
        state = from_plain(obj["state"])
        if hasattr(cls, "__setstate__"):
            instance.__setstate__(state)
        else:
            instance.__dict__.update(state)
        return instance
    if tag == "sparse":
        import scipy.sparse as sp

        name = obj["format"] + ("_array" if obj["array"] else "_matrix")
        cls = {
            "csr_matrix": sp.csr_matrix,
            "csc_matrix": sp.csc_matrix,
            "csr_array": sp.csr_array,
            "csc_array": sp.csc_array,
        }[name]
        return cls((obj["data"], obj["indices"], obj["indptr"]), shape=obj["shape"])
    raise ValueError(f"Unknown persisted state kind {tag!r}.")


def _class_key(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


# ---------------------------------------------------------------------- torch
def _tensor_to_plain(tensor, torch) -> dict:
    data = tensor.detach()
    dtype = str(data.dtype).removeprefix("torch.")
    if data.dtype == torch.bfloat16:  # no numpy twin: keep the bits
        data = data.view(torch.int16)
    return {
        TAG: "tensor",
        "data": data.cpu().numpy(),
        "dtype": dtype,
        "device": str(tensor.device),
        "requires_grad": bool(tensor.requires_grad),
    }


def _tensor_from_plain(state: dict):
    import torch

    data = np.asarray(state["data"])
    if not data.flags.writeable:  # e.g. joblib.load(..., mmap_mode="r")
        data = data.copy()
    tensor = torch.from_numpy(data)
    if state["dtype"] == "bfloat16":
        tensor = tensor.view(torch.bfloat16)
    elif str(tensor.dtype) != "torch." + state["dtype"]:
        raise ValueError(
            f"Tensor of dtype {state['dtype']} stored as {tensor.dtype}: corrupt state."
        )
    if state["device"] != "cpu":
        tensor = tensor.to(state["device"])
    if state["requires_grad"]:
        tensor.requires_grad_(True)
    return tensor


# --------------------------------------------------------------------- pandas
def _pandas_to_plain(obj):
    """A pandas object as plain data, or the object itself if a dtype is not
    supported (pickle then stores it as usual; skops cannot)."""
    if isinstance(obj, pd.DataFrame):
        columns = _index_to_plain(obj.columns)
        index = _index_to_plain(obj.index)
        data = [_values_to_plain(obj.iloc[:, k]) for k in range(obj.shape[1])]
        if columns is None or index is None or any(v is None for v in data):
            return obj
        return {TAG: "frame", "columns": columns, "index": index, "data": data}
    if isinstance(obj, pd.Series):
        index = _index_to_plain(obj.index)
        values = _values_to_plain(obj)
        if index is None or values is None or not _plain_name(obj.name):
            return obj
        return {
            TAG: "series",
            "index": index,
            "values": values,
            "name": obj.name,
        }
    return _index_to_plain(obj) or obj


def _index_to_plain(index: pd.Index) -> dict | None:
    if isinstance(index, pd.MultiIndex) or not _plain_name(index.name):
        return None
    if isinstance(index, pd.RangeIndex):
        values = {
            "kind": "range",
            "start": int(index.start),
            "stop": int(index.stop),
            "step": int(index.step),
        }
    else:
        values = _values_to_plain(index)
        if values is None:
            return None
    return {TAG: "index", "values": values, "name": index.name}


def _plain_name(name) -> bool:
    return isinstance(name, _PLAIN_SCALARS)


def _values_to_plain(values: pd.Index | pd.Series) -> dict | None:
    """Values and dtype of an Index or Series, or None if not plain data."""
    dtype = values.dtype
    if isinstance(dtype, np.dtype):
        array = values.to_numpy()
        if dtype.kind != "O":
            return {"kind": "numpy", "values": array}
        return _objects_to_plain(array)
    array = values.array
    if isinstance(dtype, pd.CategoricalDtype):
        categories = _values_to_plain(dtype.categories)
        if categories is None:
            return None
        return {
            "kind": "categorical",
            "codes": np.asarray(array.codes),
            "categories": categories,
            "ordered": bool(dtype.ordered),
        }
    if isinstance(dtype, pd.StringDtype):
        strings = np.asarray(array.to_numpy(dtype=object, na_value=None), dtype=object)
        return {
            "kind": "string",
            "storage": dtype.storage,
            "na_is_nan": dtype.na_value is not pd.NA,
            "values": strings,
        }
    masked = pd.arrays.IntegerArray | pd.arrays.FloatingArray | pd.arrays.BooleanArray
    if isinstance(array, masked):
        mask = np.asarray(array.isna())
        fill = False if isinstance(array, pd.arrays.BooleanArray) else 0
        return {
            "kind": "masked",
            "dtype": dtype.name,
            "values": array.to_numpy(dtype=dtype.numpy_dtype, na_value=fill),
            "mask": mask,
        }
    return None


def _is_plain(value) -> bool:
    """A scalar, or a tuple of them (tuple ids), that skops stores as data."""
    if type(value) is tuple:
        return all(_is_plain(v) for v in value)
    return isinstance(value, _PLAIN_SCALARS)


def _objects_to_plain(array: np.ndarray) -> dict | None:
    """A 1-D object array of plain scalars or tuples of them, ``pd.NA`` and
    ``pd.NaT`` (as after a concat of a nullable column with an object one), or None
    for other objects."""
    missing: dict[str, list[int]] = {"NA": [], "NaT": []}
    for position, value in enumerate(array.tolist()):
        if value is pd.NA:
            missing["NA"].append(position)
        elif value is pd.NaT:
            missing["NaT"].append(position)
        elif not _is_plain(value):
            return None
    if not (missing["NA"] or missing["NaT"]):
        return {"kind": "numpy", "values": array}
    array = array.copy()
    array[missing["NA"] + missing["NaT"]] = None
    return {
        "kind": "numpy",
        "values": array,
        "missing": {k: np.asarray(v, dtype=np.int64) for k, v in missing.items()},
    }


def _pandas_from_plain(state: dict):
    tag = state[TAG]
    if tag == "index":
        return _index_from_plain(state)
    if tag == "series":
        values = _values_from_plain(state["values"])
        return pd.Series(
            values,
            index=_index_from_plain(state["index"]),
            name=state["name"],
            dtype=values.dtype,
            copy=False,
        )
    index = _index_from_plain(state["index"])
    columns = _index_from_plain(state["columns"])
    data = [_values_from_plain(v) for v in state["data"]]
    if not data:
        return pd.DataFrame(index=index, columns=columns)
    # Positional columns on a fresh RangeIndex (no alignment, so duplicate labels
    # are fine), each with its dtype spelled out (pandas would infer ``str`` from
    # object arrays of strings), then the stored labels.
    frame = pd.DataFrame(
        {k: pd.Series(v, dtype=v.dtype, copy=False) for k, v in enumerate(data)}
    )
    frame.index = index
    frame.columns = columns
    return frame


def _index_from_plain(state: dict) -> pd.Index:
    values = state["values"]
    if values["kind"] == "range":
        return pd.RangeIndex(
            values["start"], values["stop"], values["step"], name=state["name"]
        )
    array = _values_from_plain(values)
    return pd.Index(array, dtype=array.dtype, name=state["name"], copy=False)


def _values_from_plain(state: dict):
    kind = state["kind"]
    if kind == "numpy":
        array = np.asarray(state["values"])
        if "missing" in state:
            array = array.copy()
            array[np.asarray(state["missing"]["NA"], dtype=np.int64)] = pd.NA
            array[np.asarray(state["missing"]["NaT"], dtype=np.int64)] = pd.NaT
        return array
    if kind == "categorical":
        categories = _values_from_plain(state["categories"])
        dtype = pd.CategoricalDtype(
            pd.Index(categories, dtype=categories.dtype), ordered=state["ordered"]
        )
        return pd.Categorical.from_codes(np.asarray(state["codes"]), dtype=dtype)
    if kind == "string":
        dtype = pd.StringDtype(
            state["storage"], na_value=np.nan if state["na_is_nan"] else pd.NA
        )
        return pd.array(list(state["values"]), dtype=dtype)
    if kind == "masked":
        array = pd.array(np.asarray(state["values"]), dtype=state["dtype"])
        mask = np.asarray(state["mask"], dtype=bool)
        if mask.any():
            array[mask] = pd.NA
        return array
    raise ValueError(f"Unknown persisted values kind {kind!r}.")
