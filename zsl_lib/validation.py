"""One module of public input checks, shared by every layer of the lab.

Each check raises ``ValueError`` (``TypeError`` for a wrong type where that is the clearer
signal) with a message that names the argument, says what was wrong and how to fix it. Every
other module imports these helpers; none writes its own copy.

- :func:`check_matrix`: a 2-D finite real matrix, returned as C-contiguous float32, with an
  overflow guard for values so large that inner products leave float32 range.
- :func:`check_float32_range`: finite values a float32 cast would turn into inf, named by row
  and column (before the cast; after it they read as "NaN or inf").
- :func:`l2_normalize`: rows scaled to unit L2 norm without overflow (zero rows stay zero).
- :func:`check_choice`, :func:`check_int`, :func:`check_positive_ints`, :func:`check_float`:
  scalar options.
- :func:`check_labels`: a 1-D label vector (any hashable labels, numbers or strings).
- :func:`check_indicator`: an (n, C) {0, 1} indicator matrix (multi-label keywords).
- :func:`check_binary_predictions`: predictions that must be 0/1, not scores.
- :func:`check_name_list`: a notebook list parameter (``datasets``, ``encoders``...), which
  papermill's ``-p`` delivers as a string: says to pass it with ``-y``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np
from sklearn.exceptions import NotFittedError as _SkNotFittedError

# Largest absolute feature value accepted: with |x| <= 1e15 a squared norm over 10^6 dimensions
# stays far below float32's 3.4e38; beyond it inner products overflow to inf and rankings break.
MAX_ABS_VALUE = 1e15


def check_matrix(name: str, A, *, dim: int | None = None, min_rows: int = 1,
                 fitted: str = "the index was built on") -> np.ndarray:
    """Validate a 2-D float matrix and return it as C-contiguous float32.

    Raises ``ValueError`` naming ``name`` when ``A`` is not 2-D, has fewer than ``min_rows`` rows,
    a number of columns different from ``dim``, non-real or non-finite values, or values so large
    (``|x| > 1e15``) that products of rows would overflow float32. ``fitted`` completes the
    dimension-mismatch message ("... features but {fitted} {dim}-d vectors"). An object array of
    numbers is converted; sparse matrices are refused (the searches are dense).
    """
    if hasattr(A, "toarray") or hasattr(A, "tocsr"):
        raise TypeError(f"{name} is a sparse matrix; sparse input is not supported: pass a dense "
                        "array (e.g. X.toarray())")
    A = np.asarray(A)
    if A.dtype == object:
        try:
            A = A.astype(np.float64)
        except (TypeError, ValueError) as err:
            raise type(err)(f"{name} must be a real numeric array; got dtype object ({err})") from None
    if A.ndim != 2:
        raise ValueError(
            f"{name} must be a 2-D array (n_items, n_features); got shape {A.shape}. "
            "Reshape your data: a single vector with x[None, :]"
        )
    if A.shape[0] < min_rows:
        raise ValueError(
            f"{name} has {A.shape[0]} rows; at least {min_rows} expected"
            + (" (it is empty)" if A.shape[0] == 0 else "")
        )
    if A.ndim == 2 and A.shape[1] == 0:
        raise ValueError(f"{name} has 0 feature(s) (shape={A.shape}) while a minimum of 1 is required.")
    if dim is not None and A.shape[1] != dim:
        raise ValueError(
            f"{name} has {A.shape[1]} features but {fitted} {dim}-d vectors; "
            "embed both sides with the same encoder (in scikit-learn's words: X has "
            f"{A.shape[1]} features, but it is expecting {dim} features as input)"
        )
    if A.dtype == bool or not np.issubdtype(A.dtype, np.number) or np.iscomplexobj(A):
        raise ValueError(f"{name} must be a real numeric array; got dtype {A.dtype}"
                         + (" (Complex data not supported)" if np.iscomplexobj(A) else ""))
    if A.size and np.issubdtype(A.dtype, np.floating) and not np.isfinite(A).all():
        rows = np.flatnonzero(~np.isfinite(A).all(axis=1))
        raise ValueError(
            f"{name} contains NaN or infinite values in {len(rows)} rows (first: {rows[:5].tolist()}); "
            "clean or impute them first"
        )
    if A.size:
        peak = float(np.abs(A).max())
        if peak > MAX_ABS_VALUE:
            raise ValueError(
                f"{name} has values up to {peak:.3g}; beyond {MAX_ABS_VALUE:.0e} inner products "
                "overflow float32 and rankings become wrong. Scale the features first (e.g. "
                "l2_normalize or sklearn.preprocessing.StandardScaler)"
            )
    return np.ascontiguousarray(A, dtype=np.float32)


FLOAT32_MAX = float(np.finfo(np.float32).max)


def check_float32_range(name: str, A) -> None:
    """Raise ValueError when a finite value of the numeric array ``A`` lies beyond float32's range
    (|x| > 3.4e38), naming the first such value with its row and column and the fix.

    Call it before casting to float32: the cast turns such values into inf, which a later check
    can only report as "NaN or inf"."""
    A = np.asarray(A)
    if not A.size or not np.issubdtype(A.dtype, np.floating) or np.finfo(A.dtype).max <= FLOAT32_MAX:
        return
    with np.errstate(invalid="ignore"):
        over = np.isfinite(A) & (np.abs(A) > FLOAT32_MAX)
    if over.any():
        where = np.argwhere(over)[0]
        at = f"row {where[0]}, column {where[1]}" if A.ndim == 2 else f"index {tuple(where.tolist())}"
        raise ValueError(
            f"{name}: value {A[tuple(where)]:.3g} at {at} exceeds float32's range (+-{FLOAT32_MAX:.3g}); "
            f"{int(over.sum())} value(s) do. Rescale the features (e.g. divide by their largest value or "
            "standardise them) before saving"
        )


def l2_normalize(A, eps: float = 1e-12, *, dtype=np.float32) -> np.ndarray:
    """Rows of ``A`` (n, d) scaled to unit L2 norm; zero rows stay zero; a ``dtype`` copy
    (float32 by default; ``dtype=np.float64`` for methods that compute cosines in float64).

    float32: ``A / max(||A||, eps)`` computed in float32 with ``np.linalg.norm``, bit for bit the
    normaliser the lab's recorded numbers were made with (BLISS training amplifies a last-bit
    change into different buckets). Rows whose float32 norm overflows (huge but finite values) or
    underflows below ``eps`` while not all zero are instead first divided by their largest
    absolute value, in float64, so they come out unit-norm instead of 0, NaN or tiny.
    float64: every row takes that scaled path.
    """
    if np.dtype(dtype) == np.float64:
        A = np.asarray(A, dtype=np.float64)
        if A.ndim != 2:
            raise ValueError(f"l2_normalize expects a 2-D (n, d) array; got shape {A.shape}")
        return _scaled_unit_rows(A, eps)
    A32 = np.asarray(A, dtype=np.float32)
    if A32.ndim != 2:
        raise ValueError(f"l2_normalize expects a 2-D (n, d) array; got shape {A32.shape}")
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):
        norms = np.linalg.norm(A32, axis=1, keepdims=True)
        out = A32 / np.maximum(norms, eps)
    if A32.size:
        bad = ~np.isfinite(norms[:, 0]) | ((norms[:, 0] < eps) & (np.abs(A32).max(axis=1) > 0))
        if bad.any():
            out[bad] = _scaled_unit_rows(np.asarray(A, dtype=np.float64)[bad], eps)
    return out.astype(dtype, copy=False)


def _scaled_unit_rows(A: np.ndarray, eps: float) -> np.ndarray:
    """float64 rows divided by their largest absolute value, then by their norm (no overflow)."""
    scale = np.abs(A).max(axis=1, keepdims=True) if A.size else np.ones((len(A), 1))
    scale[scale == 0] = 1.0
    A = A / scale
    norms = np.sqrt(np.einsum("ij,ij->i", A, A))[:, None]
    return A / np.maximum(norms, eps)


def check_choice(name: str, value, choices: Iterable, context: str = ""):
    """``value`` if it is one of ``choices``; otherwise a ValueError listing the accepted values.

    ``context`` (e.g. a dataset name) prefixes the message.
    """
    choices = list(choices)
    try:
        ok = value in choices
    except TypeError:  # unhashable / incomparable value
        ok = False
    if not ok:
        prefix = f"{context}: " if context else ""
        raise ValueError(
            f"{prefix}unknown {name} {value!r}; accepted values: {', '.join(map(repr, choices))}"
        )
    return value


def _is_int(value) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def check_int(name: str, value, minimum: int | None = 1, maximum: int | None = None, *,
              allow_none: bool = False) -> int | None:
    """``value`` as a Python int within ``[minimum, maximum]`` (None bounds are open).

    ``allow_none``: None is accepted and returned (e.g. "no limit").
    """
    if value is None and allow_none:
        return None
    if not _is_int(value):
        hint = " (or None)" if allow_none else ""
        raise ValueError(
            f"{name} must be an integer{hint}; got {value!r} ({type(value).__name__})"
        )
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}; got {value!r}")
    if maximum is not None and value > maximum:
        raise ValueError(f"{name} must be an integer <= {maximum}; got {value!r}")
    return int(value)


def check_positive_ints(**values) -> None:
    """Raise ValueError naming the first keyword argument that is not a positive integer."""
    for name, v in values.items():
        check_int(name, v, minimum=1)


def check_float(name: str, value, low: float | None = None, high: float | None = None, *,
                low_open: bool = False, high_open: bool = False) -> float:
    """``value`` as a finite float within the given bounds (closed unless ``*_open``)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer,
                                                                     np.floating)):
        raise ValueError(f"{name} must be a number; got {value!r} ({type(value).__name__})")
    v = float(value)
    if not np.isfinite(v):
        raise ValueError(f"{name} must be finite; got {value!r}")
    lo_bad = low is not None and (v <= low if low_open else v < low)
    hi_bad = high is not None and (v >= high if high_open else v > high)
    if lo_bad or hi_bad:
        lo = "-inf" if low is None else f"{low:g}"
        hi = "inf" if high is None else f"{high:g}"
        interval = ("(" if low_open else "[") + f"{lo}, {hi}" + (")" if high_open else "]")
        raise ValueError(f"{name} must lie in {interval}; got {value!r}")
    return v


