"""BLISSNet (report section 3): zero-shot classification through BLISS metaclasses.

The pipeline the BLISSNet report describes (and never got to run):

1. **Metaclasses.** BLISS partitions the seen classes' prototypes (mean image feature per class)
   into ``B`` buckets, in ``n`` independent repetitions: repetition ``r`` maps every class to a
   metaclass ``m_r(c)``. (By default the fixed BLISS of notebook 01 is used; the report's BLISS
   collapses into about K buckets, which would make the metaclasses useless.)
2. **n classifiers image -> metaclass**, one per repetition (softmax regression, or a one-hidden
   layer network, all n trained at once).
3. **Novel classes through an inverted index with a frequency filter.** For a new class we have a
   few support images (never used for training): every classifier predicts their metaclasses; the
   class is placed in every metaclass that receives at least ``min_freq`` of its support images'
   votes (always at least its most frequent one). The inverted index (metaclass -> classes) of
   repetition r is the membership matrix ``M_r`` (B, C).
4. **Prediction** combines the n votes: ``score(c) = sum_r log(sum_{m in metaclasses_r(c)} p_r(m | x))``
   (``vote="logprob"``), or the number of repetitions whose top metaclass holds c (``vote="count"``,
   ties broken by the log-probability score).

Also here: :class:`NearestClassMean`, the baseline (cosine to the mean of each class's images).
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import column_or_1d

from ..config import resolve_device
from ..index.bliss import BLISS
from ..index.bliss_fixed import FIXED_DEFAULTS
from ..validation import check_fitted, check_int, check_matrix, int_seed, l2_normalize

__all__ = ["BLISSNet", "NearestClassMean", "class_means"]

#: K: metaclasses each class is placed in by the BLISS over the class prototypes (n_metaclasses >= K)
METACLASS_CHOICES = 4


def class_means(X: np.ndarray, y: np.ndarray, classes: np.ndarray) -> np.ndarray:
    """Mean of the L2-normalised rows of ``X`` (n, d) per class of ``classes`` -> float32 (C, d)."""
    Xn = l2_normalize(np.asarray(X, dtype=np.float32))
    classes, y = np.asarray(classes), np.asarray(y)
    order = np.argsort(classes, kind="stable")
    pos = np.minimum(np.searchsorted(classes[order], y), max(len(classes) - 1, 0))
    if len(y) and (not len(classes) or (classes[order][pos] != y).any()):
        extra = np.setdiff1d(y, classes)[:5]
        raise ValueError(f"labels {extra.tolist()} are not in classes; pass every class of y")
    idx = order[pos] if len(y) else np.empty(0, np.int64)
    sums = np.zeros((len(classes), X.shape[1]), dtype=np.float64)
    np.add.at(sums, idx, Xn)
    counts = np.bincount(idx, minlength=len(classes))
    if (counts == 0).any():
        missing = np.asarray(classes)[counts == 0][:5]
        raise ValueError(f"classes without any example: {missing.tolist()}; every class needs at least one row")
    return (sums / counts[:, None]).astype(np.float32)


def _check_xy(X, y, name="X"):
    X = check_matrix(name, X)
    if y is None:
        raise ValueError("this classifier requires y to be passed, but the target y is None: pass "
                         "one class label per row of X")
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] == 1:
        y = column_or_1d(y, warn=True)
    if y.ndim == 1 and len(y) == X.shape[0]:
        check_classification_targets(y)
    if y.ndim != 1 or len(y) != X.shape[0]:
        raise ValueError(f"labels must be a 1-D array with one entry per row of {name} ({X.shape[0]}); got shape {y.shape}")
    return X, y


class NearestClassMean(ClassifierMixin, BaseEstimator):
    """Nearest class mean by cosine: ``fit(X, y)`` stores the class means, ``predict(X)``."""

    def fit(self, X, y) -> NearestClassMean:
        X, y = _check_xy(X, y)
        self.classes_ = np.unique(y)
        self.means_ = l2_normalize(class_means(X, y, self.classes_))
        self.n_features_in_ = X.shape[1]
        return self

    def decision_function(self, X) -> np.ndarray:
        """Cosine similarity float32 (n, C) to every class mean."""
        check_fitted(self, "means_", "fit(X, y)")
        return l2_normalize(check_matrix("X", X, dim=self.means_.shape[1], fitted="the class means were fitted on")) @ self.means_.T

    def predict(self, X) -> np.ndarray:
        scores = self.decision_function(X)
        return self.classes_[scores.argmax(1)]


class BLISSNet(ClassifierMixin, BaseEstimator):
    """BLISSNet zero-shot classifier.

    Parameters
    ----------
    n_models : n, repetitions of the metaclass mapping (= BLISS repetitions = classifiers).
    n_metaclasses : B, metaclasses per repetition.
    bliss_params : extra parameters of the BLISS that builds the metaclasses over the class
        prototypes (defaults: the fixed BLISS, K=4, P=4 neighbouring classes, 60 epochs, batch 8,
        cosine distance).
    hidden_dim : 0 for softmax regression image -> metaclass, else a one-hidden-layer network.
    epochs, batch_size, lr, weight_decay : training of the classifiers (Adam).
    min_freq : fraction of a novel class's support images that must vote a metaclass for the
        class to be placed in it (the frequency filter; the top metaclass is always kept).
    vote : ``"logprob"`` or ``"count"`` (see module docstring).
    n_rerank : Q, the report's re-rank size: only the Q candidate classes held by the most
        repetitions' top metaclasses (ties: the higher log-probability score) are scored, the others get
        -inf (None: every class, as before).
    random_state : int, RandomState, Generator or None (scikit-learn's convention; an int seeds
        NumPy's ``default_rng`` as before). progress : tqdm bar.
    device : torch device of the classifiers and of the metaclass BLISS (``"auto"``: CUDA, then MPS,
        then CPU; see :func:`zsl_lib.config.resolve_device`); random draws stay on the CPU.

    Attributes: ``classes_`` (all known classes, seen then novel), ``membership_`` bool (n, B, C),
    ``bliss_`` (the fitted BLISS over the seen prototypes).
    """

    def __init__(
        self,
        n_models: int = 4,
        n_metaclasses: int = 20,
        bliss_params: dict | None = None,
        hidden_dim: int = 0,
        epochs: int = 100,
        batch_size: int = 256,
        lr: float = 1e-2,
        weight_decay: float = 1e-4,
        min_freq: float = 0.3,
        vote: str = "logprob",
        n_rerank: int | None = None,
        random_state: int | None = 0,
        progress: bool = False,
        device: str = "auto",
    ):
        self.n_models = n_models
        self.n_metaclasses = n_metaclasses
        self.bliss_params = bliss_params
        self.hidden_dim = hidden_dim
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.weight_decay = weight_decay
        self.min_freq = min_freq
        self.vote = vote
        self.n_rerank = n_rerank
        self.random_state = random_state
        self.progress = progress
        self.device = device

    def _net(self, x: torch.Tensor) -> torch.Tensor:
        """x (n, d) -> logits (n_models, n, B)."""
        z = (x - self._mu) / self._sd
        if self.hidden_dim:
            W1, b1, W2, b2 = self._params
            h = torch.relu(torch.einsum("nd,rdh->rnh", z, W1) + b1[:, None])
            return torch.bmm(h, W2) + b2[:, None]
        W, b = self._params
        return torch.einsum("nd,rdb->rnb", z, W) + b[:, None]

    def fit(self, X, y) -> BLISSNet:
        """Learn metaclasses over the seen classes of ``y`` and the n image -> metaclass models.

        ``X`` float (n, d) image features, ``y`` (n,) class labels (any hashable values)."""
        X, y = _check_xy(X, y)
        R = check_int("n_models", self.n_models)
        B = check_int("n_metaclasses", self.n_metaclasses)
        if self.vote not in ("logprob", "count"):
            raise ValueError(f"vote={self.vote!r} is not supported; choose 'logprob' or 'count'")
        if not 0 < self.min_freq <= 1:
            raise ValueError(f"min_freq must be a fraction in (0, 1]; got {self.min_freq!r}")
        seen = np.unique(y)
        if len(seen) < B:
            raise ValueError(f"{len(seen)} class(es) seen, fewer than n_metaclasses={B}; lower n_metaclasses")
        rs = self.random_state
        rng = np.random.default_rng(rs if rs is None or isinstance(rs, np.random.Generator) else int_seed(rs))
        protos = class_means(X, y, seen)
        params = {
            **FIXED_DEFAULTS, "n_buckets": B, "n_repetitions": R, "k_choices": METACLASS_CHOICES, "n_probe": 1,
            "epochs": 60, "epochs_per_balance": 2, "batch_size": 8, "n_neighbors": 4, "n_rerank": None,
            "distance": "cosine", "hidden_dim": 64, "random_state": int(rng.integers(2**31 - 1)), "device": self.device,
            **(self.bliss_params or {}),
        }
        params["n_repetitions"], params["n_buckets"] = R, B
        if params["k_choices"] > B:
            raise ValueError(f"n_metaclasses={B} is below the {params['k_choices']} metaclasses each class is placed "
                             f"in (k_choices); raise n_metaclasses to at least {params['k_choices']}")
        self.bliss_ = BLISS(**params).fit(protos)
        self.classes_ = seen
        C = len(seen)
        self.membership_ = np.zeros((R, B, C), dtype=bool)
        self.membership_[np.arange(R)[:, None], self.bliss_.assignments_, np.arange(C)[None]] = True
        # n classifiers image -> metaclass, trained together
        col = np.searchsorted(seen, y)
        dev = self.device_ = resolve_device(self.device)
        targets = torch.from_numpy(self.bliss_.assignments_[:, col]).to(dev)  # (R, n)
        Xt = torch.from_numpy(X).to(dev)
        self._mu, self._sd = Xt.mean(0), Xt.std(0) + 1e-6
        gen = torch.Generator().manual_seed(int(rng.integers(2**31 - 1)))
        d, H = X.shape[1], self.hidden_dim
        if H:
            self._params = [
                (torch.randn(R, d, H, generator=gen) * np.sqrt(2 / d)), torch.zeros(R, H),
                (torch.randn(R, H, B, generator=gen) * np.sqrt(1 / H)), torch.zeros(R, B),
            ]
        else:
            self._params = [torch.randn(R, d, B, generator=gen) * np.sqrt(1 / d), torch.zeros(R, B)]
        self._params = [p.to(dev).requires_grad_(True) for p in self._params]
        opt = torch.optim.Adam(self._params, lr=self.lr, weight_decay=self.weight_decay)
        n = X.shape[0]
        it = range(self.epochs)
        if self.progress:
            from tqdm.auto import tqdm  # noqa: PLC0415

            it = tqdm(it, desc="BLISSNet classifiers")
        for _ in it:
            perm = torch.randperm(n, generator=gen).to(dev)
            for s in range(0, n, self.batch_size):
                idx = perm[s : s + self.batch_size]
                logits = self._net(Xt[idx])  # (R, b, B)
                loss = F.cross_entropy(logits.reshape(-1, B), targets[:, idx].reshape(-1)) * R
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
        self.d_ = self.n_features_in_ = d
        return self

    def metaclass_proba(self, X) -> np.ndarray:
        """Softmax over metaclasses float32 (n_models, n, B) for the rows of ``X`` (n, d)."""
        check_fitted(self, "membership_", "fit(X, y)")
        X = check_matrix("X", X, dim=self.d_, fitted="the model was fitted on")
        with torch.no_grad():
            return torch.softmax(self._net(torch.from_numpy(X).to(self.device_)), dim=2).cpu().numpy()

    def add_classes(self, X_support, y_support) -> BLISSNet:
        """Place novel classes in metaclasses with the inverted index and frequency filter.

        ``X_support`` float (n, d) a few images of each novel class, ``y_support`` (n,) their
        labels (classes not seen in ``fit``). Returns self."""
        check_fitted(self, "membership_", "fit(X, y)")
        X_support, y_support = _check_xy(X_support, y_support, "X_support")
        novel = np.unique(y_support)
        clash = np.intersect1d(novel, self.classes_)
        if len(clash):
            raise ValueError(f"classes {clash[:5].tolist()} are already known; add_classes takes new classes only")
        R, B = self.membership_.shape[:2]
        top = self.metaclass_proba(X_support).argmax(2)  # (R, n)
        col = np.searchsorted(novel, y_support)
        votes = np.zeros((R, B, len(novel)))
        np.add.at(votes, (np.repeat(np.arange(R), len(col)), top.ravel(), np.tile(col, R)), 1.0)
        frac = votes / np.bincount(col, minlength=len(novel))[None, None, :]
        member = (frac >= self.min_freq) | (frac == frac.max(axis=1, keepdims=True))
        self.membership_ = np.concatenate([self.membership_, member], axis=2)
        self.classes_ = np.concatenate([self.classes_, novel])
        return self

    def decision_function(self, X, classes=None) -> np.ndarray:
        """Combined scores float (n, C') of the rows of ``X`` for ``classes`` (default: all known,
        in the order of ``classes_``)."""
        P = self.metaclass_proba(X)  # (R, n, B)
        cols = np.arange(len(self.classes_)) if classes is None else self._columns(classes)
        M = self.membership_[:, :, cols].astype(np.float32)  # (R, B, C')
        mass = np.einsum("rnb,rbc->rnc", P, M)
        logp = np.log(np.maximum(mass, 1e-12)).sum(0)
        rerank = self.n_rerank is not None and check_int("n_rerank", self.n_rerank) < logp.shape[1]
        if self.vote == "logprob" and not rerank:
            return logp
        top = P.argmax(2)  # (R, n)
        count = M[np.arange(M.shape[0])[:, None], top].sum(0)  # (n, C') repetitions voting for c
        score = logp
        if self.vote == "count":
            z = logp - logp.min(1, keepdims=True)
            score = count + 0.5 * z / (z.max(1, keepdims=True) + 1e-12)
        if not rerank:
            return score
        # the Q most frequent candidates (count, then log-probability), the rest out of the race
        order = np.lexsort((-logp, -count), axis=1)[:, : self.n_rerank]
        keep = np.zeros(score.shape, dtype=bool)
        np.put_along_axis(keep, order, True, axis=1)
        return np.where(keep, score, -np.inf)

    def _columns(self, classes) -> np.ndarray:
        classes = np.asarray(classes)
        pos = {c: i for i, c in enumerate(self.classes_)}
        missing = [c for c in classes.tolist() if c not in pos]
        if missing:
            raise ValueError(f"unknown classes {missing[:5]}; known: fit/add_classes first")
        return np.array([pos[c] for c in classes.tolist()])

    def predict(self, X, classes=None) -> np.ndarray:
        """Best class of each row of ``X`` among ``classes`` (default: all known)."""
        scores = self.decision_function(X, classes)
        cand = self.classes_ if classes is None else np.asarray(classes)
        return cand[scores.argmax(1)]
