"""Notebook 04's page (LSH comparison), rendered from the record: the summary, the settings against
the report, the tables of the comparisons and the closing discussion.

No number of the prose is typed: each is formatted from the recorded dict (``record.load_results()``)
or from the report's numbers (:data:`SOURCE`, re-exported from :mod:`zsl_lib.experiments.lsh_source`).
Every verdict word ("beats", "reproduced", "rises", "falls", "tie") is decided by
:func:`zsl_lib.experiments.verdicts.decision` from a paired interval recorded by
:func:`zsl_lib.experiments.lsh_compare.record_comparisons`; an ordering holds only if each step does.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence

import pandas as pd

from . import verdicts as V
from .lsh_compare import (
    CHAIN,
    CLAIM_METRICS,
    MIN_TREND_CANDIDATES,
    ceiling_key,
    claim_steps,
    pca_key,
    trend_key,
)
from .lsh_settings import COLUMN_NAMES, ENCODER_NAMES, leakage, settings, settings_markdown  # noqa: F401  (re-exported)
from .lsh_source import REPORT, SOURCE, source_grids  # noqa: F401  (re-exported)

_METHOD = {"kmeans": "k-means", "lsh": "random-hyperplane LSH", "neural-lsh": "neural LSH",
           "faiss-ivf": "FAISS IVFFlat", "faiss-lsh": "FAISS IndexLSH", "exact": "exact search"}
_METRIC = {"p_at_10": "precision@10", "p_at_50": "precision@50", "map_retrieved": "mAP over the retrieved list",
           "map_gallery": "mAP over the gallery", "recall_at_10": "recall@10"}
_ENCODER = ENCODER_NAMES
_COLUMN = COLUMN_NAMES
_PARAM = {"kmeans": "K", "lsh": "H", "neural-lsh": "J"}
_PARAM_RE = re.compile(r"^([A-Za-z_]+)(\d+)$")
#: the report's stated direction of each metric as buckets shrink (more K / H / J), per report column:
#: "precision@10 and precision@50 are decreasing ... the MAP is increasing" (CIFAR-10, CIFAR-100);
#: on ImageNet "all three evaluation metrics are showing an increasing trend"
REPORT_TRENDS = {"cifar10": {"map_retrieved": "higher", "p_at_10": "lower", "p_at_50": "lower"},
                 "cifar100": {"map_retrieved": "higher", "p_at_10": "lower", "p_at_50": "lower"},
                 "imagenet": {"map_retrieved": "higher", "p_at_10": "higher", "p_at_50": "higher"}}
_DIRECTION = {"higher": "rises", "lower": "falls"}
#: a decided trend as a verb phrase ("the mAP rises", "the mAP stays flat within noise")
_TREND = {"higher": "rises", "lower": "falls", "tie": "stays flat within noise"}
#: why a report column is absent from the default run
OFFLINE_WHY = {"cifar100": " (CIFAR-100 is not in the offline data mirror; the paper profile downloads it)",
               "imagenet": " (no ImageNet offline)"}


def dataset_key(spec: str) -> str:
    """The recorded name of a ``dataset:encoder`` spec (as :func:`zsl_lib.experiments.lsh.load_task`
    names its task)."""
    dataset, _, encoder = spec.partition(":")
    return f"{dataset}-{encoder.split(':')[-1].replace('/', '-')}"


def _label(ds: str) -> str:
    for prefix, name in (("cifar10-", "CIFAR-10"), ("cifar100-", "CIFAR-100"), ("tiny-imagenet-", "Tiny-ImageNet")):
        if ds.startswith(prefix):
            enc = ds[len(prefix):]
            return f"{name} / {_ENCODER.get(enc, enc)}"
    return ds


def _f(x: float, nd: int = 1) -> str:
    return f"{x:,.{nd}f}"


def _range(values, nd: int = 1, sep: str = "-", unit: str = "") -> str:
    """``lo-hi`` of ``values`` formatted, one number when both ends format alike."""
    lo, hi = _f(min(values), nd), _f(max(values), nd)
    return f"{lo}{unit}" if lo == hi else f"{lo}{unit}{sep}{hi}{unit}"


def _iv(cmp: Mapping) -> str:
    """``+1.2 (-0.3 to +2.6)``: a difference in points and its 95 % interval, with one decimal, or
    more (up to three) when the interval is narrower than 0.1 points, so that it never prints as
    "0.0 (0.0 to 0.0)"."""
    width = abs(float(cmp["hi"]) - float(cmp["lo"]))
    digits = 1 if width >= 0.1 or width == 0 else min(3, 1 - math.floor(math.log10(width)))
    return (f"{V.fmt(cmp['diff'], digits=digits, signed=True)} ({V.fmt(cmp['lo'], digits=digits, signed=True)} to "
            f"{V.fmt(cmp['hi'], digits=digits, signed=True)})")


def _grid(results: dict, ds: str, method: str, group: str) -> dict:
    """``{value: {metric: number}}`` of one grid row group, values sorted ascending."""
    prefix = f"{ds}.{method}.{group}."
    out: dict = {}
    for key, v in results.items():
        if key.startswith(prefix):
            rest = key[len(prefix):].split(".")
            m = _PARAM_RE.match(rest[0]) if len(rest) == 2 else None
            if m:
                out.setdefault(int(m.group(2)), {})[rest[1]] = v
    return dict(sorted(out.items()))


def _groups(results: dict, ds: str, method: str) -> list[str]:
    prefix = f"{ds}.{method}."
    found = {k[len(prefix):].split(".")[0] for k in results if k.startswith(prefix)}
    return sorted(found, key=lambda g: (len(g), g))


def _ran(results: Mapping, datasets: Sequence[str]) -> list[str]:
    return [ds for ds in (dataset_key(s) for s in datasets) if f"exact.{ds}.p_at_10" in results]


def _columns(ds_list, report_columns: Mapping) -> dict:
    return {ds: next((report_columns[d] for d in sorted(report_columns, key=len, reverse=True)
                      if ds.startswith(f"{d}-")), None) for ds in ds_list}


def _best(results, ds, method, metric):
    return results.get(f"best.{ds}.{method}.{metric}")


# ------------------------------------------------------------------------------------------------
# tables


def claim_table(results: Mapping, datasets: Sequence[str]) -> pd.DataFrame:
    """Best of each grid per dataset and metric, exact search, and the two steps of the claim."""
    rows = []
    for ds in _ran(results, datasets):
        for metric in CLAIM_METRICS:
            steps = [V.read_comparison(results, k) for k in claim_steps(ds, metric)]
            if any(s is None for s in steps):
                continue
            holds = V.ordering_holds(results, claim_steps(ds, metric))
            ex = results.get(f"exact.{ds}.{'map_gallery' if metric == 'map_retrieved' else metric}")
            rows.append({"dataset": _label(ds), "metric": _METRIC[metric],
                         **{f"best {_METHOD[m]} (%)": _best(results, ds, m, metric) for m in CHAIN[::-1]},
                         "exact search (%)": ex,
                         "neural LSH − LSH (95 % interval)": _iv(steps[0]),
                         "LSH − k-means (95 % interval)": _iv(steps[1]),
                         "claimed order": "holds" if holds else "not met"})
    return pd.DataFrame(rows)


def ceiling_table(results: Mapping, datasets: Sequence[str]) -> pd.DataFrame:
    """Exact search minus the best grid point of each method, with the decided side."""
    rows = []
    words = {"higher": "exact above", "lower": "method above exact", "tie": "tie"}
    for ds in _ran(results, datasets):
        for metric in ("p_at_10", "p_at_50", "map_gallery"):
            row = {"dataset": _label(ds), "metric": _METRIC[metric], "exact search (%)": results.get(f"exact.{ds}.{metric}")}
            for m in CHAIN[::-1]:
                cmp = V.read_comparison(results, ceiling_key(ds, metric, m))
                if cmp is not None:
                    row[f"exact − best {_METHOD[m]}"] = f"{_iv(cmp)}: {words[V.decision(cmp)]}"
            if len(row) > 3:
                rows.append(row)
    return pd.DataFrame(rows)


def min_candidates(results: Mapping) -> float:
    """The mean candidates per query a grid point needs to enter a trend, as recorded (a record
    from before the threshold compared every grid value: 0)."""
    return results.get("trend.min_candidates", 0)


def _testable(results: Mapping, pts: dict) -> tuple[dict, dict]:
    """Grid points with at least :func:`min_candidates` candidates per query, and the others."""
    thr = min_candidates(results)
    keep = {v: p for v, p in pts.items() if p.get("candidates_per_query", math.inf) >= thr}
    return keep, {v: p for v, p in pts.items() if v not in keep}


def _trend_rows(results: Mapping, ds: str, column: str | None) -> list[dict]:
    """One row per grid group: the trend from the first to the last testable grid value, or a
    "not testable at this gallery size" row when fewer than two grid values are testable."""
    expected = REPORT_TRENDS.get(column or "", {})
    rows = []
    for method in CHAIN[::-1]:
        for group in _groups(results, ds, method):
            if method == "kmeans" and group != "pca-none":
                continue
            pts = _grid(results, ds, method, group)
            if not expected or len(pts) < 2:
                continue
            keep, left = _testable(results, pts)
            setting = "no PCA" if method == "kmeans" else f"{group[1:]} tables"
            row = {"dataset": _label(ds), "method": f"{_METHOD[method]} ({setting})"}
            left_txt = ", ".join(f"{v} ({_f(p.get('candidates_per_query', 0), 2 if p.get('candidates_per_query', 0) < 1 else 1)})"
                                 for v, p in left.items())
            row["_left"] = f"{_PARAM[method]} = {left_txt}" if left else ""
            cmps = {m: V.read_comparison(results, trend_key(ds, method, group, m)) for m in expected}
            if len(keep) < 2 or any(c is None for c in cmps.values()):
                if len(keep) >= 2:
                    continue  # testable but not recorded (an older record): leave out
                row["grid"] = f"{_PARAM[method]} = {' → '.join(str(v) for v in pts)}"
                row.update({_METRIC[m]: None for m in expected})
                row["as the report describes"] = "not testable at this gallery size"
                rows.append(row)
                continue
            lo, hi = min(keep), max(keep)
            row["grid"] = f"{_PARAM[method]} = {lo} → {hi}"
            match = True
            for m, cmp in cmps.items():
                dec = V.decision(cmp)
                match &= dec == expected[m]
                row[_METRIC[m]] = (f"{_f(pts[lo][m])} → {_f(pts[hi][m])}: {_TREND[dec]} "
                                   f"({_iv(cmp)})")
            row["as the report describes"] = "yes" if match else "no"
            rows.append(row)
    return rows


def trend_table(results: Mapping, datasets: Sequence[str], report_columns: Mapping) -> pd.DataFrame:
    ran = _ran(results, datasets)
    cols = _columns(ran, report_columns)
    rows = [r for ds in ran for r in _trend_rows(results, ds, cols[ds])]
    left = [r["_left"] for r in rows if r["_left"]]
    out = pd.DataFrame([{k: v for k, v in r.items() if k != "_left"} for r in rows])
    if left:
        out["grid values left out (candidates per query)"] = [r["_left"] or None for r in rows]
    return out


def trend_rule(results: Mapping | None = None) -> str:
    """The stated rule for trends on small galleries (rendered with the recorded threshold)."""
    thr = MIN_TREND_CANDIDATES if results is None else min_candidates(results)
    return (f"**Trends on small galleries.** A grid value whose queries retrieve fewer than {thr:g} candidates "
            "on average (the ten ranks of precision@10) measures empty buckets rather than the method: it is left "
            "out of the trend, which runs from the first to the last grid value with at least that many. A grid "
            "with fewer than two such values is not testable at this gallery size.")


def compare_display(compared: pd.DataFrame) -> pd.DataFrame:
    """A report-comparison table with human labels (dataset, setting, column names with units)."""
    from .lsh_figures import group_name  # noqa: PLC0415

    out = compared.drop(columns=["report_dataset"], errors="ignore").copy()
    out["dataset"] = out.dataset.map(_label)
    out["group"] = out.group.map(group_name)
    labels = {**COLUMN_LABELS, "report_p_at_10": "report precision@10 (%)", "report_p_at_50": "report precision@50 (%)",
              "report_map": "report mAP (%)"}
    out = out.rename(columns=labels)
    return out.loc[:, [c for c in out.columns if out[c].notna().any()]]


def grid_summary(compared: pd.DataFrame, method: str) -> pd.DataFrame:
    """A long report-comparison table (:func:`zsl_lib.experiments.lsh_compare.compare_with_report`)
    in one row per dataset and grid group: ranges over the grid, ours and the report's."""
    from .lsh_figures import group_name  # noqa: PLC0415

    def rng(s):
        s = s.dropna()
        return "–" if s.empty else _range(s.tolist())

    rows = []
    for (ds, group), d in compared.groupby(["dataset", "group"], sort=False):
        rows.append({"dataset": _label(ds), "setting": group_name(group),
                     "grid": f"{d.param.iloc[0]} = {', '.join(str(v) for v in sorted(d.value))}",
                     "precision@10 (%)": rng(d.p_at_10), "report precision@10 (%)": rng(d.report_p_at_10),
                     "mAP over retrieved (%)": rng(d.map_retrieved), "report mAP (%)": rng(d.report_map),
                     "recall@10 (%)": rng(d.recall_at_10),
                     "candidates per query": _range(d.candidates_per_query.tolist(), 0 if d.candidates_per_query.min() >= 10 else 2)})
    out = pd.DataFrame(rows)
    return out.loc[:, [c for c in out.columns if not (out[c] == "–").all()]]


