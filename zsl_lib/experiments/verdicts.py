"""One way for every rendered page to decide and word a verdict, list its settings against the
source document, and open with a summary.

Every page states the rules below (:func:`rules_markdown`) and every verdict word it prints
("beats", "ties with", "reproduces", "rises", ...) is decided by :func:`decision` from an
interval recorded by the notebook (:func:`compare` then :func:`record_comparison`), never typed:

- **Paired items** (two methods scored on the same queries or test items): the 95 % percentile
  bootstrap interval of the difference, 2,000 resamples of the items, the same resample for both
  methods (:func:`zsl_lib.metrics.stats.paired_bootstrap`).
- **Paired seeds** (methods trained with several seeds, each seed shared): the 95 % Student-t
  interval of the mean per-seed difference (:func:`zsl_lib.metrics.stats.seed_interval`).
- A difference is "higher" when its whole interval is above 0, "lower" when it is below 0, a
  "tie" otherwise. An ordering (A > B > C) holds only if every step of it is "higher". A source
  document's claim "A beats B" *reproduces* when our interval says "higher", is *not reproduced*
  on a tie and *reversed* when it says "lower".

Pages also list every setting of the default run that differs from the source document
(:func:`settings_markdown`, built from the notebook's parameters so that a changed parameter
changes the table) and open with a summary generated from the record (:func:`summary_markdown`;
the notebook's cell tagged ``summary`` is moved to the top of the page by
:func:`zsl_lib.pages.render_page`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from .. import record as _record
from ..metrics.stats import paired_bootstrap, seed_interval

LEVEL = 0.95
N_BOOT = 2000
DECISIONS = ("higher", "lower", "tie")
#: how a decision reads between two methods, "A <verb> B"
VERBS = {"higher": "beats", "lower": "is below", "tie": "ties with"}
#: how a decision reads for a source document's claim "A > B"
CLAIM_WORDS = {"higher": "reproduces", "lower": "reversed", "tie": "not reproduced (a tie)"}
#: how a decision reads for a trend along a grid (last point minus first)
TREND_WORDS = {"higher": "rises", "lower": "falls", "tie": "flat within noise"}
STATUSES = ("reproduced", "partly reproduced", "not reproduced", "not testable at this data size",
            "not testable offline", "beyond the source")
#: how the summary heads each status
STATUS_HEADS = {"reproduced": "Reproduced", "partly reproduced": "Partly reproduced",
                "not reproduced": "Not reproduced",
                "not testable at this data size": "Could not be tested at this data size",
                "not testable offline": "Could not be tested offline",
                "beyond the source": "Beyond the source"}

RULES = {
    "bootstrap": ("**Paired items.** Two methods scored on the same queries or test items are "
                  "compared by the 95 % percentile bootstrap interval of their difference "
                  f"({N_BOOT:,} resamples of the items, the same resample for both methods)."),
    "seeds": ("**Paired seeds.** Methods trained with the same seeds are compared by the 95 % "
              "Student-t interval of the mean per-seed difference."),
    "decision": ("A difference counts (\"beats\", \"is below\", \"rises\", \"falls\") only when its "
                 "whole interval lies on one side of zero; otherwise it is a tie. An ordering "
                 "A > B > C holds only if every step holds. A source document's claim "
                 "\"A beats B\" reproduces when our interval is above zero, is not reproduced on a "
                 "tie, and is reversed when the interval is below zero."),
    "source_values": ("The source documents report single numbers without a spread, on their own "
                      "data and encoders: their values are shown beside ours, and only orderings and "
                      "directions (which method is better, which way a curve goes) are tested, never "
                      "equality of values."),
    "rows": ("**Claims over several rows** (datasets, encoders). A claim is decided on each row by the rule "
             "above: it is *reproduced* when it holds on every row tested, *partly reproduced* when it holds on "
             "some rows and not on others (the summary names which), and *not reproduced* when it holds on none."),
    "magnitude": ("**Direction and magnitude.** Where the source reports the size of a difference (a gain in "
                  "points) and claims it as large, its direction and its magnitude are decided apart. The "
                  "direction is decided by the rule above. The magnitude is not an equality test: it counts as "
                  "reproduced when the source's difference lies inside our "
                  "95 % interval; it is smaller here when the source's difference lies above the whole interval, "
                  "larger here when below. A claim whose direction is reproduced and whose magnitude is not is "
                  "*partly reproduced*."),
}


# --- intervals -------------------------------------------------------------------------------

def compare(a, b, *, statistic: Callable | None = None, over: str = "items", seed: int = 0) -> dict:
    """Interval of ``a - b``: ``over="items"`` (paired bootstrap over per-item scores) or
    ``over="seeds"`` (t-interval over per-seed scores). See :mod:`zsl_lib.metrics.stats`."""
    if over == "items":
        return paired_bootstrap(a, b, statistic=statistic, n_boot=N_BOOT, level=LEVEL, seed=seed)
    if over == "seeds":
        if statistic is not None:
            raise ValueError("compare(over='seeds'): pass one score per seed, no statistic")
        return seed_interval(a, b, level=LEVEL)
    raise ValueError(f"compare: over={over!r} must be 'items' or 'seeds'")


def record_comparison(key: str, cmp: Mapping[str, Any],
                      record_fn: Callable[[str, Any], Any] | None = None) -> dict:
    """Record ``key.diff``, ``key.lo``, ``key.hi``, ``key.n`` and ``key.method`` of a comparison."""
    record_fn = _record.record if record_fn is None else record_fn
    for field in ("diff", "lo", "hi", "n", "method"):
        value = cmp[field]
        if isinstance(value, float) and not math.isfinite(value):
            value = None
        record_fn(f"{key}.{field}", value)
    return dict(cmp)


def read_comparison(rec: Mapping[str, Any], key: str) -> dict | None:
    """The comparison recorded under ``key`` (see :func:`record_comparison`), or None."""
    if f"{key}.diff" not in rec:
        return None
    return {f: rec.get(f"{key}.{f}") for f in ("diff", "lo", "hi", "n", "method")}


def decision(cmp: Mapping[str, Any] | None) -> str | None:
    """``"higher"`` / ``"lower"`` / ``"tie"`` from a comparison's interval; None without one."""
    if cmp is None:
        return None
    lo, hi = cmp.get("lo"), cmp.get("hi")
    if lo is None or hi is None or (isinstance(lo, float) and math.isnan(lo)):
        return None
    if lo > 0:
        return "higher"
    if hi < 0:
        return "lower"
    return "tie"


