"""Paired intervals for comparing two methods on the same test items, or over the same seeds.

Every verdict a rendered page prints ("beats", "tie", "reproduces", ...) is decided from one of
these intervals (:mod:`zsl_lib.experiments.verdicts` turns them into words):

- :func:`paired_bootstrap`: two methods scored on the same ``n`` items (queries, test images).
  The items are resampled with replacement ``n_boot`` times, the *same* resample for both
  methods, and the statistic's difference is recomputed on each; the interval is the percentile
  interval of those differences. Per-item scores may be vectors (per-item counts) with a
  ``statistic`` of their means, so that non-decomposable metrics (micro-F2 from summed
  true/false positives) are bootstrapped correctly.
- :func:`seed_interval`: two methods run with the same seeds; the per-seed differences get a
  Student-t interval (with 3 seeds its half-width is 2.48 standard deviations of the differences).

Both return a plain dict ``{"diff", "lo", "hi", "n", "level", "method"}`` (JSON-ready, so it can
be recorded as is).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..validation import check_int

_CHUNK_ELEMENTS = 4_000_000  # resample indices held at once (n_boot is processed in chunks)


def _per_item(x, name: str) -> np.ndarray:
    arr = np.asarray(x, dtype=np.float64)
    if arr.ndim == 1:
        arr = arr[:, None]
    if arr.ndim != 2 or arr.shape[0] == 0:
        raise ValueError(f"{name}: expected per-item scores of shape (n,) or (n, k) with n >= 1, "
                         f"got shape {np.shape(x)}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name}: per-item scores contain NaN or inf; score every item (a miss is 0)")
    return arr


def _check_level(level: float) -> float:
    if not isinstance(level, (int, float)) or not 0.5 <= float(level) < 1.0:
        raise ValueError(f"level={level!r}: expected a coverage in [0.5, 1), e.g. 0.95")
    return float(level)


def paired_bootstrap(a, b, *, statistic: Callable[[np.ndarray], np.ndarray] | None = None,
                     n_boot: int = 2000, level: float = 0.95, seed: int = 0) -> dict:
    """Percentile bootstrap interval of ``statistic(a) - statistic(b)`` over shared item resamples.

    ``a``, ``b``: per-item scores of two methods on the *same* items, shape ``(n,)`` or
    ``(n, k)`` (row i of both belongs to item i). ``statistic``: maps column means of shape
    ``(..., k)`` to values of shape ``(...)``; default: the mean (``k`` must be 1). For micro-F2,
    pass per-item ``[tp, fp, fn]`` counts and ``lambda m: 5*m[...,0] / (5*m[...,0] + 4*m[...,2] + m[...,1])``.

    Returns ``{"diff": observed difference, "lo", "hi": the interval, "n": items, "level",
    "n_boot", "method": "paired bootstrap"}``. Deterministic under ``seed``.
    """
    A, B = _per_item(a, "paired_bootstrap(a)"), _per_item(b, "paired_bootstrap(b)")
    if A.shape != B.shape:
        raise ValueError(f"paired_bootstrap: a and b must score the same items, got shapes "
                         f"{A.shape} and {B.shape}")
    level = _check_level(level)
    n_boot = check_int("n_boot", n_boot, minimum=100)
    if statistic is None:
        if A.shape[1] != 1:
            raise ValueError("paired_bootstrap: per-item vectors need a `statistic` that maps "
                             "their means to one number")

        def statistic(m):
            return m[..., 0]
    n = A.shape[0]
    observed = float(statistic(A.mean(0)) - statistic(B.mean(0)))
    rng = np.random.default_rng(seed)
    diffs = np.empty(n_boot)
    chunk = max(1, _CHUNK_ELEMENTS // max(n * A.shape[1], 1))  # per-item vectors count too
    for start in range(0, n_boot, chunk):
        stop = min(n_boot, start + chunk)
        idx = rng.integers(0, n, size=(stop - start, n))
        diffs[start:stop] = statistic(A[idx].mean(1)) - statistic(B[idx].mean(1))
    diffs = diffs[np.isfinite(diffs)]
    alpha = (1.0 - level) / 2.0
    lo, hi = (np.quantile(diffs, [alpha, 1.0 - alpha]) if diffs.size else (np.nan, np.nan))
    return {"diff": observed, "lo": float(lo), "hi": float(hi), "n": int(n), "level": level,
            "n_boot": int(n_boot), "method": "paired bootstrap"}


def seed_interval(a, b, *, level: float = 0.95) -> dict:
    """Student-t interval of the mean per-seed difference ``a[s] - b[s]`` (same seeds for both).

    ``a``, ``b``: one score per seed, shape ``(n_seeds,)``, ``n_seeds >= 2``. Returns the same
    dict as :func:`paired_bootstrap` (``"method": "seed t-interval"``).
    """
    from scipy import stats  # noqa: PLC0415

    A = np.asarray(a, dtype=np.float64).ravel()
    B = np.asarray(b, dtype=np.float64).ravel()
    if A.shape != B.shape or A.size < 2:
        raise ValueError(f"seed_interval: need one score per seed for both methods, at least 2 "
                         f"seeds, same seeds for both; got {A.size} and {B.size}")
    if not (np.all(np.isfinite(A)) and np.all(np.isfinite(B))):
        raise ValueError("seed_interval: scores contain NaN or inf")
    level = _check_level(level)
    d = A - B
    mean = float(d.mean())
    half = float(stats.t.ppf(0.5 + level / 2.0, d.size - 1) * d.std(ddof=1) / np.sqrt(d.size))
    return {"diff": mean, "lo": mean - half, "hi": mean + half, "n": int(d.size), "level": level,
            "method": "seed t-interval"}


def micro_fbeta_statistic(beta: float = 2.0) -> Callable[[np.ndarray], np.ndarray]:
    """``statistic`` for :func:`paired_bootstrap` over per-item ``[tp, fp, fn]`` counts: micro F-beta."""
    b2 = float(beta) ** 2

    def f(m: np.ndarray) -> np.ndarray:
        tp, fp, fn = m[..., 0], m[..., 1], m[..., 2]
        den = (1 + b2) * tp + b2 * fn + fp
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(den > 0, (1 + b2) * tp / np.where(den > 0, den, 1), 0.0)
    return f


def multilabel_counts(Y_true, Y_pred) -> np.ndarray:
    """Per-item ``[tp, fp, fn]`` counts of a 0/1 multi-label prediction, shape ``(n, 3)``."""
    T = np.asarray(Y_true).astype(bool)
    P = np.asarray(Y_pred).astype(bool)
    if T.shape != P.shape or T.ndim != 2:
        raise ValueError(f"multilabel_counts: Y_true and Y_pred must be (n, C) of one shape, got "
                         f"{T.shape} and {P.shape}")
    return np.stack([(T & P).sum(1), (~T & P).sum(1), (T & ~P).sum(1)], axis=1).astype(np.float64)
