"""Loaders for a user's own data, so that every notebook can run on it through a parameter.

* ``image-folder``: ``root/<class>/<image>`` (``.jpg .jpeg .png .bmp .gif .webp .tif .tiff``, any
  case; one level of class folders, like torchvision's ImageFolder). Classes and items sorted.
* ``multilabel-csv``: a CSV with a header and columns ``path,keywords``; ``path`` relative to the
  CSV's folder (or ``root=``) or absolute; ``keywords`` separated by ``|`` or ``;`` (e.g.
  ``beach|sunset``); an empty keywords cell means no label. Returns an ImageDataset whose
  ``extra["Y"]`` is the (n, L) int64 {0,1} indicator matrix over ``class_names`` (the sorted
  keywords); ``labels`` is the single keyword's index for items with exactly one keyword, else -1.
* ``labelled-csv`` (:func:`load_labelled_csv`, the CSV source of ``zsl-lab embed``): a CSV with the
  header ``path,label``; one class name per image, or an empty cell for none.
* ``embeddings``: an ``.npz`` with ``X`` (n, d) features and ``y`` (n,) labels (ints, or strings
  mapped to sorted class names), optional ``class_names`` (for integer ``y``); or a store folder
  written by ``zsl-lab embed`` (:mod:`zsl_lib.data.store`: labels from its shard metas).
"""

from __future__ import annotations

import re
import warnings
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image

from zsl_lib.data.base import FeatureDataset, ImageDataset, fingerprint_of
from zsl_lib.data.store import Store, load_store
from zsl_lib.fileio import hash_file
from zsl_lib.validation import check_choice, check_float32_range

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff")
KEYWORD_SEPARATORS = "|;"  # the one rule of every keyword loader (multilabel-csv, notebook 05's user CSV)
_SEP = re.compile("[" + re.escape(KEYWORD_SEPARATORS) + "]")


def split_keywords(cells: pd.Series) -> pd.Series:
    """Each cell's keywords: split on ``|`` or ``;``, stripped, empty ones dropped, sorted, unique."""
    return cells.fillna("").astype(str).str.split(_SEP).map(lambda ks: sorted({k.strip() for k in ks if k.strip()}))


def file_stat_fingerprint(paths: list[str]) -> str:
    """Content fingerprint of many files: names, sizes and the SHA-256 of every file's bytes.

    It changes whenever a file's content does, even when a copy kept the old size and
    modification time (``cp -p``, ``rsync -t``), which a name/size/mtime key missed (a stale
    embedding). Reading the files costs a fraction of a percent of extracting their embeddings
    (``benchmarks/bench_cache_key.py``: 0.2 % with EfficientNet-Lite0 on 96 noisy 320x320 JPEGs,
    a change-time key ~0 % but re-extracting after a ``chmod`` or ``mv``); files are read in
    parallel threads.
    """
    paths = [str(p) for p in paths]
    with ThreadPoolExecutor(max_workers=8) as pool:
        digests = list(pool.map(lambda p: hash_file(p, memo=False), paths))
    return fingerprint_of(
        np.array(paths, dtype=object).astype(str),
        np.array([Path(p).stat().st_size for p in paths], dtype=np.int64),
        np.array(digests, dtype=object).astype(str),
    )


def warn_single_class(what: str, present_classes) -> None:
    """Warn when a dataset holds a single class: every retrieval metric is then trivially perfect
    (every neighbour shares the query's class), and no classifier is tested."""
    present = list(present_classes)
    if len(present) == 1:
        warnings.warn(
            f"{what}: only one class ({present[0]!r}); precision and recall of neighbours are "
            "trivially 100 % and no method is compared. Add at least a second class",
            stacklevel=3,
        )


def warn_repeated_items(what: str, items: list[str]) -> None:
    """Warn when a list of images names one file more than once: the copies can land in the
    training and the test split (a leak), each with only part of the image's keywords."""
    paths = pd.Series([str(Path(p).resolve()) for p in items])
    repeated = paths[paths.duplicated()].unique()
    if len(repeated):
        warnings.warn(
            f"{what}: {len(repeated)} image(s) listed more than once, e.g. {repeated[:3].tolist()}; the copies can "
            "land in both the training and the test split (a leak): list each image once, with all its keywords",
            stacklevel=3,
        )


BAD_IMAGES = ("raise", "skip")


