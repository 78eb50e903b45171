"""Notebook 04 (LSH comparison) with its smoke parameters: it runs and records sane numbers."""

import json
from pathlib import Path

import pytest

from zsl_lib import runner

STEM = "04-lsh-comparison"
DS = "cifar10-resnet56-cifar10"


GRID_METHODS = ("kmeans", "lsh", "neural-lsh", "faiss-ivf", "faiss-lsh")
METRICS = ("p_at_10", "p_at_50", "map_retrieved", "map_gallery", "recall_at_10",
           "candidates_per_query", "query_ms")
PERCENT = ("p_at_10", "p_at_50", "map_retrieved", "map_gallery", "recall_at_10")


@pytest.fixture(scope="module")
def smoke(tmp_path_factory):
    """One smoke run of the notebook for the whole module (outputs redirected to a temp dir)."""
    from tests.conftest import real_file

    real_file("cifar10/cifar10-train.zip")
    tmp = tmp_path_factory.mktemp("nb04")
    with pytest.MonkeyPatch.context() as mp:
        for var, sub in [("ZSL_RESULTS_DIR", "results"), ("ZSL_FIGURES_DIR", "figures"),
                         ("ZSL_BUILD_DIR", "build"), ("ZSL_REPORTS_DIR", "reports")]:
            mp.setenv(var, str(tmp / sub))
        run = runner.run_notebook(STEM, profile="smoke", workdir=tmp / "run")
    assert run.status == "ok", run.error
    return run.results, tmp / "run", run.output_path


def grid_points(r, metric):
    """``{(method, point): value}`` of the recorded ``<task>.<method>.<group>.<point>.<metric>``."""
    out = {}
    for k, v in r.items():
        parts = k.split(".")
        if len(parts) == 5 and parts[0] == DS and parts[1] in GRID_METHODS and parts[4] == metric:
            out[parts[1], f"{parts[2]}.{parts[3]}"] = v
    return out


@pytest.mark.notebook
@pytest.mark.realdata
def test_smoke_run_records_grid_and_exact(smoke):
    r, workdir, _ = smoke
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
        for metric in METRICS:
            assert f"{DS}.{key}.{metric}" in r
    # more bits -> smaller buckets -> fewer candidates; more probes -> more candidates
    assert r[f"{DS}.lsh.L2.H8.candidates_per_query"] < r[f"{DS}.lsh.L2.H3.candidates_per_query"]
    assert (
        r[f"{DS}.faiss-ivf.nprobe2.nlist8.candidates_per_query"]
        > r[f"{DS}.faiss-ivf.nprobe1.nlist8.candidates_per_query"]
    )
    figures = workdir / "figures"
    for name in ("fig1-kmeans", "fig2-lsh", "fig4-neural-lsh", "tradeoff-candidates", "query-time"):
        assert (figures / f"{STEM}-{name}.png").exists()


@pytest.mark.notebook
@pytest.mark.realdata
def test_metrics_are_bounded_by_the_exact_search(smoke):
    r, _, _ = smoke
    n_gallery = r[f"exact.{DS}.candidates_per_query"]
    recalls = grid_points(r, "recall_at_10")
    assert len(recalls) == 13  # smoke grid: 6 k-means, 2 LSH, 2 neural LSH, 2 IVF, 1 faiss LSH
    for point, value in recalls.items():  # recall never exceeds the exact search's
        assert 0 <= value <= r[f"exact.{DS}.recall_at_10"] + 1e-9, point
    for metric in PERCENT:  # percentages
        for point, value in grid_points(r, metric).items():
            assert 0 <= value <= 100 + 1e-9, (point, metric)
    for point, value in grid_points(r, "candidates_per_query").items():  # never more than the gallery
        assert 0 < value <= n_gallery, point
    for point, value in grid_points(r, "query_ms").items():
        assert value >= 0, point
    # AP over a (sub)list >= AP over the gallery (same hits, larger denominator)
    gallery = grid_points(r, "map_gallery")
    for point, value in grid_points(r, "map_retrieved").items():
        assert value >= gallery[point] - 1e-9, point


