"""Notebook 01 with its smoke parameters: it runs, and the recorded numbers are consistent with
each other, with the notebook's parameters and with the report's numbers (``bliss.SOURCE``).

The notebook runs once per module (``smoke_results``); each test checks properties that fail
when the notebook or the method records a wrong number."""

from __future__ import annotations

import json

import pytest
import yaml

from zsl_lib import config

STEM = "01-bliss-bias"
REPORT_SETTINGS = ("kaiming_triplet", "random_triplet", "kaiming_ce")


def test_notebook_committed_without_outputs():
    nb = json.loads((config.notebooks_dir() / f"{STEM}.ipynb").read_text())
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert all(not c.get("outputs") and c.get("execution_count") is None for c in code)
    assert sum("parameters" in c.get("metadata", {}).get("tags", []) for c in code) == 1


def test_notebook_page_parts():
    """The summary is the last cell (tagged, moved to the top of the page), the settings table and the
    rules are rendered, figure labels name the report's figures correctly, and the README headline
    puts each baseline beside our method."""
    nb = json.loads((config.notebooks_dir() / f"{STEM}.ipynb").read_text())
    cells = nb["cells"]
    last = "".join(cells[-1]["source"])
    assert "summary" in cells[-1]["metadata"].get("tags", []) and "summary_markdown" in last
    code = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")
    assert "settings_markdown(" in code and "rules_markdown(" in code and "leakage=" in code
    assert "Kaiming init (Fig. 3)" not in code  # the report's Fig. 3 is a load plot
    assert "record_comparison(" in code
    heads = nb["metadata"]["zsl"]["headline"]
    assert all(isinstance(h, dict) and h["scale"] == 100 and h["label"] for h in heads)
    keys = [h["key"] for h in heads]
    assert keys.index("ann.cifar10.ivf_kmeans.recall_at_10") == keys.index("ann.cifar10.bliss_fixed.recall_at_10") + 1
    assert keys.index("zeroshot.tiny-imagenet.ncm_novel_top1") == keys.index("zeroshot.tiny-imagenet.novel_top1") + 1


@pytest.fixture(scope="module")
def smoke(tmp_path_factory):
    from conftest import real_file

    from zsl_lib.runner import params_file, run_notebook

    real_file("cifar10/cifar10-test.zip")
    real_file("tiny-imagenet/tiny-imagenet-200-subset.zip")
    tmp = tmp_path_factory.mktemp("nb01")
    with pytest.MonkeyPatch.context() as mp:
        for var in ("ZSL_RESULTS_DIR", "ZSL_FIGURES_DIR", "ZSL_BUILD_DIR", "ZSL_REPORTS_DIR"):
            mp.setenv(var, str(tmp / var.lower()))
        r = run_notebook(STEM, profile="smoke", workdir=tmp / "run")
    assert r.status == "ok", r.error
    params = yaml.safe_load(params_file(STEM, "smoke").read_text())
    return r.results, params, tmp / "run"


pytestmark = [pytest.mark.notebook, pytest.mark.realdata]


def test_smoke_run_writes_the_figure(smoke):
    assert (smoke[2] / "figures" / f"{STEM}-mechanism.png").exists()


