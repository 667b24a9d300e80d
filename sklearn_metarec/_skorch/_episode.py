"""The training shell: a skorch ``NeuralNet`` whose train step is an episode batch.

The net's "samples" are task (user) positions. Its DataLoader groups them into
meta-batches, and :class:`EpisodeCollate` turns each group into a padded
:class:`~sklearn_metarec.meta.TaskBatch` with a fresh random support/query split.
``train_step_single`` runs the outer objective of the held
:class:`~sklearn_metarec.meta.MetaLearner` (MAML, first-order MAML or Reptile), the
optimizer steps as usual, and skorch provides the rest: epochs, history, callbacks
(progress bar, early stopping on held-out users, checkpoints, LR schedules) and
device handling.
"""

from __future__ import annotations

import queue
import threading

import numpy as np
import torch
from skorch import NeuralNet

from ..meta import EpisodeBatch, NegativeSampler, TaskBatch, TaskSampler

__all__ = ["EpisodeCollate", "EpisodeNet"]


class EpisodeCollate:
    """DataLoader ``collate_fn``: task positions -> a padded episode batch.

    Parameters
    ----------
    sampler : TaskSampler or None
        Holds the rows of every task for the pointwise objective (ratings); None
        when there is none (positive-only data).
    seed : int
        Seeds the support/query splits (and item dropout).
    ranking_sampler : TaskSampler, default=None
        Rows of every task for the ranking objective (targets are confidences);
        with it each call returns an :class:`~sklearn_metarec.meta.EpisodeBatch`.
        Its episodes are drawn from a random stream of their own, so adding the
        ranking objective leaves the pointwise episodes as they were.
    negatives : NegativeSampler, default=None
        Draws the shared negatives of each ranking episode.
    item_dropout : float, default=0.0
        Probability that a row's item is treated as cold (its id part dropped) in an
        episode, so the content path learns to serve new items.
    fixed : bool, default=False
        Draw the same split for the same tasks every time (validation batches), so
        validation losses of different epochs compare the same episodes.
    """

    def __init__(
        self,
        sampler: TaskSampler | None,
        seed: int,
        *,
        ranking_sampler: TaskSampler | None = None,
        negatives: NegativeSampler | None = None,
        item_dropout=0.0,
        fixed=False,
    ):
        self.sampler = sampler
        self.seed = int(seed)
        self.ranking_sampler = ranking_sampler
        self.negatives = negatives
        self.item_dropout = float(item_dropout)
        self.fixed = fixed
        self._rng = np.random.default_rng(self.seed)
        self._ranking_rng = np.random.default_rng([self.seed, 1])

    def __call__(self, samples) -> TaskBatch | EpisodeBatch:
        tasks = np.fromiter(
            (int(s[0]) if isinstance(s, tuple | list) else int(s) for s in samples),
            dtype=np.int64,
        )
        rng, ranking_rng = self._rng, self._ranking_rng
        if self.fixed:
            key = [self.seed, *np.sort(tasks)[:8].tolist(), len(tasks)]
            rng = np.random.default_rng(key)
            ranking_rng = np.random.default_rng([*key, 1])
        batch = None
        if self.sampler is not None:
            batch = self._draw(self.sampler, tasks, rng)
        if self.ranking_sampler is None:
            return batch
        ranking = self._draw(self.ranking_sampler, tasks, ranking_rng)
        return EpisodeBatch(ranking, self.negatives.draw(ranking_rng), batch)

    def _draw(self, sampler: TaskSampler, tasks, rng) -> TaskBatch:
        batch = sampler.batch(tasks, rng)
        if self.item_dropout > 0:
            batch = _with_cold_items(batch, rng, self.item_dropout)
        return batch


def _with_cold_items(batch: TaskBatch, rng, rate: float) -> TaskBatch:
    def draw(like):
        return torch.from_numpy(rng.random(tuple(like.shape)) < rate)

    return batch._replace(
        support_x={**batch.support_x, "cold_items": draw(batch.support_y)},
        query_x={**batch.query_x, "cold_items": draw(batch.query_y)},
    )


