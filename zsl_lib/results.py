"""``python -m zsl_lib.results``: every notebook's headline numbers beside the source's.

For each notebook, the keys it declares as headline numbers (notebook metadata ``zsl.headline``,
:func:`zsl_lib.runner.headline_keys`) are read from its results file (``results/<stem>.json``, the
published record, or ``--dir`` for another run's results folder). The source document's number
for a key ``k`` is the recorded key ``source.k`` when the run recorded it, else the notebook
metadata ``zsl.source[k]``, else ``-``. Each notebook's row also shows the date and profile of
the run that wrote the file (``_run.date`` / ``_run.profile``, added when the runner publishes).
A value recorded with a ``<key>_std`` (the standard deviation over the run's seeds) is shown as
``value ± std``.
"""

from __future__ import annotations

import argparse
import importlib
import json
import math
import re
import sys
from pathlib import Path
from typing import Any

from . import config, record, runner
from .fileio import atomic_write

SOURCE_PREFIX = "source."
COLUMNS = ("notebook", "run date", "profile", "minutes", "headline number", "ours", "source")


def _format(value: Any) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value == value


def _scaled(value: Any, scale: float | None, spread: Any = None) -> str:
    """A headline value in percent (``scale``), with the digits its spread supports and
    ``± spread`` when one is recorded; unscaled values as recorded."""
    if scale is None or not _number(value):
        text = _format(value)
        return f"{text} ± {_format(spread)}" if _number(spread) else text
    v = float(value) * scale
    if _number(spread) and spread > 0:
        digits = max(0, -int(math.floor(math.log10(float(spread) * scale))))
        return f"{v:.{digits}f} ± {float(spread) * scale:.{digits}f}"
    return f"{v:.1f}"


def _ours(data: dict, key: str, scale: float | None = None) -> str:
    """The recorded value, with ``± <key>_std`` (the spread over the run's seeds) when recorded."""
    if key not in data:
        return "(not recorded)"
    return _scaled(data[key], scale, data.get(f"{key}_std"))


def notebook_source_numbers(stem: str) -> dict[str, Any]:
    """The source document's numbers stored in notebook metadata ``zsl.source`` (key -> value)."""
    path = config.notebooks_dir() / f"{stem}.ipynb"
    meta = json.loads(path.read_text()).get("metadata", {}).get("zsl", {})
    source = meta.get("source", {})
    if not isinstance(source, dict):
        raise ValueError(f"{path}: notebook metadata zsl.source must map recorded keys to numbers, got {source!r}")
    return source


def driver_source_numbers(stem: str) -> dict[str, Any]:
    """The ``SOURCE`` constant (flat dotted keys -> the source document's numbers) of the
    notebook's experiments driver, named in notebook metadata ``zsl.driver``; {} without one."""
    path = config.notebooks_dir() / f"{stem}.ipynb"
    driver = json.loads(path.read_text()).get("metadata", {}).get("zsl", {}).get("driver")
    if not driver:
        return {}
    source = getattr(importlib.import_module(driver), "SOURCE", None)
    if not isinstance(source, dict):
        raise ValueError(f"{driver} (notebook metadata zsl.driver of {path.name}) has no SOURCE dict")
    return source


def table_rows(results_dir: str | Path | None = None, names: list[str] | None = None) -> list[dict[str, str]]:
    """One row per (notebook, headline key); a notebook without a results file gets one row
    saying so. Raises ``ValueError`` for an unknown notebook name or a corrupt results file."""
    results_dir = Path(results_dir) if results_dir is not None else config.results_dir()
    stems = runner.check_names(names) if names else runner.list_notebooks()
    rows = []
    for stem in stems:
        path = results_dir / f"{stem}.json"
        entries = runner.headline_entries(stem)
        if not path.exists():
            rows.append({"notebook": stem, "run date": "never run", "profile": "-", "minutes": "-",
                         "headline number": f"(no {path})", "ours": "-", "source": "-"})
            continue
        data = record.load_results(path)
        meta_source = {**driver_source_numbers(stem), **notebook_source_numbers(stem)}
        date = str(data.get(record.RUN_KEY_PREFIX + "date", "unknown"))
        profile = str(data.get(record.RUN_KEY_PREFIX + "profile", "unknown"))
        if results_dir == config.results_dir() and record.check_published(stem):
            profile += " (record mixes runs: see `python -m zsl_lib.results`)"
        minutes = _format(data.get(record.RUN_KEY_PREFIX + "minutes", "-"))
        for i, entry in enumerate(entries or [{"key": None, "label": "(no zsl.headline in the notebook metadata)",
                                               "scale": None, "source_key": None, "source_scale": None}]):
            key, skey = entry["key"], entry["source_key"]
            if key is not None and SOURCE_PREFIX + key in data:
                source = _scaled(data[SOURCE_PREFIX + key], entry["source_scale"])
            elif skey in meta_source:
                source = _scaled(meta_source[skey], entry["source_scale"])
            else:
                source = "-"
            rows.append({
                "notebook": stem if i == 0 else "",
                "run date": date if i == 0 else "",
                "profile": profile if i == 0 else "",
                "minutes": minutes if i == 0 else "",
                "headline number": entry["label"],
                "ours": _ours(data, key, entry["scale"]) if key is not None else "-",
                "source": source,
            })
    return rows


