"""Notebook 02 end to end: the smoke profile on the real fashion eval set, and the paper profile
offline on a generated SQID parquet with a tiny random-weight open_clip text tower."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from conftest import real_file

from zsl_lib import config
from zsl_lib.runner import run_notebook

STEM = "02-pairwise-tourney"
REQUIRED = (
    [f"agreement_f1_weighted.{s}.{m}" for s in ("multiclass", "binary") for m in ("base", "pairwise")]
    + [f"accuracy.{x}.{m}" for x in ("image", "text") for m in ("base", "pairwise", "round_robin", "logreg")]
    + [f"macro_f1.{x}.{m}" for x in ("image", "text") for m in ("base", "pairwise")]
    + [f"agreement_orientation.{o}.{s}.{m}" for o in ("text_reference", "image_reference")
       for s in ("multiclass", "binary") for m in ("base", "pairwise")]
    + [f"agreement_orientation.author_code.multiclass.{m}" for m in ("base", "pairwise")]
    + [f"binary.author_f1.{m}" for m in ("base", "pairwise")]
    + ["n_items", "n_classes"]
)
#: paired intervals the page's verdicts are read from (every run, labels or not)
COMPARISONS = ("cmp.agreement.pairwise_vs_base", "cmp.binary.author_f1.base_vs_pairwise",
               "cmp.agreement_author_code.pairwise_vs_base")


@pytest.fixture
def kernel_sees_this_checkout(monkeypatch):
    # the papermill kernel runs in notebooks/; make it import this checkout's zsl_lib
    monkeypatch.setenv("PYTHONPATH", str(config.PROJECT_ROOT))


@pytest.mark.notebook
@pytest.mark.realdata
def test_smoke_profile_records_every_key(tmp_path, kernel_sees_this_checkout):
    real_file("fashion-products/styles.csv")
    real_file("fashion-products/images.zip")
    run = run_notebook(STEM, profile="smoke", workdir=tmp_path)
    assert run.status == "ok", run.error
    res = run.results
    missing = [k for k in REQUIRED if k not in res]
    assert not missing, f"keys not recorded: {missing}"
    assert res["n_items"] == 600 and res["n_classes"] == 13
    for k in REQUIRED[:-2]:
        assert 0.0 <= res[k] <= 1.0, (k, res[k])
    # zero-shot image side is far above chance (1/13) and below the supervised upper bound
    assert res["accuracy.image.base"] > 0.3
    assert res["accuracy.image.logreg"] > res["accuracy.image.base"]
    # the unmasked-title variant is recorded beside the masked headline
    assert res["titles_unmasked.accuracy.text.base"] > res["accuracy.text.base"]
    # the author's code: base scored with text as the reference, pairwise with image (multiclass);
    # the binary stage as binary F1 of the first class, a different number from our weighted F1
    s = "multiclass"
    assert res[f"agreement_orientation.author_code.{s}.base"] == res[f"agreement_orientation.text_reference.{s}.base"]
    assert (res[f"agreement_orientation.author_code.{s}.pairwise"]
            == res[f"agreement_orientation.image_reference.{s}.pairwise"])
    for s in ("multiclass", "binary"):
        assert res[f"agreement_orientation.text_reference.{s}.base"] == res[f"agreement_f1_weighted.{s}.base"]
    assert res["binary.author_f1.base"] != res["agreement_f1_weighted.binary.base"]
    # every verdict's interval is recorded, the comparable setting (titles as they are) included
    for key in COMPARISONS + ("titles_unmasked.cmp.agreement.pairwise_vs_base", "cmp.accuracy.image.pairwise_vs_base"):
        assert res[f"{key}.lo"] <= res[f"{key}.diff"] <= res[f"{key}.hi"], key
    assert res["titles_masked"] is True
    figs = sorted(p.name for p in (tmp_path / "figures").glob("*.png"))
    assert figs == [f"{STEM}-{n}.png" for n in ("confusion-image", "confusion-text", "cross-deviation-histograms",
                                                 "gain-vs-cutoff", "headline-agreement")]
    # the closing discussion is rendered from the record: its numbers are the recorded ones
    executed = json.loads(run.output_path.read_text())

    def markdown_of(cell):
        text = cell["outputs"][0]["data"]["text/markdown"]
        return "".join(text) if isinstance(text, list) else text

    closing = markdown_of(next(c for c in executed["cells"] if "closing_discussion" in "".join(c["source"])))
    for key in ("agreement_f1_weighted.multiclass.base", "agreement_orientation.author_code.multiclass.pairwise",
                "accuracy.image.pairwise", "binary.author_f1.pairwise"):
        assert f"{res[key]:.3f}" in closing, key
    # the summary is the last cell, tagged so that the page opens with it
    last = executed["cells"][-1]
    assert "summary" in last["metadata"].get("tags", [])
    summary = markdown_of(last)
    assert summary.startswith("## Summary") and "titles as they are" in summary
    # the reference table carries both title runs, labelled; the text panels name their titles
    orient = markdown_of(next(c for c in executed["cells"] if "R.orientation_table(" in "".join(c["source"])))
    assert "| titles as they are (the article's setting) |" in orient
    assert "| class words masked in the titles (not the article's setting) |" in orient
    assert f"{res['titles_unmasked.agreement_orientation.image_reference.multiclass.pairwise']:.3f}" in orient
    gain = next(c for c in executed["cells"] if "gain_plateau_note" in "".join(c["source"]))
    assert any("text, class words masked in the titles" in "".join(o.get("data", {}).get("text/markdown", ""))
               for o in gain["outputs"])


@pytest.mark.notebook
def test_paper_profile_offline_on_generated_sqid(tmp_path, kernel_sees_this_checkout):
    import sys

    sys.path.insert(0, str(config.PROJECT_ROOT / "tests"))
    from test_tourney_inputs import write_fake_sqid, write_tiny_clip

    pq = write_fake_sqid(tmp_path / "product_features.parquet", n=300)
    cfg = write_tiny_clip(tmp_path / "tiny-clip-test.json")
    run = run_notebook(STEM, profile="paper", workdir=tmp_path / "run", parameters={
        "sqid_path": str(pq), "clip_arch": str(cfg), "clip_pretrained": "", "cutoff": 1.0})
    assert run.status == "ok", run.error
    res = run.results
    assert not [k for k in REQUIRED if k not in res]
    assert res["accuracy.image.base"] is None  # SQID has no labels
    for key in COMPARISONS:
        assert res[f"{key}.lo"] <= res[f"{key}.diff"] <= res[f"{key}.hi"], key
    assert 0 < res["n_items"] <= 270 and res["n_classes"] == 13
    assert math.isfinite(res["agreement_f1_weighted.multiclass.pairwise"])


@pytest.mark.notebook
@pytest.mark.parametrize("parameters, expected", [
    ({"classes": "Tshirts"}, "parameter classes: expected a list of names, got the string 'Tshirts'"),
    ({"example_pair": ["Tshirts", "Watches"]}, "parameter example_pair: unknown ['Watches']"),
])
def test_bad_parameter_fails_in_the_setup_cell_naming_it(tmp_path, kernel_sees_this_checkout,
                                                          parameters, expected):
    # papermill's -p passes a list parameter as a string: the setup cell says so before any data
    # is loaded (no record is started, so nothing is half written)
    run = run_notebook(STEM, profile="smoke", workdir=tmp_path, parameters=parameters)
    assert run.status == "failed"
    assert expected in run.error, run.error
    assert not (tmp_path / "results" / f"{STEM}.json").exists()


def test_notebook_calls_the_driver_and_defines_no_function():
    import ast
    import json

    nb = json.loads((config.notebooks_dir() / f"{STEM}.ipynb").read_text())
    code = [("".join(c["source"])) for c in nb["cells"] if c["cell_type"] == "code"]
    for src in code:
        tree = ast.parse(src)
        assert not [n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.For, ast.While,
                                                                   ast.ListComp, ast.DictComp))], src
    assert "from zsl_lib.experiments import tourney as E" in code[1]
    imported = [n.module for src in code for n in ast.walk(ast.parse(src)) if isinstance(n, ast.ImportFrom)]
    assert not [m for m in imported if m.startswith("zsl_lib.zeroshot")]  # reached through the driver


def _user_folder(root, rng, classes=("red_shirt", "blue_jeans", "green_hat"), per_class=8):
    """Tiny generated images in one folder per class, and a path,title CSV naming each item."""
    from PIL import Image

    lines = ["path,title"]
    for c, name in enumerate(classes):
        (root / name).mkdir(parents=True)
        for i in range(per_class):
            colour = np.array([[200, 30, 30], [30, 30, 200], [30, 200, 30]][c])
            img = (colour + rng.integers(0, 50, (24, 24, 3))).clip(0, 255).astype("uint8")
            Image.fromarray(img).save(root / name / f"{i}.png")
            lines.append(f"{name}/{i}.png,brand{i % 3} {name.replace('_', ' ')} size {i}")
    (root / "titles.csv").write_text("\n".join(lines) + "\n")
    return list(classes)


@pytest.mark.notebook
@pytest.mark.slow
def test_smoke_profile_on_a_user_image_folder(tmp_path, kernel_sees_this_checkout, monkeypatch):
    """Issue 14: a user's image folder (3 classes of generated images) with a titles CSV, class
    names as prompts, through the documented parameters; open_clip ViT-B-32 with random weights
    (offline) for images, titles and prompts."""
    monkeypatch.setenv("ZSL_CACHE_DIR", str(tmp_path / "cache"))  # keep the shared embedding cache clean
    classes = _user_folder(tmp_path / "photos", np.random.default_rng(0))
    run = run_notebook(STEM, profile="smoke", workdir=tmp_path / "run", parameters={
        "source": "user", "user_images": str(tmp_path / "photos"),
        "user_titles_csv": str(tmp_path / "photos" / "titles.csv"), "user_binary_group": ["red_shirt"],
        "image_encoder": "openclip:ViT-B-32", "text_encoder": "openclip:ViT-B-32", "example_pair": [],
        "cos_limit": 0.0, "cos_diff": 0.0, "cutoff": 1.0})
    assert run.status == "ok", run.error
    res = run.results
    assert not [k for k in REQUIRED if k not in res]
    assert res["n_items"] == 24 and res["n_classes"] == 3
    assert res["per_class_recall.image.base"].keys() == set(classes)
    # the class words are masked out of the titles: the unmasked titles name the class, so the
    # text side is far better with them (random text tower, but identical tokens for the class)
    assert res["titles_unmasked.accuracy.text.base"] >= res["accuracy.text.base"]
    for k in REQUIRED[:-2]:
        assert 0.0 <= res[k] <= 1.0, (k, res[k])


@pytest.mark.notebook
def test_user_data_errors_name_the_parameter(tmp_path, kernel_sees_this_checkout):
    _user_folder(tmp_path / "photos", np.random.default_rng(0))
    base = {"source": "user", "image_encoder": "openclip:ViT-B-32", "text_encoder": "openclip:ViT-B-32",
            "example_pair": []}
    for params, expected in [
        ({"user_images": str(tmp_path / "nowhere")}, "parameter user_images="),
        ({"user_images": str(tmp_path / "photos"), "user_binary_group": ["purple_socks"]},
         "parameter user_binary_group: unknown ['purple_socks']"),
    ]:
        run = run_notebook(STEM, profile="smoke", workdir=tmp_path / "run", parameters=base | params)
        assert run.status == "failed" and expected in run.error, run.error
