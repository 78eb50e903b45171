"""Notebook 04 past its memory budget: a store's gallery searched on disk, query batch by query batch.

When the embeddings of a store given as the user's data (``user_embeddings``, made by
``zsl-lab embed``) that a run needs, the gallery and the measured queries, would take more than
``memory_budget_gb`` of RAM, the gallery is never loaded (the budget compares the embeddings'
size: the in-RAM computations hold a few times that, up to about 4.4x in
``benchmarks/results/scale_nb04.txt``):

- the queries (a seeded, stratified share of the store's items, as for data that fits) are read
  from their shards; the gallery is every other item of the store;
- exact search reads the store once, piece by piece, scores each piece batch of queries by
  batch (:func:`zsl_lib.index.ondisk.store_topk`) and keeps the running top 50;
- FAISS IVF-Flat is built on disk (:class:`zsl_lib.index.ondisk.OnDiskIVF`: trained on a seeded
  sample of what a quarter of the budget holds, at most 100,000 and at least 39 per list; filled
  shard by shard, the query items left out) for each ``ivf_lists`` value and searched for each
  ``ivf_probes`` value, batch by batch. The in-memory FAISS IVF trains on the whole gallery, so
  the two differ by that sample only;
- per query batch: precision@10 / @50 (label relevance), recall@10 of the exact neighbours, the
  vectors each query scores (candidates, plus the ``nlist`` centroids for IVF) and the search time.

What is not computed: the in-memory methods (k-means buckets, random-hyperplane and neural LSH,
FAISS IndexLSH: each needs the gallery in RAM, their grid points are reported as skipped), and
both mAPs (the gallery mAP ranks every gallery item per query; the retrieved-list mAP needs the
whole candidate list). With a training sample of the whole gallery, the numbers equal the
in-memory task's (``tests/test_lsh_ondisk.py``).
"""

from __future__ import annotations

import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..data.store import Store, store_labels
from ..index.ondisk import OnDiskIVF, read_rows, store_parts, store_topk
from ..metrics import retrieval as R
from ..validation import check_float, check_int

#: metrics an on-disk row records (both mAPs need the whole ranking or candidate list: not computed)
ONDISK_METRICS = ("p_at_10", "p_at_50", "recall_at_10", "candidates_per_query", "scanned_per_query", "query_ms")
K = 50  # neighbours kept per query (precision@50)
NOT_COMPUTED = {"map_retrieved": float("nan"), "map_gallery": float("nan")}  # kept as columns, never recorded


def check_memory_budget(value) -> float | None:
    """``memory_budget_gb``: None (no limit) or a positive number of GB."""
    return None if value is None else check_float("parameter memory_budget_gb", value, 0.0, None, low_open=True)


def gallery_gb(n_items: int, dim: int) -> float:
    """RAM of a float32 gallery of ``n_items`` x ``dim`` in GB (10^9 bytes)."""
    return 4.0 * n_items * dim / 1e9


def over_budget(n_items: int, dim: int, budget_gb: float | None) -> bool:
    """True when a float32 gallery ``n_items`` x ``dim`` exceeds ``budget_gb`` (None: never)."""
    return budget_gb is not None and gallery_gb(n_items, dim) > budget_gb


