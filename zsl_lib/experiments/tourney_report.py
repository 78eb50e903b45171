"""Notebook 02's report: the headline figure (the article's agreement beside ours), the settings
against the article, the verdicts, the summary and the closing discussion, all rendered from the
recorded values so that the words cannot drift from the record.

Every function reads a results dict (``zsl_lib.record.load_results()``) and the article's numbers
(:data:`zsl_lib.experiments.tourney.SOURCE`); nothing here computes a result. Verdict words come
from :mod:`zsl_lib.experiments.verdicts` (paired bootstrap intervals over the items, recorded by
:func:`zsl_lib.experiments.tourney.record_comparisons`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from zsl_lib.experiments import verdicts as V
from zsl_lib.experiments.tourney import ACCURACY_PAIRS, AGREEMENT_PAIRS, SOURCE

#: Human-readable names of the recorded keys' parts (the one mapping used in figures and prose).
NAMES = {
    "base": "base model (full-embedding cosine)",
    "pairwise": "pairwise tourney",
    "round_robin": "round-robin over the same matches",
    "one_vs_rest": "one-vs-rest sub-features",
    "logreg": "logistic regression (supervised bound)",
    "text_reference": "text as reference",
    "image_reference": "image as reference",
    "author_code": "as the author's code (base: text, pairwise: image)",
    "multiclass": "multiclass stage",
    "binary": "binary stage",
}
SHORT = {"base": "base model", "pairwise": "pairwise tourney", "round_robin": "round-robin",
         "one_vs_rest": "one-vs-rest", "logreg": "logistic regression"}
UNMASKED_PREFIX = "titles_unmasked."


def _get(res: Mapping[str, Any], key: str):
    """``res[key]``, or a ``KeyError`` that names the missing recorded key."""
    if key not in res:
        raise KeyError(f"recorded key {key!r} is missing; run the notebook up to the closing cell first")
    return res[key]


# --- which text side is the article's setting -------------------------------------------------

def title_settings(res: Mapping[str, Any]) -> list[tuple[str, str]]:
    """``(prefix, label)`` of every text side recorded, the article's setting (titles as they
    are) first: ``("titles_unmasked.", ...)`` then ``("", "class words masked ...")`` when the
    titles were masked, otherwise only ``("", "titles as they are")``."""
    if res.get("titles_masked") and f"{UNMASKED_PREFIX}agreement_f1_weighted.multiclass.base" in res:
        return [(UNMASKED_PREFIX, "titles as they are (the article's setting)"),
                ("", "class words masked in the titles (not the article's setting)")]
    return [("", "titles as they are (the article's setting)" if res.get("titles_masked") is False
             else "the run's titles")]


# --- which modality is the reference ---------------------------------------------------------

ORIENTATION_COLUMNS = {"text_reference": "ours: text as reference", "image_reference": "ours: image as reference",
                       "author_code": "ours: as the author's code (see note)"}


def orientation_table(res: Mapping[str, Any], source: Mapping[str, float] | None = None) -> pd.DataFrame:
    """Agreement in both orientations and as the author's code, from the record: the multiclass
    stage once per title setting (titles as they are first, when recorded, then the run's masked
    titles), then the binary stage (which runs on the run's text side). The author's column is
    the mixed-orientation weighted F1 in the multiclass rows and the binary F1 of the first class
    (``binary.author_f1.<method>``) in the binary rows."""
    source = SOURCE if source is None else source
    settings = title_settings(res)
    rows = []
    for prefix, titles in settings:
        for m in ("base", "pairwise"):
            rows.append({"stage": "multiclass", "titles": titles, "method": SHORT[m],
                         "article": source[f"agreement_f1_weighted.multiclass.{m}"]}
                        | {label: res.get(f"{prefix}agreement_orientation.{o}.multiclass.{m}")
                           for o, label in ORIENTATION_COLUMNS.items()})
    run_titles = dict(settings).get("", settings[-1][1])
    for m in ("base", "pairwise"):
        rows.append({"stage": "binary", "titles": run_titles, "method": SHORT[m],
                     "article": source[f"agreement_f1_weighted.binary.{m}"]}
                    | {label: res.get(f"agreement_orientation.{o}.binary.{m}")
                       for o, label in ORIENTATION_COLUMNS.items() if o != "author_code"}
                    | {ORIENTATION_COLUMNS["author_code"]: res.get(f"binary.author_f1.{m}")})
    return pd.DataFrame(rows).set_index(["stage", "titles", "method"])


# --- figures ---------------------------------------------------------------------------------

def headline_groups(res: Mapping[str, Any], source: Mapping[str, float] | None = None) -> dict:
    """Stage -> list of ``(label, [base, pairwise])``: the article's values first, then this
    run's, the comparable setting (titles as they are, the article's score) first."""
    s = SOURCE if source is None else source
    groups = {}
    multi = [("the article\n(SQID, CLIP ViT-L/14)",
              [s[f"agreement_f1_weighted.multiclass.{m}"] for m in ("base", "pairwise")])]
    for prefix, label in title_settings(res):
        short = label.split(" (")[0].replace("class words masked in the titles", "class words masked")
        multi.append((f"{short},\ntext as reference",
                      [_get(res, f"{prefix}agreement_f1_weighted.multiclass.{m}") for m in ("base", "pairwise")]))
        multi.append((f"{short},\nthe author's orientation",
                      [_get(res, f"{prefix}agreement_orientation.author_code.multiclass.{m}")
                       for m in ("base", "pairwise")]))
    groups["multiclass"] = multi
    groups["binary"] = [
        ("the article\n(its table)", [s[f"agreement_f1_weighted.binary.{m}"] for m in ("base", "pairwise")]),
        ("as the author's code:\nbinary F1, first class",
         [_get(res, f"binary.author_f1.{m}") for m in ("base", "pairwise")]),
        ("ours: weighted F1,\nundecided a class",
         [_get(res, f"agreement_f1_weighted.binary.{m}") for m in ("base", "pairwise")]),
    ]
    return groups


def plot_headline(res: Mapping[str, Any], source: Mapping[str, float] | None = None):
    """The article's agreement (base and pairwise) beside ours, one panel per stage, horizontal
    bars so that the long labels read; the article's bars on top, set apart by a line, then this
    run's with the comparable setting (titles as they are; the author's binary score) first."""
    groups = headline_groups(res, source)
    fig, axes = plt.subplots(1, 2, figsize=(12.5, 5.0), layout="constrained",
                             width_ratios=[1.25, 1])
    for ax, (stage, rows) in zip(axes, groups.items()):
        y = np.arange(len(rows))[::-1].astype(float)
        for j, m in enumerate(("base", "pairwise")):
            bars = ax.barh(y + (0.5 - j) * 0.38, [r[1][j] for r in rows], height=0.38, color=f"C{j}",
                           label=NAMES[m])
            ax.bar_label(bars, fmt="%.2f", fontsize=7, padding=2)
        ax.set_yticks(y, [r[0] for r in rows], fontsize=8)
        ax.axhline(y[0] - 0.5, color="0.3", lw=1)
        ax.text(1.07, y[0] - 0.55, "this run ↓", ha="right", va="top", fontsize=7, color="0.3")
        ax.set_title(NAMES[stage])
        ax.set_xlim(0, 1.08)
        ax.set_xlabel("agreement between the image and the text classes")
    fig.legend(*axes[0].get_legend_handles_labels(), loc="outside lower center", ncol=2, fontsize="small")
    fig.suptitle("Image-text agreement, base model and pairwise tourney: the article (top) beside this run")
    return fig


# --- settings against the article ------------------------------------------------------------

def source_settings(params: Mapping[str, Any], res: Mapping[str, Any]) -> list[dict]:
    """The article's settings (:func:`zsl_lib.experiments.verdicts.settings_table` entries) for
    this run's ``params``: encoder, data and masking rows only where they apply to the source."""
    sqid = params.get("source") == "sqid"
    n = res.get("n_items")
    rows = [
        {"setting": "data", "param": "source", "source_value": "sqid",
         "source": "SQID product features: about 50k Amazon clothing items, narrowed zero-shot from 150k",
         "ours": lambda v: f"{v}: {n:,} items" if isinstance(n, int) else str(v),
         "why": "offline: the SQID file is a download; the fashion-products items have true labels"},
        {"setting": "classes", "param": "prompt_set", "source_value": "sqid-clothing13",
         "source": "13 SQID clothing sub-categories (dress or skirt, footwear, pants, ..., socks)",
         "ours": lambda v: (f"{v}: {res.get('n_classes')} apparel and footwear article types" if v == "fashion13"
                           else str(v)),
         "why": "data: the classes of the offline data set"},
        {"setting": "binary stage classes", "param": "binary_prompt_set",
         "source_value": "sqid-clothing-vs-household", "source": "people wearing clothing vs general household items",
         "why": "data: every offline item is apparel or footwear"},
        {"setting": "items of the multiclass stage", "param": "multiclass_items", "source_value": "binary_agreement",
         "source": "items image and text both put in the clothing class", "why": "data: the offline binary "
         "stage splits apparel from footwear inside the 13 classes, so all items go on"},
        {"setting": "cosine limit", "ours": f"{params.get('cos_limit', 0):g}",
         "source": "used, value not stated", "why": "not in the source: 0.1 drops the least confident tenth of images"},
        {"setting": "multiclass base model", "ours": "argmax cosine, no undecided outcome",
         "source": "the author's code adds an undecided outcome when the cosines to the first two classes "
                   "differ by less than 0.02",
         "why": "method: that rule depends on the class order and is not in the article's text"},
        {"setting": "headline agreement orientation", "ours": "text as reference for both models",
         "source": "the author's code: text as reference for the base model, image for the pairwise model",
         "why": "method: one reference for both; the author's orientation is shown beside"},
        {"setting": "binary stage score", "ours": "both: the author's binary F1 and a weighted F1 over three labels",
         "source": "the table calls it weighted F1; the author's code computes binary F1 of the clothing class",
         "why": "the article's number is the author's code's; ours is shown beside it"},
    ]
    for key, value in (("cutoff", 1.1), ("cos_diff", 0.02), ("max_items_per_class", 1500),
                       ("undecided_base", 0.03), ("undecided_pairwise", 0.0), ("ovr_cutoff", 1.05),
                       ("ovr_max_dims", 10), ("limit", 0)):
        if key in params:
            rows.append({"setting": key.replace("_", " "), "param": key, "source": value,
                         "why": "a parameter of this run"})
    if "reshuffle_each_round" in params:
        rows.append({"setting": "bracket order", "param": "reshuffle_each_round", "source_value": True,
                     "source": "class order randomised every round (the article's text; the author's code draws it once)",
                     "ours": lambda v: "randomised every round" if v else "drawn once, as the author's code",
                     "why": "a parameter of this run"})
    if not sqid:
        rows[2:2] = [
            {"setting": "image encoder", "param": "image_encoder", "source_value": "openclip:ViT-L-14/openai",
             "source": "CLIP ViT-L/14 image tower (SQID's precomputed embeddings)",
             "ours": lambda v: ("lit-fashion: EfficientNet-Lite0 features with an image→text projection "
                                "trained on the disjoint align items" if str(v).startswith("lit-fashion") else str(v)),
             "why": "offline: no CLIP weights"},
            {"setting": "text encoder (titles and prompts)", "param": "text_encoder",
             "source_value": "openclip:ViT-L-14/openai", "source": "CLIP ViT-L/14 text tower",
             "ours": lambda v: "MiniLM sentence encoder" if v == "minilm" else str(v), "why": "offline: no CLIP weights"},
            {"setting": "titles", "param": "mask_titles", "source_value": False, "source": "as they are",
             "ours": lambda v: ("class words masked for one text side; titles as they are beside it (shown first)"
                                if v else "as they are"),
             "why": "data: fashion titles name their class, which makes the text side nearly trivial"},
        ]
    return rows


