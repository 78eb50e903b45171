"""One figure style for the lab and ``savefig(name)``.

Figures are written to ``<run folder>/figures/<notebook>-<name>.png`` (and ``.svg``), where
``<notebook>`` is the stem given to :func:`zsl_lib.record.start` and the run folder is chosen by
:func:`zsl_lib.record.output_dir` (only a publishing runner run ends up in ``figures/``).

The style is applied by :func:`zsl_lib.record.start` through a start hook that this module
registers when it is imported (and at once if a notebook already started): ``plots`` imports
``record``, never the reverse.
"""

from __future__ import annotations

import re
from pathlib import Path

import matplotlib

from . import record

_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_\-]*$")

#: code identifier (method, model, metric, grid group, dataset) -> the name a reader sees in a
#: figure's legend, tick labels and titles. The one place of these names: the notebooks' figure
#: code labels through :func:`display_name`, never with the raw key.
DISPLAY_NAMES: dict[str, str] = {
    # notebook 01: BLISS settings (cluster grid, mechanism) and ANN methods
    "kaiming_triplet": "Kaiming init + triplet loss",
    "random_triplet": "random init + triplet loss",
    "kaiming_ce": "Kaiming init + cross-entropy",
    "fixed": "fixed BLISS",
    "report_official_init": "report BLISS, official init",
    "report_kaiming_ce": "report BLISS, Kaiming init + cross-entropy",
    "bliss_report": "report BLISS",
    "bliss_fixed": "fixed BLISS",
    "bliss_fast": "fast fixed BLISS (preset)",
    "ivf_kmeans": "k-means IVF (FAISS IndexIVFFlat)",
    # notebook 03: ESZSL and the CVAE ablation variants
    "eszsl": "ESZSL", "na": "NA (plain CVAE)", "cls": "CLS (mapping M)",
    "cls_gaussian": "CLS + Gaussian", "cls_gaussian_noise": "CLS + Gaussian + noise (full)",
    # notebook 04: retrieval methods
    "kmeans": "k-means buckets",
    "lsh": "random-hyperplane LSH",
    "rh_lsh": "random-hyperplane LSH",
    "neural-lsh": "neural LSH",
    "faiss-ivf": "FAISS IVFFlat",
    "faiss-lsh": "FAISS IndexLSH (+ re-rank)",
    "exact": "exact (ours)",
    "faiss-flat": "FAISS IndexFlatIP",
    # notebook 04: metrics
    "p_at_10": "precision@10 (%)",
    "p_at_50": "precision@50 (%)",
    "map_retrieved": "mAP over the retrieved list (%)",
    "map_gallery": "mAP over the gallery (%)",
    "recall_at_10": "recall@10 of exact neighbours (%)",
    "candidates_per_query": "candidates scanned per query",
    "query_ms": "query time (ms per query, top-k search)",
    # notebook 04: grid groups and swept knobs (numbered groups such as L12: lsh.group_name)
    "pca-none": "no PCA",
    "pca-0_95": "PCA, 95 % variance",
    "K": "K (number of clusters)",
    "H": "H (bits per table)",
    "J": "J (bits per table)",
    "nlist": "nlist (inverted lists)",
    "bits": "bits",
    # notebook 05: models
    "one_nn": "1-NN",
    "neighbor_search": "neighbour search",
    "simple_net": "simple neighbour net",
    "classwise_net": "class-wise neighbour net",
    "language_image": "language-image model",
    "hybrid": "hybrid model",
    "ml_knn": "ML-kNN",
    # encoders (the features of notebook 04's tasks)
    "resnet56-cifar10": "ResNet-56 (CIFAR-10-trained)",
    "efficientnet-lite0": "EfficientNet-Lite0 (ImageNet)",
    # datasets
    "cifar10": "CIFAR-10",
    "cifar100": "CIFAR-100",
    "tiny-imagenet": "Tiny-ImageNet",
    "imagenet": "ImageNet",
    "mulan-scene": "Mulan scene",
    "fashion-products": "fashion products",
}


def display_name(key: str) -> str:
    """The human-readable name of a code identifier (:data:`DISPLAY_NAMES`; the key itself when unknown)."""
    return DISPLAY_NAMES.get(key, key)


def use_style() -> None:
    """Apply the lab's figure style (seaborn whitegrid, readable fonts, 110 dpi on screen)."""
    import seaborn as sns  # noqa: PLC0415

    sns.set_theme(context="notebook", style="whitegrid", palette="colorblind")
    matplotlib.rcParams.update(
        {
            "figure.dpi": 110,
            "savefig.dpi": 150,
            "savefig.bbox": "tight",
            "axes.titleweight": "bold",
            "axes.titlesize": "medium",
            "legend.frameon": False,
            "svg.fonttype": "none",
        }
    )


def savefig(name: str, fig=None, *, formats: tuple[str, ...] = ("png", "svg")) -> list[Path]:
    """Save ``fig`` (default: the current figure) as ``<notebook>-<name>.<fmt>`` in the run's figures folder.

    Returns the written paths. ``name`` is a short kebab-case description such as
    ``"fig05-nn-distance-map"``.
    """
    import matplotlib.pyplot as plt  # noqa: PLC0415

    if not isinstance(name, str) or not _NAME_RE.match(name):
        raise ValueError(
            f"figure name {name!r} is not a valid file stem; use letters, digits, '-' and '_', "
            "e.g. 'fig05-nn-distance-map'"
        )
    fig = fig if fig is not None else plt.gcf()
    out_dir = record.output_dir("figures")
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for fmt in formats:
        path = out_dir / f"{record.current_notebook()}-{name}.{fmt}"
        tmp = path.with_name(f".{path.name}.tmp.{fmt}")
        # SVG without a date and with salted (not random) element ids: a re-run that draws the
        # same figure writes the same file, so committed figures only change when they change
        with plt.rc_context({"svg.hashsalt": "zsl-lab"}):
            fig.savefig(tmp, format=fmt, metadata={"Date": None} if fmt == "svg" else None)
        tmp.replace(path)
        paths.append(path)
    return paths


def _style_on_start(notebook: str) -> None:  # noqa: ARG001  (a record.on_start hook)
    use_style()


record.on_start(_style_on_start)
if record.started():  # plots imported after start(): apply the style now
    use_style()
