"""N-way K-shot few-shot evaluation on fixed features (Table 5 of Xu et al.; Chen et al. 2019).

Each episode draws ``n_way`` novel classes, ``k_shot`` support and ``n_query`` query samples per
class; a classifier is trained on the support features and scored on the queries. Reported: mean
accuracy over episodes and the 95% confidence interval half-width ``1.96 * std / sqrt(episodes)``.

Classifiers: ``"logreg"`` (multinomial L2-regularised logistic regression on the support set, the
"Baseline" of Chen et al. 2019; scikit-learn, one fit per episode, ~0.2 s each on a busy 2-core
CPU) or ``"centroid"`` (nearest class mean, as in ProtoNet; vectorised over all episodes, instant).
"""

from __future__ import annotations

import numpy as np
from sklearn.linear_model import LogisticRegression
from tqdm.auto import tqdm

from ..validation import check_choice, check_labels, check_matrix, check_positive_ints

CLASSIFIERS = ("logreg", "centroid")


def sample_episodes(y, n_way: int, k_shot: int, n_query: int, n_episodes: int, random_state=0):
    """Draw episodes without replacement inside each episode.

    Parameters
    ----------
    y : int array (n,) labels of the pool (novel classes).

    Returns
    -------
    support int64 (n_episodes, n_way, k_shot), query int64 (n_episodes, n_way, n_query): indices
    into ``y``; classes int64 (n_episodes, n_way): the class of each way.
    """
    y = check_labels("y", y)
    check_positive_ints(n_way=n_way, k_shot=k_shot, n_query=n_query, n_episodes=n_episodes)
    classes, counts = np.unique(y, return_counts=True)
    need = k_shot + n_query
    eligible = classes[counts >= need]
    if len(eligible) < n_way:
        raise ValueError(
            f"{n_way}-way {k_shot}-shot with {n_query} queries needs {n_way} classes with at least "
            f"{need} samples each; only {len(eligible)} classes qualify (counts: min {counts.min()}, "
            f"max {counts.max()}); lower n_query or n_way"
        )
    rng = np.random.default_rng(random_state)
    # padded (C, max_count) table of each class's sample indices
    order = np.argsort(y, kind="stable")
    cls_pos = np.searchsorted(eligible, y[order])
    keep = (cls_pos < len(eligible)) & (eligible[np.minimum(cls_pos, len(eligible) - 1)] == y[order])
    order, cls_pos = order[keep], cls_pos[keep]
    n_per = np.bincount(cls_pos, minlength=len(eligible))
    starts = np.concatenate([[0], np.cumsum(n_per)[:-1]])
    table = np.full((len(eligible), n_per.max()), -1, dtype=np.int64)
    table[cls_pos, np.arange(len(order)) - starts[cls_pos]] = order
    ways = np.argsort(rng.random((n_episodes, len(eligible))), axis=1)[:, :n_way]  # (E, N)
    keys = rng.random((n_episodes, n_way, table.shape[1]))
    keys[table[ways] < 0] = np.inf  # padding never drawn
    pick = np.argsort(keys, axis=2)[:, :, :need]
    idx = np.take_along_axis(table[ways], pick, axis=2)
    return idx[:, :, :k_shot], idx[:, :, k_shot:], eligible[ways]


def evaluate_episodes(
    X,
    y,
    n_way: int = 5,
    k_shot: int = 1,
    n_query: int = 15,
    n_episodes: int = 600,
    classifier: str = "logreg",
    C: float = 1.0,
    random_state=0,
    progress: bool = True,
) -> dict:
    """Few-shot accuracy over episodes.

    X float (n, d) features of the novel classes, y int (n,). Returns a dict with ``mean``,
    ``ci95`` (half-width), ``std`` and ``accuracies`` (n_episodes,) as fractions in [0, 1].
    """
    check_choice("classifier", classifier, CLASSIFIERS)
    check_matrix("X", X)
    X = np.asarray(X, dtype=np.float64)  # episodes are scored in double precision
    check_labels("y", y, n=X.shape[0])
    sup, qry, _ = sample_episodes(y, n_way, k_shot, n_query, n_episodes, random_state)
    E = n_episodes
    # labels inside an episode are the way index 0..n_way-1
    ys = np.broadcast_to(np.arange(n_way)[:, None], (n_way, k_shot)).ravel()
    yq = np.broadcast_to(np.arange(n_way)[:, None], (n_way, n_query)).ravel()
    Xs = X[sup.reshape(E, -1)]  # (E, N*K, d)
    Xq = X[qry.reshape(E, -1)]  # (E, N*Q, d)
    if classifier == "centroid":
        centres = Xs.reshape(E, n_way, k_shot, -1).mean(2)  # (E, N, d)
        d2 = (Xq**2).sum(-1)[:, :, None] - 2 * Xq @ centres.transpose(0, 2, 1) + (centres**2).sum(-1)[:, None, :]
        acc = (np.argmin(d2, axis=2) == yq[None, :]).mean(1)
    else:
        acc = np.empty(E)
        for e in tqdm(range(E), desc=f"{n_way}-way {k_shot}-shot", leave=False, disable=not progress):
            clf = LogisticRegression(C=C, max_iter=1000).fit(Xs[e], ys)
            acc[e] = np.mean(clf.predict(Xq[e]) == yq)
    std = float(acc.std(ddof=1)) if E > 1 else 0.0
    return {
        "mean": float(acc.mean()),
        "ci95": 1.96 * std / np.sqrt(E),
        "std": std,
        "accuracies": acc,
    }