def leakage_lines(params: Mapping[str, Any]) -> list[str]:
    """Overlap between an encoder's training data and the items scored (fashion-products only)."""
    if params.get("source") != "fashion-products":
        return []
    enc = str(params.get("image_encoder", ""))
    lines = []
    if enc.startswith("lit-fashion"):
        titles = ("its titles with the class words masked" if enc == "lit-fashion-masked" else
                  "its titles as they are, which usually name the article type")
        lines.append(
            "lit-fashion's image→text projection was trained (contrastively, no class labels) on (image, title) "
            f"pairs of the same fashion-products catalogue: the align items, disjoint from the eval items scored "
            f"here, with {titles}. It has therefore learned this catalogue's photographs and title wording for "
            "the very classes scored here, so the image side is closer to these titles than a general-purpose "
            "CLIP would be, and its zero-shot agreement and accuracy are optimistic against the article's "
            "setting. No eval item was used.")
    lines.append("EfficientNet-Lite0 (ImageNet-1k) and MiniLM were not trained on this catalogue.")
    return lines


def settings_section(params: Mapping[str, Any], res: Mapping[str, Any]) -> str:
    """The page's "Settings against the source" section for this run's parameters."""
    return V.settings_markdown(params, source_settings(params, res), leakage=leakage_lines(params))


