"""Grid runner for notebook 04 (LSH comparison): tasks, evaluation of an index, parameter grids.

A :class:`RetrievalTask` holds one dataset's gallery (train split) and queries (test split)
embeddings with labels, and the exact cosine neighbours of every query (the ceiling).
:func:`evaluate` fits an index on the gallery and measures, over the queries:

- ``p_at_10``, ``p_at_50``: precision@k with label relevance (missing items count as misses);
- ``map_retrieved``: AP over each query's whole ranked candidate list (the report's mAP);
- ``map_gallery``: standard AP over the gallery (relevant items never retrieved contribute 0);
- ``recall_at_10``: fraction of the exact 10 nearest neighbours (cosine) in the index's top 10;
- ``candidates_per_query``: gallery items scored by cosine per query (the bucket candidates; for
  FAISS IndexLSH the Hamming-nearest codes it re-ranks);
- ``scanned_per_query``: :data:`COST_DEFINITION`: every vector a query is compared with, the
  candidates plus the routing (:func:`routing_per_query`: k-means / IVF centroids, hash
  projections, FAISS IndexLSH's scan of every gallery code);
- ``query_ms``: wall time of a top-k search per query (for the bucket indexes measured on the
  ``search`` code path inside the evaluation pass with k = 50: candidate lookup, cosine scoring,
  top-k selection; for FAISS indexes with their own ``search``, a separate ``search(Q, 10)``);
- ``fit_s``: build time; ``empty_fraction``: queries with no candidate at all.

Metrics are percentages (x100) like the report's tables. ``evaluate`` also returns
``per_query``: the per-query scores of the percentage metrics, which the page's paired intervals
resample (:mod:`zsl_lib.experiments.lsh_compare`). The module is split along its seams: the report
comparison and verdicts in :mod:`~zsl_lib.experiments.lsh_compare`, the figures in
:mod:`~zsl_lib.experiments.lsh_figures`, the report's numbers and the page's prose in
:mod:`~zsl_lib.experiments.lsh_report` (their public names are importable from here too).
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..config import resolve_device, resolve_user_path
from ..data import list_datasets, load_dataset
from ..data.store import Store, store_labels
from ..data.user import BAD_IMAGES
from ..index.buckets import BucketIndex, csr_topk_unsorted
from ..index.exact import exact_topk
from ..index.faiss_baselines import FaissFlatIP, FaissIVFFlat, FaissLSH
from ..index.kmeans import KMeansBuckets
from ..index.lsh import RandomHyperplaneLSH
from ..index.neural_lsh import NeuralHashNetwork, NeuralLSH
from ..index.ondisk import read_rows, store_parts
from ..metrics import retrieval as R
from ..validation import (
    check_choice,
    check_float,
    check_int,
    check_int_list,
    check_matrix,
    check_name_list,
    check_positive_ints,
)
from .lsh_compare import (  # noqa: F401  (re-exported: the notebook and older code import them from here)
    best_per_method,
    compare_with_report,
    ordering_holds,
    record_comparisons,
    report_best,
    report_table,
)
from .lsh_figures import (  # noqa: F401  (re-exported)
    FIGURE_METHODS,
    METHOD_NAMES,
    METHOD_STYLE,
    dataset_name,
    group_name,
    plot_query_time,
    plot_tradeoff,
    plot_vs_report,
)
from .lsh_ondisk import (
    ONDISK_METRICS,
    OnDiskTask,
    check_memory_budget,
    exact_row,
    ivf_rows,
    make_ondisk_task,
    over_budget,
)
from .lsh_source import REPORT, SOURCE  # noqa: F401  (SOURCE: the report's numbers, read through notebook 04's zsl.driver)

METHODS = {
    "kmeans": KMeansBuckets,
    "lsh": RandomHyperplaneLSH,
    "neural-lsh": NeuralLSH,
    "faiss-ivf": FaissIVFFlat,
    "faiss-lsh": FaissLSH,
}
METRIC_KEYS = ("p_at_10", "p_at_50", "map_retrieved", "map_gallery", "recall_at_10",
               "candidates_per_query", "scanned_per_query", "query_ms")
COST_DEFINITION = (
    "the gallery items scored by cosine (the candidates) plus the routing "
    "comparisons that chose them: K centroids for k-means buckets (and the PCA projection's dims when "
    "PCA is used), nlist centroids for FAISS IVFFlat, L x H hyperplanes for random-hyperplane LSH, the "
    "network outputs the L tables use for neural LSH, and for FAISS IndexLSH its projection bits plus "
    "every gallery code (a full Hamming scan: each comparison is a few bytes of XOR, much cheaper than a "
    "float dot product, but it is a scan of the whole gallery); exact search compares every gallery item")
# query split used as queries for each dataset (gallery = "train")
QUERY_SPLIT = {"cifar10": "test", "cifar100": "test", "tiny-imagenet": "val"}
#: ``datasets`` entry for a user's own labelled data (see :func:`check_user` / :func:`load_user_task`)
USER = "user"


@dataclass
class RetrievalTask:
    """Gallery ``X`` (n, d) / ``y`` (n,), queries ``Q`` (nq, d) / ``yq`` (nq,), and exact neighbours."""

    name: str
    X: np.ndarray
    y: np.ndarray
    Q: np.ndarray
    yq: np.ndarray
    exact_ids: np.ndarray = field(repr=False)  # (nq, 50) exact cosine top-50 ids
    exact_ms: float = 0.0  # exact_topk(Q, X, 10, "cosine") time per query
    n_relevant: np.ndarray = field(default=None, repr=False)  # (nq,) same-label gallery items
    dataset: str = ""  # registry name ("cifar10", "tiny-imagenet")

    @property
    def n_gallery(self) -> int:
        return int(self.X.shape[0])


def make_task(
    name: str,
    X,
    y,
    Q,
    yq,
    *,
    n_queries: int | None = None,
    n_gallery: int | None = None,
    seed: int = 0,
) -> RetrievalTask:
    """Build a task; ``n_queries`` / ``n_gallery`` keep seeded random subsets (None: all)."""
    n_queries = check_int("n_queries", n_queries, minimum=1, allow_none=True)
    n_gallery = check_int("n_gallery", n_gallery, minimum=1, allow_none=True)
    X = check_matrix("X (gallery)", X)
    Q = check_matrix("Q (queries)", Q, dim=X.shape[1])
    y, yq = np.asarray(y), np.asarray(yq)
    if y.shape != (X.shape[0],) or yq.shape != (Q.shape[0],):
        raise ValueError(
            f"labels must match rows: y {y.shape} vs X {X.shape}, yq {yq.shape} vs Q {Q.shape}"
        )
    if n_gallery is not None and n_gallery < X.shape[0]:
        keep = np.sort(np.random.default_rng(seed + 1).choice(X.shape[0], n_gallery, replace=False))
        X, y = X[keep], y[keep]
    if n_queries is not None and n_queries < Q.shape[0]:
        keep = np.sort(np.random.default_rng(seed).choice(Q.shape[0], n_queries, replace=False))
        Q, yq = Q[keep], yq[keep]
    if X.shape[0] < 10:
        raise ValueError(f"{name}: the gallery holds {X.shape[0]} items but precision@10 needs at least 10; use more "
                         "items (for your data: a lower user_query_fraction), or a larger n_gallery")
    k = min(50, X.shape[0])
    exact_topk(Q[:8], X, 10, "cosine")  # warm-up
    t0 = time.perf_counter()
    exact_topk(Q, X, 10, "cosine")
    exact_ms = 1000 * (time.perf_counter() - t0) / Q.shape[0]
    _, ids = exact_topk(Q, X, k, "cosine")
    classes, counts = np.unique(y, return_counts=True)
    pos = np.minimum(np.searchsorted(classes, yq), classes.size - 1)
    n_rel = np.where(classes[pos] == yq, counts[pos], 0)
    return RetrievalTask(name, X, y, Q, yq, ids, exact_ms, n_rel)


def parse_spec(spec: str) -> tuple[str, str]:
    """``"dataset:encoder"`` -> (dataset, encoder), validated against the registries."""
    from ..encoders import check_encoder_name  # noqa: PLC0415  (encoders import torch: kept lazy)

    if not isinstance(spec, str) or spec.count(":") < 1:
        raise ValueError(
            f"datasets entries must look like 'cifar10:resnet56-cifar10'; got {spec!r}"
        )
    dataset, encoder = spec.split(":", 1)
    if dataset not in QUERY_SPLIT:
        raise ValueError(
            f"datasets: unknown dataset {dataset!r} in {spec!r}; accepted: {', '.join(QUERY_SPLIT)}"
        )
    if dataset not in list_datasets():
        raise ValueError(f"datasets: {dataset!r} is not registered; registered: {list_datasets()}")
    check_encoder_name(f"datasets entry {spec!r}", encoder)
    return dataset, encoder


def check_params(
    *,
    datasets,
    report_columns: dict,
    n_queries,
    n_gallery,
    n_threads,
    user: dict | None = None,
    memory_budget_gb=None,
    **positive_ints,
) -> dict[str, tuple[str, str]]:
    """Check notebook 04's parameters; returns ``{spec: (dataset, encoder)}`` for ``datasets``.

    ``datasets`` must be a list of ``"dataset:encoder"`` strings (a bare string from papermill's
    ``-p`` is refused with the ``-y`` form to use), each known to the registries and to
    ``report_columns``, or ``"user"`` for a user's own data described by ``user`` (see
    :func:`check_user`); ``n_queries`` / ``n_gallery`` / ``n_threads`` positive integers or None;
    ``memory_budget_gb`` a positive number or None;
    every other keyword (``neural_L``, ``neural_epochs``...) a positive integer.
    """
    datasets = check_name_list("datasets", datasets, pattern_ok=lambda v: ":" in v or v == USER)
    specs = {spec: (USER, check_user(user)["encoder"]) if spec == USER else parse_spec(spec) for spec in datasets}
    for spec, (ds_name, _) in specs.items():
        if ds_name not in report_columns:
            raise ValueError(
                f"parameter report_columns has no entry for dataset {ds_name!r} (from datasets "
                f"entry {spec!r}); add one, e.g. {{{ds_name!r}: 'imagenet'}}"
            )
    for name, v in (("n_queries", n_queries), ("n_gallery", n_gallery), ("n_threads", n_threads)):
        check_int(f"parameter {name}", v, minimum=1, allow_none=True)
    check_positive_ints(**{f"parameter {k}": v for k, v in positive_ints.items()})
    check_memory_budget(memory_budget_gb)
    check_choice("parameter bad_images", (user or {}).get("bad_images", "raise"), BAD_IMAGES)
    return specs


#: the report's result columns a dataset can be compared with (parameter report_columns)
REPORT_COLUMNS = ("cifar10", "cifar100", "imagenet")


def _dict_param(name: str, value, example: str) -> dict:
    if not isinstance(value, dict):
        raise ValueError(f"parameter {name}: expected a dict, got the {type(value).__name__} {value!r}; "
                         f"pass it with -y, e.g. -y \"{name}: {example}\"")
    return value


def check_grids(*, specs: dict, report_columns: dict, limit_per_class, kmeans_K, kmeans_pca, lsh_H, lsh_L,
                neural_J, neural_weights, neural_lr, ivf_lists, ivf_probes, faiss_lsh_bits,
                faiss_lsh_candidates, lsh_center, seed) -> None:
    """Check notebook 04's grid parameters before anything runs, each error naming its parameter.

    ``specs``: what :func:`check_params` returned. ``report_columns`` values must be report columns
    (:data:`REPORT_COLUMNS`); ``kmeans_K`` / ``lsh_H`` / ``neural_J`` map every report column in use
    to a list of positive integers; ``limit_per_class`` maps ``datasets`` entries to ``{split: n}``;
    ``kmeans_pca`` entries are None, a variance fraction in (0, 1) or a number of dims; list
    parameters are lists of positive integers; ``neural_weights`` three non-negative numbers."""
    for ds, col in _dict_param("report_columns", report_columns, "{cifar10: cifar10}").items():
        if col not in REPORT_COLUMNS:
            raise ValueError(f"parameter report_columns: {ds!r} maps to {col!r}, which is not a column of the "
                             f"report; use one of {', '.join(REPORT_COLUMNS)}")
    used = {report_columns[ds] for ds, _ in specs.values()}
    for name, grid, example in (("kmeans_K", kmeans_K, "{cifar10: [10, 100]}"),
                                ("lsh_H", lsh_H, "{cifar10: [4, 8]}"),
                                ("neural_J", neural_J, "{cifar10: [8, 16]}")):
        grid = _dict_param(name, grid, example)
        for col in sorted(used):
            if col not in grid:
                raise ValueError(f"parameter {name} has no entry for report column {col!r} (used by report_columns); "
                                 f"add one, e.g. -y \"{name}: {{{col}: [...]}}\"")
            check_int_list(f"{name}[{col!r}]", grid[col], minimum=1)
    lpc = _dict_param("limit_per_class", limit_per_class, "{cifar10:efficientnet-lite0: {test: 50}}")
    for spec, per_split in lpc.items():
        if ":" not in str(spec) and spec not in specs:
            raise ValueError(f"parameter limit_per_class: {spec!r} is not a dataset:encoder entry (this run's: "
                             f"{', '.join(specs)})")
        for split, n in _dict_param(f"limit_per_class[{spec!r}]", per_split, "{test: 50}").items():
            check_int(f"parameter limit_per_class[{spec!r}][{split!r}]", n, minimum=1)
    if not isinstance(kmeans_pca, (list, tuple)) or not kmeans_pca:
        raise ValueError(f"parameter kmeans_pca: expected a non-empty list of None / variance fractions / dims, "
                         f"got {kmeans_pca!r}; pass it with -y, e.g. -y \"kmeans_pca: [null, 0.95]\"")
    for v in kmeans_pca:
        if v is None or (isinstance(v, int) and not isinstance(v, bool) and v >= 1):
            continue
        if isinstance(v, float) and 0.0 < v < 1.0:
            continue
        raise ValueError(f"parameter kmeans_pca: entry {v!r} is not None, a variance fraction in (0, 1) or a "
                         "number of dims >= 1")
    for name, value in (("lsh_L", lsh_L), ("ivf_lists", ivf_lists), ("ivf_probes", ivf_probes),
                        ("faiss_lsh_bits", faiss_lsh_bits), ("faiss_lsh_candidates", faiss_lsh_candidates)):
        check_int_list(name, value, minimum=1)
    if (not isinstance(neural_weights, (list, tuple)) or len(neural_weights) != 3
            or not all(isinstance(w, (int, float)) and not isinstance(w, bool) and w >= 0 for w in neural_weights)):
        raise ValueError(f"parameter neural_weights: expected three non-negative numbers [alpha, beta, gamma], "
                         f"got {neural_weights!r}; pass it with -y, e.g. -y \"neural_weights: [0.3, 0.3, 0.4]\"")
    check_float("parameter neural_lr", neural_lr, 0.0, None, low_open=True)
    if not isinstance(lsh_center, bool):
        raise ValueError(f"parameter lsh_center: expected true or false, got {lsh_center!r}")
    check_int("parameter seed", seed, minimum=0)


def check_user(user: dict | None) -> dict:
    """The ``"user"`` entry's description, checked, with absolute paths.

    ``user``: ``{"embeddings": <.npz with X, y, optional class_names, or a store folder made by
    zsl-lab embed>}`` or ``{"image_dir":
    <dir>/<class>/<image>, "encoder": <encoder name>}`` (exactly one of the two sources), plus
    ``"query_fraction"`` (default 0.1): the seeded, stratified share of the items that become the
    queries; the rest is the gallery; ``"bad_images"`` (default "raise"): unreadable images of the
    folder stop the run listing them all, or with "skip" are left out with a warning. Relative
    paths resolve like every user path (:func:`zsl_lib.config.resolve_user_path`). Returns
    ``embeddings``, ``image_dir``, ``encoder`` (``"embeddings"`` for precomputed features),
    ``query_fraction`` and ``bad_images``.
    """
    user = dict(user or {})
    unknown = sorted(set(user) - {"embeddings", "image_dir", "encoder", "query_fraction", "bad_images"})
    if unknown:
        raise ValueError(f"user data: unknown keys {unknown}; accepted: embeddings, image_dir, encoder, query_fraction, "
                         "bad_images")
    emb, img = user.get("embeddings"), user.get("image_dir")
    if (emb is None) == (img is None):
        raise ValueError(
            "datasets contains 'user': set exactly one of user_embeddings (an .npz with X (n, d), y (n,) "
            "and optional class_names) and user_image_dir (a folder <dir>/<class>/<image>)"
        )
    out = {"embeddings": None, "image_dir": None, "encoder": "embeddings",
           "query_fraction": check_float("user_query_fraction", user.get("query_fraction", 0.1), 0.0, 1.0,
                                         low_open=True, high_open=True),
           "bad_images": check_choice("parameter bad_images", user.get("bad_images", "raise"), BAD_IMAGES)}
    if emb is not None:
        path = resolve_user_path("user_embeddings", emb, must_exist=False)
        out["embeddings"] = path if Store.is_store(path) else resolve_user_path("user_embeddings", emb)
    else:
        from ..encoders import check_encoder_name  # noqa: PLC0415  (encoders import torch: kept lazy)

        out["image_dir"] = resolve_user_path("user_image_dir", img, folder=True)
        out["encoder"] = check_encoder_name("user_encoder", user.get("encoder") or "efficientnet-lite0")
    return out


def load_user_task(
    user: dict,
    *,
    n_queries: int | None = None,
    n_gallery: int | None = None,
    seed: int = 0,
    progress: bool = True,
    device: str = "auto",
    memory_budget_gb: float | None = None,
) -> RetrievalTask | OnDiskTask:
    """A user's labelled data as a retrieval task (``user`` as in :func:`check_user`).

    The items (precomputed embeddings, or an image folder embedded by ``encoder``) are split by a
    seeded stratified split: ``query_fraction`` of each class become the queries, the rest the
    gallery; a class needs at least two items. The task is named ``user-<encoder>``.

    A store (``zsl-lab embed``) is read row by row: only the queries and the gallery (its
    ``n_gallery`` subset) are loaded. When that gallery would exceed ``memory_budget_gb`` the task
    is an :class:`~zsl_lib.experiments.lsh_ondisk.OnDiskTask`: the gallery stays on disk and is
    searched query batch by query batch (exact search and FAISS IVF only).
    """
    from sklearn.model_selection import train_test_split  # noqa: PLC0415

    from ..encoders import embed  # noqa: PLC0415  (encoders import torch: kept lazy)

    user = check_user(user)
    memory_budget_gb = check_memory_budget(memory_budget_gb)
    store = None
    if user["embeddings"] is not None and Store.is_store(user["embeddings"]):
        store = Store.open(user["embeddings"])
        y, class_names, _ = store_labels(store)
        X = None
    elif user["embeddings"] is not None:
        ds = load_dataset("embeddings", path=str(user["embeddings"]))
        X, y, class_names = ds.X, np.asarray(ds.y), ds.class_names
    else:
        ds = load_dataset("image-folder", root=str(user["image_dir"]), bad_images=user["bad_images"])
        X, y = embed(ds, user["encoder"], progress=progress, device=resolve_device(device)), np.asarray(ds.labels)
        class_names = ds.class_names
    classes, counts = np.unique(y, return_counts=True)
    if (counts < 2).any():
        few = [str(class_names[c]) if class_names is not None else str(c) for c in classes[counts < 2]][:10]
        raise ValueError(f"user data: classes {few} have a single item; every class needs at least two "
                         "(one gallery item and one query) for the stratified query split")
    n_q = max(len(classes), round(user["query_fraction"] * len(y)))
    if n_q >= len(y) - len(classes) + 1:
        raise ValueError(f"user data: {len(y)} items in {len(classes)} classes are too few for "
                         f"user_query_fraction={user['query_fraction']}; lower it or add items")
    gal, qry = train_test_split(np.arange(len(y)), test_size=n_q, stratify=y, random_state=seed)
    gal, qry = np.sort(gal), np.sort(qry)
    name = f"{USER}-{user['encoder'].split(':')[-1].replace('/', '-')}"
    if store is not None:
        if n_gallery is not None and n_gallery < gal.size:  # the subset make_task would draw, read alone
            gal = gal[np.sort(np.random.default_rng(seed + 1).choice(gal.size, n_gallery, replace=False))]
        n_measured = qry.size if n_queries is None else min(check_int("n_queries", n_queries), qry.size)
        if over_budget(n_measured, store.dim, memory_budget_gb):
            raise ValueError(f"user data: the {n_measured} measured queries of {store.dim} dims alone exceed "
                             f"memory_budget_gb={memory_budget_gb}; set n_queries (e.g. 1000) or raise the budget")
        if over_budget(gal.size + n_measured, store.dim, memory_budget_gb):  # queries are held in RAM either way
            if n_gallery is not None:
                raise ValueError(f"user data: n_gallery={n_gallery} items of {store.dim} dims exceed "
                                 f"memory_budget_gb={memory_budget_gb}; lower n_gallery, raise memory_budget_gb, "
                                 "or set n_gallery to None to search the whole gallery on disk")
            task = make_ondisk_task(name, store, gal, qry, n_queries=n_queries, seed=seed, budget_gb=memory_budget_gb,
                                    progress=progress)
            task.dataset = USER
            return task
        _, parts, _, _ = store_parts(store, store.shard_size)
        task = make_task(name, read_rows(parts, gal), y[gal], read_rows(parts, qry), y[qry], n_queries=n_queries,
                         seed=seed)
    else:
        task = make_task(name, X[gal], y[gal], X[qry], y[qry], n_queries=n_queries, n_gallery=n_gallery, seed=seed)
    task.dataset = USER
    return task


def load_task(
    spec: str,
    *,
    limit_per_class: dict | None = None,
    n_queries: int | None = None,
    n_gallery: int | None = None,
    seed: int = 0,
    progress: bool = True,
    device: str = "auto",
    user: dict | None = None,
    memory_budget_gb: float | None = None,
) -> RetrievalTask | OnDiskTask:
    """Embed a dataset's gallery (train split) and queries (test / val split) and build the task.

    ``spec``: ``"dataset:encoder"``. ``limit_per_class``: ``{"train": m, "test": m}`` keeps a
    seeded subset of m images per class *before* embedding (to bound extraction time); the task
    is named ``dataset-encoder``. ``n_queries`` / ``n_gallery``: seeded subsets of the embedded
    queries / gallery (cheaper grids without re-extracting features). ``device``: the encoder's
    torch device (``"auto"``: CUDA, then MPS, then CPU). ``spec="user"``: the user's data
    described by ``user`` (:func:`load_user_task`; ``limit_per_class`` does not apply; a store
    whose gallery exceeds ``memory_budget_gb`` is searched on disk). The lab's datasets are held
    in RAM whatever the budget (the largest gallery here, 50,000 x 1,280, is 0.26 GB).
    """
    from ..encoders import embed  # noqa: PLC0415  (encoders import torch: kept lazy)

    if spec == USER:
        return load_user_task(user, n_queries=n_queries, n_gallery=n_gallery, seed=seed, progress=progress,
                              device=device, memory_budget_gb=memory_budget_gb)
    dataset, encoder = parse_spec(spec)
    limit_per_class = limit_per_class or {}
    parts = {}
    for role, split in (("gallery", "train"), ("queries", QUERY_SPLIT[dataset])):
        options = {}
        if limit_per_class.get(split) is not None:
            options = {"limit_per_class": int(limit_per_class[split]), "seed": seed}
        ds = load_dataset(dataset, split=split, **options)
        parts[role] = (embed(ds, encoder, progress=progress, device=resolve_device(device)), np.asarray(ds.labels))
    (X, y), (Q, yq) = parts["gallery"], parts["queries"]
    name = f"{dataset}-{encoder.split(':')[-1].replace('/', '-')}"
    task = make_task(name, X, y, Q, yq, n_queries=n_queries, n_gallery=n_gallery, seed=seed)
    task.dataset = dataset
    return task


def exact_results(task: RetrievalTask, *, chunk_rows: int = 128) -> dict:
    """Metrics of exact cosine search (the ceiling): every gallery item is a candidate."""
    rel = R.label_relevance(task.yq, task.y, task.exact_ids)
    pq = {
        "p_at_10": 100 * R.precision_at_k(rel, 10, average=False),
        "p_at_50": 100 * R.precision_at_k(rel, 50, average=False),
        "map_gallery": 100 * R.full_ranking_average_precision(task.Q, task.X, task.yq, task.y,
                                                              chunk_rows=chunk_rows, average=False),
        "recall_at_10": np.full(task.Q.shape[0], 100.0),
    }
    pq["map_retrieved"] = pq["map_gallery"]  # the whole gallery is retrieved
    return {
        **{m: float(pq[m].mean()) for m in ("p_at_10", "p_at_50", "map_gallery", "recall_at_10")},
        "candidates_per_query": float(task.n_gallery),
        "scanned_per_query": float(task.n_gallery),
        "query_ms": task.exact_ms,
        "per_query": pq,
    }


def routing_per_query(index, n_gallery: int) -> float:
    """Vectors a query of a fitted ``index`` is compared with *before* its candidates are scored
    (see :data:`COST_DEFINITION`)."""
    if isinstance(index, KMeansBuckets):
        return float(index.n_clusters + (index.n_components_ if index.pca_ is not None else 0))
    if isinstance(index, FaissIVFFlat):
        return float(index.n_lists)
    if isinstance(index, RandomHyperplaneLSH):
        return float(index.n_tables * index.n_bits)
    if isinstance(index, NeuralLSH):
        return float(np.unique(index.bit_indices_).size)
    if isinstance(index, FaissLSH):
        return float(index.n_bits + n_gallery)
    raise TypeError(f"routing_per_query: no cost model for {type(index).__name__}; add one")


def evaluate(
    index, task: RetrievalTask, *, fit: bool = True, batch_size: int | None = None
) -> dict:
    """Fit ``index`` on the task's gallery (unless ``fit=False``) and measure it (module doc)."""
    t0 = time.perf_counter()
    if fit:
        index.fit(task.X, task.y)
    fit_s = time.perf_counter() - t0
    nq = task.Q.shape[0]
    per_q = {m: np.zeros(nq) for m in ("p10", "p50", "apr", "apg", "rec", "cand")}
    search_s = 0.0
    it = index.iter_scored(task.Q, batch_size)
    while True:
        t0 = time.perf_counter()
        try:
            sl, indptr, ids, scores = next(it)
        except StopIteration:
            break
        _, top = csr_topk_unsorted(indptr, ids, scores, 50)
        search_s += time.perf_counter() - t0  # = search(Q, 50) on this batch
        top_rel = R.label_relevance(task.yq[sl], task.y, top)
        per_q["p10"][sl] = R.precision_at_k(top_rel, 10, average=False)
        per_q["p50"][sl] = R.precision_at_k(top_rel, 50, average=False)
        rel = R.csr_label_relevance(indptr, ids, task.yq[sl], task.y)
        per_q["apr"][sl] = R.csr_average_precision_scored(indptr, scores, rel)
        per_q["apg"][sl] = R.csr_average_precision_scored(indptr, scores, rel, task.n_relevant[sl])
        per_q["rec"][sl] = R.recall_at_k(top[:, :10], task.exact_ids[sl, :10], average=False)
        per_q["cand"][sl] = np.diff(indptr)
    if type(index).search is not BucketIndex.search:  # FAISS's own search: time it
        index.search(task.Q[:8], 10)
        t0 = time.perf_counter()
        index.search(task.Q, 10)
        search_s = time.perf_counter() - t0
    names = {"p10": "p_at_10", "p50": "p_at_50", "apr": "map_retrieved", "apg": "map_gallery", "rec": "recall_at_10"}
    pq = {names[k]: 100 * per_q[k] for k in names}
    candidates = float(per_q["cand"].mean())
    return {
        **{m: float(v.mean()) for m, v in pq.items()},
        "candidates_per_query": candidates,
        "scanned_per_query": candidates + routing_per_query(index, task.n_gallery),
        "query_ms": 1000 * search_s / nq,
        "fit_s": fit_s,
        "empty_fraction": float((per_q["cand"] == 0).mean()),
        "per_query": pq,
    }


