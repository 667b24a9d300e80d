"""What the three meta-learning estimators share: sklearn glue around ``meta/``.

:class:`MetaRecommenderMixin` builds a :class:`~sklearn_metarec.nn.MetaRecNet` from
the side information of ``X`` (and, in subclasses, text embeddings), meta-trains it
through the skorch shell (:class:`~sklearn_metarec._skorch.EpisodeNet`), and serves:

- every user seen in ``fit`` gets an adapted state: the inner loop run from the
  meta-learned initialisation on all of the user's training rows;
- ``partial_fit`` adapts unseen users the same way from their rows, continues the
  adaptation of known users on their new rows, and adds unseen items to the
  catalogue from their side information (and text);
- unknown users are served from the prior (plus their user features), unknown items
  from their side information, so nothing is NaN.

Subclasses set the class attributes below and may override ``_item_text``.
"""

from __future__ import annotations

import sys
import time
from contextlib import contextmanager

import numpy as np
import scipy.sparse as sp
import torch

from .._similar import SimilarItemsMixin
from .._skorch import EpisodeCollate, EpisodeNet
from .._skorch._averaging import ParameterAveraging
from .._skorch._persistence import (
    history_from_plain,
    history_to_plain,
    module_from_plain,
    module_to_plain,
)
from ..base import BaseRecommender, EncodedBatch
from ..meta import MetaLearner, NegativeSampler, TaskSampler, pad_tasks
from ..metrics._ranking import _ndcg_per_user
from ..nn import MetaRecNet
from ..utils._data import INTERACTION_COLUMNS, check_timestamps
from ..utils._neighbours import (
    cell_means,
    cooccurrence_rows,
    dense_product,
    neighbour_contributions,
    neighbour_offsets,
    neighbour_offsets_at,
    one_standard_error_choice,
    residual_similarity,
    top_cells,
)
from ..utils._persistence import register_plain_class
from ..utils._random import check_random_state
from ._features import SideFeatureEncoder

__all__ = ["MetaRecommenderMixin"]

register_plain_class(SideFeatureEncoder)  # persisted as its state (data only)

_ADAPT_CHUNK_ROWS = 2**18  # padded cells per adaptation chunk at the end of fit
_FEW_USERS = 4  # partial_fit adapts up to this many new users one by one
# (user, item) pairs per block of an MLP head in _score_items and _residuals: its
# input holds 3 * embedding_dim floats per pair (48 MiB per block at the default 16).
_HEAD_CHUNK_CELLS = 2**18
# Cells of a neighbourhood matrix a few users' offsets gather directly (a few
# MiB of temporaries); more take a sparse product.
_GATHER_CELLS = 2**18
_WARMUP_ROUNDS = 2  # item warm-up / user adaptation alternations in partial_fit
# The warm-up shrinks an item's vector correction this many times as much as its
# bias correction: its d coordinates are fitted from the same few ratings.
_WARMUP_VECTOR_SCALE = 10.0
# The user prior's bias is refitted at the end of fit (``_fit_cold_prior``) to
# serve users with no ratings. On the MeLU split of MovieLens-1M this
# lowered MetaCF's MAE for new users at every support size from 0 to 20 ratings
# (0.811 -> 0.794 with none, 0.7980 -> 0.7842 with one, 0.7435 -> 0.7427 with 20).
# Refitting the prior's vector as well gained no more there and overfitted on
# latest-small (new users 0.735 -> 0.764), so only the bias is refitted.
_COLD_PRIOR_NAME = "user.bias"
# Item-bias refit / user re-adaptation alternations at the end of fit
# (``_refit_item_biases``). On the MeLU split of MovieLens-1M, four rounds instead
# of two gained under 0.001 MAE and lowered the hybrid's warm catalogue nDCG@10
# from 0.033 to 0.024.
_REFIT_ROUNDS = 2
# meta_batch_size="auto": this share of the training users per outer step, within
# the bounds; lr="auto": _LR_PER_32 per 32 users of a meta-batch.
_AUTO_BATCH_SHARE = 24
_AUTO_BATCH_BOUNDS = (32, 256)
_LR_PER_32 = 0.003
# Residual neighbourhood correction (``n_neighbors``): similarities shrunk by
# n_common / (n_common + _NEIGHBOUR_SHRINKAGE), offsets by _NEIGHBOUR_REG added to
# their denominator, as in ItemKNNRecommender's defaults.
_NEIGHBOUR_SHRINKAGE = 100.0
_NEIGHBOUR_REG = 0.5
_NEIGHBOUR_CHUNK_ROWS = 2**14  # predict's rows per block of neighbour offsets
# Interaction neighbourhood of the ranking (``neighbor_weight="auto"``): the
# candidate weights, the held-out users it is calibrated on (this share of the
# training users with two or more items, within the bounds), the weight used when
# fewer users than the lower bound are left, the list length of the nDCG it
# maximises and the cells per block of its scores.
_NEIGHBOR_WEIGHTS = (0.0, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0)
_CALIBRATION_SHARE = 0.1
_CALIBRATION_USERS = (20, 2000)
# Held-out users the calibration aims at: below it, up to _CALIBRATION_FOLDS
# larger disjoint shares are held out in turn (folds). With a few dozen users
# the one-standard-error rule cannot tell the weights apart and takes the
# smallest: on MovieLens latest-small (49 users a share) it chose 2 where 8
# ranked new users better.
_CALIBRATION_TARGET = 400
_CALIBRATION_FOLDS = 4  # at most: each fold builds the similarities once more
_UNCALIBRATED_WEIGHT = 1.0
_CALIBRATION_K = 10
_CALIBRATION_CELLS = 2**22
# The interaction column whose times order the ranking episodes
# (``episode_order``).
_TIME_COLUMN = INTERACTION_COLUMNS[0]
# Recency scales of the interaction neighbourhood (``neighbor_recency="auto"``),
# in interactions, the simplest first: None weighs a user's items alike.
_RECENCY_SCALES = (None, 20.0, 10.0, 5.0)
_UNCALIBRATED_RECENCY = 10.0  # when the weight is not calibrated
# Growth of the interaction neighbourhood's weight with a user's history beyond
# the largest ranking support (``neighbor_growth="auto"``): the candidate
# exponents, the simplest first, and the last items of a held-out user that the
# calibration's lists are asked to hold.
_NEIGHBOR_GROWTHS = (0.0, 0.25, 0.5, 0.75, 1.0)
_GROWTH_HOLDOUT = 10
# Items added after fit borrow the neighbourhood rows of this many fitted items.
_BORROWED_NEIGHBOURS = 10
# Items added after fit learn from how often they are picked (partial_fit): the
# pseudo-picks that shrink their bias's shift log((picked + prior) / (expected +
# prior)), and the ridge of their vector's Newton step. Chosen on a validation
# split of MovieLens-1M (bench_topn's with random_state=1) among 0.01 to 3 and
# 1 to 10: the shift gains little below 0.1.
_PICK_PRIOR = 0.1
_PICK_VECTOR_REG = 3.0
# The neighbourhood row an item added after fit borrows from the nearest fitted
# items weighs prior / (prior + picks) beside the row its pickers build. On the
# validation split above, 0.3, 1 and 3 gave new-item lists within 0.001 of each
# other but LLMContent's on positive-only data (0.404, 0.403, 0.394).
_BORROWED_PRIOR = 1.0
# Ranking episodes (the ranking objective): each training user draws a support
# size uniformly in _RANKING_SUPPORT (new users arrive with a few interactions)
# and up to _RANKING_QUERY of their other interactions are ranked.
_RANKING_SUPPORT = (1, 40)
_RANKING_QUERY = 100
# Initial weight of the implicit zeros of the ranking fold-in, per catalogue item
# (learned; the Gramian grows with the catalogue, so its weight starts at this
# over the number of items).
_NEGATIVE_WEIGHT = 30.0


