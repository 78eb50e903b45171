"""The closing discussion of notebook 01, rendered from the recorded values so that its prose
cannot drift from the record.

:func:`discussion_markdown` reads a results dict (``zsl_lib.record.load_results()``), the
source document's numbers (:data:`zsl_lib.experiments.bliss.SOURCE`) and the driver's settings
(:data:`~zsl_lib.experiments.bliss.BETA_BASE`, :data:`~zsl_lib.experiments.bliss.CLUSTER_BASE`,
:data:`~zsl_lib.experiments.bliss.REPORT_SETTINGS`); the run's parameters are passed in. Every
comparison the prose states (X beats Y, "reproduces", "within k points") is decided here from
those values. Sections whose keys were not recorded (smoke or user-parameter runs) are left out
and named in one closing line. Nothing here computes a result.
"""

from __future__ import annotations

import inspect
import math

from ..index.bliss_fixed import FAST_DEFAULTS
from ..plots import display_name
from . import verdicts as V
from .bliss import (
    BETA_BASE,
    CLUSTER_BASE,
    REPORT_SETTINGS,
    SOURCE,
    vmeasure_upper_bound,
    zeroshot_split,
)

#: Names of the recorded keys' parts in prose.
SETTING_NAMES = {
    "kaiming_triplet": "Kaiming + triplet",
    "random_triplet": "random-initialisation triplet",
    "kaiming_ce": "Kaiming + cross-entropy",
    "fixed": "the fixed BLISS",
}
#: the ANN methods' names: the figures' names (zsl_lib.plots.DISPLAY_NAMES). SETTING_NAMES above
#: stays its own: prose names with articles ("the fixed BLISS"), not legend labels.
METHOD_NAMES = {m: display_name(m) for m in ("bliss_fixed", "ivf_kmeans", "rh_lsh", "bliss_report")}
REPORT_THREE = ("kaiming_triplet", "random_triplet", "kaiming_ce")
#: Two ranges "agree" when both ends differ by at most this (V-measure points).
RANGE_TOLERANCE = 0.05


