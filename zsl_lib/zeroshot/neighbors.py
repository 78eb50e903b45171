"""Image-based multi-label models on reference items (Bynke 2022, sections 3.2.2 and 4.1.3).

* :class:`NeighborSearch` -- the thesis's *neighbour search*: cosine similarity of the query to every
  reference item, multiplied by a softmax temperature; keep at most ``max_neighbors`` best matches
  whose scaled score is within ``max_sim_diff`` of the best one (the query itself excluded when it
  is in the reference set); softmax over the kept scores; add the weights of the most similar
  items first and stop once the cumulative weight reaches ``stop_weight`` (0.99); each label's
  confidence is the sum of the weights of the reference items carrying it.
* :class:`OneNearestNeighbor` -- the 1-NN baseline as the special case ``max_neighbors=1``.
* :class:`MLkNN` -- the standard multi-label kNN baseline of Zhang & Zhou (2007), for Mulan.
* :meth:`NeighborSearch.explain` -- for any query the contributing reference items, their
  weights, similarities and labels (Table 4.11).

The search is exact, chunked over queries (memory ``chunk_size x n_reference`` at most) and fully
vectorised: an exact top-k finds the candidates, and one sparse x product sums the weights per label. Candidate search backends: a BLAS product per query
chunk followed by ``torch.topk`` (default), FAISS ``IndexFlatIP``, or numpy ``argpartition``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.base import BaseEstimator, ClassifierMixin, MultiOutputMixin
from tqdm.auto import tqdm

from ..validation import (
    check_choice,
    check_fitted,
    check_float,
    check_indicator,
    check_int,
    check_matrix,
    l2_normalize,
)

try:  # FAISS is the fast path; the numpy path is the fallback and the test reference
    import faiss
except ImportError:  # pragma: no cover
    faiss = None


def check_reference_keywords(Y, n: int, name: str = "Y") -> np.ndarray:
    """The (n, C) {0, 1} keyword matrix of reference items, every item with at least one keyword.

    :func:`zsl_lib.validation.check_indicator`; an item without keywords carries no label
    information, and the message says where to drop such items.
    """
    Y = check_indicator(name, Y, n)
    try:
        return check_indicator(name, Y, n, allow_empty_rows=False)
    except ValueError as err:  # only empty rows remain to fail: say how to drop them
        raise ValueError(f"{err} (zsl_lib.zeroshot.multilabel_prep.drop_unlabelled)") from None


BACKENDS = ("torch", "faiss", "numpy")


def _chunks(n: int, size: int, desc: str, progress: bool):
    starts = range(0, n, size)
    return tqdm(starts, desc=desc, disable=not progress or n <= size, leave=False)


def exact_top_k(Q: np.ndarray, R: np.ndarray, k: int, exclude=None, backend: str = "torch",
                chunk_size: int = 2048) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` largest inner products of each query row with the reference rows, best first.

    ``exclude`` (nq,) int: a reference index to leave out per query (-1: none), i.e. the query
    itself when it is a reference item. Returns ``(sims float32 (nq, k), ids int64 (nq, k))``.
    """
    check_choice("backend", backend, BACKENDS)
    nq, N = len(Q), len(R)
    extra = 0 if exclude is None else 1
    kk = min(k + extra, N)
    if backend == "faiss" and faiss is not None:
        index = faiss.IndexFlatIP(R.shape[1])
        index.add(np.ascontiguousarray(R))
        D = np.empty((nq, kk), np.float32)
        Ids = np.empty((nq, kk), np.int64)
        for s in range(0, nq, chunk_size):
            D[s:s + chunk_size], Ids[s:s + chunk_size] = index.search(np.ascontiguousarray(Q[s:s + chunk_size]), kk)
    elif backend == "torch":  # BLAS product per chunk + torch.topk (partial selection, multi-threaded)
        import torch

        D = np.empty((nq, kk), np.float32)
        Ids = np.empty((nq, kk), np.int64)
        for s in range(0, nq, chunk_size):
            v, i = torch.topk(torch.from_numpy(Q[s:s + chunk_size] @ R.T), kk, dim=1, sorted=True)
            D[s:s + chunk_size], Ids[s:s + chunk_size] = v.numpy(), i.numpy()
    else:  # "numpy", or "faiss" without faiss installed
        D = np.empty((nq, kk), np.float32)
        Ids = np.empty((nq, kk), np.int64)
        for s in range(0, nq, chunk_size):
            S = Q[s:s + chunk_size] @ R.T
            part = np.argpartition(-S, kk - 1, axis=1)[:, :kk] if kk < N else np.broadcast_to(np.arange(N), S.shape)
            ps = np.take_along_axis(S, part, 1)
            o = np.argsort(-ps, axis=1, kind="stable")
            D[s:s + chunk_size] = np.take_along_axis(ps, o, 1)
            Ids[s:s + chunk_size] = np.take_along_axis(part, o, 1)
    if exclude is not None:
        hit = Ids == np.asarray(exclude, dtype=np.int64)[:, None]
        D = np.where(hit, -np.inf, D)
        o = np.argsort(-D, axis=1, kind="stable")[:, : min(k, kk)]
        D, Ids = np.take_along_axis(D, o, 1), np.take_along_axis(Ids, o, 1)
        Ids = np.where(np.isfinite(D), Ids, -1)
    return D[:, :k], Ids[:, :k]


