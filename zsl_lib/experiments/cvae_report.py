"""Figures and the rendered closing discussion of notebook 03 (the driver's tables and records
are :mod:`zsl_lib.experiments.cvae`; this module only draws and formats them).

Each ``plot_*`` returns the matplotlib figure (the notebook saves it with ``savefig``); legends and
titles use :func:`~zsl_lib.experiments.cvae.display_name`, never code identifiers.
:func:`discussion_markdown` formats the recorded dict into the closing Markdown, so its numbers
cannot drift from the record.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.manifold import TSNE

from ..validation import check_choice
from . import cvae_verdicts as CV
from . import verdicts as V
from .cvae import SETTING_NAMES, TSNE_PANELS, display_name, eszsl_scorer, gzsl_calibration_curve


def plot_coverage(diagnoses: dict):
    """Diagnosis figure: per unseen class, synthesised vs real spread (left) and the distance of
    real unseen features to their own synthesised mean vs to the nearest seen-class mean (right);
    points above the diagonal on the right are classes whose real features sit nearer seen classes."""
    import matplotlib.pyplot as plt  # noqa: PLC0415

    fig, axes = plt.subplots(1, 2, figsize=(11, 4.6))
    for ds, per_v in diagnoses.items():
        for v, df in per_v.items():
            label = f"{display_name(ds)}: {display_name(v)}"
            axes[0].scatter(df["real_spread"], df["synth_spread"], s=12, label=label)
            axes[1].scatter(df["d_seen"], df["d_own"], s=12, label=label)
    for ax, (xl, yl) in zip(axes, [("real unseen spread", "synthesised spread"),
                                   ("distance to nearest seen-class mean", "distance to own synthesised mean")]):
        lim = max(ax.get_xlim()[1], ax.get_ylim()[1])
        ax.plot([0, lim], [0, lim], color="grey", lw=1, ls="--")
        ax.set(xlabel=xl, ylabel=yl, xlim=(0, lim), ylim=(0, lim))
    axes[0].set_title("Spread per unseen class", fontsize=10)
    axes[1].set_title("Real unseen features: own class vs seen classes", fontsize=10)
    axes[0].legend(fontsize=7)
    fig.suptitle("Do synthesised unseen features cover the real ones? (one point per unseen class)", fontsize=11)
    fig.tight_layout(rect=(0, 0, 1, 0.94))
    return fig


# ----------------------------------------------------------------------------- figures
# (each returns the matplotlib figure; the notebook saves it with savefig)


def plot_ablation(runs: pd.DataFrame, variants, seeds):
    """Fig. 4 analogue: ZSL top-1, GZSL H and validated calibrated H (%) per dataset and variant:
    bars at the mean over seeds, every seed's value as a dot, a min-max range line (never below 0)."""
    import matplotlib.pyplot as plt  # noqa: PLC0415

    datasets = list(dict.fromkeys(runs["dataset"]))
    panels = [("zsl_top1", "ZSL per-class top-1 (%)"), ("gzsl.h", "GZSL H, uncalibrated (%)")]
    if "gzsl_cal.h" in runs and runs["gzsl_cal.h"].notna().all():
        panels.append(("gzsl_cal.h", "GZSL H, offset from validation (%)"))
    fig, axes = plt.subplots(1, len(panels), figsize=(5.2 * len(panels), 4.4), squeeze=False)
    width = 0.8 / len(variants)
    colors = plt.get_cmap("tab10").colors
    for ax, (col, title) in zip(axes[0], panels):
        top = 100 * np.nanmax(runs[col].to_numpy(dtype=float)) if len(runs) else 1.0
        for i, v in enumerate(variants):
            for j, ds in enumerate(datasets):
                vals = 100 * runs.loc[(runs["variant"] == v) & (runs["dataset"] == ds), col].to_numpy()
                x = j + i * width
                ax.bar(x, vals.mean(), width, color=colors[i % 10], alpha=0.6,
                       label=display_name(v) if j == 0 else None)
                ax.vlines(x, vals.min(), vals.max(), color="black", lw=1)
                ax.scatter(np.full(len(vals), x), vals, color="black", s=9, zorder=3)
                if np.all(vals == 0):  # a bar of height 0 reads as missing: say that it is 0
                    ax.text(x, 0.02 * top, "0", ha="center", va="bottom", fontsize=8, color=colors[i % 10],
                            fontweight="bold")
        ax.set_xticks(np.arange(len(datasets)) + width * (len(variants) - 1) / 2, [display_name(d) for d in datasets])
        ax.set_ylabel("%")
        ax.set_ylim(bottom=0)
        ax.set_title(title, fontsize=10)
    fig.legend(*axes[0][0].get_legend_handles_labels(), loc="lower center", ncol=len(variants), fontsize=8,
               frameon=False)
    n = len(seeds)
    fig.suptitle(f"Ablation (Fig. 4 analogue): mean over {n} seed{'s' if n != 1 else ''}, dots = seeds, "
                 "lines = min-max; \"0\": every seed scored 0", fontsize=11)
    fig.tight_layout(rect=(0, 0.08, 1, 0.93))
    return fig