# ------------------------------------------------------------------------------------------------
# summary


def _claim_lines(results, ran) -> list[dict]:
    lines = []
    for ds in ran:
        parts, all_hold, tested = [], True, False
        for metric in CLAIM_METRICS:
            steps = [V.read_comparison(results, k) for k in claim_steps(ds, metric)]
            if any(s is None for s in steps):
                continue
            tested = True
            holds = V.ordering_holds(results, claim_steps(ds, metric))
            all_hold &= bool(holds)
            parts.append(f"{_METRIC[metric]}: neural LSH − LSH {_iv(steps[0])}, LSH − k-means {_iv(steps[1])} "
                         f"({'order holds' if holds else 'order not met'})")
        if tested:
            lines.append({"claim": f"neural LSH > random-hyperplane LSH > k-means, best of each grid, on {_label(ds)}",
                          "status": "reproduced" if all_hold else "not reproduced", "evidence": "; ".join(parts)})
    return lines


def _trend_lines(results, ran, cols) -> list[dict]:
    lines = []
    for ds in ran:
        rows = _trend_rows(results, ds, cols[ds])
        if not rows:
            continue
        expected = REPORT_TRENDS[cols[ds]]
        want = ", ".join(f"{_METRIC[m]} {_DIRECTION[d]}" for m, d in expected.items())
        claim = f"as buckets shrink (more K, H or J), {want} ({_COLUMN[cols[ds]]} column), on {_label(ds)}"
        tested = [r for r in rows if r["as the report describes"] in ("yes", "no")]
        untestable = [r for r in rows if r not in tested]
        left = [f"{r['method']}: {r['_left']}" for r in tested if r["_left"]]
        if tested:
            holds = {r["method"]: r["as the report describes"] == "yes" for r in tested}
            status = V.rows_status(list(holds.values()))
            lines.append({"claim": claim, "status": status,
                          "evidence": f"{sum(holds.values())} of {len(tested)} grids as described; "
                                      + V.where_text(holds, prep="for")
                                      + " (trend table)"
                                      + (f"; grid values left out, under {min_candidates(results):g} candidates "
                                         f"per query: {'; '.join(left)}" if left else "")})
        if untestable:
            lines.append({"claim": claim.replace("as buckets shrink", "trend as buckets shrink", 1)
                          + " for " + ", ".join(r["method"] for r in untestable),
                          "status": "not testable at this data size",
                          "evidence": f"fewer than two grid values retrieve {min_candidates(results):g} or more "
                                      "candidates per query on average (candidates per query below the threshold: "
                                      + "; ".join(f"{r['method']}: {r['_left']}" for r in untestable) + ")"})
    return lines


