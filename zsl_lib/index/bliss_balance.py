"""The BLISS greedy power-of-K-choices re-assignment, compiled (numba, cached on disk).

Every ``epochs_per_balance`` epochs BLISS re-assigns each gallery item, in order, to a bucket
chosen from the network's ranking of the buckets for that item and the loads so far (official code:
``src/train.py``, a Python loop over items). Here the pass runs in chunks: the items of a chunk see
the loads of the chunk start (``chunk_size=1`` is exactly the official loop), and each item needs
only its top-``k`` buckets, kept by one insertion pass over its ``B`` scores instead of a sort of
all ``B``. ``bench_bliss_vs_ivf.py`` measured the previous numpy pass (an argsort of every item's
``B`` scores per chunk, 256 chunks) at about an eighth of the fast fixed BLISS's build.
"""

from __future__ import annotations

import numpy as np

from ..validation import check_choice, check_int

__all__ = ["greedy_assign", "REBALANCE_RULES"]

REBALANCE_RULES = ("least_loaded_of_topk", "k_least_loaded")
_KERNEL = None


def _kernel():
    global _KERNEL
    if _KERNEL is None:
        import numba  # noqa: PLC0415

        @numba.njit(cache=True, nogil=True, boundscheck=False)
        def greedy(scores, order, k, topk_rule, cap, load_penalty, chunk, loads, done):  # pragma: no cover - compiled
            R, n, B = scores.shape
            out = np.empty((R, n), dtype=np.int64)
            sc = np.empty(B, dtype=np.float64)
            taken = np.zeros(B, dtype=np.bool_)
            top = np.empty(k, dtype=np.int64)
            topv = np.empty(k, dtype=np.float64)
            lo = np.empty(k, dtype=np.int64)
            for s in range(0, n, chunk):
                e = min(n, s + chunk)
                mean = max(done / B, 1.0)
                for r in range(R):
                    if not topk_rule:  # the k least loaded buckets of the chunk start, (load, id) order
                        for b in range(B):
                            taken[b] = False
                        for j in range(k):
                            best = -1
                            for b in range(B):
                                if not taken[b] and (best < 0 or loads[r, b] < loads[r, best]):
                                    best = b
                            lo[j] = best
                            taken[best] = True
                    for t in range(s, e):
                        i = order[t]
                        cnt = 0
                        for b in range(B):  # scores, and the top k by one insertion pass (ties: lower id first)
                            v = np.float64(scores[r, i, b])
                            if load_penalty != 0.0:
                                v = v - load_penalty * (loads[r, b] / mean - 1.0)
                            sc[b] = v
                            if topk_rule and (cnt < k or v > topv[k - 1]):
                                pos = cnt if cnt < k else k - 1
                                while pos > 0 and v > topv[pos - 1]:
                                    topv[pos] = topv[pos - 1]
                                    top[pos] = top[pos - 1]
                                    pos -= 1
                                topv[pos] = v
                                top[pos] = b
                                if cnt < k:
                                    cnt += 1
                        if topk_rule:
                            chosen = -1
                            for j in range(k):  # least loaded open choice, ties to the better rank
                                b = top[j]
                                if cap >= 0 and loads[r, b] >= cap:
                                    continue
                                if chosen < 0 or loads[r, b] < loads[r, chosen]:
                                    chosen = b
                            if chosen < 0:  # all k closed: the best-ranked open bucket (none open: the top one)
                                for b in range(B):
                                    if loads[r, b] < cap and (chosen < 0 or sc[b] > sc[chosen]):
                                        chosen = b
                                if chosen < 0:
                                    chosen = top[0]
                        else:
                            chosen = lo[0]
                            bv = -np.inf
                            for j in range(k):  # best score among the open least loaded, ties to the earlier
                                b = lo[j]
                                v = sc[b] if (cap < 0 or loads[r, b] < cap) else -np.inf
                                if v > bv:
                                    bv = v
                                    chosen = b
                        out[r, i] = chosen
                    for t in range(s, e):
                        loads[r, out[r, order[t]]] += 1
                done += e - s
            return out

        _KERNEL = greedy
    return _KERNEL


