"""Small helpers shared by the loaders of this package (per-class sampling, natural sort).

Option checks come from :mod:`zsl_lib.validation` (``check_choice``, ``check_int``).
"""

from __future__ import annotations

import re

import numpy as np

from zsl_lib.validation import check_int


def natural_key(s: str) -> tuple:
    """Sort key that orders ``val_2`` before ``val_10``."""
    return tuple(int(t) if t.isdigit() else t for t in re.split(r"(\d+)", s))


def sample_per_class(labels: np.ndarray, limit: int | None, seed: int = 0) -> np.ndarray | None:
    """Indices (sorted) of at most ``limit`` items per class, drawn with ``seed``; None = all.

    Vectorised: a seeded random key per item, rank within class, keep rank < limit.
    """
    if limit is None:
        return None
    limit = check_int("limit_per_class", limit, minimum=1, allow_none=True)
    labels = np.asarray(labels)
    key = np.random.default_rng(seed).random(len(labels))
    order = np.lexsort((key, labels))  # by label, then random key
    sorted_labels = labels[order]
    starts = np.searchsorted(sorted_labels, sorted_labels, side="left")
    rank = np.arange(len(labels)) - starts
    return np.sort(order[rank < limit])
