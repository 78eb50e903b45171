"""The notebook-05 driver (zsl_lib.experiments.multilabel): parameter checks, the thesis constant,
and every table / figure step on a small synthetic keyword collection, against naive references."""

import re

import numpy as np
import pandas as pd
import pytest
import sklearn.metrics as skm

from zsl_lib.experiments import multilabel as E
from zsl_lib.experiments.multilabel_hpo import tune_and_evaluate
from zsl_lib.metrics.multilabel import METRIC_NAMES
from zsl_lib.zeroshot import language_image as lim
from zsl_lib.zeroshot.multilabel_prep import PreparedData
from zsl_lib.zeroshot.thresholds import best_global_threshold


# -- the thesis constant --------------------------------------------------------------------------
def test_thesis_numbers_are_one_flat_dict_of_fractions():
    assert all(isinstance(k, str) and re.fullmatch(r"[a-z0-9_]+(\.[a-z0-9_]+)+|test_prevalence", k)
               for k in E.SOURCE)
    assert all(isinstance(v, float) and 0 <= v <= 1 for v in E.SOURCE.values())
    for key, *_ in E.NET_VARIANTS:  # every variant we run has the thesis's number
        assert f"table4_7.f2.{key}" in E.SOURCE
    for model in ("language_image", "one_nn", "neighbor_search", "simple_net", "classwise_net"):
        assert all(f"table4_8.{m}.{model}" in E.SOURCE for m in METRIC_NAMES)
    # spot checks against the thesis text (Tables 4.5-4.8)
    assert E.SOURCE["table4_5.f2.ensemble.manual"] == 0.191
    assert E.SOURCE["table4_7.f2.classwise.random.finetuned"] == 0.559
    assert E.SOURCE["table4_8.roc_auc.simple_net"] == 0.969
    assert E.SOURCE["table4_8.mse.language_image"] == 0.376
    assert E.SOURCE["table4_8.f2.neighbor_search"] == E.SOURCE["table4_6.f2.neighbor_search"]


# -- parameters -----------------------------------------------------------------------------------
def test_settings_reject_bad_parameters_with_the_fix():
    with pytest.raises(ValueError, match="parameter datasets: expected a list of names, got the string 'mulan-scene'.*-y"):
        E.Settings(datasets="mulan-scene")
    with pytest.raises(ValueError, match=r"unknown \['mulan'\]; accepted values: 'fashion-products'"):
        E.Settings(datasets=["mulan"])
    with pytest.raises(ValueError, match="user_csv is empty"):
        E.Settings(datasets=["user"])
    with pytest.raises(ValueError, match="unknown encoder_weights 'randm'"):
        E.Settings(datasets=["mulan-scene"], encoder_weights="randm")
    with pytest.raises(ValueError, match="needs openclip"):
        E.Settings(datasets=["mulan-scene"], encoder_weights="random")
    with pytest.raises(ValueError, match=r"tiny_coarse_drop must lie in \[0, 1\)"):
        E.Settings(datasets=["mulan-scene"], tiny_coarse_drop=1.0)
    with pytest.raises(ValueError, match="max_trials must be an integer >= 1"):
        E.Settings(datasets=["mulan-scene"], max_trials=0)
    with pytest.raises(ValueError, match="min_count must be an integer"):
        E.Settings(datasets=["mulan-scene"], min_count=2.5)
    with pytest.raises(ValueError, match="learning_curve_sizes: expected a non-empty list"):
        E.Settings(datasets=["mulan-scene"], learning_curve_sizes="100")
    with pytest.raises(ValueError, match="unknown tiny_split 'test'"):
        E.Settings(datasets=["mulan-scene"], tiny_split="test")
    with pytest.raises(ValueError, match="parameter image_encoder: unknown encoder 'no-such-net'; accepted values"):
        E.Settings(datasets=["fashion-products"], image_encoder="no-such-net")


def test_settings_random_weights_drop_the_openclip_tag():
    cfg = E.Settings(datasets=["mulan-scene"], encoder_weights="random", image_encoder="openclip:ViT-B-32/openai",
                     language_image_encoder="openclip:ViT-B-32/openai")
    assert cfg.image_encoder == cfg.language_image_encoder == "openclip:ViT-B-32"
    assert E.Settings(datasets=("mulan-scene",)).datasets == ["mulan-scene"]


