"""Driver of notebook 02 (pairwise tourney): inputs, the two stages, evaluation, tables, figures.

The method itself (cross-deviation dimensions, the bracket, the estimators) is
:mod:`zsl_lib.zeroshot.tourney`: arrays in, arrays out. This module feeds it:

* inputs (:mod:`zsl_lib.experiments.tourney_inputs`): the offline fashion-products ``eval`` set
  or the article's SQID parquet, as one :class:`TourneyInputs`;
* evaluation (:mod:`zsl_lib.experiments.tourney_scoring`, re-exported here): :func:`run_stage`
  (base model, tourney, round-robin, one-vs-rest), the article's score :func:`agreement_f1`, a supervised upper bound :func:`logreg_cv_predict`, the gain table
  :func:`gain_vs_cutoff`, the bracket's match-up risk;
* the notebook's steps (:func:`check_parameters` ... :func:`bracket_risk_table`), each recording
  its numbers through the ``record`` function it is given; the figures are
  :mod:`zsl_lib.experiments.tourney_figures` (re-exported here);
* :data:`SOURCE`: the article's numbers, flat dotted keys named like the recorded keys.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.metrics import accuracy_score, f1_score

from zsl_lib.data.user import BAD_IMAGES
from zsl_lib.experiments import verdicts as V

# evaluation and figures live beside this module, re-exported (noqa: F401) so that the notebook
# and the tests reach every step as ``tourney.<name>``
from zsl_lib.experiments.tourney_figures import (  # noqa: F401
    FEW_DIMS,
    few_dims_cutoff,
    gain_plateau_note,
    plot_confusions,
    plot_cross_deviation_hist,
    plot_gain_vs_cutoff,
)
from zsl_lib.experiments.tourney_inputs import SOURCES, TourneyInputs, load_inputs, user_class_names
from zsl_lib.experiments.tourney_scoring import (  # noqa: F401
    AUTHOR_BINARY_POSITIVE,
    REFERENCES,
    StageResult,
    agreement_f1,
    author_binary_f1,
    binary_f1_counts,
    bracket_seed_study,
    gain_vs_cutoff,
    logreg_cv_predict,
    run_stage,
    weighted_f1_counts,
    weighted_f1_statistic,
)
from zsl_lib.metrics.stats import micro_fbeta_statistic
from zsl_lib.validation import check_choice, check_float, check_int, check_name_list
from zsl_lib.zeroshot.prompts import PROMPT_SETS, get_prompt_set
from zsl_lib.zeroshot.tourney import PairwiseTourneyClassifier, tourney_bracket

# The article's numbers (shared/papers/02-pairwise-tourney-article.txt), keyed like the recorded
# keys. The table: weighted F1 of the image classes against the text classes. The prose gives a
# second series ("from 42% to 55% for the sub-feature cosim, to 89% for the pairwise model")
# whose base value does not match the table's 0.613: kept apart under ``prose.``.
SOURCE = {
    "agreement_f1_weighted.multiclass.base": 0.613,
    "agreement_f1_weighted.multiclass.pairwise": 0.889,
    "agreement_f1_weighted.binary.base": 0.661,
    "agreement_f1_weighted.binary.pairwise": 0.645,
    "prose.agreement.multiclass.base": 0.42,
    "prose.agreement.multiclass.one_vs_rest": 0.55,
    "prose.agreement.multiclass.pairwise": 0.89,
    # "narrowing [n,768] down to closer to 100 dimensions that matter for a class pair"
    "pairs.image.mean_dims": 100.0,
    "pairs.image.embedding_width": 768.0,
}

MULTICLASS_ITEMS = ("all", "binary_agreement")
METHODS = ("base", "one_vs_rest", "pairwise", "round_robin")
IMAGE_ENCODER_PREFIXES = ("lit-fashion", "openclip:")
UNMASKED = "text (unmasked titles)"
#: The author's code scores the base model with the text classes as the reference and the
#: pairwise model with the image classes as the reference (issue 15); ``author_code`` reproduces it.
AUTHOR_REFERENCE = {"base": "text", "pairwise": "image"}
ORIENTATIONS = ("text_reference", "image_reference", "author_code")


# --------------------------------------------------------------------------------------------
# the notebook's steps
# --------------------------------------------------------------------------------------------
def class_names_for(source: str, classes, prompt_set: str, user_images: str = "", bad_images: str = "raise") -> list[str]:
    """The class names a run will use: ``classes`` for fashion-products, the prompt set's keys for
    sqid, the folder's (or .npz's) classes for user data (the names :func:`load_inputs` gives
    ``TourneyInputs.class_names``)."""
    if source == "user":
        return user_class_names(user_images, bad_images)
    return list(classes) if source == "fashion-products" else list(get_prompt_set(prompt_set))


def example_pair_or_default(example_pair, class_names) -> list[str]:
    """``example_pair``, or the first two classes when it is empty (user data)."""
    return example_pair if len(example_pair) else list(class_names[:2])


def check_parameters(*, source, classes, prompt_set, binary_prompt_set, image_encoder,
                     mask_titles, multiclass_items, example_pair, cutoff_grid, undecided_base,
                     undecided_pairwise, limit, n_bracket_seeds, logreg_folds, seed, user_images="",
                     user_binary_group=(), bad_images="raise") -> None:
    """Notebook 02's parameters that are not options of the estimator (:func:`stage_options`
    checks those): a clear ``ValueError`` naming the parameter and the fix, before any data is
    loaded. A list parameter given as a string (papermill ``-p``) says to pass it with ``-y``."""
    check_choice("parameter source", source, SOURCES)
    check_name_list("classes", classes)
    check_choice("parameter prompt_set", prompt_set, PROMPT_SETS)
    check_choice("parameter binary_prompt_set", binary_prompt_set, PROMPT_SETS)
    if len(get_prompt_set(binary_prompt_set)) != 2:
        raise ValueError(f"parameter binary_prompt_set={binary_prompt_set!r} must name 2 classes")
    check_choice("parameter multiclass_items", multiclass_items, MULTICLASS_ITEMS)
    check_choice("parameter bad_images", bad_images, BAD_IMAGES)
    image_folder = source == "user" and not str(user_images).endswith(".npz")
    if (source == "fashion-products" or image_folder) and not str(image_encoder).startswith(IMAGE_ENCODER_PREFIXES):
        raise ValueError(
            f"parameter image_encoder={image_encoder!r} must map images into the prompts' text space: "
            "'lit-fashion' or 'lit-fashion-masked' (offline) or an 'openclip:<arch>/<pretrained>' encoder")
    names = class_names_for(source, classes, prompt_set, user_images, bad_images)
    if source == "user":
        if len(names) < 2:
            raise ValueError(f"parameter user_images: {user_images} holds {len(names)} class ({names}); the tourney "
                             "compares classes: give at least 2")
        check_name_list("user_binary_group", user_binary_group, names, allow_empty=True)
    pair = check_name_list("example_pair", example_pair_or_default(example_pair, names), names)
    if len(pair) != 2:
        raise ValueError(f"parameter example_pair: expected two class names, got {len(pair)}: {pair!r}")
    cutoff_values(cutoff_grid)
    if not isinstance(mask_titles, bool):
        raise ValueError(f"parameter mask_titles must be True or False; got {mask_titles!r}")
    check_float("parameter undecided_base (0: off)", undecided_base, low=0.0)
    check_float("parameter undecided_pairwise (0: off)", undecided_pairwise, low=0.0)
    check_int("parameter limit (0: all items)", limit, minimum=0)
    check_int("parameter n_bracket_seeds", n_bracket_seeds, minimum=1)
    check_int("parameter logreg_folds", logreg_folds, minimum=2)
    check_int("parameter seed", seed, minimum=0)


def cutoff_values(cutoff_grid) -> np.ndarray:
    """``np.arange(start, stop, step)`` of the gain sweep's ``[start, stop, step]`` (checked)."""
    if isinstance(cutoff_grid, str) or not isinstance(cutoff_grid, (list, tuple)) or len(cutoff_grid) != 3:
        raise ValueError(
            f"parameter cutoff_grid: expected a list [start, stop, step], got {cutoff_grid!r}; "
            "pass it to papermill with -y, e.g. -y \"cutoff_grid: [1.0, 1.4, 0.01]\"")
    start, stop, step = (check_float(f"parameter cutoff_grid[{i}]", v) for i, v in enumerate(cutoff_grid))
    if step <= 0 or stop <= start:
        raise ValueError(f"parameter cutoff_grid={cutoff_grid!r}: needs start < stop and step > 0")
    return np.arange(*cutoff_grid)


