"""Build and query time of BLISS (the report's and the fixed one) against FAISS k-means IVF.

Notebook 01, section 4 ("Real image features"): same data, same number of buckets, queries probed
so that about 5% of the gallery is scanned. Prints seconds and the ratio BLISS / IVF measured in
this run (no absolute goal: the machine is shared).

    python benchmarks/bench_bliss_vs_ivf.py                 # CIFAR-10 test features (resnet56-cifar10)
    python benchmarks/bench_bliss_vs_ivf.py --synthetic     # Gaussian mixture, no data needed

Query times are the fastest of ``--repeats`` runs of ``search()`` (network, candidate counting and
re-rank, each once), build times the fastest of ``--build-repeats`` builds (BLISS fits are
deterministic). ``bliss_fixed`` is notebook 01's setting; ``bliss_fixed_fast sN`` is
:data:`zsl_lib.index.bliss_fixed.FAST_DEFAULTS` with seed N (R = 2 networks of 128 hidden units
trained 4 epochs on a random third of the gallery with 10 true neighbours each, FAISS k-means starts
of 5 iterations, re-assignment every 2 epochs by the compiled greedy pass; a query re-ranks the union
of its top 3 buckets per repetition). The query of all of them is R batched forward passes
(``torch.bmm``), a partial sort of the logits for the probed buckets and one compiled call that
counts the probed inverted lists, scores the items reaching ``min_freq`` and keeps a running top-k
(:func:`zsl_lib.index.bliss_query.frequent_topk`). The build of the full-gallery settings is
dominated by the exact neighbour graph of their training targets (the last line prints its cost
against the IVF build) and the training; ``ivf_kmeans pN`` rows probe N lists, so that IVF scans
as much of the gallery as the fast BLISS does. Output on the 2-core CPU (two runs a minute apart;
ratios are what to compare)::

    9000 gallery x 64-d, 1000 queries, B=64 buckets, threads=1
    method                build_s  query_s  build/ivf  query/ivf  recall@10  scanned
    ivf_kmeans               0.02    0.012        1.0        1.0      0.924    0.052
    ivf_kmeans p4            0.02    0.014        1.0        1.2      0.959    0.067
    ivf_kmeans p5            0.02    0.016        1.0        1.4      0.975    0.081
    bliss_report             9.87    0.036      406.0        3.1      0.742    0.069
    bliss_fixed              8.52    0.032      350.7        2.7      0.928    0.050
    bliss_fixed_fast s0      0.27    0.020       11.0        1.7      0.941    0.081
    bliss_fixed_fast s1      0.25    0.018       10.5        1.5      0.956    0.078
    bliss_fixed_fast s2      0.26    0.020       10.9        1.7      0.944    0.081
    BLISS's exact 32-neighbour graph of the gallery (its training targets) alone: 0.37 s = 15.1x the IVF build; the fast one's (10 neighbours of 3000 training items): 0.13 s = 5.6x

    (second run: fast build 14.6x / 15.3x / 16.5x, query 2.3x / 2.6x / 2.4x; IVF's build 0.019 s)

Read with the scanned column: the fast BLISS reaches IVF's recall at 5% (0.924) only by scanning
about 8% of the gallery, where IVF itself recalls 0.975; per scanned item IVF is the better index
here. Notebook 01's fixed BLISS is the one that beats IVF at equal scan (0.928 vs 0.924 at 5%), for
about 350x its build.
"""

from __future__ import annotations

import argparse
import time

import numpy as np


