"""Driver for notebook 03: clusterable visual features for zero-shot recognition (Xu, Shu & Samaras).

The notebook checks its parameters with :func:`check_parameters`, then calls, in order:

- :func:`load_splits` (seen / unseen splits with embedded features and class-text semantics);
- :func:`run_eszsl` (the closed-form baseline, tuned on held-out seen classes);
- :func:`run_ablations` and :func:`aggregate` (every ablation variant of
  :class:`~zsl_lib.zeroshot.cvae.ClusterableCVAE` for every seed: ZSL top-1, GZSL U/S/H,
  calibrated-stacking AUSUC / best H, k-means MI of the real unseen features);
- :func:`table4`, :func:`table2`, :func:`table1`, :func:`calibration_table` (ours beside the
  paper's :data:`SOURCE`); the figures and the rendered closing discussion are in
  :mod:`zsl_lib.experiments.cvae_report`;
- :func:`run_fewshot` and :func:`table5` (Table 5: few-shot episodes on raw features vs features
  mapped by the Gaussian-similarity mapping);
- the paired comparisons, verdicts, settings against the paper and the summary are in
  :mod:`zsl_lib.experiments.cvae_verdicts`.

``*_records`` functions turn results into the flat ``{dotted key: value}`` dicts the notebook
records. Accuracies are fractions in the records, percentages in the tables.
"""

from __future__ import annotations

import inspect
import itertools

import numpy as np
import pandas as pd
from sklearn.preprocessing import MinMaxScaler
from tqdm.auto import tqdm

from ..data.user import BAD_IMAGES
from ..data.zsl_splits import ZSL_DATASETS, validation_split
from ..encoders.semantics import load_user_zsl_split, load_zsl_split
from ..metrics.zsl import (
    calibrated_gzsl_scores,
    gzsl_scores,
    kmeans_mutual_info,
    per_class_accuracy,
    seen_unseen_curve,
)
from ..plots import display_name  # noqa: F401  (the lab's one name mapping; re-exported for notebook 03)
from ..validation import check_choice, check_float, check_int, check_int_list, check_name_list
from ..zeroshot.cvae import ABLATION_VARIANTS, ClusterableCVAE, GaussianSimilarityMapping
from ..zeroshot.eszsl import ESZSL
from ..zeroshot.fewshot import CLASSIFIERS, evaluate_episodes
from . import verdicts as V

#: The paper's numbers, one flat dict keyed like our records: ``"<dataset>.<method>.<metric>"``.
#: Datasets CUB / SUN / AWA2 (ResNet-101, proposed split); methods ``eszsl``, ``cvae_zsl``
#: (Mishra et al.), the ablation variants (``cls_gaussian_noise`` is the full method, "Ours" of
#: Tables 1 and 2) and ``fewshot`` (Table 5, ``<k>shot.baseline`` / ``<k>shot.gaussian``, 5-way).
#: Accuracies in percent as printed, k-means MI as printed in Table 4 (not given for the full
#: method). Table 2's "Ours" and Table 4's ``+ noise`` row are the same numbers (one key).
SOURCE: dict[str, float] = {
    # Table 2: ZSL per-class top-1 (%)
    "CUB.eszsl.zsl_top1": 53.9, "SUN.eszsl.zsl_top1": 54.5, "AWA2.eszsl.zsl_top1": 58.6,
    "CUB.cvae_zsl.zsl_top1": 52.1, "SUN.cvae_zsl.zsl_top1": 61.7, "AWA2.cvae_zsl.zsl_top1": 65.8,
    # Table 4: ablation, ZSL per-class top-1 (%) and k-means mutual information
    "CUB.na.zsl_top1": 56.6, "SUN.na.zsl_top1": 61.4, "AWA2.na.zsl_top1": 70.2,
    "CUB.cls.zsl_top1": 61.2, "SUN.cls.zsl_top1": 64.4, "AWA2.cls.zsl_top1": 71.3,
    "CUB.cls_gaussian.zsl_top1": 62.6, "SUN.cls_gaussian.zsl_top1": 64.9, "AWA2.cls_gaussian.zsl_top1": 72.4,
    "CUB.cls_gaussian_noise.zsl_top1": 63.1, "SUN.cls_gaussian_noise.zsl_top1": 65.5,
    "AWA2.cls_gaussian_noise.zsl_top1": 74.1,
    "CUB.na.kmeans_mi": 0.67, "SUN.na.kmeans_mi": 0.56, "AWA2.na.kmeans_mi": 0.83,
    "CUB.cls.kmeans_mi": 0.71, "SUN.cls.kmeans_mi": 0.59, "AWA2.cls.kmeans_mi": 0.85,
    "CUB.cls_gaussian.kmeans_mi": 0.73, "SUN.cls_gaussian.kmeans_mi": 0.60, "AWA2.cls_gaussian.kmeans_mi": 0.85,
    # Table 1: GZSL unseen / seen accuracy and harmonic mean (%)
    "CUB.eszsl.gzsl.u": 12.6, "CUB.eszsl.gzsl.s": 63.8, "CUB.eszsl.gzsl.h": 21.0,
    "SUN.eszsl.gzsl.u": 11.0, "SUN.eszsl.gzsl.s": 27.9, "SUN.eszsl.gzsl.h": 15.8,
    "AWA2.eszsl.gzsl.u": 5.9, "AWA2.eszsl.gzsl.s": 77.8, "AWA2.eszsl.gzsl.h": 11.0,
    "CUB.cls_gaussian_noise.gzsl.u": 56.8, "CUB.cls_gaussian_noise.gzsl.s": 69.2, "CUB.cls_gaussian_noise.gzsl.h": 62.4,
    "SUN.cls_gaussian_noise.gzsl.u": 63.8, "SUN.cls_gaussian_noise.gzsl.s": 45.4, "SUN.cls_gaussian_noise.gzsl.h": 53.0,
    "AWA2.cls_gaussian_noise.gzsl.u": 71.6, "AWA2.cls_gaussian_noise.gzsl.s": 87.8,
    "AWA2.cls_gaussian_noise.gzsl.h": 78.8,
    # Table 5: 5-way few-shot accuracy (%), logistic-regression baseline vs Gaussian-loss features
    "CUB.fewshot.1shot.baseline": 70.2, "CUB.fewshot.5shot.baseline": 92.6,
    "SUN.fewshot.1shot.baseline": 76.5, "SUN.fewshot.5shot.baseline": 93.1,
    "CUB.fewshot.1shot.gaussian": 86.6, "CUB.fewshot.5shot.gaussian": 95.8,
    "SUN.fewshot.1shot.gaussian": 82.6, "SUN.fewshot.5shot.gaussian": 93.8,
}
PAPER_DATASETS = ("CUB", "SUN", "AWA2")
FULL_METHOD = "cls_gaussian_noise"
#: metrics of one fitted model (:func:`evaluate_zsl`), aggregated over seeds by :func:`aggregate`.
METRICS = ("zsl_top1", "gzsl.u", "gzsl.s", "gzsl.h", "gzsl_cal.u", "gzsl_cal.s", "gzsl_cal.h", "gzsl.ausuc",
           "gzsl.best_h", "kmeans_mi", "kmeans_nmi")
