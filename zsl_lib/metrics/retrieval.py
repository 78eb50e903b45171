"""Retrieval metrics for ranked lists: precision@k, average precision, recall@k, candidates/query.

Two layouts are supported:

- dense ``(nq, m)`` ranked lists (ids padded with ``-1``, relevance padded with ``False``), the
  output of ``search(Q, k)``;
- CSR ragged lists ``(indptr (nq+1,), values (nnz,))`` with each query's entries ranked best
  first, the output of ``BucketIndex.iter_ranked`` (every candidate a bucket index retrieved).

Relevance is "same label as the query" (:func:`label_relevance`). Two average precisions:

- ``n_relevant=None``: AP over the retrieved list, normalised by the number of relevant items
  *retrieved* (the report's "mean average precision"; it rises as buckets shrink because a small
  bucket holding few, mostly relevant items scores high);
- ``n_relevant`` = relevant items in the whole gallery: the standard AP, where relevant items
  that were not retrieved count as found at no rank (contribute 0). With the whole gallery
  ranked (exact search) this is the usual mAP (:func:`full_ranking_average_precision`).
"""

from __future__ import annotations

import numpy as np

from ..validation import check_int, check_matrix, l2_normalize


def _as_2d_bool(rel, name="relevance") -> np.ndarray:
    rel = np.asarray(rel)
    if rel.ndim != 2:
        raise ValueError(f"{name} must be 2-D (n_queries, list_length); got shape {rel.shape}")
    return rel.astype(bool, copy=False)


def label_relevance(query_labels, gallery_labels, ids) -> np.ndarray:
    """bool (nq, m): ``gallery_labels[ids[q, j]] == query_labels[q]``; ``-1`` ids are not relevant."""
    ids = np.asarray(ids)
    query_labels = np.asarray(query_labels)
    gallery_labels = np.asarray(gallery_labels)
    if ids.ndim != 2 or ids.shape[0] != query_labels.shape[0]:
        raise ValueError(
            f"ids must be (n_queries, m) with n_queries = len(query_labels) = {query_labels.shape[0]};"
            f" got shape {ids.shape}"
        )
    if ids.size and ids.max() >= gallery_labels.shape[0]:
        raise ValueError(
            f"ids contain {ids.max()} but the gallery has {gallery_labels.shape[0]} labels"
        )
    valid = ids >= 0
    return valid & (gallery_labels[np.where(valid, ids, 0)] == query_labels[:, None])


def precision_at_k(relevance, k: int, *, average: bool = True):
    """Fraction of the first ``k`` ranked items that are relevant (missing items count as misses).

    ``relevance``: bool (nq, m), m >= k or padded. Returns the mean over queries (float) or per
    query (nq,) float64 when ``average=False``.
    """
    rel = _as_2d_bool(relevance)
    k = check_int("k", k, minimum=1)
    p = rel[:, :k].sum(axis=1) / float(k)
    return float(p.mean()) if average else p


def average_precision(relevance, n_relevant=None, *, average: bool = True):
    """AP of ranked lists: ``sum_i rel_i * precision@i / n_relevant``.

    ``relevance``: bool (nq, m) ranked best first. ``n_relevant``: (nq,) total relevant items
    (standard AP), or None to use the relevant items in the list (AP over the retrieved list).
    Queries with ``n_relevant == 0`` get AP 0.
    """
    rel = _as_2d_bool(relevance)
    hits = np.cumsum(rel, axis=1)
    ranks = np.arange(1, rel.shape[1] + 1)
    total = (rel * hits / ranks).sum(axis=1)
    denom = rel.sum(axis=1) if n_relevant is None else _check_n_relevant(n_relevant, rel.shape[0])
    ap = np.divide(total, denom, out=np.zeros_like(total, dtype=np.float64), where=denom > 0)
    return float(ap.mean()) if average else ap


def _check_n_relevant(n_relevant, nq: int) -> np.ndarray:
    n_relevant = np.asarray(n_relevant, dtype=np.float64)
    if n_relevant.shape != (nq,):
        raise ValueError(
            f"n_relevant must have shape ({nq},), one count per query; got {n_relevant.shape}"
        )
    return n_relevant


