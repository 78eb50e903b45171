"""The rendered closing discussion of notebook 05 (the driver's tables, figures and records are
:mod:`zsl_lib.experiments.multilabel`; this module only formats them).

:func:`discussion_markdown` formats the recorded dict into the closing Markdown: every number is
formatted from a recorded value (or computed from recorded values, or a notebook parameter, or
the thesis's :data:`~zsl_lib.experiments.multilabel.SOURCE`), and every qualitative verdict
(reproduces or not, which model is best, which ordering holds) is decided by comparing recorded
values, so the prose cannot drift from the record. Sections whose keys a run did not record (the
smoke profile, the paper profile, a user's data) are left out and named in one closing line.
"""

from __future__ import annotations

import math
from typing import Any

from .multilabel import SOURCE

NAMES = {"fashion-products": "fashion", "tiny-imagenet": "Tiny-ImageNet", "mulan-scene": "Mulan scene"}
MODELS = {"language_image": "language-image", "one_nn": "1-NN", "neighbor_search": "neighbour search",
          "simple_net": "simple net", "classwise_net": "class-wise net", "hybrid": "hybrid", "ml_knn": "ML-kNN"}
TRANSLATIONS = ("original", "automatic", "manual")
MATCH_POINTS = 2.0  # F2 points within which two models "match" (and a change is "little")


# ----------------------------------------------------------------------------- formatting
def _num(res: dict, key: str) -> float | None:
    """The recorded number at ``key``, or None when absent, not a number or not finite."""
    v = res.get(key)
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
        return None
    return float(v)


def pct(v: float) -> str:
    """A fraction as percent with one decimal: ``0.8221`` -> ``"82.2"``."""
    return f"{100 * v:.1f}"


def points(d: float) -> str:
    """A difference of fractions as signed percentage points: ``0.054`` -> ``"+5.4"`` (never ``-0.0``)."""
    s = f"{100 * d:+.1f}"
    return "0.0" if s in ("+0.0", "-0.0") else s


def prevalence(v: float) -> str:
    """A prevalence in percent with three significant digits: ``0.0866`` -> ``"8.66"``."""
    return f"{100 * v:.3g}"


def auc(v: float) -> str:
    return f"{v:.3f}"


def name(ds: str) -> str:
    return NAMES.get(ds, ds)


def model(m: str) -> str:
    return MODELS.get(m, m)


def _quote(words) -> str:
    return ", ".join(f'"{w}"' for w in words)


def _and(parts: list[str]) -> str:
    parts = list(parts)
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


def _or(parts: list[str]) -> str:
    parts = list(parts)
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " or " + parts[-1]


def trivial_f2(p: float) -> float:
    """F2 of suggesting every keyword at test prevalence ``p`` (precision p, recall 1): 5p / (4p + 1)."""
    return 5 * p / (4 * p + 1)


def table47_key(ds: str, variant: str, n_prototypes: int) -> str:
    """The recorded Table 4.7 key of ``variant`` (``{n}`` = prototypes per class), as the driver writes it."""
    return f"{ds}.table47.{variant.format(n=n_prototypes)}.f2"


def table49(res: dict, ds: str) -> dict[str, dict[str, float]]:
    """``{model: {keyword: ROC AUC}}`` of ``ds``: the recorded dict, or the flat keys of older records."""
    t = res.get(f"{ds}.table49")
    if isinstance(t, dict):
        return {m: {k: float(v) for k, v in row.items()} for m, row in t.items() if isinstance(row, dict)}
    prefix, out = f"{ds}.table49.", {}
    for k, v in res.items():
        if k.startswith(prefix) and _num(res, k) is not None:
            m, _, kw = k[len(prefix):].partition(".")
            out.setdefault(m, {})[kw] = float(v)
    return out


