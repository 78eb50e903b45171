"""Unit tests of the pairwise-tourney estimator (zsl_lib.zeroshot.tourney) and of notebook 02's
driver (zsl_lib.experiments.tourney) on small synthetic data, against independent references
(naive broadcast, loops over items, scikit-learn)."""

from __future__ import annotations

import itertools
import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import f1_score
from sklearn.metrics.pairwise import cosine_similarity

from zsl_lib.experiments import tourney as E
from zsl_lib.zeroshot import tourney as T


def naive_cross_variance(A, B):
    """The author's definition, literally: broadcast every pair, square, mean, halve."""
    A = np.asarray(A, dtype=np.float64)
    B = np.asarray(B, dtype=np.float64)
    return ((A[:, None, :] - B[None, :, :]) ** 2).mean(axis=(0, 1)) / 2


def blobs(C=5, d=32, n=600, signal=0.4, seed=0):
    rng = np.random.default_rng(seed)
    P = rng.normal(size=(C, d))
    y = rng.integers(0, C, n)
    X = signal * P[y] + rng.normal(size=(n, d))
    return X, P, y


# ------------------------------------------------------------------------------ cross-variance
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_cross_variance_matches_naive_broadcast(seed):
    rng = np.random.default_rng(seed)
    A = rng.normal(loc=rng.normal(size=16), scale=rng.uniform(0.1, 3, 16), size=(37, 16))
    B = rng.normal(loc=rng.normal(size=16) + 5, scale=rng.uniform(0.1, 3, 16), size=(53, 16))
    np.testing.assert_allclose(T.cross_variance(A, B), naive_cross_variance(A, B), rtol=1e-6)
    # float32 inputs are promoted to float64 internally
    np.testing.assert_allclose(
        T.cross_variance(A.astype(np.float32), B.astype(np.float32)),
        naive_cross_variance(A.astype(np.float32), B.astype(np.float32)),
        rtol=1e-6,
    )


def test_cross_variance_of_a_sample_with_itself_is_its_variance():
    X = np.random.default_rng(0).normal(size=(40, 8))
    np.testing.assert_allclose(T.cross_variance(X, X), X.var(axis=0), rtol=1e-12)
    np.testing.assert_allclose(T.cross_deviation_ratio(X, X), np.ones(8), rtol=1e-12)


def test_cross_variance_hand_example():
    # A = {0, 2}, B = {1}: pairs (0-1)^2 = 1, (2-1)^2 = 1 -> mean 1 -> cross-var 0.5
    assert T.cross_variance([[0.0], [2.0]], [[1.0]])[0] == pytest.approx(0.5)


def test_cross_deviation_ratio_matches_author_formula():
    rng = np.random.default_rng(3)
    A, B = rng.normal(size=(30, 5)), rng.normal(2, 1.5, size=(45, 5))
    expected = np.sqrt(naive_cross_variance(A, B) / (A.std(axis=0) * B.std(axis=0)))
    np.testing.assert_allclose(T.cross_deviation_ratio(A, B), expected, rtol=1e-10)
    assert np.all(T.cross_deviation_ratio(A, B) > 1)


def test_cross_deviation_ratio_constant_dimension():
    A = np.array([[1.0, 0.0], [1.0, 1.0], [1.0, 2.0]])
    B = np.array([[1.0, 0.0], [1.0, 3.0]])
    r = T.cross_deviation_ratio(A, B)
    assert np.isnan(r[0])  # the same constant in both: undefined
    B2 = B.copy()
    B2[:, 0] = [0.0, 2.0]
    assert np.isposinf(T.cross_deviation_ratio(A, B2)[0])


@pytest.mark.parametrize(
    "A, B, match",
    [
        (np.zeros((3, 4)), np.zeros((3, 5)), "dimension mismatch"),
        (np.zeros(4), np.zeros((3, 4)), "2-D"),
        (np.full((3, 2), np.nan), np.zeros((3, 2)), "NaN"),
        (np.zeros((0, 2)), np.zeros((3, 2)), "rows"),
    ],
)
def test_cross_variance_bad_inputs(A, B, match):
    with pytest.raises(ValueError, match=match):
        T.cross_variance(A, B)


def test_cross_deviation_ratio_needs_two_items():
    with pytest.raises(ValueError, match="at least 2"):
        T.cross_deviation_ratio(np.zeros((1, 3)), np.ones((4, 3)))


# ------------------------------------------------------------------------------ base model
def test_argmax_cosine_matches_sklearn():
    X, P, _ = blobs()
    np.testing.assert_array_equal(T.argmax_cosine(X, P), cosine_similarity(X, P).argmax(axis=1))
    np.testing.assert_allclose(T.cosine_matrix(X, P), cosine_similarity(X, P), atol=1e-12)


