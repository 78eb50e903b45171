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



# ------------------------------------------------------------------------------------------------
# cost per query, per-query scores and the paired comparisons behind every verdict


@pytest.fixture(scope="module")
def small_grid():
    task = _task(2)
    task.name, task.dataset = "cifar10-syn", "cifar10"
    specs = E.grid_specs(kmeans_K=[4, 40], kmeans_pca=[None, 0.95, 2], lsh_H=[2, 9], lsh_L=[2], neural_J=[3, 9],
                         neural_L=3, ivf_lists=[8], ivf_probes=[1, 2], faiss_lsh_bits=[16], faiss_lsh_candidates=[20])
    grid = E.run_grid(task, specs, network_params=dict(n_hidden=32, epochs=2, batch_size=64, progress=False),
                      progress=False)
    return task, grid, E.exact_baselines(task)


def test_cost_counts_centroids_projections_and_indexlsh_full_scan(small_grid):
    task, grid, exact = small_grid
    row = grid.set_index(["method", "group", "value"])
    # k-means: K centroid comparisons on top of the candidates (plus the PCA projection's dims)
    k = row.loc[("kmeans", "pca-none", 40)]
    assert k.scanned_per_query == pytest.approx(k.candidates_per_query + 40)
    p = row.loc[("kmeans", "pca-2", 4)]
    assert p.scanned_per_query == pytest.approx(p.candidates_per_query + 4 + 2)
    # IVF: nlist centroids; LSH: L x H hyperplanes; neural LSH: at most L x J network outputs
    assert row.loc[("faiss-ivf", "nprobe2", 8)].scanned_per_query == pytest.approx(
        row.loc[("faiss-ivf", "nprobe2", 8)].candidates_per_query + 8)
    h = row.loc[("lsh", "L2", 9)]
    assert h.scanned_per_query == pytest.approx(h.candidates_per_query + 2 * 9)
    n = row.loc[("neural-lsh", "L3", 9)]
    assert 9 <= n.scanned_per_query - n.candidates_per_query <= 27
    # FAISS IndexLSH compares the query's code with every gallery code: more than the exact search's cost
    f = row.loc[("faiss-lsh", "cand20", 16)]
    assert f.candidates_per_query == 20
    assert f.scanned_per_query == pytest.approx(20 + 16 + task.n_gallery)
    assert f.scanned_per_query > exact[exact.method == "exact"].scanned_per_query.iloc[0] == task.n_gallery


def test_per_query_scores_average_to_the_recorded_metrics(small_grid):
    _, grid, exact = small_grid
    for r in grid[grid.p_at_10.notna()].itertuples():
        for m in ("p_at_10", "p_at_50", "map_retrieved", "map_gallery", "recall_at_10"):
            assert r.per_query[m].shape == (80,)
            assert r.per_query[m].mean() == pytest.approx(getattr(r, m)), (r.method, r.group, r.value, m)
    ex = exact[exact.method == "exact"].iloc[0]
    assert ex.per_query["p_at_10"].mean() == pytest.approx(ex.p_at_10)
    assert ex.per_query["map_gallery"].mean() == pytest.approx(ex.map_gallery)


