"""The clusterable-feature CVAE (Xu, Shu & Samaras): losses, estimator behaviour, bad inputs."""

import numpy as np
import pytest
import torch

from zsl_lib.data.zsl_splits import make_synthetic_zsl
from zsl_lib.experiments.cvae import evaluate_zsl
from zsl_lib.metrics.zsl import gzsl_scores, per_class_accuracy
from zsl_lib.zeroshot.cvae import (
    ABLATION_VARIANTS,
    ClusterableCVAE,
    GaussianSimilarityMapping,
    gaussian_similarity_logits,
    gaussian_similarity_loss,
    train_softmax,
)

SMALL = dict(hidden_size=32, projection_dim=16, epochs=15, lr=1e-2, batch_size=64, gaussian_epochs=5,
             gaussian_gamma=0.1, n_synth_per_class=30, clf_epochs=15, clf_lr=5e-3, progress=False)


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def split():
    return make_synthetic_zsl(n_classes=20, n_unseen=4, n_train_per_class=30, n_test_per_class=15,
                              dim=20, semantic_dim=6, noise=0.5, seed=0)


def test_gaussian_similarity_loss_matches_naive_loop():
    rng = np.random.default_rng(0)
    H, W, y, gamma = rng.normal(size=(7, 3)), rng.normal(size=(4, 3)), rng.integers(0, 4, 7), 0.8
    total = 0.0
    for i in range(7):  # eq. 8, per sample
        s = np.array([-gamma * np.sum((H[i] - W[k]) ** 2) for k in range(4)])
        total += -s[y[i]] + np.log(np.sum(np.exp(s)))
    assert gaussian_similarity_loss(H, W, y, gamma) == pytest.approx(total / 7, rel=1e-10)
    logits = gaussian_similarity_logits(torch.tensor(H), torch.tensor(W), gamma).numpy()
    assert logits[2, 1] == pytest.approx(-gamma * np.sum((H[2] - W[1]) ** 2))


def test_gaussian_mapping_starts_at_identity_and_reduces_loss(split):
    X, y = split.X_train, split.y_train
    f0 = GaussianSimilarityMapping(epochs=0, progress=False).fit(X, y)
    np.testing.assert_allclose(f0.transform(X), X, rtol=1e-6, atol=1e-6)
    f = GaussianSimilarityMapping(epochs=15, gamma=0.1, lr=1e-2, random_state=0, progress=False).fit(X, y)
    assert f.history_[-1] < f.history_[0]
    assert f.transform(X).shape == X.shape
    with pytest.raises(ValueError, match="out_dim"):
        GaussianSimilarityMapping(out_dim=3, progress=False).fit(X, y)
    assert GaussianSimilarityMapping(out_dim=3, init="random", epochs=1, progress=False).fit(X, y).transform(X).shape == (len(X), 3)


def test_train_softmax_separable_data():
    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(3), 30)
    X = (np.eye(3)[y] * 4 + rng.normal(size=(90, 3)) * 0.3).astype(np.float32)
    W, b = train_softmax(X, y, 3, epochs=50, lr=1e-2, random_state=0)
    assert np.mean(np.argmax(X @ W.T + b, 1) == y) == 1.0


@pytest.mark.parametrize("variant", list(ABLATION_VARIANTS))
def test_every_ablation_variant_learns_zero_shot(split, variant):
    kw = {"noise_alpha": 0.2, **ABLATION_VARIANTS[variant]}
    m = ClusterableCVAE(random_state=0, **SMALL, **kw).fit(split.X_train, split.y_train, split.semantics)
    pred = m.predict(split.X_test_unseen)
    assert set(np.unique(pred)) <= set(split.unseen_classes.tolist())
    assert per_class_accuracy(split.y_test_unseen, pred) > 0.6  # chance: 0.25
    Xte = np.concatenate([split.X_test_seen, split.X_test_unseen])
    yte = np.concatenate([split.y_test_seen, split.y_test_unseen])
    g = gzsl_scores(yte, m.predict(Xte, "gzsl"), split.seen_classes, split.unseen_classes)
    assert g["s"] > 0.3 and g["u"] > 0.1
    p = SMALL["projection_dim"] if kw["use_mapping"] else split.X_train.shape[1]
    assert m.transform(split.X_test_unseen).shape == (len(split.X_test_unseen), p)
    Xg, yg = m.generate(split.unseen_classes, 5)
    assert Xg.shape == (20, p) and Xg.dtype == np.float32
    np.testing.assert_array_equal(yg, np.repeat(split.unseen_classes, 5))


