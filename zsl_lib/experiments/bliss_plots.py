"""Notebook 01's figures (each function returns the matplotlib figure; the notebook saves it with
``savefig``), and the two map helpers they draw from.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..index.bliss import BLISS
from ..plots import display_name
from ..validation import l2_normalize


def bary_fraction(assignments: np.ndarray, n_buckets: int) -> np.ndarray:
    """Report's colour code: the tuple (b_1, ..., b_R) of an item's buckets read as the B-ary
    fraction 0.b_1 b_2 ... b_R in [0, 1). ``assignments`` int (R, n) -> float64 (n,)."""
    R = assignments.shape[0]
    w = float(n_buckets) ** -np.arange(1, R + 1)
    return (assignments.T * w).sum(1)


def nn_distance_map(model: BLISS, X: np.ndarray, resolution: int = 60, pad: float = 1.0):
    """Report's Fig. 5: over a grid of 2-D query points, the distance from the query to the
    neighbour BLISS returns (inf where it returns none). Returns ``(xs, ys, dist (res, res))``."""
    lo, hi = X.min(0) - pad, X.max(0) + pad
    xs, ys = np.linspace(lo[0], hi[0], resolution), np.linspace(lo[1], hi[1], resolution)
    G = np.stack(np.meshgrid(xs, ys), -1).reshape(-1, 2).astype(np.float32)
    nn = model.nearest_neighbor(G)
    dist = np.where(nn >= 0, np.linalg.norm(G - X[np.maximum(nn, 0)], axis=1), np.inf)
    return xs, ys, dist.reshape(resolution, resolution)


def bucket_colormap(n_buckets: int):
    """A categorical colour map with one colour per bucket id (buckets are categories: neighbouring
    ids are unrelated, so no continuous scale). Up to 20 buckets the colours are distinct (tab10 /
    tab20); above 20 the 60 colours of tab20, tab20b and tab20c are used (cycled beyond 60), which
    a reader cannot all tell apart. Returns ``(cmap, note)``: ``note`` says so (None up to 20)."""
    import matplotlib.pyplot as plt  # noqa: PLC0415
    from matplotlib.colors import ListedColormap  # noqa: PLC0415

    if n_buckets <= 20:
        return plt.get_cmap("tab10" if n_buckets <= 10 else "tab20", n_buckets), None
    pool = [c for name in ("tab20", "tab20b", "tab20c") for c in plt.get_cmap(name).colors]
    colours = [pool[i % len(pool)] for i in range(n_buckets)]
    note = (f"{n_buckets} buckets, one categorical colour each: similar colours are unrelated buckets and "
            "not all can be told apart; read the figure for whether colours form regions or are mixed")
    return ListedColormap(colours, name=f"buckets{n_buckets}"), note


def _label_first_y(axes, ylabel: str) -> None:
    """Panels sharing a y axis: the label once, on the first panel (no label runs into a neighbour)."""
    axes[0].set_ylabel(ylabel)
    for ax in axes[1:]:
        ax.set_ylabel("")


def _integer_ticks(ax, values) -> None:
    """x ticks exactly at the integer ``values`` (the cluster counts): no 2.5 clusters."""
    from matplotlib.ticker import FixedLocator, NullLocator  # noqa: PLC0415

    ax.xaxis.set_major_locator(FixedLocator(sorted({int(v) for v in values})))
    ax.xaxis.set_minor_locator(NullLocator())


def _log_count_axis(ax, values) -> None:
    """A log y axis of counts labelled with plain integers (1, 2, 5, 10, 20...), not ``6x10^0``."""
    from matplotlib.ticker import FixedLocator, NullLocator, StrMethodFormatter  # noqa: PLC0415

    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v) & (v > 0)]
    lo, hi = (float(v.min()), float(v.max())) if v.size else (1.0, 10.0)
    ticks = [m * 10**e for e in range(int(np.log10(hi)) + 2) for m in (1, 2, 5) if lo <= m * 10**e <= hi]
    if len(ticks) < 2:
        ticks = sorted({lo, *ticks, hi})
    ax.set_yscale("log")
    ax.set_ylim(lo / 1.2, hi * 1.2)
    ax.yaxis.set_major_locator(FixedLocator(ticks))
    ax.yaxis.set_major_formatter(StrMethodFormatter("{x:.0f}"))
    ax.yaxis.set_minor_locator(NullLocator())


def plot_bucket_scatter(X, assignments, titles, suptitle, n_buckets: int | None = None):
    """One panel per model: 2-D points coloured by their bucket in repetition 1 (report Figs 1-2)."""
    import matplotlib.pyplot as plt  # noqa: PLC0415

    B = n_buckets or int(max(a.max() for a in assignments)) + 1
    cmap, _ = bucket_colormap(B)
    fig, axes = plt.subplots(1, len(assignments), figsize=(4.2 * len(assignments) + 1, 4.2), squeeze=False,
                             sharex=True, sharey=True, layout="constrained")
    for ax, a, t in zip(axes[0], assignments, titles):
        sc = ax.scatter(X[:, 0], X[:, 1], c=a, cmap=cmap, s=14, vmin=-0.5, vmax=B - 0.5)
        ax.set_title(f"{display_name(t)}\n{len(np.unique(a))} of {B} buckets used", fontsize="small")
        ax.set_xlabel("x1")
    _label_first_y(axes[0], "x2")
    cb = fig.colorbar(sc, ax=axes[0].tolist(), label="bucket id (repetition 1)", ticks=range(B) if B <= 10 else None)
    cb.ax.tick_params(labelsize="small")
    fig.suptitle(suptitle)
    return fig


def plot_load_distribution(histories, titles, suptitle):
    """Report Figs 3-4: loads of every bucket (repetition 1) after each epoch, as a heatmap."""
    import matplotlib.pyplot as plt  # noqa: PLC0415

    fig, axes = plt.subplots(1, len(histories), figsize=(5.0 * len(histories) + 1, 3.8), squeeze=False,
                             sharey=True, layout="constrained")
    vmax = max(h.as_dict()["loads"][:, 0, :].max() for h in histories)
    for ax, h, t in zip(axes[0], histories, titles):
        loads = h.as_dict()["loads"][:, 0, :]  # (epochs+1, B)
        im = ax.imshow(loads.T, aspect="auto", cmap="viridis", origin="lower", interpolation="nearest", vmin=0, vmax=vmax)
        ax.grid(False)
        ax.set_xlabel("epoch")
        ax.set_title(display_name(t), fontsize="small")
    _label_first_y(axes[0], "bucket id")
    fig.colorbar(im, ax=axes[0].tolist(), label="items in the bucket")
    fig.suptitle(suptitle)
    return fig


def plot_logit_history(histories: dict, suptitle: str):
    """Report Figs 10-13: mean logit norm and mean logit variance per epoch."""
    import matplotlib.pyplot as plt  # noqa: PLC0415

    fig, axes = plt.subplots(1, 2, figsize=(11, 3.6), layout="constrained")
    for name, h in histories.items():
        d = h.as_dict()
        axes[0].plot(d["logit_norm"], label=display_name(name))
        axes[1].plot(d["logit_var"], label=display_name(name))
    axes[0].set(xlabel="epoch", ylabel="mean L2 norm of an item's logits", title="logit norm")
    axes[1].set(xlabel="epoch", ylabel="mean variance of an item's logits", title="logit variance")
    fig.legend(*axes[0].get_legend_handles_labels(), loc="outside right upper", fontsize="small")  # off the curves
    fig.suptitle(suptitle)
    return fig


def plot_mechanism(histories: dict, k: int, suptitle: str):
    """Why BLISS collapses: per epoch, how many distinct top-K sets the items have (left), and per
    model how many buckets appear in some item's top-K, are named by some training target, and
    hold items (repetition 1)."""
    import matplotlib.pyplot as plt  # noqa: PLC0415

    n = len(histories)
    fig = plt.figure(figsize=(4.3 * (n + 1), 4.4), layout="constrained")
    ax0 = fig.add_subplot(1, n + 1, 1)
    axes = [ax0]
    for i in range(n):
        axes.append(fig.add_subplot(1, n + 1, i + 2, sharey=axes[1] if i else None))
    for ax, (name, h) in zip(axes[1:], histories.items()):
        d = h.as_dict()
        ep = np.arange(len(d["loss"]))
        # colours C3, C4 and black: not the models' C0.. of the left panel
        ax.plot(ep, (d["topk_counts"][:, 0] > 0).sum(1), color="C3", label="buckets in some item's top-K")
        # wide and pale under the thin black dashes: where the two counts are equal both stay visible
        ax.plot(ep, (d["target_counts"][:, 0] > 0).sum(1), color="C4", lw=4.5, alpha=0.55, zorder=1,
                label="buckets that are a training target (wide)")
        ax.plot(ep, (d["loads"][:, 0] > 0).sum(1), color="k", ls="--", lw=1.2, zorder=3, label="non-empty buckets")
        ax.axhline(k, color="grey", lw=0.8, ls=":", label=f"top-K size = {k}")
        ax.set(xlabel="epoch", title=display_name(name), ylim=(0, d["loads"].shape[2] + 1))
        ax.title.set_fontsize("small")
    _label_first_y(axes[1:], "buckets (repetition 1)")
    # left: how many distinct top-K sets the items have (1 = everybody ranks the same K first)
    sets = []
    for i, (n_, h) in enumerate(histories.items()):
        s = h.as_dict()["topk_sets"][:, 0]
        sets.append(s)
        ax0.plot(s, color=f"C{i}", label=display_name(n_))
    _log_count_axis(ax0, np.concatenate(sets))
    ax0.set(xlabel="epoch", ylabel="distinct top-K bucket sets (log)", title="how many different top-K sets?")
    ax0.title.set_fontsize("small")
    # legends below the panels, where they hide no curve
    fig.legend(*ax0.get_legend_handles_labels(), loc="outside lower left", fontsize="small", ncol=n, title="model",
               title_fontsize="small")
    fig.legend(*axes[1].get_legend_handles_labels(), loc="outside lower right", fontsize="small", ncol=2,
               title="right panels", title_fontsize="small")
    fig.suptitle(suptitle)
    return fig


def plot_cluster_maps(X, y, model: BLISS, title: str, resolution: int = 60):
    """Report Figs 5-6: the nearest-neighbour distance map (bright = the returned neighbour is
    close) with points coloured by true cluster, and the points coloured by their bucket in the
    first repetition (categorical; the report's B-ary fraction of all R buckets, :func:`bary_fraction`,
    is a continuous scale over categories)."""
    import matplotlib.pyplot as plt  # noqa: PLC0415

    xs, ys, dist = nn_distance_map(model, X, resolution)
    fig, axes = plt.subplots(1, 2, figsize=(13, 4.8), layout="constrained")  # no label runs into a colour bar
    finite = np.where(np.isfinite(dist), dist, np.nan)
    im = axes[0].imshow(-finite, extent=(xs[0], xs[-1], ys[0], ys[-1]), origin="lower", cmap="magma", aspect="auto")
    axes[0].scatter(X[:, 0], X[:, 1], c=y, cmap="tab10", s=10, edgecolor="k", lw=0.2)
    axes[0].grid(False)
    fig.colorbar(im, ax=axes[0], label="minus distance to the returned neighbour")
    axes[0].set(title="distance to the neighbour BLISS returns\n(bright: close; points coloured by true cluster)", xlabel="x1", ylabel="x2")
    B = model.n_buckets
    cmap, _ = bucket_colormap(B)
    a = model.assignments_[0]
    sc = axes[1].scatter(X[:, 0], X[:, 1], c=a, cmap=cmap, s=14, vmin=-0.5, vmax=B - 0.5)
    fig.colorbar(sc, ax=axes[1], label="bucket id (repetition 1)", ticks=range(B) if B <= 20 else None)
    # the report colours the R-tuple read as a B-ary fraction on a continuous scale (its Fig. 6); buckets are
    # categories, so one categorical colour per bucket of the first repetition is drawn instead
    axes[1].set(title=f"points coloured by their bucket (repetition 1: {len(np.unique(a))} of {B} used)\n"
                      "report Fig. 6 colours all R buckets as one B-ary fraction", xlabel="x1", ylabel="x2")
    fig.suptitle(title)
    return fig


def plot_grid_metric(frame: pd.DataFrame, metric: str, ylabel: str, title: str, bound: bool = False):
    """Report Figs 7-8: ``metric`` against the number of true clusters, mean ± std over seeds,
    report's values dashed."""
    import matplotlib.pyplot as plt  # noqa: PLC0415

    from .bliss import report_values, vmeasure_upper_bound  # noqa: PLC0415  (bliss re-exports this module)

    fig, ax = plt.subplots(figsize=(9.5, 4.2), layout="constrained")
    handles, ticks = [], set(frame.n_clusters.unique())
    for i, (name, g) in enumerate(frame.groupby("setting", sort=False)):
        s = g.groupby("n_clusters")[metric].agg(["mean", "std"])
        handles.append(ax.errorbar(s.index, s["mean"], yerr=s["std"].fillna(0), marker="o", capsize=3,
                                   label=f"{display_name(name)} (ours)", color=f"C{i}"))
        if report_values(metric, name):
            r = pd.Series(report_values(metric, name))
            handles += ax.plot(r.index, r.values, ls="--", marker="x", color=f"C{i}", alpha=0.7,
                               label=f"{display_name(name)} (report)")
            ticks |= set(r.index)
    cs = np.array(sorted(frame.n_clusters.unique()))
    if bound:
        handles += ax.plot(cs, [vmeasure_upper_bound(c, 18) for c in cs], color="k", lw=0.8, ls=":",
                           label="best V with 18 equal buckets")
    _integer_ticks(ax, ticks)  # the cluster counts, ours and the report's
    ax.set(xlabel="number of true clusters", ylabel=ylabel, title=title)
    fig.legend(handles=handles, loc="outside right upper", fontsize="small")  # off the data; ours beside the report's
    return fig