def grid_specs(
    *,
    kmeans_K: Iterable[int] = (),
    kmeans_pca: Iterable = (None,),
    lsh_H: Iterable[int] = (),
    lsh_L: Iterable[int] = (),
    neural_J: Iterable[int] = (),
    neural_L: int = 8,
    ivf_lists: Iterable[int] = (),
    ivf_probes: Iterable[int] = (1,),
    faiss_lsh_bits: Iterable[int] = (),
    faiss_lsh_candidates: Iterable[int] = (100,),
    seed: int = 0,
    kmeans_params: dict | None = None,
    lsh_params: dict | None = None,
) -> list[dict]:
    """The grid points as ``{"method", "group", "param", "value", "params"}`` dicts.

    ``group`` is the table a point belongs to (k-means: PCA setting ``"pca-none"`` /
    ``"pca-248"`` / ``"pca-0_95"``; LSH: ``"L3"``; neural LSH: ``"L8"``; FAISS: ``"nprobe1"``,
    ``"cand100"``); ``param`` / ``value`` the swept knob (K, H, J, nlist, bits).
    """
    specs = []
    for pca in kmeans_pca:
        for K in kmeans_K:
            tag = "none" if pca is None else str(pca).replace(".", "_")
            specs.append(
                {
                    "method": "kmeans",
                    "group": f"pca-{tag}",
                    "param": "K",
                    "value": int(K),
                    "params": {
                        "n_clusters": int(K),
                        "pca": pca,
                        "random_state": seed,
                        **(kmeans_params or {}),
                    },
                }
            )
    for L in lsh_L:
        for H in lsh_H:
            specs.append(
                {
                    "method": "lsh",
                    "group": f"L{L}",
                    "param": "H",
                    "value": int(H),
                    "params": {
                        "n_bits": int(H),
                        "n_tables": int(L),
                        "random_state": seed,
                        **(lsh_params or {}),
                    },
                }
            )
    for J in neural_J:
        specs.append(
            {
                "method": "neural-lsh",
                "group": f"L{neural_L}",
                "param": "J",
                "value": int(J),
                "params": {"n_bits": int(J), "n_tables": int(neural_L), "random_state": seed},
            }
        )
    for p in ivf_probes:
        for nl in ivf_lists:
            if p <= nl:
                specs.append(
                    {
                        "method": "faiss-ivf",
                        "group": f"nprobe{p}",
                        "param": "nlist",
                        "value": int(nl),
                        "params": {"n_lists": int(nl), "n_probe": int(p), "random_state": seed},
                    }
                )
    for c in faiss_lsh_candidates:
        for b in faiss_lsh_bits:
            specs.append(
                {
                    "method": "faiss-lsh",
                    "group": f"cand{c}",
                    "param": "bits",
                    "value": int(b),
                    "params": {"n_bits": int(b), "n_candidates": int(c)},
                }
            )
    return specs