# ----------------------------------------------------------------------------- sections
def _setting(res, datasets, max_items, fashion_items, tiny_limit_per_class):
    limits = {"fashion-products": fashion_items, "tiny-imagenet": tiny_limit_per_class}
    items = []
    for ds in datasets:
        n = _num(res, f"{ds}.prep.n_input")
        if n is None:
            continue
        everything = max_items == 0 and limits.get(ds, 0) == 0
        items.append(f"{name(ds)} {int(n):,}" + (" (all)" if everything else ""))
    lines = []
    if items:
        lines.append(f"Items per collection before preparation: {_and(items)}.")
    runtime = _num(res, "runtime_minutes")
    if runtime is not None:
        lines.append(f"This run took {runtime:.1f} minutes (recorded `runtime_minutes`).")
    prev = [(ds, _num(res, f"{ds}.prep.prevalence_test")) for ds in datasets]
    prev = [(ds, p) for ds, p in prev if p is not None]
    if prev:
        lines.append(
            "Prevalence matters (thesis 4.3): test prevalence "
            + _and([f"{prevalence(p)} % ({name(ds)})" for ds, p in prev])
            + f" (thesis {prevalence(SOURCE['test_prevalence'])} %). **A trivial baseline that suggests every "
            "keyword scores F2 = 5p/(4p+1)**: "
            + _and([f"{pct(trivial_f2(p))} ({name(ds)})" for ds, p in prev]) + ".")
    return " ".join(lines)


def _preparation(res, datasets, duplicate_pairs_csv):
    parts = []
    for ds in datasets:
        g = {k: _num(res, f"{ds}.prep.{k}") for k in ("n_removed", "n_merged_groups", "n_keywords_before",
                                                       "n_keywords", "min_count", "suspected")}
        if g["n_removed"] is None or g["n_keywords"] is None:
            continue
        removed = int(g["n_removed"])
        at = f" at cosine {g['suspected']:g}" if g["suspected"] is not None else ""
        dup = (f"no duplicates{at}" if removed == 0 else
               f"lost {removed:,} near-duplicates{at}"
               + (f" ({int(g['n_merged_groups']):,} certain groups merged)" if g["n_merged_groups"] else ""))
        before, after = g["n_keywords_before"], int(g["n_keywords"])
        mc = f" with min count {int(g['min_count'])}" if g["min_count"] is not None else ""
        kw = (f"kept all {after:,} keywords{mc}" if before is not None and int(before) == after else
              f"{int(before):,} -> {after:,} keywords{mc}" if before is not None else f"{after:,} keywords{mc}")
        note = (" (its raw colour/texture features are all positive, so cosines are high)"
                if ds == "mulan-scene" and removed > 0 else "")
        parts.append(f"{name(ds)} {dup}, {kw}{note}")
    if not parts:
        return None
    text = f"* **Preparation (3.1.2)** runs end to end: {'; '.join(parts)}."
    if duplicate_pairs_csv == "":
        text += (" The duplicate thresholds were given, not fitted: this run had no hand-labelled duplicate pairs"
                 " (the logistic fit is implemented and tested).")
    elif duplicate_pairs_csv:
        text += " The duplicate thresholds were fitted on the labelled pairs of `duplicate_pairs_csv`."
    return text


