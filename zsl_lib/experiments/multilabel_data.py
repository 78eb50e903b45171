"""Notebook 05's collections: loading (built-in and a user's own data), preparation, scaling.

Data kinds (``datasets`` names of notebook 05):

- ``fashion-products``, ``tiny-imagenet``: keyword collections of images (``zsl_lib.data.keywords``);
- ``mulan-scene``: the Mulan scene benchmark (294 numeric features, 6 labels), its official
  train and test files either pooled and re-split 60/20/20 like the thesis's data
  (``mulan_split="pooled"``, the default) or kept (``"given"``: validation drawn from train);
- ``user``: a user's image folder with a ``path,keywords`` CSV (``user_csv``; keywords separated
  by ``|`` or ``;``), the thesis's own setting;
- ``user-features``: a user's numeric multi-label features (``user_features``): an ``.npz`` with
  ``X`` (n, d) and ``Y`` (n, C) {0, 1}, optional ``label_names`` (C,) and optional ``split`` (n,)
  of ``"train"``/``"val"``/``"test"`` (or only train/test), or a Mulan/MEKA ``.arff`` with the label
  count in its header (``-C -6``) or given as ``user_n_labels``. ``user_features_test`` (same
  format) holds the test items of a given train/test split. A split the user gives is kept
  (validation drawn from train, seeded, when only train/test are given); one collection without
  a split is split like the thesis's (60/20/20, stratified, seeded).

Relative user paths resolve against the caller's working directory (:func:`resolve_user_path`).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from .. import config
from ..data import keywords as kwd
from ..data.user import open_npz
from ..validation import check_indicator, check_matrix
from ..zeroshot.multilabel_prep import PreparedData, prepare, scaling_stats

SPLIT_NAMES = ("train", "val", "test")
FEATURE_SCALINGS = ("none", "standard", "minmax")
NUMERIC_DATASETS = ("mulan-scene", "user-features")
#: de-duplication of items: "auto" = on for image collections, off for numeric feature tables
#: (whose raw all-positive features make nearly every pair look like a duplicate)
DEDUPLICATE = ("auto", "on", "off")


@dataclass
class Collection:
    """One keyword collection: its items, image features ``X`` and language-image embeddings ``Z``
    (None where the language-image model does not apply); ``split`` (n,) the split a user or the
    benchmark gives ("train" / "val" / "test"), None when the preparation draws it."""

    data: kwd.KeywordData
    X: np.ndarray
    Z: np.ndarray | None
    split: np.ndarray | None = None


resolve_user_path = config.resolve_user_path  # the lab's one rule for a user's relative paths


def load_feature_table(path: Path, n_labels: int = 0) -> tuple[np.ndarray, np.ndarray, list[str], np.ndarray | None]:
    """``(X, Y, label_names, split)`` of a multi-label feature table (.npz or Mulan/MEKA .arff;
    see the module docstring). ``split`` is None unless the .npz has one."""
    suffix = path.suffix.lower()
    if suffix == ".npz":
        with open_npz(path, "parameter user_features", "X=..., Y=...") as z:
            missing = [k for k in ("X", "Y") if k not in z.files]
            if missing:
                raise ValueError(f"parameter user_features: {path} lacks {missing}; it has {z.files} (expected X "
                                 "(n, d) features, Y (n, C) 0/1 labels, optional label_names and split)")
            X = check_matrix(f"X of {path}", z["X"])
            Y = check_indicator(f"Y of {path}", z["Y"], len(X))
            names = [str(c) for c in z["label_names"]] if "label_names" in z.files else [f"label{i}" for i in range(Y.shape[1])]
            split = np.asarray(z["split"]).astype(str) if "split" in z.files else None
        if len(names) != Y.shape[1]:
            raise ValueError(f"parameter user_features: {path} has {len(names)} label_names for {Y.shape[1]} columns of Y")
        if split is not None:
            if split.shape != (len(X),):
                raise ValueError(f"parameter user_features: split of {path} must have shape ({len(X)},), got {split.shape}")
            bad = sorted(set(split) - set(SPLIT_NAMES))
            if bad:
                raise ValueError(f"parameter user_features: split of {path} has values {bad[:5]}; use train, val, test")
        return X, Y.astype(np.uint8), names, split
    if suffix == ".arff":
        from ..data import load_dataset

        fd = load_dataset("multilabel-arff", path=path, n_labels=n_labels or None)
        return np.asarray(fd.X, np.float32), np.asarray(fd.Y, np.uint8), list(fd.class_names), None
    raise ValueError(f"parameter user_features: {path} is neither .npz (X, Y, optional label_names, split) nor a "
                     "Mulan/MEKA .arff (label count in the header '-C -N' or as user_n_labels)")


def user_feature_collection(cfg) -> tuple[kwd.KeywordData, np.ndarray | None]:
    """The ``user-features`` collection and its given split (None: drawn by the preparation)."""
    X, Y, names, split = load_feature_table(resolve_user_path("user_features", cfg.user_features), cfg.user_n_labels)
    if cfg.user_features_test:
        if split is not None:
            raise ValueError("parameter user_features_test is set but user_features already has a split; give one")
        Xt, Yt, names_t, split_t = load_feature_table(resolve_user_path("user_features_test", cfg.user_features_test),
                                                      cfg.user_n_labels)
        if names_t != names or Xt.shape[1] != X.shape[1] or split_t is not None:
            raise ValueError(f"parameters user_features and user_features_test disagree: labels {names[:4]}... vs "
                             f"{names_t[:4]}..., {X.shape[1]} vs {Xt.shape[1]} features (and the test file must "
                             "have no split)")
        split = np.array(["train"] * len(X) + ["test"] * len(Xt))
        X, Y = np.vstack([X, Xt]), np.vstack([Y, Yt])
    return kwd.KeywordData("user-features", Y, names, X=X), split


def sample_index(n_total: int, n: int, seed: int) -> np.ndarray:
    """The items :meth:`KeywordData.sample` keeps (all if ``n`` is 0 or not smaller)."""
    if not n or n >= n_total:
        return np.arange(n_total)
    return np.sort(np.random.default_rng(seed).choice(n_total, int(n), replace=False))


def ensure_language_image_encoder(name: str, device: str = "cpu") -> None:
    """Train (once; cached) the fashion alignment behind ``lit-fashion`` in the open, with a
    progress bar: on a user's data it is the first thing the default language-image path does
    (about 4,800 fashion images; minutes on a CPU the first time)."""
    if not name.startswith("lit-fashion"):
        return
    from ..encoders.alignment import load_fashion_alignment
    from ..progress import bar

    with bar(total=1, desc=f"{name}: fashion image->text alignment (trained once on fashion-products 'align', then "
                           "cached)", unit="model") as b:
        load_fashion_alignment(progress=True, mask_class_words=name.endswith("-masked"), device=device)
        b.update(1)


def load_collection(name: str, cfg) -> Collection:
    """One collection with its image features and (fashion, user) language-image embeddings, both
    extracted on ``cfg.device`` (:func:`zsl_lib.config.resolve_device`)."""
    from ..config import resolve_device
    from ..encoders import embed

    device = resolve_device(cfg.device)

    split = None
    if name == "fashion-products":  # eval items only (lit-fashion was trained on the disjoint align items)
        kd = kwd.fashion_keywords("eval").sample(cfg.fashion_items, cfg.seed)
    elif name == "tiny-imagenet":
        kd = kwd.tiny_imagenet_keywords(cfg.tiny_split, cfg.tiny_coarse_levels, cfg.tiny_coarse_drop, cfg.seed,
                                        limit_per_class=cfg.tiny_limit_per_class)
    elif name == "mulan-scene":  # the official train and test files
        tr, te = kwd.mulan_scene("train"), kwd.mulan_scene("test")
        kd = kwd.KeywordData("mulan-scene", np.vstack([tr.Y, te.Y]), tr.keywords, X=np.vstack([tr.X, te.X]))
        if cfg.mulan_split == "given":
            split = np.array(["train"] * len(tr) + ["test"] * len(te))
    elif name == "user-features":
        kd, split = user_feature_collection(cfg)
    else:
        kd = kwd.user_keywords(resolve_user_path("user_csv", cfg.user_csv), bad_images=cfg.bad_images)
    if split is None:
        kd = kd.sample(cfg.max_items, cfg.seed)
    else:
        keep = sample_index(len(kd), cfg.max_items, cfg.seed)
        kd, split = kd.subset(keep), split[keep]
    shown = name == "user"  # a user's images: extraction progress (built-in collections are usually cached)
    X = kd.X if kd.X is not None else embed(kd.dataset, cfg.image_encoder, progress=shown, device=device)
    use_li = cfg.language_image_encoder != "none" and name in ("fashion-products", "user")
    if use_li and name == "user":
        ensure_language_image_encoder(cfg.language_image_encoder, device=device)
    Z = embed(kd.dataset, cfg.language_image_encoder, progress=shown, device=device) if use_li else None
    return Collection(kd, X, Z, split)


def load_collections(cfg) -> dict[str, Collection]:
    return {name: load_collection(name, cfg) for name in cfg.datasets}


def scale_features(d: PreparedData, how: str) -> PreparedData:
    """``d`` with its features scaled by statistics of the training split only: ``"standard"``
    (zero mean, unit variance per feature; constant features left at 0), ``"minmax"`` (per
    feature to [0, 1] on train), ``"none"`` (unchanged). Every model compares by cosine, so L2
    normalisation is implied already; what scaling changes is which features dominate the cosine."""
    if how not in FEATURE_SCALINGS:
        raise ValueError(f"parameter feature_scaling={how!r} is not one of {FEATURE_SCALINGS}")
    if how == "none":
        return d
    shift, scale = scaling_stats(d.X_train, how)
    f = lambda A: ((A - shift) / scale).astype(np.float32)  # noqa: E731
    return replace(d, X_train=f(d.X_train), X_val=f(d.X_val), X_test=f(d.X_test),
                   info={**d.info, "feature_scaling": how})


def prepare_collections(collections: dict[str, Collection], cfg):
    """Section 3.1.2 on every collection (a given split kept), then ``feature_scaling`` on the
    numeric-feature collections; returns ``(prepared {name: PreparedData}, records, table rows)``."""
    prepared, records = {}, {}
    for name, c in collections.items():
        min_count = cfg.tiny_min_count if name == "tiny-imagenet" else cfg.min_count  # a user's too (thesis: 50)
        pairs = str(resolve_user_path("duplicate_pairs_csv", cfg.duplicate_pairs_csv)) if cfg.duplicate_pairs_csv else None
        numeric = name in NUMERIC_DATASETS
        dedup = cfg.deduplicate == "on" or (cfg.deduplicate == "auto" and not numeric)
        d = prepare(c.X, c.data.Y, c.data.keywords, cfg.suspected_duplicate, cfg.certain_duplicate,
                    pairs, min_count=min_count, random_state=cfg.seed, split=c.split,
                    scaling=cfg.feature_scaling if numeric else "none", deduplicate_items=dedup)
        if name in NUMERIC_DATASETS:
            d = scale_features(d, cfg.feature_scaling)
        elif cfg.feature_scaling != "none":
            warnings.warn(f"feature_scaling={cfg.feature_scaling!r} applies to numeric features "
                          f"({', '.join(NUMERIC_DATASETS)}); {name} uses its encoder's features unscaled", stacklevel=2)
        prepared[name] = d
        records.update({f"{name}.prep.{k}": v for k, v in d.info.items()})
        records[f"{name}.prep.n_train"] = len(d.Y_train)
        records[f"{name}.prep.prevalence_test"] = d.prevalence_test
    return prepared, records
