"""Few-shot episodes (Table 5): sampling invariants and classifiers against naive references."""

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from zsl_lib.zeroshot.fewshot import evaluate_episodes, sample_episodes


def test_sample_episodes_invariants():
    y = np.repeat(np.arange(8), [20, 21, 22, 25, 30, 19, 40, 3])  # class 7 too small
    sup, qry, cls = sample_episodes(y, n_way=5, k_shot=2, n_query=4, n_episodes=50, random_state=0)
    assert sup.shape == (50, 5, 2) and qry.shape == (50, 5, 4) and cls.shape == (50, 5)
    assert not np.isin(7, cls)
    for e in range(50):
        assert len(set(cls[e])) == 5
        both = np.concatenate([sup[e].ravel(), qry[e].ravel()])
        assert len(set(both.tolist())) == both.size  # no sample twice in an episode
        np.testing.assert_array_equal(y[sup[e]], np.repeat(cls[e][:, None], 2, 1))
        np.testing.assert_array_equal(y[qry[e]], np.repeat(cls[e][:, None], 4, 1))
    again = sample_episodes(y, 5, 2, 4, 50, random_state=0)
    np.testing.assert_array_equal(again[0], sup)


def test_sample_episodes_not_enough_classes():
    with pytest.raises(ValueError, match="only 2 classes qualify"):
        sample_episodes(np.repeat([0, 1, 2], [10, 10, 3]), n_way=3, k_shot=1, n_query=5, n_episodes=2)


def _data():
    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(10), 25)
    X = rng.normal(size=(10, 8))[y] * 1.5 + rng.normal(size=(250, 8))
    return X, y


def test_centroid_matches_naive_loop():
    X, y = _data()
    out = evaluate_episodes(X, y, n_way=5, k_shot=3, n_query=5, n_episodes=20, classifier="centroid", random_state=1)
    sup, qry, _ = sample_episodes(y, 5, 3, 5, 20, random_state=1)
    ref = []
    for e in range(20):
        centres = np.stack([X[sup[e, w]].mean(0) for w in range(5)])
        correct = 0
        for w in range(5):
            for i in qry[e, w]:
                correct += int(np.argmin(((centres - X[i]) ** 2).sum(1)) == w)
        ref.append(correct / 25)
    np.testing.assert_allclose(out["accuracies"], ref)
    assert out["ci95"] == pytest.approx(1.96 * np.std(ref, ddof=1) / np.sqrt(20))


def test_logreg_matches_sklearn_per_episode():
    X, y = _data()
    out = evaluate_episodes(X, y, n_way=5, k_shot=2, n_query=5, n_episodes=5, classifier="logreg", progress=False)
    sup, qry, _ = sample_episodes(y, 5, 2, 5, 5, random_state=0)
    for e in range(5):
        clf = LogisticRegression(max_iter=1000).fit(X[sup[e].ravel()], np.repeat(np.arange(5), 2))
        acc = np.mean(clf.predict(X[qry[e].ravel()]) == np.repeat(np.arange(5), 5))
        assert out["accuracies"][e] == pytest.approx(acc)
    assert out["mean"] > 0.5  # chance 0.2


def test_bad_inputs():
    X, y = _data()
    with pytest.raises(ValueError, match="classifier"):
        evaluate_episodes(X, y, classifier="svm")
    X[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        evaluate_episodes(X, y)