def _table45(res, datasets):
    out = []
    for ds in datasets:
        ens = {t: _num(res, f"{ds}.table45.ensemble.{t}.f2") for t in TRANSLATIONS}
        ens = {t: v for t, v in ens.items() if v is not None}
        if "original" not in ens:
            continue
        last = [t for t in TRANSLATIONS if t in ens][-1]
        single = _num(res, f"{ds}.table45.single.{last}.f2")
        gain, thesis_gain = ens[last] - ens["original"], (SOURCE[f"table4_5.f2.ensemble.{last}"]
                                                            - SOURCE["table4_5.f2.ensemble.original"])
        t_single = SOURCE.get(f"table4_5.f2.single.{last}")
        ordered = all(ens[a] < ens[b] for a, b in zip(list(ens), list(ens)[1:]))
        if last == "original":
            verdict = "Table 4.5: no label translation in this run, so the translation effect is not tested."
        elif ordered and gain >= thesis_gain / 2:
            verdict = "**Table 4.5 reproduces the translation effect.**"
        else:
            verdict = "**Table 4.5 does not reproduce the translation effect.**"
        ours = " / ".join(pct(v) for v in ens.values())
        thesis = " / ".join(pct(SOURCE[f"table4_5.f2.ensemble.{t}"]) for t in ens)
        text = (f"* {verdict} Language-image F2 on {name(ds)}: {ours} ({' / '.join(ens)})"
                + (f", {pct(single)} (best single context, {last} names)" if single is not None else "")
                + f"; thesis {thesis}" + (f" / {pct(t_single)}" if single is not None and t_single is not None else "")
                + "." + (f" From original to {last} names ours moves {points(gain)} points, the thesis's "
                         f"{points(thesis_gain)}." if last != "original" else ""))
        if ds == "fashion-products" and last != "original" and gain < thesis_gain / 2:
            text += (" Our keywords are English catalogue values already, so the \"translations\" (a mechanical "
                     "rewrite; hand-written descriptive names) barely move the text embeddings; the thesis's gains "
                     "came from Norwegian -> English.")
        if single is not None:
            d = ens[last] - single
            small = abs(100 * d) < MATCH_POINTS
            thesis_d = ""
            if t_single is not None:
                td = SOURCE[f"table4_5.f2.ensemble.{last}"] - t_single
                thesis_d = f"; thesis {points(td)}" + (", as here" if (abs(100 * td) < MATCH_POINTS) == small else "")
            text += (f" Context ensembling {'changes little' if small else 'matters'} ({points(d)} points against "
                     f"the best single context{thesis_d}).")
        li, p = _num(res, f"{ds}.language_image.f2"), _num(res, f"{ds}.prep.prevalence_test")
        if li is not None and p is not None:
            above = li - trivial_f2(p)
            text += (f" The zero-shot model (Table 4.8, {pct(li)}) is {points(above).lstrip('+-')} points "
                     f"{'above' if above >= 0 else 'below'} the suggest-everything baseline.")
        out.append(text)
    return out or None


def _table46(res, datasets):
    rows = []
    for ds in datasets:
        ns, one = _num(res, f"{ds}.neighbor_search.f2"), _num(res, f"{ds}.one_nn.f2")
        if ns is not None and one is not None:
            rows.append((ds, ns, one))
    if not rows:
        return None
    better = [ds for ds, ns, one in rows if ns > one]
    if len(better) == len(rows):
        verdict = ("**Table 4.6 reproduces: neighbour search beats 1-NN on "
                   + ("every dataset" if len(rows) > 1 else name(rows[0][0])) + "**")
    elif better:
        verdict = ("**Table 4.6 partly reproduces: neighbour search beats 1-NN on "
                   + _and([name(ds) for ds in better]) + " only**")
    else:
        verdict = "**Table 4.6 does not reproduce: neighbour search does not beat 1-NN**"
    ours = ", ".join(f"{points(ns - one)} points on {name(ds)} ({pct(ns)} vs {pct(one)})" for ds, ns, one in rows)
    tn, to = SOURCE["table4_6.f2.neighbor_search"], SOURCE["table4_6.f2.one_nn"]
    return f"* {verdict}: {ours}; thesis {points(tn - to)} ({pct(tn)} vs {pct(to)})."


