"""Notebook 01's closing discussion (zsl_lib.experiments.bliss_report): every number it prints is
a recorded value (or the report's), its qualitative sentences follow the recorded values, and it
renders the smaller records of the smoke profile and of user-parameter runs."""

from __future__ import annotations

import copy
import json
import re

import pytest

from zsl_lib import config
from zsl_lib.experiments import bliss_report as R
from zsl_lib.experiments import verdicts as V
from zsl_lib.experiments.bliss import SOURCE, vmeasure_upper_bound

PARAMS = dict(ann_queries=2000, ann_repetitions=4, ann_hidden=512, zs_limit_per_class=50, zs_novel=20,
              zs_support=5, zs_models=16, zs_metaclasses=40)


@pytest.fixture(scope="module")
def committed() -> dict:
    return json.loads((config.PROJECT_ROOT / "results" / "01-bliss-bias.json").read_text())


@pytest.fixture(scope="module")
def text(committed) -> str:
    return R.discussion_markdown(committed, **PARAMS)


def test_spot_checked_numbers_are_the_recorded_ones(committed, text):
    r = committed
    a, z = "ann.cifar10", "zeroshot.tiny-imagenet"
    for key in (f"{a}.bliss_fixed.recall_at_10", f"{a}.ivf_kmeans.recall_at_10", f"{a}.rh_lsh.recall_at_10",
                f"{a}.bliss_report.recall_at_10", f"{z}.novel_top1", f"{z}.ncm_novel_top1", f"{z}.seen_top1",
                f"{z}.ncm_seen_top1", f"{z}.gzsl_novel_top1", f"{z}.ncm_gzsl_seen_top1",
                "clusters.fixed.2.v_measure", "clusters.kaiming_ce.2.v_measure"):
        assert re.search(rf"(?<![\d.]){re.escape(R.fmt(r[key]))}(?!\d)", text), key
    # the committed record holds the paired intervals: each verdict is the recorded interval's
    for key, x, y in ((f"{a}.cmp.bliss_fixed_vs_ivf_kmeans", "The fixed BLISS", "IVF"),
                      (f"{a}.cmp.bliss_fast_vs_ivf_kmeans", "The fast preset", "IVF")):
        assert V.verdict(r, key, x, y) in text, key
    assert f"max/mean load {R.fmt(r[f'{a}.bliss_fixed.max_over_mean_load'], 2)}" in text
    assert f"IVF {R.fmt(r[f'{a}.ivf_kmeans.max_over_mean_load'], 2)})" in text
    assert f"{R.fmt_count(r[f'{a}.bliss_report.empty_buckets'])} of {r[f'{a}.n_buckets']} buckets empty" in text
    assert f"{r[f'{a}.n_gallery']:,} gallery" in text
    assert f"At {r[f'{a}.scan_fraction']:.0%} of the gallery" in text
    assert f"{r['clusters.n_seeds']} seeds" in text
    assert f"{R.fmt_count(r[f'{z}.metaclass_nonempty'])} of 40 used" in text
    assert f"right {r[f'{z}.metaclass_top1']:.0%} of the time" in text
    assert f"{R.fmt(r['mechanism.report_official_init.topk_sets_end'], 2)} after training" in text
    assert f"took {r[f'{a}.bliss_fixed.build_seconds']:.1f} s" in text
    # ranges are min-max of the recorded values
    counts = [2, 4, 11, 13, 20, 22]
    fixed_ne = [r[f"clusters.fixed.{c}.nonempty_buckets"] for c in counts]
    assert f"uses {R.fmt(min(fixed_ne), 1)}-{R.fmt(max(fixed_ne), 1)} of 20 buckets" in text
    ours_v = [r[f"clusters.{s}.{c}.v_measure"] for s in R.REPORT_THREE for c in counts]
    rep_v = [SOURCE[f"clusters.{s}.{c}.v_measure"] for s in R.REPORT_THREE for c in counts]
    assert (f"ours {R.fmt(min(ours_v), 2)}-{R.fmt(max(ours_v), 2)}, "
            f"report {R.fmt(min(rep_v), 2)}-{R.fmt(max(rep_v), 2)}") in text
    assert f"V = {R.fmt(vmeasure_upper_bound(2, 18), 2)}" in text