def _unreadable(path: str) -> str | None:
    """Why ``path`` is not a readable image (None if it is).

    The image is decoded in full: ``verify()`` checks the structure (a PNG's checksums) but not
    the pixel data, so a truncated JPEG passed it and failed only during embedding; the file is
    therefore reopened and ``load()`` decodes every pixel ("image file is truncated")."""
    try:
        with Image.open(path) as im:
            im.verify()
        with Image.open(path) as im:
            im.load()
        return None
    except Exception as err:  # noqa: BLE001  (PIL raises many kinds for broken files)
        return f"{type(err).__name__}: {err}"


def find_bad_images(paths: list[str]) -> list[tuple[str, str]]:
    """``(path, reason)`` of every file in ``paths`` that PIL cannot open or fully decode, in one pass."""
    with ThreadPoolExecutor(max_workers=8) as pool:
        reasons = list(pool.map(_unreadable, paths))
    return [(p, r) for p, r in zip(paths, reasons) if r is not None]


def drop_bad_images(what: str, items: list[str], bad_images: str) -> np.ndarray:
    """Indices of the readable images; all unreadable ones reported at once (raise) or dropped
    with a warning (skip)."""
    check_choice("bad_images", bad_images, BAD_IMAGES, what)
    bad = find_bad_images(items)
    if not bad:
        return np.arange(len(items))
    listing = "; ".join(f"{p} ({r})" for p, r in bad[:20]) + (f"; ... {len(bad) - 20} more" if len(bad) > 20 else "")
    if bad_images == "raise":
        raise ValueError(
            f"{what}: {len(bad)} of {len(items)} images cannot be read: {listing}. Fix or remove "
            "them, or pass bad_images='skip' to use the readable ones"
        )
    warnings.warn(f"{what}: skipping {len(bad)} of {len(items)} unreadable images: {listing}", stacklevel=3)
    bad_set = {p for p, _ in bad}
    return np.array([i for i, p in enumerate(items) if p not in bad_set], dtype=np.int64)


def load_image_folder(root: str | Path, extensions: tuple[str, ...] = IMAGE_EXTENSIONS,
                      bad_images: str = "raise", check_images: bool = True) -> ImageDataset:
    """Images in ``root/<class>/*`` as an :class:`ImageDataset` (labels = sorted class folders).

    The fingerprint covers file names, sizes and contents (SHA-256). Raises FileNotFoundError if
    ``root`` is missing and ValueError if it holds no class folder with images.
    ``check_images=False`` skips the decoding pass over every image (``bad_images`` then does not
    apply here): for ``zsl-lab embed``, whose workers report or skip unreadable images shard by
    shard as they decode them anyway, instead of a second decode of the collection up front.
    """
    if root is None:
        raise ValueError("image-folder: pass root=<folder with one sub-folder of images per class>")
    root = Path(root).expanduser()
    if not root.is_dir():
        raise FileNotFoundError(f"image-folder: {root} is not a folder")
    exts = {e.lower() for e in extensions}
    classes, items, labels, empty = [], [], [], []
    for d in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        files = sorted(str(f) for f in d.iterdir() if f.is_file() and f.suffix.lower() in exts)
        if files:
            labels.extend([len(classes)] * len(files))
            classes.append(d.name)
            items.extend(files)
        else:
            empty.append(d.name)
    if items and empty:
        warnings.warn(
            f"image-folder {root}: {len(empty)} class folder(s) without images are left out: "
            f"{', '.join(empty[:20])} (image extensions: {', '.join(sorted(exts))})",
            stacklevel=2,
        )
    if not items:
        raise ValueError(
            f"image-folder: no images found under {root}; expected {root}/<class>/<image> with "
            f"extensions {sorted(exts)}"
        )
    keep = drop_bad_images(f"image-folder {root}", items, bad_images) if check_images else np.arange(len(items))
    items = [items[i] for i in keep]
    labels = np.asarray(labels, dtype=np.int64)[keep]
    present = np.unique(labels)
    if len(present) < len(classes):
        lost = [classes[c] for c in np.setdiff1d(np.arange(len(classes)), present)]
        warnings.warn(
            f"image-folder {root}: class folder(s) {', '.join(lost[:20])} have no readable "
            "image left and are left out",
            stacklevel=2,
        )
        classes = [classes[c] for c in present]
        labels = np.searchsorted(present, labels)
    warn_single_class(f"image-folder {root}", classes)
    return ImageDataset(
        name=f"image-folder:{root.name}",
        split="all",
        items=items,
        labels=labels,
        class_names=classes,
        fingerprint=fingerprint_of("image-folder", [str(Path(i).relative_to(root)) for i in items], file_stat_fingerprint(items)),
        extra={"root": str(root)},
    )