def _table47(res, datasets, n, finetune_settings, finetune_epochs, finetune_lr):
    def f(ds, variant):
        return _num(res, table47_key(ds, variant, n))

    have = [ds for ds in datasets if f(ds, "simple_all_items") is not None]
    if not have:
        return None
    T = SOURCE
    sent = []
    # simple net without prototypes vs neighbour search
    pairs = [(ds, f(ds, "simple_all_items"), _num(res, f"{ds}.neighbor_search.f2")) for ds in have]
    pairs = [(ds, a, b) for ds, a, b in pairs if b is not None]
    if pairs:
        gap = max(abs(a - b) for _, a, b in pairs)
        sent.append(
            f"The simple net without prototypes {'matches' if 100 * gap < MATCH_POINTS else 'does not match'} "
            "neighbour search (" + ", ".join(f"{name(ds)} {pct(a)} vs {pct(b)}" for ds, a, b in pairs)
            + f"; thesis {pct(T['table4_7.f2.simple.all_items'])} vs {pct(T['table4_6.f2.neighbor_search'])}).")
    # prototype ordering: random one-hot < k-means one-hot < k-means average
    chain = ("simple_{n}_random_onehot", "simple_{n}_kmeans_onehot", "simple_{n}_kmeans_average")
    rows = [(ds, [f(ds, v) for v in chain]) for ds in have]
    rows = [(ds, v) for ds, v in rows if None not in v]
    if rows:
        holds = [ds for ds, v in rows if v[0] < v[1] < v[2]]
        where = ("every dataset" if len(holds) == len(rows) and len(rows) > 1 else
                 _and([name(ds) for ds in holds]) if holds else None)
        head = (f"With {n} prototypes per class the thesis's ordering (random one-hot < k-means one-hot < k-means "
                f"average) holds on {where}" if where else
                f"With {n} prototypes per class the thesis's ordering (random one-hot < k-means one-hot < k-means "
                "average) does not hold")
        detail = "; ".join(f"{name(ds)} " + " / ".join(pct(x) for x in v) for ds, v in rows)
        thesis = " / ".join(pct(T[f"table4_7.f2.simple.{k}"]) for k in ("random.onehot", "kmeans.onehot",
                                                                         "kmeans.average"))
        beat = [(ds, v[2], f(ds, "simple_all_items")) for ds, v in rows if v[2] > f(ds, "simple_all_items")]
        sent.append(f"{head}: {detail} (thesis {thesis})"
                    + ("; k-means average prototypes even beat all items on "
                       + ", ".join(f"{name(ds)} ({pct(a)} vs {pct(b)})" for ds, a, b in beat) if beat else "") + ".")
    # fine-tuning gains: simple nets (all items, k-means average prototypes), class-wise net
    simple = ("simple_all_items", "simple_{n}_kmeans_average")
    sg = {ds: [(f(ds, v + "_finetuned"), f(ds, v)) for v in simple] for ds in have}
    sg = {ds: [(a, b) for a, b in g if a is not None and b is not None] for ds, g in sg.items()}
    sg = {ds: g for ds, g in sg.items() if len(g) == len(simple)}
    cg = {ds: (f(ds, "classwise_{n}_kmeans_finetuned"), f(ds, "classwise_{n}_kmeans")) for ds in have}
    cg = {ds: g for ds, g in cg.items() if None not in g}
    if sg:
        top = max(a - b for g in sg.values() for a, b in g)
        how = "little" if 100 * top < 2.5 else f"up to {points(top)} points"
        s = (f"Fine-tuning gained {how} for the simple net (all items / {n} k-means average: "
             + ", ".join(f"{name(ds)} " + " / ".join(points(a - b) for a, b in g) for ds, g in sg.items()) + ")")
        if cg:
            more = [ds for ds, (a, b) in cg.items() if ds in sg and a - b > max(x - y for x, y in sg[ds])]
            s += (f"; the class-wise net ({n} k-means) gained "
                  + ", ".join(f"{points(a - b)} on {name(ds)} ({pct(b)} -> {pct(a)})" for ds, (a, b) in cg.items())
                  + (f", more than the simple net on {_and([name(ds) for ds in more])}" if more else
                     ", no more than the simple net"))
        if finetune_settings == "shared" and finetune_epochs is not None and finetune_lr is not None:
            s += (f": unlike the thesis we did not search epochs / batch size / learning rate / momentum "
                  f"(one shared setting, {finetune_epochs} epochs, lr {finetune_lr:g})")
        elif finetune_settings == "thesis":
            s += ": each fine-tuned net used the thesis's own Table 4.4 settings"
        sent.append(s + ".")
    # class-wise vs simple net (Table 4.8's best variants)
    cw = [(ds, _num(res, f"{ds}.classwise_net.f2"), _num(res, f"{ds}.simple_net.f2")) for ds in have]
    cw = [(ds, a, b) for ds, a, b in cw if a is not None and b is not None]
    if cw:
        tc, ts = T["table4_8.f2.classwise_net"], T["table4_8.f2.simple_net"]
        short = [(ds, a, b) for ds, a, b in cw if 100 * (b - a) >= MATCH_POINTS]
        detail = ", ".join(f"{name(ds)} {pct(a)} vs {pct(b)}" for ds, a, b in (short or cw))
        if not short:
            sent.append(f"As in the thesis ({pct(tc)} vs {pct(ts)}), the best class-wise net reaches the simple "
                        f"net ({detail}).")
        else:
            sent.append(f"**Not reproduced:** the thesis's best class-wise net reached the simple net ({pct(tc)} vs "
                        f"{pct(ts)}); ours stays below it ({detail}).")
    reproduced = "partly" if any(s.startswith("**Not") or "does not" in s for s in sent) else "reproduces"
    return f"* **Table 4.7, {reproduced}.** " + " ".join(sent)


