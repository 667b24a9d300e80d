"""Item neighbourhoods on residuals, against brute-force loops."""

import numpy as np
import pytest
import scipy.sparse as sp

from sklearn_metarec.utils import _neighbours
from sklearn_metarec.utils._neighbours import (
    cell_means,
    neighbour_offsets,
    residual_similarity,
)


def _log(seed=0, n_users=15, n_items=12, n_rows=90):
    rng = np.random.default_rng(seed)
    rows = rng.integers(0, n_users, n_rows)
    cols = rng.integers(0, n_items, n_rows)
    return rows, cols, rng.normal(size=n_rows), (n_users, n_items)


def test_cell_means_average_repeated_cells():
    rows, cols, values, shape = _log()
    mean, rated = cell_means(rows, cols, values, shape)
    for u in range(shape[0]):
        for i in range(shape[1]):
            mine = (rows == u) & (cols == i)
            assert rated[u, i] == float(mine.any())
            assert mean[u, i] == pytest.approx(values[mine].mean() if mine.any() else 0)


@pytest.mark.parametrize("shrinkage", [0.0, 3.0])
@pytest.mark.parametrize("k", [2, 5, 50])
def test_similarity_is_the_top_k_shrunk_cosine(k, shrinkage, monkeypatch):
    monkeypatch.setattr(_neighbours, "_BLOCK_CELLS", 25)  # blocks of 2 item rows
    residual, rated = cell_means(*_log())
    dense, mask = residual.toarray(), rated.toarray()
    n = dense.shape[1]
    expected = np.zeros((n, n))
    for i in range(n):
        sims = np.zeros(n)
        for j in range(n):
            if i == j:
                continue
            norm = np.linalg.norm(dense[:, i]) * np.linalg.norm(dense[:, j])
            common = (mask[:, i] * mask[:, j]).sum()
            cosine = dense[:, i] @ dense[:, j] / norm if norm else 0.0
            sims[j] = cosine * (common / (common + shrinkage) if shrinkage else 1)
        top = np.argsort(-sims, kind="stable")[:k]
        keep = top[sims[top] > 0]
        expected[i, keep] = sims[keep]
    similarity = residual_similarity(residual, k, shrinkage)
    assert similarity.has_canonical_format
    np.testing.assert_allclose(similarity.toarray(), expected, atol=1e-12)


def test_offsets_are_similarity_weighted_mean_residuals():
    residual, rated = cell_means(*_log(seed=1))
    similarity = residual_similarity(cell_means(*_log(seed=2))[0], 4, 1.0)
    offsets = neighbour_offsets(residual, rated, similarity, reg=0.5)
    r, m, s = residual.toarray(), rated.toarray(), similarity.toarray()
    for u in range(r.shape[0]):
        for i in range(r.shape[1]):
            weights = s[i] * m[u]
            expected = weights @ r[u] / (weights.sum() + 0.5) if weights.any() else 0
            assert offsets[u, i] == pytest.approx(expected)


def test_empty_residuals_give_no_neighbours():
    residual = sp.csr_matrix((3, 4))
    assert residual_similarity(residual, 2, 10.0).nnz == 0


def test_offsets_at_cells_equal_the_dense_offsets():
    # predict reads offsets at its rows' cells only; they must be the cells of
    # the full users x items offsets.
    from sklearn_metarec.utils._neighbours import (
        cell_means,
        neighbour_offsets,
        neighbour_offsets_at,
        residual_similarity,
    )

    rng = np.random.default_rng(0)
    users, items = rng.integers(0, 60, 800), rng.integers(0, 40, 800)
    residual, rated = cell_means(users, items, rng.normal(size=800), (60, 40))
    similarity = residual_similarity(residual, 10, 5.0)
    dense = neighbour_offsets(residual, rated, similarity, 0.5)
    qu, qi = rng.integers(0, 60, 500), rng.integers(0, 40, 500)
    at = neighbour_offsets_at(residual, rated, similarity, qu, qi, 0.5)
    np.testing.assert_allclose(at, dense[qu, qi], rtol=1e-12, atol=1e-12)
    assert np.count_nonzero(at) > 100


def test_offsets_from_a_precomputed_transpose_are_identical():
    rng = np.random.default_rng(0)
    users, items = rng.integers(0, 60, 800), rng.integers(0, 90, 800)
    residual, rated = cell_means(users, items, rng.normal(size=800), (60, 90))
    similarity = residual_similarity(residual, 10, 5.0)
    block = slice(0, 25)
    np.testing.assert_array_equal(
        neighbour_offsets(
            residual[block],
            rated[block],
            similarity,
            0.5,
            similarity_t=similarity.T.tocsr(),
        ),
        neighbour_offsets(residual[block], rated[block], similarity, 0.5),
    )
