"""Zero-shot evaluation metrics (Xian et al. 2018 protocol) and k-means clusterability.

* :func:`per_class_accuracy`: top-1 accuracy averaged over classes (the ZSL metric of Table 2).
* :func:`gzsl_scores`: per-class accuracy on seen-class and unseen-class test samples (S, U) and
  their harmonic mean H = 2 S U / (S + U) (Table 1).
* :func:`kmeans_mutual_info`: mutual information between k-means clusters and the true labels of a
  feature space (Table 4), via scikit-learn's ``KMeans`` and ``mutual_info_score``.

Accuracies are fractions in [0, 1]; multiply by 100 to compare with the paper's percentages.
"""

from __future__ import annotations

import numpy as np
from sklearn.cluster import KMeans
from sklearn.metrics import mutual_info_score, normalized_mutual_info_score

from ..validation import check_labels, check_matrix


def _labels(name: str, y, like: tuple[str, np.ndarray] | None = None) -> np.ndarray:
    """A 1-D label vector (ints, strings or other numbers: :func:`~zsl_lib.validation.check_labels`).

    ``like=(other_name, other_labels)``: both must be of the same kind (strings vs numbers), since
    a string label never equals a number and comparing them would silently count every sample wrong.
    """
    y = check_labels(name, y)
    if like is not None and y.size and like[1].size:
        other_name, other = like
        is_str, other_str = y.dtype.kind in "US", other.dtype.kind in "US"
        if is_str != other_str:
            raise ValueError(
                f"{name} holds {'strings' if is_str else 'numbers'} but {other_name} holds "
                f"{'strings' if other_str else 'numbers'}; use the same kind of labels for both"
            )
    return y


def per_class_accuracy(y_true, y_pred, classes=None) -> float:
    """Mean over classes of the top-1 accuracy within each class.

    Parameters
    ----------
    y_true, y_pred : arrays (n,). True and predicted labels: integer ids, strings or other
        numbers (the same kind for both).
    classes : optional array of labels. Classes to average over (default: the classes present in
        ``y_true``). A listed class with no test sample is an error (its accuracy is undefined).

    Returns
    -------
    float in [0, 1].
    """
    y_true = _labels("y_true", y_true)
    y_pred = _labels("y_pred", y_pred, like=("y_true", y_true))
    if y_true.shape != y_pred.shape:
        raise ValueError(
            f"y_true and y_pred must have the same length, got {y_true.shape[0]} and {y_pred.shape[0]}"
        )
    if y_true.size == 0:
        raise ValueError("per_class_accuracy needs at least one test sample; y_true is empty")
    classes = (np.unique(y_true) if classes is None
               else np.unique(_labels("classes", classes, like=("y_true", y_true))))
    # vectorised: count per class of samples and of correct predictions
    pos = np.searchsorted(classes, y_true)
    pos_clipped = np.minimum(pos, len(classes) - 1)
    in_classes = classes[pos_clipped] == y_true
    totals = np.bincount(pos_clipped[in_classes], minlength=len(classes))
    if np.any(totals == 0):
        missing = classes[totals == 0][:10].tolist()
        raise ValueError(
            f"classes {missing} have no test sample in y_true, so their accuracy is undefined; "
            "pass only classes that occur in y_true"
        )
    correct = np.bincount(
        pos_clipped[in_classes], weights=(y_pred == y_true)[in_classes], minlength=len(classes)
    )
    return float(np.mean(correct / totals))


def harmonic_mean(s: float, u: float) -> float:
    """H = 2 s u / (s + u); 0 when both are 0."""
    return 0.0 if s + u == 0 else float(2.0 * s * u / (s + u))


