"""BLISS index: greedy re-assignment against the official sequential loop, candidates and search
against naive references, history, bad inputs."""

from __future__ import annotations

import numpy as np
import pytest

from zsl_lib.index.bliss import BLISS, greedy_assign, true_neighbors
from zsl_lib.index.bliss_fixed import FIXED_DEFAULTS, fixed_bliss
from zsl_lib.index.buckets import rerank_topk
from zsl_lib.index.exact import exact_topk

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def official_greedy(scores, k):
    """The official train.py loop: items in order, least loaded of the top-k, loads from zero."""
    R, n, B = scores.shape
    out = np.zeros((R, n), dtype=int)
    for r in range(R):
        counts = np.zeros(B + 1, dtype=int)
        top = np.argsort(-scores[r], axis=1, kind="stable")[:, :k]
        for i in range(n):
            bucket = top[i, np.argmin(counts[top[i] + 1])]
            out[r, i] = bucket
            counts[bucket + 1] += 1
    return out


def naive_k_least_loaded(scores, k):
    R, n, B = scores.shape
    out = np.zeros((R, n), dtype=int)
    for r in range(R):
        counts = np.zeros(B, dtype=int)
        for i in range(n):
            lo = np.argsort(counts, kind="stable")[:k]
            out[r, i] = lo[np.argmax(scores[r, i, lo])]
            counts[out[r, i]] += 1
    return out


def naive_chunked_greedy(scores, k, rule, capacity, load_penalty, chunk, order):
    """The chunked pass as plain loops: the items of a chunk rank the buckets by their (penalised)
    scores with a full stable sort and see the loads of the chunk start."""
    R, n, B = scores.shape
    cap = None if capacity is None else int(np.ceil(capacity * n / B))
    out = np.zeros((R, n), dtype=int)
    for r in range(R):
        loads = np.zeros(B, dtype=int)
        for s in range(0, n, chunk):
            items = order[s : s + chunk]
            start = loads.copy()
            mean = max(s / B, 1.0)
            for i in items:
                sc = scores[r, i].astype(np.float64) - load_penalty * (start / mean - 1.0)
                rank = np.argsort(-sc, kind="stable")
                is_open = np.ones(B, bool) if cap is None else start < cap
                if rule == "least_loaded_of_topk":
                    choices = [b for b in rank[:k] if is_open[b]]
                    if choices:
                        out[r, i] = min(choices, key=lambda b: start[b])  # min keeps the first (better-ranked)
                    else:
                        opened = [b for b in rank if is_open[b]]
                        out[r, i] = opened[0] if opened else rank[0]
                else:
                    lo = np.argsort(start, kind="stable")[:k]
                    vals = [sc[b] if is_open[b] else -np.inf for b in lo]
                    out[r, i] = lo[int(np.argmax(vals))]
            for i in items:
                loads[out[r, i]] += 1
    return out


@pytest.fixture(scope="module")
def blobs():
    rng = np.random.default_rng(0)
    means = rng.uniform(-10, 10, (4, 2))
    y = np.repeat(np.arange(4), 32)
    X = (means[y] + rng.normal(size=(128, 2))).astype(np.float32)
    return X, y


def test_greedy_matches_official_loop():
    rng = np.random.default_rng(1)
    scores = rng.normal(size=(3, 200, 12)).astype(np.float32)
    np.testing.assert_array_equal(greedy_assign(scores, 4, chunk_size=1), official_greedy(scores, 4))
    np.testing.assert_array_equal(greedy_assign(scores, 3, "k_least_loaded"), naive_k_least_loaded(scores, 3))


@pytest.mark.parametrize("rule", ["least_loaded_of_topk", "k_least_loaded"])
@pytest.mark.parametrize("capacity, load_penalty, chunk", [(None, 0.0, 7), (1.05, 0.0, 1), (1.0, 0.0, 16),
                                                           (1.2, 0.7, 5), (None, 1.5, 1)])
