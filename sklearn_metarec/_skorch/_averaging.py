"""Weight averaging over the last epochs of meta-training (the ``average`` option)."""

from __future__ import annotations

import torch
from skorch.callbacks import Callback

__all__ = ["ParameterAveraging"]


class ParameterAveraging(Callback):
    """Serve the mean of the parameters at the end of epochs ``start`` onwards.

    Polyak-Ruppert averaging, as in stochastic weight averaging (Izmailov et al.,
    2018) and ``average`` of :class:`~sklearn.linear_model.SGDRegressor`: the
    parameters that the net keeps after training are the running mean of their
    values at the end of each epoch from epoch ``start`` (1-based) to the last one.
    When fewer epochs ran, nothing is averaged and the last epoch's values stay.

    With a validation split, the mean is the one at the best epoch
    (``valid_loss_best`` in the history), up to which :class:`EarlyStopping` with
    ``load_best=True`` restores the weights; put this callback after it. If the
    best epoch came before ``start``, the restored best weights are left alone.

    Parameters
    ----------
    start : int
        First epoch averaged, >= 1.

    Examples
    --------
    >>> import torch
    >>> from skorch import NeuralNet
    >>> averaging = ParameterAveraging(start=3)
    >>> net = NeuralNet(torch.nn.Linear(2, 1), criterion=torch.nn.MSELoss,
    ...                 max_epochs=4, lr=0.1, train_split=None, verbose=0,
    ...                 callbacks=[("average", averaging)])
    >>> X, y = torch.randn(32, 2), torch.randn(32, 1)
    >>> dict(net.fit(X, y).callbacks_)["average"].n_averaged_
    2
    """

    def __init__(self, start: int):
        self.start = start

    def initialize(self):
        self.mean_ = None
        self.best_mean_ = None
        self.n_averaged_ = 0
        return self

    def on_epoch_end(self, net, **kwargs):
        if len(net.history) < self.start:
            return
        with torch.no_grad():
            params = [p.detach() for p in net.module_.parameters()]
            if self.mean_ is None:
                self.mean_ = [p.clone() for p in params]
            else:
                weight = 1.0 / (self.n_averaged_ + 1)
                for mean, p in zip(self.mean_, params, strict=True):
                    mean.add_(p - mean, alpha=weight)
            self.n_averaged_ += 1
            if net.history[-1].get("valid_loss_best"):
                self.best_mean_ = [mean.clone() for mean in self.mean_]

    def on_train_end(self, net, **kwargs):
        validated = len(net.history) and "valid_loss" in net.history[-1]
        served = self.best_mean_ if validated else self.mean_
        if served is None:
            return
        with torch.no_grad():
            for p, mean in zip(net.module_.parameters(), served, strict=True):
                p.copy_(mean)
