"""Execute the lab's notebooks with papermill under a parameter profile.

Profiles:

* ``default``: the notebook's own defaults (the offline real-data configuration).
* ``smoke``: ``params/smoke/<stem>.yaml``, seconds per notebook, used by the tests.
* ``paper``: ``params/paper/<stem>.yaml``, the source document's exact setting (may need downloads
  or a GPU).

Where the outputs go (see :mod:`zsl_lib.record`):

* Only a **publishing run** (profile ``default``, no changed parameters, no ``workdir``: what
  ``make reproduce`` does) updates the committed record. Its notebook records into a staging
  folder ``build/runs/<date>-<time>-<stem>-default/``; when the notebook finished, its results
  (with ``_run.date`` and ``_run.profile``) and figures are moved into ``results/`` and
  ``figures/`` one file at a time, atomically. A failed run publishes nothing: the previous
  record stays intact and the staging folder is kept for inspection. The executed copy goes to
  ``build/default/<stem>.ipynb``.
* Every other run (another profile, changed parameters, a ``workdir``) writes its executed copy,
  results and figures to its own run folder: ``workdir`` or
  ``build/runs/<date>-<time>-<stem>-<profile>/``.

Relative paths in the lab's environment variables are made absolute against the directory the
command was run from before any kernel starts (:func:`zsl_lib.config.resolve_env_paths`).

Command line: ``python -m zsl_lib.runner [--profile default] [-p name=value ...] [stem ...]``
checks every name first, runs the notebooks (all by default), continues past failures, prints a
summary table and exits 1 if any failed (2 for a bad command line).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import shutil
import sys
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import config, pages, record

PROFILES = ("default", "smoke", "paper")
_env_lock = threading.Lock()


@dataclass
class RunResult:
    """Outcome of one notebook execution."""

    name: str
    profile: str
    status: str  # "ok" | "failed"
    seconds: float
    results: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    output_path: Path | None = None
    headline_keys: list[str] = field(default_factory=list)
    run_dir: Path | None = None  # the run folder (a publishing run: the staging folder)
    published: bool = False  # True when this run replaced the published record

    def __str__(self) -> str:
        msg = f"{self.name} [{self.profile}]: {self.status} in {self.seconds / 60:.1f} min"
        msg += f", {len(self.results)} recorded numbers"
        return msg + (f"\n  error: {self.error}" if self.error else "")


def list_notebooks() -> list[str]:
    """Stems of every notebook in ``notebooks/`` in run order."""
    return sorted(p.stem for p in config.notebooks_dir().glob("[0-9][0-9]-*.ipynb"))


def _resolve(stem: str) -> Path:
    stem = stem.removesuffix(".ipynb")
    path = config.notebooks_dir() / f"{stem}.ipynb"
    if not path.exists():
        raise FileNotFoundError(
            f"no notebook {path}; known notebooks: {', '.join(list_notebooks()) or '(none)'}"
        )
    return path


def check_names(names: list[str], profile: str = "default") -> list[str]:
    """Check every notebook name (and that ``profile`` has a parameter file for each) before
    anything runs; returns the stems. Raises ``ValueError`` naming every unknown notebook and
    listing the valid ones, ``FileNotFoundError`` for a missing profile file."""
    known = list_notebooks()
    stems = [str(n).removesuffix(".ipynb") for n in names]
    unknown = [n for n in stems if n not in known]
    if unknown:
        raise ValueError(
            f"unknown notebook(s) {', '.join(unknown)}; valid names: "
            f"{', '.join(known) or '(none)'}"
        )
    for stem in stems:
        params_file(stem, profile)
    return stems


def headline_keys(stem: str) -> list[str]:
    """The recorded keys a notebook declares as its headline numbers (notebook metadata
    ``zsl.headline``), shown in the runner's summary table."""
    meta = json.loads(_resolve(stem).read_text()).get("metadata", {})
    keys = meta.get("zsl", {}).get("headline", [])
    # an entry is a recorded key, or a dict {"key": <recorded key>, "label": ..., "percent": ...}
    keys = [k.get("key") if isinstance(k, dict) else k for k in keys] if isinstance(keys, list) else keys
    if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
        raise ValueError(f"{stem}: notebook metadata zsl.headline must be a list of recorded keys (or of dicts "
                         f"with a 'key'), got {keys!r}")
    return keys


