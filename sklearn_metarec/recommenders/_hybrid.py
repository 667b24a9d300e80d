"""Collaborative where there are interactions, text where there are none."""

from __future__ import annotations

from numbers import Real

from ..utils._sklearn import Interval
from ._llm_content import _TEXT_CONSTRAINTS, _TextMixin
from ._meta_base import MetaRecommenderMixin

__all__ = ["HybridMetaRecommender"]


class HybridMetaRecommender(_TextMixin, MetaRecommenderMixin):
    """Id embeddings mixed with projected text embeddings, users adapted per task.

    An item is represented by a learned mix of its projected text embedding (plus
    side features) and its id embedding, gated by how much evidence the item has:
    the content part is the item's prior, and the id part, weighed by
    ``g = sigmoid(a * log1p(n_interactions) + b)``, is added to it; a cold item (no
    interactions) is its content alone. During meta-training a share
    ``item_dropout`` of the rows treat their item as cold, so the content path
    learns to stand in for the id path (in the spirit of MWUF / CVAR). Users adapt
    from a meta-learned prior through the shared inner loop, as in
    :class:`~sklearn_metarec.MetaCFRecommender`.

    ``partial_fit`` handles all three arrivals at once: new users are adapted from
    their rows; new items enter from the text in their rows and then *warm up*
    from what the batch says about them: a ridge fold-in of each new item's
    ratings (over the adapted states of the users who gave them) learns an id-side
    correction ``(dq_i, db_i)`` around its content representation, shrunk by
    ``warmup_reg``; items and the batch's users are fitted in turn, items first.
    Items and users outside the batch are untouched, so everybody else keeps
    their predictions on the fitted items. An item added after ``fit`` keeps
    warming up with every later batch that rates it, and its interaction logit
    follows how often the batches' users pick it against how often its content
    says they would (see :class:`~sklearn_metarec.MetaCFRecommender`).

    Parameters
    ----------
    text_columns : list of str, default=("title", "genres")
        Item text columns (see :class:`~sklearn_metarec.LLMContentRecommender`).
    encoder : transformer or None, default=None
        Text encoder; None uses
        :class:`~sklearn_metarec.text.TransformerTextEncoder`.
    item_dropout : float, default=0.05
        Share of training rows whose item is treated as cold, in [0, 1).
    warmup_reg : float or None, default=5.0
        Ridge shrinkage of the warm-up of new items towards their content
        representation, in pseudo-ratings; > 0. None: no warm-up.
    **meta parameters
        ``algorithm`` ... ``random_state``, ``item_refit_reg``, ``n_neighbors``,
        ``average``, ``ranking_loss``, ``n_negatives``, ``relevance_threshold``,
        ``like_weight``, ``neighbor_weight``, ``episode_order``,
        ``neighbor_recency``, ``neighbor_growth``: see
        :class:`~sklearn_metarec.MetaCFRecommender`.

    Attributes
    ----------
    encoder_ : transformer
        The fitted text encoder.
    objective_, meta_batch_size_, lr_, net_, history_
        As in :class:`~sklearn_metarec.MetaCFRecommender`.
    user_state_, similarity_, fit_times_
        As in :class:`~sklearn_metarec.MetaCFRecommender`.
    interaction_similarity_, neighbor_weight_, neighbor_calibration_
        As in :class:`~sklearn_metarec.MetaCFRecommender`.
    episode_order_, neighbor_recency_, recency_calibration_
        As in :class:`~sklearn_metarec.MetaCFRecommender`.
    neighbor_growth_, growth_calibration_
        As in :class:`~sklearn_metarec.MetaCFRecommender`.

    Examples
    --------
    >>> import pandas as pd
    >>> from sklearn_metarec import HybridMetaRecommender
    >>> from sklearn_metarec.datasets import make_interactions
    >>> from sklearn_metarec.text import TfidfSVDEncoder
    >>> X, y = make_interactions(n_users=40, n_items=30, n_interactions=400,
    ...                          random_state=0)
    >>> model = HybridMetaRecommender(
    ...     text_columns=["title", "genres"], encoder=TfidfSVDEncoder(8),
    ...     max_epochs=2, random_state=0).fit(X, y)
    >>> new_item = X.head(2).assign(item_id="new", title="A new film", genres="Drama")
    >>> model.partial_fit(new_item, [5.0, 4.0]).predict(new_item).shape
    (2,)
    """

    _parameter_constraints: dict = {
        **_TEXT_CONSTRAINTS,
        "item_dropout": [Interval(Real, 0, 1, closed="left")],
    }
    _gate = True

    def __init__(
        self,
        *,
        text_columns=("title", "genres"),
        encoder=None,
        item_dropout=0.05,
        algorithm="maml",
        n_inner_steps=5,
        inner_lr=0.005,
        inner_solver="auto",
        prior_precision=5.0,
        learn_inner_lr=True,
        adapt="user",
        meta_batch_size="auto",
        n_support=100,
        n_query=10,
        embedding_dim=16,
        hidden_dims=(),
        user_column="user_id",
        item_column="item_id",
        item_features="auto",
        user_features="auto",
        objective="auto",
        lr="auto",
        weight_decay=0.003,
        max_epochs=12,
        early_stopping=False,
        validation_fraction=0.1,
        n_iter_no_change=3,
        device="cpu",
        accelerator=None,
        callbacks=None,
        verbose="auto",
        random_state=None,
        warmup_reg=5.0,
        item_refit_reg=10.0,
        n_neighbors=200,
        average=True,
        ranking_loss="softmax",
        n_negatives=1024,
        relevance_threshold="auto",
        like_weight=4.0,
        neighbor_weight="auto",
        episode_order="auto",
        neighbor_recency="auto",
        neighbor_growth="auto",
    ):
        self.text_columns = text_columns
        self.encoder = encoder
        self.item_dropout = item_dropout
        self.algorithm = algorithm
        self.n_inner_steps = n_inner_steps
        self.inner_lr = inner_lr
        self.inner_solver = inner_solver
        self.prior_precision = prior_precision
        self.learn_inner_lr = learn_inner_lr
        self.adapt = adapt
        self.meta_batch_size = meta_batch_size
        self.n_support = n_support
        self.n_query = n_query
        self.embedding_dim = embedding_dim
        self.hidden_dims = hidden_dims
        self.user_column = user_column
        self.item_column = item_column
        self.item_features = item_features
        self.user_features = user_features
        self.objective = objective
        self.lr = lr
        self.weight_decay = weight_decay
        self.max_epochs = max_epochs
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.device = device
        self.accelerator = accelerator
        self.callbacks = callbacks
        self.verbose = verbose
        self.random_state = random_state
        self.warmup_reg = warmup_reg
        self.item_refit_reg = item_refit_reg
        self.n_neighbors = n_neighbors
        self.average = average
        self.ranking_loss = ranking_loss
        self.n_negatives = n_negatives
        self.relevance_threshold = relevance_threshold
        self.like_weight = like_weight
        self.neighbor_weight = neighbor_weight
        self.episode_order = episode_order
        self.neighbor_recency = neighbor_recency
        self.neighbor_growth = neighbor_growth
