"""Exact top-k against a full sort and FAISS IndexFlat."""

import numpy as np
import pytest

from zsl_lib.index.exact import ExactIndex, exact_topk, topk_rows


def _data(nq=37, n=1500, d=16, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((nq, d)).astype(np.float32), rng.standard_normal((n, d)).astype(
        np.float32
    )


@pytest.mark.parametrize("select", ["threshold", "argpartition"])
@pytest.mark.parametrize("k", [1, 5, 10])
def test_topk_rows_matches_full_sort(select, k):
    S = np.random.default_rng(1).standard_normal((50, 3000)).astype(np.float32)
    vals, cols = topk_rows(S, k, select=select)
    ref = np.argsort(-S, axis=1, kind="stable")[:, :k]
    np.testing.assert_array_equal(cols, ref)
    np.testing.assert_array_equal(vals, np.take_along_axis(S, ref, axis=1))
    assert vals.dtype == np.float32 and cols.dtype == np.int64


def test_topk_rows_with_ties_falls_back():
    S = np.zeros((4, 5000), dtype=np.float32)
    S[1, 17] = 1.0
    S[2] = np.random.default_rng(0).standard_normal(5000)
    vals, cols = topk_rows(S, 3)
    np.testing.assert_array_equal(vals[0], 0.0)
    assert len(set(cols[0])) == 3
    assert cols[1, 0] == 17 and vals[1, 0] == 1.0
    np.testing.assert_array_equal(cols[2], np.argsort(-S[2])[:3])


@pytest.mark.parametrize("metric", ["ip", "cosine", "l2"])
def test_exact_topk_matches_naive(metric):
    Q, X = _data()
    scores, ids = exact_topk(Q, X, 7, metric, chunk_rows=10)
    if metric == "ip":
        S = Q @ X.T
    elif metric == "cosine":
        S = (Q / np.linalg.norm(Q, axis=1, keepdims=True)) @ (
            X / np.linalg.norm(X, axis=1, keepdims=True)
        ).T
    else:
        S = -((Q[:, None, :] - X[None]) ** 2).sum(-1)
    ref = np.argsort(-S, axis=1)[:, :7]
    np.testing.assert_array_equal(ids, ref)
    expect = np.take_along_axis(S, ref, axis=1)
    np.testing.assert_allclose(scores, -expect if metric == "l2" else expect, rtol=1e-4, atol=1e-4)


def test_exact_topk_agrees_with_faiss():
    faiss = pytest.importorskip("faiss")
    Q, X = _data(nq=200, n=4000, d=32, seed=3)
    index = faiss.IndexFlatIP(32)
    index.add(X)
    D, ref_ids = index.search(Q, 10)
    scores, ids = exact_topk(Q, X, 10)
    np.testing.assert_array_equal(ids, ref_ids)
    np.testing.assert_allclose(scores, D, rtol=1e-5, atol=1e-4)


def test_exact_index_interface():
    Q, X = _data(nq=5, n=100)
    idx = ExactIndex().fit(X)
    indptr, cand = idx.candidates(Q)
    assert indptr.tolist() == [0, 100, 200, 300, 400, 500]
    np.testing.assert_array_equal(cand[100:200], np.arange(100))
    s, i = idx.search(Q, 3)
    np.testing.assert_array_equal(i, exact_topk(Q, X, 3, "cosine")[1])


def test_exact_topk_bad_inputs():
    Q, X = _data(nq=3, n=20)
    with pytest.raises(ValueError, match="k must be"):
        exact_topk(Q, X, 21)
    with pytest.raises(ValueError, match="metric"):
        exact_topk(Q, X, 2, "hamming")
    with pytest.raises(ValueError, match="features"):
        exact_topk(Q[:, :5], X, 2)
    with pytest.raises(ValueError, match="NaN"):
        exact_topk(np.full_like(Q, np.nan), X, 2)
    with pytest.raises(ValueError, match="2-D"):
        exact_topk(Q[0], X, 2)
    with pytest.raises(RuntimeError, match="fit"):
        ExactIndex().search(Q, 1)


@pytest.mark.parametrize("scale", [1e20, 1e30])
def test_exact_topk_rejects_finite_but_huge_features(scale):
    """Squared norms of such rows leave float32 range (inf/NaN scores, wrong ids): refused."""
    Q, X = _data(nq=3, n=20)
    with pytest.raises(ValueError, match=r"X \(gallery\) has values up to .*Scale the features"):
        exact_topk(Q, X * scale, 2, "l2")
    with pytest.raises(ValueError, match=r"Q \(queries\) has values up to .*overflow float32"):
        exact_topk(Q * scale, X, 2, "cosine")
    with pytest.raises(ValueError, match="values up to"):
        ExactIndex().fit(X * scale)


def test_l2_normalize_shared_by_every_index():
    """validation.l2_normalize: bit for bit X / ||X|| in float32 on ordinary rows (the lab's
    recorded numbers depend on it), unit rows for huge or tiny ones, zero rows stay zero."""
    from zsl_lib.validation import l2_normalize

    rng = np.random.default_rng(0)
    X = rng.standard_normal((50, 300)).astype(np.float32)
    np.testing.assert_array_equal(l2_normalize(X), X / np.linalg.norm(X, axis=1, keepdims=True))
    odd = np.array([[3e30, 4e30], [3e-30, 4e-30], [0.0, 0.0]])
    out = l2_normalize(odd)
    np.testing.assert_allclose(out, [[0.6, 0.8], [0.6, 0.8], [0, 0]], rtol=1e-6)
    assert out.dtype == np.float32
    np.testing.assert_allclose(l2_normalize(odd, dtype=np.float64), [[0.6, 0.8], [0.6, 0.8], [0, 0]])
    # cosine search on huge rows is refused by exact_topk, but their normalised form ranks right
    s, i = exact_topk(l2_normalize(odd[:2]), l2_normalize(X[:, :2] * 1e30), 1, "ip")
    assert np.isfinite(s).all()
