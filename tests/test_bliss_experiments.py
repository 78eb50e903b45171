"""Helpers of the notebook-01 experiment driver against hand-computed values."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import v_measure_score

from zsl_lib.experiments import bliss as ex


def test_clustered_points_shapes_and_all_clusters():
    X, y = ex.clustered_points(22, 128, seed=3)
    assert X.shape == (128, 2) and X.dtype == np.float32
    assert set(y) == set(range(22))
    X2, y2 = ex.clustered_points(22, 128, seed=3)
    np.testing.assert_array_equal(X, X2)
    with pytest.raises(ValueError, match="n_clusters"):
        ex.clustered_points(200, 128)


def test_bary_fraction_hand_computed():
    a = np.array([[1, 0], [2, 19]])  # R=2 repetitions, 2 items
    np.testing.assert_allclose(ex.bary_fraction(a, 20), [1 / 20 + 2 / 400, 0 + 19 / 400])


def test_vmeasure_bound_is_attained():
    y = np.repeat([0, 1], 90)
    buckets = np.arange(180) // 10  # 18 equal buckets, each inside one cluster
    assert v_measure_score(y, buckets) == pytest.approx(ex.vmeasure_upper_bound(2, 18))
    assert ex.vmeasure_upper_bound(4, 4) == 1.0


def test_partition_scores_against_sklearn():
    from sklearn.metrics import silhouette_score

    X, y = ex.clustered_points(3, 60, seed=0)
    a = np.stack([y, (y + 1) % 3])
    s = ex.partition_scores(X, y, a)
    assert s["v_measure"] == pytest.approx(1.0)
    assert s["silhouette"] == pytest.approx(silhouette_score(X, y))
    assert s["nonempty_buckets"] == 3
    # empty buckets count in the mean load: 60 items in 3 of 6 buckets -> max / (60 / 6)
    assert ex.partition_scores(X, y, a, n_buckets=6)["max_over_mean_load"] == pytest.approx(np.bincount(y).max() / 10)


def test_value_at_fraction_interpolates_envelope():
    c = pd.DataFrame({"method": "m", "fraction_scanned": [0.02, 0.04, 0.08], "recall_at_10": [0.5, 0.4, 0.9]})
    # envelope: 0.5 at 0.02, 0.5 at 0.04, 0.9 at 0.08 -> at 0.06: 0.7
    assert ex.value_at_fraction(c, "m", 0.06) == pytest.approx(0.7)
    assert ex.value_at_fraction(c, "m", 0.01) == pytest.approx(0.25)  # from (0, 0)
    assert np.isnan(ex.value_at_fraction(c, "other", 0.05))


def test_per_query_recall_at_fraction_follows_the_envelope():
    # three curve points of 4 queries; the envelope's holder at 0.04 is the first point (0.5 > 0.4)
    pq = [np.array([1.0, 0.0, 0.5, 0.5]), np.array([0.0, 0.0, 0.8, 0.8]), np.array([1.0, 1.0, 0.6, 1.0])]
    c = pd.DataFrame({"method": "m", "fraction_scanned": [0.02, 0.04, 0.08], "recall_at_10": [p.mean() for p in pq],
                      "per_query_recall": pq})
    np.testing.assert_allclose(ex.per_query_at_fraction(c, "m", 0.04), pq[0])  # not the second point's
    got = ex.per_query_at_fraction(c, "m", 0.06)
    np.testing.assert_allclose(got, 0.5 * pq[0] + 0.5 * pq[2])
    for f in (0.01, 0.03, 0.05, 0.07, 0.2):  # the mean over the queries is the curve's value
        assert ex.per_query_at_fraction(c, "m", f).mean() == pytest.approx(ex.value_at_fraction(c, "m", f))
    with pytest.raises(ValueError, match="no curve points for method 'other'"):
        ex.per_query_at_fraction(c, "other", 0.05)
    # a paired interval from the same per-query rows
    d = pd.concat([c, c.assign(method="n", per_query_recall=[p * 0.5 for p in pq],
                               recall_at_10=c.recall_at_10 * 0.5)], ignore_index=True)
    cmp = ex.paired_at_fraction(d, "m", "n", 0.08)
    assert cmp["diff"] == pytest.approx(0.5 * pq[2].mean()) and cmp["lo"] <= cmp["diff"] <= cmp["hi"]


def test_seed_comparisons_pair_the_seeds():
    rows = []
    for c in (2, 4):
        for seed in range(3):
            base = 0.4 + 0.05 * seed  # a shared per-seed offset: pairing removes it
            rows += [{"setting": "kaiming_triplet", "n_clusters": c, "seed": seed, "v_measure": base + 0.02},
                     {"setting": "random_triplet", "n_clusters": c, "seed": seed, "v_measure": base},
                     {"setting": "kaiming_ce", "n_clusters": c, "seed": seed, "v_measure": base + 0.01 + 0.001 * seed},
                     {"setting": "fixed", "n_clusters": c, "seed": seed, "v_measure": base - 0.1 + 0.001 * seed}]
    out = ex.seed_comparisons(pd.DataFrame(rows))
    k = out[("kaiming_vs_random_triplet", 2)]
    assert k["diff"] == pytest.approx(0.02) and k["lo"] == pytest.approx(0.02) and k["n"] == 3
    f = out[("fixed_vs_best_report", 4)]
    assert f["against"] == "kaiming_triplet" and f["hi"] < 0  # below the best report setting on every seed
    one = pd.DataFrame(rows)
    assert ex.seed_comparisons(one[one.seed == 0]) == {}  # one seed: no interval


def test_run_blissnet_returns_per_item_correctness():
    rng = np.random.default_rng(0)
    C = rng.normal(size=(12, 16)) * 3
    y = np.repeat(np.arange(12), 20)
    X = (C[y] + rng.normal(size=(240, 16))).astype(np.float32)
    split = ex.zeroshot_split(y, 3, 4, seed=0)
    zs = ex.run_blissnet(X, y, split, {"n_models": 2, "n_metaclasses": 4, "epochs": 2}, device="cpu")
    pi = zs["per_item"]
    assert len(pi["novel_top1"]) == len(split["novel_test"]) and len(pi["seen_top1"]) == len(split["seen_test"])
    for k in ("novel_top1", "seen_top1", "ncm_novel_top1", "ncm_gzsl_seen_top1"):
        assert zs[k] == pytest.approx(pi[k].mean())
    cmps = ex.blissnet_comparisons(zs)
    assert cmps["novel_top1"]["diff"] == pytest.approx(zs["novel_top1"] - zs["ncm_novel_top1"])
    assert cmps["novel_top1"]["n"] == len(split["novel_test"])


def test_bucket_colours_are_categorical():
    from zsl_lib.experiments.bliss_plots import bucket_colormap

    cmap, note = bucket_colormap(64)
    colours = [tuple(cmap(i)) for i in range(64)]
    assert cmap.N == 64 and len(set(colours[:60])) == 60  # a listed palette, one colour per bucket id
    assert note and "not all can be told apart" in note
    cmap5, note5 = bucket_colormap(5)
    assert note5 is None and len({tuple(cmap5(i)) for i in range(5)}) == 5


def test_ann_figure_legend_stays_clear_of_the_title():
    import matplotlib

    matplotlib.use("Agg")
    curves = pd.DataFrame({"method": ["bliss_fixed", "bliss_fixed", "ivf_kmeans", "ivf_kmeans"],
                           "fraction_scanned": [0.02, 0.08, 0.03, 0.1], "recall_at_10": [0.5, 0.9, 0.6, 0.95]})
    fig = ex.plot_ann_curves(curves, "A long title: recall@10 vs gallery scanned (B=64)")
    fig.canvas.draw()
    r = fig.canvas.get_renderer()
    legend = fig.legends[0].get_window_extent(r)
    title = fig._suptitle.get_window_extent(r)
    assert legend.y1 <= title.y0  # the legend (with its title) lies below the figure's title
    assert not legend.overlaps(fig.axes[0].get_window_extent(r))


def test_zeroshot_split_partitions_items():
    y = np.repeat(np.arange(10), 5)
    s = ex.zeroshot_split(y, 3, 2, seed=0)
    allidx = np.concatenate([s["seen_train"], s["seen_test"], s["support"], s["novel_test"]])
    assert sorted(allidx.tolist()) == list(range(50))
    assert len(s["novel"]) == 3 and set(y[s["support"]]) == set(s["novel"])
    assert np.all(np.bincount(y[s["support"]])[s["novel"]] == 2)
    assert np.all(np.bincount(y[s["seen_train"]], minlength=10)[s["seen"]] == 3)
    with pytest.raises(ValueError, match="n_support"):
        ex.zeroshot_split(y, 3, 5)


def test_ann_curves_small(tmp_path):
    rng = np.random.default_rng(0)
    C = rng.normal(size=(8, 8))
    y = rng.integers(0, 8, 700)
    X = (C[y] + 0.3 * rng.normal(size=(700, 8))).astype(np.float32)
    small = {"n_repetitions": 2, "epochs": 2, "n_neighbors": 4, "batch_size": 32, "hidden_dim": 16, "k_choices": 2, "n_probe": 1}
    curves, summ, models = ex.ann_curves(X[:600], X[600:], 8, small, small, lsh_bits=(3,), lsh_tables=(1,),
                                         probes=(1, 2), min_freqs=(1,), progress=False)
    assert set(summ.method) == {"bliss_report", "bliss_fixed", "ivf_kmeans", "rh_lsh"}
    assert curves.recall_at_10.between(0, 1).all() and curves.fraction_scanned.between(0, 1).all()
    # the fast preset as a third BLISS: its own row, model and curve, trained on a third of the gallery
    from zsl_lib.index.bliss_fixed import FAST_DEFAULTS

    curves3, summ3, models3 = ex.ann_curves(X[:600], X[600:], 8, small, small, FAST_DEFAULTS, lsh_bits=(3,),
                                            lsh_tables=(1,), probes=(1, 2), min_freqs=(1,), progress=False)
    assert set(summ3.method) == {"bliss_report", "bliss_fixed", "bliss_fast", "ivf_kmeans", "rh_lsh"}
    assert len(models3["bliss_fast"].train_rows_) == 200 and models3["bliss_fast"].n_repetitions == 2
    assert (curves3.method == "bliss_fast").any()
    drop = ["query_seconds", "per_query_recall"]
    pd.testing.assert_frame_equal(curves3[curves3.method == "bliss_fixed"].drop(columns=drop).reset_index(drop=True),
                                  curves[curves.method == "bliss_fixed"].drop(columns=drop).reset_index(drop=True))
    # one recall per query on every curve point, averaging to the point's recall
    assert all(len(p) == 100 for p in curves.per_query_recall)
    np.testing.assert_allclose([p.mean() for p in curves.per_query_recall], curves.recall_at_10)
    # IVF with every bucket probed is exact
    full = ex.ann_curves(X[:600], X[600:], 2, small, small, lsh_bits=(1,), lsh_tables=(1,), probes=(2,), min_freqs=(1,), progress=False)[0]
    assert full[full.method == "ivf_kmeans"].recall_at_10.iloc[0] == pytest.approx(1.0)


def test_source_constant_is_flat_and_keyed_like_our_records():
    """SOURCE["clusters.<setting>.<n>.<metric>"]: report Tables 3 (silhouette) and 4 (V-measure)."""
    assert len(ex.SOURCE) == 2 * 3 * 6
    assert all(isinstance(v, float) for v in ex.SOURCE.values())
    for setting in ("kaiming_triplet", "random_triplet", "kaiming_ce"):
        for metric in ("silhouette", "v_measure"):
            assert sorted(ex.report_values(metric, setting)) == [2, 4, 11, 13, 20, 22]
    assert ex.report_values("v_measure", "fixed") == {}
    assert ex.SOURCE["clusters.kaiming_ce.4.v_measure"] == ex.report_values("v_measure", "kaiming_ce")[4] == 0.504
    assert ex.SOURCE["clusters.kaiming_triplet.4.silhouette"] == -0.179
    assert ex.SOURCE["clusters.random_triplet.22.silhouette"] == -0.113


_GOOD = dict(cluster_counts=[2, 4], mechanism_clusters=4, scan_fraction=0.05, ann_dataset="cifar10",
             zs_dataset="tiny-imagenet", ann_encoder="resnet56-cifar10", zs_encoder="efficientnet-lite0",
             n_seeds=3, epochs=60)


def test_check_params_accepts_the_notebook_defaults():
    assert ex.check_params(**_GOOD) == [2, 4]
    # prefix families, weights named in the name (the paper profile's encoder, offline with random weights)
    assert ex.check_params(**{**_GOOD, "ann_encoder": "torchvision:resnet50/random"}) == [2, 4]


@pytest.mark.parametrize("bad, match", [
    # papermill -p cluster_counts 4 delivers an int, not a list (a TypeError inside numpy before)
    ({"cluster_counts": 4}, r"parameter cluster_counts: expected a list of integers, got the int 4.*-y"),
    ({"cluster_counts": "4"}, r"parameter cluster_counts: expected a list of integers, got the str"),
    ({"cluster_counts": [2, 400]}, r"parameter cluster_counts entry must be an integer <= 128; got 400"),
    ({"cluster_counts": [2, 11]}, r"parameter cluster_counts=\[2, 11\] must contain mechanism_clusters=4"),
    ({"scan_fraction": 1.5}, r"parameter scan_fraction must lie in \(0, 1\)"),
    ({"ann_dataset": "mnist"}, r"unknown parameter ann_dataset 'mnist'; accepted values: 'cifar10'"),
    ({"zs_encoder": "resnet57"}, r"parameter zs_encoder: unknown encoder 'resnet57'; accepted values: .*efficientnet-lite0"),
    ({"epochs": 0}, r"parameter epochs must be an integer >= 1; got 0"),
    ({"n_seeds": "3"}, r"parameter n_seeds must be an integer"),
])
def test_check_params_names_the_bad_parameter(bad, match):
    with pytest.raises(ValueError, match=match):
        ex.check_params(**{**_GOOD, **bad})


@pytest.fixture
def six_classes(tmp_path):
    """A user's .npz: 6 classes of 10 items (60), for the size checks of check_params."""
    X = np.random.default_rng(0).normal(size=(60, 8)).astype(np.float32)
    np.savez(tmp_path / "six.npz", X=X, y=np.repeat(np.arange(6), 10))
    return str(tmp_path / "six.npz")


