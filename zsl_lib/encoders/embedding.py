"""Cached embedding extraction: :func:`embed` (images of a dataset) and :func:`embed_texts`.

Cache layout (``config.cache_dir()/embeddings``)::

    <dataset>-<split>-<encoder>-<hash>.npy    float32 (n, d)
    <dataset>-<split>-<encoder>-<hash>.json   metadata (keys below, sha256 of the array, timings)
    texts-<encoder>-<n>-<hash>.npy / .json    for embed_texts

``hash`` keys everything that changes the numbers: the dataset fingerprint (source file checksums
and the selected items), the item count, the encoder's ``cache_key`` (weights identity,
preprocessing, transform version) and the cache format version. An image entry's metadata also lists its items and the SHA-256 of
the archive they are read from, so that rows already cached under another entry are reused: a subset
(e.g. fashion ``eval`` after fashion ``all``, or CIFAR-10 ``limit_per_class``) is sliced from a
cached superset, a union (fashion ``all`` after ``eval`` and ``align``) is assembled from several
entries, and only rows that no entry holds are extracted.
Text entries list their texts, so a new text entry takes the rows of texts that other entries of
the same encoder hold and encodes only new ones.
Files are written atomically
(temporary file + ``os.replace``; the array before its metadata); on read the metadata, the shape,
the dtype and the array's SHA-256 are checked and anything that does not match (partial,
corrupted, stale) is rebuilt with a warning. A lock file serialises concurrent extractions of the
same entry so that processes sharing the cache compute it once.

Extraction is resumable: while an image entry is extracted, every finished chunk of rows
(:func:`default_chunk_size`) is written to ``<entry>.partial/rows-<first>-<count>.npz``; a run
that is interrupted and started again reads those chunks and extracts only the rows they lack;
once the entry is written the chunks are deleted.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import time
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from tqdm.auto import tqdm

from zsl_lib import config
from zsl_lib.data.base import FeatureDataset, ImageDataset
from zsl_lib.data.store import Store
from zsl_lib.fileio import atomic_write, file_lock, hash_file
from zsl_lib.validation import check_int

from .base import Encoder, create_encoder

CACHE_FORMAT = 1
_ENCODERS: dict[tuple[str, str], Encoder] = {}


def get_encoder(name: str | Encoder, device: str = "cpu") -> Encoder:
    """``create_encoder`` memoised per process (models are loaded once)."""
    if isinstance(name, Encoder):
        return name
    key = (name, device)
    if key not in _ENCODERS:
        _ENCODERS[key] = create_encoder(name, device=device)
    return _ENCODERS[key]


def embeddings_dir() -> Path:
    return config.cache_dir() / "embeddings"


def _slug(s: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", s).strip("_")


def _array_sha(x: np.ndarray) -> str:
    return hashlib.sha256(memoryview(np.ascontiguousarray(x)).cast("B")).hexdigest()


def _write_meta(js: Path, meta: dict) -> None:
    atomic_write(js, lambda f: f.write(json.dumps(meta, indent=1).encode()))


def _save(npy: Path, X: np.ndarray, meta: dict) -> None:
    meta = dict(meta, shape=list(X.shape), dtype=str(X.dtype), sha256=_array_sha(X))
    atomic_write(npy, lambda f: np.save(f, X, allow_pickle=False))
    _write_meta(npy.with_suffix(".json"), meta)


def _load(npy: Path, expect: dict, shape: tuple[int, int]) -> np.ndarray | None:
    """The cached array, or None (with a warning when a file exists but is unusable)."""
    js = npy.with_suffix(".json")
    if not npy.exists() and not js.exists():
        return None
    try:
        meta = json.loads(js.read_text())
        for k, v in expect.items():
            if meta.get(k) != v:
                raise ValueError(f"metadata {k}={meta.get(k)!r}, expected {v!r}")
        X = np.load(npy, allow_pickle=False)
        if X.dtype != np.float32 or X.shape != tuple(shape):
            raise ValueError(f"array {X.dtype} {X.shape}, expected float32 {tuple(shape)}")
        if _array_sha(X) != meta.get("sha256"):
            raise ValueError("array checksum differs from the metadata")
        return X
    except Exception as e:  # noqa: BLE001 - any unreadable/partial/mismatching entry is rebuilt
        warnings.warn(f"embedding cache {npy} is unusable ({e}); rebuilding it", RuntimeWarning, stacklevel=3)
        return None


def _source_id(dataset: ImageDataset) -> str | None:
    """Identity of the pixels behind item names: SHA-256 of the archive (None for loose files)."""
    path = getattr(dataset.source, "path", None)
    if path is None or not Path(path).is_file():
        return None
    return f"{type(dataset.source).__name__}:{hash_file(path)}"


def _from_cached(dataset: ImageDataset, encoder: Encoder, source_id: str) -> tuple[np.ndarray, np.ndarray]:
    """Rows of ``dataset`` found in cached entries of the same dataset name, encoder and archive.

    Several entries may contribute (e.g. the ``eval`` and ``align`` splits of fashion-products
    together hold every row of ``all``). Returns ``(X float32 (n, dim), found bool (n,))``; rows not
    found are zero."""
    n = len(dataset)
    X = np.zeros((n, encoder.dim), dtype=np.float32)
    found = np.zeros(n, dtype=bool)
    d = embeddings_dir()
    if not d.is_dir():
        return X, found
    want = {it: i for i, it in enumerate(dataset.items)}
    for js in sorted(d.glob(f"{_slug(dataset.name)}-*-{_slug(encoder.name)}-*.json")):
        if found.all():
            break
        try:
            meta = json.loads(js.read_text())
            if (meta.get("format") != CACHE_FORMAT or meta.get("cache_key") != encoder.cache_key
                    or meta.get("source_id") != source_id or meta.get("dataset") != dataset.name
                    or not meta.get("items")):
                continue
            src = np.fromiter((want.get(it, -1) for it in meta["items"]), np.int64, len(meta["items"]))
            use = (src >= 0) & ~found[np.maximum(src, 0)]
            if not use.any():
                continue
            expect = {k: meta[k] for k in ("format", "kind", "dataset", "split", "fingerprint", "n",
                                           "encoder", "cache_key")}
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                C = _load(js.with_suffix(".npy"), expect, (meta["n"], encoder.dim))
            if C is not None:
                X[src[use]] = C[use]
                found[src[use]] = True
        except Exception:  # noqa: BLE001 - an unusable candidate is skipped
            continue
    return X, found


def _add_items(npy: Path, dataset: ImageDataset) -> None:
    """Give an entry written without its item list (older cache) one, so subsets can slice it."""
    js = npy.with_suffix(".json")
    try:
        meta = json.loads(js.read_text())
        if meta.get("items") or _source_id(dataset) is None:
            return
        meta.update(source_id=_source_id(dataset), items=list(dataset.items))
        _write_meta(js, meta)
    except Exception:  # noqa: BLE001 - best effort (e.g. read-only cache)
        pass


class _Pixels(torch.utils.data.Dataset):
    """``dataset.get_image(i)`` through the encoder's preprocessing (runs in DataLoader workers)."""

    def __init__(self, dataset: ImageDataset, preprocess):
        self.dataset, self.preprocess = dataset, preprocess

    def __len__(self):
        return len(self.dataset)

    def __getitem__(self, i):
        try:
            img = self.dataset.get_image(i)
            return self.preprocess(img)
        except Exception as e:  # noqa: BLE001
            ds = self.dataset
            raise ValueError(f"{ds.name}/{ds.split} item {i} ({ds.items[i]!r}): {e}") from e