def stage_options(*, cutoff, cos_limit, cos_diff, max_items_per_class, max_dims,
                  reshuffle_each_round, ovr_cutoff, ovr_max_dims, seed) -> dict:
    """Keyword options of :func:`run_stage` from the notebook's parameters (0 means "off" / "no
    limit" and becomes None), each checked and named in the error."""
    for name, v in (("cutoff", cutoff), ("cos_limit", cos_limit), ("cos_diff", cos_diff),
                    ("ovr_cutoff", ovr_cutoff)):
        check_float(f"parameter {name}", v, low=None if name == "cos_limit" else 0.0)
    for name, v in (("max_items_per_class", max_items_per_class), ("max_dims", max_dims),
                    ("ovr_max_dims", ovr_max_dims)):
        check_int(f"parameter {name} (0: no limit)", v, minimum=0)
    if not isinstance(reshuffle_each_round, bool):
        raise ValueError(f"parameter reshuffle_each_round must be True or False; got {reshuffle_each_round!r}")
    return dict(
        cutoff=cutoff, cos_limit=cos_limit or None, cos_diff=cos_diff,
        max_items_per_class=max_items_per_class or None, max_dims=max_dims or None,
        reshuffle_each_round=reshuffle_each_round, ovr_cutoff=ovr_cutoff,
        ovr_max_dims=ovr_max_dims or None, random_state=seed)


