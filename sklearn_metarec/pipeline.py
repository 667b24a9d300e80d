"""A Pipeline that keeps serving: ``recommend`` and ``partial_fit`` through the steps.

A :class:`sklearn.pipeline.Pipeline` ending in a recommender fits and predicts, but
the methods a recommender is served with (``partial_fit``, ``recommend``,
``add_items``, ...) belong to its last step only, and so does the
``best_estimator_`` of a :class:`~sklearn.model_selection.GridSearchCV` over it.
:class:`RecommenderPipeline` passes them on. ``partial_fit`` sends the new rows
through the fitted earlier steps (``transform``) before adapting the recommender;
the methods that take user or item ids (``recommend``, ``explain``,
``similar_items``, ``recommend_from_text``) and ``add_items`` go to the recommender
as they are, since the earlier steps transform interaction rows, not ids.
"""

from __future__ import annotations

from sklearn import get_config
from sklearn.exceptions import NotFittedError
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.utils.metadata_routing import MethodMapping, process_routing
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_is_fitted

__all__ = ["RecommenderPipeline", "make_recommender_pipeline"]


def _final_step_has(attr):
    """``available_if`` check: the final step has ``attr`` (else its AttributeError)."""

    def check(self):
        getattr(self._final_estimator, attr)
        return True

    return check


