"""Small models and task batches for the meta-learning tests (no global RNG).

Imported by name from the test modules; the name is unique so that it cannot
clash with helpers of other test folders.
"""

import numpy as np
import torch
from torch import nn

from sklearn_metarec.meta import make_task_batch
from sklearn_metarec.nn import MetaRecNet

N_ITEMS = 10


def randomize(module, seed=1, scale=0.3):
    """Random values for every parameter; the reserved missing rows stay zero."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(torch.randn(p.shape, generator=g) * scale)
        for m in module.modules():
            if isinstance(m, nn.Embedding) and m.padding_idx is not None:
                m.weight[m.padding_idx].zero_()
    return module


def make_net(hidden_dims=(), seed=0):
    rng = np.random.default_rng(seed)
    net = MetaRecNet(
        N_ITEMS,
        embedding_dim=3,
        hidden_dims=hidden_dims,
        item_categorical=rng.integers(-1, 3, (N_ITEMS, 1)),
        item_multi_valued=[rng.integers(-1, 4, (N_ITEMS, 2))],
        user_categorical_cardinalities=[2],
        global_bias=3.0,
        generator=torch.Generator().manual_seed(seed),
    )
    return randomize(net, seed + 1)


def make_rows(n_tasks=4, seed=0, min_rows=3, max_rows=8):
    """Flat rows: task index, item ids, ratings, query flags, user features."""
    rng = np.random.default_rng(seed)
    counts = rng.integers(min_rows, max_rows + 1, n_tasks)
    task = np.repeat(np.arange(n_tasks), counts)
    rng.shuffle(task)  # rows of a task are not contiguous
    items = rng.integers(-1, N_ITEMS, len(task))
    y = rng.integers(1, 6, len(task)).astype(float)
    is_query = rng.random(len(task)) < 0.4
    # every task needs at least one support and one query row
    for t in range(n_tasks):
        rows = np.flatnonzero(task == t)
        is_query[rows[0]], is_query[rows[1]] = False, True
    features = rng.integers(-1, 2, (n_tasks, 1))
    return dict(task=task, items=items, y=y, is_query=is_query, features=features)


def batch_from(rows, **kwargs):
    return make_task_batch(
        rows["task"],
        {"items": rows["items"]},
        rows["y"],
        rows["is_query"],
        task_x={"user_features": rows["features"]},
        **kwargs,
    )


class LinearModel(nn.Module):
    """pred = x @ w + b: the inner gradient of MSE is affine in w, of -y*pred const."""

    def __init__(self, n_features=3, seed=0):
        super().__init__()
        g = torch.Generator().manual_seed(seed)
        self.w = nn.Parameter(torch.randn(n_features, generator=g))
        self.b = nn.Parameter(torch.randn((), generator=g))

    def forward(self, x):
        return x @ self.w + self.b