#: which ClusterableCVAE settings a variant uses (a grid over an unused one is skipped).
_ACTIVE = {"noise_alpha": lambda kw: kw.get("noise_alpha", 0) > 0,
           "gaussian_gamma": lambda kw: kw.get("use_gaussian", True),
           "gaussian_epochs": lambda kw: kw.get("use_gaussian", True),
           "lambda_cls": lambda kw: kw.get("use_mapping", True),
           "lambda_cls_rec": lambda kw: kw.get("use_mapping", True)}
#: natural bounds of ClusterableCVAE settings: a choice there is a finding (noise_alpha = 0: no noise
#: helps on validation), not a grid cut short, so :func:`on_edge` does not flag it.
NATURAL_BOUNDS = {"noise_alpha": 0.0}
#: human-readable names of methods and ablation variants (legends, tables, prose).
#: the t-SNE panels of Fig. 3: title -> ablation variant.
TSNE_PANELS = {"(a) original features (NA)": "na", "(b) projected (CLS + Gaussian)": "cls_gaussian",
               "(c) projected + noise (full method)": "cls_gaussian_noise"}


def paper(dataset: str, method: str, metric: str) -> float:
    """One of the paper's numbers (NaN where the paper gives none)."""
    return SOURCE.get(f"{dataset}.{method}.{metric}", np.nan)


# ----------------------------------------------------------------------------- parameters


def _check_per_dataset(name: str, table) -> dict:
    if not isinstance(table, dict) or "default" not in table:
        raise ValueError(
            f"parameter {name}: expected a dict per dataset with a 'default' entry, e.g. "
            f"{{'default': ...}}; got {table!r}"
        )
    return table


def per_dataset(table: dict, dataset: str):
    """The setting of ``dataset`` in a per-dataset parameter dict, else its ``"default"``."""
    return table.get(dataset, table["default"])


