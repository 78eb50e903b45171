"""The notebook-04 grid runner: evaluation against a naive per-query computation, report merge."""

import numpy as np
import pandas as pd
import pytest

from zsl_lib.experiments import lsh as E
from zsl_lib.experiments.lsh import report_best, report_table
from zsl_lib.experiments.lsh_report import REPORT
from zsl_lib.index.lsh import RandomHyperplaneLSH


def _task(seed=0):
    rng = np.random.default_rng(seed)
    C = rng.standard_normal((4, 16)) * 2
    y, yq = rng.integers(0, 4, 600), rng.integers(0, 4, 80)
    X = (C[y] + rng.standard_normal((600, 16))).astype(np.float32)
    Q = (C[yq] + rng.standard_normal((80, 16))).astype(np.float32)
    return E.make_task("syn", X, y, Q, yq)


def test_evaluate_matches_naive_per_query_metrics():
    task = _task()
    index = RandomHyperplaneLSH(n_bits=4, n_tables=2, random_state=1)
    got = E.evaluate(index, task)
    indptr, cand = index.candidates(task.Q)
    Xn = task.X / np.linalg.norm(task.X, axis=1, keepdims=True)
    exact = np.argsort(-(task.Q / np.linalg.norm(task.Q, axis=1, keepdims=True)) @ Xn.T, axis=1)[
        :, :10
    ]
    p10, apr, apg, rec = [], [], [], []
    for q in range(len(task.Q)):
        c = cand[indptr[q] : indptr[q + 1]]
        ranked = c[np.argsort(-(Xn[c] @ task.Q[q]))]
        rel = task.y[ranked] == task.yq[q]
        p10.append(rel[:10].sum() / 10)
        prec = np.cumsum(rel) / np.arange(1, len(rel) + 1)
        apr.append((prec * rel).sum() / rel.sum() if rel.any() else 0.0)
        apg.append((prec * rel).sum() / (task.y == task.yq[q]).sum())
        rec.append(len(set(ranked[:10]) & set(exact[q])) / 10)
    assert got["p_at_10"] == pytest.approx(100 * np.mean(p10))
    assert got["map_retrieved"] == pytest.approx(100 * np.mean(apr))
    assert got["map_gallery"] == pytest.approx(100 * np.mean(apg))
    assert got["recall_at_10"] == pytest.approx(100 * np.mean(rec))
    assert got["candidates_per_query"] == pytest.approx(np.diff(indptr).mean())


def test_grid_compare_and_record_keys():
    task = _task(1)
    task.dataset = "cifar10"
    specs = E.grid_specs(kmeans_K=[10, 1000], kmeans_pca=[None, 0.95, 64], lsh_H=[3], lsh_L=[3])
    grid = E.run_grid(task, specs, progress=False)
    assert grid.skipped.notna().sum() == 4  # PCA to 64 > 16 dims (x2), 1000 clusters > 600 items (x2)
    table = E.compare_with_report(grid, "kmeans", {"cifar10": "cifar10"})
    row = table[(table.group == "pca-none") & (table.value == 10)].iloc[0]
    assert row.report_p_at_10 == 75.58 and row.report_map == 57.34
    assert table[(table.group == "pca-0_95") & (table.value == 10)].report_p_at_10.iloc[0] == 75.83
    assert (
        E.compare_with_report(grid, "lsh", {"cifar10": "cifar10"}).report_p_at_10.iloc[0] == 76.25
    )
    keys = {}
    E.record_grid(grid, keys.__setitem__)
    assert "syn.kmeans.pca-0_95.K10.p_at_10" in keys and "syn.lsh.L3.H3.query_ms" in keys


def test_report_tables_transcribed():
    nl = report_table("neural-lsh")
    assert nl[(nl.dataset == "cifar10") & (nl.value == 8)].p_at_10.iloc[0] == 80.264
    lsh = report_table("lsh")
    assert len(lsh) == 3 * (5 + 5 + 4)
    best = report_best("p_at_10")
    assert list(E.ordering_holds(best)) == [True, True, False]  # imagenet: LSH 50.01 > neural 49.36
    with pytest.raises(ValueError, match="method"):
        report_table("bliss")


def test_report_constant_has_one_shape():
    """Every method / dataset entry: param, values and per-setting lists of one number per value."""
    for per_dataset in REPORT.values():
        assert set(per_dataset) == {"cifar10", "cifar100", "imagenet"}
        for t in per_dataset.values():
            assert set(t) == {"param", "values", "settings"}
            for numbers in t["settings"].values():
                assert set(numbers) == {"p_at_10", "p_at_50", "map"}
                assert all(len(v) == len(t["values"]) for v in numbers.values())
    km = report_table("kmeans")
    row = km[(km.dataset == "cifar100") & (km.setting == "248") & (km.value == 500)].iloc[0]
    assert (row.p_at_10, row.p_at_50, row["map"]) == (43.59, 36.24, 44.0)  # report Figure 1


_GOOD = dict(datasets=["cifar10:resnet56-cifar10"], report_columns={"cifar10": "cifar10"},
             n_queries=500, n_gallery=None, n_threads=1, neural_L=8)


def test_check_params_accepts_the_notebook_defaults():
    assert E.check_params(**_GOOD) == {"cifar10:resnet56-cifar10": ("cifar10", "resnet56-cifar10")}


@pytest.mark.parametrize("bad, match", [
    # papermill -p datasets cifar10:resnet56-cifar10 delivers a string, not a list
    ({"datasets": "cifar10:resnet56-cifar10"},
     r"parameter datasets: expected a list of names, got the string 'cifar10:resnet56-cifar10'.*-y"),
    ({"datasets": ["cifar10:resnet57"]}, "unknown encoder 'resnet57'"),
    ({"n_queries": -1}, r"parameter n_queries must be an integer >= 1; got -1"),
    ({"n_gallery": "all"}, r"parameter n_gallery must be an integer \(or None\); got 'all'"),
    ({"neural_L": 0}, r"parameter neural_L must be an integer >= 1"),
    ({"report_columns": {}}, "parameter report_columns has no entry for dataset 'cifar10'"),
])
def test_check_params_names_the_bad_parameter(bad, match):
    with pytest.raises(ValueError, match=match):
        E.check_params(**{**_GOOD, **bad})


def test_make_task_rejects_negative_subset_sizes():
    with pytest.raises(ValueError, match="n_queries must be an integer >= 1; got -1"):
        E.make_task("syn", np.ones((5, 2)), np.zeros(5), np.ones((3, 2)), np.zeros(3), n_queries=-1)


def test_ordering_holds():
    best = pd.DataFrame({"kmeans": [1, 3], "lsh": [2, 2], "neural-lsh": [3, 1]}, index=["a", "b"])
    assert E.ordering_holds(best).tolist() == [True, False]


def test_parse_spec_errors():
    with pytest.raises(ValueError, match="resnet56-cifar10"):
        E.parse_spec("cifar10:resnet57")
    with pytest.raises(ValueError, match="accepted"):
        E.parse_spec("mnist:resnet56-cifar10")
    with pytest.raises(ValueError, match="dataset:encoder|cifar10:resnet56"):
        E.parse_spec("cifar10")
    assert E.parse_spec("tiny-imagenet:efficientnet-lite0") == (
        "tiny-imagenet",
        "efficientnet-lite0",
    )

