"""Notebook 02: agreement F1 in both orientations and as the author's code scores it (issue 15),
the numbers the closing discussion quotes, and the report rendered from recorded values."""

from __future__ import annotations

import matplotlib
import numpy as np
import pytest
from sklearn.metrics import f1_score
from test_tourney import OPTIONS, Recorder, fake_inputs

from zsl_lib.experiments import tourney as E
from zsl_lib.experiments import tourney_report as R
from zsl_lib.experiments import verdicts as V
from zsl_lib.metrics.stats import micro_fbeta_statistic

matplotlib.use("Agg")


def test_agreement_f1_orientations_hand_example():
    t = np.array([0, 0, 0, 0, 1, 1])
    i = np.array([0, 0, 1, 1, 1, 1])
    # text as reference: class 0 (support 4): P=1, R=0.5 -> 2/3; class 1 (support 2): P=0.5, R=1 -> 2/3
    assert E.agreement_f1(t, i) == pytest.approx(2 / 3)
    # image as reference: class 0 (support 2): P=0.5, R=1 -> 2/3; class 1 (support 4): P=1, R=0.5 -> 2/3
    assert E.agreement_f1(t, i, reference="image") == pytest.approx(2 / 3)
    t2 = np.array([0, 0, 0, 1, 1, 2])
    i2 = np.array([0, 0, 1, 1, 2, 2])
    assert E.agreement_f1(t2, i2, reference="image") == pytest.approx(f1_score(i2, t2, average="weighted"))
    assert E.agreement_f1(t2, i2, reference="image") != pytest.approx(E.agreement_f1(t2, i2))
    with pytest.raises(ValueError, match="reference"):
        E.agreement_f1(t2, i2, reference="both")


def test_orientation_reference_follows_the_authors_code():
    assert [E.orientation_reference(o, "base") for o in E.ORIENTATIONS] == ["text", "image", "text"]
    assert [E.orientation_reference(o, "pairwise") for o in E.ORIENTATIONS] == ["text", "image", "image"]
    with pytest.raises(ValueError, match="orientation"):
        E.orientation_reference("mixed", "base")


@pytest.fixture(scope="module")
def run():
    inp = fake_inputs()
    binary = E.run_binary_stage(inp, OPTIONS, undecided_base=0.03, undecided_pairwise=0)
    sides = E.modality_sides(inp, True)
    stages = E.run_stages(sides, inp.class_names, OPTIONS)
    return inp, binary, sides, stages


def test_orientation_table_against_sklearn(run):
    inp, binary, sides, stages = run
    rec = Recorder()
    tab = E.orientation_table(binary, stages, rec)
    for stage, st in (("multiclass", stages), ("binary", binary)):
        for m in ("base", "pairwise"):
            t, i = getattr(st["text"], m), getattr(st["image"], m)
            text_ref, image_ref = f1_score(t, i, average="weighted"), f1_score(i, t, average="weighted")
            assert rec[f"agreement_orientation.text_reference.{stage}.{m}"] == pytest.approx(text_ref)
            assert rec[f"agreement_orientation.image_reference.{stage}.{m}"] == pytest.approx(image_ref)
            assert tab.loc[(stage, m), "article"] == E.SOURCE[f"agreement_f1_weighted.{stage}.{m}"]
        for m in ("base", "pairwise"):
            t, i = getattr(st["text"], m), getattr(st["image"], m)
            author_col = tab.loc[(stage, m), "ours: as the author's code (see note)"]
            if stage == "multiclass":
                author = f1_score(t, i, average="weighted") if m == "base" else f1_score(i, t, average="weighted")
                assert rec[f"agreement_orientation.author_code.{stage}.{m}"] == pytest.approx(author)
                assert author_col == pytest.approx(author)
            else:
                # the author's code scores the binary stage as plain binary F1 of class 0 (text as
                # reference for both models), not as a weighted F1: nothing recorded under the
                # orientation key, the table shows the binary F1
                assert f"agreement_orientation.author_code.binary.{m}" not in rec
                assert author_col == pytest.approx(f1_score(t == 0, i == 0))
    u, i = stages[E.UNMASKED].pairwise, stages["image"].pairwise
    assert rec["titles_unmasked.agreement_orientation.author_code.multiclass.pairwise"] == pytest.approx(
        f1_score(i, u, average="weighted"))