def test_cluster_records_are_sane_and_show_the_bias(smoke):
    res, params, _ = smoke
    n_buckets = 20  # CLUSTER_BASE["n_buckets"]
    (c,) = params["cluster_counts"]
    for s in (*REPORT_SETTINGS, "fixed"):
        for m in ("silhouette", "v_measure", "nonempty_buckets", "max_over_mean_load"):
            assert f"clusters.{s}.{c}.{m}" in res
        assert -1 <= res[f"clusters.{s}.{c}.silhouette"] <= 1
        assert 0 <= res[f"clusters.{s}.{c}.v_measure"] <= 1
        assert 1 <= res[f"clusters.{s}.{c}.nonempty_buckets"] <= n_buckets
        assert res[f"clusters.{s}.{c}.max_over_mean_load"] >= 1  # max >= mean
    # the bias: the fixed BLISS uses more buckets, more evenly, than every report setting
    for s in REPORT_SETTINGS:
        assert res[f"clusters.fixed.{c}.nonempty_buckets"] > res[f"clusters.{s}.{c}.nonempty_buckets"]
        assert res[f"clusters.fixed.{c}.max_over_mean_load"] < res[f"clusters.{s}.{c}.max_over_mean_load"]
    assert res[f"clusters.fixed.{c}.nonempty_buckets"] >= 0.9 * n_buckets
    # the recorded check flags agree with the recorded numbers
    assert res["clusters.fixed.all_use_90pct_buckets"] == (
        res[f"clusters.fixed.{c}.nonempty_buckets"] >= 0.9 * n_buckets)
    assert res["clusters.fixed.all_max_over_mean_below_1_5"] == (
        res[f"clusters.fixed.{c}.max_over_mean_load"] < 1.5)
    best_report = max(res[f"clusters.{s}.{c}.v_measure"] for s in REPORT_SETTINGS)
    assert res["clusters.fixed.beats_report_v_measure_at"] == (
        [c] if res[f"clusters.fixed.{c}.v_measure"] > best_report else [])
    # the Beta setting with the official initialisation collapses into K = 3 of B = 5 buckets
    assert res["beta.official_init.nonempty_buckets"] <= 4
    assert res["beta.fixed_BLISS.nonempty_buckets"] >= res["beta.official_init.nonempty_buckets"]


def test_report_numbers_are_recorded_under_their_source_keys(smoke):
    from zsl_lib.experiments.bliss import SOURCE

    res, params, _ = smoke
    report = {k: v for k, v in res.items() if k.startswith("clusters.") and ".report_" in k}
    expected = {k.rsplit(".", 1)[0] + ".report_" + k.rsplit(".", 1)[1]: v for k, v in SOURCE.items()
                if int(k.split(".")[2]) in params["cluster_counts"]}
    assert report == expected
    assert len(report) == 2 * len(REPORT_SETTINGS)  # silhouette and V-measure per setting


def test_ann_records(smoke):
    res, params, _ = smoke
    key = "ann.cifar10"
    recalls = {k: v for k, v in res.items() if k.endswith("recall_at_10")}
    assert len(recalls) == 5  # report, fixed and fast BLISS, IVF, LSH
    assert all(0 <= v <= 1 for v in recalls.values()), recalls
    assert res[f"{key}.n_buckets"] == params["ann_buckets"]
    for m in ("bliss_report", "bliss_fixed", "bliss_fast", "ivf_kmeans", "rh_lsh"):
        assert 0 <= res[f"{key}.{m}.empty_buckets"] < params["ann_buckets"]
        assert res[f"{key}.{m}.max_over_mean_load"] >= 1
    assert res[f"{key}.bliss_fixed.max_over_mean_load"] < res[f"{key}.bliss_report.max_over_mean_load"]
    assert res[f"{key}.bliss_fixed.empty_buckets"] <= res[f"{key}.bliss_report.empty_buckets"]
    assert res[f"{key}.bliss_fixed_minus_ivf"] == pytest.approx(
        res[f"{key}.bliss_fixed.recall_at_10"] - res[f"{key}.ivf_kmeans.recall_at_10"])


