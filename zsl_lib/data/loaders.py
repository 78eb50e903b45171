"""``load_dataset(name, split=..., **options)``: one entry point in front of every loader.

=====================  ==========================  =============================================
name                   splits                      returns
=====================  ==========================  =============================================
``cifar10``            train / test                ImageDataset (10 classes, official order)
``cifar100``           train / test                ImageDataset (official pickles only)
``tiny-imagenet``      train / val                 ImageDataset (WordNet class names)
``fashion-products``   all / align / eval          ImageDataset (texts = titles, meta = styles)
``xlsa17``             (subset=CUB|SUN|AWA1|...)   XLSA17Data (att, splits, res101 features)
``mulan-scene``        train / test                FeatureDataset (X (n, 294), Y (n, 6))
``sqid``               (none)                      DataFrame (product_id, CLIP embeddings)
``image-folder``       (root=, bad_images=)        ImageDataset from root/<class>/*.jpg
``multilabel-csv``     (path=, bad_images=)        ImageDataset with extra["Y"] (n, L)
``labelled-csv``       (path=, bad_images=)        ImageDataset from a path,label CSV
``multilabel-arff``    (path=, n_labels=)          FeatureDataset
``embeddings``         (path=)                     FeatureDataset from .npz (X, y, class_names)
=====================  ==========================  =============================================
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from zsl_lib.data import arff, cifar, fashion, sqid, tiny_imagenet, user, xlsa17

LOADERS: dict[str, Callable[..., Any]] = {
    "cifar10": cifar.load_cifar10,
    "cifar100": cifar.load_cifar100,
    "tiny-imagenet": tiny_imagenet.load_tiny_imagenet,
    "fashion-products": fashion.load_fashion_products,
    "xlsa17": xlsa17.load_xlsa17,
    "mulan-scene": arff.load_mulan_scene,
    "multilabel-arff": arff.load_multilabel_arff,
    "sqid": sqid.load_sqid,
    "image-folder": user.load_image_folder,
    "multilabel-csv": user.load_multilabel_csv,
    "labelled-csv": user.load_labelled_csv,
    "embeddings": user.load_embeddings,
}


def list_datasets() -> list[str]:
    """Names accepted by :func:`load_dataset` (registered + user-data loaders)."""
    return sorted(LOADERS)


def loader_options(name: str) -> dict[str, Any]:
    """The options (and their defaults) accepted by ``load_dataset(name, ...)``."""
    if name not in LOADERS:
        raise ValueError(f"unknown dataset {name!r}. Known datasets: {', '.join(sorted(LOADERS))}")
    sig = inspect.signature(LOADERS[name])
    return {
        k: (None if p.default is inspect.Parameter.empty else p.default)
        for k, p in sig.parameters.items()
    }


def load_dataset(name: str, split: str | None = None, **options: Any) -> Any:
    """Load a dataset by name (see the module table); ``split=None`` uses the loader's default.

    Unknown names and options raise ValueError listing what is accepted; missing files raise
    FileNotFoundError naming the paths tried and where to get the file.
    """
    if not isinstance(name, str) or name not in LOADERS:
        raise ValueError(f"unknown dataset {name!r}. Known datasets: {', '.join(sorted(LOADERS))}")
    accepted = loader_options(name)
    unknown = [k for k in options if k not in accepted]
    if unknown:
        raise ValueError(
            f"{name}: unknown option(s) {unknown}; accepted options: "
            + ", ".join(f"{k}={v!r}" for k, v in accepted.items())
        )
    sig = inspect.signature(LOADERS[name])
    required = [k for k, p in sig.parameters.items() if p.default is inspect.Parameter.empty]
    missing = [k for k in required if k not in options and not (k == "split" and split is not None)]
    if missing:
        raise ValueError(
            f"{name}: missing required option(s) {missing}, e.g. load_dataset({name!r}, "
            + ", ".join(f"{k}=..." for k in missing)
            + ")"
        )
    if split is not None:
        if "split" not in accepted:
            raise ValueError(
                f"{name}: has no split option (got split={split!r}); accepted options: "
                + ", ".join(f"{k}={v!r}" for k, v in accepted.items())
            )
        options["split"] = split
    return LOADERS[name](**options)