def check_parameters(*, datasets, variants, seeds, tiny_train_source, test_fraction, max_train_per_class,
                     fashion_min_items, split_seed, hidden_size, projection_dim, noise_alpha, epochs, batch_size,
                     lr, lambda_cls, lambda_cls_rec, semantic_scaling, gaussian_gamma, gaussian_epochs,
                     n_synth_per_class, clf_epochs, clf_lr,
                     eszsl_gammas, eszsl_lambdas, fewshot_shots, fewshot_way, fewshot_queries, fewshot_episodes,
                     fewshot_classifier, tsne_classes, n_threads, val_fraction=0.2, cvae_grid=None,
                     synth_spread="model", gzsl_balance="none", device="auto", user_embeddings=None,
                     user_image_dir=None, user_attributes=None, user_unseen_classes=None, user_n_unseen=None,
                     bad_images="raise") -> None:
    """Check notebook 03's parameters; a ValueError naming the first bad one and the fix."""
    check_name_list("datasets", datasets, [*ZSL_DATASETS, "user"])
    check_choice("parameter bad_images", bad_images, BAD_IMAGES)
    check_float("val_fraction", val_fraction, 0, 1, low_open=True, high_open=True)
    check_choice("synth_spread", synth_spread, ("model", "match"))
    check_choice("gzsl_balance", gzsl_balance, ("none", "class"))
    if not isinstance(device, str) or not (device in ("auto", "cpu", "mps") or device.startswith("cuda")):
        raise ValueError(f"parameter device: expected 'auto', 'cpu', 'cuda', 'cuda:N' or 'mps', got {device!r}")
    if cvae_grid is not None:
        if not isinstance(cvae_grid, dict):
            raise ValueError(f"parameter cvae_grid: expected a dict {{setting: [values]}}, got {cvae_grid!r}")
        known = set(inspect.signature(ClusterableCVAE).parameters) - {"random_state", "progress", "device"}
        for k, vals in cvae_grid.items():
            if k not in known:
                raise ValueError(f"parameter cvae_grid: {k!r} is not a ClusterableCVAE setting; use one of "
                                 f"{sorted(known)}")
            if isinstance(vals, str) or not isinstance(vals, (list, tuple)) or not vals:
                raise ValueError(f"parameter cvae_grid[{k!r}]: expected a non-empty list of values, got {vals!r}")
    if "user" in datasets:
        if (user_embeddings is None) == (user_image_dir is None):
            raise ValueError("datasets contains 'user': set exactly one of user_embeddings (.npz with X, y, "
                             "optional class_names) and user_image_dir (<dir>/<class>/<image>)")
        if user_unseen_classes is not None and (isinstance(user_unseen_classes, str)
                                                or not isinstance(user_unseen_classes, (list, tuple))):
            raise ValueError(f"parameter user_unseen_classes: expected a list of class names, got "
                             f"{user_unseen_classes!r}; pass lists with -y")
        check_int("user_n_unseen", user_n_unseen, minimum=2, allow_none=True)
    check_name_list("variants", variants, list(ABLATION_VARIANTS))
    seed_list = check_int_list("seeds", seeds, minimum=0)
    if len(set(seed_list)) < len(seed_list):
        raise ValueError(f"parameter seeds={seed_list} repeats a seed; each seed is one independent run (a repeat "
                         "would be counted twice in the mean and the spread over seeds): list distinct seeds")
    check_int_list("fewshot_shots", fewshot_shots, minimum=1)
    check_choice("tiny_train_source", tiny_train_source, ("train", "val"))
    check_choice("semantic_scaling", semantic_scaling, ("none", "center", "standard"))
    check_choice("fewshot_classifier", fewshot_classifier, CLASSIFIERS)
    check_float("test_fraction", test_fraction, 0, 1, low_open=True, high_open=True)
    check_int("max_train_per_class", max_train_per_class, minimum=1, allow_none=True)
    check_int("split_seed", split_seed, minimum=0)
    check_int("gaussian_epochs", gaussian_epochs, minimum=0)
    check_int("fewshot_way", fewshot_way, minimum=2)
    for name, value in [("fashion_min_items", fashion_min_items), ("hidden_size", hidden_size),
                        ("epochs", epochs), ("batch_size", batch_size), ("n_synth_per_class", n_synth_per_class),
                        ("clf_epochs", clf_epochs), ("fewshot_queries", fewshot_queries),
                        ("fewshot_episodes", fewshot_episodes), ("tsne_classes", tsne_classes),
                        ("n_threads", n_threads)]:
        check_int(name, value, minimum=1)
    for name, value in [("lr", lr), ("clf_lr", clf_lr), ("gaussian_gamma", gaussian_gamma)]:
        check_float(name, value, low=0, low_open=True)
    for name, value in [("lambda_cls", lambda_cls), ("lambda_cls_rec", lambda_cls_rec)]:
        check_float(name, value, low=0)
    for name, grid in [("eszsl_gammas", eszsl_gammas), ("eszsl_lambdas", eszsl_lambdas)]:
        if isinstance(grid, str) or not isinstance(grid, (list, tuple)) or not grid:
            raise ValueError(f"parameter {name}: expected a non-empty list of numbers, got {grid!r}")
        for v in grid:
            check_float(f"{name} entry", v, low=0, low_open=True)
    for d in datasets:
        check_int(f"projection_dim[{d!r}]", per_dataset(_check_per_dataset("projection_dim", projection_dim), d))
        check_float(f"noise_alpha[{d!r}]", per_dataset(_check_per_dataset("noise_alpha", noise_alpha), d), low=0)


def set_threads(n_threads: int) -> None:
    """torch threads for the small networks (1 is fastest on a shared 2-core CPU)."""
    import torch  # noqa: PLC0415 (heavy)

    torch.set_num_threads(check_int("n_threads", n_threads))


# ----------------------------------------------------------------------------- data


def load_splits(datasets, user: dict | None = None, **options) -> dict:
    """``{dataset: ZSLSplit}`` by :func:`~zsl_lib.encoders.semantics.load_zsl_split` (``options``);
    ``"user"`` by :func:`~zsl_lib.encoders.semantics.load_user_zsl_split` with ``user`` (its
    ``embeddings`` / ``image_dir`` / ``attributes`` / ``unseen_classes`` / ``n_unseen``) and the
    shared ``encoder``, ``text_encoder``, ``split_seed``, ``test_fraction``,
    ``max_train_per_class`` and ``progress`` of ``options``."""
    shared = ("encoder", "text_encoder", "split_seed", "test_fraction", "max_train_per_class", "progress")
    return {ds: (load_user_zsl_split(**(user or {}), **{k: options[k] for k in shared if k in options})
                 if ds == "user" else load_zsl_split(ds, **options)) for ds in datasets}


def split_summary(splits: dict) -> pd.DataFrame:
    """One row per dataset: classes, items and dimensions of its split."""
    return pd.DataFrame([sp.summary() for sp in splits.values()]).set_index("dataset")


SPLIT_LABELS = {"n_classes": "classes", "n_seen": "seen", "n_unseen": "unseen", "n_train": "training items",
                "n_test_seen": "seen test items", "n_test_unseen": "unseen test items",
                "feature_dim": "feature dim", "semantic_dim": "semantic dim"}


def split_table(splits: dict) -> pd.DataFrame:
    """:func:`split_summary` with a reader's labels (dataset names and column headings)."""
    df = split_summary(splits).rename(columns=SPLIT_LABELS)
    return df.set_axis([display_name(d) for d in df.index], axis=0).rename_axis("dataset")


def split_records(splits: dict) -> dict:
    """``{"<ds>.data.<field>": value}`` of every split's summary."""
    return {f"{ds}.data.{k}": v for ds, sp in splits.items() for k, v in sp.summary().items() if k != "dataset"}


# ----------------------------------------------------------------------------- evaluation


def _test_set(split):
    return (np.concatenate([split.X_test_seen, split.X_test_unseen]),
            np.concatenate([split.y_test_seen, split.y_test_unseen]))


