"""Small helpers shared by the loaders (validation, per-class sampling, natural sort)."""

from __future__ import annotations

import re
from collections.abc import Iterable

import numpy as np


def check_choice(what: str, value, accepted: Iterable, dataset: str = "") -> None:
    accepted = list(accepted)
    if value not in accepted:
        prefix = f"{dataset}: " if dataset else ""
        raise ValueError(
            f"{prefix}unknown {what} {value!r}; accepted values: {', '.join(map(repr, accepted))}"
        )


def natural_key(s: str) -> tuple:
    """Sort key that orders ``val_2`` before ``val_10``."""
    return tuple(int(t) if t.isdigit() else t for t in re.split(r"(\d+)", s))


def sample_per_class(labels: np.ndarray, limit: int | None, seed: int = 0) -> np.ndarray | None:
    """Indices (sorted) of at most ``limit`` items per class, drawn with ``seed``; None = all.

    Vectorised: a seeded random key per item, rank within class, keep rank < limit.
    """
    if limit is None:
        return None
    if not isinstance(limit, (int, np.integer)) or isinstance(limit, bool) or limit < 1:
        raise ValueError(f"limit_per_class must be a positive integer or None, got {limit!r}")
    labels = np.asarray(labels)
    key = np.random.default_rng(seed).random(len(labels))
    order = np.lexsort((key, labels))  # by label, then random key
    sorted_labels = labels[order]
    starts = np.searchsorted(sorted_labels, sorted_labels, side="left")
    rank = np.arange(len(labels)) - starts
    return np.sort(order[rank < limit])
