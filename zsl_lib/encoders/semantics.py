"""Zero-shot splits with embedded features: image features and class-text semantics.

:func:`load_zsl_split` builds a :class:`~zsl_lib.data.zsl_splits.ZSLSplit` for a registered
dataset. The class division itself is pure data logic (:mod:`zsl_lib.data.zsl_splits`); this
module adds what needs an encoder:

* ``"tiny-imagenet"``: train split (100 images/class in the mirror) of the seen classes for
  training; the val split (50/class) for testing (seen and unseen). A fixed seeded split of the
  200 classes into 150 seen / 50 unseen (``seeded_class_split``, ``seed=0`` by default).
  Semantics: MiniLM embeddings of each class's WordNet names and gloss
  (``wordnet_class_texts``), by :func:`text_semantics`.
* ``"fashion-products"``: every item with an image, ``articleType`` classes with at least
  ``min_items`` items; a seeded seen/unseen split of the classes; seen-class items split 80/20
  (stratified, seeded) into training and seen test items. Semantics: MiniLM embeddings of the
  class names.
* ``"xlsa17-CUB"``, ``"xlsa17-SUN"``, ``"xlsa17-AWA2"`` (and AWA1, APY): the proposed split (PS)
  of Xian et al. with ResNet-101 features and class attributes (nothing to embed).
* ``"synthetic"``: ``make_synthetic_zsl``, features linear in the semantics (tests).
* a user's data: :func:`load_user_zsl_split` (an ``.npz`` of embeddings or an image folder, with
  class-name texts or an attribute matrix, and a given or seeded seen/unseen split).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..data import load_dataset
from ..data.zsl_splits import (
    ZSLSplit,
    cap_index,
    check_zsl_dataset,
    frequent_class_split,
    holdout_seen_split,
    load_xlsa17_split,
    make_synthetic_zsl,
    seeded_class_split,
    split_by_classes,
    wordnet_class_texts,
)
from ..validation import check_choice, check_matrix
from .embedding import embed, embed_texts


def text_semantics(texts, encoder: str = "minilm") -> np.ndarray:
    """Class semantic vectors from texts: ``embed_texts(texts, encoder)`` float32 (n, 384)."""
    return np.asarray(embed_texts(list(texts), encoder), dtype=np.float32)


def load_zsl_split(
    name: str,
    *,
    encoder: str = "efficientnet-lite0",
    text_encoder: str = "minilm",
    n_unseen: int | None = None,
    split_seed: int = 0,
    min_items: int = 50,
    test_fraction: float = 0.2,
    train_source: str = "train",
    max_train_per_class: int | None = None,
    progress: bool = True,
) -> ZSLSplit:
    """Build a :class:`ZSLSplit` for a registered dataset (see the module docstring).

    ``n_unseen`` defaults to 50 for Tiny-ImageNet (150 seen / 50 unseen) and a quarter of the
    classes for fashion-products; it is fixed by the proposed split for xlsa17.
    ``encoder`` extracts image features (cached); ``text_encoder`` embeds class texts.
    ``train_source`` (Tiny-ImageNet): ``"train"`` trains on the train split and tests on val;
    ``"val"`` uses the val split only: seen-class val images are divided (seeded, stratified,
    ``test_fraction`` for testing) into training and seen test images (needs 10,000 embeddings
    instead of 30,000). ``max_train_per_class`` caps training images per class (seeded; with
    ``"train"`` the cap is drawn before feature extraction, so only those images are encoded).
    Fashion-products uses every item with an image (split ``all``), classes with at least
    ``min_items`` items.
    """
    check_choice("train_source", train_source, ("train", "val"))
    check_zsl_dataset(name)
    if name == "synthetic":
        return make_synthetic_zsl(n_unseen=n_unseen or 5, seed=split_seed)
    if name.startswith("xlsa17-"):
        return load_xlsa17_split(name)
    if name == "tiny-imagenet":
        return _tiny_imagenet(encoder, text_encoder, n_unseen, split_seed, test_fraction, train_source,
                              max_train_per_class, progress)
    return _fashion(encoder, text_encoder, n_unseen, split_seed, min_items, test_fraction,
                    max_train_per_class, progress)


def _tiny_imagenet(encoder, text_encoder, n_unseen, split_seed, test_fraction, train_source,
                   max_train_per_class, progress) -> ZSLSplit:
    te = load_dataset("tiny-imagenet", split="val")
    Xte, yte = embed(te, encoder, progress=progress), np.asarray(te.labels)
    n_unseen = 50 if n_unseen is None else n_unseen
    _, unseen = seeded_class_split(len(te.class_names), n_unseen, split_seed)
    if train_source == "train":
        # sample the cap before embedding: only the images used are encoded (and cached)
        cap = {} if max_train_per_class is None else {"limit_per_class": max_train_per_class, "seed": split_seed}
        tr = load_dataset("tiny-imagenet", split="train", **cap)
        if list(tr.class_names) != list(te.class_names):
            raise ValueError("tiny-imagenet: train and val splits disagree on the class order")
        Xtr, ytr = embed(tr, encoder, progress=progress), np.asarray(tr.labels)
    else:
        tr_idx, keep_te = holdout_seen_split(yte, unseen, test_fraction, split_seed)
        Xtr, ytr, Xte, yte = Xte[tr_idx], yte[tr_idx], Xte[keep_te], yte[keep_te]
    keep = cap_index(ytr, max_train_per_class, split_seed)
    Xtr, ytr = Xtr[keep], ytr[keep]
    texts = wordnet_class_texts(te.extra["wnids"])
    return split_by_classes(
        "tiny-imagenet", Xtr, ytr, Xte, yte, text_semantics(texts, text_encoder),
        te.class_names, unseen,
        info={"encoder": encoder, "text_encoder": text_encoder, "split_seed": split_seed,
              "train_source": train_source, "semantics": "WordNet names + gloss",
              "class_texts": texts},
    )


def _fashion(encoder, text_encoder, n_unseen, split_seed, min_items, test_fraction, max_train_per_class,
             progress) -> ZSLSplit:
    ds = load_dataset("fashion-products", split="all")
    X = embed(ds, encoder, progress=progress)
    y = np.asarray(ds.labels)
    tr_idx, te_idx, present, unseen = frequent_class_split(
        y, min_items=min_items, n_unseen=n_unseen, test_fraction=test_fraction,
        max_train_per_class=max_train_per_class, seed=split_seed, name="fashion-products")
    # keep only classes with items; relabel to 0..K-1
    names = [ds.class_names[c] for c in present]
    remap = np.full(len(ds.class_names), -1)
    remap[present] = np.arange(len(present))
    return split_by_classes(
        "fashion-products", X[tr_idx], remap[y[tr_idx]], X[te_idx], remap[y[te_idx]],
        text_semantics(names, text_encoder), names, remap[unseen],
        info={"encoder": encoder, "text_encoder": text_encoder, "split_seed": split_seed,
              "semantics": "class names", "min_items": min_items,
              "max_train_per_class": max_train_per_class},
    )


def read_attribute_matrix(path, class_names) -> np.ndarray:
    """A user's class attribute matrix: ``.npy`` (n_classes, a), rows in the order of
    ``class_names``, or ``.csv`` with a header whose first column names the class and the other
    columns are numeric attributes (rows in any order, one per class). float32 (n_classes, a)."""
    import pandas as pd  # noqa: PLC0415

    path = Path(path).expanduser().resolve()
    if not path.is_file():
        raise FileNotFoundError(f"user_attributes: {path} not found (resolved against {Path.cwd()})")
    if path.suffix.lower() == ".npy":
        A = np.load(path, allow_pickle=False)
    elif path.suffix.lower() == ".csv":
        df = pd.read_csv(path)
        names = df.iloc[:, 0].astype(str).tolist()
        missing = sorted(set(class_names) - set(names))
        if missing:
            raise ValueError(f"user_attributes: {path} has no row for classes {missing[:10]}; its first column "
                             "must name every class")
        A = df.set_index(df.columns[0]).loc[list(class_names)].to_numpy()
    else:
        raise ValueError(f"user_attributes: expected a .npy or .csv file, got {path.name}")
    A = check_matrix("user_attributes", np.asarray(A, dtype=np.float32))
    if A.shape[0] != len(class_names):
        raise ValueError(f"user_attributes: {path} has {A.shape[0]} rows but the data has {len(class_names)} "
                         "classes; give one row per class, in the order of the class names")
    return A


def load_user_zsl_split(
    *, embeddings=None, image_dir=None, encoder: str = "efficientnet-lite0", text_encoder: str = "minilm",
    attributes=None, unseen_classes=None, n_unseen: int | None = None, split_seed: int = 0,
    test_fraction: float = 0.2, max_train_per_class: int | None = None, progress: bool = True,
    bad_images: str = "raise",
) -> ZSLSplit:
    """A :class:`ZSLSplit` of a user's data.

    Features: ``embeddings`` (an ``.npz`` with ``X``, ``y`` and optional ``class_names``, the
    ``embeddings`` loader) or ``image_dir`` (``<dir>/<class>/<image>``, the ``image-folder``
    loader, embedded by ``encoder``; unreadable images: ``bad_images`` "raise" or "skip"): exactly
    one. Class semantics: ``attributes`` (see :func:`read_attribute_matrix`) or, without it,
    ``text_encoder`` embeddings of the class names.
    Unseen classes: ``unseen_classes`` (class names) as given, else a seeded ``n_unseen``
    (default: a quarter, at least 2) by ``split_seed``. Seen-class items are split (seeded,
    stratified) into training and ``test_fraction`` seen test items; training items are capped at
    ``max_train_per_class`` per class.
    """
    if (embeddings is None) == (image_dir is None):
        raise ValueError("user data: give exactly one of user_embeddings (.npz with X, y) and user_image_dir "
                         "(a folder of class sub-folders)")
    if embeddings is not None:
        ds = load_dataset("embeddings", path=str(Path(embeddings).expanduser().resolve()))
        X, y = ds.X, np.asarray(ds.y)
    else:
        ds = load_dataset("image-folder", root=str(Path(image_dir).expanduser().resolve()), bad_images=bad_images)
        X, y = embed(ds, encoder, progress=progress), np.asarray(ds.labels)
    names = [str(c) for c in ds.class_names]
    if len(names) < 4:
        raise ValueError(f"user data: {len(names)} classes; a seen/unseen split with validation needs at least 4")
    if unseen_classes is not None:
        unknown = sorted(set(map(str, unseen_classes)) - set(names))
        if unknown:
            raise ValueError(f"user_unseen_classes: {unknown[:10]} are not classes of the data; classes are "
                             f"{names[:20]}")
        unseen = np.flatnonzero(np.isin(names, [str(c) for c in unseen_classes]))
    else:
        n = max(2, len(names) // 4) if n_unseen is None else int(n_unseen)
        unseen = seeded_class_split(len(names), n, split_seed)[1]
    S = (read_attribute_matrix(attributes, names) if attributes is not None
         else text_semantics(names, text_encoder))
    tr_idx, te_idx = holdout_seen_split(y, unseen, test_fraction, split_seed)
    tr_idx = tr_idx[cap_index(y[tr_idx], max_train_per_class, split_seed)]
    return split_by_classes(
        "user", X[tr_idx], y[tr_idx], X[te_idx], y[te_idx], S, names, unseen,
        info={"source": str(embeddings or image_dir), "encoder": None if embeddings is not None else encoder,
              "semantics": "attributes" if attributes is not None else f"{text_encoder} class names",
              "split_seed": split_seed},
    )