def gzsl_calibration_curve(scores_gzsl, split) -> dict:
    """Calibrated-stacking curve (:func:`zsl_lib.metrics.zsl.seen_unseen_curve`) of a GZSL scorer
    on a ZSLSplit's seen + unseen test features. ``scores_gzsl(X)`` returns ``(scores (n, C),
    classes (C,))``, e.g. ``lambda X: model.decision_function(X, "gzsl")``."""
    Xte, yte = _test_set(split)
    scores, classes = scores_gzsl(Xte)
    return seen_unseen_curve(yte, scores, classes, split.seen_classes, split.unseen_classes)


def finite_offset(curve: dict) -> float:
    """The calibration offset of a :func:`seen_unseen_curve` that maximises H, clipped to its
    finite critical points (the ends of the curve are +-inf)."""
    g = curve["gamma"]
    fin = g[np.isfinite(g)]
    if fin.size == 0:
        return 0.0
    return float(np.clip(curve["best_gamma"], fin.min() - 1e-6, fin.max() + 1e-6))


def evaluate_zsl(predict_zsl, predict_gzsl, split, space=None, random_state=0, scores_gzsl=None,
                 offset: float | None = None) -> dict:
    """ZSL per-class top-1, GZSL U/S/H and k-means MI of one fitted model on a ZSLSplit.

    ``predict_zsl(X)`` / ``predict_gzsl(X)`` return class ids; ``space(X)`` maps real features to
    the space whose clusterability is measured (k-means with one cluster per unseen class on the
    unseen test features); None skips the MI. ``scores_gzsl(X)`` returns ``(scores (n, C),
    classes (C,))`` of the GZSL classifier: with it, ``gzsl.ausuc`` (area under the seen-unseen
    accuracy curve of calibrated stacking) and ``gzsl.best_h`` (the best H over the calibration
    constant, chosen on the test labels: an upper bound) are added; with ``offset`` too (chosen
    on a validation split), ``gzsl_cal.{u,s,h}``: calibrated stacking with that offset, a result.
    Accuracies are fractions.
    """
    out = {"zsl_top1": per_class_accuracy(split.y_test_unseen, predict_zsl(split.X_test_unseen))}
    Xte, yte = _test_set(split)
    g = gzsl_scores(yte, predict_gzsl(Xte), split.seen_classes, split.unseen_classes)
    out.update({f"gzsl.{k}": v for k, v in g.items()})
    if scores_gzsl is not None:
        c = gzsl_calibration_curve(scores_gzsl, split)
        out["gzsl.ausuc"], out["gzsl.best_h"] = c["ausuc"], c["best_h"]
        if offset is not None:
            sc, classes = scores_gzsl(Xte)
            cal = calibrated_gzsl_scores(yte, sc, classes, split.seen_classes, split.unseen_classes, offset)
            out.update({f"gzsl_cal.{k}": v for k, v in cal.items()})
    if space is not None:
        mi = kmeans_mutual_info(space(split.X_test_unseen), split.y_test_unseen, random_state=random_state)
        out["kmeans_mi"], out["kmeans_nmi"] = mi["mi"], mi["nmi"]
    return out


def eszsl_scorer(model: ESZSL, semantics):
    """``X -> (scores of every class, class ids)`` of a fitted ESZSL (the GZSL scorer)."""
    return lambda X: (model.decision_function(X, semantics), np.arange(len(semantics)))


def evaluate_eszsl(model: ESZSL, split, offset: float | None = None) -> dict:
    """:func:`evaluate_zsl` of a fitted ESZSL; its k-means MI is measured in the compatibility
    space ``X V``."""
    S = split.semantics
    return evaluate_zsl(lambda X: model.predict(X, S, split.unseen_classes), lambda X: model.predict(X, S),
                        split, space=lambda X: np.asarray(X, dtype=np.float64) @ model.V_,
                        scores_gzsl=eszsl_scorer(model, S), offset=offset)


def make_validation_splits(splits: dict, val_fraction: float = 0.2, seed: int = 0) -> dict:
    """``{ds: validation_split(split)}``: the seen classes divided into training and held-out
    validation classes (:func:`~zsl_lib.data.zsl_splits.validation_split`), for every method's
    hyperparameters and calibration offset."""
    return {ds: validation_split(sp, val_fraction=val_fraction, seed=seed) for ds, sp in splits.items()}


def on_edge(grid, value, bound=None) -> bool:
    """True when ``value`` is the smallest or largest of ``grid`` (a grid of one value counts as
    an edge: nothing was compared). ``bound``: the parameter's natural limit (e.g. ``noise_alpha``
    0, no noise); a choice equal to it is no edge, since no value lies beyond it."""
    grid = sorted(grid)
    if len(grid) < 2:
        return True
    return bool(value != bound and (value == grid[0] or value == grid[-1]))


def select_on_validation(grid: dict, fit_score, bounds: dict | None = None) -> tuple[dict, dict]:
    """Exhaustive search: ``fit_score(params) -> (score, extra)`` for every combination of
    ``grid`` (``{name: values}``). Returns ``(best, table)``: ``best`` holds the chosen values,
    ``"val_score"``, ``extra`` of the best, ``"<name>_on_edge"`` per parameter (see
    :func:`on_edge`; ``bounds``: ``{name: natural limit}``) and ``"<name>_edge_tie"`` (on an edge, and
    the next value inside the grid scores the same: validation is flat there and the first maximum in
    grid order sits on the edge); ``table[(values...)]`` every score."""
    names = list(grid)
    table, extras = {}, {}
    for values in itertools.product(*(grid[n] for n in names)):
        table[values], extras[values] = fit_score(dict(zip(names, values)))
    best = max(table, key=table.get)  # first maximum in grid order
    out = {**dict(zip(names, best)), "val_score": table[best], **extras[best]}
    out.update({f"{n}_on_edge": on_edge(grid[n], v, (bounds or {}).get(n)) for n, v in zip(names, best)})
    for i, n in enumerate(names):  # an edge choice that ties its inner neighbour: a plateau, not a rising score
        vals = sorted(grid[n])
        nb = None if len(vals) < 2 else vals[1] if best[i] == vals[0] else vals[-2] if best[i] == vals[-1] else None
        out[f"{n}_edge_tie"] = bool(out[f"{n}_on_edge"] and nb is not None
                                    and table[(*best[:i], nb, *best[i + 1:])] == table[best])
    return out, table


