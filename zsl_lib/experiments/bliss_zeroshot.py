"""Notebook 01's BLISSNet zero-shot experiment: a class split into seen and novel classes, BLISSNet
against nearest class mean on the same support images, with per-item correctness for paired
comparisons.
"""

from __future__ import annotations

import time

import numpy as np

from ..zeroshot.blissnet import BLISSNet, NearestClassMean

__all__ = ["zeroshot_split", "run_blissnet", "blissnet_comparisons"]


def zeroshot_split(y: np.ndarray, n_novel: int, n_support: int, train_fraction: float = 0.6, seed: int = 0) -> dict:
    """Split items by class: ``n_novel`` random classes are novel (``n_support`` images each are
    support, the rest test), the others seen (``train_fraction`` of each class for training, the
    rest test). Returns index arrays ``seen_train, seen_test, support, novel_test`` and the class
    arrays ``seen, novel``."""
    y = np.asarray(y)
    classes = np.unique(y)
    if not 0 < n_novel < len(classes):
        raise ValueError(f"n_novel={n_novel} must be between 1 and {len(classes) - 1} (there are {len(classes)} classes)")
    rng = np.random.default_rng(seed)
    novel = np.sort(rng.choice(classes, n_novel, replace=False))
    seen = np.setdiff1d(classes, novel)
    order = rng.permutation(len(y))
    ys = y[order]
    rank = np.empty(len(y), dtype=np.int64)  # position of each item within its class (random order)
    srt = np.argsort(ys, kind="stable")
    first = np.searchsorted(ys[srt], ys[srt])
    rank[order[srt]] = np.arange(len(y)) - first
    count = np.bincount(np.searchsorted(classes, y), minlength=len(classes))[np.searchsorted(classes, y)]
    is_novel = np.isin(y, novel)
    if (count[is_novel] <= n_support).any():
        raise ValueError(f"n_support={n_support} leaves no test image for some novel class; lower it")
    train = rank < np.floor(train_fraction * count)
    return {
        "seen": seen, "novel": novel,
        "seen_train": np.where(~is_novel & train)[0], "seen_test": np.where(~is_novel & ~train)[0],
        "support": np.where(is_novel & (rank < n_support))[0], "novel_test": np.where(is_novel & (rank >= n_support))[0],
    }


def run_blissnet(X: np.ndarray, y: np.ndarray, split: dict, blissnet_params: dict | None = None, seed: int = 0,
                 device: str = "auto") -> dict:
    """Fit BLISSNet on the seen training images, place the novel classes with their support
    images, and evaluate against nearest class mean (same support images as class means).

    Returns top-1 accuracies: ``novel_top1`` (novel test images among the novel classes),
    ``seen_top1`` (seen test images among the seen classes), ``ncm_novel_top1``, ``ncm_seen_top1``
    (class means of the seen training images), the generalised ``gzsl_*`` variants among all
    classes, the metaclass statistics, ``n_classes`` (seen + novel) and ``rerank_size`` (the re-rank
    size Q: a query scores the Q most voted classes, all of them when Q >= n_classes; without a Q,
    n_classes), and ``per_item``: the per-test-item correctness (float 0/1) behind every top-1, for
    :func:`blissnet_comparisons`."""
    p = {"random_state": seed, "device": device, **(blissnet_params or {})}
    t = time.perf_counter()
    net = BLISSNet(**p).fit(X[split["seen_train"]], y[split["seen_train"]])
    net.add_classes(X[split["support"]], y[split["support"]])
    fit_s = time.perf_counter() - t
    st, nt = split["seen_test"], split["novel_test"]
    ncm_novel = NearestClassMean().fit(X[split["support"]], y[split["support"]])
    ncm_seen = NearestClassMean().fit(X[split["seen_train"]], y[split["seen_train"]])
    ncm_all = NearestClassMean().fit(np.vstack([X[split["seen_train"]], X[split["support"]]]),
                                     np.concatenate([y[split["seen_train"]], y[split["support"]]]))
    correct = {  # per test item, 1.0 when right: the paired comparisons of BLISSNet with NCM
        "novel_top1": net.predict(X[nt], classes=split["novel"]) == y[nt],
        "seen_top1": net.predict(X[st], classes=split["seen"]) == y[st],
        "gzsl_novel_top1": net.predict(X[nt]) == y[nt],
        "gzsl_seen_top1": net.predict(X[st]) == y[st],
        "ncm_novel_top1": ncm_novel.predict(X[nt]) == y[nt],
        "ncm_seen_top1": ncm_seen.predict(X[st]) == y[st],
        "ncm_gzsl_novel_top1": ncm_all.predict(X[nt]) == y[nt],
        "ncm_gzsl_seen_top1": ncm_all.predict(X[st]) == y[st],
    }
    correct = {k: np.asarray(v, dtype=float) for k, v in correct.items()}
    out = {k: float(v.mean()) for k, v in correct.items()}
    # metaclass statistics: how well the n metaclass classifiers do on held-out seen images
    P = net.metaclass_proba(X[st]).argmax(2)  # (R, n)
    col = np.searchsorted(net.classes_[: len(split["seen"])], y[st])
    true_meta = net.bliss_.assignments_[:, col]
    out["metaclass_top1"] = float((P == true_meta).mean())
    loads = net.bliss_.loads_
    out["metaclass_nonempty"] = float((loads > 0).sum(1).mean())
    out["metaclass_max_over_mean"] = float((loads.max(1) / loads.mean(1)).mean())
    out["novel_metaclasses_per_class"] = float(net.membership_[:, :, len(split["seen"]):].sum(1).mean())
    out["n_classes"] = len(net.classes_)
    out["rerank_size"] = net.n_rerank if net.n_rerank is not None else len(net.classes_)
    out["fit_seconds"] = fit_s
    out["per_item"] = correct
    return out


def blissnet_comparisons(zs: dict, *, seed: int = 0) -> dict:
    """Paired bootstrap intervals (over the test items) of BLISSNet's top-1 minus nearest class
    mean's, from :func:`run_blissnet`'s ``per_item``: keys ``novel_top1``, ``seen_top1``,
    ``gzsl_novel_top1``, ``gzsl_seen_top1``."""
    from .verdicts import compare  # noqa: PLC0415

    c = zs["per_item"]
    return {k: compare(c[k], c[f"ncm_{k}"], over="items", seed=seed)
            for k in ("novel_top1", "seen_top1", "gzsl_novel_top1", "gzsl_seen_top1")}