def run_grid(
    task: RetrievalTask,
    specs: list[dict],
    *,
    network_params: dict | None = None,
    progress: bool = True,
    n_threads: int | None = 1,
) -> pd.DataFrame:
    """Evaluate every grid point of ``specs`` on ``task``; one row per point.

    Neural LSH trains one :class:`NeuralHashNetwork` (``network_params``) per task and reuses it
    for every J (the bit draw differs); its training time is in the ``train_s`` column. Grid
    points that cannot run on this task (e.g. more PCA components than dimensions, more clusters
    than gallery items) are skipped with a ``skipped`` reason instead of failing the grid.
    ``n_threads`` caps the BLAS / OpenMP threads (threadpoolctl) of every point (None: no cap); on a
    shared, oversubscribed CPU one thread is many times faster than two (scikit-learn k-means:
    about 17x in one measurement here).
    """
    from threadpoolctl import threadpool_limits  # noqa: PLC0415

    with threadpool_limits(n_threads):
        if isinstance(task, OnDiskTask):  # gallery over the memory budget: FAISS IVF on disk only
            return pd.DataFrame(ivf_rows(task, specs, progress=progress))
        return _run_grid(task, specs, network_params, progress)


def _run_grid(task, specs, network_params, progress) -> pd.DataFrame:
    rows = []
    network = None
    iterator = specs
    if progress:
        from tqdm.auto import tqdm  # noqa: PLC0415

        iterator = tqdm(specs, desc=f"grid {task.name}", unit="point")
    for spec in iterator:
        method = spec["method"]
        if method not in METHODS:
            raise ValueError(f"unknown method {method!r}; accepted: {', '.join(METHODS)}")
        row = {
            "dataset": task.name,
            "source": task.dataset,
            **{k: spec[k] for k in ("method", "group", "param", "value")},
        }
        params = dict(spec["params"])
        pca = params.get("pca")
        if method == "kmeans" and isinstance(pca, (int, np.integer)) and pca >= task.X.shape[1]:
            rows.append(
                {**row, "skipped": f"PCA to {pca} dims needs more than {task.X.shape[1]} dims"}
            )
            continue
        too_many = {"kmeans": "n_clusters", "faiss-ivf": "n_lists"}.get(method)
        if too_many and params[too_many] > task.n_gallery:
            rows.append({**row, "skipped": f"{params[too_many]} buckets > {task.n_gallery} items"})
            continue
        train_s = 0.0
        if method == "neural-lsh":
            if network is None:
                t0 = time.perf_counter()
                network = NeuralHashNetwork(**(network_params or {})).fit(task.X, task.y)
                train_s = time.perf_counter() - t0
                row["train_s"] = train_s
            params["network"] = network
        index = METHODS[method](**params)
        rows.append({**row, **evaluate(index, task)})
        if method == "kmeans":
            rows[-1]["pca_dims"] = index.n_components_
    return pd.DataFrame(rows)


