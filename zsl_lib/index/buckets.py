"""Vectorised bucket tables shared by every bucket index (k-means, LSH, neural LSH, BLISS, IVF).

A *table* maps each gallery item to one bucket key. It is stored as arrays, not dictionaries:
gallery ids sorted by key (``ids``), the distinct keys (``keys``, sorted) and ``offsets`` so that
bucket ``b`` holds ``ids[offsets[b]:offsets[b + 1]]``. Probing a batch of query keys is one
``np.searchsorted``; the candidate set of a query is the union of its buckets over all tables
(and over several probes per table, for multi-probe indexes), built with ``np.repeat`` /
``np.unique`` on ``query * n_gallery + id`` keys, returned in CSR form.

:class:`BucketIndex` is the base class giving every index the shared interface:

- ``fit(X, y=None) -> self``
- ``candidates(Q) -> (indptr int64 (nq+1,), indices int64 (nnz,))``: gallery ids each query scans,
  ascending within a query;
- ``search(Q, k) -> (scores float32 (nq, k), ids int64 (nq, k))``: the k best candidates by cosine
  similarity, padded with ``-inf`` / ``-1`` when a query has fewer than k candidates;
- ``iter_scored(Q)`` / ``iter_ranked(Q)``: per batch of queries, every candidate with its cosine
  (unsorted / ranked), used by the metrics.

Subclasses implement ``_fit_keys(X, y) -> (n, n_tables)`` keys and ``_query_keys(Q) ->
(nq, n_tables)`` or ``(nq, n_tables, n_probes)`` keys. Keys are int64, or, for codes longer than
62 bits, fixed-width byte strings made by :func:`bits_to_keys`.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator

from ..validation import check_fitted, check_int, check_matrix, l2_normalize
from .exact import topk_rows

MAX_INT_BITS = 62


def bits_to_keys(bits) -> np.ndarray:
    """Bucket keys of binary codes.

    ``bits``: (n, n_bits) or (n, n_tables, n_bits) array of 0/1 or bool. Returns int64 keys of shape
    (n,) / (n, n_tables) when ``n_bits <= 62`` (bit j has weight 2**j), else packed byte strings
    (numpy void dtype, ``ceil(n_bits / 8)`` bytes) which sort and compare exactly too.
    """
    bits = np.asarray(bits).astype(bool, copy=False)
    if bits.ndim not in (2, 3):
        raise ValueError(
            f"bits must be (n, n_bits) or (n, n_tables, n_bits); got shape {bits.shape}"
        )
    n_bits = bits.shape[-1]
    if n_bits == 0:
        raise ValueError("codes need at least one bit")
    if n_bits <= MAX_INT_BITS:
        weights = np.left_shift(np.int64(1), np.arange(n_bits, dtype=np.int64))
        return (bits.astype(np.int64) * weights).sum(axis=-1)
    packed = np.ascontiguousarray(np.packbits(bits, axis=-1))
    return packed.view(np.dtype((np.void, packed.shape[-1])))[..., 0]


class BucketTable:
    """One hash table over ``n`` gallery items given their keys (n,) (int64 or void)."""

    def __init__(self, keys):
        keys = np.asarray(keys)
        if keys.ndim != 1:
            raise ValueError(f"keys must be 1-D (one per gallery item); got shape {keys.shape}")
        order = np.argsort(keys, kind="stable")  # ids ascending inside a bucket
        sorted_keys = keys[order]
        self.keys, starts = np.unique(sorted_keys, return_index=True)
        self.offsets = np.append(starts, keys.shape[0]).astype(np.int64)
        self.ids = order.astype(np.int64)
        self.n_items = int(keys.shape[0])
        self.bucket_of = np.empty(self.n_items, dtype=np.int64)  # bucket position of every item
        self.bucket_of[self.ids] = np.repeat(np.arange(self.n_buckets), np.diff(self.offsets))

    @property
    def n_buckets(self) -> int:
        return int(self.keys.shape[0])

    def bucket_sizes(self) -> np.ndarray:
        """(n_buckets,) int64 number of gallery items per non-empty bucket."""
        return np.diff(self.offsets)

    def find(self, query_keys) -> np.ndarray:
        """Bucket position of each query key (any shape); -1 where no gallery item has that key."""
        query_keys = np.asarray(query_keys, dtype=self.keys.dtype)
        pos = np.searchsorted(self.keys, query_keys)
        pos_c = np.minimum(pos, max(self.n_buckets - 1, 0))
        found = (pos < self.n_buckets) & (self.keys[pos_c] == query_keys)
        return np.where(found, pos_c, -1).astype(np.int64)

    def lookup(self, query_keys) -> tuple[np.ndarray, np.ndarray]:
        """Ranges into ``self.ids`` of the buckets of ``query_keys`` (any shape).

        Returns ``(start, end)`` int64 arrays of the same shape; a key without a bucket gives an
        empty range.
        """
        query_keys = np.asarray(query_keys, dtype=self.keys.dtype)
        pos = np.searchsorted(self.keys, query_keys)
        pos_c = np.minimum(pos, max(self.n_buckets - 1, 0))
        found = (pos < self.n_buckets) & (self.keys[pos_c] == query_keys)
        start = np.where(found, self.offsets[pos_c], 0)
        end = np.where(found, self.offsets[pos_c + 1], 0)
        return start.astype(np.int64), end.astype(np.int64)


def expand_ranges(starts: np.ndarray, ends: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Concatenate the integer ranges ``[starts[i], ends[i])`` without a Python loop.

    Returns ``(owner, values)``: for every produced value, the index i of its range, and the value.
    """
    starts = np.asarray(starts, dtype=np.int64).ravel()
    lengths = np.maximum(np.asarray(ends, dtype=np.int64).ravel() - starts, 0)
    total = int(lengths.sum())
    owner = np.repeat(np.arange(starts.size, dtype=np.int64), lengths)
    first = np.cumsum(lengths) - lengths
    values = np.arange(total, dtype=np.int64) - first[owner] + starts[owner]
    return owner, values


