"""Driver of notebook 05 (Bynke 2022, multi-label image classification with language-image models).

The notebook checks its parameters into a :class:`Settings`, then calls one function per step;
each step returns a :class:`Step` (``results`` for the later steps, the ``table`` it shows and the
``records`` to pass to ``zsl_lib.record.record_many``):

- :func:`load_collections` -- keyword collections (fashion-products, Tiny-ImageNet, Mulan scene,
  a user's folder, a user's numeric features), their image features and language-image
  embeddings (``multilabel_data`` embeds; the estimators in ``zsl_lib.zeroshot`` only take arrays);
- :func:`prepare_collections` -- section 3.1.2 preparation of each collection (a given split
  kept), then the ``feature_scaling`` of numeric features;
- :func:`table45_language_image`, :func:`table46_neighbor_search`, :func:`table47_neighbor_nets`,
  :func:`table48_model_comparison`, :func:`table49_roc_auc`, :func:`table410_suggestions`,
  :func:`table411_contributors`, :func:`learning_curve` -- the thesis's tables and the chapter-6
  extensions; :func:`plot_model_comparison`, :func:`plot_example_query`,
  :func:`plot_learning_curve` -- the figures.

:data:`SOURCE` holds every number of the thesis the notebook compares with, as one flat dict of
dotted keys -> fractions in [0, 1] (F2 55.8 % is ``0.558``), e.g. ``"table4_8.f2.one_nn"``.
:data:`THESIS_FINETUNE` holds the settings the thesis *used* (Table 4.4), not results: the
fine-tuning of each fine-tuned neighbour-net variant, applied with ``finetune_settings="thesis"``.

The headline F2 is micro-averaged, as in the thesis (section 2.1.6 pools all items x classes
decisions into one set of positives / predicted positives; it never averages per image); the
samples-averaged F2 (each image's own F2, then the mean) is recorded beside it as ``f2_samples``.
Hyperparameter search (:func:`~zsl_lib.experiments.multilabel_hpo.tune_and_evaluate`) lives in
``multilabel_hpo``.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ..config import resolve_device
from ..data import keywords as kwd
from ..data.user import BAD_IMAGES
from ..metrics.multilabel import (
    METRIC_NAMES,
    binarize,
    fbeta_samples,
    multilabel_report,
    per_class_roc_auc,
)
from ..metrics.stats import micro_fbeta_statistic, multilabel_counts
from ..validation import check_choice, check_float, check_int, check_name_list
from ..zeroshot import language_image as lim
from ..zeroshot.multilabel_prep import PreparedData
from ..zeroshot.neighbor_nets import NeighborNet, prototype_groups
from ..zeroshot.neighbors import MLkNN, NeighborSearch, OneNearestNeighbor
from ..zeroshot.thresholds import per_class_thresholds
from . import multilabel_data as mld
from . import verdicts as V
from .multilabel_data import Collection, load_collection, load_collections, resolve_user_path  # noqa: F401
from .multilabel_hpo import TunedModel, is_binary, tune_and_evaluate
from .multilabel_plots import (  # noqa: F401  (re-exported)
    CURVE_STYLE,
    curve_label,
    keyword_lines,
    plot_example_query,
    plot_learning_curve,
    plot_model_comparison,
)
from .multilabel_words import FLOOR, FLOOR_LABEL  # noqa: F401  (re-exported)

# The thesis's numbers (its non-public military collection, test split, micro averaging), as
# fractions. Table 4.7 keys name the variant: kind . prototypes grouping . prototype labels
# [. finetuned] ("all_items" = no prototypes; the thesis used 16 prototypes per class).
SOURCE: dict[str, float] = {
    "test_prevalence": 0.0116,
    "table4_5.f2.ensemble.original": 0.116,
    "table4_5.f2.ensemble.automatic": 0.158,
    "table4_5.f2.ensemble.manual": 0.191,
    "table4_5.f2.single.manual": 0.186,
    "table4_6.f2.one_nn": 0.458,
    "table4_6.f2.neighbor_search": 0.568,
    "table4_7.f2.simple.all_items": 0.558,
    "table4_7.f2.simple.all_items.finetuned": 0.558,
    "table4_7.f2.simple.random.onehot": 0.225,
    "table4_7.f2.simple.kmeans.onehot": 0.276,
    "table4_7.f2.simple.kmeans.average": 0.386,
    "table4_7.f2.simple.kmeans.average.finetuned": 0.548,
    "table4_7.f2.simple.optimized.average": 0.551,
    "table4_7.f2.classwise.kmeans": 0.178,
    "table4_7.f2.classwise.kmeans.finetuned": 0.553,
    "table4_7.f2.classwise.random.finetuned": 0.559,
    **{f"table4_8.{metric}.{model}": value
       for model, row in {
           "language_image": (0.191, 0.3760, 0.389, 0.063, 0.926, 0.025, 0.805),
           "one_nn": (0.458, 0.0126, 0.459, 0.456, 0.987, 0.358, 0.726),
           "neighbor_search": (0.568, 0.0075, 0.665, 0.358, 0.982, 0.182, 0.945),
           "simple_net": (0.558, 0.0077, 0.658, 0.347, 0.982, 0.197, 0.969),
           "classwise_net": (0.559, 0.0078, 0.650, 0.358, 0.982, 0.113, 0.942),
       }.items()
       for metric, value in zip(METRIC_NAMES, row)},
}

# Table 4.4: the fine-tuning the thesis used for each fine-tuned variant (its settings, not results;
# the simple nets start from their base variant's searched temperature, the class-wise ones from
# the thesis's own: 4.9755 optimised, 1 not optimised).
THESIS_FINETUNE: dict[str, dict[str, float]] = {
    "simple.all_items.finetuned": dict(epochs=6, batch_size=319, lr=0.000016878, momentum=0.10277),
    "simple.kmeans.average.finetuned": dict(epochs=12, batch_size=33, lr=9.8052, momentum=0.36597),
    "classwise.kmeans.finetuned": dict(temperature=4.9755, epochs=63, batch_size=64, lr=100.0, momentum=0.90390),
    "classwise.random.finetuned": dict(temperature=1.0, epochs=100, batch_size=64, lr=52.2653, momentum=0.99),
}

DATASETS = ("fashion-products", "tiny-imagenet", "mulan-scene", "user", "user-features")
CONTEXT_SETS = {"product": lim.PRODUCT_CONTEXTS, "thesis": lim.THESIS_CONTEXTS}
NS_SPACE = {"temperature": ("float", 1.0, 300.0, "log"), "max_sim_diff": ("float", 0.0, 8.0),
            "max_neighbors": ("int", 1, 200)}
TEMPERATURE_SPACE = {"temperature": ("float", 1.0, 300.0, "log")}

# Table 4.7: (SOURCE key suffix, label ({n} = prototypes per class), kind, prototypes?, grouping,
# prototype labels, fine-tuned, variant whose searched temperature a fine-tuned net starts from)
NET_VARIANTS = (
    ("simple.all_items", "simple, all items", "simple", False, None, None, False, None),
    ("simple.all_items.finetuned", "simple, all items, fine-tuned", "simple", False, None, None, True,
     "simple.all_items"),
    ("simple.random.onehot", "simple, {n} random, one-hot", "simple", True, "random", "onehot", False, None),
    ("simple.kmeans.onehot", "simple, {n} k-means, one-hot", "simple", True, "kmeans", "onehot", False, None),
    ("simple.kmeans.average", "simple, {n} k-means, average", "simple", True, "kmeans", "average", False, None),
    ("simple.kmeans.average.finetuned", "simple, {n} k-means, average, fine-tuned", "simple", True, "kmeans",
     "average", True, "simple.kmeans.average"),
    ("classwise.kmeans", "class-wise, {n} k-means", "classwise", True, "kmeans", "onehot", False, None),
    ("classwise.kmeans.finetuned", "class-wise, {n} k-means, fine-tuned", "classwise", True, "kmeans", "onehot",
     True, "classwise.kmeans"),
    ("classwise.random.finetuned", "class-wise, {n} random, fine-tuned", "classwise", True, "random", "onehot",
     True, "classwise.kmeans"),
)


@dataclass
class Step:
    """What a notebook step returns: results for later steps, the table it shows, its records."""

    results: Any
    table: pd.DataFrame
    records: dict[str, Any] = field(default_factory=dict)


@dataclass
class Settings:
    """Notebook 05's parameters, checked (``__post_init__``); names as in the parameters cell.

    With ``encoder_weights="random"`` the ``openclip:<arch>/<tag>`` encoders lose their tag
    (the real architecture with random weights, the offline test of the paper path).
    """

    datasets: list
    image_encoder: str = "efficientnet-lite0"
    language_image_encoder: str = "lit-fashion"
    encoder_weights: str = "pretrained"
    translation_csv: str = ""
    prompt_contexts: str = "auto"
    user_csv: str = ""
    user_features: str = ""
    user_features_test: str = ""
    user_n_labels: int = 0
    feature_scaling: str = "none"
    mulan_split: str = "pooled"
    fashion_items: int = 0
    max_items: int = 0
    tiny_split: str = "val"
    tiny_limit_per_class: int = 0
    tiny_coarse_levels: int = 3
    tiny_coarse_drop: float = 0.5
    suspected_duplicate: float = 0.98
    certain_duplicate: float = 0.995
    duplicate_pairs_csv: str = ""
    deduplicate: str = "auto"
    bad_images: str = "raise"
    min_count: int = 20
    tiny_min_count: int = 3
    max_trials: int = 25
    n_prototypes: int = 16
    finetune_epochs: int = 5
    finetune_lr: float = 0.05
    finetune_batch_size: int = 64
    finetune_momentum: float = 0.9
    finetune_settings: str = "shared"
    learning_curve_sizes: list = field(default_factory=lambda: [25, 50, 100, 200, 400, 800, 1600])
    example_query: int = 0
    seed: int = 0
    device: str = "auto"

    def __post_init__(self):
        self.device = resolve_device(self.device)  # "auto" -> the device used; an absent one fails here
        self.datasets = check_name_list("datasets", self.datasets, DATASETS)
        if "user" in self.datasets and not self.user_csv:
            raise ValueError("parameter datasets includes 'user' but user_csv is empty: give the path of a "
                             "path,keywords CSV")
        if "user-features" in self.datasets and not self.user_features:
            raise ValueError("parameter datasets includes 'user-features' but user_features is empty: give the path "
                             "of an .npz (X, Y, optional label_names, split) or a Mulan/MEKA .arff")
        check_choice("feature_scaling", self.feature_scaling, mld.FEATURE_SCALINGS, "parameter")
        check_choice("mulan_split", self.mulan_split, ("pooled", "given"), "parameter")
        check_choice("deduplicate", self.deduplicate, mld.DEDUPLICATE, "parameter")
        check_choice("parameter bad_images", self.bad_images, BAD_IMAGES)
        check_choice("prompt_contexts", self.prompt_contexts, ("auto", *CONTEXT_SETS), "parameter")
        check_choice("finetune_settings", self.finetune_settings, ("shared", "thesis"), "parameter")
        check_choice("encoder_weights", self.encoder_weights, ("pretrained", "random"), "parameter")
        for name in ("image_encoder", "language_image_encoder", "translation_csv", "user_csv",
                     "user_features", "user_features_test", "duplicate_pairs_csv"):
            if not isinstance(getattr(self, name), str):
                raise ValueError(f"parameter {name} must be a string; got {getattr(self, name)!r}")
        if any(n not in mld.NUMERIC_DATASETS for n in self.datasets):  # image collections need the encoder registry
            from ..encoders import check_encoder_name  # noqa: PLC0415  (encoders import torch: kept lazy)

            for pname in ("image_encoder", "language_image_encoder"):
                check_encoder_name(f"parameter {pname}", getattr(self, pname), extra=("none",))
        if self.encoder_weights == "random":  # 'openclip:<arch>' without a tag = random weights
            if not all(e == "none" or e.startswith("openclip:") for e in (self.image_encoder, self.language_image_encoder)):
                raise ValueError("parameter encoder_weights='random' needs openclip:<arch>/<tag> encoders "
                                 "(image_encoder, language_image_encoder)")
            self.image_encoder = self.image_encoder.split("/")[0]
            if self.language_image_encoder != "none":
                self.language_image_encoder = self.language_image_encoder.split("/")[0]
        check_choice("tiny_split", self.tiny_split, ("train", "val"), "parameter")
        for name in ("fashion_items", "max_items", "tiny_limit_per_class", "example_query", "seed", "user_n_labels"):
            check_int(f"parameter {name}", getattr(self, name), minimum=0)
        for name in ("tiny_coarse_levels", "min_count", "tiny_min_count", "max_trials", "n_prototypes",
                     "finetune_epochs", "finetune_batch_size"):
            check_int(f"parameter {name}", getattr(self, name), minimum=1)
        check_float("parameter tiny_coarse_drop", self.tiny_coarse_drop, 0, 1, high_open=True)
        check_float("parameter suspected_duplicate", self.suspected_duplicate, -1, 1)
        check_float("parameter certain_duplicate", self.certain_duplicate, -1, 1)
        if self.certain_duplicate < self.suspected_duplicate:
            raise ValueError(f"parameter certain_duplicate={self.certain_duplicate} must be >= suspected_duplicate="
                             f"{self.suspected_duplicate} (certain duplicates are a subset of the suspected ones)")
        check_float("parameter finetune_lr", self.finetune_lr, low=0, low_open=True)
        check_float("parameter finetune_momentum", self.finetune_momentum, 0, 1, high_open=True)
        if not isinstance(self.learning_curve_sizes, (list, tuple)) or not self.learning_curve_sizes:
            raise ValueError(f"parameter learning_curve_sizes: expected a non-empty list of integers, got "
                             f"{self.learning_curve_sizes!r} (pass lists to papermill with -y)")
        for v in self.learning_curve_sizes:
            check_int("parameter learning_curve_sizes (each entry)", v, minimum=1)


def splits(d: PreparedData) -> dict[str, np.ndarray]:
    """The validation and test features of a prepared collection, keyed as tune_and_evaluate asks."""
    return {"val": d.X_val, "test": d.X_test}


def f2_comparison(Y, P_a, P_b, seed: int = 0) -> dict:
    """Paired bootstrap interval over the test items of micro-F2(``P_a``) - micro-F2(``P_b``)
    (0/1 predictions of two models on the same items ``Y``), see :func:`verdicts.compare`."""
    return V.compare(multilabel_counts(Y, P_a), multilabel_counts(Y, P_b), statistic=micro_fbeta_statistic(2),
                     seed=seed)


def comparison_records(key: str, cmp: dict) -> dict:
    """The records of one comparison (``key.diff/.lo/.hi/.n/.method``), as a dict."""
    out: dict = {}
    V.record_comparison(key, cmp, out.__setitem__)
    return out


def predictions(r: TunedModel) -> np.ndarray:
    """A tuned model's 0/1 test predictions at its validation threshold."""
    return binarize(r.test_scores, r.threshold)


