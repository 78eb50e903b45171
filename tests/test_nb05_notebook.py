"""Notebook 05 with smoke parameters (Mulan scene: features given, no encoder, seconds)."""

import json

import nbformat
import pytest

from zsl_lib import config
from zsl_lib.runner import run_notebook

STEM = "05-clip-multilabel"


def test_notebook_is_committed_clean_with_one_parameters_cell():
    nb = nbformat.read(config.notebooks_dir() / f"{STEM}.ipynb", as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(not c.outputs and c.execution_count is None for c in code)
    tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1
    for line in tagged[0].source.splitlines():
        assert "#" in line and "=" in line.split("#")[0]


@pytest.mark.notebook
@pytest.mark.realdata
def test_smoke_run_records_every_model_and_metric(tmp_path):
    from conftest import real_file

    real_file("mulan/scene-train.arff")
    r = run_notebook(STEM, profile="smoke", workdir=tmp_path)
    assert r.status == "ok", r.error
    res = r.results
    for model in ("one_nn", "neighbor_search", "simple_net", "classwise_net", "ml_knn"):
        for key in ("f2", "mse", "recall", "precision", "accuracy", "subset_accuracy", "roc_auc", "threshold"):
            assert f"mulan-scene.{model}.{key}" in res, (model, key)
            assert 0 <= res[f"mulan-scene.{model}.{key}"] <= 1
    # image-based models are far better than chance on scene (prevalence ~18 %)
    assert res["mulan-scene.neighbor_search.f2"] > 0.6
    assert res["mulan-scene.ml_knn.f2"] > 0.6
    assert res["mulan-scene.one_nn.threshold"] in (0.0, 1.0)
    curve = res["mulan-scene.learning_curve"]
    assert {m for _, m, _ in curve} == {"one_nn", "neighbor_search"}
    assert len(res["mulan-scene.example.top5_weights"]) == 5
    assert json.loads(json.dumps(res))  # JSON-clean