def run_eszsl(splits: dict, val_splits: dict, gammas, lambdas) -> tuple[dict, dict]:
    """Tune ESZSL on the validation split, fit and evaluate it on every split.

    ``gamma`` / ``lambda_`` maximise the ZSL per-class top-1 on the validation classes; the
    calibration offset maximises H on the validation split (model of the chosen setting); the
    final model is refitted on all seen training items. Returns ``(results, models)``:
    ``results[ds]`` holds :func:`evaluate_eszsl`'s metrics (with ``gzsl_cal.*``), the chosen
    ``gamma`` / ``lambda_``, ``offset``, ``val_score`` and ``*_on_edge``; ``models[ds]`` the model.
    """
    results, models = {}, {}
    for ds, sp in splits.items():
        val = val_splits[ds]

        def fit_score(p, val=val):
            m = ESZSL(**p).fit(val.X_train, val.y_train, val.semantics)
            acc = per_class_accuracy(val.y_test_unseen, m.predict(val.X_test_unseen, val.semantics,
                                                                  val.unseen_classes))
            return acc, {"offset": finite_offset(gzsl_calibration_curve(eszsl_scorer(m, val.semantics), val))}

        best, _ = select_on_validation({"gamma": list(gammas), "lambda_": list(lambdas)}, fit_score)
        models[ds] = ESZSL(gamma=best["gamma"], lambda_=best["lambda_"]).fit(sp.X_train, sp.y_train, sp.semantics)
        results[ds] = {**evaluate_eszsl(models[ds], sp, offset=best["offset"]), **best}
    return results, models


def eszsl_records(results: dict) -> dict:
    """``{"<ds>.eszsl.<metric or parameter>": value}``."""
    return {f"{ds}.eszsl.{k}": v for ds, r in results.items() for k, v in r.items()}


def variant_grid(variant: str, grid: dict, params: dict) -> dict:
    """The part of ``grid`` (``{ClusterableCVAE setting: values}``) that ``variant`` uses; a
    variant that uses none of them gets its single configured setting."""
    kw = {**params, **ABLATION_VARIANTS[variant]}
    return {k: list(v) for k, v in grid.items() if _ACTIVE.get(k, lambda _kw: True)(kw)}


def select_cvae(val, variant: str, params: dict, grid: dict, seed: int = 0) -> dict:
    """Choose ``variant``'s settings of ``grid`` and its calibration offset on the validation
    split ``val``: ZSL per-class top-1 on the validation classes (seed ``seed``), then the offset
    maximising H of the chosen model on the validation split (see :func:`select_on_validation`)."""
    def fit_score(p):
        kw = {**params, **ABLATION_VARIANTS[variant], **p, "random_state": seed, "progress": False}
        m = ClusterableCVAE(**kw).fit(val.X_train, val.y_train, val.semantics, val.unseen_classes)
        acc = per_class_accuracy(val.y_test_unseen, m.predict(val.X_test_unseen, "zsl"))
        curve = gzsl_calibration_curve(lambda X: m.decision_function(X, "gzsl"), val)
        return acc, {"offset": finite_offset(curve)}

    return select_on_validation(variant_grid(variant, grid, params), fit_score, bounds=NATURAL_BOUNDS)[0]


def run_ablation(split, variants, seeds, params: dict, progress: bool = True, val=None, grid: dict | None = None):
    """Fit every ablation variant for every seed; returns (long DataFrame of metrics, models,
    selections).

    ``variants`` are keys of :data:`~zsl_lib.zeroshot.cvae.ABLATION_VARIANTS`; ``params`` are
    further :class:`ClusterableCVAE` keyword arguments (``noise_alpha`` applies to the noise
    variant). With a validation split ``val``, each variant's settings of ``grid`` and its
    calibration offset are chosen on it first (:func:`select_cvae`, first seed) and every seed is
    then trained on all seen training items with them. ``models[variant]`` keeps the fitted model
    of the first seed only (for figures); ``selections[variant]`` the choice.
    """
    check_name_list("variants", variants, list(ABLATION_VARIANTS))
    rows, models, selections = [], {}, {}
    for v in tqdm(variants, desc=f"{split.name} ablation", disable=not progress):
        sel = select_cvae(val, v, params, grid or {}, seed=seeds[0]) if val is not None else {}
        selections[v] = sel
        chosen = {k: sel[k] for k in (grid or {}) if k in sel}
        for s in seeds:
            kw = {**params, **ABLATION_VARIANTS[v], **chosen, "random_state": s, "progress": False}
            m = ClusterableCVAE(**kw).fit(split.X_train, split.y_train, split.semantics, split.unseen_classes)
            res = evaluate_zsl(lambda X, m=m: m.predict(X, "zsl"), lambda X, m=m: m.predict(X, "gzsl"),
                               split, space=m.transform, random_state=s,
                               scores_gzsl=lambda X, m=m: m.decision_function(X, "gzsl"), offset=sel.get("offset"))
            rows.append({"dataset": split.name, "variant": v, "seed": s, **res})
            if s == seeds[0]:
                models[v] = m
    return pd.DataFrame(rows), models, selections


