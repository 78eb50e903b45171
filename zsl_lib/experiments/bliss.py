"""Experiment drivers of notebook 01 (BLISS, its load-balancing bias, and a BLISS that works).

The notebook only calls these. Every function takes numpy arrays / plain parameters and returns
pandas frames or dicts of numpy arrays.
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd

from ..config import resolve_user_path
from ..data import load_dataset, synthetic
from ..index.bliss import BLISS
from ..index.bliss_fixed import FIXED_DEFAULTS
from ..index.buckets import rerank_topk
from ..index.exact import exact_topk
from ..index.lsh import RandomHyperplaneLSH
from ..metrics.retrieval import recall_at_k
from ..plots import display_name
from ..validation import (
    check_choice,
    check_float,
    check_int_list,
    check_positive_ints,
    l2_normalize,
)
from ..zeroshot.blissnet import BLISSNet, NearestClassMean

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
    "vmeasure_upper_bound",
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
# "user": a user's own labelled data, ann_user_data / zs_user_data (see load_features)


def check_params(*, cluster_counts, mechanism_clusters: int, scan_fraction: float, ann_dataset: str,
                 zs_dataset: str, ann_encoder: str, zs_encoder: str, ann_user_data=None,
                 zs_user_data=None, **positive_ints) -> list[int]:
    """Check notebook 01's parameters (each error names the parameter); returns ``cluster_counts``.

    ``cluster_counts``: a list of integers in 1..128 holding ``mechanism_clusters`` (a bare
    integer from papermill's ``-p`` is refused with the ``-y`` form to use); ``scan_fraction`` in
    (0, 1); datasets among the supported ones, encoders that the registry accepts;
    every other keyword (``n_seeds``, ``epochs``...) a positive integer. A dataset ``"user"`` needs
    its ``*_user_data`` path to exist (see :func:`load_features`).
    """
    check_positive_ints(**{f"parameter {k}": v for k, v in positive_ints.items()})
    counts = check_int_list("cluster_counts", cluster_counts, minimum=1, maximum=128)
    if mechanism_clusters not in counts:
        raise ValueError(f"parameter cluster_counts={counts} must contain mechanism_clusters={mechanism_clusters}; "
                         "add it or change mechanism_clusters")
    check_float("parameter scan_fraction", scan_fraction, 0.0, 1.0, low_open=True, high_open=True)
    check_choice("parameter ann_dataset", ann_dataset, ANN_DATASETS)
    check_choice("parameter zs_dataset", zs_dataset, ZS_DATASETS)
    from ..encoders import check_encoder_name  # noqa: PLC0415  (encoders import torch: kept lazy)

    check_encoder_name("parameter ann_encoder", ann_encoder)
    check_encoder_name("parameter zs_encoder", zs_encoder)
    for prefix, dataset, data in (("ann", ann_dataset, ann_user_data), ("zs", zs_dataset, zs_user_data)):
        if dataset == "user":
            if data is None:
                raise ValueError(f"parameter {prefix}_dataset='user' needs {prefix}_user_data: an .npz with X (n, d), "
                                 "y (n,) and optional class_names, or an image folder <dir>/<class>/<image>")
            resolve_user_path(f"{prefix}_user_data", data)
    return counts


def load_features(dataset: str, *, split: str, limit_per_class: int | None, encoder: str, seed: int = 0,
                  device: str = "cpu", user_data=None, parameter: str = "user_data"):
    """``(features (n, d) float32, labels (n,))`` for a real-feature experiment.

    A registered ``dataset``'s ``split``, a seeded ``limit_per_class`` images per class, embedded by
    ``encoder`` (cached); or ``dataset="user"``: ``user_data`` is an ``.npz`` of precomputed
    embeddings (``X``, ``y``, optional ``class_names``: used as they are) or an image folder
    ``<dir>/<class>/<image>`` embedded by ``encoder``; a relative path resolves by the one user-path
    rule (``parameter`` names it in errors). ``split`` and ``limit_per_class`` do not apply to it.
    """
    from ..encoders import embed  # noqa: PLC0415  (encoders import torch: kept lazy)

    if dataset != "user":
        ds = load_dataset(dataset, split=split, limit_per_class=limit_per_class, seed=seed)
        return embed(ds, encoder, device=device), np.asarray(ds.labels)
    path = resolve_user_path(parameter, user_data)
    if path.is_dir():
        ds = load_dataset("image-folder", root=str(path))
        return embed(ds, encoder, device=device), np.asarray(ds.labels)
    ds = load_dataset("embeddings", path=str(path))
    return np.asarray(ds.X, dtype=np.float32), np.asarray(ds.y)


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


# ----------------------------------------------------------------------------------------------
# approximate nearest neighbours: recall@10 against the fraction of the gallery scanned
# ----------------------------------------------------------------------------------------------
def _curve_point(method, setting, indptr, found_ids, true_ids, n):
    return {
        "method": method,
        "setting": setting,
        "fraction_scanned": float(np.diff(indptr).mean() / n),
        "recall_at_10": recall_at_k(found_ids, true_ids),
    }


def _bliss_curve(name, model: BLISS, Qn, true_ids, n, probes, min_freqs, max_fraction=0.4):
    rows = []
    R, B = model.n_repetitions, model.n_buckets
    for m in probes:
        for f in min_freqs:
            # skip settings that cannot scan less than max_fraction (a cost guard, not a filter)
            if m > B or f > R or (f == 1 and m / B > max_fraction) or (f > 1 and R * m / (f * B) > 2 * max_fraction):
                continue
            t = time.perf_counter()
            indptr, idx = model.candidates(Qn, m=m, min_freq=f, n_rerank=None)
            _, ids = rerank_topk(Qn, model.Xn_, indptr, idx, 10)
            row = _curve_point(name, f"M={m},mf={f}", indptr, ids, true_ids, n)
            row["query_seconds"] = time.perf_counter() - t
            rows.append(row)
    return rows


def ann_curves(
    X: np.ndarray,
    Q: np.ndarray,
    n_buckets: int = 64,
    bliss_report: dict | None = None,
    bliss_fixed: dict | None = None,
    bliss_fast: dict | None = None,
    lsh_bits=(6, 8, 10, 12),
    lsh_tables=(1, 2, 4, 8),
    probes=(1, 2, 3, 4, 5, 6, 8, 10, 12, 16, 24),
    min_freqs=(1, 2, 3, 4),
    seed: int = 0,
    progress: bool = True,
    device: str = "auto",
):
    """Compare the report's BLISS, the fixed BLISS, FAISS k-means IVF (``IndexIVFFlat``, nlist =
    ``n_buckets``) and random-hyperplane LSH on cosine search (features L2-normalised); with
    ``bliss_fast`` (e.g. :data:`~zsl_lib.index.bliss_fixed.FAST_DEFAULTS`) also a third BLISS,
    ``"bliss_fast"``.

    ``X`` gallery float (n, d), ``Q`` queries float (nq, d). Ground truth: exact cosine top-10
    (:func:`zsl_lib.index.exact.exact_topk`). BLISS uses B = ``n_buckets`` per repetition; its
    curve varies M (buckets probed per repetition) and the frequency filter; IVF varies nprobe;
    LSH varies bits and tables. Returns ``(curves, summary, models)``: a frame of curve points
    (method, setting, fraction_scanned, recall_at_10, query_seconds), a frame per method (build
    seconds, max/mean load, empty buckets) and the fitted BLISS models. ``device``: torch device of
    the BLISS networks (``"auto"``: CUDA, then MPS, then CPU).
    """
    import faiss  # noqa: PLC0415

    Xn = np.ascontiguousarray(l2_normalize(np.asarray(X, dtype=np.float32)))
    Qn = np.ascontiguousarray(l2_normalize(np.asarray(Q, dtype=np.float32)))
    n = Xn.shape[0]
    _, true_ids = exact_topk(Qn, Xn, 10, metric="ip")
    curves, summary, models = [], [], {}
    base = {"n_buckets": n_buckets, "distance": "cosine", "random_state": seed, "progress": progress, "device": device}
    blisses = [("bliss_report", bliss_report or {}), ("bliss_fixed", bliss_fixed or {})]
    for name, params in blisses + ([("bliss_fast", bliss_fast)] if bliss_fast is not None else []):
        p = {**base, **params}
        model = BLISS(**p).fit(Xn)
        models[name] = model
        loads = model.loads_
        summary.append({
            "method": name, "build_seconds": model.fit_seconds_,
            "max_over_mean_load": float(np.mean(loads.max(1) / loads.mean(1))),
            "empty_buckets": float(np.mean((loads == 0).sum(1))), "buckets_per_table": n_buckets,
            "tables": model.n_repetitions,
        })
        curves += _bliss_curve(name, model, Qn, true_ids, n, probes, min_freqs)
    # FAISS k-means IVF with the same number of buckets
    t = time.perf_counter()
    quant = faiss.IndexFlatIP(Xn.shape[1])
    ivf = faiss.IndexIVFFlat(quant, Xn.shape[1], n_buckets, faiss.METRIC_INNER_PRODUCT)
    ivf.cp.seed = seed
    ivf.train(Xn)
    ivf.add(Xn)
    build = time.perf_counter() - t
    _, lists = quant.search(Xn, 1)
    sizes = np.bincount(lists[:, 0], minlength=n_buckets)
    summary.append({"method": "ivf_kmeans", "build_seconds": build, "max_over_mean_load": float(sizes.max() / sizes.mean()),
                    "empty_buckets": float((sizes == 0).sum()), "buckets_per_table": n_buckets, "tables": 1})
    for nprobe in probes:
        if nprobe > n_buckets:
            continue
        t = time.perf_counter()
        ivf.nprobe = nprobe
        _, ids = ivf.search(Qn, 10)
        qs = time.perf_counter() - t
        _, probed = quant.search(Qn, nprobe)
        scanned = sizes[probed].sum(1)
        indptr = np.concatenate([[0], np.cumsum(scanned)])
        row = _curve_point("ivf_kmeans", f"nprobe={nprobe}", indptr, ids, true_ids, n)
        row["query_seconds"] = qs
        curves.append(row)
    # random-hyperplane LSH (notebook 04's implementation), centred so buckets are not all empty
    for bits in lsh_bits:
        for tables in lsh_tables:
            t = time.perf_counter()
            lsh = RandomHyperplaneLSH(bits, tables, center=True, random_state=seed).fit(Xn)
            build = time.perf_counter() - t
            t = time.perf_counter()
            indptr, _ = lsh.candidates(Qn)
            _, ids = lsh.search(Qn, 10)
            row = _curve_point("rh_lsh", f"H={bits},L={tables}", indptr, ids, true_ids, n)
            row["query_seconds"] = time.perf_counter() - t
            curves.append(row)
            if 2**bits == n_buckets or (bits == lsh_bits[0] and tables == lsh_tables[0]):
                sz = lsh.bucket_sizes()
                full = np.zeros(2**bits)
                full[: len(sz[0])] = np.sort(sz[0])[::-1]
                summary.append({"method": "rh_lsh", "build_seconds": build, "max_over_mean_load": float(full.max() / full.mean()),
                                "empty_buckets": float((full == 0).sum()), "buckets_per_table": 2**bits, "tables": tables})
    summ = pd.DataFrame(summary).drop_duplicates("method", keep="last").reset_index(drop=True)
    return pd.DataFrame(curves), summ, models


def value_at_fraction(curves: pd.DataFrame, method: str, fraction: float = 0.05) -> float:
    """Recall@10 of ``method`` at ``fraction`` of the gallery scanned: the upper envelope of its
    curve points (best recall at or below each scan fraction), linearly interpolated in the scan
    fraction, starting from (0, 0) (scanning nothing finds nothing; below the first measured
    point this is a lower bound). Returns NaN for a method without curve points."""
    c = curves[curves.method == method].sort_values("fraction_scanned")
    if len(c) == 0:
        return float("nan")
    f = np.concatenate([[0.0], c.fraction_scanned.to_numpy()])
    r = np.maximum.accumulate(np.concatenate([[0.0], c.recall_at_10.to_numpy()]))
    return float(np.interp(fraction, f, r))


# ----------------------------------------------------------------------------------------------
# figures (each returns the matplotlib figure; the notebook saves it with savefig)
# ----------------------------------------------------------------------------------------------
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
    cmap = plt.get_cmap("tab10" if B <= 10 else "tab20", B)
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
        ax.plot(ep, (d["target_counts"][:, 0] > 0).sum(1), color="C4", label="buckets that are a training target")
        ax.plot(ep, (d["loads"][:, 0] > 0).sum(1), color="k", ls="--", lw=1.2, label="non-empty buckets")
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
    close) with points coloured by true cluster, and the points coloured by their B-ary bucket code."""
    import matplotlib.pyplot as plt  # noqa: PLC0415

    xs, ys, dist = nn_distance_map(model, X, resolution)
    fig, axes = plt.subplots(1, 2, figsize=(13, 4.8), layout="constrained")  # no label runs into a colour bar
    finite = np.where(np.isfinite(dist), dist, np.nan)
    im = axes[0].imshow(-finite, extent=(xs[0], xs[-1], ys[0], ys[-1]), origin="lower", cmap="magma", aspect="auto")
    axes[0].scatter(X[:, 0], X[:, 1], c=y, cmap="tab10", s=10, edgecolor="k", lw=0.2)
    axes[0].grid(False)
    fig.colorbar(im, ax=axes[0], label="minus distance to the returned neighbour")
    axes[0].set(title="distance to the neighbour BLISS returns\n(bright: close; points coloured by true cluster)", xlabel="x1", ylabel="x2")
    sc = axes[1].scatter(X[:, 0], X[:, 1], c=bary_fraction(model.assignments_, model.n_buckets), cmap="viridis", s=14, vmin=0, vmax=1)
    fig.colorbar(sc, ax=axes[1], label="bucket tuple as a B-ary fraction")
    axes[1].set(title="points coloured by their R buckets\n(the tuple read as a B-ary fraction)", xlabel="x1", ylabel="x2")
    fig.suptitle(title)
    return fig


