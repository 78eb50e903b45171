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
cosine on a subset of dimensions re-normalises on that subset.

Degenerate pairs (documented fallback, ``on_degenerate="fallback"``, the default): when, after the
exclusion rules, one class of a pair has fewer than ``min_items`` items, or the cutoff keeps fewer
than ``min_dims`` dimensions, that pair is decided on the full embedding (exactly the base model's
decision between the two classes) and flagged in ``fallback_``; ``on_degenerate="raise"`` raises a
``ValueError`` that names the pair instead.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from zsl_lib.data.text import mask_words as mask_class_words

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
    "logreg_cv_predict",
    "agreement_f1",
    "gain_vs_cutoff",
    "mask_class_words",
]


# --------------------------------------------------------------------------------------------
# validation helpers
# --------------------------------------------------------------------------------------------
def _as_2d(X, name: str, min_rows: int = 1) -> np.ndarray:
    X = np.asarray(X)
    if X.ndim != 2:
        raise ValueError(
            f"{name} must be a 2-D array (n_items, n_dims); got shape {X.shape}. "
            "Reshape a single vector with x[None, :]"
        )
    if X.shape[0] < min_rows:
        raise ValueError(f"{name} has {X.shape[0]} rows; at least {min_rows} needed")
    if X.shape[1] == 0:
        raise ValueError(f"{name} has zero dimensions")
    if not np.issubdtype(X.dtype, np.number):
        raise ValueError(f"{name} must be numeric; got dtype {X.dtype}")
    if not np.all(np.isfinite(X)):
        raise ValueError(
            f"{name} contains NaN or infinite values ({int((~np.isfinite(X)).sum())} entries); "
            "drop or impute those items before classifying"
        )
    return X


def _check_same_dim(X: np.ndarray, P: np.ndarray, xname: str, pname: str) -> None:
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
    X = np.asarray(X, dtype=np.float64)
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
    A = _as_2d(A, "A")
    B = _as_2d(B, "B")
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
    A = _as_2d(A, "A", min_rows=2)
    B = _as_2d(B, "B", min_rows=2)
    _check_same_dim(A, B, "A", "B")
    mu_a, var_a = _moments(A)
    mu_b, var_b = _moments(B)
    cv = 0.5 * (var_a + var_b + (mu_a - mu_b) ** 2)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.sqrt(cv / np.sqrt(var_a * var_b))


# --------------------------------------------------------------------------------------------
# cosine helpers and the base model
# --------------------------------------------------------------------------------------------
def _normalise(X: np.ndarray) -> np.ndarray:
    X = np.asarray(X, dtype=np.float64)
    n = np.linalg.norm(X, axis=-1, keepdims=True)
    return X / np.where(n > 0, n, 1.0)


def cosine_matrix(X, P) -> np.ndarray:
    """Cosine similarity of every item to every class: X (n, d), P (C, d) -> float64 (n, C)."""
    X = _as_2d(X, "X")
    P = _as_2d(P, "class_embeddings")
    _check_same_dim(X, P, "X", "class_embeddings")
    return _normalise(X) @ _normalise(P).T


def subspace_cosine(X, P, dims) -> np.ndarray:
    """Cosine on the dimensions ``dims`` only: X (n, d), P (C, d), dims (k,) int or (d,) bool ->
    float64 (n, C). Vectors are re-normalised on the subset (as the author's code does)."""
    X = np.asarray(X)
    P = np.asarray(P)
    return _normalise(X[:, dims]) @ _normalise(P[:, dims]).T


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