def test_compiled_greedy_matches_naive_chunked_loop(rule, capacity, load_penalty, chunk):
    """The compiled pass (one insertion pass for the top k, loads frozen per chunk) against full
    sorts in plain loops, with score ties (rounded scores), capacities, penalties and an item order."""
    rng = np.random.default_rng(7)
    for scores in (rng.normal(size=(2, 150, 9)).astype(np.float32),
                   np.round(rng.normal(size=(2, 150, 9))).astype(np.float32)):
        order = rng.permutation(150)
        for k in (1, 3, 9):
            got = greedy_assign(scores, k, rule, capacity, load_penalty, chunk, order)
            np.testing.assert_array_equal(got, naive_chunked_greedy(scores, k, rule, capacity, load_penalty, chunk, order))


def test_greedy_rejects_an_order_that_is_not_a_permutation():
    scores = np.zeros((1, 5, 3), np.float32)
    with pytest.raises(ValueError, match="permutation of 0..4"):
        greedy_assign(scores, 2, order=np.array([0, 1, 1, 2, 3]))


def test_greedy_identical_topk_collapses_to_k_buckets():
    """The bias in one line: when every item ranks the buckets the same way, the greedy pass
    spreads the items evenly over exactly K buckets."""
    scores = np.tile(np.arange(20, dtype=np.float32)[None, None, :], (2, 128, 1))
    a = greedy_assign(scores, 4)
    for row in a:
        assert set(np.unique(row)) == {16, 17, 18, 19}
        assert np.bincount(row).max() == 32


def test_greedy_capacity_bounds_load():
    scores = np.tile(np.arange(20, dtype=np.float32)[None, None, :], (1, 128, 1))
    a = greedy_assign(scores, 4, capacity=1.05)
    loads = np.bincount(a[0], minlength=20)
    assert loads.max() <= np.ceil(1.05 * 128 / 20)
    assert (loads > 0).sum() >= 18
    # chunked pass: same loads bound up to the chunk size
    a2 = greedy_assign(scores, 4, capacity=1.05, chunk_size=4)
    assert np.bincount(a2[0], minlength=20).max() <= np.ceil(1.05 * 128 / 20) + 4


def test_true_neighbors_against_brute_force(blobs):
    X, _ = blobs
    nb = true_neighbors(X, 5, "mse")
    D = ((X[:, None] - X[None]) ** 2).sum(-1)
    ref = np.argsort(D, axis=1, kind="stable")[:, :5]
    assert (nb[:, 0] == np.arange(len(X))).all()
    np.testing.assert_allclose(np.take_along_axis(D, nb, 1), np.take_along_axis(D, ref, 1), rtol=1e-5, atol=1e-5)
    nbc = true_neighbors(X, 3, "cosine")
    Xn = X / np.linalg.norm(X, axis=1, keepdims=True)
    S = Xn @ Xn.T
    np.testing.assert_allclose(np.sort(np.take_along_axis(S, nbc, 1), 1), np.sort(np.sort(S, 1)[:, -3:], 1), atol=1e-5)


def test_true_neighbors_of_some_rows_are_those_rows_of_the_full_graph(blobs):
    X, _ = blobs
    rows = np.array([3, 0, 77, 127])
    for distance in ("mse", "cosine"):
        np.testing.assert_array_equal(true_neighbors(X, 6, distance, rows=rows), true_neighbors(X, 6, distance)[rows])
    with pytest.raises(ValueError, match="distinct row numbers"):
        true_neighbors(X, 3, rows=np.array([1, 1]))
    with pytest.raises(ValueError, match="distinct row numbers"):
        true_neighbors(X, 3, rows=np.array([128]))


def test_train_size_trains_on_a_sample_and_assigns_every_item(blobs):
    """``train_size`` (int or fraction): the networks and k-means starts see a sorted random sample,
    its neighbours are the rows of the full graph, every item still gets a bucket; the fit is
    deterministic and differs from the full-gallery fit."""
    X, _ = blobs
    kw = dict(epochs=2, n_buckets=8, random_state=1, assign_init="faiss_kmeans")
    a = BLISS(train_size=0.5, **kw).fit(X)
    b = BLISS(train_size=64, **kw).fit(X)
    assert len(a.train_rows_) == 64 and (np.diff(a.train_rows_) > 0).all()
    np.testing.assert_array_equal(a.train_rows_, b.train_rows_)
    np.testing.assert_array_equal(a.assignments_, b.assignments_)
    np.testing.assert_array_equal(a.neighbors_, true_neighbors(X, 8, "mse")[a.train_rows_])
    assert a.assignments_.shape == (4, 128) and (a.loads_.sum(1) == 128).all()
    full = BLISS(**kw).fit(X)
    assert len(full.train_rows_) == 128 and (full.assignments_ != a.assignments_).any()
    assert (BLISS(train_size=1.0, **kw).fit(X).assignments_ == full.assignments_).all()
    assert (BLISS(train_size=500, **kw).fit(X).assignments_ == full.assignments_).all()  # capped at n