def _pca_lines(results, ran) -> list[dict]:
    """One line per PCA setting, decided per dataset (rule ``"rows"``): PCA keeping a variance
    fraction should leave precision@10 unchanged (a tie or higher with PCA), PCA to a few dims should
    lower it (an interval of no PCA − PCA above zero)."""
    groups = sorted({k.split(".")[2] for k in results if k.startswith("pca.") and k.endswith(".p_at_10.diff")},
                    key=lambda g: (g[4:].isdigit(), -float(g[4:].replace("_", "."))))  # fractions, then dims down
    lines = []
    for g in groups:
        frac = "_" in g
        name = f"PCA keeping {float(g[4:].replace('_', '.')) * 100:g} % of the variance" if frac else f"PCA to {g[4:]} dims"
        parts, holds = [], {}
        for ds in ran:
            cmp = V.read_comparison(results, pca_key(ds, g))
            if cmp is None:
                continue
            dec = V.decision(cmp)
            holds[_label(ds)] = dec != "higher" if frac else dec == "higher"
            parts.append(f"{_label(ds)}: no PCA − PCA {_iv(cmp)}")
        if parts:
            claim = (f"{name} leaves k-means precision@10 unchanged (the report's \"comparable\")" if frac else
                     f"{name} lowers k-means precision@10 (the report's \"degrading\")")
            lines.append({"claim": claim + ", averaged over the K grid", "status": V.rows_status(list(holds.values())),
                          "evidence": (V.where_text(holds) + ": " if len(holds) > 1 else "") + "; ".join(parts)})
    return lines