def union_candidates(
    tables: list[BucketTable], query_keys: np.ndarray, n_gallery: int
) -> tuple[np.ndarray, np.ndarray]:
    """CSR union over tables (and probes) of the buckets of each query.

    ``query_keys``: (nq, n_tables) or (nq, n_tables, n_probes). Returns ``(indptr (nq+1,),
    indices)`` with the gallery ids of each query unique and ascending.
    """
    nq = query_keys.shape[0]
    if query_keys.ndim == 2:
        query_keys = query_keys[:, :, None]
    n_probes = query_keys.shape[2]
    found = [table.find(query_keys[:, t, :]) for t, table in enumerate(tables)]  # (nq, n_probes)
    sizes = sum(
        np.where(f >= 0, np.diff(t.offsets)[np.maximum(f, 0)], 0).sum()
        for f, t in zip(found, tables)
    )
    if len(tables) * n_probes > 1 and sizes > nq * n_gallery / 16:
        # dense candidate sets: mark a (nq, n) boolean matrix bucket by bucket, no huge unique
        mask = np.zeros((nq, n_gallery), dtype=bool)
        for f, table in zip(found, tables):
            for p in range(n_probes):
                mask |= (table.bucket_of[None, :] == f[:, p, None]) & (f[:, p, None] >= 0)
        q, g = np.nonzero(mask)
    else:
        parts_q, parts_g = [], []
        for f, table in zip(found, tables):
            fc = np.maximum(f, 0)
            start = np.where(f >= 0, table.offsets[fc], 0)
            end = np.where(f >= 0, table.offsets[fc + 1], 0)
            owner, pos = expand_ranges(start, end)
            parts_q.append(owner // n_probes)
            parts_g.append(table.ids[pos])
        q = np.concatenate(parts_q) if parts_q else np.empty(0, np.int64)
        g = np.concatenate(parts_g) if parts_g else np.empty(0, np.int64)
        if len(tables) == 1 and n_probes == 1:
            # one bucket per query: already unique; order by query (ids ascend within a bucket)
            order = np.argsort(q, kind="stable")
            q, g = q[order], g[order]
        else:
            combined = np.unique(q * np.int64(n_gallery) + g)
            q, g = combined // n_gallery, combined % n_gallery
    indptr = np.zeros(nq + 1, dtype=np.int64)
    np.cumsum(np.bincount(q, minlength=nq), out=indptr[1:])
    return indptr, g.astype(np.int64, copy=False)


def score_candidates(
    Qn: np.ndarray,
    Xn: np.ndarray,
    indptr: np.ndarray,
    indices: np.ndarray,
    *,
    dense_fraction: float = 0.05,
    max_gather: int = 1 << 24,
) -> np.ndarray:
    """Inner products ``Qn[q] . Xn[indices[j]]`` for every CSR entry j of query q; float32 (nnz,).

    When the candidates cover more than ``dense_fraction`` of the (nq, n) score matrix, one matrix
    product is cheaper than gathering rows; otherwise rows are gathered in blocks of at most
    ``max_gather`` floats.
    """
    nq, n = Qn.shape[0], Xn.shape[0]
    nnz = indices.shape[0]
    rows = np.repeat(np.arange(nq, dtype=np.int64), np.diff(indptr))
    if nnz == 0:
        return np.empty(0, dtype=np.float32)
    if nnz > dense_fraction * nq * n:
        return (Qn @ Xn.T)[rows, indices].astype(np.float32, copy=False)
    out = np.empty(nnz, dtype=np.float32)
    step = max(1, max_gather // Qn.shape[1])
    for s in range(0, nnz, step):
        e = min(nnz, s + step)
        out[s:e] = np.einsum("ij,ij->i", Qn[rows[s:e]], Xn[indices[s:e]])
    return out


def rank_csr(indptr: np.ndarray, indices: np.ndarray, scores: np.ndarray):
    """Sort every CSR row by descending score. Returns ``(indices, scores)`` re-ordered.

    Rows are laid out in a padded (nq, max_row_length) matrix and sorted with one row-wise
    ``np.argsort`` (SIMD-accelerated, several times faster than a lexsort of the flat arrays); the
    order of exactly tied scores is unspecified.
    """
    nq = indptr.shape[0] - 1
    counts = np.diff(indptr)
    if indices.shape[0] == 0:
        return indices, scores
    rows = np.repeat(np.arange(nq, dtype=np.int64), counts)
    pos = np.arange(indices.shape[0], dtype=np.int64) - indptr[:-1][rows]
    padded = np.full((nq, int(counts.max())), np.inf, dtype=np.float32)
    padded[rows, pos] = -scores  # ascending order of -score; padding (+inf) sorts last
    order = np.argsort(padded, axis=1)
    new = indptr[:-1][rows] + order[rows, pos]
    return indices[new], scores[new]


def csr_padded(indptr: np.ndarray, values: np.ndarray, fill) -> np.ndarray:
    """CSR row values laid out in a (nq, max_row_length) matrix padded with ``fill``."""
    nq = indptr.shape[0] - 1
    counts = np.diff(indptr)
    rows = np.repeat(np.arange(nq, dtype=np.int64), counts)
    pos = np.arange(values.shape[0], dtype=np.int64) - indptr[:-1][rows]
    out = np.full((nq, int(counts.max(initial=0))), fill, dtype=values.dtype)
    out[rows, pos] = values
    return out


def csr_topk_unsorted(indptr, indices, scores, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The k best entries of each (unsorted) CSR row by score, padded with -inf / -1: (nq, k).

    Uses :func:`~zsl_lib.index.exact.topk_rows` on the padded score matrix (no full sort).
    """
    nq = indptr.shape[0] - 1
    out_s = np.full((nq, k), -np.inf, dtype=np.float32)
    out_i = np.full((nq, k), -1, dtype=np.int64)
    padded = csr_padded(indptr, scores.astype(np.float32, copy=False), -np.inf)
    kk = min(k, padded.shape[1])
    if kk == 0:
        return out_s, out_i
    vals, cols = topk_rows(padded, kk)
    ok = np.isfinite(vals)
    out_s[:, :kk] = np.where(ok, vals, -np.inf)
    flat = np.minimum(indptr[:-1, None] + cols, indices.shape[0] - 1)
    out_i[:, :kk] = np.where(ok, indices[flat], -1)
    return out_s, out_i


def csr_topk(indptr, indices, scores, k: int) -> tuple[np.ndarray, np.ndarray]:
    """First k entries of each (already ranked) CSR row, padded with -inf / -1: (nq, k) arrays."""
    nq = indptr.shape[0] - 1
    counts = np.diff(indptr)
    take = np.minimum(counts, k)
    owner, pos = expand_ranges(indptr[:-1], indptr[:-1] + take)
    col = pos - indptr[:-1][owner]
    out_s = np.full((nq, k), -np.inf, dtype=np.float32)
    out_i = np.full((nq, k), -1, dtype=np.int64)
    out_s[owner, col] = scores[pos]
    out_i[owner, col] = indices[pos]
    return out_s, out_i


def rerank_topk(
    Q: np.ndarray,
    X: np.ndarray,
    indptr: np.ndarray,
    indices: np.ndarray,
    k: int,
    *,
    chunk_cells: int = 8_000_000,
) -> tuple[np.ndarray, np.ndarray]:
    """Score each query's CSR candidates with :func:`score_candidates` and keep the best ``k``.

    ``Q`` float32 (nq, d), ``X`` float32 (n, d) (normalise both first for cosine), ``indptr`` int64
    (nq+1,), ``indices`` int64 (nnz,) in any order within a query. Returns ``(scores float32
    (nq, k), ids int64 (nq, k))``, best first, exact ties broken by the lower gallery id (so the
    result does not depend on the order of the candidates), padded with ``-inf`` / ``-1`` where a
    query has fewer than ``k`` candidates. Queries are scored in blocks of about ``chunk_cells /
    n`` so that a dense score block stays small.
    """
    indptr = np.asarray(indptr, dtype=np.int64)
    indices = np.asarray(indices, dtype=np.int64)
    k = check_int("k", k, minimum=1)
    nq = indptr.shape[0] - 1
    out_s = np.full((nq, k), -np.inf, dtype=np.float32)
    out_i = np.full((nq, k), -1, dtype=np.int64)
    step = max(1, chunk_cells // max(X.shape[0], 1))
    for q0 in range(0, nq, step):
        q1 = min(nq, q0 + step)
        ptr = indptr[q0 : q1 + 1] - indptr[q0]
        ids = indices[indptr[q0] : indptr[q1]]
        scores = score_candidates(Q[q0:q1], X, ptr, ids)
        # the k-th best score of each query (exact whatever the tie order), then every candidate
        # reaching it is ranked by (descending score, ascending id)
        kth = csr_topk_unsorted(ptr, ids, scores, k)[0][:, -1]
        rows = np.repeat(np.arange(q1 - q0, dtype=np.int64), np.diff(ptr))
        keep = scores >= kth[rows]
        rows, ids, scores = rows[keep], ids[keep], scores[keep]
        order = np.lexsort((ids, -scores, rows))
        kept_ptr = np.zeros(q1 - q0 + 1, dtype=np.int64)
        np.cumsum(np.bincount(rows, minlength=q1 - q0), out=kept_ptr[1:])
        out_s[q0:q1], out_i[q0:q1] = csr_topk(kept_ptr, ids[order], scores[order], k)
    return out_s, out_i


class BucketIndex(BaseEstimator):
    """Base class of the bucket indexes (see the module docstring for the interface).

    ``batch_size``: queries probed / ranked together (memory grows with batch_size x candidates).
    """

    batch_size: int = 256

    # --- to implement -------------------------------------------------------------------------
    def _fit_keys(self, X: np.ndarray, y: np.ndarray | None) -> np.ndarray:  # (n, n_tables)
        raise NotImplementedError

    def _query_keys(self, Q: np.ndarray) -> np.ndarray:  # (nq, n_tables[, n_probes])
        raise NotImplementedError

    # --- shared -------------------------------------------------------------------------------
    def fit(self, X, y=None):
        """Hash the gallery ``X`` (n, d) float; ``y`` (n,) int labels for supervised hashes."""
        X = check_matrix("X (gallery)", X)
        if y is not None:
            y = np.asarray(y)
            if y.shape != (X.shape[0],):
                raise ValueError(f"y must have shape ({X.shape[0]},) like X's rows; got {y.shape}")
        keys = self._fit_keys(X, y)
        if keys.ndim == 1:
            keys = keys[:, None]
        self.tables_ = [BucketTable(keys[:, t]) for t in range(keys.shape[1])]
        self.Xn_ = l2_normalize(X)
        self.n_gallery_, self.dim_ = X.shape
        self.n_features_in_ = self.dim_
        return self

    def _check_fitted(self):
        check_fitted(self, "tables_", "fit(X)")

    def _check_queries(self, Q) -> np.ndarray:
        self._check_fitted()
        return check_matrix("Q (queries)", Q, dim=self.dim_, min_rows=0)

    def bucket_sizes(self) -> list[np.ndarray]:
        """Per table, the sizes of the non-empty buckets."""
        self._check_fitted()
        return [t.bucket_sizes() for t in self.tables_]

    def _candidates_checked(self, Q: np.ndarray):
        keys = self._query_keys(Q)
        return union_candidates(self.tables_, keys, self.n_gallery_)

    def candidates(self, Q) -> tuple[np.ndarray, np.ndarray]:
        """CSR ``(indptr int64 (nq+1,), indices int64 (nnz,))`` of the gallery ids each query scans."""
        Q = self._check_queries(Q)
        bs = self.batch_size
        parts = [self._candidates_checked(Q[s : s + bs]) for s in range(0, Q.shape[0], bs)]
        if not parts:
            return np.zeros(1, np.int64), np.empty(0, np.int64)
        nnz_before = np.cumsum([0] + [p[1].shape[0] for p in parts])
        indptr = np.concatenate([[0]] + [p[0][1:] + b for p, b in zip(parts, nnz_before)])
        return indptr.astype(np.int64), np.concatenate([p[1] for p in parts])

    def iter_scored(self, Q, batch_size: int | None = None):
        """Yield ``(query_slice, indptr, ids, scores)`` per batch; ids ascending, scores = cosine."""
        Q = self._check_queries(Q)
        bs = batch_size or self.batch_size
        for s in range(0, Q.shape[0], bs):
            Qb = Q[s : s + bs]
            indptr, ids = self._candidates_checked(Qb)
            scores = score_candidates(l2_normalize(Qb), self.Xn_, indptr, ids)
            yield slice(s, s + Qb.shape[0]), indptr, ids, scores

    def iter_ranked(self, Q, batch_size: int | None = None):
        """Like :meth:`iter_scored` with every query's candidates sorted by descending cosine."""
        for sl, indptr, ids, scores in self.iter_scored(Q, batch_size):
            ids, scores = rank_csr(indptr, ids, scores)
            yield sl, indptr, ids, scores

    def search(self, Q, k: int) -> tuple[np.ndarray, np.ndarray]:
        """The k best candidates by cosine: ``(scores float32 (nq, k), ids int64 (nq, k))``.

        Rows with fewer than k candidates are padded with ``-inf`` scores and ``-1`` ids.
        """
        k = check_int("k", k, minimum=1)
        Q = self._check_queries(Q)
        scores = np.full((Q.shape[0], k), -np.inf, dtype=np.float32)
        ids = np.full((Q.shape[0], k), -1, dtype=np.int64)
        for sl, indptr, cand, sc in self.iter_scored(Q):
            scores[sl], ids[sl] = csr_topk_unsorted(indptr, cand, sc, k)
        return scores, ids