def check_labels(name: str, y, n: int | None = None, *, min_classes: int = 1) -> np.ndarray:
    """A 1-D label vector of length ``n`` (labels may be ints or strings); returned as an array.

    Raises when ``y`` is not 1-D, has the wrong length, holds NaN, or has fewer than
    ``min_classes`` distinct labels.
    """
    y = np.asarray(y)
    if y.ndim != 1:
        raise ValueError(f"{name} must be a 1-D array of labels; got shape {y.shape}")
    if n is not None and len(y) != n:
        raise ValueError(f"{name} has {len(y)} labels but there are {n} items; one label per item")
    if y.dtype.kind == "f" and not np.isfinite(y).all():
        raise ValueError(f"{name} contains NaN or infinite labels")
    if y.dtype.kind == "O":
        try:
            y = y.astype(str) if all(isinstance(v, str) for v in y) else y.astype(np.int64)
        except (TypeError, ValueError) as err:
            raise ValueError(f"{name} must hold integers or strings; got mixed objects") from err
    if min_classes > 1 and len(np.unique(y)) < min_classes:
        raise ValueError(
            f"{name} has {len(np.unique(y))} distinct labels; at least {min_classes} needed"
        )
    return y


def check_indicator(name: str, Y, n: int | None = None, n_classes: int | None = None, *,
                    allow_empty_rows: bool = True) -> np.ndarray:
    """An (n, C) {0, 1} indicator matrix (scipy sparse accepted), returned as dense float32.

    ``allow_empty_rows=False`` additionally requires every item to have at least one label.
    """
    if hasattr(Y, "toarray"):
        Y = Y.toarray()
    Y = np.asarray(Y)
    want = f"({n if n is not None else 'n_items'}, {n_classes if n_classes is not None else 'n_classes'})"
    if Y.ndim != 2 or (n is not None and Y.shape[0] != n) or (
            n_classes is not None and Y.shape[1] != n_classes):
        raise ValueError(f"{name} must be an indicator matrix of shape {want}; got {Y.shape}")
    if Y.size and not np.isin(Y, (0, 1)).all():
        raise ValueError(
            f"{name} must contain only 0 and 1 (an (items x classes) indicator matrix); "
            "threshold scores into binary predictions first"
        )
    if not allow_empty_rows and Y.shape[0]:
        empty = np.flatnonzero(Y.sum(1) == 0)
        if empty.size:
            raise ValueError(
                f"{name}: {empty.size} of {Y.shape[0]} items have no labels (first at rows "
                f"{empty[:5].tolist()}); items without labels carry no label information: drop "
                "them first"
            )
    return Y.astype(np.float32)


