"""Notebook 03's driver (zsl_lib.experiments.cvae): the paper's numbers, parameter checks,
aggregation, records, tables, few-shot comparison and figures, against hand-computed references."""

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from sklearn.preprocessing import MinMaxScaler

from zsl_lib.data.zsl_splits import make_synthetic_zsl
from zsl_lib.experiments import cvae as E
from zsl_lib.experiments import cvae_report as R
from zsl_lib.experiments import verdicts as V
from zsl_lib.metrics.zsl import gzsl_scores, harmonic_mean, per_class_accuracy
from zsl_lib.zeroshot.cvae import ABLATION_VARIANTS
from zsl_lib.zeroshot.eszsl import ESZSL
from zsl_lib.zeroshot.fewshot import evaluate_episodes

pytestmark = pytest.mark.usefixtures("one_torch_thread")

ROOT = Path(__file__).resolve().parents[1]
STEM = "03-cvae-clusterable-features"
SMALL = dict(hidden_size=32, projection_dim=16, epochs=15, lr=1e-2, batch_size=64, gaussian_epochs=5,
             gaussian_gamma=0.1, n_synth_per_class=30, clf_epochs=15, clf_lr=5e-3)  # as in test_cvae.py


@pytest.fixture(scope="module")
def split():
    return make_synthetic_zsl(n_classes=20, n_unseen=4, n_train_per_class=30, n_test_per_class=15,
                              dim=20, semantic_dim=6, noise=0.5, seed=0)


# ----------------------------------------------------------------------------- the paper's numbers


def test_source_numbers_are_one_flat_dict_keyed_like_our_records():
    methods = {"eszsl", "cvae_zsl", "fewshot", *ABLATION_VARIANTS}
    for key, value in E.SOURCE.items():
        dataset, method, metric = key.split(".", 2)
        assert dataset in E.PAPER_DATASETS and method in methods, key
        assert isinstance(value, float), key
        assert metric in E.METRICS or re.fullmatch(r"[15]shot\.(baseline|gaussian)", metric), key


def test_source_numbers_gzsl_h_is_the_harmonic_mean_of_u_and_s():
    # an independent check of the transcription: H printed to 0.1 must follow from U and S
    for d in E.PAPER_DATASETS:
        for method in ("eszsl", E.FULL_METHOD):
            u, s, h = (E.paper(d, method, f"gzsl.{k}") for k in "ush")
            assert h == pytest.approx(harmonic_mean(u, s), abs=0.1), (d, method)
    assert np.isnan(E.paper("CUB", E.FULL_METHOD, "kmeans_mi"))  # not given in Table 4


def test_ablation_accuracies_follow_the_papers_ordering():
    for d in E.PAPER_DATASETS:
        acc = [E.paper(d, v, "zsl_top1") for v in ABLATION_VARIANTS]
        assert acc == sorted(acc), d  # Table 4: each component adds accuracy


# ----------------------------------------------------------------------------- parameters


def _notebook_defaults():
    nb = json.loads((ROOT / "notebooks" / f"{STEM}.ipynb").read_text())
    cell = next(c for c in nb["cells"] if "parameters" in c["metadata"].get("tags", []))
    values = {}
    exec("".join(cell["source"]), {}, values)  # literals only (tests/test_notebooks_hygiene.py)
    return {k: v for k, v in values.items() if not k.startswith("__")}


def _check(**overrides):
    params = {**_notebook_defaults(), **overrides}
    for k in ("encoder", "text_encoder", "progress"):
        params.pop(k)
    E.check_parameters(**params)


@pytest.mark.parametrize("profile", ["default", "smoke", "paper"])
def test_every_profile_passes_the_parameter_checks(profile):
    overrides = {} if profile == "default" else yaml.safe_load(
        (ROOT / "params" / profile / f"{STEM}.yaml").read_text())
    _check(**overrides)


