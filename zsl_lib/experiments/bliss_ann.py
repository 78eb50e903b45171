"""Notebook 01's index comparison on real features: BLISS (the report's, the fixed one, the fast
preset), FAISS k-means IVF and random-hyperplane LSH, recall@10 against the fraction of the gallery
scanned, with per-query recalls so that two methods can be compared on the same queries.
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd

from ..index.bliss import BLISS
from ..index.buckets import rerank_topk
from ..index.exact import exact_topk
from ..index.lsh import RandomHyperplaneLSH
from ..metrics.retrieval import recall_at_k
from ..validation import l2_normalize

__all__ = ["ann_curves", "value_at_fraction", "per_query_at_fraction", "paired_at_fraction"]


def _curve_point(method, setting, indptr, found_ids, true_ids, n):
    return {
        "method": method,
        "setting": setting,
        "fraction_scanned": float(np.diff(indptr).mean() / n),
        "recall_at_10": recall_at_k(found_ids, true_ids),
        # one recall per query (same order as the queries): paired comparisons between methods
        "per_query_recall": recall_at_k(found_ids, true_ids, average=False),
    }


def _bliss_curve(name, model: BLISS, Qn, true_ids, n, probes, min_freqs, max_fraction=0.4):
    rows = []
    R, B = model.n_repetitions, model.n_buckets
    for m in probes:
        for f in min_freqs:
            # skip settings that cannot scan less than max_fraction (a cost guard, not a filter)
            if m > B or f > R or (f == 1 and m / B > max_fraction) or (f > 1 and R * m / (f * B) > 2 * max_fraction):
                continue
            t = time.perf_counter()
            indptr, idx = model.candidates(Qn, m=m, min_freq=f, n_rerank=None)
            _, ids = rerank_topk(Qn, model.Xn_, indptr, idx, 10)
            row = _curve_point(name, f"M={m},mf={f}", indptr, ids, true_ids, n)
            row["query_seconds"] = time.perf_counter() - t
            rows.append(row)
    return rows


def ann_curves(
    X: np.ndarray,
    Q: np.ndarray,
    n_buckets: int = 64,
    bliss_report: dict | None = None,
    bliss_fixed: dict | None = None,
    bliss_fast: dict | None = None,
    lsh_bits=(6, 8, 10, 12),
    lsh_tables=(1, 2, 4, 8),
    probes=(1, 2, 3, 4, 5, 6, 8, 10, 12, 16, 24),
    min_freqs=(1, 2, 3, 4),
    seed: int = 0,
    progress: bool = True,
    device: str = "auto",
):
    """Compare the report's BLISS, the fixed BLISS, FAISS k-means IVF (``IndexIVFFlat``, nlist =
    ``n_buckets``) and random-hyperplane LSH on cosine search (features L2-normalised); with
    ``bliss_fast`` (e.g. :data:`~zsl_lib.index.bliss_fixed.FAST_DEFAULTS`) also a third BLISS,
    ``"bliss_fast"``.

    ``X`` gallery float (n, d), ``Q`` queries float (nq, d). Ground truth: exact cosine top-10
    (:func:`zsl_lib.index.exact.exact_topk`). BLISS uses B = ``n_buckets`` per repetition; its
    curve varies M (buckets probed per repetition) and the frequency filter; IVF varies nprobe;
    LSH varies bits and tables. Returns ``(curves, summary, models)``: a frame of curve points
    (method, setting, fraction_scanned, recall_at_10, query_seconds, and per_query_recall: the
    (nq,) recall of every query, for :func:`per_query_at_fraction`), a frame per method (build
    seconds, max/mean load, empty buckets) and the fitted BLISS models. ``device``: torch device of
    the BLISS networks (``"auto"``: CUDA, then MPS, then CPU).
    """
    import faiss  # noqa: PLC0415

    Xn = np.ascontiguousarray(l2_normalize(np.asarray(X, dtype=np.float32)))
    Qn = np.ascontiguousarray(l2_normalize(np.asarray(Q, dtype=np.float32)))
    n = Xn.shape[0]
    _, true_ids = exact_topk(Qn, Xn, 10, metric="ip")
    curves, summary, models = [], [], {}
    base = {"n_buckets": n_buckets, "distance": "cosine", "random_state": seed, "progress": progress, "device": device}
    blisses = [("bliss_report", bliss_report or {}), ("bliss_fixed", bliss_fixed or {})]
    for name, params in blisses + ([("bliss_fast", bliss_fast)] if bliss_fast is not None else []):
        p = {**base, **params}
        model = BLISS(**p).fit(Xn)
        models[name] = model
        loads = model.loads_
        summary.append({
            "method": name, "build_seconds": model.fit_seconds_,
            "max_over_mean_load": float(np.mean(loads.max(1) / loads.mean(1))),
            "empty_buckets": float(np.mean((loads == 0).sum(1))), "buckets_per_table": n_buckets,
            "tables": model.n_repetitions,
        })
        curves += _bliss_curve(name, model, Qn, true_ids, n, probes, min_freqs)
    # FAISS k-means IVF with the same number of buckets
    t = time.perf_counter()
    quant = faiss.IndexFlatIP(Xn.shape[1])
    ivf = faiss.IndexIVFFlat(quant, Xn.shape[1], n_buckets, faiss.METRIC_INNER_PRODUCT)
    ivf.cp.seed = seed
    ivf.train(Xn)
    ivf.add(Xn)
    build = time.perf_counter() - t
    _, lists = quant.search(Xn, 1)
    sizes = np.bincount(lists[:, 0], minlength=n_buckets)
    summary.append({"method": "ivf_kmeans", "build_seconds": build, "max_over_mean_load": float(sizes.max() / sizes.mean()),
                    "empty_buckets": float((sizes == 0).sum()), "buckets_per_table": n_buckets, "tables": 1})
    for nprobe in probes:
        if nprobe > n_buckets:
            continue
        t = time.perf_counter()
        ivf.nprobe = nprobe
        _, ids = ivf.search(Qn, 10)
        qs = time.perf_counter() - t
        _, probed = quant.search(Qn, nprobe)
        scanned = sizes[probed].sum(1)
        indptr = np.concatenate([[0], np.cumsum(scanned)])
        row = _curve_point("ivf_kmeans", f"nprobe={nprobe}", indptr, ids, true_ids, n)
        row["query_seconds"] = qs
        curves.append(row)
    # random-hyperplane LSH (notebook 04's implementation), centred so buckets are not all empty
    for bits in lsh_bits:
        for tables in lsh_tables:
            t = time.perf_counter()
            lsh = RandomHyperplaneLSH(bits, tables, center=True, random_state=seed).fit(Xn)
            build = time.perf_counter() - t
            t = time.perf_counter()
            indptr, _ = lsh.candidates(Qn)
            _, ids = lsh.search(Qn, 10)
            row = _curve_point("rh_lsh", f"H={bits},L={tables}", indptr, ids, true_ids, n)
            row["query_seconds"] = time.perf_counter() - t
            curves.append(row)
            if 2**bits == n_buckets or (bits == lsh_bits[0] and tables == lsh_tables[0]):
                sz = lsh.bucket_sizes()
                full = np.zeros(2**bits)
                full[: len(sz[0])] = np.sort(sz[0])[::-1]
                summary.append({"method": "rh_lsh", "build_seconds": build, "max_over_mean_load": float(full.max() / full.mean()),
                                "empty_buckets": float((full == 0).sum()), "buckets_per_table": 2**bits, "tables": tables})
    summ = pd.DataFrame(summary).drop_duplicates("method", keep="last").reset_index(drop=True)
    return pd.DataFrame(curves), summ, models


def value_at_fraction(curves: pd.DataFrame, method: str, fraction: float = 0.05) -> float:
    """Recall@10 of ``method`` at ``fraction`` of the gallery scanned: the upper envelope of its
    curve points (best recall at or below each scan fraction), linearly interpolated in the scan
    fraction, starting from (0, 0) (scanning nothing finds nothing; below the first measured
    point this is a lower bound). Returns NaN for a method without curve points."""
    c, f, best, _ = _envelope(curves, method)
    if len(c) == 0:
        return float("nan")
    return float(np.interp(fraction, f, best))


def _envelope(curves: pd.DataFrame, method: str):
    """Scan fractions (from 0), the upper envelope's recalls and, per point, the index of the curve
    point that holds the envelope there (-1 for the origin)."""
    c = curves[curves.method == method].sort_values("fraction_scanned", kind="stable")
    f = np.concatenate([[0.0], c.fraction_scanned.to_numpy()])
    r = np.concatenate([[0.0], c.recall_at_10.to_numpy()])
    best = np.maximum.accumulate(r)
    holder = np.maximum.accumulate(np.where(r >= best, np.arange(len(r)), 0)) - 1
    return c, f, best, holder


def per_query_at_fraction(curves: pd.DataFrame, method: str, fraction: float = 0.05) -> np.ndarray:
    """Recall@10 of every query for ``method`` at ``fraction`` of the gallery scanned, by the rule
    of :func:`value_at_fraction`: the curve points that hold the upper envelope on either side of
    ``fraction``, interpolated with the same weights, so that the mean over the queries equals
    :func:`value_at_fraction`. Returns float64 (nq,); raises for a method without curve points."""
    c, f, _, holder = _envelope(curves, method)
    if len(c) == 0:
        raise ValueError(f"per_query_at_fraction: no curve points for method {method!r}; "
                         f"methods: {', '.join(sorted(curves.method.unique()))}")
    P = np.vstack([np.zeros_like(c.per_query_recall.iloc[0], dtype=float),
                   *[np.asarray(p, dtype=float) for p in c.per_query_recall]])
    rows = P[holder + 1]  # the envelope's per-query recalls at every scan fraction (origin: 0)
    if fraction >= f[-1]:
        return rows[-1]
    i = int(np.searchsorted(f, fraction, side="right")) - 1
    w = 0.0 if f[i + 1] == f[i] else (fraction - f[i]) / (f[i + 1] - f[i])
    return (1 - w) * rows[i] + w * rows[i + 1]


def paired_at_fraction(curves: pd.DataFrame, a: str, b: str, fraction: float = 0.05, *, seed: int = 0) -> dict:
    """Paired bootstrap interval (over the queries) of method ``a``'s recall@10 minus ``b``'s at
    ``fraction`` of the gallery scanned (:func:`zsl_lib.experiments.verdicts.compare`)."""
    from .verdicts import compare  # noqa: PLC0415

    return compare(per_query_at_fraction(curves, a, fraction), per_query_at_fraction(curves, b, fraction),
                   over="items", seed=seed)