def params_file(stem: str, profile: str) -> Path | None:
    """The YAML parameter file of a profile (None for ``default``)."""
    if profile not in PROFILES:
        raise ValueError(f"unknown profile {profile!r}; accepted: {', '.join(PROFILES)}")
    if profile == "default":
        return None
    path = config.params_dir() / profile / f"{stem}.yaml"
    if not path.exists():
        raise FileNotFoundError(f"profile {profile!r} of {stem} needs {path}, which does not exist")
    return path


@contextmanager
def _environ(values: dict[str, str]):
    """Temporarily set environment variables (inherited by the papermill kernel)."""
    with _env_lock:
        old = {k: os.environ.get(k) for k in values}
        os.environ.update(values)
        try:
            yield
        finally:
            for k, v in old.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v


def _describe_error(exc: BaseException, notebook: Path | None = None) -> str:
    """One line for a failed run. A failing cell is named by its position among the notebook's
    cells and its first source line (papermill's execution count is not a position)."""
    ename = getattr(exc, "ename", None)
    if ename is None:
        return f"{type(exc).__name__}: {exc}"
    source = getattr(exc, "source", "") or ""  # papermill.PapermillExecutionError
    where = None
    if notebook is not None:
        try:
            cells = json.loads(notebook.read_text())["cells"]
        except (OSError, ValueError, KeyError):
            cells = []
        for i, cell in enumerate(cells):
            if cell.get("cell_type") == "code" and "".join(cell.get("source", "")) == source:
                where = f"cell {i + 1} of {len(cells)}"
                break
    if where is None:  # e.g. the cell papermill injects with the parameters
        where = f"cell {getattr(exc, 'cell_index', -1) + 1} of the executed copy"
    first = next((line.strip() for line in source.splitlines() if line.strip()), "")
    if len(first) > 70:
        first = first[:67] + "..."
    return f"{where} ({first!r}): {ename}: {getattr(exc, 'evalue', '')}"


def is_publishing(profile: str, parameters: dict[str, Any] | None, workdir: str | Path | None) -> bool:
    """Whether a run updates the published record: the default profile with its default
    parameters and no explicit ``workdir`` (what ``make reproduce`` runs)."""
    return profile == "default" and not parameters and workdir is None