@pytest.mark.notebook
@pytest.mark.realdata
@pytest.mark.parametrize("metric", ["p_at_10", "p_at_50", "map_retrieved"])
def test_best_values_and_claim_follow_the_grid(smoke, metric):
    from zsl_lib.experiments import lsh_compare as C
    from zsl_lib.experiments import verdicts as V

    r, _, _ = smoke
    points = grid_points(r, metric)
    best = {}
    for method in ("kmeans", "lsh", "neural-lsh"):
        best[method] = max(v for (m, _), v in points.items() if m == method)
        assert r[f"best.{DS}.{method}.{metric}"] == pytest.approx(best[method]), method
    # each step of the claim is a paired interval between the best grid points; the ordering needs both
    steps = C.claim_steps(DS, metric)
    for (a, b), key in zip((("neural-lsh", "lsh"), ("lsh", "kmeans")), steps, strict=True):
        cmp = V.read_comparison(r, key)
        assert cmp["diff"] == pytest.approx(best[a] - best[b])
        assert cmp["lo"] <= cmp["diff"] <= cmp["hi"] and cmp["n"] == 100 and cmp["method"] == "paired bootstrap"
    assert r[f"claim.{DS}.{metric}.neural_gt_lsh_gt_kmeans"] == V.ordering_holds(r, steps)


@pytest.mark.notebook
@pytest.mark.realdata
def test_cost_includes_the_routing_and_the_page_is_clean(smoke):
    import nbformat

    from zsl_lib.pages import page_problems, render_page

    r, _, executed = smoke
    for key in ("K5", "K20"):  # k-means: candidates + K centroids (no PCA)
        K = int(key[1:])
        assert r[f"{DS}.kmeans.pca-none.{key}.scanned_per_query"] == pytest.approx(
            r[f"{DS}.kmeans.pca-none.{key}.candidates_per_query"] + K)
    assert r[f"{DS}.faiss-lsh.cand20.bits32.scanned_per_query"] > r[f"exact.{DS}.candidates_per_query"]
    nb = nbformat.read(executed, as_version=4)
    assert nb.cells[-1].metadata.get("tags") == ["summary"]
    page = render_page(nb, executed.parent / "page", STEM).read_text()
    assert page_problems(page) == [], page_problems(page)
    assert page.index("## Summary") < page.index("## Settings against the source") < page.index("## Embeddings")
    assert "ResNet-56 (the CIFAR-10 features) was trained on the CIFAR-10 training split" in page
    assert "grid points that cannot run on a dataset:" not in page
    assert "NaN" not in page and "p_at_10" not in page  # human labels only


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
    # each used to fail late with a TypeError / KeyError / AttributeError that named no parameter
    ({"lsh_L": 3}, ["parameter lsh_L", "-y"]),
    ({"neural_weights": 0.5}, ["parameter neural_weights", "three non-negative numbers"]),
    ({"report_columns": {"cifar10": "cifar11"}}, ["parameter report_columns", "cifar11", "imagenet"]),
    ({"limit_per_class": 5}, ["parameter limit_per_class", "expected a dict"]),
    ({"kmeans_K": [5, 20]}, ["parameter kmeans_K", "expected a dict"]),
    ({"seed": -1}, ["parameter seed", ">= 0"]),
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


def test_headline_entries_name_the_baseline_and_the_report_value():
    from zsl_lib.experiments import lsh_source

    nb = json.loads((Path(__file__).parents[1] / "notebooks" / f"{STEM}.ipynb").read_text())
    entries = nb["metadata"]["zsl"]["headline"]
    assert all(isinstance(e, dict) and e["label"] and e["scale"] == 1 for e in entries)  # 04 records percent
    keys = runner.headline_keys(STEM)
    assert keys == [e["key"] for e in entries]
    assert "exact.tiny-imagenet-efficientnet-lite0.p_at_10" in keys  # the reference beside the methods
    for e in entries:  # the report's value named for each method is its best on the ImageNet column
        if "source_key" in e:
            method = e["key"].split(".")[2]
            best = max(v for k, v in lsh_source.SOURCE.items()
                       if k.startswith(f"{method}.imagenet.") and k.endswith(".p_at_10"))
            assert lsh_source.SOURCE[e["source_key"]] == best