class PairwiseTourneyClassifier:
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
        if self.on_degenerate not in ("fallback", "raise"):
            raise ValueError(
                f"on_degenerate must be 'fallback' or 'raise'; got {self.on_degenerate!r}"
            )
        if self.min_items < 2:
            raise ValueError(f"min_items must be >= 2 (a std needs two items); got {self.min_items}")
        if self.min_dims < 1:
            raise ValueError(f"min_dims must be >= 1; got {self.min_dims}")
        if not np.isfinite(self.cutoff):
            raise ValueError(f"cutoff must be a finite number; got {self.cutoff}")

    def fit(self, X, class_embeddings, assigned=None, class_names=None) -> PairwiseTourneyClassifier:
        """Estimate every pair's dimensions.

        X : (n, d) unlabelled item embeddings; class_embeddings : (C, d) class-prompt embeddings;
        assigned : optional (n,) int class assignment to estimate from (default: the base model's
        argmax cosine, as in the article; no true labels are used); class_names : optional list
        of C names used in messages.
        """
        self._validate_params()
        X = _as_2d(X, "X")
        P = _as_2d(class_embeddings, "class_embeddings", min_rows=2)
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
        rng = np.random.default_rng(self.random_state)
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
        if not hasattr(self, "pairs_"):
            raise RuntimeError("this PairwiseTourneyClassifier is not fitted; call fit() first")
        X = _as_2d(X, "X")
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
        pred = tourney_bracket(M, self.random_state, self.reshuffle_each_round)
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


class OneVsRestSubspaceClassifier:
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
        X = _as_2d(X, "X")
        P = _as_2d(class_embeddings, "class_embeddings", min_rows=2)
        _check_same_dim(X, P, "X", "class_embeddings")
        S = cosine_matrix(X, P)
        assigned = S.argmax(axis=1) if assigned is None else np.asarray(assigned)
        keep = np.ones(len(X), bool) if self.cos_limit is None else S.max(axis=1) >= self.cos_limit
        rng = np.random.default_rng(self.random_state)
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
        if not hasattr(self, "class_dims_"):
            raise RuntimeError("this OneVsRestSubspaceClassifier is not fitted; call fit() first")
        X = _as_2d(X, "X")
        _check_same_dim(X, self.class_embeddings_, "X", "the fitted class_embeddings")
        cols = [
            subspace_cosine(X, self.class_embeddings_[[c]], dims)[:, 0]
            for c, dims in enumerate(self.class_dims_)
        ]
        return np.stack(cols, axis=1)

    def predict(self, X) -> np.ndarray:
        """int64 (n,) argmax of :meth:`decision_function`."""
        return self.decision_function(X).argmax(axis=1).astype(np.int64)


# --------------------------------------------------------------------------------------------
# supervised upper bound and scores
# --------------------------------------------------------------------------------------------
def logreg_cv_predict(X, y, n_splits: int = 5, C: float = 0.1, random_state: int = 0) -> np.ndarray:
    """Supervised upper bound: out-of-fold predictions of a standardised logistic regression.

    X (n, d), y (n,) true labels -> int64 (n,) predictions from stratified ``n_splits``-fold
    cross-validation (scikit-learn ``cross_val_predict``), so every item is predicted by a model
    that did not see it. ``C`` is the inverse L2 strength on standardised features (fixed, not
    tuned on the evaluation items).
    """
    from sklearn.linear_model import LogisticRegression  # noqa: PLC0415
    from sklearn.model_selection import StratifiedKFold, cross_val_predict  # noqa: PLC0415
    from sklearn.pipeline import make_pipeline  # noqa: PLC0415
    from sklearn.preprocessing import StandardScaler  # noqa: PLC0415

    X = _as_2d(X, "X")
    y = np.asarray(y)
    if y.shape != (len(X),):
        raise ValueError(f"y must have shape ({len(X)},); got {y.shape}")
    counts = np.bincount(np.unique(y, return_inverse=True)[1])
    if counts.min() < n_splits:
        raise ValueError(
            f"logreg_cv_predict: the smallest class has {counts.min()} items, fewer than "
            f"n_splits={n_splits}; lower n_splits or drop that class"
        )
    from threadpoolctl import threadpool_limits  # noqa: PLC0415  (a scikit-learn dependency)

    model = make_pipeline(StandardScaler(), LogisticRegression(C=C, max_iter=1000))
    cv = StratifiedKFold(n_splits=n_splits, shuffle=True, random_state=random_state)
    # one BLAS thread: these small fits run ~15x faster than with oversubscribed threads on a
    # shared CPU (measured 5.7 s vs 87 s for 3,187 x 384 on the 2-core development machine)
    with threadpool_limits(1):
        return cross_val_predict(model, X, y, cv=cv).astype(np.int64)


