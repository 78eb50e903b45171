"""Clusterable visual features for zero-shot recognition (Xu, Shu & Samaras).

The method, every part switchable for the ablation of Table 4 / Fig. 4:

* a conditional VAE feature generator (Mishra et al. 2018): encoder E and decoder G are MLPs with
  one hidden layer (paper: 4096 units), LeakyReLU hidden / ReLU output activations, latent size =
  semantic vector size; trained with eq. 1 (reconstruction + KL);
* a mapping M (one fully connected layer + sigmoid) that projects the visual features into a
  clusterable space, supervised by a softmax classifier C on the projected features (eq. 2) and by
  the same C on the CVAE reconstructions (eq. 3); objective eq. 4 with
  ``lambda_cls = 1``, ``lambda_cls' = 0.1``; Adam, lr 1e-3, betas (0.9, 0.999);
* a mapping F fine-tuned with the Gaussian similarity loss (eq. 5-9, Kenyon-Dean et al. 2019)
  before the CVAE (:class:`GaussianSimilarityMapping`, also used alone for few-shot, Table 5);
* Gaussian noise on the projected features that the decoder reconstructs (eq. 10-11, ``alpha``
  0.2 for CUB/SUN, 1.0 for AWA2);
* a final softmax classifier trained on synthesised unseen features (ZSL) or on synthesised unseen
  plus real projected seen features (GZSL); test features are projected with F and M.

Ablation variants (paper names): ``NA`` = ``use_mapping=False, use_gaussian=False,
noise_alpha=0``; ``CLS`` = ``use_mapping=True``; ``CLS + Gaussian`` = ``use_gaussian=True``;
``+ noise`` = ``noise_alpha > 0`` (see :data:`ABLATION_VARIANTS`).

Public functions take and return numpy arrays; torch stays inside.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

import numpy as np
import torch
from sklearn.preprocessing import MinMaxScaler, StandardScaler
from sklearn.utils import check_random_state
from torch import nn
from torch.nn import functional as F
from tqdm.auto import tqdm

from ..config import resolve_device
from ..validation import (
    check_choice,
    check_float,
    check_int,
    check_labels,
    check_matrix,
    l2_normalize,
)

#: keyword settings of :class:`ClusterableCVAE` for each ablation variant (results keys).
ABLATION_VARIANTS: dict[str, dict] = {
    "na": {"use_mapping": False, "use_gaussian": False, "noise_alpha": 0.0},
    "cls": {"use_mapping": True, "use_gaussian": False, "noise_alpha": 0.0},
    "cls_gaussian": {"use_mapping": True, "use_gaussian": True, "noise_alpha": 0.0},
    "cls_gaussian_noise": {"use_mapping": True, "use_gaussian": True},  # alpha from the config
}

_SCALINGS = ("none", "minmax", "standard", "l2")
_FITTED = "the model was fitted on"  # completes check_matrix's dimension-mismatch message


# ----------------------------------------------------------------------------- validation


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


@contextlib.contextmanager
def _torch_seed(seed: int):
    """Seed torch's global RNG inside the block without changing it for the caller."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        yield


def _seed_from(random_state) -> int:
    return int(check_random_state(random_state).randint(0, 2**31 - 1))


class _FeatureScaler:
    """Per-feature scaling fitted on training features (``minmax`` keeps ReLU-decodable [0, 1])."""

    def __init__(self, kind: str):
        self.kind = check_choice("feature_scaling", kind, _SCALINGS)

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


def _batches(n: int, batch_size: int, gen: torch.Generator):
    perm = torch.randperm(n, generator=gen)
    return torch.split(perm, batch_size)


def _progress(iterable, enabled: bool, desc: str):
    return tqdm(iterable, desc=desc, leave=False, disable=not enabled)


# ----------------------------------------------------------------------------- Gaussian loss


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