def _table48(res, datasets):
    rows = {}
    for ds in datasets:
        f2 = {m: _num(res, f"{ds}.{m}.f2") for m in MODELS}
        f2 = {m: v for m, v in f2.items() if v is not None}
        if {"one_nn", "neighbor_search"} <= set(f2):
            rows[ds] = f2
    if not rows:
        return None
    T = SOURCE

    def ordering_holds(f2):
        nets = [f2[m] for m in ("simple_net", "classwise_net") if m in f2]
        ok = f2["one_nn"] < f2["neighbor_search"] and (not nets or f2["one_nn"] < max(nets))
        return ok and ("language_image" not in f2 or f2["language_image"] < f2["one_nn"])

    holds = [ds for ds, f2 in rows.items() if ordering_holds(f2)]
    where = ("on every dataset" if len(holds) == len(rows) and len(rows) > 1 else
             "on " + _and([name(ds) for ds in holds]) if holds else "")
    verdict = (f"**Table 4.8 reproduces the ordering {where}**" if holds else
               "**Table 4.8 does not reproduce the ordering**")
    detail = "; ".join(f"{name(ds)} " + ", ".join(f"{model(m)} {pct(v)}" for m, v in f2.items())
                       for ds, f2 in rows.items())
    text = [f"* {verdict}: language-image < 1-NN < neighbour nets ~ neighbour search (F2: {detail})."]
    first_li = next((ds for ds, f2 in rows.items() if "language_image" in f2), None)
    if first_li is not None:
        f2 = rows[first_li]
        text.append(f"On {name(first_li)} the zero-shot model is {points(f2['one_nn'] - f2['language_image'])[1:]} "
                    f"points {'below' if f2['language_image'] < f2['one_nn'] else 'above'} 1-NN (thesis "
                    f"{points(T['table4_8.f2.one_nn'] - T['table4_8.f2.language_image'])[1:]} below).")
        roc = [(m, _num(res, f"{first_li}.{m}.roc_auc")) for m in ("neighbor_search", "simple_net", "language_image")]
        roc = [(m, v) for m, v in roc if v is not None]
        if roc:
            text.append("ROC AUC: " + ", ".join(f"{model(m)} {auc(v)}" for m, v in roc) + " (thesis "
                        + " / ".join(auc(T[f"table4_8.roc_auc.{m}"]) for m, _ in roc) + ").")
    main = first_li or next(iter(rows))
    thesis_models = ("language_image", "one_nn", "neighbor_search", "simple_net", "classwise_net")
    best_ours, best_thesis = [], []
    for metric in ("accuracy", "precision", "subset_accuracy"):
        vals = {m: _num(res, f"{main}.{m}.{metric}") for m in rows[main]}
        vals = {m: v for m, v in vals.items() if v is not None}
        if vals and max(vals, key=vals.get) == "one_nn":
            best_ours.append(metric.replace("_", " "))
        if max(thesis_models, key=lambda m: T[f"table4_8.{metric}.{m}"]) == "one_nn":
            best_thesis.append(metric.replace("_", " "))
    if best_ours:
        same = best_ours == best_thesis
        sa_one, sa_ns = _num(res, f"{main}.one_nn.subset_accuracy"), _num(res, f"{main}.neighbor_search.subset_accuracy")
        text.append(f"{'As in the thesis, 1' if same else '1'}-NN has the best {_and(best_ours)} on {name(main)}"
                    + ("" if same else f" (thesis: {_and(best_thesis) or 'none of these'})")
                    + (f" (subset accuracy {pct(sa_one)} % vs {pct(sa_ns)} % for neighbour search; thesis "
                       f"{pct(T['table4_8.subset_accuracy.one_nn'])} % vs "
                       f"{pct(T['table4_8.subset_accuracy.neighbor_search'])} %)" if None not in (sa_one, sa_ns)
                       else "") + ".")
    for ds, f2 in rows.items():
        if {"ml_knn", "neighbor_search", "simple_net"} <= set(f2):
            k, lo, hi = f2["ml_knn"], *sorted([("neighbor_search", f2["neighbor_search"]),
                                                ("simple_net", f2["simple_net"])], key=lambda x: x[1])
            where = ("above both" if k > hi[1] else "below both" if k < lo[1] else "between")
            text.append(f"On {name(ds)} the standard ML-kNN baseline ({pct(k)}) sits {where} {model(lo[0])} "
                        f"({pct(lo[1])}) and the {model(hi[0])} ({pct(hi[1])})."
                        if where == "between" else
                        f"On {name(ds)} the standard ML-kNN baseline ({pct(k)}) sits {where} neighbour search "
                        f"({pct(f2['neighbor_search'])}) and the simple net ({pct(f2['simple_net'])}).")
    return " ".join(text)


