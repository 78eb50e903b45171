"""Driver of notebook 02 (pairwise tourney): inputs, the two stages, evaluation, tables, figures.

The method itself (cross-deviation dimensions, the bracket, the estimators) is
:mod:`zsl_lib.zeroshot.tourney`: arrays in, arrays out. This module feeds it:

* inputs (:mod:`zsl_lib.experiments.tourney_inputs`): the offline fashion-products ``eval`` set
  or the article's SQID parquet, as one :class:`TourneyInputs`;
* evaluation: :func:`run_stage` (base model, tourney, round-robin, one-vs-rest), the article's
  score :func:`agreement_f1`, a supervised upper bound :func:`logreg_cv_predict`, the gain table
  :func:`gain_vs_cutoff`, the bracket's match-up risk;
* the notebook's steps (:func:`check_parameters` ... :func:`bracket_risk_table`), each recording
  its numbers through the ``record`` function it is given, and the figures;
* :data:`SOURCE`: the article's numbers, flat dotted keys named like the recorded keys.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.ticker import FuncFormatter, NullFormatter
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, confusion_matrix, f1_score
from sklearn.model_selection import StratifiedKFold, cross_val_predict
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from zsl_lib.data.user import BAD_IMAGES
from zsl_lib.experiments import verdicts as V
from zsl_lib.experiments.tourney_inputs import SOURCES, TourneyInputs, load_inputs, user_class_names
from zsl_lib.metrics.stats import micro_fbeta_statistic
from zsl_lib.validation import check_choice, check_float, check_int, check_matrix, check_name_list
from zsl_lib.zeroshot.prompts import PROMPT_SETS, get_prompt_set
from zsl_lib.zeroshot.tourney import (
    OneVsRestSubspaceClassifier,
    PairwiseTourneyClassifier,
    argmax_cosine,
    subspace_cosine,
    tourney_bracket,
)

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
REFERENCES = ("text", "image")
#: The author's code scores the base model with the text classes as the reference and the
#: pairwise model with the image classes as the reference (issue 15); ``author_code`` reproduces it.
AUTHOR_REFERENCE = {"base": "text", "pairwise": "image"}
ORIENTATIONS = ("text_reference", "image_reference", "author_code")


# --------------------------------------------------------------------------------------------
# evaluation: stages, scores, the supervised bound, the gain table
# --------------------------------------------------------------------------------------------
def logreg_cv_predict(X, y, n_splits: int = 5, C: float = 0.1, random_state: int = 0) -> np.ndarray:
    """Supervised upper bound: out-of-fold predictions of a standardised logistic regression.

    X (n, d), y (n,) true labels -> int64 (n,) predictions from stratified ``n_splits``-fold
    cross-validation (scikit-learn ``cross_val_predict``), so every item is predicted by a model
    that did not see it. ``C`` is the inverse L2 strength on standardised features (fixed, not
    tuned on the evaluation items).
    """
    check_matrix("X", X)
    X = np.asarray(X)
    y = np.asarray(y)
    if y.shape != (len(X),):
        raise ValueError(f"y must have shape ({len(X)},); got {y.shape}")
    counts = np.bincount(np.unique(y, return_inverse=True)[1])
    if counts.min() < n_splits:
        raise ValueError(
            f"logreg_cv_predict: the smallest class has {counts.min()} items, fewer than "
            f"n_splits={n_splits}; lower n_splits or drop that class"
        )
    model = make_pipeline(StandardScaler(), LogisticRegression(C=C, max_iter=1000))
    cv = StratifiedKFold(n_splits=n_splits, shuffle=True, random_state=random_state)
    # one BLAS thread: these small fits run ~15x faster than with oversubscribed threads on a
    # shared CPU (measured 5.7 s vs 87 s for 3,187 x 384 on the 2-core development machine)
    with threadpool_limits(1):
        return cross_val_predict(model, X, y, cv=cv).astype(np.int64)


def agreement_f1(text_pred, image_pred, reference: str = "text") -> float:
    """The article's score: weighted F1 of one modality's classes against the other's.

    ``reference="text"`` (default, the notebook's headline): text predictions are ``y_true``,
    image predictions ``y_pred``; ``"image"`` swaps them. Weighted F1 is not symmetric: the
    weights are the reference classes' supports.
    """
    check_choice("reference", reference, REFERENCES)
    text_pred = np.asarray(text_pred)
    image_pred = np.asarray(image_pred)
    if text_pred.shape != image_pred.shape:
        raise ValueError(
            f"text and image predictions must have the same shape; got {text_pred.shape} and "
            f"{image_pred.shape}"
        )
    y_true, y_pred = (text_pred, image_pred) if reference == "text" else (image_pred, text_pred)
    return float(f1_score(y_true, y_pred, average="weighted", zero_division=0))


#: The author's code scores the binary stage as ``f1_score(text_class == 0, image_class == 0)``
#: (crossdev_dim.py): plain binary F1 of class 0 (clothing there, apparel here), text as the
#: reference for both models, "undecided" counted as not class 0.
AUTHOR_BINARY_POSITIVE = 0


def author_binary_f1(text_pred, image_pred, positive: int = AUTHOR_BINARY_POSITIVE) -> float:
    """The binary stage scored exactly as the author's code: binary F1 of class ``positive``,
    text predictions as ``y_true`` and image predictions as ``y_pred`` (the same for the base
    and the pairwise model); any other label ("undecided" included) is the negative class."""
    text_pred, image_pred = np.asarray(text_pred), np.asarray(image_pred)
    if text_pred.shape != image_pred.shape:
        raise ValueError(f"text and image predictions must have the same shape; got {text_pred.shape} "
                         f"and {image_pred.shape}")
    return float(f1_score(text_pred == positive, image_pred == positive, zero_division=0))


def binary_f1_counts(y_true, y_pred, positive: int = AUTHOR_BINARY_POSITIVE) -> np.ndarray:
    """Per-item ``[tp, fp, fn]`` of class ``positive`` (n, 3): their column means give
    :func:`author_binary_f1` through ``micro_fbeta_statistic(1)``, so it can be bootstrapped."""
    t, p = np.asarray(y_true) == positive, np.asarray(y_pred) == positive
    return np.stack([t & p, ~t & p, t & ~p], axis=1).astype(np.float64)


def weighted_f1_counts(y_true, y_pred, n_labels: int) -> np.ndarray:
    """Per-item counts (n, 3L): one-hot true label, one-hot predicted label, one-hot hit. Their
    column means give the weighted F1 (:func:`weighted_f1_statistic`), so a paired bootstrap over
    the items resamples the non-decomposable score correctly."""
    eye = np.eye(n_labels)
    t, p = eye[np.asarray(y_true)], eye[np.asarray(y_pred)]
    return np.hstack([t, p, t * p])


def weighted_f1_statistic(n_labels: int):
    """``statistic`` for :func:`zsl_lib.metrics.stats.paired_bootstrap` over
    :func:`weighted_f1_counts`: scikit-learn's ``f1_score(average="weighted")``."""
    L = int(n_labels)

    def f(m: np.ndarray) -> np.ndarray:
        t, p, tp = m[..., :L], m[..., L:2 * L], m[..., 2 * L:]
        den = t + p
        with np.errstate(invalid="ignore", divide="ignore"):
            f1 = np.where(den > 0, 2 * tp / np.where(den > 0, den, 1), 0.0)
            return (t * f1).sum(-1) / t.sum(-1)
    return f


def gain_vs_cutoff(X, class_embeddings, a: int, b: int, ratio, cutoffs, assigned) -> pd.DataFrame:
    """The article's gain plot, as a table: how cosines move as the cutoff keeps fewer dimensions.

    For each cutoff: ``n_dims`` kept (ratio > cutoff), the mean cosine of the items assigned to a
    or b to the prompts of a (``cos_a``) and of b (``cos_b``), the author's ``gain = cos_a -
    cos_b``, and ``margin`` = mean over those items of (cosine to own assigned class - cosine to the
    other): how well the pair's dimensions separate the two classes. Rows with no dimension left are
    dropped. ``cutoff=None`` rows are not produced; the full-embedding values are in ``attrs``.
    """
    check_matrix("X", X)
    X, P = np.asarray(X), np.asarray(class_embeddings)
    check_matrix("class_embeddings", P, dim=X.shape[1], fitted="the items X are")
    ratio = np.nan_to_num(np.asarray(ratio, dtype=np.float64), nan=-np.inf)
    assigned = np.asarray(assigned)
    ix = np.flatnonzero((assigned == a) | (assigned == b))
    if len(ix) == 0:
        raise ValueError(f"no item is assigned to class {a} or {b}")
    sign = np.where(assigned[ix] == a, 1.0, -1.0)

    def _row(dims):
        s = subspace_cosine(X[ix], P[[a, b]], dims)
        return s[:, 0].mean(), s[:, 1].mean(), float(np.mean(sign * (s[:, 0] - s[:, 1])))

    rows = []
    for c in np.asarray(cutoffs, dtype=np.float64):
        dims = np.flatnonzero(ratio > c)
        if len(dims) == 0:
            break
        ca, cb, m = _row(dims)
        rows.append({"cutoff": c, "n_dims": len(dims), "cos_a": ca, "cos_b": cb, "gain": ca - cb,
                     "margin": m})
    df = pd.DataFrame(rows, columns=["cutoff", "n_dims", "cos_a", "cos_b", "gain", "margin"])
    ca, cb, m = _row(np.arange(X.shape[1]))
    df.attrs.update({"full_cos_a": ca, "full_cos_b": cb, "full_gain": ca - cb, "full_margin": m})
    return df


@dataclass
class StageResult:
    """Predictions of one stage for one modality (image or text): int64 arrays (n,)."""

    base: np.ndarray
    pairwise: np.ndarray
    round_robin: np.ndarray | None = None
    one_vs_rest: np.ndarray | None = None
    model: PairwiseTourneyClassifier | None = None
    extra: dict = field(default_factory=dict)


def run_stage(
    X,
    P,
    *,
    cutoff: float = 1.1,
    cos_limit: float | None = None,
    cos_diff: float = 0.0,
    max_items_per_class: int | None = 1500,
    max_dims: int | None = None,
    reshuffle_each_round: bool = True,
    undecided_base: float | None = None,
    undecided_pairwise: float | None = None,
    one_vs_rest: bool = True,
    ovr_cutoff: float = 1.05,
    ovr_max_dims: int | None = 10,
    class_names=None,
    random_state: int | None = 0,
) -> StageResult:
    """One stage (binary or multiclass) for one modality: base model, pairwise tourney, round-robin
    and (optionally) the one-vs-rest sub-feature baseline. X (n, d) items, P (C, d) prompts.

    ``undecided_base`` / ``undecided_pairwise`` (binary only) add the "undecided" label 2 when the
    two cosines differ by less (the author: 0.03 for the base model, 0 for pairwise)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", RuntimeWarning)
        clf = PairwiseTourneyClassifier(
            cutoff=cutoff, cos_limit=cos_limit, cos_diff=cos_diff,
            max_items_per_class=max_items_per_class, max_dims=max_dims,
            reshuffle_each_round=reshuffle_each_round, undecided_margin=undecided_pairwise,
            random_state=random_state,
        ).fit(X, P, class_names=class_names)
    base = argmax_cosine(X, P, undecided_margin=undecided_base)
    ovr = None
    if one_vs_rest:
        ovr = OneVsRestSubspaceClassifier(
            cutoff=ovr_cutoff, max_dims=ovr_max_dims, cos_limit=cos_limit,
            max_items_per_class=max_items_per_class, random_state=random_state,
        ).fit(X, P).predict(X)
    return StageResult(
        base=base,
        pairwise=clf.predict(X),
        round_robin=clf.predict_round_robin(X),
        one_vs_rest=ovr,
        model=clf,
        extra={"warnings": [str(w.message) for w in caught]},
    )


def bracket_seed_study(margins, seeds) -> np.ndarray:
    """Winners of the bracket under several seeds: margins (n, C, C), seeds (k,) -> int64 (k, n).
    The spread across rows measures the tourney's match-up risk."""
    return np.stack([tourney_bracket(margins, random_state=int(s)) for s in seeds])


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


def pair_ratios(stages: dict[str, StageResult], k: int) -> dict[str, np.ndarray]:
    """Panel title (side and usable items of each class of the pair) -> the pair's ratios, image
    and text."""
    return {f"{side}: {stages[side].model.pair_items_[k][0]} and {stages[side].model.pair_items_[k][1]} "
            "items estimate the pair": stages[side].model.ratios_[k] for side in ("image", "text")}


def gain_tables(stages: dict[str, StageResult], sides: dict, a: int, b: int, k: int,
                cutoffs) -> dict[str, pd.DataFrame]:
    """:func:`gain_vs_cutoff` of pair (a, b) (row ``k`` of ``pairs_``) for image and text."""
    return {side: gain_vs_cutoff(sides[side][0], sides[side][1], a, b, stages[side].model.ratios_[k],
                                 cutoffs, stages[side].model.base_assignment_)
            for side in ("image", "text")}


def gain_summary(stages: dict[str, StageResult], tables: dict[str, pd.DataFrame], k: int,
                 cutoff: float) -> pd.DataFrame:
    """Per side: dimensions kept at ``cutoff``, the own-class margin at the sweep's nearest
    cutoff (NaN when the sweep is empty) and on the full embedding."""
    return pd.DataFrame({side: {
        "dims kept at the cutoff": int(np.sum(stages[side].model.ratios_[k] > cutoff)),
        "margin at the cutoff": df.loc[(df["cutoff"] - cutoff).abs().idxmin(), "margin"] if len(df) else np.nan,
        "margin, full embedding": df.attrs["full_margin"]} for side, df in tables.items()}).T


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


# --------------------------------------------------------------------------------------------
# figures (the notebook only calls these and savefig)
# --------------------------------------------------------------------------------------------
def plot_cross_deviation_hist(ratios: dict, cutoff: float, title: str):
    """Histogram of per-dimension cross-deviation ratios, one panel per entry of ``ratios``
    (name -> (d,) array), with the cutoff marked and the number of kept dimensions in the legend."""
    fig, axes = plt.subplots(1, len(ratios), figsize=(5.2 * len(ratios), 3.6), squeeze=False)
    for ax, (name, r) in zip(axes[0], ratios.items()):
        r = np.asarray(r, dtype=np.float64)
        r = r[np.isfinite(r)]
        kept = int((r > cutoff).sum())
        ax.hist(r, bins=50, color="C0", alpha=0.8)
        ax.axvline(cutoff, color="C3", ls="--", label=f"cutoff {cutoff:g}: {kept} of {len(r)} dims kept")
        ax.axvline(1.0, color="0.4", ls=":", label="1 = same distribution")
        ax.set_xlabel("cross-deviation ratio\n√(cross-variance / (σ of class A × σ of class B))")
        ax.set_ylabel("number of dimensions")
        ax.set_title(name)
        ax.legend(loc="upper right", fontsize="small")
    fig.suptitle(title)
    fig.tight_layout()
    return fig


#: the gain plot's "few dimensions" stretch: cutoffs where at most this many dimensions remain
FEW_DIMS = 2


def few_dims_cutoff(df: pd.DataFrame, few: int = FEW_DIMS) -> float | None:
    """The smallest cutoff of a :func:`gain_vs_cutoff` table from which at most ``few``
    dimensions remain (``n_dims`` only falls as the cutoff rises); None when it never happens."""
    rows = df.loc[df["n_dims"] <= few, "cutoff"]
    return float(rows.min()) if len(rows) else None


def gain_plateau_note(tables: dict, few: int = FEW_DIMS) -> str:
    """One Markdown sentence per modality on the gain plot's right end, from the tables: from
    which cutoff only ``few`` or fewer dimensions remain, and the own-class margin there."""
    parts = []
    for name, df in tables.items():
        c = few_dims_cutoff(df, few)
        if c is None:
            parts.append(f"{name}: more than {few} dimensions remain up to the sweep's last cutoff "
                         f"({df['cutoff'].max():.2f})")
            continue
        tail = df[df["cutoff"] >= c]
        lo, hi = int(tail["n_dims"].min()), int(tail["n_dims"].max())
        parts.append(f"{name}: from cutoff {c:.2f} on only {lo if lo == hi else f'{lo}–{hi}'} "
                     f"dimension(s) remain ({len(tail)} of the sweep's {len(df)} cutoffs), where the "
                     "own-class margin " + (f"stays at {tail['margin'].min():.3f}" if
                                            f"{tail['margin'].min():.3f}" == f"{tail['margin'].max():.3f}" else
                                            f"stays between {tail['margin'].min():.3f} and {tail['margin'].max():.3f}"))
    return ("**The flat right end of the gain plot** (shaded): " + "; ".join(parts) + ". A cosine "
            f"over {few} or fewer coordinates changes only when a dimension drops out, so that stretch "
            "is a step function of very few coordinates, not a stable gain.\n")


def plot_gain_vs_cutoff(tables: dict, pair_names: tuple[str, str], title: str, few: int = FEW_DIMS):
    """The article's gain plot: per modality (name -> :func:`gain_vs_cutoff` table), top: mean
    cosine to each class of the pair, the author's gain (difference) and the own-class margin, with
    the full-embedding values dashed; bottom: dimensions kept. The cutoffs where ``few`` or fewer
    dimensions remain are shaded and labelled; one opaque legend sits below the panels."""
    fig, axes = plt.subplots(2, len(tables), figsize=(5.8 * len(tables), 6.8), sharex=True,
                             squeeze=False)
    a, b = pair_names
    for j, (name, df) in enumerate(tables.items()):
        ax, ax2 = axes[0, j], axes[1, j]
        ax.plot(df["cutoff"], df["cos_a"], color="C0", alpha=0.6, label=f"mean cosine to '{a}'")
        ax.plot(df["cutoff"], df["cos_b"], color="C1", alpha=0.6, label=f"mean cosine to '{b}'")
        ax.plot(df["cutoff"], df["gain"], color="C2", label=f"gain (author): cosine to '{a}' − to '{b}'")
        ax.plot(df["cutoff"], df["margin"], color="C3", label="own-class margin")
        ax.axhline(df.attrs["full_gain"], color="C2", ls="--", lw=1, label="gain, full embedding")
        ax.axhline(df.attrs["full_margin"], color="C3", ls="--", lw=1,
                   label="margin, full embedding")
        ax.set_ylabel("cosine")
        ax.set_title(f"{name}: items assigned to '{a}' or '{b}'")
        ax2.plot(df["cutoff"], df["n_dims"], color="C4")
        ax2.set_xlabel("cross-deviation ratio cutoff")
        ax2.set_ylabel("dimensions kept (log scale)")
        ax2.set_yscale("log")  # the few-dimension stretch stays readable beside hundreds
        lo, hi = float(df["n_dims"].min()), float(df["n_dims"].max())
        ax2.set_yticks([t for t in (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000) if lo / 1.5 <= t <= hi * 1.5])
        ax2.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
        ax2.yaxis.set_minor_formatter(NullFormatter())
        c = few_dims_cutoff(df, few)
        if c is not None:
            right = float(df["cutoff"].max())
            for axis in (ax, ax2):
                axis.axvspan(c, right, color="0.85", zorder=0,
                             label=f"{few} or fewer dimensions left" if axis is ax else None)
            ax2.annotate(f"from {c:.2f}: {few} or fewer\ndimensions left", xy=(c, float(np.sqrt(np.prod(ax2.get_ylim())))),
                         xytext=(-6, 0), textcoords="offset points", ha="right", fontsize=8, color="0.25")
    legend = {}
    for ax in axes[0]:
        legend |= {lab: h for h, lab in zip(*ax.get_legend_handles_labels()) if lab not in legend}
    handles, labels = list(legend.values()), list(legend)
    fig.suptitle(title)
    fig.tight_layout(rect=(0, 0.1, 1, 1))
    fig.legend(handles, labels, loc="lower center", ncol=4, fontsize="small", framealpha=1.0,
               bbox_to_anchor=(0.5, 0.0))
    return fig


def plot_confusions(y_true, preds: dict, class_names, title: str):
    """Row-normalised confusion matrices (true class -> predicted), one panel per prediction."""
    k = len(preds)
    fig, axes = plt.subplots(1, k, figsize=(5.6 * k, 5.8), squeeze=False)
    labels = np.arange(len(class_names))
    for ax, (name, p) in zip(axes[0], preds.items()):
        cm = confusion_matrix(y_true, p, labels=labels, normalize="true")
        text = np.where(cm >= 0.05, np.char.mod("%d", np.round(100 * cm).astype(int)), "")
        sns.heatmap(cm, ax=ax, vmin=0, vmax=1, cmap="Blues", cbar=False, square=True,
                    xticklabels=class_names, yticklabels=class_names, annot=text, fmt="",
                    annot_kws={"size": 6})
        acc = float(np.mean(np.asarray(y_true) == np.asarray(p)))
        ax.set_title(f"{name}: accuracy {acc:.3f}")
        ax.set_xlabel("predicted class")
        ax.set_ylabel("true class")
        ax.tick_params(axis="x", labelrotation=90, labelsize=7)
        ax.tick_params(axis="y", labelrotation=0, labelsize=7)
    fig.suptitle(f"{title}\n(cells: % of the true class's items, values >= 5 shown)")
    fig.tight_layout()
    return fig
