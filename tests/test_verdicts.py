"""The paired intervals behind every verdict, and the shared page parts (zsl_lib.experiments.verdicts)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from zsl_lib.experiments import verdicts as V
from zsl_lib.metrics.stats import (
    micro_fbeta_statistic,
    multilabel_counts,
    paired_bootstrap,
    seed_interval,
)


def naive_paired_bootstrap(a, b, n_boot, seed, stat):
    """Reference: one resample at a time, the same draw as paired_bootstrap's chunked path."""
    rng = np.random.default_rng(seed)
    n = len(a)
    idx = rng.integers(0, n, size=(n_boot, n))
    diffs = [stat(a[i].mean(0)) - stat(b[i].mean(0)) for i in idx]
    return np.quantile(diffs, [0.025, 0.975])


def test_bootstrap_matches_a_naive_loop():
    rng = np.random.default_rng(1)
    a = rng.random(200)
    b = a - 0.05 + 0.1 * rng.standard_normal(200)
    out = paired_bootstrap(a, b, n_boot=500, seed=3)
    lo, hi = naive_paired_bootstrap(a[:, None], b[:, None], 500, 3, lambda m: m[0])
    assert out["diff"] == pytest.approx(a.mean() - b.mean())
    assert (out["lo"], out["hi"]) == pytest.approx((lo, hi))
    assert out["lo"] > 0  # a clear, paired improvement is detected


def test_bootstrap_is_paired():
    """Two methods that differ by a constant on noisy items: a paired interval is tight, an
    unpaired view (shuffling b) would not be."""
    rng = np.random.default_rng(0)
    base = rng.random(300)
    out = paired_bootstrap(base + 0.01, base, n_boot=500)
    assert out["lo"] == pytest.approx(0.01) and out["hi"] == pytest.approx(0.01)
    shuffled = paired_bootstrap(base + 0.01, rng.permutation(base), n_boot=500)
    assert shuffled["hi"] - shuffled["lo"] > 0.02


def test_bootstrap_of_micro_f2_over_item_counts():
    rng = np.random.default_rng(2)
    T = rng.random((150, 6)) < 0.3
    Pa = T ^ (rng.random((150, 6)) < 0.1)
    Pb = T ^ (rng.random((150, 6)) < 0.3)
    f2 = micro_fbeta_statistic(2.0)
    ca, cb = multilabel_counts(T, Pa), multilabel_counts(T, Pb)
    out = paired_bootstrap(ca, cb, statistic=f2, n_boot=300, seed=5)
    from sklearn.metrics import fbeta_score
    want = fbeta_score(T, Pa, beta=2, average="micro") - fbeta_score(T, Pb, beta=2, average="micro")
    assert out["diff"] == pytest.approx(want)
    lo, hi = naive_paired_bootstrap(ca, cb, 300, 5, f2)
    assert (out["lo"], out["hi"]) == pytest.approx((lo, hi))


def test_seed_interval_is_the_t_interval():
    a, b = np.array([0.5, 0.55, 0.52]), np.array([0.45, 0.47, 0.50])
    d = a - b
    half = stats.t.ppf(0.975, 2) * d.std(ddof=1) / np.sqrt(3)
    out = seed_interval(a, b)
    assert (out["lo"], out["hi"]) == pytest.approx((d.mean() - half, d.mean() + half))


@pytest.mark.parametrize("bad", [dict(a=[], b=[]), dict(a=[1.0, np.nan], b=[1.0, 2.0]),
                                 dict(a=[1.0, 2.0], b=[1.0, 2.0, 3.0])])
def test_bad_inputs_name_the_problem(bad):
    with pytest.raises(ValueError, match="paired_bootstrap"):
        paired_bootstrap(bad["a"], bad["b"])


def test_decisions_and_words():
    rec = {}
    V.record_comparison("cmp.x", {"diff": 0.03, "lo": 0.01, "hi": 0.05, "n": 500, "method": "m"},
                        rec.__setitem__)
    V.record_comparison("cmp.y", {"diff": 0.01, "lo": -0.01, "hi": 0.03, "n": 500, "method": "m"},
                        rec.__setitem__)
    V.record_comparison("cmp.z", {"diff": -0.03, "lo": -0.05, "hi": -0.01, "n": 500, "method": "m"},
                        rec.__setitem__)
    assert [V.decision(V.read_comparison(rec, k)) for k in ("cmp.x", "cmp.y", "cmp.z")] == \
        ["higher", "tie", "lower"]
    assert V.verdict(rec, "cmp.x", "A", "B") == "A beats B: +3.0 points (95 % interval +1.0 to +5.0)"
    assert V.verdict(rec, "cmp.y", "A", "B").startswith("A ties with B")
    assert V.verdict(rec, "cmp.missing", "A", "B") is None
    assert V.ordering_holds(rec, ["cmp.x", "cmp.y"]) is False
    assert V.ordering_holds(rec, ["cmp.x"]) is True
    assert V.ordering_holds(rec, ["cmp.x", "cmp.missing"]) is None
    line = V.claim_line(rec, "cmp.z", "A beats B")
    assert line["status"] == "not reproduced" and line["evidence"].startswith("reversed")
    md = V.summary_markdown([line, V.claim_line(rec, "cmp.x", "C beats D"),
                             V.claim_line(rec, "cmp.none", "E beats F")])
    assert md.index("**Reproduced**") < md.index("C beats D") < md.index("**Not reproduced**")
    assert "**Could not be tested offline**" in md


def test_fmt_uses_the_digits_the_spread_supports():
    assert V.fmt(0.2221, spread=0.002948) == "0.222"
    assert V.fmt(0.2221, spread=0.02, scale=100, unit=" %") == "22 %"
    assert V.fmt(43.758) == "43.8"
    assert V.fmt(0.0312, digits=1, scale=100, signed=True) == "+3.1"
    assert V.fmt(None) == "n/a"


