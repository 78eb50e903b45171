"""Sharded extraction past one process (issue 21): Ray Data vs the local distributor, and peak
memory of extraction as the collection grows. Extraction half (the index half is its own file).

1. ``engines``: the same N real CIFAR-10 test images embedded by EfficientNet-Lite0 into a store
   by ``engine="local"`` (the reference: this process, torch's default threads) and by
   ``engine="ray"`` with 2 CPU actors (0.5 CPU and 1 thread each, decoding as its own Ray task
   stage) on a local one-node Ray of 2 CPUs. Wall images/s and the ratio to local, the per-stage
   seconds (read/decode, forward, write) summed over workers, and the largest |difference| of the
   two stores. Ray's start-up is timed apart and not counted in the wall time.
2. ``memory``: peak RSS of a fresh process that extracts the first N images of CIFAR-10
   (train then test, up to 60,000) into a store with ``engine="local"``, for N growing 6x.
   The real encoder runs at ~20-70 images/s on this shared 2-core CPU (60k images: 15-50 min), so
   the growth is measured with a cheap pixel-pooling encoder (48-d; same reader, shards, writer
   and store code, only the network is cheaper) over 10k..60k, and with EfficientNet-Lite0 over a
   smaller 6x range. Ratios are against the smallest N of the same run.

The machine is shared by several busy processes: compare ratios within a run, not images/s.

    nice -n 5 python benchmarks/bench_scale.py                 # ~5-10 min on a busy 2-core CPU
    python benchmarks/bench_scale.py --n-engines 400 --memory-sizes 10000,30000,60000
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from zsl_lib.data import load_dataset
from zsl_lib.encoders.base import Encoder


class PixelPool(Encoder):
    """4x4 average pooling of 32x32 RGB pixels (48-d): the cheap stand-in network."""

    name, dim, cache_key, default_batch_size = "pixel-pool", 48, "pixel-pool/1", 256

    def _load_model(self):
        return torch.nn.AdaptiveAvgPool2d(4)

    def preprocess(self, image):
        return torch.from_numpy(np.asarray(image.resize((32, 32)), np.float32).copy()).permute(2, 0, 1) / 255.0

    def forward(self, batch):
        return self.model(batch).flatten(1)


def collection(n: int) -> list:
    """The first ``n`` CIFAR-10 images as datasets: the train split (50,000), then the test split
    (a second store: one store reads one archive)."""
    train = load_dataset("cifar10", split="train")
    parts = [train.subset(np.arange(min(n, len(train))))]
    if n > len(train):
        parts.append(load_dataset("cifar10", split="test").subset(np.arange(n - len(train))))
    return parts


def child(args) -> None:
    """Run one extraction in this fresh process and print its peak RSS (MB) as JSON."""
    from zsl_lib.encoders.distribute import extract_to_store  # noqa: PLC0415

    parts = collection(args.child_n)
    enc = PixelPool() if args.child_encoder == "pixel-pool" else args.child_encoder
    t0 = time.perf_counter()
    rows = 0
    for k, ds in enumerate(parts):
        store = extract_to_store(ds, enc, Path(args.child_out) / f"part{k}", shard_size=args.shard_size,
                                 progress=False)
        rows += store.manifest["stats"]["rows"]
    wall = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"n": rows, "peak_rss_mb": peak, "wall_s": wall}))


def memory(sizes: list[int], encoder: str, shard_size: int) -> list[dict]:
    out = []
    for n in sizes:
        with tempfile.TemporaryDirectory() as tmp:
            cmd = [sys.executable, __file__, "--child-n", str(n), "--child-encoder", encoder, "--child-out", tmp,
                   "--shard-size", str(shard_size)]
            res = subprocess.run(cmd, capture_output=True, text=True, check=True)
            out.append(json.loads(res.stdout.strip().splitlines()[-1]))
    return out


def engines(n: int, shard_size: int, res: dict) -> dict:
    """Fill ``res`` with the local and Ray stores' stats (local first: kept if Ray cannot start)."""
    from zsl_lib.encoders.distribute import extract_to_store  # noqa: PLC0415

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))  # the tests' simulated Ray cluster
    from ray_cluster import local_ray_cluster  # noqa: PLC0415

    ds = load_dataset("cifar10", split="test").subset(np.arange(n))
    with tempfile.TemporaryDirectory() as tmp:
        local = extract_to_store(ds, "efficientnet-lite0", Path(tmp) / "local", shard_size=shard_size, progress=False)
        res["local"] = local.manifest["stats"]
        t0 = time.perf_counter()
        with local_ray_cluster(2, object_store_mb=1000):
            res["ray_start_s"] = time.perf_counter() - t0
            dist = extract_to_store(ds, "efficientnet-lite0", Path(tmp) / "ray", shard_size=shard_size,
                                    engine="ray", progress=False)
        res["ray"] = dist.manifest["stats"]
        res["max_diff"] = float(np.abs(local.to_array() - dist.to_array()).max())
    return res


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n-engines", type=int, default=400, help="images for local vs Ray (EfficientNet-Lite0)")
    ap.add_argument("--engine-shard-size", type=int, default=100)
    ap.add_argument("--memory-sizes", default="10000,30000,60000", help="collection sizes, cheap encoder")
    ap.add_argument("--real-memory-sizes", default="100,600", help="collection sizes, EfficientNet-Lite0")
    ap.add_argument("--shard-size", type=int, default=2000, help="shard size of the memory runs")
    ap.add_argument("--skip-engines", action="store_true")
    ap.add_argument("--child-n", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--child-encoder", help=argparse.SUPPRESS)
    ap.add_argument("--child-out", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child_n:
        return child(args)
    print(f"CPU cores: {os.cpu_count()}, torch {torch.__version__}, load average {os.getloadavg()}")
    r = None
    if not args.skip_engines:
        part: dict = {}
        try:
            r = engines(args.n_engines, args.engine_shard_size, part)
        except Exception as e:  # noqa: BLE001 - e.g. Ray could not start on the loaded machine
            print(f"\n== engines: Ray not measured: {type(e).__name__}: {str(e)[:300]}")
            if "local" in part:
                st = part["local"]
                print(f"local (reference) alone: {args.n_engines} images in {st['wall_s']:.1f} s, "
                      f"{st['images_per_s_wall']:.1f} images/s; stage seconds {st['seconds']}")
    if r is not None:
        print(f"\n== engines: {args.n_engines} CIFAR-10 test images, EfficientNet-Lite0, shards of "
              f"{args.engine_shard_size}; Ray: local one-node cluster of 2 CPUs (started in {r['ray_start_s']:.0f} s, "
              "not counted)")
        print(f"{'engine':<34}{'wall s':>8}{'img/s':>8}{'vs local':>10}{'read s':>8}{'fwd s':>8}{'write s':>8}")
        base = r["local"]["images_per_s_wall"]
        for k, label in (("local", "local (reference)"), ("ray", f"ray, {r['ray']['ray']['actors']} CPU actors")):
            st = r[k]
            s = st["seconds"]
            print(f"{label:<34}{st['wall_s']:>8.1f}{st['images_per_s_wall']:>8.1f}"
                  f"{st['images_per_s_wall'] / base:>10.2f}{s['read']:>8.1f}{s['forward']:>8.1f}{s['write']:>8.1f}")
        for k in ("local", "ray"):
            for w, v in r[k]["workers"].items():
                print(f"  {k} worker {w}: {v['rows']} rows, {v['images_per_s']} images/s busy")
        busy = r["ray"]["seconds"]
        share = busy["forward"] / max(sum(busy.values()), 1e-9)
        print(f"largest |local - ray| feature difference: {r['max_diff']:.2e}")
        print(f"bound: the forward pass takes {share:.0%} of Ray's summed stage seconds and the two actors share "
              f"the same 2 cores as the decode tasks, so 2 actors cannot exceed one process using both cores; "
              f"Ray pays a per-image transfer of preprocessed pixels (3x224x224 float32) through its object store")
    for label, enc, sizes in (("pixel-pool (cheap stand-in network)", "pixel-pool", args.memory_sizes),
                              ("efficientnet-lite0", "efficientnet-lite0", args.real_memory_sizes)):
        ns = [int(x) for x in sizes.split(",") if x]
        if not ns:
            continue
        rows = memory(ns, enc, min(args.shard_size, max(ns[0] // 2, 1)) if enc != "pixel-pool" else args.shard_size)
        print(f"\n== memory: peak RSS of a fresh process extracting N CIFAR-10 images (train, then test), "
              f"{label}, engine local")
        print(f"{'N':>8}{'x data':>8}{'peak RSS MB':>13}{'x RSS':>8}{'wall s':>8}{'img/s':>8}")
        for row in rows:
            print(f"{row['n']:>8}{row['n'] / rows[0]['n']:>8.1f}{row['peak_rss_mb']:>13.0f}"
                  f"{row['peak_rss_mb'] / rows[0]['peak_rss_mb']:>8.2f}{row['wall_s']:>8.1f}{row['n'] / row['wall_s']:>8.0f}")
    print(f"\nload average after: {os.getloadavg()} (the machine is shared: compare ratios within a run)")


if __name__ == "__main__":
    main()