def test_paired_comparisons_are_recorded(smoke):
    res, _, _ = smoke
    a, z = "ann.cifar10", "zeroshot.tiny-imagenet"
    for key, first, second in ((f"{a}.cmp.bliss_fixed_vs_ivf_kmeans", "bliss_fixed", "ivf_kmeans"),
                               (f"{a}.cmp.bliss_fast_vs_ivf_kmeans", "bliss_fast", "ivf_kmeans"),
                               (f"{a}.cmp.bliss_fixed_vs_bliss_report", "bliss_fixed", "bliss_report")):
        # the per-query recalls average to the recorded recalls: the difference is theirs
        assert res[f"{key}.diff"] == pytest.approx(res[f"{a}.{first}.recall_at_10"] - res[f"{a}.{second}.recall_at_10"])
        assert res[f"{key}.lo"] <= res[f"{key}.diff"] <= res[f"{key}.hi"] and res[f"{key}.n"] == 100
    for k in ("novel_top1", "seen_top1", "gzsl_novel_top1", "gzsl_seen_top1"):
        assert res[f"{z}.cmp.{k}.diff"] == pytest.approx(res[f"{z}.{k}"] - res[f"{z}.ncm_{k}"])
    assert not any(k.startswith("clusters.cmp.") for k in res)  # one seed: no seed interval
    assert not any("per_item" in k for k in res)


def test_zeroshot_records(smoke):
    res, params, _ = smoke
    key = "zeroshot.tiny-imagenet"
    chance = res[f"{key}.chance_novel_top1"]
    assert chance == pytest.approx(1 / params["zs_novel"])
    for k in ("novel_top1", "seen_top1", "ncm_novel_top1", "gzsl_novel_top1", "gzsl_seen_top1",
              "ncm_gzsl_novel_top1", "ncm_gzsl_seen_top1", "metaclass_top1"):
        assert 0 <= res[f"{key}.{k}"] <= 1, k
    assert res[f"{key}.novel_top1"] > chance
    assert res[f"{key}.ncm_novel_top1"] > chance
    assert 1 <= res[f"{key}.metaclass_nonempty"] <= params["zs_metaclasses"]


def _standin_cifar100(path, per_class_train: int, per_class_test: int) -> None:
    """A small ``cifar-100-python.tar.gz`` in the official format: each class a colour plus noise,
    so that features carry the class."""
    import numpy as np
    from conftest import write_cifar100_archive

    rng = np.random.default_rng(0)
    colours = rng.integers(0, 256, size=(100, 3))
    splits = {}
    for name, per in (("train", per_class_train), ("test", per_class_test)):
        y = np.repeat(np.arange(100), per)
        img = np.clip(colours[y][:, None, None, :] + rng.normal(0, 30, (len(y), 32, 32, 3)), 0, 255)
        splits[name] = (img.astype(np.uint8).transpose(0, 3, 1, 2).reshape(len(y), 3072), y)  # R, G, B planes
    write_cifar100_archive(path, splits, [f"class{i}" for i in range(100)], [f"super{i}" for i in range(20)])


