"""BLISS: a learned, load-balanced bucket index (Gupta, Medini, Shrivastava, Smola, KDD 2022).

PyTorch port of the official code (github gaurav16gupta/BLISS, ``src/train.py``, ``src/query.py``)
with every knob of the BLISSNet report (``01-bliss-bias-report.txt``) as a parameter, plus the
options of the fixed BLISS studied in notebook 01.

The method, per repetition ``r = 1..R`` (all repetitions are trained at once, as a batch of ``R``
independent networks):

1. every gallery item starts in a bucket (official code: a random hash of its id);
2. a one-hidden-layer network ``x -> relu(x W1 + b1) W2 + b2`` (``B`` logits) is trained with
   per-bucket sigmoid cross-entropy: bucket ``b`` is a positive label of point ``i`` when one of
   ``i``'s ``P`` true nearest neighbours (``i`` itself included, as in the official ground truth)
   currently sits in ``b``;
3. every ``epochs_per_balance`` epochs every item is re-assigned greedily, in order, to the least
   loaded of its top-``K`` predicted buckets (the power-of-K-choices rule), the loads being counted
   from zero during the pass;
4. a query takes the top-``M`` buckets of each repetition, counts how often each gallery item
   occurs in the union (frequency), keeps items seen at least ``min_freq`` times (and at most the
   ``n_rerank`` most frequent ones), and re-ranks them by the exact similarity.

Report variants: ``rebalance="k_least_loaded"`` (the top-predicted bucket among the K least
loaded), ``init="kaiming"``, ``loss="triplet"`` and ``distance="mse"|"cosine"``.

Options of the fixed BLISS (see :func:`zsl_lib.index.bliss_fixed.fixed_bliss_params`):
``assign_init="kmeans"|"faiss_kmeans"|"balanced_random"`` (start from a partition whose buckets already carry
neighbourhood information), ``capacity`` (a hard load cap, ``capacity * N / B``, inside the
greedy pass: when all top-K buckets are full the item goes to its best-ranked bucket with room)
and ``load_penalty`` (subtract ``lambda * (load / mean_load - 1)`` from the logits before ranking).

Reproducibility: a fit is bit-identical across processes, hash seeds and thread counts on one
machine (``tests/test_bliss_determinism.py``); ``loss="triplet"`` fits amplify last-bit float
differences (one float32 ulp on the inputs moves ~20-50% of the assignments), so another CPU / BLAS
kernel can give them different numbers, while cross-entropy and the fixed BLISS do not move.

Public methods take and return numpy arrays; torch stays inside.
"""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp
import torch
import torch.nn.functional as F
from sklearn.base import BaseEstimator

from ..config import resolve_device
from ..validation import (
    check_choice,
    check_fitted,
    check_float,
    check_int,
    check_matrix,
    l2_normalize,
)
from .bliss_balance import REBALANCE_RULES, greedy_assign
from .bliss_query import frequent_candidates, frequent_topk, padded_ids, stacked_lists

__all__ = [
    "BLISS",
    "greedy_assign",
    "true_neighbors",
    "REBALANCE_RULES",
    "INITS",
    "LOSSES",
    "DISTANCES",
    "ASSIGN_INITS",
]

INITS = ("default", "kaiming", "official")
LOSSES = ("cross_entropy", "triplet")
DISTANCES = ("mse", "cosine")
ASSIGN_INITS = ("random", "balanced_random", "kmeans", "faiss_kmeans")
FITTED = "the index was fitted on"


# ----------------------------------------------------------------------------------------------
# exact neighbours (training targets)
# ----------------------------------------------------------------------------------------------
def true_neighbors(X: np.ndarray, n_neighbors: int, distance: str = "mse", chunk: int = 2048,
                   rows: np.ndarray | None = None) -> np.ndarray:
    """Indices of the ``n_neighbors`` nearest points of ``X`` for every row of ``X`` listed in
    ``rows`` (default: all), the row itself first.

    ``X`` float (n, d); ``distance`` ``"mse"`` (squared Euclidean) or ``"cosine"``; ``rows`` int
    (m,) distinct row numbers. Returns int64 (m, n_neighbors), sorted from nearest. Exact, computed
    with FAISS in chunks.
    """
    X = check_matrix("X", X)
    check_choice("distance", distance, DISTANCES)
    n_neighbors = check_int("n_neighbors", n_neighbors)
    if n_neighbors > X.shape[0]:
        raise ValueError(f"n_neighbors={n_neighbors} is larger than the number of points {X.shape[0]}")
    rows = np.arange(X.shape[0]) if rows is None else np.asarray(rows, dtype=np.int64)
    if rows.ndim != 1 or (rows.size and (rows.min() < 0 or rows.max() >= X.shape[0])) or len(np.unique(rows)) != len(rows):
        raise ValueError(f"rows must be distinct row numbers of X in 0..{X.shape[0] - 1}")
    return _neighbors(l2_normalize(X) if distance == "cosine" else X, n_neighbors, distance, rows, chunk)