def test_cosines_in_float64_through_the_shared_normaliser():
    from zsl_lib.validation import l2_normalize

    X, P, _ = blobs()
    N = l2_normalize(X, dtype=np.float64)
    assert N.dtype == np.float64 and l2_normalize(X).dtype == np.float32
    np.testing.assert_allclose(N, X / np.linalg.norm(X, axis=1, keepdims=True), rtol=1e-15, atol=1e-15)
    assert T.cosine_matrix(X.astype(np.float32), P).dtype == np.float64
    # zero rows stay zero (cosine 0) instead of dividing by zero
    X0 = X.copy()
    X0[3] = 0
    assert np.all(T.cosine_matrix(X0, P)[3] == 0)


def test_overflowing_features_are_rejected_not_ranked():
    X, P, _ = blobs()
    with pytest.raises(ValueError, match=r"X has values up to .*e\+2.*Scale the features"):
        T.argmax_cosine(X * 1e20, P)


def test_argmax_cosine_undecided_binary():
    X, P, _ = blobs(C=2)
    S = cosine_similarity(X, P)
    pred = T.argmax_cosine(X, P, undecided_margin=0.05)
    expected = np.where(np.abs(S[:, 0] - S[:, 1]) < 0.05, 2, S.argmax(axis=1))
    np.testing.assert_array_equal(pred, expected)
    with pytest.raises(ValueError, match="binary"):
        T.argmax_cosine(*blobs(C=3)[:2], undecided_margin=0.05)


def test_subspace_cosine_matches_sklearn_on_subset():
    X, P, _ = blobs()
    dims = np.array([1, 4, 7, 20])
    np.testing.assert_allclose(
        T.subspace_cosine(X, P, dims), cosine_similarity(X[:, dims], P[:, dims]), atol=1e-12
    )


def test_mismatched_item_and_prompt_dimensions():
    X, P, _ = blobs(d=32)
    with pytest.raises(ValueError, match="dimension mismatch.*same space"):
        T.argmax_cosine(X, P[:, :16])
    with pytest.raises(ValueError, match="dimension mismatch"):
        T.PairwiseTourneyClassifier().fit(X, P[:, :16])
    clf = T.PairwiseTourneyClassifier(cutoff=1.0).fit(X, P)
    with pytest.raises(ValueError, match="dimension mismatch"):
        clf.predict(X[:, :16])


# ------------------------------------------------------------------------------ exclusion rules
def test_pair_training_mask_rules_against_loop():
    X, P, _ = blobs(C=4)
    S = cosine_similarity(X, P)
    assigned = S.argmax(axis=1)
    ma, mb = T.pair_training_mask(S, assigned, 1, 3, cos_limit=0.1, cos_diff=0.05)
    for i in range(len(X)):
        ok = S[i].max() >= 0.1 and abs(S[i, 1] - S[i, 3]) >= 0.05
        assert ma[i] == (ok and assigned[i] == 1)
        assert mb[i] == (ok and assigned[i] == 3)


def test_fit_uses_only_the_kept_items():
    X, P, _ = blobs(C=3, n=400)
    S = cosine_similarity(X, P)
    assigned = S.argmax(axis=1)
    clf = T.PairwiseTourneyClassifier(cutoff=1.02, cos_limit=0.05, cos_diff=0.03,
                                      max_items_per_class=None).fit(X, P)
    for k, (a, b) in enumerate(clf.pairs_):
        ma, mb = T.pair_training_mask(S, assigned, a, b, 0.05, 0.03)
        np.testing.assert_allclose(clf.ratios_[k], T.cross_deviation_ratio(X[ma], X[mb]))
        expected = np.flatnonzero(clf.ratios_[k] > 1.02)
        np.testing.assert_array_equal(clf.pair_dims_[k], expected)
        assert tuple(clf.pair_items_[k]) == (ma.sum(), mb.sum())


def test_max_dims_keeps_the_highest_ratios():
    X, P, _ = blobs()
    clf = T.PairwiseTourneyClassifier(cutoff=1.0, max_dims=3).fit(X, P)
    for r, dims in zip(clf.ratios_, clf.pair_dims_):
        assert len(dims) == 3
        assert set(dims) == set(np.argsort(-r)[:3])


# ------------------------------------------------------------------------------ tourney
def loop_tourney(margins, order_rounds):
    """Reference: plays the bracket item by item with explicit slot orders."""
    n = margins.shape[0]
    out = np.empty(n, dtype=np.int64)
    for i in range(n):
        slots = list(order_rounds[0])
        for r in range(1, len(order_rounds) + 1):
            nxt = [slots[k] if margins[i, slots[k], slots[k + 1]] >= 0 else slots[k + 1]
                   for k in range(0, len(slots) - 1, 2)]
            if len(slots) % 2:
                nxt.append(slots[-1])
            slots = nxt
            if r < len(order_rounds):
                slots = [slots[k] for k in order_rounds[r]]
        out[i] = slots[0]
    return out