# -- a synthetic keyword collection ---------------------------------------------------------------
def _prepared(n=(80, 40, 40), C=4, d=8, seed=0) -> PreparedData:
    rng = np.random.default_rng(seed)
    centers = rng.normal(size=(C, d)) * 2

    def part(m):
        Y = (rng.random((m, C)) < 0.3).astype(np.float32)
        Y[np.arange(m), rng.integers(0, C, m)] = 1
        X = (Y @ centers + rng.normal(size=(m, d))).astype(np.float32)
        return X, Y

    (Xtr, Ytr), (Xva, Yva), (Xte, Yte) = part(n[0]), part(n[1]), part(n[2])
    idx = np.arange(sum(n))
    return PreparedData([f"kw{c}" for c in range(C)], Xtr, Ytr, Xva, Yva, Xte, Yte,
                        idx[:n[0]], idx[n[0]:n[0] + n[1]], idx[n[0] + n[1]:], {})


@pytest.fixture(scope="module")
def steps():
    cfg = E.Settings(datasets=["mulan-scene"], max_trials=3, n_prototypes=2, finetune_epochs=1,
                     learning_curve_sizes=[10, 30, 1000])
    prepared = {"syn": _prepared(), "mulan-scene": _prepared(seed=1)}
    no_li = E.Step({}, pd.DataFrame())
    t46 = E.table46_neighbor_search(prepared, cfg)
    t47 = E.table47_neighbor_nets(prepared, cfg)
    t48 = E.table48_model_comparison(prepared, t46, t47, no_li, cfg)
    return cfg, prepared, t46, t47, t48


def _naive_f2(Y, P):
    return skm.fbeta_score(Y.ravel(), P.ravel(), beta=2)


def test_table46_one_nn_matches_a_naive_nearest_neighbour(steps):
    cfg, prepared, t46, _, _ = steps
    for name, d in prepared.items():
        Xn = d.X_train / np.linalg.norm(d.X_train, axis=1, keepdims=True)
        for X, split in ((d.X_val, "val"), (d.X_test, "test")):
            Q = X / np.linalg.norm(X, axis=1, keepdims=True)
            pred = d.Y_train[np.argmax(Q @ Xn.T, axis=1)]  # labels of the nearest training item
            np.testing.assert_array_equal(getattr(t46.results[name]["one_nn"], f"{split}_scores"), pred)
        assert t46.results[name]["one_nn"].test["f2"] == pytest.approx(_naive_f2(d.Y_test, pred))  # pred: test
        assert t46.records[f"{name}.neighbor_search_minus_one_nn_f2"] == pytest.approx(
            t46.results[name]["neighbor_search"].test["f2"] - t46.results[name]["one_nn"].test["f2"])
    assert list(t46.table.columns) == ["dataset", "model", "F2 (ours)", "F2 (thesis)", "hyperparameters", "trials",
                                       "converged"]
    assert t46.table["F2 (thesis)"].tolist() == pytest.approx([45.8, 56.8] * 2)


def test_table47_runs_every_variant_with_the_recorded_key_format(steps):
    _, prepared, _, t47, _ = steps
    assert len(t47.table) == len(E.NET_VARIANTS) * len(prepared)
    assert {k for k in t47.records if k.endswith(".f2") and ".cmp." not in k} == {
        f"{n}.table47.{v}.f2" for n in prepared for v in (
            "simple_all_items", "simple_all_items_finetuned", "simple_2_random_onehot", "simple_2_kmeans_onehot",
            "simple_2_kmeans_average", "simple_2_kmeans_average_finetuned", "classwise_2_kmeans",
            "classwise_2_kmeans_finetuned", "classwise_2_random_finetuned")}
    for r in t47.table.itertuples():
        assert 0 <= r._3 <= 100 and r.temperature > 0
    # a fine-tuned class-wise net keeps the temperature searched for its base variant
    res = t47.results["syn"]
    assert res["class-wise, 2 k-means, fine-tuned"].params["temperature"] == pytest.approx(
        res["class-wise, 2 k-means"].params["temperature"], rel=1e-5)


