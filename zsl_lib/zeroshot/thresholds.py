"""Class-confidence thresholds chosen on validation data to maximise F-beta (thesis 4.2).

The thesis uses one global threshold per model (a class is suggested when its confidence is at or
above the threshold), chosen to maximise micro F2 on the validation split. Its chapter 6 suggests
per-class thresholds as future work: :func:`per_class_thresholds` maximises each class's own F2 and
falls back to the global threshold for classes with too few validation positives.

Both searches are exact: every distinct score is a candidate, evaluated in one sort + cumulative
sum (O(M log M) for M scores), not on a grid.
"""

from __future__ import annotations

import numpy as np

from ..metrics.multilabel import check_pair as _check_pair


def _best_cut(y: np.ndarray, s: np.ndarray, beta: float) -> tuple[float, float]:
    """Best threshold over 1-D labels ``y`` (bool) and scores ``s``: (threshold, F-beta)."""
    n_pos = int(y.sum())
    if n_pos == 0 or s.size == 0:
        return float("nan"), 0.0
    order = np.argsort(-s, kind="stable")
    s_sorted = s[order]
    tp = np.cumsum(y[order])
    k = np.arange(1, s.size + 1)
    # a cut is only possible after the last of a run of equal scores (score >= t keeps all ties)
    last_of_run = np.ones(s.size, dtype=bool)
    last_of_run[:-1] = s_sorted[:-1] != s_sorted[1:]
    b2 = beta * beta
    f = np.where(last_of_run, (1 + b2) * tp / (b2 * n_pos + k), -1.0)
    i = int(np.argmax(f))
    return float(s_sorted[i]), float(f[i])


def best_global_threshold(Y_true, scores, beta: float = 2.0) -> tuple[float, float]:
    """The single threshold in [0, 1] maximising micro F-beta.

    Parameters
    ----------
    Y_true : (n, C) {0, 1}; scores : (n, C) float confidences in [0, 1].

    Returns
    -------
    (threshold, f_beta) : the best threshold (one of the observed scores) and its micro F-beta.
    """
    Y_true, scores = _check_pair(Y_true, scores, "scores")
    scores = np.asarray(scores, dtype=np.float64)
    if scores.size and (scores.min() < -1e-6 or scores.max() > 1 + 1e-6):
        raise ValueError(
            f"scores must be confidences in [0, 1]; got range [{scores.min():.4g}, {scores.max():.4g}]"
        )
    if not Y_true.any():
        raise ValueError("Y_true has no positive labels: a threshold maximising F-beta is undefined")
    t, f = _best_cut(Y_true.ravel(), scores.ravel(), beta)
    return float(np.clip(t, 0.0, 1.0)), f


def per_class_thresholds(Y_true, scores, beta: float = 2.0, min_positives: int = 5) -> np.ndarray:
    """One threshold per class, each maximising that class's F-beta on validation.

    Classes with fewer than ``min_positives`` validation positives get the global threshold of
    :func:`best_global_threshold` (too few positives to choose their own reliably).

    Returns
    -------
    (C,) float64 thresholds in [0, 1].
    """
    if min_positives < 1:
        raise ValueError(f"min_positives must be >= 1, got {min_positives}")
    Y_true, scores = _check_pair(Y_true, scores, "scores")
    scores = np.asarray(scores, dtype=np.float64)
    t_global, _ = best_global_threshold(Y_true, scores, beta)
    out = np.full(Y_true.shape[1], t_global)
    pos = Y_true.sum(0)
    for c in np.flatnonzero(pos >= min_positives):  # a loop over classes, each step vectorised
        out[c], _ = _best_cut(Y_true[:, c], scores[:, c], beta)
    return np.clip(out, 0.0, 1.0)
