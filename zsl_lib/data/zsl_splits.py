"""Seen/unseen class splits for zero-shot experiments: pure class-split logic, no embedding.

:class:`ZSLSplit` holds everything a ZSL / GZSL experiment needs (features of seen-class training
images, seen-class and unseen-class test images, one semantic vector per class) and validates it.
This module only divides classes and items; features it is given. Building a split whose
features and class semantics must be embedded first (Tiny-ImageNet, fashion-products) is
:func:`zsl_lib.encoders.semantics.load_zsl_split`, which uses the helpers here:

* :func:`seeded_class_split`: a fixed seeded split of ``range(n_classes)`` into seen / unseen;
* :func:`holdout_seen_split`: seen-class items divided into training and seen test items;
* :func:`validation_split`: a split of the seen classes only, for choosing hyperparameters and the
  calibration offset without touching unseen classes or test items;
* :func:`frequent_class_split`: classes with at least ``min_items`` items, a seeded quarter of
  them unseen, seen-class items split stratified into training and seen test items;
* :func:`wordnet_class_texts`: the WordNet names and gloss of each class (the text to embed);
* :func:`load_xlsa17_split`: the proposed split (PS) of Xian et al. with its ResNet-101
  features and class attributes (nothing to embed);
* :func:`make_synthetic_zsl`: features linear in the semantics (tests).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from sklearn.model_selection import train_test_split

from ..validation import check_choice, check_float, check_matrix
from . import wordnet
from .loaders import load_dataset

ZSL_DATASETS = (
    "tiny-imagenet",
    "fashion-products",
    "xlsa17-CUB",
    "xlsa17-SUN",
    "xlsa17-AWA2",
    "xlsa17-AWA1",
    "xlsa17-APY",
    "synthetic",
)


@dataclass
class ZSLSplit:
    """A validated zero-shot split. Labels are global class ids (rows of ``semantics``).

    Attributes
    ----------
    name : str.
    X_train float32 (n_tr, d), y_train int64 (n_tr,) : seen-class training features.
    X_test_seen float32 (n_s, d), y_test_seen int64 : held-out images of seen classes (GZSL).
    X_test_unseen float32 (n_u, d), y_test_unseen int64 : images of unseen classes.
    semantics float32 (n_classes, a) : one semantic vector per class.
    class_names : list of n_classes str.
    seen_classes, unseen_classes : disjoint sorted int64 arrays.
    info : dict describing how the split was made.
    """

    name: str
    X_train: np.ndarray
    y_train: np.ndarray
    X_test_seen: np.ndarray
    y_test_seen: np.ndarray
    X_test_unseen: np.ndarray
    y_test_unseen: np.ndarray
    semantics: np.ndarray
    class_names: list
    seen_classes: np.ndarray
    unseen_classes: np.ndarray
    info: dict = field(default_factory=dict)

    def __post_init__(self):
        for k in ("X_train", "X_test_seen", "X_test_unseen", "semantics"):
            setattr(self, k, np.asarray(getattr(self, k), dtype=np.float32))
        for k in ("y_train", "y_test_seen", "y_test_unseen", "seen_classes", "unseen_classes"):
            setattr(self, k, np.asarray(getattr(self, k), dtype=np.int64))
        self.seen_classes = np.unique(self.seen_classes)
        self.unseen_classes = np.unique(self.unseen_classes)
        self.validate()

    def validate(self) -> None:
        """Raise ValueError with a clear message when the split is inconsistent."""
        n_classes = len(self.class_names)
        if self.semantics.ndim != 2 or self.semantics.shape[0] != n_classes:
            raise ValueError(
                f"{self.name}: the semantic matrix has shape {self.semantics.shape} but there are "
                f"{n_classes} classes; expected one semantic row per class, shape ({n_classes}, a)"
            )
        check_matrix(f"{self.name}: semantics", self.semantics, min_rows=0)
        overlap = np.intersect1d(self.seen_classes, self.unseen_classes)
        if overlap.size:
            names = [self.class_names[i] for i in overlap[:5]]
            raise ValueError(
                f"{self.name}: {overlap.size} classes are both seen and unseen (e.g. {names}); "
                "seen and unseen classes must be disjoint"
            )
        allc = np.concatenate([self.seen_classes, self.unseen_classes])
        if allc.size and (allc.min() < 0 or allc.max() >= n_classes):
            raise ValueError(f"{self.name}: class ids must lie in [0, {n_classes})")
        d = self.X_train.shape[1] if self.X_train.ndim == 2 else None
        for xn, yn, allowed, what in [
            ("X_train", "y_train", self.seen_classes, "seen"),
            ("X_test_seen", "y_test_seen", self.seen_classes, "seen"),
            ("X_test_unseen", "y_test_unseen", self.unseen_classes, "unseen"),
        ]:
            X, y = getattr(self, xn), getattr(self, yn)
            if X.ndim != 2 or X.shape[0] != y.shape[0] or X.shape[1] != d:
                raise ValueError(
                    f"{self.name}: {xn} must be (len({yn}), {d}), got {X.shape} with {y.shape[0]} labels"
                )
            check_matrix(f"{self.name}: {xn}", X, min_rows=0)
            stray = np.setdiff1d(np.unique(y), allowed)
            if stray.size:
                raise ValueError(
                    f"{self.name}: {yn} holds classes {stray[:10].tolist()} that are not {what} classes"
                )
        if self.X_train.shape[0] == 0 or self.X_test_unseen.shape[0] == 0:
            raise ValueError(f"{self.name}: needs training samples and unseen test samples")

    @property
    def n_classes(self) -> int:
        return len(self.class_names)

    def summary(self) -> dict:
        return {
            "dataset": self.name,
            "n_classes": self.n_classes,
            "n_seen": len(self.seen_classes),
            "n_unseen": len(self.unseen_classes),
            "n_train": len(self.y_train),
            "n_test_seen": len(self.y_test_seen),
            "n_test_unseen": len(self.y_test_unseen),
            "feature_dim": self.X_train.shape[1],
            "semantic_dim": self.semantics.shape[1],
        }


def seeded_class_split(n_classes: int, n_unseen: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A reproducible random split of ``range(n_classes)`` into seen and unseen class ids.

    Returns ``(seen, unseen)`` sorted int64 arrays (``numpy.random.default_rng(seed)``
    permutation; the last ``n_unseen`` of the permutation are unseen).
    """
    if not 0 < n_unseen < n_classes:
        raise ValueError(f"n_unseen must be in [1, {n_classes - 1}] for {n_classes} classes, got {n_unseen}")
    perm = np.random.default_rng(seed).permutation(n_classes)
    return np.sort(perm[: n_classes - n_unseen]), np.sort(perm[n_classes - n_unseen :])


