"""File helpers shared by every layer: atomic writes, file hashing, inter-process locks.

- :func:`atomic_write`: write through a temporary file in the same folder, fsync, then
  ``os.replace``; a failure leaves the previous file untouched and no temporary behind.
- :func:`atomic_write_json`: the same for a JSON document (sorted keys, one trailing newline).
- :func:`hash_file`: hex digest of a file, memoised in-process by (path, size, mtime).
- :func:`hash_bytes`: hex digest of in-memory bytes (fingerprints and cache keys).
- :func:`file_lock`: an inter-process lock next to a file (the ``filelock`` package, so it works
  on Linux, macOS and Windows).
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
import uuid
from collections.abc import Callable
from pathlib import Path

from filelock import FileLock


def atomic_write(path: str | Path, write: Callable, *, text: bool = False) -> Path:
    """Create or replace ``path`` atomically: ``write(fh)`` fills a temporary file first.

    ``text=True`` opens the temporary file in text mode (UTF-8), otherwise binary.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}")
    try:
        with open(tmp, "w" if text else "wb", **({"encoding": "utf-8"} if text else {})) as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def atomic_write_json(path: str | Path, data, *, indent: int = 1) -> Path:
    """Write ``data`` as JSON (sorted keys) to ``path`` atomically."""

    def write(fh):
        json.dump(data, fh, indent=indent, sort_keys=True)
        fh.write("\n")

    return atomic_write(path, write, text=True)


_HASH_MEMO: dict[tuple[str, str, int, int], str] = {}
_HASH_LOCK = threading.Lock()


def hash_file(path: str | Path, algorithm: str = "sha256", *, memo: bool = True) -> str:
    """Hex digest of a file (any ``hashlib`` algorithm), memoised by (path, size, mtime_ns).

    ``memo=False`` always reads the file (use it to re-check a file suspected of in-place damage
    that kept its size and modification time).
    """
    p = Path(path).resolve()
    st = p.stat()
    key = (str(p), algorithm, st.st_size, st.st_mtime_ns)
    if memo:
        with _HASH_LOCK:
            if key in _HASH_MEMO:
                return _HASH_MEMO[key]
    h = hashlib.new(algorithm)
    with open(p, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    digest = h.hexdigest()
    with _HASH_LOCK:
        _HASH_MEMO[key] = digest
    return digest


def hash_bytes(*chunks, algorithm: str = "sha256") -> str:
    """Hex digest (any ``hashlib`` algorithm) of the concatenated bytes-like ``chunks``."""
    h = hashlib.new(algorithm)
    for chunk in chunks:
        h.update(chunk)
    return h.hexdigest()


def file_lock(path: str | Path, timeout: float = -1) -> FileLock:
    """An inter-process lock guarding ``path`` (lock file ``<path>.lock`` beside it).

    Use as a context manager: ``with file_lock(p): ...``. ``timeout`` seconds (-1: wait forever).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    return FileLock(str(path.with_name(path.name + ".lock")), timeout=timeout)
