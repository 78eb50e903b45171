"""Experiment drivers of notebook 01 (BLISS, its load-balancing bias, and a BLISS that works).

The notebook only calls these. Every function takes numpy arrays / plain parameters and returns
pandas frames or dicts of numpy arrays. This module holds the source's numbers and settings, the
synthetic settings (Beta, Gaussian clusters) and their grid; the real-feature index comparison
(:mod:`.bliss_ann`), the BLISSNet zero-shot experiment (:mod:`.bliss_zeroshot`) and the figures
(:mod:`.bliss_plots`) live beside it and are re-exported here.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..config import resolve_user_path
from ..data import load_dataset, synthetic
from ..data.store import Store
from ..data.user import BAD_IMAGES
from ..index.bliss import BLISS
from ..index.bliss_fixed import FAST_DEFAULTS, FIXED_DEFAULTS
from ..validation import check_choice, check_float, check_int, check_int_list, check_positive_ints
from ..zeroshot.blissnet import METACLASS_CHOICES
from .bliss_ann import ann_curves, paired_at_fraction, per_query_at_fraction, value_at_fraction
from .bliss_plots import (
    bary_fraction,
    nn_distance_map,
    plot_ann_curves,
    plot_bucket_scatter,
    plot_cluster_maps,
    plot_grid_metric,
    plot_load_distribution,
    plot_logit_history,
    plot_mechanism,
    plot_pca_buckets,
)
from .bliss_zeroshot import blissnet_comparisons, run_blissnet, zeroshot_split

__all__ = [
    "SOURCE",
    "report_values",
    "check_params",
    "REPORT_SETTINGS",
    "CLUSTER_BASE",
    "BETA_BASE",
    "bimodal_beta",
    "clustered_points",
    "partition_scores",
    "run_cluster_grid",
    "summarize_grid",
    "bary_fraction",
    "nn_distance_map",
    "ann_curves",
    "value_at_fraction",
    "per_query_at_fraction",
    "vmeasure_upper_bound",
    "seed_comparisons",
    "plot_ann_curves", "plot_bucket_scatter", "plot_cluster_maps", "plot_grid_metric", "plot_load_distribution",
    "plot_logit_history", "plot_mechanism", "plot_pca_buckets",
    "zeroshot_split", "run_blissnet", "blissnet_comparisons", "paired_at_fraction",
]

#: The source document's numbers (``01-bliss-bias-report.txt``), keyed like our records:
#: ``SOURCE["clusters.<setting>.<n_clusters>.<metric>"]``; Table 3 is the silhouette, Table 4 the
#: V-measure of the learned partition, per report setting and number of true clusters.
SOURCE: dict[str, float] = {
    # Table 3: silhouette
    "clusters.kaiming_triplet.2.silhouette": -0.287, "clusters.kaiming_triplet.4.silhouette": -0.179,
    "clusters.kaiming_triplet.11.silhouette": -0.235, "clusters.kaiming_triplet.13.silhouette": -0.143,
    "clusters.kaiming_triplet.20.silhouette": -0.1, "clusters.kaiming_triplet.22.silhouette": -0.228,
    "clusters.random_triplet.2.silhouette": -0.337, "clusters.random_triplet.4.silhouette": -0.236,
    "clusters.random_triplet.11.silhouette": -0.206, "clusters.random_triplet.13.silhouette": -0.13,
    "clusters.random_triplet.20.silhouette": -0.16, "clusters.random_triplet.22.silhouette": -0.113,
    "clusters.kaiming_ce.2.silhouette": -0.227, "clusters.kaiming_ce.4.silhouette": -0.179,
    "clusters.kaiming_ce.11.silhouette": -0.135, "clusters.kaiming_ce.13.silhouette": -0.129,
    "clusters.kaiming_ce.20.silhouette": -0.14, "clusters.kaiming_ce.22.silhouette": -0.21,
    # Table 4: v-measure
    "clusters.kaiming_triplet.2.v_measure": 0.416, "clusters.kaiming_triplet.4.v_measure": 0.455,
    "clusters.kaiming_triplet.11.v_measure": 0.495, "clusters.kaiming_triplet.13.v_measure": 0.513,
    "clusters.kaiming_triplet.20.v_measure": 0.533, "clusters.kaiming_triplet.22.v_measure": 0.556,
    "clusters.random_triplet.2.v_measure": 0.34, "clusters.random_triplet.4.v_measure": 0.37,
    "clusters.random_triplet.11.v_measure": 0.432, "clusters.random_triplet.13.v_measure": 0.458,
    "clusters.random_triplet.20.v_measure": 0.473, "clusters.random_triplet.22.v_measure": 0.488,
    "clusters.kaiming_ce.2.v_measure": 0.443, "clusters.kaiming_ce.4.v_measure": 0.504,
    "clusters.kaiming_ce.11.v_measure": 0.522, "clusters.kaiming_ce.13.v_measure": 0.505,
    "clusters.kaiming_ce.20.v_measure": 0.545, "clusters.kaiming_ce.22.v_measure": 0.528,
}


def report_values(metric: str, setting: str) -> dict[int, float]:
    """The report's ``metric`` per number of true clusters for ``setting`` (from :data:`SOURCE`);
    {} for a setting the report does not have."""
    out = {}
    for key, value in SOURCE.items():
        _, s, c, m = key.split(".")
        if s == setting and m == metric:
            out[int(c)] = value
    return dict(sorted(out.items()))

#: The report's three cluster settings (Kaiming/random init, regular balance, triplet/CE) + ours.
REPORT_SETTINGS = {
    "kaiming_triplet": {"init": "kaiming", "loss": "triplet"},
    "random_triplet": {"init": "default", "loss": "triplet"},
    "kaiming_ce": {"init": "kaiming", "loss": "cross_entropy"},
    "fixed": dict(FIXED_DEFAULTS),
}

#: Report section 3.1.2: d=2, R=4, B=20, K=4, M=4, T=60, EPLB=2, N=128, batch 8, P=Q=8.
CLUSTER_BASE = {
    "n_repetitions": 4, "n_buckets": 20, "k_choices": 4, "n_probe": 4, "epochs": 60,
    "epochs_per_balance": 2, "batch_size": 8, "n_neighbors": 8, "n_rerank": 8, "distance": "mse",
}
#: Report section 3.1.1 (Beta): d=2, R=4, B=5, K=3, M=3, T=60, EPLB=2, L=256, batch 4, P=5, Q=32.
BETA_BASE = {
    "n_repetitions": 4, "n_buckets": 5, "k_choices": 3, "n_probe": 3, "epochs": 60,
    "epochs_per_balance": 2, "batch_size": 4, "n_neighbors": 5, "n_rerank": 32, "distance": "mse",
}


ANN_DATASETS = ("cifar10", "cifar100", "user")
ZS_DATASETS = ("tiny-imagenet", "cifar100", "user")  # cifar100: the BLISSNet report's own setting
REPORT_ANN_K = 4  # K of the report's BLISS on the real features (notebook 01's report_params)
# "user": a user's own labelled data, ann_user_data / zs_user_data (see load_features)


def check_params(*, cluster_counts, mechanism_clusters: int, scan_fraction: float, ann_dataset: str,
                 zs_dataset: str, ann_encoder: str, zs_encoder: str, ann_user_data=None,
                 zs_user_data=None, seed=0, zs_rerank=None, fixed_capacity=1.2, bad_images="raise",
                 ann_split: str = "test", zs_split: str = "val", ann_limit_per_class=None, ann_queries=None,
                 ann_buckets=None, ann_neighbors=None, fixed_k_choices=None, zs_limit_per_class=None,
                 zs_novel=None, zs_support=None, zs_metaclasses=None, **positive_ints) -> list[int]:
    """Check notebook 01's parameters before anything runs (each error names the parameter and the
    fix); returns ``cluster_counts``.

    ``cluster_counts``: a list of integers in 1..128 holding ``mechanism_clusters`` (a bare
    integer from papermill's ``-p`` is refused with the ``-y`` form to use); ``scan_fraction`` in
    (0, 1); datasets among the supported ones, encoders that the registry accepts; ``seed`` >= 0;
    ``zs_rerank`` None or a positive integer; ``fixed_capacity`` >= 1; ``bad_images`` "raise" or
    "skip"; the sizes and every other keyword (``n_seeds``, ``epochs``...) positive integers. A
    dataset ``"user"`` needs its ``*_user_data`` (an .npz or an image folder) to exist.

    Given the sizes of a section (``ann_limit_per_class``, ``ann_queries``, ``ann_buckets``,
    ``ann_neighbors``, ``fixed_k_choices``; ``zs_limit_per_class``, ``zs_novel``, ``zs_support``,
    ``zs_metaclasses``), its data's labels are read (not embedded; an image folder is fully decoded,
    so a broken image is named now: :func:`section_labels`) and the sizes checked against them:
    queries leave a gallery large enough for the buckets and neighbours, the novel classes and
    support images leave seen classes and test images, the metaclasses fit the seen classes.
    """
    sizes = {"ann_limit_per_class": ann_limit_per_class, "ann_queries": ann_queries, "ann_buckets": ann_buckets,
             "ann_neighbors": ann_neighbors, "fixed_k_choices": fixed_k_choices,
             "zs_limit_per_class": zs_limit_per_class, "zs_novel": zs_novel, "zs_support": zs_support,
             "zs_metaclasses": zs_metaclasses}
    given = {k: v for k, v in sizes.items() if v is not None}
    check_positive_ints(**{f"parameter {k}": v for k, v in {**positive_ints, **given}.items()})
    counts = check_int_list("cluster_counts", cluster_counts, minimum=1, maximum=128)
    if mechanism_clusters not in counts:
        raise ValueError(f"parameter cluster_counts={counts} must contain mechanism_clusters={mechanism_clusters}; "
                         "add it or change mechanism_clusters")
    check_float("parameter scan_fraction", scan_fraction, 0.0, 1.0, low_open=True, high_open=True)
    check_choice("parameter ann_dataset", ann_dataset, ANN_DATASETS)
    check_choice("parameter zs_dataset", zs_dataset, ZS_DATASETS)
    check_int("parameter seed", seed, minimum=0)
    check_int("parameter zs_rerank", zs_rerank, minimum=1, allow_none=True)
    check_float("parameter fixed_capacity", fixed_capacity, 1.0, None)
    check_choice("parameter bad_images", bad_images, BAD_IMAGES)
    from ..encoders import check_encoder_name  # noqa: PLC0415  (encoders import torch: kept lazy)

    check_encoder_name("parameter ann_encoder", ann_encoder)
    check_encoder_name("parameter zs_encoder", zs_encoder)
    for prefix, dataset, data in (("ann", ann_dataset, ann_user_data), ("zs", zs_dataset, zs_user_data)):
        if dataset == "user":
            if data is None:
                raise ValueError(f"parameter {prefix}_dataset='user' needs {prefix}_user_data: an .npz with X (n, d), "
                                 "y (n,) and optional class_names, a store folder made by zsl-lab embed, or an "
                                 "image folder <dir>/<class>/<image>")
            resolve_user_path(f"{prefix}_user_data", data, folder=None)
    if all(sizes[k] is not None for k in ("ann_limit_per_class", "ann_queries", "ann_buckets", "ann_neighbors",
                                           "fixed_k_choices")):
        _check_ann_sizes(ann_dataset, ann_split, ann_limit_per_class, ann_user_data, seed, bad_images,
                         ann_queries, ann_buckets, ann_neighbors, fixed_k_choices)
    if all(sizes[k] is not None for k in ("zs_limit_per_class", "zs_novel", "zs_support", "zs_metaclasses")):
        _check_zs_sizes(zs_dataset, zs_split, zs_limit_per_class, zs_user_data, seed, bad_images,
                        zs_novel, zs_support, zs_metaclasses)
    return counts


def _section_data(dataset: str, *, split: str, limit_per_class: int | None, seed: int, user_data, parameter: str,
                  bad_images: str = "raise"):
    """The dataset a real-feature section reads, not embedded: a registered ``dataset``'s split
    (ImageDataset), or the user's image folder (ImageDataset, every image decoded) or .npz
    (FeatureDataset)."""
    if dataset != "user":
        try:
            return load_dataset(dataset, split=split, limit_per_class=limit_per_class, seed=seed)
        except ValueError as err:  # name the notebook parameter behind the loader's split argument
            if "unknown split" not in str(err):
                raise
            raise ValueError(f"parameter {parameter.replace('user_data', 'split')}: {err}") from None
    path = resolve_user_path(parameter, user_data, folder=None)
    if path.is_dir() and not Store.is_store(path):
        return load_dataset("image-folder", root=str(path), bad_images=bad_images)
    return load_dataset("embeddings", path=str(path))


def section_labels(dataset: str, *, split: str, limit_per_class: int | None, seed: int = 0, user_data=None,
                   parameter: str = "user_data", bad_images: str = "raise") -> tuple[np.ndarray, str]:
    """``(labels (n,), description)`` of the items :func:`load_features` would embed, without
    embedding them (a description such as "cifar10 test (60 per class)" for error messages)."""
    ds = _section_data(dataset, split=split, limit_per_class=limit_per_class, seed=seed, user_data=user_data,
                       parameter=parameter, bad_images=bad_images)
    labels = np.asarray(ds.labels if hasattr(ds, "labels") else ds.y)
    what = (f"{parameter} {user_data}" if dataset == "user"
            else f"{dataset} {split} ({limit_per_class} per class)")
    return labels, what


def _check_ann_sizes(dataset, split, limit_per_class, user_data, seed, bad_images, ann_queries, ann_buckets,
                     ann_neighbors, fixed_k_choices) -> None:
    k_min = max(REPORT_ANN_K, FAST_DEFAULTS["k_choices"])
    if ann_buckets < k_min:
        raise ValueError(f"parameter ann_buckets={ann_buckets} is below the K={REPORT_ANN_K} buckets the report's "
                         f"BLISS places each item in; raise ann_buckets to at least {k_min}")
    if fixed_k_choices > ann_buckets:
        raise ValueError(f"parameter fixed_k_choices={fixed_k_choices} exceeds ann_buckets={ann_buckets}; lower it "
                         "(the report's K is 4, the fixed BLISS's default 2)")
    labels, what = section_labels(dataset, split=split, limit_per_class=limit_per_class, seed=seed,
                                  user_data=user_data, parameter="ann_user_data", bad_images=bad_images)
    n = len(labels)
    fast_share = FAST_DEFAULTS["train_size"]
    need = max(10, ann_neighbors, int(np.ceil(ann_buckets / fast_share - 1e-9)))
    why = (f"the gallery needs at least {need} items (ann_buckets={ann_buckets} k-means starts in the fast "
           f"BLISS's {fast_share:.0%} training share, ann_neighbors={ann_neighbors} neighbours, 10 for recall@10)")
    if n <= need:
        raise ValueError(f"parameters ann_buckets / ann_neighbors: {what} has {n} items but {why}: lower ann_buckets "
                         "or ann_neighbors, or use more data"
                         + (" (raise ann_limit_per_class)" if dataset != "user" else ""))
    if n - ann_queries < need:
        raise ValueError(f"parameter ann_queries={ann_queries}: {what} has {n} items, which leaves a gallery of "
                         f"{max(n - ann_queries, 0)}; {why}: lower ann_queries to at most {n - need}")


def _check_zs_sizes(dataset, split, limit_per_class, user_data, seed, bad_images, zs_novel, zs_support,
                    zs_metaclasses) -> None:
    if zs_metaclasses < METACLASS_CHOICES:
        raise ValueError(f"parameter zs_metaclasses={zs_metaclasses} is below the {METACLASS_CHOICES} metaclasses "
                         f"BLISSNet places each class in; raise it to at least {METACLASS_CHOICES}")
    labels, what = section_labels(dataset, split=split, limit_per_class=limit_per_class, seed=seed,
                                  user_data=user_data, parameter="zs_user_data", bad_images=bad_images)
    _, per_class = np.unique(labels, return_counts=True)
    C = len(per_class)
    if zs_novel >= C:
        raise ValueError(f"parameter zs_novel={zs_novel}: {what} has {C} classes and at least one must stay seen; "
                         f"lower zs_novel to at most {C - 1}")
    if zs_support >= per_class.min():
        raise ValueError(f"parameter zs_support={zs_support}: the smallest class of {what} has {per_class.min()} "
                         f"images, so a novel class could keep no test image; lower zs_support to at most "
                         f"{per_class.min() - 1}" + (" or raise zs_limit_per_class" if dataset != "user" else ""))
    if zs_metaclasses > C - zs_novel:
        raise ValueError(f"parameter zs_metaclasses={zs_metaclasses} exceeds the {C - zs_novel} seen classes "
                         f"({C} classes of {what} minus zs_novel={zs_novel}); lower zs_metaclasses or zs_novel")


def load_features(dataset: str, *, split: str, limit_per_class: int | None, encoder: str, seed: int = 0,
                  device: str = "cpu", user_data=None, parameter: str = "user_data", bad_images: str = "raise"):
    """``(features (n, d) float32, labels (n,))`` for a real-feature experiment.

    A registered ``dataset``'s ``split``, a seeded ``limit_per_class`` images per class, embedded by
    ``encoder`` (cached); or ``dataset="user"``: ``user_data`` is an ``.npz`` of precomputed
    embeddings (``X``, ``y``, optional ``class_names``: used as they are) or an image folder
    ``<dir>/<class>/<image>`` embedded by ``encoder`` (unreadable images: ``bad_images`` "raise" or
    "skip"); a relative path resolves by the one user-path rule (``parameter`` names it in errors).
    ``split`` and ``limit_per_class`` do not apply to it.
    """
    from ..encoders import embed  # noqa: PLC0415  (encoders import torch: kept lazy)

    ds = _section_data(dataset, split=split, limit_per_class=limit_per_class, seed=seed, user_data=user_data,
                       parameter=parameter, bad_images=bad_images)
    if hasattr(ds, "X"):
        return np.asarray(ds.X, dtype=np.float32), np.asarray(ds.y)
    return embed(ds, encoder, device=device), np.asarray(ds.labels)


def bimodal_beta(n: int, alpha: float = 0.1, beta: float = 0.1, seed: int = 0) -> np.ndarray:
    """(n, 2) float32 points whose coordinates are i.i.d. Beta(alpha, beta) (report's Beta setting):
    :func:`zsl_lib.data.synthetic.bimodal_beta` as float32."""
    return np.asarray(synthetic.bimodal_beta(n, alpha=alpha, beta=beta, seed=seed), dtype=np.float32)


def clustered_points(n_clusters: int, n_points: int = 128, dim: int = 2, seed: int = 0):
    """The report's cluster data: ``n_points`` points (N=128 labels), each drawn from one of
    ``n_clusters`` Gaussians (cluster chosen uniformly) with means U[-10, 10] and per-coordinate
    variances U[0.5, 1]. Returns ``(X float32 (n_points, dim), y int64 (n_points,))``.

    (``zsl_lib.data.synthetic.gaussian_blobs`` draws a fixed number per cluster instead; the report
    fixes the total N=128, which this keeps for every cluster count.)
    """
    if n_clusters < 1 or n_points < n_clusters:
        raise ValueError(f"need 1 <= n_clusters <= n_points; got n_clusters={n_clusters}, n_points={n_points}")
    rng = np.random.default_rng(seed)
    means = rng.uniform(-10, 10, size=(n_clusters, dim))
    var = rng.uniform(0.5, 1.0, size=(n_clusters, dim))
    y = np.concatenate([np.arange(n_clusters), rng.integers(0, n_clusters, n_points - n_clusters)])
    y = rng.permutation(y)
    X = means[y] + rng.standard_normal((n_points, dim)) * np.sqrt(var[y])
    return X.astype(np.float32), y.astype(np.int64)


def partition_scores(X: np.ndarray, y: np.ndarray, assignments: np.ndarray, n_buckets: int | None = None) -> dict:
    """Silhouette (of the buckets on X), V-measure (buckets vs true clusters), non-empty buckets
    and max/mean load (mean over all ``n_buckets`` buckets, empty ones included; default: over
    the buckets up to the largest id used), each averaged over repetitions. ``assignments`` int (R, n)."""
    from sklearn.metrics import silhouette_score, v_measure_score  # noqa: PLC0415

    sil, vm, ne, mx = [], [], [], []
    for a in assignments:
        counts = np.bincount(a, minlength=n_buckets or 0)
        used = int((counts > 0).sum())
        ne.append(used)
        mx.append(counts.max() / counts.mean())
        vm.append(v_measure_score(y, a))
        sil.append(silhouette_score(X, a) if 1 < used < len(a) else np.nan)
    return {
        "silhouette": float(np.nanmean(sil)) if not np.all(np.isnan(sil)) else float("nan"),
        "v_measure": float(np.mean(vm)),
        "nonempty_buckets": float(np.mean(ne)),
        "max_over_mean_load": float(np.mean(mx)),
    }


def vmeasure_upper_bound(n_clusters: int, n_used_buckets: int) -> float:
    """Largest V-measure of a partition into ``n_used_buckets`` equal buckets of data spread
    equally over ``n_clusters`` clusters (perfect homogeneity; completeness = log C / log B when
    B >= C). Shows why using all 20 buckets caps the V-measure at few clusters."""
    if n_used_buckets <= n_clusters:
        return 1.0
    c = np.log(n_clusters) / np.log(n_used_buckets)
    return float(2 * c / (1 + c))


def run_cluster_grid(
    settings: dict | None = None,
    cluster_counts=(2, 4, 11, 13, 20, 22),
    seeds=(0, 1, 2),
    base: dict | None = None,
    n_points: int = 128,
    keep_models_for: int | None = None,
    progress: bool = True,
    device: str = "auto",
):
    """Fit BLISS for every (setting, number of clusters, seed) on the report's cluster data.

    The data of seed ``s`` is :func:`clustered_points` with seed ``s``; the index uses
    ``random_state=s``. Returns ``(frame, models)``: one row per fit (setting, n_clusters, seed,
    silhouette, v_measure, nonempty_buckets, max_over_mean_load, fit_seconds) and, for
    ``n_clusters == keep_models_for``, ``models[setting] = (X, y, fitted BLISS)`` of the first seed.
    """
    settings = REPORT_SETTINGS if settings is None else settings
    base = CLUSTER_BASE if base is None else base
    jobs = [(s, c, seed) for c in cluster_counts for seed in seeds for s in settings]
    it = jobs
    if progress:
        from tqdm.auto import tqdm  # noqa: PLC0415

        it = tqdm(jobs, desc="cluster grid")
    rows, models = [], {}
    for name, c, seed in it:
        X, y = clustered_points(c, n_points, seed=seed)
        model = BLISS(**{**base, **settings[name], "random_state": seed, "device": device}).fit(X)
        rows.append({"setting": name, "n_clusters": c, "seed": seed, **partition_scores(X, y, model.assignments_, model.n_buckets),
                     "fit_seconds": model.fit_seconds_})
        if c == keep_models_for and name not in models:
            models[name] = (X, y, model)
    return pd.DataFrame(rows), models


def summarize_grid(frame: pd.DataFrame, metric: str) -> pd.DataFrame:
    """Table (n_clusters x setting) of ``mean ± std`` of ``metric`` over seeds, with the report's
    Table 3 / Table 4 columns beside ours for silhouette / v_measure."""
    g = frame.groupby(["n_clusters", "setting"])[metric].agg(["mean", "std"]).reset_index()
    out = {}
    for name in frame["setting"].unique():
        sub = g[g.setting == name].set_index("n_clusters")
        report = report_values(metric, name)
        if report:
            out[(name, "report")] = pd.Series(report).reindex(sub.index)
        out[(name, "ours")] = sub.apply(lambda r: f"{r['mean']:.3f} ± {0 if np.isnan(r['std']) else r['std']:.3f}", axis=1)
    return pd.DataFrame(out)


def seed_comparisons(frame: pd.DataFrame, metric: str = "v_measure") -> dict:
    """Seed intervals (:func:`zsl_lib.experiments.verdicts.compare`, ``over="seeds"``; seed s shares
    the data and the model seed) of the cluster grid's ``metric``, per number of clusters c:

    - ``("fixed_vs_best_report", c)``: the fixed BLISS minus the report setting with the highest
      mean at c;
    - ``("kaiming_vs_random_triplet", c)``: Kaiming + triplet minus random initialisation + triplet
      (the report has random initialisation below Kaiming).

    Returns ``{(name, c): comparison dict}``; empty with fewer than two seeds (no interval)."""
    from .verdicts import compare  # noqa: PLC0415

    wide = frame.pivot_table(index=["n_clusters", "seed"], columns="setting", values=metric)
    report = [s for s in ("kaiming_triplet", "random_triplet", "kaiming_ce") if s in wide.columns]
    out = {}
    for c, g in wide.groupby(level="n_clusters"):
        if len(g) < 2:
            continue
        if "fixed" in g and report:
            best = g[report].mean().idxmax()
            out[("fixed_vs_best_report", int(c))] = {**compare(g["fixed"].to_numpy(), g[best].to_numpy(),
                                                               over="seeds"), "against": best}
        if {"kaiming_triplet", "random_triplet"} <= set(g.columns):
            out[("kaiming_vs_random_triplet", int(c))] = compare(g["kaiming_triplet"].to_numpy(),
                                                                 g["random_triplet"].to_numpy(), over="seeds")
    return out
