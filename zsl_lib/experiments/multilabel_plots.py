"""Notebook 05's figures: Table 4.8 as bars, Table 4.11 as images and the learning curve
(re-exported by :mod:`zsl_lib.experiments.multilabel`)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from ..data import keywords as kwd
from ..plots import display_name
from ..zeroshot.multilabel_prep import PreparedData
from .multilabel_words import FLOOR, FLOOR_LABEL


def plot_model_comparison(t48: pd.DataFrame):
    """Table 4.8 as bars per dataset (test F2 with the global and per-class thresholds, the
    suggest-every-keyword floor as a dashed line); the thesis's F2 on its own (military)
    collection in a separate, last panel, since it has none of these datasets."""
    n = t48["dataset"].nunique()
    thesis = t48.drop_duplicates("model").dropna(subset=["F2 thesis"])
    fig, axes = plt.subplots(1, n + 1, figsize=(4.2 * n + 4.5, 5.0), squeeze=False, layout="constrained",
                             gridspec_kw={"width_ratios": [1] * n + [0.7]})
    for ax, (name, g) in zip(axes[0], t48.groupby("dataset", sort=False)):
        floor = g.loc[g.model == FLOOR, "f2"]
        g = g[g.model != FLOOR]
        x = np.arange(len(g))
        ax.bar(x - 0.2, 100 * g["f2"], 0.4, label="global threshold")
        ax.bar(x + 0.2, 100 * g["F2 per-class thr."], 0.4, label="per-class thresholds")
        if len(floor):
            ax.axhline(100 * floor.iloc[0], color="0.3", ls="--", lw=1, label=FLOOR_LABEL + " (floor)")
        ax.set_xticks(x, [display_name(m) for m in g["model"]], rotation=45, ha="right")
        ax.set(title=display_name(name), ylabel="test F2 (%)", ylim=(0, 100))
    ax = axes[0][-1]
    xt = np.arange(len(thesis))
    ax.bar(xt, 100 * thesis["F2 thesis"], 0.6, color="0.6")
    ax.set_xticks(xt, [display_name(m) for m in thesis["model"]], rotation=45, ha="right")
    ax.set(title="Thesis (its own non-public\nmilitary collection)", ylabel="test F2 (%)", ylim=(0, 100))
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, fontsize=8, loc="outside lower center", ncol=3)
    fig.suptitle("Table 4.8 as a figure: micro F2 on the test split; the thesis's numbers (right) are on other data")
    return fig


def keyword_lines(keywords, truth: set, most: int = 8) -> str:
    """Keywords one per line, those of the query (``truth``, any case) first, at most ``most`` lines
    (the last then says how many more there are)."""
    upper = {t.upper() for t in truth}
    ordered = sorted(keywords, key=lambda k: k.upper() not in upper)
    if len(ordered) > most:
        ordered = ordered[:most - 1] + [f"(+{len(ordered) - most + 1} more)"]
    return "\n".join(ordered)


def plot_example_query(name: str, data: kwd.KeywordData, d: PreparedData, q: int, t411: pd.DataFrame, truth: set):
    """Table 4.11 as images: the query and its contributing reference items (None without images)."""
    if data.dataset is None:
        return None
    fig, axes = plt.subplots(1, len(t411) + 1, figsize=(2.5 * (len(t411) + 1), 4.4), layout="constrained")
    axes[0].imshow(data.dataset.get_image(int(d.idx_test[q])))
    axes[0].set_title("query (true keywords)\n" + keyword_lines(sorted(truth), truth), fontsize=7)
    for ax, (_, r) in zip(axes[1:], t411.iterrows()):
        ax.imshow(data.dataset.get_image(int(d.idx_train[r.reference_index])))
        ax.set_title(f"match {r['rank']}: weight {100 * r.weight:.1f} %\n" + keyword_lines(r["labels"].split(", "), truth),
                     fontsize=7)
    for ax in axes:
        ax.axis("off")
        # an image keeps its aspect and shrinks inside its panel: keep it at the panel's bottom so that
        # its multi-line title stays inside the space constrained layout reserved, below the suptitle
        ax.set_anchor("S")
    fig.get_layout_engine().set(h_pad=0.08)
    fig.suptitle(f"Table 4.11 as images ({display_name(name)}): the {len(t411)} reference items contributing "
                 "most to the query's neighbour-search scores", fontsize="medium", fontweight="bold")
    return fig


CURVE_STYLE = {"neighbor_search": ("C0", "-"), "one_nn": ("C1", "-"), "language_image": ("C2", "--"),
               FLOOR: ("0.4", ":")}


def curve_label(m: str) -> str:
    return FLOOR_LABEL if m == FLOOR else display_name(m)


def plot_learning_curve(curve: pd.DataFrame):
    """Test F2 against the number of labelled reference items (log x), one panel per dataset."""
    n = curve["dataset"].nunique()
    fig, axes = plt.subplots(1, n, figsize=(4.2 * n + 2, 3.6), squeeze=False, layout="constrained")
    for ax, (name, g) in zip(axes[0], curve.groupby("dataset", sort=False)):
        for m, gm in g.groupby("model"):
            ax.plot(gm.n_reference, 100 * gm.f2, marker="o" if m != FLOOR else None, color=CURVE_STYLE[m][0],
                    ls=CURVE_STYLE[m][1], label=curve_label(m))
        ax.set(xscale="log", xlabel="labelled reference items", ylabel="test F2 (%)", title=display_name(name))
        ax.xaxis.set_minor_formatter(plt.NullFormatter())
    extra = {"language_image": " (zero-shot)", FLOOR: " (floor)"}
    handles = [plt.Line2D([], [], color=c, ls=ls, marker=None if m == FLOOR else "o", label=curve_label(m) + extra.get(m, ""))
               for m, (c, ls) in CURVE_STYLE.items()]
    axes[0][-1].legend(handles=handles, fontsize=8, loc="upper left", bbox_to_anchor=(1.02, 1))
    fig.suptitle("Learning curve: image-based models vs the zero-shot language-image model")
    return fig
