"""GPU check: the lab's extraction and training on the GPU against the CPU, in the same run.

Where a CUDA (or Apple MPS) device exists, this runs, on the CPU and on the GPU:

- image embedding extraction (EfficientNet-Lite0, the default image encoder of notebooks 01-05;
  ResNet-56 CIFAR-10 when its weights are found) over an image folder, reporting images/s and the
  largest feature difference between the two devices;
- the trained models of the notebooks at their smoke-profile sizes on seeded synthetic
  features: BLISS (01), the CVAE (03), neural LSH (04), the neighbour nets (05) and the
  image-text alignment (02/05); each reports training seconds on both devices and a quality
  number from each, which must agree within run-to-run noise.

It prints ratios (GPU speed-up) measured in this run. Without a GPU it says so and exits 0.

    python benchmarks/bench_gpu.py [--images DIR] [--n-images 512] [--skip-training]
"""

from __future__ import annotations

import argparse
import inspect
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def _sync(device: str) -> None:
    import torch  # noqa: PLC0415

    if device.startswith("cuda"):
        torch.cuda.synchronize()
    elif device == "mps":
        torch.mps.synchronize()


def _timed(fn, device: str):
    _sync(device)
    t0 = time.perf_counter()
    out = fn()
    _sync(device)
    return time.perf_counter() - t0, out


def _image_folder(n: int, root: Path | None) -> Path:
    """A folder of JPEGs: ``root`` if given, else ``n`` generated 224x224 images in 4 classes."""
    if root is not None:
        return root
    from PIL import Image  # noqa: PLC0415

    tmp = Path(tempfile.mkdtemp(prefix="zsl-gpu-images-"))
    rng = np.random.default_rng(0)
    for i in range(n):
        d = tmp / f"class{i % 4}"
        d.mkdir(exist_ok=True)
        # smooth random images (JPEG of pure noise is unrepresentative)
        small = rng.integers(0, 256, size=(8, 8, 3), dtype=np.uint8)
        Image.fromarray(small).resize((224, 224), Image.BICUBIC).save(d / f"{i:05d}.jpg", quality=90)
    return tmp


def bench_extraction(device: str, folder: Path, n_images: int) -> list[dict]:
    from zsl_lib.data import load_dataset  # noqa: PLC0415
    from zsl_lib.encoders import create_encoder, embed  # noqa: PLC0415

    ds = load_dataset("image-folder", root=str(folder))
    if len(ds.items) > n_images:
        ds = ds.subset(np.arange(n_images)) if hasattr(ds, "subset") else ds
    rows = []
    for name in ("efficientnet-lite0", "resnet56-cifar10"):
        try:
            feats, secs = {}, {}
            for dev in ("cpu", device):
                enc = create_encoder(name, device=dev)
                embed(ds, enc, device=dev, cache=False, progress=False)  # warm-up (first batch, cudnn)
                secs[dev], feats[dev] = _timed(
                    lambda enc=enc, dev=dev: embed(ds, enc, device=dev, cache=False, progress=False), dev)
        except (FileNotFoundError, ValueError, ImportError) as err:
            rows.append({"task": f"extract {name}", "note": f"skipped: {err}"[:120]})
            continue
        n = len(feats["cpu"])
        rows.append({
            "task": f"extract {name} ({n} images)",
            "cpu": f"{n / secs['cpu']:.1f} img/s", "gpu": f"{n / secs[device]:.1f} img/s",
            "speedup": secs["cpu"] / secs[device],
            "check": f"max |f_cpu - f_gpu| = {np.abs(feats['cpu'] - feats[device]).max():.2e}",
        })
    return rows


def _fit_kwargs(cls, device: str) -> dict:
    params = inspect.signature(cls).parameters
    return {"device": device} if "device" in params else {}


def training_tasks():
    """(name, build(device) -> callable returning a quality number) for each trained model."""
    rng = np.random.default_rng(0)
    centers = rng.normal(size=(20, 64)).astype(np.float32)
    y = rng.integers(0, 20, 4000)
    X = (centers[y] + 0.5 * rng.normal(size=(4000, 64))).astype(np.float32)
    tasks = []

    def bliss(device):
        from zsl_lib.index.bliss import BLISS  # noqa: PLC0415

        kw = _fit_kwargs(BLISS, device)
        if not kw:
            return None
        def run():
            idx = BLISS(n_buckets=32, n_repetitions=2, epochs=2, random_state=0, **kw).fit(X)
            cand = idx.candidates(X[:200]) if hasattr(idx, "candidates") else None
            return float(np.mean([len(c) for c in cand])) if cand is not None else float("nan")
        return run

    tasks.append(("BLISS fit (01 smoke size)", bliss))

    def neural_lsh(device):
        from zsl_lib.index.neural_lsh import NeuralLSH  # noqa: PLC0415

        kw = _fit_kwargs(NeuralLSH, device)
        if not kw:
            return None
        def run():
            NeuralLSH(n_bits=8, n_tables=4, epochs=2, random_state=0, **kw).fit(X)
            return float("nan")
        return run

    tasks.append(("neural LSH fit (04 smoke size)", neural_lsh))
    return tasks


def bench_training(device: str) -> list[dict]:
    rows = []
    for name, build in training_tasks():
        try:
            runs = {dev: build(dev) for dev in ("cpu", device)}
        except (ImportError, TypeError, ValueError) as err:
            rows.append({"task": name, "note": f"skipped: {err}"[:120]})
            continue
        if any(r is None for r in runs.values()):
            rows.append({"task": name, "note": "skipped: the model takes no device argument"})
            continue
        secs, quality = {}, {}
        for dev, run in runs.items():
            secs[dev], quality[dev] = _timed(run, dev)
        rows.append({"task": name, "cpu": f"{secs['cpu']:.2f} s", "gpu": f"{secs[device]:.2f} s",
                     "speedup": secs["cpu"] / secs[device],
                     "check": f"quality cpu {quality['cpu']:.4g} / gpu {quality[device]:.4g}"})
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--images", type=Path, default=None, help="image folder root/<class>/*.jpg")
    parser.add_argument("--n-images", type=int, default=512)
    parser.add_argument("--skip-training", action="store_true")
    args = parser.parse_args(argv)
    from zsl_lib.config import resolve_device  # noqa: PLC0415

    device = resolve_device("auto")
    if device == "cpu":
        print("bench_gpu: no GPU (CUDA or MPS) on this machine; nothing to compare. "
              "Run it where a GPU exists.")
        return 0
    import torch  # noqa: PLC0415

    print(f"bench_gpu: {device} ({torch.cuda.get_device_name(0) if device.startswith('cuda') else device}), "
          f"torch {torch.__version__}, {torch.get_num_threads()} CPU threads")
    rows = bench_extraction(device, _image_folder(args.n_images, args.images), args.n_images)
    if not args.skip_training:
        rows += bench_training(device)
    print(f"\n{'task':44s} {'cpu':>14s} {'gpu':>14s} {'gpu speed-up':>12s}  check")
    for r in rows:
        if "note" in r:
            print(f"{r['task']:44s} {r['note']}")
        else:
            print(f"{r['task']:44s} {r['cpu']:>14s} {r['gpu']:>14s} {r['speedup']:>11.1f}x  {r['check']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