def flip(dec: str | None) -> str | None:
    """The decision of ``b - a`` given that of ``a - b``."""
    return {"higher": "lower", "lower": "higher"}.get(dec, dec)


def ordering_decisions(rec: Mapping[str, Any], step_keys: Sequence[str]) -> list[str | None]:
    """The decision of every step of an ordering (each step key holds ``better - worse``)."""
    return [decision(read_comparison(rec, k)) for k in step_keys]


def ordering_holds(rec: Mapping[str, Any], step_keys: Sequence[str]) -> bool | None:
    """True when every step is "higher"; None when a step was not recorded."""
    decs = ordering_decisions(rec, step_keys)
    if any(d is None for d in decs):
        return None
    return all(d == "higher" for d in decs)


def steps_trend(rec: Mapping[str, Any], step_keys: Sequence[str]) -> str | None:
    """How a quantity moves along an ordering, decided step by step (each step key holds
    ``later - earlier``): ``"rises at every step"`` / ``"falls at every step"`` only when every
    step says so, else the count of each decision, e.g. ``"falls at 1 of 3 steps and is flat
    within noise at 2"``. None when a step was not recorded."""
    decs = ordering_decisions(rec, step_keys)
    if not decs or any(d is None for d in decs):
        return None
    if len(set(decs)) == 1 and decs[0] != "tie":
        return f"{TREND_WORDS[decs[0]]} at every step"
    counts = [(d, decs.count(d)) for d in ("lower", "higher", "tie") if d in decs]
    verb = {"higher": "rises", "lower": "falls", "tie": "is flat within noise"}
    (d0, n0), rest = counts[0], counts[1:]
    return (f"{verb[d0]} at {n0} of {len(decs)} step{'s' if len(decs) != 1 else ''}"
            + "".join(f" and {verb[d]} at {n}" for d, n in rest))


