"""Exact (brute-force) top-k search: chunked matrix products + a top-k selection without sorting rows.

The ceiling every approximate index is compared against. The gallery is scanned with one BLAS
matrix product per chunk of queries; from each chunk of scores only the k best per row are kept.

Top-k selection (``select="threshold"``, the default) avoids both a full sort and a full
``np.argpartition`` of every row: each row is cut into about ``32k`` blocks; the k-th largest
block maximum (found with ``np.argpartition`` on the block maxima) is a lower bound of the row's
k-th largest score (the k blocks holding the k largest maxima each contain a score at least that
large), so only the blocks whose maximum reaches it (k to 2k of them, typically) can hold a top-k
score; their scores at or above the bound are gathered and ranked. Rows where ties make more than
``4k`` blocks qualify fall back to ``np.argpartition`` over the row (``select="argpartition"``
forces this everywhere); both give identical results up to the order of ties.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator

from ..validation import check_choice, check_fitted, check_int, check_matrix, l2_normalize

METRICS = ("ip", "cosine", "l2")


def topk_rows(S: np.ndarray, k: int, select: str = "threshold") -> tuple[np.ndarray, np.ndarray]:
    """The k largest entries of each row of ``S`` (b, n), ranked descending.

    Returns ``(values float32 (b, k), columns int64 (b, k))``. ``k <= n`` is required. See the
    module docstring for the two ``select`` strategies.
    """
    b, n = S.shape
    if k > n:
        raise ValueError(f"k={k} is larger than the number of columns {n}")
    if select not in ("threshold", "argpartition"):
        raise ValueError(f"select must be 'threshold' or 'argpartition', got {select!r}")
    width = -(-n // (32 * k))  # ceil: about 32k blocks per row
    n_blocks = -(-n // width)
    if select == "argpartition" or b == 0 or width < 8 or n_blocks < 4 * k:
        return _topk_argpartition(S, k)
    starts = np.arange(n_blocks, dtype=np.int64) * width
    # block maxima without copying S (one pass, vectorised)
    block_max = np.maximum.reduceat(S, starts, axis=1)
    kth = np.argpartition(block_max, n_blocks - k, axis=1)[:, n_blocks - k]
    thr = block_max[np.arange(b), kth]
    hot = block_max >= thr[:, None]  # only these blocks can hold a top-k score
    n_hot = np.count_nonzero(hot, axis=1)
    dense = n_hot > 4 * k  # many ties at the threshold: use argpartition on these rows
    vals_out = np.empty((b, k), dtype=np.float32)
    cols_out = np.empty((b, k), dtype=np.int64)
    if dense.any():
        hot[dense] = False
        vals_out[dense], cols_out[dense] = _topk_argpartition(np.ascontiguousarray(S[dense]), k)
    r, j = np.nonzero(hot)
    if r.size:
        cols = starts[j][:, None] + np.arange(width)[None, :]
        inside = cols < n
        np.minimum(cols, n - 1, out=cols)
        vals = S[r[:, None], cols]
        keep = (vals >= thr[r][:, None]) & inside
        rows = np.broadcast_to(r[:, None], cols.shape)[keep]
        cols, vals = cols[keep], vals[keep]
        order = np.lexsort((-vals, rows))
        counts = np.bincount(rows, minlength=b)
        first = np.concatenate(([0], np.cumsum(counts)[:-1]))
        sparse = np.flatnonzero(~dense)
        pos = order[first[sparse][:, None] + np.arange(k)[None, :]]
        vals_out[sparse], cols_out[sparse] = vals[pos], cols[pos]
    return vals_out, cols_out


def _topk_argpartition(S: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    n = S.shape[1]
    part = np.argpartition(S, n - k, axis=1)[:, n - k :]
    vals = np.take_along_axis(S, part, axis=1)
    order = np.argsort(-vals, axis=1, kind="stable")
    return (
        np.take_along_axis(vals, order, axis=1).astype(np.float32, copy=False),
        np.take_along_axis(part, order, axis=1).astype(np.int64, copy=False),
    )


def default_chunk_rows(n_gallery: int, memory_mb: float = 64.0) -> int:
    """Number of query rows per chunk so that one (rows, n_gallery) float32 block fits memory_mb."""
    return int(max(16, min(4096, memory_mb * 2**20 // (4 * max(n_gallery, 1)))))


def exact_topk(
    Q,
    X,
    k: int,
    metric: str = "ip",
    *,
    chunk_rows: int | None = None,
    select: str = "threshold",
    progress: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """Exact k nearest gallery items of every query.

    Parameters
    ----------
    Q : (nq, d) float array, queries.
    X : (n, d) float array, gallery.
    k : number of neighbours, ``1 <= k <= n``.
    metric : ``"ip"`` (inner product, largest first), ``"cosine"`` (rows L2-normalised, largest
        first) or ``"l2"`` (squared Euclidean distance, smallest first).
    chunk_rows : queries per matrix product (default: a 64 MB score block).
    select : top-k strategy, ``"threshold"`` (default) or ``"argpartition"``.
    progress : show a tqdm bar over chunks.

    Returns
    -------
    scores : (nq, k) float32 - similarities (ip/cosine, descending) or squared distances (l2,
        ascending).
    ids : (nq, k) int64 - gallery row indices.
    """
    check_choice("metric", metric, METRICS)
    X = check_matrix("X (gallery)", X)
    Q = check_matrix("Q (queries)", Q, dim=X.shape[1], min_rows=0)
    n = X.shape[0]
    k = check_int("k", k, minimum=1)
    if k > n:
        raise ValueError(f"k must be an integer in [1, n_gallery={n}]; got {k!r}")
    if metric == "cosine":
        Q, X = l2_normalize(Q), l2_normalize(X)
    half_sq = 0.5 * np.einsum("ij,ij->i", X, X) if metric == "l2" else None
    rows = chunk_rows or default_chunk_rows(n)
    nq = Q.shape[0]
    scores = np.empty((nq, k), dtype=np.float32)
    ids = np.empty((nq, k), dtype=np.int64)
    XT = X.T
    buf = np.empty((min(rows, max(nq, 1)), n), dtype=np.float32)
    starts = range(0, nq, rows)
    if progress:
        from tqdm.auto import tqdm  # noqa: PLC0415

        starts = tqdm(starts, desc="exact top-k", unit="chunk")
    for s in starts:
        e = min(s + rows, nq)
        S = np.matmul(Q[s:e], XT, out=buf[: e - s])
        if half_sq is not None:
            S -= half_sq[None, :]
        scores[s:e], ids[s:e] = topk_rows(S, k, select=select)
    if metric == "l2":
        q_sq = np.einsum("ij,ij->i", Q, Q)
        scores = np.maximum(q_sq[:, None] - 2.0 * scores, 0.0).astype(np.float32)
    return scores, ids


class ExactIndex(BaseEstimator):
    """Brute-force index with the shared bucket-index interface (every query scans the gallery).

    ``metric`` as in :func:`exact_topk` (default ``"cosine"``, what the bucket indexes rank by).
    """

    def __init__(self, metric: str = "cosine", chunk_rows: int | None = None):
        check_choice("metric", metric, METRICS)
        self.metric = metric
        self.chunk_rows = chunk_rows

    def fit(self, X, y=None) -> ExactIndex:
        """Store the gallery ``X`` (n, d)."""
        self.X_ = check_matrix("X (gallery)", X)
        self.n_gallery_, self.n_features_in_ = self.X_.shape
        return self

    def _check_fitted(self):
        check_fitted(self, "X_", "fit(X)")

    def candidates(self, Q) -> tuple[np.ndarray, np.ndarray]:
        """CSR (indptr (nq+1,), indices (nq*n,)): every query scans the whole gallery."""
        self._check_fitted()
        Q = check_matrix("Q (queries)", Q, dim=self.X_.shape[1], min_rows=0)
        nq, n = Q.shape[0], self.n_gallery_
        indptr = np.arange(nq + 1, dtype=np.int64) * n
        return indptr, np.tile(np.arange(n, dtype=np.int64), nq)

    def search(self, Q, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Top-k by the index metric: ``(scores float32 (nq, k), ids int64 (nq, k))``."""
        self._check_fitted()
        return exact_topk(Q, self.X_, k, self.metric, chunk_rows=self.chunk_rows)
