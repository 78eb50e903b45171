"""Notebook 05's tables as the page shows them (human labels and units), re-exported by
:mod:`zsl_lib.experiments.multilabel_report`."""

from __future__ import annotations

import pandas as pd

from . import verdicts as V
from .multilabel_words import MODELS, NAMES, model, name

PREP_LABELS = {"n_input": "items in", "n_unlabelled_dropped": "unlabelled dropped", "n_removed": "near-duplicates removed",
               "n_merged_groups": "certain duplicate groups merged", "n_suspected_pairs": "suspected duplicate pairs",
               "n_certain_pairs": "certain duplicate pairs", "suspected": "suspected-duplicate cosine",
               "certain": "certain-duplicate cosine", "n_keywords_before": "keywords before the rare filter",
               "n_keywords": "keywords kept", "n_emptied_dropped": "items left without keywords",
               "min_count": "rare-keyword threshold", "split": "split", "thresholds_fitted": "thresholds fitted",
               "train/val/test": "train / validation / test items", "test prevalence": "test prevalence",
               "n_merged_items": "items merged into a kept duplicate", "dedup_scaling": "feature scaling before de-duplication",
               "deduplicated": "deduplicated"}


def _human_params(p) -> str:
    if not isinstance(p, dict) or not p:
        return "–"
    return ", ".join(f"{k.replace('_', ' ')} {v:.3g}" if isinstance(v, float) else f"{k.replace('_', ' ')} {v}"
                     for k, v in p.items())


def prep_table(df: pd.DataFrame) -> str:
    t = df.rename(index=PREP_LABELS, columns=NAMES).rename_axis("preparation")
    return V.md_table(t.astype(object).map(lambda v: f"{v:g}" if isinstance(v, float) else v))


def t45_table(df: pd.DataFrame) -> str:
    if df.empty:
        return "No collection with a language-image model in this run.\n"
    t = df.assign(dataset=df.dataset.map(name)).rename(columns={"contexts": "contexts", "F2 (ours)": "F2 (%)",
                                                                "F2 (thesis)": "thesis F2 (%)"})
    return V.md_table(t, digits={"F2 (%)": 1, "thesis F2 (%)": 1, "threshold": 3}, index=False)


def t46_table(df: pd.DataFrame) -> str:
    t = pd.DataFrame({"dataset": df.dataset.map(name), "model": df.model.map(model), "F2 (%)": df["F2 (ours)"],
                      "thesis F2 (%)": df["F2 (thesis)"], "hyperparameters": df.hyperparameters.map(_human_params),
                      "search trials": df.trials, "stop rule reached": df.converged})
    return V.md_table(t, digits={"F2 (%)": 1, "thesis F2 (%)": 1}, index=False)


def t47_table(df: pd.DataFrame) -> str:
    t = pd.DataFrame({"dataset": df.dataset.map(name), "variant": df.variant, "F2 (%)": df["F2 (ours)"],
                      "thesis F2 (%)": df["F2 (thesis)"], "temperature": df.temperature.map(lambda v: f"{v:.3g}"),
                      "fine-tuning": df["fine-tuning"].map(lambda v: _human_params(v) if isinstance(v, dict) else "–"),
                      "search trials": df.trials, "stop rule reached": df.converged})
    return V.md_table(t, digits={"F2 (%)": 1, "thesis F2 (%)": 1}, index=False)


def t48_table(df: pd.DataFrame) -> str:
    cols = {"f2": "F2", "f2 (samples)": "F2 samples", "F2 per-class thr.": "F2 per-class thr.",
            "F2 thesis": "thesis F2", "precision": "precision", "recall": "recall", "accuracy": "accuracy",
            "subset_accuracy": "subset accuracy", "roc_auc": "ROC AUC", "mse": "MSE"}
    t = pd.DataFrame({"dataset": df.dataset.map(name), "model": df.model.map(model)})
    for c, lab in cols.items():
        t[lab + (" (%)" if c != "mse" and c != "roc_auc" else "")] = 100 * df[c] if c not in ("mse", "roc_auc") else df[c]
    t["threshold"] = df.threshold
    t = t.dropna(axis=1, how="all")
    digits = {c: 1 for c in t.columns if c.endswith("(%)")}
    digits.update({"ROC AUC": 3, "MSE": 4, "threshold": 3})
    return V.md_table(t, digits=digits, index=False)


def t49_table(df: pd.DataFrame) -> str:
    return V.md_table(df.rename(columns=MODELS).rename_axis("keyword (ROC AUC)"), digits=3)


def t410_table(df: pd.DataFrame) -> str:
    return V.md_table(df.rename(columns=MODELS).rename_axis("keyword (true ones in capitals)"))


def t411_table(df: pd.DataFrame) -> str:
    t = df.copy()
    if "weight" in t:
        t["weight"] = t["weight"].map(lambda v: f"{100 * v:.1f} %")
    t.columns = [str(c).replace("_", " ") for c in t.columns]
    return V.md_table(t, index=False)


def curve_table(curve: pd.DataFrame) -> str:
    t = curve.assign(dataset=curve.dataset.map(name), f2=100 * curve.f2)
    t = t.pivot_table(index=["dataset", "n_reference"], columns="model", values="f2", sort=False)
    t = t.rename(columns=MODELS).reset_index().rename(columns={"n_reference": "labelled reference items"})
    t.columns.name = None
    return ("Test F2 (%):\n\n" + V.md_table(t, digits={c: 1 for c in t.columns if c not in
                                                      ("dataset", "labelled reference items")}, index=False))
