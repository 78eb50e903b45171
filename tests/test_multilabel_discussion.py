"""Notebook 05's closing discussion is rendered from the record (zsl_lib.experiments.multilabel_report):
its numbers are the recorded values formatted, its verdicts follow the recorded orderings, and a
record with other collections (smoke profile) renders without error."""

import json
import re

from zsl_lib import config
from zsl_lib.experiments import multilabel_report as R
from zsl_lib.experiments.multilabel import SOURCE

DATASETS = ["fashion-products", "tiny-imagenet", "mulan-scene"]
PARAMS = dict(n_prototypes=16, duplicate_pairs_csv="", finetune_settings="shared", finetune_epochs=5,
              finetune_lr=0.05, feature_scaling="none", max_items=0, fashion_items=0, tiny_limit_per_class=0)


def committed():
    return json.loads((config.PROJECT_ROOT / "results" / "05-clip-multilabel.json").read_text(encoding="utf-8"))


def pct(v):
    return f"{100 * v:.1f}"


def test_committed_record_renders_its_own_numbers():
    res = committed()
    text = R.discussion_markdown(res, DATASETS, **PARAMS)
    fp, ti, mu = DATASETS
    # every spot-checked number is the recorded value, formatted
    assert f"This run took {res['runtime_minutes']:.1f} minutes" in text
    assert "4.5 minutes" not in text or f"{res['runtime_minutes']:.1f}" == "4.5"
    assert f"fashion {res[f'{fp}.prep.n_input']:,} (all)" in text
    assert f"Tiny-ImageNet {res[f'{ti}.prep.n_input']:,} (all)" in text
    assert f"{res[f'{fp}.prep.n_keywords_before']} -> {res[f'{fp}.prep.n_keywords']} keywords" in text
    assert f"lost {res[f'{fp}.prep.n_removed']} near-duplicates" in text
    assert f"({res[f'{fp}.prep.n_merged_groups']} certain groups merged)" in text
    assert f"kept all {res[f'{ti}.prep.n_keywords']} keywords with min count {res[f'{ti}.prep.min_count']}" in text
    assert f"{100 * res[f'{fp}.prep.prevalence_test']:.3g} % (fashion)" in text
    p = res[f"{fp}.prep.prevalence_test"]
    assert f"{pct(5 * p / (4 * p + 1))} (fashion)" in text
    for ds in DATASETS:
        ns, one = res[f"{ds}.neighbor_search.f2"], res[f"{ds}.one_nn.f2"]
        assert f"({pct(ns)} vs {pct(one)})" in text
        assert f"{100 * res[f'{ds}.neighbor_search_minus_one_nn_f2']:+.1f} points on {R.name(ds)}" in text
    assert " / ".join(pct(res[f"{fp}.table45.ensemble.{t}.f2"]) for t in R.TRANSLATIONS) in text
    assert f"{pct(res[f'{fp}.table45.single.manual.f2'])} (best single context" in text
    assert f"thesis {pct(SOURCE['table4_6.f2.neighbor_search'])} vs" not in text  # thesis numbers come from SOURCE
    assert f"({pct(SOURCE['table4_6.f2.neighbor_search'])} vs {pct(SOURCE['table4_6.f2.one_nn'])})" in text
    assert (f"{pct(res[f'{fp}.table47.classwise_16_kmeans.f2'])} -> "
            f"{pct(res[f'{fp}.table47.classwise_16_kmeans_finetuned.f2'])}") in text
    assert f"language-image {res[f'{fp}.language_image.roc_auc']:.3f}" in text
    assert f"subset accuracy {pct(res[f'{fp}.one_nn.subset_accuracy'])} %" in text
    assert f"ML-kNN baseline ({pct(res[f'{mu}.ml_knn.f2'])})" in text
    assert f'"Summer" ({res[f"{fp}.table49"]["language_image"]["Summer"]:.3f})' in text
    assert ", ".join(f"{100 * w:.0f} %" for w in res[f"{fp}.example.top5_weights"]) in text
    assert (f"language-image {pct(res[f'{fp}.language_image.f2'])} -> "
            f"{pct(res[f'{fp}.language_image.per_class_threshold_f2'])}") in text
    assert f"({pct(res[f'{fp}.neighbor_search.f2'])} -> {pct(res[f'{fp}.hybrid.f2'])})" in text
    first = {m: v for n, m, v in res[f"{fp}.learning_curve"] if n == 25}
    assert f"neighbour search ({pct(first['neighbor_search'])}) and even 1-NN ({pct(first['one_nn'])})" in text
    assert "Table 4.6 reproduces" in text and "Table 4.5 does not reproduce" in text
    if any(k.endswith(".f2_samples") for k in res):  # rendered beside micro F2, not named as not run
        assert "the samples-averaged F2 is recorded beside it" in text
        assert "samples-averaged F2" not in text.splitlines()[-1]
    else:  # an older record without it: named as not run
        assert "samples-averaged F2" in text.splitlines()[-1]


