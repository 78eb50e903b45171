"""Compiled candidate counting of the BLISS query (frequency filter over R*M probed buckets).

The inverted lists of all repetitions are stored stacked, like :class:`~zsl_lib.index.buckets.
BucketTable` does for one table: ``ids`` (R*n,) the gallery ids sorted by (repetition, bucket, id)
and ``offsets`` (R*B + 1,) so that list ``r * B + b`` is ``ids[offsets[r*B+b]:offsets[r*B+b+1]]``.

A query probes ``R * M`` lists; an item's frequency is the number of probed lists holding it (at
most one per repetition). :func:`frequent_candidates` walks the probed lists once with a counter
per gallery item and emits an item the moment its count reaches ``min_freq`` (so each item once,
no sort, no sparse matrix; a counter is reset lazily when a new query first touches it): about
``R * M * n / B`` memory touches per query, in compiled code (numba, a dependency of
umap-learn; compiled on first use and cached on disk).

:func:`frequent_topk` is the same walk with the re-rank fused into it: an item is scored against
the query the moment its count reaches ``min_freq`` and kept in a running top-k, so no candidate
list, padded id matrix or sort is ever built (``bench_bliss_vs_ivf.py`` measured the separate
candidate list + FAISS subset scan at about half of the query time).
"""

from __future__ import annotations

import numpy as np

__all__ = ["stacked_lists", "frequent_candidates", "frequent_topk", "padded_ids"]

_KERNEL = None


def stacked_lists(assignments: np.ndarray, n_buckets: int) -> tuple[np.ndarray, np.ndarray]:
    """``(ids int32 (R*n,), offsets int64 (R*B+1,))`` of the assignments int (R, n)."""
    R, n = assignments.shape
    keys = (np.asarray(assignments, dtype=np.int64) + n_buckets * np.arange(R)[:, None]).ravel()
    order = np.argsort(keys, kind="stable")  # ids ascending inside a list
    ids = (order % n).astype(np.int32)
    offsets = np.zeros(R * n_buckets + 1, dtype=np.int64)
    np.cumsum(np.bincount(keys, minlength=R * n_buckets), out=offsets[1:])
    return ids, offsets


def _kernel():
    global _KERNEL
    if _KERNEL is None:
        import numba  # noqa: PLC0415

        @numba.njit(cache=True, nogil=True, boundscheck=False)
        def count(probes, ids, offsets, n, min_freq):  # pragma: no cover - compiled
            nq, w = probes.shape
            tag = np.zeros(n, dtype=np.int64)  # (query + 1) << 32 | count: one load per touch
            total = 0
            for q in range(nq):
                for j in range(w):
                    total += offsets[probes[q, j] + 1] - offsets[probes[q, j]]
            out = np.empty(total + 1, dtype=np.int64)
            freq = np.empty(total, dtype=np.int32)
            indptr = np.zeros(nq + 1, dtype=np.int64)
            pos = 0
            for q in range(nq):
                start = pos
                for j in range(w):
                    lst = probes[q, j]
                    for t in range(offsets[lst], offsets[lst + 1]):
                        i = ids[t]
                        v = tag[i]
                        v = v + 1 if (v >> 32) == q + 1 else ((q + 1) << 32) + 1
                        tag[i] = v
                        out[pos] = i  # branch-free: kept only when the count just reached min_freq
                        pos += (v & 0xFFFFFFFF) == min_freq
                for t in range(start, pos):
                    freq[t] = tag[out[t]] & 0xFFFFFFFF
                indptr[q + 1] = pos
            return indptr, out[:pos].copy(), freq[:pos].copy()

        @numba.njit(cache=True, nogil=True, boundscheck=False)
        def pad(indptr, values, width, fill):  # pragma: no cover - compiled
            nq = indptr.shape[0] - 1
            out = np.full((nq, width), fill, dtype=values.dtype)
            for q in range(nq):
                for t in range(indptr[q], indptr[q + 1]):
                    out[q, t - indptr[q]] = values[t]
            return out

        @numba.njit(cache=True, nogil=True, boundscheck=False, fastmath=True)
        def count_topk(probes, ids, offsets, Q, X, min_freq, k, l2):  # pragma: no cover - compiled
            nq, w = probes.shape
            n, d = X.shape
            tag = np.zeros(n, dtype=np.int64)
            out_s = np.full((nq, k), -np.inf, dtype=np.float32)
            out_i = np.full((nq, k), -1, dtype=np.int64)
            for q in range(nq):
                key = (q + 1) << 32
                filled = 0
                for j in range(w):
                    lst = probes[q, j]
                    for t in range(offsets[lst], offsets[lst + 1]):
                        i = ids[t]
                        v = tag[i]
                        v = v + 1 if (v >> 32) == q + 1 else key + 1
                        tag[i] = v
                        if (v & 0xFFFFFFFF) != min_freq:
                            continue
                        s = np.float32(0.0)
                        if l2:
                            for c in range(d):
                                diff = Q[q, c] - X[i, c]
                                s += diff * diff
                            s = -s
                        else:
                            for c in range(d):
                                s += Q[q, c] * X[i, c]
                        if filled == k and (s < out_s[q, k - 1] or (s == out_s[q, k - 1] and i > out_i[q, k - 1])):
                            continue
                        pos = filled if filled < k else k - 1
                        while pos > 0 and (s > out_s[q, pos - 1] or (s == out_s[q, pos - 1] and i < out_i[q, pos - 1])):
                            out_s[q, pos] = out_s[q, pos - 1]
                            out_i[q, pos] = out_i[q, pos - 1]
                            pos -= 1
                        out_s[q, pos] = s
                        out_i[q, pos] = i
                        if filled < k:
                            filled += 1
            return out_s, out_i

        _KERNEL = (count, pad, count_topk)
    return _KERNEL