def _ceiling_lines(results, ran) -> list[dict]:
    lines = []
    for ds in ran:
        parts = []
        for m in CHAIN[::-1]:
            cmp = V.read_comparison(results, ceiling_key(ds, "p_at_10", m))
            if cmp is not None:
                dec = V.decision(cmp)
                side = {"higher": "exact above", "lower": f"{_METHOD[m]} above exact", "tie": "a tie"}[dec]
                parts.append(f"exact − best {_METHOD[m]} {_iv(cmp)}, {side}")
        if parts:
            lines.append({"claim": f"exact search as the ceiling of precision@10 on {_label(ds)} (it is the ceiling of "
                                   "recall@10 by definition)", "status": "beyond the source", "evidence": "; ".join(parts)})
    return lines


#: the notebook's default report_columns (the README's findings read the published record with them)
DEFAULT_REPORT_COLUMNS = {"cifar10": "cifar10", "tiny-imagenet": "imagenet"}


def summary_lines(results: Mapping, datasets: Sequence[str] | None = None,
                  report_columns: Mapping | None = None) -> list[dict]:
    """The page's summary lines, from the record (see :func:`zsl_lib.experiments.verdicts.summary_markdown`).

    ``datasets``: the run's ``dataset:encoder`` specs (None: every dataset the record holds);
    ``report_columns``: as the notebook's parameter (None: its default). The report's claim
    lines are flagged for the README."""
    report_columns = DEFAULT_REPORT_COLUMNS if report_columns is None else report_columns
    if datasets is None:
        ran = sorted({k.split(".")[1] for k in results if k.startswith("exact.") and k.endswith(".p_at_10")})
    else:
        ran = _ran(results, datasets)
    cols = _columns(ran, report_columns)
    lines = [dict(line, readme=True) for line in _claim_lines(results, ran)]
    lines += _trend_lines(results, ran, cols) + _pca_lines(results, ran)
    lines += _ceiling_lines(results, ran)
    for ds in ran:
        n, dom = results.get(f"dominance.{ds}.lsh_points"), results.get(f"dominance.{ds}.dominated")
        if n:
            lines.append({"claim": f"k-means buckets or FAISS IVFFlat at no more vectors compared per query than "
                                   f"random-hyperplane LSH, on {_label(ds)}", "status": "beyond the source",
                          "evidence": f"higher recall@10 (interval above zero) with precision@10 not below for {dom} of "
                                      f"{n} LSH grid points"})
    used = set(cols.values())
    for col in ("cifar10", "cifar100", "imagenet"):
        if col not in used:
            lines.append({"claim": f"the report's {_COLUMN[col]} column", "status": "not testable offline",
                          "evidence": "not in this run's datasets" + (OFFLINE_WHY.get(col, ""))})
    lines.append({"claim": "the report's absolute values (ResNet-18 / ResNet-50 ImageNet features)",
                  "status": "not testable offline",
                  "evidence": "no ImageNet ResNet weights offline: only orderings and directions are compared"})
    return lines


