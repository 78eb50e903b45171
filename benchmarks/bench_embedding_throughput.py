"""Image embedding throughput on this CPU: inference runtimes, threads, workers, batch size.

Reproduces no paper figure: it picks the defaults of :func:`zsl_lib.encoders.embed` (issue 16,
part 2). Every ratio is against **today's default** measured in the same run: eager PyTorch
(channels-last, ``torch.inference_mode``, torch's default threads), ``embed``'s batch size and
DataLoader workers. Three tables, per encoder:

1. ``network``: the forward pass alone on one preprocessed batch of real images, for eager
   PyTorch (1 thread, NCHW instead of channels-last, ``no_grad`` instead of ``inference_mode``),
   ``torch.compile`` (``--compile``: ~200 s of compilation on a busy 2-core CPU), ONNX Runtime
   and OpenVINO (when installed; f32 precision forced) at 1 and 2 threads. Images/s, ratio, and
   the largest |feature - today's feature|.
2. ``end to end``: :func:`zsl_lib.encoders.embedding.extract` (zip read + JPEG decode + resize +
   forward, no cache) for today's default, the new default (``runtime="auto"``: ONNX Runtime, and
   preprocessing at one torch thread), each of the two changes alone, and ONNX Runtime with 1/2
   threads, 0/1 DataLoader workers and batch 16/64.
3. ``profile``: milliseconds per image in each stage (decode, resize + normalise, collate,
   network in eager PyTorch / ONNX Runtime), and how many images PIL's JPEG draft mode could
   shrink (draft decodes at 1/2, 1/4 or 1/8 scale, which changes pixels; the lab's images are
   224x224 fashion, 64x64 Tiny-ImageNet and 32x32 CIFAR-10, never twice the 224 input, so it
   could not apply and is not used).

Timings are the best of ``--repeats`` rounds, the options interleaved round-robin so that load
from other processes hits them alike. The machine is shared: compare ratios, not images/s.

    python benchmarks/bench_embedding_throughput.py                   # ~3-5 min on a busy 2-core CPU
    python benchmarks/bench_embedding_throughput.py --encoders efficientnet-lite0,resnet56-cifar10
"""

from __future__ import annotations

import argparse
import importlib.util
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
from zsl_lib.encoders import create_encoder  # noqa: E402
from zsl_lib.encoders.embedding import default_num_threads, default_num_workers, extract  # noqa: E402
from zsl_lib.encoders.onnx_runtime import OnnxForward, onnxruntime_available  # noqa: E402


def _synthetic(n: int, size: int, tmp: Path) -> ImageDataset:
    rng = np.random.default_rng(0)
    items = []
    for i in range(n):
        p = tmp / f"{size}-{i}.jpg"
        Image.fromarray(rng.integers(0, 256, (size, size, 3), dtype=np.uint8)).save(p)
        items.append(str(p))
    return ImageDataset(name=f"synthetic{size}", split="bench", items=items, labels=np.zeros(n, int),
                        class_names=["x"], fingerprint=f"bench-{n}-{size}")


def _dataset(kind: str, n: int, tmp: Path) -> ImageDataset:
    if config.mirror_dir() is not None:
        from zsl_lib.data import load_dataset

        try:
            ds = load_dataset("cifar10", split="test") if kind == "cifar" else load_dataset("fashion-products", split="all")
            return ds.subset(np.sort(np.random.default_rng(0).choice(len(ds), n, replace=False)))
        except Exception as e:  # noqa: BLE001
            print(f"(real data unavailable: {e}; using synthetic images)")
    return _synthetic(n, 32 if kind == "cifar" else 224, tmp)


def _best_of(options: dict, repeats: int) -> dict[str, float]:
    """Best wall time of each zero-argument callable, rounds interleaved across the options."""
    best = dict.fromkeys(options, float("inf"))
    for _ in range(repeats):
        for name, fn in options.items():
            t = time.perf_counter()
            fn()
            best[name] = min(best[name], time.perf_counter() - t)
    return best


class _Forward(torch.nn.Module):
    """``encoder.forward`` as a module (what the ONNX exporter traces)."""

    def __init__(self, encoder):
        super().__init__()
        self.encoder, self.net = encoder, encoder.model

    def forward(self, x):
        return self.encoder.forward(x)


def _with_threads(n, fn):
    def run(*args):
        old = torch.get_num_threads()
        torch.set_num_threads(n)
        try:
            return fn(*args)
        finally:
            torch.set_num_threads(old)
    return run