def notebook_inputs(source: str, *, classes, prompt_set, binary_prompt_set, image_encoder,
                    text_encoder, image_template, text_template, mask_titles, sqid_path,
                    clip_arch, clip_pretrained, limit, seed, user_images="", user_titles_csv="",
                    user_binary_group=(), device="cpu", bad_images="raise") -> TourneyInputs:
    """:func:`load_inputs` with the notebook's parameters (empty strings and 0 mean "default");
    ``device``: torch device of every encoder that extracts features (image, text, open_clip tower)."""
    if source == "user":
        return load_inputs(source, images=user_images, titles_csv=user_titles_csv,
                           binary_group=list(user_binary_group) or None, image_encoder=image_encoder,
                           text_encoder=text_encoder, image_template=image_template,
                           text_template=text_template, mask_titles=mask_titles, limit=limit or None, seed=seed,
                           device=device, bad_images=bad_images)
    common = dict(prompt_set=prompt_set, binary_prompt_set=binary_prompt_set,
                  image_template=image_template, text_template=text_template,
                  limit=limit or None, seed=seed, device=device)
    if source == "fashion-products":
        return load_inputs(source, classes=classes, image_encoder=image_encoder,
                           text_encoder=text_encoder, mask_titles=mask_titles, **common)
    return load_inputs(source, path=sqid_path or None, clip_arch=clip_arch,
                       clip_pretrained=clip_pretrained or None, **common)


def class_table(inputs: TourneyInputs) -> pd.DataFrame:
    """One row per class: its name, image and text prompts, and items per class (None: no labels)."""
    labels = inputs.labels
    return pd.DataFrame({
        "class": inputs.class_names,
        "image prompt": inputs.prompts["image"],
        "text prompt": inputs.prompts["text"],
        "items": np.bincount(labels, minlength=len(inputs.class_names)) if labels is not None else None,
    })


def title_examples(inputs: TourneyInputs, n: int = 8) -> pd.DataFrame | None:
    """The first ``n`` titles beside their masked form (None for a source without titles)."""
    if inputs.titles is None:
        return None
    return pd.DataFrame({"title": inputs.titles[:n], "masked title": inputs.masked_titles[:n]})