def read_image_listing(path: Path, column: str, what: str, root=None) -> tuple[pd.DataFrame, list[str]]:
    """A CSV with the header ``path,<column>`` listing images (paths relative to ``root``, default
    the CSV's folder, or absolute): ``(rows as strings, absolute image paths)``; a missing file,
    another header, no rows or a listed image that does not exist is an error naming ``what``."""
    if not path.is_file():
        raise FileNotFoundError(f"{what}: {path} not found")
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    if list(df.columns[:2]) != ["path", column]:
        raise ValueError(f"{what}: {path} must have the header 'path,{column}', got {list(df.columns)}")
    if len(df) == 0:
        raise ValueError(f"{what}: {path} has no rows")
    base = Path(root).expanduser() if root is not None else path.parent
    items = [p if Path(p).is_absolute() else str(base / p) for p in df["path"].str.strip()]
    missing = [p for p in items if not Path(p).is_file()]
    if missing:
        raise FileNotFoundError(f"{what}: {len(missing)} image(s) listed in {path} not found, e.g. {missing[0]}")
    return df, items


def load_labelled_csv(path: str | Path, root: str | Path | None = None, bad_images: str = "raise",
                      check_images: bool = True) -> ImageDataset:
    """Images listed in a CSV with the header ``path,label`` (``path`` relative to ``root``, default
    the CSV's folder, or absolute; ``label`` a class name, or empty for none) as an
    :class:`ImageDataset` (classes: the sorted distinct labels; rows in file order; ``labels`` -1
    where the cell is empty): the source ``zsl-lab embed`` reads from a CSV.

    The checks of the folder loader: an image listed twice is warned about, unreadable images are
    reported all at once (``bad_images="raise"``) or left out with their rows (``"skip"``), a
    single class is warned about, and the fingerprint covers the images' contents (a store of a
    CSV whose images changed is refused, not served stale). ``check_images=False``: no decoding
    pass up front, as for :func:`load_image_folder`."""
    if path is None:
        raise ValueError("labelled-csv: pass path=<csv with columns path,label>")
    path = Path(path).expanduser()
    what = f"labelled-csv {path}"
    df, items = read_image_listing(path, "label", "labelled-csv", root)
    warn_repeated_items(what, items)
    keep = drop_bad_images(what, items, bad_images) if check_images else np.arange(len(items))
    if len(keep) < len(items):
        df = df.iloc[keep].reset_index(drop=True)
        items = [items[i] for i in keep]
    lab = df["label"].str.strip()
    classes = sorted(set(lab) - {""})
    warn_single_class(what, classes)
    labels = pd.Categorical(lab.where(lab != ""), categories=classes).codes.astype(np.int64)  # -1: no label
    return ImageDataset(
        name=f"labelled-csv:{path.stem}",
        split="all",
        items=items,
        labels=labels,
        class_names=classes,
        fingerprint=fingerprint_of("labelled-csv", lab.to_numpy().astype(str), file_stat_fingerprint(items)),
        extra={"csv": str(path)},
    )


def load_multilabel_csv(path: str | Path, root: str | Path | None = None,
                        bad_images: str = "raise") -> ImageDataset:
    """Images with keyword sets from a ``path,keywords`` CSV (see module docstring)."""
    if path is None:
        raise ValueError("multilabel-csv: pass path=<csv with columns path,keywords>")
    path = Path(path).expanduser()
    df, items = read_image_listing(path, "keywords", "multilabel-csv", root)
    warn_repeated_items(f"multilabel-csv {path}", items)
    keep = drop_bad_images(f"multilabel-csv {path}", items, bad_images)
    if len(keep) < len(items):
        df = df.iloc[keep].reset_index(drop=True)
        items = [items[i] for i in keep]
    kw = split_keywords(df["keywords"])
    classes = sorted({k for ks in kw for k in ks})
    if not classes:
        raise ValueError(f"multilabel-csv: {path} has no keywords at all")
    warn_single_class(f"multilabel-csv {path}", classes)
    exploded = kw.explode().dropna()
    col = pd.Categorical(exploded, categories=classes).codes
    Y = np.zeros((len(df), len(classes)), dtype=np.int64)
    Y[exploded.index.to_numpy(), col] = 1
    single = Y.sum(1) == 1
    labels = np.where(single, Y.argmax(1), -1)
    return ImageDataset(
        name=f"multilabel-csv:{path.stem}",
        split="all",
        items=items,
        labels=labels,
        class_names=classes,
        fingerprint=fingerprint_of("multilabel-csv", Y, file_stat_fingerprint(items)),
        meta=df,
        extra={"Y": Y, "csv": str(path)},
    )