@pytest.mark.parametrize("C", [2, 3, 5, 8, 13])
def test_tourney_bracket_matches_item_loop(C):
    rng = np.random.default_rng(C)
    n = 50
    M = rng.normal(size=(n, C, C))
    M = M - M.transpose(0, 2, 1)
    winner, rounds = T.tourney_bracket(M, random_state=7, reshuffle_each_round=True,
                                       return_rounds=True)
    assert rounds == int(np.ceil(np.log2(C)))
    # replay the generator: first the class permutation, then one permutation per later round
    g = np.random.default_rng(7)
    perm = list(g.permutation(C))
    orders, n_slots = [perm], C
    for _ in range(1, rounds):
        n_slots = (n_slots + 1) // 2
        orders.append(list(g.permutation(n_slots)))
    np.testing.assert_array_equal(winner, loop_tourney(M, orders))


def test_tourney_condorcet_winner_always_wins():
    # class 2 beats every other class for every item: it must win whatever the bracket
    n, C = 20, 7
    M = np.random.default_rng(0).normal(size=(n, C, C))
    M = M - M.transpose(0, 2, 1)
    M[:, 2, :] = np.abs(M[:, 2, :]) + 0.1
    M[:, :, 2] = -M[:, 2, :]
    M[:, 2, 2] = 0
    for seed in range(5):
        assert np.all(T.tourney_bracket(M, random_state=seed) == 2)


def test_tourney_bad_margins():
    with pytest.raises(ValueError, match=r"\(n, C, C\)"):
        T.tourney_bracket(np.zeros((3, 2, 4)))


def test_pairwise_margins_against_sklearn_loop():
    X, P, _ = blobs(C=4, n=200)
    clf = T.PairwiseTourneyClassifier(cutoff=1.01).fit(X, P)
    M = clf.pairwise_margins(X)
    for k, (a, b) in enumerate(clf.pairs_):
        dims = clf.pair_dims_[k]
        s = cosine_similarity(X[:, dims], P[[a, b]][:, dims])
        np.testing.assert_allclose(M[:, a, b], s[:, 0] - s[:, 1], atol=1e-12)
        np.testing.assert_allclose(M[:, b, a], -(s[:, 0] - s[:, 1]), atol=1e-12)


def test_round_robin_against_vote_loop():
    X, P, _ = blobs(C=5, n=150)
    clf = T.PairwiseTourneyClassifier(cutoff=1.01).fit(X, P)
    M = clf.pairwise_margins(X)
    rr = clf.predict_round_robin(X)
    for i in range(len(X)):
        wins = np.zeros(5)
        for a, b in itertools.combinations(range(5), 2):
            wins[a if M[i, a, b] > 0 else b] += 1
        best = np.flatnonzero(wins == wins.max())
        assert rr[i] in best
        if len(best) == 1:
            assert rr[i] == best[0]


def test_pairwise_recovers_signal_on_separable_blobs():
    X, P, y = blobs(C=6, d=64, n=1500, signal=0.35)
    clf = T.PairwiseTourneyClassifier(cutoff=1.05).fit(X, P)
    base = (clf.predict_base(X) == y).mean()
    assert (clf.predict(X) == y).mean() > 0.5
    assert (clf.predict_round_robin(X) == y).mean() > 0.5
    assert base > 0.5


def test_two_classes_tourney_equals_pair_decision():
    X, P, _ = blobs(C=2)
    clf = T.PairwiseTourneyClassifier(cutoff=1.01).fit(X, P)
    M = clf.pairwise_margins(X)
    np.testing.assert_array_equal(clf.predict(X), np.where(M[:, 0, 1] >= 0, 0, 1))
    np.testing.assert_array_equal(clf.predict(X), clf.predict_round_robin(X))


def test_undecided_outcome_binary_stage():
    X, P, _ = blobs(C=2)
    clf = T.PairwiseTourneyClassifier(cutoff=1.01, undecided_margin=0.05).fit(X, P)
    M = clf.pairwise_margins(X)
    pred = clf.predict(X)
    np.testing.assert_array_equal(pred == 2, np.abs(M[:, 0, 1]) < 0.05)
    assert set(np.unique(pred)) <= {0, 1, 2}
    with pytest.raises(ValueError, match="binary"):
        T.PairwiseTourneyClassifier(undecided_margin=0.05).fit(*blobs(C=3)[:2])