def compare_models(Y, models: dict, pairs, prefix: str, seed: int = 0) -> dict:
    """Records of ``prefix.{a}_minus_{b}`` for each ``(a, b)`` of ``pairs`` whose models both exist."""
    out: dict = {}
    for a, b in pairs:
        if a in models and b in models:
            out.update(comparison_records(f"{prefix}.{a}_minus_{b}",
                                          f2_comparison(Y, predictions(models[a]), predictions(models[b]), seed)))
    return out


# -- data -----------------------------------------------------------------------------------------
def prepare_collections(collections: dict[str, Collection], cfg: Settings) -> Step:
    """Section 3.1.2 on every collection (a given split kept), numeric features scaled by
    ``feature_scaling``; results = {name: PreparedData}."""
    prepared, records = mld.prepare_collections(collections, cfg)
    table = pd.DataFrame({n: {**d.info, "train/val/test": f"{len(d.Y_train)}/{len(d.Y_val)}/{len(d.Y_test)}",
                              "test prevalence": f"{100 * d.prevalence_test:.2f} %"} for n, d in prepared.items()})
    return Step(prepared, table, records)


# -- Table 4.5: language-image model ---------------------------------------------------------------
def text_encoder_for(image_encoder: str, device: str = "cpu"):
    """The text side of a language-image encoder, ``list[str] -> (n, d)``: ``"lit-fashion"`` pairs
    with MiniLM, ``"openclip:<arch>/<tag>"`` with its own text tower; run on ``device``."""
    from ..encoders import embed_texts

    name = "minilm" if image_encoder == "lit-fashion" else image_encoder
    device = resolve_device(device)
    return lambda texts: embed_texts(list(texts), encoder_name=name, progress=False, device=device)