@pytest.mark.parametrize("overrides, message", [
    ({"datasets": "tiny-imagenet"}, "parameter datasets: expected a list of names, got the string 'tiny-imagenet'"),
    ({"datasets": ["cub"]}, r"parameter datasets: unknown \['cub'\]; accepted values"),
    ({"variants": ["na", "noise"]}, r"parameter variants: unknown \['noise'\]"),
    ({"seeds": "0"}, "parameter seeds: expected a list of integers, got the str"),
    ({"seeds": [0, -1]}, "parameter seeds entry must be an integer >= 0"),
    ({"fewshot_shots": [0]}, "parameter fewshot_shots entry must be an integer >= 1"),
    ({"fewshot_classifier": "svm"}, "unknown fewshot_classifier 'svm'"),
    ({"tiny_train_source": "test"}, "unknown tiny_train_source 'test'"),
    ({"test_fraction": 1.0}, r"test_fraction must lie in \(0, 1\)"),
    ({"max_train_per_class": 0}, "max_train_per_class must be an integer >= 1"),
    ({"epochs": "10"}, "epochs must be an integer"),
    ({"lr": 0.0}, "lr must lie in"),
    ({"eszsl_gammas": "1.0"}, "parameter eszsl_gammas: expected a non-empty list of numbers"),
    ({"projection_dim": {"tiny-imagenet": 64}}, "parameter projection_dim: expected a dict per dataset with a 'default'"),
    ({"noise_alpha": {"default": -0.1}}, r"noise_alpha\['tiny-imagenet'\] must lie in"),
])
def test_bad_parameters_name_the_parameter(overrides, message):
    with pytest.raises(ValueError, match=message):
        _check(**overrides)


def test_per_dataset_and_full_variant():
    assert E.per_dataset({"default": 256, "xlsa17-AWA2": 2048}, "xlsa17-AWA2") == 2048
    assert E.per_dataset({"default": 256, "xlsa17-AWA2": 2048}, "xlsa17-CUB") == 256
    assert E.full_variant(["na", "cls_gaussian_noise", "cls"]) == "cls_gaussian_noise"
    assert E.full_variant(["na", "cls"]) == "cls"


# ----------------------------------------------------------------------------- aggregation, records, tables


def _runs():
    rng = np.random.default_rng(0)
    rows = [{"dataset": ds, "variant": v, "seed": s, **{m: float(rng.random()) for m in E.METRICS}}
            for ds in ("a", "b") for v in ("na", "cls", "cls_gaussian_noise") for s in (0, 1)]
    return pd.DataFrame(rows)


def test_aggregate_and_ablation_records_match_a_naive_mean_and_std():
    runs = _runs()
    agg = E.aggregate(runs)
    rec = E.ablation_records(agg)
    assert len(rec) == 2 * 3 * 4 * len(E.METRICS)  # mean, std, min, max
    for ds in ("a", "b"):
        for v in ("na", "cls", "cls_gaussian_noise"):
            for m in E.METRICS:
                vals = [r[m] for _, r in runs.iterrows() if r["dataset"] == ds and r["variant"] == v]
                assert rec[f"{ds}.{v}.{m}"] == pytest.approx(sum(vals) / 2)
                assert rec[f"{ds}.{v}.{m}_std"] == pytest.approx(abs(vals[0] - vals[1]) / np.sqrt(2))
                assert (rec[f"{ds}.{v}.{m}_min"], rec[f"{ds}.{v}.{m}_max"]) == (min(vals), max(vals))
    assert list(agg.index) == [(ds, v) for ds in ("a", "b") for v in ("na", "cls", "cls_gaussian_noise")]
    one_seed = E.ablation_records(E.aggregate(runs[runs.seed == 0]))
    assert one_seed["a.na.zsl_top1_std"] == 0.0  # the std of one seed is recorded as 0, not NaN


def _eszsl(ds_list=("a", "b")):
    return {ds: {"zsl_top1": 0.5, "gzsl.u": 0.1, "gzsl.s": 0.7, "gzsl.h": harmonic_mean(0.1, 0.7),
                 "gzsl.ausuc": 0.2, "gzsl.best_h": 0.3, "kmeans_mi": 1.0, "kmeans_nmi": 0.4,
                 "gamma": 1.0, "lambda_": 10.0} for ds in ds_list}


