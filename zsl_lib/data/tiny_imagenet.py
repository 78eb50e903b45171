"""Tiny-ImageNet-200 loader, read lazily from the official zip layout (no extraction).

Layout (official ``tiny-imagenet-200.zip`` and the mirror's ``tiny-imagenet-200-subset.zip``)::

    tiny-imagenet-200/wnids.txt, words.txt
    tiny-imagenet-200/train/<wnid>/images/<wnid>_<i>.JPEG
    tiny-imagenet-200/val/images/val_<i>.JPEG + val/val_annotations.txt (file \\t wnid \\t box)

Classes are the 200 wnids in sorted order (as torchvision's ImageFolder orders them); their
readable names are the first WordNet lemma (:mod:`zsl_lib.data.wordnet`). Items are sorted
naturally (``..._2`` before ``..._10``).
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

from zsl_lib.data import registry, wordnet
from zsl_lib.data._util import natural_key, sample_per_class
from zsl_lib.data.base import ImageDataset, ZipImageSource, fingerprint_of
from zsl_lib.validation import check_choice

FULL = "tiny-imagenet/tiny-imagenet-200.zip"
SUBSET = "tiny-imagenet/tiny-imagenet-200-subset.zip"


def _class_names(wnids: list[str], words_txt: str) -> tuple[list[str], list[str], str]:
    """Readable names and glosses from WordNet; falls back to words.txt (first entry) if absent."""
    try:
        syns = [wordnet.synset(w) for w in wnids]
        return [s.name for s in syns], [s.gloss for s in syns], "wordnet"
    except FileNotFoundError as e:
        warnings.warn(
            f"tiny-imagenet: {e} Falling back to the archive's words.txt for class names "
            "(no glosses, no hypernyms).",
            stacklevel=3,
        )
    words = {}
    for line in words_txt.splitlines():
        if "\t" in line:
            k, v = line.split("\t", 1)
            words[k] = v.split(",")[0].strip()
    return [words.get(w, w) for w in wnids], [""] * len(wnids), "words.txt"


def load_tiny_imagenet(
    split: str = "train",
    archive: str = "auto",
    limit_per_class: int | None = None,
    seed: int = 0,
) -> ImageDataset:
    """Tiny-ImageNet ``train`` or ``val`` (labelled) as an :class:`ImageDataset`.

    Parameters
    ----------
    split : ``"train"`` (500 per class officially, 100 in the mirror subset) or ``"val"`` (50 per class).
    archive : ``"auto"`` (the official full zip when present locally, else the mirror subset,
        else download the official zip), ``"full"`` or ``"subset"``.
    limit_per_class, seed : keep at most this many images per class, drawn with ``seed``.

    ``class_names`` are readable WordNet names ("Egyptian cat"); ``extra["wnids"]`` the wnids,
    ``extra["glosses"]`` the WordNet glosses, ``extra["archive"]`` which zip was used.
    """
    check_choice("split", split, ["train", "val"], "tiny-imagenet")
    check_choice("archive", archive, ["auto", "full", "subset"], "tiny-imagenet")
    if archive == "auto":
        if registry.find_local("tiny-imagenet", FULL) is not None:
            rel = FULL
        elif registry.find_local("tiny-imagenet", SUBSET) is not None:
            rel = SUBSET
        else:
            rel = FULL
    else:
        rel = FULL if archive == "full" else SUBSET
    path = registry.fetch("tiny-imagenet", rel)
    ds = _read(path, split, registry.file_checksum("tiny-imagenet", rel))
    ds.extra["archive"] = rel
    idx = sample_per_class(ds.labels, limit_per_class, seed)
    return ds if idx is None else ds.subset(idx)


def _read(path: Path, split: str, checksum: str) -> ImageDataset:
    root = "tiny-imagenet-200/"
    with registry.open_zip(path) as zf:
        names = zf.namelist()
        try:
            wnids = sorted(zf.read(root + "wnids.txt").decode().split())
            words_txt = zf.read(root + "words.txt").decode("utf-8", errors="replace")
        except KeyError as e:
            raise ValueError(f"{path}: not a Tiny-ImageNet archive (missing {e})") from None
        cls_index = {w: i for i, w in enumerate(wnids)}
        if split == "train":
            prefix = root + "train/"
            items = sorted(
                (n for n in names if n.startswith(prefix) and n.endswith(".JPEG")),
                key=natural_key,
            )
            try:
                labels = np.array([cls_index[n.split("/")[2]] for n in items], dtype=np.int64)
            except KeyError as e:
                raise ValueError(f"{path}: train folder {e} is not in wnids.txt") from None
        else:
            ann = zf.read(root + "val/val_annotations.txt").decode().splitlines()
            rows = sorted((r.split("\t") for r in ann if r.strip()), key=lambda r: natural_key(r[0]))
            items = [root + "val/images/" + r[0] for r in rows]
            labels = np.array([cls_index[r[1]] for r in rows], dtype=np.int64)
            present = set(names)
            missing = [i for i in items if i not in present]
            if missing:
                raise ValueError(f"{path}: {len(missing)} val images listed but absent, e.g. {missing[0]}")
    class_names, glosses, name_source = _class_names(wnids, words_txt)
    return ImageDataset(
        name="tiny-imagenet",
        split=split,
        items=items,
        labels=labels,
        class_names=class_names,
        fingerprint=fingerprint_of("tiny-imagenet", split, checksum),
        source=ZipImageSource(path),
        extra={"wnids": wnids, "glosses": glosses, "name_source": name_source, "file": str(path)},
    )
