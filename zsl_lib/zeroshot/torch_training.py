"""Training helpers shared by the CVAE model and the Gaussian similarity mapping (torch inside,
numpy outside): seeding torch without touching the caller's RNG, shuffled mini-batches drawn on
the CPU, progress bars, and the final softmax classifier (:func:`train_softmax`).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

import numpy as np
import torch
from sklearn.utils import check_random_state
from torch import nn
from torch.nn import functional as F
from tqdm.auto import tqdm

from ..config import resolve_device
from ..validation import check_matrix


@contextlib.contextmanager
def torch_seed(seed: int):
    """Seed torch's global RNG inside the block without changing it for the caller."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        yield


def seed_from(random_state) -> int:
    return int(check_random_state(random_state).randint(0, 2**31 - 1))



def shuffled_batches(n: int, batch_size: int, gen: torch.Generator):
    perm = torch.randperm(n, generator=gen)
    return torch.split(perm, batch_size)


def progress_bar(iterable, enabled: bool, desc: str):
    return tqdm(iterable, desc=desc, leave=False, disable=not enabled)


def train_softmax(
    X, y, n_classes: int, *, epochs=30, lr=1e-3, batch_size=256, weight_decay=0.0, random_state=None,
    progress=False, sample_weight=None, device: str = "auto",
) -> tuple[np.ndarray, np.ndarray]:
    """Multinomial logistic regression by Adam on cross-entropy (the final softmax classifier).

    X float (n, p), y int (n,) in ``[0, n_classes)``. ``sample_weight`` (n,) weights each sample's
    loss (normalised by the batch's weight sum); None weighs all alike. ``device``: torch device
    (:func:`~zsl_lib.config.resolve_device`); batches and initialisation are drawn on the CPU, so
    the CPU result does not depend on it. Returns ``(W (n_classes, p), b (n_classes,))``;
    predictions are ``argmax(X W^T + b)``.
    """
    dev = resolve_device(device)
    X = torch.from_numpy(check_matrix("X", X)).to(dev)
    y = torch.from_numpy(np.asarray(y, dtype=np.int64)).to(dev)
    w = None if sample_weight is None else torch.from_numpy(np.asarray(sample_weight, dtype=np.float32)).to(dev)
    seed = seed_from(random_state)
    gen = torch.Generator().manual_seed(seed)
    with torch_seed(seed):
        lin = nn.Linear(X.shape[1], n_classes)
    lin.to(dev)
    opt = torch.optim.Adam(lin.parameters(), lr=lr, betas=(0.9, 0.999), weight_decay=weight_decay)
    for _ in progress_bar(range(epochs), progress, "softmax classifier"):
        for idx in shuffled_batches(len(X), batch_size, gen):
            idx = idx.to(dev)
            if w is None:
                loss = F.cross_entropy(lin(X[idx]), y[idx])
            else:
                loss = (F.cross_entropy(lin(X[idx]), y[idx], reduction="none") * w[idx]).sum() / w[idx].sum()
            opt.zero_grad()
            loss.backward()
            opt.step()
    return lin.weight.detach().cpu().numpy().copy(), lin.bias.detach().cpu().numpy().copy()


@dataclass
class SoftmaxScores:
    W: np.ndarray
    b: np.ndarray
    classes: np.ndarray

    def decision_function(self, X):
        return X @ self.W.T + self.b

    def predict(self, X):
        return self.classes[np.argmax(self.decision_function(X), axis=1)]