def _csr_rows(indptr) -> tuple[np.ndarray, np.ndarray]:
    indptr = np.asarray(indptr, dtype=np.int64)
    if indptr.ndim != 1 or indptr.size < 1 or indptr[0] != 0 or np.any(np.diff(indptr) < 0):
        raise ValueError(
            "indptr must be a non-decreasing 1-D array starting at 0 (CSR row pointers)"
        )
    counts = np.diff(indptr)
    return np.repeat(np.arange(counts.size), counts), counts


def csr_label_relevance(indptr, ids, query_labels, gallery_labels) -> np.ndarray:
    """bool (nnz,): whether each CSR entry's gallery label equals its query's label."""
    rows, _ = _csr_rows(indptr)
    ids = np.asarray(ids, dtype=np.int64)
    if ids.shape != rows.shape:
        raise ValueError(f"ids must have indptr[-1] = {rows.size} entries; got {ids.shape}")
    return np.asarray(gallery_labels)[ids] == np.asarray(query_labels)[rows]


def _csr_rank_and_hits(indptr, relevance):
    rows, counts = _csr_rows(indptr)
    rel = np.asarray(relevance).astype(bool, copy=False)
    if rel.shape != rows.shape:
        raise ValueError(f"relevance must have indptr[-1] = {rows.size} entries; got {rel.shape}")
    indptr = np.asarray(indptr, dtype=np.int64)
    rank = np.arange(rel.size, dtype=np.int64) - indptr[:-1][rows] + 1
    cum = np.cumsum(rel, dtype=np.int64)
    before = np.concatenate(([0], cum))[indptr[:-1]]
    hits = cum - before[rows]
    return rows, counts, rel, rank, hits


def csr_precision_at_k(indptr, relevance, k: int) -> np.ndarray:
    """Per query (nq,) precision@k of CSR ranked lists (missing items count as misses)."""
    k = check_int("k", k, minimum=1)
    rows, counts, rel, rank, _ = _csr_rank_and_hits(indptr, relevance)
    return np.bincount(rows, weights=rel & (rank <= k), minlength=counts.size) / float(k)


def csr_average_precision(indptr, relevance, n_relevant=None) -> np.ndarray:
    """Per query (nq,) AP of CSR ranked lists; ``n_relevant`` as in :func:`average_precision`."""
    rows, counts, rel, rank, hits = _csr_rank_and_hits(indptr, relevance)
    nq = counts.size
    total = np.bincount(rows, weights=np.where(rel, hits / rank, 0.0), minlength=nq)
    if n_relevant is None:
        denom = np.bincount(rows, weights=rel, minlength=nq)
    else:
        denom = _check_n_relevant(n_relevant, nq)
    return np.divide(total, denom, out=np.zeros(nq), where=denom > 0)


def recall_at_k(found_ids, true_ids, *, average: bool = True):
    """Fraction of the true neighbours ``true_ids`` (nq, k) that appear in ``found_ids`` (nq, k').

    ``-1`` entries (padding) are ignored in both. The usual "recall@k" of approximate search when
    ``true_ids`` are the exact top-k and ``found_ids`` the index's top-k.
    """
    found_ids = np.asarray(found_ids, dtype=np.int64)
    true_ids = np.asarray(true_ids, dtype=np.int64)
    if found_ids.ndim != 2 or true_ids.ndim != 2 or found_ids.shape[0] != true_ids.shape[0]:
        raise ValueError(
            f"found_ids and true_ids must be 2-D with the same number of rows; got "
            f"{found_ids.shape} and {true_ids.shape}"
        )
    nq = true_ids.shape[0]
    span = np.int64(max(int(found_ids.max(initial=0)), int(true_ids.max(initial=0))) + 1)
    rows_t = np.repeat(np.arange(nq, dtype=np.int64), true_ids.shape[1])
    rows_f = np.repeat(np.arange(nq, dtype=np.int64), found_ids.shape[1])
    t, f = true_ids.ravel(), found_ids.ravel()
    hit = np.isin(rows_t * span + t, (rows_f * span + f)[f >= 0]) & (t >= 0)
    n_true = (true_ids >= 0).sum(axis=1)
    r = np.bincount(rows_t, weights=hit, minlength=nq)
    r = np.divide(r, n_true, out=np.zeros(nq), where=n_true > 0)
    return float(r.mean()) if average else r