def summary_markdown(results: Mapping, datasets: Sequence[str], report_columns: Mapping) -> str:
    return V.summary_markdown(summary_lines(results, datasets, report_columns))


# ------------------------------------------------------------------------------------------------
# the closing discussion


def _report_claim_sentences() -> list[str]:
    """What the report's own tables say about its claim (best value over each grid, from REPORT;
    single numbers without a spread, so only their order is quoted)."""
    def best(method, col, metric):
        t = REPORT[method].get(col)
        return max(max(s[metric]) for s in t["settings"].values()) if t else None

    out = []
    for col, metric in (("cifar10", "map"), ("imagenet", "p_at_10")):
        vals = {m: best(m, col, metric) for m in CHAIN[::-1]}
        if None in vals.values():
            continue
        in_order = vals["neural-lsh"] > vals["lsh"] > vals["kmeans"]
        order = sorted(vals, key=vals.get, reverse=True)
        name = "mAP" if metric == "map" else _METRIC[metric]
        out.append(f"on {_COLUMN[col]} its best {name} ranks "
                   + " > ".join(f"{_METHOD[m]} ({vals[m]:g})" for m in order)
                   + ("" if in_order else " (against its own claim)"))
    return out


def discussion_markdown(results: dict, datasets: list[str], n_queries: int | None,
                        report_columns: dict) -> str:
    """The notebook's closing discussion as Markdown, every number formatted from ``results`` (the
    recorded dict) or from :data:`REPORT`, every verdict from a recorded interval.

    ``datasets`` / ``n_queries`` / ``report_columns`` are the notebook's parameters. Sections whose
    keys are absent (smoke profile, user parameters) are left out and named in one line.
    """
    wanted = [dataset_key(s) for s in datasets]
    ran = _ran(results, datasets)
    cols = _columns(ran, report_columns)
    imnet = [ds for ds in ran if cols[ds] == "imagenet"]
    cifar = [ds for ds in ran if cols[ds] in ("cifar10", "cifar100")]
    missing = [f"`{d}` (no recorded results)" for d, k in zip(datasets, wanted, strict=True) if k not in ran]
    reproduced, caveats, beyond = [], [], []

    n_txt = f"{n_queries:,} queries per dataset" if n_queries else "every query of each test split"
    intro = (f"Numbers below are from this run ({n_txt}, the same queries for every method). Every comparison is "
             "a paired bootstrap interval over those queries, in percentage points (rules above).")

    # ---- the claim
    claim_lines = _claim_lines(results, ran)
    if claim_lines:
        n_hold = sum(bool(V.ordering_holds(results, claim_steps(ds, m))) for ds in ran for m in CLAIM_METRICS
                     if all(V.read_comparison(results, k) for k in claim_steps(ds, m)))
        n_all = sum(1 for ds in ran for m in CLAIM_METRICS if all(V.read_comparison(results, k) for k in claim_steps(ds, m)))
        text = (f"*The report's ordering neural LSH > random-hyperplane LSH > k-means* (best of each grid) is met on "
                f"{n_hold} of {n_all} dataset-metric pairs (claim table above); an ordering counts only when both "
                "steps have intervals above zero.")
        rep = _report_claim_sentences()
        if rep:
            text += (" The report's own tables (single numbers, no spread): " + "; ".join(rep) + ". Its neural LSH "
                     "also used a different encoder (ResNet-50) from the other two methods (ResNet-18).")
        (reproduced if n_hold == n_all else caveats).append(text)
    else:
        missing.append("the method ranking")

    # ---- ceiling
    cl = _ceiling_lines(results, ran)
    if cl:
        above = []
        for ds in ran:
            for metric in ("p_at_10", "p_at_50", "map_gallery"):
                for m in CHAIN:
                    if V.decision(V.read_comparison(results, ceiling_key(ds, metric, m))) == "lower":
                        above.append(f"{_METHOD[m]} ({_METRIC[metric]}, {_label(ds)})")
        beyond.append("*Exact search is the ceiling of recall@10 by definition; for the label metrics it is not "
                      "necessarily one* (ceiling table above): "
                      + (f"a best grid point lies above exact search for {', '.join(above)}: buckets that follow the "
                         "labels can rank same-class items above nearer items of other classes."
                         if above else "no best grid point lies above exact search in this run."))

    # ---- trends
    tl = _trend_lines(results, ran, cols)
    if tl:
        ok = [ln for ln in tl if ln["status"] == "reproduced"]
        text = ("*Trends along the grids* (trend table above; the report: on CIFAR the mAP over the retrieved list "
                "rises while precision falls as buckets shrink, on ImageNet all three rise): "
                + "; ".join(f"{ln['claim'].split(' on ', 1)[-1]}: {ln['status']}, {ln['evidence']}" for ln in tl) + ".")
        (reproduced if len(ok) == len(tl) else caveats).append(text)
    else:
        missing.append("the grid trends")

    # ---- PCA
    pl = _pca_lines(results, ran)
    if pl:
        text = "*PCA before k-means* (precision@10 without PCA minus with it, averaged over the K grid): " + "; ".join(
            f"{ln['claim'].split(' leaves')[0].split(' lowers')[0]}: {ln['evidence']} "
            f"(the report's description: {ln['status']})" for ln in pl) + "."
        (reproduced if all(ln["status"] == "reproduced" for ln in pl) else caveats).append(text)
    else:
        missing.append("the PCA comparison")

    # ---- absolute values, empty buckets on Tiny-ImageNet
    sizes = [f"{_f(results[f'exact.{ds}.candidates_per_query'], 0)}" for ds in ran
             if f"exact.{ds}.candidates_per_query" in results]
    p50 = REPORT["kmeans"]["cifar10"]
    rp = p50["settings"]["none"]["p_at_50"]
    text = ("*Absolute values differ from the report*: different encoders (no ImageNet ResNet-18/50 weights "
            "offline)" + (f", galleries of {' / '.join(sizes)} images and, " if sizes else " and, ") + "for precision@50, our "
            "convention that a bucket with fewer than 50 items scores the missing ranks as misses (the report's "
            f"CIFAR-10 k-means precision@50 goes {rp[0]:g} -> {rp[-1]:g} from K = {p50['values'][0]} to "
            f"{p50['values'][-1]}, which suggests it divided by the number of items retrieved).")
    for ds in imnet:
        empty = []
        for method, param in (("lsh", "H"), ("neural-lsh", "J")):
            by_value: dict = {}
            for g in _groups(results, ds, method):
                for v, m in _grid(results, ds, method, g).items():
                    if "candidates_per_query" in m:
                        by_value.setdefault(v, []).append(m)
            vals = [v for v, ms in by_value.items() if max(m["candidates_per_query"] for m in ms) < 1]
            if vals:
                top = max(m.get("p_at_10", 0.0) for v in vals for m in by_value[v])
                empty.append((f"{param} = {' / '.join(str(v) for v in sorted(vals))}", top))
        if empty:
            text += (f" On {_label(ds)} with only {_f(results[f'exact.{ds}.candidates_per_query'], 0)} gallery "
                     f"images, the report's ImageNet settings {' and '.join(e for e, _ in empty)} retrieve less "
                     f"than one candidate per query on average (precision@10 at most "
                     f"{_f(max(t for _, t in empty), 2)}; hollow markers in the figures): codes that long are unique "
                     "per image at this gallery size.")
    caveats.append(text)

    # ---- the report's mAP rewards small buckets
    for ds in cifar[:1]:
        pts = _grid(results, ds, "kmeans", "pca-none")
        gal = V.read_comparison(results, trend_key(ds, "kmeans", "pca-none", "map_gallery"))
        ret = V.read_comparison(results, trend_key(ds, "kmeans", "pca-none", "map_retrieved"))
        rec = V.read_comparison(results, trend_key(ds, "kmeans", "pca-none", "recall_at_10"))
        if len(pts) < 2 or None in (gal, ret, rec):
            continue
        lo, hi = pts[min(pts)], pts[max(pts)]
        rewards = V.decision(gal) == "lower" and V.decision(ret) == "higher"
        caveats.append(
            ("*The report's mAP rewards small buckets, not good retrieval.* " if rewards else
             "*The report's mAP beside the standard mAP.* ")
            + f"On {_label(ds)} (k-means, no PCA) from K = {min(pts)} to K = {max(pts)} the standard mAP over the whole "
            f"gallery {_TREND[V.decision(gal)]} ({_f(lo['map_gallery'])} -> {_f(hi['map_gallery'])}, {_iv(gal)}) "
            f"while the report's version {_TREND[V.decision(ret)]} ({_f(lo['map_retrieved'])} -> "
            f"{_f(hi['map_retrieved'])}, {_iv(ret)}); recall@10 of the exact neighbours {_TREND[V.decision(rec)]} "
            f"({_f(lo['recall_at_10'], 0)} % -> {_f(hi['recall_at_10'], 0)} %).")

    # ---- beyond the report: equal cost
    dom = [(ds, results.get(f"dominance.{ds}.lsh_points"), results.get(f"dominance.{ds}.dominated")) for ds in ran]
    dom = [(ds, n, d) for ds, n, d in dom if n]
    if dom:
        text = ("*At equal cost* (vectors compared per query, candidates plus routing; trade-off figure): "
                + "; ".join(f"on {_label(ds)}, for {d} of {n} random-hyperplane LSH grid points a k-means or IVF point "
                            "comparing no more vectors has a higher recall@10 (interval above zero) and a precision@10 "
                            "not below it" for ds, n, d in dom) + ".")
        for ds in cifar[:1]:
            tables = {int(g[1:]): _grid(results, ds, "lsh", g) for g in _groups(results, ds, "lsh") if g[1:].isdigit()}
            Hs = sorted(set.intersection(*(set(t) for t in tables.values()))) if tables else []
            N = results.get(f"exact.{ds}.candidates_per_query")
            if Hs and N:
                H = Hs[-1]
                cands = [tables[L][H]["candidates_per_query"] for L in sorted(tables)]
                expect = [L * N / 2 ** H for L in sorted(tables)]
                unbalanced = min(cands) > max(expect)
                text += (f" Random hyperplanes through the origin produce {'very unbalanced' if unbalanced else 'roughly balanced'}"
                         f" buckets on non-negative ReLU features: {_range(cands, 0, ' to ')} candidates "
                         f"per query at H = {H} on {_label(ds)}, against at most {_range(expect, 0, ' to ')} "
                         f"(L x {_f(N, 0)} / 2^{H}) for balanced {H}-bit buckets with "
                         f"{_range(list(tables), 0, ' to ')} tables.")
        rec, cand = [], None
        for ds in cifar:
            groups = [g for g in _groups(results, ds, "faiss-lsh") if g.startswith("cand") and g[4:].isdigit()]
            if groups:
                g = max(groups, key=lambda g: int(g[4:]))
                cand = int(g[4:])
                rec += [m["recall_at_10"] for m in _grid(results, ds, "faiss-lsh", g).values() if "recall_at_10" in m]
        if rec:
            text += (f" FAISS IndexLSH re-ranking its {cand:,} Hamming-nearest codes reaches "
                     f"{_range(rec, 0, unit=' %')} recall@10 on the CIFAR-10 embeddings, but it compares the query's "
                     "code with every gallery code, so it is placed at more than the gallery size in the trade-off "
                     "figure (each of those comparisons is a short bit string, far cheaper than a float dot product).")
        beyond.append(text)
    else:
        missing.append("the equal-cost comparison")

    # ---- query time of the exact search
    ours = [results[f"exact.{ds}.query_ms"] for ds in ran if f"exact.{ds}.query_ms" in results]
    flat = [results[f"exact.{ds}.faiss_flat_query_ms"] for ds in ran if f"exact.{ds}.faiss_flat_query_ms" in results]
    if ours and flat and len(ours) == len(flat):
        ratios = [o / f for o, f in zip(ours, flat, strict=True) if f > 0]
        alike = all(0.5 <= r <= 2 for r in ratios)
        nd = 2 if min(ours + flat) < 0.1 else 1
        beyond.append(
            f"Exact search is cheap at these sizes: {_range(ours, nd)} ms per query for ours, "
            f"{_range(flat, nd)} ms for FAISS IndexFlatIP (ours / FAISS: "
            f"{_range(ratios, 2)}x, {'alike' if alike else 'not alike'}; one timing each, no interval).")
    else:
        missing.append("the exact-search query times")

    out = [intro, ""]
    for title, items in (("As the report describes", reproduced), ("Not as the report describes, or to read with care",
                                                                  caveats), ("Beyond the report", beyond)):
        if items:
            out += [f"**{title}**", ""] + [f"- {t}" for t in items] + [""]
    if missing:
        out.append("*Not in this run:* " + "; ".join(missing) + ".")
    return "\n".join(out).rstrip() + "\n"