def fit_language_image(class_names, text_encoder, contexts=lim.PRODUCT_CONTEXTS) -> lim.LanguageImageModel:
    """A :class:`LanguageImageModel` whose captions of ``class_names`` are embedded by ``text_encoder``."""
    model = lim.LanguageImageModel(contexts)
    return model.fit(np.asarray(text_encoder(model.captions(class_names))), class_names)


def contexts_for(name: str, cfg: Settings) -> tuple[str, ...]:
    """The prompt contexts of a collection: ``prompt_contexts="auto"`` gives the product contexts
    to fashion-products and the thesis's Table 4.1 contexts to every other collection."""
    if cfg.prompt_contexts != "auto":
        return CONTEXT_SETS[cfg.prompt_contexts]
    return lim.PRODUCT_CONTEXTS if name == "fashion-products" else lim.THESIS_CONTEXTS


def translation_table(name: str, keywords, collection: Collection, cfg: Settings) -> tuple[pd.DataFrame, str]:
    """The label translation of a collection and where it came from: fashion-products has its
    built-in table; a user's collection the ``translation_csv`` table, or -- without one -- the
    identity (keywords as they are), with a warning."""
    if name == "fashion-products":
        return kwd.fashion_translation_table(keywords, collection.data.keyword_source), "built-in"
    if cfg.translation_csv:
        return lim.load_translation(resolve_user_path("translation_csv", cfg.translation_csv)), "given"
    warnings.warn(f"{name}: no translation_csv, so the language-image model reads the keywords as they are (the "
                  "identity translation); the thesis translated its keywords (automatic and manual): give a CSV "
                  "original,automatic,manual as translation_csv", stacklevel=2)
    return pd.DataFrame({"original": list(keywords)}), "identity"