def test_author_binary_f1_counts_undecided_as_the_other_class():
    t = np.array([0, 0, 0, 1, 2, 2])
    i = np.array([0, 2, 1, 0, 0, 1])
    # class 0: text 3 items, image hits 1 of them, image says 0 twice more -> P 1/3, R 1/3
    assert E.author_binary_f1(t, i) == pytest.approx(1 / 3)
    assert E.author_binary_f1(t, i) == pytest.approx(f1_score(t == 0, i == 0))
    assert E.author_binary_f1(t, i) != pytest.approx(f1_score(t, i, average="weighted"))
    with pytest.raises(ValueError, match="same shape"):
        E.author_binary_f1(t, i[:3])


def test_bootstrap_statistics_equal_the_scores_they_resample():
    rng = np.random.default_rng(0)
    t, i = rng.integers(0, 5, 200), rng.integers(0, 5, 200)
    i[:5] = 4  # a label missing from one side
    t[t == 3] = 2
    stat = E.weighted_f1_statistic(5)
    assert stat(E.weighted_f1_counts(t, i, 5).mean(0)) == pytest.approx(f1_score(t, i, average="weighted"))
    assert stat(E.weighted_f1_counts(i, t, 5).mean(0)) == pytest.approx(f1_score(i, t, average="weighted"))
    b_t, b_i = rng.integers(0, 3, 200), rng.integers(0, 3, 200)
    f1 = micro_fbeta_statistic(1.0)(E.binary_f1_counts(b_t, b_i).mean(0))
    assert f1 == pytest.approx(E.author_binary_f1(b_t, b_i))


def test_record_comparisons_intervals_around_the_recorded_differences(run):
    inp, binary, sides, stages = run
    rec = Recorder()
    E.binary_table(binary, inp.binary_labels, rec)
    E.agreement_table(stages, E.binary_table(binary, inp.binary_labels, Recorder()), rec)
    E.truth_table(stages, sides, inp.labels, logreg_folds=3, seed=0, record=rec)
    keys = E.record_comparisons(binary, stages, inp.labels, rec)
    for key in keys:
        assert rec[f"{key}.lo"] <= rec[f"{key}.diff"] <= rec[f"{key}.hi"], key
        assert rec[f"{key}.n"] == len(inp) and rec[f"{key}.method"] == "paired bootstrap"
    assert rec["cmp.agreement.pairwise_vs_base.diff"] == pytest.approx(
        rec["agreement_f1_weighted.multiclass.pairwise"] - rec["agreement_f1_weighted.multiclass.base"])
    assert rec["titles_unmasked.cmp.agreement.one_vs_rest_vs_base.diff"] == pytest.approx(
        rec["titles_unmasked.agreement_f1_weighted.multiclass.one_vs_rest"]
        - rec["titles_unmasked.agreement_f1_weighted.multiclass.base"])
    assert rec["cmp.binary.author_f1.base_vs_pairwise.diff"] == pytest.approx(
        rec["binary.author_f1.base"] - rec["binary.author_f1.pairwise"])
    assert rec["cmp.accuracy.image.logreg_vs_pairwise.diff"] == pytest.approx(
        rec["accuracy.image.logreg"] - rec["accuracy.image.pairwise"])
    assert rec["cmp.accuracy.text.unmasked_vs_masked.base.diff"] == pytest.approx(
        rec["titles_unmasked.accuracy.text.base"] - rec["accuracy.text.base"])
    # without labels: only the agreement comparisons
    no_labels = E.record_comparisons(binary, stages, None, Recorder())
    assert no_labels and not [k for k in no_labels if ".accuracy." in k]


