"""Notebook 05's closing discussion is rendered from the record (zsl_lib.experiments.multilabel_report):
its numbers are the recorded values formatted, its verdicts follow the recorded orderings, and a
record with other collections (smoke profile) renders without error."""

import json
import re

from zsl_lib import config
from zsl_lib.experiments import multilabel as E
from zsl_lib.experiments import multilabel_report as R
from zsl_lib.experiments import verdicts as V
from zsl_lib.experiments.multilabel import FLOOR, SOURCE

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
    assert f"This run took {res['runtime_minutes']:.1f} minutes." in text
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
        assert f"{R.name(ds)} {pct(ns)} vs {pct(one)}" in text
    assert " / ".join(pct(res[f"{fp}.table45.ensemble.{t}.f2"]) for t in R.TRANSLATIONS) in text
    assert f"{pct(res[f'{fp}.table45.single.manual.f2'])} (best single context" in text
    assert f"thesis {pct(SOURCE['table4_6.f2.neighbor_search'])} vs" not in text  # thesis numbers come from SOURCE
    assert f"Thesis {pct(SOURCE['table4_6.f2.neighbor_search'])} vs {pct(SOURCE['table4_6.f2.one_nn'])}" in text
    assert f"language-image {res[f'{fp}.language_image.roc_auc']:.3f}" in text
    assert f"subset accuracy {pct(res[f'{fp}.one_nn.subset_accuracy'])} %" in text
    assert f"ML-kNN baseline scores {pct(res[f'{mu}.ml_knn.f2'])}" in text
    assert f'"Summer" ({res[f"{fp}.table49"]["language_image"]["Summer"]:.3f})' in text
    assert ", ".join(f"{100 * w:.0f} %" for w in res[f"{fp}.example.top5_weights"]) in text
    first = {m: v for n, m, v in res[f"{fp}.learning_curve"] if n == 25}
    assert f"neighbour search scores {pct(first['neighbor_search'])} and 1-NN {pct(first['one_nn'])}" in text
    # verdict words only where the record holds the paired interval they come from
    if not any(k.endswith(".lo") for k in res):
        assert not re.search(r"\b(beats|reproduced|holds|ties with)\b", text)
    else:
        key = f"{fp}.cmp.f2.neighbor_search_minus_one_nn"
        assert V.interval_text(V.read_comparison(res, key)) in text
    if any(k.endswith(".f2_samples") for k in res):  # rendered beside micro F2, not named as not run
        assert "the samples-averaged F2 is recorded beside it" in text
        assert "samples-averaged F2" not in text.splitlines()[-1]
    else:  # an older record without it: named as not run
        assert "samples-averaged F2" in text.splitlines()[-1]


def _iv(res, key, diff, lo, hi):
    res.update({f"{key}.diff": diff, f"{key}.lo": lo, f"{key}.hi": hi, f"{key}.n": 100,
                f"{key}.method": "paired bootstrap"})


def _table48_record():
    res = {}
    for ds in ("a", "b"):
        for m, v in (("language_image", 0.2), ("one_nn", 0.5), ("neighbor_search", 0.6), ("simple_net", 0.59),
                     ("classwise_net", 0.58), (FLOOR, 0.1)):
            res[f"{ds}.{m}.f2"] = v
        for a, b in E.ORDERING_STEPS:
            _iv(res, f"{ds}.cmp.f2.{a}_minus_{b}", 0.1, 0.05, 0.15)
        for a, b in E.ORDERING_TIES:
            _iv(res, f"{ds}.cmp.f2.{a}_minus_{b}", -0.01, -0.03, 0.01)
    return res


