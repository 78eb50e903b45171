"""A locked image -> text alignment ("LiT"-style stand-in for CLIP), trained with symmetric InfoNCE.

The text tower is frozen ("locked", Zhai et al. 2022): MiniLM sentence embeddings are the
targets. Only a small projection of the frozen image features is learned, with CLIP's symmetric
InfoNCE loss (Radford et al. 2021) and a learnable temperature::

    z_i = normalize(f(x_i)),  t_j = normalize(text_j),  logits = exp(s) * z @ t.T
    loss = (CE(logits, diag) + CE(logits.T, diag)) / 2

``f`` is linear by default (``hidden=0``): the fashion ``align`` split has only ~4,800 pairs, and
a linear head (1280*384 weights) is the standard locked-image probe; ``hidden=512`` gives a
1-hidden-layer MLP (GELU) for larger pair sets. Early stopping watches the InfoNCE loss on a
held-out part of the training pairs and restores the best epoch.

:func:`load_fashion_alignment` trains it on fashion-products ``align`` items (EfficientNet-Lite0
image features, MiniLM title embeddings; no class labels used) and caches the weights;
the encoder ``"lit-fashion"`` (image side = efficientnet-lite0 + this projection, text side =
minilm) is registered here.
"""

from __future__ import annotations

import copy
import json
import math
import re

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from zsl_lib import config
from zsl_lib.data.loaders import load_dataset
from zsl_lib.data.text import mask_words
from zsl_lib.fileio import atomic_write, hash_bytes

from .base import TRANSFORM_VERSION, Encoder, register_encoder
from .embedding import embed, embed_texts, get_encoder

ALIGN_VERSION = "1"


def _as_2d(x, what: str) -> np.ndarray:
    a = np.asarray(x, dtype=np.float32)
    if a.ndim != 2 or a.shape[0] == 0 or a.shape[1] == 0:
        raise ValueError(f"{what} must be a non-empty 2-D array (n, d), got shape {a.shape}")
    if not np.isfinite(a).all():
        raise ValueError(f"{what} contains NaN or inf values; clean or impute them first")
    return a


class _Head(nn.Module):
    def __init__(self, d_in: int, d_out: int, hidden: int):
        super().__init__()
        if hidden:
            self.net = nn.Sequential(nn.Linear(d_in, hidden), nn.GELU(), nn.Linear(hidden, d_out))
        else:
            self.net = nn.Linear(d_in, d_out)

    def forward(self, x):
        return self.net(x)


def info_nce(z: torch.Tensor, t: torch.Tensor, logit_scale: torch.Tensor) -> torch.Tensor:
    """Symmetric InfoNCE of L2-normalised pairs ``z[i] <-> t[i]`` (CLIP's loss)."""
    logits = logit_scale.exp() * z @ t.T
    target = torch.arange(len(z), device=z.device)
    return (F.cross_entropy(logits, target) + F.cross_entropy(logits.T, target)) / 2