def network_options(name: str, x: torch.Tensor, compile_: bool) -> dict:
    """name -> callable(batch) returning features; the first is today's default forward pass."""
    kw = {"runtime": "torch"} if name == "efficientnet-lite0" else {}
    enc = create_encoder(name, **kw)
    model = enc.model
    th = default_num_threads()

    def eager(batch, grad_ctx=torch.inference_mode):
        with grad_ctx():
            return enc.forward(batch)

    def nchw(batch):
        with torch.inference_mode():
            model.to(memory_format=torch.contiguous_format)
            try:
                return model(batch) if name == "efficientnet-lite0" else model.features(batch)
            finally:
                model.to(memory_format=torch.channels_last)

    opts = {f"eager torch (today), {th} threads": _with_threads(th, lambda b: eager(b))}
    for t in sorted({1, 2} - {th}):
        opts[f"eager torch, {t} thread(s)"] = _with_threads(t, lambda b: eager(b))
    opts["eager torch NCHW (not channels-last)"] = _with_threads(th, nchw)
    opts["eager torch no_grad (not inference_mode)"] = _with_threads(th, lambda b: eager(b, torch.no_grad))
    if compile_:
        try:
            t0 = time.perf_counter()
            compiled = torch.compile(_Forward(enc))
            with torch.inference_mode():
                compiled(x)
            print(f"torch.compile: {time.perf_counter() - t0:.0f} s to compile")

            def run_compiled(b):
                with torch.inference_mode():
                    return compiled(b)
            opts["torch.compile (inductor)"] = _with_threads(th, run_compiled)
        except Exception as e:  # noqa: BLE001
            print(f"torch.compile unavailable: {type(e).__name__}: {str(e)[:200]}")
    if onnxruntime_available():
        ort = OnnxForward(_Forward(enc), enc.name, enc.cache_key, tuple(x.shape[1:]))
        for t in (1, 2):
            opts[f"onnxruntime, {t} thread(s)"] = _with_threads(t, ort)
    else:
        print("onnxruntime not installed (pip install onnxruntime onnx)")
    if importlib.util.find_spec("openvino") is not None and onnxruntime_available():
        import openvino as ov

        core = ov.Core()
        graph = core.read_model(str(ort.path))
        for t in (1, 2):
            cm = core.compile_model(graph, "CPU", {"INFERENCE_NUM_THREADS": t, "INFERENCE_PRECISION_HINT": "f32"})
            opts[f"openvino, {t} thread(s)"] = lambda b, cm=cm: torch.from_numpy(cm(b.numpy())[0])
    return opts


def bench_network(name: str, ds: ImageDataset, batch: int, repeats: int, compile_: bool) -> list[tuple]:
    enc = create_encoder(name)
    x = torch.stack([enc.preprocess(ds.get_image(i)) for i in range(min(batch, len(ds)))])
    opts = network_options(name, x, compile_)
    ref = None
    outs = {}
    for k, fn in opts.items():
        outs[k] = fn(x).float().numpy()  # warm-up and the numbers
        ref = outs[k] if ref is None else ref
    best = _best_of({k: (lambda fn=fn: fn(x)) for k, fn in opts.items()}, repeats)
    ref_rate = len(x) / next(iter(best.values()))
    return [(k, len(x) / best[k], len(x) / best[k] / ref_rate, float(np.abs(outs[k] - ref).max()))
            for k in opts]


def bench_end_to_end(name: str, ds: ImageDataset, repeats: int) -> list[tuple]:
    eager = create_encoder(name, runtime="torch") if name == "efficientnet-lite0" else create_encoder(name)
    fast = create_encoder(name)
    bs, nw, th = fast.default_batch_size, default_num_workers(fast, len(ds)), default_num_threads()
    rt = getattr(fast, "active_runtime", "torch")
    # (encoder, batch, workers, forward threads, preprocessing threads: None = as the forward pass)
    configs = {f"today: eager torch, batch {bs}, {nw} workers, {th} threads": (eager, bs, nw, th, None),
               f"new default: {rt}, {th} threads, 1-thread preprocessing": (fast, bs, nw, th, 1),
               "  data side alone: eager torch, 1-thread preprocessing": (eager, bs, nw, th, 1),
               "  eager torch, 1 thread (ZSL_TORCH_THREADS=1), 1-thread prep.": (eager, bs, nw, 1, 1),
               f"  runtime alone: {rt}, preprocessing at {th} threads": (fast, bs, nw, th, None)}
    if rt == "onnxruntime":
        configs.update({
            "  onnxruntime, 1 thread, 1-thread preprocessing": (fast, bs, 0, 1, 1),
            "  onnxruntime, 1 thread, 1 DataLoader worker": (fast, bs, 1, 1, 1),
            f"  onnxruntime, {th} threads, 1 DataLoader worker": (fast, bs, 1, th, 1),
            f"  onnxruntime, {th} threads, batch 16": (fast, 16, nw, th, 1)})
    run = {k: (lambda e=e, b=b, w=w, t=t, p=p: extract(ds, e, batch_size=b, progress=False, num_workers=w,
                                                       num_threads=t, preprocess_threads=p))
           for k, (e, b, w, t, p) in configs.items()}
    outs = {k: fn() for k, fn in run.items()}  # warm-up (model, session, worker start) and the numbers
    ref = next(iter(outs.values()))
    best = _best_of(run, repeats)
    ref_rate = len(ds) / next(iter(best.values()))
    return [(k, len(ds) / best[k], len(ds) / best[k] / ref_rate, float(np.abs(outs[k] - ref).max()))
            for k in configs]