def candidates_per_query(indptr) -> float:
    """Mean number of gallery items scanned per query, from CSR row pointers."""
    _, counts = _csr_rows(indptr)
    return float(counts.mean()) if counts.size else 0.0


def full_ranking_average_precision(
    Q, X, query_labels, gallery_labels, *, chunk_rows: int = 256, average: bool = True
):
    """Standard AP of ranking the whole gallery ``X`` (n, d) by cosine to each query of ``Q``.

    Relevance = same label. This needs a full sort of every score row (the only way to place
    every relevant item), done in chunks of ``chunk_rows`` queries. Returns mean or (nq,) AP.
    """
    X = l2_normalize(check_matrix("X (gallery)", X))
    Q = l2_normalize(check_matrix("Q (queries)", Q, dim=X.shape[1]))
    query_labels = np.asarray(query_labels)
    gallery_labels = np.asarray(gallery_labels)
    classes, counts = np.unique(gallery_labels, return_counts=True)
    pos = np.searchsorted(classes, query_labels)
    pos_c = np.minimum(pos, classes.size - 1)
    n_rel = np.where(classes[pos_c] == query_labels, counts[pos_c], 0)
    ap = np.empty(Q.shape[0])
    for s in range(0, Q.shape[0], chunk_rows):
        e = min(s + chunk_rows, Q.shape[0])
        order = np.argsort(-(Q[s:e] @ X.T), axis=1, kind="stable")
        rel = gallery_labels[order] == query_labels[s:e, None]
        ap[s:e] = average_precision(rel, n_rel[s:e], average=False)
    return float(ap.mean()) if average else ap


def csr_average_precision_scored(indptr, scores, relevance, n_relevant=None) -> np.ndarray:
    """Per query (nq,) AP of *unsorted* CSR candidate lists ranked by descending ``scores``.

    Same value as sorting each row and calling :func:`csr_average_precision` (up to the order of
    exactly tied scores), but only sorts score *values* (row-wise ``np.sort``, several times faster
    than an argsort): the rank of a relevant item is 1 + the number of candidates of its query
    scoring higher (a ``searchsorted`` in the sorted rows), its hit count 1 + the number of
    relevant candidates scoring higher.
    """
    rows, counts = _csr_rows(indptr)
    indptr = np.asarray(indptr, dtype=np.int64)
    scores = np.asarray(scores, dtype=np.float32)
    rel = np.asarray(relevance).astype(bool, copy=False)
    if scores.shape != rows.shape or rel.shape != rows.shape:
        raise ValueError(
            f"scores and relevance must have indptr[-1] = {rows.size} entries; got "
            f"{scores.shape} and {rel.shape}"
        )
    nq = counts.size
    denom = (
        np.bincount(rows, weights=rel, minlength=nq)
        if n_relevant is None
        else _check_n_relevant(n_relevant, nq)
    )
    if not rel.any():
        return np.zeros(nq)
    # keys increasing with rank: row * span + (-score); span leaves room for any float32 score
    lo, hi = float(scores.min()), float(scores.max())
    span = (hi - lo) + 2.0
    width = int(counts.max())
    pos = np.arange(rows.size, dtype=np.int64) - indptr[:-1][rows]
    padded = np.full((nq, width), hi - lo + 1.0, dtype=np.float64)  # padding sorts last in a row
    padded[rows, pos] = hi - scores.astype(np.float64)  # in [0, hi - lo]
    padded.sort(axis=1)
    padded += span * np.arange(nq, dtype=np.float64)[:, None]
    r_rows = rows[rel]
    r_keys = (hi - scores[rel].astype(np.float64)) + span * r_rows
    rank = np.searchsorted(padded.ravel(), r_keys, side="left") - r_rows * width + 1
    r_sorted = np.sort(r_keys)
    r_first = np.searchsorted(r_sorted, span * np.arange(nq, dtype=np.float64) - 0.5)
    hits = np.searchsorted(r_sorted, r_keys, side="left") - r_first[r_rows] + 1
    total = np.bincount(r_rows, weights=hits / rank, minlength=nq)
    return np.divide(total, denom, out=np.zeros(nq), where=denom > 0)
