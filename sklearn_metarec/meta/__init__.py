"""Meta-learning core in pure ``torch.func``: users are tasks.

- :func:`adapt` is the inner loop as one pure function (parameters in, adapted
  parameters out); :func:`adapt_batch` runs it over many padded tasks with ``vmap``.
- :func:`meta_loss`, :func:`reptile_grads` and :func:`meta_backward` are the outer
  objectives (MAML, first-order MAML, Reptile); an ordinary torch optimizer applies
  them.
- :class:`TaskBatch`, :func:`make_task_batch`, :func:`split_support_query` and
  :class:`TaskSampler` turn flat interaction arrays into padded episodes.
- :func:`ranking_loss` is the ranking objective: users folded in from positive
  interactions in closed form (:func:`implicit_foldin`, meta-learned implicit ALS)
  and judged by a sampled softmax over shared negatives (:class:`NegativeSampler`);
  :class:`EpisodeBatch` carries a step's ranking and pointwise episodes.
- :class:`MetaLearner` bundles a model with its adaptation settings and Meta-SGD
  step sizes, for a training shell to hold.

Nothing here imports scikit-learn or skorch.
"""

from ._adapt import (
    SOLVERS,
    adapt,
    adapt_batch,
    precompute,
    predict,
    predict_batch,
    task_loss,
    use_linear,
)
from ._learner import InnerLearningRates, MetaLearner
from ._linear import adapt_linear, solve_ridge
from ._losses import (
    binary_cross_entropy,
    check_loss,
    masked_mean,
    masked_reduce,
    squared_error,
)
from ._objectives import ALGORITHMS, meta_backward, meta_loss, reptile_grads
from ._ranking import (
    RANKING_LOSSES,
    Negatives,
    NegativeSampler,
    implicit_foldin,
    ranking_loss,
)
from ._tasks import (
    EpisodeBatch,
    TaskBatch,
    TaskSampler,
    make_task_batch,
    pad_tasks,
    split_support_query,
)

__all__ = [
    "ALGORITHMS",
    "RANKING_LOSSES",
    "SOLVERS",
    "EpisodeBatch",
    "InnerLearningRates",
    "MetaLearner",
    "NegativeSampler",
    "Negatives",
    "TaskBatch",
    "TaskSampler",
    "adapt",
    "adapt_batch",
    "adapt_linear",
    "binary_cross_entropy",
    "check_loss",
    "implicit_foldin",
    "make_task_batch",
    "masked_mean",
    "masked_reduce",
    "meta_backward",
    "meta_loss",
    "pad_tasks",
    "precompute",
    "predict",
    "predict_batch",
    "ranking_loss",
    "reptile_grads",
    "solve_ridge",
    "split_support_query",
    "squared_error",
    "task_loss",
    "use_linear",
]
