"""Indexes past RAM over a sharded embedding store (issue 21), in the way of criteo/autofaiss.

:class:`OnDiskIVF` (``kind="flat"``: FAISS ``IndexIVFFlat``; ``kind="pq"``: ``IndexIVFPQ``):

1. the coarse quantiser (and the PQ codebooks) train on a seeded sample of ``train_size`` items;
   the trained, empty index is written to ``trained.index``;
2. one engine task per shard (:func:`zsl_lib.engine.run_tasks`, local or Ray) reads its shard
   memory-mapped and writes a part file: the trained empty index plus that shard's vectors under
   their global ids (the row number in the store);
3. the parts are merged on disk (``faiss.contrib.ondisk.merge_ondisk``) into one
   ``OnDiskInvertedLists`` file, ``lists.ivfdata``, which a query reads memory-mapped; the index
   that refers to it is ``index.faiss``. No step holds more than one shard of vectors (and the
   training sample) in memory.

Queries return what the in-memory ``IndexIVFFlat`` / ``IndexIVFPQ`` with the same trained
quantiser and ``n_probe`` returns (``tests/test_ondisk_index.py``). The directory may be moved:
``open`` looks for the lists file beside ``index.faiss``. An index of a store records, in
``ondisk.json``, the store's item-list fingerprint, encoder, dimension, item count and every
shard's checksums; ``open(directory, store=...)`` / ``check_store`` refuse a store whose items or
shard contents changed since (the ids would name other items).

:func:`assign_store`: BLISS trained on a sample, the whole store assigned with the trained
networks: one engine task per shard computes the shard's logits (the network's forward, the
costly part) and writes them to a part file; one streaming greedy pass then reads the parts in
order, carrying the bucket loads, and assigns exactly as ``greedy_assign`` on the whole gallery
does (the power-of-K-choices balance is sequential by nature: each item sees the loads of those
before it).

A store is a :class:`zsl_lib.data.store.Store` (or its directory; every shard must be done); its
rows are numbered in store order, shard after shard. An array is cut into shards of ``shard_size``
rows and goes through the same tasks.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
from sklearn.base import BaseEstimator

from ..data.store import Store, StoreError
from ..engine import run_tasks
from ..progress import native_stdout_silenced
from ..validation import check_choice, check_fitted, check_int, check_matrix, l2_normalize
from .bliss import BLISS
from .bliss_balance import greedy_assign

__all__ = ["OnDiskIVF", "store_parts", "store_sample", "read_rows", "store_topk", "assign_store", "bliss_logits_part",
           "add_part"]

KINDS = ("flat", "pq")
METRICS = ("cosine", "l2")


# -- the store, read shard by shard ----------------------------------------------------------------
def _complete_shards(store) -> list[int]:
    """Done shard numbers, checked to be 0..n_shards-1 (an incomplete store cannot be indexed)."""
    missing = store.missing_shards()
    if missing:
        raise ValueError(f"store {store.path} has shards not done: {missing[:10]}; finish it first (rerun "
                         "zsl-lab embed with the same --out: done shards are skipped, damaged ones redone)")
    return list(range(store.n_shards))


def store_parts(X_or_store, shard_size: int):
    """The shards of a store (path or opened) or of an array cut into ``shard_size`` rows:
    ``(store path or None, [(shard spec, first global row, rows), ...], total rows, dim)``; a spec
    is what an engine task reads its vectors from."""
    if isinstance(X_or_store, (str, os.PathLike, Store)):
        store = _as_store(X_or_store)
        shards = _complete_shards(store)
        rows = [store.shard(i).shape[0] for i in shards]
        starts = np.concatenate(([0], np.cumsum(rows)))[:-1]
        dim = store.shard(shards[0]).shape[1]
        path = str(Path(store.path).resolve())
        return path, [({"store": path, "shard": i}, int(s), r) for i, s, r in zip(shards, starts, rows)], \
            int(sum(rows)), int(dim)
    X = check_matrix("X", X_or_store)
    n = X.shape[0]
    return None, [({"X": np.ascontiguousarray(X[s: s + shard_size], dtype=np.float32)}, s, min(shard_size, n - s))
                  for s in range(0, n, shard_size)], n, X.shape[1]


def _as_store(X_or_store) -> Store | None:
    """The store ``X_or_store`` names (None for an array)."""
    if isinstance(X_or_store, Store):
        return X_or_store
    return Store.open(X_or_store) if isinstance(X_or_store, (str, os.PathLike)) else None


def _source(spec) -> np.ndarray:
    """The vectors a shard spec names: its array, or its store shard memory-mapped (not read)."""
    return spec["X"] if "X" in spec else Store.open(spec["store"]).shard(spec["shard"])


def _load(spec) -> np.ndarray:
    return np.ascontiguousarray(_source(spec), dtype=np.float32)


def store_sample(parts, n_total: int, size: int, seed: int, skip_rows=None) -> np.ndarray:
    """``size`` rows float32 drawn without replacement (seeded, sorted) from the shards ``parts``
    (as :func:`store_parts` lists them), read one shard at a time; rows in the sorted array
    ``skip_rows`` are never drawn."""
    skip = _skip(skip_rows, n_total)
    size = min(size, n_total - len(skip))
    rng = np.random.default_rng(seed)
    if len(skip):  # a seeded subset of every row, less the skipped ones: still uniform over the rest
        rows = rng.choice(n_total, min(n_total, size + len(skip)), replace=False)  # in random order
        rows = np.sort(rows[~np.isin(rows, skip)][:size])
    else:
        rows = np.sort(rng.choice(n_total, size, replace=False))
    return read_rows(parts, rows)


def read_rows(parts, rows) -> np.ndarray:
    """float32 rows ``rows`` (increasing row numbers, each below the parts' total) of the shards
    ``parts`` (as :func:`store_parts` lists them), read one shard at a time, in that order."""
    n = sum(r for _, _, r in parts)
    first = parts[0][0] if parts else None
    dim = 0 if first is None else int(first["X"].shape[1] if "X" in first else Store.open(first["store"]).dim)
    rows = np.asarray(rows)
    if rows.ndim != 1 or (rows.size and (rows.dtype.kind not in "iu" or rows[0] < 0 or rows[-1] >= n
                                        or (np.diff(rows) <= 0).any())):
        raise ValueError(f"rows must be increasing row numbers in 0..{n - 1}; got {rows[:5]!r} (shape {rows.shape})")
    out = [np.zeros((0, dim), dtype=np.float32)]
    for spec, start, r in parts:
        take = rows[(rows >= start) & (rows < start + r)] - start
        if len(take):
            src = _source(spec)
            out.append(np.asarray(src[take], dtype=np.float32))
    return np.concatenate(out)


def _skip(skip_rows, n: int | None = None) -> np.ndarray:
    """``skip_rows`` (None or row numbers, in ``0..n-1`` when ``n`` is given) as a sorted, unique
    int64 array."""
    if skip_rows is None:
        return np.zeros(0, dtype=np.int64)
    skip = np.asarray(skip_rows)
    if skip.ndim != 1 or (skip.size and skip.dtype.kind not in "iu"):
        raise ValueError(f"skip_rows must be a 1-d array of row numbers, got shape {skip.shape} dtype {skip.dtype}")
    skip = np.unique(skip.astype(np.int64))
    if n is not None and skip.size and (skip[0] < 0 or skip[-1] >= n):
        raise ValueError(f"skip_rows must be row numbers in 0..{n - 1}; got {skip[0]}..{skip[-1]}")
    return skip


def store_topk(X_or_store, Q, k: int, *, metric: str = "cosine", skip_rows=None, chunk_rows: int = 16_384,
               query_batch: int = 1024, shard_size: int = 10_000,
               progress: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Exact top-``k`` of every query over an array or a store, read once, one memory-mapped piece
    of ``chunk_rows`` rows at a time; each piece is scored batch of ``query_batch`` queries by
    batch into the running top-k (memory: the queries, one piece, one (query_batch, chunk_rows)
    score block and the running top-k).

    ``metric``: ``"cosine"`` or ``"ip"``; rows in ``skip_rows`` are never returned. Returns
    ``(scores float32 (nq, k), ids int64 (nq, k))`` ranked best first, ids = row numbers, equal
    to :func:`zsl_lib.index.exact.exact_topk` on the array with the skipped rows removed (ids
    mapped back)."""
    from .exact import topk_rows  # noqa: PLC0415

    check_choice("metric", metric, ("cosine", "ip"))
    check_int("chunk_rows", chunk_rows)
    check_int("query_batch", query_batch)
    _, parts, n, dim = store_parts(X_or_store, shard_size)
    Q = check_matrix("Q (queries)", Q, dim=dim, min_rows=0)
    skip = _skip(skip_rows, n)
    k = check_int("k", k, maximum=n - len(skip))
    if metric == "cosine":
        Q = l2_normalize(Q)
    best_s = np.full((Q.shape[0], k), -np.inf, dtype=np.float32)
    best_i = np.full((Q.shape[0], k), -1, dtype=np.int64)
    it = parts
    if progress:
        from tqdm.auto import tqdm  # noqa: PLC0415

        it = tqdm(parts, desc="exact top-k (on disk)", unit="shard")
    for spec, start, rows in it:
        src = _source(spec)
        for a in range(0, rows, chunk_rows):
            X = np.asarray(src[a: a + chunk_rows], dtype=np.float32)
            if metric == "cosine":
                X = l2_normalize(X)
            g0 = start + a
            dead = skip[(skip >= g0) & (skip < g0 + len(X))] - g0
            kk = min(k, len(X))
            for q in range(0, Q.shape[0], query_batch):
                S = Q[q: q + query_batch] @ X.T
                S[:, dead] = -np.inf
                sc, c = topk_rows(S, kk)
                cand_s = np.concatenate([best_s[q: q + query_batch], sc], axis=1)
                cand_i = np.concatenate([best_i[q: q + query_batch], c + g0], axis=1)
                top_s, pos = topk_rows(cand_s, k, select="argpartition")
                best_s[q: q + query_batch], best_i[q: q + query_batch] = top_s, np.take_along_axis(cand_i, pos, axis=1)
    return best_s, best_i


# -- on-disk IVF -------------------------------------------------------------------------------------
def add_part(task) -> int:
    """Engine task: the trained empty index plus one shard's vectors (global ids) -> a part file."""
    import faiss  # noqa: PLC0415

    X = _load(task["spec"])
    ids = np.arange(task["start"], task["start"] + len(X))
    skip = task.get("skip")
    if skip is not None and len(skip):
        keep = ~np.isin(ids, skip)
        X, ids = X[keep], ids[keep]
    if task["normalize"]:
        X = l2_normalize(X)
    index = faiss.read_index(task["trained"])
    index.add_with_ids(np.ascontiguousarray(X, dtype=np.float32), ids)
    tmp = task["part"] + ".tmp"
    faiss.write_index(index, tmp)
    os.replace(tmp, task["part"])  # a part exists only whole
    return len(X)


class OnDiskIVF(BaseEstimator):
    """FAISS IVF-Flat / IVF-PQ built shard by shard and merged on disk (see the module doc).

    Parameters: ``kind`` ``"flat"`` or ``"pq"``; ``n_lists`` coarse centroids; ``n_probe`` lists
    scanned per query; ``pq_m`` sub-quantisers and ``pq_bits`` bits each (``"pq"``);
    ``train_size`` items of the training sample; ``metric`` ``"cosine"`` (inner product on
    normalised vectors) or ``"l2"``; ``directory`` where the index is written (None: a new
    temporary directory); ``shard_size`` rows per task when ``fit`` gets an array; ``engine``,
    ``address``, ``num_cpus``: see :func:`zsl_lib.engine.run_tasks`; ``random_state`` seeds the
    sample and FAISS's k-means.

    ``fit(X, skip_rows=None)`` takes an array (n, d) or a store (its path or the opened store);
    rows listed in ``skip_rows`` (e.g. a store's items held out as queries) are left out of the
    training sample and of the index. Ids are row numbers of ``X`` either way.
    """

    def __init__(self, kind: str = "flat", n_lists: int = 100, n_probe: int = 1, *, pq_m: int = 8, pq_bits: int = 8,
                 train_size: int = 100_000, metric: str = "cosine", directory=None, shard_size: int = 10_000,
                 engine: str = "local", address: str | None = None, num_cpus: int | None = None,
                 random_state: int = 0, progress: bool = False):
        self.kind = kind
        self.n_lists = n_lists
        self.n_probe = n_probe
        self.pq_m = pq_m
        self.pq_bits = pq_bits
        self.train_size = train_size
        self.metric = metric
        self.directory = directory
        self.shard_size = shard_size
        self.engine = engine
        self.address = address
        self.num_cpus = num_cpus
        self.random_state = random_state
        self.progress = progress

    def _validate(self) -> None:
        check_choice("kind", self.kind, KINDS)
        check_choice("metric", self.metric, METRICS)
        for name in ("n_lists", "n_probe", "pq_m", "pq_bits", "train_size", "shard_size"):
            check_int(name, getattr(self, name))
        if self.n_probe > self.n_lists:
            raise ValueError(f"n_probe={self.n_probe} cannot exceed n_lists={self.n_lists}")

    def empty_index(self, dim: int):
        """The untrained FAISS index of these parameters for ``dim``-d vectors."""
        import faiss  # noqa: PLC0415

        ip = self.metric == "cosine"
        quant = faiss.IndexFlatIP(dim) if ip else faiss.IndexFlatL2(dim)
        metric = faiss.METRIC_INNER_PRODUCT if ip else faiss.METRIC_L2
        if self.kind == "flat":
            index = faiss.IndexIVFFlat(quant, dim, self.n_lists, metric)
        else:
            if dim % self.pq_m:
                raise ValueError(f"pq_m={self.pq_m} must divide the dimension {dim}")
            index = faiss.IndexIVFPQ(quant, dim, self.n_lists, self.pq_m, self.pq_bits, metric)
        index.own_fields = True
        quant.this.disown()
        index.cp.seed = int(self.random_state)
        return index

    def fit(self, X, y=None, skip_rows=None) -> OnDiskIVF:
        import faiss  # noqa: PLC0415
        from faiss.contrib.ondisk import merge_ondisk  # noqa: PLC0415

        self._validate()
        t0 = time.perf_counter()
        _, parts, n, dim = store_parts(X, self.shard_size)
        source = _as_store(X)
        source = source.content_identity() if source is not None else None  # verified by store_parts
        skip = _skip(skip_rows, n)
        if self.n_lists > n - len(skip):
            raise ValueError(f"n_lists={self.n_lists} exceeds the {n - len(skip)} gallery items")
        out = Path(self.directory or tempfile.mkdtemp(prefix="zsl-ondisk-")).resolve()
        (out / "parts").mkdir(parents=True, exist_ok=True)
        normalize = self.metric == "cosine"
        sample = store_sample(parts, n, self.train_size, self.random_state, skip)
        need = max(self.n_lists, 2 ** self.pq_bits if self.kind == "pq" else 0)
        if len(sample) < need:
            raise ValueError(f"the training sample has {len(sample)} vectors but {self.kind} IVF with n_lists={self.n_lists}"
                             + (f" and pq_bits={self.pq_bits}" if self.kind == "pq" else "")
                             + f" needs at least {need}: lower n_lists (--nlist) or raise train_size (--train-size)")
        trained = self.empty_index(dim)
        trained.train(l2_normalize(sample) if normalize else sample)
        del sample
        faiss.write_index(trained, str(out / "trained.index"))
        tasks = [{"spec": spec, "start": start, "normalize": normalize, "trained": str(out / "trained.index"),
                  "skip": skip[(skip >= start) & (skip < start + r)],
                  "part": str(out / "parts" / f"part_{j:05d}.index")} for j, (spec, start, r) in enumerate(parts)]
        run_tasks(add_part, tasks, self.engine, self.address, self.num_cpus, self.progress, desc="index parts")
        index = faiss.read_index(str(out / "trained.index"))
        lists = out / "lists.ivfdata"
        lists.unlink(missing_ok=True)
        with native_stdout_silenced():  # FAISS prints the lists file's path as it grows it
            merge_ondisk(index, [t["part"] for t in tasks], str(lists))
        faiss.write_index(index, str(out / "index.faiss"))
        del index
        shutil.rmtree(out / "parts")
        meta = {"params": {k: v for k, v in self.get_params().items() if k not in ("directory", "address")},
                "n_items": n - len(skip), "n_skipped": len(skip), "dim": dim, "n_parts": len(tasks),
                "build_seconds": time.perf_counter() - t0, "store": source}  # None: built from an array
        (out / "ondisk.json").write_text(json.dumps(meta, indent=1))
        if len(skip):  # which rows the index leaves out, for a reader of its ids
            np.save(out / "skipped_rows.npy", skip)
        else:
            (out / "skipped_rows.npy").unlink(missing_ok=True)
        self.skipped_rows_ = skip
        self._attach(out, n - len(skip), dim)
        self.build_seconds_, self.store_identity_ = meta["build_seconds"], source
        return self

    def _attach(self, out: Path, n: int, dim: int) -> None:
        import faiss  # noqa: PLC0415

        self.directory_ = out
        with native_stdout_silenced():  # FAISS prints the lists file's path it re-points to
            self.index_ = faiss.read_index(str(out / "index.faiss"), faiss.IO_FLAG_ONDISK_SAME_DIR)  # lists: mmapped
        self.n_gallery_, self.dim_ = n, dim
        self.n_features_in_ = dim

    @classmethod
    def open(cls, directory, store=None) -> OnDiskIVF:
        """The index written by ``fit`` into ``directory`` (its lists stay on disk).

        ``store`` (a :class:`~zsl_lib.data.store.Store` or its path): the store whose rows the
        returned ids name; refused (StoreError, see :meth:`check_store`) unless it is the store,
        with the same items and shard contents, that the index was built from."""
        directory = Path(directory).resolve()
        meta_file = directory / "ondisk.json"
        if not meta_file.is_file():
            raise FileNotFoundError(f"{directory} holds no on-disk index (no ondisk.json); build one with "
                                    "zsl-lab index STORE --kind ivf --out DIR")
        meta = json.loads(meta_file.read_text())
        self = cls(**meta["params"], directory=str(directory))
        self.store_identity_ = meta.get("store")
        skipped = directory / "skipped_rows.npy"
        self.skipped_rows_ = np.load(skipped) if skipped.is_file() else np.zeros(0, dtype=np.int64)
        if store is not None:
            self.check_store(store)
        self._attach(directory, meta["n_items"], meta["dim"])
        return self

    def candidates_per_query(self, Q, n_probe: int | None = None) -> np.ndarray:
        """int64 (nq,): the vectors each query's search scores (the sizes of its ``n_probe``
        nearest lists)."""
        check_fitted(self, "index_", "fit(X)")
        Q = check_matrix("Q (queries)", Q, dim=self.dim_, min_rows=0)
        p = check_int("n_probe", self.n_probe if n_probe is None else n_probe, maximum=self.n_lists)
        Qf = l2_normalize(Q) if self.metric == "cosine" else np.ascontiguousarray(Q, dtype=np.float32)
        _, lists = self.index_.quantizer.search(np.ascontiguousarray(Qf, dtype=np.float32), p)
        sizes = np.array([self.index_.invlists.list_size(i) for i in range(self.n_lists)], dtype=np.int64)
        return np.where(lists >= 0, sizes[np.maximum(lists, 0)], 0).sum(axis=1)

    def check_store(self, store) -> None:
        """Refuse (StoreError) ``store`` (a Store or its path) unless this index was built from it
        as it is now: the same item list, encoder and dimension, and every shard with the checksums
        of its done marker at build time. An index of other contents would answer with row numbers
        that name other items. Reads only the store's manifest and done markers."""
        check_fitted(self, "store_identity_", "fit(store) or OnDiskIVF.open(directory)")
        store = store if isinstance(store, Store) else Store.open(store)
        where = getattr(self, "directory_", None) or self.directory
        rebuild = f"rebuild it: zsl-lab index {store.path} --kind {'ivf' if self.kind == 'flat' else 'ivfpq'} --out {where}"
        built = self.store_identity_
        if built is None:
            raise StoreError(f"on-disk index {where} was built from an array (or before indexes recorded their "
                             f"store), so nothing says its ids are rows of store {store.path}; {rebuild}")
        changes = store.changes_since(built)
        if changes:
            raise StoreError(f"on-disk index {where} was built from store {built['path']} ({built['n_items']} items, "
                             f"{built['encoder']}); store {store.path} differs now: {'; '.join(changes)}. Its ids would "
                             f"name other items; {rebuild}")

    def search(self, Q, k: int, n_probe: int | None = None):
        """``(scores float32 (nq, k), ids int64 (nq, k))`` by FAISS's IVF search, -inf / -1 pads.
        Scores: cosine (``metric="cosine"``) or the negative squared distance (``"l2"``)."""
        check_fitted(self, "index_", "fit(X)")
        Q = check_matrix("Q (queries)", Q, dim=self.dim_, min_rows=0)
        k = check_int("k", k)
        self.index_.nprobe = check_int("n_probe", self.n_probe if n_probe is None else n_probe, maximum=self.n_lists)
        Qf = l2_normalize(Q) if self.metric == "cosine" else np.ascontiguousarray(Q, dtype=np.float32)
        D, ids = self.index_.search(np.ascontiguousarray(Qf, dtype=np.float32), k)
        D = D if self.metric == "cosine" else -D
        return np.where(ids >= 0, D, -np.inf).astype(np.float32), ids.astype(np.int64)


# -- BLISS: the whole store assigned shard by shard -------------------------------------------------
def bliss_logits_part(task) -> str:
    """Engine task: the logits float32 (R, rows, B) of one shard under a fitted model's networks,
    written to ``task["part"]`` (``.npy``)."""
    logits = task["model"].decision_function(_load(task["spec"]))
    tmp = task["part"] + ".tmp.npy"
    np.save(tmp, logits)
    os.replace(tmp, task["part"])
    return task["part"]


def assign_store(model: BLISS, X, *, shard_size: int = 10_000, engine: str = "local", address: str | None = None,
                 num_cpus: int | None = None, work_dir=None, progress: bool = False) -> np.ndarray:
    """Bucket assignments int64 (R, n) of every item of ``X`` (an array or a store) with the fitted
    ``model``'s networks and its greedy balance (``rebalance``, ``k_choices``, ``capacity``,
    ``load_penalty``, chunks of ``model.greedy_chunk(n)`` items).

    Equal to the last re-assignment of ``model.fit`` on the same gallery when its networks are the
    final ones (``epochs`` a multiple of ``epochs_per_balance``): the forward passes run as one
    engine task per shard, the greedy pass streams the shards' logits in order with the loads
    carried over (memory: one shard's logits).
    """
    if not isinstance(model, BLISS):
        raise TypeError(f"model must be a fitted BLISS; got {type(model).__name__}")
    _, parts, n, _ = store_parts(X, check_int("shard_size", shard_size))
    scorer = model.scorer()
    work = Path(work_dir or tempfile.mkdtemp(prefix="zsl-bliss-assign-"))
    work.mkdir(parents=True, exist_ok=True)
    tasks = [{"model": scorer, "spec": spec, "part": str(work / f"logits_{j:05d}.npy")} for j, (spec, _, _) in enumerate(parts)]
    files = run_tasks(bliss_logits_part, tasks, engine, address, num_cpus, progress, desc="BLISS shard logits")
    R, B = model.n_repetitions, model.n_buckets
    chunk = model.greedy_chunk(n)
    loads = np.zeros((R, B), dtype=np.int64)
    out = np.empty((R, n), dtype=np.int64)
    carry = np.zeros((R, 0, B), dtype=np.float32)
    done = 0
    for j, f in enumerate(files):
        S = np.concatenate([carry, np.load(f)], axis=1)
        Path(f).unlink()
        take = S.shape[1] if j == len(files) - 1 else (S.shape[1] // chunk) * chunk  # whole chunks, as in one pass
        if take:
            out[:, done: done + take] = greedy_assign(S[:, :take], model.k_choices, model.rebalance, model.capacity,
                                                      model.load_penalty, chunk, loads=loads, n_done=done, n_total=n)
        carry, done = S[:, take:], done + take
    if not work_dir:
        shutil.rmtree(work, ignore_errors=True)
    return out