def plot_calibration_curves(splits: dict, eszsl_models: dict, first_models: dict, variants, ausuc: dict | None = None,
                            seed=0):
    """Seen vs unseen accuracy (%) as the seen-class offset sweeps, ESZSL and every variant
    (models of the first seed ``seed``), one panel per dataset, the legend below the panels.

    ``ausuc``: ``{dataset: {method: AUSUC}}`` (fractions; ``"eszsl"`` or a variant) to print in the
    legend, e.g. the means over seeds of the record (so that the legend ranks the methods as the
    table does); None prints each drawn curve's own AUSUC, labelled with its seed."""
    import matplotlib.pyplot as plt  # noqa: PLC0415

    fig, axes = plt.subplots(1, len(splits), figsize=(max(7.0, 5.2 * len(splits)), 5.4), squeeze=False)
    for ax, (ds, sp) in zip(axes[0], splits.items()):
        scorers = {"eszsl": eszsl_scorer(eszsl_models[ds], sp.semantics)}
        scorers.update({v: (lambda X, m=first_models[ds][v]: m.decision_function(X, "gzsl")) for v in variants})
        for key, fn in scorers.items():
            c = gzsl_calibration_curve(fn, sp)
            area = c["ausuc"] if ausuc is None else ausuc[ds][key]
            ax.plot(100 * c["s"], 100 * c["u"], label=f"{display_name(key)}: AUSUC {100 * area:.1f}")
        ax.set(xlabel="seen accuracy S (%)", ylabel="unseen accuracy U (%)", title=display_name(ds))
        ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=1, frameon=False)
    which = (f"AUSUC of the drawn curve (seed {seed})" if ausuc is None
             else "AUSUC in the legend: mean over seeds, as in the table")
    fig.suptitle("Seen vs unseen accuracy as the seen-class offset γ sweeps (calibrated stacking, Chao et al. "
                 f"2016)\ncurves: seed {seed}; {which}", fontsize=10)
    fig.tight_layout(rect=(0, 0, 1, 0.93))
    return fig


def zoom_to_bulk(ax, Z: np.ndarray, q: float = 0.01) -> int:
    """Limit ``ax`` to the ``q`` .. ``1 - q`` quantiles of the 2-d points ``Z`` (plus a 5 % margin),
    so that a few outliers do not squeeze the rest; returns how many points fall outside the view."""
    lo, hi = np.quantile(Z, [q, 1 - q], axis=0)
    pad = 0.05 * (hi - lo)
    lo, hi = lo - pad, hi + pad
    ax.set_xlim(lo[0], hi[0])
    ax.set_ylim(lo[1], hi[1])
    return int(np.sum(np.any((Z < lo) | (Z > hi), axis=1)))


def _two_d(X: np.ndarray, method: str, random_state) -> np.ndarray:
    """A seeded 2-d map of ``X``: t-SNE (the paper's) or UMAP (umap-learn; keeps more of the global
    layout, so distances between class groups mean more)."""
    check_choice("method", method, ("tsne", "umap"))
    if method == "tsne":
        return TSNE(n_components=2, init="pca", perplexity=30, random_state=random_state).fit_transform(X)
    import umap  # noqa: PLC0415  (numba start-up cost only when asked for)

    return umap.UMAP(n_components=2, n_neighbors=15, min_dist=0.1, random_state=random_state).fit_transform(X)


