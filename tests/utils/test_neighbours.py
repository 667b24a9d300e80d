"""Item neighbourhoods on residuals, against brute-force loops."""

import numpy as np
import pytest
import scipy.sparse as sp

from sklearn_metarec.metrics._ranking import _ndcg_per_user
from sklearn_metarec.utils import _neighbours
from sklearn_metarec.utils._neighbours import (
    cell_means,
    cooccurrence_rows,
    dense_product,
    neighbour_offsets,
    one_standard_error_choice,
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


# A log where most item pairs share raters (products partitioned densely), and a
# long-tail one where few do (top neighbours chosen among the stored cells).
_DENSE_LOG = {}
_SPARSE_LOG = {"seed": 3, "n_users": 40, "n_items": 60, "n_rows": 110}


@pytest.mark.parametrize("shrinkage", [0.0, 3.0])
@pytest.mark.parametrize("k", [2, 5, 50])
@pytest.mark.parametrize(
    "log, dense_blocks", [(_DENSE_LOG, True), (_SPARSE_LOG, False)]
)
def test_similarity_is_the_top_k_shrunk_cosine(
    k, shrinkage, log, dense_blocks, monkeypatch
):
    monkeypatch.setattr(_neighbours, "_BLOCK_CELLS", 25)  # blocks of a few rows
    kinds = []
    top_positive = _neighbours._top_positive

    def spy(block, start, k):
        kinds.append(isinstance(block, np.ndarray))
        return top_positive(block, start, k)

    monkeypatch.setattr(_neighbours, "_top_positive", spy)
    residual, rated = cell_means(*_log(**log))
    dense, mask = residual.toarray(), rated.toarray()
    n = dense.shape[1]
    similarity = residual_similarity(residual, k, shrinkage)
    assert similarity.has_canonical_format
    got = similarity.toarray()
    for i in range(n):
        sims = np.zeros(n)
        for j in range(n):
            if i == j:
                continue
            norm = np.linalg.norm(dense[:, i]) * np.linalg.norm(dense[:, j])
            common = (mask[:, i] * mask[:, j]).sum()
            cosine = dense[:, i] @ dense[:, j] / norm if norm else 0.0
            sims[j] = cosine * (common / (common + shrinkage) if shrinkage else 1)
        # The k largest positive similarities, kept at their own items; which of
        # tied items is kept is free.
        best = np.sort(sims)[::-1][:k]
        chosen = np.flatnonzero(got[i])
        np.testing.assert_allclose(got[i, chosen], sims[chosen], atol=1e-12)
        np.testing.assert_allclose(
            np.sort(got[i, chosen])[::-1], best[best > 1e-12], atol=1e-12
        )
    assert len(kinds) > 1 and all(kind == dense_blocks for kind in kinds)


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


@pytest.mark.parametrize("log", [_DENSE_LOG, _SPARSE_LOG])
def test_similarity_from_two_threads_is_identical(log, monkeypatch):
    monkeypatch.setattr(_neighbours, "_BLOCK_CELLS", 25)
    residual, _ = cell_means(*_log(**log))
    one = residual_similarity(residual, 5, 3.0)
    two = residual_similarity(residual, 5, 3.0, n_threads=2)
    assert (one != two).nnz == 0 and one.nnz > 0


def test_ndcg_per_user_matches_a_brute_force_per_row():
    rng = np.random.default_rng(0)
    scores = rng.normal(size=(30, 25))
    scores[rng.random(scores.shape) < 0.2] = -np.inf  # not listable
    dense = rng.random(scores.shape) < 0.15
    dense[~dense.any(axis=1), 0] = True  # every row has a relevant item
    relevant = sp.csr_matrix(dense)
    k = 10
    expected = []
    for row in range(len(scores)):
        order = np.argsort(-scores[row], kind="stable")[:k]
        order = order[np.isfinite(scores[row, order])]
        gains = relevant[row].toarray().ravel()[order]
        dcg = (gains / np.log2(np.arange(2, len(order) + 2))).sum()
        n_relevant = min(relevant[row].nnz, k)
        expected.append(dcg / (1 / np.log2(np.arange(2, n_relevant + 2))).sum())
    np.testing.assert_allclose(_ndcg_per_user(relevant.toarray(), scores, k), expected)


def test_one_standard_error_choice_takes_the_smallest_value_near_the_best():
    rng = np.random.default_rng(0)
    users = rng.normal(scale=1.0, size=400)  # shared: the same users score each
    swing = np.tile([0.02, -0.02], 200)  # 2 against 1, user by user
    scores = np.stack([users, users + 0.5, users + 0.5005 + swing, users + 0.2])
    # 2 is best by 0.0005, within the paired differences' error (0.001).
    assert one_standard_error_choice(scores) == 1
    # 0.01 below the best: far within the users' spread (a standard error of
    # 0.05), but beyond that of the paired differences.
    scores[1] -= 0.01
    assert one_standard_error_choice(scores) == 2


def test_one_standard_error_choice_of_one_sample_is_the_best():
    assert one_standard_error_choice(np.array([[0.1], [0.3], [0.2]])) == 1


def test_one_standard_error_choice_prefers_the_highest_second_criterion_within():
    rng = np.random.default_rng(0)
    users = rng.normal(scale=1.0, size=400)
    swing = np.tile([0.02, -0.02], 200)
    scores = np.stack([users, users + 0.5, users + 0.5005 + swing, users + 0.2])
    # 1 and 2 are within one standard error; 3 (0.3 below) is not.
    assert one_standard_error_choice(scores, prefer=[0.9, 0.1, 0.2, 0.8]) == 2
    assert one_standard_error_choice(scores, prefer=[0.9, 0.3, 0.2, 0.8]) == 1
    assert one_standard_error_choice(scores, prefer=[0.9, 0.3, 0.3, 0.8]) == 1


@pytest.mark.parametrize("shrinkage", [0.0, 3.0])
@pytest.mark.parametrize("k", [2, 50])
def test_cooccurrence_rows_are_the_binary_similarity_of_appended_items(k, shrinkage):
    # Items 0-7 are the columns; items 8-11 come later, known by their users.
    rows, cols, _, shape = _log(seed=4)
    _, rated = cell_means(rows, cols, np.ones(len(rows)), shape)
    whole = residual_similarity(rated, k, shrinkage).toarray()
    old, new = rated[:, :8], rated[:, 8:]
    common = new.T @ old
    users = np.asarray(rated.sum(axis=0)).ravel()
    got = cooccurrence_rows(common, users[8:], users[:8], k, shrinkage).toarray()
    # The appended items' rows of the whole similarity, among the old columns,
    # where it keeps the top k of all columns: equal where both keep a cell.
    expected = whole[8:, :8]
    kept = (expected > 0) & (got > 0)
    np.testing.assert_allclose(got[kept], expected[kept], rtol=1e-12)
    assert kept.sum() > 0
    # With room for every neighbour, every positive cell is kept.
    full = cooccurrence_rows(common, users[8:], users[:8], 50, shrinkage).toarray()
    reference = residual_similarity(rated, 50, shrinkage).toarray()[8:, :8]
    np.testing.assert_allclose(full, reference, rtol=1e-12)
    assert (np.count_nonzero(got, axis=1) <= k).all()
    for row_got, row_full in zip(got, full):  # the k largest of each row
        dropped = row_full[(row_full > 0) & (row_got == 0)]
        assert not len(dropped) or dropped.max() <= row_got[row_got > 0].min()
        np.testing.assert_array_equal(row_got[row_got > 0], row_full[row_got > 0])


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_dense_product_equals_the_sparse_product(seed):
    # Rows with no cells, an inner row with no cells, and a block of users.
    rng = np.random.default_rng(seed)
    rows = sp.random(5, 9, density=0.3, random_state=rng, format="lil")
    rows[1] = 0.0
    matrix = sp.random(9, 7, density=0.4, random_state=rng, format="lil")
    matrix[2] = 0.0
    rows, matrix = rows.tocsr(), matrix.tocsr()
    np.testing.assert_allclose(
        dense_product(rows, matrix), (rows @ matrix).toarray(), rtol=1e-12
    )
    # Past max_cells, the sparse product: the same values.
    np.testing.assert_allclose(
        dense_product(rows, matrix, max_cells=1), (rows @ matrix).toarray()
    )
    empty = dense_product(sp.csr_matrix((3, 9)), matrix)
    assert empty.dtype == np.float64 and empty.tolist() == [[0.0] * 7] * 3