def test_ordering_holds_only_if_every_step_holds():
    res = _table48_record()
    text = R.discussion_markdown(res, ["a", "b"])
    assert "holds on a and b." in text
    lines = {ln["claim"].split("(")[1].split(";")[0]: ln for ln in R.summary_lines(res, ["a", "b"])
             if ln["claim"].startswith("Table 4.8")}
    assert lines["a"]["status"] == lines["b"]["status"] == "reproduced"
    # one "<" step a tie on b (class-wise net vs 1-NN) and one "~" step a win on b: the ordering fails there only
    _iv(res, "b.cmp.f2.classwise_net_minus_one_nn", -0.02, -0.05, 0.01)
    _iv(res, "b.cmp.f2.simple_net_minus_neighbor_search", 0.03, 0.01, 0.05)
    text = R.discussion_markdown(res, ["a", "b"])
    assert "holds on a; it does not hold on b (steps not as claimed: 1-NN < class-wise net, " \
           "simple net ~ neighbour search)" in text
    lines = {ln["claim"].split("(")[1].split(";")[0]: ln for ln in R.summary_lines(res, ["a", "b"])
             if ln["claim"].startswith("Table 4.8")}
    assert lines["a"]["status"] == "reproduced" and lines["b"]["status"] == "not reproduced"
    assert "1-NN < class-wise net (-2.0 points (95 % interval -5.0 to +1.0))" in lines["b"]["evidence"]
    assert "| 1-NN < class-wise net | +10.0 (+5.0 to +15.0), higher, as claimed | -2.0 (-5.0 to +1.0), tie, " \
           "not as claimed |" in text


def test_table46_and_ensembling_verdicts_follow_the_intervals():
    res = {"a.neighbor_search.f2": 0.60, "a.one_nn.f2": 0.50, "b.neighbor_search.f2": 0.70, "b.one_nn.f2": 0.40}
    _iv(res, "a.cmp.f2.neighbor_search_minus_one_nn", 0.10, 0.04, 0.16)
    _iv(res, "b.cmp.f2.neighbor_search_minus_one_nn", 0.30, 0.2, 0.4)
    text = R.discussion_markdown(res, ["a", "b"])
    assert "is reproduced on every dataset" in text
    assert "a 60.0 vs 50.0 (neighbour search beats 1-NN: +10.0 points (95 % interval +4.0 to +16.0))" in text
    _iv(res, "a.cmp.f2.neighbor_search_minus_one_nn", 0.10, -0.01, 0.2)  # same difference, a wider interval
    text = R.discussion_markdown(res, ["a", "b"])
    assert "is reproduced on b only" in text and "neighbour search ties with 1-NN" in text
    # context ensembling: the sign against the thesis's +0.5, from the interval
    t45 = {f"a.table45.ensemble.{t}.f2": v for t, v in zip(R.TRANSLATIONS, (0.10, 0.14, 0.18))}
    t45["a.table45.single.manual.f2"] = 0.185
    _iv(t45, "a.cmp.f2.table45.ensemble_minus_single", -0.005, -0.009, -0.001)
    _iv(t45, "a.cmp.f2.table45.automatic_minus_original", 0.04, 0.01, 0.07)
    _iv(t45, "a.cmp.f2.table45.manual_minus_automatic", 0.04, -0.01, 0.07)
    text = R.discussion_markdown(t45, ["a"])
    assert "the ensemble is below the best single context: -0.5 points" in text
    assert "the opposite sign to the thesis's +0.5 points" in text
    assert "(original < automatic < manual) does not hold here" in text
    _iv(t45, "a.cmp.f2.table45.manual_minus_automatic", 0.04, 0.01, 0.07)
    assert "(original < automatic < manual) holds here" in R.discussion_markdown(t45, ["a"])


def test_fine_tuning_gains_are_said_in_words_against_the_thesis():
    res = {"a.table47.simple_all_items.f2": 0.6}
    _iv(res, "a.cmp.f2.table47.simple_kmeans_average_finetuned_minus_simple_kmeans_average", 0.004, -0.01, 0.02)
    _iv(res, "a.cmp.f2.table47.classwise_kmeans_finetuned_minus_classwise_kmeans", 0.049, 0.03, 0.07)
    text = R.discussion_markdown(res, ["a"], n_prototypes=16)
    assert "simple, 16 k-means average +0.4 points (95 % interval -1.0 to +2.0), thesis +16.2" in text
    assert "class-wise, 16 k-means +4.9 points" in text
    assert ("the direction (a gain, interval above zero) is reproduced for 1 of 2 (class-wise net with k-means "
            "prototypes on a); the magnitude (the thesis's gain inside our interval) for 0 of 2.") in text
    lines = {ln["claim"]: ln for ln in R.summary_lines(res, ["a"])}
    classwise = lines["Table 4.7, fine-tuning gain of the class-wise net with k-means prototypes (a; thesis +37.5)"]
    simple = lines["Table 4.7, fine-tuning gain of the simple net with k-means average prototypes (a; thesis +16.2)"]
    # direction and magnitude decided apart: the word and the summary section agree
    assert classwise["status"] == "partly reproduced"
    assert classwise["evidence"].startswith("direction reproduced: +4.9 points")
    assert "magnitude not reproduced (smaller here): the source's +37.5 points lies above our whole interval" \
        in classwise["evidence"]
    assert simple["status"] == "not reproduced" and simple["evidence"].startswith("direction not reproduced (a tie)")
    summary = R.summary_section(res, ["a"])
    assert summary.index("**Partly reproduced**") < summary.index("class-wise net") < summary.index("**Not reproduced**")
    assert "direction reproduced" not in summary.split("**Not reproduced**")[1]
    assert "**Direction and magnitude.**" in R.rules_section()