def test_flipping_an_ordering_flips_the_verdict():
    res = {"a.neighbor_search.f2": 0.60, "a.one_nn.f2": 0.50, "b.neighbor_search.f2": 0.70, "b.one_nn.f2": 0.40}
    text = R.discussion_markdown(res, ["a", "b"])
    assert "Table 4.6 reproduces: neighbour search beats 1-NN on every dataset" in text
    assert "+10.0 points on a (60.0 vs 50.0)" in text
    flipped = dict(res, **{"a.one_nn.f2": 0.65})
    text = R.discussion_markdown(flipped, ["a", "b"])
    assert "Table 4.6 partly reproduces: neighbour search beats 1-NN on b only" in text
    assert "-5.0 points on a (60.0 vs 65.0)" in text
    none = dict(flipped, **{"b.one_nn.f2": 0.75})
    assert "Table 4.6 does not reproduce" in R.discussion_markdown(none, ["a", "b"])
    # the translation verdict and the hybrid's sign follow the numbers too
    t45 = {f"a.table45.ensemble.{t}.f2": v for t, v in zip(R.TRANSLATIONS, (0.10, 0.14, 0.18))}
    assert "Table 4.5 reproduces the translation effect" in R.discussion_markdown(t45, ["a"])
    t45["a.table45.ensemble.manual.f2"] = 0.11
    assert "Table 4.5 does not reproduce the translation effect" in R.discussion_markdown(t45, ["a"])
    hy = dict(res, **{"a.hybrid.f2": 0.62})
    assert "adds 2.0 points on a (60.0 -> 62.0)" in R.discussion_markdown(hy, ["a", "b"])
    hy["a.hybrid.f2"] = 0.55
    assert "loses 5.0 points on a (60.0 -> 55.0)" in R.discussion_markdown(hy, ["a", "b"])


def test_smoke_profile_keys_render_and_name_what_was_not_run():
    res = {"runtime_minutes": 1.23}
    for ds in ("mulan-scene", "fashion-products"):
        res.update({f"{ds}.prep.n_input": 800, f"{ds}.prep.n_removed": 3, f"{ds}.prep.n_merged_groups": 1,
                    f"{ds}.prep.n_keywords_before": 10, f"{ds}.prep.n_keywords": 6, f"{ds}.prep.min_count": 20,
                    f"{ds}.prep.suspected": 0.98, f"{ds}.prep.prevalence_test": 0.2})
        for i, m in enumerate(("one_nn", "neighbor_search", "simple_net", "classwise_net")):
            res.update({f"{ds}.{m}.{k}": 0.5 + 0.05 * i for k in ("f2", "f2_samples", "accuracy", "precision",
                                                                   "subset_accuracy", "roc_auc",
                                                                   "per_class_threshold_f2")})
        res[f"{ds}.table47.simple_all_items.f2"] = 0.6
        res[f"{ds}.table47.simple_4_kmeans_average.f2"] = 0.62
        res[f"{ds}.learning_curve"] = [[100, "one_nn", 0.4], [100, "neighbor_search", 0.5]]
    res["mulan-scene.ml_knn.f2"] = 0.61
    res["mulan-scene.table49"] = {"neighbor_search": {"beach": 0.9, "urban": 0.8}, "one_nn": {"beach": 0.7, "urban": 0.85}}
    res["mulan-scene.table49_skipped"] = 0
    res["mulan-scene.example.truth"] = ["beach"]
    res["mulan-scene.example.neighbor_search_suggested"] = ["BEACH", "urban"]
    res["fashion-products.language_image.f2"] = 0.3
    res["fashion-products.table45.ensemble.original.f2"] = 0.3
    res["fashion-products.table45.single.original.f2"] = 0.29
    text = R.discussion_markdown(res, ["mulan-scene", "fashion-products"], n_prototypes=4, feature_scaling="none")
    assert "This run took 1.2 minutes" in text
    assert "Table 4.6 reproduces" in text and "samples" in text
    assert '1 of the 1 true ones (it misses none and adds "urban")' in text
    assert "no label translation in this run" in text
    assert not re.search(r"\bnan\b|None", text)
    # nothing recorded at all, and a collection that was not run
    empty = R.discussion_markdown({}, ["tiny-imagenet"])
    assert "Not in this run's record: collection(s) tiny-imagenet" in empty