# ------------------------------------------------------------------------------------------------
# small page tables

#: human column labels of the page's tables (record keys -> labels with units)
COLUMN_LABELS = {"dataset": "dataset", "method": "method", "n_gallery": "gallery images", "n_queries": "queries",
                 "dim": "dims", "p_at_10": "precision@10 (%)", "p_at_50": "precision@50 (%)",
                 "map_retrieved": "mAP over retrieved (%)", "map_gallery": "mAP over the gallery (%)",
                 "recall_at_10": "recall@10 (%)", "candidates_per_query": "candidates per query",
                 "scanned_per_query": "vectors compared per query", "query_ms": "query time (ms)",
                 "fit_s": "build time (s)", "group": "setting", "value": "grid value", "param": "knob"}
TABLE_DIGITS = {"precision@10 (%)": 1, "precision@50 (%)": 1, "mAP over the gallery (%)": 1, "mAP over retrieved (%)": 1,
                "recall@10 (%)": 1, "query time (ms)": 3, "build time (s)": 2, "candidates per query": 0,
                "vectors compared per query": 0}


def dataset_label(ds: str) -> str:
    """A recorded task name as a table label (``"CIFAR-10 / ResNet-56"``)."""
    return _label(ds)


def grid_run_markdown(grid: pd.DataFrame, n_keys: int) -> str:
    """One sentence on the grid run, and the grid points that could not run (only when there are some)."""
    text = f"{len(grid)} grid points, {n_keys:,} numbers recorded."
    if "skipped" in grid and grid.skipped.notna().any():
        from .lsh_figures import group_name  # noqa: PLC0415

        sk = grid[grid.skipped.notna()]
        lines = []
        for (ds, why), g in sk.groupby(["dataset", "skipped"], sort=False):
            if len(g) > 3:  # one reason for many points (a gallery searched on disk): one line
                counts = ", ".join(f"{_METHOD.get(m, m)} ({n})" for m, n in g.method.value_counts(sort=False).items())
                lines.append(f"- {_label(ds)}, {len(g)} grid points ({counts}): {why}")
            else:
                lines += [f"- {_label(ds)}, {_METHOD.get(r.method, r.method)} ({group_name(r.group)}, {r.param} = "
                          f"{r.value}): {why}" for r in g.itertuples()]
        text += " Grid points that cannot run on a dataset, left out:\n\n" + "\n".join(lines)
    return text + "\n"