def agreement_f1(text_pred, image_pred) -> float:
    """The article's score: weighted F1 of the image classes against the text classes.

    Text predictions act as the reference (``y_true``), image predictions as ``y_pred``; weighted F1
    is not symmetric, the weights are the text-class supports.
    """
    from sklearn.metrics import f1_score  # noqa: PLC0415

    text_pred = np.asarray(text_pred)
    image_pred = np.asarray(image_pred)
    if text_pred.shape != image_pred.shape:
        raise ValueError(
            f"text and image predictions must have the same shape; got {text_pred.shape} and "
            f"{image_pred.shape}"
        )
    return float(f1_score(text_pred, image_pred, average="weighted", zero_division=0))


def gain_vs_cutoff(X, class_embeddings, a: int, b: int, ratio, cutoffs, assigned) -> pd.DataFrame:
    """The article's gain plot, as a table: how cosines move as the cutoff keeps fewer dimensions.

    For each cutoff: ``n_dims`` kept (ratio > cutoff), the mean cosine of the items assigned to a
    or b to the prompts of a (``cos_a``) and of b (``cos_b``), the author's ``gain = cos_a -
    cos_b``, and ``margin`` = mean over those items of (cosine to own assigned class - cosine to the
    other): how well the pair's dimensions separate the two classes. Rows with no dimension left are
    dropped. ``cutoff=None`` rows are not produced; the full-embedding values are in ``attrs``.
    """
    X = _as_2d(X, "X")
    P = _as_2d(class_embeddings, "class_embeddings")
    _check_same_dim(X, P, "X", "class_embeddings")
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


# --------------------------------------------------------------------------------------------
# inputs: the offline fashion set and the paper's SQID configuration
# --------------------------------------------------------------------------------------------
@dataclass
class TourneyInputs:
    """Everything a pairwise-tourney experiment needs, aligned row by row.

    image, text : float32 (n, d) item embeddings in one space with the prompts (text = titles,
        masked when requested); text_unmasked : (n, d) or None; image_prompts, text_prompts :
        (C, d) class prompts for each side; binary_* : the same for the 2-class stage; labels,
        binary_labels : int64 (n,) true labels or None (SQID has none); titles, masked_titles:
        lists of str or None; info : dict describing the source.
    """

    source: str
    class_names: list[str]
    image: np.ndarray
    text: np.ndarray
    image_prompts: np.ndarray
    text_prompts: np.ndarray
    binary_names: list[str]
    binary_image_prompts: np.ndarray
    binary_text_prompts: np.ndarray
    labels: np.ndarray | None = None
    binary_labels: np.ndarray | None = None
    text_unmasked: np.ndarray | None = None
    titles: list[str] | None = None
    masked_titles: list[str] | None = None
    prompts: dict = field(default_factory=dict)
    info: dict = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.image)

    def subset(self, mask) -> TourneyInputs:
        """The items where ``mask`` (bool (n,) or int indices) holds; prompts unchanged."""
        idx = np.flatnonzero(mask) if np.asarray(mask).dtype == bool else np.asarray(mask)

        def pick(v):
            if v is None:
                return None
            return v[idx] if isinstance(v, np.ndarray) else [v[i] for i in idx]

        return TourneyInputs(
            source=self.source, class_names=self.class_names, image=self.image[idx],
            text=self.text[idx], image_prompts=self.image_prompts, text_prompts=self.text_prompts,
            binary_names=self.binary_names, binary_image_prompts=self.binary_image_prompts,
            binary_text_prompts=self.binary_text_prompts, labels=pick(self.labels),
            binary_labels=pick(self.binary_labels), text_unmasked=pick(self.text_unmasked),
            titles=pick(self.titles), masked_titles=pick(self.masked_titles),
            prompts=dict(self.prompts), info=dict(self.info, subset=int(len(idx))),
        )


