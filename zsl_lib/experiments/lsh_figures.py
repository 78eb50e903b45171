"""Notebook 04's figures (LSH comparison): ours against the report's tables, cost against quality.

Conventions shared by every panel:

- Percent metrics use a fixed 0-100 % y axis, so that differences below the queries' sampling noise
  (a few points at 500 queries) are not magnified by an auto-scaled axis.
- Grid points that retrieve under one candidate per query on average (``candidates_per_query < 1``)
  are drawn with a hollow grey-edged marker and not joined to the curve: their precision counts the
  missing ranks as misses, so their value is a property of empty buckets, not of ranking.
- The cost axis is :data:`COST_LABEL` (``scanned_per_query``, see :mod:`zsl_lib.experiments.lsh`):
  gallery items scored plus the routing vectors each query is compared with. It is never 0, so
  no point falls off its log scale.
- The report's numbers are drawn once per report column, in rows of their own, labelled with the
  report's encoder; they are never overlaid on our rows (our encoders differ).
"""

from __future__ import annotations

import re

import pandas as pd

from ..plots import display_name
from .lsh_compare import report_table

#: the methods in the figures' order, each with its own clearly distinct hue and marker
FIGURE_METHODS = ("kmeans", "lsh", "neural-lsh", "faiss-ivf", "faiss-lsh", "exact", "faiss-flat")
METHOD_STYLE = {
    "kmeans": ("#1f77b4", "o"),  # blue
    "lsh": ("#ff7f0e", "s"),  # orange
    "neural-lsh": ("#2ca02c", "^"),  # green
    "faiss-ivf": ("#9467bd", "D"),  # purple
    "faiss-lsh": ("#d62728", "v"),  # red
}
# kept for code that imported them: the names now live in zsl_lib.plots.DISPLAY_NAMES
METHOD_NAMES = {m: display_name(m) for m in FIGURE_METHODS}
COST_LABEL = "vectors compared per query\n(candidates scored + centroids / hash projections)"
PERCENT_METRICS = ("p_at_10", "p_at_50", "map_retrieved", "map_gallery", "recall_at_10")
#: the report's columns and the encoders its tables used (neural LSH used ResNet-50)
REPORT_COLUMN_NAMES = {"cifar10": "CIFAR-10", "cifar100": "CIFAR-100", "imagenet": "ImageNet (Hugging Face copy)"}
DEGENERATE_NOTE = "hollow markers: under one candidate per query (missing ranks count as misses)"

_GROUP_PATTERNS = (
    (re.compile(r"^L(\d+)$"), "{} hash tables"),
    (re.compile(r"^pca-(\d+)$"), "PCA to {} dims"),
    (re.compile(r"^nprobe(\d+)$"), "nprobe = {}"),
    (re.compile(r"^cand(\d+)$"), "{} candidates re-ranked"),
)


def group_name(group) -> str:
    """A grid group (``"pca-0_95"``, ``"L12"``, ``"nprobe8"``) as a reader reads it."""
    group = str(group)
    for pattern, fmt in _GROUP_PATTERNS:
        m = pattern.match(group)
        if m:
            return fmt.format(m.group(1))
    return display_name(group)


def dataset_name(dataset: str) -> str:
    """A task (named ``"cifar10-resnet56-cifar10"`` by :func:`zsl_lib.experiments.lsh.load_task`, or a
    ``"cifar10:resnet56-cifar10"`` spec) as a two-line panel title: ``"CIFAR-10\nResNet-56
    (CIFAR-10-trained) features"`` (on one line it runs into the next panel's); names it does not
    know are shown as they are."""
    from .lsh import QUERY_SPLIT, USER  # noqa: PLC0415  (lsh imports this module)

    name, sep, encoder = dataset.partition(":")
    if not sep:
        known = sorted([*QUERY_SPLIT, USER], key=len, reverse=True)  # the longest dataset prefix
        name, encoder = next(((d, dataset[len(d) + 1 :]) for d in known if dataset.startswith(d + "-")), (dataset, ""))
    return f"{display_name(name)}\n{display_name(encoder)} features" if encoder else display_name(name)


def report_encoder(method: str) -> str:
    """The encoder of the report's table for ``method``."""
    return "ResNet-50 (ImageNet-trained)" if method == "neural-lsh" else "ResNet-18 (ImageNet-trained)"


def _value_ticks(ax, values):
    """Log x axis with the grid values themselves as tick labels."""
    from matplotlib.ticker import FixedLocator, NullLocator, ScalarFormatter  # noqa: PLC0415

    ax.set_xscale("log")
    ax.xaxis.set_major_locator(FixedLocator(values))
    ax.xaxis.set_minor_locator(NullLocator())
    ax.xaxis.set_major_formatter(ScalarFormatter())


