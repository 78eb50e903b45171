"""Hyperparameter search of the multi-label driver (notebook 05): Bynke (2022), section 4.2.

The thesis used scikit-optimize with 10 random initial points and stopped when the 10 best F2
scores were all within 0.1 percentage points of each other, or after at most 1000 iterations.
Here the same rule drives optuna's TPE sampler (``n_startup_trials`` random trials first).

:func:`tune_and_evaluate` is the thesis's protocol for one model (search on validation F2 at the
best threshold, fix the threshold on validation, report on test); ``zsl_lib.experiments.multilabel``
calls it for every model of Tables 4.5-4.8. Search spaces are plain dicts::

    space = {"temperature": ("float", 1.0, 200.0, "log"),
             "max_sim_diff": ("float", 0.0, 8.0),
             "max_neighbors": ("int", 1, 200),
             "proto_labels": ("categorical", ["average", "onehot"])}
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import optuna

from ..metrics.multilabel import multilabel_report
from ..validation import check_int
from ..zeroshot.thresholds import best_global_threshold


def is_binary(scores) -> bool:
    """True when every score is exactly 0 or 1 (a model that already decides, e.g. 1-NN)."""
    S = np.asarray(scores)
    return bool(S.size) and bool(np.all((S == 0) | (S == 1)))


def validation_fbeta(Y, scores, beta: float = 2.0, threshold: float | None = None) -> tuple[float, float]:
    """(threshold, micro F-beta) of ``scores`` on ``Y``: the best global threshold, except that

    - a given ``threshold`` is used as it is (no search);
    - 0/1 scores (:func:`is_binary`) keep their own decisions: threshold 1, the keywords scored 1.
      A searched threshold of 0 would suggest every keyword and turn, say, 1-NN into the
      suggest-everything baseline (a different model).
    """
    if threshold is None and is_binary(scores):
        threshold = 1.0
    if threshold is None:
        return best_global_threshold(Y, scores, beta)
    return float(threshold), float(multilabel_report(Y, scores, threshold, beta)["f2"])


@dataclass
class SearchResult:
    best_params: dict[str, Any]
    best_value: float
    n_trials: int
    converged: bool  # True when the 10-best-within-window rule stopped the search
    history: list[tuple[dict[str, Any], float]]


def _suggest(trial: optuna.Trial, name: str, spec) -> Any:
    if not isinstance(spec, (tuple, list)) or not spec:
        raise ValueError(f"search space entry {name!r} must be a tuple like ('float', lo, hi), got {spec!r}")
    kind = spec[0]
    if kind == "float":
        log = len(spec) > 3 and spec[3] == "log"
        return trial.suggest_float(name, float(spec[1]), float(spec[2]), log=log)
    if kind == "int":
        log = len(spec) > 3 and spec[3] == "log"
        return trial.suggest_int(name, int(spec[1]), int(spec[2]), log=log)
    if kind == "categorical":
        return trial.suggest_categorical(name, list(spec[1]))
    raise ValueError(f"search space entry {name!r}: kind must be 'float', 'int' or 'categorical', got {kind!r}")


def converged(values, n_best: int = 10, window: float = 0.001) -> bool:
    """The thesis's rule: the ``n_best`` best values lie within ``window`` (0.001 = 0.1 points of F2)."""
    v = np.sort(np.asarray([x for x in values if np.isfinite(x)]))[::-1]
    return len(v) >= n_best and v[0] - v[n_best - 1] <= window


def maximize(objective: Callable[[dict[str, Any]], float], space: dict, max_trials: int = 1000,
             n_startup_trials: int = 10, n_best: int = 10, window: float = 0.001,
             seed: int = 0, fixed: dict[str, Any] | None = None) -> SearchResult:
    """Maximise ``objective(params)`` over ``space`` with TPE and the thesis's stopping rule.

    Parameters
    ----------
    objective : called with a dict of parameter values (plus ``fixed``), returns the score
        (e.g. validation F2 in [0, 1]).
    space : {name: ("float", lo, hi[, "log"]) | ("int", lo, hi[, "log"]) | ("categorical", choices)}.
    max_trials : hard cap (1000 in the thesis; keep it small for a quick run).
    n_startup_trials : random trials before TPE models the objective (10 in the thesis).
    n_best, window : stop when the ``n_best`` best values are within ``window`` of each other.
    seed : sampler seed (deterministic search for a deterministic objective).
    """
    check_int("max_trials", max_trials, minimum=1)
    fixed = dict(fixed or {})
    if not space:  # nothing to search: evaluate once
        v = float(objective(fixed))
        return SearchResult(fixed, v, 1, False, [(fixed, v)])
    optuna.logging.set_verbosity(logging.WARNING)
    sampler = optuna.samplers.TPESampler(n_startup_trials=n_startup_trials, seed=seed)
    study = optuna.create_study(direction="maximize", sampler=sampler)
    state = {"converged": False}

    def _objective(trial):
        params = {name: _suggest(trial, name, spec) for name, spec in space.items()}
        return float(objective({**fixed, **params}))

    def _stop(study, trial):
        vals = [t.value for t in study.trials if t.value is not None]
        if converged(vals, n_best, window):
            state["converged"] = True
            study.stop()

    study.optimize(_objective, n_trials=max_trials, callbacks=[_stop], show_progress_bar=False)
    history = [({**fixed, **t.params}, float(t.value)) for t in study.trials if t.value is not None]
    return SearchResult({**fixed, **study.best_params}, float(study.best_value), len(study.trials),
                        state["converged"], history)


@dataclass
class TunedModel:
    """A model tuned on validation (F2 at the best threshold) and evaluated once on test."""

    params: dict[str, Any]
    threshold: float
    val_f2: float
    test: dict[str, float]  # multilabel_report on the test split
    val_scores: np.ndarray
    test_scores: np.ndarray
    n_trials: int
    converged: bool


def tune_and_evaluate(make_scores: Callable[[dict[str, Any], str], np.ndarray], Y_val, Y_test,
                      space: dict | None = None, max_trials: int = 30, seed: int = 0,
                      fixed: dict[str, Any] | None = None, beta: float = 2.0,
                      threshold: float | None = None) -> TunedModel:
    """The thesis's protocol for one model (4.2): search hyperparameters on validation with
    :func:`maximize` (objective: F-beta at the best global threshold), fix the threshold on
    validation, report every metric on test.

    ``make_scores(params, split)`` returns confidences (n_split, C) in [0, 1] for ``split`` in
    {"val", "test"}. ``threshold``: a fixed threshold (no threshold search). Models whose scores
    are 0/1 get no threshold search either (:func:`validation_fbeta`): 1-NN stays a 1-NN.
    """
    res = maximize(lambda p: validation_fbeta(Y_val, make_scores(p, "val"), beta, threshold)[1],
                   space or {}, max_trials=max_trials, seed=seed, fixed=fixed)
    S_val = make_scores(res.best_params, "val")
    t, f_val = validation_fbeta(Y_val, S_val, beta, threshold)
    S_test = make_scores(res.best_params, "test")
    return TunedModel(res.best_params, t, f_val, multilabel_report(Y_test, S_test, t, beta),
                      S_val, S_test, res.n_trials, res.converged)
