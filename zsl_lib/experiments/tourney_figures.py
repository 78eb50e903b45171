"""Notebook 02's figures: cross-deviation histograms, gain vs cutoff (with the few-dimensions
plateau marked) and confusion matrices. The notebook only calls these and ``savefig``."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.ticker import FuncFormatter, NullFormatter
from sklearn.metrics import confusion_matrix


def plot_cross_deviation_hist(ratios: dict, cutoff: float, title: str):
    """Histogram of per-dimension cross-deviation ratios, one panel per entry of ``ratios``
    (name -> (d,) array), with the cutoff marked and the number of kept dimensions in the legend."""
    fig, axes = plt.subplots(1, len(ratios), figsize=(5.2 * len(ratios), 3.6), squeeze=False)
    for ax, (name, r) in zip(axes[0], ratios.items()):
        r = np.asarray(r, dtype=np.float64)
        r = r[np.isfinite(r)]
        kept = int((r > cutoff).sum())
        ax.hist(r, bins=50, color="C0", alpha=0.8)
        ax.axvline(cutoff, color="C3", ls="--", label=f"cutoff {cutoff:g}: {kept} of {len(r)} dims kept")
        ax.axvline(1.0, color="0.4", ls=":", label="1 = same distribution")
        ax.set_xlabel("cross-deviation ratio\n√(cross-variance / (σ of class A × σ of class B))")
        ax.set_ylabel("number of dimensions")
        ax.set_title(name)
        ax.legend(loc="upper right", fontsize="small")
    fig.suptitle(title)
    fig.tight_layout()
    return fig


#: the gain plot's "few dimensions" stretch: cutoffs where at most this many dimensions remain
FEW_DIMS = 2


def few_dims_cutoff(df: pd.DataFrame, few: int = FEW_DIMS) -> float | None:
    """The smallest cutoff of a :func:`gain_vs_cutoff` table from which at most ``few``
    dimensions remain (``n_dims`` only falls as the cutoff rises); None when it never happens."""
    rows = df.loc[df["n_dims"] <= few, "cutoff"]
    return float(rows.min()) if len(rows) else None


def gain_plateau_note(tables: dict, few: int = FEW_DIMS) -> str:
    """One Markdown sentence per modality on the gain plot's right end, from the tables: from
    which cutoff only ``few`` or fewer dimensions remain, and the own-class margin there."""
    parts = []
    for name, df in tables.items():
        c = few_dims_cutoff(df, few)
        if c is None:
            parts.append(f"{name}: more than {few} dimensions remain up to the sweep's last cutoff "
                         f"({df['cutoff'].max():.2f})")
            continue
        tail = df[df["cutoff"] >= c]
        lo, hi = int(tail["n_dims"].min()), int(tail["n_dims"].max())
        parts.append(f"{name}: from cutoff {c:.2f} on only {lo if lo == hi else f'{lo}–{hi}'} "
                     f"dimension(s) remain ({len(tail)} of the sweep's {len(df)} cutoffs), where the "
                     "own-class margin " + (f"stays at {tail['margin'].min():.3f}" if
                                            f"{tail['margin'].min():.3f}" == f"{tail['margin'].max():.3f}" else
                                            f"stays between {tail['margin'].min():.3f} and {tail['margin'].max():.3f}"))
    return ("**The flat right end of the gain plot** (shaded): " + "; ".join(parts) + ". A cosine "
            f"over {few} or fewer coordinates changes only when a dimension drops out, so that stretch "
            "is a step function of very few coordinates, not a stable gain.\n")


def plot_gain_vs_cutoff(tables: dict, pair_names: tuple[str, str], title: str, few: int = FEW_DIMS):
    """The article's gain plot: per modality (name -> :func:`gain_vs_cutoff` table), top: mean
    cosine to each class of the pair, the author's gain (difference) and the own-class margin, with
    the full-embedding values dashed; bottom: dimensions kept. The cutoffs where ``few`` or fewer
    dimensions remain are shaded and labelled; one opaque legend sits below the panels."""
    fig, axes = plt.subplots(2, len(tables), figsize=(5.8 * len(tables), 6.8), sharex=True,
                             squeeze=False)
    a, b = pair_names
    for j, (name, df) in enumerate(tables.items()):
        ax, ax2 = axes[0, j], axes[1, j]
        ax.plot(df["cutoff"], df["cos_a"], color="C0", alpha=0.6, label=f"mean cosine to '{a}'")
        ax.plot(df["cutoff"], df["cos_b"], color="C1", alpha=0.6, label=f"mean cosine to '{b}'")
        ax.plot(df["cutoff"], df["gain"], color="C2", label=f"gain (author): cosine to '{a}' − to '{b}'")
        ax.plot(df["cutoff"], df["margin"], color="C3", label="own-class margin")
        ax.axhline(df.attrs["full_gain"], color="C2", ls="--", lw=1, label="gain, full embedding")
        ax.axhline(df.attrs["full_margin"], color="C3", ls="--", lw=1,
                   label="margin, full embedding")
        ax.set_ylabel("cosine")
        ax.set_title(f"{name}:\nitems assigned to '{a}' or '{b}'")
        ax2.plot(df["cutoff"], df["n_dims"], color="C4")
        ax2.set_xlabel("cross-deviation ratio cutoff")
        ax2.set_ylabel("dimensions kept (log scale)")
        ax2.set_yscale("log")  # the few-dimension stretch stays readable beside hundreds
        lo, hi = float(df["n_dims"].min()), float(df["n_dims"].max())
        ax2.set_yticks([t for t in (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000) if lo / 1.5 <= t <= hi * 1.5])
        ax2.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
        ax2.yaxis.set_minor_formatter(NullFormatter())
        c = few_dims_cutoff(df, few)
        if c is not None:
            right = float(df["cutoff"].max())
            for axis in (ax, ax2):
                axis.axvspan(c, right, color="0.85", zorder=0,
                             label=f"{few} or fewer dimensions left" if axis is ax else None)
            ax2.annotate(f"from {c:.2f}: {few} or fewer\ndimensions left", xy=(c, float(np.sqrt(np.prod(ax2.get_ylim())))),
                         xytext=(-6, 0), textcoords="offset points", ha="right", fontsize=8, color="0.25")
    legend = {}
    for ax in axes[0]:
        legend |= {lab: h for h, lab in zip(*ax.get_legend_handles_labels()) if lab not in legend}
    handles, labels = list(legend.values()), list(legend)
    fig.suptitle(title)
    fig.tight_layout(rect=(0, 0.1, 1, 1))
    fig.legend(handles, labels, loc="lower center", ncol=4, fontsize="small", framealpha=1.0,
               bbox_to_anchor=(0.5, 0.0))
    return fig


def plot_confusions(y_true, preds: dict, class_names, title: str):
    """Row-normalised confusion matrices (true class -> predicted), one panel per prediction."""
    k = len(preds)
    fig, axes = plt.subplots(1, k, figsize=(5.6 * k, 5.8), squeeze=False)
    labels = np.arange(len(class_names))
    for ax, (name, p) in zip(axes[0], preds.items()):
        cm = confusion_matrix(y_true, p, labels=labels, normalize="true")
        text = np.where(cm >= 0.05, np.char.mod("%d", np.round(100 * cm).astype(int)), "")
        sns.heatmap(cm, ax=ax, vmin=0, vmax=1, cmap="Blues", cbar=False, square=True,
                    xticklabels=class_names, yticklabels=class_names, annot=text, fmt="",
                    annot_kws={"size": 6})
        acc = float(np.mean(np.asarray(y_true) == np.asarray(p)))
        ax.set_title(f"{name}: accuracy {acc:.3f}")
        ax.set_xlabel("predicted class")
        ax.set_ylabel("true class")
        ax.tick_params(axis="x", labelrotation=90, labelsize=7)
        ax.tick_params(axis="y", labelrotation=0, labelsize=7)
    fig.suptitle(f"{title}\n(cells: % of the true class's items, values >= 5 shown)")
    fig.tight_layout()
    return fig