def test_every_printed_decimal_is_a_recorded_or_derived_value(committed, text):
    allowed = set()

    def add(v):
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            for nd in (1, 2, 3):
                allowed.add(f"{abs(v):.{nd}f}")
            allowed.add(R.fmt_count(abs(v)))

    for k, v in committed.items():
        add(v)
        if k.endswith((".diff", ".lo", ".hi")) and isinstance(v, float):
            add(100 * v)  # intervals are printed in points
    for v in SOURCE.values():
        add(v)
    r = committed
    add(r["mechanism.report_official_init.topk_sets_end"] * 4)  # groups x K
    add(vmeasure_upper_bound(2, 18))
    add(vmeasure_upper_bound(2, 18) - r["clusters.fixed.2.v_measure"])  # distance to the bound
    add(1.05)  # the fixed BLISS's load cap (REPORT_SETTINGS)
    add(R.RANGE_TOLERANCE)
    printed = re.findall(r"\d+\.\d+", text.replace("params/paper/01-bliss-bias.yaml", ""))
    assert printed and all(p in allowed for p in printed), [p for p in printed if p not in allowed]


def test_committed_text_reads_the_findings(text):
    assert "**The bias reproduces" in text
    assert "Kaiming + cross-entropy the highest mean of the three at every cluster count (in the report: at 4 of 6)" in text
    # the Beta setting: what was measured, then what the report says (Fig. 2: two clusters, not K)
    assert "rule 3 (the report, Fig. 2: the points “degenerated into just two clusters”)" in text
    assert "exactly K = 3 of the 5 buckets (report Figs. 1-2)" not in text
    # the grid's comparisons read the recorded seed intervals
    assert "Kaiming + triplet minus random-initialisation triplet (V-measure, 95 % interval over 3 seeds)" in text
    assert "so no verdict" not in text
    assert "At 2 clusters: " in text
    assert "Not in this run's record" not in text


def _cmp(res, key, diff, lo, hi, n=2000, method="paired bootstrap"):
    res.update({f"{key}.diff": diff, f"{key}.lo": lo, f"{key}.hi": hi, f"{key}.n": n, f"{key}.method": method})


def test_verdicts_follow_the_recorded_intervals(committed):
    res = copy.deepcopy(committed)
    a, z = "ann.cifar10", "zeroshot.tiny-imagenet"
    _cmp(res, f"{a}.cmp.bliss_fixed_vs_ivf_kmeans", 0.024, 0.015, 0.033)
    _cmp(res, f"{a}.cmp.bliss_fast_vs_ivf_kmeans", -0.031, -0.04, -0.02)
    _cmp(res, f"{a}.cmp.bliss_fixed_vs_bliss_report", 0.27, 0.25, 0.29)
    _cmp(res, f"{z}.cmp.novel_top1", -0.176, -0.21, -0.14)
    _cmp(res, f"{z}.cmp.seen_top1", 0.018, -0.004, 0.04)
    for c in (2, 4, 11, 13, 20, 22):
        _cmp(res, f"clusters.cmp.kaiming_vs_random_triplet.{c}.v_measure", 0.01, -0.05, 0.07, n=3, method="seed t-interval")
        hi = -0.01 if c == 2 else 0.08
        _cmp(res, f"clusters.cmp.fixed_vs_best_report.{c}.v_measure", 0.05 if c > 2 else -0.07, 0.02 if c > 2 else -0.1,
             hi, n=3, method="seed t-interval")
    t = R.discussion_markdown(res, **PARAMS)
    assert "The fixed BLISS beats IVF: +2.4 points (95 % interval +1.5 to +3.3), in recall@10 at 5% scanned." in t
    assert "The fast preset is below IVF: -3.1 points" in t and "It reaches IVF's recall only by scanning more" in t
    assert "The fixed BLISS beats the report's BLISS: +27.0 points" in t
    assert "BLISSNet is below NCM: -17.6 points" in t and "BLISSNet ties with NCM: +1.8 points" in t
    assert "the placement, not the seen-class classifiers, is where BLISSNet loses to NCM" in t
    assert "(V-measure, 95 % interval over 3 seeds): a tie at 2, 4, 11, 13, 20 and 22 clusters (per cluster " in t
    assert "seeds): higher at 4, 11, 13, 20 and 22 clusters, lower at 2 clusters (per cluster " in t
    assert "2: -0.070 (-0.100 to -0.010); 4: +0.050 (+0.020 to +0.080)" in t
    lines = {ln["claim"]: ln for ln in R.summary_lines(res)}
    tri = lines["random initialisation + triplet has a lower V-measure than Kaiming + triplet (Table 4)"]
    assert tri["status"] == "not reproduced"  # ties at every count: the report's ordering is within noise
    fixed_ivf = [ln for c, ln in lines.items() if c.startswith("recall@10 of the fixed BLISS against FAISS")][0]
    assert fixed_ivf["status"] == "beyond the source" and "the fixed BLISS beats FAISS k-means IVF" in fixed_ivf["evidence"]
    assert lines["“top bucket of the K least loaded” degenerates into two clusters (Fig. 2)"]["status"] == (
        "reproduced" if res["beta.top_of_K_least_loaded.nonempty_buckets"] <= 2 else "not reproduced")
    # an interval across zero is a tie, whatever the sign of the difference
    _cmp(res, f"{a}.cmp.bliss_fixed_vs_ivf_kmeans", 0.024, -0.001, 0.05)
    assert "The fixed BLISS ties with IVF" in R.discussion_markdown(res, **PARAMS)