# --- words -----------------------------------------------------------------------------------

def fmt(value: float | None, *, spread: float | None = None, digits: int | None = None,
        scale: float = 1.0, signed: bool = False, unit: str = "") -> str:
    """A number with the digits its spread supports.

    ``spread`` (a standard deviation or interval half-width, same units as ``value``): the value
    is rounded to the decimal of the spread's first significant digit (at least 0 decimals).
    Else ``digits`` decimals (default 3 significant digits). ``scale`` multiplies both (100 for
    percentages); ``signed`` prints a + for positive values.
    """
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    v = float(value) * scale
    if spread is not None and spread > 0 and math.isfinite(spread):
        digits = max(0, -int(math.floor(math.log10(abs(float(spread) * scale)))))
    elif digits is None:
        digits = max(0, 2 - int(math.floor(math.log10(abs(v))))) if v != 0 else 0
    text = f"{v:+.{digits}f}" if signed else f"{v:.{digits}f}"
    if text.lstrip("+-").replace(".", "").strip("0") == "" and signed:
        text = f"{0:.{digits}f}"
    return text + unit


def interval_text(cmp: Mapping[str, Any], *, scale: float = 100.0, unit: str = " points",
                  digits: int = 1) -> str:
    """``+3.1 points (95 % interval +1.2 to +5.0)``."""
    return (f"{fmt(cmp['diff'], scale=scale, digits=digits, signed=True)}{unit} "
            f"(95 % interval {fmt(cmp['lo'], scale=scale, digits=digits, signed=True)} to "
            f"{fmt(cmp['hi'], scale=scale, digits=digits, signed=True)})")


def verdict(rec: Mapping[str, Any], key: str, a: str, b: str, *, scale: float = 100.0,
            unit: str = " points", digits: int = 1, verbs: Mapping[str, str] = VERBS) -> str | None:
    """``"A beats B by +3.1 points (95 % interval +1.2 to +5.0)"`` from the comparison recorded
    under ``key`` (``a - b``); None when it was not recorded."""
    cmp = read_comparison(rec, key)
    dec = decision(cmp)
    if dec is None:
        return None
    return f"{a} {verbs[dec]} {b}: {interval_text(cmp, scale=scale, unit=unit, digits=digits)}"


def claim_line(rec: Mapping[str, Any], key: str, claim: str, *, scale: float = 100.0,
               unit: str = " points", digits: int = 1) -> dict:
    """One summary line for a source's claim "A beats B" tested by the comparison under ``key``."""
    cmp = read_comparison(rec, key)
    dec = decision(cmp)
    if dec is None:
        return {"claim": claim, "status": "not testable offline", "evidence": "not recorded in this run"}
    status = "reproduced" if dec == "higher" else "not reproduced"
    return {"claim": claim, "status": status,
            "evidence": f"{CLAIM_WORDS[dec]}: {interval_text(cmp, scale=scale, unit=unit, digits=digits)}"}


def rows_status(holds: Sequence[bool | None]) -> str | None:
    """The status of a claim decided row by row (rule ``"rows"``): ``"reproduced"`` when it holds on
    every row decided, ``"partly reproduced"`` on some, ``"not reproduced"`` on none; None when no row
    was decided (every entry None)."""
    decided = [bool(h) for h in holds if h is not None]
    if not decided:
        return None
    if all(decided):
        return "reproduced"
    return "partly reproduced" if any(decided) else "not reproduced"


def _join(names: Sequence[str]) -> str:
    names = list(names)
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def where_text(holds: Mapping[str, bool | None], *, verb: str = "holds", prep: str = "on") -> str:
    """``"holds on A and B, not on C"`` from ``{row label: holds}`` (None: not decided, left out)."""
    yes = [k for k, v in holds.items() if v is True]
    no = [k for k, v in holds.items() if v is False]
    if yes and no:
        return f"{verb} {prep} {_join(yes)}, not {prep} {_join(no)}"
    if yes:
        return f"{verb} {prep} {_join(yes)}"
    if no:
        return f"{verb} {prep} none of {_join(no)}"
    return "not decided on any row"


