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
    pd.testing.assert_frame_equal(curves3[curves3.method == "bliss_fixed"].drop(columns="query_seconds").reset_index(drop=True),
                                  curves[curves.method == "bliss_fixed"].drop(columns="query_seconds").reset_index(drop=True))
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
