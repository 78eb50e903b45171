"""The dataset containers every loader returns and every encoder accepts.

* :class:`ImageDataset`: images (read lazily from files or zip members), integer labels, class
  names, optional per-item texts (titles) and a metadata frame. Encoders read pixels only through
  :meth:`ImageDataset.get_image`, and key their caches by :attr:`ImageDataset.fingerprint`.
* :class:`FeatureDataset`: precomputed features with single labels (``y``) or a multi-label
  indicator matrix (``Y``).
"""

from __future__ import annotations

import io
import threading
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np
import pandas as pd
from PIL import Image

from zsl_lib.data.registry import open_zip
from zsl_lib.fileio import hash_bytes


def fingerprint_of(*parts: object) -> str:
    """A short stable hash of the given parts (strings, numbers, arrays, paths).

    Arrays are hashed by their bytes and dtype; object arrays (e.g. ``Series.astype(str)``) by
    their values' ``repr`` and shape (their bytes are pointers: another hash in every process)."""
    chunks = []
    for p in parts:
        if isinstance(p, np.ndarray) and p.dtype == object:
            chunks += [repr(p.tolist()).encode(), repr(p.shape).encode(), b"object"]
        elif isinstance(p, np.ndarray):
            chunks += [np.ascontiguousarray(p).tobytes(), str(p.dtype).encode()]
        else:
            chunks.append(repr(p).encode())
        chunks.append(b"\x00")
    return hash_bytes(*chunks)[:16]


class ImageSource(Protocol):
    """Where image bytes come from: anything with a ``path`` and ``read(member) -> bytes``."""

    path: Path

    def read(self, member: str) -> bytes: ...


class ZipImageSource:
    """Reads images from members of one zip archive; thread-safe and picklable."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._local = threading.local()

    def _zip(self) -> zipfile.ZipFile:
        zf = getattr(self._local, "zf", None)
        if zf is None:
            zf = open_zip(self.path)
            self._local.zf = zf
        return zf

    def read(self, member: str) -> bytes:
        return self._zip().read(member)

    def __getstate__(self):
        return {"path": self.path}

    def __setstate__(self, state):
        self.path = state["path"]
        self._local = threading.local()


@dataclass
class ImageDataset:
    """A labelled image collection.

    Attributes
    ----------
    name, split : dataset name (``"cifar10"``) and split (``"train"``, ``"test"``, ``"val"``, ``"all"``).
    items : list of str, length n. A file path, or a zip member name when ``source`` is set.
    labels : int64 array (n,), index into ``class_names``; -1 where an item has no single label.
    class_names : list of str.
    fingerprint : str. Changes whenever the pixels or their order change (source file checksums +
        selected items); encoders key their caches by it.
    texts : optional list of str (n,), e.g. product titles.
    meta : optional DataFrame (n rows) with any further per-item columns.
    source : optional :class:`ImageSource` (e.g. :class:`ZipImageSource`) the ``items`` are read from.
    """

    name: str
    split: str
    items: list[str]
    labels: np.ndarray
    class_names: list[str]
    fingerprint: str
    texts: list[str] | None = None
    meta: pd.DataFrame | None = None
    source: ImageSource | None = None
    extra: dict = field(default_factory=dict)

    def __post_init__(self):
        self.labels = np.asarray(self.labels, dtype=np.int64)
        if len(self.items) != len(self.labels):
            raise ValueError(f"{self.name}: {len(self.items)} items but {len(self.labels)} labels")
        if len(self.items) == 0:
            raise ValueError(f"{self.name}/{self.split}: the dataset is empty (no images found)")

    def __len__(self) -> int:
        return len(self.items)

    def get_image(self, i: int) -> Image.Image:
        """Image ``i`` as an RGB PIL image (grey or palette images are converted to RGB)."""
        item = self.items[i]
        try:
            if self.source is not None:
                img = Image.open(io.BytesIO(self.source.read(item)))
            else:
                img = Image.open(item)
            img.load()
        except Exception as e:  # noqa: BLE001
            where = f"{self.source.path}:{item}" if self.source is not None else item
            raise ValueError(f"{self.name}: cannot read image {where}: {e}") from e
        return img if img.mode == "RGB" else img.convert("RGB")

    def subset(self, idx: Sequence[int] | np.ndarray, split: str | None = None) -> ImageDataset:
        """A new dataset with the items at ``idx`` (fingerprint updated)."""
        idx = np.asarray(idx, dtype=np.int64)
        return ImageDataset(
            name=self.name,
            split=split or self.split,
            items=[self.items[i] for i in idx],
            labels=self.labels[idx],
            class_names=list(self.class_names),
            fingerprint=fingerprint_of(self.fingerprint, idx),
            texts=[self.texts[i] for i in idx] if self.texts is not None else None,
            meta=self.meta.iloc[idx].reset_index(drop=True) if self.meta is not None else None,
            source=self.source,
            extra=dict(self.extra),
        )


@dataclass
class FeatureDataset:
    """Precomputed features. ``y`` (n,) int64 single labels, or ``Y`` (n, L) {0,1} multi-label."""

    name: str
    split: str
    X: np.ndarray
    class_names: list[str]
    y: np.ndarray | None = None
    Y: np.ndarray | None = None
    fingerprint: str = ""
    meta: pd.DataFrame | None = None
    extra: dict = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.X)


# A transform that turns a PIL image into whatever an encoder needs; used by encoders only.
ImageTransform = Callable[[Image.Image], "object"]