_SIZES = dict(seed=0, zs_rerank=None, fixed_capacity=1.2, bad_images="raise", ann_limit_per_class=1, ann_queries=10,
              ann_buckets=4, ann_neighbors=4, fixed_k_choices=2, zs_limit_per_class=1, zs_novel=2, zs_support=2,
              zs_metaclasses=4)


def test_check_params_accepts_sizes_that_fit_the_data(six_classes):
    user = dict(ann_dataset="user", zs_dataset="user", ann_user_data=six_classes, zs_user_data=six_classes)
    assert ex.check_params(**{**_GOOD, **user, **_SIZES}) == [2, 4]


@pytest.mark.parametrize("bad, match", [
    # issue 22: these failed late (numpy's "expected non-negative integer", an empty gallery, BLISS's
    # "k_choices=4 must not exceed n_buckets=2"), naming no notebook parameter
    ({"seed": -1}, r"parameter seed must be an integer >= 0; got -1"),
    ({"ann_queries": 100000}, r"parameter ann_queries=100000: ann_user_data .*six.npz has 60 items, which leaves a "
                              r"gallery of 0; .*lower ann_queries to at most 48"),
    ({"zs_metaclasses": 2}, r"parameter zs_metaclasses=2 is below the 4 metaclasses BLISSNet places each class in"),
    # and the others of the same kind
    ({"zs_metaclasses": 5}, r"parameter zs_metaclasses=5 exceeds the 4 seen classes \(6 classes of .* minus zs_novel=2\)"),
    ({"zs_novel": 6}, r"parameter zs_novel=6: .* has 6 classes and at least one must stay seen; lower zs_novel to at most 5"),
    ({"zs_support": 10}, r"parameter zs_support=10: the smallest class .* has 10 images.*at most 9"),
    ({"zs_rerank": 0}, r"parameter zs_rerank must be an integer >= 1"),
    ({"zs_rerank": "all"}, r"parameter zs_rerank must be an integer \(or None\); got 'all'"),
    ({"fixed_capacity": 0.5}, r"parameter fixed_capacity must lie in \[1, inf\]"),
    ({"ann_buckets": 2}, r"parameter ann_buckets=2 is below the K=4 buckets"),
    ({"fixed_k_choices": 8}, r"parameter fixed_k_choices=8 exceeds ann_buckets=4"),
    ({"ann_neighbors": 500}, r"parameters ann_buckets / ann_neighbors: .* has 60 items but the gallery needs at least 500"),
    ({"bad_images": "ignore"}, r"unknown parameter bad_images 'ignore'; accepted values: 'raise', 'skip'"),
    ({"ann_queries": 0}, r"parameter ann_queries must be an integer >= 1"),
])
def test_check_params_names_a_bad_size_or_seed(six_classes, bad, match):
    user = dict(ann_dataset="user", zs_dataset="user", ann_user_data=six_classes, zs_user_data=six_classes)
    with pytest.raises(ValueError, match=match):
        ex.check_params(**{**_GOOD, **user, **_SIZES, **bad})