def test_learning_curve_names_a_model_at_the_floor():
    res = {"m.learning_curve": [[25, "one_nn", 0.516], [25, "neighbor_search", 0.6], [25, FLOOR, 0.516],
                                [50, "one_nn", 0.55], [50, "neighbor_search", 0.62], [50, FLOOR, 0.516]]}
    text = R.discussion_markdown(res, ["m"])
    assert "suggesting every keyword scores 51.6, the floor; 1-NN sits at that floor with 25 reference items" in text


def test_settings_table_follows_the_parameters():
    base = {"max_trials": 25, "min_count": 20, "finetune_settings": "shared", "image_encoder": "efficientnet-lite0",
            "language_image_encoder": "lit-fashion", "mulan_split": "pooled", "deduplicate": "auto",
            "tiny_min_count": 3, "datasets": ["fashion-products", "tiny-imagenet", "mulan-scene"]}
    text = R.settings_section(base)
    assert "| rare-keyword threshold, Tiny-ImageNet (training split) | 3 | 50 (on 76k" in text
    assert "Tiny-ImageNet (training split)" not in R.settings_section(dict(base, datasets=["fashion-products"]))
    assert "Tiny-ImageNet (training split)" not in R.settings_section(dict(base, tiny_min_count=50))
    # the thesis names no encoder variant: "the vision transformer" only
    assert "ViT-B/32" not in text and "vision-transformer image encoder (the thesis names no variant" in text
    assert "off for Mulan scene's numeric features" in text
    assert "near-duplicate items merged" not in R.settings_section(dict(base, deduplicate="on"))
    assert "at most 25 trials" in text and "| rare-keyword threshold (training split) | 20 | 50 (on 76k" in text
    assert "not comparable with published Mulan results" in text and "EfficientNet-Lite0" in text
    text = R.settings_section(dict(base, max_trials=1000, min_count=50, tiny_min_count=50, mulan_split="given"))
    assert "hyperparameter search" not in text and "rare-keyword" not in text and "Mulan scene split" not in text


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
    assert "samples" in text
    assert '1 of the 1 true ones (it misses none and adds "urban")' in text
    assert "no label translation in this run" in text
    assert not re.search(r"\bnan\b|None", text)
    # nothing recorded at all, and a collection that was not run
    empty = R.discussion_markdown({}, ["tiny-imagenet"])
    assert "Not in this run's record: collection(s) tiny-imagenet" in empty


def test_the_search_budget_and_how_many_searches_converged_are_on_the_page():
    res = {"a.search.n_converged": 1, "a.search.n_searched": 3, "a.search.max_trials": 25,
           "b.search.n_converged": 0, "b.search.n_searched": 2, "b.search.max_trials": 25,
           "a.neighbor_search.f2": 0.5, "b.neighbor_search.f2": 0.5}
    text = R.summary_section(res, ["a", "b"])
    assert ("**Search budget.** Hyperparameter searches of Table 4.8's models that reached the thesis's stop rule "
            "(10 best validation F2 within 0.1 points) before this run's budget of 25 trials per search: 1 of 5 "
            "(a 1 of 3 and b 0 of 2); the other 4 stopped at the budget") in text
    assert "Search budget" not in R.summary_section({"a.neighbor_search.f2": 0.5}, ["a"])