def table45_language_image(prepared: dict[str, PreparedData], collections: dict[str, Collection],
                           cfg: Settings, text_encoder=None) -> Step:
    """Context ensemble under each label translation, and the best single context (manual names,
    or the last translation the table has).

    results = {(dataset, "ensemble" | "single", translation): TunedModel}. ``text_encoder``
    (default :func:`text_encoder_for` the language-image encoder) embeds the captions. Contexts:
    :func:`contexts_for`; translations: :func:`translation_table`.
    """
    results, rows, records = {}, [], {}
    for name, d in prepared.items():
        Zall = collections[name].Z
        if Zall is None:
            continue
        contexts = contexts_for(name, cfg)
        K = len(contexts)
        space = {f"w{k}": ("float", 0.0, 100.0) for k in range(K)}
        Z = {"val": Zall[d.idx_val], "test": Zall[d.idx_test]}
        table, source = translation_table(name, d.keywords, collections[name], cfg)
        records[f"{name}.table45.translation_table"] = source
        records[f"{name}.table45.contexts"] = "product" if contexts == lim.PRODUCT_CONTEXTS else "thesis"
        encode = text_encoder or text_encoder_for(cfg.language_image_encoder, cfg.device)
        for tr in [t for t in lim.TRANSLATIONS if t == "original" or t in table.columns]:
            # allow_unknown: the rare-keyword filter legitimately removed some keywords of the mapping
            model = fit_language_image(lim.translate(d.keywords, table, tr, allow_unknown=True), encode, contexts)
            res = tune_and_evaluate(lambda p, s: model.predict_proba(Z[s], [p[f"w{k}"] + 1e-9 for k in range(K)]),  # noqa: B023
                                    d.Y_val, d.Y_test, space, cfg.max_trials, cfg.seed)
            results[(name, "ensemble", tr)] = res
            rows.append({"dataset": name, "contexts": "ensemble", "translation": tr, "F2 (ours)": 100 * res.test["f2"],
                         "threshold": res.threshold})
        single = tune_and_evaluate(lambda p, s: model.single_context_scores(Z[s])[p["context"]],  # noqa: B023
                                   d.Y_val, d.Y_test, {"context": ("categorical", list(range(K)))},
                                   cfg.max_trials, cfg.seed)
        results[(name, "single", tr)] = single
        rows.append({"dataset": name, "contexts": f"single: {contexts[single.params['context']]!r}",
                     "translation": tr, "F2 (ours)": 100 * single.test["f2"], "threshold": single.threshold})
        # paired intervals: translation steps (thesis: original < automatic < manual) and ensembling
        ens = {t: results[(name, "ensemble", t)] for t in lim.TRANSLATIONS if (name, "ensemble", t) in results}
        records.update(compare_models(d.Y_test, ens, (("automatic", "original"), ("manual", "automatic"),
                                                      ("manual", "original")), f"{name}.cmp.f2.table45", cfg.seed))
        records.update(compare_models(d.Y_test, {"ensemble": ens[tr], "single": single}, (("ensemble", "single"),),
                                      f"{name}.cmp.f2.table45", cfg.seed))
        records[f"{name}.table45.last_translation"] = tr
    t45 = pd.DataFrame(rows)
    if len(t45):
        kinds = ["single" if c.startswith("single") else "ensemble" for c in t45.contexts]
        t45["F2 (thesis)"] = [100 * SOURCE.get(f"table4_5.f2.{k}.{t}", np.nan) for k, t in zip(kinds, t45.translation)]
        records.update({f"{r['dataset']}.table45.{r['contexts'].split(':')[0]}.{r['translation']}.f2": r["F2 (ours)"] / 100
                        for r in rows})
    return Step(results, t45, records)


