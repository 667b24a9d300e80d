"""A cheap non-neural text encoder: TF-IDF followed by a truncated SVD (LSA)."""

from __future__ import annotations

from numbers import Integral

import numpy as np
from sklearn.base import (
    BaseEstimator,
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
)
from sklearn.decomposition import TruncatedSVD
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.preprocessing import normalize
from sklearn.utils.extmath import svd_flip
from sklearn.utils.validation import check_is_fitted

from ..utils._random import check_random_state
from ..utils._sklearn import Interval, _fit_context
from ._validation import check_texts

__all__ = ["TfidfSVDEncoder"]


class TfidfSVDEncoder(ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator):
    """Embed texts with TF-IDF and a truncated SVD (latent semantic analysis).

    A fast, dependency-free stand-in for :class:`TransformerTextEncoder` with the same
    contract: a sequence of texts in, a float32 array of shape
    ``(n_texts, n_components)`` with unit-norm rows out. It learns its vocabulary
    and its projection in ``fit``, so unlike the transformer encoder it must be
    fitted (on the item catalogue) before ``transform``.

    Parameters
    ----------
    n_components : int, default=64
        Width of the embedding. At least 1. When the TF-IDF matrix has a lower rank
        bound (fewer texts or fewer distinct terms than ``n_components``), only
        ``n_components_ = min(n_components, n_texts, n_terms)`` directions are
        learned and the remaining output columns are zero, so the output width is
        always ``n_components``.
    max_features : int or None, default=50_000
        Keep the most frequent terms (words and n-grams) only; ``None`` keeps all.
    ngram_range : tuple (min_n, max_n), default=(1, 2)
        Word n-gram lengths, as in
        :class:`~sklearn.feature_extraction.text.TfidfVectorizer`.
    random_state : int, RandomState instance or None, default=None
        Seeds the randomized SVD. Pass an int for reproducible embeddings.

    Attributes
    ----------
    vectorizer_ : TfidfVectorizer
        The fitted TF-IDF vectorizer (lower-cased, accents stripped, sublinear tf).
    components_ : ndarray of shape (n_components_, n_terms)
        Orthonormal directions of the TF-IDF space, strongest first.
    n_components_ : int
        Number of directions actually learned (see ``n_components``).

    See Also
    --------
    TransformerTextEncoder : Embeddings from a pretrained language model.

    Notes
    -----
    Texts are lower-cased and accents stripped; missing values (``None``, ``NaN``)
    read as ``""``. A text with no known term embeds to the zero vector (it cannot
    be normalised), as does any text whose TF-IDF vector is orthogonal to every
    learned direction.

    Examples
    --------
    >>> from sklearn_metarec.text import TfidfSVDEncoder
    >>> texts = ["Toy Story. Animation, Comedy", "Heat. Action, Crime",
    ...          "Casino. Crime, Drama", "Jumanji. Adventure, Fantasy"]
    >>> X = TfidfSVDEncoder(n_components=8, random_state=0).fit_transform(texts)
    >>> X.shape, X.dtype
    ((4, 8), dtype('float32'))
    >>> bool((X[:, 4:] == 0).all())  # rank is at most 4 with 4 texts
    True
    """

    _parameter_constraints: dict = {
        "n_components": [Interval(Integral, 1, None, closed="left")],
        "max_features": [Interval(Integral, 1, None, closed="left"), None],
        "ngram_range": [tuple],
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        n_components=64,
        *,
        max_features=50_000,
        ngram_range=(1, 2),
        random_state=None,
    ):
        self.n_components = n_components
        self.max_features = max_features
        self.ngram_range = ngram_range
        self.random_state = random_state

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Learn the vocabulary, the IDF weights and the SVD directions.

        Parameters
        ----------
        X : sequence of str, Series, Index or one-column DataFrame
            Texts, one per sample; ``None``/``NaN`` read as ``""``.
        y : None
            Ignored.

        Returns
        -------
        self : TfidfSVDEncoder
            The fitted encoder.
        """
        self._fit(X)
        return self

    @_fit_context(prefer_skip_nested_validation=True)
    def fit_transform(self, X, y=None):
        """Fit, then embed the same texts.

        Parameters
        ----------
        X : sequence of str, Series, Index or one-column DataFrame
            Texts, one per sample.
        y : None
            Ignored.

        Returns
        -------
        X_embedded : ndarray of shape (n_samples, n_components), dtype float32
            Unit-norm rows (zero rows for texts without known terms).
        """
        return self._project(self._fit(X))

    def transform(self, X):
        """Embed texts with the fitted vocabulary and directions.

        Parameters
        ----------
        X : sequence of str, Series, Index or one-column DataFrame
            Texts, one per sample; ``None``/``NaN`` read as ``""``. An empty
            sequence gives an array with no row.

        Returns
        -------
        X_embedded : ndarray of shape (n_samples, n_components), dtype float32
            Unit-norm rows (zero rows for texts without known terms).
        """
        check_is_fitted(self)
        texts = check_texts(X, type(self).__name__)
        if len(texts) == 0:  # as TransformerTextEncoder: no text, no row
            return np.zeros((0, self.n_components), dtype=np.float32)
        return self._project(self.vectorizer_.transform(texts))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.string = True
        tags.input_tags.two_d_array = False
        tags.transformer_tags.preserves_dtype = []
        return tags

    @property
    def _n_features_out(self):
        return self.n_components

    # -- private helpers, in call order ------------------------------------------

    def _fit(self, X):
        texts = check_texts(X, type(self).__name__)
        if len(texts) == 0:
            raise ValueError(
                f"{type(self).__name__} needs at least one text to fit; got an empty "
                "sequence."
            )
        min_n, max_n = _check_ngram_range(self.ngram_range)
        self.vectorizer_ = TfidfVectorizer(
            ngram_range=(min_n, max_n),
            max_features=self.max_features,
            strip_accents="unicode",
            sublinear_tf=True,
            dtype=np.float32,
        )
        try:
            tfidf = self.vectorizer_.fit_transform(texts)
        except ValueError as exc:
            if "empty vocabulary" not in str(exc):
                raise
            raise ValueError(
                f"{type(self).__name__} found no words in the {len(texts)} texts "
                "(all empty or without word characters); it cannot learn a vocabulary."
            ) from None
        n_samples, n_terms = tfidf.shape
        rank_bound = min(n_samples, n_terms)
        self.n_components_ = min(self.n_components, rank_bound)
        if self.n_components_ < rank_bound and n_terms >= 2:
            svd = TruncatedSVD(
                n_components=self.n_components_,
                algorithm="randomized",
                random_state=check_random_state(self.random_state),
            ).fit(tfidf)
            components = svd.components_
        else:  # all directions wanted: exact SVD of a matrix with a small side
            _, _, vt = np.linalg.svd(tfidf.toarray(), full_matrices=False)
            _, vt = svd_flip(None, vt, u_based_decision=False)
            components = vt[: self.n_components_]
        self.components_ = components.astype(np.float32, copy=False)
        return tfidf

    def _project(self, tfidf) -> np.ndarray:
        out = np.zeros((tfidf.shape[0], self.n_components), dtype=np.float32)
        out[:, : self.n_components_] = tfidf @ self.components_.T
        return normalize(out, copy=False)


def _check_ngram_range(ngram_range) -> tuple[int, int]:
    if (
        len(ngram_range) != 2
        or not all(isinstance(n, Integral) for n in ngram_range)
        or not 1 <= ngram_range[0] <= ngram_range[1]
    ):
        raise ValueError(
            "ngram_range must be a tuple (min_n, max_n) of integers with "
            f"1 <= min_n <= max_n; got {ngram_range!r}."
        )
    return int(ngram_range[0]), int(ngram_range[1])