def _worker_init(_worker_id: int) -> None:
    torch.set_num_threads(1)
    info = torch.utils.data.get_worker_info()
    src = getattr(info.dataset.dataset, "source", None)
    if src is not None and hasattr(src, "_local"):  # never share a forked zip file handle
        import threading

        src._local = threading.local()


def default_num_workers(encoder: Encoder, n: int) -> int:
    """DataLoader decoding workers: 0 on machines with <= 2 cores (a worker competes with the
    forward pass there: measured 0.7-0.9x in ``benchmarks/bench_embedding_throughput.py``), else
    up to 2 for datasets of more than a few batches."""
    cores = os.cpu_count() or 1
    if cores <= 2 or n < 4 * (encoder.default_batch_size or 64):
        return 0
    return min(2, cores // 4 or 1)


def default_num_threads() -> int:
    """Torch intra-op threads for extraction: ``ZSL_TORCH_THREADS`` if set, else torch's own
    default (one per core). On an otherwise idle 2-core CPU, 2 threads ran EfficientNet-Lite0 at
    24.9 images/s against 15.3 with 1; on a machine shared by several busy processes 1 thread was
    faster (OpenMP spin-waiting under contention): set ``ZSL_TORCH_THREADS=1`` there."""
    value = os.environ.get("ZSL_TORCH_THREADS", "").strip()
    if value:
        if not value.isdigit() or int(value) < 1:
            raise ValueError(f"ZSL_TORCH_THREADS={value!r} must be a positive integer")
        return int(value)
    return torch.get_num_threads()


@contextlib.contextmanager
def torch_threads(n: int | None):
    old = torch.get_num_threads()
    torch.set_num_threads(int(n) if n else default_num_threads())
    try:
        yield
    finally:
        torch.set_num_threads(old)


def extract(dataset: ImageDataset, encoder: Encoder, batch_size: int | None = None,
            progress: bool = True, num_workers: int | None = None, num_threads: int | None = None,
            on_chunk: Callable[[int, int, np.ndarray], None] | None = None,
            chunk_size: int | None = None, preprocess_threads: int | None = 1) -> np.ndarray:
    """Run ``encoder`` over every image of ``dataset`` (no cache). Returns float32 (n, dim).

    ``num_threads`` torch (or ONNX Runtime) threads run the forward pass; decoding and
    preprocessing in this process run with ``preprocess_threads`` torch threads (None: the same
    as the forward pass, as before; 1 by default: on the shared, busy 2-core CPU two threads made
    these small per-image tensor ops 3-30x slower, ~3 ms per image with one).
    ``on_chunk(start, stop, rows)``, if given, is called each time at least ``chunk_size`` more
    rows are finished (and once at the end) with the rows ``start:stop`` (how :func:`embed` keeps
    finished chunks of an extraction that may be interrupted).
    """
    n = len(dataset)
    bs = int(batch_size or encoder.default_batch_size)
    chunk = int(chunk_size or default_chunk_size(bs))
    nw = default_num_workers(encoder, n) if num_workers is None else int(num_workers)
    loader = torch.utils.data.DataLoader(
        _Pixels(dataset, encoder.preprocess), batch_size=bs, shuffle=False, num_workers=nw,
        worker_init_fn=_worker_init if nw else None, prefetch_factor=4 if nw else None,
    )
    out = np.empty((n, encoder.dim), np.float32)
    desc = f"{encoder.name} {dataset.name}/{dataset.split}"
    threads = int(num_threads) if num_threads else default_num_threads()
    with torch_threads(preprocess_threads or threads), torch.inference_mode(), \
            tqdm(total=n, unit="img", desc=desc, disable=not progress, smoothing=0.1) as bar:
        with torch_threads(threads):
            encoder.model  # noqa: B018 - build the model (and its runtime session) before the bar starts
        s = flushed = 0
        for batch in loader:
            with torch_threads(threads):
                y = encoder.forward(batch.to(encoder.device)).float().cpu().numpy()
            out[s:s + len(y)] = y
            s += len(y)
            bar.update(len(y))
            if on_chunk is not None and (s - flushed >= chunk or s == n):
                on_chunk(flushed, s, out[flushed:s])
                flushed = s
    if s != n:  # pragma: no cover - defensive
        raise RuntimeError(f"extracted {s} of {n} items of {desc}")
    return out


def default_chunk_size(batch_size: int) -> int:
    """Rows per resumable chunk of :func:`embed`: 1024 (~20-40 s of EfficientNet-Lite0 on a 2-core
    CPU, 5 MB of 1280-d features), at least one batch."""
    return max(1024, int(batch_size))


def _partial_dir(npy: Path) -> Path:
    """Finished chunks of an interrupted extraction of entry ``npy``: ``<entry>.partial/rows-*.npz``."""
    return npy.with_name(npy.stem + ".partial")


def _load_partials(pdir: Path, n: int, dim: int) -> tuple[np.ndarray, np.ndarray]:
    """Rows finished by an earlier, interrupted extraction of the same entry: ``(X, found)``.

    Each chunk file holds ``rows`` (positions in the dataset) and ``X``; chunk files are written
    atomically, and one that does not read back consistently is dropped with a warning."""
    X = np.zeros((n, dim), np.float32)
    found = np.zeros(n, dtype=bool)
    for p in sorted(pdir.glob("rows-*.npz")) if pdir.is_dir() else []:
        try:
            with np.load(p, allow_pickle=False) as z:
                rows, F = z["rows"], z["X"]
            if (rows.ndim != 1 or rows.dtype.kind != "i" or F.dtype != np.float32 or F.shape != (len(rows), dim)
                    or len(rows) == 0 or rows.min() < 0 or rows.max() >= n):
                raise ValueError(f"rows {rows.dtype} {rows.shape}, X {F.dtype} {F.shape} for {n} x {dim}")
            X[rows] = F
            found[rows] = True
        except Exception as e:  # noqa: BLE001 - an unreadable chunk is extracted again
            warnings.warn(f"partial embedding chunk {p} is unusable ({e}); extracting its rows again",
                          RuntimeWarning, stacklevel=3)
            p.unlink(missing_ok=True)
    return X, found


DEFAULT_IMAGE_ENCODER = "efficientnet-lite0"


def embed(dataset: ImageDataset | FeatureDataset | Store, encoder_name: str | Encoder | None = None,
          batch_size: int | None = None, progress: bool = True, num_workers: int | None = None,
          device: str = "cpu", cache: bool = True, num_threads: int | None = None,
          chunk_size: int | None = None) -> np.ndarray:
    """Image embeddings of every item of ``dataset``, extracted once and cached.

    Parameters
    ----------
    dataset : :class:`ImageDataset` (from :func:`zsl_lib.data.load_dataset`), a
        :class:`FeatureDataset` whose ``X`` is returned as is (user embeddings), or a complete
        :class:`zsl_lib.data.store.Store` (``zsl-lab embed``): its rows, in store order.
    encoder_name : a name from :func:`list_encoders` with an image side, or an :class:`Encoder`
        (default ``efficientnet-lite0``; for a store, its encoder, and another name is refused).
    batch_size : images per forward pass (default: the encoder's ``default_batch_size``).
    progress : show a tqdm bar (images/s).
    num_workers : DataLoader worker processes decoding images (default: :func:`default_num_workers`).
    cache : read/write ``config.cache_dir()/embeddings`` (False: always recompute, never write).
    device : torch device of the encoder.
    num_threads : torch threads during extraction (default :func:`default_num_threads`).
    chunk_size : rows per resumable chunk (default :func:`default_chunk_size`): finished chunks of
        an extraction are kept under the cache until the entry is written, so an interrupted run
        continues from its last finished chunk.

    Returns
    -------
    float32 array (n, encoder.dim), row i = item i. Image features are raw (not L2-normalised),
    except for encoders whose ``normalized`` is True (openclip, lit-fashion).
    """
    if isinstance(dataset, Store):
        name = encoder_name.name if isinstance(encoder_name, Encoder) else encoder_name
        if name is not None and name != dataset.encoder:
            raise ValueError(f"embed: store {dataset.path} holds {dataset.encoder!r} embeddings, not {name!r}; "
                             "extract a store with that encoder (zsl-lab embed --encoder ...)")
        skipped = sum(len(dataset.marker(i).get("skipped", [])) for i in dataset.done_shards())
        if skipped:
            raise ValueError(f"embed: store {dataset.path} left out {skipped} unreadable image(s), so its rows are not "
                             "the collection's items one to one; read it with zsl_lib.data.store.load_store (ids and "
                             "labels of the kept rows) instead")
        return dataset.to_array()
    if encoder_name is None:
        encoder_name = DEFAULT_IMAGE_ENCODER
    if isinstance(dataset, FeatureDataset):
        X = np.asarray(dataset.X, dtype=np.float32)
        if X.ndim != 2 or len(X) == 0:
            raise ValueError(f"FeatureDataset {dataset.name!r}: X must be a non-empty (n, d) array, got {X.shape}")
        return X
    if not isinstance(dataset, ImageDataset):
        raise TypeError(
            f"embed expects an ImageDataset (zsl_lib.data.load_dataset) or a FeatureDataset, "
            f"got {type(dataset).__name__}"
        )
    encoder = get_encoder(encoder_name, device=device)
    if "image" not in encoder.modality:
        raise ValueError(f"encoder {encoder.name!r} is a {encoder.modality} encoder: embed() needs an image encoder")
    base = getattr(encoder, "base_image_encoder", None)
    if base is not None:  # derived encoder (lit-fashion): cached base features + a cheap projection
        return encoder.transform_image_features(
            embed(dataset, base, batch_size=batch_size, progress=progress, num_workers=num_workers,
                  device=device, cache=cache, num_threads=num_threads, chunk_size=chunk_size))
    if chunk_size is not None:
        check_int("chunk_size", chunk_size, minimum=1)
    if not cache:
        return extract(dataset, encoder, batch_size, progress, num_workers, num_threads)
    expect = {
        "format": CACHE_FORMAT, "kind": "images", "dataset": dataset.name, "split": dataset.split,
        "fingerprint": dataset.fingerprint, "n": len(dataset), "encoder": encoder.name,
        "cache_key": encoder.cache_key,
    }
    key = hashlib.sha256(json.dumps(expect, sort_keys=True).encode()).hexdigest()[:16]
    npy = embeddings_dir() / f"{_slug(dataset.name)}-{_slug(dataset.split)}-{_slug(encoder.name)}-{key}.npy"
    shape = (len(dataset), encoder.dim)
    X = _load(npy, expect, shape)
    if X is not None:
        _add_items(npy, dataset)
        return X
    with file_lock(npy):
        X = _load(npy, expect, shape)  # another process may have written it while we waited
        if X is not None:
            return X
        source_id = _source_id(dataset)
        t0 = time.perf_counter()
        X, found = _from_cached(dataset, encoder, source_id) if source_id else (None, None)
        pdir = _partial_dir(npy)
        P, resumed = _load_partials(pdir, len(dataset), encoder.dim)
        if X is None:
            X, found = P, resumed.copy()
        else:
            resumed &= ~found
            X[resumed] = P[resumed]
            found |= resumed
        missing = np.flatnonzero(~found)
        if len(missing):

            def keep_chunk(start: int, stop: int, rows: np.ndarray) -> None:
                if stop < len(missing):  # the last chunk is assembled right away
                    atomic_write(pdir / f"rows-{missing[start]:09d}-{stop - start}.npz",
                                 lambda f: np.savez(f, rows=missing[start:stop], X=rows))

            sub = dataset if len(missing) == len(dataset) else dataset.subset(missing)
            X[missing] = extract(sub, encoder, batch_size, progress, num_workers, num_threads,
                                 on_chunk=keep_chunk, chunk_size=chunk_size)
        n_cached, n_resumed = int(found.sum() - resumed.sum()), int(resumed.sum())
        if len(missing) == len(dataset):
            how = "extracted"
        elif n_cached == len(dataset):
            how = "assembled from cached entries"
        else:
            how = ", ".join(f"{k} {what}" for k, what in [(n_cached, "rows from cached entries"),
                                                          (n_resumed, "resumed from finished chunks"),
                                                          (len(missing), "extracted")] if k)
        dt = time.perf_counter() - t0
        _save(npy, X, dict(expect, how=how, seconds=round(dt, 2), items_per_s=round(len(X) / max(dt, 1e-9), 1),
                           batch_size=batch_size or encoder.default_batch_size, torch=torch.__version__,
                           runtime=getattr(encoder, "active_runtime", "torch") if len(missing) else None,
                           created=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                           source_id=source_id, items=list(dataset.items) if source_id else None))
        shutil.rmtree(pdir, ignore_errors=True)
    return X


def _texts_key(texts: list[str]) -> str:
    h = hashlib.sha256()
    for t in texts:
        b = t.encode("utf-8")
        h.update(len(b).to_bytes(8, "little"))
        h.update(b)
    return h.hexdigest()


def _texts_from_cached(uniques: pd.Index, encoder: Encoder) -> tuple[np.ndarray, np.ndarray]:
    """Rows of the distinct texts ``uniques`` found in cached text entries of the same encoder.

    Returns ``(X float32 (len(uniques), dim), found bool)``; an entry contributes when its
    metadata lists its texts (entries written since texts are listed, or listed on a later hit)."""
    X = np.zeros((len(uniques), encoder.dim), dtype=np.float32)
    found = np.zeros(len(uniques), dtype=bool)
    d = embeddings_dir()
    for js in sorted(d.glob(f"texts-{_slug(encoder.name)}-*.json")) if d.is_dir() else []:
        if found.all():
            break
        try:
            meta = json.loads(js.read_text())
            listed = meta.get("texts")
            if (meta.get("format") != CACHE_FORMAT or meta.get("kind") != "texts"
                    or meta.get("cache_key") != encoder.cache_key or not listed
                    or _texts_key(listed) != meta.get("texts_sha256")):
                continue
            codes, distinct = pd.factorize(pd.Index(listed, dtype=object))
            _, first = np.unique(codes, return_index=True)  # the entry's first row of each distinct text
            src = uniques.get_indexer(distinct)
            at, src = first[src >= 0], src[src >= 0]
            use = ~found[src]
            if not use.any():
                continue
            expect = {k: meta[k] for k in ("format", "kind", "texts_sha256", "n", "encoder", "cache_key")}
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                C = _load(js.with_suffix(".npy"), expect, (meta["n"], encoder.dim))
            if C is not None:
                X[src[use]] = C[at[use]]
                found[src[use]] = True
        except Exception:  # noqa: BLE001 - an unusable candidate is skipped
            continue
    return X, found


def _add_texts(npy: Path, texts: list[str]) -> None:
    """List the texts in the metadata of an entry written without them, so later entries reuse its rows."""
    js = npy.with_suffix(".json")
    try:
        meta = json.loads(js.read_text())
        if not meta.get("texts"):
            _write_meta(js, dict(meta, texts=texts))
    except Exception:  # noqa: BLE001 - best effort (e.g. read-only cache)
        pass


def embed_texts(texts: Sequence[str], encoder_name: str | Encoder = "minilm", batch_size: int | None = None,
                progress: bool = True, device: str = "cpu", cache: bool = True) -> np.ndarray:
    """Text embeddings, cached by a hash of the texts (in order) and the encoder's ``cache_key``.

    Texts already embedded in other cached entries of the same encoder are reused, and a text
    repeated in ``texts`` is encoded once: only texts no entry holds are encoded.
    Returns float32 (n, encoder.dim); MiniLM / openclip / lit-fashion outputs are L2-normalised.
    """
    if isinstance(texts, str):
        raise TypeError("embed_texts expects a list of strings, got a single str: wrap it in [ ]")
    texts = list(texts)
    bad = [i for i, t in enumerate(texts) if not isinstance(t, str)]
    if bad:
        raise TypeError(f"embed_texts: items {bad[:5]} are not str (e.g. {type(texts[bad[0]]).__name__}); "
                        f"replace missing titles by '' first")
    encoder = get_encoder(encoder_name, device=device)
    if "text" not in encoder.modality:
        raise ValueError(f"encoder {encoder.name!r} is an {encoder.modality} encoder: embed_texts() needs a text "
                         f"encoder (minilm, openclip:*, lit-fashion)")
    base = getattr(encoder, "base_text_encoder", None)
    if base is not None:
        return encoder.transform_text_features(
            embed_texts(texts, base, batch_size=batch_size, progress=progress, device=device, cache=cache))
    if not texts:
        return np.zeros((0, encoder.dim), np.float32)

    def compute(todo: list[str]) -> np.ndarray:
        bs = int(batch_size or encoder.default_batch_size)
        chunk = max(bs, 1024)
        out = []
        with tqdm(total=len(todo), unit="text", desc=f"{encoder.name} texts",
                  disable=not progress or len(todo) <= chunk) as bar:
            for s in range(0, len(todo), chunk):
                out.append(encoder.encode_texts(todo[s:s + chunk], batch_size=bs))
                bar.update(len(out[-1]))
        return np.ascontiguousarray(np.concatenate(out), dtype=np.float32)

    if not cache:
        return compute(texts)
    expect = {"format": CACHE_FORMAT, "kind": "texts", "texts_sha256": _texts_key(texts), "n": len(texts),
              "encoder": encoder.name, "cache_key": encoder.cache_key}
    key = hashlib.sha256(json.dumps(expect, sort_keys=True).encode()).hexdigest()[:16]
    npy = embeddings_dir() / f"texts-{_slug(encoder.name)}-{len(texts)}-{key}.npy"
    shape = (len(texts), encoder.dim)
    X = _load(npy, expect, shape)
    if X is not None:
        _add_texts(npy, texts)
        return X
    with file_lock(npy):
        X = _load(npy, expect, shape)
        if X is not None:
            return X
        t0 = time.perf_counter()
        codes, uniques = pd.factorize(pd.Index(texts, dtype=object))
        U, found = _texts_from_cached(uniques, encoder)
        new = np.flatnonzero(~found)
        if len(new):
            U[new] = compute(list(uniques[new]))
        X = U[codes]
        dt = time.perf_counter() - t0
        how = "encoded" if len(new) == len(texts) else f"{len(texts) - len(new)} rows from cached entries or repeats, {len(new)} encoded"
        _save(npy, X, dict(expect, how=how, seconds=round(dt, 2), items_per_s=round(len(X) / max(dt, 1e-9), 1),
                           first_texts=texts[:3], texts=texts,
                           created=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())))
    return X
