"""Neighbour search, 1-NN, ML-kNN and explanations against naive per-query references."""

import numpy as np
import pytest

from zsl_lib.zeroshot.neighbors import MLkNN, NeighborSearch, OneNearestNeighbor, exact_top_k


def _data(n_ref=120, n_q=30, d=16, C=7, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n_ref, d)).astype(np.float32)
    Q = rng.normal(size=(n_q, d)).astype(np.float32)
    Y = (rng.random((n_ref, C)) < 0.3).astype(np.int8)
    Y[np.arange(n_ref), rng.integers(0, C, n_ref)] = 1
    return X, Y, Q


def naive_neighbor_search(X, Y, q, T, diff, kmax, stop=0.99, self_idx=-1):
    """The thesis's procedure written out for one query with Python loops."""
    Xn = X / np.linalg.norm(X, axis=1, keepdims=True)
    qn = q / np.linalg.norm(q)
    sims = Xn @ qn
    order = [i for i in np.argsort(-sims, kind="stable") if i != self_idx][:kmax]
    scores = [T * sims[i] for i in order]
    kept = [(i, s) for i, s in zip(order, scores) if s >= scores[0] - diff]
    m = max(s for _, s in kept)
    ex = np.array([np.exp(s - m) for _, s in kept])
    w = ex / ex.sum()
    out = np.zeros(Y.shape[1])
    cum = 0.0
    for (i, _), wi in zip(kept, w):
        if cum >= stop:
            break
        out += wi * Y[i]
        cum += wi
    return out


@pytest.mark.parametrize("backend", ["torch", "faiss", "numpy"])
@pytest.mark.parametrize("T,diff,kmax", [(10.0, 3.0, 20), (100.0, 7.0, 200), (0.0, 1.0, 5), (30.0, 0.5, 1)])
def test_neighbor_search_matches_naive_loop(backend, T, diff, kmax):
    X, Y, Q = _data()
    m = NeighborSearch(T, diff, kmax, backend=backend, chunk_size=7).fit(X, Y)
    P = m.predict_proba(Q)
    ref = np.stack([naive_neighbor_search(X, Y, q, T, diff, kmax) for q in Q])
    np.testing.assert_allclose(P, ref, atol=1e-5)
    assert P.dtype == np.float32 and P.min() >= 0 and P.max() <= 1


def test_stop_weight_drops_tail():
    X, Y, Q = _data()
    full = NeighborSearch(5.0, 8.0, 100, stop_weight=1.0).fit(X, Y)
    stop = NeighborSearch(5.0, 8.0, 100, stop_weight=0.5).fit(X, Y)
    n_full = (full.kneighbors(Q)[0] >= 0).sum(1)
    n_stop = (stop.kneighbors(Q)[0] >= 0).sum(1)
    assert (n_stop <= n_full).all() and (n_stop < n_full).any()
    np.testing.assert_allclose(
        stop.predict_proba(Q), np.stack([naive_neighbor_search(X, Y, q, 5.0, 8.0, 100, 0.5) for q in Q]), atol=1e-5)


def test_self_exclusion():
    X, Y, _ = _data()
    m = NeighborSearch(50.0, 5.0, 10).fit(X, Y)
    ids, w, _ = m.kneighbors(X[:20], self_index=np.arange(20))
    assert not (ids == np.arange(20)[:, None]).any()
    with_self = m.kneighbors(X[:20])[0]
    assert (with_self[:, 0] == np.arange(20)).all()
    P = m.predict_proba(X[:20], self_index=np.arange(20))
    ref = np.stack([naive_neighbor_search(X, Y, X[i], 50.0, 5.0, 10, self_idx=i) for i in range(20)])
    np.testing.assert_allclose(P, ref, atol=1e-5)


def test_one_nn_copies_labels_of_nearest():
    X, Y, Q = _data()
    P = OneNearestNeighbor().fit(X, Y).predict_proba(Q)
    Xn = X / np.linalg.norm(X, axis=1, keepdims=True)
    nn = np.argmax(Q @ Xn.T / np.linalg.norm(Q, axis=1, keepdims=True), axis=1)
    np.testing.assert_array_equal(P, Y[nn])


def test_exact_top_k_backends_agree():
    X, _, Q = _data(n_ref=300, n_q=50)
    a = exact_top_k(Q, X, 10, backend="faiss")
    for other in ("numpy", "torch"):
        b = exact_top_k(Q, X, 10, backend=other, chunk_size=13)
        np.testing.assert_array_equal(a[1], b[1])
        np.testing.assert_allclose(a[0], b[0], rtol=1e-5)