def exact_baselines(task: RetrievalTask, n_threads: int | None = None) -> pd.DataFrame:
    """Exact cosine search, ours (chunked matmul + top-k) and FAISS IndexFlatIP (timed).

    ``n_threads`` caps BLAS / OpenMP threads for both (None: no cap).
    """
    from threadpoolctl import threadpool_limits  # noqa: PLC0415

    if isinstance(task, OnDiskTask):  # streamed from disk: already measured when the task was made
        return pd.DataFrame([exact_row(task)])
    with threadpool_limits(n_threads):
        return _exact_baselines(task)


def _exact_baselines(task: RetrievalTask) -> pd.DataFrame:
    ours = {
        "dataset": task.name,
        "source": task.dataset,
        "method": "exact",
        "group": "exact",
        "n_gallery": task.n_gallery,
        "n_queries": int(task.Q.shape[0]),
        "dim": int(task.X.shape[1]),
        **exact_results(task),
    }
    flat = FaissFlatIP().fit(task.X)
    flat.search(task.Q[:8], 10)
    t0 = time.perf_counter()
    flat.search(task.Q, 10)
    faiss_ms = 1000 * (time.perf_counter() - t0) / task.Q.shape[0]
    fl = {**ours, "method": "faiss-flat", "group": "exact", "query_ms": faiss_ms}
    ours["map_retrieved"] = fl["map_retrieved"] = ours["map_gallery"]
    fl["per_query"] = None  # same neighbours as ours: compared once, through the exact row
    return pd.DataFrame([ours, fl])