def _log_x(ax):
    """Log x axis labelled as plain numbers: at the powers of ten, and at 1, 2 and 5 times them when
    the axis spans under 1.5 decades (where powers of ten alone leave a single label). Call after
    plotting."""
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter  # noqa: PLC0415

    ax.set_xscale("log")
    lo, hi = ax.get_xlim()
    subs = (1.0, 2.0, 5.0) if lo > 0 and hi / lo < 30 else (1.0,)  # labels that do not collide
    ax.xaxis.set_major_locator(LogLocator(base=10, subs=subs))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,g}"))
    ax.xaxis.set_minor_formatter(NullFormatter())


def _percent_axis(ax, metric: str):
    if metric in PERCENT_METRICS:
        ax.set_ylim(0, 100)


def _legend_below(fig, axes, ncol: int | None = None):
    """One legend for the whole figure, below the panels (the panels' data stay uncovered)."""
    handles, labels = {}, []
    for ax in axes.flat:
        for h, lab in zip(*ax.get_legend_handles_labels()):
            if lab not in handles and not lab.startswith("_"):
                handles[lab] = h
                labels.append(lab)
    ncol = ncol or max(1, min(len(labels), int(fig.get_figwidth() / 1.9)))  # as many as fit
    fig.legend([handles[lab] for lab in labels], labels, loc="outside lower center", ncol=ncol,
               fontsize=8, markerscale=1.4, frameon=False)


def _degenerate(d: pd.DataFrame) -> pd.Series:
    if "candidates_per_query" not in d:
        return pd.Series(False, index=d.index)
    return d.candidates_per_query.fillna(1.0) < 1.0


_PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#d62728", "#8c564b")


def plot_vs_report(compared: pd.DataFrame, method: str, *, metrics=("p_at_10", "p_at_50", "map_retrieved")):
    """One row per dataset of ours, then one row per report column with the report's numbers
    (its own encoder, drawn once), one column per metric; one line per grid group."""
    import matplotlib.pyplot as plt  # noqa: PLC0415

    if compared.empty:  # e.g. every gallery over memory_budget_gb: searched on disk, FAISS IVF only
        fig, ax = plt.subplots(figsize=(7, 1.6), layout="constrained")
        ax.axis("off")
        ax.text(0.5, 0.5, f"No {METHOD_NAMES.get(method, method)} grid point ran in this run\n(each one is "
                "listed as skipped, with the reason, in the grid table)", ha="center", va="center")
        return fig
    datasets = list(dict.fromkeys(compared.dataset))
    columns = (list(dict.fromkeys(compared.report_dataset.dropna())) if "report_dataset" in compared else [])
    rep = report_table(method) if columns else pd.DataFrame()
    rep = rep[rep.dataset.isin(columns)] if columns else rep
    report_metric = {"p_at_10": "p_at_10", "p_at_50": "p_at_50", "map_retrieved": "map"}
    rows = [("ours", ds) for ds in datasets] + [("report", c) for c in columns if (rep.dataset == c).any()]
    fig, axes = plt.subplots(len(rows), len(metrics), figsize=(4.2 * len(metrics), 3.0 * len(rows) + 1.1),
                             squeeze=False, layout="constrained")
    groups = list(dict.fromkeys(compared.group))
    if len(rep):  # the report's settings that our run lacks get colours of their own
        rep_groups = [f"pca-{s}" if method == "kmeans" else f"L{s}" for s in dict.fromkeys(rep.setting)]
        groups += [g for g in rep_groups if g not in groups and not (g == "pca-248" and "pca-0_95" in groups)]
    any_degenerate = False
    for i, (who, ds) in enumerate(rows):
        for j, m in enumerate(metrics):
            ax = axes[i, j]
            if who == "ours":
                d = compared[compared.dataset == ds]
                for group, gd in d.groupby("group", sort=False):
                    color = _PALETTE[groups.index(group) % len(_PALETTE)]
                    bad = _degenerate(gd)
                    ok = gd[~bad]
                    ax.plot(ok.value, ok[m], "o-", color=color, label=group_name(group))
                    if bad.any():
                        any_degenerate = True
                        ax.plot(gd.value[bad], gd[m][bad], "o", mfc="none", mec=color, ls="none",
                                label="_degenerate")
                values = sorted(d.value.unique())
                ax.set_title(f"Ours: {dataset_name(ds)}", fontsize=9)
            else:
                d = rep[rep.dataset == ds]
                for setting, gd in d.groupby("setting", sort=False):
                    group = f"pca-{setting}" if method == "kmeans" else f"L{setting}"
                    label = ("PCA to 248 dims (95 % of the variance)" if group == "pca-248" else group_name(group))
                    ours_group = "pca-0_95" if group == "pca-248" and "pca-0_95" in groups else group
                    color = _PALETTE[groups.index(ours_group) % len(_PALETTE)]
                    ax.plot(gd.value, gd[report_metric[m]], "s--", color=color, label=f"report: {label}")
                values = sorted(d.value.unique())
                ax.set_title(f"The report: {REPORT_COLUMN_NAMES.get(ds, ds)}\n{report_encoder(method)} features",
                             fontsize=9, color="0.3", style="italic")
                ax.set_facecolor("#f4f4f4")
            _value_ticks(ax, values)
            ax.set_xlabel(display_name(str(compared.param.iloc[0])) if len(compared) else "")
            ax.set_ylabel(display_name(m))
            _percent_axis(ax, m)
    _legend_below(fig, axes, ncol=min(4, max(1, len(groups))))
    title = f"{display_name(method)}: our runs (solid) and the report's tables (dashed, grey panels)"
    if any_degenerate:
        title += f"\n{DEGENERATE_NOTE}"
    fig.suptitle(title, fontweight="bold")
    return fig