# --- verdicts, the comparison table, the summary ---------------------------------------------

COMPARISON_GROUPS = ("agreement", "accuracy", "titles")


def comparison_specs(res: Mapping[str, Any], group: str | None = None) -> list[tuple[str, str, str, str, str]]:
    """``(key, measure, setting, a, b)`` of every comparison recorded in ``res`` (a - b), the
    comparable setting first; ``group`` (one of :data:`COMPARISON_GROUPS`) keeps one kind:
    agreement (multiclass and binary), accuracy against the true labels, or masked against
    unmasked titles."""
    specs = {g: [] for g in COMPARISON_GROUPS}
    settings = title_settings(res)
    for prefix, setting in settings:
        for a, b in AGREEMENT_PAIRS:
            specs["agreement"].append((f"{prefix}cmp.agreement.{a}_vs_{b}", "agreement (text as reference)",
                                       setting, SHORT[a], SHORT[b]))
        specs["agreement"].append((f"{prefix}cmp.agreement_author_code.pairwise_vs_base",
                                   "agreement as the author's code", setting, SHORT["pairwise"], SHORT["base"]))
    specs["agreement"] += [
        ("cmp.binary.author_f1.base_vs_pairwise", "binary stage, as the author's code", "–", SHORT["base"],
         SHORT["pairwise"]),
        ("cmp.binary.weighted_f1.base_vs_pairwise", "binary stage, weighted F1 (ours)", "–", SHORT["base"],
         SHORT["pairwise"])]
    for side, prefixes in (("image", [("", "–")]), ("text", settings)):
        for prefix, setting in prefixes:
            for a, b in ACCURACY_PAIRS:
                specs["accuracy"].append((f"{prefix}cmp.accuracy.{side}.{a}_vs_{b}", f"{side} accuracy",
                                          setting, SHORT[a], SHORT[b]))
    for m in ("base", "pairwise"):
        specs["titles"] += [(f"cmp.agreement.unmasked_vs_masked.{m}", f"agreement, {SHORT[m]}", "–",
                             "titles as they are", "masked titles"),
                            (f"cmp.accuracy.text.unmasked_vs_masked.{m}", f"text accuracy, {SHORT[m]}", "–",
                             "titles as they are", "masked titles")]
    if group is not None and group not in specs:
        raise ValueError(f"comparison group {group!r}: expected one of {', '.join(COMPARISON_GROUPS)}")
    chosen = specs[group] if group else [s for g in COMPARISON_GROUPS for s in specs[g]]
    return [s for s in chosen if V.read_comparison(res, s[0]) is not None]