SOURCES = ("fashion-products", "sqid")


def _phrases(prompt_set: str, classes=None) -> tuple[list[str], list[str]]:
    from .prompts import FASHION_PHRASES, get_prompt_set  # noqa: PLC0415

    ps = get_prompt_set(prompt_set)
    if classes is None:
        return list(ps), list(ps.values())
    return list(classes), [ps.get(c, FASHION_PHRASES.get(c, c.lower())) for c in classes]


def load_fashion_inputs(
    classes=None,
    prompt_set: str = "fashion13",
    binary_prompt_set: str = "fashion-apparel-vs-footwear",
    image_encoder: str = "lit-fashion",
    text_encoder: str = "minilm",
    image_template: str = "a photo of {}",
    text_template: str = "{}",
    mask_titles: bool = True,
    split: str = "eval",
    limit: int | None = None,
    seed: int = 0,
    progress: bool = True,
) -> TourneyInputs:
    """The offline default: fashion-products ``eval`` items of ``classes`` (default: the 13 of
    :data:`zsl_lib.zeroshot.prompts.FASHION_13`), images through ``image_encoder`` (an image->text
    aligned encoder, "lit-fashion"), titles and prompts through ``text_encoder`` (MiniLM, the
    space lit-fashion maps into). Binary truth: masterCategory Apparel (0) vs Footwear (1).
    ``limit`` keeps a seeded random subset of the items (smoke runs)."""
    from zsl_lib.data import load_dataset  # noqa: PLC0415
    from zsl_lib.encoders import embed, embed_texts  # noqa: PLC0415

    from .prompts import FASHION_13, fashion_class_words, make_prompts  # noqa: PLC0415

    classes = list(FASHION_13 if classes is None else classes)
    ds = load_dataset("fashion-products", split=split, classes=classes)
    names, phrases = _phrases(prompt_set, classes)
    bnames, bphrases = _phrases(binary_prompt_set)
    img_p, txt_p = make_prompts(phrases, image_template, text_template)
    bimg_p, btxt_p = make_prompts(bphrases, image_template, text_template)
    all_prompts = img_p + txt_p + bimg_p + btxt_p
    E = embed_texts(all_prompts, text_encoder)
    C = len(img_p)
    titles = list(ds.texts)
    masked = mask_class_words(titles, fashion_class_words(classes))
    text_unmasked = embed_texts(titles, text_encoder)
    text = embed_texts(masked, text_encoder) if mask_titles else text_unmasked
    image = embed(ds, image_encoder, progress=progress)
    master = ds.meta["masterCategory"].to_numpy()
    binary_labels = np.where(master == "Apparel", 0, np.where(master == "Footwear", 1, -1))
    inputs = TourneyInputs(
        source="fashion-products",
        class_names=names,
        image=image,
        text=text,
        image_prompts=E[:C],
        text_prompts=E[C : 2 * C],
        binary_names=bnames,
        binary_image_prompts=E[2 * C : 2 * C + 2],
        binary_text_prompts=E[2 * C + 2 :],
        labels=np.asarray(ds.labels, dtype=np.int64),
        binary_labels=binary_labels.astype(np.int64),
        text_unmasked=text_unmasked,
        titles=titles,
        masked_titles=masked,
        prompts={"image": img_p, "text": txt_p, "binary_image": bimg_p, "binary_text": btxt_p},
        info={"split": split, "image_encoder": image_encoder, "text_encoder": text_encoder,
              "mask_titles": mask_titles, "fingerprint": ds.fingerprint},
    )
    if limit is not None and limit < len(ds):
        # embeddings are computed (and cached) for the whole split, then subset: a smoke run
        # reuses the default run's cache instead of extracting a differently keyed subset
        inputs = inputs.subset(np.sort(np.random.default_rng(seed).choice(len(ds), limit, replace=False)))
    return inputs


