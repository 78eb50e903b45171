"""Indexes past RAM (issue 21): memory of the on-disk IVF build as the collection grows, its recall
against the in-memory IVF's, and how BLISS's cost against FAISS IVF moves with the gallery size.

Data: CIFAR-10 train + test (60,000 images) through EfficientNet-Lite0 (1280-d) and ResNet-56
(64-d), the lab's cached embeddings (``embed``); nothing is extracted here (the script stops if
they are not cached).

1. **Peak memory of the build.** Stores of the first 10k and of all 60k EfficientNet-Lite0
   vectors (shards of 10k) are indexed in a fresh child process each (IVF-Flat, 100 lists, trained
   on a 10k sample): the on-disk build (``OnDiskIVF``: parts per shard, merged on disk) against
   the in-memory reference (``store.to_array()`` then FAISS ``IndexIVFFlat.add``). Peak RSS is
   the child's ``VmHWM`` (it counts the pages of the memory-mapped part and list files the merge
   reads and writes, which the kernel may drop) and, sampled every 10 ms, the peak of its
   ``RssAnon`` (the memory the build itself holds); "above" subtracts the child's value after
   its imports (torch and FAISS alone take a few hundred MB). Goal: the on-disk build's peak grows by at most 1.3x
   while the data grows 6x. Both children's top-10 ids for 1,000 gallery queries give recall@10
   against exact search (goal: equal).
2. **BLISS against IVF as N grows.** Galleries of 9k and 59k vectors (1,000 other vectors
   are the queries), B = 64 * sqrt(N / 9000) buckets (IVF's usual sqrt(N) rule, 64 at 9k as in
   notebook 01): FAISS IVF, the fast fixed BLISS (``FAST_DEFAULTS``) and, on ResNet-56 only (its
   exact 32-neighbour graph of 59k x 1280-d items does not fit the time here), notebook 01's fixed
   BLISS. Each BLISS row gives its recall@10, scanned fraction and build time; IVF is queried
   with the number of lists that scans the same fraction (the nearest, at least as much), and its
   build time is the reference of the ratio. The paper's claim: BLISS's relative cost falls as N
   grows.

3. **Notebook 04 on a store over its memory budget.** Labelled stores of the first 10k and of all
   60k EfficientNet-Lite0 vectors (CIFAR-10 labels); a fresh child per run builds notebook 04's
   task from the store as user data (``load_user_task``, 10 % of each class held out as queries,
   500 of them measured) and runs exact search plus FAISS IVF (100 lists, 8 probes), once with the
   gallery in RAM (no budget) and once over a budget of 5 MB (gallery on disk, queries in batches
   of 100). Peak anonymous RSS above imports, precision@10 and recall@10 of both (goal: equal
   numbers, on-disk memory flat as the data grows 6x).

    python benchmarks/bench_scale_index.py                     # everything (11.4 min on the loaded shared 2-core CPU)
    python benchmarks/bench_scale_index.py --skip-memory       # only the BLISS question
    python benchmarks/bench_scale_index.py --only-nb04         # only part 3

Output on the shared 2-core CPU (load average 5-9 from other jobs; part 1 from a run with
``--skip-bliss`` after the anonymous-memory column was added, part 2 from the full run)::

      items  data_MB    build  peak_MB  above_imports  anon_peak  anon_above  seconds  recall@10
      10000       49   ondisk      851            188        535         165      4.1     0.9169
      10000       49 inmemory      840            178        535         165      2.3     0.9169
      60000      293   ondisk     1313            650        546         175      8.5     0.9415
      60000      293 inmemory     1583            920       1278         908     15.0     0.9415
    ondisk: data x6.0 -> peak RSS x1.54 (above imports x3.45), peak anonymous RSS x1.02 (above imports x1.06)
    inmemory: data x6.0 -> peak RSS x1.88 (above imports x5.18), peak anonymous RSS x2.39 (above imports x5.50)
    recall@10 at 10000: on-disk minus in-memory +0.0000
    recall@10 at 60000: on-disk minus in-memory +0.0000

    encoder                   N    B       method  build_s  build/ivf  scanned  recall@10  ivf_probe ivf_recall    diff
    resnet56-cifar10       9000   64          ivf     0.07        1.0    0.052      0.934
    resnet56-cifar10       9000   64         fast     3.39       50.9    0.081      0.948          5      0.981  -0.033
    resnet56-cifar10       9000   64        fixed    43.83      658.6    0.110      0.997          8      0.995  +0.003
    resnet56-cifar10      59000  164          ivf     0.61        1.0    0.053      0.990
    resnet56-cifar10      59000  164         fast    23.02       37.8    0.032      0.935          5      0.963  -0.029
    resnet56-cifar10      59000  164        fixed   269.07      442.0    0.053      0.995          8      0.990  +0.004
    efficientnet-lite0     9000   64          ivf     0.85        1.0    0.050      0.763
    efficientnet-lite0     9000   64         fast     6.07        7.1    0.090      0.738          6      0.894  -0.156
    efficientnet-lite0    59000  164          ivf     8.29        1.0    0.051      0.907
    efficientnet-lite0    59000  164         fast   134.63       16.2    0.037      0.695          6      0.862  -0.166

Read: the on-disk build's own memory (anonymous RSS) stays flat while the data grows 6x (x1.02;
the in-memory build's x2.39), and it answers exactly as the in-memory IVF does. Its ``VmHWM``
grows x1.54 (above the 1.3x goal): the merge touches every page of the memory-mapped part and
list files, which counts in RSS although the kernel can drop them. BLISS: its build costs 7-660x
IVF's. On ResNet-56 that ratio falls with N (fast 50.9x -> 37.8x, fixed 659x -> 442x); on
EfficientNet-Lite0 the fast one's rises (7.1x -> 16.2x: its exact neighbour graph of 1280-d items
grows as N^2). At equal scanned fraction only the fixed BLISS matches IVF (+0.003, +0.004 recall@10);
the fast one stays below it (-0.03 on ResNet-56, -0.16 on EfficientNet-Lite0) at both sizes.
One run, one seed: single-run timings on a loaded machine.

Part 3 (``--only-nb04``, idle machine; ``benchmarks/results/scale_nb04.txt``)::

      items  data_MB  gallery          task  anon_above  seconds  exact_p@10  ivf_p@10  ivf_recall@10
      10000       49      ram RetrievalTask         289      4.3       60.60     60.58          90.72
      10000       49     disk    OnDiskTask         253      2.4       60.60     61.24          90.20
      60000      293      ram RetrievalTask        1294     16.5       68.12     67.90          93.18
      60000      293     disk    OnDiskTask         331      5.2       68.12     67.60          92.20
    ram: data x6.0 -> peak anonymous RSS above imports x4.48
    disk: data x6.0 -> peak anonymous RSS above imports x1.31

Read: over its budget, notebook 04's memory grows by 78 MB while the data grows by 244 MB (x1.31
for 6x the data: a store piece, the label and item tables, the IVF part being built; x4.48 with
the gallery in RAM) and exact search gives the same numbers; the on-disk IVF trains on a
3,900-vector sample (39 per list: a 5 MB budget holds fewer) instead of the whole gallery, which
moves its recall@10 by under one point here. The in-RAM run is slower because it also computes
the mAP over the whole gallery and FAISS's exact search.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def rss_mb() -> float:
    """Peak RSS of this process in MB: ``VmHWM`` (per address space, so fresh after the child's
    exec; ``ru_maxrss`` of a forked child starts at its parent's peak, the 60k arrays included)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # not Linux: KiB on Linux, bytes on macOS


def _status_mb(key: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


class AnonPeak:
    """Peak of ``RssAnon`` (the process's own memory, without the file pages it maps), sampled every
    10 ms by a thread. ``VmHWM`` also counts the pages of memory-mapped files the merge reads and
    writes: the kernel can write those back and drop them, so they do not need RAM."""

    def __init__(self):
        import threading

        self.base = self.peak = _status_mb("RssAnon")
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)
        self._t.start()

    def _run(self):
        while not self._stop.wait(0.01):
            self.peak = max(self.peak, _status_mb("RssAnon"))

    def stop(self) -> float:
        self._stop.set()
        self._t.join()
        return max(self.peak, _status_mb("RssAnon"))


def child(mode: str, store_dir: str, out: str, n_lists: int, train: int) -> None:
    """One build in this (fresh) process; writes peak RSS, RSS after imports, seconds and ids."""
    import faiss

    from zsl_lib.data.store import Store
    from zsl_lib.index.ondisk import OnDiskIVF
    from zsl_lib.validation import l2_normalize

    faiss.omp_set_num_threads(1)
    base = rss_mb()
    anon = AnonPeak()
    store = Store.open(store_dir)
    Q = np.load(Path(out).with_suffix(".queries.npy"))
    t = time.perf_counter()
    if mode == "ondisk":
        ix = OnDiskIVF(n_lists=n_lists, n_probe=8, train_size=train, directory=Path(out).with_suffix(".ix")).fit(store)
        seconds = time.perf_counter() - t
        _, ids = ix.search(Q, 10)
    else:  # the in-memory reference: same sample, same seed, everything in RAM
        X = l2_normalize(store.to_array())
        rows = np.sort(np.random.default_rng(0).choice(len(X), min(train, len(X)), replace=False))
        ref = OnDiskIVF(n_lists=n_lists).empty_index(X.shape[1])
        ref.train(np.ascontiguousarray(X[rows]))
        ref.add(X)
        seconds = time.perf_counter() - t
        ref.nprobe = 8
        _, ids = ref.search(l2_normalize(Q), 10)
    np.save(Path(out).with_suffix(".ids.npy"), ids)
    Path(out).write_text(json.dumps({"peak": rss_mb(), "base": base, "seconds": seconds, "anon": anon.stop(),
                                     "anon_base": anon.base}))


def nb04_child(mode: str, store_dir: str, out: str) -> None:
    """Notebook 04's exact search + FAISS IVF on a labelled store, gallery in RAM or on disk."""
    from zsl_lib.experiments import lsh as E

    base = rss_mb()
    anon = AnonPeak()
    t = time.perf_counter()
    budget = 5e-3 if mode == "disk" else None
    task = E.load_user_task({"embeddings": store_dir}, n_queries=500, progress=False, memory_budget_gb=budget)
    if mode == "disk":
        task.query_batch = 100
    exact = E.exact_baselines(task, n_threads=1)
    grid = E.run_grid(task, E.grid_specs(ivf_lists=[100], ivf_probes=[8]), progress=False)
    seconds = time.perf_counter() - t
    row = grid.iloc[0]
    Path(out).write_text(json.dumps({
        "peak": rss_mb(), "base": base, "anon": anon.stop(), "anon_base": anon.base, "seconds": seconds,
        "type": type(task).__name__, "exact_p10": float(exact.p_at_10.iloc[0]), "ivf_p10": float(row.p_at_10),
        "ivf_recall": float(row.recall_at_10)}))


def nb04_part(F: np.ndarray, y: np.ndarray, args) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="bench-nb04-"))
    print("\n3. notebook 04 on a labelled store: gallery in RAM (no budget) vs on disk (budget 5 MB), one child each")
    print(f"{'items':>7}{'data_MB':>9}{'gallery':>9}{'task':>14}{'anon_above':>12}{'seconds':>9}{'exact_p@10':>12}"
          f"{'ivf_p@10':>10}{'ivf_recall@10':>15}")
    order = np.random.default_rng(0).permutation(len(F))  # the splits are stored class by class
    F, y = F[order], y[order]
    res = {}
    for n in args.sizes:
        sd = tmp / f"store{n}"
        write_store(sd, F[:n], labels=y[:n])
        for mode in ("ram", "disk"):
            out = tmp / f"nb04-{mode}{n}.json"
            subprocess.run([sys.executable, __file__, "--nb04-child", mode, str(sd), str(out)], check=True,
                           stdout=subprocess.DEVNULL)
            r = res[mode, n] = json.loads(out.read_text())
            print(f"{n:>7}{F[:n].nbytes / 2**20:>9.0f}{mode:>9}{r['type']:>14}{r['anon'] - r['anon_base']:>12.0f}"
                  f"{r['seconds']:>9.1f}{r['exact_p10']:>12.2f}{r['ivf_p10']:>10.2f}{r['ivf_recall']:>15.2f}")
    a, b = args.sizes[0], args.sizes[-1]
    for mode in ("ram", "disk"):
        r0, r1 = res[mode, a], res[mode, b]
        print(f"{mode}: data x{b / a:.1f} -> peak anonymous RSS above imports "
              f"x{(r1['anon'] - r1['anon_base']) / max(r0['anon'] - r0['anon_base'], 1):.2f}")
    for n in args.sizes:
        d = {k: res["disk", n][k] - res["ram", n][k] for k in ("exact_p10", "ivf_p10", "ivf_recall")}
        print(f"at {n}: on disk minus in RAM: exact p@10 {d['exact_p10']:+.2f}, IVF p@10 {d['ivf_p10']:+.2f}, "
              f"IVF recall@10 {d['ivf_recall']:+.2f}")