def _neighbors(Y: np.ndarray, n_neighbors: int, distance: str, rows: np.ndarray, chunk: int = 2048) -> np.ndarray:
    """:func:`true_neighbors` of checked inputs, ``Y`` already normalised for ``"cosine"``."""
    import faiss  # noqa: PLC0415

    Y = np.ascontiguousarray(Y, dtype=np.float32)
    index = faiss.IndexFlatIP(Y.shape[1]) if distance == "cosine" else faiss.IndexFlatL2(Y.shape[1])
    index.add(Y)
    m = min(n_neighbors + 1, Y.shape[0])
    ids = np.empty((len(rows), m), dtype=np.int64)
    for s in range(0, len(rows), chunk):
        _, ids[s : s + chunk] = index.search(Y[rows[s : s + chunk]], m)
    # The point itself first (also when exact duplicates tie with it), then the others in order.
    others = np.take_along_axis(ids, np.argsort(ids == rows[:, None], axis=1, kind="stable"), axis=1)
    return np.hstack([rows[:, None], others[:, : n_neighbors - 1]]).astype(np.int64)


# ----------------------------------------------------------------------------------------------
# the index
# ----------------------------------------------------------------------------------------------
@dataclass
class BlissHistory:
    """Per-epoch training history (lists indexed by epoch, 0 = before training).

    ``loss`` mean training loss over the epoch (summed over repetitions / R); ``logit_norm`` mean
    L2 norm of an item's logit vector; ``logit_var`` mean variance of an item's logits across
    buckets; ``loads`` int (R, B) bucket loads after the epoch; ``topk_counts`` int (R, B) how many
    items have bucket b among their top-K predictions; ``target_counts`` int (R, B) how many items
    have bucket b as a positive training label; ``topk_sets`` int (R,) how many distinct sets of
    top-K buckets the items have (1: every item ranks the same K buckets first) (the logit statistics and
    these three on at most 4096 evenly spaced training items); ``reassigned`` whether loads changed by a
    re-assignment at the end of that epoch.
    """

    loss: list = field(default_factory=list)
    logit_norm: list = field(default_factory=list)
    logit_var: list = field(default_factory=list)
    loads: list = field(default_factory=list)
    topk_counts: list = field(default_factory=list)
    target_counts: list = field(default_factory=list)
    topk_sets: list = field(default_factory=list)
    reassigned: list = field(default_factory=list)

    def as_dict(self) -> dict:
        return {
            "loss": np.asarray(self.loss, dtype=np.float64),
            "logit_norm": np.asarray(self.logit_norm, dtype=np.float64),
            "logit_var": np.asarray(self.logit_var, dtype=np.float64),
            "loads": np.asarray(self.loads, dtype=np.int64),
            "topk_counts": np.asarray(self.topk_counts, dtype=np.int64),
            "target_counts": np.asarray(self.target_counts, dtype=np.int64),
            "topk_sets": np.asarray(self.topk_sets, dtype=np.int64),
            "reassigned": np.asarray(self.reassigned, dtype=bool),
        }