def format_table(rows: list[dict[str, str]]) -> str:
    """A plain-text table of :func:`table_rows`."""
    cells = [list(COLUMNS)] + [[r[c] for c in COLUMNS] for r in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(COLUMNS))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in cells]
    lines.insert(1, "-" * max(len(line) for line in lines))
    return "\n".join(lines)


README_BEGIN = "<!-- results table: generated by `python -m zsl_lib.results --update-readme` (make reproduce) -->"
README_END = "<!-- /results table -->"


def markdown_table(rows: list[dict[str, str]]) -> str:
    """The headline table as Markdown: what is measured, ours and the source's (both in percent,
    ``±`` the spread over seeds where several run), the run's date, profile and minutes."""
    cols = ("notebook", "headline number", "ours (%)", "source (%)", "run date", "profile", "minutes")
    keys = ("notebook", "headline number", "ours", "source", "run date", "profile", "minutes")
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for r in rows:
        cells = [r[c] for c in keys]
        cells[4] = cells[4][:10]  # the date, not the time
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


FINDINGS_BEGIN = "<!-- findings: generated from results/ by `python -m zsl_lib.results --update-readme` -->"
FINDINGS_END = "<!-- /findings -->"
README_LINES = 3  # summary lines per notebook in the README (those flagged "readme", else the first)


def summary_lines(stem: str, data: dict) -> list[dict]:
    """A notebook's summary lines (claim, status, evidence), generated from its record by its
    driver's report module (``summary_lines(rec)`` of ``<driver>_report``, ``<driver>_verdicts``
    or the ``zsl.driver`` module itself); [] when it has none."""
    path = config.notebooks_dir() / f"{stem}.ipynb"
    driver = json.loads(path.read_text()).get("metadata", {}).get("zsl", {}).get("driver")
    if not driver:
        return []
    for name in (driver + "_report", driver + "_verdicts", driver):
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError:
            continue
        fn = getattr(module, "summary_lines", None)
        if callable(fn):
            return list(fn(data))
    return []


def findings_markdown(results_dir: str | Path | None = None) -> str:
    """The README's findings: for every notebook with a published record, its headline summary
    lines (flagged ``readme``, else the first few), each with its status and numbers."""
    results_dir = Path(results_dir) if results_dir is not None else config.results_dir()
    out = []
    for stem in runner.list_notebooks():
        path = results_dir / f"{stem}.json"
        if not path.exists():
            continue
        lines = summary_lines(stem, record.load_results(path))
        if not lines:
            continue
        chosen = [ln for ln in lines if ln.get("readme")] or lines[:README_LINES]
        out.append(f"- **{stem}**")
        out.extend(f"  - {ln['status'].capitalize()}: {ln['claim']} ({ln['evidence']})" for ln in chosen)
    return "\n".join(out)


def _replace_block(text: str, begin: str, end: str, body: str) -> str:
    pattern = re.compile(re.escape(begin) + r".*?" + re.escape(end), re.S)
    if not pattern.search(text):
        raise ValueError(f"README.md has no markers {begin!r} ... {end!r}")
    return pattern.sub(lambda _m: f"{begin}\n{body}\n{end}", text)


def render_readme(text: str, table: str, findings: str | None = None) -> str:
    """``text`` with the results-table block replaced by ``table`` (and the findings block, where
    the README has one, by ``findings``)."""
    text = _replace_block(text, README_BEGIN, README_END, table)
    if findings is not None and FINDINGS_BEGIN in text:
        text = _replace_block(text, FINDINGS_BEGIN, FINDINGS_END, findings)
    return text


def update_readme(readme: Path | None = None, results_dir: Path | None = None) -> bool:
    """Rewrite README.md's results table from the published results; True if it changed."""
    readme = readme or config.PROJECT_ROOT / "README.md"
    old = readme.read_text()
    new = render_readme(old, markdown_table(table_rows(results_dir)), findings_markdown(results_dir))
    if new != old:
        atomic_write(readme, lambda fh: fh.write(new), text=True)
    return new != old


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0].strip('`" '))
    parser.add_argument("notebooks", nargs="*", help="notebook stems (default: all)")
    parser.add_argument("--dir", type=Path, default=None,
                        help="results folder to read (default: the published results/; e.g. "
                             "build/runs/<run>/results for an exploratory run)")
    parser.add_argument("--markdown", action="store_true", help="print the table as Markdown")
    parser.add_argument("--update-readme", action="store_true",
                        help="rewrite README.md's results table from the published results/")
    args = parser.parse_args(argv)
    try:
        if args.update_readme:
            changed = update_readme(results_dir=args.dir)
            print(f"README.md results table {'updated' if changed else 'already current'}")
            return 0
        rows = table_rows(args.dir, args.notebooks or None)
    except (ValueError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.dir is None:
        for stem in args.notebooks or runner.list_notebooks():
            for problem in record.check_published(stem):
                print(f"warning: {stem}: {problem}", file=sys.stderr)
    print(markdown_table(rows) if args.markdown else format_table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