def plot_ann_curves(curves: pd.DataFrame, title: str, fraction: float = 0.05):
    """Recall@10 against the fraction of the gallery scanned, upper envelope per method."""
    import matplotlib.pyplot as plt  # noqa: PLC0415

    fig, ax = plt.subplots(figsize=(9.4, 4.4), layout="constrained")
    for i, (name, c) in enumerate(curves.groupby("method", sort=False)):
        c = c.sort_values("fraction_scanned")
        ls = "-" if name.startswith("bliss") else "--"  # BLISS variants solid, the baselines dashed
        ax.scatter(c.fraction_scanned, c.recall_at_10, s=10, alpha=0.4, color=f"C{i}")  # its curve's colour
        ax.plot(c.fraction_scanned, np.maximum.accumulate(c.recall_at_10.to_numpy()), color=f"C{i}", ls=ls,
                label=display_name(name))
    ax.axvline(fraction, color="grey", ls=":", lw=1, label=f"{fraction:.0%} of the gallery")
    ax.set_xscale("log")
    ax.set(xlabel="fraction of the gallery scanned (log)", ylabel="recall@10 (exact cosine top-10)", ylim=(0, 1.02))
    fig.suptitle(title, fontweight="bold")  # above the plot
    # the legend below the axes: nothing of it, its title included, can reach the figure's title
    fig.legend(*ax.get_legend_handles_labels(), loc="outside lower center", fontsize="small", ncol=3,
               title="lines: best recall so far; dots: single settings", title_fontsize="small")
    return fig


