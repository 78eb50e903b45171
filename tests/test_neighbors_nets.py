"""Neighbour nets, prototypes, fine-tuning, language-image model, translation and HPO."""

import numpy as np
import pandas as pd
import pytest

from zsl_lib.experiments.multilabel_hpo import converged, maximize
from zsl_lib.zeroshot.language_image import LanguageImageModel, translate
from zsl_lib.zeroshot.neighbor_nets import NeighborNet, make_prototypes, prototype_groups
from zsl_lib.zeroshot.neighbors import NeighborSearch


def _data(n=90, d=12, C=5, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)).astype(np.float32)
    Y = (rng.random((n, C)) < 0.3).astype(np.float32)
    Y[np.arange(n), rng.integers(0, C, n)] = 1
    return X, Y, rng.normal(size=(25, d)).astype(np.float32)


def _unit(A):
    return A / np.linalg.norm(A, axis=1, keepdims=True)


def test_simple_net_equals_unfiltered_neighbor_search():
    X, Y, Q = _data()
    net = NeighborNet("simple", temperature=20.0).fit(X, Y)
    ns = NeighborSearch(20.0, max_sim_diff=1e9, max_neighbors=len(X), stop_weight=1.0).fit(X, Y)
    np.testing.assert_allclose(net.predict_proba(Q), ns.predict_proba(Q), atol=1e-5)


def test_classwise_net_matches_naive_masked_softmax():
    X, Y, Q = _data()
    Y[:, 4] = 0  # a class without reference items scores 0
    Y[Y.sum(1) == 0, 0] = 1
    T = 7.0
    out = NeighborNet("classwise", temperature=T).fit(X, Y).predict_proba(Q)
    S = _unit(Q) @ _unit(X).T
    ref = np.zeros((len(Q), Y.shape[1]))
    for b in range(len(Q)):
        for c in range(Y.shape[1]):
            m = Y[:, c] > 0
            if not m.any():
                continue
            w = np.exp(T * S[b, m] - (T * S[b, m]).max())
            ref[b, c] = ((w / w.sum()) @ S[b, m] + 1) / 2
    np.testing.assert_allclose(out, ref, atol=1e-5)


def test_prototypes_random_average_and_onehot():
    X, Y, _ = _data()
    P, L, owner = make_prototypes(X, Y, n_per_class=3, grouping="random", labels="average")
    assert P.shape == (15, X.shape[1]) and L.shape == (15, 5) and (owner == np.repeat(np.arange(5), 3)).all()
    # every class-0 prototype is the normalised mean of some class-0 items; average labels have
    # a 1 for the class they were made for and fractions elsewhere
    assert np.allclose(L[owner == 0, 0], 1.0)
    assert ((L >= 0) & (L <= 1)).all()
    _, L1, _ = make_prototypes(X, Y, n_per_class=3, grouping="random", labels="onehot")
    np.testing.assert_array_equal(L1, np.eye(5)[owner])
    # hand-computed: class with 2 items and 3 groups -> 2 singleton prototypes + 1 zero vector
    Y2 = np.zeros((4, 2), np.float32)
    Y2[:2, 0] = 1
    Y2[2:, 1] = 1
    P2, L2, _ = make_prototypes(X[:4], Y2, n_per_class=3, grouping="kmeans")
    assert (np.abs(P2).sum(1) == 0).sum() == 2 and (L2.sum(1) == 0).sum() == 2
    np.testing.assert_allclose(np.sort(P2[:2], axis=0), np.sort(_unit(X[:2]), axis=0), atol=1e-6)


def test_kmeans_prototypes_are_cluster_means():
    X, Y, _ = _data(n=200)
    P, L, owner = make_prototypes(X, Y, n_per_class=4, grouping="kmeans", random_state=1)
    nonempty = np.abs(P).sum(1) > 0
    np.testing.assert_allclose(np.linalg.norm(P[nonempty], axis=1), 1.0, rtol=1e-5)
    assert nonempty.sum() >= 18


@pytest.mark.parametrize("kind", ["simple", "classwise"])
def test_fine_tuning_lowers_training_mse(kind):
    X, Y, _ = _data(n=120)
    kw = dict(kind=kind, temperature=10.0, n_prototypes=4, grouping="random", proto_labels="average",
              epochs=15, batch_size=16, lr=0.5, momentum=0.9, random_state=0)
    base = NeighborNet(**kw).fit(X, Y)
    tuned = NeighborNet(**kw, fine_tune=True).fit(X, Y)
    mse = lambda m: np.mean((m.predict_proba(X) - Y) ** 2)  # noqa: E731
    assert mse(tuned) < mse(base)
    assert tuned.loss_history_[-1] < tuned.loss_history_[0]
    if kind == "simple":
        assert tuned.temperature_ != pytest.approx(10.0)
    else:
        assert tuned.temperature_ == pytest.approx(10.0)


def test_precomputed_prototype_groups_give_the_same_nets():
    X, Y, Q = _data(n=150)
    for grouping in ("kmeans", "random"):
        groups = prototype_groups(X, Y, 4, grouping, random_state=3)
        assert len(groups) == Y.shape[1]
        for c, g in enumerate(groups):
            assert g.shape == ((Y[:, c] > 0).sum(),) and g.min() >= 0 and g.max() < 4
        P, L, _ = make_prototypes(X, Y, 4, grouping, "average", random_state=3)
        P2, L2, _ = make_prototypes(X, Y, 4, grouping, "average", random_state=3, groups=groups)
        np.testing.assert_array_equal(P, P2)
        np.testing.assert_array_equal(L, L2)
        kw = dict(kind="simple", temperature=10.0, n_prototypes=4, grouping=grouping, random_state=3)
        np.testing.assert_array_equal(NeighborNet(**kw).fit(X, Y).predict_proba(Q),
                                      NeighborNet(**kw).fit(X, Y, groups=groups).predict_proba(Q))
    with pytest.raises(ValueError, match="groups must be a list of 5 arrays"):
        make_prototypes(X, Y, 4, groups=groups[:2])
    with pytest.raises(ValueError, match=r"groups\[0\] must hold one group in \[0, 1\]"):
        make_prototypes(X, Y, 2, groups=groups)
    with pytest.raises(ValueError, match="unknown grouping 'spectral'"):
        prototype_groups(X, Y, 4, "spectral")
    with pytest.raises(ValueError, match="n_per_class must be an integer >= 1"):
        make_prototypes(X, Y, 0)