class RecommenderPipeline(Pipeline):
    """A :class:`~sklearn.pipeline.Pipeline` whose last step is a recommender.

    Everything a :class:`~sklearn.pipeline.Pipeline` does (``fit``, ``predict``,
    ``score``, ``step__param`` parameters, caching, metadata routing), plus the
    recommender's own methods, each present only when the last step has it:

    - ``partial_fit(X, y)``: ``X`` goes through the fitted earlier steps, then the
      last step adapts to the result. Before ``fit``, it is ``fit``.
    - ``recommend``, ``explain``, ``similar_items``, ``recommend_from_text`` and
      ``add_items``: passed to the last step unchanged. They take user ids, item
      ids, item tables or text, which the earlier steps (made for interaction
      rows) do not transform.

    So a pipeline, and the ``best_estimator_`` of a
    :class:`~sklearn.model_selection.GridSearchCV` over one, serves and adapts
    new users like the recommender itself. Other fitted attributes of the
    recommender are those of its last step, ``pipe[-1]``.

    Parameters
    ----------
    steps : list of tuples
        ``(name, transform)`` tuples, the last one ``(name, recommender)``, as for
        :class:`~sklearn.pipeline.Pipeline`. A step may be ``"passthrough"`` or
        ``None``.
    transform_input : list of str, default=None
        Metadata to pass through the earlier steps in ``fit``, as for
        :class:`~sklearn.pipeline.Pipeline` (needs metadata routing).
        ``partial_fit`` does not transform metadata.
    memory : str or object with the joblib.Memory interface, default=None
        Caches the fitted transformers of ``fit``, as for
        :class:`~sklearn.pipeline.Pipeline`.
    verbose : bool, default=False
        Print the time each step of ``fit`` takes.

    Attributes
    ----------
    named_steps : Bunch
        The steps by name.
    user_index_ : IdIndex
        The last step's known users (present once it is fitted).
    item_index_ : IdIndex
        The last step's catalogue (present once it is fitted).

    See Also
    --------
    make_recommender_pipeline : Build one with the step names made up.
    sklearn.pipeline.Pipeline : The parent class.

    Notes
    -----
    With metadata routing enabled (``sklearn.set_config(enable_metadata_routing=
    True)``), ``partial_fit`` routes its ``**params`` as ``fit`` does: a parameter
    reaches the ``transform`` of an earlier step that requested it
    (``set_transform_request``) and the last step's ``partial_fit`` if it requested
    it (``set_partial_fit_request``). Without routing, every parameter goes to the
    last step.

    Examples
    --------
    >>> import pandas as pd
    >>> from sklearn.compose import ColumnTransformer
    >>> from sklearn_metarec.baselines import BiasRecommender
    >>> from sklearn_metarec.pipeline import RecommenderPipeline
    >>> X = pd.DataFrame({"user_id": ["u1", "u1", "u2", "u2"],
    ...                   "item_id": ["a", "b", "a", "c"],
    ...                   "title": ["A", "B", "A", "C"]})
    >>> ids = ColumnTransformer([("ids", "passthrough", ["user_id", "item_id"])],
    ...                         verbose_feature_names_out=False)
    >>> pipe = RecommenderPipeline([("ids", ids.set_output(transform="pandas")),
    ...                             ("rec", BiasRecommender())])
    >>> pipe = pipe.fit(X, [5.0, 3.0, 4.0, 2.0])
    >>> pipe.recommend(["u1"], n=2)
    [array(['c'], dtype=object)]
    >>> new = pd.DataFrame({"user_id": ["u3"], "item_id": ["a"], "title": ["A"]})
    >>> pipe.partial_fit(new, [1.0]).user_index_.ids.tolist()
    ['u1', 'u2', 'u3']
    >>> hasattr(pipe, "similar_items")  # BiasRecommender has none
    False
    """

    @available_if(_final_step_has("partial_fit"))
    def partial_fit(self, X, y=None, **params):
        """Adapt the last step to new rows, transformed by the fitted earlier steps.

        Before the pipeline is fitted, this is ``fit(X, y, **params)`` (with the
        parameters meant for the last step), as ``partial_fit`` fits an unfitted
        scikit-learn estimator.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_rows, n_columns)
            New interaction rows, with the columns the first step expects.
        y : array-like of shape (n_rows,) or None, default=None
            Ratings, or None for positive interactions, as the last step accepts.
        **params : dict of str -> object
            Without metadata routing: keyword arguments of the last step's
            ``partial_fit`` (e.g. ``items=`` for a recommender that takes side
            tables). With metadata routing: metadata routed to the earlier steps'
            ``transform`` and the last step's ``partial_fit`` that requested it.

        Returns
        -------
        self : RecommenderPipeline
            The pipeline, its last step adapted.

        Examples
        --------
        >>> import pandas as pd
        >>> from sklearn.preprocessing import FunctionTransformer
        >>> from sklearn_metarec.baselines import BiasRecommender
        >>> from sklearn_metarec.pipeline import make_recommender_pipeline
        >>> X = pd.DataFrame({"user_id": ["u1", "u2"], "item_id": ["a", "b"]})
        >>> pipe = make_recommender_pipeline(FunctionTransformer(), BiasRecommender())
        >>> pipe = pipe.partial_fit(X, [4.0, 2.0])  # not fitted yet: fits
        >>> pipe = pipe.partial_fit(X.assign(user_id="u3"), [5.0, 5.0])
        >>> pipe.user_index_.ids.tolist()
        ['u1', 'u2', 'u3']
        """
        routing = get_config().get("enable_metadata_routing", False)
        name, final = self.steps[-1]
        try:
            check_is_fitted(self)
        except NotFittedError:
            if not routing:
                params = {f"{name}__{key}": value for key, value in params.items()}
            return self.fit(X, y, **params)
        if routing:
            routed = process_routing(self, "partial_fit", **params)
            for _, step_name, step in self._iter(with_final=False):
                X = step.transform(X, **routed[step_name].transform)
            final.partial_fit(X, y, **routed[name].partial_fit)
        else:
            for _, _, step in self._iter(with_final=False):
                X = step.transform(X)
            final.partial_fit(X, y, **params)
        return self

    @available_if(_final_step_has("recommend"))
    def recommend(self, users, n=10, **kwargs):
        """The last step's ``recommend``: the ``n`` best items for each user.

        Parameters
        ----------
        users : array-like of shape (n_users,)
            User ids (not rows: nothing is transformed); unknown users are served
            as the last step serves them (from the prior, for this package's
            recommenders).
        n : int, default=10
            Items per user.
        **kwargs : dict
            Other keyword arguments of the last step's ``recommend``, e.g.
            ``items=``, ``exclude_seen=``, ``return_scores=``.

        Returns
        -------
        recommendations : list
            What the last step returns: one array of item ids per user, best
            first (with ``return_scores=True``, the scores too).

        Examples
        --------
        >>> import pandas as pd
        >>> from sklearn.preprocessing import FunctionTransformer
        >>> from sklearn_metarec.baselines import BiasRecommender
        >>> from sklearn_metarec.pipeline import make_recommender_pipeline
        >>> X = pd.DataFrame({"user_id": ["u1", "u2"], "item_id": ["a", "b"]})
        >>> pipe = make_recommender_pipeline(FunctionTransformer(), BiasRecommender())
        >>> pipe.fit(X, [4.0, 2.0]).recommend(["u1", "new"], n=1)
        [array(['b'], dtype=object), array(['a'], dtype=object)]
        """
        return self._final_estimator.recommend(users, n=n, **kwargs)

    @available_if(_final_step_has("explain"))
    def explain(self, *args, **kwargs):
        """The last step's ``explain``, called with the same arguments.

        Present only when the last step has an ``explain`` method.

        Parameters
        ----------
        *args : tuple
            Positional arguments of the last step's ``explain`` (user and item
            ids; nothing is transformed).
        **kwargs : dict
            Its keyword arguments.

        Returns
        -------
        explanation : object
            What the last step's ``explain`` returns.

        Examples
        --------
        >>> from sklearn.preprocessing import FunctionTransformer
        >>> from sklearn_metarec.baselines import BiasRecommender
        >>> from sklearn_metarec.pipeline import make_recommender_pipeline
        >>> pipe = make_recommender_pipeline(FunctionTransformer(), BiasRecommender())
        >>> hasattr(pipe, "explain") == hasattr(pipe[-1], "explain")
        True
        """
        return self._final_estimator.explain(*args, **kwargs)

    @available_if(_final_step_has("similar_items"))
    def similar_items(self, *args, **kwargs):
        """The last step's ``similar_items``, called with the same arguments.

        Present only when the last step has a ``similar_items`` method.

        Parameters
        ----------
        *args : tuple
            Positional arguments of the last step's ``similar_items`` (item ids
            and ``n``; nothing is transformed).
        **kwargs : dict
            Its keyword arguments.

        Returns
        -------
        similar : object
            What the last step's ``similar_items`` returns.

        Examples
        --------
        >>> from sklearn.preprocessing import FunctionTransformer
        >>> from sklearn_metarec.baselines import BiasRecommender
        >>> from sklearn_metarec.pipeline import make_recommender_pipeline
        >>> pipe = make_recommender_pipeline(FunctionTransformer(), BiasRecommender())
        >>> hasattr(pipe, "similar_items") == hasattr(pipe[-1], "similar_items")
        True
        """
        return self._final_estimator.similar_items(*args, **kwargs)

    @available_if(_final_step_has("recommend_from_text"))
    def recommend_from_text(self, *args, **kwargs):
        """The last step's ``recommend_from_text``, called with the same arguments.

        Present only when the last step has it, e.g.
        :class:`~sklearn_metarec.LLMContentRecommender`.

        Parameters
        ----------
        *args : tuple
            Positional arguments of the last step's ``recommend_from_text`` (the
            query text and ``n``; nothing is transformed).
        **kwargs : dict
            Its keyword arguments.

        Returns
        -------
        recommendations : object
            What the last step returns.

        Examples
        --------
        >>> from sklearn.preprocessing import FunctionTransformer
        >>> from sklearn_metarec.baselines import BiasRecommender
        >>> from sklearn_metarec.pipeline import make_recommender_pipeline
        >>> pipe = make_recommender_pipeline(FunctionTransformer(), BiasRecommender())
        >>> hasattr(pipe, "recommend_from_text")
        False
        """
        return self._final_estimator.recommend_from_text(*args, **kwargs)

    @available_if(_final_step_has("add_items"))
    def add_items(self, items):
        """Add items to the last step's catalogue from their side information.

        ``items`` is an item table, not interaction rows: it goes to the last
        step's ``add_items`` as it is, without the earlier steps' ``transform``.

        Parameters
        ----------
        items : DataFrame
            One row per new item, with the columns the last step's ``add_items``
            expects (the item id column and its item side columns).

        Returns
        -------
        self : RecommenderPipeline
            The pipeline, its last step's catalogue extended.

        Examples
        --------
        >>> import pandas as pd
        >>> from sklearn.preprocessing import FunctionTransformer
        >>> from sklearn_metarec.baselines import BiasRecommender
        >>> from sklearn_metarec.pipeline import make_recommender_pipeline
        >>> X = pd.DataFrame({"user_id": ["u1", "u2"], "item_id": ["a", "b"]})
        >>> pipe = make_recommender_pipeline(FunctionTransformer(), BiasRecommender())
        >>> pipe = pipe.fit(X, [4.0, 2.0]).add_items(pd.DataFrame({"item_id": ["c"]}))
        >>> pipe.item_index_.ids.tolist()
        ['a', 'b', 'c']
        """
        self._final_estimator.add_items(items)
        return self

    @property
    def user_index_(self):
        """The last step's ``user_index_`` (known users); absent before ``fit``."""
        return self._final_estimator.user_index_

    @property
    def item_index_(self):
        """The last step's ``item_index_`` (the catalogue); absent before ``fit``."""
        return self._final_estimator.item_index_

    def get_metadata_routing(self):
        """Get the metadata routing of this object, ``partial_fit`` included.

        That of :class:`~sklearn.pipeline.Pipeline`, with ``partial_fit`` routed to
        the earlier steps' ``transform`` and the last step's ``partial_fit`` (see
        metadata routing in scikit-learn's user guide).

        Returns
        -------
        routing : MetadataRouter
            The routing information.
        """
        router = super().get_metadata_routing()
        steps = dict(self.steps)
        final_name = self.steps[-1][0]
        for name, pair in list(router):
            if name not in steps:
                continue  # the router's own request, if any
            mapping = MethodMapping()
            for route in pair.mapping:
                mapping.add(caller=route.caller, callee=route.callee)
            callee = "partial_fit" if name == final_name else "transform"
            mapping.add(caller="partial_fit", callee=callee)
            router.add(method_mapping=mapping, **{name: steps[name]})
        return router