def write_store(path: Path, X: np.ndarray, shard: int = 10_000, labels=None):
    from zsl_lib.data.store import Store

    ids = [f"i{i}" for i in range(len(X))]
    items = {"id": ids, "path": ids} if labels is None else {"id": ids, "path": ids, "label": labels}
    store = Store.create(path, encoder="efficientnet-lite0", dim=X.shape[1], shard_size=shard, items=items)
    for i in range(store.n_shards):
        a, b = store.shard_range(i)
        store.write_shard(i, X[a:b], store.items().iloc[a:b])
    return store


def cifar_labels() -> np.ndarray:
    """CIFAR-10 train + test labels, in the order of :func:`cached`."""
    from zsl_lib.data import load_dataset

    return np.concatenate([np.asarray(load_dataset("cifar10", split=s).labels) for s in ("train", "test")])


def cached(encoder: str) -> np.ndarray:
    """CIFAR-10 train + test embeddings of ``encoder`` from the cache (stops if none is cached)."""
    from zsl_lib.data import load_dataset
    from zsl_lib.encoders import embed
    from zsl_lib.encoders.embedding import embeddings_dir

    parts = []
    for split in ("train", "test"):
        if not list(embeddings_dir().glob(f"cifar10-{split}-{encoder}-*.npy")):
            sys.exit(f"cifar10 {split} through {encoder} is not cached; run embed() first (about 20 min)")
        parts.append(embed(load_dataset("cifar10", split=split), encoder, progress=False))
    return np.concatenate(parts).astype(np.float32)