def test_decision_function_and_calibrated_gzsl_scores(split):
    m = ClusterableCVAE(random_state=0, **SMALL).fit(split.X_train, split.y_train, split.semantics)
    scores, classes = m.decision_function(split.X_test_unseen, "gzsl")
    assert scores.shape == (len(split.X_test_unseen), len(classes))
    np.testing.assert_array_equal(classes[np.argmax(scores, 1)], m.predict(split.X_test_unseen, "gzsl"))
    res = evaluate_zsl(lambda X: m.predict(X, "zsl"), lambda X: m.predict(X, "gzsl"), split,
                       scores_gzsl=lambda X: m.decision_function(X, "gzsl"))
    assert 0 < res["gzsl.ausuc"] <= 1
    assert res["gzsl.h"] <= res["gzsl.best_h"] + 1e-12  # gamma = 0 is one point of the curve
    with pytest.raises(ValueError, match="setting"):
        m.decision_function(split.X_test_unseen, "both")


def test_deterministic_under_random_state(split):
    a = ClusterableCVAE(random_state=3, **SMALL).fit(split.X_train, split.y_train, split.semantics)
    b = ClusterableCVAE(random_state=3, **SMALL).fit(split.X_train, split.y_train, split.semantics)
    np.testing.assert_allclose(a.transform(split.X_test_unseen), b.transform(split.X_test_unseen))
    np.testing.assert_array_equal(a.predict(split.X_test_seen, "gzsl"), b.predict(split.X_test_seen, "gzsl"))
    state = torch.random.get_rng_state()
    ClusterableCVAE(random_state=3, **SMALL).fit(split.X_train, split.y_train, split.semantics)
    assert torch.equal(state, torch.random.get_rng_state())  # global torch RNG untouched


def test_noise_enlarges_intra_class_variance_of_synthesised_features(split):
    def within_std(alpha):
        m = ClusterableCVAE(random_state=0, noise_alpha=alpha, **SMALL).fit(
            split.X_train, split.y_train, split.semantics)
        X, y = m.generate(split.unseen_classes, 50, random_state=0)
        return np.mean([X[y == c].std(0).mean() for c in split.unseen_classes])

    assert within_std(1.0) > 2 * within_std(0.0)


def test_mapping_is_trained_by_classification_loss(split):
    m = ClusterableCVAE(random_state=0, **{**SMALL, "epochs": 20}).fit(split.X_train, split.y_train, split.semantics)
    assert m.history_["cls"][-1] < m.history_["cls"][0]
    assert all(v == 0 for v in ClusterableCVAE(random_state=0, use_mapping=False, use_gaussian=False, **SMALL)
               .fit(split.X_train, split.y_train, split.semantics).history_["cls"])


def test_bad_inputs(split):
    X, y, S = split.X_train, split.y_train, split.semantics
    m = ClusterableCVAE(**SMALL)
    with pytest.raises(ValueError, match="semantics has 5 rows"):
        m.fit(X, y, S[:5])
    with pytest.raises(ValueError, match="also occur in the training labels"):
        m.fit(X, y, S, unseen_classes=[split.seen_classes[0], split.unseen_classes[0]])
    Xn = X.copy()
    Xn[3, 2] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        m.fit(Xn, y, S)
    with pytest.raises(ValueError, match="2-D"):
        m.fit(X[0], y, S)
    with pytest.raises(ValueError, match="y has 479 labels but there are 480 items"):
        m.fit(X, y[:-1], S)
    with pytest.raises(RuntimeError, match="not fitted"):
        m.predict(X)
    with pytest.raises(ValueError, match="hidden_size"):
        ClusterableCVAE(hidden_size=0).fit(X, y, S)
    with pytest.raises(ValueError, match="feature_scaling"):
        ClusterableCVAE(feature_scaling="zscore", **{k: v for k, v in SMALL.items()}).fit(X, y, S)
    fitted = ClusterableCVAE(random_state=0, **SMALL).fit(X, y, S)
    with pytest.raises(ValueError, match="fitted on 20"):
        fitted.predict(X[:, :5])
    with pytest.raises(ValueError, match="setting"):
        fitted.predict(X, setting="fsl")