class ImageTextAlignment:
    """Projection of frozen image features into a frozen text space, trained contrastively.

    Parameters
    ----------
    hidden : 0 for a linear projection (default), else the width of one hidden GELU layer.
    temperature : initial softmax temperature (learnable; CLIP's 0.07). Clamped to >= 0.01.
    lr, weight_decay : AdamW settings.
    batch_size : pairs per InfoNCE batch (the number of negatives + 1).
    max_epochs, patience : early stopping on the held-out InfoNCE loss.
    val_fraction : fraction of the pairs held out for early stopping (0 disables it).
    standardize : z-score the image features with the training mean/std before the projection.
    random_state : seed of the split, the initialisation and the batch order.
    progress : tqdm bar over epochs.

    Attributes (after ``fit``)
    --------------------------
    n_features_in_, n_features_out_, temperature_, best_epoch_, history_ (dict of lists
    ``train_loss``, ``val_loss``, ``val_recall_at_1``).
    """

    def __init__(self, hidden: int = 0, temperature: float = 0.07, lr: float = 1e-3,
                 weight_decay: float = 1e-4, batch_size: int = 256, max_epochs: int = 300,
                 patience: int = 15, val_fraction: float = 0.1, standardize: bool = True,
                 random_state: int = 0, progress: bool = True):
        self.hidden = hidden
        self.temperature = temperature
        self.lr = lr
        self.weight_decay = weight_decay
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.patience = patience
        self.val_fraction = val_fraction
        self.standardize = standardize
        self.random_state = random_state
        self.progress = progress

    def get_params(self) -> dict:
        keys = ["hidden", "temperature", "lr", "weight_decay", "batch_size", "max_epochs", "patience",
                "val_fraction", "standardize", "random_state"]
        return {k: getattr(self, k) for k in keys}

    # ------------------------------------------------------------------------------------------
    def fit(self, image_features, text_embeddings) -> ImageTextAlignment:
        """Train on pairs ``(image_features[i], text_embeddings[i])``.

        image_features : (n, d_img) float; text_embeddings : (n, d_txt) float (normalised here).
        """
        X = _as_2d(image_features, "image_features")
        T = _as_2d(text_embeddings, "text_embeddings")
        if len(X) != len(T):
            raise ValueError(f"image_features has {len(X)} rows but text_embeddings has {len(T)}: "
                             f"they must be row-aligned pairs")
        if len(X) < 4:
            raise ValueError(f"need at least 4 pairs to train a contrastive alignment, got {len(X)}")
        if not (0 <= self.val_fraction < 1):
            raise ValueError(f"val_fraction must be in [0, 1), got {self.val_fraction}")
        if self.hidden < 0 or self.batch_size < 2 or self.max_epochs < 1:
            raise ValueError("hidden must be >= 0, batch_size >= 2 and max_epochs >= 1")
        rng = np.random.default_rng(self.random_state)
        torch.manual_seed(self.random_state)
        n = len(X)
        perm = rng.permutation(n)
        n_val = int(round(self.val_fraction * n)) if self.val_fraction > 0 else 0
        n_val = min(n_val, n - 2)
        val_idx, tr_idx = perm[:n_val], perm[n_val:]
        self.mean_ = X[tr_idx].mean(0) if self.standardize else np.zeros(X.shape[1], np.float32)
        self.scale_ = (X[tr_idx].std(0) + 1e-6) if self.standardize else np.ones(X.shape[1], np.float32)
        Xs = torch.from_numpy((X - self.mean_) / self.scale_)
        Tn = F.normalize(torch.from_numpy(T), dim=1)
        head = _Head(X.shape[1], T.shape[1], self.hidden)
        logit_scale = nn.Parameter(torch.tensor(math.log(1.0 / self.temperature)))
        opt = torch.optim.AdamW([*head.parameters(), logit_scale], lr=self.lr, weight_decay=self.weight_decay)
        max_scale = math.log(100.0)
        hist = {"train_loss": [], "val_loss": [], "val_recall_at_1": []}
        best = (math.inf, -1, None, None)
        bad = 0
        g = torch.Generator().manual_seed(self.random_state)
        bs = min(self.batch_size, len(tr_idx))
        tr = torch.from_numpy(tr_idx)
        with tqdm(range(self.max_epochs), desc="align (InfoNCE)", unit="epoch", disable=not self.progress) as bar:
            for epoch in bar:
                head.train()
                order = tr[torch.randperm(len(tr), generator=g)]
                losses = []
                for s in range(0, len(order) - bs + 1, bs):  # drop the last incomplete batch
                    b = order[s:s + bs]
                    loss = info_nce(F.normalize(head(Xs[b]), dim=1), Tn[b], logit_scale)
                    opt.zero_grad()
                    loss.backward()
                    opt.step()
                    with torch.no_grad():
                        logit_scale.clamp_(0.0, max_scale)
                    losses.append(loss.item())
                hist["train_loss"].append(float(np.mean(losses)))
                if n_val >= 2:
                    vl, r1 = self._val(head, logit_scale, Xs[val_idx], Tn[val_idx], bs)
                    hist["val_loss"].append(vl)
                    hist["val_recall_at_1"].append(r1)
                    bar.set_postfix(train=f"{hist['train_loss'][-1]:.3f}", val=f"{vl:.3f}", r1=f"{r1:.2f}")
                    if vl < best[0] - 1e-4:
                        best = (vl, epoch, copy.deepcopy(head.state_dict()), logit_scale.item())
                        bad = 0
                    else:
                        bad += 1
                        if bad >= self.patience:
                            break
                else:
                    best = (hist["train_loss"][-1], epoch, copy.deepcopy(head.state_dict()), logit_scale.item())
        head.load_state_dict(best[2])
        head.eval()
        self._head = head
        self.best_epoch_ = int(best[1])
        self.logit_scale_ = float(best[3])
        self.temperature_ = float(math.exp(-best[3]))
        self.history_ = hist
        self.n_features_in_, self.n_features_out_ = X.shape[1], T.shape[1]
        return self

    @staticmethod
    def _val(head, logit_scale, Xv, Tv, bs) -> tuple[float, float]:
        head.eval()
        with torch.no_grad():
            z = F.normalize(head(Xv), dim=1)
            losses, weights = [], []
            for s in range(0, len(z), bs):  # same negatives per batch as in training
                if len(z) - s < 2:
                    break
                losses.append(info_nce(z[s:s + bs], Tv[s:s + bs], logit_scale).item())
                weights.append(len(z[s:s + bs]))
            r1 = float(((z @ Tv.T).argmax(1) == torch.arange(len(z))).float().mean())
        return float(np.average(losses, weights=weights)), r1

    def _check_fitted(self):
        if not hasattr(self, "_head"):
            raise RuntimeError("ImageTextAlignment is not fitted yet: call fit(image_features, text_embeddings) "
                               "or use load_fashion_alignment()")

    def transform(self, image_features) -> np.ndarray:
        """(n, d_img) image features -> float32 (n, d_txt) L2-normalised embeddings in the text space."""
        self._check_fitted()
        X = _as_2d(image_features, "image_features")
        if X.shape[1] != self.n_features_in_:
            raise ValueError(f"image_features have {X.shape[1]} dims, the alignment was fitted on "
                             f"{self.n_features_in_} (use the same image encoder)")
        with torch.no_grad():
            z = self._head(torch.from_numpy((X - self.mean_) / self.scale_))
            return F.normalize(z, dim=1).numpy().astype(np.float32)

    # ---- persistence (npz of arrays + json config) -------------------------------------------
    def save(self, path) -> None:
        """Write the fitted model to ``path`` (.npz) atomically."""
        self._check_fitted()
        arrays = {f"head.{k}": v.numpy() for k, v in self._head.state_dict().items()}
        arrays.update(mean_=self.mean_, scale_=self.scale_)
        meta = dict(self.get_params(), best_epoch_=self.best_epoch_, logit_scale_=self.logit_scale_,
                    n_features_in_=self.n_features_in_, n_features_out_=self.n_features_out_,
                    history_=self.history_)
        arrays["meta_json"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
        atomic_write(path, lambda fh: np.savez(fh, **arrays))

    @classmethod
    def load(cls, path) -> ImageTextAlignment:
        with np.load(path, allow_pickle=False) as z:
            meta = json.loads(z["meta_json"].tobytes().decode())
            params = {k: meta[k] for k in cls().get_params()}
            self = cls(**params, progress=False)
            head = _Head(meta["n_features_in_"], meta["n_features_out_"], meta["hidden"])
            head.load_state_dict({k[5:]: torch.from_numpy(z[k]) for k in z.files if k.startswith("head.")})
            self._head = head.eval()
            self.mean_, self.scale_ = z["mean_"], z["scale_"]
        for k in ["best_epoch_", "logit_scale_", "n_features_in_", "n_features_out_", "history_"]:
            setattr(self, k, meta[k])
        self.temperature_ = math.exp(-self.logit_scale_)
        return self


# ---- the fashion alignment ----------------------------------------------------------------------
def class_word_variants(class_names) -> list[str]:
    """Lower-case words to mask for the given class names: every word of 3+ letters, its singular
    (``shoes`` -> ``shoe``, ``watches`` -> ``watch``) and hyphen/space forms of ``Tshirts``."""
    out = set()
    for c in class_names:
        for w in re.findall(r"[A-Za-z]+", str(c).lower()):
            if len(w) < 3:
                continue
            out.add(w)
            if w.endswith("es") and len(w) > 4:
                out.add(w[:-2])
            if w.endswith("s") and len(w) > 3:
                out.add(w[:-1])
    for w in list(out):
        if w.startswith("t") and w[1:].startswith("shirt"):
            out.update({"t-" + w[1:], "t " + w[1:]})
    return sorted(out, key=len, reverse=True)


def mask_class_words(texts, class_names, replacement: str = "") -> list[str]:
    """Remove (case-insensitive, whole words) the class words of ``class_names`` from each text:
    :func:`zsl_lib.data.text.mask_words` over :func:`class_word_variants`.

    >>> mask_class_words(["Turtle Check Men Navy Blue Shirt"], ["Shirts"])
    ['Turtle Check Men Navy Blue']
    """
    return mask_words(texts, class_word_variants(class_names), replacement)


FASHION_IMAGE_ENCODER = "efficientnet-lite0"
FASHION_TEXT_ENCODER = "minilm"
_LOADED: dict[str, ImageTextAlignment] = {}


def _fashion_key(params: dict, mask: bool = False) -> tuple[str, object]:
    ds = load_dataset("fashion-products", split="align")
    key = json.dumps({
        "mask_class_words": bool(mask),
        "version": ALIGN_VERSION, "transform": TRANSFORM_VERSION, "dataset": ds.fingerprint, "n": len(ds),
        "image": get_encoder(FASHION_IMAGE_ENCODER).cache_key, "text": get_encoder(FASHION_TEXT_ENCODER).cache_key,
        "params": params, "torch": torch.__version__.split("+")[0],
    }, sort_keys=True)
    return hash_bytes(key.encode())[:16], ds


def load_fashion_alignment(progress: bool = True, mask_class_words: bool = False, device: str = "cpu",
                           **params) -> ImageTextAlignment:
    """The image -> MiniLM alignment trained on fashion-products ``align`` (image, title) pairs.

    ``mask_class_words=True`` trains on titles with every articleType word removed
    (:func:`mask_class_words`), so that the image side cannot simply learn the class word.

    ``params`` override :class:`ImageTextAlignment` defaults. The trained weights are cached in
    ``config.cache_dir()/models/lit-fashion-<hash>.npz`` keyed by the dataset fingerprint, both
    encoders' cache keys, the parameters and the code version; a cached model is loaded instead of
    retrained. Only ``align`` items are used (never ``eval``), and no class labels. ``device``: torch
    device of the feature extraction (image and text encoders); the small alignment head itself
    trains on the CPU, so the cached model does not depend on the device.
    """
    params = dict(ImageTextAlignment().get_params(), **params)
    unknown = set(params) - set(ImageTextAlignment().get_params())
    if unknown:
        raise ValueError(f"unknown ImageTextAlignment parameters {sorted(unknown)}; "
                         f"known: {sorted(ImageTextAlignment().get_params())}")
    key, ds = _fashion_key(params, mask_class_words)
    if key in _LOADED:
        return _LOADED[key]
    stem = "lit-fashion-masked" if mask_class_words else "lit-fashion"
    path = config.cache_dir() / "models" / f"{stem}-{key}.npz"
    if path.exists():
        try:
            _LOADED[key] = ImageTextAlignment.load(path)
            return _LOADED[key]
        except Exception:  # noqa: BLE001 - unreadable/partial: retrain
            pass
    X = embed(ds, FASHION_IMAGE_ENCODER, progress=progress, device=device)
    titles = _mask(ds.texts, ds.class_names) if mask_class_words else ds.texts
    T = embed_texts(titles, FASHION_TEXT_ENCODER, progress=progress, device=device)
    model = ImageTextAlignment(**params, progress=progress).fit(X, T)
    model.save(path)
    _LOADED[key] = model
    return model


_mask = mask_class_words


class LitFashionEncoder(Encoder):
    """``"lit-fashion"``: efficientnet-lite0 + the fashion alignment (images), minilm (texts); 384-d,
    both sides L2-normalised, so cosine = dot product between images and prompts.
    ``"lit-fashion-masked"``: the same, aligned on titles with the class words masked."""

    modality = "image+text"
    dim = 384
    normalized = True
    base_image_encoder = FASHION_IMAGE_ENCODER
    base_text_encoder = FASHION_TEXT_ENCODER

    def __init__(self, name: str = "lit-fashion", device: str = "cpu", **params):
        self.name, self.device, self.params = name, device, params
        self.mask = name.endswith("-masked")
        self._alignment = None
        self._key = None

    @property
    def cache_key(self) -> str:
        if self._key is None:
            self._key = _fashion_key(dict(ImageTextAlignment().get_params(), **self.params), self.mask)[0]
        return f"lit-fashion|{self._key}|v{TRANSFORM_VERSION}"

    @property
    def alignment(self) -> ImageTextAlignment:
        if self._alignment is None:
            self._alignment = load_fashion_alignment(mask_class_words=self.mask, device=self.device, **self.params)
        return self._alignment

    def transform_image_features(self, X: np.ndarray) -> np.ndarray:
        return self.alignment.transform(X)

    def transform_text_features(self, T: np.ndarray) -> np.ndarray:
        return np.asarray(T, dtype=np.float32)

    def encode_images(self, images, batch_size=None):
        base = get_encoder(self.base_image_encoder, device=self.device)
        return self.transform_image_features(base.encode_images(images, batch_size))

    def encode_texts(self, texts, batch_size=None):
        return get_encoder(self.base_text_encoder, device=self.device).encode_texts(texts, batch_size)


register_encoder("lit-fashion", LitFashionEncoder)
register_encoder("lit-fashion-masked", LitFashionEncoder)