def test_record_history_off_leaves_the_fit_unchanged(blobs):
    X, _ = blobs
    a = BLISS(epochs=4, random_state=2).fit(X)
    b = BLISS(epochs=4, random_state=2, record_history=False).fit(X)
    np.testing.assert_array_equal(a.assignments_, b.assignments_)
    assert len(a.history_.loss) == 5 and b.history_.loss == [] and b.history_.as_dict()["loads"].size == 0


def test_fit_history_and_determinism(blobs):
    X, _ = blobs
    kw = dict(epochs=4, epochs_per_balance=2, random_state=3)
    a = BLISS(**kw).fit(X)
    b = BLISS(**kw).fit(X)
    np.testing.assert_array_equal(a.assignments_, b.assignments_)
    h = a.history_.as_dict()
    assert h["loss"].shape == (5,) and np.isnan(h["loss"][0]) and np.isfinite(h["loss"][1:]).all()
    assert h["loads"].shape == (5, 4, 20)
    assert (h["loads"].sum(2) == len(X)).all()
    assert h["topk_counts"].shape == (5, 4, 20) and (h["topk_counts"].sum(2) == len(X) * 4).all()
    assert h["reassigned"].tolist() == [False, False, True, False, True]
    assert a.assignments_.shape == (4, 128) and a.assignments_.dtype == np.int64
    assert (a.loads_ == np.stack([np.bincount(r, minlength=20) for r in a.assignments_])).all()


@pytest.mark.parametrize("variant", [dict(loss="triplet"), dict(init="kaiming"), dict(init="official"),
                                     dict(rebalance="k_least_loaded"), dict(distance="cosine"),
                                     dict(assign_init="balanced_random", load_penalty=1.0)])
def test_variants_fit(blobs, variant):
    X, _ = blobs
    m = BLISS(epochs=2, **variant).fit(X)
    assert m.assignments_.shape == (4, 128)
    assert np.isfinite(m.history_.as_dict()["logit_norm"]).all()


def test_candidates_and_search_against_naive(blobs):
    X, _ = blobs
    m = BLISS(epochs=4, n_rerank=None, min_freq=2, random_state=0).fit(X)
    Q = X[:10] + 0.1
    tb = m.top_buckets(Q)  # (nq, R, M)
    indptr, idx = m.candidates(Q)
    for q in range(len(Q)):
        freq = np.zeros(len(X), int)
        for r in range(m.n_repetitions):
            freq += np.isin(m.assignments_[r], tb[q, r])
        expect = set(np.where(freq >= 2)[0])
        assert set(idx[indptr[q] : indptr[q + 1]]) == expect
    s, ids = m.search(Q, 3)
    for q in range(len(Q)):
        cand = idx[indptr[q] : indptr[q + 1]]
        if len(cand) == 0:
            assert (ids[q] == -1).all()
            continue
        d = ((X[cand] - Q[q]) ** 2).sum(1)
        best = cand[np.argsort(d, kind="stable")[:3]]
        np.testing.assert_allclose(np.sort(d)[: len(best)], -s[q, : len(best)], rtol=1e-4, atol=1e-4)
        assert set(ids[q, : len(best)]) == set(best)


def test_n_rerank_keeps_most_frequent(blobs):
    X, _ = blobs
    m = BLISS(epochs=2, n_rerank=5).fit(X)
    indptr, _ = m.candidates(X[:7])
    assert (np.diff(indptr) <= 5).all()


def test_rerank_topk_padding():
    X = np.eye(4, dtype=np.float32)
    Q = np.array([[1, 0, 0, 0], [0, 0, 0, 1]], dtype=np.float32)
    s, i = rerank_topk(Q, X, np.array([0, 3, 3]), np.array([1, 0, 2]), k=2)
    assert i.tolist() == [[0, 1], [-1, -1]]
    assert s[0, 0] == 1 and np.isneginf(s[1]).all()


