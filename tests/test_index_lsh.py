"""Random-hyperplane LSH against a dictionary-based reference and the SimHash collision law."""

import numpy as np
import pytest

from zsl_lib.index.lsh import RandomHyperplaneLSH


def _data(seed=0, n=400, nq=30, d=12):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, d)).astype(np.float32), rng.standard_normal((nq, d)).astype(
        np.float32
    )


def test_candidates_match_dictionary_reference():
    X, Q = _data()
    lsh = RandomHyperplaneLSH(n_bits=4, n_tables=3, random_state=5).fit(X)
    W = lsh.hyperplanes_
    tables = []
    for t in range(3):
        d = {}
        for i, x in enumerate(X):
            d.setdefault(tuple(x @ W[:, t * 4 : (t + 1) * 4] > 0), set()).add(i)
        tables.append(d)
    indptr, idx = lsh.candidates(Q)
    for q, x in enumerate(Q):
        ref = set().union(
            *(tables[t].get(tuple(x @ W[:, t * 4 : (t + 1) * 4] > 0), set()) for t in range(3))
        )
        assert idx[indptr[q] : indptr[q + 1]].tolist() == sorted(ref)


def test_search_ranks_candidates_by_cosine():
    X, Q = _data(1)
    lsh = RandomHyperplaneLSH(n_bits=3, n_tables=2, random_state=0, batch_size=7).fit(X)
    scores, ids = lsh.search(Q, 5)
    indptr, cand = lsh.candidates(Q)
    Xn = X / np.linalg.norm(X, axis=1, keepdims=True)
    for q in range(len(Q)):
        c = cand[indptr[q] : indptr[q + 1]]
        cos = Xn[c] @ (Q[q] / np.linalg.norm(Q[q]))
        ref = c[np.argsort(-cos, kind="stable")][:5]
        got = ids[q][ids[q] >= 0]
        np.testing.assert_array_equal(got, ref)
        np.testing.assert_allclose(scores[q, : len(got)], np.sort(cos)[::-1][:5], rtol=1e-5)


def test_collision_probability_follows_simhash():
    # P[same bit] = 1 - angle / pi for one random hyperplane
    rng = np.random.default_rng(0)
    x = np.array([[1.0, 0.0]], dtype=np.float32)
    angle = 1.0
    y = np.array([[np.cos(angle), np.sin(angle)]], dtype=np.float32)
    lsh = RandomHyperplaneLSH(n_bits=1, n_tables=4000, random_state=int(rng.integers(1000))).fit(x)
    same = (lsh.hash(x) == lsh.hash(y)).mean()
    assert same == pytest.approx(1 - angle / np.pi, abs=0.03)


def test_long_codes_and_determinism():
    X, Q = _data(2)
    a = RandomHyperplaneLSH(n_bits=100, n_tables=2, random_state=3).fit(X)
    b = RandomHyperplaneLSH(n_bits=100, n_tables=2, random_state=3).fit(X)
    ia, ca = a.candidates(np.vstack([X[:5], Q]))
    ib, cb = b.candidates(np.vstack([X[:5], Q]))
    np.testing.assert_array_equal(ca, cb)
    for q in range(5):  # a gallery item always finds itself
        assert q in ca[ia[q] : ia[q + 1]]


def test_bad_inputs():
    X, Q = _data()
    with pytest.raises(ValueError, match="n_bits"):
        RandomHyperplaneLSH(n_bits=0)
    with pytest.raises(RuntimeError, match="fit"):
        RandomHyperplaneLSH().candidates(Q)
    lsh = RandomHyperplaneLSH().fit(X)
    with pytest.raises(ValueError, match="features"):
        lsh.search(Q[:, :3], 2)
    with pytest.raises(ValueError, match="k must"):
        lsh.search(Q, 0)