def _methods_in(grid: pd.DataFrame) -> list[str]:
    present = set(grid.method)
    return [m for m in FIGURE_METHODS if m in present] + sorted(present - set(FIGURE_METHODS))


def _style(meth: str, k: int) -> tuple[str, str]:
    return METHOD_STYLE.get(meth, (f"C{k}", "o"))


def _cost(d: pd.DataFrame) -> pd.Series:
    return d.scanned_per_query if "scanned_per_query" in d else d.candidates_per_query


def plot_tradeoff(grid: pd.DataFrame, exact: pd.DataFrame, *, metrics=("p_at_10", "recall_at_10")):
    """Vectors compared per query (log x) vs each metric, every method, one column per dataset."""
    import matplotlib.pyplot as plt  # noqa: PLC0415

    datasets = list(dict.fromkeys(grid.dataset))
    fig, axes = plt.subplots(len(metrics), len(datasets), figsize=(4.6 * len(datasets), 3.6 * len(metrics) + 1.0),
                             squeeze=False, layout="constrained")
    methods = _methods_in(grid)
    any_degenerate = False
    for j, ds in enumerate(datasets):
        for i, m in enumerate(metrics):
            ax = axes[i, j]
            for k, meth in enumerate(methods):
                d = grid[(grid.dataset == ds) & (grid.method == meth) & grid[m].notna()]
                color, marker = _style(meth, k)
                bad = _degenerate(d)
                ax.scatter(_cost(d[~bad]), d[m][~bad], s=20, color=color, marker=marker,
                           label=display_name(meth), alpha=0.8)
                if bad.any():
                    any_degenerate = True
                    ax.scatter(_cost(d[bad]), d[m][bad], s=20, facecolors="none", edgecolors=color,
                               marker=marker, label="_degenerate")
            e = exact[(exact.dataset == ds) & (exact.method == "exact")]
            if len(e) and m in e:
                ax.axhline(float(e[m].iloc[0]), color="k", ls=":", lw=1, label="exact search")
                if "candidates_per_query" in e:
                    ax.axvline(float(e.candidates_per_query.iloc[0]), color="0.5", ls="-", lw=0.6,
                               label="gallery size (exact search's cost)")
            _log_x(ax)
            _percent_axis(ax, m)
            ax.set_xlabel(COST_LABEL if "scanned_per_query" in grid else display_name("candidates_per_query"),
                          fontsize=8)
            ax.set_ylabel(display_name(m))
            ax.set_title(dataset_name(ds))
    _legend_below(fig, axes)
    if any_degenerate:
        fig.suptitle(DEGENERATE_NOTE, fontsize=9)
    return fig


def plot_query_time(grid: pd.DataFrame, exact: pd.DataFrame):
    """Query time per query (log x) vs recall@10, every method and grid point, one panel per dataset."""
    import matplotlib.pyplot as plt  # noqa: PLC0415

    datasets = list(dict.fromkeys(grid.dataset))
    fig, axes = plt.subplots(1, len(datasets), figsize=(4.6 * len(datasets), 4.4), squeeze=False,
                             layout="constrained")
    methods = _methods_in(grid)
    for j, ds in enumerate(datasets):
        ax = axes[0, j]
        for k, meth in enumerate(methods):
            d = grid[(grid.dataset == ds) & (grid.method == meth) & grid.query_ms.notna()]
            color, marker = _style(meth, k)
            ax.scatter(d.query_ms, d.recall_at_10, s=20, color=color, marker=marker,
                       label=display_name(meth), alpha=0.8)
        for ls, meth in ((":", "exact"), ("--", "faiss-flat")):
            e = exact[(exact.dataset == ds) & (exact.method == meth)]
            if len(e):
                ax.axvline(float(e.query_ms.iloc[0]), color="k", ls=ls, lw=1, label=display_name(meth))
        _log_x(ax)
        ax.set_ylim(0, 100)
        ax.set_xlabel(display_name("query_ms"))
        ax.set_ylabel(display_name("recall_at_10"))
        ax.set_title(dataset_name(ds))
    _legend_below(fig, axes)
    return fig
