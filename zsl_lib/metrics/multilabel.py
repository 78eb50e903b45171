"""Multi-label classification metrics (Bynke 2022, section 2.1.6), micro-averaged where applicable.

All functions take ``Y_true`` as an ``(n, C)`` {0, 1} indicator matrix and either binary
predictions ``Y_pred`` ``(n, C)`` or confidence ``scores`` ``(n, C)`` in [0, 1] plus a threshold
(a class is predicted when ``score >= threshold``, as in the thesis). Micro averaging treats all
``n x C`` decisions as one binary problem; for accuracy and MSE micro and macro coincide.
"""

from __future__ import annotations

import numpy as np
from sklearn.metrics import roc_auc_score

from ..validation import check_binary_predictions, check_indicator

METRIC_NAMES = ("f2", "mse", "recall", "precision", "accuracy", "subset_accuracy", "roc_auc")


def check_pair(Y_true, other, what: str = "scores") -> tuple[np.ndarray, np.ndarray]:
    """``Y_true`` (n, C) {0, 1} as bool and ``other`` (same shape, finite) as an array.

    The shared input check of the multi-label metrics (and of the threshold searches):
    ``Y_true`` must be an indicator matrix (:func:`zsl_lib.validation.check_indicator`) and
    ``other`` (named ``what`` in messages: ``"scores"`` or ``"Y_pred"``) a real array of the same
    shape without NaN or infinite values. Scores keep their dtype (no float32 rounding).
    """
    Y_true = check_indicator("Y_true", Y_true).astype(bool)
    other = np.asarray(other.toarray() if hasattr(other, "toarray") else other)
    if other.shape != Y_true.shape:
        raise ValueError(
            f"{what} has shape {other.shape} but Y_true has shape {Y_true.shape}; both must be "
            "(n_items, n_classes) with the same class order"
        )
    if other.dtype == object or np.iscomplexobj(other) or not (
            np.issubdtype(other.dtype, np.number) or other.dtype == bool):
        raise ValueError(f"{what} must be a real numeric array; got dtype {other.dtype}")
    if np.issubdtype(other.dtype, np.floating) and not np.isfinite(other).all():
        raise ValueError(f"{what} contains NaN or infinite values")
    return Y_true, other


def check_threshold(threshold) -> np.ndarray:
    """Validate a global (scalar) or per-class (1-D) threshold: every value must lie in [0, 1]."""
    t = np.asarray(threshold, dtype=np.float64)
    if t.ndim > 1:
        raise ValueError(f"threshold must be a scalar or a 1-D per-class array, got shape {t.shape}")
    if not np.isfinite(t).all() or (t < 0).any() or (t > 1).any():
        bad = t[~((t >= 0) & (t <= 1))] if t.ndim else t
        raise ValueError(
            f"threshold values must lie in [0, 1] (confidence scores are in [0, 1]); got {bad!r}. "
            "Choose it with zsl_lib.zeroshot.thresholds.best_global_threshold on validation scores"
        )
    return t


def binarize(scores, threshold) -> np.ndarray:
    """``scores >= threshold`` as bool ``(n, C)``; ``threshold`` scalar or per-class ``(C,)``."""
    scores = np.asarray(scores)
    t = check_threshold(threshold)
    if t.ndim == 1 and (scores.ndim != 2 or t.shape[0] != scores.shape[1]):
        raise ValueError(
            f"per-class threshold has {t.shape[0]} values but scores have shape {scores.shape}"
        )
    return scores >= t


def _counts(Y_true: np.ndarray, Y_pred: np.ndarray) -> tuple[int, int, int, int]:
    tp = int(np.count_nonzero(Y_true & Y_pred))
    fp = int(np.count_nonzero(~Y_true & Y_pred))
    fn = int(np.count_nonzero(Y_true & ~Y_pred))
    tn = Y_true.size - tp - fp - fn
    return tp, fp, fn, tn