def test_tables_put_ours_beside_the_paper():
    runs = _runs()
    agg = E.aggregate(runs)
    full = "cls_gaussian_noise"
    t2 = E.table2(agg, _eszsl(), full)
    assert t2.loc["CUB (paper)", "ESZSL"] == "53.9" and t2.loc["AWA2 (paper)", "full method"] == "74.1"
    assert t2.loc["a", "ESZSL"] == "50.0"
    sel = runs[(runs.dataset == "a") & (runs.variant == full)]["zsl_top1"]
    # digits the seed spread supports: the std's first significant digit
    digits = max(0, -int(np.floor(np.log10(100 * sel.std()))))
    assert t2.loc["a", "full method"] == f"{100 * sel.mean():.{digits}f} ± {100 * sel.std():.{digits}f}"
    t1 = E.table1(agg, _eszsl(), full)
    assert t1.loc[("SUN (paper)", "full method"), "U"] == "63.8"
    assert t1.loc[("b", "ESZSL"), "H"] == f"{100 * harmonic_mean(0.1, 0.7):.1f}"
    assert not t1.isna().any().any()  # paper and ours in rows, not side by side: no empty cells
    t4 = E.table4(agg, ["na", "cls", full])
    assert t4.loc[E.display_name("cls"), "SUN MI (paper)"] == "0.59"
    assert pd.isna(t4.loc[E.display_name(full), "CUB MI (paper)"])  # the paper gives none
    assert "| – |" in V.md_table(t4)  # shown as a dash on the page, not NaN
    assert t4.loc[E.display_name("na"), "AWA2 ZSL top-1 % (paper)"] == "70.2" and "b NMI" in t4.columns
    assert not any("_" in c for c in t4.columns)
    cal = E.calibration_table(agg, _eszsl(), ["na", "cls", full])
    assert cal.loc[("a", "ESZSL"), "AUSUC"] == 20.0
    sel = runs[(runs.dataset == "b") & (runs.variant == "na")]["gzsl.best_h"]
    assert cal.loc[("b", E.display_name("na")), "best H (upper bound)"] == round(100 * sel.mean(), 1)
    ez = E.eszsl_summary(_eszsl())
    assert list(ez.columns[:2]) == ["gamma", "lambda"] and ez.loc["a", "ZSL top-1 %"] == 50.0
    assert E.eszsl_records(_eszsl())["b.eszsl.lambda_"] == 10.0


def test_mean_std_rounds_to_the_spread():
    runs = pd.DataFrame([{"dataset": "a", "variant": "v", "seed": s, **{m: x for m in E.METRICS}}
                         for s, x in enumerate((0.20, 0.24, 0.28))])
    agg = E.aggregate(runs)
    assert E.mean_std(agg, "a", "v", "zsl_top1") == "24 ± 4"  # std 4 points: no decimals
    assert E.mean_std(agg, "a", "v", "kmeans_nmi", 1) == "0.24 ± 0.04"
    one = E.aggregate(runs[runs.seed == 0])
    assert E.mean_std(one, "a", "v", "zsl_top1") == "20.0 ± 0.0"  # no spread: one decimal at most


def test_fewshot_records_and_table5():
    fs = {"a": {f"{k}shot": {n: {"mean": 0.5 + k / 100, "ci95": 0.01} for n in ("baseline", "gaussian")}
                for k in (1, 5)}}
    rec = E.fewshot_records(fs)
    assert rec == {f"a.fewshot.{k}shot.{n}{s}": (0.01 if s else 0.5 + k / 100)
                   for k in (1, 5) for n in ("baseline", "gaussian") for s in ("", "_ci95")}
    t5 = E.table5(fs)
    assert t5.loc[("a", "Gaussian-loss features"), "5-shot %"] == "55.0 ± 1.0"
    assert t5.loc[("CUB (paper)", "Gaussian-loss features"), "1-shot %"] == "86.6"
    assert t5.loc[("SUN (paper)", "raw features (Ours-Baseline)"), "5-shot %"] == "93.1"


# ----------------------------------------------------------------------------- runs on synthetic data


def test_split_records_and_summary(split):
    rec = E.split_records({"synthetic": split})
    assert rec["synthetic.data.n_seen"] == 16 and rec["synthetic.data.n_unseen"] == 4
    assert "synthetic.data.dataset" not in rec
    assert E.split_summary({"synthetic": split}).loc["synthetic", "n_train"] == 16 * 30