def test_neighbor_net_bad_inputs():
    X, Y, Q = _data()
    Y0 = Y.copy()
    Y0[0] = 0
    with pytest.raises(ValueError, match="no labels.*drop_unlabelled"):
        NeighborNet().fit(X, Y0)
    with pytest.raises(ValueError, match="unknown kind 'deep'"):
        NeighborNet("deep").fit(X, Y)
    with pytest.raises(ValueError, match="temperature must lie in"):
        NeighborNet(temperature=0.0).fit(X, Y)
    with pytest.raises(ValueError, match="momentum"):
        NeighborNet(fine_tune=True, momentum=1.0).fit(X, Y)
    net = NeighborNet().fit(X, Y)
    with pytest.raises(ValueError, match="Q has 3 features but the model was fitted on"):
        net.predict_proba(Q[:, :3])


def test_fine_tuning_without_prototypes_masks_self():
    X, Y, _ = _data(n=60)
    net = NeighborNet("simple", temperature=50.0, fine_tune=True, epochs=2, batch_size=20, lr=0.01).fit(X, Y)
    assert np.isfinite(net.loss_history_).all()


def _fake_text_encoder(texts):
    # deterministic bag of characters: equal strings -> equal vectors
    V = np.zeros((len(texts), 26), np.float32)
    for i, t in enumerate(texts):
        for ch in t.lower():
            if "a" <= ch <= "z":
                V[i, ord(ch) - 97] += 1
    return V


def test_language_image_weighted_context_ensemble_and_rescaling():
    m = LanguageImageModel(contexts=["a {}", "the {} photo"])
    assert m.captions(["cat", "dog"]) == ["a cat", "a dog", "the cat photo", "the dog photo"]
    m.fit(_fake_text_encoder(m.captions(["cat", "dog"])), ["cat", "dog"])
    Z = np.random.default_rng(0).normal(size=(4, 26)).astype(np.float32)
    E = _unit(_fake_text_encoder(["a cat", "a dog", "the cat photo", "the dog photo"])).reshape(2, 2, 26)
    w = np.array([3.0, 1.0])
    T = _unit(0.75 * E[0] + 0.25 * E[1])
    np.testing.assert_allclose(m.predict_proba(Z, w), (_unit(Z) @ T.T + 1) / 2, atol=1e-6)
    np.testing.assert_allclose(m.single_context_scores(Z)[1], (_unit(Z) @ E[1].T + 1) / 2, atol=1e-6)
    with pytest.raises(ValueError, match="context weights"):
        m.predict_proba(Z, [0, 0])
    with pytest.raises(ValueError, match="exactly one"):
        LanguageImageModel(contexts=["no slot"]).captions(["cat"])
    with pytest.raises(ValueError, match="caption_embeddings has 3 rows for 4 captions"):
        LanguageImageModel(contexts=["a {}", "the {} photo"]).fit(np.ones((3, 26)), ["cat", "dog"])
    with pytest.raises(ValueError, match="Z has 5 features but the class names were embedded as 26-d"):
        m.predict_proba(Z[:, :5])
    with pytest.raises(ValueError, match="non-empty names"):
        LanguageImageModel().captions(["cat", " "])


def test_translation_mapping_validation(tmp_path):
    df = pd.DataFrame({"original": ["treakslet", "tilhenger"], "automatic": ["treakslet", "supporter"],
                       "manual": ["three axle vehicle", "trailer"]})
    path = tmp_path / "tr.csv"
    df.to_csv(path, index=False)
    assert translate(["tilhenger", "treakslet"], path, "manual") == ["trailer", "three axle vehicle"]
    assert translate(["tilhenger"], path, "original", allow_unknown=True) == ["tilhenger"]
    with pytest.raises(ValueError, match="not in the dataset"):
        translate(["tilhenger"], path, "manual")
    with pytest.raises(ValueError, match="no 'manual' translation"):
        translate(["tilhenger", "treakslet", "antenne"], path, "manual")
    with pytest.raises(ValueError, match="not a column"):
        translate(["tilhenger", "treakslet"], path, "google")


def test_hpo_stopping_rule_and_search():
    assert converged([0.5] * 10)
    assert not converged([0.5] * 9)
    assert not converged([0.5] * 9 + [0.49])
    res = maximize(lambda p: -(p["x"] - 0.3) ** 2, {"x": ("float", 0.0, 1.0)}, max_trials=40, seed=0)
    assert res.n_trials <= 40 and abs(res.best_params["x"] - 0.3) < 0.1
    # a flat objective stops after exactly 10 trials (the 10 best are identical)
    flat = maximize(lambda p: 1.0, {"x": ("int", 1, 5)}, max_trials=100)
    assert flat.converged and flat.n_trials == 10
    with pytest.raises(ValueError, match="kind"):
        maximize(lambda p: 0.0, {"x": ("bogus", 0, 1)}, max_trials=2)
