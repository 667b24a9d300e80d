"""Calling a module, or one of its methods, with swapped-in tensors."""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import nn
from torch.func import functional_call

TensorDict = Mapping[str, torch.Tensor]


class _MethodCall(nn.Module):
    """Expose ``model.<method>`` as a forward, so functional_call can run it."""

    def __init__(self, model: nn.Module, method: str):
        super().__init__()
        self.model = model
        self.method = method

    def forward(self, *args, **kwargs):
        return getattr(self.model, self.method)(*args, **kwargs)


def own_parameter(model: nn.Module, name: str) -> nn.Parameter | None:
    """The parameter ``name`` (a dotted path) of ``model``, None if it has none;
    looked up along the path, without walking every parameter of the model."""
    try:
        return model.get_parameter(name)
    except AttributeError:
        return None


def call(
    model: nn.Module,
    params: TensorDict | None,
    buffers: TensorDict | None,
    kwargs: Mapping,
    *,
    method: str = "forward",
    args: tuple = (),
):
    """``model.<method>(*args, **kwargs)`` with ``params`` and ``buffers`` swapped in.

    Entries of ``params`` that are the module's own parameter objects are not
    swapped (nothing would change), which keeps the call cheap when ``params`` is
    ``dict(model.named_parameters())``.
    """
    params = {
        k: v for k, v in (params or {}).items() if own_parameter(model, k) is not v
    }
    tensors = {**params, **(buffers or {})}
    if method == "forward":
        if not tensors:
            return model(*args, **kwargs)
        return functional_call(model, tensors, args=args, kwargs=dict(kwargs))
    if not tensors:
        return getattr(model, method)(*args, **kwargs)
    wrapper = _MethodCall(model, method)
    tensors = {f"model.{k}": v for k, v in tensors.items()}
    return functional_call(wrapper, tensors, args=args, kwargs=dict(kwargs))