def test_evaluate_eszsl_on_synthetic_data(split):
    model = ESZSL(gamma=1.0, lambda_=1.0).fit(split.X_train, split.y_train, split.semantics)
    res = E.evaluate_eszsl(model, split)
    assert res["zsl_top1"] > 0.4  # chance 0.25
    assert res["gzsl.h"] == pytest.approx(harmonic_mean(res["gzsl.s"], res["gzsl.u"]))
    assert res["gzsl.h"] <= res["gzsl.best_h"] + 1e-12 and 0 < res["gzsl.ausuc"] <= 1
    vals = E.make_validation_splits({"synthetic": split})
    results, models = E.run_eszsl({"synthetic": split}, vals, gammas=[0.1, 1.0, 10.0], lambdas=[1.0])
    r = results["synthetic"]
    assert set(r) == set(res) | {"gamma", "lambda_", "gamma_on_edge", "lambda__on_edge", "val_score", "offset",
                                 "gamma_edge_tie", "lambda__edge_tie", "gzsl_cal.u", "gzsl_cal.s", "gzsl_cal.h"}
    assert isinstance(models["synthetic"], ESZSL) and r["lambda__on_edge"]  # a grid of one is an edge
    # the choice is the validation optimum: refit every grid point on the validation split by hand
    val = vals["synthetic"]
    accs = {g: per_class_accuracy(val.y_test_unseen, ESZSL(gamma=g, lambda_=1.0).fit(
        val.X_train, val.y_train, val.semantics).predict(val.X_test_unseen, val.semantics, val.unseen_classes))
        for g in (0.1, 1.0, 10.0)}
    assert r["gamma"] == max(accs, key=accs.get) and r["val_score"] == pytest.approx(max(accs.values()))
    assert r["gamma_on_edge"] == (r["gamma"] != 1.0)
    # calibrated U/S/H: the test predictions with the validation offset subtracted from seen scores
    sc = models["synthetic"].decision_function(np.concatenate([split.X_test_seen, split.X_test_unseen]),
                                               split.semantics)
    sc[:, split.seen_classes] -= r["offset"]
    yte = np.concatenate([split.y_test_seen, split.y_test_unseen])
    ref = gzsl_scores(yte, sc.argmax(1), split.seen_classes, split.unseen_classes)
    assert r["gzsl_cal.h"] == pytest.approx(ref["h"]) and r["gzsl_cal.u"] == pytest.approx(ref["u"])


def test_run_ablations_and_figures(split):
    import dataclasses

    import matplotlib.pyplot as plt

    split = dataclasses.replace(split, name="tiny-imagenet")  # a dataset id, to check the figures name it
    variants = ["na", "cls_gaussian"]
    runs, first, _ = E.run_ablations({"tiny-imagenet": split}, variants, [0, 1], SMALL,
                                     projection_dim={"default": 16}, noise_alpha={"default": 0.2}, progress=False)
    assert list(runs[["variant", "seed"]].itertuples(index=False, name=None)) == [
        ("na", 0), ("na", 1), ("cls_gaussian", 0), ("cls_gaussian", 1)]
    assert set(first["tiny-imagenet"]) == set(variants)
    assert first["tiny-imagenet"]["cls_gaussian"].random_state == 0  # first seed kept
    assert (runs["zsl_top1"] > 0.5).all()  # chance 0.25
    with pytest.raises(ValueError, match="parameter variants"):
        E.run_ablation(split, ["plain"], [0], SMALL)
    splits = {"tiny-imagenet": split}
    eszsl_models = {"tiny-imagenet": ESZSL().fit(split.X_train, split.y_train, split.semantics)}
    fig = R.plot_ablation(runs, variants, [0, 1])
    assert len(fig.axes) == 2 and len(fig.axes[0].patches) == 2  # one bar per variant and dataset
    # every seed is drawn as a dot, and nothing (range line, axis) goes below 0
    assert sum(len(c.get_offsets()) for c in fig.axes[0].collections if hasattr(c, "get_offsets")) >= 4
    assert all(ax.get_ylim()[0] == 0 for ax in fig.axes)
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    assert labels == [E.display_name(v) for v in variants] and not any("_" in t for t in labels)
    fig.canvas.draw()
    assert [t.get_text() for t in fig.axes[0].get_xticklabels()] == ["Tiny-ImageNet"]  # the dataset's name, not its id
    fig = R.plot_calibration_curves(splits, eszsl_models, first, variants)
    assert len(fig.axes[0].lines) == 3  # ESZSL and both variants
    assert fig.axes[0].get_title() == "Tiny-ImageNet" and "seed 0" in fig._suptitle.get_text()
    # the legend gives the AUSUCs it is handed (the record's means over seeds, as the table), below the panel
    means = {"tiny-imagenet": {"eszsl": 0.123, "na": 0.456, "cls_gaussian": 0.2}}
    fig = R.plot_calibration_curves(splits, eszsl_models, first, variants, ausuc=means)
    legend = fig.axes[0].get_legend()
    assert [t.get_text() for t in legend.get_texts()] == [
        "ESZSL: AUSUC 12.3", f"{E.display_name('na')}: AUSUC 45.6", f"{E.display_name('cls_gaussian')}: AUSUC 20.0"]
    assert "mean over seeds" in fig._suptitle.get_text()
    fig.canvas.draw()
    box = legend.get_window_extent()
    assert box.y1 <= fig.axes[0].xaxis.label.get_window_extent().y0  # under the axes and their label
    fig = R.plot_tsne(first["tiny-imagenet"], split, n_classes=3)
    assert [ax.get_title() for ax in fig.axes] == ["(a) original features (NA)", "(b) projected (CLS + Gaussian)"]
    with pytest.raises(ValueError, match="t-SNE figure needs"):
        R.plot_tsne({"cls": first["tiny-imagenet"]["na"]}, split)
    plt.close("all")