def test_discussion_numbers_against_naive_loops(run):
    inp, binary, sides, stages = run
    rec = Recorder()
    E.discussion_numbers(binary, stages, inp.labels, inp.class_names, rec)
    assert rec["binary.undecided_share.text.base"] == pytest.approx(
        sum(int(v == 2) for v in binary["text"].base) / len(inp))
    labels = list(inp.labels)
    assert rec["accuracy.majority_class"] == pytest.approx(max(labels.count(c) for c in set(labels)) / len(labels))
    pred = stages["image"].pairwise
    for c, name in enumerate(inp.class_names):
        idx = [k for k, v in enumerate(labels) if v == c]
        assert rec["per_class_recall.image.pairwise"][name] == pytest.approx(
            sum(int(pred[k] == c) for k in idx) / len(idx))
    assert rec["pairs.image.embedding_width"] == inp.image.shape[1]
    rec2 = Recorder()
    E.discussion_numbers(binary, stages, None, inp.class_names, rec2)
    assert "accuracy.majority_class" not in rec2 and "pairs.text.mean_dims" in rec2


@pytest.fixture(scope="module")
def recorded(run):
    inp, binary, sides, stages = run
    rec = Recorder()
    E.binary_table(binary, inp.binary_labels, rec)
    E.agreement_table(stages, E.binary_table(binary, inp.binary_labels, Recorder()), rec)
    E.orientation_table(binary, stages, rec)
    E.truth_table(stages, sides, inp.labels, logreg_folds=3, seed=0, record=rec)
    E.discussion_numbers(binary, stages, inp.labels, inp.class_names, rec)
    E.bracket_risk_table(stages, sides, inp.labels, n_bracket_seeds=3, seed=0, record=rec)
    E.record_comparisons(binary, stages, inp.labels, rec)
    rec["n_items"], rec["n_classes"], rec["titles_masked"] = len(inp), len(inp.class_names), True
    return dict(rec)


def _plant(res, key, lo, hi):
    """A copy of ``res`` whose comparison ``key`` has the interval [lo, hi]."""
    return dict(res) | {f"{key}.diff": (lo + hi) / 2, f"{key}.lo": lo, f"{key}.hi": hi}


def test_report_renders_recorded_numbers_and_fails_on_a_missing_key(recorded):
    res = dict(recorded)
    text = R.closing_discussion(res, cutoff=1.1, cos_limit=0.1, cos_diff=0.02)
    for key in ("agreement_orientation.author_code.multiclass.pairwise", "accuracy.image.pairwise",
                "agreement_f1_weighted.binary.base", "binary.author_f1.pairwise",
                "titles_unmasked.agreement_f1_weighted.multiclass.pairwise"):
        assert f"{res[key]:.3f}" in text, key
    assert "0.613 → 0.889" in text  # the article's, from SOURCE
    # the comparable setting (titles as they are) comes before the masked one
    assert text.index("titles as they are (the article's setting)") < text.index("class words masked")
    res["agreement_orientation.author_code.multiclass.pairwise"] = 0.123456
    assert "0.123" in R.closing_discussion(res, cutoff=1.1, cos_limit=0.1, cos_diff=0.02)
    del res["binary.author_f1.base"]
    with pytest.raises(KeyError, match="binary.author_f1.base"):
        R.closing_discussion(res, cutoff=1.1, cos_limit=0.1, cos_diff=0.02)


def test_verdict_words_follow_the_recorded_interval(recorded):
    key = "titles_unmasked.cmp.agreement.pairwise_vs_base"
    up = R.closing_discussion(_plant(recorded, key, 0.02, 0.05), cutoff=1.1, cos_limit=0.1, cos_diff=0.02)
    down = R.closing_discussion(_plant(recorded, key, -0.05, -0.02), cutoff=1.1, cos_limit=0.1, cos_diff=0.02)
    tie = R.closing_discussion(_plant(recorded, key, -0.01, 0.02), cutoff=1.1, cos_limit=0.1, cos_diff=0.02)
    assert "pairwise beats base: +3.5 points" in up
    assert "pairwise is below base: -3.5 points" in down
    assert "pairwise ties with base" in tie
    status = {True: "reproduced", False: "not reproduced"}
    for (lo, hi), ok in (((0.02, 0.05), True), ((-0.01, 0.02), False), ((-0.05, -0.02), False)):
        line = R.summary_lines(_plant(recorded, key, lo, hi), {"source": "fashion-products"})[0]
        assert line["status"] == status[ok] and "titles as they are" in line["evidence"]
    # the binary claim: the article's base above its pairwise model, as the author's code scores it
    bkey = "cmp.binary.author_f1.base_vs_pairwise"
    line = [ln for ln in R.summary_lines(_plant(recorded, bkey, 0.01, 0.03)) if ln["claim"].startswith("Binary")][0]
    assert line["status"] == "reproduced" and "as the author's code" in line["evidence"]
    table = R.comparison_table(_plant(recorded, key, -0.05, -0.02))
    row = table[(table["measure"] == "agreement (text as reference)") & (table["A"] == "pairwise tourney")
                & (table["B"] == "base model")].iloc[0]
    assert row["titles"].startswith("titles as they are") and row["verdict"] == "A is below B"
    assert not [c for c in table.columns if "_" in c] and not table.isna().any().any()


