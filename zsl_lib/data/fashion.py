"""Fashion Product Images (Kaggle, Param Aggarwal; Myntra catalogue) loader.

Files (relative to the data dir or the mirror): ``fashion-products/styles.csv`` and the images,
either zipped as ``fashion-products/images.zip`` (members ``images/<id>.jpg``, the mirror's form,
read lazily) or as a folder ``fashion-products/images/<id>.jpg`` (the Kaggle download's form).

``styles.csv`` columns: ``id, gender, masterCategory, subCategory, articleType, baseColour,
season, year, usage, productDisplayName``. The Kaggle file has a few malformed lines whose title
contains commas (more than 10 fields): they are repaired by joining the surplus fields back into
``productDisplayName`` (instead of pandas' ``on_bad_lines="skip"``, which would drop them). Titles that are empty or
the literal ``NA`` count as missing.

Items kept: products with both a title and an image. Labels: ``articleType``.

The ``align`` / ``eval`` partition (50/50, stratified by articleType) is decided once over all
items with title and image, before any ``classes`` / ``min_items`` filtering, so choosing classes
never moves an item between the two: within each articleType the items are ordered by a seeded
hash of their product id (``PARTITION_SEED = 0``, splitmix64) and the first ``floor(n/2)`` go to
``align`` (so a class with a single item is ``eval`` only). ``align`` items are meant ONLY for
training the image->text alignment; evaluation uses ``eval``.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pandas as pd

from zsl_lib import config
from zsl_lib.data import registry
from zsl_lib.data.base import ImageDataset, ZipImageSource, fingerprint_of
from zsl_lib.validation import check_choice, check_int

PARTITION_SEED = 0
STYLES = "fashion-products/styles.csv"
IMAGES_ZIP = "fashion-products/images.zip"
COLUMNS = [
    "id", "gender", "masterCategory", "subCategory", "articleType",
    "baseColour", "season", "year", "usage", "productDisplayName",
]  # fmt: skip
_MISSING_TITLES = {"", "na", "n/a", "nan", "none", "null"}


def read_styles(path: str | Path) -> pd.DataFrame:
    """Read a Kaggle ``styles.csv``, repairing lines with commas inside the title.

    The Kaggle file has lines with more than 10 fields (unquoted commas in the title, the last
    column); pandas' ``on_bad_lines`` would skip them (or, with a callable, mis-parse the file
    when the first data line is one of them), so the lines are repaired here: surplus fields are
    joined back into ``productDisplayName``; short lines are padded with missing values.

    Returns a DataFrame with the 10 Kaggle columns (``id`` int64, others str with NaN for empty),
    one row per line; ``attrs["repaired_lines"]`` counts the repaired lines.
    """
    with open(path, newline="", encoding="utf-8", errors="replace") as fh:
        rows = [r for r in csv.reader(fh) if r]
    if not rows or [c.strip() for c in rows[0]] != COLUMNS:
        raise ValueError(
            f"{path}: not a Fashion Product Images styles.csv (header {rows[0] if rows else None}, "
            f"expected {COLUMNS})"
        )
    n = len(COLUMNS)
    repaired = 0
    body = []
    for r in rows[1:]:
        if len(r) != n:
            repaired += 1
            r = r[: n - 1] + [",".join(r[n - 1 :])] if len(r) > n else r + [""] * (n - len(r))
        body.append(r)
    df = pd.DataFrame(body, columns=COLUMNS, dtype=str).replace({"": np.nan})
    ids = pd.to_numeric(df["id"], errors="coerce")
    if ids.isna().any():
        bad = df.loc[ids.isna(), "id"].head(3).tolist()
        raise ValueError(f"{path}: non-numeric product ids, e.g. {bad}")
    df["id"] = ids.astype(np.int64)
    df.attrs["repaired_lines"] = repaired
    return df


def _splitmix64(x: np.ndarray) -> np.ndarray:
    z = x.astype(np.uint64) + np.uint64(0x9E3779B97F4A7C15)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def partition_align(ids: np.ndarray, article_types: np.ndarray, seed: int = PARTITION_SEED) -> np.ndarray:
    """Boolean (n,): True for ``align`` items, False for ``eval`` (see module docstring)."""
    ids = np.asarray(ids, dtype=np.int64)
    key = _splitmix64(ids.astype(np.uint64) ^ _splitmix64(np.array([seed], dtype=np.uint64))[0])
    codes, _ = pd.factorize(np.asarray(article_types))
    order = np.lexsort((ids, key, codes))  # by class, then hash (ids break ties)
    sc = codes[order]
    starts = np.searchsorted(sc, sc, side="left")
    counts = np.bincount(codes)
    rank = np.empty(len(ids), dtype=np.int64)
    rank[order] = np.arange(len(ids)) - starts
    return rank < counts[codes] // 2


def _image_index(verify: bool = True) -> tuple[dict[int, str], ZipImageSource | None, str]:
    """Map product id -> image item, from images.zip (data dir / mirror / error) or images/ folder."""
    folder = config.data_dir() / "fashion-products" / "images"
    if registry.find_local("fashion-products", IMAGES_ZIP) is None and folder.is_dir():
        files = sorted(folder.glob("*.jpg"))
        ids = {int(p.stem): str(p) for p in files if p.stem.isdigit()}
        return ids, None, fingerprint_of(sorted(ids))
    path = registry.fetch("fashion-products", IMAGES_ZIP, verify=verify)
    with registry.open_zip(path) as zf:
        names = [n for n in zf.namelist() if n.startswith("images/") and n.endswith(".jpg")]
    ids = {}
    for n in names:
        stem = n[len("images/") : -4]
        if stem.isdigit():
            ids[int(stem)] = n
    fp = registry.file_checksum("fashion-products", IMAGES_ZIP) if verify else registry.cached_hash(path)
    return ids, ZipImageSource(path), fp


def load_fashion_products(
    split: str = "all",
    classes: list[str] | None = None,
    min_items: int | None = None,
    verify: bool = True,
) -> ImageDataset:
    """Fashion products with a title and an image, labelled by ``articleType``.

    Parameters
    ----------
    split : ``"all"``, ``"align"`` or ``"eval"`` (fixed seeded 50/50 partition, see module doc).
    classes : articleTypes to keep (in this order as ``class_names``); None keeps all (sorted).
    min_items : keep only articleTypes with at least this many items (counted over ``all``, so
        the class set is the same for ``align`` and ``eval``).
    verify : check ``styles.csv`` / ``images.zip`` against the registered (mirror) SHA-256. A
        Kaggle download differs from the mirror's copy: pass ``verify=False`` for it (the
        fingerprint then uses the file's own SHA-256).

    Returns an :class:`ImageDataset` with ``texts`` = product titles, ``meta`` = the styles.csv
    columns (plus ``partition``), sorted by product id.
    """
    check_choice("split", split, ["all", "align", "eval"], "fashion-products")
    styles_path = registry.fetch("fashion-products", STYLES, verify=verify)
    styles_fp = (
        registry.file_checksum("fashion-products", STYLES) if verify else registry.cached_hash(styles_path)
    )
    df = read_styles(styles_path)
    repaired = df.attrs.get("repaired_lines", 0)
    images, source, images_fp = _image_index(verify)
    title = df["productDisplayName"].fillna("").astype(str).str.strip()
    has_title = ~title.str.lower().isin(_MISSING_TITLES)
    has_image = df["id"].isin(list(images))
    df = df[has_title & has_image].assign(productDisplayName=title[has_title & has_image])
    df = df.drop_duplicates("id").sort_values("id", kind="stable").reset_index(drop=True)
    if len(df) == 0:
        raise ValueError("fashion-products: no product has both a title and an image")
    df["partition"] = np.where(
        partition_align(df["id"].to_numpy(), df["articleType"].to_numpy()), "align", "eval"
    )

    counts = df["articleType"].value_counts()
    if classes is not None:
        if isinstance(classes, str):
            classes = [classes]
        unknown = [c for c in classes if c not in counts.index]
        if unknown:
            raise ValueError(
                f"fashion-products: unknown articleType(s) {unknown}; available (with items): "
                + ", ".join(f"{k} ({v})" for k, v in counts.items())
            )
        keep = list(dict.fromkeys(classes))
    else:
        keep = sorted(counts.index)
    if min_items is not None:
        min_items = check_int("min_items", min_items, minimum=1, allow_none=True)
        keep = [c for c in keep if counts[c] >= min_items]
        if not keep:
            raise ValueError(
                f"fashion-products: no articleType has min_items={min_items} items "
                f"(largest: {counts.index[0]} with {counts.iloc[0]})"
            )
    df = df[df["articleType"].isin(keep)]
    if split != "all":
        df = df[df["partition"] == split]
    df = df.reset_index(drop=True)
    cls_index = {c: i for i, c in enumerate(keep)}
    ids = df["id"].to_numpy()
    return ImageDataset(
        name="fashion-products",
        split=split,
        items=[images[i] for i in ids],
        labels=df["articleType"].map(cls_index).to_numpy(dtype=np.int64),
        class_names=keep,
        fingerprint=fingerprint_of(
            "fashion-products", styles_fp, images_fp, ids
        ),
        texts=df["productDisplayName"].tolist(),
        meta=df,
        source=source,
        extra={"partition_seed": PARTITION_SEED, "repaired_lines": repaired},
    )