def _num(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def fmt(v, nd: int = 3) -> str:
    """One recorded number as printed: ``nd`` decimals, "n/a" for a missing / NaN value."""
    return f"{v:.{nd}f}" if _num(v) else "n/a"


def fmt_count(v) -> str:
    """A (mean) bucket count: no decimals when whole, else up to two (``7.75``, ``39.5``)."""
    if not _num(v):
        return "n/a"
    return f"{v:.0f}" if float(v).is_integer() else f"{v:.2f}".rstrip("0")


def span(values, nd: int = 2) -> str:
    """``lo-hi`` of the values (one number when both print the same); negative values read from the
    one nearest zero: ``-0.10 to -0.19``."""
    vals = [v for v in values if _num(v)]
    if not vals:
        return "n/a"
    lo, hi = fmt(min(vals), nd), fmt(max(vals), nd)
    if lo == hi:
        return lo
    return f"{hi} to {lo}" if max(vals) < 0 else f"{lo}-{hi}"


def _counts_text(counts) -> str:
    counts = sorted(counts)
    if len(counts) == 1:
        return f"{counts[0]} clusters"
    return f"{counts[0]}-{counts[-1]} clusters" if len(counts) > 2 else f"{counts[0]} and {counts[1]} clusters"


def _every(counts) -> str:
    return "at every cluster count" if len(counts) > 1 else f"at {counts[0]} clusters"


def _list(items) -> str:
    items = [str(i) for i in items]
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _paired(res: dict, key: str, a: str, b: str, va, vb, what: str) -> str:
    """One sentence comparing ``a`` with ``b``: the verdict rendered from the paired interval recorded
    under ``key`` (:func:`zsl_lib.experiments.verdicts.verdict`), or, without one, the two numbers
    and no verdict."""
    v = V.verdict(res, key, a, b)
    if v is not None:
        return f"{v}, in {what}."
    return f"{a}: {fmt(va)}, {b}: {fmt(vb)} ({what}; no paired interval in this record, so no verdict)."


def _seed_decisions(res: dict, name: str, counts) -> dict:
    """Decision ("higher" / "lower" / "tie") of the seed interval ``clusters.cmp.<name>.<c>.v_measure``
    per cluster count c that has one."""
    out = {}
    for c in counts:
        d = V.decision(V.read_comparison(res, f"clusters.cmp.{name}.{c}.v_measure"))
        if d is not None:
            out[c] = d
    return out


def _by_decision(decs: dict) -> str:
    """``higher at 2 and 4 clusters, a tie at 11-22 clusters`` from ``{count: decision}``."""
    words = {"higher": "higher", "tie": "a tie", "lower": "lower"}
    parts = []
    for d in ("higher", "tie", "lower"):
        cs = [c for c, x in decs.items() if x == d]
        if cs:
            parts.append(f"{words[d]} at {_list(cs)} clusters" if len(cs) > 1 else f"{words[d]} at {cs[0]} clusters")
    return ", ".join(parts)


def _seed_numbers(res: dict, name: str, decs: dict) -> str:
    """``2: -0.069 (-0.087 to -0.051); 4: ...``: the V-measure differences behind :func:`_by_decision`."""
    out = []
    for c in decs:
        cmp = V.read_comparison(res, f"clusters.cmp.{name}.{c}.v_measure")
        out.append(f"{c}: {V.interval_text(cmp, scale=1, unit='', digits=3).replace('95 % interval ', '')}")
    return "; ".join(out)


def _cluster_counts(res: dict, setting: str) -> list[int]:
    pre = f"clusters.{setting}."
    return sorted({int(k[len(pre):].split(".")[0]) for k in res
                   if k.startswith(pre) and k.endswith(".v_measure") and k[len(pre):].split(".")[0].isdigit()})


def _beta(res: dict, parts: list, missing: list) -> None:
    K, B = BETA_BASE["k_choices"], BETA_BASE["n_buckets"]
    g = {v: res.get(f"beta.{v}.nonempty_buckets") for v in
         ("official_init", "top_of_K_least_loaded", "cosine_distance", "Kaiming_init")}
    if not all(_num(x) for x in g.values()):
        missing.append("the Beta setting")
        return
    off, top = g["official_init"], g["top_of_K_least_loaded"]
    # what was measured, then what the report says: Fig. 1 exactly K buckets, Fig. 2 "degenerated into
    # just two clusters" (the rule was meant to spread the points and did the opposite)
    first = (f"the official initialisation uses {fmt_count(off)} of the {B} buckets on average with K = {K} "
             f"(the report, Fig. 1: exactly K), and the “top bucket of the K least loaded” rule "
             f"{fmt_count(top)} (the report, Fig. 2: the points “degenerated into just two clusters”)")
    cos = g["cosine_distance"]
    cos_txt = (f"cosine distance also gives {fmt_count(cos)}" if cos == off
               else f"cosine distance gives {fmt_count(cos)}")
    kai = g["Kaiming_init"]
    kai_txt = (f"With Kaiming initialisation we get {'all ' if kai == B else ''}{fmt_count(kai)}"
               + (f" of {B}" if kai != B else "") + " (the report: “close to K but not exactly”).")
    parts.append(("beta", f"In the Beta setting (B = {B}, K = {K}) {first}; {cos_txt}. {kai_txt}"))


def discussion_markdown(res: dict, *, ann_dataset: str = "cifar10", ann_split: str = "test",
                        ann_encoder: str = "resnet56-cifar10", ann_queries: int | None = None,
                        ann_repetitions: int | None = None, ann_hidden: int | None = None,
                        zs_dataset: str = "tiny-imagenet", zs_split: str = "val", zs_encoder: str = "efficientnet-lite0",
                        zs_limit_per_class: int | None = None, zs_novel: int | None = None,
                        zs_support: int | None = None, zs_models: int | None = None,
                        zs_metaclasses: int | None = None) -> str:
    """Notebook 01's closing discussion as Markdown, every number read from ``res`` (the recorded
    values), :data:`SOURCE` (the source document's) or the parameters passed in; never raises on
    a missing key (the section is left out and named at the end)."""
    missing: list[str] = []
    out: list[str] = []
    ds_name = display_name(ann_dataset)
    zs_name = display_name(zs_dataset)
    a, z = f"ann.{ann_dataset}", f"zeroshot.{zs_dataset}"

    # ------------------------------------------------------------------ what the numbers are from
    setting = []
    if _num(res.get("clusters.n_seeds")):
        n = res["clusters.n_seeds"]
        setting.append(f"{n} seed{'s' if n != 1 else ''} of the cluster grid")
    if _num(res.get(f"{a}.n_gallery")):
        q = f" / {ann_queries:,} queries" if ann_queries is not None else ""
        setting.append(f"{ds_name} {ann_split} features, {res[f'{a}.n_gallery']:,} gallery{q}")
    if f"{z}.novel_top1" in res:
        per = f", {zs_limit_per_class} images per class" if zs_limit_per_class is not None else ""
        setting.append(f"{zs_name} {zs_split}{per}")
    out.append("Numbers below are read from this run's record"
               + (f" ({'; '.join(setting)})." if setting else "."))

    # ------------------------------------------------------------------ the bias
    Kc, Bc = CLUSTER_BASE["k_choices"], CLUSTER_BASE["n_buckets"]
    parts: list = []
    _beta(res, parts, missing)
    counts = [c for c in _cluster_counts(res, "kaiming_ce")
              if all(_num(res.get(f"clusters.{s}.{c}.v_measure")) for s in REPORT_THREE)]
    ne = {c: [res.get(f"clusters.{s}.{c}.nonempty_buckets") for s in REPORT_THREE] for c in counts}
    if counts:
        rest = counts[1:]
        txt = (f"In the cluster setting (B = {Bc}, K = {Kc}) the report's three settings use on average "
               f"{span(ne[counts[0]], 1)} buckets at {counts[0]} clusters")
        if rest:
            txt += f" and {span([v for c in rest for v in ne[c]], 1)} at {_counts_text(rest)}"
        parts.append(("clusters", txt + "."))
    mo = {k: res.get(f"mechanism.report_official_init.{k}") for k in ("topk_sets_epoch2", "topk_sets_end", "nonempty_buckets")}
    if all(_num(v) for v in mo.values()):
        bound = mo["topk_sets_end"] * Kc
        trend = (f"{fmt(mo['topk_sets_epoch2'], 2)} distinct top-K sets on average after epoch 2 and "
                 f"{fmt(mo['topk_sets_end'], 2)} after training" if mo["topk_sets_end"] < mo["topk_sets_epoch2"]
                 else f"{fmt(mo['topk_sets_end'], 2)} distinct top-K sets on average after training")
        fx = res.get("mechanism.fixed.topk_sets_end")
        fixed_txt = f"; the fixed BLISS keeps {fmt(fx, 2)}" if _num(fx) else ""
        within = mo["nonempty_buckets"] <= bound + 1e-9
        parts.append(("mechanism",
                      "The mechanism figure shows why: the items form only a few groups with the same top-K set "
                      f"(with the official initialisation, {trend}{fixed_txt}), and each group collapses onto its K "
                      "buckets, so the index uses at most (number of groups) × K buckets "
                      f"(here {fmt(mo['topk_sets_end'], 2)} × {Kc} = {fmt(bound, 1)}; it "
                      + ("uses" if within else "still uses, from groups that changed during training,")
                      + f" {fmt_count(mo['nonempty_buckets'])} buckets); “exactly K” is the case of one group, which is "
                      "what the Beta setting with a near-constant initial network produces."))
    else:
        missing.append("the mechanism run")
    if parts:
        off = res.get("beta.official_init.nonempty_buckets")
        if _num(off) and off <= BETA_BASE["k_choices"]:
            head = "The bias reproduces, with a sharper description than “exactly K”."
        elif _num(off) and off < BETA_BASE["n_buckets"]:
            head = "The bias reproduces in part: buckets stay empty, but more than K are used."
        elif _num(off):
            head = "The bias does not reproduce in the Beta setting: every bucket is used."
        else:
            head = "The bias."
        out += ["", f"**{head}**", " ".join(t for _, t in parts)]

    # ------------------------------------------------------------------ Tables 3 and 4
    if counts:
        out += ["", _tables(res, counts)]
        out += ["", _fixed(res, counts)]
    else:
        missing.append("the cluster grid (Tables 3-4, the fixed BLISS on clusters)")

    # ------------------------------------------------------------------ real features
    methods = [m for m in METHOD_NAMES if _num(res.get(f"{a}.{m}.recall_at_10"))]
    has_ann = len(methods) == len(METHOD_NAMES) and _num(res.get(f"{a}.scan_fraction"))
    if has_ann:
        out += ["", _ann(res, a, ds_name, ann_encoder, ann_repetitions, ann_hidden)]
    else:
        missing.append(f"the {ds_name} index comparison")

    # ------------------------------------------------------------------ BLISSNet
    zkeys = ("novel_top1", "ncm_novel_top1", "seen_top1", "ncm_seen_top1", "gzsl_novel_top1",
             "ncm_gzsl_novel_top1", "gzsl_seen_top1", "ncm_gzsl_seen_top1")
    if all(_num(res.get(f"{z}.{k}")) for k in zkeys):
        out += ["", _zeroshot(res, z, zs_name, zs_split, zs_encoder, zs_limit_per_class, zs_novel, zs_support,
                              zs_models, zs_metaclasses)]
    else:
        missing.append(f"the BLISSNet zero-shot experiment on {zs_name}")

    out += ["", "**Not reproduced / not possible offline.** The report's CIFAR-100 with ImageNet ResNet-50 "
            "features (no images or weights offline; `params/paper/01-bliss-bias.yaml`)"
            + (f"; its Figs. 12-13 are shown on {ds_name} `{ann_encoder}` features instead" if has_ann else "")
            + ". Tables 1-2 of the report are empty in the source text."]
    if missing:
        out += ["", f"*Not in this run's record (not run, or run with other parameters):* {_list(missing)}."]
    return "\n".join(out)


def _tables(res: dict, counts: list[int]) -> str:
    ours = {s: {c: res[f"clusters.{s}.{c}.v_measure"] for c in counts} for s in REPORT_THREE}
    rep = {s: {c: SOURCE.get(f"clusters.{s}.{c}.v_measure") for c in counts} for s in REPORT_THREE}
    rep_counts = [c for c in counts if all(_num(rep[s][c]) for s in REPORT_THREE)]
    o_vals = [ours[s][c] for s in REPORT_THREE for c in counts]
    lines = []
    if rep_counts:
        r_vals = [rep[s][c] for s in REPORT_THREE for c in rep_counts]
        agree = (abs(min(o_vals) - min(r_vals)) <= RANGE_TOLERANCE and abs(max(o_vals) - max(r_vals)) <= RANGE_TOLERANCE)
        lines.append("Our V-measures for the report's three settings "
                     + ("lie in the report's range" if agree else "do not match the report's range")
                     + f" (ours {span(o_vals)}, report {span(r_vals)}: "
                     + ("both ends within" if agree else "an end differs by more than") + f" {RANGE_TOLERANCE:.2f})")
    else:
        lines.append(f"Our V-measures for the report's three settings: {span(o_vals)} (the report has no values at "
                     f"{_counts_text(counts)})")
    best = {c: max(REPORT_THREE, key=lambda s: ours[s][c]) for c in counts}
    top = max(REPORT_THREE, key=lambda s: sum(best[c] == s for c in counts))
    n_top = sum(best[c] == top for c in counts)
    where = _every(counts) if n_top == len(counts) else f"at {n_top} of {len(counts)} cluster counts"
    txt = f", with {SETTING_NAMES[top]} the highest mean of the three {where}"
    if rep_counts:
        n_rep = sum(max(REPORT_THREE, key=lambda s: rep[s][c]) == top for c in rep_counts)
        txt += (f" (in the report: at {n_rep} of {len(rep_counts)})" if len(rep_counts) > 1
                else f" (in the report: {'also' if n_rep else 'not'})")
    lines[-1] += txt + "."
    # the report's random initialisation below Kaiming (triplet loss): decided by the seed intervals
    rt, kt = SETTING_NAMES["random_triplet"], SETTING_NAMES["kaiming_triplet"]
    decs = _seed_decisions(res, "kaiming_vs_random_triplet", counts)
    if rep_counts:
        worst = sum(min(REPORT_THREE, key=lambda s: rep[s][c]) == "random_triplet" for c in rep_counts)
        rep_txt = (f"the report has {rt} the lowest of the three" + ("" if worst == len(rep_counts) else
                                                                  f" at {worst} of {len(rep_counts)} cluster counts"))
    else:
        rep_txt = ""
    if decs:
        n = res.get("clusters.n_seeds")
        lines.append(f"{kt} minus {rt} (V-measure, 95 % interval over {n} seeds): {_by_decision(decs)} "
                     f"(per cluster count, difference and interval: {_seed_numbers(res, 'kaiming_vs_random_triplet', decs)})"
                     + (f"; {rep_txt}." if rep_txt else "."))
    else:
        lines.append(f"{kt} against {rt}: {span([ours['kaiming_triplet'][c] for c in counts])} against "
                     f"{span([ours['random_triplet'][c] for c in counts])} (no seed interval in this record, so no verdict)"
                     + (f"; {rep_txt}." if rep_txt else "."))
    sil = [res.get(f"clusters.{s}.{c}.silhouette") for s in REPORT_THREE for c in counts]
    sil = [v for v in sil if _num(v)]
    if sil:
        neg = all(v < 0 for v in sil)
        txt = ("Silhouettes are negative for every setting and cluster count" if neg
               else f"Silhouettes are negative for {sum(v < 0 for v in sil)} of {len(sil)} setting-count pairs")
        rsil = [SOURCE[f"clusters.{s}.{c}.silhouette"] for s in REPORT_THREE for c in rep_counts]
        if rsil:
            txt += (", as in the report" if neg and all(v < 0 for v in rsil) else "")
            txt += f" (ours {span(sil)}, report {span(rsil)})."
        else:
            txt += f" (ours {span(sil)})."
        lines.append(txt)
    sds = {c: [res.get(f"clusters.{s}.{c}.v_measure_std") for s in REPORT_THREE] for c in rep_counts}
    if rep_counts and all(_num(v) for c in rep_counts for v in sds[c]):
        diffs = [(abs(rep[s][c] - rep[t][c]), max(sds[c])) for c in rep_counts
                 for i, s in enumerate(REPORT_THREE) for t in REPORT_THREE[i + 1:]]
        small = sum(d <= sd for d, sd in diffs)
        n = res.get("clusters.n_seeds")
        lines.append(f"Our standard deviations over {n} seeds ({span([v for c in rep_counts for v in sds[c]], 3)} "
                     f"for the V-measure) exceed {small} of the report's {len(diffs)} differences between two of its "
                     "settings at one cluster count"
                     + (", so many of the report's single-run orderings (e.g. “Triplet's drop at 11 clusters”) are "
                        "within noise." if small >= len(diffs) / 4 else
                        ": most of the report's single-run orderings are larger than our seed noise."))
    return "**Tables 3 and 4.** " + " ".join(lines)


def _fixed(res: dict, counts: list[int]) -> str:
    B = CLUSTER_BASE["n_buckets"]
    cap = REPORT_SETTINGS["fixed"]["capacity"]
    f = {m: [res.get(f"clusters.fixed.{c}.{m}") for c in counts]
         for m in ("nonempty_buckets", "max_over_mean_load", "v_measure", "silhouette")}
    if not all(_num(v) for v in f["v_measure"]):
        return "**The fixed BLISS** on the clusters: not in this run's record."
    rep_load = [res.get(f"clusters.{s}.{c}.max_over_mean_load") for s in REPORT_THREE for c in counts]
    every = " at every cluster count" if len(counts) > 1 else ""
    txt = (f"**The fixed BLISS** (k-means initial partition, the same least-loaded-of-top-K pass with a load cap of "
           f"{cap:g} × the mean, Kaiming initialisation, standardised inputs) uses {span(f['nonempty_buckets'], 1)} "
           f"of {B} buckets with max/mean load {span(f['max_over_mean_load'])} (empty buckets counted; the report's "
           f"settings: {span(rep_load, 1)}){every}")  # the verdict on the V-measure follows
    best = {c: max(REPORT_THREE, key=lambda s: res[f"clusters.{s}.{c}.v_measure"]) for c in counts}
    bv = {c: res[f"clusters.{best[c]}.{c}.v_measure"] for c in counts}
    fv = dict(zip(counts, f["v_measure"]))
    decs = _seed_decisions(res, "fixed_vs_best_report", counts)
    if decs:  # decided by the seed intervals against the report setting with the highest mean
        wins = [c for c in counts if decs.get(c) == "higher"]
        n = res.get("clusters.n_seeds")
        txt += (f". Its V-measure minus that of the report setting with the highest mean (95 % interval over {n} "
                f"seeds): {_by_decision(decs)} (per cluster count, difference and interval: "
                f"{_seed_numbers(res, 'fixed_vs_best_report', decs)}).")
    else:  # one seed: the means only, no verdict
        wins = [c for c in counts if fv[c] > bv[c]]
        txt += (f". Its mean V-measure is above every report setting's at {_list(wins)} clusters (no seed interval "
                "in this record, so no verdict)." if wins else ". Its mean V-measure is not above the best report setting's "
                "at any cluster count.")
    # the bound explains the counts where the fixed BLISS is below (decided, or by the means without intervals)
    losses = [c for c in counts if decs.get(c) == "lower"] if decs else [c for c in counts if c not in wins]
    n_eq = math.ceil(0.9 * B)
    for c in losses:
        bound = vmeasure_upper_bound(c, n_eq)
        txt += (f" At {c} clusters: {fmt(fv[c])} against {fmt(bv[c])} for "
                f"{SETTING_NAMES[best[c]]}")
        if bound < 1:
            empty = res.get(f"clusters.{best[c]}.{c}.nonempty_buckets")
            leaves = _num(empty) and empty < n_eq
            txt += (f": with {c} equal clusters and at least {n_eq} equal buckets no partition can exceed "
                    f"V = {fmt(bound, 2)} (completeness is at most log {c} / log {n_eq})")
            if bv[c] > bound:
                txt += (", and the report's settings score higher there"
                        + (" precisely because they leave buckets empty" if leaves else "")
                        + f" ({SETTING_NAMES[best[c]]} uses {fmt_count(empty)} of {B}). Both goals (≥ 90 % of "
                        f"buckets and a higher V-measure) cannot hold at {c} clusters")
            gap = bound - fv[c]
            txt += (f"; the fixed BLISS is within {fmt(gap, 2)} of the bound." if gap >= 0
                    else f"; the fixed BLISS, using fewer buckets, is {fmt(-gap, 2)} above it.")
        else:
            txt += "."
    sil = [v for v in f["silhouette"] if _num(v)]
    if sil:
        if all(v < 0 for v in sil):
            txt += (f" Its silhouette stays negative ({span(sil)}): the power-of-K rule chooses among an item's K "
                    "best buckets by load, not by position, so neighbouring buckets interleave; this is BLISS's "
                    "balance rule at work, not the collapse.")
        else:
            txt += f" Its silhouette: {span(sil)}."
    return txt


def _ann(res: dict, a: str, ds_name: str, encoder: str, reps, hidden) -> str:
    B = res.get(f"{a}.n_buckets")
    frac = res[f"{a}.scan_fraction"]
    rec = {m: res[f"{a}.{m}.recall_at_10"] for m in METHOD_NAMES}
    order = sorted(rec, key=rec.get, reverse=True)

    def note(m):
        e = res.get(f"{a}.{m}.empty_buckets")
        return f" ({fmt_count(e)} of {B} buckets empty per repetition)" if m == "bliss_report" and _num(e) and e > 0 else ""

    txt = (f"**Real features ({ds_name}, `{encoder}`, B = {B} buckets for every index).** At {frac:.0%} of the gallery "
           "scanned, recall@10 of the exact cosine top-10 is: "
           + ", ".join(f"{METHOD_NAMES[m]} {fmt(rec[m])}{note(m)}" for m in order) + ".")
    fl, il = res.get(f"{a}.bliss_fixed.max_over_mean_load"), res.get(f"{a}.ivf_kmeans.max_over_mean_load")
    fe = res.get(f"{a}.bliss_fixed.empty_buckets")
    empty = "no empty bucket" if fe == 0 else f"{fmt_count(fe)} empty bucket{'' if fe == 1 else 's'}"
    txt += (" " + _paired(res, f"{a}.cmp.bliss_fixed_vs_ivf_kmeans", "The fixed BLISS", "IVF",
                          rec["bliss_fixed"], rec["ivf_kmeans"], f"recall@10 at {frac:.0%} scanned")
            + f" Its buckets: max/mean load {fmt(fl, 2)}, {empty} (IVF {fmt(il, 2)})."
            + " " + _paired(res, f"{a}.cmp.bliss_fixed_vs_bliss_report", "The fixed BLISS", "the report's BLISS",
                            rec["bliss_fixed"], rec["bliss_report"], "recall@10 at the same scan fraction"))
    bf, bi = res.get(f"{a}.bliss_fixed.build_seconds"), res.get(f"{a}.ivf_kmeans.build_seconds")
    net = (f" ({hidden} hidden units, {B} outputs each here)" if hidden is not None else "")
    r_txt = f"R = {reps} assignments and routes a query through {reps} networks{net}" if reps is not None else \
        "R assignments and routes a query through R networks"
    txt += (f" Costs that the recall does not show: BLISS keeps {r_txt}, IVF one table and {B} centroid products")
    if _num(bf) and _num(bi):
        txt += (f"; the fixed BLISS took {bf:.1f} s to build against {bi:.2f} s for FAISS k-means"
                + (f", {bf / bi:,.0f} times longer" if bi > 0 and bf > bi else ""))
    txt += " (`benchmarks/bench_bliss_vs_ivf.py` prints both)."
    fr, fb = res.get(f"{a}.bliss_fast.recall_at_10"), res.get(f"{a}.bliss_fast.build_seconds")
    if _num(fr) and _num(fb):  # the cheap preset (FAST_DEFAULTS), recorded since it exists
        dec = V.decision(V.read_comparison(res, f"{a}.cmp.bliss_fast_vs_ivf_kmeans"))
        fd = FAST_DEFAULTS  # the description follows the preset, not typed beside it
        part = "a third" if fd["train_size"] == 1 / 3 else f"{fd['train_size']:.0%}"
        txt += (f" The fast preset (`FAST_DEFAULTS`: {fd['n_repetitions']} networks of {fd['hidden_dim']} units trained "
                f"{fd['epochs']} epochs on {part} of the gallery) "
                f"took {fb:.2f} s to build" + (f", {fb / bi:,.0f} times IVF's build," if _num(bi) and bi > 0 else "")
                + f" and recalls {fmt(fr)} at {frac:.0%}. "
                + _paired(res, f"{a}.cmp.bliss_fast_vs_ivf_kmeans", "The fast preset", "IVF", fr, rec["ivf_kmeans"],
                          f"recall@10 at {frac:.0%} scanned")
                + (" It reaches IVF's recall only by scanning more of the gallery (see the figure)."
                   if dec == "lower" else ""))
    return txt


def _zeroshot(res, z, name, split, encoder, per_class, n_novel, n_support, n_models, n_meta) -> str:
    g = lambda k: res.get(f"{z}.{k}")  # noqa: E731
    train_fraction = inspect.signature(zeroshot_split).parameters["train_fraction"].default
    setup = [f"{name} {split} images" + (f" ({per_class} per class)" if per_class is not None else ""),
             f"`{encoder}` features"]
    if n_novel is not None:
        setup.append(f"{n_novel} novel classes (the others seen)")
    if n_models is not None and n_meta is not None:
        used = (f"; {fmt_count(g('metaclass_nonempty'))} of {n_meta} used, max/mean {fmt(g('metaclass_max_over_mean'), 2)}"
                if _num(g("metaclass_nonempty")) and _num(g("metaclass_max_over_mean")) else "")
        setup.append(f"{n_models} metaclass models of {n_meta} metaclasses each (from the fixed BLISS{used})")
    if n_support is not None:
        setup.append(f"{n_support} support images per novel class")
    setup.append(f"{train_fraction:.0%} of each seen class's images for training")
    sup = f"the same {n_support} images" if n_support is not None else "the same support images"
    nov, nn, se, ns = g("novel_top1"), g("ncm_novel_top1"), g("seen_top1"), g("ncm_seen_top1")
    way = f" ({n_novel}-way" + (f", chance {fmt(g('chance_novel_top1'))})" if _num(g("chance_novel_top1")) else ")") \
        if n_novel is not None else ""
    txt = (f"**BLISSNet zero-shot (the part the report never ran).** {', '.join(setup)}. Novel top-1{way} "
           f"{fmt(nov)} against {fmt(nn)} for nearest class mean (NCM) with {sup}; seen top-1 (among the seen classes) "
           f"{fmt(se)} against {fmt(ns)} for NCM; generalised (among all classes) novel "
           f"{fmt(g('gzsl_novel_top1'))} vs {fmt(g('ncm_gzsl_novel_top1'))}, seen {fmt(g('gzsl_seen_top1'))} vs "
           f"{fmt(g('ncm_gzsl_seen_top1'))}. "
           + _paired(res, f"{z}.cmp.novel_top1", "BLISSNet", "NCM", nov, nn, "novel top-1, paired over the test images")
           + " " + _paired(res, f"{z}.cmp.seen_top1", "BLISSNet", "NCM", se, ns, "seen top-1"))
    dn = V.decision(V.read_comparison(res, f"{z}.cmp.novel_top1"))
    ds = V.decision(V.read_comparison(res, f"{z}.cmp.seen_top1"))
    per, mt = g("novel_metaclasses_per_class"), g("metaclass_top1")
    if _num(per) and _num(mt):
        txt += (f" A novel class is placed through the metaclasses its support images fall into ({fmt(per, 1)} per model "
                f"on average) and the metaclass classifiers are right {mt:.0%} of the time"
                + (f" ({n_meta}-way)" if n_meta is not None else "")
                + ", so a novel class is found only when enough models agree")
        if dn == "lower" and ds in ("higher", "tie"):
            txt += ": the placement, not the seen-class classifiers, is where BLISSNet loses to NCM."
        else:
            txt += "."
    return txt


# ------------------------------------------------------------------------------------------------
# settings against the source, leakage, and the page's opening summary
# ------------------------------------------------------------------------------------------------
#: The report's Cifar setting (section 3.1.1), used both for BLISS on image features and for BLISSNet.
REPORT_CIFAR = {"R": 4, "B": 20, "K": 4, "M": 4, "T": 60, "batch": 64, "L": 40000, "P": 128, "Q": 128,
                "d": 100352}
#: The notebook parameters :func:`source_settings` reads.
SETTING_PARAMS = ("epochs", "beta_points", "n_seeds", "cluster_counts", "ann_dataset", "ann_split", "ann_encoder",
                  "ann_buckets", "ann_repetitions", "ann_epochs", "ann_neighbors", "ann_batch_size", "ann_hidden",
                  "zs_dataset", "zs_split", "zs_encoder", "zs_models", "zs_metaclasses", "zs_rerank")


def source_settings(params: dict) -> list[dict]:
    """Every setting the report fixes that a notebook parameter (or the method) can change, as
    :func:`zsl_lib.experiments.verdicts.settings_table` entries; ``params`` holds the notebook's
    :data:`SETTING_PARAMS` (the data rows' text is built from them)."""
    rc = REPORT_CIFAR
    img = "CIFAR setting, BLISS on image features"
    ds = f"{display_name(params['ann_dataset'])} {params['ann_split']} split through `{params['ann_encoder']}`"
    zs = f"{display_name(params['zs_dataset'])} {params['zs_split']} split through `{params['zs_encoder']}`"
    def report_data(dataset, encoder):  # the report's CIFAR-100 through an ImageNet ResNet-50
        return dataset == "cifar100" and "resnet50" in str(encoder)

    data_rows = [
        {"setting": f"{img}: data and encoder", "ours": ds,
         "source": f"CIFAR-100 through ImageNet ResNet-50 (d = {rc['d']:,}), L = {rc['L']:,} items",
         "why": "offline: the report's ResNet-50 features cannot be built here"},
        {"setting": "BLISSNet: data and encoder", "ours": zs,
         "source": "CIFAR-100 through ImageNet ResNet-50 (planned; the report ran no zero-shot experiment)",
         "why": "offline: the report's ResNet-50 features cannot be built here"},
    ]
    data_rows = [r for r, same in zip(data_rows, (report_data(params["ann_dataset"], params["ann_encoder"]),
                                                  report_data(params["zs_dataset"], params["zs_encoder"])),
                                      strict=True) if not same]
    return data_rows + [
        {"setting": "training epochs T, Beta and cluster settings", "param": "epochs", "source": 60, "why": "time"},
        {"setting": "points of the Beta setting L", "param": "beta_points", "source": 256, "why": "time"},
        {"setting": "runs per cluster-grid cell", "param": "n_seeds", "source": "1 (a single run)", "source_value": 1,
         "ours": lambda v: f"{v} seeds (mean ± std)", "why": "a spread for every verdict"},
        {"setting": "numbers of true clusters", "param": "cluster_counts", "source": [2, 4, 11, 13, 20, 22],
         "why": "time"},
        {"setting": f"{img}: buckets B", "param": "ann_buckets", "source": rc["B"],
         "why": "method: one B for BLISS, IVF and LSH, sized to the gallery"},
        {"setting": f"{img}: repetitions R", "param": "ann_repetitions", "source": rc["R"], "why": "time"},
        {"setting": f"{img}: training epochs T", "param": "ann_epochs", "source": rc["T"], "why": "time"},
        {"setting": f"{img}: true neighbours per target P", "param": "ann_neighbors", "source": rc["P"],
         "why": "time"},
        {"setting": f"{img}: batch size", "param": "ann_batch_size", "source": rc["batch"], "why": "time"},
        {"setting": f"{img}: hidden units of each network", "param": "ann_hidden", "source": "not stated",
         "source_value": None, "why": "not in the report; the default 512 because 128 left the fixed BLISS below IVF"},
        {"setting": f"{img}: buckets probed M", "ours": "varied 1-24 (one curve point each)",
         "source": rc["M"], "why": "method: recall against the fraction scanned"},
        {"setting": f"{img}: candidates re-ranked Q", "ours": "every candidate of the probed buckets",
         "source": rc["Q"], "why": "method: the fraction scanned is the cost axis"},
        {"setting": "BLISSNet: metaclass models n", "param": "zs_models", "source": rc["R"],
         "why": "method: more models place a novel class more reliably"},
        {"setting": "BLISSNet: metaclasses per model B", "param": "zs_metaclasses", "source": rc["B"],
         "why": "method: sized to the number of seen classes"},
        {"setting": "BLISSNet: classes re-ranked Q", "param": "zs_rerank", "source": rc["Q"],
         "ours": lambda v: "all classes" if v is None else str(v), "why": "method: few enough classes to score them all"},
    ]


def leakage(params: dict) -> list[str]:
    """Statements of overlap between an encoder's training data and an evaluation split."""
    out = []
    if params.get("zs_dataset") == "tiny-imagenet" and params.get("zs_encoder") == "efficientnet-lite0":
        out.append("EfficientNet-Lite0 was trained on ImageNet-1k, which contains all 200 Tiny-ImageNet classes "
                   "(Tiny-ImageNet's images come from ImageNet): BLISSNet's “novel” classes were seen by the encoder, "
                   "so novel top-1 (BLISSNet's and NCM's alike) measures how well features already trained on "
                   "these classes are placed, not recognition of classes the whole system never saw.")
    enc = str(params.get("ann_encoder", ""))
    if enc.endswith("-cifar10") and params.get("ann_dataset") == "cifar10":
        if params.get("ann_split") == "train":
            out.append(f"`{enc}` was trained on the CIFAR-10 training split, which is this run's gallery and queries.")
        else:
            out.append(f"`{enc}` was trained on the CIFAR-10 training split; the index experiment uses the "
                       f"{params.get('ann_split')} split (no image overlap) and no labels.")
    return out


def summary_lines(res: dict, *, ann_dataset: str = "cifar10", zs_dataset: str = "tiny-imagenet") -> list[dict]:
    """The page's opening summary (:func:`zsl_lib.experiments.verdicts.summary_markdown`): one line per
    claim of the report tested here, and per comparison beyond it, each with its numbers."""
    lines = []
    K, B = BETA_BASE["k_choices"], BETA_BASE["n_buckets"]
    off, top = res.get("beta.official_init.nonempty_buckets"), res.get("beta.top_of_K_least_loaded.nonempty_buckets")
    if _num(off):
        lines.append({"claim": f"BLISS puts the Beta points into exactly K = {K} of {B} buckets (Fig. 1)",
                      "status": "reproduced" if off <= K else "not reproduced",
                      "evidence": f"{fmt_count(off)} of {B} buckets used on average"})
    if _num(top):
        lines.append({"claim": "“top bucket of the K least loaded” degenerates into two clusters (Fig. 2)",
                      "status": "reproduced" if top <= 2 else "not reproduced",
                      "evidence": f"{fmt_count(top)} of {B} buckets used on average", "readme": True})
    counts = [c for c in _cluster_counts(res, "kaiming_ce")
              if all(_num(res.get(f"clusters.{s}.{c}.v_measure")) for s in REPORT_THREE)]
    decs = _seed_decisions(res, "kaiming_vs_random_triplet", counts)
    if counts and decs:
        ok = all(d == "higher" for d in decs.values())
        lines.append({"claim": "random initialisation + triplet has a lower V-measure than Kaiming + triplet (Table 4)",
                      "status": "reproduced" if ok and len(decs) == len(counts) else "not reproduced",
                      "evidence": f"Kaiming minus random, 95 % seed intervals: {_by_decision(decs)} "
                                  f"({_seed_numbers(res, 'kaiming_vs_random_triplet', decs)})", "readme": True})
    sil = [res.get(f"clusters.{s}.{c}.silhouette") for s in REPORT_THREE for c in counts]
    sil = [v for v in sil if _num(v)]
    if sil:
        lines.append({"claim": "silhouettes of the report's settings are negative (Table 3)",
                      "status": "reproduced" if all(v < 0 for v in sil) else "not reproduced",
                      "evidence": f"{sum(v < 0 for v in sil)} of {len(sil)} negative, {span(sil)}"})
    fdecs = _seed_decisions(res, "fixed_vs_best_report", counts)
    if fdecs:
        lines.append({"claim": "the fixed BLISS against the best report setting, V-measure on the clusters",
                      "status": "beyond the source",
                      "evidence": f"{_by_decision(fdecs)} ({_seed_numbers(res, 'fixed_vs_best_report', fdecs)})"})
    a, z = f"ann.{ann_dataset}", f"zeroshot.{zs_dataset}"
    frac = res.get(f"{a}.scan_fraction")
    at = f" at {frac:.0%} of the gallery scanned" if _num(frac) else ""
    for key, x, y in ((f"{a}.cmp.bliss_fixed_vs_ivf_kmeans", "the fixed BLISS", "FAISS k-means IVF"),
                      (f"{a}.cmp.bliss_fast_vs_ivf_kmeans", "the fast preset", "FAISS k-means IVF"),
                      (f"{a}.cmp.bliss_fixed_vs_bliss_report", "the fixed BLISS", "the report's BLISS")):
        v = V.verdict(res, key, x, y)
        if v is not None:
            lines.append({"claim": f"recall@10 of {x} against {y}{at}", "status": "beyond the source", "evidence": v,
                          "readme": key.endswith("bliss_fixed_vs_ivf_kmeans")})
    v = V.verdict(res, f"{z}.cmp.novel_top1", "BLISSNet", "nearest class mean")
    if v is not None:
        lines.append({"claim": f"BLISSNet novel-class top-1 on {display_name(zs_dataset)} (the report never ran it)",
                      "status": "beyond the source",
                      "evidence": f"{fmt(res.get(f'{z}.novel_top1'))} vs {fmt(res.get(f'{z}.ncm_novel_top1'))}; {v}",
                      "readme": True})
    lines.append({"claim": "the report's CIFAR-100 / ImageNet ResNet-50 runs (Figs. 9, 12-13 on its features)",
                  "status": "not testable offline",
                  "evidence": "no ResNet-50 features offline; the figures are drawn on this run's features"})
    return lines
