"""Meta-learned collaborative filtering that adapts to a new user in milliseconds."""

from __future__ import annotations

from numbers import Integral, Real

from ..utils._sklearn import HasMethods, Interval, StrOptions
from ._meta_base import MetaRecommenderMixin

__all__ = ["MetaCFRecommender"]


_SHARED_CONSTRAINTS: dict = {
    "algorithm": [StrOptions({"maml", "fomaml", "reptile"})],
    "n_inner_steps": [Interval(Integral, 0, None, closed="left")],
    "inner_lr": [Interval(Real, 0, None, closed="left")],
    "inner_solver": [StrOptions({"auto", "gradient", "ridge"})],
    "prior_precision": [Interval(Real, 0, None, closed="neither")],
    "learn_inner_lr": ["boolean"],
    "adapt": [StrOptions({"user", "user+head"})],
    "meta_batch_size": [
        StrOptions({"auto"}),
        Interval(Integral, 1, None, closed="left"),
    ],
    "n_support": [Interval(Integral, 1, None, closed="left"), None],
    "n_query": [Interval(Integral, 1, None, closed="left")],
    "embedding_dim": [Interval(Integral, 1, None, closed="left")],
    "hidden_dims": ["array-like"],
    "user_column": [str],
    "item_column": [str],
    "item_features": [StrOptions({"auto"}), list, None],
    "user_features": [StrOptions({"auto"}), list, None],
    "objective": [StrOptions({"auto", "rating", "implicit"})],
    "lr": [StrOptions({"auto"}), Interval(Real, 0, None, closed="neither")],
    "weight_decay": [Interval(Real, 0, None, closed="left")],
    "max_epochs": [Interval(Integral, 0, None, closed="left")],
    "early_stopping": ["boolean"],
    "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
    "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
    "device": [str],
    "accelerator": [HasMethods(["prepare", "unwrap_model"]), None],
    "callbacks": [list, None],
    "verbose": [StrOptions({"auto"}), "verbose"],
    "random_state": ["random_state"],
    "warmup_reg": [Interval(Real, 0, None, closed="neither"), None],
    "item_refit_reg": [Interval(Real, 0, None, closed="neither"), None],
    "n_neighbors": [Interval(Integral, 1, None, closed="left"), None],
    "average": ["boolean", Interval(Integral, 1, None, closed="left")],
    "ranking_loss": [StrOptions({"softmax", "bpr"}), None],
    "n_negatives": [Interval(Integral, 1, None, closed="left")],
    "relevance_threshold": [StrOptions({"auto"}), Real],
    "like_weight": [Interval(Real, 0, None, closed="left")],
    "neighbor_weight": [StrOptions({"auto"}), Interval(Real, 0, None, closed="left")],
    "episode_order": [StrOptions({"auto", "time", "random"})],
    "neighbor_recency": [
        StrOptions({"auto"}),
        Interval(Real, 0, None, closed="neither"),
        None,
    ],
    "neighbor_growth": [StrOptions({"auto"}), Interval(Real, 0, None, closed="left")],
}