def pca_dims_markdown(grid: pd.DataFrame) -> str:
    """The dims k-means sees after each PCA setting, per dataset (one short table)."""
    from .lsh_figures import group_name  # noqa: PLC0415

    k = grid[(grid.method == "kmeans") & grid.get("pca_dims", pd.Series(dtype=float)).notna()]
    if k.empty:
        return ""
    t = k.groupby(["dataset", "group"], sort=False).pca_dims.first().unstack("group")
    t = t.rename(index=_label, columns=group_name)
    t.index.name = "dims k-means clusters in"
    return V.md_table(t, digits=0)


def report_best_table() -> pd.DataFrame:
    """The report's best value per grid, per column and metric (its own numbers)."""
    from .lsh_compare import report_best  # noqa: PLC0415

    rows = []
    for metric, name in (("p_at_10", "precision@10"), ("p_at_50", "precision@50"), ("map", "mAP")):
        b = report_best(metric)
        for col in b.index:
            rows.append({"report column": _COLUMN.get(col, col), "metric": name,
                         **{f"{_METHOD[m]} (%)": b.loc[col, m] for m in CHAIN[::-1]}})
    return pd.DataFrame(rows)


def faiss_table(grid: pd.DataFrame) -> pd.DataFrame:
    """Every FAISS grid point with human labels (the page shows :func:`faiss_summary`)."""
    from .lsh_figures import group_name  # noqa: PLC0415

    cols = ["dataset", "method", "group", "param", "value", "p_at_10", "recall_at_10", "candidates_per_query",
            "scanned_per_query", "query_ms", "fit_s"]
    f = grid[grid.method.isin(["faiss-ivf", "faiss-lsh"]) & grid.p_at_10.notna()]
    f = f[[c for c in cols if c in f]].reset_index(drop=True)
    f["dataset"] = f.dataset.map(_label)
    f["method"] = f.method.map(_METHOD)
    f["group"] = f.group.map(group_name)
    return f.rename(columns=COLUMN_LABELS)


def faiss_summary(grid: pd.DataFrame) -> pd.DataFrame:
    """Per dataset and FAISS setting: ranges over the grid of recall@10, precision@10 and cost."""
    from .lsh_figures import group_name  # noqa: PLC0415

    f = grid[grid.method.isin(["faiss-ivf", "faiss-lsh"]) & grid.p_at_10.notna()]
    rows = []
    for (ds, meth, group), d in f.groupby(["dataset", "method", "group"], sort=False):
        rows.append({"dataset": _label(ds), "method": _METHOD[meth], "setting": group_name(group),
                     "grid": f"{d.param.iloc[0]} = {', '.join(str(v) for v in sorted(d.value))}",
                     "precision@10 (%)": _range(d.p_at_10.tolist()), "recall@10 (%)": _range(d.recall_at_10.tolist()),
                     "vectors compared per query": _range(d.scanned_per_query.tolist(), 0)
                     if "scanned_per_query" in d else "–"})
    return pd.DataFrame(rows)