# -- Table 4.6: 1-NN vs neighbour search -----------------------------------------------------------
def table46_neighbor_search(prepared: dict[str, PreparedData], cfg: Settings) -> Step:
    """1-NN and the tuned neighbour search; results = {dataset: {"one_nn", "neighbor_search": TunedModel}}."""
    results = {name: {} for name in prepared}
    for name, d in prepared.items():
        Xs = splits(d)
        one = OneNearestNeighbor().fit(d.X_train, d.Y_train)
        # 0/1 scores: no threshold search (tune_and_evaluate keeps 1-NN's own decisions)
        results[name]["one_nn"] = tune_and_evaluate(lambda p, s: one.predict_proba(Xs[s]), d.Y_val, d.Y_test)  # noqa: B023
        results[name]["neighbor_search"] = tune_and_evaluate(
            lambda p, s: NeighborSearch(**p).fit(d.X_train, d.Y_train).predict_proba(Xs[s]),  # noqa: B023
            d.Y_val, d.Y_test, NS_SPACE, cfg.max_trials, cfg.seed)
    t46 = pd.DataFrame([{"dataset": n, "model": m, "F2 (ours)": 100 * results[n][m].test["f2"],
                         "F2 (thesis)": 100 * SOURCE[f"table4_6.f2.{m}"],
                         "hyperparameters": results[n][m].params, "trials": results[n][m].n_trials,
                         "converged": results[n][m].converged}
                        for n in prepared for m in ("one_nn", "neighbor_search")])
    records = {f"{n}.neighbor_search_minus_one_nn_f2":
               results[n]["neighbor_search"].test["f2"] - results[n]["one_nn"].test["f2"] for n in prepared}
    for n in prepared:
        records[f"{n}.neighbor_search.n_trials"] = results[n]["neighbor_search"].n_trials
        records[f"{n}.neighbor_search.converged"] = results[n]["neighbor_search"].converged
    return Step(results, t46, records)


# -- Table 4.7: neighbour-net variants -------------------------------------------------------------
def variant_label(label: str, n_prototypes: int) -> str:
    return label.format(n=n_prototypes)


def variant_record_key(dataset: str, label: str) -> str:
    """The recorded key of a Table 4.7 variant, e.g. ``scene.table47.simple_16_kmeans_average.f2``."""
    return f"{dataset}.table47.{label.replace(', ', '_').replace(' ', '_').replace('-', '')}.f2"


