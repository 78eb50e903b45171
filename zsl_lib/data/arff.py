"""Multi-label ARFF (Mulan / MEKA) loader, and the Mulan ``scene`` benchmark.

MEKA writes the number of labels into the relation name: ``@relation 'scene: -C -6'`` means the
*last* 6 attributes are the labels (``-C 6`` would mean the first 6). Mulan files instead keep the
label names in a separate XML file; for those pass ``n_labels`` (and ``labels_first``) yourself.
Label attributes must be binary (``{0,1}``); feature attributes numeric. Dense and sparse ARFF
are both read (liac-arff).
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from zsl_lib.data import registry
from zsl_lib.data.base import FeatureDataset, fingerprint_of
from zsl_lib.validation import check_choice, check_float32_range

_MEKA_C = re.compile(r"-C\s+(-?\d+)")


def meka_label_count(relation: str) -> int | None:
    """The signed ``-C`` value of a MEKA relation name (negative: labels at the end), or None."""
    m = _MEKA_C.search(relation or "")
    return int(m.group(1)) if m else None


def _binary_attributes(attrs, data) -> np.ndarray:
    """(n_attributes,) bool: declared ``{0,1}``, or numeric with every value 0 or 1."""
    declared = np.array([isinstance(k, list) and set(k) <= {"0", "1"} for _, k in attrs])
    numeric = np.flatnonzero(
        [str(k).upper() in ("NUMERIC", "INTEGER", "REAL") for _, k in attrs]
    )
    out = declared.copy()
    if numeric.size:
        vals = data[:, numeric]
        vals = np.where(vals == None, np.nan, vals).astype(np.float64)  # noqa: E711 (object array)
        out[numeric] = np.isin(vals, (0.0, 1.0)).all(axis=0)
    return out


def _check_label_count(path, attrs, data, n_labels, labels_first, given) -> None:
    """Raise when the label count disagrees with the 0/1-valued attributes at the label end."""
    binary = _binary_attributes(attrs, data)
    from_edge = binary if labels_first else binary[::-1]
    run = int(np.argmin(from_edge)) if not from_edge.all() else len(attrs)
    if run >= len(attrs) or run == n_labels:
        return  # consistent, or every attribute is 0/1 (binary features): nothing to tell apart
    names = [a[0] for a in attrs]
    order = names if labels_first else names[::-1]
    sign = "" if labels_first else "-"
    fix = (
        f"the label count is likely {run}: fix the header to '-C {sign}{run}' or pass "
        f"n_labels={run}"
    )
    if run < n_labels:
        bad = order[run]
        raise ValueError(
            f"{path}: {given} declares {n_labels} labels but label attribute {bad!r} is not "
            f"0/1-valued; {fix}"
        )
    extra = order[n_labels:run]
    raise ValueError(
        f"{path}: {given} declares {n_labels} labels, but the {len(extra)} attribute(s) next to "
        f"them ({', '.join(map(repr, extra[:5]))}) are 0/1-valued like labels and would be read "
        f"as features (a label leak); {fix} (or check_label_count=False if they really are "
        f"binary features)"
    )


def _parse(liac_arff, path: Path, text: str, return_type):
    """liac-arff's parse of ``text``; its errors ("Invalid numerical value, at line 5.") name the file."""
    try:
        return liac_arff.loads(text, return_type=return_type)
    except liac_arff.ArffException as err:
        raise ValueError(f"{path}: not a valid ARFF file: {err}") from None