def comparison_table(res: Mapping[str, Any], group: str | None = None) -> pd.DataFrame:
    """One row per recorded comparison (of ``group``, see :func:`comparison_specs`): what,
    setting, the difference and its interval in points, and the decision in words."""
    rows = []
    for key, measure, setting, a, b in comparison_specs(res, group):
        cmp = V.read_comparison(res, key)
        rows.append({"measure": measure, "titles": setting, "A": a, "B": b,
                     "A − B (points)": V.fmt(cmp["diff"], scale=100, digits=1, signed=True),
                     "95 % interval": f"{V.fmt(cmp['lo'], scale=100, digits=1, signed=True)} to "
                                      f"{V.fmt(cmp['hi'], scale=100, digits=1, signed=True)}",
                     "verdict": f"A {V.VERBS[V.decision(cmp)]} B"})
    table = pd.DataFrame(rows)
    if len(table) and (table["titles"] == "–").all():
        table = table.drop(columns="titles")
    return table


def comparison_section(res: Mapping[str, Any]) -> str:
    """The rules, then one table per kind of comparison (Markdown)."""
    heads = {"agreement": "Agreement between the image and the text classes",
             "accuracy": "Accuracy against the true labels",
             "titles": "Titles as they are against masked titles"}
    out = [V.rules_markdown(("bootstrap", "decision", "source_values"))]
    for group in COMPARISON_GROUPS:
        table = comparison_table(res, group)
        if len(table):
            out += [f"#### {heads[group]}\n", V.md_table(table, index=False)]
    return "\n".join(out)