def memory_part(F: np.ndarray, args) -> None:
    from zsl_lib.index.exact import exact_topk
    from zsl_lib.metrics.retrieval import recall_at_k
    from zsl_lib.validation import l2_normalize

    X = F[np.random.default_rng(0).permutation(len(F))]
    tmp = Path(tempfile.mkdtemp(prefix="bench-scale-"))
    print(f"1. peak RSS of the IVF build ({X.shape[1]}-d EfficientNet-Lite0 vectors, {args.lists} lists, "
          f"{args.train} training vectors, shards of 10k, one child process per build)")
    print(f"{'items':>7}{'data_MB':>9}{'build':>9}{'peak_MB':>9}{'above_imports':>15}{'anon_peak':>11}"
          f"{'anon_above':>12}{'seconds':>9}{'recall@10':>11}")
    res = {}
    for n in args.sizes:
        sd = tmp / f"store{n}"
        write_store(sd, X[:n])
        Q = X[np.random.default_rng(1).choice(n, 1000, replace=False)]
        _, truth = exact_topk(l2_normalize(Q), l2_normalize(X[:n]), 10, metric="ip")
        for mode in ("ondisk", "inmemory"):
            out = tmp / f"{mode}{n}.json"
            np.save(out.with_suffix(".queries.npy"), Q)
            subprocess.run([sys.executable, __file__, "--child", mode, str(sd), str(out), str(args.lists),
                            str(args.train)], check=True, stdout=subprocess.DEVNULL)
            r = json.loads(out.read_text())
            r["recall"] = recall_at_k(np.load(out.with_suffix(".ids.npy")), truth)
            res[mode, n] = r
            print(f"{n:>7}{X[:n].nbytes / 2**20:>9.0f}{mode:>9}{r['peak']:>9.0f}{r['peak'] - r['base']:>15.0f}"
                  f"{r['anon']:>11.0f}{r['anon'] - r['anon_base']:>12.0f}{r['seconds']:>9.1f}{r['recall']:>11.4f}")
    a, b = args.sizes[0], args.sizes[-1]
    for mode in ("ondisk", "inmemory"):
        r0, r1 = res[mode, a], res[mode, b]
        print(f"{mode}: data x{b / a:.1f} -> peak RSS x{r1['peak'] / r0['peak']:.2f} "
              f"(above imports x{(r1['peak'] - r1['base']) / max(r0['peak'] - r0['base'], 1):.2f}), "
              f"peak anonymous RSS x{r1['anon'] / r0['anon']:.2f} "
              f"(above imports x{(r1['anon'] - r1['anon_base']) / max(r0['anon'] - r0['anon_base'], 1):.2f})")
    for n in args.sizes:
        print(f"recall@10 at {n}: on-disk minus in-memory {res['ondisk', n]['recall'] - res['inmemory', n]['recall']:+.4f}")


