"""The content-hash caches behind TransformerTextEncoder (no model needed)."""

import os
import sqlite3

import numpy as np
import pytest

from sklearn_metarec.text._cache import (
    DiskCache,
    MemoryCache,
    directory_fingerprint,
    embedding_keys,
)


def test_keys_depend_on_model_settings_and_text():
    base = embedding_keys(["Heat"], model_identity="m", settings={"pooling": "mean"})
    assert base == embedding_keys(
        ["Heat"], model_identity="m", settings={"pooling": "mean"}
    )
    assert base != embedding_keys(
        ["Heat"], model_identity="m2", settings={"pooling": "mean"}
    )
    assert base != embedding_keys(
        ["Heat"], model_identity="m", settings={"pooling": "cls"}
    )
    assert base != embedding_keys(
        ["Heat "], model_identity="m", settings={"pooling": "mean"}
    )
    # Lone surrogates cannot be UTF-8 encoded but still get a key.
    assert len(embedding_keys(["\ud800"], model_identity="m", settings={})[0]) == 32


def test_memory_cache_is_bounded_lru():
    vector = np.zeros(100, dtype=np.float32)
    entry = vector.nbytes + 1 + 160
    cache = MemoryCache(max_bytes=3 * entry)
    cache.put_many([b"a", b"b", b"c"], [vector] * 3)
    cache.get_many([b"a"])  # "a" is now the most recently used
    cache.put_many([b"d"], [vector])
    assert len(cache) == 3 and cache.nbytes <= cache.max_bytes
    assert [v is None for v in cache.get_many([b"a", b"b", b"c", b"d"])] == [
        False,
        True,
        False,
        False,
    ]
    stored = cache.get_many([b"a"])[0]
    assert not stored.flags.writeable
    cache.put_many([b"a"], [vector])  # replacing does not double count
    assert cache.nbytes == 3 * entry
    cache.clear()
    assert len(cache) == 0 and cache.nbytes == 0


def test_disk_cache_round_trip_and_no_pickle(tmp_path):
    store = DiskCache(tmp_path / "deep" / "folder")
    vectors = [np.arange(4, dtype=np.float32), -np.ones(4, dtype=np.float32)]
    store.put_many([b"k1", b"k2"], vectors)
    store.put_many([], [])
    found = DiskCache(tmp_path / "deep" / "folder").get_many([b"k2", b"nope", b"k1"])
    assert set(found) == {b"k1", b"k2"}
    np.testing.assert_array_equal(found[b"k1"], vectors[0])
    assert found[b"k1"].dtype == np.float32
    # Values are raw float32 bytes in SQLite, nothing pickled.
    with sqlite3.connect(store.path) as connection:
        value = connection.execute(
            "SELECT value FROM embeddings WHERE key = ?", (b"k2",)
        ).fetchone()[0]
    assert value == vectors[1].astype("<f4").tobytes()


def test_disk_cache_many_keys(tmp_path):
    store = DiskCache(tmp_path)
    keys = [i.to_bytes(4, "little") for i in range(1_234)]
    store.put_many(keys, np.ones((len(keys), 2), dtype=np.float32))
    assert len(store.get_many(keys)) == len(keys)


def test_disk_cache_corrupt_file_warns(tmp_path):
    (tmp_path / DiskCache.FILENAME).write_bytes(b"garbage" * 200)
    store = DiskCache(tmp_path)
    with pytest.warns(RuntimeWarning, match="Cannot read"):
        assert store.get_many([b"k"]) == {}
    with pytest.warns(RuntimeWarning, match="Cannot write"):
        store.put_many([b"k"], [np.ones(2, dtype=np.float32)])


def test_directory_fingerprint_follows_file_contents(tmp_path):
    (tmp_path / "config.json").write_text('{"a": 1}')
    (tmp_path / "README.md").write_text("ignored")
    (tmp_path / "sub").mkdir()
    first = directory_fingerprint(tmp_path)
    assert directory_fingerprint(tmp_path) == first
    (tmp_path / "README.md").write_text("still ignored")
    (tmp_path / "sub" / "x").write_text("ignored too")
    assert directory_fingerprint(tmp_path) == first
    weights = tmp_path / "model.safetensors"
    weights.write_bytes(b"\x00" * 16)
    second = directory_fingerprint(tmp_path)
    assert second != first
    # Same size, new bytes: the memo is keyed by mtime, so the change is seen.
    stat = weights.stat()
    weights.write_bytes(b"\x01" * 16)
    os.utime(weights, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1))
    assert directory_fingerprint(tmp_path) != second
