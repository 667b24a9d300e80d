"""Item neighbourhoods on rating residuals (Koren 2008), shared by the item-kNN
baseline and the residual correction of the meta estimators."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext

import numpy as np
import scipy.sparse as sp

__all__ = [
    "cell_means",
    "cooccurrence_rows",
    "dense_product",
    "neighbour_contributions",
    "neighbour_offsets",
    "neighbour_offsets_at",
    "one_standard_error_choice",
    "residual_similarity",
    "top_cells",
]

# Cells per block of the similarity product (4 MiB of float64 when dense). Small
# blocks stay under glibc's threshold for memory mapped afresh at each
# allocation, so their memory is reused from block to block instead of faulted in
# page by page again (a large share of the time on some virtual machines):
# 2**19 took 2.6 s on MovieLens-1M where 2**22 took 4.3 s.
_BLOCK_CELLS = 2**19


def cell_means(rows, cols, values, shape) -> tuple[sp.csr_matrix, sp.csr_matrix]:
    """Users x items mean of ``values`` per rated cell, and an indicator of the cells.

    A user who rated the same item more than once contributes the mean value.

    Examples
    --------
    >>> res, rated = cell_means([0, 0, 1], [1, 1, 0], [0.5, 1.5, -1.0], (2, 2))
    >>> res.toarray().tolist(), rated.toarray().tolist()
    ([[0.0, 1.0], [-1.0, 0.0]], [[0.0, 1.0], [1.0, 0.0]])
    """
    values = np.asarray(values, dtype=np.float64)
    total = sp.csr_matrix((values, (rows, cols)), shape=shape)
    count = sp.csr_matrix((np.ones_like(values), (rows, cols)), shape=shape)
    total.sum_duplicates()
    count.sum_duplicates()
    mean = total.copy()
    mean.data = total.data / count.data
    count.data[:] = 1.0
    return mean, count


def residual_similarity(
    residual: sp.csr_matrix, n_neighbors: int, shrinkage: float, *, n_threads: int = 1
) -> sp.csr_matrix:
    """Top ``n_neighbors`` positive item-item similarities of residual columns.

    Similarity is the cosine of two items' residual columns shrunk by
    ``n_common / (n_common + shrinkage)``, ``n_common`` the users who rated both;
    only positive similarities are kept. Computed as sparse products over blocks
    of item rows, each block about ``_BLOCK_CELLS`` cells of the product, so
    memory stays bounded whatever the catalogue size; a block's top neighbours
    are chosen on a dense copy where the product is dense (a small catalogue
    like MovieLens) and among its stored cells where it is sparse (a long tail
    of items that few users share), so the cost follows the item pairs that
    users actually share, not ``n_items ** 2``.

    Parameters
    ----------
    residual : sparse matrix of shape (n_users, n_items)
        Residuals of the rated cells (:func:`cell_means`).
    n_neighbors : int
        Neighbours kept per item.
    shrinkage : float
        Shrinks similarities built on few common users; >= 0.
    n_threads : int, default=1
        With 2 or more, each block's count of common users is computed in a
        second thread beside its cosines (scipy's sparse products release the
        GIL); the result is the same.

    Returns
    -------
    similarity : csr_matrix of shape (n_items, n_items)
        Row ``i`` holds the similarities of item ``i``'s neighbours, canonical
        (sorted indices, no duplicates), so that it can be shared read-only.

    Examples
    --------
    >>> res, _ = cell_means([0, 0, 1, 1], [0, 1, 0, 1], [1, 1, -1, -1], (2, 2))
    >>> residual_similarity(res, 5, 0.0).toarray().round(2).tolist()
    [[0.0, 1.0], [1.0, 0.0]]
    """
    residual = sp.csr_matrix(residual, dtype=np.float64)
    n = residual.shape[1]
    norms = np.sqrt(np.asarray(residual.multiply(residual).sum(axis=0)).ravel())
    inv = np.divide(1.0, norms, out=np.zeros_like(norms), where=norms > 0)
    # Same cells as the residuals (explicit zeros kept), scaled to unit columns.
    cosine = sp.csr_matrix(
        (residual.data * inv[residual.indices], residual.indices, residual.indptr),
        shape=residual.shape,
    )
    indicator = sp.csr_matrix(
        (np.ones_like(residual.data), residual.indices, residual.indptr),
        shape=residual.shape,
    )
    k = min(n_neighbors, max(n - 1, 1))
    # Cells of item i's row of the product: at most the ratings of its raters.
    per_user = np.diff(indicator.indptr).astype(np.float64)
    reach = np.minimum(indicator.T @ per_user, n)
    cosine_t, indicator_t = cosine.T.tocsr(), indicator.T.tocsr()
    rows, cols, vals = [], [], []
    threaded = n_threads > 1 and shrinkage > 0
    with ThreadPoolExecutor(1) if threaded else nullcontext() as pool:
        for start, stop in _blocks(reach, _BLOCK_CELLS):
            factor = None
            if shrinkage:
                args = (indicator_t[start:stop], indicator, shrinkage)
                factor = pool.submit(_shrink_factor, *args) if threaded else args
            sim = cosine_t[start:stop] @ cosine
            if shrinkage:
                factor = factor.result() if threaded else _shrink_factor(*factor)
            # Dense enough (the common users' cells): on dense copies.
            if (sim if factor is None else factor).nnz * 4 >= sim.shape[0] * n:
                sim = sim.toarray()
                if shrinkage:
                    sim *= factor.toarray()
            elif shrinkage:
                same = sim.nnz == factor.nnz
                if same and np.array_equal(sim.indices, factor.indices):
                    sim.data *= factor.data  # the same cells in the same order
                else:  # a cosine that sums to exactly 0 is not stored
                    sim = sp.csr_matrix(sim.multiply(factor))
            r, c, v = _top_positive(sim, start, k)
            rows.append(r)
            cols.append(c)
            vals.append(v)
    similarity = sp.csr_matrix(
        (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
        shape=(n, n),
    )
    # Canonical (sorted, no duplicates) before it is shared, so no later operation
    # sorts it in place while a concurrent predict reads it.
    similarity.sum_duplicates()
    return similarity


def cooccurrence_rows(
    common: sp.csr_matrix,
    row_users: np.ndarray,
    col_users: np.ndarray,
    n_neighbors: int,
    shrinkage: float,
) -> sp.csr_matrix:
    """Similarity rows of items to the columns' items from co-occurrence counts.

    The binary case of :func:`residual_similarity`, for items outside its
    matrix: ``common[i, j]`` users interacted with both row item ``i`` and
    column item ``j``, ``row_users[i]`` and ``col_users[j]`` with each; the
    similarity is the cosine ``common / sqrt(row_users * col_users)`` shrunk by
    ``common / (common + shrinkage)``, and each row keeps its ``n_neighbors``
    largest positive cells. Rows of items added to a catalogue after its
    similarities were built come out as they would have from a binary
    interaction matrix holding them.

    Parameters
    ----------
    common : sparse matrix of shape (n_rows, n_cols)
        Users shared by each pair of a row item and a column item.
    row_users, col_users : ndarray of shape (n_rows,) and (n_cols,)
        Users of each row item and of each column item.
    n_neighbors : int
        Neighbours kept per row.
    shrinkage : float
        Shrinks similarities built on few common users; >= 0.

    Returns
    -------
    similarity : csr_matrix of shape (n_rows, n_cols)
        Canonical (sorted indices, no duplicates).

    Examples
    --------
    >>> common = sp.csr_matrix([[2.0, 1.0, 0.0]])
    >>> rows = cooccurrence_rows(common, np.array([2.0]), np.array([2, 4, 1]), 5, 0.0)
    >>> rows.toarray().round(3).tolist()
    [[1.0, 0.354, 0.0]]
    """
    common = sp.csr_matrix(common, dtype=np.float64)
    n_rows, n_cols = common.shape
    row = np.repeat(np.arange(n_rows), np.diff(common.indptr))
    scale = np.sqrt(
        np.asarray(row_users, dtype=np.float64)[row]
        * np.asarray(col_users, dtype=np.float64)[common.indices]
    )
    value = np.divide(
        common.data, scale, out=np.zeros_like(common.data), where=scale > 0
    )
    if shrinkage:
        value *= common.data / (common.data + shrinkage)
    cells = sp.csr_matrix((value, common.indices, common.indptr), shape=common.shape)
    return top_cells(cells, n_neighbors)


def dense_product(
    rows: sp.csr_matrix, matrix: sp.csr_matrix, max_cells: int | None = None
) -> np.ndarray:
    """``(rows @ matrix).toarray()``, gathered from the rows of ``matrix`` that
    ``rows`` names: for the few items of a few users (``partial_fit``), without
    a sparse product's set-up and its sparse result.

    Parameters
    ----------
    rows : csr_matrix of shape (n_rows, n_inner)
        Canonical (no duplicate cells).
    matrix : csr_matrix of shape (n_inner, n_cols)
    max_cells : int or None, default=None
        Gather at most this many cells of ``matrix`` (their temporaries); past
        it, a sparse product. None: always gather.

    Returns
    -------
    product : ndarray of shape (n_rows, n_cols)

    Examples
    --------
    >>> rows = sp.csr_matrix([[0.0, 2.0], [1.0, 0.0]])
    >>> matrix = sp.csr_matrix([[1.0, 0.0, 3.0], [0.0, 0.5, 1.0]])
    >>> dense_product(rows, matrix).tolist()
    [[0.0, 1.0, 2.0], [1.0, 0.0, 3.0]]
    """
    n_rows, n_cols = rows.shape[0], matrix.shape[1]
    inner = rows.indices
    starts = matrix.indptr[inner]
    counts = matrix.indptr[inner + 1] - starts
    # The cells of matrix's rows ``inner``, one run per cell of ``rows``.
    ends = np.cumsum(counts)
    if max_cells is not None and len(ends) and ends[-1] > max_cells:
        return (rows @ matrix).toarray()
    cells = np.arange(ends[-1] if len(ends) else 0) + np.repeat(
        starts - ends + counts, counts
    )
    row_of = np.repeat(np.repeat(np.arange(n_rows), np.diff(rows.indptr)), counts)
    flat = np.bincount(
        row_of * n_cols + matrix.indices[cells],
        weights=np.repeat(rows.data, counts) * matrix.data[cells],
        minlength=n_rows * n_cols,
    )
    # np.bincount counts (int64) when there is nothing to weigh.
    return flat.astype(np.float64, copy=False).reshape(n_rows, n_cols)


def top_cells(matrix: sp.csr_matrix, k: int) -> sp.csr_matrix:
    """The ``k`` largest positive cells of each row of a sparse matrix.

    Parameters
    ----------
    matrix : sparse matrix of shape (n_rows, n_cols)
    k : int
        Cells kept per row, at least 1.

    Returns
    -------
    top : csr_matrix of shape (n_rows, n_cols)
        Canonical (sorted indices, no duplicates).

    Examples
    --------
    >>> top_cells(sp.csr_matrix([[3.0, -1.0, 2.0, 1.0]]), 2).toarray().tolist()
    [[3.0, 0.0, 2.0, 0.0]]
    """
    matrix = sp.csr_matrix(matrix, dtype=np.float64)
    matrix.sum_duplicates()
    n_rows, n_cols = matrix.shape
    # Rows numbered from n_cols: no cell is on _top_positive's diagonal.
    r, c, v = _top_positive(matrix, n_cols, min(k, max(n_cols, 1)))
    top = sp.csr_matrix((v, (r - n_cols, c)), shape=matrix.shape)
    top.sum_duplicates()
    return top


def _shrink_factor(indicator_t, indicator, shrinkage: float) -> sp.csr_matrix:
    """``n_common / (n_common + shrinkage)`` on the cells of items sharing users."""
    common = indicator_t @ indicator
    common.data /= common.data + shrinkage
    return common


def _blocks(cells: np.ndarray, budget: int):
    """``(start, stop)`` of consecutive rows whose ``cells`` sum to about
    ``budget`` (at least one row each)."""
    bounds = np.searchsorted(np.cumsum(cells), np.arange(budget, cells.sum(), budget))
    edges = np.unique(np.concatenate([[0], bounds + 1, [len(cells)]]))
    edges = edges[edges <= len(cells)]
    return zip(edges[:-1].tolist(), edges[1:].tolist())


def _top_positive(block, start: int, k: int):
    """``(rows, cols, values)`` of the ``k`` largest positive off-diagonal cells
    of each row of ``block`` (rows ``start ...`` of an item x item matrix; a
    dense array, or a CSR matrix whose stored cells are the candidates)."""
    n_rows, n = block.shape
    if isinstance(block, np.ndarray):
        block[np.arange(n_rows), np.arange(start, start + n_rows)] = 0.0
        top = (
            np.argpartition(-block, k - 1, axis=1)[:, :k]
            if k < n
            else np.broadcast_to(np.arange(n), block.shape)
        )
        top_sim = np.take_along_axis(block, top, axis=1)
        keep = top_sim > 0
        return np.nonzero(keep)[0] + start, top[keep], top_sim[keep]
    row = np.repeat(np.arange(start, start + n_rows), np.diff(block.indptr))
    keep = (block.data > 0) & (block.indices != row)  # no item is its own
    row, col, val = row[keep], block.indices[keep], block.data[keep]
    lengths = np.bincount(row - start, minlength=n_rows)
    first = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    chosen = [np.flatnonzero(np.repeat(lengths <= k, lengths))]
    # Longer rows: partition them padded to a common width, in classes of
    # similar lengths (powers of two), so padding at most doubles the cells.
    long_rows = np.flatnonzero(lengths > k)
    length_class = np.ceil(np.log2(lengths[long_rows])).astype(np.int64)
    for cls in np.unique(length_class):
        members = long_rows[length_class == cls]
        width = int(lengths[members].max())
        cell = first[members][:, None] + np.arange(width)
        inside = np.arange(width) < lengths[members][:, None]
        cell[~inside] = 0
        padded = val[cell]
        padded[~inside] = -np.inf
        top = np.argpartition(-padded, k - 1, axis=1)[:, :k]
        chosen.append(np.take_along_axis(cell, top, axis=1).ravel())
    chosen = np.concatenate(chosen)
    return row[chosen], col[chosen], val[chosen]


def neighbour_offsets(
    residual, rated, similarity, reg: float, *, similarity_t=None
) -> np.ndarray:
    """Similarity-weighted mean residual of each user on each item.

    ``sum_j s_ij res_uj / (sum_j s_ij + reg)`` over the items ``j`` the user rated
    among the neighbours of ``i``; 0 where the user rated none of them.

    Parameters
    ----------
    residual, rated : sparse matrices of shape (n_users, n_items)
        The users' residuals and rated cells (:func:`cell_means`).
    similarity : sparse matrix of shape (n_items, n_items)
        From :func:`residual_similarity`.
    reg : float
        Added to the sum of similarities: shrinks the offset when the user rated
        few neighbours.
    similarity_t : csr_matrix of shape (n_items, n_items), default=None
        ``similarity.T`` as CSR, for callers that compute offsets block after
        block: scipy would otherwise convert the transpose at every call (the
        bulk of the time for a few users of a large catalogue).

    Returns
    -------
    offsets : ndarray of shape (n_users, n_items)

    Examples
    --------
    >>> res, rated = cell_means([0], [0], [1.0], (1, 2))
    >>> sim = residual_similarity(
    ...     cell_means([0, 0], [0, 1], [1.0, 1.0], (1, 2))[0], 5, 0.0)
    >>> neighbour_offsets(res, rated, sim, reg=1.0).tolist()
    [[0.0, 0.5]]
    """
    transposed = similarity.T if similarity_t is None else similarity_t
    num = (residual @ transposed).toarray()
    den = (rated @ transposed).toarray()
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(den > 0, num / (den + reg), 0.0)


def neighbour_offsets_at(residual, rated, similarity, users, items, reg: float):
    """:func:`neighbour_offsets` at the cells ``(users[k], items[k])`` alone.

    Each cell is a dot product of two sparse rows (the user's residuals and the
    item's similarities), so the cost grows with the cells asked for, not with
    users x items.

    Parameters
    ----------
    residual, rated : sparse matrices of shape (n_users, n_items)
        As in :func:`neighbour_offsets`.
    similarity : sparse matrix of shape (n_items, n_items)
    users, items : ndarray of int of shape (n_cells,)
        Row of ``residual`` and item of each cell.
    reg : float

    Returns
    -------
    offsets : ndarray of shape (n_cells,)

    Examples
    --------
    >>> res, rated = cell_means([0], [0], [1.0], (1, 2))
    >>> sim = residual_similarity(
    ...     cell_means([0, 0], [0, 1], [1.0, 1.0], (1, 2))[0], 5, 0.0)
    >>> neighbour_offsets_at(res, rated, sim, [0, 0], [1, 0], reg=1.0).tolist()
    [0.5, 0.0]
    """
    users, items = np.asarray(users), np.asarray(items)
    neighbours = similarity.tocsr()[items]
    num = np.asarray(neighbours.multiply(residual.tocsr()[users]).sum(axis=1))
    den = np.asarray(neighbours.multiply(rated.tocsr()[users]).sum(axis=1))
    num, den = num.ravel(), den.ravel()
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(den > 0, num / (den + reg), 0.0)


def neighbour_contributions(residual, rated, similarity, items, reg: float):
    """The terms of one user's neighbour offsets on ``items``, per rated item.

    The offset of item ``i`` (:func:`neighbour_offsets`) is the sum over the rated
    items ``j`` of ``s_ij res_j / (sum_k s_ik + reg)``; this returns those terms.

    Parameters
    ----------
    residual, rated : sparse matrices of shape (1, n_items)
        One user's residuals and rated cells (:func:`cell_means`).
    similarity : sparse matrix of shape (n_sim, n_sim)
        From :func:`residual_similarity`; items at or beyond ``n_sim`` (added
        later) have no neighbours.
    items : ndarray of int of shape (n_query,)
        Item positions whose offsets are split.
    reg : float
        As in :func:`neighbour_offsets`.

    Returns
    -------
    rated_items : ndarray of int of shape (n_rated,)
        Positions of the user's rated items.
    contributions : ndarray of shape (n_query, n_rated)
        Sums to ``neighbour_offsets(...)[0, items]`` over its last axis.

    Examples
    --------
    >>> res, rated = cell_means([0, 0], [0, 1], [1.0, -1.0], (1, 3))
    >>> sim = residual_similarity(
    ...     cell_means([0, 0, 0], [0, 1, 2], [1.0, 1.0, 1.0], (1, 3))[0], 5, 0.0)
    >>> items, terms = neighbour_contributions(res, rated, sim, [2], reg=0.0)
    >>> items.tolist(), terms.tolist()
    ([0, 1], [[0.5, -0.5]])
    """
    rated = sp.csr_matrix(rated)
    cols = np.sort(rated.indices)
    items = np.asarray(items, dtype=np.int64)
    res = np.asarray(sp.csr_matrix(residual)[0, cols].toarray()).ravel()
    n_sim = similarity.shape[0]
    sim = np.zeros((len(items), len(cols)))
    known = np.flatnonzero(items < n_sim)
    inside = cols < n_sim
    if len(known) and inside.any():
        block = sp.csr_matrix(similarity)[items[known]][:, cols[inside]]
        sim[np.ix_(known, np.flatnonzero(inside))] = block.toarray()
    den = sim.sum(axis=1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(den > 0, sim * res / (den + reg), 0.0)
    return cols, terms


def one_standard_error_choice(scores: np.ndarray, prefer=None) -> int:
    """Index of the first candidate whose mean score is within one standard
    error of the best mean (Breiman's one-standard-error rule: candidates in
    order of increasing complexity, the simplest first), or of the one with
    the highest ``prefer`` among those.

    Every candidate is scored on the same samples, so the error is that of the
    paired differences: the standard error of the mean of ``best - candidate``
    over the samples. Most of the spread of per-user scores is the users'
    (some are easier to serve than others) and cancels in the difference.

    Parameters
    ----------
    scores : ndarray of shape (n_candidates, n_samples)
        Score of each candidate on each sample (higher is better).
    prefer : array-like of shape (n_candidates,), default=None
        A second criterion (higher is better, e.g. the catalogue coverage of
        each candidate's lists): the candidate within one standard error with
        the highest value is chosen, the first of those tied. None: the first
        within one standard error.

    Returns
    -------
    int

    Examples
    --------
    >>> scores = np.array([[0.4, 0.6, 0.5, 0.7], [0.45, 0.62, 0.55, 0.72]])
    >>> one_standard_error_choice(scores)  # better on every sample
    1
    >>> scores = np.array([[0.4, 0.6, 0.5, 0.7], [0.3, 0.8, 0.4, 0.9]])
    >>> one_standard_error_choice(scores)  # better on average, within the noise
    0
    >>> one_standard_error_choice(scores, prefer=[0.1, 0.3])  # tied: the wider
    1
    """
    scores = np.asarray(scores, dtype=np.float64)
    means = scores.mean(axis=1)
    best = int(np.argmax(means))
    n = scores.shape[1]
    if n > 1:
        error = (scores[best] - scores).std(axis=1, ddof=1) / np.sqrt(n)
    else:
        error = np.zeros(len(scores))
    within = np.flatnonzero(means >= means[best] - error)
    if prefer is None:
        return int(within[0])
    return int(within[np.argmax(np.asarray(prefer, dtype=np.float64)[within])])