def test_determinism_under_random_state():
    X, P, _ = blobs(C=7, n=500)
    a = T.PairwiseTourneyClassifier(cutoff=1.02, max_items_per_class=40, random_state=3).fit(X, P)
    b = T.PairwiseTourneyClassifier(cutoff=1.02, max_items_per_class=40, random_state=3).fit(X, P)
    np.testing.assert_array_equal(a.predict(X), b.predict(X))


# ------------------------------------------------------------------------------ degenerate pairs
def test_empty_class_after_exclusion_falls_back_or_raises():
    X, P, _ = blobs(C=3, n=300)
    P = P.copy()
    P[2] = -10 * np.abs(P[0]) - 5  # a prompt no item is near: the class gets no items
    assigned = T.argmax_cosine(X, P)
    assigned[assigned == 2] = 0
    with pytest.warns(RuntimeWarning, match="fell back"):
        clf = T.PairwiseTourneyClassifier(cutoff=1.01).fit(X, P, assigned=assigned)
    fb = dict(zip(map(tuple, clf.pairs_.tolist()), clf.fallback_))
    assert fb[(0, 2)] == "empty_class" and fb[(1, 2)] == "empty_class" and fb[(0, 1)] == ""
    k = list(fb).index((0, 2))
    np.testing.assert_array_equal(clf.pair_dims_[k], np.arange(X.shape[1]))
    # the fallback pair decides exactly like the base model between the two classes
    S = cosine_similarity(X, P)
    np.testing.assert_allclose(clf.pairwise_margins(X)[:, 0, 2], S[:, 0] - S[:, 2], atol=1e-12)
    with pytest.raises(ValueError, match=r"class pair \(0 'a', 2 'c'\).*min_items"):
        T.PairwiseTourneyClassifier(cutoff=1.01, on_degenerate="raise").fit(
            X, P, assigned=assigned, class_names=["a", "b", "c"])


def test_cos_limit_that_excludes_everything():
    X, P, _ = blobs(C=3)
    with pytest.raises(ValueError, match="after the exclusion rules"):
        T.PairwiseTourneyClassifier(cos_limit=1.5, on_degenerate="raise").fit(X, P)
    with pytest.warns(RuntimeWarning):
        clf = T.PairwiseTourneyClassifier(cos_limit=1.5).fit(X, P)
    assert np.all(clf.fallback_ == "empty_class")
    np.testing.assert_array_equal(clf.predict_round_robin(X), clf.predict_base(X))


def test_cutoff_that_keeps_no_dimension():
    X, P, _ = blobs(C=3)
    with pytest.raises(ValueError, match="keeps 0 dimensions.*Lower the cutoff"):
        T.PairwiseTourneyClassifier(cutoff=1e6, on_degenerate="raise").fit(X, P)
    with pytest.warns(RuntimeWarning, match="no_dims"):
        clf = T.PairwiseTourneyClassifier(cutoff=1e6).fit(X, P)
    assert np.all(clf.n_dims_ == X.shape[1])
    np.testing.assert_array_equal(clf.predict_round_robin(X), clf.predict_base(X))


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"on_degenerate": "ignore"}, "on_degenerate"),
        ({"min_items": 1}, "min_items"),
        ({"min_dims": 0}, "min_dims"),
        ({"cutoff": float("nan")}, "cutoff"),
    ],
)
def test_bad_parameters(kwargs, match):
    X, P, _ = blobs(C=3)
    with pytest.raises(ValueError, match=match):
        T.PairwiseTourneyClassifier(**kwargs).fit(X, P)


def test_predict_before_fit():
    with pytest.raises(RuntimeError, match="not fitted"):
        T.PairwiseTourneyClassifier().predict(np.zeros((2, 3)))


def test_no_warning_when_nothing_degenerate():
    X, P, _ = blobs(C=3)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        T.PairwiseTourneyClassifier(cutoff=1.0).fit(X, P)


# ------------------------------------------------------------------------------ baselines
def test_one_vs_rest_against_loop():
    X, P, _ = blobs(C=4, n=400)
    ovr = T.OneVsRestSubspaceClassifier(cutoff=1.02, max_dims=5, max_items_per_class=None).fit(X, P)
    assigned = cosine_similarity(X, P).argmax(axis=1)
    for c in range(4):
        r = T.cross_deviation_ratio(X[assigned == c], X[assigned != c])
        top = np.argsort(-r)[:5]
        assert set(ovr.class_dims_[c]) == {int(k) for k in top if r[k] > 1.02}
    D = ovr.decision_function(X)
    for c, dims in enumerate(ovr.class_dims_):
        np.testing.assert_allclose(D[:, c], cosine_similarity(X[:, dims], P[[c]][:, dims])[:, 0],
                                   atol=1e-12)
    np.testing.assert_array_equal(ovr.predict(X), D.argmax(axis=1))