def magnitude(cmp: Mapping[str, Any] | None, source_diff: float) -> str | None:
    """Where the source's difference lies against our interval (rule ``"magnitude"``):
    ``"inside"``, ``"smaller here"`` (source above the whole interval), ``"larger here"`` (below it);
    None without an interval."""
    if decision(cmp) is None:
        return None
    if source_diff > cmp["hi"]:
        return "smaller here"
    if source_diff < cmp["lo"]:
        return "larger here"
    return "inside"


def effect_line(rec: Mapping[str, Any], key: str, claim: str, source_diff: float, *,
                scale: float = 100.0, unit: str = " points", digits: int = 1) -> dict:
    """One summary line for a source's effect size ``source_diff`` (same units as the record),
    tested by the comparison under ``key``: direction and magnitude decided apart (rule
    ``"magnitude"``). Status: "reproduced" (both), "partly reproduced" (direction only), "not
    reproduced" (direction not reproduced)."""
    cmp = read_comparison(rec, key)
    dec = decision(cmp)
    if dec is None:
        return {"claim": claim, "status": "not testable offline", "evidence": "not recorded in this run"}
    want = "higher" if source_diff > 0 else "lower" if source_diff < 0 else "tie"
    direction = dec == want
    mag = magnitude(cmp, source_diff)
    src = fmt(source_diff, scale=scale, digits=digits, signed=True)
    status = ("reproduced" if direction and mag == "inside" else
              "partly reproduced" if direction else "not reproduced")
    where = {"inside": "inside our interval", "smaller here": "above our whole interval",
             "larger here": "below our whole interval"}[mag]
    evidence = (f"direction {'reproduced' if direction else CLAIM_WORDS[dec]}: "
                f"{interval_text(cmp, scale=scale, unit=unit, digits=digits)}; magnitude "
                f"{'reproduced' if mag == 'inside' else 'not reproduced (' + mag + ')'}: the source's "
                f"{src}{unit} lies {where}")
    return {"claim": claim, "status": status, "evidence": evidence}


def rules_markdown(kinds: Iterable[str] = ("bootstrap", "decision", "source_values")) -> str:
    """The page's stated rules (see :data:`RULES`) as one Markdown section."""
    parts = [RULES[k] for k in kinds]
    return "### How verdicts are decided\n\n" + "\n\n".join(parts) + "\n"


def summary_markdown(lines: Sequence[Mapping[str, str]], *, title: str = "Summary") -> str:
    """The page's opening summary: one bullet per claim, grouped by status.

    ``lines``: dicts with ``claim``, ``status`` (one of :data:`STATUSES`) and ``evidence`` (the
    numbers), as :func:`claim_line` returns or a driver builds from its record.
    """
    groups: dict[str, list[Mapping[str, str]]] = {s: [] for s in STATUSES}
    for line in lines:
        if line["status"] not in groups:
            raise ValueError(f"summary line {line['claim']!r}: status {line['status']!r} is not one "
                             f"of {', '.join(STATUSES)}")
        groups[line["status"]].append(line)
    heads = STATUS_HEADS
    out = [f"## {title}\n", "_Generated from this run's record; the rules are stated under "
           "\"How verdicts are decided\" below._\n"]
    for status in STATUSES:
        if groups[status]:
            out.append(f"**{heads[status]}**\n")
            out.extend(f"- {ln['claim']}: {ln['evidence']}" for ln in groups[status])
            out.append("")
    return "\n".join(out) + "\n"


# --- settings against the source --------------------------------------------------------------

def _same(ours: Any, theirs: Any) -> bool:
    if isinstance(ours, float) or isinstance(theirs, float):
        try:
            return math.isclose(float(ours), float(theirs), rel_tol=1e-9)
        except (TypeError, ValueError):
            return False
    return ours == theirs


def _show(value: Any) -> str:
    if isinstance(value, (list, tuple)):
        return ", ".join(_show(v) for v in value)
    if isinstance(value, dict):
        return "; ".join(f"{k}: {_show(v)}" for k, v in value.items())
    if value is None:
        return "none"
    return str(value)


