"""The encoder interface and the name -> factory registry (in the spirit of open_clip's).

Every encoder is created by name through :func:`create_encoder` and exposes

* ``name`` (the registry name), ``dim`` (feature size), ``modality`` (``"image"``, ``"text"`` or
  ``"image+text"``),
* ``encode_images(list[PIL.Image]) -> float32 (n, dim)`` and/or
  ``encode_texts(list[str]) -> float32 (n, dim)``,
* ``cache_key``: a string that changes whenever the numbers it produces can change (weights
  identity such as a file SHA-256 (:func:`zsl_lib.fileio.hash_file`) or a pretrained tag, the
  preprocessing, and a transform version).

Image encoders additionally split their work into ``preprocess(PIL.Image) -> torch.Tensor`` (runs
in DataLoader workers) and ``forward(batch) -> torch.Tensor`` (runs in the main process), which is
what :func:`zsl_lib.encoders.embed` uses.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import torch
from PIL import Image

#: Bump when a change to this package can change any encoder's output (invalidates all caches).
TRANSFORM_VERSION = "1"

MODALITIES = ("image", "text", "image+text")

# registry: exact names and prefixes ("openclip:", "torchvision:") -> factory
_EXACT: dict[str, Callable[..., Encoder]] = {}
_PREFIX: dict[str, tuple[Callable[..., Encoder], Callable[[], list[str]]]] = {}


def register_encoder(name: str, factory: Callable[..., Encoder]) -> None:
    """Register ``factory(name, device=..., **kwargs) -> Encoder`` under an exact name."""
    _EXACT[name] = factory


def register_prefix(prefix: str, factory: Callable[..., Encoder], examples: Callable[[], list[str]]) -> None:
    """Register a factory for every name ``prefix + rest``; ``examples()`` lists typical names."""
    _PREFIX[prefix] = (factory, examples)


def list_encoders() -> list[str]:
    """Names accepted by :func:`create_encoder` (prefix families listed with their usual members)."""
    names = list(_EXACT)
    for _prefix, (_f, examples) in _PREFIX.items():
        names.extend(examples())
    return names


def check_encoder_name(parameter: str, name, *, extra: tuple = ()) -> str:
    """``name`` if :func:`create_encoder` accepts it (a registered name, or any name of a prefix
    family such as ``"torchvision:resnet50/random"``, ``"openclip:ViT-B-32/openai"``), or one of
    ``extra`` (e.g. ``"none"``); otherwise a ValueError naming ``parameter`` and the accepted names.
    Nothing is built or downloaded."""
    if isinstance(name, str) and (name in _EXACT or name in extra or name.startswith(tuple(_PREFIX))):
        return name
    accepted = list_encoders() + list(extra)
    raise ValueError(
        f"{parameter}: unknown encoder {name!r}; accepted values: {accepted} "
        f"(plus any {', '.join(repr(p + '<...>') for p in _PREFIX)} name)"
    )


def create_encoder(name: str, device: str = "cpu", **kwargs) -> Encoder:
    """Build the encoder registered as ``name``.

    Parameters
    ----------
    name : e.g. ``"efficientnet-lite0"``, ``"resnet56-cifar10"``, ``"minilm"``,
        ``"torchvision:resnet50"``, ``"openclip:ViT-B-32/openai"``, ``"lit-fashion"``.
    device : torch device string, ``"cpu"`` by default.
    **kwargs : encoder-specific options (e.g. ``weights=None`` for random weights in tests).

    Raises
    ------
    ValueError : unknown name (the message lists the known names).
    """
    if isinstance(name, Encoder):
        return name
    if not isinstance(name, str):
        raise TypeError(f"encoder name must be a str, got {type(name).__name__}")
    if name in _EXACT:
        return _EXACT[name](name, device=device, **kwargs)
    for prefix, (factory, _ex) in _PREFIX.items():
        if name.startswith(prefix):
            return factory(name, device=device, **kwargs)
    raise ValueError(
        f"unknown encoder {name!r}; known encoders: {', '.join(list_encoders())} "
        f"(plus any 'openclip:<arch>/<pretrained>' and 'torchvision:<resnet>' name)"
    )


def check_images(images: Sequence[Image.Image]) -> list[Image.Image]:
    """``images`` as a list of PIL images; a TypeError names the first item that is not one."""
    if isinstance(images, Image.Image):
        raise TypeError("encode_images expects a list of PIL images, got a single image: wrap it in [ ]")
    images = list(images)
    for i, im in enumerate(images):
        if not isinstance(im, Image.Image):
            raise TypeError(f"encode_images: item {i} is a {type(im).__name__}, expected a PIL.Image.Image")
    return images


def check_texts(texts: Sequence[str]) -> list[str]:
    """``texts`` as a list of str; a TypeError names the first item that is not a string."""
    if isinstance(texts, str):
        raise TypeError("encode_texts expects a list of strings, got a single str: wrap it in [ ]")
    texts = list(texts)
    for i, t in enumerate(texts):
        if not isinstance(t, str):
            raise TypeError(f"encode_texts: item {i} is a {type(t).__name__}, expected str")
    return texts


class Encoder:
    """Base class. Subclasses set ``name``, ``dim``, ``modality``, ``cache_key`` and implement
    ``preprocess`` + ``forward`` (images) and/or ``_encode_texts`` (texts)."""

    name: str = ""
    dim: int = 0
    modality: str = "image"
    cache_key: str = ""
    device: str = "cpu"
    #: default batch size of :func:`embed` for this encoder on a CPU
    default_batch_size: int = 64
    #: True when images come out L2-normalised
    normalized: bool = False

    # ---- lazily built model: creating an encoder is cheap (cache keys need no weights loaded) --
    _model = None

    def _load_model(self):  # pragma: no cover - abstract
        raise NotImplementedError

    @property
    def model(self):
        """The underlying torch module (built on first use)."""
        if self._model is None:
            self._model = self._load_model()
        return self._model

    @model.setter
    def model(self, value):
        self._model = value

    # ---- images -------------------------------------------------------------------------
    def preprocess(self, image: Image.Image) -> torch.Tensor:  # pragma: no cover - abstract
        raise NotImplementedError(f"{self.name} does not encode images (modality {self.modality!r})")

    def forward(self, batch: torch.Tensor) -> torch.Tensor:  # pragma: no cover - abstract
        raise NotImplementedError(f"{self.name} does not encode images (modality {self.modality!r})")

    def encode_images(self, images: Sequence[Image.Image], batch_size: int | None = None) -> np.ndarray:
        """Encode PIL images -> float32 array (n, dim). Images of any mode/size are accepted."""
        if "image" not in self.modality:
            raise ValueError(f"encoder {self.name!r} is a {self.modality} encoder: it cannot encode images")
        images = check_images(images)
        if not images:
            return np.zeros((0, self.dim), np.float32)
        bs = batch_size or self.default_batch_size
        out = []
        with torch.inference_mode():
            for s in range(0, len(images), bs):
                batch = torch.stack([self.preprocess(im if im.mode == "RGB" else im.convert("RGB"))
                                     for im in images[s:s + bs]])
                out.append(self.forward(batch.to(self.device)).float().cpu().numpy())
        return np.ascontiguousarray(np.concatenate(out), dtype=np.float32)

    # ---- texts --------------------------------------------------------------------------
    def _encode_texts(self, texts: list[str], batch_size: int) -> np.ndarray:  # pragma: no cover
        raise NotImplementedError

    def encode_texts(self, texts: Sequence[str], batch_size: int | None = None) -> np.ndarray:
        """Encode strings -> float32 array (n, dim)."""
        if "text" not in self.modality:
            raise ValueError(
                f"encoder {self.name!r} is an {self.modality} encoder: it cannot encode texts "
                f"(text encoders: minilm, openclip:*, lit-fashion)"
            )
        texts = check_texts(texts)
        if not texts:
            return np.zeros((0, self.dim), np.float32)
        with torch.inference_mode():
            out = self._encode_texts(texts, batch_size or self.default_batch_size)
        return np.ascontiguousarray(out, dtype=np.float32)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, dim={self.dim}, modality={self.modality!r})"