def bliss_part(feats: dict, args) -> None:
    import faiss
    import torch

    from zsl_lib.index.bliss import BLISS
    from zsl_lib.index.bliss_fixed import FAST_DEFAULTS, FIXED_DEFAULTS
    from zsl_lib.index.exact import exact_topk
    from zsl_lib.metrics.retrieval import recall_at_k
    from zsl_lib.validation import l2_normalize

    torch.set_num_threads(args.threads)
    faiss.omp_set_num_threads(args.threads)
    print(f"\n2. BLISS against FAISS IVF as the gallery grows (1,000 queries, B = 64 sqrt(N/9000), threads={args.threads})")
    print(f"{'encoder':<20}{'N':>7}{'B':>5}{'method':>13}{'build_s':>9}{'build/ivf':>11}{'scanned':>9}"
          f"{'recall@10':>11}{'ivf_probe':>11}{'ivf_recall':>11}{'diff':>8}")
    for enc, F in feats.items():
        F = l2_normalize(F)
        perm = np.random.default_rng(0).permutation(len(F))
        Q = np.ascontiguousarray(F[perm[:1000]])
        for n in args.gallery:
            X = np.ascontiguousarray(F[perm[1000: 1000 + n]])
            _, truth = exact_topk(Q, X, 10, metric="ip")
            B = int(round(64 * np.sqrt(n / 9000)))
            t = time.perf_counter()
            quant = faiss.IndexFlatIP(X.shape[1])
            ivf = faiss.IndexIVFFlat(quant, X.shape[1], B, faiss.METRIC_INNER_PRODUCT)
            ivf.train(X)
            ivf.add(X)
            ivf_s = time.perf_counter() - t
            sizes = np.bincount(quant.search(X, 1)[1][:, 0], minlength=B)
            order = quant.search(Q, B)[1]
            scanned = np.cumsum(sizes[order], axis=1).mean(0) / n  # mean scanned fraction probing 1..B lists

            def ivf_at(frac, ivf=ivf, scanned=scanned, B=B, Q=Q, truth=truth):
                """(lists probed, recall@10) of IVF scanning at least ``frac`` of the gallery on average."""
                p = int(min(B, np.searchsorted(scanned, frac - 1e-9) + 1))
                ivf.nprobe = p
                return p, recall_at_k(ivf.search(Q, 10)[1], truth)

            p5 = max(1, round(0.05 * B))
            ivf.nprobe = p5
            print(f"{enc:<20}{n:>7}{B:>5}{'ivf':>13}{ivf_s:>9.2f}{1.0:>11.1f}{scanned[p5 - 1]:>9.3f}"
                  f"{recall_at_k(ivf.search(Q, 10)[1], truth):>11.3f}")
            common = dict(n_buckets=B, distance="cosine", n_rerank=None)
            rows = [("fast", {**FAST_DEFAULTS, **common})]
            if X.shape[1] <= 128 and n in args.fixed_sizes:
                rows.append(("fixed", {**common, **FIXED_DEFAULTS, "n_repetitions": 4, "epochs": 10,
                                       "n_neighbors": 32, "batch_size": 64, "hidden_dim": 512, "k_choices": 2,
                                       "capacity": 1.2, "n_probe": 4, "record_history": False}))
            for name, params in rows:
                t = time.perf_counter()
                model = BLISS(**params).fit(X)
                fit_s = time.perf_counter() - t
                ids = model.search(Q, 10)[1]
                frac = np.diff(model.candidates(Q, n_rerank=None)[0]).mean() / n
                p, r_ivf = ivf_at(frac)
                r = recall_at_k(ids, truth)
                print(f"{enc:<20}{n:>7}{B:>5}{name:>13}{fit_s:>9.2f}{fit_s / ivf_s:>11.1f}{frac:>9.3f}"
                      f"{r:>11.3f}{p:>11d}{r_ivf:>11.3f}{r - r_ivf:>+8.3f}")


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--nb04-child":
        return nb04_child(*sys.argv[2:5])
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        mode, store_dir, out, n_lists, train = sys.argv[2:7]
        return child(mode, store_dir, out, int(n_lists), int(train))
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 60_000], help="collection sizes of part 1")
    ap.add_argument("--gallery", type=int, nargs="+", default=[9_000, 59_000], help="gallery sizes of part 2")
    ap.add_argument("--fixed-sizes", type=int, nargs="*", default=[9_000, 59_000],
                    help="gallery sizes at which notebook 01's fixed BLISS runs too (ResNet-56 only)")
    ap.add_argument("--lists", type=int, default=100)
    ap.add_argument("--train", type=int, default=10_000)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--skip-memory", action="store_true")
    ap.add_argument("--skip-bliss", action="store_true")
    ap.add_argument("--only-nb04", action="store_true", help="only part 3 (notebook 04 over its memory budget)")
    args = ap.parse_args()
    t0 = time.perf_counter()
    eff = cached("efficientnet-lite0")
    if args.only_nb04:
        nb04_part(eff, cifar_labels(), args)
        print(f"\ntotal {time.perf_counter() - t0:.0f} s")
        return
    if not args.skip_memory:
        memory_part(eff, args)
    if not args.skip_bliss:
        bliss_part({"resnet56-cifar10": cached("resnet56-cifar10"), "efficientnet-lite0": eff}, args)
    nb04_part(eff, cifar_labels(), args)
    print(f"\ntotal {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
