"""The README's "In words" findings hold in the published record: each qualitative sentence is
checked against the recorded numbers it summarises, so a rerun that changes an ordering fails
here until the sentence is changed."""

import json

import pytest

from zsl_lib import config


def res(stem: str) -> dict:
    path = config.results_dir() / f"{stem}.json"
    if not path.exists():
        pytest.skip(f"no published record {path}: run `make reproduce`")
    return json.loads(path.read_text())


def findings() -> str:
    text = (config.PROJECT_ROOT / "README.md").read_text()
    return text.split("In words (the numbers are in the pages):", 1)[1].split("\n## ", 1)[0]


def test_01_fixed_bliss_beats_ivf_and_blissnet_is_below_ncm():
    assert "reaches\n  a higher recall@10 at 5% of the gallery scanned than FAISS k-means IVF" in findings()
    r = res("01-bliss-bias")
    assert r["ann.cifar10.bliss_fixed.recall_at_10"] > r["ann.cifar10.ivf_kmeans.recall_at_10"]
    assert "builds in a\n  small fraction of that time but recalls less than IVF at 5% scanned" in findings()
    assert r["ann.cifar10.bliss_fast.recall_at_10"] < r["ann.cifar10.ivf_kmeans.recall_at_10"]
    assert r["ann.cifar10.bliss_fast.build_seconds"] < 0.1 * r["ann.cifar10.bliss_fixed.build_seconds"]
    assert r["zeroshot.tiny-imagenet.novel_top1"] < r["zeroshot.tiny-imagenet.ncm_novel_top1"]
    # "leaves buckets empty" with the report's settings; the fixed one "fills almost every bucket"
    counts = sorted({int(k.split(".")[2]) for k in r if k.startswith("clusters.fixed.") and k.endswith(".nonempty_buckets")})
    for c in counts:
        assert r[f"clusters.fixed.{c}.nonempty_buckets"] >= 0.9 * 20
        assert all(r[f"clusters.{s}.{c}.nonempty_buckets"] < 20 for s in ("kaiming_triplet", "random_triplet", "kaiming_ce"))


def test_02_agreement_gain_does_not_reproduce_and_pairwise_helps_the_image_side():
    assert "agreement gain does not reproduce" in findings()
    r = res("02-pairwise-tourney")
    assert r["agreement_f1_weighted.multiclass.pairwise"] <= r["agreement_f1_weighted.multiclass.base"]
    assert r["accuracy.image.pairwise"] > r["accuracy.image.base"]


def test_03_full_method_beats_eszsl_on_zsl_top1_on_both_datasets():
    assert "The full method beats ESZSL on ZSL top-1 on both datasets" in findings()
    r = res("03-cvae-clusterable-features")
    for ds in ("tiny-imagenet", "fashion-products"):
        assert r[f"{ds}.cls_gaussian_noise.zsl_top1"] > r[f"{ds}.eszsl.zsl_top1"], ds


def test_04_ordering_is_left_to_the_intervals_and_kmeans_has_the_best_tiny_precision():
    text = findings()
    # the ordering is decided on the page by paired intervals (the old "holds on CIFAR-10 EfficientNet"
    # was a tie by the page's own rule), so the README names the rule, not a verdict
    assert "step by step with paired bootstrap intervals" in text and "holds only on" not in text
    assert "20,000-image\n  Tiny-ImageNet training subset" in text
    assert "on Tiny-ImageNet k-means buckets have the highest best-of-grid precision@10" in text
    r = res("04-lsh-comparison")
    tiny = {m: r[f"best.tiny-imagenet-efficientnet-lite0.{m}.p_at_10"] for m in ("kmeans", "lsh", "neural-lsh")}
    assert max(tiny, key=tiny.get) == "kmeans"
    assert r["exact.tiny-imagenet-efficientnet-lite0.candidates_per_query"] == 20000
    # "the report's mAP over the retrieved list grows as buckets shrink while recall@10 and the standard mAP drop"
    assert "grows as buckets shrink while recall@10\n  and the standard mAP drop" in text
    k = "cifar10-resnet56-cifar10.kmeans.pca-none"
    assert r[f"{k}.K1000.map_retrieved"] > r[f"{k}.K10.map_retrieved"]
    assert r[f"{k}.K1000.recall_at_10"] < r[f"{k}.K10.recall_at_10"]
    assert r[f"{k}.K1000.map_gallery"] < r[f"{k}.K10.map_gallery"]


def test_05_neighbour_search_beats_1nn_everywhere_and_language_image_is_far_below():
    assert "Neighbour search beats 1-NN on F2 on all three datasets" in findings()
    r = res("05-clip-multilabel")
    for ds in ("fashion-products", "tiny-imagenet", "mulan-scene"):
        assert r[f"{ds}.neighbor_search.f2"] > r[f"{ds}.one_nn.f2"], ds
        if f"{ds}.language_image.f2" in r:
            assert r[f"{ds}.language_image.f2"] < min(r[f"{ds}.one_nn.f2"], r[f"{ds}.neighbor_search.f2"]) - 0.1, ds
