"""Notebook 04 (LSH comparison): our grids beside the report's tables, and every comparison the
page words as a verdict, decided by a paired interval over the queries.

Every method answers the same queries, so two grid points are compared by the paired bootstrap of
:func:`zsl_lib.experiments.verdicts.compare` over their per-query scores (kept by
:func:`zsl_lib.experiments.lsh.evaluate` in each grid row's ``per_query``). The comparisons,
recorded by :func:`record_comparisons` (``<key>.diff/.lo/.hi/.n/.method``, in percentage points):

- ``cmp.<dataset>.<metric>.<better>-vs-<worse>``: the report's claim neural LSH > random-hyperplane
  LSH > k-means, one step at a time, each method at its best grid point for that metric (chosen on
  these queries); ``claim.<dataset>.<metric>.neural_gt_lsh_gt_kmeans`` is True only if both steps
  are above zero.
- ``ceiling.<dataset>.<metric>.exact-vs-<method>``: exact search minus the method's best grid point.
- ``trend.<dataset>.<method>.<group>.<metric>``: last minus first *testable* grid value of one grid
  group: grid points whose queries retrieve fewer than :data:`MIN_TREND_CANDIDATES` candidates on
  average (recorded as ``trend.min_candidates``) are left out, and a group with fewer than two
  testable points gets no trend (not testable at this gallery size).
- ``pca.<dataset>.<group>.p_at_10``: k-means precision@10 without PCA minus with PCA, averaged over
  the K values both grids share.
- ``dominance.<dataset>.lsh_points`` / ``.dominated``: LSH grid points (at least one candidate per
  query) for which a k-means or IVF point comparing no more vectors per query has a recall@10 above
  it (interval above zero) and a precision@10 not below it (interval not below zero).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from . import verdicts as V
from .lsh_source import REPORT

#: the report's three metrics (its "mAP" read as AP over the retrieved list)
CLAIM_METRICS = ("p_at_10", "p_at_50", "map_retrieved")
#: the report's claimed order, best first
CHAIN = ("neural-lsh", "lsh", "kmeans")
CEILING_METRICS = ("p_at_10", "p_at_50", "map_gallery")
TREND_METRICS = ("map_retrieved", "p_at_10", "p_at_50", "map_gallery", "recall_at_10")
PER_QUERY_METRICS = ("p_at_10", "p_at_50", "map_retrieved", "map_gallery", "recall_at_10")
#: a grid point enters a trend only when its queries retrieve at least this many candidates on
#: average (the ten precision@10 ranks); below it the metrics measure empty buckets, not the method
MIN_TREND_CANDIDATES = 10


# ------------------------------------------------------------------------------------------------
# the report's tables


def report_table(method: str) -> pd.DataFrame:
    """The report's table for ``method`` ("kmeans", "lsh", "neural-lsh") in long form.

    Columns: ``dataset`` (cifar10 / cifar100 / imagenet), ``method``, ``setting`` (k-means: "none"
    or "248" PCA dims; LSH: number of tables; neural LSH: 8 tables), ``param`` ("K", "H", "J"),
    ``value``, ``p_at_10``, ``p_at_50``, ``map`` (percent). Built from :data:`REPORT`.
    """
    if method not in REPORT:
        raise ValueError(f"method must be one of {tuple(REPORT)}; got {method!r}")
    rows = [
        {"dataset": ds, "method": method, "setting": setting, "param": t["param"], "value": v,
         **{m: numbers[m][i] for m in ("p_at_10", "p_at_50", "map")}}
        for ds, t in REPORT[method].items()
        for setting, numbers in t["settings"].items()
        for i, v in enumerate(t["values"])
    ]
    return pd.DataFrame(rows)


def report_best(metric: str = "p_at_10") -> pd.DataFrame:
    """Best value of ``metric`` per dataset and method over the report's grids (dataset x method)."""
    frames = pd.concat([report_table(m) for m in REPORT])
    return frames.pivot_table(index="dataset", columns="method", values=metric, aggfunc="max")


def report_setting(method: str, group: str):
    """Our grid group -> the report's setting ("none"/"248" PCA, number of tables)."""
    if method == "kmeans":
        # the report's "PCA 248" kept 95 % of the variance of its 512-d ResNet-18 embedding
        return {"pca-none": "none", "pca-0_95": "248", "pca-248": "248"}.get(group)
    if method in ("lsh", "neural-lsh") and group.startswith("L"):
        return int(group[1:])
    return None


