"""CIFAR-10 and CIFAR-100 loaders.

Two forms of CIFAR-10 are understood:

* the official ``cifar-10-python.tar.gz`` (the pickles torchvision downloads), read directly from
  the archive without extracting it; images are served losslessly (PNG-encoded in memory);
* the mirror's JPEG-folder zips ``cifar10/cifar10-{train,test}.zip`` (``<split>/<class>/NNNN.jpg``),
  read lazily member by member through :class:`~zsl_lib.data.base.ZipImageSource`.

``format="auto"`` uses the official archive when it is in the data dir or the mirror, else the
JPEG zips when they are, else downloads the official archive. CIFAR-100 exists only in the
official format.

Class order is the official one (airplane, automobile, bird, cat, deer, dog, frog, horse, ship,
truck): the CIFAR ResNets' logits depend on it. Items are in a deterministic order: the pickles'
own order, or the sorted member names of the zips.
"""

from __future__ import annotations

import io
import pickle
import tarfile
import threading
from pathlib import Path

import numpy as np
from PIL import Image

from zsl_lib.data import registry
from zsl_lib.data._util import sample_per_class
from zsl_lib.data.base import ImageDataset, ZipImageSource, fingerprint_of
from zsl_lib.validation import check_choice

CIFAR10_CLASSES = [
    "airplane", "automobile", "bird", "cat", "deer",
    "dog", "frog", "horse", "ship", "truck",
]  # fmt: skip

_ARRAYS: dict[tuple, dict[str, np.ndarray]] = {}
_LOCK = threading.Lock()


def _read_tar_pickles(path: Path) -> dict[str, dict]:
    """All pickled batches of a CIFAR ``*.tar.gz``: {basename: unpickled dict with str keys}."""
    out = {}
    with tarfile.open(path, "r:*") as tf:
        for m in tf.getmembers():
            if not m.isfile():
                continue
            base = m.name.rsplit("/", 1)[-1]
            if base.startswith(("data_batch", "test_batch", "batches.meta")) or base in (
                "train",
                "test",
                "meta",
            ):
                raw = pickle.load(tf.extractfile(m), encoding="bytes")
                out[base] = {
                    (k.decode() if isinstance(k, bytes) else k): v for k, v in raw.items()
                }
    return out


def _to_hwc(data) -> np.ndarray:
    """CIFAR rows (n, 3072) uint8, channel-major -> (n, 32, 32, 3)."""
    arr = np.asarray(data, dtype=np.uint8)
    return arr.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)


class CifarArraySource:
    """Serves images of a CIFAR pickle archive as PNG bytes; member = ``"<batch>/<row>"``.

    Same interface as :class:`ZipImageSource` (``path``, ``read(member)``) so that
    :meth:`ImageDataset.get_image` works unchanged. Picklable (only the path travels); the arrays
    are decoded once per process.
    """

    def __init__(self, path: str | Path):
        self.path = Path(path)

    def _key(self) -> tuple:
        st = self.path.stat()
        return (str(self.path), st.st_size, st.st_mtime_ns)

    def prime(self, batches: dict[str, dict]) -> None:
        """Keep already-unpickled batches (saves decompressing the archive a second time)."""
        with _LOCK:
            _ARRAYS[self._key()] = {k: _to_hwc(v["data"]) for k, v in batches.items() if "data" in v}

    def arrays(self) -> dict[str, np.ndarray]:
        key = self._key()
        with _LOCK:
            if key not in _ARRAYS:
                batches = _read_tar_pickles(self.path)
                _ARRAYS[key] = {k: _to_hwc(v["data"]) for k, v in batches.items() if "data" in v}
            return _ARRAYS[key]

    def image_array(self, member: str) -> np.ndarray:
        batch, row = member.rsplit("/", 1)
        return self.arrays()[batch][int(row)]

    def read(self, member: str) -> bytes:
        buf = io.BytesIO()
        Image.fromarray(self.image_array(member)).save(buf, format="PNG")
        return buf.getvalue()

    def __getstate__(self):
        return {"path": self.path}

    def __setstate__(self, state):
        self.path = state["path"]


def _finish(ds: ImageDataset, limit_per_class, seed) -> ImageDataset:
    idx = sample_per_class(ds.labels, limit_per_class, seed)
    if idx is None:
        return ds
    n = len(ds)
    sub = ds.subset(idx)
    for k, v in sub.extra.items():  # per-item arrays in extra follow the selection
        if isinstance(v, np.ndarray) and len(v) == n:
            sub.extra[k] = v[idx]
    return sub


def _cifar10_pickle(split: str, path: Path) -> ImageDataset:
    batches = _read_tar_pickles(path)
    names = [f"data_batch_{i}" for i in range(1, 6)] if split == "train" else ["test_batch"]
    missing = [n for n in names if n not in batches]
    if missing:
        raise ValueError(f"{path}: not a CIFAR-10 python archive (missing {missing})")
    meta = batches.get("batches.meta", {})
    label_names = [
        n.decode() if isinstance(n, bytes) else n for n in meta.get("label_names", CIFAR10_CLASSES)
    ]
    if label_names != CIFAR10_CLASSES:
        raise ValueError(f"{path}: unexpected CIFAR-10 label names {label_names}")
    source = CifarArraySource(path)
    source.prime(batches)
    items, labels = [], []
    for n in names:
        lab = np.asarray(batches[n]["labels"], dtype=np.int64)
        items.extend(f"{n}/{i}" for i in range(len(lab)))
        labels.append(lab)
    return ImageDataset(
        name="cifar10",
        split=split,
        items=items,
        labels=np.concatenate(labels),
        class_names=list(CIFAR10_CLASSES),
        fingerprint=fingerprint_of("cifar10", split, "pickle", registry.file_checksum("cifar10", "cifar10/cifar-10-python.tar.gz")),
        source=source,
        extra={"format": "pickle", "file": str(path)},
    )


