"""ONNX Runtime inference for a torch image network: the same weights, the same numbers.

On this lab's 2-core CPU, EfficientNet-Lite0 runs ~3x faster through ONNX Runtime than through
eager PyTorch (``benchmarks/bench_embedding_throughput.py`` prints the ratio and the largest
feature difference, ~1e-5 on features of magnitude ~5). :class:`OnnxForward` wraps a torch
module:

* the module is exported once to ``config.cache_dir()/onnx/<name>-<hash>.onnx`` (the hash covers
  the encoder's ``cache_key``, the torch version and the opset; written atomically under a lock,
  so processes sharing the cache export it once; a cached export that no longer opens or matches
  is rebuilt once, with a warning). The embedding cache key does not change: the
  runtime is how the numbers are computed, not which numbers.
* before first use the session is checked against the eager module on a fixed random batch;
  when the outputs differ by more than float tolerance (an exporter or runtime bug) it warns and
  the caller keeps eager PyTorch.
* one session per intra-op thread count, taken from ``torch.get_num_threads()`` at call time,
  so :func:`zsl_lib.encoders.embedding.extract`'s ``num_threads`` governs both runtimes.

Without the ``onnxruntime`` and ``onnx`` packages :func:`onnxruntime_available` is False and the
encoders run eager PyTorch.
"""

from __future__ import annotations

import hashlib
import importlib.util
import warnings
from pathlib import Path

import numpy as np
import torch

from zsl_lib import config
from zsl_lib.fileio import atomic_write, file_lock

#: accepted values of an encoder's ``runtime`` option
RUNTIMES = ("auto", "onnxruntime", "torch")
OPSET = 17
#: largest accepted |onnxruntime - torch| on the self-check batch: atol + rtol * |torch|
CHECK_ATOL, CHECK_RTOL = 1e-4, 1e-4


def onnxruntime_available() -> bool:
    """True when both ``onnxruntime`` (inference) and ``onnx`` (torch's exporter) import."""
    return all(importlib.util.find_spec(m) is not None for m in ("onnxruntime", "onnx"))


def export_path(name: str, key: str) -> Path:
    h = hashlib.sha256(f"{key}|torch{torch.__version__}|opset{OPSET}".encode()).hexdigest()[:16]
    return config.cache_dir() / "onnx" / f"{name}-{h}.onnx"


def _export(model: torch.nn.Module, path: Path, input_shape: tuple[int, ...]) -> None:
    dummy = torch.zeros((1, *input_shape))

    def write(fh):
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")  # exporter chatter (constant folding, deprecations)
            torch.onnx.export(model, (dummy,), fh, dynamo=False, opset_version=OPSET,
                              input_names=["x"], output_names=["y"],
                              dynamic_axes={"x": {0: "n"}, "y": {0: "n"}})

    with file_lock(path):
        if not path.exists():
            atomic_write(path, write)


class OnnxForward:
    """``model(batch)`` computed by ONNX Runtime on the CPU (see the module docstring).

    Parameters
    ----------
    model : the eager torch module (eval mode) whose numbers are reproduced.
    name, key : file name stem and identity (the encoder's ``cache_key``) of the exported graph.
    input_shape : one input without the batch axis, e.g. ``(3, 224, 224)``.
    """

    def __init__(self, model: torch.nn.Module, name: str, key: str, input_shape: tuple[int, ...]):
        self.model, self.input_shape = model, tuple(input_shape)
        self.path = export_path(name, key)
        self._sessions: dict[int, object] = {}

    def session(self, threads: int):
        if threads not in self._sessions:
            import onnxruntime as ort

            if not self.path.exists():
                _export(self.model, self.path, self.input_shape)
            so = ort.SessionOptions()
            so.intra_op_num_threads = int(threads)
            so.inter_op_num_threads = 1
            so.log_severity_level = 3
            self._sessions[threads] = ort.InferenceSession(str(self.path), so, providers=["CPUExecutionProvider"])
        return self._sessions[threads]

    def __call__(self, batch: torch.Tensor) -> torch.Tensor:
        x = np.ascontiguousarray(batch.detach().cpu().numpy(), dtype=np.float32)
        (y,) = self.session(max(1, torch.get_num_threads())).run(["y"], {"x": x})
        return torch.from_numpy(y)

    def max_difference(self, n: int = 2, seed: int = 0) -> tuple[float, bool]:
        """Largest |onnxruntime - torch| on ``n`` seeded random inputs, and whether it is within
        tolerance (``CHECK_ATOL + CHECK_RTOL * |torch|`` elementwise)."""
        x = torch.randn((n, *self.input_shape), generator=torch.Generator().manual_seed(seed))
        with torch.inference_mode():
            ref = self.model(x.contiguous(memory_format=torch.channels_last)).float().numpy()
        got = self(x).numpy()
        diff = np.abs(got - ref)
        return float(diff.max()), bool(got.shape == ref.shape and (diff <= CHECK_ATOL + CHECK_RTOL * np.abs(ref)).all())


def _stat(path: Path) -> tuple[int, int, int] | None:
    """Identity of the file at ``path`` (inode, size, mtime), or None when there is none."""
    try:
        st = path.stat()
    except FileNotFoundError:
        return None
    return st.st_ino, st.st_size, st.st_mtime_ns


def _self_checked(fwd: OnnxForward) -> OnnxForward:
    """``fwd`` once its session opens and matches eager torch; raises otherwise."""
    diff, ok = fwd.max_difference()
    if not ok:
        raise RuntimeError(f"onnxruntime output differs from torch by up to {diff:.3g}")
    return fwd


def build_onnx_forward(model: torch.nn.Module, name: str, key: str, input_shape: tuple[int, ...],
                       runtime: str) -> OnnxForward | None:
    """An :class:`OnnxForward` for ``runtime`` ``"auto"`` / ``"onnxruntime"``, or None (eager torch).

    A cached export that fails to open or to match (a corrupt file) is deleted and rebuilt once,
    with a warning. ``"auto"`` then falls back to None with a warning when export or the
    self-check still fails; ``"onnxruntime"`` raises instead (the caller asked for it explicitly).
    """
    if runtime == "torch":
        return None
    if not onnxruntime_available():
        if runtime == "onnxruntime":
            raise ImportError("runtime='onnxruntime' needs the packages 'onnxruntime' and 'onnx' "
                              "(pip install onnxruntime onnx), or use runtime='torch'")
        return None
    try:
        fwd = OnnxForward(model, name, key, input_shape)
        cached = _stat(fwd.path)
        try:
            return _self_checked(fwd)
        except Exception as e:
            if cached is None:
                raise  # exported just now: rebuilding would give the same file
            # a cached export can be corrupt (a truncated copy, a disk error): without this
            # every later run would silently fall back to the slower eager PyTorch
            warnings.warn(f"{name}: the cached ONNX export {fwd.path.name} is unusable ({e}); "
                          "rebuilding it once", RuntimeWarning, stacklevel=3)
            with file_lock(fwd.path):
                if _stat(fwd.path) == cached:  # not already rebuilt by another process
                    fwd.path.unlink()
            return _self_checked(OnnxForward(model, name, key, input_shape))
    except Exception as e:
        if runtime == "onnxruntime":
            raise
        warnings.warn(f"{name}: onnxruntime unusable ({e}); running eager PyTorch", RuntimeWarning, stacklevel=3)
        return None
