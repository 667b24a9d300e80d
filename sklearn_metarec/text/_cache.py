"""Content-hash caches for text embeddings.

An embedding is stored under the SHA-256 of everything it depends on: a fingerprint of
the model (the bytes of its files, see :func:`directory_fingerprint`), the pooling, the
maximum length, whether it is normalised, and the text itself (:func:`embedding_keys`).
Two caches use these keys:

- :class:`MemoryCache`, a thread-safe least-recently-used store bounded in bytes. The
  text encoder keeps one per process at class level, so clones (``GridSearchCV``,
  refits, ``sklearn.base.clone``) share it and a catalogue is encoded once per process.
- :class:`DiskCache`, an SQLite file of raw little-endian float32 bytes. Reading it
  never unpickles anything: values are decoded with ``numpy.frombuffer``. It is safe
  to share between processes (SQLite locks the file) and is never pruned; delete the
  file to empty it.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
import warnings
from collections import OrderedDict
from pathlib import Path

import numpy as np

__all__ = ["MemoryCache", "DiskCache", "embedding_keys", "directory_fingerprint"]

CACHE_FORMAT_VERSION = 1
"""Bump when a change to the encoding code changes the vectors it produces."""

_ENTRY_OVERHEAD_BYTES = 160  # dict slot, key object and array header, roughly


def embedding_keys(texts, *, model_identity: str, settings: dict) -> list[bytes]:
    """SHA-256 digests (32 bytes each) of model identity, settings and each text.

    Examples
    --------
    >>> keys = embedding_keys(["a", "b", "a"], model_identity="m", settings={"x": 1})
    >>> len(keys[0]), keys[0] == keys[2], keys[0] == keys[1]
    (32, True, False)
    """
    header = json.dumps(
        {"version": CACHE_FORMAT_VERSION, "model": model_identity, **settings},
        sort_keys=True,
    ).encode()
    base = hashlib.sha256(header + b"\0")
    keys = []
    for text in texts:
        h = base.copy()
        h.update(text.encode("utf-8", "surrogatepass"))
        keys.append(h.digest())
    return keys


_FINGERPRINTS: dict[tuple, str] = {}
_FINGERPRINT_LOCK = threading.Lock()


def directory_fingerprint(path) -> str:
    """SHA-256 of the files at the top of a model directory (names and bytes).

    Hidden files and READMEs are left out; sub-folders (for instance a
    sentence-transformers ``1_Pooling/``) too. The digest is memoised per process
    for as long as the files keep their sizes and modification times, so the bytes
    are read once (about 0.1 s for a 90 MB model).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> with tempfile.TemporaryDirectory() as d:
    ...     _ = (pathlib.Path(d) / "config.json").write_text("{}")
    ...     len(directory_fingerprint(d))
    64
    """
    root = Path(path).resolve()
    files = sorted(
        p
        for p in root.iterdir()
        if p.is_file()
        and not p.name.startswith(".")
        and not p.name.lower().startswith("readme")
    )
    stats = [p.stat() for p in files]
    signature = (
        str(root),
        tuple((p.name, s.st_size, s.st_mtime_ns) for p, s in zip(files, stats)),
    )
    with _FINGERPRINT_LOCK:
        cached = _FINGERPRINTS.get(signature)
    if cached is not None:
        return cached
    digest = hashlib.sha256()
    for p, s in zip(files, stats):
        digest.update(f"{p.name}\0{s.st_size}\0".encode())
        with open(p, "rb") as f:
            while chunk := f.read(1 << 20):
                digest.update(chunk)
    value = digest.hexdigest()
    with _FINGERPRINT_LOCK:
        _FINGERPRINTS[signature] = value
    return value


class MemoryCache:
    """Thread-safe LRU mapping of keys to read-only float32 vectors, bounded in bytes.

    Parameters
    ----------
    max_bytes : int
        Upper bound on the memory held (vector bytes plus a per-entry overhead);
        the least recently used entries are evicted beyond it.

    Examples
    --------
    >>> import numpy as np
    >>> cache = MemoryCache(max_bytes=10_000)
    >>> cache.put_many([b"k"], [np.ones(3, dtype=np.float32)])
    >>> cache.get_many([b"k", b"unknown"])[1] is None
    True
    """

    def __init__(self, max_bytes: int):
        self.max_bytes = int(max_bytes)
        self._data: OrderedDict[bytes, np.ndarray] = OrderedDict()
        self._nbytes = 0
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._data)

    @property
    def nbytes(self) -> int:
        """Bytes currently held (vectors plus per-entry overhead)."""
        return self._nbytes

    def get_many(self, keys) -> list[np.ndarray | None]:
        """Vectors for ``keys`` (``None`` where absent); marks hits as recently used."""
        out: list[np.ndarray | None] = []
        with self._lock:
            for key in keys:
                value = self._data.get(key)
                if value is not None:
                    self._data.move_to_end(key)
                out.append(value)
        return out

    def put_many(self, keys, vectors) -> None:
        """Store vectors (copied to read-only float32) and evict beyond the bound."""
        with self._lock:
            for key, vector in zip(keys, vectors):
                value = np.array(vector, dtype=np.float32, copy=True)
                value.setflags(write=False)
                old = self._data.pop(key, None)
                if old is not None:
                    self._nbytes -= _entry_bytes(key, old)
                self._data[key] = value
                self._nbytes += _entry_bytes(key, value)
            while self._nbytes > self.max_bytes and self._data:
                key, value = self._data.popitem(last=False)
                self._nbytes -= _entry_bytes(key, value)

    def clear(self) -> None:
        """Drop every entry."""
        with self._lock:
            self._data.clear()
            self._nbytes = 0


def _entry_bytes(key: bytes, value: np.ndarray) -> int:
    return value.nbytes + len(key) + _ENTRY_OVERHEAD_BYTES


class DiskCache:
    """Embeddings in one SQLite file under ``directory``; values are raw float32.

    Parameters
    ----------
    directory : str or path-like
        Created if missing. The file is ``directory/text_embeddings.sqlite3``.

    Notes
    -----
    An unreadable or corrupt file is reported with a ``RuntimeWarning`` and treated
    as empty: the encoder then computes the embeddings instead.

    Examples
    --------
    >>> import numpy as np, tempfile
    >>> with tempfile.TemporaryDirectory() as d:
    ...     DiskCache(d).put_many([b"k"], [np.arange(3, dtype=np.float32)])
    ...     DiskCache(d).get_many([b"k", b"x"])
    {b'k': array([0., 1., 2.], dtype=float32)}
    """

    FILENAME = "text_embeddings.sqlite3"
    _CHUNK = 500  # keys per SELECT, below SQLite's limit on host parameters

    def __init__(self, directory):
        self.path = Path(directory) / self.FILENAME

    def _connect(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        connection = sqlite3.connect(self.path, timeout=60)
        connection.execute(
            "CREATE TABLE IF NOT EXISTS embeddings "
            "(key BLOB PRIMARY KEY, value BLOB NOT NULL) WITHOUT ROWID"
        )
        return connection

    def get_many(self, keys) -> dict[bytes, np.ndarray]:
        """The stored vectors among ``keys``, as a dict (absent keys are left out)."""
        keys = list(keys)
        found: dict[bytes, np.ndarray] = {}
        if not keys:
            return found
        try:
            connection = self._connect()
            try:
                for start in range(0, len(keys), self._CHUNK):
                    chunk = keys[start : start + self._CHUNK]
                    marks = ",".join("?" * len(chunk))
                    rows = connection.execute(
                        f"SELECT key, value FROM embeddings WHERE key IN ({marks})",
                        chunk,
                    )
                    for key, value in rows:
                        if len(value) % 4 == 0 and len(value) > 0:
                            found[bytes(key)] = np.frombuffer(value, dtype="<f4")
            finally:
                connection.close()
        except sqlite3.Error as exc:
            warnings.warn(
                f"Cannot read the embedding cache {self.path} ({exc}); encoding "
                "without it.",
                RuntimeWarning,
                stacklevel=3,
            )
            return {}
        return {k: v.astype(np.float32) for k, v in found.items()}

    def put_many(self, keys, vectors) -> None:
        """Store vectors (replacing any under the same key) in one transaction."""
        rows = [
            (key, np.ascontiguousarray(vector, dtype="<f4").tobytes())
            for key, vector in zip(keys, vectors)
        ]
        if not rows:
            return
        try:
            connection = self._connect()
            try:
                with connection:
                    connection.executemany(
                        "INSERT OR REPLACE INTO embeddings (key, value) VALUES (?, ?)",
                        rows,
                    )
            finally:
                connection.close()
        except sqlite3.Error as exc:
            warnings.warn(
                f"Cannot write the embedding cache {self.path} ({exc}); the "
                "embeddings were computed but not stored.",
                RuntimeWarning,
                stacklevel=3,
            )