def test_tsne_views_shapes(split):
    m = E.run_ablation(split, ["cls"], [0], SMALL | {"projection_dim": 16}, progress=False)[1]["cls"]
    views = R.tsne_views({"cls": m}, split, n_classes=3, n_per_class=10)
    Z, y, real = views["cls"]
    assert Z.shape == (60, 2) and real.sum() == 30  # 3 classes x (10 real + 10 synthesised)
    assert set(np.unique(y)) <= set(split.unseen_classes.tolist()) and len(np.unique(y)) == 3


def test_fewshot_comparison_uses_the_same_episodes_for_both_spaces(split):
    Xb, yb, Xn, yn = split.X_train, split.y_train, split.X_test_unseen, split.y_test_unseen
    out = E.fewshot_comparison(Xb, yb, Xn, yn, shots=(1, 3), n_way=3, n_query=5, n_episodes=20,
                               gaussian_params={"gamma": 0.1, "epochs": 0}, progress=False)
    assert set(out) == {"1shot", "3shot"}
    # the baseline is evaluate_episodes on features min-max scaled with the base statistics
    scaled = MinMaxScaler().fit(Xb).transform(Xn)
    ref = evaluate_episodes(scaled, yn, n_way=3, k_shot=1, n_query=5, n_episodes=20, progress=False)
    np.testing.assert_allclose(out["1shot"]["baseline"]["accuracies"], ref["accuracies"])
    # with 0 epochs the mapping is the identity: the same episodes give the same accuracies
    np.testing.assert_allclose(out["3shot"]["gaussian"]["accuracies"], out["3shot"]["baseline"]["accuracies"])
    per_split = E.run_fewshot({"s": split}, shots=(1,), n_way=3, n_query=5, n_episodes=20,
                              gaussian_params={"gamma": 0.1, "epochs": 0}, progress=False)
    np.testing.assert_allclose(per_split["s"]["1shot"]["baseline"]["accuracies"], ref["accuracies"])


# ----------------------------------------------------------------------------- model selection, coverage, prose


