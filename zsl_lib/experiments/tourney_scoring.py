"""Notebook 02's evaluation: one stage per modality (base model, tourney, round-robin, one-vs-rest),
the article's agreement score and its two orientations, the author's binary F1, count vectors for
paired bootstrap intervals of non-decomposable F1 scores, a supervised upper bound and the
gain-vs-cutoff table. Arrays in, arrays (or one table) out; the driver
:mod:`zsl_lib.experiments.tourney` calls these and records their numbers."""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score
from sklearn.model_selection import StratifiedKFold, cross_val_predict
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from zsl_lib.validation import check_choice, check_matrix
from zsl_lib.zeroshot.tourney import (
    OneVsRestSubspaceClassifier,
    PairwiseTourneyClassifier,
    argmax_cosine,
    subspace_cosine,
    tourney_bracket,
)

REFERENCES = ("text", "image")

def logreg_cv_predict(X, y, n_splits: int = 5, C: float = 0.1, random_state: int = 0) -> np.ndarray:
    """Supervised upper bound: out-of-fold predictions of a standardised logistic regression.

    X (n, d), y (n,) true labels -> int64 (n,) predictions from stratified ``n_splits``-fold
    cross-validation (scikit-learn ``cross_val_predict``), so every item is predicted by a model
    that did not see it. ``C`` is the inverse L2 strength on standardised features (fixed, not
    tuned on the evaluation items).
    """
    check_matrix("X", X)
    X = np.asarray(X)
    y = np.asarray(y)
    if y.shape != (len(X),):
        raise ValueError(f"y must have shape ({len(X)},); got {y.shape}")
    counts = np.bincount(np.unique(y, return_inverse=True)[1])
    if counts.min() < n_splits:
        raise ValueError(
            f"logreg_cv_predict: the smallest class has {counts.min()} items, fewer than "
            f"n_splits={n_splits}; lower n_splits or drop that class"
        )
    model = make_pipeline(StandardScaler(), LogisticRegression(C=C, max_iter=1000))
    cv = StratifiedKFold(n_splits=n_splits, shuffle=True, random_state=random_state)
    # one BLAS thread: these small fits run ~15x faster than with oversubscribed threads on a
    # shared CPU (measured 5.7 s vs 87 s for 3,187 x 384 on the 2-core development machine)
    with threadpool_limits(1):
        return cross_val_predict(model, X, y, cv=cv).astype(np.int64)


def agreement_f1(text_pred, image_pred, reference: str = "text") -> float:
    """The article's score: weighted F1 of one modality's classes against the other's.

    ``reference="text"`` (default, the notebook's headline): text predictions are ``y_true``,
    image predictions ``y_pred``; ``"image"`` swaps them. Weighted F1 is not symmetric: the
    weights are the reference classes' supports.
    """
    check_choice("reference", reference, REFERENCES)
    text_pred = np.asarray(text_pred)
    image_pred = np.asarray(image_pred)
    if text_pred.shape != image_pred.shape:
        raise ValueError(
            f"text and image predictions must have the same shape; got {text_pred.shape} and "
            f"{image_pred.shape}"
        )
    y_true, y_pred = (text_pred, image_pred) if reference == "text" else (image_pred, text_pred)
    return float(f1_score(y_true, y_pred, average="weighted", zero_division=0))


#: The author's code scores the binary stage as ``f1_score(text_class == 0, image_class == 0)``
#: (crossdev_dim.py): plain binary F1 of class 0 (clothing there, apparel here), text as the
#: reference for both models, "undecided" counted as not class 0.
AUTHOR_BINARY_POSITIVE = 0


def author_binary_f1(text_pred, image_pred, positive: int = AUTHOR_BINARY_POSITIVE) -> float:
    """The binary stage scored exactly as the author's code: binary F1 of class ``positive``,
    text predictions as ``y_true`` and image predictions as ``y_pred`` (the same for the base
    and the pairwise model); any other label ("undecided" included) is the negative class."""
    text_pred, image_pred = np.asarray(text_pred), np.asarray(image_pred)
    if text_pred.shape != image_pred.shape:
        raise ValueError(f"text and image predictions must have the same shape; got {text_pred.shape} "
                         f"and {image_pred.shape}")
    return float(f1_score(text_pred == positive, image_pred == positive, zero_division=0))


def binary_f1_counts(y_true, y_pred, positive: int = AUTHOR_BINARY_POSITIVE) -> np.ndarray:
    """Per-item ``[tp, fp, fn]`` of class ``positive`` (n, 3): their column means give
    :func:`author_binary_f1` through ``micro_fbeta_statistic(1)``, so it can be bootstrapped."""
    t, p = np.asarray(y_true) == positive, np.asarray(y_pred) == positive
    return np.stack([t & p, ~t & p, t & ~p], axis=1).astype(np.float64)


def weighted_f1_counts(y_true, y_pred, n_labels: int) -> np.ndarray:
    """Per-item counts (n, 3L): one-hot true label, one-hot predicted label, one-hot hit. Their
    column means give the weighted F1 (:func:`weighted_f1_statistic`), so a paired bootstrap over
    the items resamples the non-decomposable score correctly."""
    eye = np.eye(n_labels)
    t, p = eye[np.asarray(y_true)], eye[np.asarray(y_pred)]
    return np.hstack([t, p, t * p])