def plot_grid_metric(frame: pd.DataFrame, metric: str, ylabel: str, title: str, bound: bool = False):
    """Report Figs 7-8: ``metric`` against the number of true clusters, mean ± std over seeds,
    report's values dashed."""
    import matplotlib.pyplot as plt  # noqa: PLC0415

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
    fig.suptitle(title, fontweight="bold")  # above the plot and the legend: a long title runs into neither
    fig.legend(*ax.get_legend_handles_labels(), loc="outside right upper", fontsize="small",
               title="best recall so far;\ndots: single settings", title_fontsize="x-small")
    return fig


def plot_pca_buckets(X, models: dict, title: str, repetition: int = 3, max_points: int = 3000, seed: int = 0):
    """Report Fig. 9: 2-D PCA of the features coloured by bucket id in one repetition (one colour
    bar, ``bucket id``, for every panel)."""
    import matplotlib.pyplot as plt  # noqa: PLC0415
    from sklearn.decomposition import PCA  # noqa: PLC0415

    rng = np.random.default_rng(seed)
    idx = rng.choice(len(X), min(max_points, len(X)), replace=False)
    P = PCA(2, random_state=seed).fit_transform(l2_normalize(X[idx]))
    B = max(m.n_buckets for m in models.values())
    cmap = plt.get_cmap("gist_ncar", B)
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
    return fig