def run_binary_stage(inputs: TourneyInputs, options: dict, *, undecided_base,
                     undecided_pairwise) -> dict[str, StageResult]:
    """Stage 1 on both modalities (no one-vs-rest), with the "undecided" margins (0: off)."""
    return {side: run_stage(X, P, undecided_base=undecided_base or None,
                            undecided_pairwise=undecided_pairwise or None, one_vs_rest=False,
                            class_names=inputs.binary_names, **options)
            for side, X, P in [("image", inputs.image, inputs.binary_image_prompts),
                               ("text", inputs.text, inputs.binary_text_prompts)]}


def binary_table(binary: dict[str, StageResult], binary_labels, record) -> pd.DataFrame:
    """Records, per method (base, pairwise), the binary stage's agreement scored two ways:
    ``binary.author_f1.<method>`` exactly as the author's code (:func:`author_binary_f1`: binary F1
    of class 0, text as reference) and ``agreement_f1_weighted.binary.<method>`` (ours: weighted F1
    over the three labels, "undecided" a class); with labels ``binary.accuracy.<side>.<method>``.
    Rows base / pairwise: the article's value, both scores, undecided shares."""
    rows = {}
    for method in ("base", "pairwise"):
        text, image = getattr(binary["text"], method), getattr(binary["image"], method)
        row = {"agreement as the author's code: binary F1 of the first class":
               record(f"binary.author_f1.{method}", author_binary_f1(text, image)),
               "agreement, weighted F1 with undecided as a class":
               record(f"agreement_f1_weighted.binary.{method}", agreement_f1(text, image))}
        for side in ("image", "text"):
            pred = getattr(binary[side], method)
            row[f"{side}: undecided share"] = float(np.mean(pred == 2))
            if binary_labels is not None:
                row[f"{side}: accuracy vs truth"] = record(f"binary.accuracy.{side}.{method}",
                                                           accuracy_score(binary_labels, pred))
        rows[method] = row
    table = pd.DataFrame(rows).T
    table.insert(0, "article (its table)", [SOURCE[f"agreement_f1_weighted.binary.{m}"] for m in ("base", "pairwise")])
    return table


def multiclass_inputs(inputs: TourneyInputs, binary: dict[str, StageResult], multiclass_items: str) -> TourneyInputs:
    """The items of stage 2: all, or those image and text both put in binary class 0 (the
    article's ``binary_agreement``, by the pairwise binary predictions)."""
    check_choice("parameter multiclass_items", multiclass_items, MULTICLASS_ITEMS)
    if multiclass_items == "all":
        return inputs
    return inputs.subset((binary["image"].pairwise == 0) & (binary["text"].pairwise == 0))


