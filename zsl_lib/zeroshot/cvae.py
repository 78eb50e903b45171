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

The parts live beside this module: :mod:`.cvae_networks` (input checks, scaler, networks, loss
terms), :mod:`.gaussian_mapping` (F and the Gaussian similarity loss) and :mod:`.torch_training`
(seeding, batches, the final softmax classifier); their public names stay importable from here.
"""

from __future__ import annotations

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClassifierMixin, TransformerMixin
from sklearn.utils import check_random_state
from torch import nn

from ..config import resolve_device
from ..validation import check_choice, check_fitted, check_float, check_int, check_matrix
from .cvae_networks import (
    Encoder,
    FeatureScaler,
    check_zsl_inputs,
    cvae_loss_terms,
    decoder,
    within_class_variance,
)
from .gaussian_mapping import (
    GaussianSimilarityMapping,
    gaussian_similarity_logits,
    gaussian_similarity_loss,
)
from .torch_training import (
    SoftmaxScores,
    progress_bar,
    seed_from,
    shuffled_batches,
    torch_seed,
    train_softmax,
)

__all__ = [
    "ABLATION_VARIANTS",
    "ClusterableCVAE",
    "GaussianSimilarityMapping",
    "check_zsl_inputs",
    "cvae_loss_terms",
    "gaussian_similarity_logits",
    "gaussian_similarity_loss",
    "train_softmax",
    "within_class_variance",
]

#: keyword settings of :class:`ClusterableCVAE` for each ablation variant (results keys).
ABLATION_VARIANTS: dict[str, dict] = {
    "na": {"use_mapping": False, "use_gaussian": False, "noise_alpha": 0.0},
    "cls": {"use_mapping": True, "use_gaussian": False, "noise_alpha": 0.0},
    "cls_gaussian": {"use_mapping": True, "use_gaussian": True, "noise_alpha": 0.0},
    "cls_gaussian_noise": {"use_mapping": True, "use_gaussian": True},  # alpha from the config
}


_FITTED = "the model was fitted on"  # completes check_matrix's dimension-mismatch message


# ----------------------------------------------------------------------------- the estimator


class ClusterableCVAE(ClassifierMixin, TransformerMixin, BaseEstimator):
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
        check_fitted(self, "decoder_", "fit(X, y, semantics)")

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

        self.scaler_ = FeatureScaler(self.feature_scaling).fit(X)
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
        with torch_seed(seed):
            self.mapping_ = (
                nn.Sequential(nn.Linear(Xf.shape[1], self.projection_dim), nn.Sigmoid())
                if self.use_mapping else None
            )
            self.cls_ = nn.Linear(self.projection_dim, len(self.seen_classes_)) if self.use_mapping else None
            enc_in = feat_dim + (a if self.encoder_conditioning else 0)
            self.encoder_ = Encoder(enc_in, self.hidden_size, latent)
            self.decoder_ = decoder(latent + a, self.hidden_size, feat_dim, self.output_activation)
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
        bar = progress_bar(range(self.epochs), self.progress, "CVAE" + (" + M" if self.use_mapping else ""))
        for _ in bar:
            sums = dict.fromkeys(self.history_, 0.0)
            for idx in shuffled_batches(len(Xt), self.batch_size, gen):
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
        self.zsl_classifier_ = SoftmaxScores(W, b, self.unseen_classes_)
        all_classes = np.union1d(self.seen_classes_, self.unseen_classes_)
        Xg = np.concatenate([Xseen, Xu])
        yg = np.searchsorted(all_classes, np.concatenate([y, yu]))
        weight = None
        if self.gzsl_balance == "class":
            weight = 1.0 / np.bincount(yg, minlength=len(all_classes))[yg]
        W, b = train_softmax(Xg, yg, len(all_classes), random_state=rng, progress=self.progress,
                             sample_weight=weight, **kw)
        self.gzsl_classifier_ = SoftmaxScores(W, b, all_classes)

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
        gen = torch.Generator().manual_seed(seed_from(random_state))
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