# ----------------------------------------------------------------------------------------------
# BLISSNet zero-shot experiment
# ----------------------------------------------------------------------------------------------
def zeroshot_split(y: np.ndarray, n_novel: int, n_support: int, train_fraction: float = 0.6, seed: int = 0) -> dict:
    """Split items by class: ``n_novel`` random classes are novel (``n_support`` images each are
    support, the rest test), the others seen (``train_fraction`` of each class for training, the
    rest test). Returns index arrays ``seen_train, seen_test, support, novel_test`` and the class
    arrays ``seen, novel``."""
    y = np.asarray(y)
    classes = np.unique(y)
    if not 0 < n_novel < len(classes):
        raise ValueError(f"n_novel={n_novel} must be between 1 and {len(classes) - 1} (there are {len(classes)} classes)")
    rng = np.random.default_rng(seed)
    novel = np.sort(rng.choice(classes, n_novel, replace=False))
    seen = np.setdiff1d(classes, novel)
    order = rng.permutation(len(y))
    ys = y[order]
    rank = np.empty(len(y), dtype=np.int64)  # position of each item within its class (random order)
    srt = np.argsort(ys, kind="stable")
    first = np.searchsorted(ys[srt], ys[srt])
    rank[order[srt]] = np.arange(len(y)) - first
    count = np.bincount(np.searchsorted(classes, y), minlength=len(classes))[np.searchsorted(classes, y)]
    is_novel = np.isin(y, novel)
    if (count[is_novel] <= n_support).any():
        raise ValueError(f"n_support={n_support} leaves no test image for some novel class; lower it")
    train = rank < np.floor(train_fraction * count)
    return {
        "seen": seen, "novel": novel,
        "seen_train": np.where(~is_novel & train)[0], "seen_test": np.where(~is_novel & ~train)[0],
        "support": np.where(is_novel & (rank < n_support))[0], "novel_test": np.where(is_novel & (rank >= n_support))[0],
    }