class GaussianSimilarityMapping:
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
        y = check_labels("y", y, n=X.shape[0])
        check_float("gamma", self.gamma, low=0, low_open=True)
        self.classes_, yi = np.unique(y, return_inverse=True)
        if len(self.classes_) < 2:
            raise ValueError("the Gaussian similarity loss needs at least 2 classes")
        seed = _seed_from(self.random_state)
        gen = torch.Generator().manual_seed(seed)
        Xt, yt = torch.from_numpy(X), torch.from_numpy(yi.astype(np.int64))
        with _torch_seed(seed):
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
        bar = _progress(range(self.epochs), self.progress, "Gaussian similarity F")
        for _ in bar:
            total = 0.0
            for idx in _batches(len(Xt), self.batch_size, gen):
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
        if not hasattr(self, "module_"):
            raise RuntimeError("GaussianSimilarityMapping is not fitted; call fit(X, y) first")
        X = check_matrix("X", X, dim=self.n_features_in_, fitted=_FITTED)
        with torch.no_grad():
            return self.module_(torch.from_numpy(X)).numpy()

    def fit_transform(self, X, y) -> np.ndarray:
        return self.fit(X, y).transform(X)


# ----------------------------------------------------------------------------- networks


class _Encoder(nn.Module):
    def __init__(self, in_dim, hidden, latent):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(in_dim, hidden), nn.LeakyReLU(0.2))
        self.mu = nn.Linear(hidden, latent)
        self.logvar = nn.Linear(hidden, latent)

    def forward(self, x):
        h = self.net(x)
        return self.mu(h), self.logvar(h)


def _decoder(in_dim, hidden, out_dim, output_activation):
    acts = {"relu": nn.ReLU, "sigmoid": nn.Sigmoid, "none": nn.Identity}
    check_choice("output_activation", output_activation, sorted(acts))
    return nn.Sequential(
        nn.Linear(in_dim, hidden), nn.LeakyReLU(0.2), nn.Linear(hidden, out_dim), acts[output_activation]()
    )


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
    seed = _seed_from(random_state)
    gen = torch.Generator().manual_seed(seed)
    with _torch_seed(seed):
        lin = nn.Linear(X.shape[1], n_classes)
    lin.to(dev)
    opt = torch.optim.Adam(lin.parameters(), lr=lr, betas=(0.9, 0.999), weight_decay=weight_decay)
    for _ in _progress(range(epochs), progress, "softmax classifier"):
        for idx in _batches(len(X), batch_size, gen):
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
class _Softmax:
    W: np.ndarray
    b: np.ndarray
    classes: np.ndarray

    def decision_function(self, X):
        return X @ self.W.T + self.b

    def predict(self, X):
        return self.classes[np.argmax(self.decision_function(X), axis=1)]


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


# ----------------------------------------------------------------------------- the estimator