def test_logreg_cv_predict_is_out_of_fold_and_good_on_blobs():
    X, P, y = blobs(C=3, n=300, signal=1.0)
    pred = E.logreg_cv_predict(X, y, n_splits=3)
    assert pred.shape == y.shape and (pred == y).mean() > 0.8
    with pytest.raises(ValueError, match="n_splits"):
        E.logreg_cv_predict(X[:10], np.r_[np.zeros(9), 1], n_splits=3)


def test_agreement_f1_is_weighted_f1_text_as_reference():
    t = np.array([0, 0, 1, 1, 2, 2, 2])
    i = np.array([0, 1, 1, 1, 2, 0, 2])
    assert E.agreement_f1(t, i) == pytest.approx(f1_score(t, i, average="weighted"))
    with pytest.raises(ValueError, match="same shape"):
        E.agreement_f1(t, i[:-1])


def test_gain_vs_cutoff_table():
    X, P, _ = blobs(C=3, n=300)
    assigned = cosine_similarity(X, P).argmax(axis=1)
    r = T.cross_deviation_ratio(X[assigned == 0], X[assigned == 1])
    df = E.gain_vs_cutoff(X, P, 0, 1, r, np.arange(1.0, 1.5, 0.05), assigned)
    assert list(df.columns) == ["cutoff", "n_dims", "cos_a", "cos_b", "gain", "margin"]
    assert np.all(np.diff(df["n_dims"]) <= 0)
    row = df.iloc[0]
    dims = np.flatnonzero(r > row["cutoff"])
    ix = (assigned == 0) | (assigned == 1)
    s = cosine_similarity(X[ix][:, dims], P[[0, 1]][:, dims])
    assert row["cos_a"] == pytest.approx(s[:, 0].mean())
    assert row["gain"] == pytest.approx(s[:, 0].mean() - s[:, 1].mean())
    assert "full_margin" in df.attrs


def test_run_stage_and_bracket_seed_study():
    X, P, _ = blobs(C=5, n=300)
    st = E.run_stage(X, P, cutoff=1.02, ovr_cutoff=1.0)
    np.testing.assert_array_equal(st.base, cosine_similarity(X, P).argmax(axis=1))
    np.testing.assert_array_equal(st.pairwise, st.model.predict(X))
    np.testing.assert_array_equal(st.round_robin, st.model.predict_round_robin(X))
    assert st.one_vs_rest.shape == (300,)
    W = E.bracket_seed_study(st.model.pairwise_margins(X), [0, 1, 2])
    assert W.shape == (3, 300)
    np.testing.assert_array_equal(W[0], T.tourney_bracket(st.model.pairwise_margins(X), 0))
    # binary stage with undecided outcomes on both models
    Xb, Pb, _ = blobs(C=2, n=200)
    sb = E.run_stage(Xb, Pb, cutoff=1.0, undecided_base=0.03, undecided_pairwise=0.03,
                     one_vs_rest=False)
    assert (sb.base == 2).any() and (sb.pairwise == 2).any() and sb.one_vs_rest is None


# ------------------------------------------------------------------------------ notebook 02's steps
class Recorder(dict):
    """Stands in for zsl_lib.record.record: keeps every recorded key and returns the value."""

    def __call__(self, key, value):
        assert key not in self, f"{key} recorded twice"
        self[key] = value
        return value