def cap_index(y: np.ndarray, cap: int | None, seed: int) -> np.ndarray:
    """Sorted indices keeping at most ``cap`` random samples per class (all when cap is None)."""
    if cap is None:
        return np.arange(len(y))
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(y))
    ys = y[order]
    srt = np.argsort(ys, kind="stable")
    first = np.searchsorted(ys[srt], ys[srt], side="left")
    rank = np.empty(len(y), dtype=np.int64)
    rank[srt] = np.arange(len(y)) - first
    return np.sort(order[rank < cap])


def split_by_classes(
    name, X_train, y_train, X_test, y_test, semantics, class_names, unseen_classes, info=None
) -> ZSLSplit:
    """Keep seen-class training samples; divide test samples into seen and unseen classes."""
    n = len(class_names)
    unseen = np.unique(np.asarray(unseen_classes, dtype=np.int64))
    seen = np.setdiff1d(np.arange(n), unseen)
    y_train, y_test = np.asarray(y_train), np.asarray(y_test)
    tr = np.isin(y_train, seen)
    te_u = np.isin(y_test, unseen)
    return ZSLSplit(
        name=name, X_train=np.asarray(X_train)[tr], y_train=y_train[tr],
        X_test_seen=np.asarray(X_test)[~te_u], y_test_seen=y_test[~te_u],
        X_test_unseen=np.asarray(X_test)[te_u], y_test_unseen=y_test[te_u],
        semantics=semantics, class_names=list(class_names), seen_classes=seen,
        unseen_classes=unseen, info=dict(info or {}),
    )