def _metrics_of(row: dict) -> tuple[str, ...]:
    """The metrics a grid or exact row carries (a row searched on disk has no mAP)."""
    return ONDISK_METRICS if row.get("on_disk") is True else METRIC_KEYS


def record_grid(df: pd.DataFrame, record_fn, exact: pd.DataFrame | None = None) -> int:
    """Record each grid row's metrics under ``<dataset>.<method>.<group>.<param><value>.<metric>``.

    Exact rows go to ``exact.<dataset>.<metric>`` (our search) and ``exact.<dataset>.faiss_flat_
    query_ms``. Returns the number of recorded keys.
    """
    n = 0
    for r in df.to_dict("records"):
        if isinstance(r.get("skipped"), str):
            continue
        base = f"{r['dataset']}.{r['method']}.{r['group']}.{r['param']}{r['value']}"
        for m in _metrics_of(r):
            record_fn(f"{base}.{m}", float(r[m]))
            n += 1
    if exact is not None:
        for r in exact.to_dict("records"):
            if r["method"] == "exact":
                for m in _metrics_of(r):
                    if m in r:
                        record_fn(f"exact.{r['dataset']}.{m}", float(r[m]))
                        n += 1
            else:
                record_fn(f"exact.{r['dataset']}.faiss_flat_query_ms", float(r["query_ms"]))
                n += 1
    return n
