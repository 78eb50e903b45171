"""Pairwise-tourney zero-shot classification with cross-variance feature selection.

Reproduces the method of the blog article "pairwise tourney" (code: github doc1000/
pairwise_classification): items (images or texts, as embeddings) are classified zero-shot against
class-prompt embeddings, first by the *base model* (argmax cosine on the full embedding), then by
a *pairwise tourney*: for every pair of classes the embedding dimensions whose distributions differ
most between the two classes (cross-deviation ratio above a cutoff, estimated on the items the base
model assigns to each class) are kept, each match between two classes is decided by cosine on that
pair's dimensions only, and a randomised single-elimination bracket over the classes picks one
winner per item in ``ceil(log2(C))`` rounds.

Vocabulary (the article was machine-paraphrased; see ``shared/papers/README.md``):

* cross-variance of two samples A (n_a, d) and B (n_b, d), per dimension:
  ``mean_{i,j} (a_i - b_j)**2 / 2``. Expanding the square gives the closed form
  ``(var_A + var_B + (mean_A - mean_B)**2) / 2`` (population variances), which costs
  O((n_a + n_b) d) instead of the O(n_a n_b d) broadcast of the author's code. For A == B it is
  the variance.
* cross-deviation ratio: ``sqrt(cross_var / (std_A * std_B))`` (the denominator of a Pearson
  correlation). It is 1 for two samples of the same distribution and grows as the means separate.
* cosine limit: items whose best cosine to any class is below it are not used to estimate a pair's
  dimensions (the base model has little skill on them).
* cosine difference: items whose cosines to the two classes of a pair differ by less than it are not
  used for that pair (they do not tell the two classes apart).

Everything takes and returns numpy arrays. Embeddings are used as given (raw or normalised): a
cosine on a subset of dimensions re-normalises on that subset. Inputs are checked with
:mod:`zsl_lib.validation`; cosines are computed in float64. The notebook's inputs, evaluation,
tables and figures are in :mod:`zsl_lib.experiments.tourney`.

Degenerate pairs (documented fallback, ``on_degenerate="fallback"``, the default): when, after the
exclusion rules, one class of a pair has fewer than ``min_items`` items, or the cutoff keeps fewer
than ``min_dims`` dimensions, that pair is decided on the full embedding (exactly the base model's
decision between the two classes) and flagged in ``fallback_``; ``on_degenerate="raise"`` raises a
``ValueError`` that names the pair instead.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin

from zsl_lib.validation import (
    check_choice,
    check_fitted,
    check_float,
    check_int,
    check_matrix,
    int_seed,
    l2_normalize,
)

__all__ = [
    "cross_variance",
    "cross_deviation_ratio",
    "cosine_matrix",
    "subspace_cosine",
    "argmax_cosine",
    "pair_training_mask",
    "PairwiseTourneyClassifier",
    "OneVsRestSubspaceClassifier",
    "tourney_bracket",
]


# --------------------------------------------------------------------------------------------
# input checks: zsl_lib.validation, plus the one check specific to this method
# --------------------------------------------------------------------------------------------
def _float64_matrix(X, name: str, min_rows: int = 1) -> np.ndarray:
    """``X`` checked by :func:`zsl_lib.validation.check_matrix` (2-D, enough rows, real, finite,
    no float32 overflow), returned as a float64 array of the caller's values (float32 inputs are
    promoted exactly; nothing is rounded to float32)."""
    check_matrix(name, X, min_rows=min_rows)
    return np.asarray(X, dtype=np.float64)


def _check_same_dim(X: np.ndarray, P: np.ndarray, xname: str, pname: str) -> None:
    """Items and prompts must live in one (image->text aligned) space: a relation between two
    arrays with a fix specific to this method, which ``check_matrix(dim=...)`` cannot say."""
    if X.shape[1] != P.shape[1]:
        raise ValueError(
            f"dimension mismatch: {xname} has {X.shape[1]} dimensions but {pname} has "
            f"{P.shape[1]}; items and class prompts must be embedded in the same space (for "
            "images use an image->text aligned encoder such as 'lit-fashion' or CLIP, and embed "
            "the prompts with the matching text tower)"
        )


# --------------------------------------------------------------------------------------------
# cross-variance
# --------------------------------------------------------------------------------------------
def _moments(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return X.mean(axis=0), X.var(axis=0)


def cross_variance(A, B) -> np.ndarray:
    """Per-dimension cross-variance ``mean_{i,j} (A[i] - B[j])**2 / 2`` in closed form.

    Parameters
    ----------
    A : array (n_a, d), B : array (n_b, d). Any real dtype; computed in float64.

    Returns
    -------
    float64 array (d,) equal to ``(var_A + var_B + (mean_A - mean_B)**2) / 2`` with population
    (ddof=0) variances: O((n_a + n_b) d) time and O(d) extra memory, no (n_a, n_b, d) broadcast.
    """
    A = _float64_matrix(A, "A")
    B = _float64_matrix(B, "B")
    _check_same_dim(A, B, "A", "B")
    mu_a, var_a = _moments(A)
    mu_b, var_b = _moments(B)
    return 0.5 * (var_a + var_b + (mu_a - mu_b) ** 2)


def cross_deviation_ratio(A, B) -> np.ndarray:
    """Per-dimension ``sqrt(cross_variance(A, B) / (std_A * std_B))`` (the article's score).

    Parameters
    ----------
    A : array (n_a, d), B : array (n_b, d), each with at least 2 rows.

    Returns
    -------
    float64 array (d,). About 1 where the two samples share a distribution, larger where they
    differ. A dimension that is constant in A or in B gives ``inf`` (or ``nan`` when it is the same
    constant in both); :class:`PairwiseTourneyClassifier` never keeps ``nan`` dimensions.
    """
    A = _float64_matrix(A, "A", min_rows=2)
    B = _float64_matrix(B, "B", min_rows=2)
    _check_same_dim(A, B, "A", "B")
    mu_a, var_a = _moments(A)
    mu_b, var_b = _moments(B)
    cv = 0.5 * (var_a + var_b + (mu_a - mu_b) ** 2)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.sqrt(cv / np.sqrt(var_a * var_b))


# --------------------------------------------------------------------------------------------
# cosine helpers and the base model
# --------------------------------------------------------------------------------------------
def cosine_matrix(X, P) -> np.ndarray:
    """Cosine similarity of every item to every class: X (n, d), P (C, d) -> float64 (n, C)."""
    X = _float64_matrix(X, "X")
    P = _float64_matrix(P, "class_embeddings")
    _check_same_dim(X, P, "X", "class_embeddings")
    return l2_normalize(X, dtype=np.float64) @ l2_normalize(P, dtype=np.float64).T


def subspace_cosine(X, P, dims) -> np.ndarray:
    """Cosine on the dimensions ``dims`` only: X (n, d), P (C, d), dims (k,) int or (d,) bool ->
    float64 (n, C). Vectors are re-normalised on the subset (as the author's code does)."""
    X = np.asarray(X)
    P = np.asarray(P)
    return l2_normalize(X[:, dims], dtype=np.float64) @ l2_normalize(P[:, dims], dtype=np.float64).T


def argmax_cosine(X, P, undecided_margin: float | None = None) -> np.ndarray:
    """The article's base model: argmax cosine on the full embedding.

    X (n, d), P (C, d) -> int64 (n,) class indices. With ``undecided_margin`` (only for C == 2)
    items whose two cosines differ by less than the margin get the extra label ``2`` ("undecided",
    as in the author's binary stage).
    """
    S = cosine_matrix(X, P)
    return _argmax_with_undecided(S, undecided_margin)


def _argmax_with_undecided(S: np.ndarray, undecided_margin: float | None) -> np.ndarray:
    pred = S.argmax(axis=1).astype(np.int64)
    if undecided_margin is not None and undecided_margin > 0:
        if S.shape[1] != 2:
            raise ValueError(
                f"undecided_margin applies to a binary (2-class) stage; got {S.shape[1]} classes. "
                "Set undecided_margin=None for multiclass"
            )
        pred[np.abs(S[:, 0] - S[:, 1]) < undecided_margin] = 2
    return pred


def pair_training_mask(
    S: np.ndarray,
    assigned: np.ndarray,
    a: int,
    b: int,
    cos_limit: float | None = None,
    cos_diff: float = 0.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Items used to estimate the dimensions of the pair (a, b): boolean masks (n,), (n,).

    An item counts for class ``a`` when the base model assigned it to ``a`` (``assigned == a``),
    its best cosine to any class is at least ``cos_limit`` (cosine limit) and ``|S[:, a] -
    S[:, b]| >= cos_diff`` (cosine difference); likewise for ``b``. ``S`` is the (n, C) cosine
    matrix of the base model.
    """
    keep = np.ones(len(S), dtype=bool)
    if cos_limit is not None:
        keep &= S.max(axis=1) >= cos_limit
    if cos_diff and cos_diff > 0:
        keep &= np.abs(S[:, a] - S[:, b]) >= cos_diff
    return keep & (assigned == a), keep & (assigned == b)


def _numpy_seed(random_state):
    """``random_state`` as scikit-learn takes it, for ``np.random.default_rng``: an int or None
    unchanged (seeded results do not move), a ``RandomState`` / ``Generator`` drawn into an int
    once at fit (so predict replays the same bracket)."""
    if random_state is None or isinstance(random_state, (int, np.integer)):
        return random_state
    return int_seed(random_state)


def _subsample(idx: np.ndarray, max_items: int | None, rng: np.random.Generator) -> np.ndarray:
    if max_items is None or len(idx) <= max_items:
        return idx
    return np.sort(rng.choice(idx, size=max_items, replace=False))


# --------------------------------------------------------------------------------------------
# the bracket
# --------------------------------------------------------------------------------------------
def tourney_bracket(
    margins: np.ndarray,
    random_state: int | np.random.Generator | None = 0,
    reshuffle_each_round: bool = True,
    return_rounds: bool = False,
):
    """Run the randomised single-elimination bracket for every item at once.

    Parameters
    ----------
    margins : float array (n, C, C), antisymmetric: ``margins[i, a, b] > 0`` means item ``i``
        prefers class ``a`` over ``b`` in the match between them (ties go to ``a``).
    random_state : seed or Generator for the bracket order (one bracket shared by all items, as
        in the author's code: the classes are shuffled into slots, each slot holds one class per
        item).
    reshuffle_each_round : shuffle the slots before every round (the article: "I randomize the
        ordering of the teams each round"); False shuffles only once (the author's code).
    return_rounds : also return the number of rounds played.

    Returns
    -------
    int64 (n,) winning class per item (and the number of rounds, ``ceil(log2(C))``). With an odd
    number of slots the last slot gets a bye. The loop runs over slots (C - 1 matches in total),
    never over items.
    """
    margins = np.asarray(margins)
    if margins.ndim != 3 or margins.shape[1] != margins.shape[2]:
        raise ValueError(f"margins must have shape (n, C, C); got {margins.shape}")
    n, C = margins.shape[0], margins.shape[1]
    rng = np.random.default_rng(random_state)
    rows = np.arange(n)
    slots = [np.full(n, c, dtype=np.int64) for c in rng.permutation(C)]
    rounds = 0
    while len(slots) > 1:
        if reshuffle_each_round and rounds > 0:
            slots = [slots[k] for k in rng.permutation(len(slots))]
        nxt = []
        for k in range(0, len(slots) - 1, 2):
            a, b = slots[k], slots[k + 1]
            nxt.append(np.where(margins[rows, a, b] >= 0, a, b))
        if len(slots) % 2 == 1:
            nxt.append(slots[-1])  # bye
        slots = nxt
        rounds += 1
    winner = slots[0] if slots else np.zeros(n, dtype=np.int64)
    return (winner, rounds) if return_rounds else winner


# --------------------------------------------------------------------------------------------
# the estimator
# --------------------------------------------------------------------------------------------
@dataclass
class _PairInfo:
    a: int
    b: int
    ratio: np.ndarray | None
    dims: np.ndarray  # int indices kept for this pair (all dims on fallback)
    n_a: int
    n_b: int
    fallback: str = ""


class PairwiseTourneyClassifier(ClassifierMixin, BaseEstimator):
    """Zero-shot classifier: per-pair cross-deviation dimensions + randomised tourney.

    Parameters
    ----------
    cutoff : keep a dimension for a pair when its cross-deviation ratio exceeds this (author: 1.1).
    cos_limit : cosine limit (None: off). Items whose best base-model cosine is below it are not
        used to estimate dimensions.
    cos_diff : cosine difference (0: off). Items whose base cosines to the two classes of a pair
        differ by less are not used for that pair.
    max_items_per_class : random subsample of each class's items for the estimate (author: 1500,
        drawn with replacement; here without). None: all items.
    max_dims : keep at most this many dimensions per pair (the highest ratios above the cutoff);
        None: no limit.
    min_items : a class with fewer usable items than this makes the pair degenerate (>= 2).
    min_dims : a cutoff keeping fewer dimensions than this makes the pair degenerate (>= 1).
    on_degenerate : ``"fallback"`` (decide the pair on the full embedding, flag it in
        ``fallback_``) or ``"raise"``.
    reshuffle_each_round : see :func:`tourney_bracket`.
    undecided_margin : binary stage only (C == 2): items whose two sub-feature cosines differ by
        less than this get label 2 ("undecided"). None/0: off (the author used 0 for pairwise).
    random_state : seed for the subsampling and the bracket.

    Attributes after ``fit``
    ------------------------
    n_classes_, n_features_in_, pairs_ (P, 2) int, pair_dims_ (list of int arrays), ratios_
    (P, d) float (nan rows for pairs with too few items), n_dims_ (P,), fallback_ (P,) str
    ("" when the pair's dimensions were used, else the reason), base_assignment_ (n_fit,).
    """

    def __init__(
        self,
        cutoff: float = 1.1,
        cos_limit: float | None = None,
        cos_diff: float = 0.0,
        max_items_per_class: int | None = 1500,
        max_dims: int | None = None,
        min_items: int = 2,
        min_dims: int = 1,
        on_degenerate: str = "fallback",
        reshuffle_each_round: bool = True,
        undecided_margin: float | None = None,
        random_state: int | None = 0,
    ):
        self.cutoff = cutoff
        self.cos_limit = cos_limit
        self.cos_diff = cos_diff
        self.max_items_per_class = max_items_per_class
        self.max_dims = max_dims
        self.min_items = min_items
        self.min_dims = min_dims
        self.on_degenerate = on_degenerate
        self.reshuffle_each_round = reshuffle_each_round
        self.undecided_margin = undecided_margin
        self.random_state = random_state

    # -- fitting ------------------------------------------------------------------------------
    def _validate_params(self) -> None:
        check_choice("on_degenerate", self.on_degenerate, ("fallback", "raise"))
        check_int("min_items (a std needs two items)", self.min_items, minimum=2)
        check_int("min_dims", self.min_dims, minimum=1)
        check_int("max_items_per_class", self.max_items_per_class, minimum=1, allow_none=True)
        check_int("max_dims", self.max_dims, minimum=1, allow_none=True)
        check_float("cutoff", self.cutoff)
        check_float("cos_diff", self.cos_diff, low=0.0)
        if self.cos_limit is not None:
            check_float("cos_limit", self.cos_limit)

    def fit(self, X, class_embeddings, assigned=None, class_names=None) -> PairwiseTourneyClassifier:
        """Estimate every pair's dimensions.

        X : (n, d) unlabelled item embeddings; class_embeddings : (C, d) class-prompt embeddings;
        assigned : optional (n,) int class assignment to estimate from (default: the base model's
        argmax cosine, as in the article; no true labels are used); class_names : optional list
        of C names used in messages.
        """
        self._validate_params()
        X = _float64_matrix(X, "X")
        P = _float64_matrix(class_embeddings, "class_embeddings", min_rows=2)
        _check_same_dim(X, P, "X", "class_embeddings")
        C, d = P.shape
        if self.undecided_margin and C != 2:
            raise ValueError(
                f"undecided_margin is for the binary stage (2 classes); got {C} classes"
            )
        S = cosine_matrix(X, P)
        if assigned is None:
            assigned = S.argmax(axis=1)
        assigned = np.asarray(assigned)
        if assigned.shape != (len(X),):
            raise ValueError(f"assigned must have shape ({len(X)},); got {assigned.shape}")
        if class_names is not None and len(class_names) != C:
            raise ValueError(f"class_names has {len(class_names)} names for {C} classes")
        self._class_names = list(class_names) if class_names is not None else None
        self._seed = _numpy_seed(self.random_state)
        rng = np.random.default_rng(self._seed)
        pairs, infos = [], []
        for a in range(C):
            for b in range(a + 1, C):
                ma, mb = pair_training_mask(S, assigned, a, b, self.cos_limit, self.cos_diff)
                ia = _subsample(np.flatnonzero(ma), self.max_items_per_class, rng)
                ib = _subsample(np.flatnonzero(mb), self.max_items_per_class, rng)
                infos.append(self._fit_pair(X, a, b, ia, ib, d, self._names(a, b)))
                pairs.append((a, b))
        self.n_classes_ = C
        self.n_features_in_ = d
        self.class_embeddings_ = np.asarray(P, dtype=np.float64)
        self.pairs_ = np.asarray(pairs, dtype=np.int64).reshape(-1, 2)
        self._infos = infos
        self.pair_dims_ = [p.dims for p in infos]
        self.ratios_ = np.stack(
            [p.ratio if p.ratio is not None else np.full(d, np.nan) for p in infos]
        )
        self.n_dims_ = np.array([len(p.dims) for p in infos], dtype=np.int64)
        self.fallback_ = np.array([p.fallback for p in infos], dtype=object)
        self.pair_items_ = np.array([(p.n_a, p.n_b) for p in infos], dtype=np.int64).reshape(-1, 2)
        self.base_assignment_ = assigned
        n_fb = int((self.fallback_ != "").sum())
        if n_fb:
            warnings.warn(
                f"{n_fb} of {len(infos)} class pairs fell back to the full embedding "
                f"({sorted(set(self.fallback_[self.fallback_ != '']))}); see fallback_",
                RuntimeWarning,
                stacklevel=2,
            )
        return self

    def _names(self, a: int, b: int) -> str:
        if self._class_names is None:
            return f"({a}, {b})"
        return f"({a} {self._class_names[a]!r}, {b} {self._class_names[b]!r})"

    def _fit_pair(self, X, a, b, ia, ib, d, name) -> _PairInfo:
        if min(len(ia), len(ib)) < self.min_items:
            reason = (
                f"class pair {name}: after the exclusion rules class {a} has {len(ia)} items and "
                f"class {b} has {len(ib)}; at least min_items={self.min_items} each are needed. "
                "Lower cos_limit / cos_diff, or classify on more items"
            )
            return self._degenerate(a, b, None, d, len(ia), len(ib), "empty_class", reason)
        ratio = cross_deviation_ratio(X[ia], X[ib])
        ok = np.isfinite(ratio) | np.isposinf(ratio)
        keep = np.flatnonzero(ok & (np.nan_to_num(ratio, nan=-np.inf) > self.cutoff))
        if self.max_dims is not None and len(keep) > self.max_dims:
            keep = keep[np.argsort(-ratio[keep], kind="stable")[: self.max_dims]]
            keep = np.sort(keep)
        if len(keep) < self.min_dims:
            reason = (
                f"class pair {name}: cutoff={self.cutoff} keeps {len(keep)} dimensions (< min_dims"
                f"={self.min_dims}); the largest ratio is {np.nanmax(ratio):.4f}. Lower the cutoff"
            )
            return self._degenerate(a, b, ratio, d, len(ia), len(ib), "no_dims", reason)
        return _PairInfo(a, b, ratio, keep, len(ia), len(ib))

    def _degenerate(self, a, b, ratio, d, n_a, n_b, kind, reason) -> _PairInfo:
        if self.on_degenerate == "raise":
            raise ValueError(reason)
        return _PairInfo(a, b, ratio, np.arange(d), n_a, n_b, fallback=kind)

    # -- prediction -----------------------------------------------------------------------------
    def _check_fitted(self, X) -> np.ndarray:
        check_fitted(self, "pairs_", "fit(X, class_embeddings)")
        X = _float64_matrix(X, "X")
        if X.shape[1] != self.n_features_in_:
            raise ValueError(
                f"dimension mismatch: X has {X.shape[1]} dimensions but the classifier was fitted "
                f"on {self.n_features_in_}"
            )
        return X

    def pairwise_margins(self, X) -> np.ndarray:
        """float64 (n, C, C): ``[i, a, b]`` = cos(x_i, p_a) - cos(x_i, p_b) on pair (a, b)'s
        dimensions (antisymmetric, zero diagonal). One vectorised computation per pair."""
        X = self._check_fitted(X)
        n, C = len(X), self.n_classes_
        M = np.zeros((n, C, C), dtype=np.float64)
        for (a, b), dims in zip(self.pairs_, self.pair_dims_):
            s = subspace_cosine(X, self.class_embeddings_[[a, b]], dims)
            m = s[:, 0] - s[:, 1]
            M[:, a, b] = m
            M[:, b, a] = -m
        return M

    def predict(self, X) -> np.ndarray:
        """Tourney winner per item: int64 (n,) (label 2 = undecided in a binary stage with
        ``undecided_margin``)."""
        M = self.pairwise_margins(X)
        pred = tourney_bracket(M, self._seed, self.reshuffle_each_round)
        if self.undecided_margin and self.n_classes_ == 2:
            pred = pred.copy()
            pred[np.abs(M[:, 0, 1]) < self.undecided_margin] = 2
        return pred

    def predict_round_robin(self, X) -> np.ndarray:
        """Full round-robin: every pair plays, the class with most wins is chosen (ties: larger
        summed margin). int64 (n,). No match-up risk; C(C-1)/2 matches per item."""
        M = self.pairwise_margins(X)
        wins = (M > 0).sum(axis=2).astype(np.float64)
        # tie-break by the summed margin, scaled below one win
        total = M.sum(axis=2)
        scale = np.abs(total).max() + 1.0
        return np.argmax(wins + 0.5 * total / scale, axis=1).astype(np.int64)

    def predict_base(self, X) -> np.ndarray:
        """The base model (argmax cosine on the full embedding) with the same class prompts."""
        X = self._check_fitted(X)
        return argmax_cosine(X, self.class_embeddings_)

    def pair_table(self, class_names=None) -> pd.DataFrame:
        """One row per class pair: classes, usable items, kept dimensions, fallback reason."""
        names = class_names if class_names is not None else list(range(self.n_classes_))
        return pd.DataFrame(
            {
                "class_a": [names[a] for a, _ in self.pairs_],
                "class_b": [names[b] for _, b in self.pairs_],
                "items_a": self.pair_items_[:, 0],
                "items_b": self.pair_items_[:, 1],
                "n_dims": self.n_dims_,
                "fallback": self.fallback_,
            }
        )


class OneVsRestSubspaceClassifier(ClassifierMixin, BaseEstimator):
    """The article's intermediate "sub-feature" baseline: one set of dimensions per class.

    For each class c the dimensions whose cross-deviation ratio between the items the base model
    assigns to c and all other items exceeds ``cutoff`` are kept (at most ``max_dims``, the highest;
    the author kept 10 above 1.05); an item's score for c is its cosine to the prompt of c on those
    dimensions, and the prediction is the argmax. Classes with too few items or no kept dimension
    use the full embedding (flagged in ``fallback_``).
    """

    def __init__(
        self,
        cutoff: float = 1.05,
        max_dims: int | None = 10,
        cos_limit: float | None = None,
        max_items_per_class: int | None = 1500,
        random_state: int | None = 0,
    ):
        self.cutoff = cutoff
        self.max_dims = max_dims
        self.cos_limit = cos_limit
        self.max_items_per_class = max_items_per_class
        self.random_state = random_state

    def fit(self, X, class_embeddings, assigned=None) -> OneVsRestSubspaceClassifier:
        """X (n, d), class_embeddings (C, d), optional assigned (n,) -> self."""
        X = _float64_matrix(X, "X")
        P = _float64_matrix(class_embeddings, "class_embeddings", min_rows=2)
        _check_same_dim(X, P, "X", "class_embeddings")
        S = cosine_matrix(X, P)
        assigned = S.argmax(axis=1) if assigned is None else np.asarray(assigned)
        keep = np.ones(len(X), bool) if self.cos_limit is None else S.max(axis=1) >= self.cos_limit
        rng = np.random.default_rng(_numpy_seed(self.random_state))
        C, d = P.shape
        dims, fallback = [], []
        for c in range(C):
            ia = _subsample(np.flatnonzero(keep & (assigned == c)), self.max_items_per_class, rng)
            ib = _subsample(np.flatnonzero(keep & (assigned != c)), self.max_items_per_class, rng)
            if min(len(ia), len(ib)) < 2:
                dims.append(np.arange(d))
                fallback.append("empty_class")
                continue
            r = np.nan_to_num(cross_deviation_ratio(X[ia], X[ib]), nan=-np.inf)
            k = np.flatnonzero(r > self.cutoff)
            if self.max_dims is not None and len(k) > self.max_dims:
                k = np.sort(k[np.argsort(-r[k], kind="stable")[: self.max_dims]])
            if len(k) == 0:
                dims.append(np.arange(d))
                fallback.append("no_dims")
            else:
                dims.append(k)
                fallback.append("")
        self.class_embeddings_ = np.asarray(P, dtype=np.float64)
        self.class_dims_ = dims
        self.fallback_ = np.array(fallback, dtype=object)
        self.n_features_in_ = d
        return self

    def decision_function(self, X) -> np.ndarray:
        """float64 (n, C): cosine to each class on that class's dimensions."""
        check_fitted(self, "class_dims_", "fit(X, class_embeddings)")
        X = _float64_matrix(X, "X")
        _check_same_dim(X, self.class_embeddings_, "X", "the fitted class_embeddings")
        cols = [
            subspace_cosine(X, self.class_embeddings_[[c]], dims)[:, 0]
            for c, dims in enumerate(self.class_dims_)
        ]
        return np.stack(cols, axis=1)

    def predict(self, X) -> np.ndarray:
        """int64 (n,) argmax of :meth:`decision_function`."""
        return self.decision_function(X).argmax(axis=1).astype(np.int64)