def profile(name: str, ds: ImageDataset, batch: int) -> list[tuple]:
    """(stage, ms per image, part of today's path, part of the new default's path)."""
    eager = create_encoder(name, runtime="torch") if name == "efficientnet-lite0" else create_encoder(name)
    fast = create_encoder(name)
    n, th = len(ds), default_num_threads()
    with torch.inference_mode():  # warm-up: model load, ONNX session (2 threads), first-call costs
        warm = torch.stack([eager.preprocess(ds.get_image(0))] * 2)
        _with_threads(th, lambda: (eager.forward(warm), fast.forward(warm)))()
    t0 = time.perf_counter()
    ims = [ds.get_image(i) for i in range(n)]
    t1 = time.perf_counter()
    xs = _with_threads(th, lambda: [eager.preprocess(im) for im in ims])()
    t2 = time.perf_counter()
    _with_threads(1, lambda: [eager.preprocess(im) for im in ims])()
    t3 = time.perf_counter()
    batches = [torch.stack(xs[s:s + batch]) for s in range(0, n, batch)]
    t4 = time.perf_counter()
    with torch.inference_mode():
        _with_threads(th, lambda: [eager.forward(b) for b in batches])()
        t5 = time.perf_counter()
        _with_threads(th, lambda: [fast.forward(b) for b in batches])()
        t6 = time.perf_counter()
    target = 32 if "cifar" in name else 224
    draftable = sum(1 for im in ims if getattr(im, "format", None) == "JPEG" and min(im.size) >= 2 * target)
    sizes = sorted({im.size for im in ims})
    print(f"\n{name}: {n} images, sizes {sizes[:3]}{'...' if len(sizes) > 3 else ''}; "
          f"{draftable} of {n} large enough for PIL's JPEG draft mode to apply")
    rt = getattr(fast, "active_runtime", "torch")
    return [("decode (zip read + JPEG/PNG decode)", t1 - t0, True, True),
            (f"resize + crop + normalise, {th} torch threads", t2 - t1, True, False),
            ("resize + crop + normalise, 1 torch thread", t3 - t2, False, True),
            ("collate (stack)", t4 - t3, True, True),
            (f"network, eager torch, {th} threads", t5 - t4, True, False),
            (f"network, {rt}, {th} threads", t6 - t5, False, True)]


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=96, help="images per end-to-end measurement")
    ap.add_argument("--batch", type=int, default=32, help="images in the network-only batch")
    ap.add_argument("--repeats", type=int, default=2, help="rounds (best of)")
    ap.add_argument("--encoders", default="efficientnet-lite0")
    ap.add_argument("--compile", action="store_true", help="also time torch.compile (slow to compile)")
    args = ap.parse_args(argv)
    print(f"CPU cores: {os.cpu_count()}, torch {torch.__version__}, default threads {default_num_threads()}, "
          f"load average {os.getloadavg()}")
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.encoders.split(","):
            ds = _dataset("cifar" if "cifar" in name else "fashion", args.n, Path(tmp))
            print(f"\n== {name} on {ds.name}/{ds.split}: network only (batch of {args.batch})")
            print(f"{'option':<48}{'images/s':>10}{'vs today':>10}{'max |diff|':>12}")
            for k, rate, ratio, diff in bench_network(name, ds, args.batch, args.repeats, args.compile):
                print(f"{k:<48}{rate:>10.1f}{ratio:>10.2f}{diff:>12.2e}")
            print(f"\n== {name} on {ds.name}/{ds.split}: end to end, extract() over {len(ds)} images")
            print(f"{'setting':<62}{'images/s':>10}{'vs today':>10}{'max |diff|':>12}")
            for k, rate, ratio, diff in bench_end_to_end(name, ds, args.repeats):
                print(f"{k:<62}{rate:>10.1f}{ratio:>10.2f}{diff:>12.2e}")
            rows = profile(name, ds, args.batch)
            today, new = (sum(r[1] for r in rows if r[i]) for i in (2, 3))
            print(f"{'stage':<48}{'ms/image':>10}{'% today':>10}{'% new':>8}")
            for k, v, in_today, in_new in rows:
                pt = f"{100 * v / today:.0f}" if in_today else "-"
                pn = f"{100 * v / new:.0f}" if in_new else "-"
                print(f"{k:<48}{1e3 * v / len(ds):>10.2f}{pt:>10}{pn:>8}")
    print(f"\nload average after: {os.getloadavg()} (the machine is shared: compare ratios within a run)")


if __name__ == "__main__":
    main()