def _table49(res, datasets):
    for ds in datasets:
        t = table49(res, ds)
        if not t:
            continue
        keywords = list(next(iter(t.values())))
        winners = {kw: max((m for m in t if kw in t[m]), key=lambda m: t[m][kw]) for kw in keywords}
        won = sorted(set(winners.values()), key=list(t).index)
        text = (f"* **Table 4.9** ({name(ds)}, {len(keywords)} most common keywords): the best ROC AUC per keyword "
                f"comes from the {_or([model(m) for m in won])}")
        if "language_image" in t:
            li = t["language_image"]
            n_li = sum(1 for w in winners.values() if w == "language_image")
            text += (", never from the language-image model" if n_li == 0 else
                     f"; the language-image model is best on {n_li} of them")
            gaps = sorted(keywords, key=lambda kw: max(t[m][kw] for m in t if kw in t[m]) - li[kw])
            low = sorted(keywords, key=lambda kw: li[kw])
            below = [kw for kw in low if li[kw] < 0.5]
            text += (". The language-image model comes closest to the best on "
                     + _and([f'"{kw}" ({auc(li[kw])})' for kw in gaps[:2]])
                     + " and is lowest on " + _and([f'"{kw}" ({auc(li[kw])})' for kw in low[:4]])
                     + (f"; below chance (0.5) on {_and(_quote([kw]) for kw in below)}" if below else "")
                     + " (the thesis, too, found it weakest on acronyms and abstract classes)")
        skipped = _num(res, f"{ds}.table49_skipped")
        if skipped:
            text += f"; {int(skipped)} common keyword(s) without a test positive or negative skipped"
        return text + "."
    return None


def _example(res, datasets):
    for ds in datasets:
        truth = res.get(f"{ds}.example.truth")
        if not isinstance(truth, list):
            continue
        text = f"* **Tables 4.10-4.11** ({name(ds)}): the example query has the keywords {_quote(truth)}"
        sugg = res.get(f"{ds}.example.neighbor_search_suggested")
        if isinstance(sugg, list):
            upper = {t.upper(): t for t in truth}
            hits = [upper[s.upper()] for s in sugg if s.upper() in upper and s == s.upper()]
            missed = [t for t in truth if t not in hits]
            extra = [s for s in sugg if not (s.upper() in upper and s == s.upper())]
            text += (f"; neighbour search suggests {len(sugg)} keywords, {len(hits)} of the {len(truth)} true ones"
                     + (f" (it misses {_quote(missed)}" if missed else " (it misses none")
                     + (f" and adds {_quote(extra)})" if extra else " and adds none)"))
        w = res.get(f"{ds}.example.top5_weights")
        if isinstance(w, list) and w:
            text += (f"; its {len(w)} most contributing reference items carry the weights "
                     + ", ".join(f"{100 * x:.0f} %" for x in w) + f" ({100 * sum(w):.0f} % together)")
        return text + "."
    return None