def tsne_views(models: dict, split, n_classes: int = 10, n_per_class: int = 30, random_state=0,
               method: str = "tsne") -> dict:
    """2-d t-SNE (or ``method="umap"``) embeddings for Fig. 3: real vs synthesised unseen features per model.

    ``models`` maps a panel title to a fitted :class:`ClusterableCVAE`. For ``n_classes`` random
    unseen classes, up to ``n_per_class`` real test features (projected with the model) and as
    many synthesised ones are embedded jointly. Returns ``{title: (Z (m, 2), y (m,), is_real (m,))}``.
    """
    rng = np.random.default_rng(random_state)
    classes = np.sort(rng.choice(split.unseen_classes, min(n_classes, len(split.unseen_classes)), replace=False))
    idx = np.concatenate([rng.permutation(np.flatnonzero(split.y_test_unseen == c))[:n_per_class] for c in classes])
    out = {}
    for title, m in models.items():
        real = m.transform(split.X_test_unseen[idx])
        synth, ys = m.generate(classes, n_per_class, random_state=random_state)
        Z = _two_d(np.concatenate([real, synth]).astype(np.float64), method, random_state)
        y = np.concatenate([split.y_test_unseen[idx], ys])
        out[title] = (Z, y, np.r_[np.ones(len(idx), bool), np.zeros(len(ys), bool)])
    return out


def plot_tsne(models: dict, split, n_classes: int = 10, random_state=0, method: str = "tsne"):
    """Fig. 3 analogue on one split: t-SNE (or ``method="umap"``) panels of :data:`TSNE_PANELS` for
    the variants in ``models`` (``{variant: fitted model}``); crosses real, dots synthesised unseen
    features."""
    import matplotlib.pyplot as plt  # noqa: PLC0415

    panel_models = {t: models[v] for t, v in TSNE_PANELS.items() if v in models}
    if not panel_models:
        raise ValueError(f"the t-SNE figure needs at least one of the variants {list(TSNE_PANELS.values())}; "
                         f"got models of {list(models)}")
    views = tsne_views(panel_models, split, n_classes=n_classes, random_state=random_state, method=method)
    axis = {"tsne": "t-SNE", "umap": "UMAP"}[method]
    fig, axes = plt.subplots(1, len(views), figsize=(5.4 * len(views), 4.8), squeeze=False)
    for ax, (title, (Z, y, real)) in zip(axes[0], views.items()):
        codes = np.unique(y, return_inverse=True)[1]
        ax.scatter(Z[real, 0], Z[real, 1], c=codes[real], cmap="tab10", marker="x", s=18, label="real")
        ax.scatter(Z[~real, 0], Z[~real, 1], c=codes[~real], cmap="tab10", marker="o", s=8, alpha=0.5,
                   label="synthesised")
        ax.set_title(title)
        outside = zoom_to_bulk(ax, Z)
        if outside:
            ax.text(0.01, 0.01, f"{outside} of {len(Z)} points outside the view", transform=ax.transAxes,
                    fontsize=7, color="grey", va="bottom")
        ax.set_xlabel(f"{axis} 1")
        ax.set_ylabel(f"{axis} 2")
    axes[0][0].legend(loc="best", fontsize=8)
    fig.suptitle(f"Fig. 3 analogue ({axis}) on {display_name(split.name)}: {len(np.unique(y))} unseen classes, "
                 "real (x) vs synthesised (o); axes zoomed to the 1st-99th percentile of the points")
    fig.tight_layout(rect=(0, 0, 1, 0.94), w_pad=2.0)
    return fig


# ----------------------------------------------------------------------------- closing discussion


def _edge(res: dict, prefix: str, name: str, label: str | None = None) -> str:
    """``"<label> = <value> (why)"`` for a choice on an edge of its grid, from the record:
    ``<prefix>.<name>_edge_tie`` tells a plateau (the next grid value scores the same, the tie goes
    to the first value in grid order) from a score still rising toward the edge."""
    v = res.get(f"{prefix}.{name}")
    why = ("validation flat: the next grid value scores the same, the tie goes to the first in grid order"
           if res.get(f"{prefix}.{name}_edge_tie") else
           "validation still rising toward the edge: the optimum may lie beyond the grid")
    return f"{label or name} = {v:g} ({why})" if isinstance(v, (int, float)) else f"{label or name} ({why})"


def _g(v) -> str:
    """A recorded grid value as the grid gives it (100, 0.001), "n/a" when not recorded."""
    return f"{v:g}" if isinstance(v, (int, float)) else "n/a"


def _seeds(res: dict) -> str:
    n = len(res.get("config.seeds", []))
    return f"{n} seed{'s' if n != 1 else ''}"