def _pair(res, key_fmt, digits=3):
    return " → ".join(f"{_get(res, key_fmt.format(m)):.{digits}f}" for m in ("base", "pairwise"))


def summary_lines(res: Mapping[str, Any], params: Mapping[str, Any] | None = None,
                  source: Mapping[str, float] | None = None) -> list[dict]:
    """The summary's lines (:func:`zsl_lib.experiments.verdicts.summary_markdown`): the article's
    claims tested in the comparable setting, then the masked-title variant and the checks beyond
    the article; a claim is reproduced only when its interval says so."""
    s = SOURCE if source is None else source
    params = params or {}
    settings = title_settings(res)
    (cp, clabel) = settings[0]
    lines = []
    art = (f"article {s['agreement_f1_weighted.multiclass.base']:.3f} → "
           f"{s['agreement_f1_weighted.multiclass.pairwise']:.3f}")
    line = V.claim_line(res, f"{cp}cmp.agreement.pairwise_vs_base",
                        f"The pairwise tourney raises multiclass image-text agreement over the base model ({art})")
    line["evidence"] = (f"{clabel}: {_pair(res, cp + 'agreement_f1_weighted.multiclass.{}')}; "
                        + line["evidence"])
    lines.append(line)
    for claim, key, a, b in (
            (f"One-vs-rest sub-features raise agreement over the base model (article's prose "
             f"{s['prose.agreement.multiclass.base']:.0%} → {s['prose.agreement.multiclass.one_vs_rest']:.0%})",
             "one_vs_rest_vs_base", "one_vs_rest", "base"),
            (f"The pairwise tourney raises agreement over one-vs-rest (article's prose "
             f"{s['prose.agreement.multiclass.one_vs_rest']:.0%} → {s['prose.agreement.multiclass.pairwise']:.0%})",
             "pairwise_vs_one_vs_rest", "pairwise", "one_vs_rest")):
        line = V.claim_line(res, f"{cp}cmp.agreement.{key}", claim)
        line["evidence"] = (f"{_get(res, f'{cp}agreement_f1_weighted.multiclass.{b}'):.3f} → "
                            f"{_get(res, f'{cp}agreement_f1_weighted.multiclass.{a}'):.3f}; " + line["evidence"])
        lines.append(line)
    line = V.claim_line(res, "cmp.binary.author_f1.base_vs_pairwise",
                        f"Binary stage: the base model agrees more than the pairwise model (article "
                        f"{s['agreement_f1_weighted.binary.base']:.3f} vs {s['agreement_f1_weighted.binary.pairwise']:.3f})")
    line["evidence"] = (f"scored as the author's code: {_pair(res, 'binary.author_f1.{}')}; " + line["evidence"])
    lines.append(line)
    for prefix, label in settings[1:]:
        v = V.verdict(res, f"{prefix}cmp.agreement.pairwise_vs_base", "pairwise", "base")
        lines.append({"claim": f"Agreement with {label}", "status": "beyond the source",
                      "evidence": f"{_pair(res, prefix + 'agreement_f1_weighted.multiclass.{}')}; {v}"})
    if res.get("accuracy.image.base") is not None:
        for side, prefix, label in (("image", "", "Accuracy against the true labels, images"),
                                    ("text", cp, f"Accuracy against the true labels, titles ({clabel.split(' (')[0]})")):
            v = V.verdict(res, f"{prefix}cmp.accuracy.{side}.pairwise_vs_base", "pairwise", "base")
            if v:
                lines.append({"claim": label, "status": "beyond the source",
                              "evidence": f"{_pair(res, prefix + 'accuracy.' + side + '.{}')}; {v}"})
        v = V.verdict(res, "cmp.accuracy.image.round_robin_vs_pairwise", "round-robin", "the bracket")
        if v:
            lines.append({"claim": "Round-robin vs the tourney's bracket, image accuracy",
                          "status": "beyond the source", "evidence": v})
    if params.get("source") != "sqid":
        lines.append({"claim": "The article's own numbers (SQID, CLIP ViT-L/14)", "status": "not testable offline",
                      "evidence": "the SQID file and the CLIP weights are downloads; the paper profile "
                                  "runs them where they can be downloaded"})
    return lines