def test_settings_and_leakage_follow_the_parameters():
    from zsl_lib.experiments import verdicts as V

    params = dict(epochs=60, beta_points=256, n_seeds=3, cluster_counts=[2, 4, 11, 13, 20, 22], ann_dataset="cifar10",
                  ann_split="test", ann_encoder="resnet56-cifar10", ann_buckets=64, ann_repetitions=4, ann_epochs=10,
                  ann_neighbors=32, ann_batch_size=64, ann_hidden=512, zs_dataset="tiny-imagenet", zs_split="val",
                  zs_encoder="efficientnet-lite0", zs_models=16, zs_metaclasses=40, zs_rerank=None)
    assert set(params) == set(R.SETTING_PARAMS)
    table = V.settings_table(params, R.source_settings(params)).set_index("setting")
    img = "CIFAR setting, BLISS on image features"
    assert table.loc[f"{img}: buckets B", "this run"] == "64" and table.loc[f"{img}: buckets B", "source"] == "20"
    assert table.loc[f"{img}: training epochs T", ["this run", "source"]].tolist() == ["10", "60"]
    assert table.loc[f"{img}: true neighbours per target P", ["this run", "source"]].tolist() == ["32", "128"]
    assert table.loc[f"{img}: hidden units of each network", "this run"] == "512"
    assert "training epochs T, Beta and cluster settings" not in table.index  # 60 as in the report
    assert f"{img}: batch size" not in table.index
    params["ann_epochs"] = 60
    assert f"{img}: training epochs T" not in V.settings_table(params, R.source_settings(params)).setting.tolist()
    leak = R.leakage(params)
    assert any("EfficientNet-Lite0 was trained on ImageNet-1k" in ln and "novel" in ln for ln in leak)
    assert not any("ImageNet-1k" in ln for ln in R.leakage({**params, "zs_dataset": "cifar100"}))


def test_flipped_orderings_flip_the_sentences(committed):
    res = copy.deepcopy(committed)
    a = "ann.cifar10"
    res[f"{a}.bliss_fixed.recall_at_10"] = 0.85
    res["beta.official_init.nonempty_buckets"] = 5.0
    res["clusters.kaiming_triplet.11.v_measure"] = 0.60  # now the highest mean of the three at 11
    res["clusters.fixed.20.v_measure"] = 0.50  # no longer above every report setting at 20
    t = R.discussion_markdown(res, **PARAMS)
    assert "The bias does not reproduce in the Beta setting" in t
    assert "the official initialisation uses 5 of the 5 buckets" in t
    assert "Kaiming + cross-entropy the highest mean of the three at 5 of 6 cluster counts" in t
    assert "At 2 clusters: " in t
    # the recall order follows the numbers: IVF listed first now
    assert t.index("k-means IVF (FAISS IndexIVFFlat) 0.900") < t.index("fixed BLISS 0.850")