def _extensions(res, datasets):
    sent = []
    for ds in datasets:
        gains = {m: (_num(res, f"{ds}.{m}.f2"), _num(res, f"{ds}.{m}.per_class_threshold_f2")) for m in MODELS}
        gains = {m: (a, b) for m, (a, b) in gains.items() if a is not None and b is not None}
        if not gains:
            continue
        helped = sorted((m for m in gains if gains[m][1] > gains[m][0]), key=lambda m: gains[m][0] - gains[m][1])
        hurt = sorted((m for m in gains if gains[m][1] < gains[m][0]), key=lambda m: gains[m][1] - gains[m][0])

        def fmt(ms, gains=gains):
            return ", ".join(f"{model(m)} {pct(gains[m][0])} -> {pct(gains[m][1])}" for m in ms)

        n_kw = _num(res, f"{ds}.prep.n_keywords")
        s = f"on {name(ds)} they help " + (fmt(helped) if helped else "no model")
        if hurt:
            s += f" and hurt {fmt(hurt)}" + (f" (the validation split is small for {int(n_kw):,} thresholds)"
                                              if n_kw is not None and "neighbor_search" in hurt else "")
        sent.append(s)
    text = []
    if sent:
        text.append("Per-class thresholds (F2 with the global -> per-class thresholds): " + "; ".join(sent) + ".")
        li_most = [ds for ds in datasets if _num(res, f"{ds}.language_image.per_class_threshold_f2") is not None
                   and max((m for m in MODELS if _num(res, f"{ds}.{m}.per_class_threshold_f2") is not None
                            and _num(res, f"{ds}.{m}.f2") is not None),
                           key=lambda m: _num(res, f"{ds}.{m}.per_class_threshold_f2") - _num(res, f"{ds}.{m}.f2"))
                   == "language_image"]
        if li_most:
            text.append(f"On {_and([name(ds) for ds in li_most])} they help the zero-shot model most, as the thesis "
                        "expected.")
    for ds in datasets:
        h, ns = _num(res, f"{ds}.hybrid.f2"), _num(res, f"{ds}.neighbor_search.f2")
        if h is not None and ns is not None:
            text.append(f"The hybrid (neighbour search + language-image, weight on validation) "
                        f"{'adds' if h >= ns else 'loses'} {points(h - ns).lstrip('+-')} points on {name(ds)} "
                        f"({pct(ns)} -> {pct(h)}).")
    for ds in datasets:
        curve = res.get(f"{ds}.learning_curve")
        if not isinstance(curve, list):
            continue
        by = {}
        for n, m, v in curve:
            by.setdefault(int(n), {})[m] = v
        sizes = sorted(by)
        li = next((by[n]["language_image"] for n in sizes if "language_image" in by[n]), None)
        if li is None or not sizes:
            continue
        first = by[sizes[0]]
        both = all(first.get(m, -1) > li for m in ("neighbor_search", "one_nn"))
        if both:
            text.append(f"Learning curve: with only {sizes[0]:,} labelled reference items neighbour search "
                        f"({pct(first['neighbor_search'])}) and even 1-NN ({pct(first['one_nn'])}) already beat the "
                        f"zero-shot model ({pct(li)}) on {name(ds)}: the image-based models win from the start.")
        else:
            over = next((n for n in sizes if by[n].get("neighbor_search", -1) > li), None)
            text.append(f"Learning curve on {name(ds)}: neighbour search "
                        + (f"overtakes the zero-shot model ({pct(li)}) at {over:,} labelled reference items "
                           f"({pct(by[over]['neighbor_search'])})." if over is not None else
                           f"never overtakes the zero-shot model ({pct(li)}) up to {sizes[-1]:,} reference items."))
    return ("* **Chapter 6 extensions.** " + " ".join(text)) if text else None