def settings_table(params: Mapping[str, Any], settings: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """Rows of every setting where this run differs from the source document.

    ``settings``: one dict per setting the source fixes: ``setting`` (a reader's label),
    ``source`` (the source's value), ``why`` (time, data, offline, method, ...), and either
    ``param`` (the notebook parameter that sets it: compared with ``params[param]``, the row is
    kept only when they differ; ``ours`` may map the parameter's value to display text) or
    ``ours`` (text: a fixed deviation, always listed).
    """
    rows = []
    for s in settings:
        for field in ("setting", "source", "why"):
            if field not in s:
                raise ValueError(f"settings_table: entry {s!r} lacks {field!r}")
        if s.get("param") is not None:
            if s["param"] not in params:
                raise KeyError(f"settings_table: parameter {s['param']!r} is not among the "
                               f"notebook's parameters ({', '.join(sorted(params))})")
            value = params[s["param"]]
            compare_to = s.get("source_value", s["source"])
            if _same(value, compare_to):
                continue
            show = s.get("ours")
            ours = show(value) if callable(show) else _show(value) if show is None else show
        else:
            ours = s["ours"]
        rows.append({"setting": s["setting"], "this run": ours, "source": _show(s["source"]),
                     "why": s["why"]})
    return pd.DataFrame(rows, columns=["setting", "this run", "source", "why"])


def settings_markdown(params: Mapping[str, Any], settings: Sequence[Mapping[str, Any]],
                      leakage: Sequence[str] = ()) -> str:
    """The "Settings against the source" section: the table, then any leakage statements."""
    table = settings_table(params, settings)
    out = ["## Settings against the source\n"]
    if table.empty:
        out.append("This run uses the source document's settings throughout.\n")
    else:
        out.append("Every setting of this run that differs from the source document, and why.\n")
        out.append(md_table(table, index=False))
    if leakage:
        out.append("\n**Overlap between an encoder's training data and an evaluation split**\n")
        out.extend(f"- {line}" for line in leakage)
    return "\n".join(out) + "\n"


# --- tables ------------------------------------------------------------------------------------

def _cell(value: Any, digits: int | None) -> str:
    if value is None:
        return "–"
    if isinstance(value, (bool, np.bool_)):
        return "yes" if value else "no"
    if isinstance(value, (float, np.floating)):
        if math.isnan(value):
            return "–"
        return fmt(float(value), digits=digits) if digits is not None else fmt(float(value))
    return str(value).replace("|", "\\|").replace("\n", " ")


EMPTY_TABLE = "_Nothing to show in this run (no row: see the grid points left out, or what the run did not record)._\n"


def md_table(df: pd.DataFrame, *, digits: int | Mapping[str, int] | None = None,
             index: bool = True) -> str:
    """A pipe table (no HTML, no style block): missing values as "–", booleans as yes / no,
    floats with ``digits`` decimals (one int, or per column), 3 significant digits otherwise.
    A frame without rows gives one line saying so (an empty table is not something to read)."""
    if len(df) == 0:
        return EMPTY_TABLE
    frame = df.reset_index() if index and not isinstance(df.index, pd.RangeIndex) else df
    cols = [str(c) if not isinstance(c, tuple) else " ".join(str(x) for x in c if str(x))
            for c in frame.columns]
    lines = ["| " + " | ".join(cols) + " |",
             "|" + "|".join("---" for _ in cols) + "|"]
    for row in frame.itertuples(index=False):
        cells = []
        for col, value in zip(frame.columns, row, strict=True):
            d = digits.get(col) if isinstance(digits, Mapping) else digits
            cells.append(_cell(value, d))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def long_table(df: pd.DataFrame, name: str, *, summary: pd.DataFrame | None = None,
               max_rows: int = 30, digits: int | Mapping[str, int] | None = None,
               what: str = "the full table") -> str:
    """A table that stays short on the page: up to ``max_rows`` rows inline; longer ones are
    saved whole as CSV (:func:`zsl_lib.record.save_table`, published beside the results) and the
    page shows ``summary`` (or the first ``max_rows`` rows) with a link to the file."""
    if len(df) <= max_rows:
        return md_table(df, digits=digits)
    path = _record.save_table(name, df)
    shown = summary if summary is not None else df.head(max_rows)
    return (md_table(shown, digits=digits)
            + f"\n{what.capitalize()} ({len(df)} rows): [`results/{path.name}`](../results/{path.name})\n")