def gzsl_scores(y_true, y_pred, seen_classes, unseen_classes) -> dict[str, float]:
    """Generalized ZSL scores: per-class accuracy on seen (S) and unseen (U) samples, and H.

    Predictions are over the union of seen and unseen classes; a seen-class sample predicted as any
    other class (seen or unseen) counts as an error.

    Parameters
    ----------
    y_true, y_pred : int arrays (n,). Test labels and predictions (global class ids).
    seen_classes, unseen_classes : disjoint int arrays of class ids.

    Returns
    -------
    dict with ``"s"``, ``"u"``, ``"h"`` (fractions in [0, 1]).
    """
    y_true = _labels("y_true", y_true)
    y_pred = _labels("y_pred", y_pred, like=("y_true", y_true))
    seen = np.unique(_labels("seen_classes", seen_classes, like=("y_true", y_true)))
    unseen = np.unique(_labels("unseen_classes", unseen_classes, like=("y_true", y_true)))
    overlap = np.intersect1d(seen, unseen)
    if overlap.size:
        raise ValueError(
            f"seen_classes and unseen_classes overlap ({overlap[:10].tolist()}); they must be disjoint"
        )
    if y_true.shape != y_pred.shape:
        raise ValueError(
            f"y_true and y_pred must have the same length, got {y_true.shape[0]} and {y_pred.shape[0]}"
        )
    is_seen = np.isin(y_true, seen)
    is_unseen = np.isin(y_true, unseen)
    if not np.all(is_seen | is_unseen):
        bad = np.unique(y_true[~(is_seen | is_unseen)])[:10].tolist()
        raise ValueError(f"test labels {bad} are neither in seen_classes nor in unseen_classes")
    if not is_seen.any() or not is_unseen.any():
        raise ValueError(
            "GZSL needs test samples of both seen and unseen classes; got "
            f"{int(is_seen.sum())} seen and {int(is_unseen.sum())} unseen samples"
        )
    s = per_class_accuracy(y_true[is_seen], y_pred[is_seen])
    u = per_class_accuracy(y_true[is_unseen], y_pred[is_unseen])
    return {"s": s, "u": u, "h": harmonic_mean(s, u)}


def seen_unseen_curve(y_true, scores, classes, seen_classes, unseen_classes) -> dict:
    """Calibrated stacking curve of a GZSL scorer (Chao et al., ECCV 2016).

    Predictions are ``argmax(scores - gamma * is_seen_column)`` for every calibration constant
    ``gamma``; sweeping ``gamma`` trades seen accuracy S for unseen accuracy U (both per-class
    means, as :func:`gzsl_scores`). A prediction only changes where ``gamma`` crosses a sample's gap
    between its best seen and its best unseen score, so the curve is computed exactly from the
    sorted gaps (no grid, no loop over ``gamma``).

    Parameters
    ----------
    y_true : int array (n,) global class ids (seen or unseen).
    scores : float array (n, C) over ``classes`` (global ids, C columns).
    seen_classes, unseen_classes : disjoint class ids; their union must be ``classes``.

    Returns
    -------
    dict with ``gamma``, ``s``, ``u`` (arrays over the critical points, from gamma = -inf:
    everything predicted seen, to +inf: everything unseen), ``ausuc`` (area under U against S, a
    calibration-free GZSL score in [0, 1]) and ``best_h``, ``best_gamma``, ``best_s``, ``best_u``
    (the largest H over gamma: chosen with the test labels, so an upper bound on what calibration
    can give, not a result).
    """
    y_true = _labels("y_true", y_true)
    classes = _labels("classes", classes)
    seen = np.unique(_labels("seen_classes", seen_classes))
    unseen = np.unique(_labels("unseen_classes", unseen_classes))
    S = np.asarray(scores, dtype=np.float64)
    if S.ndim != 2 or S.shape != (len(y_true), len(classes)):
        raise ValueError(f"scores must have shape (n_samples={len(y_true)}, n_classes={len(classes)}), got {S.shape}")
    if np.intersect1d(seen, unseen).size:
        raise ValueError("seen_classes and unseen_classes overlap; they must be disjoint")
    if not np.array_equal(np.sort(classes), np.union1d(seen, unseen)):
        raise ValueError("classes (the score columns) must be exactly the union of seen_classes and unseen_classes")
    if not np.all(np.isfinite(S)):
        raise ValueError("scores contain NaN or infinite values")
    is_seen_col = np.isin(classes, seen)
    s_cols, u_cols = np.flatnonzero(is_seen_col), np.flatnonzero(~is_seen_col)
    best_s = s_cols[np.argmax(S[:, s_cols], axis=1)]
    best_u = u_cols[np.argmax(S[:, u_cols], axis=1)]
    gap = S[np.arange(len(S)), best_s] - S[np.arange(len(S)), best_u]  # predicted seen while gamma < gap
    seen_sample = np.isin(y_true, seen)
    unseen_sample = np.isin(y_true, unseen)
    if not np.all(seen_sample | unseen_sample) or not seen_sample.any() or not unseen_sample.any():
        raise ValueError("y_true needs samples of both seen and unseen classes, and no other classes")
    # per-class weights: a correct sample of class c adds 1 / (n_c * number of classes of its group)
    _, inv, counts = np.unique(y_true, return_inverse=True, return_counts=True)
    n_group = np.where(seen_sample, len(np.unique(y_true[seen_sample])), len(np.unique(y_true[unseen_sample])))
    w = 1.0 / (counts[inv] * n_group)
    ws = np.where(seen_sample & (classes[best_s] == y_true), w, 0.0)
    wu = np.where(unseen_sample & (classes[best_u] == y_true), w, 0.0)
    order = np.argsort(gap, kind="stable")
    g = gap[order]
    cut = np.r_[0, np.flatnonzero(np.diff(g) > 0) + 1, len(g)]  # boundaries of runs of equal gaps
    # gamma at -inf, between consecutive distinct gaps, and at +inf
    gamma = np.r_[-np.inf, (g[cut[1:-1] - 1] + g[cut[1:-1]]) / 2, np.inf]
    below = np.r_[0.0, np.cumsum(wu[order])]  # U: samples with gap < gamma are predicted unseen
    above = np.r_[0.0, np.cumsum(ws[order][::-1])][::-1]  # S: samples with gap > gamma stay seen
    s_curve, u_curve = above[cut], below[cut]
    h = np.where(s_curve + u_curve > 0, 2 * s_curve * u_curve / np.maximum(s_curve + u_curve, 1e-300), 0.0)
    k = int(np.argmax(h))
    x, y = s_curve[::-1], u_curve[::-1]  # S ascending
    ausuc = float(np.sum((x[1:] - x[:-1]) * (y[1:] + y[:-1]) / 2))
    return {"gamma": gamma, "s": s_curve, "u": u_curve, "ausuc": ausuc, "best_h": float(h[k]),
            "best_gamma": float(gamma[k]), "best_s": float(s_curve[k]), "best_u": float(u_curve[k])}