def test_select_on_validation_and_edges():
    best, table = E.select_on_validation({"a": [1, 2, 3], "b": [10]},
                                         lambda p: (-(p["a"] - 2) ** 2, {"extra": p["a"] * 100}))
    assert best == {"a": 2, "b": 10, "val_score": 0, "extra": 200, "a_on_edge": False, "b_on_edge": True,
                    "a_edge_tie": False, "b_edge_tie": False}
    flat, _ = E.select_on_validation({"a": [1, 2, 3, 4]}, lambda p: (min(p["a"], 2), {}))  # flat from 2 up
    assert flat["a"] == 2 and not flat["a_edge_tie"]
    flat, _ = E.select_on_validation({"a": [1, 2, 3, 4]}, lambda p: (-max(p["a"], 3), {}))  # flat from 3 down
    assert flat["a"] == 1 and flat["a_on_edge"] and flat["a_edge_tie"]
    rising, _ = E.select_on_validation({"a": [1, 2, 3]}, lambda p: (p["a"], {}))
    assert rising["a_on_edge"] and not rising["a_edge_tie"]
    assert len(table) == 3
    assert E.on_edge([3, 1, 2], 1) and E.on_edge([3, 1, 2], 3) and not E.on_edge([3, 1, 2], 2)
    # a natural bound (noise_alpha 0: no noise) is a finding, not an edge; the other end still is
    assert not E.on_edge([0.0, 0.05, 0.2], 0.0, bound=0.0) and E.on_edge([0.0, 0.05, 0.2], 0.2, bound=0.0)
    assert E.on_edge([0.0], 0.0, bound=0.0)  # a grid of one compared nothing
    best, _ = E.select_on_validation({"noise_alpha": [0.0, 0.1, 0.2]}, lambda p: (-p["noise_alpha"], {}),
                                     bounds=E.NATURAL_BOUNDS)
    assert best["noise_alpha"] == 0.0 and not best["noise_alpha_on_edge"]


def test_variant_grid_keeps_only_the_settings_a_variant_uses():
    grid = {"noise_alpha": [0.1, 0.2], "gaussian_gamma": [0.1, 1.0], "clf_lr": [1e-3, 1e-2]}
    assert set(E.variant_grid("na", grid, {})) == {"clf_lr"}
    assert set(E.variant_grid("cls_gaussian", grid, {})) == {"gaussian_gamma", "clf_lr"}
    assert set(E.variant_grid("cls_gaussian_noise", grid, {"noise_alpha": 0.2})) == set(grid)


def test_ablation_with_validation_selection_records_choices(split):
    vals = E.make_validation_splits({"synthetic": split})
    runs, _, sel = E.run_ablations({"synthetic": split}, ["cls_gaussian_noise"], [0, 1, 2],
                                   SMALL | {"epochs": 3, "clf_epochs": 3}, projection_dim={"default": 16},
                                   noise_alpha={"default": 0.2}, progress=False, val_splits=vals,
                                   grid={"noise_alpha": [0.05, 0.2, 0.8]})
    s = sel["synthetic"]["cls_gaussian_noise"]
    assert s["noise_alpha"] in (0.05, 0.2, 0.8) and s["noise_alpha_on_edge"] == (s["noise_alpha"] != 0.2)
    assert np.isfinite(s["offset"]) and runs["gzsl_cal.h"].between(0, 1).all() and len(runs) == 3
    rec = E.selection_records(sel)
    assert rec["synthetic.cls_gaussian_noise.selected.noise_alpha"] == s["noise_alpha"]
    agg = E.aggregate(runs)
    rec = E.ablation_records(agg)
    h = runs["gzsl_cal.h"]
    assert rec["synthetic.cls_gaussian_noise.gzsl_cal.h_min"] == pytest.approx(h.min())
    assert rec["synthetic.cls_gaussian_noise.gzsl_cal.h_max"] == pytest.approx(h.max())


def test_validation_split_uses_only_seen_classes(split):
    from zsl_lib.data.zsl_splits import validation_split

    val = validation_split(split, val_fraction=0.25, seed=0)
    ids = val.info["class_ids"]
    np.testing.assert_array_equal(ids, split.seen_classes)
    assert len(val.unseen_classes) == 4 and len(val.seen_classes) == 12
    # every validation item is a seen-class training item of the split, with its class renumbered
    X = np.concatenate([val.X_train, val.X_test_seen, val.X_test_unseen])
    y = ids[np.concatenate([val.y_train, val.y_test_seen, val.y_test_unseen])]
    assert len(X) == len(split.X_train)
    order = np.lexsort(X.T)
    ref = np.lexsort(split.X_train.T)
    np.testing.assert_array_equal(X[order], split.X_train[ref])
    np.testing.assert_array_equal(y[order], split.y_train[ref])
    np.testing.assert_array_equal(val.semantics, split.semantics[split.seen_classes])
    with pytest.raises(ValueError, match="val_fraction"):
        validation_split(split, val_fraction=0.95)


