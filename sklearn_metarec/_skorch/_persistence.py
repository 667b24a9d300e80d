"""The trained network as plain data, for pickle, joblib and skops (internal).

:func:`module_to_plain` writes a torch module tree as nested dicts: per module its
class (one of :data:`MODULE_CLASSES`, an allowlist), its plain attributes, its
parameters and buffers as numpy arrays (via
:func:`~sklearn_metarec.utils._persistence.to_plain`) and its children.
:func:`module_from_plain` rebuilds the same tree without calling any constructor:
``cls.__new__`` plus ``nn.Module.__init__``, then the stored attributes, tensors and
children, exactly what unpickling a module does, but only for allowlisted classes and
without ``torch.load`` or pickle. This also covers a catalogue grown by
``partial_fit`` (``MetaRecNet.extend_items``), whose shapes no constructor call
would reproduce.

A module of a class outside the allowlist is left as it is: pickle stores it as
usual, and skops reports its type as untrusted.
"""

from __future__ import annotations

from skorch.history import History
from torch import nn

from ..meta import InnerLearningRates, MetaLearner
from ..nn import DecisionHead, ItemEncoder, MetaRecNet, UserEncoder
from ..nn._head import ACTIVATIONS
from ..utils._persistence import TAG, _class_key, from_plain, to_plain

__all__ = [
    "MODULE_CLASSES",
    "history_from_plain",
    "history_to_plain",
    "module_from_plain",
    "module_to_plain",
]


MODULE_CLASSES: dict[str, type] = {
    _class_key(cls): cls
    for cls in (
        MetaLearner,
        InnerLearningRates,
        MetaRecNet,
        ItemEncoder,
        UserEncoder,
        DecisionHead,
        nn.Embedding,
        nn.Linear,
        nn.ModuleList,
        nn.ModuleDict,
        nn.ParameterList,
        nn.ParameterDict,
        nn.Sequential,
        nn.Identity,
        nn.Dropout,
        nn.LayerNorm,
        *ACTIVATIONS.values(),
    )
}
"""Module classes rebuilt from plain data, by qualified name."""

# What nn.Module.__init__ sets; everything else in a module's __dict__ is its own.
_MODULE_INTERNALS = frozenset(vars(nn.Module()))


def module_to_plain(module: nn.Module):
    """A module tree as nested plain dicts (the module itself if not allowlisted)."""
    key = _class_key(type(module))
    if MODULE_CLASSES.get(key) is not type(module):
        return module
    # _parameters, _buffers and _modules are what Module.__getstate__ pickles;
    # they also hold the None entries (an absent optional buffer) that the
    # named_* iterators skip.
    return {
        TAG: "module",
        "class": key,
        "training": bool(module.training),
        "attributes": to_plain(
            {k: v for k, v in vars(module).items() if k not in _MODULE_INTERNALS}
        ),
        "parameters": {name: to_plain(p) for name, p in module._parameters.items()},
        "buffers": {name: to_plain(b) for name, b in module._buffers.items()},
        "non_persistent": sorted(module._non_persistent_buffers_set),
        "children": {
            name: None if child is None else module_to_plain(child)
            for name, child in module._modules.items()
        },
    }


def module_from_plain(state) -> nn.Module:
    """Inverse of :func:`module_to_plain`."""
    if isinstance(state, nn.Module):  # not allowlisted: stored by pickle as is
        return state
    if not isinstance(state, dict) or state.get(TAG) != "module":
        raise TypeError(f"Expected a stored module, got {type(state).__name__}.")
    cls = MODULE_CLASSES.get(state["class"])
    if cls is None:
        raise TypeError(
            f"Refusing to rebuild module class {state['class']!r}: not among the "
            "module classes of sklearn-metarec."
        )
    module = cls.__new__(cls)
    nn.Module.__init__(module)
    module.__dict__.update(from_plain(state["attributes"]))
    module.training = bool(state["training"])
    for name, value in state["parameters"].items():
        parameter = None
        if value is not None:
            tensor = from_plain(value).detach()
            parameter = nn.Parameter(tensor, requires_grad=value["requires_grad"])
        module.register_parameter(name, parameter)
    non_persistent = set(state["non_persistent"])
    for name, value in state["buffers"].items():
        module.register_buffer(
            name, from_plain(value), persistent=name not in non_persistent
        )
    for name, child in state["children"].items():
        module.add_module(name, None if child is None else module_from_plain(child))
    return module


def history_to_plain(history) -> list:
    """A skorch History as a list of plain dicts (one per epoch)."""
    return to_plain([dict(epoch) for epoch in history])


def history_from_plain(epochs) -> History:
    """Inverse of :func:`history_to_plain`."""
    return History(from_plain(list(epochs)))