@dataclass
class OnDiskTask:
    """A store's gallery left on disk: every row not in ``query_rows``; ``Q`` / ``yq`` the
    evaluated queries (rows ``eval_rows``); ``y_all`` the labels of every store row."""

    name: str
    store: Store
    y_all: np.ndarray = field(repr=False)
    query_rows: np.ndarray = field(repr=False)  # every held-out row (never in the gallery), sorted
    eval_rows: np.ndarray = field(repr=False)  # the queries measured (a subset of query_rows), sorted
    Q: np.ndarray = field(repr=False)
    yq: np.ndarray = field(repr=False)
    budget_gb: float | None = None
    query_batch: int = 1024
    dataset: str = "user"
    exact_ids: np.ndarray = field(default=None, repr=False)
    exact_ms: float = 0.0
    n_relevant: np.ndarray = field(default=None, repr=False)
    work_dir: Path | None = None
    ivf_train_size: int | None = None  # FAISS IVF training sample (None: :meth:`train_size`'s rule)

    @property
    def n_gallery(self) -> int:
        return int(self.y_all.size - self.query_rows.size)

    @property
    def dim(self) -> int:
        return self.store.dim

    @property
    def skip_reason(self) -> str:
        return (f"the gallery ({gallery_gb(self.n_gallery, self.dim):.3g} GB of embeddings) exceeds the memory budget "
                f"({self.budget_gb:g} GB), so it stays on disk and is searched by exact search and FAISS IVF only; "
                "these methods need the gallery in RAM")

    def train_size(self, n_lists: int) -> int:
        """Rows of the FAISS IVF training sample: ``ivf_train_size`` if set, else what a quarter of
        the memory budget holds, capped at 100,000 and at least 39 per list (FAISS's minimum)."""
        if self.ivf_train_size is not None:
            return int(self.ivf_train_size)
        fits = int((self.budget_gb or 0.0) * 1e9 / 4 / (4 * self.dim))
        return max(min(fits, 100_000), 39 * n_lists)

    def batches(self):
        """Slices of ``Q`` of at most ``query_batch`` queries."""
        return [slice(s, min(s + self.query_batch, len(self.Q))) for s in range(0, len(self.Q), self.query_batch)]


def make_ondisk_task(name: str, store: Store, gallery_rows: np.ndarray, query_rows: np.ndarray, *,
                     n_queries: int | None = None, seed: int = 0, budget_gb: float | None = None,
                     query_batch: int = 1024, progress: bool = True) -> OnDiskTask:
    """The task of ``store`` with ``query_rows`` held out (``gallery_rows`` = the rest, used for
    the label counts); ``n_queries``: the seeded subset of the held-out rows measured (as
    :func:`zsl_lib.experiments.lsh.make_task` draws it). Runs the exact search."""
    n_queries = check_int("n_queries", n_queries, minimum=1, allow_none=True)
    y_all, _, _ = store_labels(store)
    query_rows = np.sort(np.asarray(query_rows, dtype=np.int64))
    keep = query_rows
    if n_queries is not None and n_queries < query_rows.size:
        keep = query_rows[np.sort(np.random.default_rng(seed).choice(query_rows.size, n_queries, replace=False))]
    _, parts, n, _ = store_parts(store, store.shard_size)
    if n != y_all.size:
        raise ValueError(f"store {store.path}: {n} embedding rows but {y_all.size} labelled items")
    Q = read_rows(parts, keep)
    task = OnDiskTask(name, store, y_all, query_rows, keep, Q, y_all[keep], budget_gb, query_batch)
    classes, counts = np.unique(y_all[np.asarray(gallery_rows, dtype=np.int64)], return_counts=True)
    pos = np.minimum(np.searchsorted(classes, task.yq), classes.size - 1)
    task.n_relevant = np.where(classes[pos] == task.yq, counts[pos], 0)
    if task.n_gallery < 10:
        raise ValueError(f"{name}: the gallery holds {task.n_gallery} items but precision@10 needs at least 10")
    t0 = time.perf_counter()  # the store is read once; each piece is scored query batch by query batch
    _, task.exact_ids = store_topk(store, Q, min(K, task.n_gallery), skip_rows=query_rows, query_batch=query_batch,
                                   shard_size=store.shard_size, progress=progress)
    task.exact_ms = 1000 * (time.perf_counter() - t0) / max(len(Q), 1)
    return task


def _scores(task: OnDiskTask, sl: slice, ids: np.ndarray) -> dict:
    rel = R.label_relevance(task.yq[sl], task.y_all, np.maximum(ids, 0)) & (ids >= 0)
    return {"p_at_10": R.precision_at_k(rel, 10, average=False),
            "p_at_50": R.precision_at_k(rel, K, average=False),
            "recall_at_10": R.recall_at_k(ids[:, :10], task.exact_ids[sl, :10], average=False)}


