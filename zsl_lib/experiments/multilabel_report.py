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

from typing import Any

from . import verdicts as V
from .multilabel import FLOOR, SOURCE
from .multilabel_summary import (  # noqa: F401  (re-exported)
    DEFAULT_DATASETS,
    LEAKAGE,
    SOURCE_SETTINGS,
    ordering_result,
    ordering_steps,
    ordering_table,
    rules_section,
    search_budget,
    settings_section,
    summary_lines,
    summary_section,
)
from .multilabel_tables import (  # noqa: F401  (re-exported)
    PREP_LABELS,
    curve_table,
    prep_table,
    t45_table,
    t46_table,
    t47_table,
    t48_table,
    t49_table,
    t410_table,
    t411_table,
)
from .multilabel_words import (  # noqa: F401  (re-exported)
    FINETUNE_NAMES,
    FINETUNE_PAIRS,
    MATCH_POINTS,
    MODELS,
    NAMES,
    TRANSLATIONS,
    auc,
    model,
    name,
    pct,
    points,
    prevalence,
    table47_key,
    table49,
    trivial_f2,
)
from .multilabel_words import and_list as _and
from .multilabel_words import comparison as _cmp
from .multilabel_words import num as _num
from .multilabel_words import or_list as _or
from .multilabel_words import quote as _quote
from .multilabel_words import says as _says


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
    budget = search_budget(res, datasets)
    if budget:
        lines.append(budget)
    runtime = _num(res, "runtime_minutes")
    if runtime is not None:
        lines.append(f"This run took {runtime:.1f} minutes.")
    prev = [(ds, _num(res, f"{ds}.prep.prevalence_test")) for ds in datasets]
    prev = [(ds, p) for ds, p in prev if p is not None]
    if prev:
        lines.append(
            "Prevalence matters (thesis 4.3): test prevalence "
            + _and([f"{prevalence(p)} % ({name(ds)})" for ds, p in prev])
            + f" (thesis {prevalence(SOURCE['test_prevalence'])} %). **Suggesting every keyword scores F2 = "
            "5p/(4p+1)** (Table 4.8's floor row): "
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
        dup = ("was not de-duplicated (numeric features)" if res.get(f"{ds}.prep.deduplicated") is False else
               f"no duplicates{at}" if removed == 0 else
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
        t_single = SOURCE.get(f"table4_5.f2.single.{last}")
        ours = " / ".join(pct(v) for v in ens.values())
        thesis = " / ".join(pct(SOURCE[f"table4_5.f2.ensemble.{t}"]) for t in ens)
        text = (f"* **Table 4.5.** Language-image F2 on {name(ds)}: {ours} ({' / '.join(ens)} names)"
                + (f", {pct(single)} (best single context, {last} names)" if single is not None else "")
                + f"; thesis {thesis}" + (f" / {pct(t_single)}" if single is not None and t_single is not None else "")
                + ".")
        if last == "original":
            text += " There was no label translation in this run, so the translation effect is not tested."
        else:
            keys = [f"{ds}.cmp.f2.table45.{b}_minus_{a}" for a, b in zip(ens, list(ens)[1:])]
            holds = V.ordering_holds(res, keys)
            if holds is not None:
                steps = "; ".join(_says(res, k, f"{b} names", f"{a} names")
                                  for k, a, b in zip(keys, ens, list(ens)[1:]))
                text += (f" The thesis's ordering of translations ({' < '.join(ens)}) "
                         f"{'holds' if holds else 'does not hold'} here: {steps} (thesis "
                         + ", ".join(points(SOURCE[f'table4_5.f2.ensemble.{b}'] - SOURCE[f'table4_5.f2.ensemble.{a}'])
                                     for a, b in zip(ens, list(ens)[1:])) + " points).")
                if ds == "fashion-products" and not holds:
                    text += (" Our keywords are English catalogue values already, so the \"translations\" (a "
                             "mechanical rewrite; hand-written descriptive names) barely move the text embeddings; "
                             "the thesis's gains came from Norwegian -> English.")
        key = f"{ds}.cmp.f2.table45.ensemble_minus_single"
        if _cmp(res, key) is not None and t_single is not None:
            td = SOURCE[f"table4_5.f2.ensemble.{last}"] - t_single
            dec = V.decision(_cmp(res, key))
            how = {"higher": "the same sign as the thesis's", "lower": "the opposite sign to the thesis's",
                   "tie": "a tie, so the thesis's"}[dec]
            text += (f" Context ensembling: {_says(res, key, 'the ensemble', 'the best single context')}: "
                     f"{how} {points(td)} points" + (" is not reproduced." if dec == "tie" else "."))
        li, p = _num(res, f"{ds}.language_image.f2"), _num(res, f"{ds}.prep.prevalence_test")
        floor_key = f"{ds}.cmp.f2.language_image_minus_{FLOOR}"
        if li is not None and _cmp(res, floor_key) is not None:
            text += f" Against the suggest-every-keyword floor: {_says(res, floor_key, 'the zero-shot model', 'it')}."
        elif li is not None and p is not None:
            text += f" The zero-shot model scores {pct(li)}; suggesting every keyword scores {pct(trivial_f2(p))}."
        out.append(text)
    return out or None


def _table46(res, datasets):
    rows = [(ds, _num(res, f"{ds}.neighbor_search.f2"), _num(res, f"{ds}.one_nn.f2")) for ds in datasets]
    rows = [(ds, ns, one) for ds, ns, one in rows if ns is not None and one is not None]
    if not rows:
        return None
    tn, to = SOURCE["table4_6.f2.neighbor_search"], SOURCE["table4_6.f2.one_nn"]
    parts = []
    for ds, ns, one in rows:
        v = _says(res, f"{ds}.cmp.f2.neighbor_search_minus_one_nn", "neighbour search", "1-NN")
        parts.append(f"{name(ds)} {pct(ns)} vs {pct(one)}" + (f" ({v})" if v else " (no interval recorded)"))
    decs = [V.decision(_cmp(res, f"{ds}.cmp.f2.neighbor_search_minus_one_nn")) for ds, _, _ in rows]
    higher = [ds for (ds, _, _), d in zip(rows, decs) if d == "higher"]
    head = ("the thesis's claim (neighbour search above 1-NN) is reproduced on "
            + ("every dataset" if len(higher) == len(rows) and len(rows) > 1 else _and([name(ds) for ds in higher]))
            if higher else "the thesis's claim (neighbour search above 1-NN) is not reproduced")
    if higher and len(higher) < len(rows):
        head += " only"
    if all(d is None for d in decs):
        head = "no paired intervals in this record, so no verdict"
    return (f"* **Table 4.6** (1-NN keeps its own 0/1 decisions: no threshold search): {head}: " + "; ".join(parts)
            + f". Thesis {pct(tn)} vs {pct(to)} ({points(tn - to)} points).")


def _table47(res, datasets, n, finetune_settings, finetune_epochs, finetune_lr):
    def f(ds, variant):
        return _num(res, table47_key(ds, variant, n))

    have = [ds for ds in datasets if f(ds, "simple_all_items") is not None]
    if not have:
        return None
    T = SOURCE
    sent = []
    # simple net without prototypes vs neighbour search (thesis: 55.8 vs 56.8, "close")
    said = [(ds, _says(res, f"{ds}.cmp.f2.simple_all_items_minus_neighbor_search", "the simple net without "
                       "prototypes", "neighbour search")) for ds in have]
    said = [(ds, v) for ds, v in said if v]
    if said:
        sent.append(" ".join(f"On {name(ds)} {v}." for ds, v in said)[:-1]
                    + f" (thesis {pct(T['table4_7.f2.simple.all_items'])} vs {pct(T['table4_6.f2.neighbor_search'])}).")
    # prototype ordering: random one-hot < k-means one-hot < k-means average
    chain = ("simple_{n}_random_onehot", "simple_{n}_kmeans_onehot", "simple_{n}_kmeans_average")
    keys = ("simple_kmeans_onehot_minus_simple_random_onehot", "simple_kmeans_average_minus_simple_kmeans_onehot")
    thesis = " / ".join(pct(T[f"table4_7.f2.simple.{k}"]) for k in ("random.onehot", "kmeans.onehot",
                                                                     "kmeans.average"))
    for ds in have:
        vals = [f(ds, v) for v in chain]
        ks = [f"{ds}.cmp.f2.table47.{k}" for k in keys]
        holds = V.ordering_holds(res, ks)
        if None in vals or holds is None:
            continue
        sent.append(f"With {n} prototypes per class on {name(ds)} the thesis's ordering (random one-hot < k-means "
                    f"one-hot < k-means average; thesis {thesis}) {'holds' if holds else 'does not hold'}: "
                    + " / ".join(pct(x) for x in vals) + "; "
                    + "; ".join(_says(res, k, a, b) for k, a, b in zip(ks, ("k-means one-hot", "k-means average"),
                                                                       ("random one-hot", "k-means one-hot"))) + ".")
    # fine-tuning gains, each from its interval, beside the thesis's gain
    for ds in have:
        parts = []
        for key, label, src in FINETUNE_PAIRS:
            c = _cmp(res, f"{ds}.cmp.f2.table47.{key}_finetuned_minus_{key}")
            if c is None:
                continue
            tg = T[f"table4_7.f2.{src}.finetuned"] - T[f"table4_7.f2.{src}"]
            above = tg > c["hi"]
            parts.append(f"{label.format(n=n)} {V.interval_text(c)}, thesis {points(tg)}"
                         + (" (the thesis's gain lies above our whole interval)" if above else ""))
        if parts:
            sent.append(f"Fine-tuning gains on {name(ds)}: " + "; ".join(parts) + ".")
    eff = [(ds, key, src) for ds in have for key, _, src in FINETUNE_PAIRS[1:]
           if _cmp(res, f"{ds}.cmp.f2.table47.{key}_finetuned_minus_{key}") is not None]
    if eff:
        direction, inside = [], []
        for ds, key, src in eff:
            c = _cmp(res, f"{ds}.cmp.f2.table47.{key}_finetuned_minus_{key}")
            tg = T[f"table4_7.f2.{src}.finetuned"] - T[f"table4_7.f2.{src}"]
            label = f"{FINETUNE_NAMES[key]} on {name(ds)}"
            if V.decision(c) == ("higher" if tg > 0 else "lower"):
                direction.append(label)
            if V.magnitude(c, tg) == "inside":
                inside.append(label)
        sent.append("The thesis's fine-tuning gains (+"
                    + " and +".join(f"{100 * (T[f'table4_7.f2.{src}.finetuned'] - T[f'table4_7.f2.{src}']):.1f}"
                                    for _, _, src in FINETUNE_PAIRS[1:])
                    + " points), direction and magnitude decided apart (rules above): the direction (a gain, "
                    f"interval above zero) is reproduced for {len(direction)} of {len(eff)}"
                    + (f" ({_and(direction)})" if direction else "")
                    + f"; the magnitude (the thesis's gain inside our interval) for {len(inside)} of {len(eff)}"
                    + (f" ({_and(inside)})" if inside else "") + ".")
    if finetune_settings == "shared" and finetune_epochs is not None and finetune_lr is not None:
        sent.append("Unlike the thesis we did not search epochs / batch size / learning rate / momentum "
                    f"(one shared setting, {finetune_epochs} epochs, lr {finetune_lr:g}).")
    elif finetune_settings == "thesis":
        sent.append("Each fine-tuned net used the thesis's own Table 4.4 settings.")
    # class-wise vs simple net (Table 4.8's best variants)
    tc, ts = T["table4_8.f2.classwise_net"], T["table4_8.f2.simple_net"]
    for ds in have:
        v = _says(res, f"{ds}.cmp.f2.simple_net_minus_classwise_net", "the best simple net", "the best class-wise net")
        if v:
            sent.append(f"On {name(ds)} {v} (thesis {pct(ts)} vs {pct(tc)}).")
    return "* **Table 4.7.** " + " ".join(sent)


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
    results = {ds: ordering_result(res, ds) for ds in rows}
    held = [ds for ds, (h, _) in results.items() if h]
    failed = {ds: f for ds, (h, f) in results.items() if h is False}
    if held or failed:
        verdict = ("**Table 4.8's ordering** (language-image < 1-NN < neighbour nets ~ neighbour search, each step "
                   "a paired interval; the ordering holds only if every step does) "
                   + (f"holds on {_and([name(ds) for ds in held])}" if held else "holds on no dataset")
                   + ("; it does not hold on " + "; ".join(f"{name(ds)} (steps not as claimed: {', '.join(f)})"
                                                          for ds, f in failed.items()) if failed else "") + ".")
    else:
        verdict = "**Table 4.8's ordering**: no paired intervals recorded, so no verdict."
    detail = "; ".join(f"{name(ds)} " + ", ".join(f"{model(m)} {pct(v)}" for m, v in f2.items())
                       for ds, f2 in rows.items())
    text = [f"* {verdict} F2: {detail}."]
    table = ordering_table(res, rows)
    first_li = next((ds for ds, f2 in rows.items() if "language_image" in f2), None)
    if first_li is not None:
        f2 = rows[first_li]
        text.append(f"On {name(first_li)} the zero-shot model scores {pct(f2['language_image'])} against 1-NN's "
                    f"{pct(f2['one_nn'])} (thesis {pct(T['table4_8.f2.language_image'])} vs "
                    f"{pct(T['table4_8.f2.one_nn'])}).")
        roc = [(m, _num(res, f"{first_li}.{m}.roc_auc")) for m in ("neighbor_search", "simple_net", "language_image")]
        roc = [(m, v) for m, v in roc if v is not None]
        if roc:
            text.append("ROC AUC: " + ", ".join(f"{model(m)} {auc(v)}" for m, v in roc) + " (thesis "
                        + " / ".join(auc(T[f"table4_8.roc_auc.{m}"]) for m, _ in roc) + ").")
    main = first_li or next(iter(rows))
    thesis_models = ("language_image", "one_nn", "neighbor_search", "simple_net", "classwise_net")
    best_ours, best_thesis = [], []
    for metric in ("accuracy", "precision", "subset_accuracy"):
        vals = {m: _num(res, f"{main}.{m}.{metric}") for m in rows[main] if m != FLOOR}
        vals = {m: v for m, v in vals.items() if v is not None}
        if vals and max(vals, key=vals.get) == "one_nn":
            best_ours.append(metric.replace("_", " "))
        if max(thesis_models, key=lambda m: T[f"table4_8.{metric}.{m}"]) == "one_nn":
            best_thesis.append(metric.replace("_", " "))
    if best_ours:
        same = best_ours == best_thesis
        sa_one, sa_ns = _num(res, f"{main}.one_nn.subset_accuracy"), _num(res, f"{main}.neighbor_search.subset_accuracy")
        text.append(f"{'As in the thesis, 1' if same else '1'}-NN has the highest {_and(best_ours)} on {name(main)}"
                    + ("" if same else f" (thesis: {_and(best_thesis) or 'none of these'})")
                    + (f" (subset accuracy {pct(sa_one)} % vs {pct(sa_ns)} % for neighbour search; thesis "
                       f"{pct(T['table4_8.subset_accuracy.one_nn'])} % vs "
                       f"{pct(T['table4_8.subset_accuracy.neighbor_search'])} %)" if None not in (sa_one, sa_ns)
                       else "") + ".")
    for ds, f2 in rows.items():
        if "ml_knn" in f2:
            vs = [v for v in (_says(res, f"{ds}.cmp.f2.ml_knn_minus_neighbor_search", "ML-kNN", "neighbour search"),
                              _says(res, f"{ds}.cmp.f2.ml_knn_minus_simple_net", "ML-kNN", "the simple net")) if v]
            text.append(f"On {name(ds)} the standard ML-kNN baseline scores {pct(f2['ml_knn'])}"
                        + (": " + "; ".join(vs) if vs else "") + " (on our re-split, not the benchmark's standard "
                        "split, so not comparable with published ML-kNN results).")
    out = [" ".join(text)]
    if table:
        out += ["", "Table 4.8's ordering, step by step (\"as claimed\": a \"<\" step higher, a \"~\" step a tie):",
                "", table]
    return out


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
        ms = [m for m in MODELS if m != FLOOR and _cmp(res, f"{ds}.cmp.f2.{m}.per_class_minus_global") is not None]
        if not ms:
            continue
        by = {d: [m for m in ms if V.decision(_cmp(res, f"{ds}.cmp.f2.{m}.per_class_minus_global")) == d]
              for d in ("higher", "lower", "tie")}

        def show(m, ds=ds):
            return (f"{model(m)} {pct(_num(res, f'{ds}.{m}.f2'))} -> "
                    f"{pct(_num(res, f'{ds}.{m}.per_class_threshold_f2'))}")

        parts = []
        if by["higher"]:
            parts.append("higher for " + ", ".join(show(m) for m in by["higher"]))
        if by["lower"]:
            parts.append("lower for " + ", ".join(show(m) for m in by["lower"]))
        if by["tie"]:
            parts.append("a tie for " + ", ".join(model(m) for m in by["tie"]))
        sent.append(f"on {name(ds)} " + "; ".join(parts))
    text = []
    if sent:
        text.append("Per-class thresholds (F2 with the global -> per-class thresholds, paired intervals; none for "
                    "1-NN, whose scores are 0/1): " + "; ".join(sent) + ".")
    for ds in datasets:
        v = _says(res, f"{ds}.cmp.f2.hybrid_minus_neighbor_search", "the hybrid (neighbour search + language-image, "
                  "weight on validation)", "neighbour search")
        if v:
            text.append(f"On {name(ds)} {v} ({pct(_num(res, f'{ds}.neighbor_search.f2'))} -> "
                        f"{pct(_num(res, f'{ds}.hybrid.f2'))}).")
    for ds in datasets:
        curve = res.get(f"{ds}.learning_curve")
        if not isinstance(curve, list):
            continue
        by = {}
        for n, m, v in curve:
            by.setdefault(int(n), {})[m] = v
        sizes = sorted(by)
        if not sizes:
            continue
        floor = by[sizes[0]].get(FLOOR)
        if floor is not None:
            at = {m: [n for n in sizes if m in by[n] and abs(by[n][m] - floor) < 5e-4]
                  for m in ("one_nn", "neighbor_search", "language_image")}
            at = {m: ns for m, ns in at.items() if ns}
            text.append(f"Learning curve on {name(ds)}: suggesting every keyword scores {pct(floor)}, the floor"
                        + ("; " + "; ".join(f"{model(m)} sits at that floor with "
                                            + _and([f"{n:,}" for n in ns]) + " reference items" for m, ns in at.items())
                           if at else "; no model sits at it")
                        + ".")
        li = next((by[n]["language_image"] for n in sizes if "language_image" in by[n]), None)
        if li is None:
            continue
        first = by[sizes[0]]
        over = next((n for n in sizes if by[n].get("neighbor_search", -1) > li), None)
        text.append(f"With {sizes[0]:,} labelled reference items neighbour search scores "
                    f"{pct(first['neighbor_search'])} and 1-NN {pct(first['one_nn'])} against the zero-shot "
                    f"model's {pct(li)} on {name(ds)}; "
                    + (f"neighbour search first exceeds the zero-shot model at {over:,} items (single test-split "
                       "values, no interval)." if over is not None else
                       f"neighbour search stays below the zero-shot model up to {sizes[-1]:,} items."))
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
            "items x keywords); the samples-averaged F2 is recorded beside it (each item's own F2, averaged). In "
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
        lines.append(f"* **Feature scaling** (this run: {feature_scaling}). Every model compares "
                     "by cosine; the effect of standard or min-max scaling on Mulan scene's raw, all-positive "
                     "features was measured separately by the lab's tests, not in this record.")
    no_li = [ds for ds in ran if _num(res, f"{ds}.language_image.f2") is None]
    lines.append("* Not done: fine-tuning hyperparameter search"
                 + (f"; a language-image model on {_and([name(ds) for ds in no_li])} (image-based models only)"
                    if no_li else "")
                 + ". Speed of neighbour search is measured by the lab's benchmarks, not recorded here.")
    not_run = [ds for ds in datasets if ds not in ran]
    if missing or not_run:
        lines += ["", "Not in this run's record: " + "; ".join(
            ([f"collection(s) {', '.join(not_run)}"] if not_run else []) + missing) + "."]
    return "\n".join(lines)