def modality_sides(multi: TourneyInputs, mask_titles: bool) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Side name -> (items, prompts): image, text, and the unmasked titles when the headline text
    side is masked."""
    sides = {"image": (multi.image, multi.image_prompts), "text": (multi.text, multi.text_prompts)}
    if multi.text_unmasked is not None and mask_titles:
        sides[UNMASKED] = (multi.text_unmasked, multi.text_prompts)
    return sides


def run_stages(sides: dict, class_names, options: dict) -> dict[str, StageResult]:
    """Stage 2 (:func:`run_stage`) on every side."""
    return {side: run_stage(X, P, class_names=class_names, **options) for side, (X, P) in sides.items()}


def stage_summary(stages: dict[str, StageResult]) -> tuple[pd.DataFrame, list[str]]:
    """Dimensions kept per pair and fallback pairs per side, and the fit warnings (``side: text``)."""
    table = pd.DataFrame({side: {
        "mean dims per pair": st.model.n_dims_.mean(), "min dims": st.model.n_dims_.min(),
        "max dims": st.model.n_dims_.max(), "fallback pairs": int((st.model.fallback_ != "").sum()),
        "embedding width": st.model.n_features_in_} for side, st in stages.items()}).T
    return table, [f"{side}: {w}" for side, st in stages.items() for w in st.extra["warnings"]]


def agreement_table(stages: dict[str, StageResult], binary: pd.DataFrame, record) -> pd.DataFrame:
    """Records ``agreement_f1_weighted.multiclass.<method>`` for every method (and the
    ``titles_unmasked.`` variant); returns the article's table beside ours, one row per setting:
    the multiclass stage with the titles as they are (the article's setting) first, then masked,
    and the binary stage as the author's code scores it, then ours (``binary``: :func:`binary_table`)."""
    agreement = {m: agreement_f1(getattr(stages["text"], m), getattr(stages["image"], m)) for m in METHODS}
    for m in METHODS:
        record(f"agreement_f1_weighted.multiclass.{m}", agreement[m])
    if UNMASKED in stages:
        for m in METHODS:
            record(f"titles_unmasked.agreement_f1_weighted.multiclass.{m}",
                   agreement_f1(getattr(stages[UNMASKED], m), getattr(stages["image"], m)))
    rows = {}
    if UNMASKED in stages:
        rows["multiclass, titles as they are (the article's setting)"] = (
            "multiclass", {m: agreement_f1(getattr(stages[UNMASKED], m), getattr(stages["image"], m))
                           for m in ("base", "pairwise")})
        rows["multiclass, class words masked in the titles"] = ("multiclass", agreement)
    else:
        rows["multiclass"] = ("multiclass", agreement)
    for column, label in (("agreement as the author's code: binary F1 of the first class",
                           "binary, as the author's code (the article's score)"),
                          ("agreement, weighted F1 with undecided as a class", "binary, weighted F1 (ours)")):
        if column in binary.columns:
            rows[label] = ("binary", binary[column])
    table = {}
    for m in ("base", "pairwise"):
        table[f"article: {m}"] = [SOURCE[f"agreement_f1_weighted.{stage}.{m}"] for stage, _ in rows.values()]
        table[f"ours: {m}"] = [values[m] for _, values in rows.values()]
    return pd.DataFrame(table, index=pd.Index(list(rows), name="stage"))


def orientation_reference(orientation: str, method: str) -> str:
    """The reference modality of ``orientation`` (one of :data:`ORIENTATIONS`) for ``method``."""
    check_choice("orientation", orientation, ORIENTATIONS)
    if orientation == "author_code":
        return AUTHOR_REFERENCE[method]
    return orientation.split("_")[0]


def orientation_table(binary: dict[str, StageResult], stages: dict[str, StageResult], record) -> pd.DataFrame:
    """Weighted-F1 agreement in both orientations and, for the multiclass stage, as the author's
    code computes it (text as reference for the base model, image for the pairwise model).
    Records ``agreement_orientation.<text_reference|image_reference>.<multiclass|binary>.<method>``,
    ``agreement_orientation.author_code.multiclass.<method>`` (and
    ``titles_unmasked.agreement_orientation.<orientation>.multiclass.<method>`` when the unmasked
    titles were run). The author's code scores the binary stage differently (binary F1 of the
    first class, :func:`author_binary_f1`, recorded by :func:`binary_table`): that column shows it
    for the binary rows. Returns one row per (stage, method) with the article's value beside ours."""
    rows = []
    for stage, st in (("multiclass", stages), ("binary", binary)):
        for m in ("base", "pairwise"):
            row = {"stage": stage, "method": m, "article": SOURCE[f"agreement_f1_weighted.{stage}.{m}"]}
            for o in ORIENTATIONS:
                text, image = getattr(st["text"], m), getattr(st["image"], m)
                if stage == "binary" and o == "author_code":
                    row[o] = author_binary_f1(text, image)
                    continue
                row[o] = record(f"agreement_orientation.{o}.{stage}.{m}",
                                agreement_f1(text, image, reference=orientation_reference(o, m)))
            if stage == "multiclass" and UNMASKED in stages:
                for o in ORIENTATIONS:
                    record(f"titles_unmasked.agreement_orientation.{o}.{stage}.{m}",
                           agreement_f1(getattr(stages[UNMASKED], m), getattr(stages["image"], m),
                                        reference=orientation_reference(o, m)))
            rows.append(row)
    return pd.DataFrame(rows).set_index(["stage", "method"]).rename(columns={
        "text_reference": "ours: text as reference", "image_reference": "ours: image as reference",
        "author_code": "ours: as the author's code (see note)"})


def truth_table(stages: dict[str, StageResult], sides: dict, labels, *, logreg_folds: int, seed: int,
                record) -> pd.DataFrame:
    """Accuracy and macro F1 against the true labels per side and method (with the supervised
    logistic-regression bound), recorded as ``accuracy.<side>.<method>`` / ``macro_f1...``
    (unmasked titles: ``titles_unmasked.``). Without labels the headline keys are recorded as None."""
    if labels is None:
        for side in ("image", "text"):
            for m in ("base", "pairwise", "round_robin", "logreg"):
                record(f"accuracy.{side}.{m}", None)
            for m in ("base", "pairwise"):
                record(f"macro_f1.{side}.{m}", None)
        return pd.DataFrame()
    keys = {"image": "{}.image.{}", "text": "{}.text.{}", UNMASKED: "titles_unmasked.{}.text.{}"}
    rows = []
    for side, st in stages.items():
        lr = st.extra["logreg"] = logreg_cv_predict(sides[side][0], labels, n_splits=logreg_folds,
                                                    random_state=seed)
        for m, p in ({m: getattr(st, m) for m in METHODS} | {"logreg": lr}).items():
            acc, mf1 = accuracy_score(labels, p), f1_score(labels, p, average="macro", zero_division=0)
            rows.append({"modality": side, "method": m, "accuracy": acc, "macro F1": mf1})
            record(keys[side].format("accuracy", m), acc)
            record(keys[side].format("macro_f1", m), mf1)
    return pd.DataFrame(rows).pivot(index="method", columns="modality", values=["accuracy", "macro F1"])


def discussion_numbers(binary: dict[str, StageResult], stages: dict[str, StageResult], labels,
                       class_names, record) -> None:
    """Records the numbers the closing discussion quotes that no table records: the binary
    stage's undecided shares (``binary.undecided_share.<side>.<method>``), dimensions kept per
    pair (``pairs.<side>.mean_dims``, ``pairs.<side>.embedding_width``) and, with labels, the
    majority-class accuracy (``accuracy.majority_class``) and per-class recall of each side's base
    and pairwise model (``per_class_recall.<side>.<method>``: class name -> recall)."""
    for side in ("image", "text"):
        for m in ("base", "pairwise"):
            record(f"binary.undecided_share.{side}.{m}", float(np.mean(getattr(binary[side], m) == 2)))
        record(f"pairs.{side}.mean_dims", float(stages[side].model.n_dims_.mean()))
        record(f"pairs.{side}.embedding_width", int(stages[side].model.n_features_in_))
    if labels is None:
        return
    labels = np.asarray(labels)
    counts = np.bincount(labels, minlength=len(class_names))
    record("accuracy.majority_class", float(counts.max() / len(labels)))
    for side in ("image", "text"):
        for m in ("base", "pairwise"):
            hits = np.bincount(labels, weights=getattr(stages[side], m) == labels, minlength=len(class_names))
            record(f"per_class_recall.{side}.{m}",
                   {c: float(h / n) for c, h, n in zip(class_names, hits, counts) if n > 0})


#: Methods compared by :func:`record_comparisons` (``a_vs_b``: the interval of a - b).
AGREEMENT_PAIRS = (("pairwise", "base"), ("one_vs_rest", "base"), ("pairwise", "one_vs_rest"),
                   ("round_robin", "pairwise"))
ACCURACY_PAIRS = AGREEMENT_PAIRS + (("logreg", "pairwise"),)


def record_comparisons(binary: dict[str, StageResult], stages: dict[str, StageResult], labels,
                       record, *, seed: int = 0) -> list[str]:
    """Paired intervals (bootstrap over the items, :func:`zsl_lib.experiments.verdicts.compare`)
    of every comparison the page words; each recorded by
    :func:`~zsl_lib.experiments.verdicts.record_comparison` under ``<key>.diff/.lo/.hi/.n/.method``.

    * ``cmp.agreement.<a>_vs_<b>`` (multiclass weighted-F1 agreement, text as reference, pairs
      :data:`AGREEMENT_PAIRS`) and ``cmp.agreement_author_code.pairwise_vs_base`` (the author's
      mixed orientation); with the unmasked titles the same under ``titles_unmasked.``, and
      ``cmp.agreement.unmasked_vs_masked.<base|pairwise>``;
    * ``cmp.binary.author_f1.base_vs_pairwise`` (the author's binary score) and
      ``cmp.binary.weighted_f1.base_vs_pairwise`` (ours);
    * with labels: ``cmp.accuracy.<image|text>.<a>_vs_<b>`` (:data:`ACCURACY_PAIRS`; ``logreg``
      needs :func:`truth_table` first), the ``titles_unmasked.`` text side, and
      ``cmp.accuracy.text.unmasked_vs_masked.<base|pairwise>``.

    Returns the keys recorded."""
    keys = []

    def put(key, a, b, statistic=None):
        # a lambda: an empty recording dict is falsy, and record_comparison falls back on ``or``
        V.record_comparison(key, V.compare(a, b, statistic=statistic, seed=seed),
                            record_fn=lambda k, v: record(k, v))
        keys.append(key)

    n_multi = 1 + max(int(np.max(getattr(st, m))) for st in stages.values() for m in METHODS)
    wf1 = weighted_f1_statistic(n_multi)

    def counts(text_side, m, reference="text"):
        t, i = getattr(stages[text_side], m), getattr(stages["image"], m)
        return weighted_f1_counts(t, i, n_multi) if reference == "text" else weighted_f1_counts(i, t, n_multi)

    text_sides = {"": "text"} | ({"titles_unmasked.": UNMASKED} if UNMASKED in stages else {})
    for prefix, side in text_sides.items():
        for a, b in AGREEMENT_PAIRS:
            put(f"{prefix}cmp.agreement.{a}_vs_{b}", counts(side, a), counts(side, b), wf1)
        put(f"{prefix}cmp.agreement_author_code.pairwise_vs_base",
            counts(side, "pairwise", AUTHOR_REFERENCE["pairwise"]), counts(side, "base", AUTHOR_REFERENCE["base"]), wf1)
    if UNMASKED in stages:
        for m in ("base", "pairwise"):
            put(f"cmp.agreement.unmasked_vs_masked.{m}", counts(UNMASKED, m), counts("text", m), wf1)
    bt, bi = binary["text"], binary["image"]
    put("cmp.binary.author_f1.base_vs_pairwise", binary_f1_counts(bt.base, bi.base),
        binary_f1_counts(bt.pairwise, bi.pairwise), micro_fbeta_statistic(1.0))
    n_bin = 1 + max(int(np.max(getattr(st, m))) for st in binary.values() for m in ("base", "pairwise"))
    put("cmp.binary.weighted_f1.base_vs_pairwise", weighted_f1_counts(bt.base, bi.base, n_bin),
        weighted_f1_counts(bt.pairwise, bi.pairwise, n_bin), weighted_f1_statistic(n_bin))
    if labels is None:
        return keys
    labels = np.asarray(labels)

    def hits(side, m):
        st = stages[side]
        return (st.extra["logreg"] if m == "logreg" else getattr(st, m)) == labels

    for side, prefix in (("image", ""), ("text", ""), (UNMASKED, "titles_unmasked.")):
        if side not in stages:
            continue
        name = "image" if side == "image" else "text"
        for a, b in ACCURACY_PAIRS:
            if "logreg" in (a, b) and "logreg" not in stages[side].extra:
                continue
            put(f"{prefix}cmp.accuracy.{name}.{a}_vs_{b}", hits(side, a), hits(side, b))
    if UNMASKED in stages:
        for m in ("base", "pairwise"):
            put(f"cmp.accuracy.text.unmasked_vs_masked.{m}", hits(UNMASKED, m), hits("text", m))
    return keys


def example_pair_index(model: PairwiseTourneyClassifier, class_names, example_pair) -> tuple[int, int, int]:
    """Class indices (a, b) of ``example_pair`` and the row of their pair in ``model.pairs_``."""
    example_pair = example_pair_or_default(example_pair, class_names)
    if example_pair[0] not in class_names or example_pair[1] not in class_names:
        raise ValueError(f"parameter example_pair={example_pair!r} must name two of the classes {class_names}")
    a, b = class_names.index(example_pair[0]), class_names.index(example_pair[1])
    k = [tuple(p) for p in model.pairs_.tolist()].index((min(a, b), max(a, b)))
    return a, b, k


def side_names(titles_masked: bool) -> dict[str, str]:
    """Panel names of the two sides of the histograms and the gain plot: the text side says
    which titles it ran on (the recorded ``titles_masked``)."""
    return {"image": "image",
            "text": "text, class words masked in the titles" if titles_masked else "text, titles as they are"}


def pair_ratios(stages: dict[str, StageResult], k: int, names: dict[str, str] | None = None) -> dict[str, np.ndarray]:
    """Panel title (side, named by ``names`` (:func:`side_names`), and usable items of each class
    of the pair) -> the pair's ratios, image and text."""
    names = names or {}
    return {f"{names.get(side, side)}:\n{stages[side].model.pair_items_[k][0]} and "
            f"{stages[side].model.pair_items_[k][1]} items estimate the pair": stages[side].model.ratios_[k]
            for side in ("image", "text")}


def gain_tables(stages: dict[str, StageResult], sides: dict, a: int, b: int, k: int,
                cutoffs, names: dict[str, str] | None = None) -> dict[str, pd.DataFrame]:
    """:func:`gain_vs_cutoff` of pair (a, b) (row ``k`` of ``pairs_``) for image and text, keyed by
    ``names`` (:func:`side_names`; default the side)."""
    names = names or {}
    return {names.get(side, side): gain_vs_cutoff(sides[side][0], sides[side][1], a, b,
                                                  stages[side].model.ratios_[k], cutoffs,
                                                  stages[side].model.base_assignment_)
            for side in ("image", "text")}


def gain_summary(stages: dict[str, StageResult], tables: dict[str, pd.DataFrame], k: int,
                 cutoff: float) -> pd.DataFrame:
    """Per side: dimensions kept at ``cutoff``, the own-class margin at the sweep's nearest
    cutoff (NaN when the sweep is empty) and on the full embedding. ``tables``: image then text
    (:func:`gain_tables`), rows named by its keys."""
    return pd.DataFrame({name: {
        "dims kept at the cutoff": int(np.sum(stages[side].model.ratios_[k] > cutoff)),
        "margin at the cutoff": df.loc[(df["cutoff"] - cutoff).abs().idxmin(), "margin"] if len(df) else np.nan,
        "margin, full embedding": df.attrs["full_margin"]} for side, (name, df) in zip(("image", "text"),
                                                                                       tables.items())}).T


def bracket_risk_table(stages: dict[str, StageResult], sides: dict, labels, *, n_bracket_seeds: int,
                       seed: int, record) -> pd.DataFrame:
    """Match-up risk per side: how often the tourney picks the round-robin winner and how many
    items change winner over ``n_bracket_seeds`` brackets (seeds ``seed, seed + 1, ...``), with
    accuracies when labels exist. Records ``tourney.<side>.bracket_dependent_share`` and
    ``tourney.<side>.same_as_round_robin``."""
    rows = {}
    for side in ("image", "text"):
        st = stages[side]
        winners = bracket_seed_study(st.model.pairwise_margins(sides[side][0]), np.arange(n_bracket_seeds) + seed)
        row = {"tourney = round-robin": float(np.mean(st.pairwise == st.round_robin)),
               "items whose winner depends on the bracket": float(np.mean((winners != winners[0]).any(axis=0)))}
        if labels is not None:
            accs = (winners == labels).mean(axis=1)
            row |= {"tourney accuracy (mean over brackets)": accs.mean(), "min": accs.min(), "max": accs.max(),
                    "round-robin accuracy": accuracy_score(labels, st.round_robin)}
        if labels is not None:
            record(f"tourney.{side}.bracket_accuracy_spread", row["max"] - row["min"])
        rows[side] = row
        record(f"tourney.{side}.bracket_dependent_share", row["items whose winner depends on the bracket"])
        record(f"tourney.{side}.same_as_round_robin", row["tourney = round-robin"])
    return pd.DataFrame(rows).T


def n_rounds(n_classes: int) -> int:
    """Rounds of the bracket over ``n_classes`` classes (``ceil(log2 C)``), as played."""
    return tourney_bracket(np.zeros((1, n_classes, n_classes)), return_rounds=True)[1]