def test_check_params_names_the_split_parameter():
    with pytest.raises(ValueError, match=r"parameter ann_split: cifar10: unknown split 'val'"):
        ex.check_params(**{**_GOOD, **_SIZES, "ann_split": "val", "zs_limit_per_class": None})


def test_a_users_image_folder_is_accepted_and_fully_decoded_up_front(tmp_path):
    """01's user data may be an image folder (was refused: "no file at"); a truncated JPEG or a
    non-image in it is named by the setup's check, or skipped with bad_images='skip'."""
    from conftest import folder_with_bad_jpegs

    folder = str(folder_with_bad_jpegs(tmp_path / "imgs"))
    assert ex.check_params(**{**_GOOD, "ann_dataset": "user", "ann_user_data": folder}) == [2, 4]
    with pytest.raises(ValueError, match=r"2 of 6 images cannot be read: .*cut\.jpg.*truncated"):
        ex.section_labels("user", split="test", limit_per_class=None, user_data=folder, parameter="ann_user_data")
    with pytest.warns(UserWarning, match="skipping 2 of 6"):
        labels, what = ex.section_labels("user", split="test", limit_per_class=None, user_data=folder,
                                         parameter="ann_user_data", bad_images="skip")
    assert labels.tolist() == [0, 0, 1, 1] and what == f"ann_user_data {folder}"