class BLISS(BaseEstimator):
    """BLISS bucket index (scikit-learn-like): ``fit(X)``, ``predict(X)``, ``candidates``, ``search``.

    Parameters (report names in brackets)
    ----------
    n_buckets [B]: buckets per repetition. n_repetitions [R]: independent partitions.
    k_choices [K]: the power-of-K-choices parameter of the re-assignment.
    n_probe [M]: buckets probed per repetition at query time.
    epochs [T]: training epochs. epochs_per_balance [EPOCHS_PER_LOAD_BALANCE]: re-assign every so
    many epochs (also after the last epoch if it is a multiple).
    batch_size [BATCH_SIZE]. n_neighbors [P]: true neighbours (the point included) whose buckets
    are the positive labels. n_rerank [Q]: at most this many candidates (the most frequent) are
    re-ranked at query time (None: all). min_freq: keep candidates seen in at least this many
    of the R*M probed buckets (official ``mf``).
    distance: ``"mse"`` (squared Euclidean) or ``"cosine"``: the metric of the true neighbours and
    of the re-ranking.
    rebalance: ``"least_loaded_of_topk"`` (BLISS) or ``"k_least_loaded"`` (report's variant).
    init: network initialisation, ``"default"`` (PyTorch ``nn.Linear``), ``"kaiming"`` (He normal,
    zero biases) or ``"official"`` (truncated normal, std 0.05, as in the official TF code).
    loss: ``"cross_entropy"`` (per-bucket sigmoid BCE) or ``"triplet"`` (margin loss on the logit
    vectors of the point, one of its true neighbours and a random point).
    hidden_dim: width of the hidden layer. lr: Adam learning rate. triplet_margin.
    assign_init: initial partition, ``"random"`` (official hash: uniform random bucket),
    ``"balanced_random"``, ``"kmeans"`` (scikit-learn k-means++ then Lloyd on the data, a different
    seed per repetition) or ``"faiss_kmeans"`` (FAISS's k-means, the one the IVF baseline trains:
    random start, about 4x faster than scikit-learn's on CIFAR-10 features).
    kmeans_iter: Lloyd iterations of the k-means starts (FAISS's IVF trains its quantizer with 10).
    train_size: the networks (and the k-means starts) train on this many gallery items drawn at
    random, an int, or this fraction of them, a float in (0, 1]; their true neighbours are still
    searched among all items, and every item is assigned. None: all. The official code trains on
    10^6 items drawn from galleries larger than that (``dataPrepare.py``); on a small gallery a
    sample cuts the exact neighbour graph, the largest part of the build.
    record_history: log the per-epoch statistics of :class:`BlissHistory` (notebook 01's figures);
    False leaves ``history_`` empty and saves their cost (a forward pass and a few sorts per epoch).
    capacity, load_penalty: see :func:`greedy_assign` (None / 0 = official BLISS).
    balance_chunk: items per chunk of the greedy pass (None: ``max(1, n // 256)``;
    1 = the official sequential loop).
    standardize: z-score the inputs of the network (the partition is learned on standardised
    inputs; neighbours and re-ranking use the raw ``distance``).
    random_state: seed of everything (init, batches, partitions). progress: tqdm bar.
    device: torch device of the networks (``"auto"``: CUDA, then MPS, then CPU, see
    :func:`zsl_lib.config.resolve_device`); random draws stay on the CPU generator, so the batches
    and starts do not depend on the device.

    Attributes after ``fit``: ``assignments_`` int64 (R, n); ``history_`` (:class:`BlissHistory`);
    ``loads_`` int64 (R, B); ``train_rows_`` int64 (m,) the training items (sorted);
    ``neighbors_`` int64 (m, P) their true neighbours; ``fit_seconds_``; ``device_`` (the resolved
    device).
    """

    def __init__(
        self,
        n_buckets: int = 20,
        n_repetitions: int = 4,
        k_choices: int = 4,
        n_probe: int = 4,
        epochs: int = 60,
        epochs_per_balance: int = 2,
        batch_size: int = 8,
        n_neighbors: int = 8,
        n_rerank: int | None = 8,
        min_freq: int = 1,
        distance: str = "mse",
        rebalance: str = "least_loaded_of_topk",
        init: str = "default",
        loss: str = "cross_entropy",
        hidden_dim: int = 64,
        lr: float = 1e-3,
        triplet_margin: float = 1.0,
        assign_init: str = "random",
        capacity: float | None = None,
        load_penalty: float = 0.0,
        balance_chunk: int | None = None,
        standardize: bool = False,
        random_state: int | None = 0,
        progress: bool = False,
        device: str = "auto",
        kmeans_iter: int = 50,
        train_size: int | None = None,
        record_history: bool = True,
    ):
        self.n_buckets = n_buckets
        self.n_repetitions = n_repetitions
        self.k_choices = k_choices
        self.n_probe = n_probe
        self.epochs = epochs
        self.epochs_per_balance = epochs_per_balance
        self.batch_size = batch_size
        self.n_neighbors = n_neighbors
        self.n_rerank = n_rerank
        self.min_freq = min_freq
        self.distance = distance
        self.rebalance = rebalance
        self.init = init
        self.loss = loss
        self.hidden_dim = hidden_dim
        self.lr = lr
        self.triplet_margin = triplet_margin
        self.assign_init = assign_init
        self.capacity = capacity
        self.load_penalty = load_penalty
        self.balance_chunk = balance_chunk
        self.standardize = standardize
        self.random_state = random_state
        self.progress = progress
        self.device = device
        self.kmeans_iter = kmeans_iter
        self.train_size = train_size
        self.record_history = record_history

    # -- parameters ------------------------------------------------------------------------
    def set_params(self, **params) -> BLISS:
        """scikit-learn's ``set_params``, with a message that lists the valid names."""
        valid = self.get_params(deep=False)
        for k in params:
            if k not in valid:
                raise ValueError(f"unknown BLISS parameter {k!r}; valid parameters: {sorted(valid)}")
        return super().set_params(**params)

    def _validate(self, n: int) -> None:
        for name in ("n_buckets", "n_repetitions", "k_choices", "n_probe", "epochs_per_balance", "batch_size", "n_neighbors", "hidden_dim", "min_freq", "kmeans_iter"):
            check_int(name, getattr(self, name))
        check_int("epochs", self.epochs, minimum=0)
        check_choice("distance", self.distance, DISTANCES)
        check_choice("rebalance", self.rebalance, REBALANCE_RULES)
        check_choice("init", self.init, INITS)
        check_choice("loss", self.loss, LOSSES)
        check_choice("assign_init", self.assign_init, ASSIGN_INITS)
        if self.k_choices > self.n_buckets:
            raise ValueError(f"k_choices={self.k_choices} must not exceed n_buckets={self.n_buckets}")
        if self.n_probe > self.n_buckets:
            raise ValueError(f"n_probe={self.n_probe} must not exceed n_buckets={self.n_buckets}")
        if self.n_neighbors > n:
            raise ValueError(f"n_neighbors={self.n_neighbors} is larger than the {n} fitted points; lower it")
        if self.n_buckets > n:
            raise ValueError(f"n_buckets={self.n_buckets} is larger than the {n} fitted points; lower it")
        if self.loss == "triplet" and self.n_neighbors < 2:
            raise ValueError("loss='triplet' needs n_neighbors >= 2 (the point itself plus at least one neighbour)")
        if self.n_rerank is not None:
            check_int("n_rerank", self.n_rerank)
        m = self._train_count(n)
        if m < self.n_buckets:
            raise ValueError(f"train_size={self.train_size!r} gives {m} training items, fewer than the n_buckets="
                             f"{self.n_buckets} starts of k-means; raise it or use None (all items)")
        if not isinstance(self.record_history, bool):
            raise ValueError(f"record_history must be True or False; got {self.record_history!r}")
        if self.capacity is not None and not (isinstance(self.capacity, (int, float)) and self.capacity >= 1.0):
            raise ValueError(f"capacity must be None or a float >= 1.0 (a multiple of the mean load); got {self.capacity!r}")

    def _train_count(self, n: int) -> int:
        """Number of training items of a gallery of ``n`` (see ``train_size``)."""
        t = self.train_size
        if t is None:
            return n
        if isinstance(t, (float, np.floating)):
            return max(1, round(check_float("train_size", t, 0.0, 1.0, low_open=True) * n))
        return min(check_int("train_size", t), n)

    # -- network ---------------------------------------------------------------------------
    def _init_params(self, d: int, gen: torch.Generator) -> list[torch.Tensor]:
        R, H, B = self.n_repetitions, self.hidden_dim, self.n_buckets
        if self.init == "default":  # nn.Linear: U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for W and b
            a1, a2 = 1 / np.sqrt(d), 1 / np.sqrt(H)
            W1 = (torch.rand(R, d, H, generator=gen) * 2 - 1) * a1
            b1 = (torch.rand(R, H, generator=gen) * 2 - 1) * a1
            W2 = (torch.rand(R, H, B, generator=gen) * 2 - 1) * a2
            b2 = (torch.rand(R, B, generator=gen) * 2 - 1) * a2
        elif self.init == "kaiming":  # He normal (fan_in, relu), zero biases
            W1 = torch.randn(R, d, H, generator=gen) * np.sqrt(2.0 / d)
            b1 = torch.zeros(R, H)
            W2 = torch.randn(R, H, B, generator=gen) * np.sqrt(2.0 / H)
            b2 = torch.zeros(R, B)
        else:  # official: truncated normal std 0.05 for weights and biases

            def tn(*shape):
                t = torch.empty(*shape)
                return torch.nn.init.trunc_normal_(t, std=0.05, a=-0.1, b=0.1, generator=gen)

            W1, b1, W2, b2 = tn(R, d, H), tn(R, H), tn(R, H, B), tn(R, B)
        return [p.float().to(self.device_).requires_grad_(True) for p in (W1, b1, W2, b2)]

    @staticmethod
    def _forward(params, x: torch.Tensor) -> torch.Tensor:
        """x (R, b, d) -> logits (R, b, B)."""
        W1, b1, W2, b2 = params
        h = torch.relu(torch.bmm(x, W1) + b1[:, None, :])
        return torch.bmm(h, W2) + b2[:, None, :]

    def _logits_all(self, Xt: torch.Tensor, chunk: int = 8192) -> torch.Tensor:
        """Xt (n, d) -> logits (R, n, B) for every repetition."""
        R = self.n_repetitions
        outs = []
        with torch.no_grad():
            for s in range(0, Xt.shape[0], chunk):
                x = Xt[s : s + chunk].unsqueeze(0).expand(R, -1, -1)
                outs.append(self._forward(self._params, x))
        return torch.cat(outs, dim=1)

    def _prep(self, X: np.ndarray) -> torch.Tensor:
        Z = (X - self._mu) / self._sd if self.standardize else X
        return torch.from_numpy(np.ascontiguousarray(Z, dtype=np.float32)).to(self.device_)

    # -- fitting ---------------------------------------------------------------------------
    def _initial_assignments(self, Z: np.ndarray, rows: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Start partition int64 (R, n) of the items ``Z`` (normalised for ``"cosine"``); the k-means
        starts are fitted on the training ``rows``."""
        R, B, n = self.n_repetitions, self.n_buckets, Z.shape[0]
        sample = len(rows) < n
        if self.assign_init == "random":
            return rng.integers(0, B, size=(R, n)).astype(np.int64)
        if self.assign_init == "balanced_random":
            return np.stack([rng.permutation(np.arange(n) % B) for _ in range(R)]).astype(np.int64)
        seeds = rng.integers(0, 2**31 - 1, size=R)
        if self.assign_init == "faiss_kmeans":  # FAISS's Lloyd (the IVF baseline's), random start
            import faiss  # noqa: PLC0415

            Zf = np.ascontiguousarray(Z, dtype=np.float32)
            out = []
            Zs = np.ascontiguousarray(Zf[rows]) if sample else Zf
            for s in seeds:
                km = faiss.Kmeans(Zf.shape[1], B, niter=self.kmeans_iter, seed=int(s),
                                max_points_per_centroid=n, min_points_per_centroid=1)
                km.train(Zs)
                out.append(km.index.search(Zf, 1)[1][:, 0])
            return np.stack(out).astype(np.int64)
        from sklearn.cluster import KMeans  # noqa: PLC0415

        kms = [KMeans(B, n_init=1, max_iter=self.kmeans_iter, random_state=int(s)) for s in seeds]
        return np.stack([km.fit(Z[rows]).predict(Z) if sample else km.fit_predict(Z) for km in kms]).astype(np.int64)

    def fit(self, X, y=None) -> BLISS:
        """Train the R networks and partition ``X`` float (n, d). Returns self."""
        X = check_matrix("X", X)
        n, d = X.shape
        self._validate(n)
        R, B, K = self.n_repetitions, self.n_buckets, self.k_choices
        t0 = time.perf_counter()
        self.device_ = resolve_device(self.device)
        rng = np.random.default_rng(self.random_state)
        gen = torch.Generator().manual_seed(int(rng.integers(0, 2**31 - 1)))
        self._mu = X.mean(0, keepdims=True)
        self._sd = X.std(0, keepdims=True) + 1e-6
        self.X_ = X
        self.Xn_ = l2_normalize(X) if self.distance == "cosine" else X
        self.d_ = self.n_features_in_ = d
        m = self._train_count(n)
        rows = np.arange(n) if m == n else np.sort(rng.choice(n, m, replace=False))
        nbrs = _neighbors(self.Xn_, self.n_neighbors, self.distance, rows)  # (m, P), self first
        self.train_rows_, self.neighbors_ = rows, nbrs
        assign = self._initial_assignments(self.Xn_, rows, rng)
        Xt = self._prep(X)
        Xtr = Xt if m == n else Xt[torch.from_numpy(rows).to(self.device_)]  # the training items
        nbrs_t = torch.from_numpy(nbrs).to(self.device_)
        self._params = self._init_params(d, gen)
        opt = torch.optim.Adam(self._params, lr=self.lr)
        chunk = self.greedy_chunk(n)
        hist = BlissHistory()
        self._log_epoch(hist, Xtr, assign, float("nan"), False)
        steps = max(1, m // self.batch_size)
        it = range(1, self.epochs + 1)
        if self.progress:
            from tqdm.auto import tqdm  # noqa: PLC0415

            it = tqdm(it, desc="BLISS epochs")
        r_ar = torch.arange(R, device=self.device_)[:, None, None]
        for epoch in it:
            assign_t = torch.from_numpy(assign).to(self.device_)
            perm = torch.stack([torch.randperm(m, generator=gen) for _ in range(R)]).to(self.device_)  # (R, m)
            tot = 0.0
            for j in range(steps):
                idx = perm[:, j * self.batch_size : (j + 1) * self.batch_size]  # (R, b) training rows
                x = Xtr[idx]  # (R, b, d)
                logits = self._forward(self._params, x)
                if self.loss == "cross_entropy":
                    nb = nbrs_t[idx]  # (R, b, P)
                    bk = assign_t[r_ar, nb]  # (R, b, P) bucket of each neighbour
                    target = torch.zeros_like(logits).scatter_(2, bk, 1.0)
                    loss = F.binary_cross_entropy_with_logits(logits, target, reduction="none").mean(dim=(1, 2)).sum()
                else:
                    pick = torch.randint(1, self.n_neighbors, idx.shape, generator=gen).to(self.device_)
                    pos = torch.gather(nbrs_t[idx], 2, pick[..., None])[..., 0]
                    neg = torch.randint(0, n, idx.shape, generator=gen).to(self.device_)
                    lp = self._forward(self._params, Xt[pos])
                    ln = self._forward(self._params, Xt[neg])
                    loss = F.triplet_margin_loss(
                        logits.reshape(-1, B), lp.reshape(-1, B), ln.reshape(-1, B), margin=self.triplet_margin, reduction="none"
                    ).reshape(R, -1).mean(1).sum()
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                tot += float(loss.detach()) / R
            reassign = epoch % self.epochs_per_balance == 0
            if reassign:
                scores = self._logits_all(Xt).cpu().numpy()
                order = np.arange(n)
                assign = greedy_assign(scores, K, self.rebalance, self.capacity, self.load_penalty, chunk, order)
            self._log_epoch(hist, Xtr, assign, tot / steps, reassign)
        self.assignments_ = assign
        self.history_ = hist
        self._build_lists()
        self.fit_seconds_ = time.perf_counter() - t0
        return self

    def _log_epoch(self, hist: BlissHistory, Xtr: torch.Tensor, assign: np.ndarray, loss: float, reassigned: bool) -> None:
        """Append the statistics of one epoch, on at most 4096 of the training items ``Xtr``."""
        if not self.record_history:
            return
        R, B, K, n = self.n_repetitions, self.n_buckets, self.k_choices, Xtr.shape[0]
        sub = np.arange(0, n, int(np.ceil(n / 4096)))  # statistics on at most 4096 items
        lg = self._logits_all(Xtr[sub])  # (R, m, B)
        hist.loss.append(loss)
        hist.logit_norm.append(float(lg.norm(dim=2).mean()))
        hist.logit_var.append(float(lg.var(dim=2).mean()))
        hist.loads.append(np.stack([np.bincount(a, minlength=B) for a in assign]))
        top = torch.topk(lg, K, dim=2).indices.cpu().numpy()  # (R, m, K)
        hist.topk_counts.append(np.stack([np.bincount(t.ravel(), minlength=B) for t in top]))
        hist.topk_sets.append([len(np.unique(np.sort(t, axis=1), axis=0)) for t in top])
        tb = assign[np.arange(R)[:, None, None], self.neighbors_[sub][None]]  # (R, m, P)
        onehot = np.zeros((R, len(sub), B), dtype=bool)
        np.put_along_axis(onehot, tb, True, axis=2)
        hist.target_counts.append(onehot.sum(1))
        hist.reassigned.append(reassigned)

    def _build_lists(self) -> None:
        """Inverted lists of all repetitions, stacked (see :mod:`zsl_lib.index.bliss_query`)."""
        B = self.n_buckets
        self._lists = stacked_lists(self.assignments_, B)
        self.loads_ = np.stack([np.bincount(a, minlength=B) for a in self.assignments_])
        self._Xf = np.ascontiguousarray(self.Xn_ if self.distance == "cosine" else self.X_, dtype=np.float32)

    # -- a gallery assigned apart from the fit (zsl_lib.index.ondisk) ----------------------------
    def greedy_chunk(self, n: int) -> int:
        """Items per chunk of the greedy pass over a gallery of ``n`` items (``balance_chunk``)."""
        return self.balance_chunk or max(1, n // 256)

    def scorer(self) -> BLISS:
        """A light copy of the fitted model that computes ``decision_function`` only (the networks
        and the standardisation; no gallery, lists or history): what a shard task needs."""
        self._check_fitted()
        out = copy.copy(self)
        for name in ("X_", "Xn_", "_Xf", "_lists", "neighbors_", "history_", "assignments_", "train_rows_"):
            out.__dict__.pop(name, None)
        out.assignments_ = np.zeros((self.n_repetitions, 0), dtype=np.int64)  # marks it fitted
        out._params = [p.detach().cpu() for p in self._params]
        out.device_ = "cpu"
        return out

    def set_gallery(self, X, assignments) -> BLISS:
        """Search ``X`` float (n, d) with the given bucket ``assignments`` int64 (R, n) (e.g. a
        store assigned shard by shard with this model's networks) instead of the fitted gallery."""
        self._check_fitted()
        X = check_matrix("X", X, dim=self.d_, fitted=FITTED)
        A = np.asarray(assignments)
        if A.shape != (self.n_repetitions, X.shape[0]) or A.min(initial=0) < 0 or A.max(initial=0) >= self.n_buckets:
            raise ValueError(f"assignments must be int (R, n) = {(self.n_repetitions, X.shape[0])} bucket ids in "
                             f"[0, {self.n_buckets}); got shape {A.shape}")
        self.X_ = X
        self.Xn_ = l2_normalize(X) if self.distance == "cosine" else X
        self.assignments_ = A.astype(np.int64)
        self._build_lists()
        return self

    # -- inference -------------------------------------------------------------------------
    def _check_fitted(self) -> None:
        check_fitted(self, "assignments_", "fit(X)")

    def decision_function(self, X) -> np.ndarray:
        """Logits float32 (R, n, B) of every repetition's network for the rows of ``X`` (n, d)."""
        self._check_fitted()
        X = check_matrix("X", X, dim=self.d_, fitted=FITTED)
        return self._logits_all(self._prep(X)).cpu().numpy()

    def predict(self, X) -> np.ndarray:
        """Top-1 predicted bucket int64 (n, R) of every row of ``X`` (n, d), per repetition."""
        return self.decision_function(X).argmax(2).T.astype(np.int64)

    def _check_m(self, m: int | None) -> int:
        """Buckets probed per repetition: ``m``, or ``n_probe`` when None; at most ``n_buckets``."""
        m = self.n_probe if m is None else check_int("m", m)
        if m > self.n_buckets:
            raise ValueError(f"m={m} must not exceed n_buckets={self.n_buckets}")
        return m

    def top_buckets(self, X, m: int | None = None) -> np.ndarray:
        """Top-``m`` (default ``n_probe``) buckets int64 (n, R, m), best first."""
        m = self._check_m(m)
        lg = torch.from_numpy(self.decision_function(X))
        return torch.topk(lg, m, dim=2).indices.permute(1, 0, 2).numpy().astype(np.int64)

    def candidate_counts(self, Q, m: int | None = None) -> sp.csr_matrix:
        """Frequency of every gallery item among the top-``m`` buckets of all repetitions.

        Returns a CSR matrix int32 (nq, n): entry (q, i) = in how many of the R*m probed buckets
        item i sits (0 entries are absent).
        """
        indptr, ids, freq = self._frequent(Q, m, 1)
        C = sp.csr_matrix((freq, ids, indptr), shape=(len(indptr) - 1, self.assignments_.shape[1]))
        C.sort_indices()
        return C

    def _probes(self, Q, m: int | None) -> np.ndarray:
        """Stacked list numbers int64 (nq, R*m) of each query's top-``m`` buckets per repetition,
        in no particular order (a partial sort: the count does not need the ranking)."""
        m = self._check_m(m)
        lg = self.decision_function(Q)  # (R, nq, B)
        tb = np.argpartition(-lg, m - 1, axis=2)[:, :, :m] if m < self.n_buckets else np.broadcast_to(
            np.arange(self.n_buckets), lg.shape)
        tb = tb + self.n_buckets * np.arange(lg.shape[0])[:, None, None]  # (R, nq, m) stacked ids
        return np.ascontiguousarray(tb.transpose(1, 0, 2).reshape(lg.shape[1], -1), dtype=np.int64)

    def _frequent(self, Q, m: int | None, min_freq: int):
        return frequent_candidates(self._probes(Q, m), *self._lists, self.assignments_.shape[1], min_freq)

    def candidates(self, Q, m: int | None = None, min_freq: int | None = None, n_rerank: int | None = -1):
        """Gallery ids each query scans: ``(indptr int64 (nq+1,), indices int64 (nnz,))``.

        Items in at least ``min_freq`` (default ``self.min_freq``) of the R*m probed buckets; if
        ``n_rerank`` (default ``self.n_rerank``; None = all) is set, only the ``n_rerank`` most
        frequent (ties: lower id) per query. Within a query, ids are in no particular order, or
        sorted by decreasing frequency then increasing id when ``n_rerank`` is set.
        """
        min_freq = self.min_freq if min_freq is None else check_int("min_freq", min_freq)
        n_rerank = self.n_rerank if n_rerank == -1 else n_rerank
        indptr, cols, freq = self._frequent(Q, m, min_freq)
        nq = len(indptr) - 1
        if n_rerank is None:
            return indptr, cols
        rows = np.repeat(np.arange(nq), np.diff(indptr))
        order = np.lexsort((cols, -freq, rows))
        rows, cols = rows[order], cols[order]
        start = np.searchsorted(rows, np.arange(nq))
        k = (np.arange(len(rows)) - start[rows]) < n_rerank
        rows, cols = rows[k], cols[k]
        indptr = np.zeros(nq + 1, dtype=np.int64)
        np.cumsum(np.bincount(rows, minlength=nq), out=indptr[1:])
        return indptr, cols

    def search(self, Q, k: int, m: int | None = None, min_freq: int | None = None, n_rerank: int | None = -1):
        """k nearest gallery items among the candidates, by cosine (``distance="cosine"``) or by
        negative squared distance (``"mse"``).

        Returns ``(scores float32 (nq, k), ids int64 (nq, k))``, padded with -inf / -1.
        """
        self._check_fitted()
        k = check_int("k", k)
        Q = check_matrix("Q", Q, dim=self.d_, fitted=FITTED)
        if (self.n_rerank if n_rerank == -1 else n_rerank) is None:  # every candidate: one fused pass
            min_freq = self.min_freq if min_freq is None else check_int("min_freq", min_freq)
            cosine = self.distance == "cosine"
            Qf = l2_normalize(Q) if cosine else Q
            return frequent_topk(self._probes(Q, m), *self._lists, Qf, self._Xf, min_freq, k, "ip" if cosine else "l2")
        indptr, idx = self.candidates(Q, m, min_freq, n_rerank)
        return self._rerank(Q, indptr, idx, k)

    def _rerank(self, Q: np.ndarray, indptr: np.ndarray, idx: np.ndarray, k: int):
        """Exact top-k of each query among its CSR candidates, with FAISS's compiled subset scan
        (``knn_inner_products_by_idx`` / ``knn_L2sqr_by_idx`` on the candidates padded with -1),
        then the k kept sorted by (descending score, ascending id). Scores: cosine, or the
        negative squared distance."""
        import faiss  # noqa: PLC0415

        nq = Q.shape[0]
        out_s = np.full((nq, k), -np.inf, dtype=np.float32)
        out_i = np.full((nq, k), -1, dtype=np.int64)
        width = int(np.diff(indptr).max(initial=0))
        if width == 0:
            return out_s, out_i
        cosine = self.distance == "cosine"
        Qf = np.ascontiguousarray(l2_normalize(Q) if cosine else Q, dtype=np.float32)
        Xf = self._Xf
        kk = min(k, width)
        step = max(1, (1 << 24) // width)  # queries per block: at most 16M padded ids
        for q0 in range(0, nq, step):
            q1 = min(nq, q0 + step)
            ids = padded_ids(indptr[q0 : q1 + 1] - indptr[q0], idx[indptr[q0] : indptr[q1]], width)
            D = np.empty((q1 - q0, kk), dtype=np.float32)
            I = np.empty((q1 - q0, kk), dtype=np.int64)  # noqa: E741
            fn = faiss.knn_inner_products_by_idx if cosine else faiss.knn_L2sqr_by_idx
            fn(faiss.swig_ptr(Qf[q0:q1]), faiss.swig_ptr(Xf), faiss.swig_ptr(ids), Xf.shape[1], q1 - q0, Xf.shape[0],
               width, kk, faiss.swig_ptr(D), faiss.swig_ptr(I), width)  # explicit row stride
            D = D if cosine else -D
            D = np.where(I >= 0, D, -np.inf).astype(np.float32)
            order = np.lexsort((np.where(I >= 0, I, np.iinfo(np.int64).max), -D), axis=1)
            D, I = np.take_along_axis(D, order, axis=1), np.take_along_axis(I, order, axis=1)  # noqa: E741
            out_s[q0:q1, :kk], out_i[q0:q1, :kk] = D, I
        return out_s, out_i

    def nearest_neighbor(self, Q) -> np.ndarray:
        """Id int64 (nq,) of the best candidate of each query (-1 if none)."""
        return self.search(Q, 1)[1][:, 0]
