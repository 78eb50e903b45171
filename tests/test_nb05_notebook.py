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


def test_notebook_has_the_model_shape_parameters_setup_then_driver_calls():
    nb = nbformat.read(config.notebooks_dir() / f"{STEM}.ipynb", as_version=4)
    code = [c.source for c in nb.cells if c.cell_type == "code"]
    assert "E.Settings(" in code[1]  # one setup cell checks every parameter through the driver
    for src in code[2:]:  # then calls: no helper functions, loops or inline figure code
        assert not any(line.startswith(("def ", "for ", "while ", "class ")) for line in src.splitlines()), src
        assert "plt." not in src and "pd.DataFrame(" not in src
    assert len(nb.cells) == len({c.id for c in nb.cells})


@pytest.mark.notebook
def test_list_parameter_given_as_a_string_names_the_fix(tmp_path):
    """``papermill 05 -p datasets mulan-scene`` passes a string: the setup cell says to use -y."""
    r = run_notebook(STEM, profile="smoke", workdir=tmp_path, parameters={"datasets": "mulan-scene"})
    assert r.status == "failed"
    assert "expected a list of names, got the string 'mulan-scene'" in r.error


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


@pytest.mark.notebook
@pytest.mark.slow
def test_paper_path_user_folder_with_random_openclip(tmp_path, monkeypatch):
    """The thesis's setting end to end (image folder + path,keywords CSV, CLIP ViT-B/32 image and
    text towers) on a generated folder, with random weights instead of the downloaded ones."""
    import numpy as np
    from PIL import Image

    monkeypatch.setenv("ZSL_CACHE_DIR", str(tmp_path / "cache"))  # keep the shared embedding cache clean
    rng = np.random.default_rng(0)
    folder = tmp_path / "collection"
    folder.mkdir()
    kw = ["truck", "tank", "Kamaz", "four axle", "radar"]
    lines = ["path,keywords"]
    for i in range(40):
        colour = rng.integers(0, 255, 3)
        Image.fromarray((colour + rng.integers(0, 40, (32, 32, 3))).clip(0, 255).astype("uint8")).save(folder / f"{i}.png")
        picked = [k for k in kw if rng.random() < 0.4] or [kw[i % 5]]
        lines.append(f"{i}.png,{';'.join(picked)}")
    lines.append("unlabelled.png,")  # an item without keywords: dropped by the preparation
    Image.new("RGB", (32, 32)).save(folder / "unlabelled.png")
    (folder / "keywords.csv").write_text("\n".join(lines) + "\n")
    params = {"datasets": ["user"], "user_csv": str(folder / "keywords.csv"), "image_encoder": "openclip:ViT-B-32/openai",
              "language_image_encoder": "openclip:ViT-B-32/openai", "encoder_weights": "random",
              "max_trials": 2, "n_prototypes": 2, "finetune_epochs": 1, "learning_curve_sizes": [8]}
    r = run_notebook(STEM, profile="smoke", workdir=tmp_path / "out", parameters=params)
    assert r.status == "ok", r.error
    res = r.results
    assert res["user.prep.n_unlabelled_dropped"] == 1
    for model in ("language_image", "one_nn", "neighbor_search", "simple_net", "classwise_net", "hybrid"):
        assert 0 <= res[f"user.{model}.f2"] <= 1
    assert "user.table45.ensemble.manual.f2" in res