def test_comparisons_are_paired_intervals_and_the_claim_needs_every_step(small_grid):
    from zsl_lib.experiments import lsh_compare as C
    from zsl_lib.experiments import verdicts as V

    _, grid, exact = small_grid
    rec = {}
    out = E.record_comparisons(grid, exact, rec.__setitem__)
    ds = "cifar10-syn"
    for metric in C.CLAIM_METRICS:
        steps = C.claim_steps(ds, metric)
        for key in steps:
            cmp = V.read_comparison(rec, key)
            assert cmp["lo"] <= cmp["diff"] <= cmp["hi"] and cmp["n"] == 80
        # each step compares the two methods' best grid points on the same queries
        a = C.best_row(grid, ds, "neural-lsh", metric)
        b = C.best_row(grid, ds, "lsh", metric)
        assert rec[f"{steps[0]}.diff"] == pytest.approx(a[metric] - b[metric])
        assert rec[f"claim.{ds}.{metric}.neural_gt_lsh_gt_kmeans"] == all(
            V.decision(out[k]) == "higher" for k in steps)
    # exact search minus each method's best; a trend is last minus first grid value of a group
    ex = exact[exact.method == "exact"].iloc[0]
    best_k = C.best_row(grid, ds, "kmeans", "p_at_10")
    assert rec[f"{C.ceiling_key(ds, 'p_at_10', 'kmeans')}.diff"] == pytest.approx(ex.p_at_10 - best_k.p_at_10)
    g = grid.set_index(["method", "group", "value"])
    assert rec[f"{C.trend_key(ds, 'lsh', 'L2', 'p_at_10')}.diff"] == pytest.approx(
        g.loc[("lsh", "L2", 9)].p_at_10 - g.loc[("lsh", "L2", 2)].p_at_10)
    assert f"{C.trend_key(ds, 'kmeans', 'pca-2', 'p_at_10')}.diff" not in rec  # k-means trends: no PCA only
    pca = (g.loc[("kmeans", "pca-none", 4)].p_at_10 + g.loc[("kmeans", "pca-none", 40)].p_at_10
           - g.loc[("kmeans", "pca-2", 4)].p_at_10 - g.loc[("kmeans", "pca-2", 40)].p_at_10) / 2
    assert rec[f"{C.pca_key(ds, 'pca-2')}.diff"] == pytest.approx(pca)
    assert 0 <= rec[f"dominance.{ds}.dominated"] <= rec[f"dominance.{ds}.lsh_points"] <= 2


def test_a_sub_noise_difference_is_a_tie_not_a_trend():
    """The old page called a 0.16-point difference a failed pattern; a paired interval calls it a tie."""
    from zsl_lib.experiments import verdicts as V

    rng = np.random.default_rng(0)
    first = rng.integers(1, 10, 500) * 10.0  # per-query precision@10 in percent
    last = first.copy()
    moved = rng.choice(500, 40, replace=False)  # grid points change some queries both ways
    last[moved[:24]] += 10.0
    last[moved[24:]] -= 10.0  # net +8 hits of 10: +0.16 points on average
    cmp = V.compare(last, first)
    assert cmp["diff"] == pytest.approx(0.16)
    assert V.decision(cmp) == "tie"


def test_vs_report_figure_draws_the_report_once_and_fixes_percent_axes(small_grid):
    import matplotlib

    matplotlib.use("Agg")
    _, grid, _ = small_grid
    two = pd.concat([grid, grid.assign(dataset="cifar10-syn2")], ignore_index=True)
    comp = E.compare_with_report(two, "lsh", {"cifar10": "cifar10"})
    fig = E.plot_vs_report(comp, "lsh")
    axes = np.array(fig.axes).reshape(-1, 3)
    assert axes.shape[0] == 3  # two rows of ours, one row of the report (not once per encoder row)
    titles = [ax.get_title() for ax in axes[:, 0]]
    assert titles[0].startswith("Ours: ") and titles[1].startswith("Ours: ")
    assert titles[2].startswith("The report: CIFAR-10") and "ResNet-18" in titles[2]
    ours_dashed = [ln for ax in axes[:2].ravel() for ln in ax.get_lines() if ln.get_linestyle() == "--"]
    assert not ours_dashed  # the report's lines only on its own row
    assert all(ax.get_ylim() == (0.0, 100.0) for ax in fig.axes)
    import matplotlib.pyplot as plt

    plt.close(fig)


def test_degenerate_points_are_hollow_and_not_joined():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    comp = pd.DataFrame({"dataset": "tiny-imagenet-efficientnet-lite0", "report_dataset": None, "group": "L3",
                         "param": "H", "value": [10, 30, 100], "p_at_10": [40.0, 5.0, 0.5], "p_at_50": 1.0,
                         "map_retrieved": 1.0, "candidates_per_query": [12.0, 0.4, 0.0]})
    fig = E.plot_vs_report(comp, "lsh")
    lines = fig.axes[0].get_lines()
    joined = [ln for ln in lines if ln.get_linestyle() == "-"]
    assert len(joined) == 1 and list(joined[0].get_xdata()) == [10]  # only the point with candidates
    hollow = [ln for ln in lines if ln.get_markerfacecolor() == "none"]
    assert len(hollow) == 1 and list(hollow[0].get_xdata()) == [30, 100]
    assert "under one candidate per query" in fig._suptitle.get_text()
    plt.close(fig)