class MetaCFRecommender(MetaRecommenderMixin):
    """Meta-learned collaborative filtering (MAML, first-order MAML, Reptile).

    Every user is a task. The network scores a (user, item) pair as
    ``mu + b_u + b_i + <p_u, q_i>`` (plus an optional MLP head), where the item
    vector ``q_i`` and bias ``b_i`` come from an id embedding and the item's side
    features in ``X`` (categorical, multi-valued such as genres or cast, numeric),
    and the user state ``(p_u, b_u)`` starts from a meta-learned initialisation,
    shifted by the user's features (gender, age, ...), and is adapted to each user by
    ``n_inner_steps`` gradient steps on their ratings: the MAML inner loop. Meta-
    training (through skorch) learns the initialisation, the item side and, with
    ``learn_inner_lr``, per-coordinate inner step sizes (Meta-SGD) so that adaptation
    from a few ratings predicts the user's other ratings well. At the end of ``fit``
    the initialisation's bias is refitted, in closed form, as the one that best
    predicts every fitted user's ratings from the initialisation (each user weighing
    the same): meta-training barely constrains it, since adaptation absorbs it for
    users with many ratings, yet users with no ratings are served from it and users
    with a few are shrunk towards it (ratings with a linear head only).

    Meta-training fits the item side only through the query rows of its episodes
    (``n_query`` per user and epoch), so the end of ``fit`` also refits every
    item's bias in closed form on all its training ratings: a ridge estimate from
    the residuals under the adapted states of the users who gave them, shrunk
    towards the meta-learned bias by ``item_refit_reg`` pseudo-ratings; users then
    re-adapt and the prior's bias is refitted again, two rounds as in ALS. On the
    MeLU protocol of MovieLens-1M (seed 0) this lowered the MAE of warm users from
    0.7382 to 0.7285 and of new users from 0.7234 to 0.7145 (MetaCF).

    Beside that rating tower, the network has an interaction tower (its own item
    vectors and biases over the same side features, its own user prior) that
    learns *whether* a user picks an item: a user's interaction vector is folded
    in from their items in closed form, as implicit ALS folds a user in, and
    meta-training ranks each training user's other items against sampled
    negatives (``ranking_loss``). ``recommend`` ranks by the chance that the user
    picks the item and likes it (``like_weight``), ``predict`` returns the rating.
    A log without ratings (``fit(X)``, ``y=None``) trains the interaction tower
    alone (``objective="implicit"``).

    ``partial_fit`` runs that same inner loop for users never seen (milliseconds per
    user), continues it for known users on their new rows, and adds unseen items to
    the catalogue from their side features; nobody else's predictions on the
    fitted items change. Items added after ``fit`` learn from the rows later
    batches give them: their ratings warm the rating tower up (``warmup_reg``),
    and how often they are picked moves their interaction logit by
    ``log((picked + 0.1) / (expected + 0.1))``, "expected" the picks that their
    content's logit predicts among the users of those batches (the maximum-
    likelihood shift of a softmax bias, shrunk by 0.1 pseudo-picks), so that a
    new item many users take to rises in everybody's lists; its pickers also
    give it its own row of the interaction neighbourhood (its co-occurrences
    with the fitted items, as ``fit`` builds a fitted item's), which takes over
    from the row it borrowed from the fitted items nearest to it.
    Duplicate (user, item) rows are repeated observations: each row is one more
    rating in the user's task, in ``fit`` and ``partial_fit`` alike.

    Parameters
    ----------
    algorithm : {"maml", "fomaml", "reptile"}, default="maml"
        Outer objective: MAML with true second-order gradients, first-order MAML, or
        Reptile.
    n_inner_steps : int, default=5
        Inner-loop gradient steps per user, >= 0 (0: no adaptation).
    inner_lr : float, default=0.005
        Inner step size, >= 0 (the initial one when ``learn_inner_lr``). The inner
        loss sums over a user's ratings, so users with few ratings move less.
    inner_solver : {"auto", "ridge", "gradient"}, default="auto"
        ``"auto"`` is ``"ridge"`` when it is exact (``objective="rating"``,
        ``adapt="user"``, no MLP head), else ``"gradient"``. ``"ridge"`` solves the
        inner problem in closed form: the exact minimiser of the user's squared
        error plus ``prior_precision`` times the distance to the meta-learned prior
        (a ridge fold-in around a learned prior, differentiated through by the
        outer loop); stable for any number of ratings; ``n_inner_steps`` and
        ``inner_lr`` are then unused. ``"gradient"`` runs ``n_inner_steps`` gradient
        steps (the classic MAML inner loop); with a summed loss a large
        ``inner_lr`` can diverge for users with many ratings or large item vectors.
    prior_precision : float, default=5.0
        Strength of the prior of the ridge solver, > 0.
    learn_inner_lr : bool, default=True
        Learn per-coordinate inner step sizes (Meta-SGD).
    adapt : {"user", "user+head"}, default="user"
        What adapts per user: the user vector and bias, or also the head MLP (as in
        MeLU; slower to serve).
    meta_batch_size : "auto" or int, default="auto"
        Users (tasks) per outer step, >= 1. ``"auto"``: a 24th of the training
        users, from 32 to 256 (on a CPU a step of 256 users costs little more
        than one of 32, so large logs fit in fewer, larger steps); the value used
        is ``meta_batch_size_``.
    n_support : int or None, default=100
        Cap on support ratings per training episode (a user with more gives a
        random ``n_support`` of them each epoch; their whole history still
        adapts them for serving); None uses all non-query rows. On MovieLens-1M
        the cap of 100 left nDCG@10 unchanged and meta-training a third faster.
    n_query : int, default=10
        Query ratings per training episode (drawn at random each epoch), >= 1.
    embedding_dim : int, default=16
        Size of user and item vectors, >= 1.
    hidden_dims : tuple of int, default=()
        Hidden layers of an MLP head added to the dot product; () for none.
    user_column : str, default="user_id"
        Name of the user id column of ``X`` (a DataFrame's id columns are found
        by name; an array's are its first two columns).
    item_column : str, default="item_id"
        Name of the item id column of ``X``.
    item_features : "auto", list of str or None, default="auto"
        Item side columns to use as features: all usable ones, the named ones,
        or none. Usable: numeric, categorical and multi-valued (genres, cast)
        columns; free text (titles, plots) is left to the text estimators'
        encoder. In those, a text column can be both: read as text and, where
        its values are categories or token lists, a feature.
    user_features : "auto", list of str or None, default="auto"
        User side columns (categorical) to use.
    objective : {"auto", "rating", "implicit"}, default="auto"
        What ``y`` is. ``"rating"``: explicit ratings; ``predict`` returns
        ratings (squared error, the ridge inner loop), and ``recommend`` ranks by
        the chance that the user picks an item *and* likes it (see
        ``ranking_loss``). ``"implicit"``: a log of positive interactions
        (clicks, plays, purchases), ``y`` None (every row weighs 1) or
        non-negative confidence weights as in implicit's ALS (not labels: no
        negatives to supply); training samples negatives and optimises
        ``ranking_loss``, and ``predict`` returns interaction scores (logits up
        to a per-user constant, not ratings nor probabilities). ``"auto"``:
        ``"rating"`` when ``y`` is given, ``"implicit"`` when it is None. The
        resolved value is ``objective_``.
    lr : "auto" or float, default="auto"
        Outer (Adam) learning rate, > 0. ``"auto"``: 0.003 per 32 users of the
        meta-batch (``0.003 * meta_batch_size_ / 32``, the linear scaling rule);
        the value used is ``lr_``.
    weight_decay : float, default=0.003
        L2 penalty of the outer optimizer, >= 0.
    max_epochs : int, default=12
        Passes over the training users, >= 0.
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the users and stop when their query loss
        has not improved for ``n_iter_no_change`` epochs (best weights restored).
    validation_fraction : float, default=0.1
        Share of users held out for early stopping, in (0, 1).
    n_iter_no_change : int, default=3
        Patience of early stopping, >= 1.
    device : str, default="cpu"
        Torch device of the network during meta-training; serving (adaptation,
        ``predict``, ``recommend``, ``partial_fit``) runs on the CPU.
    accelerator : accelerate.Accelerator or None, default=None
        When given, meta-training runs through skorch's ``AccelerateMixin``
        (Hugging Face Accelerate): device placement, mixed precision (``"bf16"``;
        ``"fp16"`` is refused) and multi-GPU / multi-process training under
        ``accelerate launch``; ``device`` is then ignored. Needs the optional
        ``accelerate`` package. Not persisted: a pickled or skops-saved estimator
        comes back with ``accelerator=None``.
    callbacks : list of skorch callbacks or None, default=None
        Extra callbacks for the training shell.
    verbose : "auto" or int, default="auto"
        ``"auto"``: progress bars (meta-training's batches, and the text
        encoder's for the text estimators) when stderr is a terminal, nothing
        otherwise (logs, captured output). 0 prints nothing; 1 prints the
        progress bars, a table per epoch and a line per step of ``fit`` with its
        time as it ends (see ``fit_times_``); the text encoder's own
        ``verbose`` is used when it is higher.
    warmup_reg : float or None, default=5.0
        Items added by ``partial_fit`` warm up from the ratings a batch gives them:
        a ridge fold-in (over the adapted states of the users who rated them) learns
        a correction of each new item's vector and bias around its content
        representation, the bias shrunk by ``warmup_reg`` pseudo-ratings (> 0) and
        the vector ten times as much. Items and the batch's users are fitted in
        turn (two rounds, items first); known users re-adapt on their whole
        history. Later batches keep warming the item. None serves new items from
        their content alone (zero-shot).
    item_refit_reg : float or None, default=10.0
        At the end of ``fit`` every item's bias is refitted on all its training
        ratings (see above), shrunk towards the meta-learned bias by
        ``item_refit_reg`` pseudo-ratings (> 0). Smaller values follow each item's
        ratings more closely: lower rating error, while rarely rated items with
        high ratings climb in ``recommend``. None keeps the meta-learned biases.
        Ratings with ``adapt="user"`` only.
    n_neighbors : int or None, default=200
        Residual neighbourhood correction (Koren's integrated model): a user's
        score on a fitted item ``i`` gets the similarity-weighted mean of the
        user's residuals on the items they rated among the ``n_neighbors`` most
        similar to ``i``, ``sum_j s_ij res_uj / (sum_j s_ij + 0.5)``, as in
        :class:`~sklearn_metarec.baselines.ItemKNNRecommender`. Similarities are
        cosines of the training residuals shrunk by ``n_common / (n_common + 100)``,
        computed at the end of ``fit``; residuals at predict time are read from all
        the user's rows under their current state, so a user adapted by
        ``partial_fit`` is corrected at once. Items added by ``partial_fit`` have
        no neighbours. None turns it off. Ratings with ``adapt="user"`` only. On
        the MeLU protocol of MovieLens-1M (seed 0) it lowered MetaCF's MAE from
        0.7285 to 0.7274 (warm) and from 0.7145 to 0.7136 (new users).
    average : bool or int, default=True
        Serve the mean of the meta-learned parameters at the end of the last
        epochs (Polyak-Ruppert averaging, as in stochastic weight averaging and
        ``average`` of :class:`~sklearn.linear_model.SGDRegressor`): True averages
        the epochs from ``max_epochs // 2 + 1`` on, an int ``k`` >= 1 those from
        epoch ``k`` on (none when fewer ran), False serves the last epoch's
        parameters. With ``early_stopping`` the mean runs up to the best epoch. On
        the MeLU protocol of MovieLens-1M (seed 0) it lowered MetaCF's MAE from
        0.7256 to 0.7217 (warm) and from 0.7120 to 0.7105 (new users).
    ranking_loss : {"softmax", "bpr"} or None, default="softmax"
        The ranking objective, meta-learned beside the ratings (or alone on
        positive-only data): an interaction tower scores whether a user picks an
        item. A user's interaction vector is folded in from their items in closed
        form, as implicit ALS folds a user in (their items are positives, every
        catalogue item an implicit zero of a learned small weight, around a
        learned prior; milliseconds per user), and meta-training ranks each
        training user's other items against ``n_negatives`` shared negatives with
        a sampled softmax (logits corrected by the log sampling probability) or
        BPR. Training episodes fold a user in from 1 to 40 random interactions
        and rank up to 100 others. On MovieLens-1M new users (positive-only,
        nDCG@10 at 5 / 20 interactions) the softmax reached 0.446 / 0.400 and
        BPR 0.429 / 0.375. With ratings,
        ``recommend`` ranks by ``log P(interact) + like_weight * log P(rating >
        relevance_threshold)``, the rating read as a normal around the predicted
        one with the training residuals' spread; ``predict`` still returns
        ratings. None (ratings only) trains no interaction tower and ranks by the
        predicted rating.
    n_negatives : int, default=1024
        Negatives per meta-batch of the ranking objective, >= 1, drawn with
        replacement (seeded by ``random_state``) half uniformly over the
        catalogue, half in proportion to the items' interaction counts; a
        catalogue of at most this many items uses every item (the exact
        softmax). The same draws estimate the catalogue Gramian of the fold-in
        (importance-weighted).
    relevance_threshold : "auto" or float, default="auto"
        With ratings and a ranking objective: the rating above which an item
        counts as liked in ``recommend``; "auto" is the mean training rating.
    like_weight : float, default=4.0
        With ratings and a ranking objective: the weight of ``log P(like)``
        beside ``log P(interact)`` in ``recommend``, >= 0 (0 ranks by the
        interaction tower alone). 1 is the plain product of the two chances; on
        MovieLens-1M new users (``benchmarks/bench_topn.py``, nDCG@10 at 5 / 20
        ratings) 1 gave 0.383 / 0.343, 2 gave 0.389 / 0.346, 4 gave 0.396 /
        0.350 and 8 gave 0.393 / 0.346: the normal reading of the rating is
        too flat.
    neighbor_weight : "auto" or float, default="auto"
        With a ranking objective: ``recommend`` adds to the interaction logit of
        a known user on an item ``i`` the weight times ``sum_j s_ij`` over the
        user's fitted items ``j`` (each counted once), ``s_ij`` the cosine of the
        two items' interaction columns (which users interacted with them) shrunk
        by ``n_common / (n_common + 100)``, the ``n_neighbors`` most similar kept
        per item: an item-item view of a user's whole history beside the
        low-rank fold-in, computed at the end of ``fit``. An item added later
        borrows the cosine-weighted mean of the rows of the 10 fitted items
        closest to it (cosine of the interaction tower's item vectors). "auto"
        chooses the weight among 0, 0.25, 0.5, ..., 16 on held-out users: 10% of
        the training users (at most 2000; 1.0 when fewer than 20) are left out of
        the similarities (when that is under 400 users, up to 4 disjoint larger
        shares in turn, each against similarities without it, 400 users or all
        of them), each is folded in from 1 to 40 of their items (their
        first ones in time with ``episode_order_="time"``, else a random
        subset), and the weight is the smallest whose mean nDCG@10 of their
        other items is within one standard error (of the paired per-user
        differences) of the best (``neighbor_calibration_``). 0, or
        ``n_neighbors=None``, turns it off.
        Positive-only models' ``predict`` includes it (their scores are what
        ``recommend`` ranks); rating models' ``predict`` does not. On
        MovieLens-1M (``benchmarks/bench_topn.py``, nDCG@10) a weight of 1
        raised MetaCF's new users at 20 ratings from 0.348 to 0.358 and warm
        users from 0.074 to 0.081.
    episode_order : {"auto", "time", "random"}, default="auto"
        How the ranking objective's training episodes, and the calibration of
        ``neighbor_weight``, split a user's interactions into support and
        query. "time": the support is the user's first interactions in time
        (the ``timestamp`` column of ``X``; ties at random) and the query what
        they did next, as a new user arrives with a few interactions and the
        list must hold what they do next. "random": a random subset and others.
        "auto": "time" when ``X`` has a ``timestamp`` column, else "random".
        The rating episodes are random either way (the MeLU protocol). On
        MovieLens-1M (``benchmarks/bench_topn.py``) time order raised MetaCF's
        nDCG@10 of new users at 5 / 20 interactions from 0.450 / 0.412 to 0.465
        / 0.425 on positive-only data, and from 0.396 / 0.358 to 0.400 / 0.365
        on ratings.
    neighbor_recency : "auto", float or None, default="auto"
        With time-ordered episodes (``episode_order_="time"``): the
        ``neighbor_weight`` term weighs each of the user's items by
        ``exp(-r / neighbor_recency)``, ``r`` the user's distinct items given
        after it (by the ``timestamp`` column; a ``partial_fit`` row without one
        counts as at the latest time seen, after the rows before it): what a
        user did last says most about what they do next. None weighs every item
        alike. "auto" chooses among None, 20, 10 and 5 with the weight, on the
        held-out users of ``neighbor_weight="auto"`` (one-standard-error rule
        over the scales, each at its best weight; ``recency_calibration_``), or
        is 10 when the weight is fixed or too few users are held out; without
        time-ordered episodes it is None, and a float is a ``ValueError``.
    neighbor_growth : "auto" or float, default="auto"
        How the ``neighbor_weight`` term grows with a user's history beyond
        the 40 interactions the weight is calibrated on: a user with ``n > 40``
        distinct fitted items gets ``neighbor_weight_ * (n / 40) **
        neighbor_growth``; >= 0, 0 keeps the weight. Long histories say more
        about a user's neighbourhood than the interaction tower's few
        dimensions hold. "auto" chooses among 0, 0.25, 0.5, 0.75 and 1 on the
        held-out users of ``neighbor_weight="auto"`` with more than 50 items,
        each folded in from all but their last 10 (in time with
        ``episode_order_="time"``, else at random) and asked for those 10:
        of the exponents whose nDCG@10 is within one standard error of the
        best, the one whose lists cover the most of the catalogue
        (``growth_calibration_``). It is 0 when the weight is fixed or fewer
        than 20 such users are held out. On MovieLens-1M
        (``benchmarks/bench_topn.py``) "auto" chose 1 on ratings and on
        positive-only data; warm users' catalogue coverage@10 rose from 0.18 to
        0.27 and from 0.20 to 0.29, their nDCG@10 from 0.0946 to 0.0952 and from
        0.0914 to 0.0967 (new users' lists, from up to 20 items, are the same).
    random_state : int, RandomState instance or None, default=None
        Seeds weight initialisation, episode sampling and shuffling (never the global
        random state).

    Attributes
    ----------
    objective_ : {"rating", "implicit"}
        The objective fitted (``objective`` with "auto" resolved).
    meta_batch_size_ : int
        Users per outer step (``meta_batch_size`` with "auto" resolved).
    lr_ : float
        Outer learning rate (``lr`` with "auto" resolved).
    net_ : EpisodeNet
        The skorch net holding the meta-learner.
    history_ : skorch History
        Losses per epoch.
    user_state_ : dict of str to Tensor
        Adapted user parameters, one row per known user (``user_index_`` order).
    similarity_ : sparse matrix of shape (n_fitted_items, n_fitted_items) or None
        Residual similarities of the ``n_neighbors`` correction (row ``i``: item
        ``i``'s neighbours); None when the correction is off.
    interaction_similarity_ : sparse matrix of shape (n_fitted_items, n_fitted_items)
        Interaction similarities of the ``neighbor_weight`` term (row ``i``:
        item ``i``'s neighbours), or None when the term is off.
    neighbor_weight_ : float
        The weight of that term (``neighbor_weight`` with "auto" resolved; 0
        when off).
    neighbor_calibration_ : dict of float to float or None
        With ``neighbor_weight="auto"``: the held-out users' mean nDCG@10 at
        each candidate weight; None when nothing was calibrated.
    episode_order_ : {"time", "random"}
        ``episode_order`` with "auto" resolved.
    neighbor_recency_ : float or None
        The recency scale of the ``neighbor_weight`` term (``neighbor_recency``
        with "auto" resolved); None weighs a user's items alike.
    recency_calibration_ : dict or None
        With ``neighbor_recency="auto"`` and time-ordered episodes: the held-out
        users' mean nDCG@10 at each candidate scale (each at its best weight);
        None otherwise.
    neighbor_growth_ : float
        ``neighbor_growth`` with "auto" resolved.
    growth_calibration_ : dict or None
        With ``neighbor_growth="auto"``: the held-out users' mean nDCG@10 and
        the catalogue coverage of their lists at each candidate exponent,
        ``{exponent: (ndcg, coverage)}``; None when nothing was calibrated.
    fit_times_ : dict of str to float
        Seconds taken by each step of the last ``fit``, in order: ``"encode side
        features"``, ``"encode text"`` (text estimators only), ``"meta-train"``
        (the epochs), then the end-of-fit steps ``"item caches"`` (item
        representations, the interaction tower's Gramian), ``"refit biases"``
        (prior and item biases), ``"adapt users"``, ``"neighbours"`` (the
        ``n_neighbors`` similarities), ``"interaction neighbours"`` (those of
        ``neighbor_weight``, with its calibration) and ``"rating scale"``; a
        step that does not apply takes about 0 s. Validating ``X`` is not included.

    Examples
    --------
    >>> from sklearn_metarec import MetaCFRecommender
    >>> from sklearn_metarec.datasets import make_interactions
    >>> X, y = make_interactions(n_users=60, n_items=30, n_interactions=600,
    ...                          random_state=0)
    >>> model = MetaCFRecommender(max_epochs=3, random_state=0).fit(X, y)
    >>> model.predict(X.head(3)).shape
    (3,)
    >>> new_user = X.head(5).assign(user_id="new")
    >>> model.partial_fit(new_user, y[:5]).recommend(["new"], n=3)[0].shape
    (3,)

    A log of positive interactions, no ratings:

    >>> clicks = MetaCFRecommender(max_epochs=3, random_state=0).fit(X)
    >>> clicks.objective_
    'implicit'
    >>> items, scores = clicks.partial_fit(new_user).recommend(
    ...     ["new"], n=3, return_scores=True)
    >>> bool((scores[0][:-1] >= scores[0][1:]).all())
    True

    Why an item is recommended (the user's items behind its score), and the
    items closest to it:

    >>> table = clicks.explain("new", items[0][:1], n_contributions=2)
    >>> bool(abs(table["contribution"].sum() - scores[0][0]) < 1e-9)
    True
    >>> len(clicks.similar_items(items[0][:1], n=4)[0])
    4
    """

    _parameter_constraints: dict = dict(_SHARED_CONSTRAINTS)

    def __init__(
        self,
        *,
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
