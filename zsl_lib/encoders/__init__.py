"""Image and text encoders behind one registry, and cached embedding extraction.

>>> from zsl_lib.encoders import list_encoders, create_encoder, embed, embed_texts
>>> X = embed(load_dataset("cifar10", split="test"), "resnet56-cifar10")   # (10000, 64) float32
>>> T = embed_texts(["a photo of a cat"], "minilm")                          # (1, 384), L2-normalised

See :mod:`zsl_lib.encoders.base` for the encoder interface and :mod:`zsl_lib.encoders.embedding`
for the cache.
"""

from . import alignment, efficientnet, minilm, openclip, resnet_cifar, torchvision_resnet  # noqa: F401 - registration
from .alignment import ImageTextAlignment, load_fashion_alignment
from .base import Encoder, create_encoder, list_encoders
from .embedding import embed, embed_texts, get_encoder

__all__ = ["Encoder", "ImageTextAlignment", "load_fashion_alignment", "create_encoder", "embed", "embed_texts", "get_encoder", "list_encoders"]