def frequent_candidates(probes: np.ndarray, ids: np.ndarray, offsets: np.ndarray, n: int, min_freq: int):
    """Items in at least ``min_freq`` of each query's probed lists.

    ``probes`` int (nq, R*M) stacked list numbers (``r * B + b``), distinct within a row; ``ids``,
    ``offsets`` from :func:`stacked_lists`; ``n`` gallery size. Returns ``(indptr int64 (nq+1,),
    indices int64 (nnz,), freq int32 (nnz,))``: per query the items in the order they reached
    ``min_freq``, with their frequency (number of probed lists holding them).
    """
    probes = np.ascontiguousarray(probes, dtype=np.int64)
    return _kernel()[0](probes, ids, offsets, int(n), int(min_freq))


def frequent_topk(probes: np.ndarray, ids: np.ndarray, offsets: np.ndarray, Q: np.ndarray, X: np.ndarray,
                  min_freq: int, k: int, metric: str = "ip"):
    """The ``k`` best items among those in at least ``min_freq`` of each query's probed lists.

    ``probes``, ``ids``, ``offsets`` as in :func:`frequent_candidates`; ``Q`` float32 (nq, d),
    ``X`` float32 (n, d) the gallery (normalise both first for cosine); ``metric`` ``"ip"`` (score
    ``q . x``) or ``"l2"`` (score ``-||q - x||^2``). Returns ``(scores float32 (nq, k), ids int64
    (nq, k))``, best first, exact ties to the lower id, padded with ``-inf`` / ``-1`` where a query
    has fewer than ``k`` candidates: the same as :func:`~zsl_lib.index.buckets.rerank_topk` of the
    candidates, in one pass.
    """
    if metric not in ("ip", "l2"):
        raise ValueError(f"metric must be 'ip' or 'l2'; got {metric!r}")
    probes = np.ascontiguousarray(probes, dtype=np.int64)
    Q = np.ascontiguousarray(Q, dtype=np.float32)
    X = np.ascontiguousarray(X, dtype=np.float32)
    return _kernel()[2](probes, ids, offsets, Q, X, int(min_freq), int(k), metric == "l2")


def padded_ids(indptr: np.ndarray, ids: np.ndarray, width: int) -> np.ndarray:
    """CSR ids int64 laid out in a C-contiguous (nq, width) matrix padded with -1 (FAISS's "no id")."""
    return _kernel()[1](np.asarray(indptr, dtype=np.int64), np.asarray(ids, dtype=np.int64), int(width), -1)