def run_ablations(splits: dict, variants, seeds, params: dict, projection_dim: dict, noise_alpha: dict,
                  progress: bool = True, val_splits: dict | None = None, grid: dict | None = None):
    """:func:`run_ablation` on every split with its per-dataset ``projection_dim`` / ``noise_alpha``
    (and its validation split of ``val_splits``, with ``grid``).

    Returns ``(runs, first_models, selections)``: one row per (dataset, variant, seed),
    ``first_models[ds][variant]`` (first seed) and ``selections[ds][variant]``.
    """
    all_runs, first_models, selections = [], {}, {}
    for ds, sp in splits.items():
        kw = {**params, "projection_dim": per_dataset(projection_dim, ds), "noise_alpha": per_dataset(noise_alpha, ds)}
        val = None if val_splits is None else val_splits[ds]
        runs, first_models[ds], selections[ds] = run_ablation(sp, variants, seeds, kw, progress=progress,
                                                              val=val, grid=grid)
        all_runs.append(runs)
    return pd.concat(all_runs, ignore_index=True), first_models, selections


def selection_records(selections: dict) -> dict:
    """``{"<ds>.<variant>.selected.<name>": value}`` of every choice made on validation."""
    return {f"{ds}.{v}.selected.{k}": (bool(x) if isinstance(x, (bool, np.bool_)) else x)
            for ds, sel in selections.items() for v, r in sel.items() for k, x in r.items()}


#: a reader's names of the settings chosen on validation (tables, not code identifiers)
SETTING_NAMES = {"gamma": "γ", "lambda_": "λ", "gaussian_gamma": "Gaussian γ", "noise_alpha": "noise α"}


def selection_table(eszsl: dict, selections: dict) -> pd.DataFrame:
    """One row per (dataset, method): the values chosen on validation (named by
    :data:`SETTING_NAMES`), whether each sits on an edge of its grid, the validation ZSL top-1 and
    the calibration offset."""
    rows = []
    name = SETTING_NAMES.get
    for ds, r in eszsl.items():
        rows.append({"dataset": display_name(ds), "method": "ESZSL",
                     "chosen": f"γ = {r['gamma']:g}, λ = {r['lambda_']:g}",
                     "on edge": ", ".join(name(k, k) for k in ("gamma", "lambda_") if r[f"{k}_on_edge"]) or "none",
                     "val ZSL top-1 (%)": round(100 * r["val_score"], 1), "offset": round(r["offset"], 3)})
        for v, sel in selections.get(ds, {}).items():
            names = [k[: -len("_on_edge")] for k in sel if k.endswith("_on_edge")]
            rows.append({"dataset": display_name(ds), "method": display_name(v),
                         "chosen": ", ".join(f"{name(k, k)} = {sel[k]:g}" for k in names) or "(no grid)",
                         "on edge": ", ".join(name(k, k) for k in names if sel[f"{k}_on_edge"]) or "none",
                         "val ZSL top-1 (%)": round(100 * sel.get("val_score", np.nan), 1),
                         "offset": round(sel.get("offset", np.nan), 3)})
    return pd.DataFrame(rows).set_index(["dataset", "method"])


def aggregate(runs: pd.DataFrame) -> pd.DataFrame:
    """Mean and std over seeds of every metric, indexed by (dataset, variant) in run order."""
    return runs.groupby(["dataset", "variant"], sort=False)[list(METRICS)].agg(["mean", "std", "min", "max"])


def ablation_records(agg: pd.DataFrame) -> dict:
    """``{"<ds>.<variant>.<metric>": mean, "..._std": std}`` (std 0 with one seed)."""
    out = {}
    for (ds, v), row in agg.iterrows():
        for m in METRICS:
            out[f"{ds}.{v}.{m}"] = row[(m, "mean")]
            out[f"{ds}.{v}.{m}_std"] = 0.0 if np.isnan(row[(m, "std")]) else row[(m, "std")]
            out[f"{ds}.{v}.{m}_min"], out[f"{ds}.{v}.{m}_max"] = row[(m, "min")], row[(m, "max")]
    return out


def full_variant(variants) -> str:
    """The variant compared with the paper's "Ours": the full method if run, else the last one."""
    return FULL_METHOD if FULL_METHOD in variants else list(variants)[-1]


def _mean(agg, ds, v, m) -> float:
    return agg.loc[(ds, v), (m, "mean")] if (ds, v) in agg.index else np.nan


# ----------------------------------------------------------------------------- GZSL coverage


def _centres(X, y):
    classes, inv, counts = np.unique(y, return_inverse=True, return_counts=True)
    c = np.zeros((len(classes), X.shape[1]))
    np.add.at(c, inv, X)
    return classes, c / counts[:, None], inv