def summary(res: Mapping[str, Any], params: Mapping[str, Any] | None = None) -> str:
    """The page's opening summary (Markdown) from the record."""
    return V.summary_markdown(summary_lines(res, params))


# --- the closing discussion ------------------------------------------------------------------

def closing_discussion(res: Mapping[str, Any], *, cutoff: float, cos_limit: float, cos_diff: float,
                       source: Mapping[str, float] | None = None) -> str:
    """The closing discussion of notebook 02 as Markdown, every number read from ``res`` (the
    recorded values) or ``source`` (the article's, :data:`SOURCE`), every verdict from a recorded
    interval; the run's parameters are passed in. Raises ``KeyError`` naming a missing key."""
    s = SOURCE if source is None else source
    r = lambda k: _get(res, k)  # noqa: E731
    settings = title_settings(res)
    cp, clabel = settings[0]
    has_labels = res.get("accuracy.image.base") is not None
    art = f"{s['agreement_f1_weighted.multiclass.base']:.3f} → {s['agreement_f1_weighted.multiclass.pairwise']:.3f}"

    def vd(key, a, b):
        return V.verdict(res, key, a, b) or "not compared in this run"

    lines = [
        "## Discussion",
        "",
        f"Numbers from this run ({r('n_items'):,} items, {r('n_classes')} classes, cutoff {cutoff:g}, "
        f"cosine limit {cos_limit:g}, cosine difference {cos_diff:g}), read from the record; every "
        "verdict is the paired bootstrap interval stated above.",
        "",
    ]
    for prefix, label in settings:
        lines.append(
            f"* **Agreement, {label}.** Base → pairwise {_pair(res, prefix + 'agreement_f1_weighted.multiclass.{}')} "
            f"with text as the reference for both (the article: {art}): "
            f"{vd(prefix + 'cmp.agreement.pairwise_vs_base', 'pairwise', 'base')}. Scored as the author's "
            f"code (pairwise with image as the reference) {_pair(res, prefix + 'agreement_orientation.author_code.multiclass.{}')}: "
            f"{vd(prefix + 'cmp.agreement_author_code.pairwise_vs_base', 'pairwise', 'base')}. One-vs-rest "
            f"sub-features: {vd(prefix + 'cmp.agreement.one_vs_rest_vs_base', 'one-vs-rest', 'base')}.")
    lines.append(
        f"* **The binary stage** (the article: {s['agreement_f1_weighted.binary.base']:.3f} → "
        f"{s['agreement_f1_weighted.binary.pairwise']:.3f}; its table calls the score weighted F1, "
        f"but the author's code computes the binary F1 of the clothing class with text as the reference, "
        f"so that is the article's number). Scored as the author's code: {_pair(res, 'binary.author_f1.{}')}, "
        f"{vd('cmp.binary.author_f1.base_vs_pairwise', 'base', 'pairwise')}. Our weighted F1 with "
        f"*undecided* as a third class: {_pair(res, 'agreement_f1_weighted.binary.{}')}, "
        f"{vd('cmp.binary.weighted_f1.base_vs_pairwise', 'base', 'pairwise')}. The base model's undecided "
        f"outcome covers {r('binary.undecided_share.image.base'):.0%} of images and "
        f"{r('binary.undecided_share.text.base'):.0%} of titles.")
    if len(settings) > 1:
        lines.append(
            f"* **Masked against unmasked titles.** Agreement, base model: "
            f"{vd('cmp.agreement.unmasked_vs_masked.base', 'titles as they are', 'masked titles')}; pairwise: "
            f"{vd('cmp.agreement.unmasked_vs_masked.pairwise', 'titles as they are', 'masked titles')}."
            + (f" Text accuracy, base model: {vd('cmp.accuracy.text.unmasked_vs_masked.base', 'titles as they are', 'masked titles')}."
               if has_labels else ""))
    if has_labels:
        rec_b, rec_p = r("per_class_recall.image.base"), r("per_class_recall.image.pairwise")
        best = sorted(rec_b, key=lambda c: rec_b[c] - rec_p[c])[:3]
        lines += [
            f"* **Against the true labels, images** (beyond the article): accuracy "
            f"{_pair(res, 'accuracy.image.{}')}, {vd('cmp.accuracy.image.pairwise_vs_base', 'pairwise', 'base')}; "
            f"macro F1 {_pair(res, 'macro_f1.image.{}')}; on average {r('pairs.image.mean_dims'):.0f} of "
            f"{r('pairs.image.embedding_width')} dimensions per pair (the article: about "
            f"{s['pairs.image.mean_dims']:.0f} of {s['pairs.image.embedding_width']:.0f}). Largest per-class "
            "changes: " + ", ".join(f"{c} {rec_b[c]:.0%} → {rec_p[c]:.0%}" for c in best) + ". "
            f"One-vs-rest: {vd('cmp.accuracy.image.one_vs_rest_vs_base', 'one-vs-rest', 'base')}. The supervised "
            f"logistic-regression bound reaches {r('accuracy.image.logreg'):.3f}: "
            f"{vd('cmp.accuracy.image.logreg_vs_pairwise', 'logistic regression', 'pairwise')}.",
            f"* **Against the true labels, titles ({clabel.split(' (')[0]})**: accuracy "
            f"{_pair(res, cp + 'accuracy.text.{}')}, {vd(cp + 'cmp.accuracy.text.pairwise_vs_base', 'pairwise', 'base')} "
            f"(a majority-class guess scores {r('accuracy.majority_class'):.3f}). Agreement compares two "
            "classifiers: it can go up while neither side gets more accurate, so it is a weak proxy for accuracy.",
        ]
    lines += [
        f"* **Match-up risk**: the bracket gives the round-robin winner for "
        f"{r('tourney.image.same_as_round_robin'):.0%} of images ({r('tourney.text.same_as_round_robin'):.0%} "
        f"of titles); {r('tourney.image.bracket_dependent_share'):.0%} of images "
        f"({r('tourney.text.bracket_dependent_share'):.0%} of titles) change class when the bracket is redrawn"
        + (f", and image accuracy moves by {r('tourney.image.bracket_accuracy_spread'):.3f} across brackets. "
           f"Round-robin against the bracket, image accuracy: "
           f"{vd('cmp.accuracy.image.round_robin_vs_pairwise', 'round-robin', 'the bracket')}."
           if "tourney.image.bracket_accuracy_spread" in res else "."),
        "* The gain plot's own-class margin goes up with the cutoff, but the dimensions are chosen to "
        "separate the base model's own assignments: partly self-confirming, not a measure of accuracy.",
        "",
        "The article's setting (SQID, CLIP ViT-L/14, no labels) runs with the paper profile "
        "(`params/paper/02-pairwise-tourney.yaml`) where the SQID file and the ViT-L-14 weights can be "
        "downloaded; the differences from it are listed under \"Settings against the source\".",
    ]
    return "\n".join(lines)
