"""FAISS baselines behind the shared interface, checked against FAISS itself and exact search."""

import numpy as np
import pytest

faiss = pytest.importorskip("faiss")

from zsl_lib.index.exact import exact_topk  # noqa: E402
from zsl_lib.index.faiss_baselines import FaissFlatIP, FaissIVFFlat, FaissLSH  # noqa: E402


def _data(seed=0, n=2000, nq=50, d=16):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, d)).astype(np.float32), rng.standard_normal((nq, d)).astype(
        np.float32
    )


def test_flat_equals_exact_cosine():
    X, Q = _data()
    s, i = FaissFlatIP().fit(X).search(Q, 10)
    s2, i2 = exact_topk(Q, X, 10, "cosine")
    np.testing.assert_array_equal(i, i2)
    np.testing.assert_allclose(s, s2, atol=1e-5)


def test_ivf_candidates_are_probed_lists_and_search_agrees():
    X, Q = _data(1)
    idx = FaissIVFFlat(n_lists=16, n_probe=3).fit(X)
    indptr, cand = idx.candidates(Q)
    invlists = faiss.extract_index_ivf(idx.index_).invlists
    _, probed = idx.quantizer_.search(Q / np.linalg.norm(Q, axis=1, keepdims=True), 3)
    for q in range(len(Q)):
        ref = np.concatenate(
            [
                faiss.rev_swig_ptr(invlists.get_ids(int(lst)), invlists.list_size(int(lst))).copy()
                for lst in probed[q]
            ]
        )
        assert cand[indptr[q] : indptr[q + 1]].tolist() == sorted(ref.tolist())
    # FAISS's search = our cosine ranking of the same candidates
    s, i = idx.search(Q, 5)
    s_ref, i_ref = super(FaissIVFFlat, idx).search(Q, 5)
    np.testing.assert_array_equal(i, i_ref)
    np.testing.assert_allclose(s, s_ref, atol=1e-5)


def test_lsh_candidates_are_hamming_neighbours():
    X, Q = _data(2)
    idx = FaissLSH(n_bits=32, n_candidates=40).fit(X)
    indptr, cand = idx.candidates(Q)
    assert (np.diff(indptr) == 40).all()
    _, ref = idx.index_.search(Q / np.linalg.norm(Q, axis=1, keepdims=True), 40)
    for q in range(len(Q)):
        assert cand[indptr[q] : indptr[q + 1]].tolist() == sorted(ref[q].tolist())
    s, i = idx.search(Q, 5)
    assert np.all(np.diff(s, axis=1) <= 1e-6)


def test_bad_inputs():
    with pytest.raises(ValueError, match="n_probe"):
        FaissIVFFlat(n_lists=4, n_probe=5)
    with pytest.raises(ValueError, match="n_bits"):
        FaissLSH(n_bits=0)
    X, Q = _data(n=100)
    with pytest.raises(ValueError, match="k must"):
        FaissFlatIP().fit(X).search(Q, 101)