def fake_inputs(n=240, C=4, d=24, seed=0, labels=True):
    """A TourneyInputs of synthetic blobs: image and text sides share the class prompts' space."""
    from zsl_lib.experiments.tourney_inputs import TourneyInputs

    rng = np.random.default_rng(seed)
    P = rng.normal(size=(C, d))
    y = np.arange(n) % C
    img = (0.6 * P[y] + rng.normal(size=(n, d))).astype(np.float32)
    txt = (0.3 * P[y] + rng.normal(size=(n, d))).astype(np.float32)
    Pb = rng.normal(size=(2, d))
    yb = (y >= C // 2).astype(np.int64)
    names = [f"class{c}" for c in range(C)]
    titles = [f"item {i} class{y[i]}" for i in range(n)]
    return TourneyInputs(
        source="fashion-products", class_names=names, image=img, text=txt,
        image_prompts=P.astype(np.float32), text_prompts=P.astype(np.float32),
        binary_names=["lo", "hi"], binary_image_prompts=(Pb + 0.5 * P[[0, C - 1]]).astype(np.float32),
        binary_text_prompts=(Pb + 0.5 * P[[0, C - 1]]).astype(np.float32),
        labels=y.astype(np.int64) if labels else None, binary_labels=yb if labels else None,
        text_unmasked=(txt + 0.5 * P[y]).astype(np.float32), titles=titles,
        masked_titles=[t.rsplit(" ", 1)[0] for t in titles],
        prompts={"image": [f"a photo of {c}" for c in names], "text": names})


OPTIONS = dict(cutoff=1.02, cos_limit=None, cos_diff=0.0, max_items_per_class=None, max_dims=None,
               reshuffle_each_round=True, ovr_cutoff=1.0, ovr_max_dims=5, random_state=0)
PARAMS = dict(source="fashion-products", classes=["Tshirts", "Shirts", "Jeans"], prompt_set="fashion13",
              binary_prompt_set="fashion-apparel-vs-footwear", image_encoder="lit-fashion",
              mask_titles=True, multiclass_items="all", example_pair=["Tshirts", "Shirts"],
              cutoff_grid=[1.0, 1.4, 0.01], undecided_base=0.03, undecided_pairwise=0.0, limit=0,
              n_bracket_seeds=10, logreg_folds=5, seed=0)


def test_source_constant_is_one_flat_dict_of_the_articles_numbers():
    assert all(isinstance(k, str) and "." in k and isinstance(v, float) for k, v in E.SOURCE.items())
    assert E.SOURCE["agreement_f1_weighted.multiclass.base"] == 0.613
    assert E.SOURCE["agreement_f1_weighted.multiclass.pairwise"] == 0.889
    assert (E.SOURCE["agreement_f1_weighted.binary.base"], E.SOURCE["agreement_f1_weighted.binary.pairwise"]) == (0.661, 0.645)


def test_check_parameters_accepts_the_profiles():
    E.check_parameters(**PARAMS)
    E.check_parameters(**PARAMS | dict(source="sqid", prompt_set="sqid-clothing13", multiclass_items="binary_agreement",
                                       binary_prompt_set="sqid-clothing-vs-household", image_encoder="",
                                       example_pair=["dress or skirt", "footwear"]))


@pytest.mark.parametrize("change, match", [
    (dict(classes="Tshirts"), "classes: expected a list of names, got the string 'Tshirts'"),
    (dict(example_pair="Tshirts"), "example_pair: expected a list of names, got the string"),
    (dict(example_pair=["Tshirts", "Heels"]), r"example_pair: unknown \['Heels'\]"),
    (dict(example_pair=["Tshirts"]), "expected two class names"),
    (dict(source="cifar"), "source 'cifar'.*'fashion-products', 'sqid'"),
    (dict(prompt_set="fashion14"), "prompt_set 'fashion14'.*'fashion13'"),
    (dict(binary_prompt_set="fashion13"), "must name 2 classes"),
    (dict(multiclass_items="some"), "multiclass_items 'some'.*'binary_agreement'"),
    (dict(image_encoder="efficientnet-lite0"), "image_encoder='efficientnet-lite0' must map images"),
    (dict(cutoff_grid="1.0"), r"cutoff_grid: expected a list \[start, stop, step\]"),
    (dict(cutoff_grid=[1.4, 1.0, 0.01]), "start < stop and step > 0"),
    (dict(cutoff_grid=[1.0, "a", 0.01]), r"cutoff_grid\[1\] must be a number"),
    (dict(limit=-1), r"limit \(0: all items\) must be an integer >= 0"),
    (dict(limit="abc"), "limit.*must be an integer"),
    (dict(logreg_folds=1), "logreg_folds must be an integer >= 2"),
    (dict(undecided_base=-0.1), "undecided_base"),
    (dict(mask_titles="yes"), "mask_titles must be True or False"),
])
def test_check_parameters_names_the_bad_parameter(change, match):
    with pytest.raises(ValueError, match=match):
        E.check_parameters(**PARAMS | change)


def test_cutoff_values_and_stage_options():
    np.testing.assert_array_equal(E.cutoff_values([1.0, 1.4, 0.01]), np.arange(1.0, 1.4, 0.01))
    opts = E.stage_options(cutoff=1.1, cos_limit=0, cos_diff=0.02, max_items_per_class=0, max_dims=0,
                           reshuffle_each_round=False, ovr_cutoff=1.05, ovr_max_dims=0, seed=3)
    assert opts == dict(cutoff=1.1, cos_limit=None, cos_diff=0.02, max_items_per_class=None, max_dims=None,
                        reshuffle_each_round=False, ovr_cutoff=1.05, ovr_max_dims=None, random_state=3)
    good = dict(cutoff=1.1, cos_limit=0.1, cos_diff=0.02, max_items_per_class=1500, max_dims=0,
                reshuffle_each_round=True, ovr_cutoff=1.05, ovr_max_dims=10, seed=0)
    for change, match in [(dict(cutoff="abc"), "parameter cutoff must be a number"),
                          (dict(max_dims=-2), "max_dims"), (dict(reshuffle_each_round=1), "True or False")]:
        with pytest.raises(ValueError, match=match):
            E.stage_options(**good | change)


def test_class_table_and_title_examples():
    inp = fake_inputs()
    tab = E.class_table(inp)
    assert list(tab["class"]) == inp.class_names and list(tab["image prompt"]) == inp.prompts["image"]
    assert list(tab["items"]) == [int(sum(1 for v in inp.labels if v == c)) for c in range(4)]
    assert list(E.title_examples(inp, n=3)["masked title"]) == inp.masked_titles[:3]
    inp.titles = None
    assert E.title_examples(inp) is None


def test_binary_stage_and_table_against_sklearn():
    inp = fake_inputs()
    rec = Recorder()
    binary = E.run_binary_stage(inp, OPTIONS, undecided_base=0.03, undecided_pairwise=0)
    assert binary["image"].one_vs_rest is None
    np.testing.assert_array_equal(binary["text"].base, T.argmax_cosine(inp.text, inp.binary_text_prompts, 0.03))
    tab = E.binary_table(binary, inp.binary_labels, rec)
    for m in ("base", "pairwise"):
        t, i = getattr(binary["text"], m), getattr(binary["image"], m)
        assert rec[f"agreement_f1_weighted.binary.{m}"] == pytest.approx(f1_score(t, i, average="weighted"))
        assert rec[f"binary.accuracy.image.{m}"] == pytest.approx(np.mean([a == b for a, b in zip(inp.binary_labels, i)]))
        assert tab.loc[m, "text: undecided share"] == pytest.approx(np.mean(t == 2))
        assert tab.loc[m, "article (its table)"] == E.SOURCE[f"agreement_f1_weighted.binary.{m}"]
        # the author's code: f1_score(text_class == 0, image_class == 0), "undecided" not class 0
        assert rec[f"binary.author_f1.{m}"] == pytest.approx(f1_score(t == 0, i == 0))
        assert rec[f"binary.author_f1.{m}"] != pytest.approx(rec[f"agreement_f1_weighted.binary.{m}"])
    rec2 = Recorder()
    E.binary_table(binary, None, rec2)  # no labels: only the agreement is recorded, both ways
    assert sorted(rec2) == ["agreement_f1_weighted.binary.base", "agreement_f1_weighted.binary.pairwise",
                            "binary.author_f1.base", "binary.author_f1.pairwise"]


def test_multiclass_items_and_sides():
    inp = fake_inputs()
    binary = E.run_binary_stage(inp, OPTIONS, undecided_base=0, undecided_pairwise=0)
    assert E.multiclass_inputs(inp, binary, "all") is inp
    sub = E.multiclass_inputs(inp, binary, "binary_agreement")
    keep = [i for i in range(len(inp)) if binary["image"].pairwise[i] == 0 and binary["text"].pairwise[i] == 0]
    np.testing.assert_array_equal(sub.image, inp.image[keep])
    assert list(E.modality_sides(inp, True)) == ["image", "text", E.UNMASKED]
    assert list(E.modality_sides(inp, False)) == ["image", "text"]
    with pytest.raises(ValueError, match="multiclass_items"):
        E.multiclass_inputs(inp, binary, "none")


@pytest.fixture(scope="module")
def multiclass():
    inp = fake_inputs()
    sides = E.modality_sides(inp, True)
    return inp, sides, E.run_stages(sides, inp.class_names, OPTIONS)


def test_run_stages_and_summary(multiclass):
    inp, sides, stages = multiclass
    for side, (X, P) in sides.items():
        np.testing.assert_array_equal(stages[side].base, cosine_similarity(X, P).argmax(axis=1))
    tab, warns = E.stage_summary(stages)
    assert tab.loc["image", "mean dims per pair"] == pytest.approx(np.mean([len(d) for d in stages["image"].model.pair_dims_]))
    assert tab.loc["text", "embedding width"] == 24 and isinstance(warns, list)


def test_agreement_table_records_every_method(multiclass):
    inp, sides, stages = multiclass
    rec = Recorder()
    binary = pd.DataFrame({"agreement, weighted F1 with undecided as a class": [0.5, 0.25]},
                          index=["base", "pairwise"])
    tab = E.agreement_table(stages, binary, rec)
    for m in E.METHODS:
        t, i = getattr(stages["text"], m), getattr(stages["image"], m)
        assert rec[f"agreement_f1_weighted.multiclass.{m}"] == pytest.approx(f1_score(t, i, average="weighted"))
        u = getattr(stages[E.UNMASKED], m)
        assert rec[f"titles_unmasked.agreement_f1_weighted.multiclass.{m}"] == pytest.approx(
            f1_score(u, i, average="weighted"))
    assert list(tab.columns) == ["article: base", "ours: base", "article: pairwise", "ours: pairwise"]
    # the article's setting (titles as they are) first, then masked titles, then the binary stage
    assert list(tab.index) == ["multiclass, titles as they are (the article's setting)",
                               "multiclass, class words masked in the titles", "binary, weighted F1 (ours)"]
    assert tab.iloc[0]["ours: pairwise"] == rec["titles_unmasked.agreement_f1_weighted.multiclass.pairwise"]
    assert tab.iloc[2]["ours: base"] == 0.5 and tab.iloc[2]["article: base"] == E.SOURCE["agreement_f1_weighted.binary.base"]
    masked = "multiclass, class words masked in the titles"
    assert tab.loc[masked, "article: pairwise"] == 0.889 and tab.loc["binary, weighted F1 (ours)", "ours: pairwise"] == 0.25
    assert tab.loc[masked, "ours: base"] == rec["agreement_f1_weighted.multiclass.base"]


def test_truth_table_against_naive_scores(multiclass):
    inp, sides, stages = multiclass
    rec = Recorder()
    tab = E.truth_table(stages, sides, inp.labels, logreg_folds=3, seed=0, record=rec)
    for side, prefix in (("image", ""), ("text", ""), (E.UNMASKED, "titles_unmasked.")):
        s = "image" if side == "image" else "text"
        for m in E.METHODS:
            p = getattr(stages[side], m)
            acc = sum(int(a == b) for a, b in zip(inp.labels, p)) / len(p)
            assert rec[f"{prefix}accuracy.{s}.{m}"] == pytest.approx(acc)
            assert rec[f"{prefix}macro_f1.{s}.{m}"] == pytest.approx(f1_score(inp.labels, p, average="macro"))
            assert tab.loc[m, ("accuracy", side)] == pytest.approx(acc)
    lr = E.logreg_cv_predict(inp.image, inp.labels, n_splits=3, random_state=0)
    assert rec["accuracy.image.logreg"] == pytest.approx(np.mean(lr == inp.labels))
    rec2 = Recorder()
    assert len(E.truth_table(stages, sides, None, logreg_folds=3, seed=0, record=rec2)) == 0
    assert rec2["accuracy.image.logreg"] is None and rec2["macro_f1.text.pairwise"] is None and len(rec2) == 12


def test_example_pair_ratios_and_gain(multiclass):
    inp, sides, stages = multiclass
    model = stages["image"].model
    a, b, k = E.example_pair_index(model, inp.class_names, ["class3", "class1"])
    assert (a, b) == (3, 1) and tuple(model.pairs_[k]) == (1, 3)
    with pytest.raises(ValueError, match="example_pair"):
        E.example_pair_index(model, inp.class_names, ["class3", "nope"])
    ratios = E.pair_ratios(stages, k)
    assert [r.shape for r in ratios.values()] == [(24,), (24,)]
    np.testing.assert_array_equal(list(ratios.values())[1], stages["text"].model.ratios_[k])
    cutoffs = np.arange(1.0, 1.3, 0.05)
    tables = E.gain_tables(stages, sides, a, b, k, cutoffs)
    summary = E.gain_summary(stages, tables, k, 1.1)
    for side in ("image", "text"):
        r = stages[side].model.ratios_[k]
        assert summary.loc[side, "dims kept at the cutoff"] == sum(1 for v in r if v > 1.1)
        df = tables[side]
        nearest = min(range(len(df)), key=lambda i: abs(df["cutoff"].iloc[i] - 1.1))
        assert summary.loc[side, "margin at the cutoff"] == pytest.approx(df["margin"].iloc[nearest])


def test_bracket_risk_table_against_seed_loop(multiclass):
    inp, sides, stages = multiclass
    rec = Recorder()
    tab = E.bracket_risk_table(stages, sides, inp.labels, n_bracket_seeds=4, seed=2, record=rec)
    for side in ("image", "text"):
        st = stages[side]
        M = st.model.pairwise_margins(sides[side][0])
        winners = [T.tourney_bracket(M, random_state=s) for s in (2, 3, 4, 5)]
        dependent = np.mean([len({w[i] for w in winners}) > 1 for i in range(len(inp))])
        assert rec[f"tourney.{side}.bracket_dependent_share"] == pytest.approx(dependent)
        assert rec[f"tourney.{side}.same_as_round_robin"] == pytest.approx(np.mean(st.pairwise == st.round_robin))
        accs = [np.mean(w == inp.labels) for w in winners]
        assert tab.loc[side, "min"] == pytest.approx(min(accs)) and tab.loc[side, "max"] == pytest.approx(max(accs))
    assert [E.n_rounds(C) for C in (2, 3, 4, 5, 13, 16)] == [1, 2, 2, 3, 4, 4]