def test_fast_preset_sentence_follows_its_record(committed):
    a = "ann.cifar10"
    res = {k: v for k, v in committed.items() if ".bliss_fast." not in k}
    assert "fast preset" not in R.discussion_markdown(res, **PARAMS)  # records from before the preset
    ivf = res[f"{a}.ivf_kmeans.recall_at_10"]
    res[f"{a}.bliss_fast.build_seconds"] = 100 * res[f"{a}.ivf_kmeans.build_seconds"]
    res[f"{a}.bliss_fast.recall_at_10"] = ivf - 0.1
    t = R.discussion_markdown(res, **PARAMS)
    assert f"100 times IVF's build, and recalls {R.fmt(ivf - 0.1)} at 5%." in t
    drop = {k: v for k, v in res.items() if ".cmp.bliss_fast_vs_ivf_kmeans." not in k}
    assert "It reaches IVF" not in R.discussion_markdown(drop, **PARAMS)  # no recorded interval: no verdict


def test_seed_noise_sentence_needs_the_std_keys(committed):
    res = {k: v for k, v in committed.items() if not k.endswith("v_measure_std")}
    assert "standard deviations" not in R.discussion_markdown(res, **PARAMS)
    for s in R.REPORT_THREE:
        for c in (2, 4, 11, 13, 20, 22):
            res[f"clusters.{s}.{c}.v_measure_std"] = 0.08
    t = R.discussion_markdown(res, **PARAMS)
    assert "Our standard deviations over 3 seeds (0.080 for the V-measure)" in t and "within noise" in t
    for k in [k for k in res if k.endswith("v_measure_std")]:
        res[k] = 0.001
    t = R.discussion_markdown(res, **PARAMS)
    assert "exceed 0 of the report's 18 differences" in t and "within noise" not in t


def smoke_like(res: dict) -> dict:
    """The committed record cut to what the smoke profile records: the cluster grid at 4 clusters
    only, one seed."""
    out = {k: v for k, v in res.items() if not re.match(r"clusters\.\w+\.(2|11|13|20|22)\.", k)}
    out["clusters.n_seeds"] = 1
    out["clusters.fixed.beats_report_v_measure_at"] = [4]
    return out


def test_smoke_keys_render(committed):
    t = R.discussion_markdown(smoke_like(committed), ann_queries=100, ann_repetitions=2, ann_hidden=128,
                              zs_limit_per_class=5, zs_novel=20, zs_support=2, zs_models=2, zs_metaclasses=10)
    assert "1 seed of the cluster grid" in t
    assert "at 4 clusters" in t and "at 2 clusters" not in t
    assert "Kaiming + cross-entropy the highest mean of the three at 4 clusters (in the report: also)" in t
    assert "Not in this run's record" not in t


def test_missing_sections_are_named_not_raised(committed):
    res = {k: v for k, v in committed.items() if not k.startswith(("ann.", "zeroshot."))}
    t = R.discussion_markdown(res, **PARAMS)
    assert "Not in this run's record" in t and "CIFAR-10 index comparison" in t and "BLISSNet zero-shot" in t
    assert "**Real features" not in t
    assert "Figs. 12-13 are shown" not in t
    # another dataset than the recorded one: its keys are absent
    t = R.discussion_markdown(committed, ann_dataset="cifar100", zs_dataset="cifar100")
    assert "the CIFAR-100 index comparison" in t and "BLISSNet zero-shot experiment on CIFAR-100" in t
    t = R.discussion_markdown({})
    assert t.startswith("Numbers below are read from this run's record.")
    assert "the Beta setting" in t and "the cluster grid" in t
