"""Layer construction that draws every random number from an explicit generator.

``nn.Linear(...)`` and ``nn.Embedding(...)`` initialise themselves from torch's global
random state in their constructors. The helpers here build the layers with
:func:`torch.nn.utils.skip_init` (no initialisation, no global draw) and then initialise
them from the ``torch.Generator`` they are given, so building a module never touches
global random state.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn.utils import skip_init

__all__ = ["check_generator", "make_embedding", "make_linear"]


def check_generator(generator: torch.Generator | None) -> torch.Generator:
    """Return ``generator``, or a fresh CPU generator with torch's default seed.

    A fresh ``torch.Generator()`` always starts from the same seed, so ``None`` gives
    deterministic initialisation without touching global random state.
    """
    if generator is None:
        return torch.Generator()
    if not isinstance(generator, torch.Generator):
        raise TypeError(
            f"generator must be a torch.Generator or None, got {type(generator)!r}"
        )
    return generator


def make_linear(
    in_features: int,
    out_features: int,
    *,
    bias: bool = True,
    generator: torch.Generator,
    zero: bool = False,
) -> nn.Linear:
    """An ``nn.Linear`` with torch's default init drawn from ``generator``.

    Weights and bias are uniform on ``[-1/sqrt(in_features), 1/sqrt(in_features)]``
    (what ``nn.Linear.reset_parameters`` does), or all zero when ``zero`` is true.
    """
    layer = skip_init(nn.Linear, in_features, out_features, bias=bias)
    with torch.no_grad():
        if zero:
            layer.weight.zero_()
            if layer.bias is not None:
                layer.bias.zero_()
        else:
            bound = 1.0 / math.sqrt(max(in_features, 1))
            nn.init.uniform_(layer.weight, -bound, bound, generator=generator)
            if layer.bias is not None:
                nn.init.uniform_(layer.bias, -bound, bound, generator=generator)
    return layer


def make_embedding(
    num_embeddings: int,
    embedding_dim: int,
    *,
    std: float,
    generator: torch.Generator,
    padding_idx: int | None = 0,
) -> nn.Embedding:
    """An ``nn.Embedding`` with normal(0, ``std``) rows drawn from ``generator``.

    The ``padding_idx`` row (the reserved "missing / unknown" row) is zero and gets no
    gradient. ``std=0`` gives an all-zero table.
    """
    layer = skip_init(
        nn.Embedding, num_embeddings, embedding_dim, padding_idx=padding_idx
    )
    with torch.no_grad():
        if std > 0:
            nn.init.normal_(layer.weight, 0.0, std, generator=generator)
        else:
            layer.weight.zero_()
        if padding_idx is not None:
            layer.weight[padding_idx].zero_()
    return layer