def load_sqid_inputs(
    path: str | None = None,
    prompt_set: str = "sqid-clothing13",
    binary_prompt_set: str = "sqid-clothing-vs-household",
    clip_arch: str = "ViT-L-14",
    clip_pretrained: str | None = "openai",
    image_template: str = "a photo of {}",
    text_template: str = "{}",
    limit: int | None = None,
    seed: int = 0,
) -> TourneyInputs:
    """The article's configuration: SQID ``product_features.parquet`` (CLIP ViT-L/14 image and
    title embeddings, 768-d), products without an image dropped (as the author's ``dropna``), class
    prompts embedded with the matching open_clip text tower. ``path``: a parquet of that schema
    (None: the registry's file, downloaded where allowed). No true labels exist."""
    from zsl_lib.data.sqid import embedding_matrix  # noqa: PLC0415

    from .prompts import clip_text_embed, make_prompts  # noqa: PLC0415

    if path:
        df = pd.read_parquet(path, columns=["product_id", "clip_text_features",
                                            "clip_image_features"])
    else:
        from zsl_lib.data import load_dataset  # noqa: PLC0415

        df = load_dataset("sqid")
    df = df.dropna(subset=["clip_text_features", "clip_image_features"]).reset_index(drop=True)
    if len(df) == 0:
        raise ValueError("sqid: no product has both a text and an image embedding")
    if limit is not None and limit < len(df):
        idx = np.sort(np.random.default_rng(seed).choice(len(df), size=limit, replace=False))
        df = df.iloc[idx].reset_index(drop=True)
    image = embedding_matrix(df, "clip_image_features")
    text = embedding_matrix(df, "clip_text_features")
    names, phrases = _phrases(prompt_set)
    bnames, bphrases = _phrases(binary_prompt_set)
    img_p, txt_p = make_prompts(phrases, image_template, text_template)
    bimg_p, btxt_p = make_prompts(bphrases, image_template, text_template)
    E = clip_text_embed(img_p + txt_p + bimg_p + btxt_p, clip_arch, clip_pretrained)
    C = len(img_p)
    return TourneyInputs(
        source="sqid",
        class_names=names,
        image=image,
        text=text,
        image_prompts=E[:C],
        text_prompts=E[C : 2 * C],
        binary_names=bnames,
        binary_image_prompts=E[2 * C : 2 * C + 2],
        binary_text_prompts=E[2 * C + 2 :],
        prompts={"image": img_p, "text": txt_p, "binary_image": bimg_p, "binary_text": btxt_p},
        info={"clip": f"{clip_arch}/{clip_pretrained}", "n_products": len(df)},
    )


def load_inputs(source: str, **options) -> TourneyInputs:
    """Dispatch to :func:`load_fashion_inputs` or :func:`load_sqid_inputs` by ``source``."""
    if source == "fashion-products":
        return load_fashion_inputs(**options)
    if source == "sqid":
        return load_sqid_inputs(**options)
    raise ValueError(f"parameter source={source!r} is not supported; accepted: {', '.join(SOURCES)}")