def kmeans_mutual_info(
    X, y, n_clusters: int | None = None, *, n_init: int = 10, random_state=0
) -> dict[str, float]:
    """Mutual information between k-means cluster assignments of ``X`` and the labels ``y``.

    Parameters
    ----------
    X : float array (n, d). The feature space whose clusterability is measured.
    y : int array (n,). Ground-truth labels.
    n_clusters : number of k-means clusters (default: number of distinct labels).
    n_init, random_state : passed to :class:`sklearn.cluster.KMeans`.

    Returns
    -------
    dict with ``"mi"`` (``sklearn.metrics.mutual_info_score``, nats) and ``"nmi"``
    (``normalized_mutual_info_score``, arithmetic normalisation, in [0, 1]).
    """
    y = _labels("y", y)
    check_matrix("X", X)  # 2-D, real, finite, no overflow; k-means itself runs in float64
    X = np.asarray(X, dtype=np.float64)
    if X.shape[0] != y.shape[0]:
        raise ValueError(f"X must be (n, d) with n = len(y) = {y.shape[0]}, got shape {X.shape}")
    k = len(np.unique(y)) if n_clusters is None else int(n_clusters)
    if not 1 <= k <= X.shape[0]:
        raise ValueError(f"n_clusters must be in [1, n_samples={X.shape[0]}], got {k}")
    assign = KMeans(n_clusters=k, n_init=n_init, random_state=random_state).fit_predict(X)
    return {
        "mi": float(mutual_info_score(y, assign)),
        "nmi": float(normalized_mutual_info_score(y, assign)),
    }


def calibrated_gzsl_scores(y_true, scores, classes, seen_classes, unseen_classes, offset: float) -> dict[str, float]:
    """GZSL U / S / H of calibrated stacking with a fixed offset (Chao et al. 2016): predictions
    ``argmax(scores - offset * is_seen_column)``. ``offset`` must be chosen without the test labels
    (e.g. :func:`seen_unseen_curve`'s ``best_gamma`` on a validation split); scores (n, C) over
    ``classes`` (global ids). Returns :func:`gzsl_scores`'s dict."""
    S = np.asarray(scores, dtype=np.float64)
    classes = _labels("classes", classes)
    if S.ndim != 2 or S.shape[1] != len(classes):
        raise ValueError(f"scores must have shape (n_samples, n_classes={len(classes)}), got {S.shape}")
    if not np.isfinite(offset):
        raise ValueError(f"offset must be a finite number, got {offset}")
    shifted = S - float(offset) * np.isin(classes, np.asarray(seen_classes))[None, :]
    return gzsl_scores(y_true, classes[np.argmax(shifted, axis=1)], seen_classes, unseen_classes)