@pytest.mark.parametrize("device", ["cpu", "auto"])
def test_device_cpu_and_auto_give_the_cpu_result(device):
    """Training on ``device`` gives the CPU model when the resolved device is the CPU (every random
    draw stays on the CPU), and inference runs on the CPU."""
    from zsl_lib.config import resolve_device

    sp = make_synthetic_zsl(n_classes=10, n_unseen=3, n_train_per_class=10, n_test_per_class=5, dim=8, semantic_dim=4)
    kw = dict(hidden_size=8, projection_dim=6, epochs=2, gaussian_epochs=1, n_synth_per_class=5, clf_epochs=2,
              random_state=0, progress=False)
    ref = ClusterableCVAE(**kw, device="cpu").fit(sp.X_train, sp.y_train, sp.semantics)
    m = ClusterableCVAE(**kw, device=device).fit(sp.X_train, sp.y_train, sp.semantics)
    scores = m.decision_function(sp.X_test_unseen, "gzsl")[0]
    if resolve_device(device) == "cpu":
        np.testing.assert_array_equal(scores, ref.decision_function(sp.X_test_unseen, "gzsl")[0])
    else:  # a GPU: the same model up to floating-point reduction order
        np.testing.assert_allclose(scores, ref.decision_function(sp.X_test_unseen, "gzsl")[0], atol=1e-3)
    assert next(m.decoder_.parameters()).device.type == "cpu"
    with pytest.raises(ValueError, match="device 'tpu' is not supported"):
        ClusterableCVAE(**kw, device="tpu").fit(sp.X_train, sp.y_train, sp.semantics)


def test_synth_spread_match_gives_synthesised_classes_the_real_seen_variance():
    from zsl_lib.zeroshot.cvae import within_class_variance

    sp = make_synthetic_zsl(n_classes=10, n_unseen=3, n_train_per_class=30, n_test_per_class=5, dim=8, semantic_dim=4)
    kw = dict(hidden_size=32, epochs=40, lr=1e-2, n_synth_per_class=400, clf_epochs=1, random_state=0,
              progress=False, use_gaussian=False, use_mapping=False, noise_alpha=0.0)
    m = ClusterableCVAE(**kw, synth_spread="match").fit(sp.X_train, sp.y_train, sp.semantics)
    real = within_class_variance(m.transform(sp.X_train), sp.y_train)
    Xg, yg = m.generate(m.seen_classes_, 400, random_state=1)
    synth = within_class_variance(Xg, yg)
    plain = within_class_variance(*m.generate(m.seen_classes_, 400, random_state=1, spread=False))
    # the plain CVAE's samples are too tight (posterior collapse); the matched ones have the real
    # within-class variance where they were short, up to sampling error
    short = m.spread_noise_std_ > 0
    assert short.sum() >= len(short) // 2 and (plain[short] < real[short]).all()
    np.testing.assert_allclose(synth[short], real[short], rtol=0.25)
    kw["epochs"] = 1
    assert not ClusterableCVAE(**kw).fit(sp.X_train, sp.y_train, sp.semantics).spread_noise_std_.any()
    # within_class_variance against a naive loop
    X, y = np.random.default_rng(0).normal(size=(20, 3)), np.repeat([0, 1, 2, 3], 5)
    ref = np.mean([(x - X[y == c].mean(0)) ** 2 for x, c in zip(X, y)], axis=0)
    np.testing.assert_allclose(within_class_variance(X, y), ref)
