"""ZSL metrics against naive loops and hand-computed examples."""

import numpy as np
import pytest
from sklearn.metrics import mutual_info_score

from zsl_lib.metrics.zsl import (
    gzsl_scores,
    harmonic_mean,
    kmeans_mutual_info,
    per_class_accuracy,
    seen_unseen_curve,
)


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
    with pytest.raises(ValueError, match="y_pred holds numbers but y_true holds strings"):
        per_class_accuracy(["cat", "dog"], [0, 1])
    with pytest.raises(ValueError, match="classes holds numbers but y_true holds strings"):
        per_class_accuracy(["cat", "dog"], ["cat", "cat"], classes=[0, 1])


def test_per_class_accuracy_string_labels_match_naive_loop():
    rng = np.random.default_rng(1)
    names = np.array(["cat", "dog", "owl", "yak", "emu"])
    y_true = names[rng.integers(0, 5, 300)]
    y_pred = np.where(rng.random(300) < 0.5, y_true, names[rng.integers(0, 5, 300)])
    assert per_class_accuracy(y_true, y_pred) == pytest.approx(_naive_per_class(y_true, y_pred))
    # lists of Python strings (object arrays) and an explicit class list work the same way
    classes = ["yak", "cat", "dog", "owl", "emu"]
    assert per_class_accuracy(list(y_true), list(y_pred), classes=classes) == pytest.approx(
        _naive_per_class(y_true, y_pred))
    # a predicted label that is no class of y_true simply counts as wrong
    assert per_class_accuracy(["a", "b"], ["a", "zebra"]) == pytest.approx(0.5)
    s = gzsl_scores(y_true, y_pred, ["cat", "dog"], ["owl", "yak", "emu"])
    seen = np.isin(y_true, ["cat", "dog"])
    assert s["s"] == pytest.approx(_naive_per_class(y_true[seen], y_pred[seen]))
    assert s["u"] == pytest.approx(_naive_per_class(y_true[~seen], y_pred[~seen]))


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


def _naive_curve(y, scores, classes, seen, unseen, gammas):
    """Reference: predict with argmax(scores - gamma * seen column) for every gamma, one at a time."""
    is_seen = np.isin(classes, seen)
    out = []
    for g in gammas:
        g = np.clip(g, -1e9, 1e9)
        pred = classes[np.argmax(scores - g * is_seen, axis=1)]
        r = gzsl_scores(y, pred, seen, unseen)
        out.append((r["s"], r["u"]))
    return np.array(out)


def test_seen_unseen_curve_matches_naive_loop():
    rng = np.random.default_rng(0)
    classes = rng.permutation(12)  # columns in a scrambled order
    seen, unseen = np.arange(8), np.arange(8, 12)
    y = rng.integers(0, 12, 400)
    scores = rng.normal(size=(400, 12))
    scores[np.arange(400), np.argsort(classes)[y]] += 1.5  # the true column is usually highest
    scores[:, np.isin(classes, seen)] += 0.7  # a seen-class bias, which calibration removes
    c = seen_unseen_curve(y, scores, classes, seen, unseen)
    ref = _naive_curve(y, scores, classes, seen, unseen, c["gamma"])
    np.testing.assert_allclose(np.c_[c["s"], c["u"]], ref, atol=1e-12)
    # ends: everything seen, then everything unseen
    assert c["u"][0] == 0 and c["s"][-1] == 0
    # AUSUC by the trapezoid rule over the reference points; best H by brute force
    x, yy = ref[::-1, 0], ref[::-1, 1]
    assert c["ausuc"] == pytest.approx(np.trapezoid(yy, x))
    h = [harmonic_mean(s_, u_) for s_, u_ in ref]
    assert c["best_h"] == pytest.approx(max(h))
    # the uncalibrated H (gamma = 0) is on the curve and not above the best
    pred = classes[np.argmax(scores, axis=1)]
    assert gzsl_scores(y, pred, seen, unseen)["h"] <= c["best_h"] + 1e-12


def test_seen_unseen_curve_hand_example():
    # classes 0 (seen), 1 (unseen); one sample each, both scored correctly only after calibration
    y = np.array([0, 1])
    scores = np.array([[2.0, 1.0],   # seen sample, gap +1
                       [3.0, 2.5]])  # unseen sample, gap +0.5: predicted seen unless gamma > 0.5
    c = seen_unseen_curve(y, scores, [0, 1], [0], [1])
    np.testing.assert_allclose(c["gamma"], [-np.inf, 0.75, np.inf])
    np.testing.assert_allclose(c["s"], [1, 1, 0])
    np.testing.assert_allclose(c["u"], [0, 1, 1])
    assert c["ausuc"] == pytest.approx(1.0) and c["best_h"] == pytest.approx(1.0)
    assert c["best_gamma"] == pytest.approx(0.75)


def test_seen_unseen_curve_bad_inputs():
    y = np.array([0, 1])
    with pytest.raises(ValueError, match="shape"):
        seen_unseen_curve(y, np.zeros((2, 3)), [0, 1], [0], [1])
    with pytest.raises(ValueError, match="union"):
        seen_unseen_curve(y, np.zeros((2, 2)), [0, 2], [0], [1])
    with pytest.raises(ValueError, match="NaN"):
        seen_unseen_curve(y, np.array([[np.nan, 0], [0, 0]]), [0, 1], [0], [1])
    with pytest.raises(ValueError, match="both seen and unseen"):
        seen_unseen_curve(np.array([0, 0]), np.zeros((2, 2)), [0, 1], [0], [1])


def test_calibrated_gzsl_scores_at_the_curves_best_offset_gives_its_best_h():
    from zsl_lib.metrics.zsl import calibrated_gzsl_scores, seen_unseen_curve

    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(6), 10)
    scores = rng.normal(size=(60, 6)) + 1.5 * np.eye(6)[y]
    scores[:, :4] += 1.0  # seen classes 0-3 biased upwards
    seen, unseen = np.arange(4), np.array([4, 5])
    c = seen_unseen_curve(y, scores, np.arange(6), seen, unseen)
    r = calibrated_gzsl_scores(y, scores, np.arange(6), seen, unseen, c["best_gamma"])
    assert r["h"] == pytest.approx(c["best_h"]) and r["u"] == pytest.approx(c["best_u"])
    # by hand: offset 0 is the plain argmax
    r0 = calibrated_gzsl_scores(y, scores, np.arange(6), seen, unseen, 0.0)
    assert r0 == gzsl_scores(y, scores.argmax(1), seen, unseen)
    with pytest.raises(ValueError, match="offset must be a finite number"):
        calibrated_gzsl_scores(y, scores, np.arange(6), seen, unseen, np.inf)