def coverage_diagnosis(model, split, n_per_class: int = 100, random_state=0) -> pd.DataFrame:
    """Why synthesised unseen features miss the real ones, per unseen class, in the model's
    classification space. Columns: ``real_spread`` / ``synth_spread`` (mean distance of the real
    test / synthesised features of the class to their own mean), ``centre_offset`` (distance
    between the two means), ``d_own`` (mean distance of the real features to their class's
    synthesised mean), ``d_seen`` (mean distance to the nearest seen-class mean of the real
    projected training features) and ``closer_to_seen`` (fraction of real features nearer a
    seen-class mean than their own synthesised mean)."""
    from scipy.spatial.distance import cdist  # noqa: PLC0415

    R = np.asarray(model.transform(split.X_test_unseen), np.float64)
    G, yg = model.generate(split.unseen_classes, n_per_class, random_state=random_state)
    classes, rc, rinv = _centres(R, split.y_test_unseen)
    gclasses, gc, ginv = _centres(np.asarray(G, np.float64), yg)
    gc = gc[np.searchsorted(gclasses, classes)]
    _, sc, _ = _centres(np.asarray(model.transform(split.X_train), np.float64), split.y_train)
    d_own = np.linalg.norm(R - gc[rinv], axis=1)
    d_seen = cdist(R, sc).min(1)
    real_dev = np.linalg.norm(R - rc[rinv], axis=1)
    synth_dev = np.linalg.norm(G - _centres(np.asarray(G, np.float64), yg)[1][ginv], axis=1)
    per = lambda v, inv, n: np.bincount(inv, weights=v, minlength=n) / np.bincount(inv, minlength=n)  # noqa: E731
    n = len(classes)
    return pd.DataFrame({
        "real_spread": per(real_dev, rinv, n),
        "synth_spread": per(synth_dev, np.searchsorted(classes, gclasses)[ginv], n),
        "centre_offset": np.linalg.norm(rc - gc, axis=1),
        "d_own": per(d_own, rinv, n), "d_seen": per(d_seen, rinv, n),
        "closer_to_seen": per((d_seen < d_own).astype(float), rinv, n),
    }, index=pd.Index(classes, name="class"))


def coverage_records(diagnoses: dict) -> dict:
    """``{"<ds>.<variant>.coverage.<column>": mean over unseen classes}`` of
    :func:`coverage_diagnosis` tables ``diagnoses[ds][variant]``."""
    return {f"{ds}.{v}.coverage.{k}": float(x) for ds, per_v in diagnoses.items() for v, df in per_v.items()
            for k, x in df.mean().items()}


# ----------------------------------------------------------------------------- tables


def mean_std(agg: pd.DataFrame, ds: str, variant: str, metric: str, scale: float = 100.0) -> str:
    """``"mean ± std"`` over seeds with the digits the spread supports (:func:`~zsl_lib.experiments.verdicts.fmt`;
    at most one decimal for percentages (scale 100), three otherwise)."""
    mean = agg.loc[(ds, variant), (metric, "mean")]
    std = float(np.nan_to_num(agg.loc[(ds, variant), (metric, "std")]))
    spread = max(std, 0.001)
    return f"{V.fmt(mean, spread=spread, scale=scale)} ± {V.fmt(std, spread=spread, scale=scale)}"


def _paper_cell(v: float) -> str | None:
    return None if np.isnan(v) else f"{v:g}"


def table4(agg: pd.DataFrame, variants) -> pd.DataFrame:
    """Table 4 beside the paper: its MI and ZSL accuracy (%), our k-means NMI and ZSL accuracy
    (mean ± std over seeds); "–" where the paper gives no number."""
    datasets = list(dict.fromkeys(agg.index.get_level_values("dataset")))
    cols = {}
    for d in PAPER_DATASETS:
        cols[f"{d} MI (paper)"] = [_paper_cell(paper(d, v, "kmeans_mi")) for v in variants]
        cols[f"{d} ZSL top-1 % (paper)"] = [_paper_cell(paper(d, v, "zsl_top1")) for v in variants]
    cols.update({f"{display_name(ds)} NMI": [mean_std(agg, ds, v, "kmeans_nmi", 1) for v in variants]
                 for ds in datasets})
    cols.update({f"{display_name(ds)} ZSL top-1 %": [mean_std(agg, ds, v, "zsl_top1") for v in variants]
                 for ds in datasets})
    return pd.DataFrame(cols, index=pd.Index([display_name(v) for v in variants], name="method"))


def table2(agg: pd.DataFrame, eszsl: dict, full: str) -> pd.DataFrame:
    """Table 2 (ZSL top-1, %): one row per dataset (the paper's, then ours), ESZSL and the full method."""
    rows = [{"dataset": f"{d} (paper)", "ESZSL": _paper_cell(paper(d, "eszsl", "zsl_top1")),
             "full method": _paper_cell(paper(d, FULL_METHOD, "zsl_top1"))} for d in PAPER_DATASETS]
    rows += [{"dataset": display_name(ds), "ESZSL": V.fmt(r["zsl_top1"], scale=100, digits=1),
              "full method": mean_std(agg, ds, full, "zsl_top1")} for ds, r in eszsl.items()]
    return pd.DataFrame(rows).set_index("dataset")


def table1(agg: pd.DataFrame, eszsl: dict, full: str) -> pd.DataFrame:
    """Table 1 (GZSL U / S / H, %): one row per (dataset, method), the paper's rows first; ours
    uncalibrated and, where recorded, calibrated with the offset chosen on validation."""
    rows = [{"dataset": f"{d} (paper)", "method": name, **{k.upper(): _paper_cell(paper(d, m, f"gzsl.{k}"))
                                                          for k in "ush"}}
            for d in PAPER_DATASETS for name, m in (("ESZSL", "eszsl"), ("full method", FULL_METHOD))]
    for ds, r in eszsl.items():
        for prefix, how in (("gzsl", ""), ("gzsl_cal", ", calibrated")):
            if f"{prefix}.h" not in r:
                continue
            rows.append({"dataset": display_name(ds), "method": f"ESZSL{how}",
                         **{k.upper(): V.fmt(r[f"{prefix}.{k}"], scale=100, digits=1) for k in "ush"}})
            rows.append({"dataset": display_name(ds), "method": f"full method{how}",
                         **{k.upper(): mean_std(agg, ds, full, f"{prefix}.{k}") for k in "ush"}})
    return pd.DataFrame(rows).set_index(["dataset", "method"])


