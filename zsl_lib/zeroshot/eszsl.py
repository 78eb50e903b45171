"""ESZSL: "An embarrassingly simple approach to zero-shot learning" (Romera-Paredes & Torr 2015).

A bilinear compatibility ``score(x, c) = x^T V s_c`` between a visual feature ``x`` (d,) and the
semantic vector ``s_c`` (a,) of class ``c``, with ``V`` (d, a) in closed form:

    V = (X^T X + gamma I_d)^{-1} X^T Y S (S^T S + lambda I_a)^{-1}

where X (n, d) are the training features (rows), S (z, a) the semantic vectors of the z training
classes, and Y (n, z) the label matrix (1 for the true class, ``negative_label`` = -1 elsewhere, as
in the paper). It minimises
``||X V S^T - Y||^2 + gamma ||V S^T||^2 + lambda ||X V||^2 + gamma lambda ||V||^2``.
Used here as the non-generative baseline of Tables 1 and 2 of Xu et al.
"""

from __future__ import annotations

import itertools

import numpy as np
import scipy.linalg
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils import check_random_state

from ..metrics.zsl import per_class_accuracy
from ..validation import check_fitted, check_float, check_labels, check_matrix


def _check_xys(X, y, semantics):
    """Validated float64 copies (ESZSL solves in double precision) and int64 labels."""
    check_matrix("X", X)
    check_matrix("semantics", semantics)
    X, S = np.asarray(X, dtype=np.float64), np.asarray(semantics, dtype=np.float64)
    if y is None:
        return X, None, S
    y = check_labels("y", y, n=X.shape[0]).astype(np.int64)
    if y.min() < 0 or y.max() >= S.shape[0]:
        raise ValueError(
            f"labels must index rows of semantics: semantics has {S.shape[0]} rows (classes) but "
            f"labels range over [{y.min()}, {y.max()}]; pass one semantic row per class"
        )
    return X, y, S


class ESZSL(ClassifierMixin, BaseEstimator):
    """Closed-form ESZSL estimator (a scikit-learn classifier whose ``fit`` also takes the class
    semantics, and whose ``predict`` may score classes unseen at fit).

    Parameters
    ----------
    gamma : float > 0. Regulariser on the feature side (``gamma`` of the paper).
    lambda_ : float > 0. Regulariser on the semantic side (``lambda`` of the paper).
    negative_label : value of Y for the wrong classes (paper: -1; some codes use 0).

    Attributes
    ----------
    V_ : float64 (d, a). The learned bilinear map.
    classes_ : int64 (z,). The training classes (rows of ``semantics`` used in fit).
    semantics_ : float64 (n_classes, a). The ``semantics`` given to fit: the default of
        :meth:`decision_function` and :meth:`predict`.
    """

    def __init__(self, gamma: float = 1.0, lambda_: float = 1.0, negative_label: float = -1.0):
        self.gamma = gamma
        self.lambda_ = lambda_
        self.negative_label = negative_label

    def fit(self, X, y, semantics) -> ESZSL:
        """Fit ``V``.

        X : float (n, d) training features; y : int (n,) global class ids indexing the rows of
        ``semantics`` (n_classes, a). Only the classes present in ``y`` are used.
        """
        for name in ("gamma", "lambda_"):
            check_float(name, getattr(self, name), low=0, low_open=True)
        X, y, S_all = _check_xys(X, y, semantics)
        classes = np.unique(y)
        S = S_all[classes]  # (z, a)
        Y = np.full((X.shape[0], len(classes)), float(self.negative_label))
        Y[np.arange(len(y)), np.searchsorted(classes, y)] = 1.0
        d, a = X.shape[1], S.shape[1]
        A = X.T @ X + self.gamma * np.eye(d)
        B = X.T @ Y @ S  # (d, a)
        C = S.T @ S + self.lambda_ * np.eye(a)
        left = scipy.linalg.solve(A, B, assume_a="pos")  # A^{-1} B
        self.V_ = scipy.linalg.solve(C, left.T, assume_a="pos").T  # (A^{-1} B) C^{-1}
        self.classes_ = classes
        self.semantics_ = S_all
        self.n_features_in_ = d
        return self

    def decision_function(self, X, semantics=None) -> np.ndarray:
        """Compatibility scores (n, n_classes) = X V S^T for every row of ``semantics`` (default:
        the semantics given to fit)."""
        check_fitted(self, "V_", "fit(X, y, semantics)")
        if semantics is None:
            semantics = self.semantics_
        X, _, S = _check_xys(X, None, semantics)
        if X.shape[1] != self.V_.shape[0] or S.shape[1] != self.V_.shape[1]:
            raise ValueError(
                f"expected X with {self.V_.shape[0]} features and semantics with "
                f"{self.V_.shape[1]} attributes (as in fit), got {X.shape[1]} and {S.shape[1]}"
            )
        return X @ self.V_ @ S.T

    def predict(self, X, semantics=None, classes=None) -> np.ndarray:
        """Predicted global class ids (n,), restricted to ``classes`` (default: all rows of
        ``semantics``, by default the semantics given to fit; unseen classes included)."""
        check_fitted(self, "V_", "fit(X, y, semantics)")
        S = np.asarray(self.semantics_ if semantics is None else semantics, dtype=np.float64)
        classes = np.arange(S.shape[0]) if classes is None else np.asarray(classes, dtype=np.int64)
        scores = self.decision_function(X, S[classes])
        return classes[np.argmax(scores, axis=1)]


def tune_eszsl(
    X,
    y,
    semantics,
    gammas=(1e-2, 1e-1, 1, 10, 100),
    lambdas=(1e-2, 1e-1, 1, 10, 100),
    val_fraction: float = 0.2,
    random_state=0,
) -> tuple[dict, dict]:
    """Choose ``gamma``/``lambda_`` by zero-shot validation on held-out seen classes.

    A random ``val_fraction`` of the training classes is held out as pseudo-unseen classes; each
    setting is fitted on the rest and scored by per-class top-1 among the held-out classes.

    Returns ``(best_params, scores)`` where ``scores[(gamma, lambda_)]`` is the validation accuracy.
    """
    X, y, S = _check_xys(X, y, semantics)
    classes = np.unique(y)
    n_val = max(2, int(round(val_fraction * len(classes))))
    if n_val >= len(classes):
        raise ValueError(f"need more than {n_val} training classes to hold some out, got {len(classes)}")
    rng = check_random_state(random_state)
    val_classes = np.sort(rng.choice(classes, n_val, replace=False))
    is_val = np.isin(y, val_classes)
    scores = {}
    for g, lam in itertools.product(gammas, lambdas):
        model = ESZSL(gamma=g, lambda_=lam).fit(X[~is_val], y[~is_val], S)
        pred = model.predict(X[is_val], S, classes=val_classes)
        scores[(g, lam)] = per_class_accuracy(y[is_val], pred)
    best = max(scores, key=scores.get)
    return {"gamma": best[0], "lambda_": best[1]}, scores