def test_explain_lists_contributors_with_weights_and_labels():
    X, Y, Q = _data()
    names = [f"k{i}" for i in range(Y.shape[1])]
    m = NeighborSearch(20.0, 4.0, 30).fit(X, Y)
    df = m.explain(Q[:3], names, top=5)
    assert set(df.columns) == {"query", "rank", "reference_index", "cosine", "weight", "labels"}
    ids, w, _ = m.kneighbors(Q[:3])
    for _, r in df.iterrows():
        assert r.weight == pytest.approx(w[r.query, r["rank"] - 1])
        assert r.labels == ", ".join(n for n, y in zip(names, Y[r.reference_index]) if y)
    assert df.groupby("query").weight.apply(lambda s: (np.diff(s.values) <= 1e-7).all()).all()


def test_mlknn_matches_naive():
    X, Y, Q = _data(n_ref=80, n_q=10, C=4)
    k, s = 5, 1.0
    m = MLkNN(k=k, s=s).fit(X, Y)
    P = m.predict_proba(Q)
    Xn = X / np.linalg.norm(X, axis=1, keepdims=True)
    S = Xn @ Xn.T
    np.fill_diagonal(S, -np.inf)
    nbr = np.argsort(-S, axis=1)[:, :k]
    Qn = Q / np.linalg.norm(Q, axis=1, keepdims=True)
    qn = np.argsort(-(Qn @ Xn.T), axis=1)[:, :k]
    for c in range(Y.shape[1]):
        prior = (s + Y[:, c].sum()) / (2 * s + len(Y))
        cnt = Y[nbr, c].sum(1)
        for qi in range(len(Q)):
            j = Y[qn[qi], c].sum()
            l1 = (s + np.sum((Y[:, c] == 1) & (cnt == j))) / (s * (k + 1) + (Y[:, c] == 1).sum())
            l0 = (s + np.sum((Y[:, c] == 0) & (cnt == j))) / (s * (k + 1) + (Y[:, c] == 0).sum())
            assert P[qi, c] == pytest.approx(prior * l1 / (prior * l1 + (1 - prior) * l0), rel=1e-5)


def test_bad_inputs_give_clear_errors():
    X, Y, Q = _data()
    Y0 = Y.copy()
    Y0[3] = 0
    with pytest.raises(ValueError, match=r"1 of \d+ items have no labels.*drop_unlabelled"):
        NeighborSearch().fit(X, Y0)
    with pytest.raises(ValueError, match="Q has 5 features but the model was fitted on"):
        NeighborSearch().fit(X, Y).predict_proba(Q[:, :5])
    with pytest.raises(ValueError, match="max_neighbors"):
        NeighborSearch(max_neighbors=0).fit(X, Y)
    with pytest.raises(ValueError, match="NaN"):
        NeighborSearch().fit(X, Y).predict_proba(np.full_like(Q, np.nan))
    with pytest.raises(ValueError, match="only 0 and 1"):
        NeighborSearch().fit(X, Y * 2)
    with pytest.raises(ValueError, match="temperature"):
        NeighborSearch(temperature=-1.0).fit(X, Y)
    with pytest.raises(ValueError, match="stop_weight"):
        NeighborSearch(stop_weight=0.0).fit(X, Y)
    with pytest.raises(ValueError, match="unknown backend 'gpu'"):
        NeighborSearch(backend="gpu").fit(X, Y)
    with pytest.raises(ValueError, match="X has values up to .*overflow float32"):
        NeighborSearch().fit(X * 1e20, Y)


def test_drop_unlabelled_makes_a_valid_reference_set():
    from zsl_lib.zeroshot.multilabel_prep import drop_unlabelled

    X, Y, Q = _data()
    Y0 = Y.copy()
    Y0[[3, 7]] = 0
    X1, Y1, keep = drop_unlabelled(X, Y0)
    np.testing.assert_array_equal(keep, np.delete(np.arange(len(X)), [3, 7]))
    np.testing.assert_array_equal(X1, X[keep])
    np.testing.assert_array_equal(Y1, Y0[keep])
    ref = NeighborSearch().fit(X[keep], Y[keep]).predict_proba(Q)
    np.testing.assert_allclose(NeighborSearch().fit(X1, Y1).predict_proba(Q), ref)
