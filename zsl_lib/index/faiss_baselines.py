"""FAISS baselines behind the shared index interface (not in the report).

- :class:`FaissFlatIP`: exact search, ``IndexFlatIP`` on L2-normalised vectors (cosine).
- :class:`FaissLSH`: ``IndexLSH`` (random rotation + sign, ``n_bits`` bits, exhaustive Hamming
  scan); the ``n_candidates`` nearest codes in Hamming distance are the candidates, re-ranked by
  cosine. Candidates per query therefore equals ``n_candidates`` (every code is still compared in
  Hamming space, which is cheap).
- :class:`FaissIVFFlat`: ``IndexIVFFlat`` with an inner-product coarse quantiser on normalised
  vectors; candidates are the gallery items of the ``n_probe`` nearest lists (a bucket index
  with multi-probe); ``search`` is FAISS's own.
"""

from __future__ import annotations

import numpy as np

from ..validation import check_int, check_matrix, check_positive_ints, l2_normalize
from .buckets import BucketIndex
from .exact import ExactIndex


def _faiss():
    try:
        import faiss  # noqa: PLC0415
    except ImportError as err:  # pragma: no cover - faiss-cpu is a lab requirement
        raise ImportError("FAISS baselines need faiss-cpu: pip install faiss-cpu") from err
    return faiss


class FaissFlatIP(ExactIndex):
    """Exact cosine search with FAISS ``IndexFlatIP`` (same interface as :class:`ExactIndex`)."""

    def __init__(self):
        super().__init__(metric="cosine")

    def fit(self, X, y=None) -> FaissFlatIP:
        super().fit(X)
        self.index_ = _faiss().IndexFlatIP(self.X_.shape[1])
        self.index_.add(l2_normalize(self.X_))
        return self

    def search(self, Q, k: int):
        self._check_fitted()
        Q = check_matrix("Q (queries)", Q, dim=self.X_.shape[1], min_rows=0)
        k = check_int("k", k, minimum=1)
        if k > self.n_gallery_:
            raise ValueError(f"k must be an integer in [1, n_gallery={self.n_gallery_}]; got {k!r}")
        D, ids = self.index_.search(l2_normalize(Q), k)
        return D.astype(np.float32), ids.astype(np.int64)


class FaissLSH(BucketIndex):
    """FAISS ``IndexLSH`` with cosine re-ranking of the ``n_candidates`` Hamming-nearest codes.

    ``rotate_data`` / ``train_thresholds`` are FAISS's options (random rotation before the sign,
    per-bit median thresholds).
    """

    def __init__(
        self,
        n_bits: int = 64,
        n_candidates: int = 100,
        *,
        rotate_data: bool = True,
        train_thresholds: bool = False,
        batch_size: int = 1024,
    ):
        check_positive_ints(n_bits=n_bits, n_candidates=n_candidates, batch_size=batch_size)
        self.n_bits = int(n_bits)
        self.n_candidates = int(n_candidates)
        self.rotate_data = rotate_data
        self.train_thresholds = train_thresholds
        self.batch_size = int(batch_size)

    def fit(self, X, y=None) -> FaissLSH:
        faiss = _faiss()
        X = check_matrix("X (gallery)", X)
        self.Xn_ = l2_normalize(X)
        self.n_gallery_, self.dim_ = X.shape
        self.n_features_in_ = self.dim_
        self.index_ = faiss.IndexLSH(
            self.dim_, self.n_bits, self.rotate_data, self.train_thresholds
        )
        self.index_.train(self.Xn_)
        self.index_.add(self.Xn_)
        self.tables_ = []  # marks fitted; candidates come from FAISS, not bucket tables
        return self

    def _candidates_checked(self, Q):
        m = min(self.n_candidates, self.n_gallery_)
        _, ids = self.index_.search(l2_normalize(Q), m)
        ids = ids.astype(np.int64)
        counts = (ids >= 0).sum(axis=1)
        # valid ids ascending first, FAISS's -1 padding pushed to the end and dropped
        ids = np.sort(np.where(ids >= 0, ids, np.iinfo(np.int64).max), axis=1)
        keep = np.arange(m)[None, :] < counts[:, None]
        indptr = np.concatenate(([0], np.cumsum(counts))).astype(np.int64)
        return indptr, ids[keep]

    def bucket_sizes(self):
        raise NotImplementedError("IndexLSH scans every code; it has no buckets")


class FaissIVFFlat(BucketIndex):
    """FAISS ``IndexIVFFlat`` (inner product on normalised vectors = cosine).

    Parameters: ``n_lists`` coarse centroids (trained by FAISS k-means), ``n_probe`` lists scanned
    per query, ``random_state`` seed of FAISS k-means.
    """

    def __init__(
        self, n_lists: int = 100, n_probe: int = 1, *, random_state: int = 0, batch_size: int = 256
    ):
        check_positive_ints(n_lists=n_lists, n_probe=n_probe, batch_size=batch_size)
        if n_probe > n_lists:
            raise ValueError(f"n_probe={n_probe} cannot exceed n_lists={n_lists}")
        self.n_lists = int(n_lists)
        self.n_probe = int(n_probe)
        self.random_state = int(random_state)
        self.batch_size = int(batch_size)

    def _fit_keys(self, X, y):
        faiss = _faiss()
        if self.n_lists > X.shape[0]:
            raise ValueError(f"n_lists={self.n_lists} exceeds the {X.shape[0]} gallery items")
        Xn = l2_normalize(X)
        self.quantizer_ = faiss.IndexFlatIP(X.shape[1])
        self.index_ = faiss.IndexIVFFlat(
            self.quantizer_, X.shape[1], self.n_lists, faiss.METRIC_INNER_PRODUCT
        )
        self.index_.cp.seed = self.random_state
        self.index_.train(Xn)
        self.index_.add(Xn)
        self.index_.nprobe = self.n_probe
        _, assign = self.quantizer_.search(Xn, 1)
        return assign.astype(np.int64)

    def _query_keys(self, Q):
        _, lists = self.quantizer_.search(l2_normalize(Q), self.n_probe)
        return lists.astype(np.int64)[:, None, :]

    def search(self, Q, k: int):
        """FAISS's own IVF search: ``(scores float32 (nq, k), ids int64 (nq, k))``, -inf / -1 pads."""
        Q = self._check_queries(Q)
        k = check_int("k", k, minimum=1)
        D, ids = self.index_.search(l2_normalize(Q), k)
        D = np.where(ids >= 0, D, -np.inf).astype(np.float32)
        return D, ids.astype(np.int64)
