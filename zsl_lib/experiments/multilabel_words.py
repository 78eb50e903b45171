"""Words and numbers of notebook 05's page: dataset and model names, number formats, and the
recorded comparisons read back (shared by :mod:`zsl_lib.experiments.multilabel_report`,
:mod:`zsl_lib.experiments.multilabel_summary` and :mod:`zsl_lib.experiments.multilabel_tables`)."""

from __future__ import annotations

import math

from . import verdicts as V

#: the suggest-every-keyword baseline of Table 4.8 (precision = prevalence, recall 1): the floor
#: every model must beat, reported as its own row
FLOOR = "suggest_all"
FLOOR_LABEL = "suggest every keyword"

NAMES = {"fashion-products": "fashion", "tiny-imagenet": "Tiny-ImageNet", "mulan-scene": "Mulan scene"}
MODELS = {"language_image": "language-image", "one_nn": "1-NN", "neighbor_search": "neighbour search",
          "simple_net": "simple net", "classwise_net": "class-wise net", "hybrid": "hybrid", "ml_knn": "ML-kNN",
          FLOOR: FLOOR_LABEL}
TRANSLATIONS = ("original", "automatic", "manual")
MATCH_POINTS = 2.0  # F2 points within which two models "match" (and a change is "little")


def num(res: dict, key: str) -> float | None:
    """The recorded number at ``key``, or None when absent, not a number or not finite."""
    v = res.get(key)
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
        return None
    return float(v)


def pct(v: float) -> str:
    """A fraction as percent with one decimal: ``0.8221`` -> ``"82.2"``."""
    return f"{100 * v:.1f}"


def points(d: float) -> str:
    """A difference of fractions as signed percentage points: ``0.054`` -> ``"+5.4"`` (never ``-0.0``)."""
    s = f"{100 * d:+.1f}"
    return "0.0" if s in ("+0.0", "-0.0") else s


def prevalence(v: float) -> str:
    """A prevalence in percent with three significant digits: ``0.0866`` -> ``"8.66"``."""
    return f"{100 * v:.3g}"


def auc(v: float) -> str:
    return f"{v:.3f}"


def name(ds: str) -> str:
    return NAMES.get(ds, ds)


def model(m: str) -> str:
    return MODELS.get(m, m)


def quote(words) -> str:
    return ", ".join(f'"{w}"' for w in words)


def and_list(parts: list[str]) -> str:
    parts = list(parts)
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


def or_list(parts: list[str]) -> str:
    parts = list(parts)
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " or " + parts[-1]


def trivial_f2(p: float) -> float:
    """F2 of suggesting every keyword at test prevalence ``p`` (precision p, recall 1): 5p / (4p + 1)."""
    return 5 * p / (4 * p + 1)


def table47_key(ds: str, variant: str, n_prototypes: int) -> str:
    """The recorded Table 4.7 key of ``variant`` (``{n}`` = prototypes per class), as the driver writes it."""
    return f"{ds}.table47.{variant.format(n=n_prototypes)}.f2"


def table49(res: dict, ds: str) -> dict[str, dict[str, float]]:
    """``{model: {keyword: ROC AUC}}`` of ``ds``: the recorded dict, or the flat keys of older records."""
    t = res.get(f"{ds}.table49")
    if isinstance(t, dict):
        return {m: {k: float(v) for k, v in row.items()} for m, row in t.items() if isinstance(row, dict)}
    prefix, out = f"{ds}.table49.", {}
    for k, v in res.items():
        if k.startswith(prefix) and num(res, k) is not None:
            m, _, kw = k[len(prefix):].partition(".")
            out.setdefault(m, {})[kw] = float(v)
    return out


def comparison(res, key):
    """The comparison recorded under ``key`` with its decision, or None."""
    c = V.read_comparison(res, key)
    return c if V.decision(c) is not None else None


def interval(res, key) -> str:
    return V.interval_text(comparison(res, key))


def says(res, key, a, b) -> str | None:
    """``"A beats B: +3.1 points (95 % interval ...)"`` from the recorded interval, or None."""
    return V.verdict(res, key, a, b)


FINETUNE_PAIRS = (("simple_all_items", "simple, all items", "simple.all_items"),
                  ("simple_kmeans_average", "simple, {n} k-means average", "simple.kmeans.average"),
                  ("classwise_kmeans", "class-wise, {n} k-means", "classwise.kmeans"))
FINETUNE_NAMES = {"simple_kmeans_average": "simple net with k-means average prototypes",
                  "classwise_kmeans": "class-wise net with k-means prototypes"}