def greedy_assign(
    scores: np.ndarray,
    k: int,
    rule: str = "least_loaded_of_topk",
    capacity: float | None = None,
    load_penalty: float = 0.0,
    chunk_size: int = 1,
    order: np.ndarray | None = None,
    loads: np.ndarray | None = None,
    n_done: int = 0,
    n_total: int | None = None,
) -> np.ndarray:
    """Assign every item to a bucket with the BLISS greedy load-balancing pass.

    ``scores`` float (R, n, B): the network's logits of each item, per repetition. Items are taken
    in ``order`` (default 0..n-1, as in the official code) in chunks of ``chunk_size``; the loads
    start at zero and are updated after every chunk (``chunk_size=1`` is exactly the official
    sequential loop; larger chunks see the loads of the chunk start).

    ``rule="least_loaded_of_topk"``: the least loaded of the item's top-``k`` buckets (ranking:
    descending score, ties to the lower bucket id; load ties: the better-ranked).
    ``rule="k_least_loaded"``: the best-ranked bucket among the ``k`` least loaded buckets (load
    ties: lower bucket id; score ties: the less loaded).
    ``capacity``: if given, buckets holding ``ceil(capacity * n / B)`` items or more are closed;
    an item whose ``k`` choices are all closed goes to its best-ranked open bucket.
    ``load_penalty``: ``lambda``; rankings use ``scores - lambda * (load / max(n_done / B, 1) - 1)``.

    Streaming (a gallery assigned piece by piece, :func:`zsl_lib.index.ondisk.assign_store`):
    ``loads`` int64 (R, B), the loads left by the items before these (updated in place; None:
    zeros), ``n_done`` the number of those items and ``n_total`` the size of the whole gallery
    (the capacity's ``n``; None: ``n_done + n``). Pieces that start at multiples of
    ``chunk_size`` give exactly the assignment of one call on the whole gallery.

    Returns int64 (R, n) bucket ids.
    """
    scores = np.asarray(scores, dtype=np.float32)
    if scores.ndim != 3:
        raise ValueError(f"scores must have shape (R, n, B); got {scores.shape}")
    R, n, B = scores.shape
    k = check_int("k", k)
    if k > B:
        raise ValueError(f"k={k} choices is larger than the number of buckets B={B}")
    check_choice("rule", rule, REBALANCE_RULES)
    chunk_size = check_int("chunk_size", chunk_size)
    order = np.arange(n) if order is None else np.asarray(order, dtype=np.int64)
    if order.shape != (n,) or not np.array_equal(np.sort(order), np.arange(n)):
        raise ValueError(f"order must be a permutation of 0..{n - 1} (one entry per item)")
    n_done = check_int("n_done", n_done, minimum=0)
    total = n_done + n if n_total is None else check_int("n_total", n_total)
    if total < n_done + n:
        raise ValueError(f"n_total={n_total} is smaller than n_done + n = {n_done + n}")
    if loads is None:
        loads = np.zeros((R, B), dtype=np.int64)
    elif not (isinstance(loads, np.ndarray) and loads.dtype == np.int64 and loads.shape == (R, B)
              and loads.flags.c_contiguous):
        raise ValueError(f"loads must be a C-contiguous int64 array of shape (R, B) = {(R, B)}")
    cap = -1 if capacity is None else int(np.ceil(capacity * total / B))
    if capacity is not None and cap * B < total:
        raise ValueError(f"capacity={capacity} gives {cap} items per bucket, too few for {total} items in {B} buckets")
    return _kernel()(np.ascontiguousarray(scores), np.ascontiguousarray(order), k, rule == "least_loaded_of_topk",
                     cap, float(load_penalty), chunk_size, loads, n_done)