def test_table48_best_variants_metrics_and_per_class_thresholds(steps):
    _, prepared, t46, t47, t48 = steps
    from zsl_lib.metrics.multilabel import multilabel_report
    from zsl_lib.zeroshot.thresholds import per_class_thresholds

    for name, d in prepared.items():
        res = t48.results[name]
        simple = [v for k, v in t47.results[name].items() if k.startswith("simple")]
        assert res["simple_net"].val_f2 == max(r.val_f2 for r in simple)
        assert res["one_nn"] is t46.results[name]["one_nn"]
        assert ("ml_knn" in res) == (name == "mulan-scene") and "hybrid" not in res
        for m, r in res.items():
            for key in METRIC_NAMES + ("threshold",):
                assert t48.records[f"{name}.{m}.{key}"] == r.test[key]
            binary = m in ("one_nn", E.FLOOR)  # 0/1 scores: no threshold search, per class neither
            thr = r.threshold if binary else per_class_thresholds(d.Y_val, r.val_scores)
            ref = multilabel_report(d.Y_test, r.test_scores, thr)["f2"]
            assert t48.records[f"{name}.{m}.per_class_threshold_f2"] == ref
            assert (f"{name}.cmp.f2.{m}.per_class_minus_global.diff" in t48.records) == (not binary)
        # the floor row: every keyword suggested, F2 = 5p / (4p + 1) at test prevalence p
        p = d.Y_test.mean()
        assert res[E.FLOOR].test["recall"] == 1 and res[E.FLOOR].test["f2"] == pytest.approx(5 * p / (4 * p + 1))
        # every ordering step has a paired interval around the observed F2 difference
        for a, b in E.ORDERING_STEPS[1:] + E.ORDERING_TIES:
            key = f"{name}.cmp.f2.{a}_minus_{b}"
            diff = t48.records[f"{key}.diff"]
            assert diff == pytest.approx(res[a].test["f2"] - res[b].test["f2"])
            assert t48.records[f"{key}.lo"] <= diff <= t48.records[f"{key}.hi"]
            assert t48.records[f"{key}.n"] == len(d.Y_test)
    row = t48.table[(t48.table.dataset == "syn") & (t48.table.model == "one_nn")].iloc[0]
    assert row["F2 thesis"] == 0.458
    with pytest.raises(ValueError, match="no result whose name starts with 'x'"):
        E.best_by_validation(t47.results["syn"], "x")


def test_hybrid_scores_mix():
    a, b = np.array([[0.2, 1.0]]), np.array([[0.6, 0.0]])
    np.testing.assert_allclose(E.hybrid_scores(a, b, 0.25), [[0.3, 0.75]])


def test_table49_matches_sklearn_per_class(steps):
    _, prepared, _, _, t48 = steps
    d = prepared["syn"]
    t49 = E.table49_roc_auc("syn", d, t48.results["syn"], top=3)
    counts = d.Y_train.sum(0)
    top = sorted(range(len(counts)), key=lambda c: (-counts[c], c))[:3]  # most common, ties by order
    assert list(t49.table.index) == [d.keywords[c] for c in top]
    assert E.FLOOR not in t49.table  # constant scores have no ranking
    for m, r in t48.results["syn"].items():
        if m == E.FLOOR:
            continue
        for c in top:
            ref = skm.roc_auc_score(d.Y_test[:, c], r.test_scores[:, c])
            assert t49.table.loc[d.keywords[c], m] == pytest.approx(ref)
            assert t49.records["syn.table49"][m][d.keywords[c]] == pytest.approx(round(ref, 4))


def test_table410_suggestions_match_a_naive_listing(steps):
    _, prepared, _, _, t48 = steps
    d = prepared["syn"]
    q = E.example_index(d, 10_000)
    assert q == len(d.Y_test) - 1
    t410 = E.table410_suggestions("syn", d, t48.results["syn"], q)
    truth = {d.keywords[c] for c in range(d.Y_test.shape[1]) if d.Y_test[q, c]}
    assert t410.results == truth and t410.records["syn.example.truth"] == sorted(truth)
    assert E.FLOOR not in t410.table
    for m, r in t48.results["syn"].items():
        if m == E.FLOOR:
            continue
        s = r.test_scores[q]
        expect = {}
        for c in range(len(s)):
            if s[c] >= r.threshold:
                expect[c] = f"{100 * s[c]:.1f} % *"
        below = sorted((c for c in range(len(s)) if c not in expect), key=lambda c: -s[c])[:3]
        expect.update({c: f"{100 * s[c]:.1f} %" for c in below})
        shown = {k: v for k, v in t410.table[m].items() if v}
        assert shown == {(d.keywords[c].upper() if d.keywords[c] in truth else d.keywords[c]): v
                         for c, v in expect.items()}
    assert t410.records["syn.example.neighbor_search_suggested"] == [
        k for k, v in t410.table["neighbor_search"].items() if v.endswith("*")]


