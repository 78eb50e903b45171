"""Neighbour nets: cache models as two-layer networks (Bynke 2022, section 3.2.3).

* simple neighbour net: ``y = L^T softmax(e^tau W q)`` with ``W`` (N, d) initialised to the
  reference features ``F_r`` and ``L`` (N, C) their labels; without training it is the neighbour
  search without the filter.
* class-wise neighbour net: for each class a softmax-weighted average of the similarities to that
  class's reference items only (masked softmax: -inf where the reference item lacks the class),
  rescaled from [-1, 1] to [0, 1].
* prototypes (Tip-Adapter-like aggregation): per class, ``n_prototypes`` groups of the class's
  items -- random groups or mini-batch k-means clusters -- averaged into one vector each; the
  prototype's label is the group's average label or the one-hot class; empty groups become zero
  vectors (similarity 0 to everything) with a zero label.
* fine-tuning: SGD with momentum and a cosine-annealed learning rate, MSE loss; trains ``W`` and,
  for the simple net, the temperature as its logarithm ``tau`` (the class-wise net keeps its
  temperature fixed, as in the thesis). When the reference set is the training set itself, each
  training query's own row is masked out (otherwise it matches itself perfectly).

The masked softmax of the class-wise net is computed without materialising (B, N, C): with
``E = exp(t S - max_n t S)`` in float64, ``out_c = (E * S) @ M_c / E @ M_c`` where ``M`` is the
(N, C) mask; exponents are floored at -700 so a class with members never divides by zero.
"""

from __future__ import annotations

import numpy as np
import torch
from sklearn.cluster import MiniBatchKMeans
from tqdm.auto import tqdm

from ..validation import (
    check_choice,
    check_fitted,
    check_float,
    check_indicator,
    check_int,
    check_matrix,
    int_seed,
    l2_normalize,
)
from .neighbors import MultiLabelEstimator, check_reference_keywords

GROUPINGS = ("random", "kmeans")
PROTO_LABELS = ("average", "onehot")


def prototype_groups(X, Y, n_per_class: int = 16, grouping: str = "kmeans",
                     random_state: int = 0) -> list[np.ndarray]:
    """The group (0 .. n_per_class - 1) of each member of each class: a list of C int arrays.

    ``groups[c][i]`` is the group of the i-th item carrying class c (items in ascending order).
    "random": the class's items shuffled and dealt into equal groups (Tip-Adapter);
    "kmeans": MiniBatchKMeans clusters of the class's L2-normalised features. A class with at
    most ``n_per_class`` items gets one item per group (the remaining groups stay empty).
    Deterministic for a given ``random_state``: callers that build several prototype variants of
    the same data (Table 4.7) may compute this once and pass it to :func:`make_prototypes`.
    """
    check_choice("grouping", grouping, GROUPINGS)
    k = check_int("n_per_class", n_per_class, minimum=1)
    X = l2_normalize(check_matrix("X", X))
    Y = check_indicator("Y", Y, len(X))
    rng = np.random.default_rng(random_state)
    out = []
    for c in range(Y.shape[1]):  # a loop over classes; each step is vectorised over the class's items
        members = np.flatnonzero(Y[:, c] > 0)
        if members.size <= k:  # fewer items than groups: one item per group, the rest empty
            group = np.arange(members.size)
        elif grouping == "random":
            group = np.empty(members.size, np.int64)
            group[rng.permutation(members.size)] = np.arange(members.size) % k
        else:
            km = MiniBatchKMeans(n_clusters=k, random_state=random_state + c, n_init=1,
                                 batch_size=min(1024, members.size))
            group = km.fit_predict(X[members])
        out.append(group)
    return out


def _check_groups(groups, Y: np.ndarray, k: int) -> list[np.ndarray]:
    if not isinstance(groups, (list, tuple)) or len(groups) != Y.shape[1]:
        raise ValueError(
            f"groups must be a list of {Y.shape[1]} arrays (one per class) from prototype_groups; "
            f"got {type(groups).__name__} of length {len(groups) if hasattr(groups, '__len__') else '?'}"
        )
    counts = (Y > 0).sum(0)
    out = []
    for c, (g, m) in enumerate(zip(groups, counts)):
        g = np.asarray(g)
        if g.shape != (m,) or (g.size and (g.min() < 0 or g.max() >= k)):
            raise ValueError(
                f"groups[{c}] must hold one group in [0, {k - 1}] for each of the {m} items of class "
                f"{c}; got shape {g.shape}. Compute groups with prototype_groups on the same X, Y"
            )
        out.append(g)
    return out