def test_settings_table_follows_the_parameters(recorded):
    params = {"source": "fashion-products", "prompt_set": "fashion13", "binary_prompt_set": "fashion-apparel-vs-footwear",
              "image_encoder": "lit-fashion", "text_encoder": "minilm", "mask_titles": True,
              "multiclass_items": "all", "cutoff": 1.1, "cos_limit": 0.1, "cos_diff": 0.02,
              "max_items_per_class": 1500, "undecided_base": 0.03, "undecided_pairwise": 0.0,
              "ovr_cutoff": 1.05, "ovr_max_dims": 10, "limit": 0, "reshuffle_each_round": True}
    table = V.settings_table(params, R.source_settings(params, recorded))
    settings = list(table["setting"])
    for s in ("data", "image encoder", "text encoder (titles and prompts)", "titles", "cosine limit"):
        assert s in settings, s
    assert "cutoff" not in settings  # the author's value
    changed = V.settings_table(params | {"cutoff": 1.2, "mask_titles": False},
                               R.source_settings(params | {"cutoff": 1.2}, recorded))
    assert "cutoff" in list(changed["setting"]) and "titles" not in list(changed["setting"])
    sqid = V.settings_table(params | {"source": "sqid"}, R.source_settings(params | {"source": "sqid"}, recorded))
    assert "image encoder" not in list(sqid["setting"]) and "data" not in list(sqid["setting"])
    text = R.settings_section(params, recorded)
    assert text.startswith("## Settings against the source") and "align items" in text


def test_headline_figure_comparable_setting_first_and_labels_apart(recorded):
    fig = R.plot_headline(recorded)
    multi, binary = fig.axes[0], fig.axes[1]
    labels = [t.get_text() for t in multi.get_yticklabels()]
    assert labels[0].startswith("the article") and labels[1].startswith("titles as they are")
    assert not [lab for ax in fig.axes for t in ax.get_yticklabels() if "_" in (lab := t.get_text())]
    widths = [p.get_width() for p in binary.patches]
    assert 0.661 in widths and recorded["binary.author_f1.base"] in widths
    # horizontal bars: tick labels sit on separate rows, none overlaps another
    fig.canvas.draw()
    boxes = [t.get_window_extent() for t in multi.get_yticklabels()]
    assert all(not a.overlaps(b) for k, a in enumerate(boxes) for b in boxes[k + 1:])


def test_gain_plot_shades_the_few_dimension_stretch_and_keeps_the_legend_off_the_data():
    import pandas as pd

    df = pd.DataFrame({"cutoff": [1.0, 1.1, 1.2, 1.3, 1.4], "n_dims": [40, 10, 3, 2, 1],
                       "cos_a": [0.3] * 5, "cos_b": [0.2] * 5, "gain": [0.1] * 5,
                       "margin": [0.05, 0.1, 0.2, 0.3, 0.3]})
    df.attrs.update(full_gain=0.05, full_margin=0.02)
    assert E.few_dims_cutoff(df) == 1.3
    note = E.gain_plateau_note({"image": df, "text": df.iloc[:3]})
    assert "image: from cutoff 1.30 on only 1–2 dimension(s) remain (2 of the sweep's 5 cutoffs)" in note
    assert "text: more than 2 dimensions remain up to the sweep's last cutoff (1.20)" in note
    fig = E.plot_gain_vs_cutoff({"image": df, "text": df.iloc[:3]}, ("A", "B"), "t")
    assert not [ax for ax in fig.axes if ax.get_legend() is not None]  # no legend over the data
    (legend,) = fig.legends
    assert legend.get_frame().get_alpha() == 1.0
    assert "2 or fewer dimensions left" in [t.get_text() for t in legend.get_texts()]
    fig.canvas.draw()
    top = min(ax.get_window_extent().y0 for ax in fig.axes)
    assert legend.get_window_extent().y1 <= top  # below every panel


