"""The language-image zero-shot model of Bynke (2022), section 3.2.1, and label translation.

Each class name is put into *contexts* ("a photo of a {}"); the captions
(:meth:`LanguageImageModel.captions`) are embedded with the text encoder by the caller (the
model takes the caption embeddings as an array, see ``zsl_lib.experiments.multilabel``); each
class's text vector is the weighted average of its caption vectors (context
weights are hyperparameters, in [0, 100] and normalised to sum 1 in the thesis), re-normalised.
The confidence of class c for an image is its cosine with the class vector rescaled from [-1, 1]
to [0, 1] -- no softmax, so several classes can be confident at once (multi-label).

Label translation (thesis 3.2.1, Table 3.1): the class names fed to the text encoder come from a
mapping file (CSV) with a column ``original`` (the keyword as stored in the data) and one column
per translation (``automatic``, ``manual``). :func:`translate` validates the mapping against the
dataset's keywords.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from ..validation import check_fitted, check_matrix, l2_normalize
from .neighbors import MultiLabelEstimator

# The 14 English contexts of the thesis's Table 4.1 (its domain: military equipment).
THESIS_CONTEXTS = (
    "a photo of {}", "a photo of a {}", "a picture of a {}", "a drawing of a {}",
    "an illustration of a {}", "a photo of a big {}", "a photo of a small {}",
    "a military photo of a {}", "a photo from the military of a {}",
    "a picture from the military of a {}", "this photo from the military contains a {}",
    "this photo from military contains a {}", "a photo of a {}, a type of military equipment",
    "a photo of a {}, a type of vehicle",
)

# The same idea for a product catalogue (the offline default dataset).
PRODUCT_CONTEXTS = (
    "{}", "a photo of {}", "a photo of a {}", "a picture of a {}", "a product photo of a {}",
    "a catalogue photo of {}", "an online shop image of a {}", "a fashion product: {}",
    "this product is {}", "a photo of a {}, a type of fashion product",
)

TRANSLATIONS = ("original", "automatic", "manual")


class LanguageImageModel(MultiLabelEstimator):
    """Zero-shot multi-label classifier from embedded class-name captions (scikit-learn style).

    Parameters
    ----------
    contexts : templates with one ``{}`` where the class name goes.
    weights : relative context weights (>= 0, not all 0); None = equal weights. Normalised to sum 1.
    threshold : :meth:`predict` keeps the labels whose confidence reaches it.

    Usage: ``E = text_encoder(model.captions(names))`` (the caller embeds, e.g. with
    ``zsl_lib.encoders.embed_texts``), then ``model.fit(E, names).predict_proba(Z)``.
    """

    def __init__(self, contexts: Sequence[str] = PRODUCT_CONTEXTS, weights: Sequence[float] | None = None,
                 threshold: float = 0.5):
        self.contexts = contexts
        self.weights = weights
        self.threshold = threshold

    def _check(self):
        if not self.contexts:
            raise ValueError("contexts is empty: give at least one template such as 'a photo of a {}'")
        bad = [c for c in self.contexts if c.count("{}") != 1]
        if bad:
            raise ValueError(f"every context needs exactly one '{{}}' for the class name; bad: {bad}")

    def captions(self, class_names: Sequence[str]) -> list[str]:
        """Every (context, class name) caption, context-major: ``contexts[k].format(names[c])`` at
        row ``k * C + c``; embed them in this order and pass the result to :meth:`fit`."""
        self._check()
        names = [str(n) for n in class_names]
        if not names or any(not n.strip() for n in names):
            raise ValueError("class_names must be a non-empty list of non-empty names")
        return [c.format(n) for c in self.contexts for n in names]

    def fit(self, caption_embeddings, class_names: Sequence[str]) -> LanguageImageModel:
        """Store the caption vectors ``caption_embeddings`` (K * C, d), rows in the order of
        :meth:`captions` (``class_names``): ``caption_emb_`` (K, C, d), L2-normalised."""
        n_captions = len(self.captions(class_names))
        E = check_matrix("caption_embeddings", caption_embeddings)
        if E.shape[0] != n_captions:
            raise ValueError(
                f"caption_embeddings has {E.shape[0]} rows for {n_captions} captions "
                f"({len(self.contexts)} contexts x {len(class_names)} class names); embed "
                "model.captions(class_names) in that order"
            )
        names = [str(n) for n in class_names]
        self.class_names_ = names
        self.caption_emb_ = l2_normalize(E).reshape(len(self.contexts), len(names), -1)
        self.n_features_in_ = E.shape[1]
        return self

    def class_embeddings(self, weights: Sequence[float] | None = None) -> np.ndarray:
        """(C, d) float32 unit class vectors: normalised weighted average of the caption vectors."""
        check_fitted(self, "caption_emb_", "fit(caption_embeddings, class_names)")
        w = self.weights if weights is None else weights
        K = len(self.contexts)
        w = np.ones(K) if w is None else np.asarray(w, dtype=np.float64)
        if w.shape != (K,) or (w < 0).any() or not np.isfinite(w).all() or w.sum() <= 0:
            raise ValueError(
                f"context weights must be {K} finite values >= 0, not all zero (one per context); got {w}"
            )
        w = w / w.sum()
        return l2_normalize(np.tensordot(w, self.caption_emb_, axes=1))

    def predict_proba(self, Z, weights: Sequence[float] | None = None) -> np.ndarray:
        """Confidences (n, C) float32 in [0, 1] = (cosine(image, class text) + 1) / 2.

        ``Z`` (n, d): image embeddings in the text encoder's space (e.g. the lit-fashion image side).
        """
        T = self.class_embeddings(weights)
        Z = l2_normalize(check_matrix("Z", Z, dim=T.shape[1], fitted="the class names were embedded as"))
        return np.clip((Z @ T.T + 1.0) / 2.0, 0.0, 1.0).astype(np.float32)

    def single_context_scores(self, Z) -> np.ndarray:
        """(K, n, C) scores using each context alone (to pick the best single context)."""
        check_fitted(self, "caption_emb_", "fit(caption_embeddings, class_names)")
        Z = l2_normalize(check_matrix("Z", Z, dim=self.caption_emb_.shape[2],
                                      fitted="the class names were embedded as"))
        return ((np.einsum("nd,kcd->knc", Z, self.caption_emb_) + 1.0) / 2.0).astype(np.float32)


def load_translation(source: str | Path | pd.DataFrame) -> pd.DataFrame:
    """Read a label translation mapping (CSV path or DataFrame) with column ``original``.

    Further columns are translations (``automatic``, ``manual``); one row per keyword.
    """
    df = pd.read_csv(source, dtype=str, keep_default_na=False) if not isinstance(source, pd.DataFrame) else source.copy()
    if "original" not in df.columns:
        raise ValueError(
            f"translation mapping needs a column 'original' (the keyword as stored in the data); "
            f"found columns {list(df.columns)}"
        )
    dup = df["original"][df["original"].duplicated()].tolist()
    if dup:
        raise ValueError(f"translation mapping lists these keywords more than once: {dup[:10]}")
    return df


def translate(keywords: Sequence[str], mapping: str | Path | pd.DataFrame, which: str = "manual",
              allow_unknown: bool = False) -> list[str]:
    """The names of ``keywords`` under translation ``which`` of ``mapping``.

    Errors (ValueError) when ``which`` is not a column, when a dataset keyword has no row (or an
    empty translation), and -- unless ``allow_unknown`` -- when the mapping lists keywords the
    dataset does not have (usually a mapping written for another dataset or another filter).
    """
    df = load_translation(mapping)
    if which == "original":
        lookup = dict(zip(df["original"], df["original"]))
    else:
        if which not in df.columns:
            raise ValueError(
                f"translation {which!r} is not a column of the mapping; available: "
                f"{[c for c in df.columns if c != 'original'] + ['original']}"
            )
        lookup = dict(zip(df["original"], df[which]))
    kw = [str(k) for k in keywords]
    unknown = sorted(set(lookup) - set(kw))
    if unknown and not allow_unknown:
        raise ValueError(
            f"the translation mapping has {len(unknown)} keywords that are not in the dataset, e.g. "
            f"{unknown[:8]}; fix the mapping file, or pass allow_unknown=True to ignore them"
        )
    missing = [k for k in kw if not str(lookup.get(k, "")).strip()]
    if missing:
        raise ValueError(
            f"{len(missing)} dataset keywords have no {which!r} translation in the mapping, e.g. "
            f"{missing[:8]}; add rows (column 'original' = the keyword)"
        )
    return [str(lookup[k]) for k in kw]