def neighbor_weights(sims: np.ndarray, temperature: float, max_sim_diff: float,
                     stop_weight: float = 0.99) -> np.ndarray:
    """Weights (nq, k) of ranked candidate similarities (best first, -inf = no candidate).

    scaled = temperature * sims; keep scaled >= best - max_sim_diff; softmax over the kept;
    accumulate from the best and drop every item after the cumulative weight reached stop_weight.
    """
    z = temperature * sims.astype(np.float64)
    best = z[:, :1]
    keep = np.isfinite(z) & (z >= best - max_sim_diff)
    e = np.where(keep, np.exp(np.where(keep, z - best, 0.0)), 0.0)
    w = e / np.maximum(e.sum(1, keepdims=True), np.finfo(np.float64).tiny)
    before = np.cumsum(w, axis=1) - w  # cumulative weight of the better-ranked items
    return np.where(before < stop_weight, w, 0.0).astype(np.float32)


class MultiLabelEstimator(MultiOutputMixin, ClassifierMixin, BaseEstimator):
    """Base of the multi-label models: a scikit-learn classifier whose target is an (n, C) {0, 1}
    indicator matrix (tags ``multi_label``, multi-output only) and whose :meth:`predict` is
    ``predict_proba(X) >= threshold`` (the ``threshold`` parameter; the notebooks tune it on
    validation, see :func:`zsl_lib.zeroshot.thresholds.best_global_threshold`)."""

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        tags.target_tags.multi_output = True
        tags.target_tags.two_d_labels = True
        return tags

    def _indicator_targets(self, Y, n: int) -> np.ndarray:
        """The (n, C) indicator matrix to fit on. ``Y`` is that matrix (multi-label, the lab's
        case), or a 1-D vector of class labels (multi-class: one-hot over ``classes_``, and
        :meth:`predict` then returns the label of the most confident column). ``classes_``: the
        labels, or for an indicator matrix one ``[0, 1]`` per column (scikit-learn's convention)."""
        if Y is None:
            raise ValueError(f"{type(self).__name__} requires y to be passed, but the target y is None: "
                             "pass the (n, C) {0, 1} label matrix of the reference items")
        if not hasattr(Y, "toarray"):
            Y = np.asarray(Y)
        if not hasattr(Y, "toarray") and Y.ndim == 2 and Y.shape[1] == 1 and not np.isin(Y, (0, 1)).all():
            from sklearn.utils.validation import column_or_1d  # noqa: PLC0415

            Y = column_or_1d(Y, warn=True)  # a column of class labels, not an indicator matrix
        if hasattr(Y, "toarray") or Y.ndim != 1:
            self.single_label_ = False
            if Y.ndim == 2:  # scikit-learn's multi-label convention (as KNeighborsClassifier)
                self.classes_ = [np.array([0, 1])] * Y.shape[1]
            return Y
        from sklearn.utils.multiclass import check_classification_targets  # noqa: PLC0415

        y = Y
        check_classification_targets(y)
        if y.shape != (n,):
            raise ValueError(f"y has {y.shape[0]} labels for {n} items; pass one label per row of X")
        self.classes_, codes = np.unique(y, return_inverse=True)
        self.single_label_ = True
        return (codes[:, None] == np.arange(len(self.classes_))[None, :]).astype(np.float32)

    def _class_proba(self, P: np.ndarray) -> np.ndarray:
        """``P`` unchanged after a multi-label fit; after a fit on 1-D labels, each row divided by
        its sum, a distribution over ``classes_`` (the order of classes is unchanged)."""
        if not getattr(self, "single_label_", False):
            return P
        total = P.sum(1, keepdims=True)
        return np.divide(P, total, out=np.full_like(P, 1.0 / P.shape[1]), where=total > 0)

    def predict(self, X, **kwargs) -> np.ndarray:
        """Multi-label fit: {0, 1} int64 (n, C), the labels whose confidence reaches ``threshold``.
        Fit on a 1-D label vector: the label (n,) of the most confident class."""
        check_float("threshold", self.threshold)
        P = self.predict_proba(X, **kwargs)
        if getattr(self, "single_label_", False):
            return self.classes_[P.argmax(1)]
        return (P >= self.threshold).astype(np.int64)