def _cifar10_jpeg(split: str, path: Path) -> ImageDataset:
    with registry.open_zip(path) as zf:
        names = sorted(
            n for n in zf.namelist() if n.lower().endswith((".jpg", ".jpeg", ".png")) and n.count("/") == 2
        )
    parts = [n.split("/") for n in names]
    bad = sorted({p[1] for p in parts} - set(CIFAR10_CLASSES))
    if bad or any(p[0] != split for p in parts):
        raise ValueError(
            f"{path}: expected members {split}/<class>/<file>.jpg with classes {CIFAR10_CLASSES}; "
            f"found unexpected folders {bad or sorted({p[0] for p in parts})}"
        )
    cls_index = {c: i for i, c in enumerate(CIFAR10_CLASSES)}
    labels = np.array([cls_index[p[1]] for p in parts], dtype=np.int64)
    relpath = f"cifar10/cifar10-{split}.zip"
    return ImageDataset(
        name="cifar10",
        split=split,
        items=names,
        labels=labels,
        class_names=list(CIFAR10_CLASSES),
        fingerprint=fingerprint_of("cifar10", split, "jpeg", registry.file_checksum("cifar10", relpath)),
        source=ZipImageSource(path),
        extra={"format": "jpeg", "file": str(path)},
    )


def load_cifar10(
    split: str = "train",
    limit_per_class: int | None = None,
    seed: int = 0,
    format: str = "auto",
) -> ImageDataset:
    """CIFAR-10 ``train`` (50,000) or ``test`` (10,000) as an :class:`ImageDataset`.

    Parameters
    ----------
    split : ``"train"`` or ``"test"``.
    limit_per_class : keep at most this many images per class, drawn at random with ``seed``
        (kept in their original order); None keeps all.
    format : ``"auto"`` (official pickles if present locally, else the mirror's JPEG zips, else
        download the pickles), ``"pickle"`` (official archive only) or ``"jpeg"`` (zips only).

    ``extra["format"]`` says which form was used; the fingerprint differs between the two.
    """
    check_choice("split", split, ["train", "test"], "cifar10")
    check_choice("format", format, ["auto", "pickle", "jpeg"], "cifar10")
    tar_rel = "cifar10/cifar-10-python.tar.gz"
    zip_rel = f"cifar10/cifar10-{split}.zip"
    if format == "auto":
        if registry.find_local("cifar10", tar_rel) is not None:
            format = "pickle"
        elif registry.find_local("cifar10", zip_rel) is not None:
            format = "jpeg"
        else:
            format = "pickle"
    if format == "pickle":
        ds = _cifar10_pickle(split, registry.fetch("cifar10", tar_rel))
    else:
        ds = _cifar10_jpeg(split, registry.fetch("cifar10", zip_rel))
    return _finish(ds, limit_per_class, seed)


def load_cifar100(
    split: str = "train",
    label_type: str = "fine",
    limit_per_class: int | None = None,
    seed: int = 0,
) -> ImageDataset:
    """CIFAR-100 ``train`` (50,000) / ``test`` (10,000) from the official ``cifar-100-python.tar.gz``.

    label_type : ``"fine"`` (100 classes) or ``"coarse"`` (20 superclasses); the other labelling
    is in ``extra["fine_labels"|"coarse_labels"]`` with names in ``extra[...names]``.
    """
    check_choice("split", split, ["train", "test"], "cifar100")
    check_choice("label_type", label_type, ["fine", "coarse"], "cifar100")
    rel = "cifar100/cifar-100-python.tar.gz"
    path = registry.fetch("cifar100", rel)
    batches = _read_tar_pickles(path)
    if split not in batches or "meta" not in batches:
        raise ValueError(f"{path}: not a CIFAR-100 python archive (needs members train, test, meta)")
    b, meta = batches[split], batches["meta"]

    def _names(key):
        return [n.decode() if isinstance(n, bytes) else n for n in meta[key]]

    source = CifarArraySource(path)
    source.prime(batches)
    fine = np.asarray(b["fine_labels"], dtype=np.int64)
    coarse = np.asarray(b["coarse_labels"], dtype=np.int64)
    ds = ImageDataset(
        name="cifar100",
        split=split,
        items=[f"{split}/{i}" for i in range(len(fine))],
        labels=fine if label_type == "fine" else coarse,
        class_names=_names("fine_label_names" if label_type == "fine" else "coarse_label_names"),
        fingerprint=fingerprint_of("cifar100", split, label_type, registry.file_checksum("cifar100", rel)),
        source=source,
        extra={
            "format": "pickle",
            "file": str(path),
            "fine_labels": fine,
            "coarse_labels": coarse,
            "fine_label_names": _names("fine_label_names"),
            "coarse_label_names": _names("coarse_label_names"),
        },
    )
    return _finish(ds, limit_per_class, seed)
