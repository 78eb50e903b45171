"""The mapping F of Xu, Shu & Samaras fine-tuned with the Gaussian similarity loss (eq. 5-9,
Kenyon-Dean et al. 2019): :class:`GaussianSimilarityMapping`, a scikit-learn transformer, and the
loss itself. Used before the CVAE (:mod:`zsl_lib.zeroshot.cvae`) and alone for few-shot (Table 5).
"""

from __future__ import annotations

import numpy as np
import torch
from sklearn.base import BaseEstimator, TransformerMixin
from torch import nn
from torch.nn import functional as F

from ..config import resolve_device
from ..validation import check_choice, check_fitted, check_float, check_labels, check_matrix
from .torch_training import progress_bar, seed_from, shuffled_batches, torch_seed

_FITTED = "the model was fitted on"  # completes check_matrix's dimension-mismatch message


def gaussian_similarity_logits(H: torch.Tensor, W: torch.Tensor, gamma: float) -> torch.Tensor:
    """Eq. 7: ``s(h, w_k) = -gamma ||h - w_k||^2`` for every row of H (n, p) and W (K, p)."""
    d2 = (H * H).sum(1, keepdim=True) - 2.0 * H @ W.T + (W * W).sum(1)[None, :]
    return -gamma * d2.clamp_min(0.0)


def gaussian_similarity_loss(H, W, y, gamma: float):
    """Eq. 8, averaged over the batch: cross-entropy with Gaussian similarities as logits.

    Accepts numpy arrays (returns a float) or torch tensors (returns a differentiable tensor).
    H (n, p) features, W (K, p) class centres, y (n,) indices into W.
    """
    as_numpy = not isinstance(H, torch.Tensor)
    if as_numpy:
        H, W = torch.as_tensor(np.asarray(H, np.float64)), torch.as_tensor(np.asarray(W, np.float64))
        y = torch.as_tensor(np.asarray(y, np.int64))
    loss = F.cross_entropy(gaussian_similarity_logits(H, W, gamma), y)
    return float(loss) if as_numpy else loss


class GaussianSimilarityMapping(TransformerMixin, BaseEstimator):
    """Mapping F fine-tuned with the Gaussian similarity loss (eq. 9): ``min L_GAU(F(x), W')``.

    F is one fully connected layer ``x -> x A^T + b`` (optionally followed by ``activation``);
    with ``init="identity"`` (and ``out_dim`` equal to the input size) it starts as the identity,
    so training *fine-tunes* the given features, and the class centres W' start at the class
    means. The paper does not give F's architecture; this is the simplest faithful choice.

    Parameters
    ----------
    out_dim : output size (default: input size).
    gamma : the free parameter of the Gaussian similarity (eq. 7). Its effect depends on the
        feature scale (squared distances); scale features first.
    epochs, batch_size, lr : Adam training (betas 0.9, 0.999).
    init : ``"identity"`` or ``"random"`` (PyTorch default initialisation).
    activation : ``"none"``, ``"relu"``, ``"leaky_relu"`` or ``"sigmoid"`` after the linear layer.
    random_state : int / RandomState / None, for reproducible training.
    progress : show a tqdm progress bar.

    Attributes
    ----------
    classes_ : int64 (K,) training classes; centers_ : float32 (K, out_dim) W';
    history_ : list of mean training loss per epoch.
    """

    def __init__(
        self,
        out_dim: int | None = None,
        gamma: float = 1.0,
        epochs: int = 20,
        batch_size: int = 256,
        lr: float = 1e-3,
        init: str = "identity",
        activation: str = "none",
        random_state=None,
        progress: bool = True,
        device: str = "auto",
    ):
        self.device = device
        self.out_dim = out_dim
        self.gamma = gamma
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.init = init
        self.activation = activation
        self.random_state = random_state
        self.progress = progress

    def _module(self, d: int) -> nn.Module:
        acts = {"none": nn.Identity, "relu": nn.ReLU, "leaky_relu": nn.LeakyReLU, "sigmoid": nn.Sigmoid}
        check_choice("activation", self.activation, sorted(acts))
        check_choice("init", self.init, ("identity", "random"))
        out = d if self.out_dim is None else int(self.out_dim)
        lin = nn.Linear(d, out)
        if self.init == "identity":
            if out != d:
                raise ValueError(
                    f"init='identity' needs out_dim equal to the input size {d}, got {out}; "
                    "use init='random' for a different output size"
                )
            with torch.no_grad():
                lin.weight.copy_(torch.eye(d))
                lin.bias.zero_()
        return nn.Sequential(lin, acts[self.activation]())

    def fit(self, X, y) -> GaussianSimilarityMapping:
        """Train F and W' on features X float (n, d) with labels y int (n,)."""
        X = check_matrix("X", X)
        if y is None:
            raise ValueError("GaussianSimilarityMapping requires y to be passed, but the target y is None: "
                             "the loss pulls each class towards its centre")
        y = check_labels("y", y, n=X.shape[0])
        check_float("gamma", self.gamma, low=0, low_open=True)
        self.classes_, yi = np.unique(y, return_inverse=True)
        if len(self.classes_) < 2:
            raise ValueError(f"got {len(self.classes_)} class; the Gaussian similarity loss needs at least 2 classes")
        seed = seed_from(self.random_state)
        gen = torch.Generator().manual_seed(seed)
        Xt, yt = torch.from_numpy(X), torch.from_numpy(yi.astype(np.int64))
        with torch_seed(seed):
            self.module_ = self._module(X.shape[1])
        with torch.no_grad():
            H0 = self.module_(Xt)
            counts = torch.bincount(yt, minlength=len(self.classes_)).clamp_min(1)[:, None]
            centers = torch.zeros(len(self.classes_), H0.shape[1]).index_add_(0, yt, H0) / counts
        dev = resolve_device(self.device)
        self.module_.to(dev)
        Xt, yt = Xt.to(dev), yt.to(dev)
        self.centers_param_ = nn.Parameter(centers.to(dev))
        opt = torch.optim.Adam(
            list(self.module_.parameters()) + [self.centers_param_], lr=self.lr, betas=(0.9, 0.999)
        )
        self.history_ = []
        bar = progress_bar(range(self.epochs), self.progress, "Gaussian similarity F")
        for _ in bar:
            total = 0.0
            for idx in shuffled_batches(len(Xt), self.batch_size, gen):
                idx = idx.to(dev)
                loss = gaussian_similarity_loss(self.module_(Xt[idx]), self.centers_param_, yt[idx], self.gamma)
                opt.zero_grad()
                loss.backward()
                opt.step()
                total += loss.item() * len(idx)
            self.history_.append(total / len(Xt))
            bar.set_postfix(loss=f"{self.history_[-1]:.3f}")
        self.module_.eval().cpu()  # inference (transform) runs on the CPU
        self.centers_ = self.centers_param_.detach().cpu().numpy().copy()
        self.n_features_in_ = X.shape[1]
        return self

    def transform(self, X) -> np.ndarray:
        """F(X): float32 (n, out_dim)."""
        check_fitted(self, "module_", "fit(X, y)")
        X = check_matrix("X", X, dim=self.n_features_in_, fitted=_FITTED)
        with torch.no_grad():
            return self.module_(torch.from_numpy(X)).numpy()

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.required = True  # supervised: the loss pulls each class to its centre
        tags.transformer_tags.preserves_dtype = ["float32"]
        return tags
