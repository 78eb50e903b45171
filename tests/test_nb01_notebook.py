"""Notebook 01 with its smoke parameters: it runs, and the recorded numbers make sense."""

from __future__ import annotations

import json

import pytest

from zsl_lib import config

STEM = "01-bliss-bias"


def test_notebook_committed_without_outputs():
    nb = json.loads((config.notebooks_dir() / f"{STEM}.ipynb").read_text())
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert all(not c.get("outputs") and c.get("execution_count") is None for c in code)
    assert sum("parameters" in c.get("metadata", {}).get("tags", []) for c in code) == 1


@pytest.mark.notebook
@pytest.mark.realdata
def test_smoke_run_records_numbers(tmp_path):
    from conftest import real_file

    from zsl_lib.runner import run_notebook

    real_file("cifar10/cifar10-test.zip")
    real_file("tiny-imagenet/tiny-imagenet-200-subset.zip")
    r = run_notebook(STEM, profile="smoke", workdir=tmp_path)
    assert r.status == "ok", r.error
    res = r.results
    # the bias: the report's settings leave buckets empty, the fixed BLISS uses >= 90% of them
    for s in ("kaiming_triplet", "random_triplet", "kaiming_ce", "fixed"):
        for m in ("silhouette", "v_measure", "nonempty_buckets"):
            assert f"clusters.{s}.4.{m}" in res
    assert res["clusters.kaiming_ce.4.report_v_measure"] == pytest.approx(0.504)
    assert res["clusters.kaiming_triplet.4.report_silhouette"] == pytest.approx(-0.179)
    assert res["clusters.fixed.4.nonempty_buckets"] >= 18
    assert res["clusters.fixed.4.max_over_mean_load"] < 1.5
    assert res["clusters.kaiming_ce.4.nonempty_buckets"] < res["clusters.fixed.4.nonempty_buckets"]
    assert 0 <= res["clusters.fixed.4.v_measure"] <= 1
    # the Beta setting with the official initialisation collapses into K = 3 of B = 5 buckets
    assert res["beta.official_init.nonempty_buckets"] <= 4
    # ANN comparison: every method recorded, recalls are fractions
    for m in ("bliss_report", "bliss_fixed", "ivf_kmeans", "rh_lsh"):
        assert 0 <= res[f"ann.cifar10.{m}.recall_at_10"] <= 1
        assert res[f"ann.cifar10.{m}.max_over_mean_load"] >= 1
        assert res[f"ann.cifar10.{m}.empty_buckets"] >= 0
    assert res["ann.cifar10.bliss_fixed.max_over_mean_load"] < res["ann.cifar10.bliss_report.max_over_mean_load"]
    # zero-shot keys
    for k in ("novel_top1", "seen_top1", "ncm_novel_top1"):
        assert 0 <= res[f"zeroshot.tiny-imagenet.{k}"] <= 1
    assert res["zeroshot.tiny-imagenet.ncm_novel_top1"] > res["zeroshot.tiny-imagenet.chance_novel_top1"]
    assert (tmp_path / "figures" / f"{STEM}-mechanism.png").exists()
