"""Meta-training through skorch's Hugging Face Accelerate integration (issue #6).

The CPU tests run wherever ``accelerate`` is installed (it is in the ``dev``
extras); the ``gpu`` test needs a CUDA device. Multi-GPU (``accelerate launch``)
is not exercised here.
"""

import numpy as np
import pytest
import torch
from sklearn.base import clone

from sklearn_metarec import MetaCFRecommender
from sklearn_metarec.datasets import make_interactions

accelerate = pytest.importorskip(
    "accelerate", reason="accelerate (optional dependency) is not installed"
)


@pytest.fixture(autouse=True)
def _fresh_accelerator_state():
    # Accelerate keeps one process-wide state: an Accelerator with other settings
    # (cpu, mixed_precision) is refused until it is reset.
    yield
    from accelerate.state import AcceleratorState

    AcceleratorState._reset_state(reset_partial_state=True)


def _data():
    return make_interactions(n_users=30, n_items=20, n_interactions=300, random_state=0)


def _fit_and_serve(accelerator, **params):
    X, y = _data()
    model = MetaCFRecommender(
        accelerator=accelerator,
        max_epochs=2,
        embedding_dim=4,
        meta_batch_size=8,
        random_state=0,
        **params,
    ).fit(X, y)
    pred = model.predict(X.head(20))
    assert np.isfinite(pred).all()
    assert len(model.history_) == 2
    assert np.isfinite(model.history_[:, "train_loss"]).all()
    new_user = X.head(5).assign(user_id="new")
    recs = model.partial_fit(new_user, y[:5]).recommend(["new"], n=3)
    assert recs[0].shape == (3,)
    assert np.isfinite(model.predict(new_user)).all()
    return model, pred


def test_fit_through_accelerator_cpu(capsys):
    from sklearn_metarec._skorch._accelerate import AcceleratedEpisodeNet

    accelerator = accelerate.Accelerator(cpu=True)
    model, pred = _fit_and_serve(accelerator)
    assert isinstance(model.net_, AcceleratedEpisodeNet)
    assert model.net_.accelerator is accelerator
    # Unwrapped after training and served on the CPU.
    assert not model.net_._wrapped_with_accelerator
    assert next(model._model.parameters()).device.type == "cpu"
    assert capsys.readouterr().out == ""  # verbose=0 prints nothing

    # Same seed, same data: a plain CPU fit trains the same way.
    _, plain = _fit_and_serve(None)
    np.testing.assert_allclose(pred, plain, rtol=1e-4, atol=1e-5)


def test_accelerator_param_roundtrip_and_clone():
    accelerator = accelerate.Accelerator(cpu=True)
    model = MetaCFRecommender(accelerator=accelerator, max_epochs=1)
    assert model.get_params()["accelerator"] is accelerator
    twin = MetaCFRecommender(**model.get_params())
    assert twin.get_params()["accelerator"] is accelerator
    cloned = clone(model)
    assert cloned.accelerator is not None
    assert cloned.get_params()["max_epochs"] == 1


def test_accelerator_is_validated():
    X, y = _data()
    with pytest.raises(ValueError, match="accelerator"):
        MetaCFRecommender(accelerator="cuda", max_epochs=1).fit(X, y)


def test_accelerator_not_persisted():
    import pickle

    model, pred = _fit_and_serve(accelerate.Accelerator(cpu=True))
    X, _ = _data()
    loaded = pickle.loads(pickle.dumps(model))
    assert loaded.accelerator is None
    np.testing.assert_allclose(loaded.predict(X.head(20)), model.predict(X.head(20)))


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.parametrize("mixed_precision", ["no", "bf16"])
def test_fit_through_accelerator_cuda(mixed_precision):
    accelerator = accelerate.Accelerator(mixed_precision=mixed_precision)
    assert accelerator.device.type == "cuda"
    model, _ = _fit_and_serve(accelerator)
    assert next(model._model.parameters()).device.type == "cpu"


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_fit_on_cuda_device():
    _fit_and_serve(None, device="cuda")


def test_fp16_is_refused():
    X, y = _data()
    accelerator = accelerate.Accelerator(cpu=True)
    accelerator.scaler = object()  # what mixed_precision="fp16" sets (GPU only)
    with pytest.raises(ValueError, match="fp16"):
        MetaCFRecommender(accelerator=accelerator, max_epochs=1).fit(X, y)
