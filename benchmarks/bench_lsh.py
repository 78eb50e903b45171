"""Hashing and candidate-lookup throughput of the bucket indexes vs FAISS IndexLSH at equal bits.

Issue 7: "hashing and candidate lookup throughput of each index against FAISS IndexLSH at the
same bits". For each number of bits (one table), on a clustered synthetic gallery (50,000 x
512-d) and 10,000 queries, timed in the same run:

- hash: computing the codes of the gallery (``fit`` minus the table build for ours; ``add`` for
  FAISS, which hashes and stores the codes);
- lookup: candidates of every query (ours: hash the queries + probe the sorted table; FAISS: the
  exhaustive Hamming scan returning the 100 nearest codes, its way of producing candidates).

    python benchmarks/bench_lsh.py [--n 50000 --nq 10000 --d 512 --bits 16 32 64]

Neural LSH hashing is timed with an untrained network of the report's shape (training is not a
hashing cost); k-means with K = 2**bits buckets is timed for the lookup only (predict + probe).
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from zsl_lib.index.buckets import BucketTable, bits_to_keys, union_candidates
from zsl_lib.index.lsh import RandomHyperplaneLSH
from zsl_lib.index.neural_lsh import NeuralHashNetwork


def timed(fn, *args):
    t0 = time.perf_counter()
    out = fn(*args)
    return time.perf_counter() - t0, out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=50_000)
    ap.add_argument("--nq", type=int, default=10_000)
    ap.add_argument("--d", type=int, default=512)
    ap.add_argument("--bits", type=int, nargs="+", default=[16, 32, 64])
    args = ap.parse_args(argv)
    import faiss

    rng = np.random.default_rng(0)
    centres = rng.standard_normal((256, args.d)).astype(np.float32)
    X = centres[rng.integers(0, 256, args.n)] + 0.5 * rng.standard_normal(
        (args.n, args.d), dtype=np.float32
    )
    Q = centres[rng.integers(0, 256, args.nq)] + 0.5 * rng.standard_normal(
        (args.nq, args.d), dtype=np.float32
    )
    net = NeuralHashNetwork(800)  # untrained, the report's shape
    net.weight_ = rng.standard_normal((args.d, 800)).astype(np.float32) / np.sqrt(args.d)
    net.bias_ = np.zeros(800, np.float32)
    net.mean_, net.scale_, net.dim_ = (
        np.zeros(args.d, np.float32),
        np.ones(args.d, np.float32),
        args.d,
    )
    print(
        f"gallery {args.n} x {args.d}, {args.nq} queries; M items/s (higher is better), ratio = ours / FAISS time"
    )
    print(
        f"{'bits':>4s} {'method':22s} {'hash M/s':>9s} {'lookup M/s':>10s} {'hash ratio':>10s} {'lookup ratio':>12s} {'cand/query':>10s}"
    )
    for b in args.bits:
        flsh = faiss.IndexLSH(args.d, b, True, False)
        flsh.train(X)
        t_fh, _ = timed(flsh.add, X)
        t_fl, _ = timed(flsh.search, Q, 100)
        print(
            f"{b:4d} {'faiss IndexLSH':22s} {args.n / t_fh / 1e6:9.2f} {args.nq / t_fl / 1e6:10.3f} {1:10.2f} {1:12.2f} {100:10d}"
        )

        lsh = RandomHyperplaneLSH(b, 1, random_state=0).fit(X[:10])  # draws the hyperplanes
        t_h, keys = timed(lambda h, A: bits_to_keys(h(A)), lsh.hash, X)
        table = [BucketTable(keys[:, 0])]
        t_l, (indptr, _) = timed(
            lambda t, h: union_candidates(t, bits_to_keys(h(Q)), args.n), table, lsh.hash
        )
        print(
            f"{b:4d} {'random hyperplanes':22s} {args.n / t_h / 1e6:9.2f} {args.nq / t_l / 1e6:10.3f} "
            f"{t_h / t_fh:10.2f} {t_l / t_fl:12.2f} {indptr[-1] / args.nq:10.1f}"
        )

        sel = np.sort(rng.choice(800, b, replace=False))
        t_h, nkeys = timed(lambda cols: bits_to_keys(net.hash(X, cols)), sel)
        ntable = [BucketTable(nkeys)]
        t_l, (indptr, _) = timed(
            lambda t, cols: union_candidates(t, bits_to_keys(net.hash(Q, cols))[:, None], args.n),
            ntable,
            sel,
        )
        print(
            f"{b:4d} {'neural LSH (d->800)':22s} {args.n / t_h / 1e6:9.2f} {args.nq / t_l / 1e6:10.3f} "
            f"{t_h / t_fh:10.2f} {t_l / t_fl:12.2f} {indptr[-1] / args.nq:10.1f}"
        )


if __name__ == "__main__":
    main()