def _samples(res, datasets):
    pairs = [(ds, _num(res, f"{ds}.neighbor_search.f2"), _num(res, f"{ds}.neighbor_search.f2_samples"))
             for ds in datasets]
    pairs = [(ds, a, b) for ds, a, b in pairs if a is not None and b is not None]
    if not pairs:
        return None
    diffs = [100 * abs(b - a) for ds in datasets for m in MODELS
             for a, b in [(_num(res, f"{ds}.{m}.f2"), _num(res, f"{ds}.{m}.f2_samples"))]
             if a is not None and b is not None]
    signs = {a > b for ds in datasets for m in MODELS
             for a, b in [(_num(res, f"{ds}.{m}.f2"), _num(res, f"{ds}.{m}.f2_samples"))]
             if a is not None and b is not None and a != b}
    return ("* **Micro vs samples F2.** The headline stays micro F2, the thesis's (its precision and recall pool all "
            "items x keywords); the samples-averaged F2 is recorded beside it (`<dataset>.<model>.f2_samples`). In "
            f"this run they differ by {min(diffs):.1f}-{max(diffs):.1f} points"
            + (", in both directions" if len(signs) > 1 else "") + " ("
            + ", ".join(f"{name(ds)} neighbour search {pct(a)} micro vs {pct(b)} samples" for ds, a, b in pairs) + ").")


# ----------------------------------------------------------------------------- the discussion
def discussion_markdown(res: dict[str, Any], datasets, *, n_prototypes: int = 16, duplicate_pairs_csv: str | None = None,
                        finetune_settings: str | None = None, finetune_epochs: int | None = None,
                        finetune_lr: float | None = None, feature_scaling: str | None = None,
                        max_items: int | None = None, fashion_items: int | None = None,
                        tiny_limit_per_class: int | None = None) -> str:
    """Notebook 05's closing discussion, formatted from the recorded dict ``res``.

    ``datasets`` are the notebook's collections (in order; the first is the one of Tables
    4.9-4.11); the keyword arguments are the notebook parameters the prose names (``None``: not
    known, the sentence that needs it is left out). Sections whose keys are absent are skipped
    and named in one closing line.
    """
    datasets = [str(ds) for ds in datasets]
    ran = [ds for ds in datasets if any(k.startswith(ds + ".") for k in res)]
    lines, missing = [], []
    setting = _setting(res, ran, max_items, fashion_items, tiny_limit_per_class)
    if setting:
        lines += [setting, ""]
    sections = [
        ("preparation", _preparation(res, ran, duplicate_pairs_csv)),
        ("Table 4.5 (language-image variants)", _table45(res, ran)),
        ("Table 4.6", _table46(res, ran)),
        ("Table 4.7", _table47(res, ran, n_prototypes, finetune_settings, finetune_epochs, finetune_lr)),
        ("Table 4.8", _table48(res, ran)),
        ("Table 4.9", _table49(res, ran)),
        ("Tables 4.10-4.11", _example(res, ran)),
        ("chapter-6 extensions", _extensions(res, ran)),
        ("samples-averaged F2", _samples(res, ran)),
    ]
    for label, text in sections:
        if not text:
            missing.append(label)
        else:
            lines += text if isinstance(text, list) else [text]
    if feature_scaling is not None:
        lines.append(f"* **Feature scaling** (`feature_scaling: {feature_scaling}` in this run). Every model compares "
                     "by cosine; the effect of `standard` / `minmax` scaling on Mulan scene's raw, all-positive "
                     "features was measured separately (`tests/test_multilabel_data.py`), not in this record.")
    no_li = [ds for ds in ran if _num(res, f"{ds}.language_image.f2") is None]
    lines.append("* Not done: fine-tuning hyperparameter search"
                 + (f"; a language-image model on {_and([name(ds) for ds in no_li])} (image-based models only)"
                    if no_li else "")
                 + ". Speed of neighbour search: `benchmarks/bench_neighbor_search.py` (not recorded here).")
    not_run = [ds for ds in datasets if ds not in ran]
    if missing or not_run:
        lines += ["", "Not in this run's record: " + "; ".join(
            ([f"collection(s) {', '.join(not_run)}"] if not_run else []) + missing) + "."]
    return "\n".join(lines)
