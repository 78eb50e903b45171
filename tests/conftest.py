"""Shared fixtures: isolated output folders and access to the real data files.

Real-data tests call :func:`real_file` (or the ``real_file`` fixture). Without the file (no data
dir copy, no ``ZSL_DATA_MIRROR``) they skip with the reason; when ``ZSL_REQUIRE_DATA=1`` (set by
``.ci/run``) a missing file is a failure instead, so CI never passes by skipping.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from zsl_lib import config

try:
    import torch

    _TORCH_THREADS_AT_START = torch.get_num_threads()
except ImportError:  # pragma: no cover
    _TORCH_THREADS_AT_START = None


def real_file(relpath: str) -> Path:
    """Path of an official data file (relative to the data root, e.g. ``cifar10/cifar10-test.zip``)."""
    for root in (config.data_dir(), config.mirror_dir()):
        if root is not None and (root / relpath).exists():
            return root / relpath
    msg = (
        f"real data file {relpath!r} not found in {config.data_dir()} nor in the mirror "
        f"({config.mirror_dir() or 'ZSL_DATA_MIRROR unset'})"
    )
    if os.environ.get("ZSL_REQUIRE_DATA") == "1":
        pytest.fail(msg + " and ZSL_REQUIRE_DATA=1 forbids skipping")
    pytest.skip(msg)


@pytest.fixture(autouse=True, scope="session")
def _torch_threads_unchanged():
    """Fail loudly if a test module changes torch's thread count at import time (it would slow
    every later embedding extraction in the session to one core)."""
    import torch  # noqa: PLC0415

    assert torch.get_num_threads() == _TORCH_THREADS_AT_START, "a test module changed torch's threads at import"
    yield
    assert torch.get_num_threads() == _TORCH_THREADS_AT_START, "a test left torch.set_num_threads changed"


@pytest.fixture(scope="module")
def one_torch_thread():
    """Tiny networks: one torch thread is faster and reproducible; restored after the module.
    Use with ``pytestmark = pytest.mark.usefixtures("one_torch_thread")``."""
    import torch  # noqa: PLC0415

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture
def require_real():
    """Fixture form of :func:`real_file`: ``require_real('mulan/scene-train.arff')``."""
    return real_file


@pytest.fixture
def isolated_outputs(tmp_path, monkeypatch):
    """Redirect results, figures and build folders to a temporary directory."""
    for var, sub in [("ZSL_RESULTS_DIR", "results"), ("ZSL_FIGURES_DIR", "figures"),
                     ("ZSL_BUILD_DIR", "build"), ("ZSL_REPORTS_DIR", "reports")]:
        monkeypatch.setenv(var, str(tmp_path / sub))
    return tmp_path


def write_cifar100_archive(path: Path, splits: dict, fine_names: list[str], coarse_names: list[str]) -> Path:
    """A ``cifar-100-python.tar.gz`` in the official format at ``path``: one pickle per split of
    ``splits`` (name -> (rows uint8 (n, 3072) as R, G, B planes, fine labels (n,))), coarse label
    ``fine % 20``, and the ``meta`` pickle of label names."""
    import io
    import pickle
    import tarfile

    path.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(path, "w:gz") as tf:
        def add(name, obj):
            raw = pickle.dumps(obj)
            info = tarfile.TarInfo(f"cifar-100-python/{name}")
            info.size = len(raw)
            tf.addfile(info, io.BytesIO(raw))

        for name, (rows, fine) in splits.items():
            fine = [int(v) for v in fine]
            add(name, {b"data": rows, b"fine_labels": fine, b"coarse_labels": [v % 20 for v in fine],
                       b"filenames": [f"{i}.png".encode() for i in range(len(fine))]})
        add("meta", {b"fine_label_names": [n.encode() for n in fine_names],
                     b"coarse_label_names": [n.encode() for n in coarse_names]})
    return path


def folder_with_bad_jpegs(root: Path) -> Path:
    """A user's image folder ``root/<cat|dog>/`` with two good 64x64 JPEGs per class, a JPEG cut to
    60 % of its bytes (``dog/cut.jpg``: its header is intact, so PIL opens and verifies it; only
    decoding its pixels fails) and a text file named ``cat/notes.jpg``: 6 files, 2 unreadable."""
    import numpy as np  # noqa: PLC0415
    from PIL import Image  # noqa: PLC0415

    rng = np.random.default_rng(0)
    for cls in ("cat", "dog"):
        (root / cls).mkdir(parents=True)
        for i in range(2):
            Image.fromarray(rng.integers(0, 255, (64, 64, 3), dtype=np.uint8)).save(root / cls / f"{i}.jpg", quality=90)
    whole = (root / "dog" / "0.jpg").read_bytes()
    (root / "dog" / "cut.jpg").write_bytes(whole[: int(len(whole) * 0.6)])
    (root / "cat" / "notes.jpg").write_text("not an image at all")
    with Image.open(root / "dog" / "cut.jpg") as im:  # the header check alone passes it
        im.verify()
    return root
