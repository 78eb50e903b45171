"""ImageNet ResNet-18/50/101 from torchvision: penultimate (global average pool) features.

``create_encoder("torchvision:resnet50")`` uses torchvision's ``IMAGENET1K_V1`` weights (the
original He et al. / torchvision release, as used by the papers' 2048-d ResNet-101 features),
downloaded by torchvision into ``$TORCH_HOME`` when the network allows; ``weights="IMAGENET1K_V2"``
selects the newer recipe; ``weights=None`` builds the same architecture with random weights
(seeded; tests). The weights can also be named in the encoder name, so that a notebook's encoder
parameter reaches them: ``"torchvision:resnet50/IMAGENET1K_V2"``, ``"torchvision:resnet50/random"``
(like ``"openclip:<arch>"`` without a tag). Preprocessing: the weights' own transform (resize 256 / 232, centre crop 224,
ImageNet mean/std), the classic resize 256 + crop 224 for random weights.
"""

from __future__ import annotations

import torch
import torchvision
from torchvision import transforms as T

from .base import TRANSFORM_VERSION, Encoder, register_prefix

ARCHS = {"resnet18": 512, "resnet50": 2048, "resnet101": 2048}
MEAN = (0.485, 0.456, 0.406)
STD = (0.229, 0.224, 0.225)


class TorchvisionResNetEncoder(Encoder):
    modality = "image"
    default_batch_size = 32

    def __init__(self, name: str, device: str = "cpu", weights: str | None = "IMAGENET1K_V1"):
        arch, _, tag = name.split(":", 1)[1].partition("/")
        if tag:  # weights named in the encoder name
            weights = None if tag == "random" else tag
        if arch not in ARCHS:
            raise ValueError(
                f"unknown torchvision encoder {name!r}; known: {', '.join('torchvision:' + a for a in ARCHS)}"
            )
        self.name, self.device, self.arch, self.dim = name, device, arch, ARCHS[arch]
        if weights is None:
            self._weights = None
            weights_id = "random-seed0"
            resize, crop = 256, 224
        else:
            enum = torchvision.models.get_model_weights(arch)
            try:
                w = enum[weights] if isinstance(weights, str) else enum(weights)
            except (KeyError, ValueError):
                raise ValueError(
                    f"{name}: unknown weights {weights!r}; available: {[m.name for m in enum]} or None "
                    f"(in an encoder name: 'torchvision:{arch}/<weights>' or 'torchvision:{arch}/random')"
                ) from None
            self._weights = w
            weights_id = f"{w}|{w.url.rsplit('/', 1)[-1]}"
            tr = w.transforms()
            resize, crop = tr.resize_size[0], tr.crop_size[0]
        self._transform = T.Compose([
            T.Resize(resize, interpolation=T.InterpolationMode.BILINEAR, antialias=True),
            T.CenterCrop(crop),
            T.ToTensor(),
            T.Normalize(MEAN, STD),
        ])
        self.cache_key = (
            f"torchvision-{arch}|{weights_id}|resize{resize}-crop{crop}|imagenet-norm|"
            f"avgpool{self.dim}|tv{torchvision.__version__.split('+')[0]}|v{TRANSFORM_VERSION}"
        )

    def _load_model(self):
        builder = getattr(torchvision.models, self.arch)
        if self._weights is None:
            torch.manual_seed(0)
            model = builder(weights=None)
        else:
            w = self._weights
            try:
                model = builder(weights=w)
            except Exception as e:  # noqa: BLE001 - network/URL errors vary
                raise RuntimeError(
                    f"{self.name}: could not obtain the torchvision {w} weights from {w.url} ({e}). They are "
                    f"downloaded into $TORCH_HOME/hub/checkpoints (now {torch.hub.get_dir()}/checkpoints); "
                    f"put the file there when offline, or use weights=None for random weights"
                ) from e
        model.fc = torch.nn.Identity()
        return model.eval().to(self.device)

    def preprocess(self, image):
        return self._transform(image)

    def forward(self, batch):
        return self.model(batch)


register_prefix("torchvision:", TorchvisionResNetEncoder, lambda: [f"torchvision:{a}" for a in ARCHS])