def wordnet_class_texts(wnids) -> list[str]:
    """One text per WordNet noun id: ``"<name>, <synonym>, ...: <gloss>"`` (zsl_lib.data.wordnet)."""
    texts = []
    for w in wnids:
        s = wordnet.synset(w)
        words = ", ".join(x.replace("_", " ") for x in s.words)
        texts.append(f"{words}: {s.gloss}")
    return texts


def make_synthetic_zsl(
    n_classes: int = 20,
    n_unseen: int = 5,
    n_train_per_class: int = 40,
    n_test_per_class: int = 20,
    dim: int = 32,
    semantic_dim: int = 8,
    noise: float = 0.5,
    seed: int = 0,
) -> ZSLSplit:
    """Synthetic ZSL data: class means are a fixed nonnegative function of the semantics.

    Semantics s_c ~ N(0, I) (L2-normalised); class means relu(A s_c) * 3 with A ~ N(0, 1);
    samples = relu(mean + noise * N(0, I)), so features look like post-ReLU CNN features.
    """
    rng = np.random.default_rng(seed)
    S = rng.normal(size=(n_classes, semantic_dim))
    S /= np.linalg.norm(S, axis=1, keepdims=True)
    A = rng.normal(size=(dim, semantic_dim))
    means = np.maximum(S @ A.T, 0) * 3.0

    def draw(per):
        y = np.repeat(np.arange(n_classes), per)
        return np.maximum(means[y] + noise * rng.normal(size=(len(y), dim)), 0), y

    Xtr, ytr = draw(n_train_per_class)
    Xte, yte = draw(n_test_per_class)
    _, unseen = seeded_class_split(n_classes, n_unseen, seed)
    return split_by_classes(
        "synthetic", Xtr, ytr, Xte, yte, S, [f"class{i}" for i in range(n_classes)], unseen,
        info={"seed": seed, "generator": "make_synthetic_zsl"},
    )


def check_zsl_dataset(name: str) -> str:
    """``name`` if it is one of :data:`ZSL_DATASETS`; a ValueError listing them otherwise."""
    return check_choice("dataset", name, ZSL_DATASETS)


