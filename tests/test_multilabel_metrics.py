"""Multi-label metrics and thresholds against scikit-learn and brute force."""

import numpy as np
import pytest
from sklearn import metrics as skm

from zsl_lib.metrics.multilabel import fbeta_micro, multilabel_report, per_class_roc_auc
from zsl_lib.zeroshot.thresholds import best_global_threshold, per_class_thresholds


def _scores(n=200, C=9, seed=0):
    rng = np.random.default_rng(seed)
    Y = (rng.random((n, C)) < 0.2).astype(int)
    S = np.clip(0.35 * Y + rng.random((n, C)) * 0.7, 0, 1).round(3)  # rounding makes ties
    return Y, S


def test_report_matches_sklearn():
    Y, S = _scores()
    t = 0.5
    P = (S >= t).astype(int)
    r = multilabel_report(Y, S, t)
    assert r["f2"] == pytest.approx(skm.fbeta_score(Y, P, beta=2, average="micro"))
    assert r["recall"] == pytest.approx(skm.recall_score(Y, P, average="micro"))
    assert r["precision"] == pytest.approx(skm.precision_score(Y, P, average="micro"))
    assert r["accuracy"] == pytest.approx(1 - skm.hamming_loss(Y, P))
    assert r["subset_accuracy"] == pytest.approx(skm.accuracy_score(Y, P))
    assert r["mse"] == pytest.approx(skm.mean_squared_error(Y, S))
    assert r["roc_auc"] == pytest.approx(skm.roc_auc_score(Y, S, average="micro"))
    assert r["threshold"] == t
    assert fbeta_micro(Y, P) == pytest.approx(r["f2"])


def test_per_class_roc_auc_matches_sklearn_and_marks_undefined():
    Y, S = _scores()
    Y[:, 2] = 0
    auc = per_class_roc_auc(Y, S)
    assert np.isnan(auc[2])
    ok = [c for c in range(Y.shape[1]) if c != 2]
    np.testing.assert_allclose(auc[ok], skm.roc_auc_score(Y[:, ok], S[:, ok], average=None))


def test_best_global_threshold_is_brute_force_optimum():
    Y, S = _scores()
    t, f = best_global_threshold(Y, S)
    brute = max(skm.fbeta_score(Y, (S >= c).astype(int), beta=2, average="micro", zero_division=0)
                for c in np.unique(S))
    assert f == pytest.approx(brute)
    assert multilabel_report(Y, S, t)["f2"] == pytest.approx(brute)


def test_per_class_thresholds_maximise_each_class():
    Y, S = _scores()
    Y[:3, 4] = 1
    Y[3:, 4] = 0  # 3 positives: falls back to the global threshold with min_positives=5
    th = per_class_thresholds(Y, S, min_positives=5)
    tg, _ = best_global_threshold(Y, S)
    assert th[4] == tg
    for c in range(Y.shape[1]):
        if c == 4:
            continue
        best = max(skm.fbeta_score(Y[:, c], S[:, c] >= v, beta=2, zero_division=0) for v in np.unique(S[:, c]))
        assert skm.fbeta_score(Y[:, c], S[:, c] >= th[c], beta=2) == pytest.approx(best)
    # per-class thresholds never do worse on the data they were chosen on, class by class
    r = multilabel_report(Y, S, th)
    assert 0 <= r["f2"] <= 1


@pytest.mark.parametrize("bad", [-0.1, 1.5, np.nan, [0.2, 2.0]])
def test_thresholds_outside_unit_interval_are_rejected(bad):
    Y, S = _scores(C=2)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        multilabel_report(Y, S, bad)


def test_shape_and_value_errors():
    Y, S = _scores()
    with pytest.raises(ValueError, match="shape"):
        multilabel_report(Y, S[:, :3], 0.5)
    with pytest.raises(ValueError, match="only 0 and 1"):
        multilabel_report(Y * 2, S, 0.5)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        best_global_threshold(Y, S * 3)


def test_fbeta_micro_rejects_scores_instead_of_predictions():
    """Real-valued scores are not silently treated as 'positive when > 0'."""
    Y, S = _scores()
    with pytest.raises(ValueError, match="Y_pred must be binary .*Threshold scores first"):
        fbeta_micro(Y, S)
    with pytest.raises(ValueError, match="Y_pred must be binary"):
        fbeta_micro(Y, np.where(S >= 0.5, 2, 0))
    # bool and 0/1 predictions give the same F2, equal to scikit-learn's
    P = S >= 0.5
    assert fbeta_micro(Y, P) == fbeta_micro(Y, P.astype(int)) == pytest.approx(
        skm.fbeta_score(Y, P.astype(int), beta=2, average="micro"))


def test_report_on_no_items_is_a_clear_error():
    with pytest.raises(ValueError, match="multilabel_report needs at least one item"):
        multilabel_report(np.zeros((0, 4)), np.zeros((0, 4)), 0.5)
    with pytest.raises(ValueError, match="Y_true must be an indicator matrix"):
        multilabel_report(np.zeros(4), np.zeros(4), 0.5)


@pytest.mark.parametrize("t", [0.3, 0.5, 0.8])
def test_samples_and_micro_f2_match_sklearn_and_differ(t):
    import warnings

    from zsl_lib.metrics.multilabel import fbeta_samples

    Y, S = _scores(seed=3)
    Y[:5] = 0  # items without labels: sklearn's zero_division default scores them 0 ...
    S[:2] = 0.0  # ... when nothing is predicted either
    P = (S >= t).astype(int)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # sklearn's UndefinedMetricWarning for the empty items
        ref_samples = skm.fbeta_score(Y, P, beta=2, average="samples")
    assert fbeta_samples(Y, P) == pytest.approx(ref_samples)
    assert fbeta_micro(Y, P) == pytest.approx(skm.fbeta_score(Y, P, beta=2, average="micro"))
    assert fbeta_samples(Y, P) != pytest.approx(fbeta_micro(Y, P))  # two different averages


def test_samples_f2_hand_computed():
    from zsl_lib.metrics.multilabel import fbeta_samples

    Y = np.array([[1, 1, 0], [1, 0, 0]])
    P = np.array([[1, 0, 1], [1, 0, 0]])
    # item 0: tp 1, fn 1, fp 1 -> 5 / (5 + 4 + 1) = 0.5; item 1: 1.0; mean 0.75
    assert fbeta_samples(Y, P) == pytest.approx(0.75)
    # micro: tp 2, fn 1, fp 1 -> 10 / (10 + 4 + 1)
    assert fbeta_micro(Y, P) == pytest.approx(10 / 15)
    with pytest.raises(ValueError, match="shape"):
        fbeta_samples(Y, P[:, :2])
