"""Every path the lab uses, defined once, each with an environment override.

Paths are resolved at call time (not import time) so that tests and notebooks can redirect them
with environment variables:

============================  =====================================  ==============================
environment variable          meaning                                default
============================  =====================================  ==============================
``ZSL_DATA_DIR``              writable data dir (downloads)          ``<project>/data``
``ZSL_DATA_MIRROR``           read-only mirror of the official files  unset (CI: ``../shared/data``)
``ZSL_CACHE_DIR``             embedding and model caches             ``<data dir>/cache``
``ZSL_FIGURES_DIR``           rendered figures                       ``<project>/figures``
``ZSL_RESULTS_DIR``           recorded headline numbers              ``<project>/results``
``ZSL_BUILD_DIR``             executed notebooks                     ``<project>/build``
``ZSL_OFFLINE``               ``1``: never try to download           unset
============================  =====================================  ==============================
"""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def _env_path(var: str, default: Path) -> Path:
    value = os.environ.get(var, "").strip()
    return Path(value).expanduser().resolve() if value else default


def data_dir() -> Path:
    """Writable folder where downloaded dataset files are stored (``ZSL_DATA_DIR``)."""
    return _env_path("ZSL_DATA_DIR", PROJECT_ROOT / "data")


def mirror_dir() -> Path | None:
    """Read-only mirror of official dataset files (``ZSL_DATA_MIRROR``), or None when unset."""
    value = os.environ.get("ZSL_DATA_MIRROR", "").strip()
    return Path(value).expanduser().resolve() if value else None


def cache_dir() -> Path:
    """Folder for embedding caches and trained helper models (``ZSL_CACHE_DIR``)."""
    return _env_path("ZSL_CACHE_DIR", data_dir() / "cache")


def figures_dir() -> Path:
    """Folder for rendered figures (``ZSL_FIGURES_DIR``)."""
    return _env_path("ZSL_FIGURES_DIR", PROJECT_ROOT / "figures")


def results_dir() -> Path:
    """Folder for recorded headline numbers, one JSON per notebook (``ZSL_RESULTS_DIR``)."""
    return _env_path("ZSL_RESULTS_DIR", PROJECT_ROOT / "results")


def build_dir() -> Path:
    """Folder for executed notebook copies (``ZSL_BUILD_DIR``, git-ignored)."""
    return _env_path("ZSL_BUILD_DIR", PROJECT_ROOT / "build")


def offline() -> bool:
    """True when downloads must not be attempted (``ZSL_OFFLINE=1``)."""
    return os.environ.get("ZSL_OFFLINE", "").strip().lower() in {"1", "true", "yes"}


def notebooks_dir() -> Path:
    return PROJECT_ROOT / "notebooks"


def params_dir() -> Path:
    return PROJECT_ROOT / "params"


DEVICES = ("auto", "cpu", "cuda", "mps")


def resolve_device(device: str = "auto") -> str:
    """The torch device string to use: ``"auto"`` picks CUDA, then Apple MPS, then the CPU.

    Also accepts ``"cpu"``, ``"cuda"``, ``"cuda:N"`` and ``"mps"``; asking for a device that is
    not available is an error that says what is (results on the CPU are the reference).
    """
    import torch  # noqa: PLC0415  (heavy; only when a device is needed)

    if not isinstance(device, str) or not (device in DEVICES or device.startswith("cuda:")):
        raise ValueError(
            f"device {device!r} is not supported; use one of {', '.join(DEVICES)} or 'cuda:N'"
        )
    mps = getattr(torch.backends, "mps", None)
    has_mps = bool(mps is not None and mps.is_available())
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "mps" if has_mps else "cpu"
    if device.startswith("cuda"):
        if not torch.cuda.is_available():
            raise ValueError(
                f"device {device!r} was requested but torch sees no CUDA GPU "
                f"(torch {torch.__version__}, built for CUDA {torch.version.cuda}); "
                "use device='auto' or 'cpu'"
            )
        index = int(device.split(":")[1]) if ":" in device else 0
        if index >= torch.cuda.device_count():
            raise ValueError(
                f"device {device!r}: only {torch.cuda.device_count()} CUDA device(s) are visible"
            )
    if device == "mps" and not has_mps:
        raise ValueError("device 'mps' was requested but Apple MPS is not available; use 'auto' or 'cpu'")
    return device