def test_coverage_diagnosis_against_a_naive_loop(split):
    from zsl_lib.zeroshot.cvae import ClusterableCVAE

    m = ClusterableCVAE(**(SMALL | {"epochs": 3, "clf_epochs": 2}), random_state=0, progress=False).fit(
        split.X_train, split.y_train, split.semantics)
    df = E.coverage_diagnosis(m, split, n_per_class=20, random_state=3)
    R, G = m.transform(split.X_test_unseen), m.generate(split.unseen_classes, 20, random_state=3)
    Xs = m.transform(split.X_train)
    seen_means = [Xs[split.y_train == c].mean(0) for c in split.seen_classes]
    for c in split.unseen_classes:
        r, g = R[split.y_test_unseen == c], G[0][G[1] == c]
        assert df.loc[c, "real_spread"] == pytest.approx(np.mean([np.linalg.norm(x - r.mean(0)) for x in r]), rel=1e-4)
        assert df.loc[c, "synth_spread"] == pytest.approx(np.mean([np.linalg.norm(x - g.mean(0)) for x in g]), rel=1e-4)
        d_own = [np.linalg.norm(x - g.mean(0)) for x in r]
        d_seen = [min(np.linalg.norm(x - s) for s in seen_means) for x in r]
        assert df.loc[c, "d_own"] == pytest.approx(np.mean(d_own), rel=1e-4)
        assert df.loc[c, "closer_to_seen"] == pytest.approx(np.mean(np.less(d_seen, d_own)))
    rec = E.coverage_records({"s": {"full": df}})
    assert rec["s.full.coverage.centre_offset"] == pytest.approx(df["centre_offset"].mean())


def test_discussion_markdown_renders_recorded_numbers():
    res = {"config.seeds": [0, 1, 2], "d.data.n_seen": 10, "d.data.n_unseen": 3, "d.data.n_train": 99,
           "d.eszsl.zsl_top1": 0.1234, "d.full.zsl_top1": 0.4567, "d.full.zsl_top1_min": 0.4, "d.full.zsl_top1_max": 0.5,
           "d.full.gzsl.h": 0.0512, "d.eszsl.gamma": 10.0, "d.eszsl.lambda_": 1.0,
           "d.full.selected.noise_alpha_on_edge": True, "d.full.selected.noise_alpha": 0.8,
           "d.eszsl.lambda__on_edge": True, "d.eszsl.lambda__edge_tie": True, "d.eszsl.gamma_on_edge": False}
    text = R.discussion_markdown(res, ["d"], ["full"], "full")
    assert "full: noise α = 0.8 (validation still rising toward the edge" in text
    assert "λ = 1 (validation flat: the next grid value scores the same" in text
    assert "full method 45.7 % (seeds 40.0-50.0) vs ESZSL 12.3 %" in text
    assert "5.1" in text and "γ = 10" in text and "full: noise α" in text and "noise_alpha" not in text
    res["d.full.zsl_top1"] = 0.5
    assert "full method 50.0 %" in R.discussion_markdown(res, ["d"], ["full"], "full")


def test_umap_views_are_seeded_and_separate_real_groups(split):
    """UMAP beside t-SNE (issue 13): same layout as tsne_views, identical for one seed; the
    figure's axes say UMAP."""
    m = E.run_ablation(split, ["cls"], [0], SMALL | {"projection_dim": 16}, progress=False)[1]["cls"]
    a = R.tsne_views({"cls": m}, split, n_classes=3, n_per_class=10, method="umap")["cls"]
    b = R.tsne_views({"cls": m}, split, n_classes=3, n_per_class=10, method="umap")["cls"]
    assert a[0].shape == (60, 2) and np.isfinite(a[0]).all()
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], R.tsne_views({"cls": m}, split, n_classes=3, n_per_class=10)["cls"][1])
    with pytest.raises(ValueError, match="method"):
        R.tsne_views({"cls": m}, split, n_classes=3, method="pca")
    import matplotlib.pyplot as plt

    fig = R.plot_tsne({"cls_gaussian": m}, split, n_classes=3, method="umap")
    assert fig.axes[0].get_xlabel() == "UMAP 1" and "UMAP" in fig._suptitle.get_text()
    plt.close("all")
