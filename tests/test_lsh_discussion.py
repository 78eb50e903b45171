"""Notebook 04's closing discussion is rendered from the record: every number printed is a recorded
value (or one of the report's), every comparison follows the recorded values, and runs that record
fewer datasets / methods (smoke profile, user parameters) still render."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from zsl_lib.experiments import lsh_report as R

ROOT = Path(__file__).resolve().parents[1]
DATASETS = ["cifar10:resnet56-cifar10", "cifar10:efficientnet-lite0", "tiny-imagenet:efficientnet-lite0"]
COLUMNS = {"cifar10": "cifar10", "tiny-imagenet": "imagenet"}
RN, EN, TI = (R.dataset_key(s) for s in DATASETS)
METHOD = {"kmeans": "k-means", "lsh": "random-hyperplane LSH", "neural-lsh": "neural LSH"}


@pytest.fixture(scope="module")
def committed():
    return json.loads((ROOT / "results" / "04-lsh-comparison.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def text(committed):
    return R.discussion_markdown(committed, DATASETS, 500, COLUMNS)


def f1(x):
    return f"{x:,.1f}"


def test_dataset_keys_match_the_recorded_names(committed):
    for ds in (RN, EN, TI):
        assert f"exact.{ds}.p_at_10" in committed


def test_committed_record_numbers_are_the_recorded_values(committed, text):
    r = committed
    # trends (k-means without PCA, first -> last K; LSH with L = 3, first -> last H)
    k = f"{RN}.kmeans.pca-none"
    assert f"{f1(r[f'{k}.K10.map_retrieved'])} -> {f1(r[f'{k}.K1000.map_retrieved'])}" in text
    assert f"{f1(r[f'{k}.K10.p_at_50'])} -> {f1(r[f'{k}.K1000.p_at_50'])}" in text
    h = f"{EN}.lsh.L3"
    assert f"{f1(r[f'{h}.H3.p_at_10'])} -> {f1(r[f'{h}.H10.p_at_10'])}" in text
    # best precision@10 per method and the exact ceiling
    for ds in (RN, EN, TI):
        for m in ("kmeans", "lsh", "neural-lsh"):
            assert f"{METHOD[m]} {f1(r[f'best.{ds}.{m}.p_at_10'])}" in text
    assert f"exact search's {f1(r[f'exact.{RN}.p_at_10'])}" in text
    # gallery sizes are the exact search's candidates
    sizes = " / ".join(f"{r[f'exact.{ds}.candidates_per_query']:,.0f}" for ds in (RN, EN, TI))
    assert f"galleries of {sizes} images" in text
    # the report's mAP vs the standard one, recall of the exact neighbours
    assert f"goes from {f1(r[f'{k}.K10.map_gallery'])} (K = 10) to {f1(r[f'{k}.K1000.map_gallery'])}" in text
    assert f"{r[f'{k}.K10.recall_at_10']:.0f} % to {r[f'{k}.K1000.recall_at_10']:.0f} %" in text
    # PCA: the largest loss of 10 dims on ResNet-56
    loss = max(r[f"{k}.K{K}.p_at_10"] - r[f"{RN}.kmeans.pca-10.K{K}.p_at_10"] for K in (10, 20, 100, 200, 1000))
    assert f"10 dims {f1(loss)}" in text
    # exact-search query times, ours and FAISS
    ours = [r[f"exact.{ds}.query_ms"] for ds in (RN, EN, TI)]
    flat = [r[f"exact.{ds}.faiss_flat_query_ms"] for ds in (RN, EN, TI)]
    nd = 2 if min(ours + flat) < 0.1 else 1  # two decimals only for sub-0.1 ms times
    assert f"{min(ours):.{nd}f}-{max(ours):.{nd}f} ms per query for ours" in text
    assert f"{min(flat):.{nd}f}-{max(flat):.{nd}f} ms for FAISS IndexFlatIP" in text
    # LSH candidates at H = 10 on ResNet-56 and the balanced expectation L * N / 2^H
    c = [r[f"{RN}.lsh.L{L}.H10.candidates_per_query"] for L in (3, 6, 12)]
    assert f"{min(c):,.0f} to {max(c):,.0f} candidates per query at H = 10" in text
    n = r[f"exact.{RN}.candidates_per_query"]
    assert f"at most {3 * n / 1024:,.0f} to {12 * n / 1024:,.0f}" in text
    # the recorded claim flags: the sentence counts the True ones
    claims = [v for key, v in r.items() if key.startswith("claim.")]
    assert f"True for {sum(claims)} of {len(claims)} dataset-metric pairs" in text
    # the report's own numbers come from REPORT
    assert f"k-means ({max(max(s['map']) for s in R.REPORT['kmeans']['cifar10']['settings'].values()):g})" in text
    assert "Not in this run" not in text


def test_committed_record_reads_as_the_findings(text):
    assert "k-means clearly best" in text  # Tiny-ImageNet
    assert text.count("(a tie, all at the exact search's") == 2  # both CIFAR-10 embeddings
    # full galleries: the ordering holds for precision on CIFAR-10 / EfficientNet-Lite0 only
    assert "holds here only partly" in text and "True for 2 of 9 dataset-metric pairs" in text
    assert "the pattern fails for random-hyperplane LSH on CIFAR-10 / ResNet-56" in text
    assert "very unbalanced" in text
    assert "ImageNet settings H = 30 / 100 retrieve less than one candidate per query" in text
    assert "*The report's mAP rewards small buckets, not good retrieval.*" in text


# ------------------------------------------------------------------------------------------------
# synthetic records


def grid(ds, method, group, param, values, metrics):
    """Keys of one grid row group; ``metrics(value) -> {metric: number}``."""
    return {f"{ds}.{method}.{group}.{param}{v}.{m}": x for v in values for m, x in metrics(v).items()}


def point(p10, mapr=50.0, cands=100.0, **kw):
    return {"p_at_10": p10, "p_at_50": p10 - 5, "map_retrieved": mapr, "map_gallery": kw.get("mapg", 10.0),
            "recall_at_10": kw.get("recall", 50.0), "candidates_per_query": cands, "query_ms": 0.1}


def smoke_like(ds="cifar10-resnet56-cifar10", best=(80.0, 70.0, 60.0), exact_ms=(0.05, 0.05)):
    """The keys a smoke-profile run records (one dataset, tiny grids) plus best / claim keys."""
    r = {}
    for g in ("pca-none", "pca-0_95", "pca-10"):
        r |= grid(ds, "kmeans", g, "K", (5, 20), lambda K: point(80 - K / 5, 60 + K, 300 / K, mapg=40 - K))
    r |= grid(ds, "lsh", "L2", "H", (3, 8), lambda H: point(78 - H, 55 + H, 300 / H))
    r |= grid(ds, "neural-lsh", "L4", "J", (4, 8), lambda J: point(79 - J, 50 + J, 200 / J))
    r |= grid(ds, "faiss-ivf", "nprobe1", "nlist", (8,), lambda v: point(75, cands=40))
    r |= grid(ds, "faiss-lsh", "cand20", "bits", (32,), lambda v: point(74, cands=20, recall=90))
    r |= {f"exact.{ds}.{m}": x for m, x in point(78, 40.0, 300.0, recall=100.0).items()}
    r[f"exact.{ds}.query_ms"], r[f"exact.{ds}.faiss_flat_query_ms"] = exact_ms
    for m, v in zip(("kmeans", "lsh", "neural-lsh"), best):
        r[f"best.{ds}.{m}.p_at_10"] = v
    for metric in ("p_at_10", "p_at_50", "map_retrieved"):
        r[f"claim.{ds}.{metric}.neural_gt_lsh_gt_kmeans"] = best[2] > best[1] > best[0]
    return r


def test_smoke_profile_keys_render_and_name_what_did_not_run():
    r = smoke_like()
    text = R.discussion_markdown(r, ["cifar10:resnet56-cifar10"], None, {"cifar10": "cifar10"})
    assert "## " not in text and text.strip()
    assert "every query of each test split" in text
    assert "k-means (no PCA) | K = 5 -> 20" in text
    # a run of only the requested dataset names nothing as missing; asking for more names it
    assert "Not in this run" not in text
    text = R.discussion_markdown(r, DATASETS, None, COLUMNS)
    assert "*Not in this run:* `cifar10:efficientnet-lite0` (no recorded results)" in text
    assert "tiny-imagenet:efficientnet-lite0" in text


def test_partial_and_empty_records_render():
    ds = "cifar10-resnet56-cifar10"
    only_exact = {k: v for k, v in smoke_like().items() if k.startswith("exact.")}
    text = R.discussion_markdown(only_exact, ["cifar10:resnet56-cifar10"], 100, {"cifar10": "cifar10"})
    assert "the grid trends" in text and "the method ranking" in text and "the PCA comparison" in text
    assert f"exact.{ds}" not in text
    text = R.discussion_markdown({}, DATASETS, 500, COLUMNS)
    assert "Not in this run" in text


def test_ordering_flips_the_sentence():
    cols, specs = {"cifar10": "cifar10"}, ["cifar10:resnet56-cifar10"]
    kmeans_first = R.discussion_markdown(smoke_like(best=(80.0, 60.0, 50.0)), specs, 500, cols)
    assert "k-means clearly best" in kmeans_first and "does not hold here" in kmeans_first
    neural_first = R.discussion_markdown(smoke_like(best=(50.0, 60.0, 80.0)), specs, 500, cols)
    assert "neural LSH clearly best" in neural_first and "k-means clearly best" not in neural_first
    assert "*The claim neural LSH > random-hyperplane LSH > k-means holds here*" in neural_first
    # the same gap is a tie with few queries, a clear win with many
    close = smoke_like(best=(80.0, 77.0, 76.0))
    assert "(a tie" in R.discussion_markdown(close, specs, 50, cols)
    assert "(a tie" not in R.discussion_markdown(close, specs, 100_000, cols)


def test_trend_and_query_time_follow_the_numbers():
    cols, specs = {"cifar10": "cifar10"}, ["cifar10:resnet56-cifar10"]
    r = smoke_like()
    assert "the report's pattern holds on every row" in R.discussion_markdown(r, specs, 500, cols)
    ds = "cifar10-resnet56-cifar10"
    r[f"{ds}.lsh.L2.H8.map_retrieved"] = 1.0  # mAP now falls with more hyperplanes
    text = R.discussion_markdown(r, specs, 500, cols)
    assert "the pattern fails for random-hyperplane LSH on CIFAR-10 / ResNet-56" in text
    assert ", alike)" in text
    slow = R.discussion_markdown(smoke_like(exact_ms=(0.5, 0.05)), specs, 500, cols)
    assert "10.00x, not alike" in slow