def table47_neighbor_nets(prepared: dict[str, PreparedData], cfg: Settings) -> Step:
    """Every :data:`NET_VARIANTS` net; without fine-tuning only the temperature is searched, a
    fine-tuned net starts from its base variant's searched temperature. Prototype groups are
    computed once per dataset and grouping and shared by the variants. Fine-tuning settings:
    the ``finetune_*`` parameters for every fine-tuned variant (``finetune_settings="shared"``), or
    each variant's own row of the thesis's Table 4.4 (``"thesis"``, :data:`THESIS_FINETUNE`; the
    class-wise nets then also start from the thesis's temperature).

    results = {dataset: {label: TunedModel}} (labels with the number of prototypes filled in).
    """
    shared = dict(epochs=cfg.finetune_epochs, lr=cfg.finetune_lr, batch_size=cfg.finetune_batch_size,
                  momentum=cfg.finetune_momentum)
    results, rows, rows_cmp = {n: {} for n in prepared}, [], {}
    for name, d in prepared.items():
        Xs = splits(d)
        groups, by_key = {}, {}
        for key, label, kind, protos, grouping, plabels, tuned, init_from in NET_VARIANTS:
            label = variant_label(label, cfg.n_prototypes)
            k = cfg.n_prototypes if protos else None
            base = dict(kind=kind, n_prototypes=k, grouping=grouping or "kmeans", proto_labels=plabels or "average",
                        random_state=cfg.seed)
            if protos and grouping not in groups:
                groups[grouping] = prototype_groups(d.X_train, d.Y_train, k, grouping, cfg.seed)
            g = groups.get(grouping) if protos else None
            if not tuned:  # prototypes built once; only the temperature is searched
                net = NeighborNet(**base).fit(d.X_train, d.Y_train, groups=g)
                res = tune_and_evaluate(lambda p, s: net.predict_proba(Xs[s], temperature=p["temperature"]),  # noqa: B023
                                        d.Y_val, d.Y_test, TEMPERATURE_SPACE, cfg.max_trials, cfg.seed)
            else:
                ft = dict(shared) if cfg.finetune_settings == "shared" else dict(THESIS_FINETUNE[key])
                t_init = ft.pop("temperature", by_key[init_from].params["temperature"])
                net = NeighborNet(**base, temperature=t_init, fine_tune=True, **ft).fit(d.X_train, d.Y_train, groups=g)
                res = tune_and_evaluate(lambda p, s: net.predict_proba(Xs[s]), d.Y_val, d.Y_test,  # noqa: B023
                                        fixed={"temperature": net.temperature_})
            results[name][label] = by_key[key] = res
            rows.append({"dataset": name, "variant": label, "F2 (ours)": 100 * res.test["f2"],
                         "F2 (thesis)": 100 * SOURCE[f"table4_7.f2.{key}"], "temperature": res.params["temperature"],
                         "fine-tuning": (ft if tuned else "-"), "trials": res.n_trials, "converged": res.converged})
        # paired intervals: the prototype ordering and each fine-tuning gain (key names: NET_VARIANTS keys)
        named = {k.replace(".", "_"): v for k, v in by_key.items()}
        steps = (("simple_kmeans_onehot", "simple_random_onehot"), ("simple_kmeans_average", "simple_kmeans_onehot"),
                 *((k.replace(".", "_"), k.replace(".", "_").removesuffix("_finetuned"))
                   for k, *_, tuned, _ in NET_VARIANTS if tuned and k.startswith(("simple", "classwise.kmeans"))))
        compared = compare_models(d.Y_test, named, steps, f"{name}.cmp.f2.table47", cfg.seed)
        rows_cmp.update(compared)
    t47 = pd.DataFrame(rows)
    records = {variant_record_key(r["dataset"], r["variant"]): r["F2 (ours)"] / 100 for r in rows}
    records.update(rows_cmp)
    records.update({f"{n}.table47.max_trials_used": int(t47.loc[t47.dataset == n, "trials"].max()) for n in prepared})
    return Step(results, t47, records)


# -- Table 4.8: model comparison and chapter-6 extensions ------------------------------------------
def best_by_validation(results: dict[str, TunedModel], prefix: str) -> TunedModel:
    """The result whose key starts with ``prefix`` with the best validation F2 (first one on ties)."""
    cands = [v for k, v in results.items() if k.startswith(prefix)]
    if not cands:
        raise ValueError(f"no result whose name starts with {prefix!r}; have {list(results)}")
    return max(cands, key=lambda r: r.val_f2)


def hybrid_scores(neighbor: np.ndarray, language: np.ndarray, w: float) -> np.ndarray:
    """Tip-Adapter-like residual mix: ``(1 - w) * neighbour search + w * language-image``."""
    return (1 - w) * neighbor + w * language


#: Table 4.8's ordering "language-image < 1-NN < neighbour nets ~ neighbour search", one paired
#: interval per step: (better, worse) steps must be "higher", the "~" steps ties
ORDERING_STEPS = (("one_nn", "language_image"), ("neighbor_search", "one_nn"), ("simple_net", "one_nn"),
                  ("classwise_net", "one_nn"))
ORDERING_TIES = (("simple_net", "neighbor_search"), ("classwise_net", "neighbor_search"))
OTHER_STEPS = ORDERING_TIES + (("hybrid", "neighbor_search"), ("ml_knn", "neighbor_search"),
                               ("ml_knn", "simple_net"))