def load_multilabel_arff(
    path: str | Path,
    n_labels: int | None = None,
    labels_first: bool | None = None,
    name: str | None = None,
    split: str = "all",
    check_label_count: bool = True,
) -> FeatureDataset:
    """Read a multi-label ARFF file into a :class:`FeatureDataset`.

    Parameters
    ----------
    path : the ``.arff`` file.
    n_labels : number of label attributes; None reads it from the MEKA header (``-C -6``).
    labels_first : whether the labels are the first attributes; None follows the header's sign
        (MEKA: positive = first), and defaults to the end without a header.
    name, split : stored on the result (default: the file stem, ``"all"``).
    check_label_count : check the label count against the attributes: the label attributes must
        be 0/1-valued, and a 0/1-valued attribute right next to them (a label the count left out,
        which would otherwise be read as a feature and leak the labels) is an error naming the
        likely count. Pass False only when such an attribute really is a binary feature.

    Returns ``X`` float32 (n, d) features, ``Y`` int64 (n, L) {0,1} label indicators,
    ``class_names`` the label attribute names, ``extra["feature_names"]``, ``extra["relation"]``.
    """
    import arff as liac_arff

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"ARFF file not found: {path}")
    with open(path, encoding="utf-8", errors="replace") as fh:
        text = fh.read()
    try:
        obj = liac_arff.loads(text)
        data = np.asarray(obj["data"], dtype=object)
    except liac_arff.BadLayout:
        obj = _parse(liac_arff, path, text, liac_arff.COO)
        vals, (rows, cols) = obj["data"][0], obj["data"][1:]
        data = np.zeros((max(rows) + 1 if rows else 0, len(obj["attributes"])), dtype=object)
        data[:] = 0
        data[rows, cols] = vals
    except liac_arff.ArffException as err:
        raise ValueError(f"{path}: not a valid ARFF file: {err}") from None
    attrs = obj["attributes"]
    relation = obj.get("relation", "")
    signed = meka_label_count(relation)
    given = f"n_labels={n_labels}" if n_labels is not None else f"-C {signed}"
    if n_labels is None:
        if signed is None:
            raise ValueError(
                f"{path}: the relation {relation!r} has no MEKA label count (-C N); pass n_labels= "
                "(and labels_first= if the labels are the first attributes)"
            )
        n_labels = abs(signed)
    if labels_first is None:
        labels_first = bool(signed is not None and signed > 0)
    if not 0 < n_labels < len(attrs):
        raise ValueError(f"{path}: n_labels={n_labels} but the file has {len(attrs)} attributes")
    if data.ndim != 2 or len(data) == 0:
        raise ValueError(f"{path}: no data rows")
    if check_label_count:
        _check_label_count(path, attrs, data, n_labels, labels_first, given)
    lab_idx = np.arange(n_labels) if labels_first else np.arange(len(attrs) - n_labels, len(attrs))
    feat_idx = np.setdiff1d(np.arange(len(attrs)), lab_idx)
    for j in lab_idx:
        kind = attrs[j][1]
        if not (isinstance(kind, list) and set(kind) <= {"0", "1"}) and str(kind).upper() not in ("NUMERIC", "INTEGER", "REAL"):
            raise ValueError(f"{path}: label attribute {attrs[j][0]!r} is {kind}, expected {{0,1}}")
    nominal = [attrs[j][0] for j in feat_idx if isinstance(attrs[j][1], list) or str(attrs[j][1]).upper() == "STRING"]
    if nominal:
        raise ValueError(f"{path}: non-numeric feature attributes are not supported: {nominal[:5]}")
    X = data[:, feat_idx].astype(np.float64)  # a missing value ('?') becomes NaN
    if np.isnan(X).any():
        r, c = np.argwhere(np.isnan(X))[0]
        raise ValueError(f"{path}: {int(np.isnan(X).sum())} missing feature value(s) ('?'), the first at data row {r}, "
                         f"attribute {attrs[feat_idx[c]][0]!r}; impute or drop them before loading")
    check_float32_range(f"{path}: features", X)  # before the cast, which makes such values inf
    X = X.astype(np.float32)
    Y = data[:, lab_idx].astype(np.float64)
    if not np.isin(Y, (0.0, 1.0)).all():
        raise ValueError(f"{path}: label columns must be 0/1")
    return FeatureDataset(
        name=name or path.stem,
        split=split,
        X=X,
        class_names=[attrs[j][0] for j in lab_idx],
        Y=Y.astype(np.int64),
        fingerprint=fingerprint_of("arff", registry.cached_hash(path), n_labels, labels_first),
        extra={"feature_names": [attrs[j][0] for j in feat_idx], "relation": relation, "file": str(path)},
    )


def load_mulan_scene(split: str = "train") -> FeatureDataset:
    """Mulan ``scene``: ``train`` (1,211) / ``test`` (1,196) images, X (n, 294), Y (n, 6)
    with labels Beach, Sunset, FallFoliage, Field, Mountain, Urban."""
    check_choice("split", split, ["train", "test"], "mulan-scene")
    rel = f"mulan/scene-{split}.arff"
    path = registry.fetch("mulan-scene", rel)
    with open(path, encoding="utf-8", errors="replace") as fh:
        head = fh.read(4096)
    rel_line = next((ln for ln in head.splitlines() if ln.lower().startswith("@relation")), "")
    n_labels = None if meka_label_count(rel_line) is not None else 6
    ds = load_multilabel_arff(path, n_labels=n_labels, name="mulan-scene", split=split)
    ds.fingerprint = fingerprint_of("mulan-scene", split, registry.file_checksum("mulan-scene", rel))
    return ds
