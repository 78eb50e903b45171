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
            author = text_ref if m == "base" else image_ref
            assert rec[f"agreement_orientation.author_code.{stage}.{m}"] == pytest.approx(author)
            assert tab.loc[(stage, m), "article"] == E.SOURCE[f"agreement_f1_weighted.{stage}.{m}"]
    u, i = stages[E.UNMASKED].pairwise, stages["image"].pairwise
    assert rec["titles_unmasked.agreement_orientation.author_code.multiclass.pairwise"] == pytest.approx(
        f1_score(i, u, average="weighted"))


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


def test_report_renders_recorded_numbers_and_fails_on_a_missing_key(run):
    inp, binary, sides, stages = run
    rec = Recorder()
    E.binary_table(binary, inp.binary_labels, rec)
    E.agreement_table(stages, E.binary_table(binary, inp.binary_labels, Recorder()), rec)
    E.orientation_table(binary, stages, rec)
    E.truth_table(stages, sides, inp.labels, logreg_folds=3, seed=0, record=rec)
    E.discussion_numbers(binary, stages, inp.labels, inp.class_names, rec)
    E.bracket_risk_table(stages, sides, inp.labels, n_bracket_seeds=3, seed=0, record=rec)
    rec["n_items"], rec["n_classes"] = len(inp), len(inp.class_names)
    res = dict(rec)
    text = R.closing_discussion(res, cutoff=1.1, cos_limit=0.1, cos_diff=0.02)
    for key in ("agreement_orientation.author_code.multiclass.pairwise", "accuracy.image.pairwise",
                "agreement_f1_weighted.binary.base"):
        assert f"{res[key]:.3f}" in text, key
    assert "0.613 → 0.889" in text  # the article's, from SOURCE
    res["agreement_orientation.author_code.multiclass.pairwise"] = 0.123456
    assert "0.123" in R.closing_discussion(res, cutoff=1.1, cos_limit=0.1, cos_diff=0.02)
    del res["agreement_orientation.image_reference.binary.base"]
    with pytest.raises(KeyError, match="agreement_orientation.image_reference.binary.base"):
        R.closing_discussion(res, cutoff=1.1, cos_limit=0.1, cos_diff=0.02)
    fig = R.plot_headline(dict(rec))
    labels = [t.get_text() for ax in fig.axes for t in ax.get_xticklabels()]
    assert labels[0] == "article" and not [lab for lab in labels if "_" in lab]
    heights = [p.get_height() for p in fig.axes[0].patches]
    assert heights[0] == 0.613 and dict(rec)["agreement_orientation.author_code.multiclass.base"] in heights