def test_load_features_reads_a_users_embeddings_and_checks_the_path(tmp_path):
    X = np.random.default_rng(0).normal(size=(30, 8)).astype(np.float32)
    y = np.repeat(np.array(["a", "b", "c"]), 10)
    np.savez(tmp_path / "mine.npz", X=X, y=y)
    F, labels = ex.load_features("user", split="test", limit_per_class=None, encoder="efficientnet-lite0",
                                 user_data=str(tmp_path / "mine.npz"), parameter="ann_user_data")
    np.testing.assert_array_equal(F, X)
    assert labels.tolist() == [0] * 10 + [1] * 10 + [2] * 10  # sorted class names -> indices
    base = dict(cluster_counts=[2, 4], mechanism_clusters=4, scan_fraction=0.05, ann_encoder="efficientnet-lite0",
                zs_encoder="efficientnet-lite0", zs_dataset="tiny-imagenet")
    assert ex.check_params(ann_dataset="user", ann_user_data=str(tmp_path / "mine.npz"), **base) == [2, 4]
    with pytest.raises(ValueError, match="ann_dataset='user' needs ann_user_data"):
        ex.check_params(ann_dataset="user", **base)
    with pytest.raises(FileNotFoundError, match="ann_user_data"):
        ex.check_params(ann_dataset="user", ann_user_data=str(tmp_path / "absent.npz"), **base)
    # a registered dataset ignores the user path
    assert ex.check_params(ann_dataset="cifar10", ann_user_data=str(tmp_path / "absent.npz"), **base) == [2, 4]


