"""Image and text encoders behind one registry, and cached embedding extraction.

>>> from zsl_lib.encoders import list_encoders, create_encoder, embed, embed_texts
>>> X = embed(load_dataset("cifar10", split="test"), "resnet56-cifar10")   # (10000, 64) float32
>>> T = embed_texts(["a photo of a cat"], "minilm")                          # (1, 384), L2-normalised

Encoders (``list_encoders()``): ``efficientnet-lite0`` (1280-d), ``resnet{20,32,44,56}-cifar10``
(64-d; ``create_encoder(name).classify(images)`` / ``.logits_from_features(X)`` for the logits),
``torchvision:resnet18|resnet50|resnet101`` (512/2048-d; ``weights=None`` for random weights),
``openclip:<arch>/<pretrained>`` (``openclip:<arch>`` = random weights), ``minilm`` (384-d),
``lit-fashion`` / ``lit-fashion-masked`` (EfficientNet-Lite0 features aligned into MiniLM space,
see :mod:`zsl_lib.encoders.alignment`).

See :mod:`zsl_lib.encoders.base` for the encoder interface and :mod:`zsl_lib.encoders.embedding`
for the cache (rows already cached for the same archive are reused, only missing ones are extracted).
"""

from . import alignment, efficientnet, minilm, openclip, resnet_cifar, torchvision_resnet  # noqa: F401 - registration
from .alignment import ImageTextAlignment, load_fashion_alignment
from .base import Encoder, check_encoder_name, create_encoder, list_encoders
from .embedding import embed, embed_texts, get_encoder

__all__ = ["Encoder", "check_encoder_name", "ImageTextAlignment", "load_fashion_alignment", "create_encoder", "embed", "embed_texts", "get_encoder", "list_encoders"]
