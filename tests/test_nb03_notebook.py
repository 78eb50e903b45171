"""Notebook 03 with its smoke parameters: it runs and records every headline key."""

import pytest

from tests.conftest import real_file
from zsl_lib.runner import run_notebook

STEM = "03-cvae-clusterable-features"
VARIANTS = ["eszsl", "na", "cls", "cls_gaussian", "cls_gaussian_noise"]


@pytest.mark.notebook
@pytest.mark.realdata
def test_nb03_smoke_records_all_keys(tmp_path):
    real_file("tiny-imagenet/tiny-imagenet-200-subset.zip")
    r = run_notebook(STEM, profile="smoke", workdir=tmp_path)
    assert r.status == "ok", r.error
    res = r.results
    ds = "tiny-imagenet"
    assert res[f"{ds}.data.n_seen"] == 150 and res[f"{ds}.data.n_unseen"] == 50
    for v in VARIANTS:
        for k in ("zsl_top1", "gzsl.u", "gzsl.s", "gzsl.h", "kmeans_mi"):
            assert 0.0 <= res[f"{ds}.{v}.{k}"] <= (1.0 if k != "kmeans_mi" else 4.0), (v, k)
    # GZSL H is the harmonic mean of the recorded S and U
    s, u = res[f"{ds}.eszsl.gzsl.s"], res[f"{ds}.eszsl.gzsl.u"]
    assert res[f"{ds}.eszsl.gzsl.h"] == pytest.approx(0 if s + u == 0 else 2 * s * u / (s + u))
    # calibrated stacking: AUSUC is an area in [0, 1]; the best H over gamma is at least H at gamma = 0
    for v in VARIANTS:
        assert 0.0 <= res[f"{ds}.{v}.gzsl.ausuc"] <= 1.0
        assert res[f"{ds}.{v}.gzsl.best_h"] >= res[f"{ds}.{v}.gzsl.h"] - 1e-9
    assert isinstance(res[f"{ds}.checks.full_beats_eszsl_ausuc"], bool)
    # ESZSL is deterministic; with 10 images per seen class it is only just above chance (1/50)
    assert res[f"{ds}.eszsl.zsl_top1"] > 0.02
    for shot in ("1shot", "5shot"):
        for name in ("baseline", "gaussian"):
            assert 0.3 < res[f"{ds}.fewshot.{shot}.{name}"] <= 1.0  # 5-way chance is 0.2
            assert 0 <= res[f"{ds}.fewshot.{shot}.{name}_ci95"] < 0.1
    assert isinstance(res[f"{ds}.checks.full_beats_eszsl_zsl"], bool)
    assert (tmp_path / "figures" / f"{STEM}-fig3-tsne.png").exists()
    assert (tmp_path / "figures" / f"{STEM}-fig4-ablation.png").exists()
    assert (tmp_path / "figures" / f"{STEM}-gzsl-calibration-curves.png").exists()


@pytest.mark.notebook
def test_nb03_rejects_unknown_dataset(tmp_path):
    r = run_notebook(STEM, profile="smoke", workdir=tmp_path, parameters={"datasets": ["cub"]})
    assert r.status == "failed"
    assert "parameter datasets" in r.error and "accepted values" in r.error


@pytest.mark.notebook
def test_nb03_rejects_a_string_where_a_list_is_expected(tmp_path):
    # papermill's -p passes a string: the setup cell must say so, not check it letter by letter
    r = run_notebook(STEM, profile="smoke", workdir=tmp_path, parameters={"datasets": "tiny-imagenet"})
    assert r.status == "failed"
    assert "expected a list of names, got the string 'tiny-imagenet'" in r.error