def discussion_markdown(res: dict, datasets, variants, full: str) -> str:
    """The closing discussion's numbers, formatted from the recorded dict ``res`` (so the prose
    cannot drift from the record). Percentages with one decimal."""
    def pct(key):
        v = res.get(key)
        return "n/a" if v is None or (isinstance(v, float) and np.isnan(v)) else f"{100 * v:.1f}"

    lines = []
    for ds in datasets:
        f, e = f"{ds}.{full}", f"{ds}.eszsl"
        lines += [
            f"**{display_name(ds)}** ({res.get(f'{ds}.data.n_seen')} seen / {res.get(f'{ds}.data.n_unseen')} unseen classes, "
            f"{res.get(f'{ds}.data.n_train')} training items; {_seeds(res)}).",
            f"- ZSL top-1: full method {pct(f + '.zsl_top1')} % (seeds {pct(f + '.zsl_top1_min')}-"
            f"{pct(f + '.zsl_top1_max')}) vs ESZSL {pct(e + '.zsl_top1')} %"
            + (f"; {CV.chance(res, ds)}" if CV.chance(res, ds) else "") + ".",
            f"- GZSL uncalibrated U / S / H: full method {pct(f + '.gzsl.u')} / {pct(f + '.gzsl.s')} / "
            f"{pct(f + '.gzsl.h')} % vs ESZSL {pct(e + '.gzsl.u')} / {pct(e + '.gzsl.s')} / {pct(e + '.gzsl.h')} %.",
            f"- GZSL with the offset chosen on validation U / S / H: full method {pct(f + '.gzsl_cal.u')} / "
            f"{pct(f + '.gzsl_cal.s')} / {pct(f + '.gzsl_cal.h')} % vs ESZSL {pct(e + '.gzsl_cal.u')} / "
            f"{pct(e + '.gzsl_cal.s')} / {pct(e + '.gzsl_cal.h')} %; upper bound (offset from test labels) "
            f"{pct(f + '.gzsl.best_h')} vs {pct(e + '.gzsl.best_h')} %; AUSUC {pct(f + '.gzsl.ausuc')} vs "
            f"{pct(e + '.gzsl.ausuc')} %.",
            f"- ESZSL chose γ = {_g(res.get(e + '.gamma'))}, λ = {_g(res.get(e + '.lambda_'))} on validation; "
            "on an edge of its grid: " + ("; ".join(_edge(res, e, n, label) for n, label in
                                                   (("gamma", "γ"), ("lambda_", "λ"))
                                                   if res.get(f"{e}.{n}_on_edge")) or "none") + ".",
        ]
        edges = [f"{display_name(v)}: " + _edge(res, f"{ds}.{v}.selected", name, SETTING_NAMES.get(name))
                 for v in variants for k, x in res.items()
                 if k.startswith(f"{ds}.{v}.selected.") and k.endswith("_on_edge") and x
                 for name in [k.split(".selected.")[1][:-len("_on_edge")]]]
        lines.append("- CVAE settings on an edge of their grid: " + ("; ".join(edges) or "none") + ".")
        cov = f"{ds}.{full}.coverage"
        if f"{cov}.real_spread" in res:
            lines.append(
                f"- Coverage (full method, mean over unseen classes): synthesised spread "
                f"{res[f'{cov}.synth_spread']:.3f} vs real {res[f'{cov}.real_spread']:.3f}; the synthesised class "
                f"mean lies {res[f'{cov}.centre_offset']:.3f} from the real one; real unseen features are "
                f"{res[f'{cov}.d_own']:.3f} from their synthesised mean but {res[f'{cov}.d_seen']:.3f} from the "
                f"nearest seen-class mean ({100 * res[f'{cov}.closer_to_seen']:.0f} % nearer a seen class).")
        ab = ", ".join(f"{display_name(v)} {pct(f'{ds}.{v}.zsl_top1')}" for v in variants)
        lines.append(f"- Ablation, ZSL top-1 (%): {ab}; k-means NMI: "
                     + ", ".join(f"{display_name(v)} {V.fmt(res.get(f'{ds}.{v}.kmeans_nmi'), digits=3)}"
                                 for v in variants) + ".")
        lines.append("")
    if "runtime_seconds" in res:
        lines.append(f"Runtime of this run: {res['runtime_seconds'] / 60:.1f} min.")
    return "\n".join(lines)