def check_binary_predictions(name: str, P, shape: tuple | None = None) -> np.ndarray:
    """0/1 (or bool) predictions as a bool array; real-valued scores are rejected, not thresholded."""
    P = np.asarray(P)
    if shape is not None and P.shape != tuple(shape):
        raise ValueError(
            f"{name} has shape {P.shape} but {tuple(shape)} was expected (same items and classes "
            "in the same order)"
        )
    if P.size and not np.isin(P, (0, 1)).all():
        raise ValueError(
            f"{name} must be binary (0/1 or bool) predictions; got values such as "
            f"{np.unique(P[~np.isin(P, (0, 1))])[:3].tolist()}. Threshold scores first "
            "(e.g. scores >= threshold)"
        )
    return P.astype(bool)


def _as_yaml_list(value) -> str:
    """The YAML list a user meant by a scalar passed with ``-p``: ``"[a, b]"`` stays ``[a, b]``
    (papermill passed the brackets as text), ``"a"`` becomes ``[a]``."""
    text = str(value).strip()
    return text if text.startswith("[") and text.endswith("]") else f"[{text}]"


def check_name_list(name: str, value, accepted: Iterable[str] | Mapping | None = None, *,
                    allow_empty: bool = False, pattern_ok=None) -> list[str]:
    """A notebook list parameter of names (``datasets``, ``encoders``...), returned as a list.

    papermill's ``-p name value`` passes strings; lists need ``-y``. A string therefore gets
    "expected a list of names, got the string '...'" with the ``-y`` form to use, instead of
    being checked letter by letter. ``accepted``: the valid names (None: any string);
    ``pattern_ok(item) -> bool`` may accept further items (e.g. ``user:<path>``).
    """
    if isinstance(value, str):
        raise ValueError(
            f"parameter {name}: expected a list of names, got the string {value!r}. Pass lists "
            f"to papermill with -y, e.g. -y \"{name}: {_as_yaml_list(value)}\", or in a YAML file (-f)"
        )
    if not isinstance(value, (list, tuple)):
        raise ValueError(
            f"parameter {name}: expected a list of names, got {type(value).__name__} {value!r}"
        )
    items = list(value)
    if not items and not allow_empty:
        raise ValueError(f"parameter {name}: the list is empty; give at least one name")
    bad_type = [v for v in items if not isinstance(v, str)]
    if bad_type:
        raise ValueError(f"parameter {name}: every entry must be a string name; got {bad_type!r}")
    if accepted is not None:
        accepted = list(accepted)
        unknown = [v for v in items if v not in accepted and not (pattern_ok and pattern_ok(v))]
        if unknown:
            raise ValueError(
                f"parameter {name}: unknown {unknown}; accepted values: "
                f"{', '.join(map(repr, accepted))}"
            )
    dup = sorted({v for v in items if items.count(v) > 1})
    if dup:
        raise ValueError(f"parameter {name}: {dup} listed more than once")
    return items