def make_recommender_pipeline(*steps, memory=None, verbose=False):
    """Build a :class:`RecommenderPipeline`, naming the steps after their classes.

    The :func:`~sklearn.pipeline.make_pipeline` of :class:`RecommenderPipeline`:
    each step is named after its class in lower case (``"biasrecommender"``),
    with a number added to repeated names.

    Parameters
    ----------
    *steps : list of estimators
        The transformers, then the recommender.
    memory : str or object with the joblib.Memory interface, default=None
        Caches the fitted transformers, as for
        :class:`~sklearn.pipeline.Pipeline`.
    verbose : bool, default=False
        Print the time each step of ``fit`` takes.

    Returns
    -------
    pipeline : RecommenderPipeline
        The unfitted pipeline.

    See Also
    --------
    RecommenderPipeline : Name the steps yourself.

    Examples
    --------
    >>> from sklearn.preprocessing import FunctionTransformer
    >>> from sklearn_metarec.baselines import BiasRecommender
    >>> from sklearn_metarec.pipeline import make_recommender_pipeline
    >>> pipe = make_recommender_pipeline(FunctionTransformer(), BiasRecommender())
    >>> [name for name, _ in pipe.steps]
    ['functiontransformer', 'biasrecommender']
    """
    named = make_pipeline(*steps, memory=memory, verbose=verbose).steps
    return RecommenderPipeline(named, memory=memory, verbose=verbose)
