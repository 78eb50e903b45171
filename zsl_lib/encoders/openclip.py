"""open_clip image and text towers: ``openclip:<arch>/<pretrained>`` (e.g. ``openclip:ViT-B-32/openai``).

Built with ``open_clip.create_model_and_transforms(arch, pretrained=tag)`` (weights are downloaded
by open_clip into its cache when the network allows) and ``open_clip.get_tokenizer(arch)``. Both
towers output L2-normalised ``embed_dim`` vectors, as CLIP's zero-shot classifier uses them.
``openclip:<arch>`` (no tag) or ``pretrained=None`` builds the real architecture with random
weights (seeded; offline tests).
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from .base import TRANSFORM_VERSION, Encoder, register_prefix

PREFIX = "openclip:"
_UNSET = object()


def parse_name(name: str) -> tuple[str, str | None]:
    rest = name[len(PREFIX):]
    arch, _, tag = rest.partition("/")
    return arch, (tag or None)


class OpenCLIPEncoder(Encoder):
    modality = "image+text"
    default_batch_size = 32
    normalized = True

    def __init__(self, name: str, device: str = "cpu", pretrained=_UNSET):
        import open_clip

        arch, tag = parse_name(name)
        if pretrained is not _UNSET:
            tag = pretrained
        models = open_clip.list_models()
        if arch not in models:
            raise ValueError(
                f"unknown open_clip architecture {arch!r} in encoder name {name!r}; expected "
                f"'openclip:<arch>/<pretrained>' with <arch> one of: {', '.join(models)}"
            )
        if tag is not None:
            tags = open_clip.list_pretrained_tags_by_model(arch)
            if tag not in tags:
                raise ValueError(
                    f"unknown pretrained tag {tag!r} for open_clip {arch!r}; known tags: {', '.join(tags) or 'none'} "
                    f"(or 'openclip:{arch}' for random weights)"
                )
        self.arch, self.pretrained, self.device = arch, tag, device
        self.name = f"{PREFIX}{arch}/{tag}" if tag else f"{PREFIX}{arch}"
        cfg = open_clip.get_model_config(arch)
        self.dim = int(cfg["embed_dim"])
        self.context_length = int(cfg.get("text_cfg", {}).get("context_length", 77))
        self._preprocess = None
        self.tokenizer = open_clip.get_tokenizer(arch)
        weights_id = f"pretrained:{tag}" if tag else "random-seed0"
        self.cache_key = (
            f"openclip-{arch}|{weights_id}|open_clip{open_clip.__version__}|model-preprocess|l2|v{TRANSFORM_VERSION}"
        )

    def _load_model(self):
        import open_clip

        if self.pretrained is None:
            torch.manual_seed(0)
        try:
            model, _, preprocess = open_clip.create_model_and_transforms(
                self.arch, pretrained=self.pretrained, device=self.device)
        except Exception as e:  # noqa: BLE001 - download/network errors vary
            if self.pretrained is None:
                raise
            raise RuntimeError(
                f"{self.name}: could not obtain the open_clip weights {self.arch}/{self.pretrained} ({e}). "
                f"They are downloaded by open_clip (Hugging Face hub / URL) into its cache; offline, use "
                f"'openclip:{self.arch}' (random weights) or a local encoder such as 'lit-fashion'"
            ) from e
        self._preprocess = preprocess
        return model.eval()

    def preprocess(self, image):
        if self._preprocess is None:
            self.model  # noqa: B018 - builds the transform with the model
        return self._preprocess(image)

    def forward(self, batch):
        return F.normalize(self.model.encode_image(batch).float(), dim=-1)

    def tokenize(self, texts: list[str]) -> torch.Tensor:
        """(n, context_length) int64 token ids (BPE; truncated to the context length)."""
        return self.tokenizer(texts)

    def _encode_texts(self, texts, batch_size):
        out = []
        for s in range(0, len(texts), batch_size):
            tok = self.tokenize(texts[s:s + batch_size]).to(self.device)
            out.append(F.normalize(self.model.encode_text(tok).float(), dim=-1).cpu().numpy())
        return np.concatenate(out)


def _examples() -> list[str]:
    return ["openclip:ViT-B-32/openai", "openclip:ViT-B-16/openai", "openclip:ViT-L-14/openai",
            "openclip:RN50/openai"]


register_prefix(PREFIX, OpenCLIPEncoder, _examples)