class EpisodeNet(NeuralNet):
    """A skorch net that meta-trains a :class:`~sklearn_metarec.meta.MetaLearner`.

    Fit it on an array of task positions (``y=None``); pass the episode collate
    function as ``iterator_train__collate_fn`` (and ``iterator_valid__collate_fn``).
    The criterion is unused: the loss is the learner's outer objective. Unlike a
    plain skorch net, a ``KeyboardInterrupt`` during training propagates to the
    caller (skorch would stop quietly and leave a half-trained net).

    Examples
    --------
    >>> import numpy as np, torch
    >>> from sklearn_metarec.meta import MetaLearner, TaskSampler
    >>> from sklearn_metarec.nn import MetaRecNet
    >>> users = np.repeat(np.arange(8), 6)
    >>> items = np.tile(np.arange(6), 8)
    >>> sampler = TaskSampler(users, {"items": items}, np.ones(48), n_query=2)
    >>> learner = MetaLearner(MetaRecNet(6, embedding_dim=4,
    ...                                  generator=torch.Generator().manual_seed(0)))
    >>> collate = EpisodeCollate(sampler, 0)
    >>> net = EpisodeNet(learner, max_epochs=2, batch_size=4, train_split=None,
    ...                  verbose=0, iterator_train__collate_fn=collate)
    >>> net = net.fit(np.arange(8))
    >>> len(net.history)
    2
    """

    def __init__(self, module, *, criterion=torch.nn.MSELoss, **kwargs):
        super().__init__(module, criterion=criterion, **kwargs)

    def train_step_single(self, batch, **fit_params):
        self._set_training(True)
        loss = self.module_.meta_backward(batch.to(self.device))
        return {"loss": loss, "y_pred": None}

    def validation_step(self, batch, **fit_params):
        self._set_training(False)
        with torch.no_grad():
            loss = self.module_.meta_loss(batch.to(self.device))
        return {"loss": loss, "y_pred": None}

    def get_dataset(self, X, y=None):
        return super().get_dataset(np.asarray(X, dtype=np.int64), None)

    def run_single_epoch(self, iterator, training, prefix, step_fn, **fit_params):
        # The next training batch is drawn (sampled, split and padded: numpy work
        # that releases the GIL for its sorts and gathers) in a thread while the
        # current one trains. One thread draws them in order, so the episodes,
        # and the model, are those of a plain loop.
        if iterator is not None and training:
            iterator = _prefetched(iterator)
        return super().run_single_epoch(
            iterator, training, prefix, step_fn, **fit_params
        )

    def partial_fit(self, X, y=None, classes=None, **fit_params):
        # skorch stops training quietly on KeyboardInterrupt and returns a net that
        # looks trained. The estimators discard an interrupted fit instead (see
        # BaseRecommender._transaction), so the interrupt must reach them.
        try:
            return super().partial_fit(X, y, classes=classes, **fit_params)
        except _Interrupted as exc:
            raise exc.interrupt from None

    def fit_loop(self, X, y=None, epochs=None, **fit_params):
        try:
            return super().fit_loop(X, y, epochs=epochs, **fit_params)
        except KeyboardInterrupt as exc:
            raise _Interrupted(exc) from None


_DONE = object()


def _prefetched(iterable, depth: int = 1):
    """Iterate ``iterable`` in a background thread, ``depth`` items ahead.

    An exception raised while drawing is re-raised here, in the consumer's
    thread, at the item where it occurred; leaving the loop early (an exception
    in the training step, a KeyboardInterrupt) stops the thread after the item
    it is drawing.
    """
    items: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(item) -> bool:
        while not stop.is_set():
            try:
                items.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def draw():
        try:
            for item in iterable:
                if not put((item, None)):
                    return
        except BaseException as exc:  # re-raised by the consumer
            put((_DONE, exc))
            return
        put((_DONE, None))

    worker = threading.Thread(target=draw, name="episode-prefetch", daemon=True)
    worker.start()
    try:
        while True:
            item, exc = items.get()
            if item is _DONE:
                if exc is not None:
                    raise exc
                return
            yield item
    finally:
        stop.set()
        worker.join()


class _Interrupted(BaseException):
    """Carries a KeyboardInterrupt past skorch's ``except KeyboardInterrupt``."""

    def __init__(self, interrupt: KeyboardInterrupt):
        super().__init__()
        self.interrupt = interrupt
