"""Recording headline numbers: ``record(key, value)`` -> ``results/<notebook>.json``.

A notebook calls :func:`start` once (its name, e.g. ``"01-bliss-bias"``), then :func:`record` for
every headline number. Keys are dotted paths (``"clusters.kaiming.2.silhouette"``) stored flat and
sorted, so the JSON file diffs well. Every write merges into the existing file atomically
(temporary file + rename). Tests read results back with :func:`load_results`.
"""

from __future__ import annotations

import json
import math
import numbers
import os
import re
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from . import config

_KEY_RE = re.compile(r"^[A-Za-z0-9_\-@+]+(\.[A-Za-z0-9_\-@+]+)*$")
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_\-]*$")
MAX_VALUE_CHARS = 200_000

_state: dict[str, Any] = {"notebook": None}


def start(notebook: str, *, reset: bool = False) -> Path:
    """Declare which notebook is recording; returns the results file path.

    ``notebook`` is the notebook's file stem (``"01-bliss-bias"``). ``reset=True`` removes
    previously recorded numbers of that notebook (a clean run).
    """
    if not isinstance(notebook, str) or not _NAME_RE.match(notebook):
        raise ValueError(
            f"notebook name {notebook!r} is not a valid file stem; expected something like "
            "'01-bliss-bias' (letters, digits, '-' and '_')"
        )
    _state["notebook"] = notebook
    path = results_path(notebook)
    if reset and path.exists():
        path.unlink()
    from . import plots  # noqa: PLC0415  (one style for every notebook that records)

    plots.use_style()
    return path


def current_notebook() -> str:
    name = _state["notebook"] or os.environ.get("ZSL_NOTEBOOK")
    if not name:
        raise RuntimeError(
            "no notebook is recording: call zsl_lib.record.start('<notebook-stem>') first "
            "(or set the ZSL_NOTEBOOK environment variable)"
        )
    return name


def results_path(notebook: str | None = None) -> Path:
    return config.results_dir() / f"{notebook or current_notebook()}.json"


def _to_json(value: Any, key: str) -> Any:
    """Convert numpy scalars/arrays to JSON types; reject anything else with a clear error."""
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        v = float(value)
        if not math.isfinite(v):
            raise ValueError(
                f"record({key!r}): value {v} is not finite; JSON has no NaN/inf. Record None "
                "for 'not available' or fix the computation that produced it"
            )
        return v
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, np.ndarray):
        return _to_json(value.tolist(), key)
    if isinstance(value, (list, tuple)):
        return [_to_json(v, key) for v in value]
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if not isinstance(k, str):
                raise TypeError(f"record({key!r}): dict keys must be strings, got {type(k).__name__}")
            out[k] = _to_json(v, key)
        return out
    raise TypeError(
        f"record({key!r}): cannot store a {type(value).__name__}; values must be numbers, "
        "strings, booleans, None, or small lists/dicts of those"
    )


def _atomic_write_json(path: Path, data: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as f:
            json.dump(data, f, indent=1, sort_keys=True)
            f.write("\n")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def record(key: str, value: Any) -> Any:
    """Store one headline number (or small list/dict) under a dotted ``key``; returns the value.

    Raises ``ValueError``/``TypeError`` for a malformed key, a non-finite number, or a value that
    is not JSON-like or too large (more than 200,000 characters once serialised).
    """
    if not isinstance(key, str) or not _KEY_RE.match(key):
        raise ValueError(
            f"record key {key!r} is malformed; use dotted names of letters, digits, '_', '-', "
            "e.g. 'clusters.kaiming_triplet.2.silhouette'"
        )
    converted = _to_json(value, key)
    if len(json.dumps(converted)) > MAX_VALUE_CHARS:
        raise ValueError(
            f"record({key!r}): value is larger than {MAX_VALUE_CHARS} characters; results hold "
            "headline numbers: save large arrays as files instead"
        )
    path = results_path()
    data = load_results(path) if path.exists() else {}
    data[key] = converted
    _atomic_write_json(path, data)
    return value


def record_many(values: dict[str, Any], prefix: str = "") -> None:
    """Record every ``key: value`` of a flat dict (keys joined to ``prefix`` with a dot)."""
    for k, v in values.items():
        record(f"{prefix}.{k}" if prefix else str(k), v)


def load_results(source: str | Path | None = None) -> dict[str, Any]:
    """Read a results JSON: a path, a notebook stem, or the current notebook when None."""
    if source is None:
        path = results_path()
    else:
        p = Path(source)
        path = p if p.suffix == ".json" else results_path(str(source))
    if not path.exists():
        raise FileNotFoundError(f"no recorded results at {path}; run the notebook first")
    with open(path) as f:
        return json.load(f)