class MetaRecommenderMixin(SimilarItemsMixin, BaseRecommender):
    """Shared implementation of the meta-learning estimators (internal).

    Subclasses define ``__init__`` with the public parameters; the attributes read
    here are ``algorithm``, ``n_inner_steps``, ``inner_lr``, ``inner_solver``,
    ``prior_precision``, ``learn_inner_lr``, ``adapt``, ``meta_batch_size``,
    ``n_support``, ``n_query``, ``embedding_dim``, ``hidden_dims``, ``item_features``,
    ``user_features``, ``objective``, ``lr``, ``weight_decay``, ``max_epochs``,
    ``early_stopping``, ``validation_fraction``, ``n_iter_no_change``, ``device``,
    ``accelerator`` (optional), ``callbacks``, ``verbose``, ``random_state``,
    ``warmup_reg``, ``item_refit_reg``, ``n_neighbors``, ``average``,
    ``ranking_loss``, ``n_negatives``, ``relevance_threshold`` and ``like_weight``.
    """

    _lazy_caches = (*BaseRecommender._lazy_caches, "_similarity_t_cache")

    def _predicts_ratings(self) -> bool:
        return self._rating

    @property
    def _rating(self) -> bool:
        """Whether the fitted model predicts ratings (else interaction scores)."""
        return self.objective_ == "rating"

    def _accepts_positive_only(self) -> bool:
        if hasattr(self, "objective_"):  # fitted: partial_fit follows fit's data
            return not self._rating
        return self.objective != "rating"

    def _resolve_objective(self, y) -> str:
        objective = self.objective
        if objective == "auto":
            objective = "rating" if y is not None else "implicit"
        if objective == "implicit":
            if self.ranking_loss is None:
                raise ValueError(
                    "objective='implicit' trains the ranking objective alone; "
                    "ranking_loss=None leaves nothing to train (use 'softmax' or "
                    "'bpr')."
                )
            if self.adapt != "user":
                raise ValueError(
                    "adapt='user+head' needs ratings (objective='rating'): "
                    "positive-only data adapts the user's interaction vector only."
                )
        return objective

    @property
    def _uses_side_information(self) -> bool:
        # Text readers always need their per-item text; MetaCF only when asked to.
        return bool(getattr(self, "text_columns", None)) or (
            self.item_features is not None or self.user_features is not None
        )

    #: Use item id embeddings (MetaCF, Hybrid) or items from content only (LLM).
    _use_item_ids = True
    #: Gate id and content parts of items by their evidence (Hybrid).
    _gate = False

    # ------------------------------------------------------------------- fit
    def _fit(self, batch: EncodedBatch) -> None:
        start = time.perf_counter()
        self.objective_ = self._resolve_objective(
            None if batch.positive_only else batch.y
        )
        # Whether a ranking (interaction) objective is trained: always for
        # positive-only data (_resolve_objective refuses ranking_loss=None there),
        # for ratings unless ranking_loss=None. Fitted state: serving reads it.
        self._ranks = self.ranking_loss is not None
        self._check_confidences(batch)
        row_times = self._episode_times(batch)  # None: random episodes
        rng = check_random_state(self.random_state)  # None: fresh entropy
        seed = int(rng.randint(np.iinfo(np.int32).max))
        self._seed = seed
        generator = torch.Generator().manual_seed(seed)
        times: dict[str, float] = {}  # step -> seconds, becomes fit_times_

        with self._fit_step(times, "encode side features"):
            self._item_encoder = self._make_item_encoder().fit(self.item_features_)
            items = self._item_encoder.transform(self.item_features_)
            self._user_encoder = self._make_user_encoder().fit(self.user_features_)
            user_codes = self._user_encoder.transform(self.user_features_).categorical
        if getattr(self, "text_columns", None):
            with self._fit_step(times, "encode text"):
                text = self._item_text(self.item_features_, fit=True)
        else:
            text = self._item_text(self.item_features_, fit=True)

        with self._fit_step(times, "build network"):
            n_users, n_items = len(self.user_index_), len(self.item_index_)
            counts = np.bincount(batch.item_pos, minlength=n_items)
            self._n_fitted_items = n_items
            # Warm-up of items added by partial_fit: item -> (A, b) ridge statistics.
            self._warmup: dict[int, tuple[torch.Tensor, torch.Tensor]] = {}
            # Closed-form (vector, bias) correction of each item, added to what the
            # network gives: the bias refit of fitted items at the end of fit, the
            # warm-up of items added by partial_fit.
            self._item_offset = torch.zeros(n_items, self.embedding_dim + 1)
            # Pick statistics of the items added after fit and the corrections
            # they give (see _count_picks).
            self._picks = self._pick_fix = None
            model = MetaRecNet(
                n_items,
                embedding_dim=self.embedding_dim,
                hidden_dims=tuple(self.hidden_dims),
                item_categorical=items.categorical,
                item_categorical_cardinalities=(
                    self._item_encoder.categorical_cardinalities_
                ),
                item_multi_valued=items.multi_valued,
                item_multi_valued_cardinalities=(
                    self._item_encoder.multi_valued_cardinalities_
                ),
                item_numeric=items.numeric,
                item_text=text,
                item_counts=counts,
                use_item_ids=self._use_item_ids,
                gate=self._gate,
                user_categorical_cardinalities=(
                    self._user_encoder.categorical_cardinalities_
                ),
                global_bias=float(batch.y.mean()) if self._rating else 0.0,
                interaction=self._rating and self._ranks,
                generator=generator,
            )
            adapt_names = list(model.DEFAULT_ADAPT_NAMES) if self._rating else []
            if self.adapt == "user+head":
                adapt_names += list(model.head_parameter_names())
            learner = MetaLearner(
                model,
                adapt_names=adapt_names,
                algorithm=self.algorithm,
                n_inner_steps=self.n_inner_steps,
                inner_lr=self.inner_lr,
                learn_inner_lr=self.learn_inner_lr,
                loss_fn="mse",
                inner_reduction="sum",
                inner_solver=self._inner_solver(),
                prior_precision=self.prior_precision,
                ranking=self.ranking_loss if self._ranks else None,
                negative_weight=_NEGATIVE_WEIGHT / max(n_items, 1),
            )
            task_x = {"user_features": user_codes} if user_codes.shape[1] else None
            samplers = {}
            if self._rating:
                samplers["sampler"] = TaskSampler(
                    batch.user_pos,
                    {"items": batch.item_pos},
                    batch.y,
                    task_x=task_x,
                    n_tasks=n_users,
                    n_query=self.n_query,
                    n_support=self.n_support,
                    min_rows=2,
                )
            if self._ranks:
                samplers["ranking_sampler"] = TaskSampler(
                    batch.user_pos,
                    {"items": batch.item_pos},
                    self._ranking_confidence(batch),
                    task_x=task_x,
                    n_tasks=n_users,
                    n_query=_RANKING_QUERY,
                    support_range=_RANKING_SUPPORT,
                    min_rows=2,
                    order=row_times,
                )
                samplers["negatives"] = NegativeSampler(counts, self.n_negatives)
            tasks = np.flatnonzero(np.bincount(batch.user_pos, minlength=n_users) >= 2)
        self.meta_batch_size_, self.lr_ = self._outer_step(len(tasks))
        with self._fit_step(times, "meta-train"):
            self.net_ = self._make_net(learner, samplers, seed)
            if len(tasks):
                self.net_.fit(tasks)
            else:
                self.net_.initialize()
            self._to_serving_device()
        self.history_ = self.net_.history

        self._user_codes = torch.as_tensor(user_codes, dtype=torch.long)
        self._item_cache = self._rank_cache = None
        # The end-of-fit steps; each takes no time where it does not apply.
        with self._fit_step(times, "item caches"):
            self._refresh_items()
        with self._fit_step(times, "refit biases"):
            self._fit_cold_prior(batch)
            self._refit_item_biases(batch)
        with self._fit_step(times, "adapt users"):
            self.user_state_ = self._adapt_all(batch)
        with self._fit_step(times, "neighbours"):
            self.similarity_ = self._fit_neighbours(batch)
            self._similarity_t_cache = {}
        with self._fit_step(times, "interaction neighbours"):
            similarity, weight = self._fit_interaction_neighbours(batch, row_times)
            self.interaction_similarity_, self.neighbor_weight_ = similarity, weight
            # The rows' times, parallel to the seen log, while recency weighs them.
            self._time_parts = None if self.neighbor_recency_ is None else [row_times]
            self._latest_time = None if row_times is None else float(row_times.max())
            self._set_interaction_rows(similarity)
        with self._fit_step(times, "rating scale"):
            self._rating_mean = float(batch.y.mean()) if self._rating else None
            self._rating_scale = self._fit_rating_scale(batch)
        self.fit_times_ = times
        if self._verbosity()[1]:
            self._print_step("total", time.perf_counter() - start)

    def _episode_times(self, batch: EncodedBatch) -> np.ndarray | None:
        """The rows' times that order the ranking episodes and the calibration
        (``episode_order``), or None when they are drawn at random; sets
        ``episode_order_``."""
        column = _TIME_COLUMN
        present = column in batch.data.side.columns
        order = self.episode_order
        if order == "auto":
            order = "time" if present else "random"
        if order == "time" and not present:
            raise ValueError(
                f"episode_order='time' orders each user's interactions by the "
                f"{column!r} column of X, which X does not have; add it, or use "
                f"episode_order='random'."
            )
        self.episode_order_ = order
        if order == "random":
            return None
        return check_timestamps(batch.data.side[column], column)

    @contextmanager
    def _fit_step(self, times: dict, step: str):
        """Time one step of ``fit`` into ``times[step]`` (seconds); at
        ``verbose >= 1``, print its line when it ends."""
        start = time.perf_counter()
        yield
        times[step] = time.perf_counter() - start
        if self._verbosity()[1]:
            self._print_step(step, times[step])

    def _verbosity(self) -> tuple[bool, int]:
        """``(progress bars, level)`` from ``verbose``: ``"auto"`` shows the bars
        alone when stderr is a terminal (nothing in logs, notebooks' captured
        output, CI); a number shows bars, epoch table and step lines from 1."""
        if isinstance(self.verbose, str):  # "auto"
            return _is_terminal(sys.stderr), 0
        return bool(self.verbose), int(self.verbose)

    def _print_step(self, step: str, seconds: float) -> None:
        # Same stream as skorch's epoch table (stdout).
        name = type(self).__name__
        print(f"[{name}] {step} {'.' * (24 - len(step))} {seconds:7.1f} s", flush=True)

    def _check_confidences(self, batch: EncodedBatch) -> None:
        if not self._rating and (batch.y < 0).any():
            raise ValueError(
                "With objective='implicit', y holds confidence weights (how sure "
                "an interaction is, as in implicit ALS), which must be >= 0; got "
                f"{float(batch.y.min())!r}. Pass y=None when every row is a positive."
            )

    def _ranking_confidence(self, batch: EncodedBatch) -> np.ndarray:
        """Confidence of each row as a positive of the ranking objective: ``y``
        for positive-only data, 1 for ratings (which items a user chose to rate)."""
        return batch.y if not self._rating else np.ones(len(batch))

    def _inner_solver(self) -> str:
        ridge_ok = self._rating and self.adapt == "user" and not self.hidden_dims
        if self.inner_solver == "auto":
            return "ridge" if ridge_ok else "gradient"
        if self.inner_solver == "ridge" and not ridge_ok:
            raise ValueError(
                "inner_solver='ridge' needs objective='rating', adapt='user' and no "
                "hidden_dims (the user's scores must be linear in the adapted "
                "parameters); use inner_solver='gradient' or 'auto'."
            )
        return self.inner_solver

    def _to_serving_device(self) -> None:
        # Serving (adaptation, predict, recommend, partial_fit) builds its tensors
        # on the CPU: the learner joins them there whatever device meta-training
        # used (``device`` or the accelerator's), unwrapped from any DDP wrapper.
        net = self.net_
        if getattr(net, "accelerator", None) is not None:
            net.module_ = net.accelerator.unwrap_model(net.module_)
        net.module_.to("cpu")

    def _outer_step(self, n_tasks: int) -> tuple[int, float]:
        """``(meta_batch_size_, lr_)``: the parameters, or their "auto" values for
        ``n_tasks`` training users.

        On a CPU a meta-batch of 256 users costs little more than one of 32 (the
        step is dominated by per-operation overhead up to about 128), so "auto"
        takes a 24th of the users, from 32 to 256, and the learning rate grows
        with the batch (linear scaling, Goyal et al. 2017). On MovieLens-1M this
        gives the nDCG@10 of 32 users per step at lr 0.003 in a fifth of the time.
        """
        size = self.meta_batch_size
        if size == "auto":
            low, high = _AUTO_BATCH_BOUNDS
            size = int(np.clip(n_tasks // _AUTO_BATCH_SHARE, low, high))
        lr = self.lr if self.lr != "auto" else _LR_PER_32 * size / 32
        return int(size), float(lr)

    def _make_net(self, learner, samplers: dict, seed) -> EpisodeNet:
        """The skorch shell; ``samplers`` holds the episode samplers (keyword
        arguments of :class:`EpisodeCollate`; empty when the net only serves)."""
        from skorch.callbacks import EarlyStopping, ProgressBar
        from skorch.dataset import ValidSplit

        callbacks = list(self.callbacks or [])
        train_split = None
        if self.early_stopping:
            train_split = ValidSplit(self.validation_fraction, random_state=seed)
            callbacks.append(
                EarlyStopping(
                    monitor="valid_loss",
                    patience=self.n_iter_no_change,
                    load_best=True,
                )
            )
        start = self._average_start()
        if start is not None:
            callbacks.append(ParameterAveraging(start))
        if self._verbosity()[0]:
            callbacks.append(ProgressBar())
        accelerator = getattr(self, "accelerator", None)
        if accelerator is None:
            net_class, placement = EpisodeNet, {"device": self.device}
        else:  # accelerate stays an optional dependency
            from .._skorch._accelerate import AcceleratedEpisodeNet

            net_class = AcceleratedEpisodeNet
            placement = {"accelerator": accelerator, "device": None}
        return net_class(
            learner,
            optimizer=torch.optim.Adam,
            optimizer__weight_decay=self.weight_decay,
            lr=self.lr_,
            max_epochs=self.max_epochs,
            batch_size=self.meta_batch_size_,
            train_split=train_split,
            callbacks=callbacks,
            verbose=self._verbosity()[1],
            **placement,
            iterator_train__shuffle=True,
            iterator_train__generator=torch.Generator().manual_seed(seed),
            iterator_train__collate_fn=EpisodeCollate(
                samplers.get("sampler"),
                seed,
                ranking_sampler=samplers.get("ranking_sampler"),
                negatives=samplers.get("negatives"),
                item_dropout=getattr(self, "item_dropout", 0.0),
            ),
            # A DataLoader without a generator draws its base seed from torch's
            # global one: give the validation loader its own.
            iterator_valid__generator=torch.Generator().manual_seed(seed + 1),
            iterator_valid__collate_fn=EpisodeCollate(
                samplers.get("sampler"),
                seed + 1,
                ranking_sampler=samplers.get("ranking_sampler"),
                negatives=samplers.get("negatives"),
                fixed=True,
            ),
        )

    def _average_start(self) -> int | None:
        """First epoch of the parameter average (``average``), None for none."""
        if self.average is False:
            return None
        if self.average is True:
            return self.max_epochs // 2 + 1
        return int(self.average)

    @property
    def _learner(self) -> MetaLearner:
        return self.net_.module_

    @property
    def _model(self) -> MetaRecNet:
        return self.net_.module_.model

    # ------------------------------------------------------------ persistence
    def __getstate__(self):
        # The skorch net is stored as its module tree (parameters and buffers as
        # arrays) and its history; the optimizer's moments and the training
        # episodes are not: they only serve meta-training, which a refit restarts.
        state = super().__getstate__()
        state.pop("history_", None)  # the net's own history, stored with the net
        # An Accelerator is a handle on this process's devices, not data: a loaded
        # estimator has accelerator=None (set it again to refit through one).
        if state.get("accelerator") is not None:
            state["accelerator"] = None
        net = state.get("net_")
        if net is not None:
            state["net_"] = {
                "module": module_to_plain(net.module_),
                "history": history_to_plain(net.history),
            }
        return state

    def __setstate__(self, state):
        state = dict(state)
        net = state.pop("net_", None)
        super().__setstate__(state)
        if isinstance(net, dict):
            learner = module_from_plain(net["module"])
            if not hasattr(self, "lr_"):  # pragma: no cover - saved before "auto"
                self.meta_batch_size_, self.lr_ = self._outer_step(0)
            # The same net as fit builds, without the training episodes.
            self.net_ = self._make_net(learner, {}, self._seed)
            self.net_.initialize()
            self._to_serving_device()
            self.net_.history = history_from_plain(net["history"])
        elif net is not None:  # pragma: no cover - pickled before this format
            self.net_ = net
        if net is not None:
            self.history_ = self.net_.history

    # ------------------------------------------------------- adaptation
    def _adapt_all(self, batch: EncodedBatch) -> dict:
        """Adapted states of every user of ``batch`` from the prior, (n_users, ...)."""
        n_users = len(self.user_index_)
        states = self._prior_states(n_users)
        self._write_states(states, *self._adapt_new(batch, np.arange(n_users)))
        return states

    def _row_chunks(self, user_pos, item_pos, size: int = _ADAPT_CHUNK_ROWS):
        """``(rows, users, items, codes)`` of row-aligned known users and items in
        slices of ``size`` rows: positions as tensors (copies: the arrays may be
        read-only views of the caller's data) and the users' feature codes (None
        without user features)."""
        for start in range(0, len(user_pos), size):
            rows = slice(start, start + size)
            users = torch.tensor(user_pos[rows])
            items = torch.tensor(item_pos[rows])
            codes = self._user_codes[users] if self._user_codes.shape[1] else None
            yield rows, users, items, codes

    @torch.no_grad()
    def _fit_cold_prior(self, batch: EncodedBatch) -> None:
        """Refit the prior's bias as the best one for a user with no ratings.

        The bias of the user prior (user features keep their offsets) becomes the
        one that best predicts every fitted user's ratings from the prior, each
        user weighing the same: a weighted least squares for one coefficient, in
        closed form. Meta-training barely constrains the prior's location, since
        adaptation absorbs it for users with many ratings, yet users with no
        ratings are served from it and users with a few are shrunk towards it.
        Only for ratings (``objective="rating"``) with scores linear in the user
        state (no ``hidden_dims``); otherwise the meta-learned prior stays.
        """
        model = self._model
        names = [_COLD_PRIOR_NAME]
        if (
            not self._rating
            or not len(batch.y)
            or not model.supports_linear_adaptation(names)
        ):
            return
        gram = rhs = 0.0
        weights = 1.0 / np.bincount(batch.user_pos)
        item_vec, item_bias = self._item_cache
        for rows, _, items, codes in self._row_chunks(batch.user_pos, batch.item_pos):
            # Each row as a one-row task, so that it carries its user's features.
            offset, design = model.linear_adaptation_terms(
                names,
                user_features=codes,
                item_vec=item_vec[items][:, None],
                item_bias=item_bias[items][:, None],
            )
            offset, design = offset[:, 0].double(), design[:, 0, 0].double()
            residual = torch.tensor(batch.y[rows], dtype=torch.float64) - offset
            weighted = design * torch.as_tensor(weights[batch.user_pos[rows]])
            gram += float(weighted @ design)
            rhs += float(weighted @ residual)
        dict(model.named_parameters())[_COLD_PRIOR_NAME].fill_(rhs / gram)

    @torch.no_grad()
    def _refit_item_biases(self, batch: EncodedBatch) -> None:
        """Refit every fitted item's bias on all its ratings, in closed form.

        Meta-training fits the item side through the query rows of its episodes
        only (``n_query`` per user and epoch), which leaves item biases far from
        what all the ratings say. Each item's bias gets a correction, the ridge
        estimate from the residuals of its ratings under the adapted states of
        the users who gave them, shrunk towards the meta-learned bias by
        ``item_refit_reg`` pseudo-ratings; users re-adapt and the prior's bias is
        refitted (:meth:`_fit_cold_prior`), and the two alternate
        ``_REFIT_ROUNDS`` times, as in ALS. Only for ratings with one state per
        user (``objective="rating"``, ``adapt="user"``).
        """
        reg = self.item_refit_reg
        if reg is None or not self._rating or self.adapt != "user" or not len(batch.y):
            return
        n_items = self._n_fitted_items
        counts = np.bincount(batch.item_pos, minlength=n_items)
        for _ in range(_REFIT_ROUNDS):
            self.user_state_ = self._adapt_all(batch)
            # Residuals against the meta-learned bias, not the current correction.
            meta_bias = self._item_cache[1][:n_items] - self._item_offset[:n_items, -1]
            residual = self._residuals(
                batch.user_pos, batch.item_pos, batch.y, item_bias=meta_bias
            )
            residual = np.bincount(batch.item_pos, weights=residual, minlength=n_items)
            correction = torch.as_tensor(residual / (counts + reg))
            self._item_offset[:n_items, -1] = correction.to(self._item_offset.dtype)
            self._refresh_items()
            self._fit_cold_prior(batch)

    def _fit_neighbours(self, batch: EncodedBatch):
        """Similarities of the fitted items' training residuals (``n_neighbors``).

        The residuals are those of the fitted model (users adapted); see
        :func:`~sklearn_metarec.utils._neighbours.residual_similarity`. None when
        the correction is off: ``n_neighbors=None``, or not ratings with one state
        per user (``objective="rating"``, ``adapt="user"``).
        """
        if self.n_neighbors is None or not self._rating or self.adapt != "user":
            return None
        residual = self._residuals(batch.user_pos, batch.item_pos, batch.y)
        shape = (len(self.user_index_), self._n_fitted_items)
        residual, _ = cell_means(batch.user_pos, batch.item_pos, residual, shape)
        return residual_similarity(
            residual,
            self.n_neighbors,
            _NEIGHBOUR_SHRINKAGE,
            n_threads=torch.get_num_threads(),
        )

    def _fit_interaction_neighbours(self, batch: EncodedBatch, row_times=None):
        """The interaction neighbourhood of the ranking and its weight
        (``neighbor_weight``): ``(similarity, weight)``, or ``(None, 0.0)`` when
        it is off (``n_neighbors=None``, ``neighbor_weight=0``, no ranking
        objective, or a calibrated weight of 0). Sets ``neighbor_calibration_``,
        ``recency_calibration_`` and ``neighbor_recency_``. ``row_times``: the
        rows' times (None: episodes at random), which order the calibration's
        users and the recency weights."""
        self.neighbor_calibration_ = self.recency_calibration_ = None
        self.growth_calibration_ = self.neighbor_recency_ = None
        self._item_users = None
        growth = self.neighbor_growth
        self.neighbor_growth_ = 0.0 if growth == "auto" else float(growth)
        recency = self.neighbor_recency
        if recency is not None and recency != "auto" and row_times is None:
            raise ValueError(
                f"neighbor_recency={recency!r} weighs a user's items by how recent "
                f"they are, from the {_TIME_COLUMN!r} column of X, which is read "
                f"only with time-ordered episodes (episode_order_ is "
                f"{self.episode_order_!r}); add the column and use "
                f"episode_order='auto' or 'time', or set neighbor_recency=None."
            )
        if self.n_neighbors is None or not self._ranks or self.neighbor_weight == 0:
            return None, 0.0
        shape = (len(self.user_index_), self._n_fitted_items)
        _, interacted = cell_means(
            batch.user_pos, batch.item_pos, np.ones(len(batch.y)), shape
        )
        if recency == "auto":
            scales = _RECENCY_SCALES if row_times is not None else (None,)
        else:
            scales = (None if recency is None else float(recency),)
        weight = self.neighbor_weight
        scale = scales[0] if len(scales) == 1 else _UNCALIBRATED_RECENCY
        if weight == "auto":
            weight, scale = self._calibrate_neighbor_weight(
                batch, interacted, row_times, scales
            ) or (_UNCALIBRATED_WEIGHT, scale)
        if weight == 0:
            return None, 0.0
        self.neighbor_recency_ = scale
        # Users of each fitted item: the rows of items added after fit are
        # built from their co-occurrences with them (see _count_picks).
        self._item_users = interacted.getnnz(axis=0).astype(np.float64)
        return self._interaction_similarity(interacted), float(weight)

    def _interaction_similarity(self, interacted: sp.csr_matrix) -> sp.csr_matrix:
        """Shrunk cosines of the items' interaction columns, top ``n_neighbors``."""
        return residual_similarity(
            interacted,
            self.n_neighbors,
            _NEIGHBOUR_SHRINKAGE,
            n_threads=torch.get_num_threads(),
        )

    @torch.no_grad()
    def _calibrate_neighbor_weight(
        self, batch, interacted: sp.csr_matrix, row_times=None, scales=(None,)
    ) -> tuple[float, float | None] | None:
        """``neighbor_weight="auto"``: the weight and the recency scale chosen on
        held-out users, ``(weight, scale)``; None when too few users can be held
        out.

        A share of the training users is held out of the similarities (built on
        the other users' interactions); when that share is fewer than
        ``_CALIBRATION_TARGET`` users, up to ``_CALIBRATION_FOLDS`` disjoint
        larger shares are held out in turn (folds), each against similarities
        built without it, so that a small log is calibrated on up to
        ``_CALIBRATION_TARGET`` of its users rather than on a few dozen whose
        noise would always favour the smallest weight. Each held-out user is
        folded in from a support of their items (1 to 40, as in the ranking
        episodes: their first ones in time with ``row_times``, else a random
        subset) and ranks the catalogue minus the support. For each recency
        scale of ``scales`` the support items weigh ``exp(-r / scale)``, ``r``
        the support items after them in time (all 1 for None). The scale is the
        simplest (first) whose users' nDCG@10 of their other items, each scale
        at its best weight, is within one standard error of the best scale's
        (the one-standard-error rule); the weight, the smallest of
        ``_NEIGHBOR_WEIGHTS`` within one standard error of the best at that
        scale.
        """
        rng = np.random.default_rng([self._seed, 1])
        counts = np.diff(interacted.indptr)
        eligible = np.flatnonzero(counts >= 2)
        n_held = min(round(_CALIBRATION_SHARE * len(eligible)), _CALIBRATION_USERS[1])
        if n_held < _CALIBRATION_USERS[0]:
            return None
        if n_held < _CALIBRATION_TARGET:  # folds of a larger share
            n_held = max(
                n_held, min(_CALIBRATION_TARGET, len(eligible)) // _CALIBRATION_FOLDS
            )
        n_folds = min(-(-_CALIBRATION_TARGET // n_held), len(eligible) // n_held)
        drawn = rng.choice(eligible, n_held * n_folds, replace=False)
        folds = [np.sort(part) for part in np.split(drawn, n_folds)]
        weights = np.asarray(_NEIGHBOR_WEIGHTS)
        ndcg, contexts = [], []
        for held in folds:
            fold_ndcg, context = self._calibration_fold(
                batch, interacted, held, row_times, scales, rng
            )
            ndcg.append(fold_ndcg)
            contexts.append(context)
        ndcg = np.concatenate(ndcg, axis=2)
        best = ndcg.mean(axis=2).argmax(axis=1)  # each scale's best weight
        j = one_standard_error_choice(ndcg[np.arange(len(scales)), best])
        self.neighbor_calibration_ = dict(
            zip(weights.tolist(), ndcg[j].mean(axis=1).tolist())
        )
        if len(scales) > 1:
            self.recency_calibration_ = {
                s: float(ndcg[i, best[i]].mean()) for i, s in enumerate(scales)
            }
        weight = float(weights[one_standard_error_choice(ndcg[j])])
        if self.neighbor_growth == "auto" and weight > 0:
            self.neighbor_growth_ = self._calibrate_growth(
                batch, interacted, contexts, weight, scales[j], rng
            )
        return weight, scales[j]

    @torch.no_grad()
    def _calibration_fold(self, batch, interacted, held, row_times, scales, rng):
        """One fold of :meth:`_calibrate_neighbor_weight`: the held-out users'
        (``held``, sorted positions) nDCG@10 at each recency scale and weight,
        shape ``(len(scales), len(_NEIGHBOR_WEIGHTS), len(held))``, and what
        :meth:`_calibrate_growth` reads again: ``(held, in_time,
        similarity_t)``."""
        others = np.setdiff1d(np.arange(interacted.shape[0]), held)
        similarity_t = self._interaction_similarity(interacted[others]).T.tocsr()
        low, high = _RANKING_SUPPORT
        in_time = (
            None
            if row_times is None
            else self._items_in_time(batch, held, row_times, rng)
        )
        support = []  # each user's support items, earliest first
        counts = np.diff(interacted.indptr)
        for k, user in enumerate(held):
            size = min(int(rng.integers(low, high + 1)), counts[user] - 1)
            support.append(_items_in_order(interacted, user, in_time, k, rng)[:size])
        n_items = interacted.shape[1]
        weighted = [_support_matrix(support, n_items, s) for s in scales]
        support = _support_matrix(support, n_items)
        relevant = sp.csr_matrix(interacted[held] - support)
        relevant.eliminate_zeros()
        weights = np.asarray(_NEIGHBOR_WEIGHTS)
        ndcg = np.empty((len(scales), len(weights), len(held)))
        for part, logits in self._held_out_logits(batch, held, support):
            relevant_part = relevant[part].toarray()
            for j, mine in enumerate(weighted):
                neighbours = (mine[part] @ similarity_t).toarray()
                for k, weight in enumerate(weights):
                    ndcg[j, k, part] = _ndcg_per_user(
                        relevant_part, logits + weight * neighbours, _CALIBRATION_K
                    )
        return ndcg, (held, in_time, similarity_t)

    @torch.no_grad()
    def _calibrate_growth(self, batch, interacted, folds, weight, scale, rng) -> float:
        """``neighbor_growth="auto"``: the exponent chosen on the held-out users
        of :meth:`_calibrate_neighbor_weight` (``folds``: each fold's ``(held,
        in_time, similarity_t)``) whose histories are longer than the supports
        the weight was chosen on; 0 when fewer than ``_CALIBRATION_USERS[0]``
        are.

        Each such user is folded in from all but their last ``_GROWTH_HOLDOUT``
        items (in time, else at random), which are the relevant ones, and the
        term weighs ``weight * (n / _RANKING_SUPPORT[1]) ** growth``, ``n`` the
        support's size. Of the exponents of ``_NEIGHBOR_GROWTHS`` whose
        nDCG@10 is within one standard error of the best, the one whose lists
        cover the most of the catalogue is chosen (``growth_calibration_``):
        among lists that are equally good by that measure, those that show more
        of the catalogue.
        """
        exponents = np.asarray(_NEIGHBOR_GROWTHS)
        n_items = interacted.shape[1]
        shown = np.zeros((len(exponents), n_items), dtype=bool)
        ndcg = []
        for held, in_time, similarity_t in folds:
            counts = np.diff(interacted.indptr)[held]
            long = np.flatnonzero(counts > _RANKING_SUPPORT[1] + _GROWTH_HOLDOUT)
            if not len(long):
                continue
            users = held[long]
            support = [
                _items_in_order(interacted, user, in_time, k, rng)[:-_GROWTH_HOLDOUT]
                for k, user in zip(long, users)
            ]
            growth = _history_growth([len(items) for items in support])
            mine = _support_matrix(support, n_items, scale)
            support = _support_matrix(support, n_items)
            relevant = sp.csr_matrix(interacted[users] - support)
            relevant.eliminate_zeros()
            fold_ndcg = np.empty((len(exponents), len(users)))
            for part, logits in self._held_out_logits(batch, users, support):
                relevant_part = relevant[part].toarray()
                neighbours = weight * (mine[part] @ similarity_t).toarray()
                for k, exponent in enumerate(exponents):
                    scores = logits + growth[part, None] ** exponent * neighbours
                    fold_ndcg[k, part] = _ndcg_per_user(
                        relevant_part, scores, _CALIBRATION_K
                    )
                    top = np.argpartition(-scores, _CALIBRATION_K - 1, axis=1)
                    shown[k, top[:, :_CALIBRATION_K]] = True
            ndcg.append(fold_ndcg)
        if sum(part.shape[1] for part in ndcg) < _CALIBRATION_USERS[0]:
            return 0.0
        ndcg = np.concatenate(ndcg, axis=1)
        coverage = shown.mean(axis=1)
        self.growth_calibration_ = {
            float(e): (float(n), float(c))
            for e, n, c in zip(exponents, ndcg.mean(axis=1), coverage)
        }
        return float(exponents[one_standard_error_choice(ndcg, prefer=coverage)])

    @torch.no_grad()
    def _held_out_logits(self, batch, users: np.ndarray, support: sp.csr_matrix):
        """Fold ``users`` (sorted positions) in from their rows of the log on
        the items of ``support`` (one row per user), as ``partial_fit`` folds in
        a new user, and yield ``(block, logits)`` of their interaction tower on
        the fitted items by blocks of users, the support items at ``-inf``."""
        rows = np.flatnonzero(np.isin(batch.user_pos, users))
        local = np.searchsorted(users, batch.user_pos[rows])
        rows = rows[np.asarray(support[local, batch.item_pos[rows]]).ravel() > 0]
        adapted, states = self._adapt_rows(
            batch.user_pos[rows], batch.item_pos[rows], batch.y[rows], users
        )
        state = states[self._learner.ranking_name]
        codes = self._known_user_codes(torch.as_tensor(adapted))
        n_items = support.shape[1]
        vec, bias = (t[:n_items] for t in self._rank_cache[:2])
        step = max(1, _CALIBRATION_CELLS // max(n_items, 1))
        for start in range(0, len(users), step):
            part = slice(start, start + step)
            user = self._model.ranking_prior(
                None if codes is None else codes[part], state[part]
            )
            logits = (user @ vec.T + bias).double().numpy()
            logits[support[part].nonzero()] = -np.inf
            yield part, logits

    @staticmethod
    def _items_in_time(batch, users: np.ndarray, row_times, rng) -> list:
        """Each of ``users``' (sorted positions) distinct items in the order of
        their first row in time (ties at random), one array per user."""
        rows = np.flatnonzero(np.isin(batch.user_pos, users))
        rows = rows[
            np.lexsort((rng.random(len(rows)), row_times[rows], batch.user_pos[rows]))
        ]
        user_pos, item_pos = batch.user_pos[rows], batch.item_pos[rows]
        first, _ = _distinct_items(user_pos, item_pos, int(batch.item_pos.max()) + 1)
        bounds = np.searchsorted(user_pos[first], users, side="right")
        return np.split(item_pos[first], bounds[:-1])

    def _set_interaction_rows(self, rows: sp.csr_matrix | None) -> None:
        """Keep the interaction neighbourhood's rows of the fitted items
        (columns: the fitted items) and their transpose (recommend multiplies
        users' rows by it); no item added after fit yet (see
        ``_added_rows``)."""
        self._interaction_rows = rows
        self._interaction_t = None if rows is None else rows.T.tocsr()
        # The rows of the items added after fit, one per item in catalogue
        # order: kept apart from the fitted items' rows, so that a partial_fit
        # that changes them copies only them (new objects, so that a rollback
        # restores the old); and the rows they borrowed when they were added.
        empty = None if rows is None else sp.csr_matrix((0, rows.shape[1]))
        self._added_rows = self._borrowed_rows = empty

    def _transpose_of(self, name: str, matrix: sp.csr_matrix) -> sp.csr_matrix:
        """``matrix.T`` as CSR, built on first use after ``matrix`` changes (a
        new object), for the blocks of users that multiply by it; kept under
        ``name`` in a holder filled in place, so that predict leaves
        ``__dict__`` as it was."""
        holder = self._cache_holder("_similarity_t_cache")
        cached = holder.get(name)
        if cached is None or cached[0] is not matrix:
            with self._lock("caches"):
                cached = holder.get(name)
                if cached is None or cached[0] is not matrix:
                    cached = holder[name] = (matrix, matrix.T.tocsr())
        return cached[1]

    def _neighbour_rows(self, item_pos: np.ndarray) -> sp.csr_matrix:
        """The interaction neighbourhood's rows of catalogue items (positions),
        in the order given."""
        n_fitted = self._n_fitted_items
        added = item_pos >= n_fitted
        if not added.any():
            return self._interaction_rows[item_pos]
        parts = sp.vstack(
            [
                self._interaction_rows[item_pos[~added]],
                self._added_rows[item_pos[added] - n_fitted],
            ],
            format="csr",
        )
        order = np.concatenate([np.flatnonzero(~added), np.flatnonzero(added)])
        return parts[np.argsort(order, kind="stable")]

    @torch.no_grad()
    def _borrowed_interaction_rows(self, items: np.ndarray) -> sp.csr_matrix:
        """Neighbourhood rows of items added after fit (positions): the mean of
        the rows of the ``_BORROWED_NEIGHBOURS`` fitted items closest to each
        (cosine of the interaction tower's item vectors, the weights of the
        mean; only positive cosines), its ``n_neighbors`` largest cells kept as
        in a fitted item's row, so that an item known from its content alone
        competes on the same footing as the fitted ones."""
        n_fitted = self._n_fitted_items
        vec = torch.nn.functional.normalize(self._rank_cache[0].double(), dim=1)
        cosine = (vec[torch.as_tensor(items)] @ vec[:n_fitted].T).numpy()
        k = min(_BORROWED_NEIGHBOURS, n_fitted)
        top = np.argpartition(-cosine, k - 1, axis=1)[:, :k]
        weight = np.maximum(np.take_along_axis(cosine, top, axis=1), 0.0)
        total = weight.sum(axis=1, keepdims=True)
        weight = np.divide(weight, total, out=np.zeros_like(weight), where=total > 0)
        mix = sp.csr_matrix(
            (weight.ravel(), (np.repeat(np.arange(len(items)), k), top.ravel())),
            shape=(len(items), n_fitted),
        )
        return top_cells(mix @ self.interaction_similarity_, self.n_neighbors)

    def _add_interaction_offsets(self, user_pos: np.ndarray, scores, seen=None):
        """Add ``neighbor_weight_ * sum_j s_ij`` over each user's fitted items
        ``j`` to ``scores`` (shape ``(len(user_pos), n_items)``) in place, for
        every catalogue item ``i`` (items added after fit through their own
        rows); nothing for cold users. One dense temporary per block of users:
        on a large catalogue, fresh memory is a large share of the time.
        ``seen``: the users' :meth:`_fitted_items_of`, when the caller has
        them (``user_pos`` then sorted, unique and known)."""
        if self.interaction_similarity_ is None:
            return
        known = np.flatnonzero(user_pos >= 0)
        if not len(known):
            return
        if seen is not None:
            rows = seen
        else:
            users, inverse = np.unique(user_pos[known], return_inverse=True)
            rows = self._fitted_items_of(users)
            if not np.array_equal(users, user_pos[known]):  # repeated or unsorted
                rows = rows[inverse]
        products = [(0, dense_product(rows, self._interaction_t, _GATHER_CELLS))]
        added = self._added_rows
        if added.shape[0]:
            # partial_fit's block of users (``seen`` given) multiply the rows
            # it changes as they are; recommend's, their transpose (built
            # once per change).
            if seen is None:
                added_t = self._transpose_of("added", added)
                product = dense_product(rows, added_t, _GATHER_CELLS)
            else:
                product = (added @ rows.T.toarray()).T
            products.append((self._n_fitted_items, product))
        for start, offsets in products:
            offsets *= self.neighbor_weight_
            columns = slice(start, start + offsets.shape[1])
            if len(known) == len(user_pos):
                scores[:, columns] += offsets
            else:
                scores[known, columns] += offsets

    def _fitted_items_of(self, users: np.ndarray, log=None) -> sp.csr_matrix:
        """Weight of the fitted items each of ``users`` (sorted, unique
        positions) interacted with in fit and partial_fit, one row per user: 1
        (an item counts once, however often it was given), or with
        ``neighbor_recency_`` ``exp(-r / neighbor_recency_)``, ``r`` the user's
        distinct items given after the item's latest row (by time; rows with
        one time, and rows given without a time, which count as at the latest
        time seen before them, in the order given).

        ``log``: ``(user_pos, item_pos, times)``, every row of ``users`` in the
        order given (``times`` the seen log's, None without recency), when the
        caller has them (a batch of new users); else read from the seen log.
        """
        if log is None:
            user_pos, item_pos, _ = self._seen_log()
            mine = self._seen_rows(users)
        else:
            user_pos, item_pos, log_times = log
            mine = np.arange(len(user_pos))
        local = np.searchsorted(users, user_pos[mine])
        shape = (len(users), self._n_fitted_items)
        if self.neighbor_recency_ is None:
            fitted = item_pos[mine] < self._n_fitted_items
            rows = cell_means(
                local[fitted], item_pos[mine[fitted]], np.ones(fitted.sum()), shape
            )[1]
        else:
            times = self._seen_times()[mine] if log is None else log_times
            # By user, latest first (of rows at one time, the one given last).
            order = np.lexsort((-mine, -times, local))
            local, items = local[order], item_pos[mine[order]]
            latest, later = _distinct_items(local, items, len(self.item_index_))
            local, items = local[latest], items[latest]
            fitted = items < self._n_fitted_items
            rows = sp.csr_matrix(
                (
                    np.exp(-later[fitted] / self.neighbor_recency_),
                    (local[fitted], items[fitted]),
                ),
                shape=shape,
            )
        if self.neighbor_growth_:
            sizes = np.diff(rows.indptr)  # distinct fitted items per user
            rows.data *= np.repeat(
                _history_growth(sizes) ** self.neighbor_growth_, sizes
            )
        return rows

    def _seen_times(self) -> np.ndarray:
        """The times of the rows of :meth:`_seen_log` (``neighbor_recency_``)."""
        parts = self._time_parts
        if len(parts) > 1:
            with self._lock("seen times"):
                parts = self._time_parts
                if len(parts) > 1:
                    parts = [np.concatenate(parts)]
                    self._time_parts = parts
        return parts[0]

    def _append_times(self, batch: EncodedBatch) -> np.ndarray | None:
        """Append the times of ``partial_fit``'s rows to the seen log's (write,
        then swap) and return them: the ``timestamp`` column, or the latest
        time seen so far for rows given without one. None without recency."""
        if self._time_parts is None:
            return None
        if _TIME_COLUMN in batch.data.side.columns:
            times = check_timestamps(batch.data.side[_TIME_COLUMN], _TIME_COLUMN)
        else:
            times = np.full(len(batch.user_pos), self._latest_time)
        self._time_parts = [self._append_rows("seen times", self._seen_times(), times)]
        if len(times):
            self._latest_time = max(self._latest_time, float(times.max()))
        return times

    def _interaction_offsets_at(self, user_pos, item_pos) -> np.ndarray:
        """:meth:`_add_interaction_offsets` at row-aligned (user, item) cells."""
        out = np.zeros(len(user_pos))
        if self.interaction_similarity_ is None:
            return out
        # Every catalogue item has a row (an added one from its add on).
        rows = np.flatnonzero((user_pos >= 0) & (item_pos >= 0))
        if not len(rows):
            return out
        users, inverse = np.unique(user_pos[rows], return_inverse=True)
        seen = self._fitted_items_of(users)
        for start in range(0, len(rows), _NEIGHBOUR_CHUNK_ROWS):
            part = slice(start, start + _NEIGHBOUR_CHUNK_ROWS)
            similarity = self._neighbour_rows(item_pos[rows[part]])
            products = seen[inverse[part]].multiply(similarity)
            out[rows[part]] = np.asarray(products.sum(axis=1)).ravel()
        return self.neighbor_weight_ * out

    def _interaction_contributions(self, user_pos, rated, item_pos) -> np.ndarray:
        """The interaction neighbourhood's share of each of ``item_pos``'s scores
        from each row ``rated`` (item positions) of one known user, shape
        ``(len(item_pos), len(rated))``; an item given in several rows splits its
        share among them."""
        rated, item_pos = np.asarray(rated), np.asarray(item_pos)
        out = np.zeros((len(item_pos), len(rated)))
        if self.interaction_similarity_ is None or not len(rated):
            return out
        cols = np.flatnonzero(rated < self._n_fitted_items)
        block = self._neighbour_rows(item_pos)[:, rated[cols]].toarray()
        _, inverse, counts = np.unique(rated, return_inverse=True, return_counts=True)
        weight = self._fitted_items_of(np.array([user_pos])).toarray()[0]
        fitted = np.minimum(rated, len(weight) - 1)  # others are not in cols
        share = self.neighbor_weight_ * weight[fitted] / counts[inverse]
        out[:, cols] = block * share[cols]
        return out

    @torch.no_grad()
    def _residuals(self, user_pos, item_pos, y, item_bias=None) -> np.ndarray:
        """``y`` minus the scores of known users (positions) on catalogue items,
        with the cached item biases or the given ``item_bias``."""
        item_vec, cached_bias = self._item_cache
        item_bias = cached_bias if item_bias is None else item_bias
        out = np.empty(len(y))
        chunks = self._row_chunks(user_pos, item_pos, _HEAD_CHUNK_CELLS)
        for rows, users, items, codes in chunks:
            score = self._scores(
                *self._user_vectors(users, codes), item_vec[items], item_bias[items]
            )
            out[rows] = y[rows] - score.double().numpy()
        return out

    def _neighbour_offsets(self, users: np.ndarray) -> np.ndarray:
        """Residual neighbourhood offsets of known users (sorted, unique positions)
        on the fitted items, shape (len(users), n_fitted_items).

        The residuals are read, under the users' current states, from every row
        given to fit and partial_fit, so a user adapted by ``partial_fit`` is
        corrected from their rows at once. Items added by ``partial_fit`` have no
        neighbours: they neither get an offset nor lend their residuals.
        """
        residual, rated = self._user_residuals(users)
        return neighbour_offsets(
            residual,
            rated,
            self.similarity_,
            _NEIGHBOUR_REG,
            similarity_t=self._similarity_t(),
        )

    def _similarity_t(self) -> sp.csr_matrix:
        """``similarity_.T`` as CSR, built once per fit (recommend's blocks of
        users each need it)."""
        return self._transpose_of("similarity", self.similarity_)

    def _user_residuals(self, users: np.ndarray):
        """Sparse residuals and rated cells of ``users`` (sorted, unique positions)
        on the fitted items, one row per user (:func:`cell_means`)."""
        user_pos, item_pos, y = self._seen_log()
        n_items = self._n_fitted_items
        mine = self._seen_rows(users)
        mine = mine[item_pos[mine] < n_items]
        residual = self._residuals(user_pos[mine], item_pos[mine], y[mine])
        local = np.searchsorted(users, user_pos[mine])
        return cell_means(local, item_pos[mine], residual, (len(users), n_items))

    def _add_neighbour_offsets(self, batch: EncodedBatch, scores: np.ndarray) -> None:
        """Add the residual neighbourhood offsets to row-aligned ``scores``: only
        at the rows' (user, item) cells, never a users x items array."""
        rows = np.flatnonzero(
            (batch.user_pos >= 0)
            & (batch.item_pos >= 0)
            & (batch.item_pos < self._n_fitted_items)
        )
        if not len(rows):
            return
        users, inverse = np.unique(batch.user_pos[rows], return_inverse=True)
        residual, rated = self._user_residuals(users)
        items = batch.item_pos[rows]
        for start in range(0, len(rows), _NEIGHBOUR_CHUNK_ROWS):
            part = slice(start, start + _NEIGHBOUR_CHUNK_ROWS)
            scores[rows[part]] += neighbour_offsets_at(
                residual,
                rated,
                self.similarity_,
                inverse[part],
                items[part],
                _NEIGHBOUR_REG,
            )

    def _prior_states(self, n: int) -> dict:
        model = self._model
        params = {name: model.get_parameter(name) for name in self._learner.state_names}
        return {
            name: param.detach().expand(n, *param.shape).clone()
            for name, param in params.items()
        }

    def _adapt_new(self, batch: EncodedBatch, users: np.ndarray):
        """Adapt ``users`` (positions) from the prior on their rows of ``batch``."""
        return self._adapt_rows(batch.user_pos, batch.item_pos, batch.y, users)

    def _adapt_history(self, users: np.ndarray):
        """Adapt ``users`` from the prior on every row given to fit and partial_fit.

        For the ridge solver this is the exact posterior given all their ratings;
        continuing from the last state with the prior's precision would instead
        weigh a handful of new ratings as much as the whole history.
        """
        user_pos, item_pos, y = self._seen_log()
        mine = self._seen_rows(users)
        return self._adapt_rows(user_pos[mine], item_pos[mine], y[mine], users)

    def _adapt_rows(self, user_pos, item_pos, y, users: np.ndarray):
        """Adapt ``users`` from the prior on their rows among ``(user_pos, item_pos,
        y)``; returns the adapted users (those with rows) and their states."""
        if 0 < len(users) <= _FEW_USERS:
            return self._adapt_few(user_pos, item_pos, y, users)
        rows = np.flatnonzero(np.isin(user_pos, users))
        if not len(rows):
            return users[:0], {}
        task_users, task_index = np.unique(user_pos[rows], return_inverse=True)
        counts = np.bincount(task_index)
        # Chunks of users with similar row counts, to keep padding small.
        order = np.argsort(counts, kind="stable")
        adapted = {}
        start = 0
        learner = self._learner
        while start < len(order):
            width = counts[order[start]]
            stop = start + 1
            while stop < len(order) and counts[order[stop]] * (stop - start + 1) <= max(
                _ADAPT_CHUNK_ROWS, width
            ):
                stop += 1
            chunk = np.sort(order[start:stop])
            in_chunk = np.isin(task_index, chunk)
            local = np.searchsorted(chunk, task_index[in_chunk])
            x, mask = pad_tasks(
                local,
                {"items": item_pos[rows[in_chunk]], "y": y[rows[in_chunk]]},
                n_tasks=len(chunk),
            )
            task_x = self._task_x(task_users[chunk])
            state = learner.adapt_batch(
                self._adaptation_inputs(x["items"]),
                torch.as_tensor(x["y"], dtype=torch.float32),
                torch.as_tensor(mask),
                task_x,
                gram=self._ranking_gram(),
            )
            for name, value in state.items():
                adapted.setdefault(name, []).append((chunk, value))
            start = stop
        out = {}
        for name, parts in adapted.items():
            value = torch.empty(len(task_users), *parts[0][1].shape[1:])
            for chunk, part in parts:
                value[torch.as_tensor(chunk)] = part
            out[name] = value
        return task_users, out

    def _adapt_few(self, user_pos, item_pos, y, users: np.ndarray):
        """:meth:`_adapt_rows` for a few users (serving): one task at a time, no
        padding and no ``vmap``, which is faster for a single new user."""
        parts: dict = {}
        done = []
        for user in users:
            rows = user_pos == user
            if not rows.any():
                continue
            done.append(user)
            adapted = self._learner.adapt(
                self._adaptation_inputs(item_pos[rows]),
                torch.as_tensor(y[rows], dtype=torch.float32),
                task_x=self._user_task_x(user),
                gram=self._ranking_gram(),
            )
            for name, value in adapted.items():
                parts.setdefault(name, []).append(value)
        adapted = {name: torch.stack(values) for name, values in parts.items()}
        return np.asarray(done, dtype=np.int64), adapted

    def _adaptation_inputs(self, items: np.ndarray) -> dict:
        """Row inputs of the inner loop: the cached representations of ``items``
        (positions, any shape), warm-up corrections included, and their ranking
        vectors (``rank_vec``) when there is a ranking objective."""
        vec, bias = self._item_cache
        items = torch.as_tensor(items)
        inputs = {"item_vec": vec[items], "item_bias": bias[items]}
        if self._rank_cache is not None:
            inputs["rank_vec"] = self._rank_cache[0][items]
        return inputs

    def _ranking_gram(self):
        """Gramian of the catalogue's ranking item vectors (None: no ranking)."""
        return None if self._rank_cache is None else self._rank_cache[2]

    def _user_task_x(self, user: int) -> dict | None:
        """Per-task inputs of one known user (no task axis)."""
        if user < 0 or not self._user_codes.shape[1]:
            return None
        return {"user_features": self._user_codes[user]}

    def _write_states(self, states: dict, users: np.ndarray, adapted: dict) -> None:
        index = torch.as_tensor(users, dtype=torch.long)
        for name, value in adapted.items():
            self._set_rows(states[name], index, value.to(states[name].dtype))

    def _task_x(self, users: np.ndarray) -> dict | None:
        if not self._user_codes.shape[1]:
            return None
        return {"user_features": self._user_codes[torch.as_tensor(users)]}

    # ------------------------------------------------------------ partial_fit
    def _partial_fit(self, batch: EncodedBatch) -> None:
        self._check_confidences(batch)
        times = self._append_times(batch)
        if len(batch.new_items):
            self._add_items(batch)
        if len(batch.new_users):
            self._add_users(batch)
        late = batch.item_pos >= self._n_fitted_items
        if self.warmup_reg is None or not self._rating or not late.any():
            self._adapt_batch_users(batch)
        else:
            # Alternate between the batch's new items and its users, as in ALS,
            # items first: a known user's state rests on their whole history, so
            # it says more about a new item than the item's few ratings say
            # about them.
            stats = self._warmup  # _warm_items copies before it adds this batch
            for _ in range(_WARMUP_ROUNDS):
                self._warmup = stats
                self._warm_items(batch, late)
                self._adapt_batch_users(batch)
        self._count_picks(batch, times)

    @torch.no_grad()
    def _count_picks(self, batch: EncodedBatch, times=None) -> None:
        """Add the batch's picks of the items added after fit to their
        statistics and correct those items' interaction logits and
        neighbourhood rows from them. Fitted items are left as they are.

        Per item, observed: the batch's users who interacted with it (a user
        and an item count once per batch, whatever the target or confidence),
        and the sum of their interaction vectors. Expected: over the batch's
        users, their distinct items in the batch times the item's softmax share
        of the catalogue under their adapted interaction tower without the
        corrections (the neighbourhood term left out, so that an item's own
        row, built from the very users who picked it, does not explain its
        picks away), and the sum of that weight times their vectors (the
        gradient of the item's softmax likelihood at its content's vector);
        over all items, the users' second moment weighted by their distinct
        items (the Hessian, per item approximated as its expected picks times
        that mean). From these, :meth:`_pick_corrections`.

        With an interaction neighbourhood, also: the fitted items each picker
        has interacted with (co-occurrences), from which a picked item's row
        is rebuilt as fit builds a fitted item's (:meth:`_refresh_added_rows`);
        and the expected picks of all added items under the logits that rank
        (tower, corrections and neighbourhood), from which one shift shared by
        the added items makes their picks as many as observed where the
        fitted items' neighbourhood competes with them (a catalogue list);
        of the picks of an item the batch itself adds, the one that brought
        it in is left out of that shift's count.
        ``times``: the batch's rows' times in the seen log (recency).
        """
        n_fitted, n_items = self._n_fitted_items, len(self.item_index_)
        if not self._ranks or n_items == n_fitted or not len(batch.user_pos):
            return
        pairs = np.unique(batch.user_pos * np.int64(n_items) + batch.item_pos)
        users, pair_user = np.unique(pairs // n_items, return_inverse=True)
        pair_item = pairs % n_items
        late = pair_item >= n_fitted
        pick_user, pick_item = pair_user[late], pair_item[late] - n_fitted
        user_vectors = self._interaction_user_vectors(users)
        vectors = user_vectors.double().numpy()
        counts = self._pick_counts()
        n_added, d = counts["picked_vec"].shape
        picked_vec = np.zeros((n_added, d))
        np.add.at(picked_vec, pick_item, vectors[pick_user])
        n_picks = np.bincount(pair_user, minlength=len(users)).astype(np.float64)
        applied = self._applied_pick_fix(d)
        expected = np.zeros(n_added)
        expected_vec = np.zeros((n_added, d))
        blocks = []  # kept for the served pass when there is one block
        for part, logits in self._uncorrected_logits(users, user_vectors, applied):
            if part.stop >= len(users) and part.start == 0:
                blocks.append((part, logits))
            share = np.exp(logits - logits.max(axis=1, keepdims=True))
            share = share[:, n_fitted:] / share.sum(axis=1, keepdims=True)
            weight = n_picks[part, None] * share
            expected += weight.sum(axis=0)
            expected_vec += weight.T @ vectors[part]
        added = {
            "picked": np.bincount(pick_item, minlength=n_added),
            "expected": expected,
            "picked_vec": picked_vec,
            "expected_vec": expected_vec,
            "moment": (vectors * n_picks[:, None]).T @ vectors,
            "weight": n_picks.sum(),  # of the moment
        }
        counts.update({name: counts[name] + value for name, value in added.items()})
        picked_now = np.unique(pick_item)
        dvec, dbias = self._pick_corrections(counts, applied[0], picked_now)
        if self._added_rows is not None:
            # A batch of new users holds their whole history: no log to read.
            new = len(batch.new_users) and users[0] >= batch.new_users[0]
            log = (batch.user_pos, batch.item_pos, times) if new else None
            seen = self._fitted_items_of(users, log)
            if len(picked_now):
                history = seen.copy()
                history.data[:] = 1.0
                picks = sp.csr_matrix(
                    (np.ones(len(pick_user)), (pick_item, pick_user)),
                    shape=(n_added, len(users)),
                )
                counts["common"] = counts["common"] + picks @ history
                self._refresh_added_rows(counts, picked_now)
            # An item this batch adds is there because it picked it: that one
            # pick says nothing of how often it is picked, the others do.
            counts["shared_picked"] += len(pick_item) - len(batch.new_items)
            blocks = blocks or self._uncorrected_logits(users, user_vectors, applied)
            counts["served"] += self._served_picks(
                blocks, users, user_vectors, n_picks, (dvec, dbias), seen
            )
            dbias = dbias + np.log(
                (counts["shared_picked"] + _PICK_PRIOR)
                / (counts["served"] + _PICK_PRIOR)
            )
        self._picks, self._pick_fix = counts, (dvec, dbias)  # swap
        self._shift_late_items(dvec - applied[0], dbias - applied[1])

    def _uncorrected_logits(self, users, user_vectors, applied):
        """``(part, logits)`` per block of ``users`` (positions, sorted): their
        interaction logits on the catalogue from the tower alone (see
        :meth:`_tower_logits`), the corrections ``applied`` to the items added
        after fit taken off (a float64 array, the caller's to change)."""
        n_fitted, n_items = self._n_fitted_items, len(self.item_index_)
        step = max(1, _HEAD_CHUNK_CELLS // n_items)
        for start in range(0, len(users), step):
            part = slice(start, start + step)
            user_vec = user_vectors[part]
            logits = self._tower_logits(users[part], user_vec).double().numpy()
            vec = user_vec.double().numpy()
            logits[:, n_fitted:] -= vec @ applied[0].T + applied[1]
            yield part, logits

    def _served_picks(self, blocks, users, user_vectors, n_picks, fix, seen):
        """The picks of all items added after fit expected among ``users``
        (``n_picks`` distinct items each) under the logits that rank: the
        tower with the corrections ``fix`` and the interaction neighbourhood
        (``seen``: the users' :meth:`_fitted_items_of`). ``blocks``: the
        users' :meth:`_uncorrected_logits` (changed in place)."""
        n_fitted = self._n_fitted_items
        served = 0.0
        for part, logits in blocks:
            vec = user_vectors[part].double().numpy()
            logits[:, n_fitted:] += vec @ fix[0].T + fix[1]
            self._add_interaction_offsets(users[part], logits, seen[part])
            logits -= logits.max(axis=1, keepdims=True)
            share = np.exp(logits)
            share = share[:, n_fitted:].sum(axis=1) / share.sum(axis=1)
            served += float(n_picks[part] @ share)
        return served

    def _refresh_added_rows(self, counts: dict, items: np.ndarray) -> None:
        """Rebuild the interaction neighbourhood's rows of added ``items``
        (rows of :meth:`_pick_counts`) from their pickers: their co-occurrence
        cosines with the fitted items, top ``n_neighbors``, shrunk as fit
        shrinks the fitted items' (the binary case of
        :func:`~sklearn_metarec.utils._neighbours.residual_similarity`), plus
        the row borrowed from the nearest fitted items at add time, weighed
        ``_BORROWED_PRIOR / (_BORROWED_PRIOR + picks)``: it stands in for the
        item's own row until the item has been picked."""
        if not len(items):
            return
        picked = counts["picked"][items].astype(np.float64)
        own = cooccurrence_rows(
            counts["common"][items],
            picked,
            self._item_users,
            self.n_neighbors,
            _NEIGHBOUR_SHRINKAGE,
        )
        borrowed = self._borrowed_rows[items]
        fade = _BORROWED_PRIOR / (_BORROWED_PRIOR + picked)
        borrowed.data *= np.repeat(fade, np.diff(borrowed.indptr))
        self._added_rows = _replace_rows(self._added_rows, items, own + borrowed)

    def _pick_corrections(self, counts, dvec, picked_now) -> tuple:
        """The corrections ``(dq, db)`` of the interaction vectors and biases of
        the items added after fit, one row per item, from their pick statistics
        ``counts`` (see :meth:`_count_picks`): every bias, and the vectors of the
        items picked in the batch (``picked_now``, rows); the other vectors keep
        theirs (``dvec``).

        The bias moves by ``log((observed + _PICK_PRIOR) / (expected +
        _PICK_PRIOR))``: the maximum-likelihood shift of an item bias in a
        softmax model, shrunk by ``_PICK_PRIOR`` pseudo-picks on both sides, so
        that an item picked as often as its content says keeps its logit and
        one picked more (or less) rises (or falls). The vector of a picked item
        then takes one Newton step of its likelihood (the Hessian approximated
        as in :meth:`_count_picks`), ridge-regularised by ``_PICK_VECTOR_REG``:
        towards the users who picked it, away from those expected to who did
        not (as ALS folds an item in); not with an MLP head, whose score is not
        linear in the vector. Only the items a batch picks are solved for,
        which keeps ``partial_fit`` of one user fast however many items were
        added.
        """
        picked, expected = counts["picked"], counts["expected"]
        dbias = np.log((picked + _PICK_PRIOR) / (expected + _PICK_PRIOR))
        dvec = dvec.copy()
        if len(picked_now) and self._pick_vectors:
            d = dvec.shape[1]
            second = counts["moment"] / max(counts["weight"], 1.0)
            rows = picked_now
            scale = np.exp(dbias[rows]) * expected[rows]
            system = scale[:, None, None] * second + _PICK_VECTOR_REG * np.eye(d)
            rhs = counts["picked_vec"][rows] - (
                np.exp(dbias[rows])[:, None] * counts["expected_vec"][rows]
            )
            dvec[rows] = np.linalg.solve(system, rhs[..., None])[..., 0]
        return dvec, dbias

    @property
    def _pick_vectors(self) -> bool:
        """Whether picks correct the items' interaction vectors, not only their
        biases: the interaction logit is then linear in the vector."""
        return self._rating or self._model.head.mlp is None

    def _pick_counts(self) -> dict:
        """The pick statistics of the items added after fit (see
        :meth:`_count_picks`), zero for those added since the last count."""
        d = self._rank_cache[0].shape[1]
        n_added = self._n_added_items
        counts = dict(
            self._picks
            or {
                "picked": np.zeros(0, dtype=np.int64),
                "expected": np.zeros(0),
                "picked_vec": np.zeros((0, d)),
                "expected_vec": np.zeros((0, d)),
                "moment": np.zeros((d, d)),
                "weight": 0.0,
                "common": None,
                "shared_picked": 0,
                "served": 0.0,
            }
        )
        per_item = ("picked", "expected", "picked_vec", "expected_vec")
        counts.update(zip(per_item, _pad_rows([counts[k] for k in per_item], n_added)))
        if self._added_rows is not None:
            common = counts["common"]
            if common is None:
                common = sp.csr_matrix((0, self._n_fitted_items))
            if common.shape[0] < n_added:
                missing = sp.csr_matrix((n_added - common.shape[0], common.shape[1]))
                common = sp.vstack([common, missing], "csr")
            counts["common"] = common
        return counts

    def _applied_pick_fix(self, d: int) -> tuple:
        """The corrections the caches hold for the items added after fit (none
        for those added since the last count)."""
        fix = self._pick_fix or (np.zeros((0, d)), np.zeros(0))
        return _pad_rows(fix, self._n_added_items)

    @property
    def _n_added_items(self) -> int:
        return len(self.item_index_) - self._n_fitted_items

    def _interaction_user_vectors(self, user_pos: np.ndarray) -> torch.Tensor:
        """The vectors of users (positions, ``-1`` cold) that their interaction
        logits take the dot product of with the items' vectors."""
        pos = torch.as_tensor(user_pos)
        codes = self._known_user_codes(pos)
        if self._rating:
            state = self._known_or_prior(self._learner.ranking_name, pos)
            return self._model.ranking_prior(codes, state)
        return self._user_vectors(pos, codes)[0]

    def _ranking_tower(self):
        """The interaction tower's item vectors and biases as served: a rating
        model's ranking cache, a positive-only model's item cache."""
        return self._rank_cache[:2] if self._rating else self._item_cache

    def _tower_logits(self, user_pos: np.ndarray, user_vec: torch.Tensor):
        """Interaction logits of users (positions, and their
        :meth:`_interaction_user_vectors`) on the catalogue from the tower
        alone, up to a constant per user (a tensor)."""
        vec, bias = self._ranking_tower()
        if self._pick_vectors:
            return user_vec @ vec.T + bias
        pos = torch.as_tensor(user_pos)
        user, user_bias = self._user_vectors(pos, self._known_user_codes(pos))
        return self._model.score_all(user, user_bias, vec, bias)

    def _shift_late_items(self, dvec: np.ndarray, dbias: np.ndarray) -> None:
        """Add ``(dvec, dbias)`` to the served interaction vectors and biases of
        the items added after fit (new tensors, swapped in)."""
        vec, bias = (t.clone() for t in self._ranking_tower())
        late = slice(self._n_fitted_items, None)
        vec[late] += torch.as_tensor(dvec, dtype=vec.dtype)
        bias[late] += torch.as_tensor(dbias, dtype=bias.dtype)
        if self._rating:
            self._rank_cache = (vec, bias, vec.T @ vec)
        else:
            self._item_cache = (vec, bias)

    def _adapt_batch_users(self, batch: EncodedBatch) -> None:
        """Adapt every user of ``batch`` from the prior: new users on their rows,
        known users on their whole history (earlier rows and this batch's)."""
        in_batch = np.unique(batch.user_pos)
        new = np.isin(in_batch, batch.new_users)
        self._write_states(self.user_state_, *self._adapt_new(batch, in_batch[new]))
        if not new.all():
            known = self._adapt_history(in_batch[~new])
            self._write_states(self.user_state_, *known)

    def _user_state(self, user: int) -> dict:
        """Adapted parameters of the rating tower of one known user (what
        ``predict`` swaps into the model); empty (the prior) for ``-1``."""
        if user < 0:
            return {}
        return {
            name: self.user_state_[name][user] for name in self._learner.adapt_names
        }

    def _add_users(self, batch: EncodedBatch) -> None:
        new_users = batch.new_users
        codes = self._user_encoder.transform(batch.new_user_side).categorical
        # Appended in room kept after the rows (not copied whole): one new
        # user costs the same however many are known.
        self._user_codes = self._append_rows(
            "user codes", self._user_codes, torch.as_tensor(codes, dtype=torch.long)
        )
        prior = self._prior_states(len(new_users))
        self.user_state_ = {  # write, then swap (see BaseRecommender._transaction)
            name: self._append_rows(f"user state {name}", value, prior[name])
            for name, value in self.user_state_.items()
        }

    def _add_items(self, batch: EncodedBatch) -> None:
        side = batch.new_item_side
        encoded = self._item_encoder.transform(side)
        self._on_rollback(_module_restorer(self._model))  # extend_items works in place
        self._model.extend_items(
            len(batch.new_items),
            categorical=encoded.categorical,
            multi_valued=encoded.multi_valued,
            numeric=encoded.numeric,
            text=self._item_text(side, fit=False),
            counts=self._new_item_counts(batch),
        )
        self._refresh_items(batch.new_items)
        if self.interaction_similarity_ is not None:
            borrowed = self._borrowed_interaction_rows(batch.new_items)
            self._borrowed_rows = sp.vstack([self._borrowed_rows, borrowed], "csr")
            # Nobody has picked them yet: their rows are the borrowed ones.
            self._added_rows = sp.vstack([self._added_rows, borrowed], "csr")

    def _new_item_counts(self, batch: EncodedBatch):
        """Evidence of items added by ``partial_fit``: none (served from content)."""
        return None

    @torch.no_grad()
    def _warm_items(self, batch: EncodedBatch, late: np.ndarray) -> None:
        """Ridge fold-in of the id-side correction of items added by partial_fit,
        against the current states of the users who rated them."""
        n_items = len(self.item_index_)
        d = self._item_offset.shape[1] - 1
        if len(self._item_offset) < n_items:
            pad = torch.zeros(n_items - len(self._item_offset), d + 1)
            self._item_offset = torch.cat([self._item_offset, pad])
        rows = np.flatnonzero(late)
        warmed = np.unique(batch.item_pos[rows])
        self._warmup = dict(self._warmup)  # write, then swap
        content_vec, content_bias = self._model.item_representations(
            torch.as_tensor(warmed)
        )
        sub = EncodedBatch(
            data=batch.data,
            user_pos=batch.user_pos[rows],
            item_pos=batch.item_pos[rows],
            new_users=batch.new_users,
            new_items=batch.new_items,
        )
        user_vec, user_bias = self._row_users(sub)
        items = torch.as_tensor(np.searchsorted(warmed, sub.item_pos))
        base = self._scores(
            user_vec, user_bias, content_vec[items], content_bias[items]
        )
        residual = torch.as_tensor(batch.y[rows], dtype=base.dtype) - base
        design = torch.cat([user_vec, torch.ones(len(rows), 1)], dim=1)
        reg = self.warmup_reg
        penalty = torch.diag(torch.tensor([reg * _WARMUP_VECTOR_SCALE] * d + [reg]))
        for item in warmed:
            mine = torch.as_tensor(sub.item_pos == item)
            a = design[mine].T @ design[mine]
            b = design[mine].T @ residual[mine]
            if int(item) in self._warmup:
                a_old, b_old = self._warmup[int(item)]
                a, b = a + a_old, b + b_old
            self._warmup[int(item)] = (a, b)
            solution = torch.linalg.solve(a + penalty, b)
            self._set_rows(self._item_offset, int(item), solution)
        self._refresh_items(warmed)

    def _item_representations(self, items: torch.Tensor | None = None):
        """Vectors and biases of catalogue items (all when ``items`` is None), with
        their closed-form corrections (bias refit, warm-up)."""
        if items is None:
            items = torch.arange(len(self.item_index_))
        vec, bias = self._model.item_representations(items)
        corrected = items < len(self._item_offset)
        if corrected.any():
            offset = self._item_offset[items[corrected]]
            vec, bias = vec.clone(), bias.clone()
            vec[corrected] += offset[:, :-1]
            bias[corrected] += offset[:, -1]
        if self._ranks and not self._rating:  # the one tower ranks
            vec, bias = self._with_picks(items, vec, bias)
        return vec, bias

    def _with_picks(self, items: torch.Tensor, vec, bias):
        """Interaction vectors and biases of ``items`` (positions) with the
        corrections of those added after fit (:meth:`_pick_corrections`)."""
        late = items >= self._n_fitted_items
        if not late.any() or self._pick_fix is None:
            return vec, bias
        where = torch.nonzero(late).ravel()
        rows = items[where].numpy() - self._n_fitted_items
        counted = rows < len(self._pick_fix[1])  # items added since: none yet
        where, rows = where[torch.as_tensor(counted)], rows[counted]
        dvec, dbias = (torch.as_tensor(x[rows]) for x in self._pick_fix)
        vec, bias = vec.clone(), bias.clone()
        vec[where] += dvec.to(vec.dtype)
        bias[where] += dbias.to(bias.dtype)
        return vec, bias

    # ------------------------------------------------------------ predict
    @torch.no_grad()
    def _predict(self, batch: EncodedBatch) -> np.ndarray:
        item_vec, item_bias = self._row_items(batch)
        if self.adapt == "user+head":
            return self._predict_per_user(batch, item_vec, item_bias)
        user_vec, user_bias = self._row_users(batch)
        scores = self._scores(user_vec, user_bias, item_vec, item_bias)
        scores = scores.double().numpy()
        if self.similarity_ is not None:
            self._add_neighbour_offsets(batch, scores)
        if not self._rating:  # positive-only: the scores recommend ranks by
            scores += self._interaction_offsets_at(batch.user_pos, batch.item_pos)
        return scores

    def _scores(self, user_vec, user_bias, item_vec, item_bias) -> torch.Tensor:
        """Scores of row-aligned users and items from their representations."""
        model = self._model
        score = model.head(user_vec, item_vec)
        return model.global_bias + user_bias + item_bias + score

    def _row_users(self, batch: EncodedBatch):
        pos = torch.as_tensor(batch.user_pos)
        codes = self._row_user_codes(batch, pos >= 0, pos.clamp(min=0))
        return self._user_vectors(pos, codes)

    def _user_vectors(self, pos: torch.Tensor, codes):
        """User vectors and biases: adapted states of known users (``pos >= 0``),
        the prior for the others, shifted by their feature ``codes``."""
        emb = self._known_or_prior("user.embedding", pos)
        bias = self._known_or_prior("user.bias", pos)
        return self._model.user_representations(codes, emb, bias)

    def _known_or_prior(self, name: str, pos: torch.Tensor) -> torch.Tensor:
        """State ``name`` of known users (``pos >= 0``), the prior for the others
        (and for everyone when the state is not adapted, e.g. the user bias of a
        model trained on positive interactions alone)."""
        prior = self._model.get_parameter(name).detach()
        if name not in self.user_state_:
            return prior.expand(len(pos), *prior.shape)
        known = (pos >= 0).reshape(-1, *([1] * prior.ndim))
        return torch.where(known, self.user_state_[name][pos.clamp(min=0)], prior)

    def _row_user_codes(self, batch, known, safe):
        if not self._user_codes.shape[1]:
            return None
        codes = self._user_codes[safe].clone()
        if (~known).any():
            side = batch.data.side.loc[
                (~known).numpy(), self._user_side_parts[0].columns
            ]
            codes[~known] = torch.as_tensor(
                self._user_encoder.transform(side).categorical, dtype=torch.long
            )
        return codes

    def _row_items(self, batch: EncodedBatch):
        vec, bias = self._catalogue_items()
        pos = torch.as_tensor(batch.item_pos)
        known = pos >= 0
        out_vec = vec[pos.clamp(min=0)].clone()
        out_bias = bias[pos.clamp(min=0)].clone()
        if (~known).any():
            rows = (~known).numpy()
            cold_vec, cold_bias = self._content_items(batch.data.side.loc[rows])
            out_vec[~known] = cold_vec
            out_bias[~known] = cold_bias
        return out_vec, out_bias

    def _catalogue_items(self):
        return self._item_cache

    @torch.no_grad()
    def _refresh_items(self, items=None) -> None:
        """Recompute cached item representations: all of them (after fit), or only
        ``items`` (positions added or warmed up by partial_fit). The ranking
        cache (vectors, biases and Gramian of the interaction tower) is rebuilt
        whole: its Gramian sums over every item."""
        stale = self._rank_cache is None or len(self._rank_cache[1]) != len(
            self.item_index_
        )
        # A rating model's interaction tower holds the corrections of the
        # items added after fit (a positive-only model's: its item cache).
        if self._ranks and (items is None or stale):
            vec, bias = self._model.ranking_items()
            if self._rating:
                vec, bias = self._with_picks(torch.arange(len(bias)), vec, bias)
            self._rank_cache = (vec, bias, vec.T @ vec)
        elif self._ranks and self._rating and self._pick_fix is not None:
            items = torch.as_tensor(np.asarray(items), dtype=torch.long)
            vec, bias = self._rank_cache[0].clone(), self._rank_cache[1].clone()
            vec[items], bias[items] = self._with_picks(
                items, *self._model.ranking_items(items)
            )
            self._rank_cache = (vec, bias, vec.T @ vec)  # swap
        if items is None:
            self._item_cache = self._item_representations()
            return
        items = torch.as_tensor(np.asarray(items), dtype=torch.long)
        vec, bias = self._item_cache
        missing = len(self.item_index_) - len(bias)
        if missing > 0:
            vec = torch.cat([vec, vec.new_zeros(missing, vec.shape[1])])
            bias = torch.cat([bias, bias.new_zeros(missing)])
        new_vec, new_bias = self._item_representations(items)
        self._set_rows(vec, items, new_vec)
        self._set_rows(bias, items, new_bias)
        self._item_cache = (vec, bias)

    def _content_items(self, rows_side):
        """Representations of items never seen, from their side columns."""
        side = rows_side[self._item_side_parts[0].columns]
        encoded = self._item_encoder.transform(side)
        text = self._item_text(side, fit=False)
        model = self._model
        n = len(side)
        inputs = {"evidence": torch.zeros(n)}
        if encoded.categorical.shape[1]:
            inputs["categorical"] = torch.as_tensor(encoded.categorical)
        if encoded.multi_valued:
            inputs["multi_valued"] = [torch.as_tensor(t) for t in encoded.multi_valued]
        if encoded.numeric is not None:
            inputs["numeric"] = torch.as_tensor(encoded.numeric)
        if text is not None:
            inputs["text"] = torch.as_tensor(text, dtype=torch.float32)
        items = torch.full((n,), -1, dtype=torch.long)
        return model.item(items, cold=torch.ones(n, dtype=torch.bool), **inputs)

    def _predict_per_user(self, batch, item_vec, item_bias) -> np.ndarray:
        out = np.empty(len(batch))
        # Rows grouped by user in one sort (a mask per user would be quadratic).
        order = np.argsort(batch.user_pos, kind="stable")
        users, starts = np.unique(batch.user_pos[order], return_index=True)
        for user, rows in zip(users, np.split(order, starts[1:])):
            out[rows] = self._predict_user(int(user), item_vec[rows], item_bias[rows])
        return out

    def _predict_user(self, user: int, item_vec, item_bias) -> np.ndarray:
        """Scores of one user (head adapted per user) on given item representations."""
        from ..meta import predict

        x = {"item_vec": item_vec, "item_bias": item_bias}
        state, task_x = self._user_state(user), self._user_task_x(user)
        # torch.func.functional_call swaps the user's parameters into the shared
        # module while it runs: one thread at a time, or threads see each other's.
        with self._lock("module"):
            return predict(self._model, state, None, x, task_x).double().numpy()

    def _score_items(self, user_pos: np.ndarray) -> np.ndarray:
        """What ``recommend`` ranks: :meth:`_rank_ratings` of the predictions."""
        return self._rank_ratings(user_pos, self._predict_items(user_pos))

    @torch.no_grad()
    def _predict_items(self, user_pos: np.ndarray) -> np.ndarray:
        """``predict`` (unclipped) of users on every catalogue item, shape
        ``(len(user_pos), n_items)``: ratings, or interaction scores."""
        model = self._model
        item_vec, item_bias = self._catalogue_items()
        if self.adapt == "user+head":
            return np.stack(
                [self._predict_user(int(u), item_vec, item_bias) for u in user_pos]
            )
        pos = torch.as_tensor(user_pos)
        codes = self._known_user_codes(pos)
        user_vec, user_bias = self._user_vectors(pos, codes)
        users_per_block = max(1, _HEAD_CHUNK_CELLS // max(len(item_bias), 1))
        scores = (
            model.score_all(
                user_vec, user_bias, item_vec, item_bias, chunk_size=users_per_block
            )
            .double()
            .numpy()
        )
        known = np.flatnonzero(user_pos >= 0)
        if self.similarity_ is not None and len(known):
            users, inverse = np.unique(user_pos[known], return_inverse=True)
            offsets = self._neighbour_offsets(users)[inverse]
            scores[known, : self._n_fitted_items] += offsets
        if not self._rating:
            self._add_interaction_offsets(user_pos, scores)
        return scores

    def _rank_ratings(self, user_pos: np.ndarray, ratings: np.ndarray) -> np.ndarray:
        """Ranking scores from predicted ratings: ``log P(interact) + like_weight *
        log P(rating > threshold)`` with the interaction tower, else the ratings
        themselves.

        ``P(interact)`` is the interaction tower's softmax over the catalogue (its
        logit, up to a per-user constant); ``P(rating > threshold)`` reads the
        predicted rating as the mean of a normal with the training residuals'
        standard deviation. Their product is the chance that the user picks the
        item and likes it.
        """
        if not (self._rating and self._ranks):
            return ratings
        like = torch.special.log_ndtr(
            (torch.as_tensor(ratings) - self._threshold()) / self._rating_scale
        )
        logits = self._ranking_logits(user_pos).double().numpy()
        return logits + self.like_weight * like.numpy()

    @torch.no_grad()
    def _explain_parts(self, user_pos, item_pos, scores):
        """The parts of one user's ranking scores (see ``explain``'s Notes)."""
        if not self._ranks:
            return self._explain_ratings(user_pos, item_pos, scores)
        pos = torch.as_tensor([user_pos])
        items = torch.as_tensor(item_pos)
        codes = self._known_user_codes(pos)
        model = self._model
        parts = []
        if self._rating:  # the interaction tower's logit plus the rating term
            rank_vec, rank_bias = self._rank_cache[:2]
            item_vec, item_bias = rank_vec[items], rank_bias[items]
            logits = self._ranking_logits(np.array([user_pos]))[0, items]
            parts.append(("rating term", scores - logits.double().numpy()))
        else:  # positive-only: the model's own score is the interaction logit
            user_vec, user_bias = self._user_vectors(pos, codes)
            vec, bias = self._catalogue_items()
            item_vec, item_bias = vec[items], bias[items]
            constant = float(model.global_bias + user_bias[0])
            parts.append(("user bias", np.full(len(item_pos), constant)))
            if model.head.mlp is not None:
                mlp = model.head(user_vec, item_vec) - item_vec @ user_vec[0]
                parts.append(("head MLP", mlp.double().numpy()))
        parts.insert(0, ("item bias", item_bias.double().numpy()))
        rated, contributions = self._foldin_contributions(user_pos, item_vec)
        contributions = contributions + self._interaction_contributions(
            user_pos, rated, item_pos
        )
        # The prior's share of the user's vector: what the items leave of q_i'p
        # (q_i' A^-1 lambda p0 plus the user features' offsets).
        rest = scores - sum(values for _, values in parts) - contributions.sum(1)
        return rated, contributions, [("prior", rest), *parts]

    def _foldin_contributions(self, user_pos: int, item_vec: torch.Tensor):
        """``c_j q_i' A^-1 q_j`` for each interaction ``j`` of a known user (the
        closed-form fold-in, :func:`~sklearn_metarec.meta.implicit_foldin`), and
        the rows' item positions; none for a cold user."""
        if user_pos < 0:
            return np.empty(0, dtype=np.int64), np.zeros((len(item_vec), 0))
        learner = self._learner
        rated, y = self._user_history(user_pos)
        rank_vec, _, gram = self._rank_cache
        vec = rank_vec[torch.as_tensor(rated)].double()
        # The fold-in's confidences: y for positive-only data, else 1 per rating.
        weight = torch.as_tensor(y if not learner.adapt_names else np.ones(len(y)))
        kwargs = learner._ranking_kwargs()
        d = vec.shape[1]
        precision = kwargs["precision"].double().expand(d)
        system = (vec * weight[:, None]).T @ vec
        system = system + kwargs["negative_weight"].double() * gram.double()
        system = system + torch.diag(precision)
        solved = torch.linalg.solve(system, (vec * weight[:, None]).T)  # A^-1 c_j q_j
        return rated, (item_vec.double() @ solved).numpy()

    def _explain_ratings(self, user_pos, item_pos, scores):
        """Parts of a rating model's predictions (no interaction tower)."""
        _, item_bias = self._catalogue_items()
        item_bias = item_bias[torch.as_tensor(item_pos)].double().numpy()
        rated = np.empty(0, dtype=np.int64)
        contributions = np.zeros((len(item_pos), 0))
        if self.similarity_ is not None and user_pos >= 0:
            user_rows, rows_items, y = self._seen_log()
            n_fitted = self._n_fitted_items
            mine = self._seen_rows([user_pos])
            mine = mine[rows_items[mine] < n_fitted]
            residual = self._residuals(user_rows[mine], rows_items[mine], y[mine])
            residual, seen = cell_means(
                np.zeros(len(mine), dtype=np.int64),
                rows_items[mine],
                residual,
                (1, n_fitted),
            )
            rated, contributions = neighbour_contributions(
                residual, seen, self.similarity_, item_pos, _NEIGHBOUR_REG
            )
        rest = scores - item_bias - contributions.sum(1)
        parts = [("user vector", rest), ("item bias", item_bias)]
        return rated, contributions, parts

    @torch.no_grad()
    def _item_similarities(self, item_pos: np.ndarray) -> np.ndarray:
        # Cosine of the interaction tower's item vectors (the rating tower's,
        # corrections included, for a model without one).
        vec = (self._rank_cache or self._catalogue_items())[0]
        vec = torch.nn.functional.normalize(vec.double(), dim=1)
        return (vec[torch.as_tensor(item_pos)] @ vec.T).numpy()

    def _threshold(self) -> float:
        """The rating above which an item is liked (``relevance_threshold``)."""
        if self.relevance_threshold == "auto":
            return self._rating_mean
        return float(self.relevance_threshold)

    def _known_user_codes(self, pos: torch.Tensor):
        """Feature codes of user positions, missing (``-1``) for cold users; None
        without user features."""
        if not self._user_codes.shape[1]:
            return None
        codes = self._user_codes[pos.clamp(min=0)]
        return torch.where((pos >= 0)[:, None], codes, torch.full_like(codes, -1))

    @torch.no_grad()
    def _ranking_logits(self, user_pos: np.ndarray) -> torch.Tensor:
        """Interaction logits of users (positions, ``-1`` cold) on the catalogue,
        the interaction neighbourhood included."""
        user = self._interaction_user_vectors(user_pos)
        logits = self._tower_logits(user_pos, user).double().numpy()
        self._add_interaction_offsets(user_pos, logits)
        return torch.from_numpy(logits)

    @torch.no_grad()
    def _fit_rating_scale(self, batch: EncodedBatch):
        """Root mean squared training residual of the rating model (the spread of
        ``P(rating > threshold)`` in :meth:`_rank_ratings`); None without one."""
        if not (self._rating and self._ranks) or not len(batch):
            return None
        if self.adapt != "user":
            return float(batch.y.std()) or 1.0
        residual = self._residuals(batch.user_pos, batch.item_pos, batch.y)
        return max(float(np.sqrt(np.mean(residual**2))), 1e-3)

    # ----------------------------------------------------------- hooks
    def _make_item_encoder(self) -> SideFeatureEncoder:
        # Text columns are side features too where their values are categories
        # or token lists (genres, cast: an actor's films share a token that a
        # text embedding blurs); free text (titles, plots) is left to the text
        # encoder by the side-feature encoder's own rules.
        exclude = []
        if self.item_features is None:
            exclude = list(self.item_features_.columns)
        elif self.item_features != "auto":
            exclude = [
                c for c in self.item_features_.columns if c not in self.item_features
            ]
        return SideFeatureEncoder(exclude=exclude)

    def _make_user_encoder(self) -> SideFeatureEncoder:
        exclude = []
        if self.user_features is None:
            exclude = list(self.user_features_.columns)
        elif self.user_features != "auto":
            exclude = [
                c for c in self.user_features_.columns if c not in self.user_features
            ]
        return SideFeatureEncoder(exclude=exclude, categorical_only=True)

    def _item_text(self, side, *, fit: bool):
        """Text embeddings of the items of ``side``, or None (no text path)."""
        return None


def _items_in_order(interacted: sp.csr_matrix, user: int, in_time, k: int, rng):
    """A held-out user's distinct items (row ``user`` of ``interacted``) in time
    (``in_time[k]``, their ``k``-th held-out user's), or in random order when
    ``in_time`` is None."""
    if in_time is not None:
        return in_time[k]
    return rng.permutation(
        interacted.indices[interacted.indptr[user] : interacted.indptr[user + 1]]
    )


def _support_matrix(supports: list, n_items: int, scale=None) -> sp.csr_matrix:
    """One row per user of ``supports`` (arrays of item positions, earliest
    first): 1 at each item, or ``exp(-r / scale)`` with ``r`` the items after it
    (the recency weights of ``neighbor_recency``)."""
    indptr = np.concatenate([[0], np.cumsum([len(items) for items in supports])])
    later = np.concatenate([np.arange(len(items))[::-1] for items in supports])
    values = np.ones(len(later)) if scale is None else np.exp(-later / scale)
    matrix = sp.csr_matrix(
        (values, np.concatenate(supports).astype(np.int64), indptr),
        shape=(len(supports), n_items),
    )
    matrix.sort_indices()
    return matrix


def _pad_rows(arrays, n: int) -> tuple:
    """``arrays`` with zero rows appended up to ``n`` rows each (the arrays
    themselves where they have them)."""
    return tuple(
        x if len(x) == n else np.pad(x, [(0, n - len(x))] + [(0, 0)] * (x.ndim - 1))
        for x in arrays
    )


def _replace_rows(matrix: sp.csr_matrix, rows: np.ndarray, new) -> sp.csr_matrix:
    """A copy of ``matrix`` (CSR) with its ``rows`` (sorted, unique positions)
    replaced by those of ``new``, in one pass over the cells."""
    new = sp.csr_matrix(new)
    lengths = np.diff(matrix.indptr)
    lengths[rows] = np.diff(new.indptr)
    indptr = np.concatenate([[0], np.cumsum(lengths)])
    # Each cell's source: a position among the old cells, then the new ones.
    starts = matrix.indptr[:-1].copy()
    starts[rows] = matrix.nnz + new.indptr[:-1]
    cell = np.repeat(starts - indptr[:-1], lengths) + np.arange(indptr[-1])
    data = np.concatenate([matrix.data, new.data])[cell]
    indices = np.concatenate([matrix.indices, new.indices])[cell]
    return sp.csr_matrix((data, indices, indptr), shape=matrix.shape)


def _history_growth(sizes) -> np.ndarray:
    """``max(1, n / _RANKING_SUPPORT[1])`` of each history size ``n``: the base
    of ``neighbor_growth``'s factor, 1 up to the largest support calibrated."""
    return np.maximum(np.asarray(sizes, dtype=np.float64) / _RANKING_SUPPORT[1], 1.0)


def _distinct_items(users: np.ndarray, items: np.ndarray, n_items: int):
    """The first row of each (user, item) pair of rows sorted by user (then in
    the order wanted), and its rank among the user's distinct items:
    ``(rows, rank)``, the rows in their order."""
    _, first = np.unique(users * np.int64(n_items) + items, return_index=True)
    first = np.sort(first)
    grouped = users[first]
    return first, np.arange(len(first)) - np.searchsorted(grouped, grouped)


def _module_restorer(module: torch.nn.Module):
    """A function that puts ``module`` (and its submodules) back as they are now.

    Shallow: it restores which tensors the modules hold and their plain
    attributes, which undoes ``MetaRecNet.extend_items`` (it replaces buffers and
    parameters by larger ones, never writes into them).
    """
    saved = []
    for m in module.modules():
        state = dict(m.__dict__)
        for key in ("_parameters", "_buffers", "_modules"):
            state[key] = dict(state[key])
        state["_non_persistent_buffers_set"] = set(m._non_persistent_buffers_set)
        saved.append((m, state))

    def restore():
        for m, state in saved:
            m.__dict__.clear()
            m.__dict__.update(state)

    return restore


def _is_terminal(stream) -> bool:
    """Whether ``stream`` is an interactive terminal (progress bars belong there)."""
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # no isatty, or a closed stream
        return False
