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
    if off == K and top == K:
        first = (f"the official initialisation and the “top bucket of the K least loaded” rule use exactly "
                 f"K = {K} of the {B} buckets (report Figs. 1-2)")
    else:
        first = (f"the official initialisation uses {fmt_count(off)} and the “top bucket of the K least loaded” "
                 f"rule {fmt_count(top)} of the {B} buckets on average, with K = {K} (the report, Figs. 1-2: "
                 "exactly K)")
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
    txt = f", with {SETTING_NAMES[top]} the best of the three {where}"
    if rep_counts:
        n_rep = sum(max(REPORT_THREE, key=lambda s: rep[s][c]) == top for c in rep_counts)
        txt += (f" (in the report: at {n_rep} of {len(rep_counts)})" if len(rep_counts) > 1
                else f" (in the report: {'also' if n_rep else 'not'})")
    lines[-1] += txt + "; "
    # random init vs Kaiming, triplet loss: "matches" = equal at the printed two decimals
    ge = [c for c in counts if round(ours["random_triplet"][c], 2) >= round(ours["kaiming_triplet"][c], 2)]
    rt, kt = SETTING_NAMES["random_triplet"], SETTING_NAMES["kaiming_triplet"]
    if len(ge) == len(counts):
        ours_txt = f"{rt} matches or beats {kt} in our runs {_every(counts)}"
    elif not ge:
        ours_txt = f"{rt} is below {kt} in our runs {_every(counts)}"
    else:
        ours_txt = f"{rt} matches or beats {kt} in our runs at {_list(ge)} clusters"
    if rep_counts:
        worst = sum(min(REPORT_THREE, key=lambda s: rep[s][c]) == "random_triplet" for c in rep_counts)
        rep_txt = ("it is the worst in the report" if worst == len(rep_counts)
                   else f"it is the worst in the report at {worst} of {len(rep_counts)} cluster counts")
        ours_txt += f", while {rep_txt}"
    lines[-1] += ours_txt + "."
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
           f"settings: {span(rep_load, 1)}){every}")
    best = {c: max(REPORT_THREE, key=lambda s: res[f"clusters.{s}.{c}.v_measure"]) for c in counts}
    bv = {c: res[f"clusters.{best[c]}.{c}.v_measure"] for c in counts}
    fv = dict(zip(counts, f["v_measure"]))
    wins = [c for c in counts if fv[c] > bv[c]]
    losses = [c for c in counts if c not in wins]
    if wins:
        txt += (f", and has a higher V-measure than every report setting at {_list(wins)} clusters "
                f"({span([fv[c] for c in wins])} against at best {span([bv[c] for c in wins])}).")
    else:
        txt += ", but its V-measure is not higher than the best report setting at any cluster count."
    n_eq = math.ceil(0.9 * B)
    for c in losses:
        bound = vmeasure_upper_bound(c, n_eq)
        lead = "At" if wins else "Thus at"
        txt += (f" {lead} {c} clusters it does not ({fmt(fv[c])} against {fmt(bv[c])} for "
                f"{SETTING_NAMES[best[c]]})")
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
    gap = res.get(f"{a}.bliss_fixed_minus_ivf", rec["bliss_fixed"] - rec["ivf_kmeans"])
    fl, il = res.get(f"{a}.bliss_fixed.max_over_mean_load"), res.get(f"{a}.ivf_kmeans.max_over_mean_load")
    fe = res.get(f"{a}.bliss_fixed.empty_buckets")
    verb = "beats" if gap > 0 else ("ties with" if fmt(gap) == fmt(0.0) else "trails")
    bal = ("with near-equal buckets " if _num(fl) and _num(il) and fl < il else "")
    empty = "no empty bucket" if fe == 0 else f"{fmt_count(fe)} empty buckets"
    txt += (f" The fixed BLISS {verb} IVF" + (f" by {fmt(abs(gap))}" if verb != "ties with" else "")
            + f" at {frac:.0%} {bal}(max/mean load {fmt(fl, 2)}, {empty}; IVF {fmt(il, 2)}).")
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
        side = "above" if fr > rec["ivf_kmeans"] else ("level with" if fmt(fr) == fmt(rec["ivf_kmeans"]) else "below")
        fd = FAST_DEFAULTS  # the description follows the preset, not typed beside it
        part = "a third" if fd["train_size"] == 1 / 3 else f"{fd['train_size']:.0%}"
        txt += (f" The fast preset (`FAST_DEFAULTS`: {fd['n_repetitions']} networks of {fd['hidden_dim']} units trained "
                f"{fd['epochs']} epochs on {part} of the gallery) "
                f"took {fb:.2f} s to build" + (f", {fb / bi:,.0f} times IVF's build," if _num(bi) and bi > 0 else "")
                + f" and recalls {fmt(fr)} at {frac:.0%}, {side} IVF"
                + ("; it reaches IVF's recall only by scanning more of the gallery (see the figure)" if side == "below" else "")
                + ".")
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
           f"{fmt(se)} against {fmt(ns)} for NCM, so on seen classes BLISSNet is "
           + ("better" if se > ns else "not better") + "; generalised (among all classes) novel "
           f"{fmt(g('gzsl_novel_top1'))} vs {fmt(g('ncm_gzsl_novel_top1'))}, seen {fmt(g('gzsl_seen_top1'))} vs "
           f"{fmt(g('ncm_gzsl_seen_top1'))}.")
    per, mt = g("novel_metaclasses_per_class"), g("metaclass_top1")
    if _num(per) and _num(mt):
        txt += (f" A novel class is placed through the metaclasses its support images fall into ({fmt(per, 1)} per model "
                f"on average) and the metaclass classifiers are right {mt:.0%} of the time"
                + (f" ({n_meta}-way)" if n_meta is not None else "")
                + ", so a novel class is found only when enough models agree")
        if nov < nn and se >= ns:
            txt += ": the placement, not the seen-class classifiers, is where BLISSNet loses to NCM."
        elif nov >= nn:
            txt += "; on novel classes BLISSNet matches or beats NCM here."
        else:
            txt += "; BLISSNet is below NCM on both novel and seen classes here."
    return txt