def table48_model_comparison(prepared: dict[str, PreparedData], t46: Step, t47: Step, t45: Step,
                             cfg: Settings) -> Step:
    """The best variant of each model (validation F2), the hybrid, ML-kNN on Mulan, per-class thresholds.

    results = {dataset: {model: TunedModel}}; the table has every test metric, the F2 with
    per-class thresholds and the thesis's F2.
    """
    rows, best_models, records = [], {}, {}
    for name, d in prepared.items():
        Xs = splits(d)
        res = {"one_nn": t46.results[name]["one_nn"], "neighbor_search": t46.results[name]["neighbor_search"],
               "simple_net": best_by_validation(t47.results[name], "simple"),
               "classwise_net": best_by_validation(t47.results[name], "class-wise")}
        li = [v for (n, _, _), v in t45.results.items() if n == name]
        if li:
            res["language_image"] = max(li, key=lambda r: r.val_f2)
            ns, lr = res["neighbor_search"], res["language_image"]
            mix = {"val": (ns.val_scores, lr.val_scores), "test": (ns.test_scores, lr.test_scores)}
            res["hybrid"] = tune_and_evaluate(lambda p, s: hybrid_scores(*mix[s], p["w"]),  # noqa: B023
                                              d.Y_val, d.Y_test, {"w": ("float", 0.0, 1.0)}, cfg.max_trials, cfg.seed)
        if name == "mulan-scene":
            res["ml_knn"] = tune_and_evaluate(lambda p, s: MLkNN(**p).fit(d.X_train, d.Y_train).predict_proba(Xs[s]),  # noqa: B023
                                              d.Y_val, d.Y_test, {"k": ("int", 1, 30)}, cfg.max_trials, cfg.seed)
        # the floor: suggest every keyword (all scores 1, threshold 1; its own row, never a tuned model)
        res[FLOOR] = tune_and_evaluate(lambda p, s: np.ones((len(Xs[s]), d.Y_train.shape[1])), d.Y_val, d.Y_test)  # noqa: B023
        best_models[name] = res
        prefix = f"{name}.cmp.f2"
        simple_all = {"simple_all_items": t47.results[name][variant_label(NET_VARIANTS[0][1], cfg.n_prototypes)],
                      "neighbor_search": res["neighbor_search"]}
        records.update(compare_models(d.Y_test, res, ORDERING_STEPS + OTHER_STEPS, prefix, cfg.seed))
        records.update(compare_models(d.Y_test, res, [(m, FLOOR) for m in res if m != FLOOR], prefix, cfg.seed))
        records.update(compare_models(d.Y_test, simple_all, (("simple_all_items", "neighbor_search"),), prefix,
                                      cfg.seed))
        searched = [r for r in res.values() if r.n_trials > 1]  # models with a hyperparameter search
        records[f"{name}.search.n_searched"] = len(searched)
        records[f"{name}.search.n_converged"] = sum(r.converged for r in searched)
        records[f"{name}.search.max_trials"] = cfg.max_trials
        for m, r in res.items():
            for key in METRIC_NAMES + ("threshold",):
                records[f"{name}.{m}.{key}"] = r.test[key]
            f2s = fbeta_samples(d.Y_test, binarize(r.test_scores, r.threshold))
            records[f"{name}.{m}.f2_samples"] = f2s
            # per-class thresholds: none for 0/1 scores (a threshold of 0 would suggest a keyword always)
            thr = r.threshold if is_binary(r.val_scores) else per_class_thresholds(d.Y_val, r.val_scores)
            rep = multilabel_report(d.Y_test, r.test_scores, thr)
            records[f"{name}.{m}.per_class_threshold_f2"] = rep["f2"]
            if not is_binary(r.val_scores):
                records.update(comparison_records(f"{prefix}.{m}.per_class_minus_global", f2_comparison(
                    d.Y_test, binarize(r.test_scores, thr), predictions(r), cfg.seed)))
            rows.append({"dataset": name, "model": m, **{k: r.test[k] for k in METRIC_NAMES}, "f2 (samples)": f2s,
                         "threshold": r.threshold,
                         "F2 per-class thr.": rep["f2"], "F2 thesis": SOURCE.get(f"table4_8.f2.{m}", np.nan)})
    return Step(best_models, pd.DataFrame(rows), records)


