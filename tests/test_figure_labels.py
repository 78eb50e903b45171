"""What a reader sees in notebooks 01, 04 and 05's figures: human-readable names (zsl_lib.plots.DISPLAY_NAMES),
never a code identifier, in every legend, tick label and title."""

import re

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from zsl_lib.experiments import bliss as B  # noqa: E402
from zsl_lib.experiments import lsh as L  # noqa: E402
from zsl_lib.experiments import multilabel as M  # noqa: E402
from zsl_lib.plots import DISPLAY_NAMES, display_name  # noqa: E402

#: keys a reader would read as code when they appear as a word (plain words such as "exact" may)
CODE_KEYS = {k for k, v in DISPLAY_NAMES.items() if v != k and re.search(r"[-_0-9]|^[A-Z]$", k)}


def _texts(fig) -> list[str]:
    out = [t.get_text() for t in fig.texts] + [fig.get_suptitle()]
    for leg in fig.legends:
        out += [t.get_text() for t in leg.get_texts()]
    for ax in fig.axes:
        out += [ax.get_title(loc) for loc in ("left", "center", "right")]
        out += [t.get_text() for t in ax.get_xticklabels() + ax.get_yticklabels()]
        if ax.get_legend() is not None:
            out += [t.get_text() for t in ax.get_legend().get_texts()]
    return [t for t in out if t]


def _assert_readable(fig):
    fig.canvas.draw()  # tick labels are only set when drawn
    texts = _texts(fig)
    assert texts
    for text in texts:
        assert text not in CODE_KEYS and text not in {k for k, v in DISPLAY_NAMES.items() if v != k}, text
        for token in re.split(r"[\s(),:;]+", text):
            assert "_" not in token, (token, text)
            assert token not in CODE_KEYS, (token, text)
            assert not re.fullmatch(r"L\d+|pca-\S+|nprobe\d+|cand\d+", token), (token, text)
            parts = token.split("-")  # a task name such as "cifar10-resnet56-cifar10" is keys joined by "-"
            assert not any("-".join(parts[i:j]) in CODE_KEYS - {"K", "H", "J"} for i in range(len(parts))
                           for j in range(i + 1, len(parts) + 1)), (token, text)
    plt.close(fig)


@pytest.fixture
def grid_and_exact():
    rng = np.random.default_rng(0)
    rows = []
    for ds in ("cifar10-resnet56-cifar10", "cifar10-efficientnet-lite0", "tiny-imagenet-efficientnet-lite0"):  # task names
        for meth, groups, param in (("kmeans", ["pca-none", "pca-0_95", "pca-20"], "K"), ("lsh", ["L3", "L12"], "H"),
                                    ("neural-lsh", ["L12"], "J"), ("faiss-ivf", ["nprobe8"], "nlist"),
                                    ("faiss-lsh", ["cand100"], "bits")):
            for g in groups:
                for v in (10, 100):
                    rows.append({"dataset": ds, "method": meth, "group": g, "param": param, "value": v,
                                 "p_at_10": rng.uniform(40, 80), "p_at_50": rng.uniform(40, 80),
                                 "map_retrieved": rng.uniform(20, 60), "recall_at_10": rng.uniform(20, 100),
                                 "candidates_per_query": 10 ** rng.uniform(1, 3), "query_ms": 10 ** rng.uniform(-2, 0)})
    grid = pd.DataFrame(rows)
    exact = pd.DataFrame([{"dataset": ds, "method": m, "p_at_10": 85.0, "recall_at_10": 100.0, "query_ms": q}
                          for ds in grid.dataset.unique() for m, q in (("exact", 0.8), ("faiss-flat", 0.3))])
    return grid, exact


def test_display_name_maps_known_keys_and_passes_unknown_through():
    assert display_name("neural-lsh") == "neural LSH"
    assert display_name("faiss-ivf") == "FAISS IVFFlat"
    assert display_name("one_nn") == "1-NN"
    assert display_name("neighbor_search") == "neighbour search"
    assert display_name("pca-0_95") == "PCA, 95 % variance"
    assert display_name("no-such-key") == "no-such-key"
    assert L.group_name("L12") == "12 hash tables" and L.group_name("pca-none") == "no PCA"
    assert L.METHOD_NAMES["lsh"] == display_name("lsh")  # the old name still works


def test_task_titles_name_the_dataset_and_the_encoder():
    assert L.dataset_name("cifar10-resnet56-cifar10") == "CIFAR-10\nResNet-56 (CIFAR-10-trained) features"
    assert L.dataset_name("tiny-imagenet-efficientnet-lite0") == "Tiny-ImageNet\nEfficientNet-Lite0 (ImageNet) features"
    assert L.dataset_name("cifar10:efficientnet-lite0") == "CIFAR-10\nEfficientNet-Lite0 (ImageNet) features"
    assert L.dataset_name("user-my-encoder") == "user\nmy-encoder features"  # a user's encoder as named
    assert L.dataset_name("something-else") == "something-else"


