"""Embedding throughput of the default encoders on this CPU (images/s, texts/s).

Reproduces no paper figure: it sizes the cost of the embedding cache (issue 3) and picks the
defaults of :func:`zsl_lib.encoders.embed` (batch size, DataLoader workers, torch threads).

For each image encoder it times :func:`zsl_lib.encoders.embedding.extract` (decode + preprocess +
forward, no cache) over the same images for a grid of batch size x DataLoader workers x torch
threads, after one warm-up batch, and prints images/s and the ratio to the reference setting
(``embed``'s defaults) measured in the same run. MiniLM is timed on fashion titles (or synthetic
sentences). Real mirror images are used when ``ZSL_DATA_MIRROR`` is set (CIFAR-10 test for
resnet56-cifar10, fashion-products for efficientnet-lite0), synthetic PNG files otherwise.

    python benchmarks/bench_embedding_throughput.py            # ~3-6 min on a busy 2-core CPU
    python benchmarks/bench_embedding_throughput.py --n 64     # quicker, noisier

Expected output shape (numbers depend on the machine and its load)::

    encoder              batch  workers  threads   items/s  vs default
    efficientnet-lite0      64        1        1      12.3       1.00
    ...
"""

from __future__ import annotations

import argparse
import itertools
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from zsl_lib import config  # noqa: E402
from zsl_lib.data.base import ImageDataset  # noqa: E402
from zsl_lib.encoders import get_encoder  # noqa: E402
from zsl_lib.encoders.embedding import default_num_threads, default_num_workers, extract  # noqa: E402


def _synthetic(n: int, size: int, tmp: Path) -> ImageDataset:
    rng = np.random.default_rng(0)
    items = []
    for i in range(n):
        p = tmp / f"{size}-{i}.png"
        Image.fromarray(rng.integers(0, 256, (size, size, 3), dtype=np.uint8)).save(p)
        items.append(str(p))
    return ImageDataset(name=f"synthetic{size}", split="bench", items=items, labels=np.zeros(n, int),
                        class_names=["x"], fingerprint=f"bench-{n}-{size}")


def _dataset(kind: str, n: int, tmp: Path) -> ImageDataset:
    if config.mirror_dir() is not None:
        from zsl_lib.data import load_dataset

        try:
            if kind == "cifar":
                ds = load_dataset("cifar10", split="test")
            else:
                ds = load_dataset("fashion-products", split="all")
            idx = np.random.default_rng(0).choice(len(ds), n, replace=False)
            return ds.subset(np.sort(idx))
        except Exception as e:  # noqa: BLE001
            print(f"(real data unavailable: {e}; using synthetic images)")
    return _synthetic(n, 32 if kind == "cifar" else 224, tmp)


def _time(fn) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def bench_images(name: str, ds: ImageDataset, batch_sizes, workers, threads) -> list[tuple]:
    enc = get_encoder(name)
    extract(ds.subset(np.arange(min(8, len(ds)))), enc, batch_size=8, progress=False, num_workers=0)  # warm-up
    ref = (enc.default_batch_size, default_num_workers(enc, 10**6), default_num_threads())
    rows = []
    for bs, nw, th in itertools.product(batch_sizes or [enc.default_batch_size], workers, threads):
        dt = _time(lambda bs=bs, nw=nw, th=th: extract(ds, enc, batch_size=bs, progress=False,
                                                         num_workers=nw, num_threads=th))
        rows.append((name, bs, nw, th, len(ds) / dt))
    if ref not in {r[1:4] for r in rows}:
        dt = _time(lambda: extract(ds, enc, batch_size=ref[0], progress=False, num_workers=ref[1],
                                   num_threads=ref[2]))
        rows.append((name, *ref, len(ds) / dt))
    ref_rate = next(r[4] for r in rows if r[1:4] == ref)
    return [(*r, r[4] / ref_rate, "<- default" if r[1:4] == ref else "") for r in rows]


def bench_texts(n: int, threads) -> list[tuple]:
    texts = None
    if config.mirror_dir() is not None:
        try:
            from zsl_lib.data import load_dataset

            texts = load_dataset("fashion-products", split="all").texts[:n]
        except Exception:  # noqa: BLE001
            texts = None
    texts = texts or [f"Brand {i} Men Navy Blue Checked Casual Shirt size {i % 7}" for i in range(n)]
    enc = get_encoder("minilm")
    enc.encode_texts(texts[:8])  # warm-up (model load)
    rows = []
    for bs, th in itertools.product([32, 128], threads):
        old = torch.get_num_threads()
        torch.set_num_threads(th)
        try:
            dt = _time(lambda bs=bs: enc.encode_texts(texts, batch_size=bs))
        finally:
            torch.set_num_threads(old)
        rows.append(("minilm (texts)", bs, 0, th, len(texts) / dt))
    ref = next(r[4] for r in rows if r[1] == enc.default_batch_size and r[3] == default_num_threads())
    return [(*r, r[4] / ref, "<- default" if r[4] == ref else "") for r in rows]


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=128, help="images per measurement (texts: 8x)")
    ap.add_argument("--encoders", default="resnet56-cifar10,efficientnet-lite0")
    ap.add_argument("--threads", default="1,2", help="torch threads to compare")
    ap.add_argument("--workers", default="0,1,2", help="DataLoader workers to compare")
    args = ap.parse_args(argv)
    threads = [int(t) for t in args.threads.split(",")]
    workers = [int(w) for w in args.workers.split(",")]
    print(f"CPU cores: {os.cpu_count()}, torch {torch.__version__}, load average {os.getloadavg()}")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.encoders.split(","):
            ds = _dataset("cifar" if "cifar" in name else "fashion", args.n, Path(tmp))
            bss = [64, 256] if "cifar" in name else [16, 64]
            rows += bench_images(name, ds, bss, workers, threads)
        rows += bench_texts(8 * args.n, threads)
    print(f"\n{'encoder':<22}{'batch':>6}{'workers':>9}{'threads':>9}{'items/s':>10}{'vs default':>12}")
    for name, bs, nw, th, rate, ratio, mark in rows:
        print(f"{name:<22}{bs:>6}{nw:>9}{th:>9}{rate:>10.1f}{ratio:>12.2f}  {mark}")
    print(f"\nload average after: {os.getloadavg()} (the machine is shared: compare ratios within a run)")


if __name__ == "__main__":
    main()
