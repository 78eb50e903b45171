"""Notebook 04 (LSH comparison) with its smoke parameters: it runs and records sane numbers."""

import json
from pathlib import Path

import pytest

from zsl_lib import runner

STEM = "04-lsh-comparison"
DS = "cifar10-resnet56-cifar10"


@pytest.mark.notebook
@pytest.mark.realdata
def test_smoke_run_records_grid_and_exact(isolated_outputs, tmp_path):
    from tests.conftest import real_file

    real_file("cifar10/cifar10-train.zip")
    run = runner.run_notebook(STEM, profile="smoke", workdir=tmp_path / "run")
    assert run.status == "ok", run.error
    r = run.results
    # exact ceiling: 300 gallery items, every one scanned, recall 100 by definition
    assert r[f"exact.{DS}.candidates_per_query"] == 300
    assert r[f"exact.{DS}.recall_at_10"] == 100.0
    assert 50 < r[f"exact.{DS}.p_at_10"] <= 100  # resnet56 features separate CIFAR-10 classes well
    assert r[f"exact.{DS}.map_gallery"] == pytest.approx(r[f"exact.{DS}.map_retrieved"])
    # every grid point of the smoke grid recorded every metric
    for key in (
        "kmeans.pca-none.K5",
        "kmeans.pca-0_95.K20",
        "kmeans.pca-10.K5",
        "lsh.L2.H3",
        "lsh.L2.H8",
        "neural-lsh.L4.J4",
        "neural-lsh.L4.J8",
        "faiss-ivf.nprobe2.nlist8",
        "faiss-lsh.cand20.bits32",
    ):
        for metric in (
            "p_at_10",
            "p_at_50",
            "map_retrieved",
            "map_gallery",
            "recall_at_10",
            "candidates_per_query",
            "query_ms",
        ):
            value = r[f"{DS}.{key}.{metric}"]
            assert value >= 0
            if metric not in ("candidates_per_query", "query_ms"):
                assert value <= 100 + 1e-9
    # more bits -> smaller buckets -> fewer candidates; more probes -> more candidates
    assert r[f"{DS}.lsh.L2.H8.candidates_per_query"] < r[f"{DS}.lsh.L2.H3.candidates_per_query"]
    assert (
        r[f"{DS}.faiss-ivf.nprobe2.nlist8.candidates_per_query"]
        > r[f"{DS}.faiss-ivf.nprobe1.nlist8.candidates_per_query"]
    )
    # candidates never exceed the gallery, recall never exceeds the exact search
    assert r[f"{DS}.kmeans.pca-none.K5.candidates_per_query"] <= 300
    # AP over a (sub)list >= AP over the gallery (same hits, larger denominator)
    assert r[f"{DS}.lsh.L2.H8.map_retrieved"] >= r[f"{DS}.lsh.L2.H8.map_gallery"]
    assert isinstance(r[f"claim.{DS}.p_at_10.neural_gt_lsh_gt_kmeans"], bool)
    figures = tmp_path / "run" / "figures"
    for name in ("fig1-kmeans", "fig2-lsh", "fig4-neural-lsh", "tradeoff-candidates", "query-time"):
        assert (figures / f"{STEM}-{name}.png").exists()


@pytest.mark.notebook
def test_unknown_encoder_fails_naming_the_parameter(tmp_path):
    run = runner.run_notebook(
        STEM, profile="smoke", workdir=tmp_path, parameters={"datasets": ["cifar10:resnet57"]}
    )
    assert run.status == "failed"
    assert "datasets" in run.error and "resnet56-cifar10" in run.error


@pytest.mark.notebook
@pytest.mark.parametrize("parameters, names", [
    # papermill -p datasets cifar10:resnet56-cifar10 passes a string (was checked letter by letter)
    ({"datasets": "cifar10:resnet56-cifar10"}, ["parameter datasets", "expected a list of names", "-y"]),
    ({"n_queries": -1}, ["parameter n_queries", ">= 1"]),  # was numpy's "negative dimensions"
])
def test_bad_parameters_fail_in_the_setup_cell_naming_them(tmp_path, parameters, names):
    run = runner.run_notebook(STEM, profile="smoke", workdir=tmp_path, parameters=parameters)
    assert run.status == "failed"
    assert all(n in run.error for n in names), run.error


def test_committed_notebook_has_no_outputs_and_one_parameters_cell():
    nb = json.loads((Path(__file__).parents[1] / "notebooks" / f"{STEM}.ipynb").read_text())
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert all(not c.get("outputs") and c.get("execution_count") is None for c in code)
    assert sum("parameters" in c["metadata"].get("tags", []) for c in nb["cells"]) == 1