def run_notebook(
    stem: str,
    profile: str = "smoke",
    workdir: str | Path | None = None,
    parameters: dict[str, Any] | None = None,
    *,
    log_output: bool = False,
    progress: bool = False,
) -> RunResult:
    """Execute ``notebooks/<stem>.ipynb`` under ``profile`` and collect its recorded numbers.

    ``parameters`` override the profile's values. A publishing run (:func:`is_publishing`)
    stages its outputs and publishes them into ``results/`` and ``figures/`` only when the
    notebook finished; any other run writes its executed copy, results and figures to its run
    folder (``workdir``, default ``build/runs/<date>-<time>-<stem>-<profile>``). Never raises for
    a failing notebook: the returned :class:`RunResult` has ``status="failed"`` and the failing
    cell's error, and its ``results`` hold only what this run recorded.
    """
    import papermill as pm  # noqa: PLC0415
    import yaml  # noqa: PLC0415

    path = _resolve(stem)
    stem = path.stem
    params: dict[str, Any] = {}
    pfile = params_file(stem, profile)
    if pfile is not None:
        params.update(yaml.safe_load(pfile.read_text()) or {})
    params.update(parameters or {})
    config.resolve_env_paths(config.base_dir())  # kernels run in notebooks/: hand them absolute paths
    publishing = is_publishing(profile, parameters, workdir)
    if publishing:
        run_dir = record.new_run_dir(stem, profile)
        out = config.build_dir() / profile / f"{stem}.ipynb"
        print(f"[zsl] {stem}: staging in {run_dir}; published to {config.results_dir()} and "
              f"{config.figures_dir()} when it finishes", flush=True)
    else:
        run_dir = Path(workdir).resolve() if workdir is not None else record.new_run_dir(stem, profile)
        out = run_dir / f"{stem}.ipynb"
        print(f"[zsl] {stem}: executed copy, results and figures go to {run_dir}", flush=True)
    run_dir.mkdir(parents=True, exist_ok=True)
    out.parent.mkdir(parents=True, exist_ok=True)

    # The kernel starts in notebooks/: put this checkout first on its path so it imports this
    # zsl_lib, not another installed copy.
    pythonpath = os.pathsep.join(p for p in [str(config.PROJECT_ROOT), os.environ.get("PYTHONPATH", "")] if p)
    env = {"ZSL_PROFILE": profile, "PYTHONHASHSEED": "0", "PYTHONPATH": pythonpath,
           record.RUN_DIR_VAR: str(run_dir), record.PUBLISH_VAR: "1" if publishing else "0",
           # progress bars (rate, ETA) on this terminal while the notebook runs; figures inline in
           # the executed copy, so that its rendered page shows them
           "ZSL_PROGRESS": os.environ.get("ZSL_PROGRESS") or "terminal",
           # relative paths in parameters (a user's data) mean the directory the user ran from
           "ZSL_CALLER_CWD": os.environ.get("ZSL_CALLER_CWD") or str(Path.cwd()),
           "MPLBACKEND": "module://matplotlib_inline.backend_inline"}
    date = datetime.datetime.now().astimezone().isoformat(timespec="seconds")
    t0 = time.perf_counter()
    error = None
    with _environ(env):
        try:
            pm.execute_notebook(
                str(path),
                str(out),
                parameters=params,
                cwd=str(config.notebooks_dir()),
                kernel_name="python3",
                log_output=log_output,
                progress_bar=progress,
            )
        except Exception as exc:  # noqa: BLE001  (report, continue with the next notebook)
            error = _describe_error(exc, path)
    seconds = time.perf_counter() - t0
    results_file = run_dir / "results" / f"{stem}.json"
    results: dict[str, Any] = {}
    try:
        results = record.load_results(results_file) if results_file.exists() else {}
    except ValueError as exc:
        error = error or str(exc)
    published = False
    if publishing and error is None:
        try:
            record.publish(run_dir, stem, {"date": date, "profile": profile,
                                            "minutes": round(seconds / 60, 1)})
        except Exception as exc:  # noqa: BLE001  (report, continue with the next notebook)
            error = (f"publishing failed ({type(exc).__name__}: {exc}); files of {stem} in "
                     f"{config.results_dir()} and {config.figures_dir()} may mix this run and the "
                     f"previous one: re-run it; this run's outputs: {run_dir}")
        else:
            published = True
            try:
                page = render_report(out, config.reports_dir(), stem, date, profile)
                print(f"[zsl] {stem}: page {page}", flush=True)
            except Exception as exc:  # noqa: BLE001  (the record is published; the page is not)
                error = f"results published, but rendering the page failed: {type(exc).__name__}: {exc}"
            shutil.rmtree(run_dir, ignore_errors=True)  # the record now holds it
            run_dir = None
            results = record.load_results(config.results_dir() / f"{stem}.json") if results else {}
    elif publishing:
        error += f"; nothing was published, the previous record is intact; this run's outputs: {run_dir}"
    elif error is None and out.exists():
        try:  # a page for the user's own run too, in its run folder
            render_report(out, run_dir, stem, date, profile)
        except Exception as exc:  # noqa: BLE001
            print(f"[zsl] {stem}: no page rendered ({type(exc).__name__}: {exc})", flush=True)
    return RunResult(
        name=stem,
        profile=profile,
        status="ok" if error is None else "failed",
        seconds=seconds,
        results=results,
        error=error,
        output_path=out,
        headline_keys=headline_keys(stem),
        run_dir=run_dir,
        published=published,
    )


