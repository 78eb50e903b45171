"""The parts of the clusterable-features CVAE (Xu, Shu & Samaras): input checks of a generative
ZSL model, the feature scaler, the encoder / decoder networks, the loss terms of one batch and the
within-class variance the ``synth_spread="match"`` option measures. The estimator that trains them
is :class:`zsl_lib.zeroshot.cvae.ClusterableCVAE`.
"""

from __future__ import annotations

import numpy as np
from sklearn.preprocessing import MinMaxScaler, StandardScaler
from torch import nn
from torch.nn import functional as F

from ..validation import check_choice, check_labels, check_matrix, l2_normalize

FEATURE_SCALINGS = ("none", "minmax", "standard", "l2")


def check_zsl_inputs(X, y, semantics, unseen_classes=None):
    """Validate training inputs of a generative ZSL model; returns cleaned arrays.

    Parameters
    ----------
    X : float (n, d) seen-class training features (finite).
    y : int (n,) global class ids in ``[0, n_classes)``.
    semantics : float (n_classes, a) one semantic vector per class (all seen and unseen classes).
    unseen_classes : optional int array of class ids with no training sample; default: every row
        of ``semantics`` absent from ``y``.

    Returns
    -------
    X float32 (n, d), y int64 (n,), semantics float32 (n_classes, a), seen int64, unseen int64.
    """
    X = check_matrix("X", X)
    S = check_matrix("semantics", semantics)
    y = check_labels("y", y, n=X.shape[0])
    if not np.issubdtype(y.dtype, np.integer):
        raise ValueError(f"y must hold integer class ids, got dtype {y.dtype}")
    y = y.astype(np.int64)
    if y.min() < 0 or y.max() >= S.shape[0]:
        raise ValueError(
            f"semantics has {S.shape[0]} rows (classes) but the labels range over "
            f"[{y.min()}, {y.max()}]: pass one semantic row per class, indexed by the class id"
        )
    seen = np.unique(y)
    if unseen_classes is None:
        unseen = np.setdiff1d(np.arange(S.shape[0]), seen)
    else:
        unseen = np.unique(np.asarray(unseen_classes, dtype=np.int64))
        if unseen.size and (unseen.min() < 0 or unseen.max() >= S.shape[0]):
            raise ValueError(
                f"unseen_classes must be class ids in [0, {S.shape[0]}) (rows of semantics), "
                f"got range [{unseen.min()}, {unseen.max()}]"
            )
        overlap = np.intersect1d(seen, unseen)
        if overlap.size:
            raise ValueError(
                f"unseen classes {overlap[:10].tolist()} also occur in the training labels y; "
                "unseen classes must have no training sample (check the seen/unseen split)"
            )
    if unseen.size == 0:
        raise ValueError("no unseen class: semantics has no row outside the training labels")
    return X, y, S, seen, unseen


class FeatureScaler:
    """Per-feature scaling fitted on training features (``minmax`` keeps ReLU-decodable [0, 1])."""

    def __init__(self, kind: str):
        self.kind = check_choice("feature_scaling", kind, FEATURE_SCALINGS)

    def fit(self, X):
        if self.kind == "minmax":
            self.scaler_ = MinMaxScaler().fit(X)
        elif self.kind == "standard":
            self.scaler_ = StandardScaler().fit(X)
        return self

    def transform(self, X):
        if self.kind in ("minmax", "standard"):
            return self.scaler_.transform(X).astype(np.float32)
        if self.kind == "l2":
            return l2_normalize(X)
        return X.astype(np.float32)




class Encoder(nn.Module):
    def __init__(self, in_dim, hidden, latent):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(in_dim, hidden), nn.LeakyReLU(0.2))
        self.mu = nn.Linear(hidden, latent)
        self.logvar = nn.Linear(hidden, latent)

    def forward(self, x):
        h = self.net(x)
        return self.mu(h), self.logvar(h)


def decoder(in_dim, hidden, out_dim, output_activation):
    acts = {"relu": nn.ReLU, "sigmoid": nn.Sigmoid, "none": nn.Identity}
    check_choice("output_activation", output_activation, sorted(acts))
    return nn.Sequential(
        nn.Linear(in_dim, hidden), nn.LeakyReLU(0.2), nn.Linear(hidden, out_dim), acts[output_activation]()
    )




def within_class_variance(X, y) -> np.ndarray:
    """Per-dimension variance of ``X`` (n, p) around its class means (labels ``y``), pooled
    over all samples: float64 (p,)."""
    X = np.asarray(X, dtype=np.float64)
    _, inv, counts = np.unique(y, return_inverse=True, return_counts=True)
    means = np.zeros((len(counts), X.shape[1]))
    np.add.at(means, inv, X)
    means /= counts[:, None]
    return ((X - means[inv]) ** 2).mean(0)


def cvae_loss_terms(target, recon_x, mu, logvar, classifier=None, projected=None, labels=None) -> dict:
    """The loss terms of one training batch of :class:`ClusterableCVAE` (torch tensors in and out).

    * ``"recon"``: squared error summed over feature dimensions, averaged over the batch,
      ``mean_i sum_j (recon_x - target)^2`` (``-log p_G`` of eq. 1 / 11 up to constants);
    * ``"kl"``: ``KL(N(mu, exp(logvar)) || N(0, I))`` summed over latent dimensions, averaged
      over the batch, ``mean_i -0.5 sum_j (1 + logvar - mu^2 - exp(logvar))``;
    * with ``classifier`` (the softmax classifier C, a module giving logits), ``projected`` (the
      mapped features x' = M(x)) and ``labels`` (seen-class indices): ``"cls"``, the mean
      cross-entropy of C on x' (eq. 2), and ``"cls_rec"``, that of C on ``recon_x`` (eq. 3).

    target, recon_x (n, p); mu, logvar (n, latent). The training objective (eq. 4) is
    ``recon + kl_weight * kl + lambda_cls * cls + lambda_cls_rec * cls_rec``.
    """
    terms = {
        "recon": ((recon_x - target) ** 2).sum(1).mean(),
        "kl": (-0.5 * (1 + logvar - mu**2 - logvar.exp()).sum(1)).mean(),
    }
    if classifier is not None:
        terms["cls"] = F.cross_entropy(classifier(projected), labels)
        terms["cls_rec"] = F.cross_entropy(classifier(recon_x), labels)
    return terms