class NeighborSearch(MultiLabelEstimator):
    """The thesis's neighbour search model (section 3.2.2), scikit-learn style.

    Parameters
    ----------
    temperature : float >= 0, the factor the cosine similarities are multiplied by before softmax
        (thesis optimum 68.6; CLIP uses 100).
    max_sim_diff : float >= 0, drop candidates whose scaled score is more than this below the best
        match's (thesis: 5.26, searched in [0, 8]).
    max_neighbors : int >= 1, at most this many reference items (thesis: 36, searched up to 200).
    stop_weight : float in (0, 1], stop adding reference items once their cumulative weight reached
        it (0.99 in the thesis).
    backend : exact candidate search: "torch" (default: BLAS product + ``torch.topk`` per chunk,
        the fastest here), "faiss" (``IndexFlatIP``) or "numpy" (``argpartition``).
    chunk_size : queries per block; memory is O(chunk_size x n_reference) in the numpy backend.
    threshold : :meth:`predict` keeps the labels whose confidence reaches it.
    """

    def __init__(self, temperature: float = 100.0, max_sim_diff: float = 7.0,
                 max_neighbors: int = 200, stop_weight: float = 0.99, backend: str = "torch",
                 chunk_size: int = 2048, progress: bool = False, threshold: float = 0.5):
        self.temperature = temperature
        self.max_sim_diff = max_sim_diff
        self.max_neighbors = max_neighbors
        self.stop_weight = stop_weight
        self.backend = backend
        self.chunk_size = chunk_size
        self.progress = progress
        self.threshold = threshold

    def _validate_params(self):
        check_float("temperature", self.temperature, low=0)
        check_float("max_sim_diff", self.max_sim_diff, low=0)
        check_int("max_neighbors", self.max_neighbors, minimum=1)
        check_float("stop_weight", self.stop_weight, 0, 1, low_open=True)
        check_choice("backend", self.backend, BACKENDS)

    def fit(self, X, Y) -> NeighborSearch:
        """Store the reference items: features ``X`` (N, d) (L2-normalised here) and keywords ``Y`` (N, C)."""
        self._validate_params()
        X = check_matrix("X", X)
        self.Y_ = check_reference_keywords(self._indicator_targets(Y, len(X)), len(X), "Y")
        self.X_ = l2_normalize(X)
        self.Ysp_ = sp.csr_matrix(self.Y_)
        self.n_classes_ = self.Y_.shape[1]
        self.n_features_in_ = X.shape[1]
        return self

    def kneighbors(self, Q, self_index=None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The contributing reference items of each query, best first.

        ``self_index`` (nq,) int: the reference index of each query when queries are reference
        items themselves (-1 where not); those are excluded (thesis: otherwise a perfect match).
        Returns ``(ids int64 (nq, k), weights float32 (nq, k), cosine float32 (nq, k))``, padded
        with id -1 and weight 0 where fewer than k items contribute.
        """
        check_fitted(self, "X_", "fit(X, Y)")
        self._validate_params()
        Q = l2_normalize(check_matrix("Q", Q, dim=self.X_.shape[1], fitted="the model was fitted on"))
        if self_index is not None:
            self_index = np.asarray(self_index, dtype=np.int64)
            if self_index.shape != (len(Q),):
                raise ValueError(f"self_index must have shape ({len(Q)},), got {self_index.shape}")
        k = int(min(self.max_neighbors, len(self.X_)))
        sims, ids = exact_top_k(Q, self.X_, k, exclude=self_index, backend=self.backend,
                                chunk_size=self.chunk_size)
        w = neighbor_weights(sims, self.temperature, self.max_sim_diff, self.stop_weight)
        ids = np.where(w > 0, ids, -1)
        return ids, w, np.where(w > 0, sims, np.nan).astype(np.float32)

    def predict_proba(self, Q, self_index=None) -> np.ndarray:
        """Confidence (nq, C) float32 in [0, 1]: summed weights of the reference items per label."""
        ids, w, _ = self.kneighbors(Q, self_index)
        rows = np.repeat(np.arange(len(ids)), ids.shape[1])
        valid = ids.ravel() >= 0
        W = sp.csr_matrix((w.ravel()[valid], (rows[valid], ids.ravel()[valid])),
                          shape=(len(ids), len(self.X_)))
        return self._class_proba(np.clip(np.asarray((W @ self.Ysp_).todense(), dtype=np.float32), 0.0, 1.0))

    def explain(self, Q, class_names, top: int = 5, self_index=None) -> pd.DataFrame:
        """The reference items that contributed to each query's scores (Table 4.11).

        Returns a DataFrame with one row per (query, rank): ``query``, ``rank`` (1 = most
        similar), ``reference_index``, ``cosine``, ``weight`` and ``labels`` (the reference item's
        keywords, joined by ", "); at most ``top`` rows per query.
        """
        check_fitted(self, "X_", "fit(X, Y)")
        if len(class_names) != self.n_classes_:
            raise ValueError(f"class_names has {len(class_names)} names, the model has {self.n_classes_} classes")
        ids, w, cos = self.kneighbors(Q, self_index)
        ids, w, cos = ids[:, :top], w[:, :top], cos[:, :top]
        q, r = np.nonzero(ids >= 0)
        names = np.asarray(class_names, dtype=object)
        labels = [", ".join(names[self.Y_[i] > 0]) for i in ids[q, r]]
        return pd.DataFrame({"query": q, "rank": r + 1, "reference_index": ids[q, r],
                             "cosine": cos[q, r], "weight": w[q, r], "labels": labels})


class OneNearestNeighbor(NeighborSearch):
    """The 1-NN baseline (thesis 4.1.3): neighbour search with ``max_neighbors=1``; scores are 0/1.

    The search's other settings are fixed class attributes, not parameters."""

    temperature, max_sim_diff, max_neighbors, stop_weight, progress = 1.0, 0.0, 1, 0.99, False

    def __init__(self, backend: str = "torch", chunk_size: int = 2048, threshold: float = 0.5):
        self.backend = backend
        self.chunk_size = chunk_size
        self.threshold = threshold


class MLkNN(MultiLabelEstimator):
    """ML-kNN (Zhang & Zhou 2007): Bayesian posterior of each label from its count among k neighbours.

    Cosine neighbours (exact); Laplace smoothing ``s``; training counts exclude the item itself.
    ``predict_proba`` returns P(label | count) (n, C) in [0, 1]; ``predict`` thresholds it at
    ``threshold``.
    """

    def __init__(self, k: int = 10, s: float = 1.0, backend: str = "torch", threshold: float = 0.5):
        self.k, self.s, self.backend, self.threshold = k, s, backend, threshold

    def fit(self, X, Y) -> MLkNN:
        check_int("k", self.k, minimum=1)
        check_float("s", self.s, low=0)
        check_choice("backend", self.backend, BACKENDS)
        X = l2_normalize(check_matrix("X", X))
        Y = check_indicator("Y", self._indicator_targets(Y, len(X)), len(X))
        if not 1 <= self.k < len(X):
            raise ValueError(f"k must lie in [1, n_samples - 1] (the item itself is excluded); got "
                             f"k={self.k} for n_samples={len(X)}")
        n, C = Y.shape
        self.X_, self.Y_ = X, Y
        self.n_features_in_ = X.shape[1]
        self.prior_ = (self.s + Y.sum(0)) / (2 * self.s + n)
        _, ids = exact_top_k(X, X, self.k, exclude=np.arange(n), backend=self.backend)
        counts = Y[ids].sum(1).astype(np.int64)  # (n, C) neighbours carrying each label
        k1 = self.k + 1
        # histograms of neighbour counts among items with / without each label: (k+1, C)
        flat = counts + k1 * np.arange(C)[None, :]
        h1 = np.bincount(flat[Y > 0], minlength=k1 * C).reshape(C, k1).T
        h0 = np.bincount(flat[Y == 0], minlength=k1 * C).reshape(C, k1).T
        self.like1_ = (self.s + h1) / (self.s * k1 + h1.sum(0))
        self.like0_ = (self.s + h0) / (self.s * k1 + h0.sum(0))
        return self

    def predict_proba(self, Q) -> np.ndarray:
        check_fitted(self, "X_", "fit(X, Y)")
        Q = l2_normalize(check_matrix("Q", Q, dim=self.X_.shape[1], fitted="the model was fitted on"))
        _, ids = exact_top_k(Q, self.X_, self.k, backend=self.backend)
        counts = self.Y_[ids].sum(1).astype(np.int64)
        cls = np.arange(self.Y_.shape[1])[None, :]
        p1 = self.prior_ * self.like1_[counts, cls]
        p0 = (1 - self.prior_) * self.like0_[counts, cls]
        return self._class_proba((p1 / (p1 + p0)).astype(np.float32))