def test_settings_table_follows_the_parameters():
    settings = [
        {"setting": "hidden units", "param": "hidden", "source": 4096, "why": "time"},
        {"setting": "noise alpha", "param": "alpha", "source": 0.2, "why": "tuned"},
        {"setting": "image encoder", "ours": "EfficientNet-Lite0", "source": "ResNet-101", "why": "offline"},
    ]
    t = V.settings_table({"hidden": 256, "alpha": 0.2}, settings)
    assert list(t.setting) == ["hidden units", "image encoder"]
    assert list(V.settings_table({"hidden": 4096, "alpha": 0.02}, settings).setting) == \
        ["noise alpha", "image encoder"]
    with pytest.raises(KeyError, match="hidden"):
        V.settings_table({}, settings)
    md = V.settings_markdown({"hidden": 256, "alpha": 0.2}, settings, leakage=["X saw Y"])
    assert "| hidden units | 256 | 4096 | time |" in md and "- X saw Y" in md


def test_md_table_is_plain_markdown():
    df = pd.DataFrame({"method": ["a", "b"], "p@10 (%)": [43.7583, np.nan], "holds": [True, False]})
    md = V.md_table(df, digits=1, index=False)
    assert md.splitlines()[2] == "| a | 43.8 | yes |"
    assert md.splitlines()[3] == "| b | – | no |"
    assert "<" not in md and "NaN" not in md


def test_long_table_saves_csv_and_links(tmp_path, monkeypatch):
    from zsl_lib import record
    monkeypatch.setenv("ZSL_RESULTS_DIR", str(tmp_path / "results"))
    monkeypatch.setenv("ZSL_FIGURES_DIR", str(tmp_path / "figures"))
    monkeypatch.delenv("ZSL_RUN_DIR", raising=False)
    record.start("99-test", reset=True)
    df = pd.DataFrame({"k": range(40), "v": np.linspace(0, 1, 40)})
    md = V.long_table(df, "grid", summary=df.tail(3), max_rows=30)
    saved = tmp_path / "results" / "99-test-grid.csv"
    assert pd.read_csv(saved).shape == (40, 2)
    assert "(40 rows)" in md and "../results/99-test-grid.csv" in md
    assert len(md.splitlines()) < 10
    assert V.long_table(df.head(5), "small") .count("\n") == 7


def test_a_claim_that_holds_on_two_of_three_rows_is_partly_reproduced():
    assert V.rows_status([True, True, False]) == "partly reproduced"
    assert V.rows_status([True, None, True]) == "reproduced"
    assert V.rows_status([False, False]) == "not reproduced"
    assert V.rows_status([None]) is None
    assert V.where_text({"A": True, "B": False, "C": True}) == "holds on A and C, not on B"
    assert V.where_text({"A": False, "B": False}) == "holds on none of A and B"
    md = V.summary_markdown([{"claim": "X lowers Y", "status": "partly reproduced", "evidence": "holds on A"},
                             {"claim": "Z", "status": "not testable at this data size", "evidence": "few items"}])
    assert "**Partly reproduced**" in md and "**Could not be tested at this data size**" in md
    assert "partly reproduced" in V.rules_markdown(("decision", "rows"))


def test_direction_and_magnitude_are_decided_apart():
    rec = {}
    V.record_comparison("g.small", {"diff": 0.049, "lo": 0.043, "hi": 0.054, "n": 900, "method": "m"},
                        rec.__setitem__)
    V.record_comparison("g.tie", {"diff": 0.0, "lo": -0.002, "hi": 0.001, "n": 900, "method": "m"},
                        rec.__setitem__)
    V.record_comparison("g.match", {"diff": 0.30, "lo": 0.25, "hi": 0.40, "n": 900, "method": "m"},
                        rec.__setitem__)
    small = V.effect_line(rec, "g.small", "fine-tuning gain", 0.375)
    assert small["status"] == "partly reproduced"
    assert small["evidence"].startswith("direction reproduced: +4.9 points")
    assert "magnitude not reproduced (smaller here): the source's +37.5 points lies above our whole interval" \
        in small["evidence"]
    assert V.effect_line(rec, "g.tie", "gain", 0.375)["status"] == "not reproduced"
    assert V.effect_line(rec, "g.tie", "gain", 0.375)["evidence"].startswith("direction not reproduced (a tie)")
    assert V.effect_line(rec, "g.match", "gain", 0.375)["status"] == "reproduced"
    assert V.magnitude(V.read_comparison(rec, "g.match"), 0.1) == "larger here"
    assert V.effect_line(rec, "g.none", "gain", 0.375)["status"] == "not testable offline"


def test_steps_trend_is_decided_step_by_step():
    rec = {}
    for key, (lo, hi) in {"a": (-0.3, -0.1), "b": (-0.02, 0.01), "c": (-0.2, -0.05), "d": (0.1, 0.2)}.items():
        V.record_comparison(key, {"diff": (lo + hi) / 2, "lo": lo, "hi": hi, "n": 3, "method": "seed t-interval"},
                            rec.__setitem__)
    assert V.steps_trend(rec, ["a", "c"]) == "falls at every step"
    assert V.steps_trend(rec, ["d"]) == "rises at every step"
    assert V.steps_trend(rec, ["a", "b", "b"]) == "falls at 1 of 3 steps and is flat within noise at 2"
    assert V.steps_trend(rec, ["b", "b"]) == "is flat within noise at 2 of 2 steps"
    assert V.steps_trend(rec, ["a", "d", "b"]) == "falls at 1 of 3 steps and rises at 1 and is flat within noise at 1"
    assert V.steps_trend(rec, ["a", "missing"]) is None