def render_report(executed: Path, out_dir: Path, stem: str, date: str, profile: str) -> Path:
    """The rendered page of one run: ``out_dir/<stem>.md`` with its figures beside it."""
    header = (f"_Rendered from the executed notebook [`{stem}.ipynb`](../notebooks/{stem}.ipynb), "
              f"{profile} profile, run of {date}; its numbers: [`results/{stem}.json`]"
              f"(../results/{stem}.json). Code cells are hidden._")
    return pages.render_page(executed, out_dir, stem, header=header)


def _headline(results: dict[str, Any], keys: list[str] | None = None, n: int = 3) -> str:
    """``key=value`` for the declared headline keys that were recorded (else ``headline.*`` keys,
    else the first ``n`` keys)."""
    chosen = [k for k in (keys or []) if k in results]
    if not chosen:
        own = [k for k in results if not k.startswith(record.RUN_KEY_PREFIX)]
        chosen = ([k for k in own if k.startswith("headline.")] or own)[:n]
    shown = []
    for k in chosen:
        v = results[k]
        shown.append(f"{k.removeprefix('headline.')}=" + (f"{v:.3g}" if isinstance(v, float) else str(v)))
    return ", ".join(shown)


def summary_table(runs: list[RunResult]) -> str:
    """A plain-text table: notebook, status, minutes, headline numbers."""
    rows = [("notebook", "status", "minutes", "headline numbers")]
    for r in runs:
        # a failed run's numbers are incomplete: show none rather than numbers that look current
        shown = _headline(r.results, r.headline_keys) if r.status == "ok" else "- (failed, see below)"
        rows.append((r.name, r.status, f"{r.seconds / 60:.1f}", shown))
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row[:3], widths)) + "  " + row[3] for row in rows]
    lines.insert(1, "-" * max(len(line) for line in lines))
    for r in runs:
        if r.error:
            lines.append(f"FAILED {r.name}: {r.error}")
    return "\n".join(lines)


def run_all(profile: str = "default", names: list[str] | None = None, **kwargs) -> list[RunResult]:
    """Run several notebooks (all by default), continuing past failures. Every name is checked
    before the first notebook starts."""
    names = check_names(list(names) if names else list_notebooks(), profile)
    runs = []
    for name in names:
        print(f"=== {name} [{profile}]", flush=True)
        run = run_notebook(name, profile=profile, **kwargs)
        print(run, flush=True)
        runs.append(run)
    return runs


def _parse_parameter(text: str) -> tuple[str, Any]:
    import yaml  # noqa: PLC0415

    name, sep, value = text.partition("=")
    if not sep or not name.strip().isidentifier():
        raise argparse.ArgumentTypeError(f"-p expects NAME=VALUE (a YAML value), got {text!r}")
    return name.strip(), yaml.safe_load(value)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("notebooks", nargs="*", help="notebook stems (default: all)")
    parser.add_argument("--profile", default="default", choices=PROFILES)
    parser.add_argument("-p", "--parameter", action="append", default=[], type=_parse_parameter,
                        metavar="NAME=VALUE", help="override a parameter (the run does not publish)")
    parser.add_argument("--log-output", action="store_true", help="stream cell output")
    args = parser.parse_args(argv)
    base = Path.cwd()
    for var, value in config.resolve_env_paths(base).items():
        print(f"[zsl] {var}={value} (relative value resolved against {base})", flush=True)
    try:
        names = check_names(args.notebooks or list_notebooks(), args.profile)
    except (ValueError, FileNotFoundError) as exc:
        print(f"error: {exc}\nnothing was run", file=sys.stderr)
        return 2
    runs = run_all(args.profile, names, parameters=dict(args.parameter) or None,
                   log_output=args.log_output, progress=True)
    print()
    print(summary_table(runs))
    if any(r.published for r in runs):
        print(f"\npublished to {config.results_dir()} and {config.figures_dir()}: "
              f"{', '.join(r.name for r in runs if r.published)}")
    return 1 if any(r.status != "ok" for r in runs) else 0


if __name__ == "__main__":
    sys.exit(main())
