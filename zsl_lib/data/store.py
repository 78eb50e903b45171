"""A sharded, resumable embedding store: embeddings of a collection cut into deterministic shards.

Layout of a store folder ``STORE``::

    STORE/manifest.json               {"format": "zsl-store/1", "encoder", "preprocess", "dim",
                                       "dtype": "float32", "shard_size", "n_items", "n_shards",
                                       "order", "source": {...}, "stats": {...}}
    STORE/items.parquet               every planned item in store order: id, path, label
    STORE/shards/emb_{i:05d}.npy      float32 (rows, dim): the embeddings of shard i
    STORE/shards/meta_{i:05d}.parquet the rows' id (str), path (str), label (int or str, nullable)
    STORE/shards/done_{i:05d}.json    written LAST: {"rows", "sha256" (of the .npy file's bytes),
                                       "meta_sha256", "plan": {encoder, preprocess, dim, shard_size,
                                       items_fingerprint, source_fingerprint}, "seconds": {"read",
                                       "forward", "write"}, "images_per_s", "worker",
                                       "skipped": [[path, reason], ...]}

Shard ``i`` holds items ``[i*S, (i+1)*S)`` of the item list in store order (``S`` =
``shard_size``; the order is the one given to :meth:`Store.create`, stated in the manifest's
``order``), less any unreadable image skipped with ``bad_images="skip"`` (listed in the marker).
A shard is done when its marker exists and agrees with its files: the ``.npy`` size matches its
header and the marker's row count, the meta has as many rows, and the file's SHA-256 equals the
marker's; anything else (no marker, a truncated or rewritten file) is missing and is extracted
again by the next run. Every file is written atomically (temporary file + ``os.replace``).
A marker also names the plan it was written under (``plan``), so a shard is never counted done in
a store of another encoder, and a store whose manifest was deleted can be rebuilt by rerunning
the same ``zsl-lab embed`` command (:meth:`Store.create`).

Verification is full once per process: the first check of a shard reads and hashes its files;
later checks in the same process compare each file's (size, mtime_ns, ctime_ns, inode) with the
ones seen then and hash again only when one changed (a truncated, rewritten or replaced file).

Item paths are absolute (as the source gave them), and the item-list fingerprint hashes them: a
store of a moved data mirror or image folder is a new plan, extracted again. Paths relative to a
source root are not used because (i) the paths are the store's data, not only its key: they are in
``items.parquet`` and in every shard meta under the marker checksums, so a moved store resumed
under a relative key would hold old-location paths beside new shards read from the new place
(doing it right is a format change: a recorded ``source.root``, relative ``path`` columns written
by ``encoders.distribute.item_frame``, resolved on read); (ii) only registered datasets have a
path-free content guard (the archive checksum); an image folder's content fingerprint also hashes
absolute paths, and a CSV source has none (its fingerprint is its paths and labels), so there a
relative key would let other images under the same names resume a store.

Readers memory-map shards (:meth:`Store.shard`) and walk the store in pieces
(:meth:`Store.iter_chunks`); :meth:`Store.to_array` concatenates everything for data that fits.
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time
import warnings
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd

from zsl_lib.data.base import FeatureDataset, fingerprint_of
from zsl_lib.fileio import atomic_write, atomic_write_json, file_lock, hash_file
from zsl_lib.validation import check_int

FORMAT = "zsl-store/1"
DTYPE = "float32"
DEFAULT_SHARD_SIZE = 10_000
DEFAULT_ORDER = "as given (registered datasets: their official order; folders: sorted class, then file)"


def default_worker() -> str:
    """``hostname/pid`` of this process (the ``worker`` of a done marker)."""
    return f"{socket.gethostname()}/{os.getpid()}"


def _items_frame(items) -> pd.DataFrame:
    """``items`` (a DataFrame or a dict / list of records with ``id``, ``path`` and optional
    ``label``) as a frame with those three columns; ids must be unique strings."""
    df = pd.DataFrame(items).copy()
    if "path" not in df.columns:
        raise ValueError(f"store items: need a 'path' column (and optional 'id', 'label'), got {list(df.columns)}")
    if len(df) == 0:
        raise ValueError("store items: the collection is empty (no item to embed)")
    if "id" not in df.columns:
        df["id"] = df["path"]
    if "label" not in df.columns:
        df["label"] = None
    df = df[["id", "path", "label"]].reset_index(drop=True)
    df["id"] = df["id"].astype(str)
    df["path"] = df["path"].astype(str)
    dup = df["id"].duplicated()
    if dup.any():
        raise ValueError(f"store items: {int(dup.sum())} duplicate id(s), e.g. {df['id'][dup].iloc[0]!r}; ids must be unique")
    return df


def _store_files(path: Path) -> str:
    """The store files in folder ``path`` besides a manifest, in words ("" when there are none)."""
    path = Path(path)
    if not path.is_dir():
        return ""
    shards = path / "shards"
    n_emb = len(list(shards.glob("emb_*.npy"))) if shards.is_dir() else 0
    n_done = len(list(shards.glob("done_*.json"))) if shards.is_dir() else 0
    parts = (["items.parquet"] if (path / "items.parquet").is_file() else []) + (
        [f"{n_emb} shard file(s) in shards/, {n_done} with a done marker"] if n_emb or n_done else [])
    return ", ".join(parts)


def items_fingerprint(df: pd.DataFrame) -> str:
    """Hash of the item ids, paths and labels in order (the identity of a store's plan: a store
    reopened with relabelled items is refused, not served with its old labels)."""
    return fingerprint_of(df["id"].to_numpy().astype(str), df["path"].to_numpy().astype(str),
                          df["label"].astype(str).to_numpy())


PLAN_KEYS = ("encoder", "preprocess", "dim", "shard_size", "items_fingerprint", "source_fingerprint")
PLAN_WORDS = {"encoder": "encoder", "preprocess": "preprocessing", "dim": "dimension", "shard_size": "shard size",
              "items_fingerprint": "item list (ids, paths, labels)", "source_fingerprint": "source content"}


def plan_of(manifest: dict) -> dict:
    """What a store's numbers depend on (recorded in every done marker): encoder, preprocessing,
    dimension, shard size, item list and source content fingerprints."""
    plan = {k: manifest.get(k) for k in PLAN_KEYS[:-1]}
    plan["source_fingerprint"] = (manifest.get("source") or {}).get("fingerprint")
    return plan


def _stamp(path: Path) -> tuple[int, int, int, int]:
    """(size, mtime_ns, ctime_ns, inode) of a file: any write, truncation or replacement changes one."""
    st = os.stat(path)
    return st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino


_VERIFIED: dict[tuple, dict] = {}  # this process's fully checked markers, keyed by their files' stamps
_VERIFIED_LOCK = threading.Lock()


class StoreError(ValueError):
    """A store that cannot be used as asked (another encoder, other items, incomplete)."""


class Store:
    """A store folder (see the module docstring). Create with :meth:`create`, open with :meth:`open`."""

    def __init__(self, path: str | Path, manifest: dict):
        self.path = Path(path)
        self.manifest = manifest

    # ---- creation / opening ------------------------------------------------------------------
    @classmethod
    def create(cls, path: str | Path, *, encoder: str, dim: int, items, shard_size: int = DEFAULT_SHARD_SIZE,
               preprocess: str = "", source: dict | None = None, class_names: list[str] | None = None,
               order: str = DEFAULT_ORDER) -> Store:
        """Plan a store at ``path`` for ``items`` embedded by ``encoder`` (``dim`` features).

        If ``path`` already holds a store of the same encoder, preprocessing, shard size and items,
        it is opened as is (a rerun resumes it); a store of another encoder, preprocessing, shard
        size or item list is refused (StoreError): one store holds one encoder's numbers.

        A store folder whose ``manifest.json`` was deleted is recovered when its ``items.parquet``
        plans the same items: the manifest is rebuilt from this call's plan; a done marker that
        records another plan refuses the recovery (as a manifest would), one that records none
        (written before plans were recorded) is removed, so its shard is extracted again; the
        others count only once their checksums verify (:meth:`marker`), like any done shard.
        """
        path = Path(path).expanduser()
        check_int("shard_size", shard_size, minimum=1)
        check_int("dim", dim, minimum=1)
        df = _items_frame(items)
        n = len(df)
        n_shards = -(-n // shard_size)
        manifest = {
            "format": FORMAT, "encoder": str(encoder), "preprocess": str(preprocess), "dim": int(dim),
            "dtype": DTYPE, "shard_size": int(shard_size), "n_items": n, "n_shards": n_shards,
            "order": order, "items_fingerprint": items_fingerprint(df),
            "class_names": list(class_names) if class_names is not None else None,
            "source": dict(source or {}), "stats": {},
        }
        if (path / "manifest.json").exists():
            old = cls.open(path)
            m = old.manifest
            for key, what in [("encoder", "encoder"), ("preprocess", "preprocessing"), ("dim", "dimension"),
                              ("shard_size", "shard size"), ("items_fingerprint", "item list (ids, paths, labels)"),
                              ("class_names", "class names"), ("source_fingerprint", "source content")]:
                if key == "source_fingerprint":
                    was, now = (m.get("source") or {}).get("fingerprint"), manifest["source"].get("fingerprint")
                    if was is None or now is None or was == now:
                        continue
                    raise StoreError(
                        f"store {path} was made from other file contents (source fingerprint {was!r}, now {now!r}): "
                        "images changed under the same names (an image folder's fingerprint also holds its absolute "
                        "paths, so a moved folder counts as changed); write to another --out folder or delete the store")
                if key == "class_names" and (m.get(key) is None or manifest[key] is None):
                    continue  # class names not given on one side: nothing to compare
                if m.get(key) != manifest[key]:
                    hint = ("; pass --shard-size " + str(m.get("shard_size"))) if key == "shard_size" else ""
                    raise StoreError(
                        f"store {path} was made with {what} {m.get(key)!r}, not {manifest[key]!r}: a store holds "
                        f"one encoder's embeddings of one collection; write to another --out folder{hint}"
                    )
            return old
        if _store_files(path):
            return cls._recover(path, manifest, df)
        if path.exists() and any(path.iterdir()):
            raise StoreError(f"store {path}: the folder exists, is not empty and has no manifest.json; choose an empty or new folder")
        (path / "shards").mkdir(parents=True, exist_ok=True)
        atomic_write(path / "items.parquet", lambda f: df.to_parquet(f, index=False))
        atomic_write_json(path / "manifest.json", manifest)
        return cls(path, manifest)

    @classmethod
    def _recover(cls, path: Path, manifest: dict, df: pd.DataFrame) -> Store:
        """Rebuild the deleted manifest of the store folder ``path`` from this plan (see :meth:`create`)."""
        fix = "write to another --out folder, or delete this folder to start again"
        try:
            saved = _items_frame(pd.read_parquet(path / "items.parquet"))
        except Exception as e:  # noqa: BLE001 - missing or unreadable: the plan of the shards is unknown
            raise StoreError(f"store {path}: manifest.json is missing and items.parquet cannot be read "
                             f"({type(e).__name__}: {e}), so the plan of the shards there is unknown; {fix}") from None
        if items_fingerprint(saved) != manifest["items_fingerprint"]:
            raise StoreError(f"store {path}: manifest.json is missing and its items.parquet plans another item list "
                             f"({len(saved)} items, this command {len(df)}): its shards are not this collection's; {fix}")
        plan, dropped = plan_of(manifest), []
        for done in sorted((path / "shards").glob("done_*.json")):
            try:
                recorded = json.loads(done.read_text()).get("plan")
                i = int(done.stem.split("_", 1)[1])
            except Exception:  # noqa: BLE001 - an unreadable marker marks nothing done
                recorded, i = None, None
            if recorded is None or i is None or i >= manifest["n_shards"]:
                done.unlink()  # no plan to check it against: its shard is extracted again
                dropped.append(done.name)
                continue
            for k in PLAN_KEYS:
                was, now = recorded.get(k), plan[k]
                if was != now and not (k == "source_fingerprint" and (was is None or now is None)):
                    hint = f"; pass --shard-size {was}" if k == "shard_size" else ""
                    raise StoreError(f"store {path}: manifest.json is missing and shard {i}'s done marker records "
                                     f"{PLAN_WORDS[k]} {was!r}, not {now!r}: the store there holds other numbers; "
                                     f"rerun with the arguments that made it{hint}, or {fix}")
        (path / "shards").mkdir(parents=True, exist_ok=True)
        manifest = dict(manifest, recovered={"manifest": "rebuilt from items.parquet and the plan of the rerun",
                                             "markers_removed": dropped})
        atomic_write_json(path / "manifest.json", manifest)
        if dropped:
            warnings.warn(f"store {path}: manifest.json was missing; rebuilt it, and removed {len(dropped)} done "
                          "marker(s) that record no plan (their shards are extracted again)", stacklevel=3)
        return cls(path, manifest)

    @classmethod
    def open(cls, path: str | Path) -> Store:
        """The store at ``path`` (FileNotFoundError / StoreError when it is not one)."""
        path = Path(path).expanduser()
        mf = path / "manifest.json"
        if not mf.is_file():
            found = _store_files(path)
            if found:
                raise StoreError(
                    f"store {path}: manifest.json is missing, but the folder holds a store's files ({found}); "
                    "without the manifest the encoder of its embeddings is unknown, so it cannot be read. To "
                    f"recover, rerun the zsl-lab embed command that made it (same SOURCE, --encoder and --shard-size, "
                    f"--out {path}): it rebuilds the manifest from items.parquet when the plan agrees, keeps the "
                    "done shards whose markers name the same plan and whose checksums verify, and extracts the rest")
            raise FileNotFoundError(f"store {path}: no manifest.json (not a store made by zsl-lab embed)")
        manifest = json.loads(mf.read_text())
        if manifest.get("format") != FORMAT:
            raise StoreError(f"store {path}: format {manifest.get('format')!r}, expected {FORMAT!r}")
        return cls(path, manifest)

    @staticmethod
    def is_store(path: str | Path) -> bool:
        """True when ``path`` is a folder with a store manifest, or with a store's files and no
        manifest (:meth:`open` then says what is missing and how to recover)."""
        path = Path(path).expanduser()
        return (path / "manifest.json").is_file() or bool(_store_files(path))

    # ---- properties --------------------------------------------------------------------------
    @property
    def encoder(self) -> str:
        return self.manifest["encoder"]

    @property
    def dim(self) -> int:
        return int(self.manifest["dim"])

    @property
    def shard_size(self) -> int:
        return int(self.manifest["shard_size"])

    @property
    def n_shards(self) -> int:
        return int(self.manifest["n_shards"])

    @property
    def n_items(self) -> int:
        return int(self.manifest["n_items"])

    def emb_path(self, i: int) -> Path:
        return self.path / "shards" / f"emb_{i:05d}.npy"

    def meta_path(self, i: int) -> Path:
        return self.path / "shards" / f"meta_{i:05d}.parquet"

    def done_path(self, i: int) -> Path:
        return self.path / "shards" / f"done_{i:05d}.json"

    def shard_range(self, i: int) -> tuple[int, int]:
        """Positions ``[start, stop)`` of shard ``i`` in the item list."""
        if not 0 <= i < self.n_shards:
            raise IndexError(f"shard {i} out of range: the store has {self.n_shards} shards")
        return i * self.shard_size, min((i + 1) * self.shard_size, self.n_items)

    def items(self) -> pd.DataFrame:
        """Every planned item (``id``, ``path``, ``label``) in store order (read once per opened
        store: the plan never changes under a manifest, and reading it per shard was quadratic)."""
        if getattr(self, "_items", None) is None:
            self._items = pd.read_parquet(self.path / "items.parquet")
        return self._items

    def shard_items(self, i: int) -> pd.DataFrame:
        """The planned items of shard ``i``."""
        a, b = self.shard_range(i)
        return self.items().iloc[a:b].reset_index(drop=True)

    # ---- done markers ------------------------------------------------------------------------
    def marker(self, i: int) -> dict | None:
        """Shard ``i``'s done marker if it exists and agrees with its files and with this store's
        plan, else None.

        The first check of a shard in this process hashes its files (SHA-256 of the ``.npy`` and
        of the meta; a shard this process wrote was hashed when written); a later check reuses that result while each of the three files keeps its
        size, mtime_ns, ctime_ns and inode, so reading a shard again costs a few ``stat`` calls,
        and a truncated, rewritten or replaced file is hashed again (and refused if it differs)."""
        try:
            key = self._verified_key(i)
        except (OSError, IndexError):  # a file is missing: the shard is missing
            return None
        with _VERIFIED_LOCK:
            m = _VERIFIED.get(key)
        if m is None:
            m = self._check_files(i, *key[2:4])
            if m is None:
                return None
            with _VERIFIED_LOCK:
                _VERIFIED[key] = m
        plan = m.get("plan")  # markers written before plans were recorded have none
        if plan is not None and plan != plan_of(self.manifest):
            return None
        return dict(m)

    def _verified_key(self, i: int) -> tuple:
        """Key of shard ``i`` in this process's verified markers: the marker's path, the expected
        dimension and item range, and the (size, mtime_ns, ctime_ns, inode) of its three files."""
        a, b = self.shard_range(i)
        files = (self.done_path(i), self.emb_path(i), self.meta_path(i))
        return (str(files[0].resolve()), self.dim, a, b, *map(_stamp, files))

    def _check_files(self, i: int, a: int, b: int) -> dict | None:
        """The marker of shard ``i`` (items ``[a, b)``) if its files agree with it (read whole)."""
        try:
            m = json.loads(self.done_path(i).read_text())
            rows = int(m["rows"])
            if rows + len(m.get("skipped", [])) != b - a:
                return None
            npy = self.emb_path(i)
            X = np.load(npy, mmap_mode="r", allow_pickle=False)
            if X.dtype != np.float32 or X.shape != (rows, self.dim):
                return None
            if npy.stat().st_size != X.offset + X.nbytes:  # a truncated or padded file
                return None
            if hash_file(npy, memo=False) != m["sha256"]:
                return None
            if len(pd.read_parquet(self.meta_path(i), columns=["id"])) != rows:
                return None
            if hash_file(self.meta_path(i), memo=False) != m.get("meta_sha256"):  # a rewritten or swapped meta
                return None
            return m
        except Exception:  # noqa: BLE001 - unreadable files: the shard is missing
            return None

    def recorded_shards(self) -> list[dict | None]:
        """Each shard's ``rows``, ``sha256`` and ``meta_sha256`` as its done marker records them
        (None: no readable marker). Reads only the markers, not the shard files (cheap at any
        size); whether a file still agrees with its marker is checked when the shard is read."""
        out = []
        for i in range(self.n_shards):
            try:
                m = json.loads(self.done_path(i).read_text())
                out.append({"rows": int(m["rows"]), "sha256": m["sha256"], "meta_sha256": m.get("meta_sha256")})
            except Exception:  # noqa: BLE001 - no marker or an unreadable one: not done
                out.append(None)
        return out

    def content_identity(self) -> dict:
        """What anything built from this store (an index) depends on: its path, plan (encoder,
        preprocessing, dimension, shard size, item-list fingerprint), item count and every shard's
        rows and checksums, from verified markers (StoreError if a shard is not done). Compare a
        saved identity with the store as it is now with :meth:`changes_since`."""
        shards = []
        for i in range(self.n_shards):
            m = self._require(i)
            shards.append({"rows": int(m["rows"]), "sha256": m["sha256"], "meta_sha256": m.get("meta_sha256")})
        return {"path": str(self.path.resolve()), **plan_of(self.manifest), "n_items": self.n_items,
                "n_shards": self.n_shards, "shards": shards}

    def changes_since(self, identity: dict) -> list[str]:
        """What differs between a :meth:`content_identity` saved earlier and this store now, in
        words (empty: the same items and the same shard contents). Reads only the markers."""
        changes = []
        current = {**plan_of(self.manifest), "n_items": self.n_items}
        for key in ("encoder", "preprocess", "dim", "n_items", "items_fingerprint", "source_fingerprint"):
            was, now = identity.get(key), current[key]
            if key == "source_fingerprint" and (was is None or now is None):
                continue
            if was != now:
                changes.append(f"{PLAN_WORDS.get(key, 'item count')} {was!r} -> {now!r}")
        then, now = identity.get("shards") or [], self.recorded_shards()
        if len(then) != len(now):
            return [*changes, f"{len(then)} shards -> {len(now)}"]
        pairs = list(enumerate(zip(then, now)))
        for what, differs in [
            ("are not done now", lambda r, s: s is None),
            ("hold other row counts", lambda r, s: s is not None and r["rows"] != s["rows"]),
            ("hold other embeddings (checksums differ)", lambda r, s: s is not None and r["sha256"] != s["sha256"]),
            ("hold other rows (ids, paths, labels)", lambda r, s: s is not None and r.get("meta_sha256") != s["meta_sha256"]),
        ]:
            idx = [i for i, (r, s) in pairs if differs(r, s)]
            if idx:
                changes.append(f"shard(s) {idx[:10]}{' ...' if len(idx) > 10 else ''} {what}")
        return changes

    def done_shards(self) -> list[int]:
        """Shards whose marker exists and agrees with the files."""
        return [i for i in range(self.n_shards) if self.marker(i) is not None]

    def missing_shards(self) -> list[int]:
        """Shards to (re)extract: no marker, or files that disagree with it (truncated, rewritten)."""
        done = set(self.done_shards())
        return [i for i in range(self.n_shards) if i not in done]

    def is_complete(self) -> bool:
        return not self.missing_shards()

    def write_shard(self, i: int, X: np.ndarray, meta: pd.DataFrame, *, seconds: dict | None = None,
                    worker: str | None = None, skipped: list | None = None) -> dict:
        """Write shard ``i`` (embeddings, meta, then its done marker last); returns the marker.

        ``meta``: the kept rows' ``id``, ``path``, ``label``; ``skipped``: ``[path, reason]`` of
        planned items left out (unreadable images)."""
        X = np.ascontiguousarray(X, dtype=np.float32)
        a, b = self.shard_range(i)
        skipped = [list(map(str, s)) for s in (skipped or [])]
        if X.ndim != 2 or X.shape[1] != self.dim or len(X) != len(meta) or len(X) + len(skipped) != b - a:
            raise ValueError(f"shard {i}: {X.shape} embeddings, {len(meta)} meta rows and {len(skipped)} skipped "
                             f"for {b - a} planned items of dim {self.dim}")
        seconds = dict(seconds or {})
        with file_lock(self.done_path(i)):  # two writers of one shard: one after the other, never mixed
            return self._write_shard_locked(i, X, meta, seconds, worker, skipped)

    def _write_shard_locked(self, i, X, meta, seconds, worker, skipped) -> dict:
        t0 = time.perf_counter()
        self.done_path(i).unlink(missing_ok=True)  # a redone shard is not done until its new marker
        npy = self.emb_path(i)
        atomic_write(npy, lambda f: np.save(f, X, allow_pickle=False))
        # an empty shard (every image skipped) keeps the item list's column types: untyped empty
        # columns turned every label of the store to Float64 when the shards' metas were joined
        meta = _items_frame(meta) if len(meta) else self.shard_items(i).iloc[:0].reset_index(drop=True)
        atomic_write(self.meta_path(i), lambda f: meta.to_parquet(f, index=False))
        seconds["write"] = seconds.get("write", 0.0) + time.perf_counter() - t0
        busy = sum(seconds.get(k, 0.0) for k in ("read", "forward", "write"))
        marker = {
            "rows": int(len(X)), "sha256": hash_file(npy, memo=False),
            "meta_sha256": hash_file(self.meta_path(i), memo=False), "plan": plan_of(self.manifest),
            "seconds": {k: round(float(v), 4) for k, v in seconds.items()},
            "images_per_s": round(len(X) / busy, 2) if busy > 0 else None,
            "worker": worker or default_worker(), "skipped": skipped,
        }
        atomic_write_json(self.done_path(i), marker)
        key = self._verified_key(i)
        with _VERIFIED_LOCK:  # just hashed, under the shard's lock: a read in this process needs no rehash
            _VERIFIED[key] = dict(marker)
        return marker

    def update_stats(self, stats: dict) -> None:
        """Merge ``stats`` into the manifest's ``stats`` (written atomically)."""
        self.manifest = dict(self.manifest, stats={**self.manifest.get("stats", {}), **stats})
        atomic_write_json(self.path / "manifest.json", self.manifest)

    def summary_stats(self) -> dict:
        """Totals over the done markers: rows, skipped, per-stage seconds, images/s, per worker."""
        per_worker: dict[str, dict] = {}
        total = {"read": 0.0, "forward": 0.0, "write": 0.0}
        rows = skipped = 0
        for i in range(self.n_shards):
            m = self.marker(i)
            if m is None:
                continue
            rows += m["rows"]
            skipped += len(m.get("skipped", []))
            w = per_worker.setdefault(str(m["worker"]), {"shards": 0, "rows": 0, "busy_s": 0.0})
            w["shards"] += 1
            w["rows"] += m["rows"]
            for k in total:
                total[k] += float(m["seconds"].get(k, 0.0))
                w["busy_s"] += float(m["seconds"].get(k, 0.0))
        for w in per_worker.values():
            w["images_per_s"] = round(w["rows"] / w["busy_s"], 2) if w["busy_s"] > 0 else None
            w["busy_s"] = round(w["busy_s"], 3)
        return {"rows": rows, "skipped": skipped, "seconds": {k: round(v, 3) for k, v in total.items()},
                "workers": per_worker}

    # ---- reading -----------------------------------------------------------------------------
    def _require(self, i: int) -> dict:
        m = self.marker(i)
        if m is None:
            raise StoreError(f"store {self.path}: shard {i} is not done (missing or damaged); run zsl-lab embed "
                             "again with the same arguments to extract it")
        return m

    def shard(self, i: int) -> np.ndarray:
        """Shard ``i``'s embeddings, memory-mapped read-only (float32 (rows, dim))."""
        self._require(i)
        return np.load(self.emb_path(i), mmap_mode="r", allow_pickle=False)

    def shard_meta(self, i: int) -> pd.DataFrame:
        """Shard ``i``'s rows: ``id``, ``path``, ``label``."""
        self._require(i)
        return pd.read_parquet(self.meta_path(i))

    def __len__(self) -> int:
        """Rows written (every done shard's rows; planned items less skipped ones once complete)."""
        return sum(self._require(i)["rows"] for i in range(self.n_shards))

    def iter_chunks(self, rows: int = 8192) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Yield ``(ids, X)`` pieces of at most ``rows`` rows, shard by shard, in store order; only
        one piece is in RAM at a time (shards are memory-mapped). Raises if a shard is not done."""
        check_int("rows", rows, minimum=1)
        missing = self.missing_shards()
        if missing:
            raise StoreError(f"store {self.path}: shards {missing[:10]} are not done; run zsl-lab embed again to finish it")
        for i in range(self.n_shards):
            X = np.load(self.emb_path(i), mmap_mode="r", allow_pickle=False)
            ids = pd.read_parquet(self.meta_path(i), columns=["id"])["id"].to_numpy().astype(str)
            for s in range(0, len(X), rows):
                yield ids[s:s + rows], np.array(X[s:s + rows])

    def to_array(self) -> np.ndarray:
        """Every embedding as one in-memory float32 (n, dim) array (for data that fits in RAM)."""
        missing = self.missing_shards()
        if missing:
            raise StoreError(f"store {self.path}: shards {missing[:10]} are not done; run zsl-lab embed again to finish it")
        parts = [np.load(self.emb_path(i), mmap_mode="r", allow_pickle=False) for i in range(self.n_shards)]
        return np.ascontiguousarray(np.concatenate(parts), dtype=np.float32) if parts else np.zeros((0, self.dim), np.float32)

    def meta(self) -> pd.DataFrame:
        """Every written row's ``id``, ``path``, ``label`` in store order."""
        for i in self.missing_shards()[:1]:
            self._require(i)
        return pd.concat([pd.read_parquet(self.meta_path(i)) for i in range(self.n_shards)], ignore_index=True)

    def memmap(self) -> np.ndarray:
        """The whole store as one array without reading it into RAM when it has a single shard
        (a memory map), else :meth:`to_array`."""
        return self.shard(0) if self.n_shards == 1 else self.to_array()

    def __repr__(self) -> str:
        return f"Store({str(self.path)!r}, encoder={self.encoder!r}, dim={self.dim}, shards={self.n_shards})"