def holdout_seen_split(y, unseen, test_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Divide the seen-class items of ``y`` (seeded, stratified) into training and test items.

    Returns ``(train_idx, test_idx)``: sorted ``test_idx`` holds ``test_fraction`` of every seen
    class's items and every unseen-class item; ``train_idx`` the remaining seen-class items.
    """
    y = np.asarray(y)
    seen_idx = np.flatnonzero(~np.isin(y, unseen))
    tr_idx, ts_idx = train_test_split(seen_idx, test_size=test_fraction, stratify=y[seen_idx],
                                      random_state=seed)
    return tr_idx, np.sort(np.concatenate([ts_idx, np.flatnonzero(np.isin(y, unseen))]))


def frequent_class_split(y, *, min_items: int, n_unseen: int | None, test_fraction: float,
                         max_train_per_class: int | None, seed: int, name: str = "dataset"):
    """A ZSL split of the classes with at least ``min_items`` items (negative labels: no class).

    A seeded ``n_unseen`` of those classes (default: a quarter, at least 2) are unseen; seen-class
    items are split (seeded, stratified) into training and ``test_fraction`` seen test items;
    training items are capped at ``max_train_per_class`` per class (None: all).

    Returns ``(train_idx, test_idx, present, unseen)``: item indices (test: seen test items,
    then every unseen-class item), the kept class ids and the unseen ones (ids of ``y``).
    """
    y = np.asarray(y)
    classes, counts = np.unique(y[y >= 0], return_counts=True)
    present = classes[counts >= min_items]
    if len(present) < 4:
        raise ValueError(
            f"{name}: only {len(present)} classes have min_items={min_items} items; at least 4 are "
            "needed for a seen/unseen split: lower min_items"
        )
    n_unseen = max(2, len(present) // 4) if n_unseen is None else n_unseen
    perm_s, perm_u = seeded_class_split(len(present), n_unseen, seed)
    unseen = present[perm_u]
    # seen items: seeded stratified split into training and seen test items
    idx = np.flatnonzero(np.isin(y, present[perm_s]))
    tr_idx, te_idx = train_test_split(idx, test_size=test_fraction, stratify=y[idx], random_state=seed)
    if max_train_per_class is not None:
        tr_idx = tr_idx[cap_index(y[tr_idx], max_train_per_class, seed)]
    te_idx = np.concatenate([te_idx, np.flatnonzero(np.isin(y, unseen))])
    return tr_idx, te_idx, present, unseen


def load_xlsa17_split(name: str) -> ZSLSplit:
    """The proposed split (PS) of Xian et al. for ``"xlsa17-<subset>"`` (CUB, SUN, AWA2, AWA1,
    APY): ResNet-101 features of ``res101.mat`` and the class attributes of ``att_splits.mat``."""
    check_zsl_dataset(name)
    if not name.startswith("xlsa17-"):
        raise ValueError(f"load_xlsa17_split takes an 'xlsa17-<subset>' name, got {name!r}")
    subset = name.split("-", 1)[1]
    ds = load_dataset("xlsa17", subset=subset)
    if ds.features is None:
        raise FileNotFoundError(
            f"xlsa17/{subset}/res101.mat (the ResNet-101 features) is missing; download xlsa17.zip "
            "(http://datasets.d2.mpi-inf.mpg.de/xian/xlsa17.zip) and unpack it into the data dir"
        )
    lab = np.asarray(ds.labels)
    unseen = np.unique(lab[ds.test_unseen_loc])
    Xte = np.concatenate([ds.features[ds.test_seen_loc], ds.features[ds.test_unseen_loc]])
    yte = np.concatenate([lab[ds.test_seen_loc], lab[ds.test_unseen_loc]])
    return split_by_classes(
        name, ds.features[ds.trainval_loc], lab[ds.trainval_loc], Xte, yte, ds.att,
        list(ds.class_names), unseen, info={"split": "proposed split (PS), Xian et al."},
    )


def validation_split(split: ZSLSplit, val_fraction: float = 0.2, seen_test_fraction: float = 0.2,
                     seed: int = 0) -> ZSLSplit:
    """A validation split made from the seen classes only (xlsa17-style model selection).

    A seeded ``val_fraction`` of ``split``'s seen classes (at least 2) becomes the validation
    "unseen" classes: their training items are its unseen test items. The remaining seen classes
    keep ``1 - seen_test_fraction`` of their training items for training and the rest as seen
    test items (seeded, stratified, :func:`holdout_seen_split`). The test items and the unseen
    classes of ``split`` are not used. Classes are renumbered ``0..n_seen-1`` in the order of
    ``split.seen_classes``; ``info["class_ids"]`` maps them back to ``split``'s ids.
    """
    check_float("val_fraction", val_fraction, 0, 1, low_open=True, high_open=True)
    check_float("seen_test_fraction", seen_test_fraction, 0, 1, low_open=True, high_open=True)
    seen = split.seen_classes
    n_val = max(2, int(round(val_fraction * len(seen))))
    if n_val > len(seen) - 2:
        raise ValueError(
            f"{split.name}: the validation split needs at least 2 training and 2 validation classes, "
            f"but there are only {len(seen)} seen classes (val_fraction={val_fraction}); lower "
            "val_fraction or use more seen classes"
        )
    _, val_pos = seeded_class_split(len(seen), n_val, seed)
    y = np.searchsorted(seen, split.y_train)
    tr_idx, te_idx = holdout_seen_split(y, val_pos, seen_test_fraction, seed)
    te_unseen = np.isin(y[te_idx], val_pos)
    X = split.X_train
    return ZSLSplit(
        name=f"{split.name} (validation)", X_train=X[tr_idx], y_train=y[tr_idx],
        X_test_seen=X[te_idx[~te_unseen]], y_test_seen=y[te_idx[~te_unseen]],
        X_test_unseen=X[te_idx[te_unseen]], y_test_unseen=y[te_idx[te_unseen]],
        semantics=split.semantics[seen], class_names=[split.class_names[c] for c in seen],
        seen_classes=np.setdiff1d(np.arange(len(seen)), val_pos), unseen_classes=val_pos,
        info={"class_ids": seen, "val_fraction": val_fraction, "seen_test_fraction": seen_test_fraction,
              "seed": seed, "of": split.name},
    )