def test_lsh_tradeoff_and_query_time_figures_are_readable(grid_and_exact):
    from zsl_lib.plots import use_style

    grid, exact = grid_and_exact
    with matplotlib.rc_context():
        use_style()  # the notebooks' fonts: bold titles, notebook context
        fig = L.plot_tradeoff(grid, exact)
        fig.canvas.draw()
    assert all(ax.get_legend() is None for ax in fig.axes) and len(fig.legends) == 1  # legend off the data
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    assert labels[:5] == [display_name(m) for m in ("kmeans", "lsh", "neural-lsh", "faiss-ivf", "faiss-lsh")]
    colors = [tuple(np.round(h.get_facecolor()[0][:3], 2)) for h in fig.legends[0].legend_handles[:5]]
    assert len(set(colors)) == 5
    fig.canvas.draw()
    boxes = [ax.title.get_window_extent() for ax in fig.axes[:3]]  # neighbouring panels' titles do not touch
    assert boxes[0].x1 < boxes[1].x0 and boxes[1].x1 < boxes[2].x0, boxes
    _assert_readable(fig)
    fig = L.plot_query_time(grid, exact)
    assert all(ax.get_legend() is None for ax in fig.axes) and len(fig.legends) == 1
    _assert_readable(fig)


def test_lsh_vs_report_figure_is_readable(grid_and_exact):
    grid, _ = grid_and_exact
    for method in ("kmeans", "lsh"):
        comp = grid[grid.method == method].copy()
        comp["report_p_at_10"], comp["report_p_at_50"], comp["report_map"] = comp.p_at_10 + 1, np.nan, np.nan
        _assert_readable(L.plot_vs_report(comp, method))


def test_multilabel_model_comparison_and_learning_curve_are_readable():
    models = ["one_nn", "neighbor_search", "simple_net", "classwise_net", "language_image", "hybrid", "ml_knn"]
    t48 = pd.DataFrame([{"dataset": "mulan-scene", "model": m, "f2": 0.5, "F2 per-class thr.": 0.55, "F2 thesis": 0.4}
                        for m in models])
    fig = M.plot_model_comparison(t48)
    fig.canvas.draw()
    assert [t.get_text() for t in fig.axes[0].get_xticklabels()] == [display_name(m) for m in models]
    _assert_readable(fig)
    curve = pd.DataFrame([("mulan-scene", n, m, 0.4) for n in (10, 100) for m in ("one_nn", "neighbor_search")],
                         columns=["dataset", "n_reference", "model", "f2"])
    _assert_readable(M.plot_learning_curve(curve))


# ---------------------------------------------------------------------------------------------
# notebook 01 (BLISS): every figure drawn from tiny fits, as the notebook calls it
# ---------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def bliss_inputs():
    from zsl_lib.index.bliss import BLISS
    from zsl_lib.index.bliss_fixed import FIXED_DEFAULTS

    tiny = {"n_repetitions": 2, "epochs": 3, "batch_size": 16, "hidden_dim": 16, "device": "cpu"}
    Xb = B.bimodal_beta(96, seed=0)
    bb = {**B.BETA_BASE, **tiny}
    beta = {"official init": BLISS(**{**bb, "init": "official"}).fit(Xb),
            "Kaiming init": BLISS(**{**bb, "init": "kaiming"}).fit(Xb),
            "fixed BLISS": BLISS(**{**bb, **FIXED_DEFAULTS}).fit(Xb)}
    cb = {**B.CLUSTER_BASE, **tiny}
    Xm, _ = B.clustered_points(4, seed=0)
    mech = {"report_official_init": BLISS(**{**cb, "init": "official"}).fit(Xm),  # the notebook's keys
            "report_kaiming_ce": BLISS(**{**cb, "init": "kaiming"}).fit(Xm),
            "fixed": BLISS(**{**cb, **FIXED_DEFAULTS}).fit(Xm)}
    grid, grid_models = B.run_cluster_grid(cluster_counts=(2, 4), seeds=(0,), base={**cb, "epochs": 1},
                                           keep_models_for=4, progress=False, device="cpu")
    rng = np.random.default_rng(0)
    C = rng.normal(size=(6, 8))
    X = (C[rng.integers(0, 6, 400)] + 0.3 * rng.normal(size=(400, 8))).astype(np.float32)
    sm = {"n_repetitions": 2, "epochs": 1, "n_neighbors": 4, "batch_size": 64, "hidden_dim": 16, "k_choices": 2, "n_probe": 1}
    from zsl_lib.index.bliss_fixed import FAST_DEFAULTS

    curves, _, ann_models = B.ann_curves(X[:350], X[350:], 8, sm, sm, FAST_DEFAULTS, lsh_bits=(3,), lsh_tables=(1,), probes=(1, 2),
                                         min_freqs=(1,), progress=False, device="cpu")
    return {"Xb": Xb, "beta": beta, "mech": mech, "k": cb["k_choices"], "grid": grid, "grid_models": grid_models,
            "X": X[:350], "curves": curves, "ann_models": ann_models}


