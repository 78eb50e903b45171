"""xlsa17: the proposed splits of Xian et al. (CUB, SUN, AWA1, AWA2, APY).

Files per subset ``<DS>`` (relative to the data dir / mirror), as in the official ``xlsa17.zip``
(``xlsa17/data/<DS>/...``):

* ``xlsa17/<DS>/att_splits.mat``: ``att`` (n_attributes x n_classes, L2-normalised columns),
  ``original_att``, ``allclasses_names`` (n_classes x 1 cell), ``trainval_loc``,
  ``test_seen_loc``, ``test_unseen_loc`` (and ``train_loc``, ``val_loc`` for AWA1/AWA2/SUN):
  1-based indices into the image list of ``res101.mat``.
* ``xlsa17/<DS>/res101.mat``: ``features`` (2048 x n) ResNet-101 features, ``labels`` (n x 1,
  1-based class indices into ``allclasses_names``), ``image_files`` (n x 1 cell).

Everything returned is 0-based and row-major: ``att`` (n_classes, n_attributes), ``features``
(n, 2048), ``labels`` (n,), the ``*_loc`` arrays index rows of ``features``.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import scipy.io

from zsl_lib.data import registry
from zsl_lib.data.base import fingerprint_of
from zsl_lib.data.registry import XLSA17_SUBSETS
from zsl_lib.validation import check_choice

_LOCS = ("trainval_loc", "test_seen_loc", "test_unseen_loc", "train_loc", "val_loc")


@dataclass
class XLSA17Data:
    """One xlsa17 subset (all arrays 0-based).

    att : float32 (n_classes, n_attributes), the L2-normalised class attributes of ``att_splits.mat``.
    original_att : float32 (n_classes, n_attributes), the unnormalised attributes.
    class_names : list of str (n_classes).
    features : float32 (n, 2048) or None when ``res101.mat`` is not available.
    labels : int64 (n,) class indices, or None without ``res101.mat``.
    trainval_loc, test_seen_loc, test_unseen_loc : int64 arrays of row indices into ``features``.
    train_loc, val_loc : int64 arrays, or None for CUB/APY copies that lack them.
    image_files : list of str (n) or None.
    """

    subset: str
    att: np.ndarray
    original_att: np.ndarray | None
    class_names: list[str]
    trainval_loc: np.ndarray
    test_seen_loc: np.ndarray
    test_unseen_loc: np.ndarray
    train_loc: np.ndarray | None = None
    val_loc: np.ndarray | None = None
    features: np.ndarray | None = None
    labels: np.ndarray | None = None
    image_files: list[str] | None = None
    fingerprint: str = ""
    extra: dict = field(default_factory=dict)

    @property
    def seen_classes(self) -> np.ndarray | None:
        """Sorted class indices of the ``trainval`` images (needs ``labels``)."""
        return None if self.labels is None else np.unique(self.labels[self.trainval_loc])

    @property
    def unseen_classes(self) -> np.ndarray | None:
        """Sorted class indices of the ``test_unseen`` images (needs ``labels``)."""
        return None if self.labels is None else np.unique(self.labels[self.test_unseen_loc])


def _cellstr(arr) -> list[str]:
    out = []
    for x in np.asarray(arr, dtype=object).ravel():
        while isinstance(x, np.ndarray):
            x = x.ravel()[0] if x.size else ""
        out.append(str(x))
    return out


def _loc(m: dict, key: str, n: int | None, path) -> np.ndarray | None:
    if key not in m:
        return None
    loc = np.asarray(m[key]).astype(np.int64).ravel() - 1
    if loc.size and loc.min() < 0:
        raise ValueError(f"{path}: {key} has an index < 1 (expected 1-based indices)")
    if n is not None and loc.size and loc.max() >= n:
        raise ValueError(f"{path}: {key} indexes image {loc.max() + 1} but res101.mat has {n} images")
    return loc


def load_xlsa17(subset: str = "CUB", features: bool | None = None) -> XLSA17Data:
    """Load one xlsa17 subset.

    Parameters
    ----------
    subset : ``"CUB"``, ``"SUN"``, ``"AWA1"``, ``"AWA2"`` or ``"APY"``.
    features : None (default): load ``res101.mat`` when it is available (data dir, mirror, or
        downloadable from the official ``xlsa17.zip``), else ``features=None`` with a warning.
        True: require it (FileNotFoundError otherwise). False: do not load it.
    """
    check_choice("subset", subset, XLSA17_SUBSETS, "xlsa17")
    if features not in (None, True, False):
        raise ValueError(f"xlsa17: features must be None, True or False, got {features!r}")
    att_rel = f"xlsa17/{subset}/att_splits.mat"
    att_path = registry.fetch("xlsa17", att_rel)
    m = scipy.io.loadmat(att_path)
    missing = [k for k in ("att", "allclasses_names", *_LOCS[:3]) if k not in m]
    if missing:
        raise ValueError(f"{att_path}: not an xlsa17 att_splits.mat (missing {missing})")
    att = np.asarray(m["att"], dtype=np.float32).T
    class_names = _cellstr(m["allclasses_names"])
    if len(class_names) != att.shape[0]:
        raise ValueError(f"{att_path}: {len(class_names)} class names but att has {att.shape[0]} classes")

    feats = labels = files = None
    res_fp = None
    if features is not False:
        res_rel = f"xlsa17/{subset}/res101.mat"
        try:
            res_path = registry.fetch("xlsa17", res_rel)
        except FileNotFoundError as e:
            if features:
                raise
            warnings.warn(
                f"xlsa17/{subset}: features=None because res101.mat is not available locally nor "
                f"downloadable here (get it from {registry.XLSA17_URL}, member "
                f"xlsa17/data/{subset}/res101.mat); details: {str(e)[:300]}",
                stacklevel=2,
            )
        else:
            r = scipy.io.loadmat(res_path)
            if "features" not in r or "labels" not in r:
                raise ValueError(f"{res_path}: not an xlsa17 res101.mat (needs 'features' and 'labels')")
            f = np.asarray(r["features"], dtype=np.float32)
            labels = np.asarray(r["labels"]).astype(np.int64).ravel() - 1
            if f.ndim != 2 or f.shape[1] != labels.size:
                raise ValueError(
                    f"{res_path}: features has shape {f.shape}, expected (2048, n) with n = "
                    f"{labels.size} labels"
                )
            if labels.min() < 0 or labels.max() >= len(class_names):
                raise ValueError(
                    f"{res_path}: labels must be 1-based in 1..{len(class_names)}, got "
                    f"{labels.min() + 1}..{labels.max() + 1}"
                )
            feats = np.ascontiguousarray(f.T)
            files = _cellstr(r["image_files"]) if "image_files" in r else None
            res_fp = registry.cached_hash(res_path)
    n = None if feats is None else len(feats)
    locs = {k: _loc(m, k, n, att_path) for k in _LOCS}
    return XLSA17Data(
        subset=subset,
        att=att,
        original_att=np.asarray(m["original_att"], dtype=np.float32).T if "original_att" in m else None,
        class_names=class_names,
        trainval_loc=locs["trainval_loc"],
        test_seen_loc=locs["test_seen_loc"],
        test_unseen_loc=locs["test_unseen_loc"],
        train_loc=locs["train_loc"],
        val_loc=locs["val_loc"],
        features=feats,
        labels=labels,
        image_files=files,
        fingerprint=fingerprint_of("xlsa17", subset, registry.file_checksum("xlsa17", att_rel), res_fp),
        extra={"att_file": str(att_path)},
    )