def check_int_list(name: str, value, minimum: int | None = None, maximum: int | None = None, *,
                   allow_empty: bool = False) -> list[int]:
    """A notebook list parameter of integers (``cluster_counts``...), returned as a list of ints.

    papermill's ``-p name 4`` passes a bare number (or a string): lists need ``-y``, so a scalar
    gets "expected a list of integers, got the int 4" with the ``-y`` form to use. Every entry
    must be an integer within ``[minimum, maximum]`` (None bounds are open).
    """
    if not isinstance(value, (list, tuple)):
        raise ValueError(
            f"parameter {name}: expected a list of integers, got the {type(value).__name__} "
            f"{value!r}. Pass lists to papermill with -y, e.g. -y \"{name}: {_as_yaml_list(value)}\", or in a "
            "YAML file (-f)"
        )
    if not value and not allow_empty:
        raise ValueError(f"parameter {name}: the list is empty; give at least one integer")
    return [check_int(f"parameter {name} entry", v, minimum, maximum) for v in value]


class NotFittedError(_SkNotFittedError, RuntimeError):
    """scikit-learn's ``NotFittedError`` (a ``ValueError`` and ``AttributeError``, what
    ``check_is_fitted`` raises) that is also the ``RuntimeError`` the lab's classes raised before
    they followed scikit-learn's contract, so callers catching either keep working."""


def check_fitted(estimator, attributes, call: str = "fit") -> None:
    """Raise :class:`NotFittedError` naming the estimator and the call that fits it unless it has
    the fitted ``attributes`` (a name or a list of names)."""
    names = [attributes] if isinstance(attributes, str) else list(attributes)
    if not all(hasattr(estimator, a) for a in names):
        raise NotFittedError(f"this {type(estimator).__name__} is not fitted yet; call {call} first")


def int_seed(random_state) -> int:
    """An int seed from ``random_state`` as scikit-learn takes it: an int is returned unchanged (so
    seeded results do not move); None, a ``RandomState`` or a ``Generator`` draws one."""
    if isinstance(random_state, (int, np.integer)) and not isinstance(random_state, bool):
        return int(random_state)
    if isinstance(random_state, np.random.Generator):
        return int(random_state.integers(2**31 - 1))
    from sklearn.utils import check_random_state  # noqa: PLC0415

    return int(check_random_state(random_state).randint(2**31 - 1))