# --------------------------------------------------------------------------------------------
# figures (matplotlib; the notebook only calls these and savefig)
# --------------------------------------------------------------------------------------------
def plot_cross_deviation_hist(ratios: dict, cutoff: float, title: str):
    """Histogram of per-dimension cross-deviation ratios, one panel per entry of ``ratios``
    (name -> (d,) array), with the cutoff marked and the number of kept dimensions in the legend."""
    import matplotlib.pyplot as plt  # noqa: PLC0415

    fig, axes = plt.subplots(1, len(ratios), figsize=(5.2 * len(ratios), 3.6), squeeze=False)
    for ax, (name, r) in zip(axes[0], ratios.items()):
        r = np.asarray(r, dtype=np.float64)
        r = r[np.isfinite(r)]
        kept = int((r > cutoff).sum())
        ax.hist(r, bins=50, color="C0", alpha=0.8)
        ax.axvline(cutoff, color="C3", ls="--", label=f"cutoff {cutoff:g}: {kept} of {len(r)} dims kept")
        ax.axvline(1.0, color="0.4", ls=":", label="1 = same distribution")
        ax.set_xlabel("cross-deviation ratio  sqrt(cross-var / (std_A std_B))")
        ax.set_ylabel("number of dimensions")
        ax.set_title(name)
        ax.legend(loc="upper right", fontsize="small")
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_gain_vs_cutoff(tables: dict, pair_names: tuple[str, str], title: str):
    """The article's gain plot: per modality (name -> :func:`gain_vs_cutoff` table), top: mean
    cosine to each class of the pair, the author's gain (difference) and the own-class margin, with
    the full-embedding values dashed; bottom: dimensions kept."""
    import matplotlib.pyplot as plt  # noqa: PLC0415

    fig, axes = plt.subplots(2, len(tables), figsize=(5.8 * len(tables), 6.2), sharex=True,
                             squeeze=False)
    a, b = pair_names
    for j, (name, df) in enumerate(tables.items()):
        ax, ax2 = axes[0, j], axes[1, j]
        ax.plot(df["cutoff"], df["cos_a"], color="C0", alpha=0.6, label=f"mean cos to '{a}'")
        ax.plot(df["cutoff"], df["cos_b"], color="C1", alpha=0.6, label=f"mean cos to '{b}'")
        ax.plot(df["cutoff"], df["gain"], color="C2", label="gain (author): cos_a - cos_b")
        ax.plot(df["cutoff"], df["margin"], color="C3", label="own-class margin")
        ax.axhline(df.attrs["full_gain"], color="C2", ls="--", lw=1, label="gain, full embedding")
        ax.axhline(df.attrs["full_margin"], color="C3", ls="--", lw=1,
                   label="margin, full embedding")
        ax.set_ylabel("cosine")
        ax.set_title(f"{name}: items assigned to '{a}' or '{b}'")
        ax.legend(fontsize="x-small", loc="best")
        ax2.plot(df["cutoff"], df["n_dims"], color="C4")
        ax2.set_xlabel("cross-deviation ratio cutoff")
        ax2.set_ylabel("dimensions kept")
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_confusions(y_true, preds: dict, class_names, title: str):
    """Row-normalised confusion matrices (true class -> predicted), one panel per prediction."""
    import matplotlib.pyplot as plt  # noqa: PLC0415
    import seaborn as sns  # noqa: PLC0415
    from sklearn.metrics import confusion_matrix  # noqa: PLC0415

    k = len(preds)
    fig, axes = plt.subplots(1, k, figsize=(5.6 * k, 5.8), squeeze=False)
    labels = np.arange(len(class_names))
    for ax, (name, p) in zip(axes[0], preds.items()):
        cm = confusion_matrix(y_true, p, labels=labels, normalize="true")
        text = np.where(cm >= 0.05, np.char.mod("%d", np.round(100 * cm).astype(int)), "")
        sns.heatmap(cm, ax=ax, vmin=0, vmax=1, cmap="Blues", cbar=False, square=True,
                    xticklabels=class_names, yticklabels=class_names, annot=text, fmt="",
                    annot_kws={"size": 6})
        acc = float(np.mean(np.asarray(y_true) == np.asarray(p)))
        ax.set_title(f"{name}: accuracy {acc:.3f}")
        ax.set_xlabel("predicted class")
        ax.set_ylabel("true class")
        ax.tick_params(axis="x", labelrotation=90, labelsize=7)
        ax.tick_params(axis="y", labelrotation=0, labelsize=7)
    fig.suptitle(f"{title}\n(cells: % of the true class's items, values >= 5 shown)")
    fig.tight_layout()
    return fig