def plot_pca_buckets(X, models: dict, title: str, repetition: int = 3, max_points: int = 3000, seed: int = 0):
    """Report Fig. 9: 2-D PCA of the features coloured by bucket id in one repetition (one colour
    bar, ``bucket id``, for every panel; a categorical palette, :func:`bucket_colormap`, whose
    limits are noted under the panels above 20 buckets)."""
    import matplotlib.pyplot as plt  # noqa: PLC0415
    from sklearn.decomposition import PCA  # noqa: PLC0415

    rng = np.random.default_rng(seed)
    idx = rng.choice(len(X), min(max_points, len(X)), replace=False)
    P = PCA(2, random_state=seed).fit_transform(l2_normalize(X[idx]))
    B = max(m.n_buckets for m in models.values())
    cmap, note = bucket_colormap(B)
    fig, axes = plt.subplots(1, len(models), figsize=(5 * len(models) + 1.2, 4.4), squeeze=False,
                             sharex=True, sharey=True, layout="constrained")
    for ax, (name, m) in zip(axes[0], models.items()):
        r = min(repetition, m.n_repetitions - 1)
        a = m.assignments_[r][idx]
        sc = ax.scatter(P[:, 0], P[:, 1], c=a, cmap=cmap, s=4, vmin=-0.5, vmax=B - 0.5)
        ax.set(title=f"{display_name(name)}: {len(np.unique(m.assignments_[r]))} of {m.n_buckets} buckets used (rep. {r + 1})",
               xlabel="PC 1")
        ax.title.set_fontsize("small")
    _label_first_y(axes[0], "PC 2")
    fig.colorbar(sc, ax=axes[0].tolist(), label="bucket id (one colour per bucket)")
    fig.suptitle(title)
    if note:
        fig.supxlabel(note, fontsize="small")
    return fig
