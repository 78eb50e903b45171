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
    assert f"by {R.fmt(r[f'{a}.bliss_fixed_minus_ivf'])} at" in text
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

    for v in committed.values():
        add(v)
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
    assert "Kaiming + cross-entropy the best of the three at every cluster count (in the report: at 4 of 6)" in text
    # (a triplet fit moves with the last float bit, see zsl_lib.index.bliss: on the machine of the
    # current record random-init triplet is below Kaiming + triplet at 4 clusters only)
    assert "matches or beats Kaiming + triplet in our runs at 2, 11, 13, 20 and 22 clusters, while it is the worst" in text
    assert "higher V-measure than every report setting at 4, 11, 13, 20 and 22 clusters" in text
    assert "At 2 clusters it does not" in text
    assert "The fixed BLISS beats IVF by" in text
    assert "so on seen classes BLISSNet is better" in text
    assert "the placement, not the seen-class classifiers, is where BLISSNet loses to NCM" in text
    assert "Not in this run's record" not in text


def test_flipped_orderings_flip_the_sentences(committed):
    res = copy.deepcopy(committed)
    a, z = "ann.cifar10", "zeroshot.tiny-imagenet"
    res[f"{a}.bliss_fixed.recall_at_10"] = 0.85
    res[f"{a}.bliss_fixed_minus_ivf"] = 0.85 - res[f"{a}.ivf_kmeans.recall_at_10"]
    res[f"{z}.seen_top1"] = 0.5
    res["beta.official_init.nonempty_buckets"] = 5.0
    res["clusters.kaiming_triplet.11.v_measure"] = 0.60  # now the best of the three at 11
    res["clusters.fixed.20.v_measure"] = 0.50  # no longer above every report setting at 20
    t = R.discussion_markdown(res, **PARAMS)
    assert "The fixed BLISS trails IVF by 0.050" in t
    assert "on seen classes BLISSNet is not better" in t
    assert "BLISSNet is below NCM on both novel and seen classes" in t
    assert "The bias does not reproduce in the Beta setting" in t
    assert "the official initialisation uses 5 and" in t
    assert "Kaiming + cross-entropy the best of the three at 5 of 6 cluster counts" in t
    assert "at 4, 11, 13 and 22 clusters" in t and "At 20 clusters it does not (0.500" in t
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
    assert f"100 times IVF's build, and recalls {R.fmt(ivf - 0.1)} at 5%, below IVF; it reaches" in t
    res[f"{a}.bliss_fast.recall_at_10"] = ivf + 0.01
    t = R.discussion_markdown(res, **PARAMS)
    assert f"recalls {R.fmt(ivf + 0.01)} at 5%, above IVF." in t


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
    assert "Kaiming + cross-entropy the best of the three at 4 clusters (in the report: also)" in t
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