def open_npz(path: Path, what: str, expected: str):
    """``np.load(path)`` of a user's ``.npz`` (no pickles); a file that is not one (a corrupt or
    renamed file: numpy's "File is not a zip file") is a ValueError naming ``what``, the path and
    the ``expected`` arrays."""
    try:
        return np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as err:
        raise ValueError(f"{what}: {path} is not a readable .npz ({type(err).__name__}: {err}); save it with "
                         f"numpy.savez(path, {expected})") from None


def load_embeddings(path: str | Path) -> FeatureDataset:
    """Precomputed embeddings from an ``.npz`` (``X`` (n, d), ``y`` (n,), optional ``class_names``)
    or from a store folder made by ``zsl-lab embed`` (:func:`zsl_lib.data.store.load_store`).

    ``X`` is returned as float32. String labels are mapped to sorted class names.
    """
    if path is None:
        raise ValueError("embeddings: pass path=<file.npz with X, y and optional class_names, or a store folder>")
    path = Path(path).expanduser()
    if Store.is_store(path):
        return load_store(path)
    if not path.is_file():
        raise FileNotFoundError(f"embeddings: {path} not found")
    with open_npz(path, "embeddings", "X=..., y=...") as z:
        missing = [k for k in ("X", "y") if k not in z.files]
        if missing:
            raise ValueError(f"embeddings: {path} lacks {missing}; it has {z.files} (expected X, y, optional class_names)")
        X = np.asarray(z["X"])
        y = np.asarray(z["y"])
        names = [str(c) for c in z["class_names"]] if "class_names" in z.files else None
    if X.ndim != 2:
        raise ValueError(f"embeddings: X must be 2-D (n, d), got shape {X.shape}")
    if len(X) == 0:
        raise ValueError(f"embeddings: {path} has 0 rows in X; it needs at least one item per class")
    if X.shape[1] == 0:
        raise ValueError(f"embeddings: X of {path} has 0 columns (shape {X.shape}); it needs one feature vector per row")
    if y.shape != (len(X),):
        raise ValueError(f"embeddings: y must have shape ({len(X)},), got {y.shape}")
    if X.dtype == bool or not np.issubdtype(X.dtype, np.number) or np.iscomplexobj(X):
        raise ValueError(f"embeddings: X of {path} must hold real numbers; got dtype {X.dtype}")
    if not np.isfinite(X).all():
        raise ValueError(f"embeddings: X contains NaN or inf ({(~np.isfinite(X)).sum()} values)")
    check_float32_range(f"embeddings: X of {path}", X)  # before the cast, which makes such values inf
    X = X.astype(np.float32)
    if y.dtype.kind in "US":
        classes, y = np.unique(y.astype(str), return_inverse=True)
        if names is not None and list(classes) != names:
            raise ValueError("embeddings: string y and class_names disagree; give one of them")
        names = list(classes)
    elif y.dtype.kind in "iu":
        y = y.astype(np.int64)
        if y.min() < 0:
            raise ValueError("embeddings: integer labels must be >= 0")
        if names is None:
            names = [str(i) for i in range(int(y.max()) + 1)]
        elif y.max() >= len(names):
            raise ValueError(f"embeddings: label {y.max()} but only {len(names)} class_names")
    else:
        raise ValueError(f"embeddings: y must be integers or strings, got dtype {y.dtype}")
    warn_single_class(f"embeddings {path}", [names[c] for c in np.unique(y)])
    return FeatureDataset(
        name=f"embeddings:{path.stem}",
        split="all",
        X=X,
        y=y.astype(np.int64),
        class_names=names,
        fingerprint=fingerprint_of("embeddings", X, y),
    )