def fbeta_micro(Y_true, Y_pred, beta: float = 2.0) -> float:
    """Micro-averaged F-beta of binary predictions; 0 when there are no true or predicted positives.

    ``Y_pred`` must be 0/1 (or bool): real-valued scores are rejected, not thresholded; use
    :func:`binarize` (or :func:`multilabel_report` with a threshold) for scores.
    """
    Y_true, Y_pred = check_pair(Y_true, Y_pred, "Y_pred")
    Y_pred = check_binary_predictions("Y_pred", Y_pred)
    tp, fp, fn, _ = _counts(Y_true, Y_pred)
    b2 = beta * beta
    denom = (1 + b2) * tp + b2 * fn + fp
    return float((1 + b2) * tp / denom) if denom else 0.0


def fbeta_samples(Y_true, Y_pred, beta: float = 2.0, zero_division: float = 0.0) -> float:
    """Samples-averaged F-beta of binary predictions: each item's F-beta over its own labels, then
    the mean over items (scikit-learn's ``fbeta_score(average="samples")``). An item with no true
    and no predicted label scores ``zero_division`` (scikit-learn's default: 0).

    Micro F-beta (:func:`fbeta_micro`, the thesis's F2) pools all ``n x C`` decisions, so frequent
    keywords dominate; the samples average weighs every item equally.
    """
    Y_true, Y_pred = check_pair(Y_true, Y_pred, "Y_pred")
    Y_pred = check_binary_predictions("Y_pred", Y_pred)
    if not len(Y_true):
        raise ValueError("Y_true has no items; the samples average needs at least one")
    tp = np.count_nonzero(Y_true & Y_pred, axis=1)
    b2 = beta * beta
    denom = b2 * Y_true.sum(1) + Y_pred.sum(1)  # (1 + b2) tp + b2 fn + fp
    per_item = np.divide((1 + b2) * tp, denom, out=np.full(len(tp), float(zero_division)), where=denom > 0)
    return float(per_item.mean())


def per_class_roc_auc(Y_true, scores) -> np.ndarray:
    """ROC AUC of each class ``(C,)`` float64; NaN for classes with only positives or only negatives."""
    Y_true, scores = check_pair(Y_true, scores, "scores")
    out = np.full(Y_true.shape[1], np.nan)
    pos = Y_true.sum(0)
    ok = (pos > 0) & (pos < Y_true.shape[0])
    if ok.any():
        out[ok] = roc_auc_score(Y_true[:, ok], scores[:, ok], average=None)
    return out


def multilabel_report(Y_true, scores, threshold, beta: float = 2.0) -> dict[str, float]:
    """All metrics of the thesis's Table 4.8 for confidence ``scores`` and a ``threshold``.

    Parameters
    ----------
    Y_true : (n, C) {0, 1} ground truth.
    scores : (n, C) float confidences in [0, 1].
    threshold : float in [0, 1] or (C,) per-class thresholds.

    Returns
    -------
    dict with ``f2`` (micro F-beta, beta=2 by default), ``mse`` (mean squared error of the scores),
    ``recall``, ``precision`` (micro), ``accuracy`` (micro = macro), ``subset_accuracy`` (all labels
    of an item right), ``roc_auc`` (micro: all n x C pairs ranked together; NaN when undefined) and
    ``threshold`` (the global threshold, or the mean of per-class thresholds).
    """
    Y_true, scores = check_pair(Y_true, scores, "scores")
    if Y_true.size == 0:
        raise ValueError(
            f"multilabel_report needs at least one item and one class; Y_true has shape "
            f"{Y_true.shape}. Evaluate on a non-empty split"
        )
    scores = scores.astype(np.float64)
    Y_pred = binarize(scores, threshold)
    tp, fp, fn, tn = _counts(Y_true, Y_pred)
    b2 = beta * beta
    denom = (1 + b2) * tp + b2 * fn + fp
    yt = Y_true.ravel()
    both = 0 < yt.sum() < yt.size
    return {
        "f2": float((1 + b2) * tp / denom) if denom else 0.0,
        "mse": float(np.mean((scores - Y_true) ** 2)),
        "recall": tp / (tp + fn) if tp + fn else 0.0,
        "precision": tp / (tp + fp) if tp + fp else 0.0,
        "accuracy": (tp + tn) / Y_true.size,
        "subset_accuracy": float(np.mean((Y_pred == Y_true).all(axis=1))),
        "roc_auc": float(roc_auc_score(yt, scores.ravel())) if both else float("nan"),
        "threshold": float(np.mean(check_threshold(threshold))),
    }