class ClusterableCVAE:
    """CVAE feature generator with clusterable features (Xu, Shu & Samaras), scikit-learn style.

    Parameters
    ----------
    hidden_size : hidden units of E and G (paper: 4096).
    projection_dim : output size of M (paper: 512 for CUB/SUN, 2048 for AWA2).
    latent_dim : CVAE latent size (default and paper: the semantic vector size).
    use_mapping : learn M + C (eq. 2-4); False gives the plain CVAE ("NA").
    use_gaussian : fine-tune F with the Gaussian similarity loss before the CVAE (eq. 9).
    noise_alpha : ``alpha`` of eq. 10 (0 disables the noise).
    lambda_cls, lambda_cls_rec : weights of eq. 2 and eq. 3 in eq. 4 (paper 1 and 0.1).
    kl_weight : weight of the KL term of eq. 1 (paper: 1).
    recon_grad_to_mapping : let the CVAE loss (eq. 1) back-propagate into M, as a literal
        reading of eq. 4 (min over theta_M of all terms). Default False: M is trained by the
        classification losses only, because with the gradient the reconstruction term drives M
        to an almost constant output (measured: projected features collapse to std ~0.04 and C
        stops learning); the CVAE then models the projected features as given.
    epochs, batch_size, lr, betas : joint training of E, G, M, C with Adam (paper: lr 1e-3,
        betas (0.9, 0.999)); epochs and batch size are not given in the paper.
    encoder_conditioning : the encoder also sees the semantic vector (CVAE of Mishra et al.).
    output_activation : decoder output activation (paper: ``"relu"``).
    feature_scaling : ``"minmax"`` (default; per-feature to [0, 1] on the training features, as
        in common ZSL code), ``"standard"``, ``"l2"`` or ``"none"``; applied before F and M.
    semantic_scaling : ``"none"`` (paper: attributes as given), ``"center"`` or ``"standard"``
        (per dimension over all classes' semantic rows). Text embeddings of class names share a
        large common component; standardising lets the decoder see the class differences.
    gaussian_gamma, gaussian_dim, gaussian_epochs, gaussian_lr, gaussian_init : settings of
        :class:`GaussianSimilarityMapping`.
    n_synth_per_class : synthesised features per unseen class for the final classifier.
    synth_spread : ``"model"`` (default: features are ``G(z, a)`` as the CVAE gives them) or
        ``"match"``: add to each synthesised feature Gaussian noise with, per dimension, the
        within-class variance the generator misses on the *seen* classes (real projected seen
        features' within-class variance minus that of synthesised seen features, clipped at 0),
        so the synthesised classes are as spread as real ones (:attr:`spread_noise_std_`).
    gzsl_balance : ``"none"`` (every training sample of the GZSL classifier weighs 1) or
        ``"class"`` (each class's samples weigh ``1 / its count``: every seen and unseen class
        carries the same total weight).
    clf_epochs, clf_lr, clf_batch_size, clf_weight_decay : the final softmax classifier.
    random_state : int / RandomState / None. progress : tqdm bars.
    device : torch device for training (``"auto"``: CUDA, then MPS, then CPU; see
        :func:`~zsl_lib.config.resolve_device`). Random draws stay on the CPU, so CPU results do
        not depend on it; the fitted networks are moved to the CPU for inference.

    Attributes (after ``fit``)
    -------------------------
    seen_classes_, unseen_classes_ : int64 arrays of global class ids.
    history_ : dict of per-epoch mean losses (``"recon"``, ``"kl"``, ``"cls"``, ``"cls_rec"``).
    """

    def __init__(
        self,
        hidden_size: int = 4096,
        projection_dim: int = 512,
        latent_dim: int | None = None,
        use_mapping: bool = True,
        use_gaussian: bool = True,
        noise_alpha: float = 0.2,
        lambda_cls: float = 1.0,
        lambda_cls_rec: float = 0.1,
        kl_weight: float = 1.0,
        recon_grad_to_mapping: bool = False,
        epochs: int = 30,
        batch_size: int = 128,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        encoder_conditioning: bool = True,
        output_activation: str = "relu",
        feature_scaling: str = "minmax",
        semantic_scaling: str = "none",
        gaussian_gamma: float = 1.0,
        gaussian_dim: int | None = None,
        gaussian_epochs: int = 20,
        gaussian_lr: float = 1e-3,
        gaussian_init: str = "identity",
        n_synth_per_class: int = 200,
        clf_epochs: int = 30,
        clf_lr: float = 1e-3,
        clf_batch_size: int = 64,
        clf_weight_decay: float = 0.0,
        synth_spread: str = "model",
        gzsl_balance: str = "none",
        random_state=None,
        progress: bool = True,
        device: str = "auto",
    ):
        self.synth_spread = synth_spread
        self.gzsl_balance = gzsl_balance
        self.device = device
        self.hidden_size = hidden_size
        self.projection_dim = projection_dim
        self.latent_dim = latent_dim
        self.use_mapping = use_mapping
        self.use_gaussian = use_gaussian
        self.noise_alpha = noise_alpha
        self.lambda_cls = lambda_cls
        self.lambda_cls_rec = lambda_cls_rec
        self.kl_weight = kl_weight
        self.recon_grad_to_mapping = recon_grad_to_mapping
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.betas = betas
        self.encoder_conditioning = encoder_conditioning
        self.output_activation = output_activation
        self.feature_scaling = feature_scaling
        self.semantic_scaling = semantic_scaling
        self.gaussian_gamma = gaussian_gamma
        self.gaussian_dim = gaussian_dim
        self.gaussian_epochs = gaussian_epochs
        self.gaussian_lr = gaussian_lr
        self.gaussian_init = gaussian_init
        self.n_synth_per_class = n_synth_per_class
        self.clf_epochs = clf_epochs
        self.clf_lr = clf_lr
        self.clf_batch_size = clf_batch_size
        self.clf_weight_decay = clf_weight_decay
        self.random_state = random_state
        self.progress = progress

    # -- helpers ----------------------------------------------------------------------------

    def _check_params(self):
        for name in ("hidden_size", "projection_dim", "epochs", "batch_size", "n_synth_per_class"):
            check_int(name, getattr(self, name), minimum=1)
        for name in ("noise_alpha", "lambda_cls", "lambda_cls_rec", "kl_weight"):
            check_float(name, getattr(self, name), low=0)
        check_choice("semantic_scaling", self.semantic_scaling, ("none", "center", "standard"))
        check_choice("synth_spread", self.synth_spread, ("model", "match"))
        check_choice("gzsl_balance", self.gzsl_balance, ("none", "class"))

    def _check_fitted(self):
        if not hasattr(self, "decoder_"):
            raise RuntimeError("ClusterableCVAE is not fitted yet; call fit(X, y, semantics) first")

    def _pre(self, X: np.ndarray) -> np.ndarray:
        """Scaling and F: the input of M (or of the CVAE when there is no M)."""
        Xs = self.scaler_.transform(X)
        return self.gaussian_.transform(Xs) if self.gaussian_ is not None else Xs

    # -- fit --------------------------------------------------------------------------------

    def fit(self, X, y, semantics, unseen_classes=None) -> ClusterableCVAE:
        """Train on seen-class features and fit the final ZSL and GZSL classifiers.

        Parameters
        ----------
        X : float (n, d) training features of the seen classes.
        y : int (n,) global class ids (rows of ``semantics``).
        semantics : float (n_classes, a) semantic vectors (attributes or text embeddings) of every
            seen and unseen class.
        unseen_classes : int array of the unseen class ids (default: rows absent from ``y``).
        """
        self._check_params()
        X, y, S, seen, unseen = check_zsl_inputs(X, y, semantics, unseen_classes)
        self.seen_classes_, self.unseen_classes_ = seen, unseen
        if self.semantic_scaling != "none":
            S = S - S.mean(0, keepdims=True)
            if self.semantic_scaling == "standard":
                S = S / np.maximum(S.std(0, keepdims=True), 1e-8)
            S = S.astype(np.float32)
        self.semantics_ = S
        self.n_features_in_ = X.shape[1]
        rng = check_random_state(self.random_state)
        seed_net, seed_gau, seed_clf = (int(s) for s in rng.randint(0, 2**31 - 1, size=3))

        self.scaler_ = _FeatureScaler(self.feature_scaling).fit(X)
        Xs = self.scaler_.transform(X)
        self.gaussian_ = None
        if self.use_gaussian:
            self.gaussian_ = GaussianSimilarityMapping(
                out_dim=self.gaussian_dim, gamma=self.gaussian_gamma, epochs=self.gaussian_epochs,
                lr=self.gaussian_lr, init=self.gaussian_init, batch_size=256,
                random_state=seed_gau, progress=self.progress, device=self.device,
            ).fit(Xs, y)
            Xs = self.gaussian_.transform(Xs)
        self._train_generator(Xs, y, self.semantics_, seed_net)
        self._fit_classifiers(Xs, y, seed_clf)
        return self

    def _train_generator(self, Xf: np.ndarray, y: np.ndarray, S: np.ndarray, seed: int):
        a = S.shape[1]
        latent = a if self.latent_dim is None else int(self.latent_dim)
        feat_dim = self.projection_dim if self.use_mapping else Xf.shape[1]
        seen_index = np.searchsorted(self.seen_classes_, y)
        with _torch_seed(seed):
            self.mapping_ = (
                nn.Sequential(nn.Linear(Xf.shape[1], self.projection_dim), nn.Sigmoid())
                if self.use_mapping else None
            )
            self.cls_ = nn.Linear(self.projection_dim, len(self.seen_classes_)) if self.use_mapping else None
            enc_in = feat_dim + (a if self.encoder_conditioning else 0)
            self.encoder_ = _Encoder(enc_in, self.hidden_size, latent)
            self.decoder_ = _decoder(latent + a, self.hidden_size, feat_dim, self.output_activation)
        self.latent_dim_ = latent
        modules = [m for m in (self.mapping_, self.cls_, self.encoder_, self.decoder_) if m is not None]
        dev = resolve_device(self.device)
        for m in modules:
            m.to(dev)
        params = [p for m in modules for p in m.parameters()]
        opt = torch.optim.Adam(params, lr=self.lr, betas=tuple(self.betas))
        gen = torch.Generator().manual_seed(seed)  # every random draw on the CPU: device-independent
        Xt = torch.from_numpy(Xf).to(dev)
        yt = torch.from_numpy(seen_index.astype(np.int64)).to(dev)
        At = torch.from_numpy(S[y]).to(dev)
        self.history_ = {"recon": [], "kl": [], "cls": [], "cls_rec": []}
        bar = _progress(range(self.epochs), self.progress, "CVAE" + (" + M" if self.use_mapping else ""))
        for _ in bar:
            sums = dict.fromkeys(self.history_, 0.0)
            for idx in _batches(len(Xt), self.batch_size, gen):
                idx = idx.to(dev)
                x, lab, att = Xt[idx], yt[idx], At[idx]
                xp = self.mapping_(x) if self.use_mapping else x  # x' (eq. 2)
                # the CVAE sees x' without gradient into M unless recon_grad_to_mapping: with it,
                # L_CVAE pulls M towards a constant (trivially reconstructable) output
                xc = xp if (self.recon_grad_to_mapping or not self.use_mapping) else xp.detach()
                target = xc
                if self.noise_alpha > 0:  # eq. 10-11: the CVAE encodes and reconstructs x' + alpha eps
                    target = xc + self.noise_alpha * torch.randn(xc.shape, generator=gen).to(dev)
                enc_in = torch.cat([target, att], 1) if self.encoder_conditioning else target
                mu, logvar = self.encoder_(enc_in)
                z = mu + torch.exp(0.5 * logvar) * torch.randn(mu.shape, generator=gen).to(dev)
                xr = self.decoder_(torch.cat([z, att], 1))
                cls_args = (self.cls_, xp, lab) if self.use_mapping else ()  # C, x', labels
                terms = cvae_loss_terms(target, xr, mu, logvar, *cls_args)  # eq. 1-3
                recon, kl = terms["recon"], terms["kl"]
                loss = recon + self.kl_weight * kl
                if self.use_mapping:
                    l_cls, l_cls_rec = terms["cls"], terms["cls_rec"]
                    loss = loss + self.lambda_cls * l_cls + self.lambda_cls_rec * l_cls_rec  # eq. 4
                    sums["cls"] += l_cls.item() * len(idx)
                    sums["cls_rec"] += l_cls_rec.item() * len(idx)
                opt.zero_grad()
                loss.backward()
                opt.step()
                sums["recon"] += recon.item() * len(idx)
                sums["kl"] += kl.item() * len(idx)
            for k in self.history_:
                self.history_[k].append(sums[k] / len(Xt))
            bar.set_postfix(recon=f"{self.history_['recon'][-1]:.2f}", kl=f"{self.history_['kl'][-1]:.2f}")
        for m in modules:
            m.eval().cpu()  # inference (transform, generate) runs on the CPU

    def _fit_spread(self, Xseen: np.ndarray, y: np.ndarray, rng) -> None:
        """Per-dimension std of the noise that gives synthesised classes the real within-class
        variance, measured on the seen classes (``synth_spread="match"``; zeros otherwise)."""
        self.spread_noise_std_ = np.zeros(Xseen.shape[1], dtype=np.float32)
        if self.synth_spread != "match":
            return
        Xg, yg = self.generate(self.seen_classes_, self.n_synth_per_class, random_state=rng, spread=False)
        self.spread_noise_std_ = np.sqrt(np.maximum(
            within_class_variance(Xseen, y) - within_class_variance(Xg, yg), 0.0)).astype(np.float32)

    def _fit_classifiers(self, Xf: np.ndarray, y: np.ndarray, seed: int):
        rng = np.random.RandomState(seed)
        Xseen = self._project(Xf)
        self._fit_spread(Xseen, y, rng)
        Xu, yu = self.generate(self.unseen_classes_, self.n_synth_per_class, random_state=rng)
        kw = dict(epochs=self.clf_epochs, lr=self.clf_lr, batch_size=self.clf_batch_size,
                  weight_decay=self.clf_weight_decay, device=self.device)
        W, b = train_softmax(Xu, np.searchsorted(self.unseen_classes_, yu), len(self.unseen_classes_),
                             random_state=rng, progress=self.progress, **kw)
        self.zsl_classifier_ = _Softmax(W, b, self.unseen_classes_)
        all_classes = np.union1d(self.seen_classes_, self.unseen_classes_)
        Xg = np.concatenate([Xseen, Xu])
        yg = np.searchsorted(all_classes, np.concatenate([y, yu]))
        weight = None
        if self.gzsl_balance == "class":
            weight = 1.0 / np.bincount(yg, minlength=len(all_classes))[yg]
        W, b = train_softmax(Xg, yg, len(all_classes), random_state=rng, progress=self.progress,
                             sample_weight=weight, **kw)
        self.gzsl_classifier_ = _Softmax(W, b, all_classes)

    def _project(self, Xf: np.ndarray) -> np.ndarray:
        if self.mapping_ is None:
            return Xf.astype(np.float32)
        with torch.no_grad():
            return self.mapping_(torch.from_numpy(np.ascontiguousarray(Xf, dtype=np.float32))).numpy()

    # -- public API after fit ---------------------------------------------------------------

    def transform(self, X) -> np.ndarray:
        """Real features into the classification space: M(F(scale(X))), float32 (n, p)."""
        self._check_fitted()
        X = check_matrix("X", X, dim=self.n_features_in_, fitted=_FITTED)
        return self._project(self._pre(X))

    def generate(self, classes, n_per_class: int, random_state=None, spread: bool = True
                 ) -> tuple[np.ndarray, np.ndarray]:
        """Synthesise ``n_per_class`` features per class: ``G(z, a_c)``, ``z ~ N(0, I)`` (the
        prior), plus the spread noise of ``synth_spread="match"`` when ``spread``.

        Returns X float32 (len(classes) * n_per_class, p) in the classification space and the
        class ids y int64.
        """
        self._check_fitted()
        classes = np.asarray(classes, dtype=np.int64).ravel()
        if classes.size == 0 or classes.min() < 0 or classes.max() >= len(self.semantics_):
            raise ValueError(f"classes must be non-empty class ids in [0, {len(self.semantics_)})")
        y = np.repeat(classes, int(n_per_class))
        gen = torch.Generator().manual_seed(_seed_from(random_state))
        with torch.no_grad():
            z = torch.randn((len(y), self.latent_dim_), generator=gen)
            X = self.decoder_(torch.cat([z, torch.from_numpy(self.semantics_[y])], 1)).numpy()
            std = getattr(self, "spread_noise_std_", None)
            if spread and std is not None and std.any():
                X = X + (torch.from_numpy(std) * torch.randn(X.shape, generator=gen)).numpy()
        return X, y

    def decision_function(self, X, setting: str = "zsl") -> tuple[np.ndarray, np.ndarray]:
        """Scores of the final softmax classifier: ``(scores float (n, C), classes int64 (C,))``,
        column j scoring class ``classes[j]``. ``setting`` as in :meth:`predict`."""
        check_choice("setting", setting, ("zsl", "gzsl"))
        self._check_fitted()
        clf = self.zsl_classifier_ if setting == "zsl" else self.gzsl_classifier_
        return clf.decision_function(self.transform(X)), clf.classes

    def predict(self, X, setting: str = "zsl") -> np.ndarray:
        """Predicted class ids (n,). ``setting="zsl"``: among the unseen classes only;
        ``"gzsl"``: among all seen and unseen classes."""
        scores, classes = self.decision_function(X, setting)
        return classes[np.argmax(scores, axis=1)]