def calibration_table(agg: pd.DataFrame, eszsl: dict, variants) -> pd.DataFrame:
    """One row per (dataset, method): H at gamma = 0, H with the offset chosen on validation (a
    result), best H over gamma (test labels: an upper bound) and AUSUC (%), means over seeds."""
    cols = [("H, γ = 0", "gzsl.h"), ("H, γ from validation", "gzsl_cal.h"),
            ("best H (upper bound)", "gzsl.best_h"), ("AUSUC", "gzsl.ausuc")]
    rows = []
    for ds, r in eszsl.items():
        rows.append({"dataset": display_name(ds), "method": "ESZSL", **{c: 100 * r.get(k, np.nan) for c, k in cols}})
        rows += [{"dataset": display_name(ds), "method": display_name(v),
                  **{c: 100 * _mean(agg, ds, v, k) for c, k in cols}} for v in variants]
    return pd.DataFrame(rows).set_index(["dataset", "method"]).round(1)


def eszsl_summary(results: dict) -> pd.DataFrame:
    """ESZSL per dataset, human labels: chosen gamma / lambda and its scores (%; NMI as a fraction)."""
    return pd.DataFrame([{"dataset": display_name(ds), "gamma": f"{r['gamma']:g}", "lambda": f"{r['lambda_']:g}",
                          "ZSL top-1 %": 100 * r["zsl_top1"], "GZSL U %": 100 * r["gzsl.u"],
                          "GZSL S %": 100 * r["gzsl.s"], "GZSL H %": 100 * r["gzsl.h"],
                          "calibrated H %": 100 * r.get("gzsl_cal.h", np.nan), "AUSUC %": 100 * r["gzsl.ausuc"],
                          "k-means NMI": r["kmeans_nmi"]} for ds, r in results.items()]).set_index("dataset")


COVERAGE_LABELS = {"real_spread": "real spread", "synth_spread": "synthesised spread",
                   "centre_offset": "centre offset", "d_own": "distance to own synthesised mean",
                   "d_seen": "distance to nearest seen mean", "closer_to_seen": "share nearer a seen class"}


# ----------------------------------------------------------------------------- few-shot (Table 5)


def fewshot_comparison(
    X_base, y_base, X_novel, y_novel, shots=(1, 5), n_way: int = 5, n_query: int = 15,
    n_episodes: int = 600, classifier: str = "centroid", gaussian_params: dict | None = None,
    random_state=0, progress: bool = True,
) -> dict:
    """Table 5: few-shot accuracy on raw features vs features mapped by a Gaussian-loss mapping.

    The mapping F (:class:`~zsl_lib.zeroshot.cvae.GaussianSimilarityMapping`) is trained on the
    base classes (``X_base``, ``y_base``) and applied to the novel classes; both feature sets are
    min-max scaled with the base-set statistics. The same episodes are used for both.
    Returns ``{"<k>shot": {"baseline": result, "gaussian": result}}`` with the dicts of
    :func:`~zsl_lib.zeroshot.fewshot.evaluate_episodes`.
    """
    scaler = MinMaxScaler().fit(np.asarray(X_base, dtype=np.float32))
    Xb, Xn = scaler.transform(X_base).astype(np.float32), scaler.transform(X_novel).astype(np.float32)
    mapping = GaussianSimilarityMapping(**{"random_state": random_state, "progress": progress,
                                           **(gaussian_params or {})}).fit(Xb, y_base)
    spaces = {"baseline": Xn, "gaussian": mapping.transform(Xn)}
    return {
        f"{k}shot": {
            name: evaluate_episodes(Z, y_novel, n_way=n_way, k_shot=k, n_query=n_query, n_episodes=n_episodes,
                                    classifier=classifier, random_state=random_state, progress=progress)
            for name, Z in spaces.items()
        }
        for k in shots
    }


def run_fewshot(splits: dict, **options) -> dict:
    """:func:`fewshot_comparison` per split: base = seen training features, novel = unseen test
    features. Returns ``{ds: {"<k>shot": {"baseline": result, "gaussian": result}}}``."""
    return {ds: fewshot_comparison(sp.X_train, sp.y_train, sp.X_test_unseen, sp.y_test_unseen, **options)
            for ds, sp in splits.items()}


def fewshot_records(fewshot: dict) -> dict:
    """``{"<ds>.fewshot.<k>shot.<space>": mean, "..._ci95": half-width}``."""
    out = {}
    for ds, fs in fewshot.items():
        for shot, res in fs.items():
            for name, r in res.items():
                out[f"{ds}.fewshot.{shot}.{name}"] = r["mean"]
                out[f"{ds}.fewshot.{shot}.{name}_ci95"] = r["ci95"]
    return out


def table5(fewshot: dict) -> pd.DataFrame:
    """Table 5 (%): ours as "mean ± 95% CI" per dataset and space, then the paper's rows."""
    rows = []
    for ds, fs in fewshot.items():
        for name, label in (("baseline", "raw features"), ("gaussian", "Gaussian-loss features")):
            rows.append({"dataset": display_name(ds), "features": label,
                         **{f"{shot[:-4]}-shot %": f"{100 * res[name]['mean']:.1f} ± {100 * res[name]['ci95']:.1f}"
                            for shot, res in fs.items()}})
    for d in ("CUB", "SUN"):
        for who, name in (("raw features (Ours-Baseline)", "baseline"), ("Gaussian-loss features", "gaussian")):
            rows.append({"dataset": f"{d} (paper)", "features": who,
                         **{f"{shot[:-4]}-shot %": _paper_cell(paper(d, "fewshot", f"{shot}.{name}"))
                            for shot in ("1shot", "5shot")}})
    return pd.DataFrame(rows).set_index(["dataset", "features"])