@pytest.mark.slow
def test_paper_profile_runs_the_reports_setting_on_standin_files(tmp_path, monkeypatch):
    """The paper profile (CIFAR-100, ImageNet ResNet-50, BLISS B=20 / R=4 / P=128 on the real
    features, BLISSNet with re-rank Q=128) end to end, offline: a stand-in CIFAR-100 in the official
    format in a mirror of its own, ResNet-50 with random weights, fewer images, seeds and epochs.
    The kernel is a separate process: a ``sitecustomize`` on its path registers the stand-in's
    checksum there, as the ``register`` fixture does in-process."""
    import hashlib

    from zsl_lib.runner import params_file, run_notebook

    mirror = tmp_path / "mirror"
    archive = mirror / "cifar100" / "cifar-100-python.tar.gz"
    _standin_cifar100(archive, per_class_train=2, per_class_test=2)
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(
        "import dataclasses\n"
        "from zsl_lib.data import registry\n"
        "spec = registry.REGISTRY['cifar100']\n"
        f"files = tuple(dataclasses.replace(f, sha256={hashlib.sha256(archive.read_bytes()).hexdigest()!r}, md5=None)\n"
        "              if f.relpath == 'cifar100/cifar-100-python.tar.gz' else f for f in spec.files)\n"
        "registry.REGISTRY['cifar100'] = dataclasses.replace(spec, files=files)\n"
    )
    monkeypatch.setenv("PYTHONPATH", f"{site}:{config.PROJECT_ROOT}")
    monkeypatch.setenv("ZSL_DATA_MIRROR", str(mirror))
    monkeypatch.setenv("ZSL_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("ZSL_CACHE_DIR", str(tmp_path / "cache"))  # keep the shared embedding cache clean
    paper = yaml.safe_load(params_file(STEM, "paper").read_text())
    small = {"ann_encoder": "torchvision:resnet50/random", "zs_encoder": "torchvision:resnet50/random",
             "n_seeds": 1, "cluster_counts": [4], "epochs": 2, "beta_points": 32, "ann_limit_per_class": 2,
             "ann_queries": 40, "ann_epochs": 1, "zs_limit_per_class": 2, "zs_support": 1, "zs_models": 2,
             "device": "cpu"}
    r = run_notebook(STEM, profile="paper", workdir=tmp_path / "run", parameters=small)
    assert r.status == "ok", r.error
    res = r.results
    # the report's settings that were not made small reached the experiments
    assert paper["ann_dataset"] == paper["zs_dataset"] == "cifar100" and paper["zs_rerank"] == 128
    assert res["ann.cifar100.n_buckets"] == paper["ann_buckets"] == 20
    assert res["ann.cifar100.n_gallery"] == 100 * 2 - 40
    assert res["zeroshot.cifar100.n_classes"] == 100 and res["zeroshot.cifar100.rerank_size"] == 128
    assert res["zeroshot.cifar100.chance_novel_top1"] == pytest.approx(1 / paper.get("zs_novel", 20))
    for key in ("ann.cifar100.bliss_fixed.recall_at_10", "zeroshot.cifar100.novel_top1", "zeroshot.cifar100.seen_top1"):
        assert 0.0 <= res[key] <= 1.0, key
    # both experiments embedded the stand-in with ResNet-50 (2048-d), weights named random
    metas = [json.loads(p.read_text()) for p in (tmp_path / "cache").rglob("*.json")]
    tv = [m for m in metas if str(m.get("cache_key", "")).startswith("torchvision-resnet50|random-seed0") and "shape" in m]
    assert len(tv) == 2 and all(m["shape"][1] == 2048 for m in tv)  # the ANN and the zero-shot split


@pytest.mark.parametrize("parameters, names", [
    # issue 22: each failed late (numpy's "expected non-negative integer" in the Beta section, an empty
    # gallery after the cluster grid, BLISS's "k_choices=4 must not exceed n_buckets=2"), naming no parameter
    ({"seed": -1}, ["parameter seed", ">= 0"]),
    ({"ann_queries": 100000}, ["parameter ann_queries=100000", "600 items", "lower ann_queries to at most"]),
    ({"zs_metaclasses": 2}, ["parameter zs_metaclasses=2", "at least 4"]),
])
def test_bad_parameters_fail_in_the_setup_cell_naming_them(tmp_path, monkeypatch, parameters, names):
    from conftest import real_file

    from zsl_lib.runner import run_notebook

    real_file("cifar10/cifar10-test.zip")
    for var in ("ZSL_RESULTS_DIR", "ZSL_FIGURES_DIR", "ZSL_BUILD_DIR", "ZSL_REPORTS_DIR"):
        monkeypatch.setenv(var, str(tmp_path / var.lower()))
    run = run_notebook(STEM, profile="smoke", workdir=tmp_path / "run", parameters=parameters)
    assert run.status == "failed"
    assert all(n in run.error for n in names), run.error
    cells = json.loads((config.notebooks_dir() / f"{STEM}.ipynb").read_text())["cells"]
    setup = next(i for i, c in enumerate(cells) if "ex.check_params(" in "".join(c["source"]))
    assert run.error.startswith(f"cell {setup + 1} of {len(cells)} "), run.error  # the setup cell, before any section