def test_table411_and_example_plot(steps):
    _, prepared, _, _, t48 = steps
    d = prepared["syn"]
    t411 = E.table411_contributors("syn", d, t48.results["syn"]["neighbor_search"].params, 0, {"kw0"})
    w = t411.table["weight"].to_numpy()
    assert (np.diff(w) <= 1e-7).all() and t411.records["syn.example.top5_weights"] == list(np.round(w, 4))
    assert E.plot_example_query("syn", type("K", (), {"dataset": None})(), d, 0, t411.table, {"kw0"}) is None


def test_learning_curve_full_size_reproduces_one_nn(steps):
    cfg, prepared, t46, _, t48 = steps
    assert E.reference_sizes([10, 30, 1000], 80) == [10, 30, 80]
    lc = E.learning_curve(prepared, t48.results, cfg)
    curve = lc.results
    assert set(curve.n_reference) == {10, 30, 80} and set(curve.model) == {"one_nn", "neighbor_search", E.FLOOR}
    floor = curve[(curve.model == E.FLOOR) & (curve.dataset == "syn")].f2  # flat: needs no reference items
    assert floor.nunique() == 1 and floor.iloc[0] == t48.results["syn"][E.FLOOR].test["f2"]
    full = curve[(curve.dataset == "syn") & (curve.n_reference == 80) & (curve.model == "one_nn")].f2.item()
    assert full == pytest.approx(t46.results["syn"]["one_nn"].test["f2"])
    assert lc.records["syn.learning_curve"][0][:2] == [10, "one_nn"]
    fig = E.plot_learning_curve(curve)
    assert len(fig.axes) == 2
    fig2 = E.plot_model_comparison(t48.table)
    assert len(fig2.axes) == 3  # two datasets, then the thesis's numbers on a panel of their own
    assert "Thesis" in fig2.axes[-1].get_title() and not fig2.axes[0].collections  # no thesis marks on ours
    assert [t.get_text() for t in fig2.axes[0].get_xticklabels()].count("suggest every keyword") == 0


def _bag_of_letters(texts):
    V = np.zeros((len(texts), 26), np.float32)
    for i, t in enumerate(texts):
        for ch in t.lower():
            if "a" <= ch <= "z":
                V[i, ord(ch) - 97] += 1
    return V


def test_table45_language_image_with_a_translation_file(tmp_path):
    d = _prepared(C=3)
    d.keywords = ["Tshirts", "Navy Blue", "Fall"]
    pd.DataFrame({"original": d.keywords, "automatic": ["tshirt", "navy blue", "fall"],
                  "manual": ["t-shirt", "navy blue coloured", "autumn clothing"]}).to_csv(tmp_path / "tr.csv", index=False)
    cfg = E.Settings(datasets=["user"], user_csv="unused.csv", translation_csv=str(tmp_path / "tr.csv"), max_trials=3)
    Z = np.random.default_rng(0).normal(size=(160, 26)).astype(np.float32)
    coll = {"user": E.Collection(None, d.X_train, Z)}
    t45 = E.table45_language_image({"user": d}, coll, cfg, text_encoder=_bag_of_letters)
    assert {k for k in t45.records if k.endswith(".f2")} == {f"user.table45.{c}.{t}.f2" for c, t in
                                                             (("ensemble", "original"), ("ensemble", "automatic"),
                                                              ("ensemble", "manual"), ("single", "manual"))}
    # a user's collection gets the thesis's Table 4.1 contexts and the given translation table
    assert t45.records["user.table45.contexts"] == "thesis"
    assert t45.records["user.table45.translation_table"] == "given"
    assert t45.table["F2 (thesis)"].tolist() == pytest.approx([11.6, 15.8, 19.1, 18.6])
    # the tuned ensemble's test scores are the model's scores for the chosen weights
    res = t45.results[("user", "ensemble", "manual")]
    model = E.fit_language_image(["t-shirt", "navy blue coloured", "autumn clothing"], _bag_of_letters,
                                 lim.THESIS_CONTEXTS)
    w = [res.params[f"w{k}"] + 1e-9 for k in range(len(model.contexts))]
    np.testing.assert_allclose(res.test_scores, model.predict_proba(Z[d.idx_test], w), atol=1e-6)
    t, f = best_global_threshold(d.Y_val, res.val_scores)
    assert res.threshold == t and res.val_f2 == f