@pytest.mark.parametrize("chunk_cells", [8_000_000, 50])
def test_rerank_topk_matches_naive_ranking_with_ties(chunk_cells):
    """BLISS re-ranks with the bucket module's scoring: best first, exact ties to the lower id,
    whatever the order of the candidates (integer vectors: every product exact, many ties)."""
    rng = np.random.default_rng(3)
    X = rng.integers(-2, 3, size=(60, 4)).astype(np.float32)
    Q = rng.integers(-2, 3, size=(9, 4)).astype(np.float32)
    counts = rng.integers(0, 40, size=9)
    counts[2] = 3  # fewer candidates than k: padded
    lists = [rng.permutation(60)[:c] for c in counts]  # candidates in arbitrary order
    indptr = np.r_[0, np.cumsum(counts)].astype(np.int64)
    s, i = rerank_topk(Q, X, indptr, np.concatenate(lists).astype(np.int64), k=5,
                       chunk_cells=chunk_cells)
    for q, cand in enumerate(lists):
        ranked = sorted(cand.tolist(), key=lambda j: (-float(Q[q] @ X[j]), j))[:5]
        assert i[q, : len(ranked)].tolist() == ranked
        assert s[q, : len(ranked)].tolist() == [float(Q[q] @ X[j]) for j in ranked]
        assert (i[q, len(ranked):] == -1).all() and np.isneginf(s[q, len(ranked):]).all()


@pytest.mark.parametrize("distance", ["cosine", "mse"])
def test_search_with_every_bucket_probed_is_exact_search(blobs, distance):
    X, _ = blobs
    m = BLISS(epochs=2, distance=distance, n_rerank=None).fit(X)
    Q = X[:15] + 0.05
    s, ids = m.search(Q, 4, m=m.n_buckets, min_freq=1)
    metric = "cosine" if distance == "cosine" else "l2"
    es, eids = exact_topk(Q, X, 4, metric)
    np.testing.assert_array_equal(ids, eids)
    np.testing.assert_allclose(s, es if distance == "cosine" else -es, rtol=1e-4, atol=1e-4)


def test_huge_features_are_rejected_not_ranked_wrong(blobs):
    X, _ = blobs
    with pytest.raises(ValueError, match=r"X has values up to .*e\+21.*Scale the features"):
        BLISS(epochs=1).fit(X * 1e20 + 1e20)
    m = BLISS(epochs=1).fit(X)
    with pytest.raises(ValueError, match=r"Q has values up to .*overflow"):
        m.search(np.full((2, X.shape[1]), 1e25, np.float32), 1)


def test_fixed_bliss_uses_buckets(blobs):
    X, _ = blobs
    m = fixed_bliss(epochs=6, random_state=0).fit(X)
    loads = m.loads_
    assert ((loads > 0).sum(1) >= 18).all()
    assert (loads.max(1) / loads.mean(1) < 1.5).all()
    assert m.get_params()["capacity"] == FIXED_DEFAULTS["capacity"]


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(rebalance="best"), "rebalance"),
        (dict(loss="hinge"), "loss"),
        (dict(k_choices=30), "k_choices"),
        (dict(n_neighbors=500), "n_neighbors"),
        (dict(capacity=0.5), "capacity"),
        (dict(batch_size=0), "batch_size"),
        (dict(train_size=0), "train_size"),
        (dict(train_size=1.5), r"train_size must lie in \(0, 1\]"),
        (dict(train_size="half"), "train_size must be an integer"),
        (dict(train_size=10), "gives 10 training items, fewer than the n_buckets=20"),
        (dict(kmeans_iter=0), "kmeans_iter"),
        (dict(record_history="yes"), "record_history must be True or False"),
    ],
)
def test_bad_parameters(blobs, kwargs, match):
    with pytest.raises(ValueError, match=match):
        BLISS(epochs=1, **kwargs).fit(blobs[0])


