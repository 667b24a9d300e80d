"""The training shell under Hugging Face Accelerate (optional dependency).

Imported only when an estimator is given an ``accelerator``, so that neither
``accelerate`` nor ``skorch.hf`` is needed otherwise.
"""

from __future__ import annotations

import torch
from skorch.hf import AccelerateMixin

from ._episode import EpisodeNet

__all__ = ["AcceleratedEpisodeNet"]


class AcceleratedEpisodeNet(AccelerateMixin, EpisodeNet):
    """:class:`EpisodeNet` whose device, precision and processes Accelerate owns.

    skorch's :class:`~skorch.hf.AccelerateMixin` prepares the module, optimizer and
    data loaders (device placement, ``DistributedDataParallel`` under
    ``accelerate launch``) and steps the optimizer. The episode step differs from a
    plain net's: the meta-gradient is accumulated by the learner itself (through
    the inner loop, or Reptile's parameter differences), not by one
    ``loss.backward()`` on a forward pass. So the step runs on the unwrapped
    learner under ``autocast``, with DDP's own synchronisation off, and averages
    the gradients over processes itself when they are due to sync.

    ``mixed_precision="fp16"`` is refused: its loss scaling needs the backward pass
    to go through ``accelerator.backward``; use ``"bf16"``.

    Parameters
    ----------
    module : MetaLearner
    accelerator : accelerate.Accelerator
    **kwargs
        As for :class:`~skorch.hf.AccelerateMixin` and :class:`EpisodeNet`.
    """

    def initialize(self):
        if getattr(self.accelerator, "scaler", None) is not None:
            raise ValueError(
                "mixed_precision='fp16' is not supported for meta-training (its loss "
                "scaling needs accelerator.backward); use 'bf16' or 'no'."
            )
        return super().initialize()

    def _initialize_callbacks(self):
        # skorch's PrintLog stays quiet at verbose=0 only with the plain ``print``
        # sink; the mixin's default sink (``accelerator.print``) always prints.
        if not self.verbose and self.callbacks__print_log__sink == "auto":
            self.callbacks__print_log__sink = print
        return super()._initialize_callbacks()

    def _learner(self):
        return self.accelerator.unwrap_model(self.module_)

    def train_step_single(self, batch, **fit_params):
        self._set_training(True)
        accelerator = self.accelerator
        learner = self._learner()
        with accelerator.no_sync(self.module_), accelerator.autocast():
            loss = learner.meta_backward(batch.to(accelerator.device))
        if accelerator.num_processes > 1 and accelerator.sync_gradients:
            for param in learner.parameters():
                if param.grad is not None:
                    param.grad = accelerator.reduce(param.grad, reduction="mean")
        return {"loss": loss, "y_pred": None}

    def validation_step(self, batch, **fit_params):
        self._set_training(False)
        accelerator = self.accelerator
        with torch.no_grad(), accelerator.autocast():
            loss = self._learner().meta_loss(batch.to(accelerator.device))
        return {"loss": loss, "y_pred": None}