def test_tune_and_evaluate_fixes_the_threshold_on_validation():
    d = _prepared()
    rng = np.random.default_rng(3)
    S = {"val": np.clip(d.Y_val * 0.6 + rng.random(d.Y_val.shape) * 0.5, 0, 1),
         "test": np.clip(d.Y_test * 0.6 + rng.random(d.Y_test.shape) * 0.5, 0, 1)}
    res = tune_and_evaluate(lambda p, s: S[s], d.Y_val, d.Y_test)
    # brute force over every observed validation score
    best = max((_naive_f2(d.Y_val, S["val"] >= v), v) for v in np.unique(S["val"]))  # ties: the highest
    assert res.val_f2 == pytest.approx(best[0]) and res.threshold == pytest.approx(best[1])
    assert res.test["f2"] == pytest.approx(_naive_f2(d.Y_test, S["test"] >= res.threshold))


def test_table45_without_a_translation_table_uses_the_identity_and_warns(tmp_path):
    d = _prepared(C=3)
    d.keywords = ["truck", "tank", "radar"]
    cfg = E.Settings(datasets=["user"], user_csv="unused.csv", max_trials=2, prompt_contexts="product")
    Z = np.random.default_rng(0).normal(size=(160, 26)).astype(np.float32)
    with pytest.warns(UserWarning, match="identity translation.*translation_csv"):
        t45 = E.table45_language_image({"user": d}, {"user": E.Collection(None, d.X_train, Z)}, cfg,
                                       text_encoder=_bag_of_letters)
    assert t45.records["user.table45.translation_table"] == "identity"
    assert t45.records["user.table45.contexts"] == "product"  # prompt_contexts overrides the automatic choice
    assert set(t45.table.translation) == {"original"}  # no fashion rewrites invented for a user's keywords
    assert E.contexts_for("fashion-products", E.Settings(datasets=["mulan-scene"])) == lim.PRODUCT_CONTEXTS
    assert E.contexts_for("user", E.Settings(datasets=["mulan-scene"])) == lim.THESIS_CONTEXTS


def test_one_nn_stays_a_one_nn_where_the_threshold_search_would_suggest_everything():
    """Dense labels and noisy features: on validation, suggesting every keyword has a higher F2 than
    1-NN, so a threshold search over 1-NN's 0/1 scores picks 0.0 and turns it into the floor model.
    1-NN must keep its own decisions and score what an independent scikit-learn 1-NN scores."""
    from sklearn.neighbors import KNeighborsClassifier

    from zsl_lib.zeroshot.neighbors import OneNearestNeighbor
    from zsl_lib.zeroshot.thresholds import best_global_threshold

    rng = np.random.default_rng(3)
    C, d = 6, 12

    def part(m):
        Y = (rng.random((m, C)) < 0.55).astype(np.float32)
        Y[np.arange(m), rng.integers(0, C, m)] = 1
        return rng.normal(size=(m, d)).astype(np.float32) + 0.3 * Y @ rng.normal(size=(C, d)), Y

    (Xtr, Ytr), (Xva, Yva), (Xte, Yte) = part(120), part(80), part(80)
    one = OneNearestNeighbor().fit(Xtr, Ytr)
    S_val = one.predict_proba(Xva)
    assert best_global_threshold(Yva, S_val)[0] == 0.0  # the provocation: the old search suggests everything
    Xs = {"val": Xva, "test": Xte}
    r = tune_and_evaluate(lambda p, s: one.predict_proba(Xs[s]), Yva, Yte)
    assert r.threshold == 1.0
    knn = KNeighborsClassifier(n_neighbors=1, metric="cosine", algorithm="brute").fit(Xtr, Ytr.astype(int))
    P = knn.predict(Xte)
    assert r.test["f2"] == pytest.approx(_naive_f2(Yte, P))
    p = Yte.mean()
    assert r.test["f2"] < 5 * p / (4 * p + 1)  # here the real 1-NN is below the floor, and the page can say so
    assert r.test["recall"] < 1


def test_a_fixed_threshold_is_not_searched():
    rng = np.random.default_rng(0)
    Y = (rng.random((30, 3)) < 0.4).astype(np.float32)
    S = rng.random((30, 3))
    r = tune_and_evaluate(lambda p, s: S, Y, Y, threshold=0.7)
    assert r.threshold == 0.7
    assert r.test["f2"] == pytest.approx(_naive_f2(Y, S >= 0.7))


def test_example_query_keyword_lines_keep_the_true_keywords():
    kws = [f"k{i}" for i in range(12)]
    text = E.keyword_lines(kws, {"K11", "k10"}, most=5)
    lines = text.splitlines()
    assert lines[:2] == ["k10", "k11"] and lines[-1] == "(+8 more)" and len(lines) == 5
    assert E.keyword_lines(["a", "b"], {"b"}) == "b\na"
