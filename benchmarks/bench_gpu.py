"""GPU check: the lab's extraction and training on the GPU against the CPU, in the same run.

Where a CUDA (or Apple MPS) device exists, this runs, on the CPU and on the GPU:

- image embedding extraction (EfficientNet-Lite0, the default image encoder of notebooks 01-05;
  ResNet-56 CIFAR-10 when its weights are found) over an image folder, reporting images/s and the
  largest feature difference between the two devices;
- the trained models at the notebooks' default sizes on seeded synthetic features: BLISS (01,
  fit + search, recall@10 against exact search), BLISSNet (01, fit + predict, accuracy) and
  neural LSH (04, fit + search, recall@10); each reports seconds on both devices and the quality
  number from each, which must agree within run-to-run noise. The CVAE (03) takes a device
  too but is not timed here yet; the neighbour nets (05) and the image-text alignment (02/05)
  run on the CPU only.

It prints ratios (GPU speed-up) measured in this run. Without a GPU it says so and exits 0.

    python benchmarks/bench_gpu.py [--images DIR] [--n-images 512] [--skip-training]
"""

from __future__ import annotations

import argparse
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


def _blobs(n: int, d: int, n_classes: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    centers = rng.normal(size=(n_classes, d)).astype(np.float32)
    y = rng.integers(0, n_classes, n)
    return (centers[y] + 0.7 * rng.normal(size=(n, d))).astype(np.float32), y


def _recall_at_10(found: np.ndarray, X: np.ndarray, Q: np.ndarray) -> float:
    from zsl_lib.index.exact import exact_topk  # noqa: PLC0415

    _, true = exact_topk(Q, X, 10, metric="cosine")
    return float(np.mean([len(set(a) & set(b)) / 10 for a, b in zip(found, true)]))


def training_tasks():
    """(name, build(device) -> callable returning a quality number) for each trained model, at
    the sizes of the notebooks' default settings on seeded synthetic features."""
    X, y = _blobs(20_000, 64, 50)
    Q = X[:500]
    tasks = []

    def bliss(device):
        from zsl_lib.index.bliss import BLISS  # noqa: PLC0415
        from zsl_lib.index.bliss_fixed import FIXED_DEFAULTS  # noqa: PLC0415

        params = {**FIXED_DEFAULTS, "n_buckets": 64, "n_repetitions": 4, "hidden_dim": 512,
                  "epochs": 10, "distance": "cosine", "n_probe": 2}

        def run():
            idx = BLISS(**params, random_state=0, device=device).fit(X)
            _, ids = idx.search(Q, 10)
            return _recall_at_10(ids, X, Q)
        return run

    tasks.append(("BLISS fit + search (01, 64 buckets, 512 units)", bliss))

    def blissnet(device):
        from zsl_lib.zeroshot.blissnet import BLISSNet  # noqa: PLC0415

        def run():
            model = BLISSNet(n_models=4, n_metaclasses=10, epochs=20, random_state=0,
                             device=device).fit(X[:8000], y[:8000])
            return float(np.mean(model.predict(X[8000:10000]) == y[8000:10000]))
        return run

    tasks.append(("BLISSNet fit + predict (01)", blissnet))

    def neural_lsh(device):
        from zsl_lib.index.neural_lsh import NeuralLSH  # noqa: PLC0415

        def run():
            idx = NeuralLSH(n_bits=10, n_tables=8, random_state=0, device=device,
                            network_params={"n_hidden": 800, "epochs": 20}).fit(X, y)
            _, ids = idx.search(Q, 10)
            return _recall_at_10(ids, X, Q)
        return run

    tasks.append(("neural LSH fit + search (04, 800 hidden, 20 ep.)", neural_lsh))
    return tasks


def bench_training(device: str) -> list[dict]:
    rows = []
    for name, build in training_tasks():
        try:
            runs = {dev: build(dev) for dev in ("cpu", device)}
        except (ImportError, TypeError, ValueError) as err:
            rows.append({"task": name, "note": f"skipped: {err}"[:120]})
            continue
        secs, quality = {}, {}
        try:
            for dev, run in runs.items():
                secs[dev], quality[dev] = _timed(run, dev)
        except Exception as err:  # noqa: BLE001  (report and go on with the next model)
            rows.append({"task": name, "note": f"failed: {type(err).__name__}: {err}"[:160]})
            continue
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
