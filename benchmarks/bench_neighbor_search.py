"""Neighbour-search throughput at the thesis's scale (Bynke 2022: 25,331 test queries against
75,992 reference images, 512-d CLIP features, 159 keywords).

Compares, in the same run on the same data:

* the bare chunked matrix product ``Q @ R.T`` (the unavoidable work; the reference),
* :class:`zsl_lib.zeroshot.neighbors.NeighborSearch` (exact top-k + filter + softmax +
  cumulative-weight stop + sparse label sum), goal >= 0.5x the bare product's throughput, with
  each candidate-search backend: torch (BLAS product + ``torch.topk`` per chunk, the default),
  FAISS ``IndexFlatIP``, numpy (``argpartition`` per chunk),
* a per-query Python loop (the naive implementation), timed on a subset and extrapolated.

Memory: the numpy path holds one ``chunk_size x n_reference`` float32 block at a time (printed);
peak resident memory of the process is printed too.

Usage: ``python benchmarks/bench_neighbor_search.py [--queries 25000 --references 76000 --dim 512]``
(``--quick`` divides the sizes by 10). Measured on the shared 2-core CPU (``--backends torch,faiss``)::

    bare chunked matrix product :    39.20 s         638 queries/s
    neighbour search (torch)  :    38.53 s         649 queries/s  ratio to bare product 1.02x
    neighbour search (faiss)  :    53.86 s         464 queries/s  ratio to bare product 0.73x
    per-query loop (extrapolated from 200):  1119.27 s          22 queries/s
    RATIOS  model / bare product throughput: 1.02x (goal >= 0.5x); model / per-query loop: 29.1x faster

(The torch path can beat the "bare" product: its product runs through the same BLAS, and
``torch.topk`` on the block is cheap next to it.)
"""

from __future__ import annotations

import argparse
import resource
import time

import numpy as np

from zsl_lib.validation import l2_normalize
from zsl_lib.zeroshot.neighbors import NeighborSearch


def bare_product(Q, R, chunk):
    s = 0.0
    for i in range(0, len(Q), chunk):
        S = Q[i:i + chunk] @ R.T
        s += float(S[0, 0])  # keep the product from being optimised away
    return s


def per_query_loop(Q, R, Y, T, diff, k, stop=0.99):
    out = np.zeros((len(Q), Y.shape[1]), np.float32)
    for qi, q in enumerate(Q):
        sims = R @ q
        top = np.argsort(-sims)[:k]
        z = T * sims[top]
        keep = top[z >= z[0] - diff]
        w = np.exp(T * sims[keep] - z[0])
        w /= w.sum()
        cum = 0.0
        for i, wi in zip(keep, w):
            if cum >= stop:
                break
            out[qi] += wi * Y[i]
            cum += wi
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--queries", type=int, default=25_000)
    ap.add_argument("--references", type=int, default=76_000)
    ap.add_argument("--dim", type=int, default=512)
    ap.add_argument("--classes", type=int, default=159)
    ap.add_argument("--chunk", type=int, default=2048)
    ap.add_argument("--loop-queries", type=int, default=200, help="queries timed in the per-query loop")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--backends", default="torch,faiss,numpy", help="comma-separated candidate-search backends")
    ap.add_argument("--quick", action="store_true", help="sizes / 10")
    a = ap.parse_args()
    if a.quick:
        a.queries, a.references = a.queries // 10, a.references // 10
    import torch

    torch.set_num_threads(a.threads)
    torch.topk(torch.zeros(4, 8), 2)  # warm-up: thread pool and kernels
    try:
        import faiss

        faiss.omp_set_num_threads(a.threads)
    except ImportError:
        pass
    rng = np.random.default_rng(0)
    # clustered features, like image embeddings: 500 centres plus noise
    centres = rng.normal(size=(500, a.dim)).astype(np.float32)
    R = l2_normalize(centres[rng.integers(0, 500, a.references)] + 0.7 * rng.normal(size=(a.references, a.dim)).astype(np.float32))
    Q = l2_normalize(centres[rng.integers(0, 500, a.queries)] + 0.7 * rng.normal(size=(a.queries, a.dim)).astype(np.float32))
    Y = (rng.random((a.references, a.classes)) < 0.012).astype(np.float32)
    Y[np.arange(a.references), rng.integers(0, a.classes, a.references)] = 1
    params = dict(temperature=68.566, max_sim_diff=5.2568, max_neighbors=36)  # the thesis's Table 4.3
    print(f"{a.queries} queries x {a.references} references x {a.dim}-d, {a.classes} keywords, "
          f"params {params}, chunk {a.chunk}")

    t = time.perf_counter()
    bare_product(Q, R, a.chunk)
    t_bare = time.perf_counter() - t
    print(f"bare chunked matrix product : {t_bare:8.2f} s  {a.queries / t_bare:10.0f} queries/s")

    rows = {}
    for backend in a.backends.split(","):
        m = NeighborSearch(**params, backend=backend, chunk_size=a.chunk).fit(R, Y)
        t = time.perf_counter()
        P = m.predict_proba(Q)
        rows[backend] = time.perf_counter() - t
        print(f"neighbour search ({backend:5s})  : {rows[backend]:8.2f} s  {a.queries / rows[backend]:10.0f} queries/s"
              f"  ratio to bare product {t_bare / rows[backend]:.2f}x")

    nl = min(a.loop_queries, a.queries)
    t = time.perf_counter()
    P_loop = per_query_loop(Q[:nl], R, Y, params["temperature"], params["max_sim_diff"], params["max_neighbors"])
    t_loop = (time.perf_counter() - t) * a.queries / nl
    print(f"per-query loop (extrapolated from {nl}): {t_loop:8.2f} s  {a.queries / t_loop:10.0f} queries/s")
    print(f"  agreement with the model on those {nl} queries: max |diff| = {np.abs(P_loop - P[:nl]).max():.2e}")
    best = min(rows.values())
    print(f"\nRATIOS  model / bare product throughput: {t_bare / best:.2f}x (goal >= 0.5x); "
          f"model / per-query loop: {t_loop / best:.1f}x faster")
    print(f"MEMORY  numpy path block: {a.chunk} x {a.references} x 4 B = {a.chunk * a.references * 4 / 2**20:.0f} MiB "
          f"(references {R.nbytes / 2**20:.0f} MiB); peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**10:.0f} MiB")


if __name__ == "__main__":
    main()