# -- Tables 4.9-4.11: one dataset, one query -------------------------------------------------------
def table49_roc_auc(name: str, d: PreparedData, models: dict[str, TunedModel], top: int = 10) -> Step:
    """Per-class test ROC AUC of the ``top`` most common training keywords (ties: keyword order)
    among those the test split can score: a keyword without test positives (or without test
    negatives) has no ROC AUC and is skipped; ``{name}.table49_skipped`` records how many of the
    most common keywords were (results = the indices shown)."""
    models = {m: r for m, r in models.items() if m != FLOOR}
    pos = d.Y_test.sum(0)
    scorable = (pos > 0) & (pos < len(d.Y_test))
    order = np.argsort(-d.Y_train.sum(0), kind="stable")
    ranked = scorable[order]
    top_k = order[ranked][:top]
    last = np.flatnonzero(ranked)[top - 1] + 1 if ranked.sum() >= top else len(order)  # ranks passed over
    n_skipped = int((~ranked[:last]).sum())
    t49 = pd.DataFrame({m: per_class_roc_auc(d.Y_test, r.test_scores)[top_k] for m, r in models.items()},
                       index=[d.keywords[i] for i in top_k])
    return Step(top_k, t49, {f"{name}.table49": {m: dict(zip(t49.index, t49[m].round(4))) for m in t49.columns},
                             f"{name}.table49_skipped": n_skipped})


def example_index(d: PreparedData, example_query: int) -> int:
    """The test item shown in Tables 4.10-4.11 (``example_query`` clipped to the test split)."""
    return int(np.clip(example_query, 0, len(d.Y_test) - 1))


def table410_suggestions(name: str, d: PreparedData, models: dict[str, TunedModel], q: int,
                         runners_up: int = 3) -> Step:
    """For test item ``q``: each model's keywords at or above its threshold (``*``) and the
    ``runners_up`` best below, with confidences; ground-truth keywords in capitals.

    results = the set of true keywords.
    """
    models = {m: r for m, r in models.items() if m != FLOOR}
    truth = {d.keywords[i] for i in np.flatnonzero(d.Y_test[q])}
    cols = {}
    for m, r in models.items():
        s = r.test_scores[q]
        above = np.flatnonzero(s >= r.threshold)
        order = np.argsort(-s)
        runners = order[~np.isin(order, above)][:runners_up]
        cols[m] = {d.keywords[i]: f"{100 * s[i]:.1f} %" + (" *" if i in set(above) else "")
                   for i in list(above) + list(runners)}
    t410 = pd.DataFrame(cols).fillna("")
    t410.index = [k.upper() if k in truth else k for k in t410.index]
    records = {f"{name}.example.truth": sorted(truth)}
    if "neighbor_search" in t410:
        records[f"{name}.example.neighbor_search_suggested"] = [
            k for k, v in t410["neighbor_search"].items() if v.endswith("*")]
    return Step(truth, t410, records)


def table411_contributors(name: str, d: PreparedData, ns_params: dict, q: int, truth: set, top: int = 5) -> Step:
    """The ``top`` reference items behind test item ``q``'s neighbour-search scores (tuned params)."""
    ns = NeighborSearch(**ns_params).fit(d.X_train, d.Y_train)
    t411 = ns.explain(d.X_test[q:q + 1], d.keywords, top=top)
    t411["labels"] = [", ".join(k.upper() if k in truth else k for k in s.split(", ")) for s in t411["labels"]]
    return Step(ns, t411, {f"{name}.example.top5_weights": t411["weight"].round(4).tolist()})


# -- learning curve (chapter 6) --------------------------------------------------------------------
def reference_sizes(sizes, n_train: int) -> list[int]:
    """The learning-curve sizes that fit in the training split, then the whole split."""
    return [n for n in sizes if n <= n_train] + [n_train]


def learning_curve(prepared: dict[str, PreparedData], best_models: dict, cfg: Settings) -> Step:
    """Test F2 of 1-NN and neighbour search (tuned parameters, threshold re-chosen on validation)
    on seeded random subsets of the training split; the zero-shot model's F2 beside them.

    results = a long DataFrame (dataset, n_reference, model, f2); table = its pivot.
    """
    curve = []
    rng = np.random.default_rng(cfg.seed)
    for name, d in prepared.items():
        Xs = splits(d)
        perm = rng.permutation(len(d.Y_train))
        ns_params = best_models[name]["neighbor_search"].params
        for n_ref in reference_sizes(cfg.learning_curve_sizes, len(perm)):
            sub = perm[:n_ref]
            sub = sub[d.Y_train[sub].sum(1) > 0]
            for m, model in (("one_nn", OneNearestNeighbor()), ("neighbor_search", NeighborSearch(**ns_params))):
                model.fit(d.X_train[sub], d.Y_train[sub])
                r = tune_and_evaluate(lambda p, s: model.predict_proba(Xs[s]), d.Y_val, d.Y_test)  # noqa: B023
                curve.append((name, int(n_ref), m, r.test["f2"]))
            for m in ("language_image", FLOOR):  # need no labelled items: flat
                if m in best_models[name]:
                    curve.append((name, int(n_ref), m, best_models[name][m].test["f2"]))
    curve = pd.DataFrame(curve, columns=["dataset", "n_reference", "model", "f2"])
    records = {f"{name}.learning_curve": [[int(a), b, float(c)] for a, b, c in
                                          g[["n_reference", "model", "f2"]].itertuples(index=False)]
               for name, g in curve.groupby("dataset", sort=False)}
    table = curve.pivot_table(index=["dataset", "n_reference"], columns="model", values="f2")
    return Step(curve, table, records)
