"""Data preparation of Bynke (2022), section 3.1.2, for keyword-labelled image collections.

Pipeline (:func:`prepare`):

1. drop items without keywords;
2. de-duplicate (unless ``deduplicate_items=False``) by cosine similarity of L2-normalised
   features, scaled as the models will see them (``scaling``), with two thresholds: pairs at
   or above ``suspected`` are duplicates and only one item of each group is kept (the first); pairs
   at or above ``certain`` are certain duplicates and their keywords are merged into the kept item.
   Groups are the connected components of the duplicate graph. The thresholds are given, or fitted
   by :func:`fit_duplicate_thresholds` (logistic regression of "is duplicate" on the similarity of
   labelled pairs; the similarities where it predicts 1 % and 99 %);
3. stratification value: each item's highest softmaxed similarity to the other items (softmax over
   its similarities to all others, temperature 1 as in the thesis); 10 quantile bins;
4. 60/20/20 train / validation / test split stratified on those bins -- or, when a split is given
   (``split=``, e.g. a benchmark's or a user's train/test files), that split is kept; a
   validation part is then drawn from the given training items (the same stratification, seeded)
   unless the split names one;
5. drop keywords rarer than ``min_count`` in the training split (thesis: 50), then items left
   without keywords.

All similarity work is chunked over rows (``chunk_size x n`` at a time), never ``n x n``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components
from scipy.special import logit
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from tqdm.auto import tqdm

from ..validation import check_indicator, check_matrix, l2_normalize


def fit_duplicate_thresholds(similarity, is_duplicate, p_low: float = 0.01, p_high: float = 0.99
                             ) -> tuple[float, float]:
    """(suspected, certain) similarity thresholds from labelled pairs (thesis 3.1.2).

    Fits ``P(duplicate | s) = sigmoid(a s + b)`` and returns the similarities where it equals
    ``p_low`` (suspected) and ``p_high`` (certain).
    """
    s = np.asarray(similarity, dtype=np.float64).reshape(-1, 1)
    y = np.asarray(is_duplicate).astype(int).ravel()
    if len(s) != len(y) or len(s) < 2:
        raise ValueError(f"need equally many similarities and labels (>= 2); got {len(s)} and {len(y)}")
    if set(np.unique(y)) != {0, 1}:
        raise ValueError("labelled pairs must include both duplicates (1) and non-duplicates (0)")
    if not 0 < p_low < p_high < 1:
        raise ValueError(f"need 0 < p_low < p_high < 1, got {p_low}, {p_high}")
    lr = LogisticRegression(C=1e6).fit(s, y)
    a, b = float(lr.coef_[0, 0]), float(lr.intercept_[0])
    if a <= 0:
        raise ValueError("duplicates are not more similar than non-duplicates in the labelled pairs")
    return float((logit(p_low) - b) / a), float((logit(p_high) - b) / a)


def labelled_items(Y) -> np.ndarray:
    """Indices (ascending) of the items of an (n, C) keyword matrix with at least one keyword."""
    return np.flatnonzero(check_indicator("Y", Y).sum(1) > 0)


def drop_unlabelled(X, Y) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(X[keep], Y[keep], keep)`` without the items that have no keyword (thesis 3.1.2, step 1).

    The reference set of :class:`~zsl_lib.zeroshot.neighbors.NeighborSearch` and the neighbour
    nets must not contain such items (they carry no label information).
    """
    X = check_matrix("X", X, min_rows=0)
    Y = check_indicator("Y", Y, len(X))
    keep = labelled_items(Y)
    return X[keep], Y[keep], keep