def test_orientation_table_carries_both_title_runs_labelled(run):
    """The displayed table is rendered from the record: the multiclass stage once with the titles
    as they are (first) and once with the class words masked, each labelled, then the binary stage
    on the run's (masked) text side."""
    inp, binary, sides, stages = run
    rec = Recorder()
    rec["titles_masked"] = True
    E.agreement_table(stages, E.binary_table(binary, inp.binary_labels, rec), rec)
    E.orientation_table(binary, stages, rec)
    tab = R.orientation_table(dict(rec))
    titles = [t for _, t, _ in tab.index]
    unmasked, masked = "titles as they are (the article's setting)", \
        "class words masked in the titles (not the article's setting)"
    assert titles == [unmasked, unmasked, masked, masked, masked, masked]
    assert [s for s, _, _ in tab.index] == ["multiclass"] * 4 + ["binary"] * 2
    col = "ours: text as reference"
    assert tab.loc[("multiclass", unmasked, "pairwise tourney"), col] == pytest.approx(
        f1_score(stages[E.UNMASKED].pairwise, stages["image"].pairwise, average="weighted"))
    assert tab.loc[("multiclass", masked, "pairwise tourney"), col] == pytest.approx(
        f1_score(stages["text"].pairwise, stages["image"].pairwise, average="weighted"))
    assert tab.loc[("binary", masked, "base model"), "ours: as the author's code (see note)"] == \
        rec["binary.author_f1.base"]
    text = V.md_table(tab, digits=3)
    assert "nan" not in text and "titles_unmasked" not in text
    # a run without masking: one title setting, named as such
    plain = {k: v for k, v in rec.items() if not k.startswith("titles_unmasked.")} | {"titles_masked": False}
    assert {t for _, t, _ in R.orientation_table(plain).index} == {unmasked}


def test_text_side_panels_say_which_titles(run):
    inp, binary, sides, stages = run
    names = E.side_names(True)
    ratios = E.pair_ratios(stages, 0, names)
    assert [k.split(":")[0] for k in ratios] == ["image", "text, class words masked in the titles"]
    tables = E.gain_tables(stages, sides, *stages["image"].model.pairs_[0], 0, np.linspace(1.0, 1.3, 4), names)
    assert list(tables) == ["image", "text, class words masked in the titles"]
    assert list(E.gain_summary(stages, tables, 0, 1.1).index) == list(tables)
    assert "text, class words masked in the titles:" in E.gain_plateau_note(tables)
    assert E.side_names(False)["text"] == "text, titles as they are"
    assert list(E.gain_tables(stages, sides, *stages["image"].model.pairs_[0], 0, [1.1])) == ["image", "text"]


def test_leakage_states_the_same_catalogue_projection():
    lines = R.leakage_lines({"source": "fashion-products", "image_encoder": "lit-fashion"})
    assert "same fashion-products catalogue" in lines[0] and "titles as they are" in lines[0]
    assert not any(line.startswith("None known") for line in lines)
    masked = R.leakage_lines({"source": "fashion-products", "image_encoder": "lit-fashion-masked"})
    assert "class words masked" in masked[0]
    assert R.leakage_lines({"source": "sqid", "image_encoder": "openclip:ViT-L-14/openai"}) == []
    section = R.settings_section({"source": "fashion-products", "image_encoder": "lit-fashion",
                                  "text_encoder": "minilm", "prompt_set": "fashion13", "mask_titles": True,
                                  "binary_prompt_set": "fashion-apparel-vs-footwear", "multiclass_items": "all",
                                  "cos_limit": 0.1}, {"n_items": 100, "n_classes": 13})
    assert "same fashion-products catalogue" in section and "None known" not in section