def exact_row(task: OnDiskTask) -> dict:
    """Exact search's row (the ceiling), streamed from disk; query_ms includes reading the store."""
    per_q = {m: np.concatenate([_scores(task, sl, task.exact_ids[sl])[m] for sl in task.batches()]) * 100
             for m in ("p_at_10", "p_at_50", "recall_at_10")}
    return {"dataset": task.name, "source": task.dataset, "method": "exact", "group": "exact",
            "n_gallery": task.n_gallery, "n_queries": int(len(task.Q)), "dim": int(task.dim),
            **{m: float(v.mean()) for m, v in per_q.items()},
            "candidates_per_query": float(task.n_gallery), "scanned_per_query": float(task.n_gallery),
            "query_ms": task.exact_ms, **NOT_COMPUTED, "per_query": per_q, "on_disk": True}


def ivf_rows(task: OnDiskTask, specs: list[dict], *, engine: str = "local", progress: bool = True) -> list[dict]:
    """One row per FAISS IVF grid point of ``specs`` (others: skipped, with the reason), built on
    disk once per ``n_lists`` and searched for each ``n_probe`` batch by batch. The indexes live
    in a temporary folder under ``task.work_dir`` (None: the system's, ``TMPDIR``), one at a time,
    removed after: it needs about twice the gallery's size on disk while an index is merged."""
    with tempfile.TemporaryDirectory(prefix="zsl-04-ondisk-", dir=task.work_dir) as work:
        return _ivf_rows(task, specs, Path(work), engine, progress)


def _ivf_rows(task, specs, work: Path, engine: str, progress: bool) -> list[dict]:
    """The rows in ``specs`` order; the points are evaluated grouped by ``n_lists``, and each
    index is deleted before the next is built (disk: one index, about the gallery's size, plus
    its part files while it is built)."""
    lists_of = [s["params"]["n_lists"] if s["method"] == "faiss-ivf" else -1 for s in specs]
    order = sorted(range(len(specs)), key=lambda j: (lists_of.index(lists_of[j]), j))
    rows: dict[int, dict] = {}
    built: dict[int, OnDiskIVF] = {}
    for j in order:
        spec = specs[j]
        rows[j] = _ivf_row(task, spec, work, engine, progress, built)
    return [rows[j] for j in range(len(specs))]


def _ivf_row(task, spec, work: Path, engine: str, progress: bool, built: dict) -> dict:
    row = {"dataset": task.name, "source": task.dataset, **{k: spec[k] for k in ("method", "group", "param", "value")}}
    if spec["method"] != "faiss-ivf":
        return {**row, "skipped": task.skip_reason}
    p = spec["params"]
    if p["n_lists"] > task.n_gallery:
        return {**row, "skipped": f"{p['n_lists']} buckets > {task.n_gallery} items"}
    fit_s = float("nan")  # the index of this n_lists was built for an earlier point
    if p["n_lists"] not in built:
        for old in built.values():  # one index on disk at a time
            shutil.rmtree(old.directory_, ignore_errors=True)
        built.clear()
        t0 = time.perf_counter()
        built[p["n_lists"]] = OnDiskIVF("flat", p["n_lists"], train_size=task.train_size(p["n_lists"]),
                                        directory=work / f"ivf-nlist{p['n_lists']}", random_state=p["random_state"],
                                        engine=engine, progress=progress,
                                        shard_size=task.store.shard_size).fit(task.store, skip_rows=task.query_rows)
        fit_s = time.perf_counter() - t0
    index = built[p["n_lists"]]
    per_q = {m: np.zeros(len(task.Q)) for m in ("p_at_10", "p_at_50", "recall_at_10", "cand")}
    search_s = 0.0
    for sl in task.batches():
        t0 = time.perf_counter()
        _, ids = index.search(task.Q[sl], min(K, task.n_gallery), n_probe=p["n_probe"])
        search_s += time.perf_counter() - t0
        for m, v in _scores(task, sl, ids).items():
            per_q[m][sl] = 100 * v
        per_q["cand"][sl] = index.candidates_per_query(task.Q[sl], p["n_probe"])
    empty = float((per_q["cand"] == 0).mean())
    cand = float(per_q.pop("cand").mean())
    return {**row, **{m: float(v.mean()) for m, v in per_q.items()}, "candidates_per_query": cand,
            "scanned_per_query": cand + p["n_lists"], "query_ms": 1000 * search_s / max(len(task.Q), 1),
            "fit_s": fit_s, "empty_fraction": empty, **NOT_COMPUTED, "per_query": per_q, "on_disk": True}