def run_blissnet(X: np.ndarray, y: np.ndarray, split: dict, blissnet_params: dict | None = None, seed: int = 0,
                 device: str = "auto") -> dict:
    """Fit BLISSNet on the seen training images, place the novel classes with their support
    images, and evaluate against nearest class mean (same support images as class means).

    Returns top-1 accuracies: ``novel_top1`` (novel test images among the novel classes),
    ``seen_top1`` (seen test images among the seen classes), ``ncm_novel_top1``, ``ncm_seen_top1``
    (class means of the seen training images), the generalised ``gzsl_*`` variants among all
    classes, the metaclass statistics, ``n_classes`` (seen + novel) and ``rerank_size`` (the re-rank
    size Q: a query scores the Q most voted classes, all of them when Q >= n_classes; without a Q,
    n_classes)."""
    p = {"random_state": seed, "device": device, **(blissnet_params or {})}
    t = time.perf_counter()
    net = BLISSNet(**p).fit(X[split["seen_train"]], y[split["seen_train"]])
    net.add_classes(X[split["support"]], y[split["support"]])
    fit_s = time.perf_counter() - t
    st, nt = split["seen_test"], split["novel_test"]
    acc = lambda pred, idx: float((pred == y[idx]).mean())  # noqa: E731
    out = {
        "novel_top1": acc(net.predict(X[nt], classes=split["novel"]), nt),
        "seen_top1": acc(net.predict(X[st], classes=split["seen"]), st),
        "gzsl_novel_top1": acc(net.predict(X[nt]), nt),
        "gzsl_seen_top1": acc(net.predict(X[st]), st),
    }
    ncm_novel = NearestClassMean().fit(X[split["support"]], y[split["support"]])
    ncm_seen = NearestClassMean().fit(X[split["seen_train"]], y[split["seen_train"]])
    ncm_all = NearestClassMean().fit(np.vstack([X[split["seen_train"]], X[split["support"]]]),
                                     np.concatenate([y[split["seen_train"]], y[split["support"]]]))
    out["ncm_novel_top1"] = acc(ncm_novel.predict(X[nt]), nt)
    out["ncm_seen_top1"] = acc(ncm_seen.predict(X[st]), st)
    out["ncm_gzsl_novel_top1"] = acc(ncm_all.predict(X[nt]), nt)
    out["ncm_gzsl_seen_top1"] = acc(ncm_all.predict(X[st]), st)
    # metaclass statistics: how well the n metaclass classifiers do on held-out seen images
    P = net.metaclass_proba(X[st]).argmax(2)  # (R, n)
    col = np.searchsorted(net.classes_[: len(split["seen"])], y[st])
    true_meta = net.bliss_.assignments_[:, col]
    out["metaclass_top1"] = float((P == true_meta).mean())
    loads = net.bliss_.loads_
    out["metaclass_nonempty"] = float((loads > 0).sum(1).mean())
    out["metaclass_max_over_mean"] = float((loads.max(1) / loads.mean(1)).mean())
    out["novel_metaclasses_per_class"] = float(net.membership_[:, :, len(split["seen"]):].sum(1).mean())
    out["n_classes"] = len(net.classes_)
    out["rerank_size"] = net.n_rerank if net.n_rerank is not None else len(net.classes_)
    out["fit_seconds"] = fit_s
    return out