def load_labelled_pairs(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """Read a CSV with columns ``similarity`` and ``is_duplicate`` (0/1)."""
    df = pd.read_csv(path)
    missing = {"similarity", "is_duplicate"} - set(df.columns)
    if missing:
        raise ValueError(f"{path}: labelled-pairs CSV lacks columns {sorted(missing)}; expected similarity,is_duplicate")
    return df["similarity"].to_numpy(float), df["is_duplicate"].to_numpy(int)


def duplicate_pairs(Xn: np.ndarray, threshold: float, chunk_size: int = 2048,
                    progress: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """All pairs ``i < j`` with cosine >= threshold: ``(i, j, sim)``; chunked over rows."""
    rows_i, cols_j, sims = [], [], []
    for s in tqdm(range(0, len(Xn), chunk_size), desc="duplicate search", disable=not progress, leave=False):
        block = Xn[s:s + chunk_size] @ Xn.T
        r, c = np.nonzero(block >= threshold)
        r = r + s
        keep = c > r
        rows_i.append(r[keep])
        cols_j.append(c[keep])
        sims.append(block[r[keep] - s, c[keep]])
    return np.concatenate(rows_i), np.concatenate(cols_j), np.concatenate(sims)


def deduplicate(X, Y, suspected: float, certain: float, chunk_size: int = 2048, progress: bool = False):
    """Two-threshold de-duplication.

    Returns ``(keep, Y_kept, info)``: indices of the kept items (ascending), their keyword
    matrix after merging certain duplicates, and counts (``n_removed``, ``n_merged_groups``,
    ``n_merged_items``: items whose keywords went into a kept certain duplicate).
    """
    for name, t in (("suspected", suspected), ("certain", certain)):
        if not -1 <= t <= 1:
            raise ValueError(f"{name} duplicate threshold must be a cosine in [-1, 1], got {t}")
    if certain < suspected:
        raise ValueError(f"certain ({certain}) must be >= suspected ({suspected})")
    Xn = l2_normalize(check_matrix("X", X))
    Y = check_indicator("Y", Y, len(Xn))
    n = len(Xn)
    i, j, s = duplicate_pairs(Xn, suspected, chunk_size, progress)
    g = sp.coo_matrix((np.ones(len(i)), (i, j)), shape=(n, n))
    _, comp = connected_components(g, directed=False)
    first = np.full(comp.max() + 1, n)
    np.minimum.at(first, comp, np.arange(n))
    keep = np.sort(first)
    c = s >= certain
    gc = sp.coo_matrix((np.ones(c.sum()), (i[c], j[c])), shape=(n, n))
    n_cc, ccomp = connected_components(gc, directed=False)
    member = sp.csr_matrix((np.ones(n), (ccomp, np.arange(n))), shape=(n_cc, n))
    merged = (member @ sp.csr_matrix(Y)).toarray() > 0  # keywords OR-ed per certain group
    Y_kept = merged[ccomp[keep]].astype(np.float32)
    sizes = np.bincount(ccomp)
    return keep, Y_kept, {"n_removed": int(n - len(keep)), "n_merged_groups": int((sizes > 1).sum()),
                          "n_merged_items": int((sizes[sizes > 1] - 1).sum()),
                          "n_suspected_pairs": int(len(i)), "n_certain_pairs": int(c.sum())}


SCALINGS = ("none", "standard", "minmax")


def scaling_stats(X_fit, how: str) -> tuple[np.ndarray, np.ndarray]:
    """``(shift, scale)`` per feature of ``X_fit`` for ``how``: ``"standard"`` (mean, standard
    deviation), ``"minmax"`` (minimum, range) or ``"none"`` (0, 1); a constant feature gets scale 1.
    Apply as ``(X - shift) / scale``."""
    X_fit = np.asarray(X_fit, dtype=np.float64)
    if how == "none":
        return np.zeros(X_fit.shape[1]), np.ones(X_fit.shape[1])
    if how == "standard":
        shift, scale = X_fit.mean(0), X_fit.std(0)
    elif how == "minmax":
        shift = X_fit.min(0)
        scale = X_fit.max(0) - shift
    else:
        raise ValueError(f"scaling={how!r} is not one of {SCALINGS}")
    return shift, np.where(scale > 0, scale, 1.0)


def max_softmax_similarity(X, temperature: float = 1.0, chunk_size: int = 2048,
                           progress: bool = False) -> np.ndarray:
    """For each item the largest softmax weight over its similarities to all *other* items (n,)."""
    Xn = l2_normalize(check_matrix("X", X))
    n = len(Xn)
    if n < 2:
        raise ValueError("need at least 2 items")
    out = np.empty(n)
    for s in tqdm(range(0, n, chunk_size), desc="stratification", disable=not progress, leave=False):
        z = temperature * (Xn[s:s + chunk_size] @ Xn.T).astype(np.float64)
        z[np.arange(len(z)), np.arange(s, s + len(z))] = -np.inf
        m = z.max(1)
        out[s:s + len(z)] = 1.0 / np.exp(z - m[:, None]).sum(1)  # exp(m - logsumexp)
    return out


def stratified_split(values, fractions=(0.6, 0.2, 0.2), n_bins: int = 10, random_state: int = 0):
    """Indices (train, val, test) stratified on ``n_bins`` quantile bins of ``values``."""
    values = np.asarray(values, dtype=float)
    f = np.asarray(fractions, dtype=float)
    if f.shape != (3,) or (f <= 0).any() or abs(f.sum() - 1) > 1e-9:
        raise ValueError(f"fractions must be three positive numbers summing to 1, got {fractions}")
    bins = pd.qcut(pd.Series(values).rank(method="first"), n_bins, labels=False).to_numpy()
    idx = np.arange(len(values))
    tr, rest = train_test_split(idx, train_size=f[0], stratify=bins, random_state=random_state)
    va, te = train_test_split(rest, train_size=f[1] / (f[1] + f[2]), stratify=bins[rest],
                              random_state=random_state)
    return np.sort(tr), np.sort(va), np.sort(te)


def given_train_validation(train, values, val_fraction: float, n_bins: int = 10, random_state: int = 0):
    """A given training part ``train`` (indices) split into (train, validation), stratified on
    quantile bins of ``values`` like :func:`stratified_split`; both sorted."""
    n_bins = int(max(1, min(n_bins, len(train) // 10)))
    bins = pd.qcut(pd.Series(values).rank(method="first"), n_bins, labels=False).to_numpy()
    tr, va = train_test_split(np.asarray(train), test_size=val_fraction, stratify=bins, random_state=random_state)
    return np.sort(tr), np.sort(va)


@dataclass
class PreparedData:
    """Output of :func:`prepare`. ``idx_*`` index the *input* items; X_* are the raw features."""

    keywords: list[str]
    X_train: np.ndarray
    Y_train: np.ndarray
    X_val: np.ndarray
    Y_val: np.ndarray
    X_test: np.ndarray
    Y_test: np.ndarray
    idx_train: np.ndarray
    idx_val: np.ndarray
    idx_test: np.ndarray
    info: dict = field(default_factory=dict)

    @property
    def prevalence_test(self) -> float:
        return float(self.Y_test.mean())


def prepare(X, Y, keywords, suspected: float = 0.98, certain: float = 0.995, labelled_pairs=None,
            min_count: int = 50, fractions=(0.6, 0.2, 0.2), n_bins: int = 10, random_state: int = 0,
            softmax_temperature: float = 1.0, chunk_size: int = 2048, progress: bool = False,
            split=None, scaling: str = "none", deduplicate_items: bool = True) -> PreparedData:
    """The whole section-3.1.2 pipeline; see the module docstring.

    ``split`` (n,) of ``"train"``/``"val"``/``"test"`` per input item keeps a given split (items
    removed as duplicates or unlabelled leave it); with only train and test, validation takes
    ``fractions[1] / (fractions[0] + fractions[1])`` of the training items (stratified, seeded).

    ``labelled_pairs`` = ``(similarities, is_duplicate)`` or a CSV path: the thresholds are then
    fitted (1 % / 99 %) instead of taken from ``suspected`` / ``certain``.

    ``scaling`` (``"none"``, ``"standard"``, ``"minmax"``): the feature scaling the models will see
    (the caller scales ``X_*`` by training statistics afterwards, :func:`scaling_stats`). The
    duplicate search and the stratification compare items on features scaled the same way, with
    statistics of the given training items (a given split) or of all labelled items (a drawn split,
    which does not exist yet): raw positive features make every pair look alike (cosine near 1).
    ``deduplicate_items=False`` skips de-duplication (advised for numeric feature tables, where
    near-identical rows are usually distinct items); ``info`` then records no removals.
    ``info["n_merged_items"]`` counts the items merged into a kept duplicate.
    """
    X = check_matrix("X", X)
    Y = check_indicator("Y", Y, len(X))
    keywords = list(keywords)
    if len(keywords) != Y.shape[1]:
        raise ValueError(f"{len(keywords)} keywords but Y has {Y.shape[1]} columns")
    if labelled_pairs is not None:
        sims, lab = load_labelled_pairs(labelled_pairs) if isinstance(labelled_pairs, (str, Path)) else labelled_pairs
        suspected, certain = fit_duplicate_thresholds(sims, lab)
    if split is not None:
        split = np.asarray(split).astype(str)
        if split.shape != (len(X),):
            raise ValueError(f"split must give one of train/val/test per item: shape ({len(X)},), got {split.shape}")
        bad = sorted(set(split) - {"train", "val", "test"})
        if bad or not {"train", "test"} <= set(split):
            raise ValueError(f"split must hold 'train' and 'test' (and optionally 'val') only; got values "
                             f"{sorted(set(split))[:6]}")
    labelled = labelled_items(Y)
    if len(labelled) < 10:
        raise ValueError(f"only {len(labelled)} items have keywords; need at least 10")
    if scaling not in SCALINGS:
        raise ValueError(f"scaling={scaling!r} is not one of {SCALINGS}")
    if scaling == "none":
        Xs = X
    else:
        fit_rows = labelled if split is None else labelled[split[labelled] == "train"]
        shift, scale = scaling_stats(X[fit_rows], scaling)
        Xs = ((X - shift) / scale).astype(np.float32)
    if deduplicate_items:
        keep, Yk, dinfo = deduplicate(Xs[labelled], Y[labelled], suspected, certain, chunk_size, progress)
    else:
        keep, Yk = np.arange(len(labelled)), Y[labelled].astype(np.float32)
        dinfo = {"n_removed": 0, "n_merged_groups": 0, "n_merged_items": 0,
                 "n_suspected_pairs": 0, "n_certain_pairs": 0}
    dinfo = {**dinfo, "deduplicated": bool(deduplicate_items), "dedup_scaling": scaling}
    items = labelled[keep]
    if len(items) < 10:
        raise ValueError(
            f"de-duplication kept {len(items)} of {len(labelled)} labelled items (need at least 10): "
            f"nearly every pair has cosine >= suspected={suspected:.3g}. Scale the features "
            "(feature_scaling standard), raise suspected_duplicate, or turn de-duplication off"
        )
    strat = max_softmax_similarity(Xs[items], softmax_temperature, chunk_size, progress)
    if split is None:
        n_bins = int(max(1, min(n_bins, len(items) // 10)))  # tiny collections: >= 10 items per bin
        tr, va, te = stratified_split(strat, fractions, n_bins, random_state)
    else:
        given = split[items]
        tr, va, te = (np.flatnonzero(given == s) for s in ("train", "val", "test"))
        if not len(va):
            f = np.asarray(fractions, dtype=float)
            tr, va = given_train_validation(tr, strat[tr], f[1] / (f[0] + f[1]), n_bins, random_state)
        if min(len(tr), len(va), len(te)) < 2:
            raise ValueError(f"the given split leaves {len(tr)} train / {len(va)} validation / {len(te)} test items "
                             f"after de-duplication ({dinfo['n_removed']} items removed as duplicates); each needs "
                             "at least 2 (if de-duplication removed most items, raise suspected_duplicate or turn "
                             "de-duplication off)")
    counts = Yk[tr].sum(0)
    kw_keep = counts >= min_count
    if not kw_keep.any():
        raise ValueError(f"no keyword occurs >= min_count={min_count} times in the training split; lower min_count")
    Yk = Yk[:, kw_keep]
    parts = {}
    for name, idx in (("train", tr), ("val", va), ("test", te)):
        idx = idx[Yk[idx].sum(1) > 0]  # items that lost all their keywords
        parts[name] = idx
    info = {"n_input": len(X), "n_unlabelled_dropped": int(len(X) - len(labelled)), **dinfo,
            "suspected": float(suspected), "certain": float(certain),
            "n_keywords_before": len(keywords), "n_keywords": int(kw_keep.sum()),
            "n_emptied_dropped": int(len(tr) + len(va) + len(te) - sum(len(v) for v in parts.values())),
            "min_count": min_count, "split": "drawn" if split is None else "given",
            "thresholds_fitted": labelled_pairs is not None}
    kws = [k for k, m in zip(keywords, kw_keep) if m]
    p = parts
    return PreparedData(kws, X[items[p["train"]]], Yk[p["train"]], X[items[p["val"]]], Yk[p["val"]],
                        X[items[p["test"]]], Yk[p["test"]], items[p["train"]], items[p["val"]],
                        items[p["test"]], info)
