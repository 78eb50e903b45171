"""Retrieval metrics against naive loops and scikit-learn."""

import numpy as np
import pytest
from sklearn.metrics import average_precision_score

from zsl_lib.metrics import retrieval as R


def _naive_ap(rel, n_rel):
    hits, total = 0, 0.0
    for i, r in enumerate(rel, 1):
        if r:
            hits += 1
            total += hits / i
    return total / n_rel if n_rel else 0.0


def test_precision_and_ap_dense_vs_naive():
    rng = np.random.default_rng(0)
    rel = rng.random((50, 30)) > 0.6
    for k in (1, 10, 30):
        assert R.precision_at_k(rel, k) == pytest.approx(np.mean([r[:k].sum() / k for r in rel]))
    ap = R.average_precision(rel, average=False)
    np.testing.assert_allclose(ap, [_naive_ap(r, r.sum()) for r in rel])
    n_rel = rel.sum(1) + 5
    np.testing.assert_allclose(
        R.average_precision(rel, n_rel, average=False),
        [_naive_ap(r, n) for r, n in zip(rel, n_rel)],
    )


def test_ap_over_retrieved_list_equals_sklearn():
    rng = np.random.default_rng(1)
    for _ in range(20):
        rel = rng.random(25) > 0.5
        if not rel.any():
            continue
        ref = average_precision_score(rel, -np.arange(25))  # ranked list: score decreases with rank
        assert R.average_precision(rel[None], average=True) == pytest.approx(ref)


def test_full_ranking_ap_equals_sklearn():
    rng = np.random.default_rng(2)
    X = rng.standard_normal((300, 8)).astype(np.float32)
    Q = rng.standard_normal((20, 8)).astype(np.float32)
    gy, qy = rng.integers(0, 4, 300), rng.integers(0, 4, 20)
    ap = R.full_ranking_average_precision(Q, X, qy, gy, chunk_rows=7, average=False)
    Xn = X / np.linalg.norm(X, axis=1, keepdims=True)
    for q in range(20):
        ref = average_precision_score(gy == qy[q], Xn @ Q[q])
        assert ap[q] == pytest.approx(ref, rel=1e-6)


def test_csr_metrics_match_dense():
    rng = np.random.default_rng(3)
    lengths = rng.integers(0, 15, 40)
    indptr = np.concatenate([[0], np.cumsum(lengths)])
    rel = rng.random(indptr[-1]) > 0.5
    dense = np.zeros((40, 15), bool)
    for q in range(40):
        dense[q, : lengths[q]] = rel[indptr[q] : indptr[q + 1]]
    for k in (1, 5, 10):
        np.testing.assert_allclose(
            R.csr_precision_at_k(indptr, rel, k), R.precision_at_k(dense, k, average=False)
        )
    np.testing.assert_allclose(
        R.csr_average_precision(indptr, rel), R.average_precision(dense, average=False)
    )
    n_rel = dense.sum(1) + 2
    np.testing.assert_allclose(
        R.csr_average_precision(indptr, rel, n_rel),
        R.average_precision(dense, n_rel, average=False),
    )
    assert R.candidates_per_query(indptr) == pytest.approx(lengths.mean())


def test_label_relevance_and_csr_relevance():
    ids = np.array([[0, 2, -1], [1, 1, 3]])
    rel = R.label_relevance(np.array([5, 7]), np.array([5, 7, 5, 7]), ids)
    assert rel.tolist() == [[True, True, False], [True, True, True]]
    crel = R.csr_label_relevance(
        np.array([0, 2, 5]), np.array([0, 2, 1, 1, 3]), np.array([5, 7]), np.array([5, 7, 5, 7])
    )
    assert crel.tolist() == [True, True, True, True, True]


def test_recall_at_k_vs_naive():
    rng = np.random.default_rng(4)
    true = np.stack([rng.permutation(50)[:10] for _ in range(30)])
    found = np.stack([rng.permutation(50)[:10] for _ in range(30)])
    found[:5, 7:] = -1
    ref = np.mean([len(set(t) & set(f[f >= 0])) / 10 for t, f in zip(true, found)])
    assert R.recall_at_k(found, true) == pytest.approx(ref)
    assert R.recall_at_k(true, true) == 1.0


def test_bad_inputs():
    with pytest.raises(ValueError, match="2-D"):
        R.precision_at_k(np.ones(5, bool), 1)
    with pytest.raises(ValueError, match="k must be an integer >= 1"):
        R.precision_at_k(np.ones((2, 5), bool), 0)
    with pytest.raises(ValueError, match="k must be an integer >= 1"):
        R.csr_precision_at_k(np.array([0, 1]), np.ones(1, bool), 0)
    with pytest.raises(ValueError, match="n_relevant"):
        R.average_precision(np.ones((2, 5), bool), np.ones(3))
    with pytest.raises(ValueError, match="indptr"):
        R.csr_precision_at_k(np.array([1, 2]), np.ones(1, bool), 1)
    with pytest.raises(ValueError, match="gallery has"):
        R.label_relevance(np.array([0]), np.array([0, 1]), np.array([[5]]))


def test_ap_from_unsorted_scores_matches_sorted():
    rng = np.random.default_rng(5)
    lengths = rng.integers(0, 40, 30)
    indptr = np.concatenate([[0], np.cumsum(lengths)])
    scores = rng.uniform(-1, 1, indptr[-1]).astype(np.float32)
    rel = rng.random(indptr[-1]) > 0.6
    order = np.concatenate(
        [indptr[q] + np.argsort(-scores[indptr[q] : indptr[q + 1]]) for q in range(30)]
    ).astype(int)
    ref = R.csr_average_precision(indptr, rel[order])
    np.testing.assert_allclose(R.csr_average_precision_scored(indptr, scores, rel), ref)
    n_rel = np.bincount(np.repeat(np.arange(30), lengths), weights=rel, minlength=30) + 3
    np.testing.assert_allclose(
        R.csr_average_precision_scored(indptr, scores, rel, n_rel),
        R.csr_average_precision(indptr, rel[order], n_rel),
    )
