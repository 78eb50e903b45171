"""ZSL metrics against naive loops and hand-computed examples."""

import numpy as np
import pytest
from sklearn.metrics import mutual_info_score

from zsl_lib.metrics.zsl import gzsl_scores, harmonic_mean, kmeans_mutual_info, per_class_accuracy


def _naive_per_class(y_true, y_pred):
    accs = []
    for c in sorted(set(y_true.tolist())):
        m = y_true == c
        accs.append(np.mean(y_pred[m] == c))
    return float(np.mean(accs))


def test_per_class_accuracy_hand_example():
    # class 0: 2/2 correct, class 5: 1/4 correct -> (1 + 0.25) / 2
    y_true = np.array([0, 0, 5, 5, 5, 5])
    y_pred = np.array([0, 0, 5, 0, 1, 2])
    assert per_class_accuracy(y_true, y_pred) == pytest.approx(0.625)
    # plain accuracy would be 0.5: the metric weighs classes, not samples
    assert np.mean(y_true == y_pred) == pytest.approx(0.5)


def test_per_class_accuracy_matches_naive_loop():
    rng = np.random.default_rng(0)
    y_true = rng.integers(0, 17, 500)
    y_pred = np.where(rng.random(500) < 0.6, y_true, rng.integers(0, 17, 500))
    assert per_class_accuracy(y_true, y_pred) == pytest.approx(_naive_per_class(y_true, y_pred))


def test_per_class_accuracy_bad_inputs():
    with pytest.raises(ValueError, match="same length"):
        per_class_accuracy([0, 1], [0])
    with pytest.raises(ValueError, match="empty"):
        per_class_accuracy([], [])
    with pytest.raises(ValueError, match="no test sample"):
        per_class_accuracy([0, 1], [0, 1], classes=[0, 1, 2])


def test_gzsl_scores_hand_example():
    seen, unseen = [0, 1], [2]
    y_true = np.array([0, 0, 1, 1, 2, 2, 2, 2])
    y_pred = np.array([0, 2, 1, 1, 2, 2, 0, 1])  # S = (0.5 + 1) / 2 = 0.75, U = 0.5
    out = gzsl_scores(y_true, y_pred, seen, unseen)
    assert out["s"] == pytest.approx(0.75)
    assert out["u"] == pytest.approx(0.5)
    assert out["h"] == pytest.approx(2 * 0.75 * 0.5 / 1.25)
    assert harmonic_mean(0.0, 0.0) == 0.0


def test_gzsl_scores_bad_inputs():
    with pytest.raises(ValueError, match="overlap"):
        gzsl_scores([0, 1], [0, 1], [0, 1], [1])
    with pytest.raises(ValueError, match="neither"):
        gzsl_scores([0, 7], [0, 7], [0], [1])
    with pytest.raises(ValueError, match="both seen and unseen"):
        gzsl_scores([0, 0], [0, 0], [0], [1])


def test_kmeans_mutual_info_matches_sklearn_and_orders_spaces():
    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(4), 50)
    centres = rng.normal(size=(4, 5)) * 10
    tight = centres[y] + rng.normal(size=(200, 5))
    loose = centres[y] * 0.1 + rng.normal(size=(200, 5))
    out = kmeans_mutual_info(tight, y, random_state=0)
    assert out["mi"] == pytest.approx(np.log(4), rel=1e-6)  # perfect clustering: MI = H(y)
    assert out["nmi"] == pytest.approx(1.0)
    from sklearn.cluster import KMeans

    assign = KMeans(4, n_init=10, random_state=0).fit_predict(loose)
    ref = mutual_info_score(y, assign)
    assert kmeans_mutual_info(loose, y, random_state=0)["mi"] == pytest.approx(ref)
    assert ref < out["mi"]


def test_kmeans_mutual_info_bad_inputs():
    with pytest.raises(ValueError, match="NaN"):
        kmeans_mutual_info(np.array([[np.nan, 0.0], [1.0, 1.0]]), [0, 1])
    with pytest.raises(ValueError, match="n_clusters"):
        kmeans_mutual_info(np.zeros((3, 2)), [0, 1, 2], n_clusters=5)