def test_bad_inputs(blobs):
    X, _ = blobs
    with pytest.raises(ValueError, match="2-D"):
        BLISS().fit(X[:, 0])
    bad = X.copy()
    bad[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        BLISS().fit(bad)
    with pytest.raises(RuntimeError, match="not fitted"):
        BLISS().search(X, 1)
    m = BLISS(epochs=1).fit(X)
    with pytest.raises(ValueError, match="Q has 3 features but the index was fitted on 2-d"):
        m.search(np.ones((2, 3), np.float32), 1)
    with pytest.raises(ValueError, match="unknown BLISS parameter"):
        m.set_params(n_bucket=3)


@pytest.mark.parametrize("min_freq", [1, 2, 4])
def test_compiled_counting_matches_per_repetition_sparse_products(blobs, min_freq):
    """The stacked-list counting kernel against the previous implementation: one scipy (B, n)
    membership matrix per repetition, the probe selection multiplied into each, summed."""
    import scipy.sparse as sp

    X, _ = blobs
    m = BLISS(epochs=2, n_buckets=8, n_rerank=None).fit(X)
    Q = np.vstack([X[::7] + 0.2, X[:3]])
    tb = m.top_buckets(Q, 3)
    nq = len(Q)
    total = sum(
        sp.csr_matrix((np.ones(nq * 3), (np.repeat(np.arange(nq), 3), tb[:, r, :].ravel())), shape=(nq, 8))
        @ sp.csr_matrix((np.ones(len(X)), (a, np.arange(len(X)))), shape=(8, len(X)))
        for r, a in enumerate(m.assignments_)
    ).toarray()
    np.testing.assert_array_equal(m.candidate_counts(Q, 3).toarray(), total)
    indptr, idx = m.candidates(Q, 3, min_freq=min_freq, n_rerank=None)
    for q in range(nq):
        assert sorted(idx[indptr[q] : indptr[q + 1]].tolist()) == np.flatnonzero(total[q] >= min_freq).tolist()


@pytest.mark.parametrize("distance", ["cosine", "mse"])
@pytest.mark.parametrize("k", [1, 5, 40])
@pytest.mark.parametrize("n_rerank", [None, 10_000])
def test_search_matches_numpy_rerank(blobs, distance, k, n_rerank):
    """BLISS's two query paths, the fused count-and-score pass (``n_rerank=None``) and the candidate
    list re-ranked by FAISS's subset scan (``n_rerank`` set, here above every candidate count), both
    give the bucket module's numpy re-rank of the candidates: same ids and scores, -inf / -1
    padding included (k=40 > some queries' candidates)."""
    from zsl_lib.validation import l2_normalize

    X, _ = blobs
    m = BLISS(epochs=2, n_buckets=8, distance=distance, n_rerank=None).fit(X)
    Q = X[::5] + 0.3
    indptr, idx = m.candidates(Q, 2, min_freq=2, n_rerank=None)
    assert np.diff(indptr).min() < 40 < np.diff(indptr).max()
    s, ids = m.search(Q, k, m=2, min_freq=2, n_rerank=n_rerank)
    if distance == "cosine":
        es, eids = rerank_topk(l2_normalize(Q), l2_normalize(X), indptr, idx, k)
    else:
        es, eids = rerank_topk(Q, X, indptr, idx, k)  # ranked by q.x: compare the sets' distances below
        d = ((Q[:, None, :] - X[None]) ** 2).sum(2)
        es = np.full((len(Q), k), -np.inf, np.float32)
        eids = np.full((len(Q), k), -1)
        for q in range(len(Q)):
            cand = idx[indptr[q] : indptr[q + 1]]
            o = cand[np.lexsort((cand, d[q, cand]))][:k]
            eids[q, : len(o)], es[q, : len(o)] = o, -d[q, o]
    np.testing.assert_array_equal(ids, eids)
    np.testing.assert_allclose(s, es, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("min_freq", [1, 2, 3])
def test_fused_topk_matches_naive_count_and_rank_with_ties(min_freq):
    """The fused kernel on hand-made stacked lists: integer vectors (every product exact, many
    ties), items in several lists; each query's top-k by a naive count then (descending score,
    ascending id), padded where fewer than k items reach ``min_freq``."""
    from zsl_lib.index.bliss_query import frequent_topk, stacked_lists

    rng = np.random.default_rng(5)
    R, B, n, k = 3, 4, 50, 6
    assignments = rng.integers(0, B, size=(R, n))
    ids, offsets = stacked_lists(assignments, B)
    X = rng.integers(-2, 3, size=(n, 5)).astype(np.float32)
    Q = rng.integers(-2, 3, size=(7, 5)).astype(np.float32)
    probes = np.stack([rng.choice(R * B, size=5, replace=False) for _ in range(len(Q))])
    for metric in ("ip", "l2"):
        s, i = frequent_topk(probes, ids, offsets, Q, X, min_freq, k, metric)
        for q in range(len(Q)):
            freq = sum((assignments[p // B] == p % B).astype(int) for p in probes[q])
            cand = np.flatnonzero(freq >= min_freq)
            score = {j: float(Q[q] @ X[j]) if metric == "ip" else -float(((Q[q] - X[j]) ** 2).sum()) for j in cand}
            ranked = sorted(cand.tolist(), key=lambda j: (-score[j], j))[:k]
            assert i[q, : len(ranked)].tolist() == ranked
            assert s[q, : len(ranked)].tolist() == [score[j] for j in ranked]
            assert (i[q, len(ranked):] == -1).all() and np.isneginf(s[q, len(ranked):]).all()
    with pytest.raises(ValueError, match="metric must be 'ip' or 'l2'"):
        frequent_topk(probes, ids, offsets, Q, X, 1, k, "cosine")


def test_faiss_kmeans_start_is_a_kmeans_partition_per_repetition(blobs):
    """``assign_init="faiss_kmeans"``: every repetition starts from a different Lloyd fixed point:
    each point sits in the bucket of its nearest centroid (the centroids being its bucket means)."""
    X, _ = blobs
    m = BLISS(n_buckets=4, n_repetitions=3, epochs=0, assign_init="faiss_kmeans", random_state=1).fit(X)
    A = m.history_.loads[0]
    assert A.sum(1).tolist() == [len(X)] * 3
    start = m.assignments_  # epochs=0: the start itself
    for a in start:
        C = np.stack([X[a == b].mean(0) for b in range(4)])
        assert (np.argmin(((X[:, None] - C[None]) ** 2).sum(2), axis=1) == a).mean() > 0.97


def test_fast_defaults_build_an_index_that_finds_neighbours():
    """FAST_DEFAULTS (the benchmark's cheap fixed BLISS, tuned for ~10k items) on a 4,000-point
    mixture, trained on a third of it: loads under the capacity up to one chunk of the greedy pass
    (so nearly B / 1.2 buckets used), and the union of the
    top-3 buckets per repetition holds most true neighbours (as FAISS IVF probing 3 lists of 32)."""
    import faiss

    from zsl_lib.index.bliss_fixed import FAST_DEFAULTS
    from zsl_lib.metrics.retrieval import recall_at_k
    from zsl_lib.validation import l2_normalize

    rng = np.random.default_rng(0)
    C = rng.normal(size=(40, 16))
    X = l2_normalize((C[rng.integers(0, 40, 4200)] + 0.5 * rng.normal(size=(4200, 16))).astype(np.float32))
    Q, X = X[:200], X[200:]
    m = BLISS(**{**FAST_DEFAULTS, "n_buckets": 32, "n_neighbors": 16, "distance": "cosine"}).fit(X)
    chunk = len(X) // 256  # the items of a chunk of the greedy pass see the loads of its start
    assert m.n_repetitions == 2 and len(m.train_rows_) == 1333
    assert m.loads_.max() <= np.ceil(1.2 * len(X) / 32) + chunk - 1
    assert ((m.loads_ > 0).sum(1) >= 27).all()
    _, ids = m.search(Q, 10)  # n_probe=3, min_freq=1, every candidate re-ranked
    _, truth = exact_topk(Q, X, 10, "cosine")
    ivf = faiss.IndexIVFFlat(faiss.IndexFlatIP(16), 16, 32, faiss.METRIC_INNER_PRODUCT)
    ivf.train(X)
    ivf.add(X)
    ivf.nprobe = 3
    recall, recall_ivf = recall_at_k(ids, truth), recall_at_k(ivf.search(Q, 10)[1], truth)
    assert recall > 0.9 and recall > recall_ivf - 0.05, (recall, recall_ivf)