def _tick_texts(ax, axis):
    return [t.get_text() for t in (ax.get_xticklabels() if axis == "x" else ax.get_yticklabels()) if t.get_text()]


def test_bliss_display_names_for_notebook_01():
    assert display_name("kaiming_triplet") == "Kaiming init + triplet loss"
    assert display_name("fixed") == display_name("bliss_fixed") == "fixed BLISS"
    assert display_name("rh_lsh") == "random-hyperplane LSH"
    from zsl_lib.experiments import bliss_report as R

    assert R.METHOD_NAMES["ivf_kmeans"] == display_name("ivf_kmeans")  # the report's prose uses the same names


def test_bliss_beta_figures_are_readable(bliss_inputs):
    d = bliss_inputs
    fig = B.plot_bucket_scatter(d["Xb"], [m.assignments_[0] for m in d["beta"].values()], list(d["beta"]), "Beta buckets", 5)
    panels = [ax for ax in fig.axes if ax.get_xlabel() == "x1"]
    assert [ax.get_ylabel() for ax in panels] == ["x2", "", ""]  # one y label: none runs into a neighbour
    _assert_readable(fig)
    _assert_readable(B.plot_load_distribution([m.history_ for m in d["beta"].values()], list(d["beta"]), "loads"))
    _assert_readable(B.plot_logit_history({k: m.history_ for k, m in d["beta"].items()}, "logits"))


def test_bliss_mechanism_figure_is_readable(bliss_inputs):
    d = bliss_inputs
    fig = B.plot_mechanism({k: m.history_ for k, m in d["mech"].items()}, d["k"], "mechanism (4 clusters, B=20, K=4)")
    fig.canvas.draw()
    assert all(ax.get_legend() is None for ax in fig.axes) and len(fig.legends) == 2  # legends off the panels
    assert [ax.get_title() for ax in fig.axes[1:]] == [display_name(k) for k in d["mech"]]
    ticks = _tick_texts(fig.axes[0], "y")
    assert ticks and all(re.fullmatch(r"\d+", t) for t in ticks), ticks  # 5, 10, not 6x10^0
    _assert_readable(fig)


@pytest.mark.parametrize(("metric", "bound"), [("silhouette", False), ("v_measure", True)])
def test_bliss_cluster_count_figures_have_integer_ticks(bliss_inputs, metric, bound):
    fig = B.plot_grid_metric(bliss_inputs["grid"], metric, metric.replace("_", "-"), "vs number of clusters", bound=bound)
    fig.canvas.draw()
    ax = fig.axes[0]
    counts = set(bliss_inputs["grid"].n_clusters) | set(B.report_values(metric, "kaiming_triplet"))
    assert [float(v) for v in ax.get_xticks()] == sorted(counts)  # ticks at the cluster counts, no 2.5
    assert all(re.fullmatch(r"\d+", t) for t in _tick_texts(ax, "x"))
    assert ax.get_legend() is None and len(fig.legends) == 1
    _assert_readable(fig)


def test_bliss_cluster_and_ann_figures_are_readable(bliss_inputs):
    d = bliss_inputs
    Xg, yg, m = d["grid_models"]["kaiming_triplet"]
    _assert_readable(B.plot_cluster_maps(Xg, yg, m, "Report setting 1, 4 clusters", resolution=8))
    _assert_readable(B.plot_logit_history({k: v[2].history_ for k, v in d["grid_models"].items()}, "Logits, 4 clusters"))
    fig = B.plot_ann_curves(d["curves"], "CIFAR-10: recall@10 vs gallery scanned (B=8)")
    fig.canvas.draw()
    assert fig.get_suptitle().startswith("CIFAR-10") and fig.axes[0].get_title() == ""  # spans plot and legend
    assert [t.get_text() for t in fig.legends[0].get_texts()][:5] == [
        display_name(k) for k in ("bliss_report", "bliss_fixed", "bliss_fast", "ivf_kmeans", "rh_lsh")]
    _assert_readable(fig)
    am = d["ann_models"]
    fig = B.plot_pca_buckets(d["X"], {"bliss_report": am["bliss_report"], "bliss_fixed": am["bliss_fixed"]},
                             "features (PCA) coloured by bucket id")
    assert any(ax.get_ylabel().startswith("bucket id") for ax in fig.axes)  # the colour bar says what colours mean
    _assert_readable(fig)