def weighted_f1_statistic(n_labels: int):
    """``statistic`` for :func:`zsl_lib.metrics.stats.paired_bootstrap` over
    :func:`weighted_f1_counts`: scikit-learn's ``f1_score(average="weighted")``."""
    L = int(n_labels)

    def f(m: np.ndarray) -> np.ndarray:
        t, p, tp = m[..., :L], m[..., L:2 * L], m[..., 2 * L:]
        den = t + p
        with np.errstate(invalid="ignore", divide="ignore"):
            f1 = np.where(den > 0, 2 * tp / np.where(den > 0, den, 1), 0.0)
            return (t * f1).sum(-1) / t.sum(-1)
    return f


def gain_vs_cutoff(X, class_embeddings, a: int, b: int, ratio, cutoffs, assigned) -> pd.DataFrame:
    """The article's gain plot, as a table: how cosines move as the cutoff keeps fewer dimensions.

    For each cutoff: ``n_dims`` kept (ratio > cutoff), the mean cosine of the items assigned to a
    or b to the prompts of a (``cos_a``) and of b (``cos_b``), the author's ``gain = cos_a -
    cos_b``, and ``margin`` = mean over those items of (cosine to own assigned class - cosine to the
    other): how well the pair's dimensions separate the two classes. Rows with no dimension left are
    dropped. ``cutoff=None`` rows are not produced; the full-embedding values are in ``attrs``.
    """
    check_matrix("X", X)
    X, P = np.asarray(X), np.asarray(class_embeddings)
    check_matrix("class_embeddings", P, dim=X.shape[1], fitted="the items X are")
    ratio = np.nan_to_num(np.asarray(ratio, dtype=np.float64), nan=-np.inf)
    assigned = np.asarray(assigned)
    ix = np.flatnonzero((assigned == a) | (assigned == b))
    if len(ix) == 0:
        raise ValueError(f"no item is assigned to class {a} or {b}")
    sign = np.where(assigned[ix] == a, 1.0, -1.0)

    def _row(dims):
        s = subspace_cosine(X[ix], P[[a, b]], dims)
        return s[:, 0].mean(), s[:, 1].mean(), float(np.mean(sign * (s[:, 0] - s[:, 1])))

    rows = []
    for c in np.asarray(cutoffs, dtype=np.float64):
        dims = np.flatnonzero(ratio > c)
        if len(dims) == 0:
            break
        ca, cb, m = _row(dims)
        rows.append({"cutoff": c, "n_dims": len(dims), "cos_a": ca, "cos_b": cb, "gain": ca - cb,
                     "margin": m})
    df = pd.DataFrame(rows, columns=["cutoff", "n_dims", "cos_a", "cos_b", "gain", "margin"])
    ca, cb, m = _row(np.arange(X.shape[1]))
    df.attrs.update({"full_cos_a": ca, "full_cos_b": cb, "full_gain": ca - cb, "full_margin": m})
    return df


@dataclass
class StageResult:
    """Predictions of one stage for one modality (image or text): int64 arrays (n,)."""

    base: np.ndarray
    pairwise: np.ndarray
    round_robin: np.ndarray | None = None
    one_vs_rest: np.ndarray | None = None
    model: PairwiseTourneyClassifier | None = None
    extra: dict = field(default_factory=dict)


def run_stage(
    X,
    P,
    *,
    cutoff: float = 1.1,
    cos_limit: float | None = None,
    cos_diff: float = 0.0,
    max_items_per_class: int | None = 1500,
    max_dims: int | None = None,
    reshuffle_each_round: bool = True,
    undecided_base: float | None = None,
    undecided_pairwise: float | None = None,
    one_vs_rest: bool = True,
    ovr_cutoff: float = 1.05,
    ovr_max_dims: int | None = 10,
    class_names=None,
    random_state: int | None = 0,
) -> StageResult:
    """One stage (binary or multiclass) for one modality: base model, pairwise tourney, round-robin
    and (optionally) the one-vs-rest sub-feature baseline. X (n, d) items, P (C, d) prompts.

    ``undecided_base`` / ``undecided_pairwise`` (binary only) add the "undecided" label 2 when the
    two cosines differ by less (the author: 0.03 for the base model, 0 for pairwise)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", RuntimeWarning)
        clf = PairwiseTourneyClassifier(
            cutoff=cutoff, cos_limit=cos_limit, cos_diff=cos_diff,
            max_items_per_class=max_items_per_class, max_dims=max_dims,
            reshuffle_each_round=reshuffle_each_round, undecided_margin=undecided_pairwise,
            random_state=random_state,
        ).fit(X, P, class_names=class_names)
    base = argmax_cosine(X, P, undecided_margin=undecided_base)
    ovr = None
    if one_vs_rest:
        ovr = OneVsRestSubspaceClassifier(
            cutoff=ovr_cutoff, max_dims=ovr_max_dims, cos_limit=cos_limit,
            max_items_per_class=max_items_per_class, random_state=random_state,
        ).fit(X, P).predict(X)
    return StageResult(
        base=base,
        pairwise=clf.predict(X),
        round_robin=clf.predict_round_robin(X),
        one_vs_rest=ovr,
        model=clf,
        extra={"warnings": [str(w.message) for w in caught]},
    )


def bracket_seed_study(margins, seeds) -> np.ndarray:
    """Winners of the bracket under several seeds: margins (n, C, C), seeds (k,) -> int64 (k, n).
    The spread across rows measures the tourney's match-up risk."""
    return np.stack([tourney_bracket(margins, random_state=int(s)) for s in seeds])