def make_prototypes(X, Y, n_per_class: int = 16, grouping: str = "kmeans", labels: str = "average",
                    random_state: int = 0, groups=None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Aggregate reference items into ``n_per_class`` prototypes per class.

    An item with several labels joins the groups of every class it has (thesis 3.2.3).

    Parameters
    ----------
    X : (N, d) features (L2-normalised here); Y : (N, C) {0, 1} labels.
    grouping : "random" (shuffle the class's items, split into equal groups, as Tip-Adapter) or
        "kmeans" (MiniBatchKMeans clusters of the class's items); see :func:`prototype_groups`.
    labels : "average" (mean label vector of the group) or "onehot" (the class the group is for).
    groups : the output of :func:`prototype_groups` for these ``X``, ``Y`` (None: computed here).

    Returns
    -------
    P (C * n_per_class, d) float32 unit vectors (zero rows for empty groups),
    L (C * n_per_class, C) float32 labels (zero rows for empty groups),
    owner (C * n_per_class,) int64 the class each prototype was made for.
    """
    check_choice("grouping", grouping, GROUPINGS)
    check_choice("labels", labels, PROTO_LABELS)
    k = check_int("n_per_class", n_per_class, minimum=1)
    X = check_matrix("X", X)
    Y = check_indicator("Y", Y, len(X))
    if groups is None:
        groups = prototype_groups(X, Y, k, grouping, random_state)
    groups = _check_groups(groups, Y, k)
    X = l2_normalize(X)
    C = Y.shape[1]
    P = np.zeros((C * k, X.shape[1]), np.float32)
    L = np.zeros((C * k, C), np.float32)
    owner = np.repeat(np.arange(C), k)
    for c in range(C):  # a loop over classes; each step is vectorised over the class's items
        members = np.flatnonzero(Y[:, c] > 0)
        if members.size == 0:
            continue
        group = groups[c]
        G = np.zeros((k, members.size), np.float32)
        G[group, np.arange(members.size)] = 1.0
        sizes = G.sum(1, keepdims=True)
        nonempty = sizes[:, 0] > 0
        P[c * k:(c + 1) * k] = l2_normalize(G @ X[members])  # zero rows stay zero
        if labels == "average":
            L[c * k:(c + 1) * k] = np.divide(G @ Y[members], sizes, out=np.zeros((k, C), np.float32),
                                             where=sizes > 0)
        else:
            L[c * k + np.flatnonzero(nonempty), c] = 1.0
    return P, L, owner


class NeighborNet(MultiLabelEstimator):
    """Simple or class-wise neighbour net, zero-shot or fine-tuned (scikit-learn style).

    Parameters
    ----------
    kind : "simple" or "classwise".
    temperature : softmax temperature e^tau (thesis: 105.6 simple, 14.2 / 4.98 class-wise).
    n_prototypes : None = every reference item is a row of W; int = prototypes per class.
    grouping, proto_labels : see :func:`make_prototypes` ("kmeans"/"random", "average"/"onehot").
        The class-wise net always masks by the class a prototype was made for.
    fine_tune : train W (and tau for the simple net) with SGD + cosine annealing + MSE.
    epochs, batch_size, lr, momentum : SGD settings (the thesis searched them).
    train_temperature : None = True for "simple", False for "classwise" (thesis).
    random_state : int, RandomState, Generator or None (scikit-learn's convention): seeds prototypes,
        batch order and torch (an int is used as the seed itself).
    threshold : :meth:`predict` keeps the labels whose confidence reaches it.
    """

    def __init__(self, kind: str = "simple", temperature: float = 100.0, n_prototypes: int | None = None,
                 grouping: str = "kmeans", proto_labels: str = "average", fine_tune: bool = False,
                 epochs: int = 10, batch_size: int = 64, lr: float = 1e-3, momentum: float = 0.9,
                 train_temperature: bool | None = None, random_state: int = 0, chunk_size: int = 1024,
                 progress: bool = False, threshold: float = 0.5):
        self.kind, self.temperature, self.n_prototypes = kind, temperature, n_prototypes
        self.grouping, self.proto_labels, self.fine_tune = grouping, proto_labels, fine_tune
        self.epochs, self.batch_size, self.lr, self.momentum = epochs, batch_size, lr, momentum
        self.train_temperature, self.random_state = train_temperature, random_state
        self.chunk_size, self.progress, self.threshold = chunk_size, progress, threshold

    # -- forward -------------------------------------------------------------------------
    def _forward(self, Q: torch.Tensor, W: torch.Tensor, log_t: torch.Tensor,
                 self_idx: torch.Tensor | None = None) -> torch.Tensor:
        S = Q @ W.T  # (B, N) similarities (cosine at initialisation)
        z = torch.exp(log_t) * S
        if self_idx is not None:
            z = z.index_put((torch.arange(len(Q)), self_idx), torch.tensor(-torch.inf, dtype=z.dtype))
        if self.kind == "simple":
            return torch.softmax(z, dim=1) @ self.L_t_
        z = z.double()
        E = torch.exp(torch.clamp(z - z.max(dim=1, keepdim=True).values, min=-700.0))
        if self_idx is not None:
            E = E.index_put((torch.arange(len(Q)), self_idx), torch.tensor(0.0, dtype=E.dtype))
        num = (E * S.double()) @ self.M_t_
        den = E @ self.M_t_
        avg = torch.where(den > 0, num / torch.where(den > 0, den, torch.ones_like(den)), -torch.ones_like(den))
        return ((avg + 1.0) / 2.0).float()

    # -- public API ---------------------------------------------------------------------
    def fit(self, X, Y, groups=None) -> NeighborNet:
        """Build W and L from the reference items ``X`` (N, d), ``Y`` (N, C); fine-tune if asked.

        ``groups``: prototype groups from :func:`prototype_groups` (same ``X``, ``Y``,
        ``n_prototypes``, ``grouping``, ``random_state``) to reuse across variants; None: computed.
        """
        check_choice("kind", self.kind, ("simple", "classwise"))
        check_float("temperature", self.temperature, low=0, low_open=True)
        X_raw = check_matrix("X", X)
        X = l2_normalize(X_raw)
        Y = check_reference_keywords(self._indicator_targets(Y, len(X)), len(X), "Y")
        C = Y.shape[1]
        seed = self._seed = int_seed(self.random_state)
        if self.n_prototypes is None:
            W, L, mask = X, Y, Y
        else:  # prototypes from the raw features (normalised once, as prototype_groups does)
            W, L, owner = make_prototypes(X_raw, Y, self.n_prototypes, self.grouping, self.proto_labels,
                                          seed, groups)
            mask = np.zeros_like(L)
            nonempty = np.abs(W).sum(1) > 0
            mask[np.flatnonzero(nonempty), owner[nonempty]] = 1.0
        torch.manual_seed(seed)
        self.L_t_ = torch.from_numpy(np.ascontiguousarray(L, dtype=np.float32))
        self.M_t_ = torch.from_numpy(np.ascontiguousarray(mask, dtype=np.float64))
        W_t = torch.from_numpy(np.array(W, dtype=np.float32))
        log_t = torch.tensor(float(np.log(self.temperature)), dtype=torch.float32)
        self.loss_history_ = []
        if self.fine_tune:
            W_t, log_t = self._train(X, Y, W_t, log_t, self_rows=self.n_prototypes is None)
        self.W_, self.log_t_, self.n_classes_ = W_t.detach(), log_t.detach(), C
        self.temperature_ = float(torch.exp(self.log_t_))
        self.n_features_in_ = X.shape[1]
        return self

    def _train(self, X, Y, W_t, log_t, self_rows: bool):
        check_int("epochs", self.epochs, minimum=1)
        check_int("batch_size", self.batch_size, minimum=1)
        check_float("lr", self.lr, low=0, low_open=True)
        check_float("momentum", self.momentum, 0, 1, high_open=True)
        train_t = (self.kind == "simple") if self.train_temperature is None else self.train_temperature
        W_t = W_t.clone().requires_grad_(True)
        log_t = log_t.clone().requires_grad_(train_t)
        params = [W_t] + ([log_t] if train_t else [])
        opt = torch.optim.SGD(params, lr=self.lr, momentum=self.momentum)
        n = len(X)
        n_batches = int(np.ceil(n / self.batch_size))
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=int(self.epochs) * n_batches)
        Xt, Yt = torch.from_numpy(X), torch.from_numpy(Y)
        gen = torch.Generator().manual_seed(self._seed)
        for _ in tqdm(range(int(self.epochs)), desc="fine-tuning", disable=not self.progress, leave=False):
            perm = torch.randperm(n, generator=gen)
            total = 0.0
            for b in range(n_batches):
                idx = perm[b * self.batch_size:(b + 1) * self.batch_size]
                out = self._forward(Xt[idx], W_t, log_t, idx if self_rows else None)
                loss = torch.mean((out - Yt[idx]) ** 2)
                opt.zero_grad()
                loss.backward()
                opt.step()
                sched.step()
                total += float(loss.detach()) * len(idx)
            self.loss_history_.append(total / n)
            if not np.isfinite(total):
                raise FloatingPointError(
                    f"fine-tuning diverged (loss {total}); lower lr={self.lr} or the temperature")
        return W_t, log_t

    def predict_proba(self, Q, self_index=None, temperature: float | None = None) -> np.ndarray:
        """Confidences (nq, C) float32 in [0, 1]; ``self_index`` masks a query's own reference row.

        ``temperature`` overrides the fitted one (cheap temperature search on a net that is not
        fine-tuned: the prototypes are built once).
        """
        check_fitted(self, "W_", "fit(X, Y)")
        Q = l2_normalize(check_matrix("Q", Q, dim=self.W_.shape[1], fitted="the model was fitted on"))
        log_t = self.log_t_
        if temperature is not None:
            check_float("temperature", temperature, low=0, low_open=True)
            log_t = torch.tensor(float(np.log(temperature)), dtype=torch.float32)
        out = np.empty((len(Q), self.n_classes_), np.float32)
        with torch.no_grad():
            for s in range(0, len(Q), self.chunk_size):
                si = None if self_index is None else torch.as_tensor(np.asarray(self_index)[s:s + self.chunk_size])
                out[s:s + self.chunk_size] = self._forward(torch.from_numpy(Q[s:s + self.chunk_size]),
                                                           self.W_, log_t, si).numpy()
        return self._class_proba(np.clip(out, 0.0, 1.0))