@pytest.mark.notebook
def test_notebook_01_runs_on_a_users_embeddings(tmp_path):
    """Notebook 01's real-feature sections (BLISS vs IVF/LSH recall, BLISSNet zero-shot) on a
    user's .npz at smoke size: both run on the user's data and record under the user's name."""
    from zsl_lib import runner

    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(30), 20)
    X = (rng.normal(size=(30, 32))[y] + 0.5 * rng.normal(size=(600, 32))).astype(np.float32)
    np.savez(tmp_path / "mine.npz", X=X, y=y)
    run = runner.run_notebook("01-bliss-bias", profile="smoke", workdir=tmp_path / "run", parameters={
        "ann_dataset": "user", "ann_user_data": str(tmp_path / "mine.npz"), "ann_queries": 100,
        "zs_dataset": "user", "zs_user_data": str(tmp_path / "mine.npz"), "zs_novel": 5})
    assert run.status == "ok", run.error
    res = run.results
    assert 0 < res["zeroshot.user.novel_top1"] <= 1 and res["zeroshot.user.chance_novel_top1"] == 0.2
    assert any(k.startswith("ann.user.") for k in res), sorted(res)[:20]


def test_mechanism_figure_keeps_coinciding_lines_visible():
    """The target-bucket count and the non-empty-bucket count often coincide: the first is drawn
    wide and under the second's thin dashes, so neither hides the other."""
    import matplotlib

    matplotlib.use("Agg")
    from zsl_lib.index.bliss import BLISS

    X, _ = ex.clustered_points(4, 64, seed=0)
    m = BLISS(**{**ex.CLUSTER_BASE, "epochs": 2, "random_state": 0, "device": "cpu"}).fit(X)
    fig = ex.plot_mechanism({"report_official_init": m.history_}, 4, "mechanism")
    lines = {ln.get_label(): ln for ln in fig.axes[1].get_lines()}
    target = next(ln for k, ln in lines.items() if k.startswith("buckets that are a training target"))
    loads = lines["non-empty buckets"]
    assert target.get_linewidth() > 2 * loads.get_linewidth() and target.get_zorder() < loads.get_zorder()
    assert loads.get_linestyle() == "--"
