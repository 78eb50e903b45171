"""Cost of the user-image cache key against extracting the embeddings it guards (issue 22, item 5).

A user's image folder is keyed by :func:`zsl_lib.data.user.file_stat_fingerprint`. A key of names,
sizes and modification times missed an image replaced by a same-size copy that kept the old mtime
(``cp -p``, ``rsync -t``): the old embedding came back. Two keys a copy cannot fake cheaply:
the change time (``st_ctime_ns``, set by the kernel on every write; free, but it also changes on
``chmod``/``mv``/a restore, so it re-extracts needlessly) and a SHA-256 of each file's content
(what the lab uses). This script times, on ``--n`` generated JPEGs (``--size`` pixels, noisy so
the files are as large as photos), the old stat key, the ctime key, the content key read from the
page cache and read cold (pages dropped with ``posix_fadvise``), and
:func:`zsl_lib.encoders.embedding.extract` with ``--encoder`` (no cache), and prints each key's
time as a percentage of extraction. The lab's threshold: under 5 %.

    python benchmarks/bench_cache_key.py            # ~1 min on a busy 2-core CPU
    python benchmarks/bench_cache_key.py --n 256 --size 512
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from zsl_lib.data import load_dataset  # noqa: E402
from zsl_lib.data.base import fingerprint_of  # noqa: E402
from zsl_lib.data.user import file_stat_fingerprint  # noqa: E402
from zsl_lib.encoders import create_encoder  # noqa: E402
from zsl_lib.encoders.embedding import extract  # noqa: E402


def stat_key(paths, ctime: bool) -> str:
    st = [os.stat(p) for p in paths]
    cols = [np.array(paths, dtype=object).astype(str), np.array([s.st_size for s in st]),
            np.array([s.st_mtime_ns for s in st])]
    if ctime:
        cols.append(np.array([s.st_ctime_ns for s in st]))
    return fingerprint_of(*cols)


def drop_page_cache(paths) -> None:
    for p in paths:
        fd = os.open(p, os.O_RDONLY)
        try:
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        finally:
            os.close(fd)


def best(fn, repeats: int, before=None) -> float:
    times = []
    for _ in range(repeats):
        if before is not None:
            before()
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=96, help="images (default 96)")
    ap.add_argument("--size", type=int, default=320, help="image side in pixels (default 320)")
    ap.add_argument("--encoder", default="efficientnet-lite0")
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args(argv)
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as tmp:
        for c in range(2):
            (Path(tmp) / f"class{c}").mkdir()
        for i in range(args.n):
            base = rng.integers(0, 255, (8, 8, 3), dtype=np.uint8)
            img = np.kron(base, np.ones((args.size // 8, args.size // 8, 1), np.uint8))
            img = np.clip(img + rng.normal(0, 12, img.shape), 0, 255).astype(np.uint8)
            Image.fromarray(img).save(Path(tmp) / f"class{i % 2}" / f"{i:04d}.jpg", quality=90)
        ds = load_dataset("image-folder", root=tmp)
        paths = list(ds.items)
        mb = sum(os.path.getsize(p) for p in paths) / 2**20
        encoder = create_encoder(args.encoder)
        t_extract = best(lambda: extract(ds, encoder, progress=False), 1)
        rows = [
            ("names, sizes, mtimes (old key)", best(lambda: stat_key(paths, False), args.repeats)),
            ("+ change time (ctime)", best(lambda: stat_key(paths, True), args.repeats)),
            ("content SHA-256 (page cache)", best(lambda: file_stat_fingerprint(paths), args.repeats)),
            ("content SHA-256 (cold read)",
             best(lambda: file_stat_fingerprint(paths), args.repeats, lambda: drop_page_cache(paths))),
        ]
    print(f"{args.n} JPEGs of {args.size}x{args.size} ({mb:.1f} MiB); extraction with {args.encoder}: "
          f"{t_extract:.2f} s ({t_extract / args.n * 1e3:.1f} ms/image)")
    print(f"{'cache key':34s} {'seconds':>9s} {'% of extraction':>16s}")
    for name, t in rows:
        print(f"{name:34s} {t:9.4f} {100 * t / t_extract:15.2f}%")


if __name__ == "__main__":
    main()