def store_labels(store: Store) -> tuple[np.ndarray, list[str], pd.DataFrame]:
    """``(y int64 (n,), class_names, meta)`` of a complete store, without reading its embeddings.

    Labels come from the shard metas: integers index the manifest's ``class_names`` (or
    ``"0".."k"``), strings are mapped to sorted class names. Every item needs a label."""
    meta = store.meta()
    lab = meta["label"]
    if lab.isna().any():
        raise ValueError(f"store {store.path}: {int(lab.isna().sum())} item(s) have no label (e.g. "
                         f"{meta['path'][lab.isna()].iloc[0]}); user data needs a label per item")
    names = store.manifest.get("class_names")
    if lab.dtype.kind in "iu" or (lab.dtype == object and all(isinstance(v, (int, np.integer)) for v in lab)):
        y = lab.to_numpy().astype(np.int64)
        if names is None:
            names = [str(i) for i in range(int(y.max()) + 1)]
        if y.min() < 0 or y.max() >= len(names):
            raise ValueError(f"store {store.path}: labels {int(y.min())}..{int(y.max())} do not index its "
                             f"{len(names)} class names")
    else:
        names_arr, y = np.unique(lab.astype(str).to_numpy(), return_inverse=True)
        names = [str(c) for c in names_arr]
    if len(np.unique(y)) == 1:
        warnings.warn(f"store {store.path}: only one class ({names[int(y[0])]!r}); retrieval metrics are "
                      "trivially perfect", stacklevel=3)
    return y.astype(np.int64), list(names), meta


def store_fingerprint(store: Store) -> str:
    """Identity of a complete store's content: its item list, encoder and every shard's checksum."""
    return fingerprint_of("store", store.manifest["items_fingerprint"], store.encoder,
                          *[store.marker(i)["sha256"] for i in range(store.n_shards)])


def load_store(path: str | Path) -> FeatureDataset:
    """A complete store as a :class:`FeatureDataset` (user data of notebooks 01 and 04).

    ``X`` is memory-mapped when the store has one shard, else read into RAM; labels as
    :func:`store_labels` reads them."""
    store = Store.open(path)
    y, names, meta = store_labels(store)
    return FeatureDataset(
        name=f"store:{store.path.name}", split="all", X=store.memmap(), y=y, class_names=names,
        fingerprint=store_fingerprint(store), meta=meta, extra={"store": str(store.path), "encoder": store.encoder},
    )