def compare_with_report(grid: pd.DataFrame, method: str, report_names: dict) -> pd.DataFrame:
    """Our grid rows of ``method`` with the report's numbers beside them.

    ``report_names`` maps our dataset registry name (``grid.source``) to the report's column
    (``"cifar10"``, ``"cifar100"``, ``"imagenet"``). Columns: dataset, report_dataset, group, param,
    value, then ``p_at_10`` / ``report_p_at_10``, ``p_at_50`` / ``report_p_at_50``,
    ``map_retrieved`` / ``report_map``, ``map_gallery``, ``recall_at_10``, ``candidates_per_query``
    and ``scanned_per_query`` (when the grid has it).
    """
    ours = grid[(grid.method == method) & grid.p_at_10.notna()].copy()
    rep = report_table(method)
    ours["report_dataset"] = ours.source.map(report_names)
    ours["setting"] = [report_setting(method, g) for g in ours.group]
    rep = rep.rename(columns={"dataset": "report_dataset", "p_at_10": "report_p_at_10",
                              "p_at_50": "report_p_at_50", "map": "report_map"})
    rep["setting"] = rep.setting.astype(object)
    merged = ours.merge(rep[["report_dataset", "setting", "value", "report_p_at_10", "report_p_at_50", "report_map"]],
                        on=["report_dataset", "setting", "value"], how="left")
    cols = ["dataset", "report_dataset", "group", "param", "value", "p_at_10", "report_p_at_10", "p_at_50",
            "report_p_at_50", "map_retrieved", "report_map", "map_gallery", "recall_at_10",
            "candidates_per_query"] + (["scanned_per_query"] if "scanned_per_query" in merged else [])
    return merged[cols].round(2)


def best_per_method(grid: pd.DataFrame, metric: str = "p_at_10", methods=CHAIN[::-1]) -> pd.DataFrame:
    """Best ``metric`` over each method's grid, per dataset (dataset x method)."""
    g = grid[grid.method.isin(methods) & grid[metric].notna()]
    best = g.pivot_table(index="dataset", columns="method", values=metric, aggfunc="max")
    return best.reindex(columns=list(methods))  # a method with no grid point that ran: NaN


def ordering_holds(best: pd.DataFrame) -> pd.Series:
    """Whether the *point values* of ``best`` are ordered neural LSH > LSH > k-means (no interval:
    used for the report's own tables, which have no spread; our runs use :func:`record_comparisons`)."""
    return (best["neural-lsh"] > best["lsh"]) & (best["lsh"] > best["kmeans"])


# ------------------------------------------------------------------------------------------------
# paired comparisons over the queries


def claim_key(ds: str, metric: str, better: str, worse: str) -> str:
    return f"cmp.{ds}.{metric}.{better}-vs-{worse}"


def claim_steps(ds: str, metric: str) -> list[str]:
    """The step keys of the claim neural LSH > LSH > k-means on ``ds`` for ``metric``."""
    return [claim_key(ds, metric, a, b) for a, b in zip(CHAIN[:-1], CHAIN[1:], strict=True)]


def ceiling_key(ds: str, metric: str, method: str) -> str:
    return f"ceiling.{ds}.{metric}.exact-vs-{method}"


def trend_key(ds: str, method: str, group: str, metric: str) -> str:
    return f"trend.{ds}.{method}.{group}.{metric}"


def pca_key(ds: str, group: str) -> str:
    return f"pca.{ds}.{group}.p_at_10"


def _rows(grid: pd.DataFrame) -> pd.DataFrame:
    ok = grid.p_at_10.notna() if "p_at_10" in grid else pd.Series(False, index=grid.index)
    if "per_query" in grid:
        ok &= grid.per_query.map(lambda v: isinstance(v, dict))
    return grid[ok]


def per_query(row, metric: str) -> np.ndarray:
    """The per-query scores (percent) of ``metric`` kept in a grid row."""
    pq = row["per_query"] if isinstance(row, (dict, pd.Series)) else None
    if not isinstance(pq, dict) or metric not in pq:
        raise ValueError(f"grid row {dict(row)!r:.120} has no per-query {metric!r}: run the grid with "
                         "zsl_lib.experiments.lsh.run_grid (it keeps the per-query scores)")
    return np.asarray(pq[metric], dtype=np.float64)


def best_row(grid: pd.DataFrame, ds: str, method: str, metric: str):
    """The grid row of ``method`` on ``ds`` with the highest mean ``metric`` (None if none ran)."""
    g = _rows(grid)
    g = g[(g.dataset == ds) & (g.method == method)]
    return None if g.empty else g.loc[g[metric].idxmax()]


