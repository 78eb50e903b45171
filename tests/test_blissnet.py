"""BLISSNet zero-shot pipeline and the nearest-class-mean baseline on synthetic class blobs."""

from __future__ import annotations

import numpy as np
import pytest

from zsl_lib.zeroshot.blissnet import BLISSNet, NearestClassMean, class_means

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    C, d = 30, 16
    centers = rng.normal(size=(C, d)) * 3
    y = np.repeat(np.arange(C), 40)
    X = (centers[y] + rng.normal(size=(len(y), d))).astype(np.float32)
    return X, y


def test_class_means_against_loop(data):
    X, y = data
    classes = np.unique(y)
    M = class_means(X, y, classes)
    Xn = X / np.linalg.norm(X, axis=1, keepdims=True)
    for i, c in enumerate(classes[:5]):
        np.testing.assert_allclose(M[i], Xn[y == c].mean(0), rtol=1e-5, atol=1e-6)


def test_class_means_any_class_order_and_string_labels(data):
    """Classes in any order (seen then novel, as BLISSNet passes them) and string labels."""
    X, y = data
    names = np.array([f"c{v:03d}" for v in y])
    classes = np.unique(names)[::-1]  # descending: not the sorted order
    M = class_means(X, names, classes)
    Xn = X / np.linalg.norm(X, axis=1, keepdims=True)
    for i, c in enumerate(classes):
        np.testing.assert_allclose(M[i], Xn[names == c].mean(0), rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="not in classes"):
        class_means(X, names, classes[1:])
    with pytest.raises(ValueError, match="classes without any example"):
        class_means(X, names, np.r_[classes, ["zzz"]])


def test_ncm_against_sklearn(data):
    from sklearn.neighbors import NearestCentroid

    X, y = data
    Xn = X / np.linalg.norm(X, axis=1, keepdims=True)
    ours = NearestClassMean().fit(X, y).predict(X)
    ref = NearestCentroid().fit(Xn, y).predict(Xn)
    assert (ours == ref).mean() > 0.97  # cosine vs euclidean on normalised means: nearly identical


def test_blissnet_seen_and_novel(data):
    X, y = data
    seen = y < 24
    tr = np.zeros(len(y), bool)
    tr[np.arange(len(y)) % 40 < 30] = True
    net = BLISSNet(n_models=4, n_metaclasses=6, epochs=100, bliss_params={"epochs": 10}, random_state=0)
    net.fit(X[seen & tr], y[seen & tr])
    assert net.membership_.shape == (4, 6, 24)
    assert (net.membership_.sum(1) == 1).all()  # each seen class in one metaclass per repetition
    seen_acc = (net.predict(X[seen & ~tr], classes=np.arange(24)) == y[seen & ~tr]).mean()
    support = ~seen & (np.arange(len(y)) % 40 < 5)
    net.add_classes(X[support], y[support])
    assert net.membership_.shape[2] == 30 and (net.membership_[:, :, 24:].sum(1) >= 1).all()
    test = ~seen & (np.arange(len(y)) % 40 >= 5)
    novel_acc = (net.predict(X[test], classes=np.arange(24, 30)) == y[test]).mean()
    assert seen_acc > 0.8  # 24 well separated classes, chance 1/24
    assert novel_acc > 0.8  # 6 novel classes, chance 1/6
    net.vote = "count"
    assert net.decision_function(X[:3]).shape == (3, 30)


def test_blissnet_bad_inputs(data):
    X, y = data
    with pytest.raises(ValueError, match="n_metaclasses"):
        BLISSNet(n_metaclasses=50).fit(X, y)
    with pytest.raises(ValueError, match="one entry per row"):
        BLISSNet().fit(X, y[:-1])
    with pytest.raises(RuntimeError, match="not fitted"):
        BLISSNet().metaclass_proba(X)
    net = BLISSNet(n_metaclasses=5, epochs=1, bliss_params={"epochs": 2}).fit(X, y)
    with pytest.raises(ValueError, match="already known"):
        net.add_classes(X[:3], y[:3])
    with pytest.raises(ValueError, match="unknown classes"):
        net.predict(X[:3], classes=[999])


@pytest.mark.parametrize("vote", ["logprob", "count"])
def test_n_rerank_scores_only_the_q_most_voted_classes(vote):
    """The report's re-rank size Q against a per-row loop: the Q classes with the most repetition
    votes (ties: higher log-probability) keep their score, the others are -inf; Q >= C changes nothing."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 8)).astype(np.float32)
    y = np.repeat(np.arange(30), 10)
    base = BLISSNet(n_models=3, n_metaclasses=5, epochs=3, bliss_params={"epochs": 2}, vote=vote).fit(X, y)
    full = base.decision_function(X[:25])
    base.n_rerank = 30
    np.testing.assert_array_equal(base.decision_function(X[:25]), full)
    base.n_rerank = 4
    cut = base.decision_function(X[:25])
    P = base.metaclass_proba(X[:25])
    M = base.membership_.astype(np.float32)
    for i in range(25):
        votes = np.array([sum(M[r, P[r, i].argmax(), c] for r in range(3)) for c in range(30)])
        logp = np.log(np.maximum(np.einsum("rb,rbc->rc", P[:, i], M), 1e-12)).sum(0)
        kept = sorted(range(30), key=lambda c: (-votes[c], -logp[c], c))[:4]
        assert set(np.flatnonzero(np.isfinite(cut[i]))) == set(kept)
        np.testing.assert_allclose(cut[i, kept], full[i, kept], rtol=1e-6)
    base.n_rerank = 0
    with pytest.raises(ValueError, match="n_rerank"):
        base.decision_function(X[:2])
