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
"""

from __future__ import annotations

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
from ..validation import check_choice
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
