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


def _ours(data: dict, key: str) -> str:
    """The recorded value, with ``± <key>_std`` (the spread over the run's seeds) when recorded."""
    if key not in data:
        return "(not recorded)"
    std = data.get(f"{key}_std")
    if isinstance(std, (int, float)) and not isinstance(std, bool) and std == std:
        return f"{_format(data[key])} ± {_format(std)}"
    return _format(data[key])


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
        keys = runner.headline_keys(stem)
        if not path.exists():
            rows.append({"notebook": stem, "run date": "never run", "profile": "-", "minutes": "-",
                         "headline number": f"(no {path})", "ours": "-", "source": "-"})
            continue
        data = record.load_results(path)
        meta_source = {**driver_source_numbers(stem), **notebook_source_numbers(stem)}
        date = str(data.get(record.RUN_KEY_PREFIX + "date", "unknown"))
        profile = str(data.get(record.RUN_KEY_PREFIX + "profile", "unknown"))
        minutes = _format(data.get(record.RUN_KEY_PREFIX + "minutes", "-"))
        for i, key in enumerate(keys or ["(no zsl.headline in the notebook metadata)"]):
            if SOURCE_PREFIX + key in data:
                source = _format(data[SOURCE_PREFIX + key])
            elif key in meta_source:
                source = _format(meta_source[key])
            else:
                source = "-"
            rows.append({
                "notebook": stem if i == 0 else "",
                "run date": date if i == 0 else "",
                "profile": profile if i == 0 else "",
                "minutes": minutes if i == 0 else "",
                "headline number": key,
                "ours": _ours(data, key),
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
    """The headline table as Markdown (notebook, headline number, ours, source, run)."""
    cols = ("notebook", "headline number", "ours", "source", "run date", "profile", "minutes")
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for r in rows:
        cells = [f"`{r[c]}`" if c == "headline number" and r[c] else r[c] for c in cols]
        cells[4] = cells[4][:10]  # the date, not the time
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def render_readme(text: str, table: str) -> str:
    """``text`` with the block between the README markers replaced by ``table``."""
    pattern = re.compile(re.escape(README_BEGIN) + r".*?" + re.escape(README_END), re.S)
    if not pattern.search(text):
        raise ValueError(f"README.md has no results-table markers ({README_BEGIN!r} ... {README_END!r})")
    return pattern.sub(lambda _m: f"{README_BEGIN}\n{table}\n{README_END}", text)


def update_readme(readme: Path | None = None, results_dir: Path | None = None) -> bool:
    """Rewrite README.md's results table from the published results; True if it changed."""
    readme = readme or config.PROJECT_ROOT / "README.md"
    old = readme.read_text()
    new = render_readme(old, markdown_table(table_rows(results_dir)))
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
    print(markdown_table(rows) if args.markdown else format_table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