def _compare(a_row, b_row, metric: str, seed: int = 0) -> dict:
    return V.compare(per_query(a_row, metric), per_query(b_row, metric), seed=seed)


def record_comparisons(grid: pd.DataFrame, exact: pd.DataFrame,
                       record_fn: Callable[[str, object], object] | None = None) -> dict:
    """Decide and record every comparison of the page (module doc); returns ``{key: comparison}``.

    ``grid``: :func:`zsl_lib.experiments.lsh.run_grid` rows of every dataset (with ``per_query``);
    ``exact``: :func:`zsl_lib.experiments.lsh.exact_baselines` rows (the ``exact`` row's
    ``per_query``).
    """
    out: dict = {}
    if record_fn:
        record_fn("trend.min_candidates", MIN_TREND_CANDIDATES)

    def put(key, cmp):
        out[key] = V.record_comparison(key, cmp, record_fn) if record_fn else dict(cmp)

    for ds in dict.fromkeys(grid.dataset):
        for metric in CLAIM_METRICS:
            best = {m: best_row(grid, ds, m, metric) for m in CHAIN}
            for a, b in zip(CHAIN[:-1], CHAIN[1:], strict=True):
                if best[a] is not None and best[b] is not None:
                    put(claim_key(ds, metric, a, b), _compare(best[a], best[b], metric))
            if record_fn and all(k in out for k in claim_steps(ds, metric)):
                holds = all(V.decision(out[k]) == "higher" for k in claim_steps(ds, metric))
                record_fn(f"claim.{ds}.{metric}.neural_gt_lsh_gt_kmeans", holds)
        ex = exact[(exact.dataset == ds) & (exact.method == "exact")]
        if len(ex) and isinstance(ex.iloc[0].get("per_query"), dict):
            for metric in CEILING_METRICS:
                for m in CHAIN:
                    b = best_row(grid, ds, m, metric)
                    if b is not None:
                        put(ceiling_key(ds, metric, m), _compare(ex.iloc[0], b, metric))
        _trends(grid, ds, put)
        _pca(grid, ds, put)
        n, dom = _dominance(grid, ds)
        if n and record_fn:
            record_fn(f"dominance.{ds}.lsh_points", n)
            record_fn(f"dominance.{ds}.dominated", dom)
        out[f"dominance.{ds}"] = {"lsh_points": n, "dominated": dom}
    return out


def _trends(grid, ds, put):
    g = _rows(grid)
    g = g[(g.dataset == ds) & g.method.isin(CHAIN)]
    for (method, group), gd in g.groupby(["method", "group"], sort=False):
        if method == "kmeans" and group != "pca-none":
            continue
        if "candidates_per_query" in gd:
            gd = gd[gd.candidates_per_query >= MIN_TREND_CANDIDATES]
        if len(gd) < 2:
            continue
        first, last = gd.loc[gd.value.idxmin()], gd.loc[gd.value.idxmax()]
        for metric in TREND_METRICS:
            put(trend_key(ds, method, group, metric), _compare(last, first, metric))


def _pca(grid, ds, put):
    g = _rows(grid)
    g = g[(g.dataset == ds) & (g.method == "kmeans")]
    base = g[g.group == "pca-none"].set_index("value")
    for group, gd in g[g.group != "pca-none"].groupby("group", sort=False):
        gd = gd.set_index("value")
        common = sorted(set(base.index) & set(gd.index))
        if not common:
            continue
        a = np.mean([per_query(base.loc[K], "p_at_10") for K in common], axis=0)
        b = np.mean([per_query(gd.loc[K], "p_at_10") for K in common], axis=0)
        put(pca_key(ds, group), V.compare(a, b))


def _dominance(grid, ds) -> tuple[int, int]:
    g = _rows(grid)
    g = g[g.dataset == ds]
    cost = "scanned_per_query" if "scanned_per_query" in g else "candidates_per_query"
    lsh = g[(g.method == "lsh") & (g.candidates_per_query >= 1)]
    others = g[g.method.isin(["kmeans", "faiss-ivf"])]
    n = dom = 0
    for _, row in lsh.iterrows():
        n += 1
        cheaper = others[others[cost] <= row[cost]]
        if cheaper.empty:
            continue
        best = cheaper.loc[cheaper.recall_at_10.idxmax()]
        rec = V.decision(_compare(best, row, "recall_at_10"))
        prec = V.decision(_compare(best, row, "p_at_10"))
        dom += rec == "higher" and prec != "lower"
    return n, dom