def best_of(fn, repeats: int):
    """(fastest wall time of ``repeats`` calls, the last result): a shared machine's load only adds time."""
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return min(times), out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--synthetic", action="store_true", help="Gaussian mixture instead of CIFAR-10 features")
    ap.add_argument("--n-queries", type=int, default=1000)
    ap.add_argument("--buckets", type=int, default=64)
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--hidden", type=int, default=512, help="hidden units of the BLISS networks (notebook 01: 512)")
    ap.add_argument("--fast-seeds", type=int, default=3, help="seeds of the bliss_fixed_fast rows (recall varies with the seed)")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--repeats", type=int, default=5, help="query timings: the fastest of this many runs (both methods)")
    ap.add_argument("--ivf-probes", type=int, nargs="*", default=[4, 5],
                    help="extra IVF rows probing this many lists (the scanned fraction of the BLISS rows)")
    ap.add_argument("--build-repeats", type=int, default=3, help="build timings: the fastest of this many builds (both methods)")
    args = ap.parse_args()

    import faiss
    import torch

    from zsl_lib.index.bliss import BLISS
    from zsl_lib.index.bliss_fixed import FAST_DEFAULTS, FIXED_DEFAULTS
    from zsl_lib.index.exact import exact_topk
    from zsl_lib.metrics.retrieval import recall_at_k
    from zsl_lib.validation import l2_normalize

    torch.set_num_threads(args.threads)
    faiss.omp_set_num_threads(args.threads)
    if args.synthetic:
        rng = np.random.default_rng(0)
        C = rng.normal(size=(50, 64))
        y = rng.integers(0, 50, 10000)
        F = (C[y] + 0.7 * rng.normal(size=(10000, 64))).astype(np.float32)
    else:
        from zsl_lib.data import load_dataset
        from zsl_lib.encoders import embed

        F = embed(load_dataset("cifar10", split="test"), "resnet56-cifar10")
    F = l2_normalize(F.astype(np.float32))
    perm = np.random.default_rng(0).permutation(len(F))
    Q, X = np.ascontiguousarray(F[perm[: args.n_queries]]), np.ascontiguousarray(F[perm[args.n_queries :]])
    _, truth = exact_topk(Q, X, 10, metric="ip")
    B = args.buckets
    nprobe = max(1, round(0.05 * B))
    rows = []

    def build_ivf():
        quant = faiss.IndexFlatIP(X.shape[1])
        ivf = faiss.IndexIVFFlat(quant, X.shape[1], B, faiss.METRIC_INNER_PRODUCT)
        ivf.train(X)
        ivf.add(X)
        return quant, ivf

    build, (quant, ivf) = best_of(build_ivf, args.build_repeats)
    _, lists = quant.search(X, 1)
    sizes = np.bincount(lists[:, 0], minlength=B)
    # at the 5% of the goal, then probing as many lists as BLISS scans (the fair comparison per scanned item)
    for name, p in [("ivf_kmeans", nprobe), *[(f"ivf_kmeans p{p}", p) for p in args.ivf_probes]]:
        ivf.nprobe = p
        query, (_, ids) = best_of(lambda: ivf.search(Q, 10), args.repeats)
        _, probed = quant.search(Q, p)
        rows.append((name, build, query, recall_at_k(ids, truth), sizes[probed].sum(1).mean() / len(X)))

    import sklearn.cluster  # noqa: F401  (imported before timing: an import is not build work)

    common = dict(n_buckets=B, n_repetitions=4, epochs=args.epochs, n_neighbors=32, batch_size=64, hidden_dim=args.hidden,
                  distance="cosine", n_rerank=None)
    fixed = {**common, **FIXED_DEFAULTS, "k_choices": 2, "capacity": 1.2}
    fast = {**common, **FAST_DEFAULTS}
    for name, params, m, f in [
        ("bliss_report", {**common, "k_choices": 4}, 1, 1),
        ("bliss_fixed", fixed, 4, 3),
        *[(f"bliss_fixed_fast s{s}", {**fast, "random_state": s}, fast["n_probe"], fast["min_freq"])
          for s in range(args.fast_seeds)],
    ]:
        fit_s, model = best_of(lambda params=params: BLISS(**params).fit(X), args.build_repeats)  # deterministic fits
        model.search(Q[:2], 10, m=m, min_freq=f, n_rerank=None)  # compiles the counting kernel once (cached on disk)
        # timed: the query alone (network, candidate counting and re-rank, each once)
        query, (_, ids) = best_of(lambda model=model, m=m, f=f: model.search(Q, 10, m=m, min_freq=f, n_rerank=None),
                                  args.repeats)
        indptr, _ = model.candidates(Q, m=m, min_freq=f, n_rerank=None)  # untimed: the scanned fraction
        rows.append((name, fit_s, query, recall_at_k(ids, truth), np.diff(indptr).mean() / len(X)))

    from zsl_lib.index.bliss import true_neighbors

    # the exact neighbour graph of the training items, part of every BLISS build
    graph, _ = best_of(lambda: true_neighbors(X, common["n_neighbors"], "cosine"), 3)
    sample = np.random.default_rng(0).choice(len(X), round(fast["train_size"] * len(X)), replace=False)
    graph_fast, _ = best_of(lambda: true_neighbors(X, fast["n_neighbors"], "cosine", rows=sample), 3)
    b0, q0 = rows[0][1], rows[0][2]
    print(f"{len(X)} gallery x {X.shape[1]}-d, {len(Q)} queries, B={B} buckets, threads={args.threads}")
    print(f"{'method':<20}{'build_s':>9}{'query_s':>9}{'build/ivf':>11}{'query/ivf':>11}{'recall@10':>11}{'scanned':>9}")
    for name, b, q, r, s in rows:
        print(f"{name:<20}{b:>9.2f}{q:>9.3f}{b / b0:>11.1f}{q / q0:>11.1f}{r:>11.3f}{s:>9.3f}")
    print(f"BLISS's exact {common['n_neighbors']}-neighbour graph of the gallery (its training targets) alone: "
          f"{graph:.2f} s = {graph / b0:.1f}x the IVF build; the fast one's ({fast['n_neighbors']} neighbours of "
          f"{len(sample)} training items): {graph_fast:.2f} s = {graph_fast / b0:.1f}x")


if __name__ == "__main__":
    main()
