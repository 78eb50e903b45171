"""Every path the lab uses, defined once, each with an environment override.

Paths are resolved at call time (not import time) so that tests and notebooks can redirect them
with environment variables:

============================  =====================================  ==============================
environment variable          meaning                                default
============================  =====================================  ==============================
``ZSL_DATA_DIR``              writable data dir (downloads)          ``<project>/data``
``ZSL_DATA_MIRROR``           read-only mirror of the official files  unset (CI: ``../shared/data``)
``ZSL_CACHE_DIR``             embedding and model caches             ``<data dir>/cache``
``ZSL_FIGURES_DIR``           published figures                      ``<project>/figures``
``ZSL_RESULTS_DIR``           published headline numbers             ``<project>/results``
``ZSL_BUILD_DIR``             executed notebooks, run folders        ``<project>/build``
``ZSL_OFFLINE``               ``1``: never try to download           unset
============================  =====================================  ==============================

Relative paths in these variables (and in any other ``ZSL_*_DIR``, e.g. ``ZSL_WORDNET_DIR``)
follow one rule: they are relative to **the directory the user ran the command from**.

* ``python -m zsl_lib.runner`` / ``make reproduce`` rewrite every relative value to an absolute
  one against their working directory once, before any kernel starts
  (:func:`resolve_env_paths`); the kernels, which run in ``notebooks/``, inherit absolute paths.
* A process without the runner resolves a relative value against its working directory
  (:func:`base_dir`), except when that directory is ``<project>/notebooks``: a JupyterLab kernel
  starts in the notebook's folder although the user started JupyterLab (and set the variables)
  at the project root, so there relative values are resolved against the project root. So
  ``export ZSL_DATA_MIRROR=../shared/data`` means ``<project>/../shared/data`` for
  ``make reproduce``, ``papermill notebooks/...`` and JupyterLab alike when run from the project
  root.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent

# the lab's path variables: these plus any ZSL_*_DIR
PATH_VARIABLES = ("ZSL_DATA_DIR", "ZSL_DATA_MIRROR", "ZSL_CACHE_DIR", "ZSL_FIGURES_DIR",
                  "ZSL_RESULTS_DIR", "ZSL_BUILD_DIR")
_PATH_VAR_RE = re.compile(r"^ZSL_[A-Z0-9_]*_DIR$")


def base_dir() -> Path:
    """The directory a relative path variable is resolved against (see the module docstring):
    the working directory, or the project root when the working directory is ``notebooks/``."""
    cwd = Path.cwd().resolve()
    return PROJECT_ROOT if cwd == notebooks_dir().resolve() else cwd


def caller_dir() -> tuple[Path, str]:
    """The directory a relative path *parameter* (a user's file) resolves against, and why:
    ``$ZSL_CALLER_CWD`` (the runner sets it to the directory it was started from), else
    :func:`base_dir` (the project root for a kernel running in ``notebooks/``, else cwd)."""
    env = os.environ.get("ZSL_CALLER_CWD", "").strip()
    if env:
        return Path(env).expanduser(), "ZSL_CALLER_CWD (the directory the runner was started from)"
    base = base_dir()
    if base == PROJECT_ROOT and Path.cwd().resolve() == notebooks_dir().resolve():
        return base, "the project root (the kernel runs in notebooks/)"
    return base, "the working directory"


def resolve_user_path(parameter: str, value, *, must_exist: bool = True, folder: bool | None = False) -> Path:
    """A user's file (or ``folder``; ``folder=None``: a file or a folder) given as a notebook
    parameter, as an absolute path.

    A relative path resolves against :func:`caller_dir`; a missing one is a FileNotFoundError that
    names the parameter, the resolved path and the rule.
    """
    if not isinstance(value, (str, os.PathLike)) or not str(value).strip():
        raise ValueError(f"parameter {parameter}: expected a path, got {value!r}")
    p = Path(value).expanduser()
    where = ""
    if not p.is_absolute():
        base, why = caller_dir()
        p = base / p
        where = f" (relative paths resolve against {why}: {base}; or give an absolute path)"
    p = p.resolve()
    if must_exist and not (p.exists() if folder is None else p.is_dir() if folder else p.is_file()):
        kind = "file or folder" if folder is None else "folder" if folder else "file"
        raise FileNotFoundError(f"parameter {parameter}={str(value)!r}: no {kind} at {p}{where}")
    return p


def _absolute(value: str, base: Path) -> Path:
    p = Path(value).expanduser()
    return (p if p.is_absolute() else base / p).resolve()


def env_path(var: str, default: Path | None = None) -> Path | None:
    """The path in environment variable ``var`` (relative values: see the module docstring), or
    ``default`` when it is unset or empty."""
    value = os.environ.get(var, "").strip()
    return _absolute(value, base_dir()) if value else default


def path_variables(environ: dict | None = None) -> list[str]:
    """Names of the lab's path variables set in ``environ`` (default ``os.environ``)."""
    environ = os.environ if environ is None else environ
    return sorted(k for k in environ if k in PATH_VARIABLES or _PATH_VAR_RE.match(k))


def resolve_env_paths(base: str | Path | None = None) -> dict[str, str]:
    """Make every relative path variable in ``os.environ`` absolute, against ``base`` (default:
    the current working directory). Returns the rewritten ``{variable: new value}``.

    The runner calls this once before any kernel starts, so kernels (which run in
    ``notebooks/``) see the paths the user meant.
    """
    base = Path(base).resolve() if base is not None else Path.cwd().resolve()
    changed = {}
    for var in path_variables():
        value = os.environ[var].strip()
        if value and not Path(value).expanduser().is_absolute():
            changed[var] = str(_absolute(value, base))
    os.environ.update(changed)
    return changed


def data_dir() -> Path:
    """Writable folder where downloaded dataset files are stored (``ZSL_DATA_DIR``)."""
    return env_path("ZSL_DATA_DIR", PROJECT_ROOT / "data")


def mirror_dir() -> Path | None:
    """Read-only mirror of official dataset files (``ZSL_DATA_MIRROR``), or None when unset."""
    return env_path("ZSL_DATA_MIRROR", None)


def cache_dir() -> Path:
    """Folder for embedding caches and trained helper models (``ZSL_CACHE_DIR``)."""
    return env_path("ZSL_CACHE_DIR", data_dir() / "cache")


def figures_dir() -> Path:
    """Folder of the published figures (``ZSL_FIGURES_DIR``); only a publishing run of the runner
    writes here (see :mod:`zsl_lib.record`)."""
    return env_path("ZSL_FIGURES_DIR", PROJECT_ROOT / "figures")


def results_dir() -> Path:
    """Folder of the published headline numbers, one JSON per notebook (``ZSL_RESULTS_DIR``)."""
    return env_path("ZSL_RESULTS_DIR", PROJECT_ROOT / "results")


def reports_dir() -> Path:
    """Rendered pages of the published runs, one Markdown page per notebook (``ZSL_REPORTS_DIR``)."""
    return env_path("ZSL_REPORTS_DIR", PROJECT_ROOT / "reports")


def build_dir() -> Path:
    """Folder for executed notebook copies and run folders (``ZSL_BUILD_DIR``, git-ignored)."""
    return env_path("ZSL_BUILD_DIR", PROJECT_ROOT / "build")


def runs_dir() -> Path:
    """Run folders of runs that do not publish: ``<build>/runs/<date>-<time>-<notebook>-<kind>``."""
    return build_dir() / "runs"


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
