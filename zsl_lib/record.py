"""Recording headline numbers: ``record(key, value)`` -> ``<run folder>/results/<notebook>.json``.

A notebook calls :func:`start` once (its name, e.g. ``"01-bliss-bias"``), then :func:`record` for
every headline number. Keys are dotted paths (``"clusters.kaiming.2.silhouette"``) stored flat and
sorted, so the JSON file diffs well. Every write is a read-modify-write under an inter-process
lock (:func:`zsl_lib.fileio.file_lock`) that replaces the file atomically, so concurrent writers
lose nothing and a crash never leaves a half-written file. Tests read results back with
:func:`load_results`.

Where a run writes (its results here, its figures through :func:`zsl_lib.plots.savefig`):

1. ``ZSL_RUN_DIR`` set (the runner sets it for every run it starts): ``$ZSL_RUN_DIR/results`` and
   ``$ZSL_RUN_DIR/figures``. For a publishing run (``make reproduce``: profile ``default``,
   default parameters) this folder is a staging area that the runner publishes into
   ``results/`` and ``figures/`` with :func:`publish` only when the notebook finished.
2. else ``ZSL_RESULTS_DIR`` / ``ZSL_FIGURES_DIR`` set: there (explicit redirects, e.g. tests).
3. else (papermill directly, a JupyterLab kernel): the run's own folder
   ``<build>/runs/<date>-<time>-<notebook>-interactive/``, created by :func:`start`, which prints
   where. Exploring never touches the committed ``results/`` and ``figures/``.

``start(name, reset=True)`` only clears the file of the run's own folder, never the published one.
"""

from __future__ import annotations

import json
import math
import numbers
import os
import re
import shutil
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from . import config
from .fileio import atomic_write, atomic_write_json, file_lock

_KEY_RE = re.compile(r"^[A-Za-z0-9_\-@+]+(\.[A-Za-z0-9_\-@+]+)*$")
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_\-]*$")
MAX_VALUE_CHARS = 200_000
RUN_DIR_VAR = "ZSL_RUN_DIR"  # the runner: this run's folder (results/, figures/ below it)
PUBLISH_VAR = "ZSL_PUBLISH"  # the runner: "1" when the run folder is published on success
RUN_KEY_PREFIX = "_run."  # metadata that publish() adds: _run.date, _run.profile, ...
OUTPUT_KINDS = ("results", "figures")
FIGURE_SUFFIXES = (".png", ".svg", ".pdf")
TABLE_SUFFIX = ".csv"  # long tables saved whole beside a notebook's results (save_table)

_state: dict[str, Any] = {"notebook": None, "run_dir": None, "hooks": []}


def on_start(hook: Callable[[str], None]) -> None:
    """Call ``hook(notebook)`` at every :func:`start` (``zsl_lib.plots`` applies its figure style
    this way, so that this module never imports ``plots``)."""
    if hook not in _state["hooks"]:
        _state["hooks"].append(hook)


def started() -> bool:
    """True once :func:`start` has been called in this process."""
    return _state["notebook"] is not None


def start(notebook: str, *, reset: bool = False) -> Path:
    """Declare which notebook is recording; returns the results file path and prints where the
    run's results and figures go.

    ``notebook`` is the notebook's file stem (``"01-bliss-bias"``). ``reset=True`` removes numbers
    previously recorded in this run's own results file (a clean run); the published record is
    never touched.
    """
    if not isinstance(notebook, str) or not _NAME_RE.match(notebook):
        raise ValueError(
            f"notebook name {notebook!r} is not a valid file stem; expected something like "
            "'01-bliss-bias' (letters, digits, '-' and '_')"
        )
    if _state["notebook"] != notebook:
        _state["run_dir"] = None  # an interactive run folder belongs to one notebook
    _state["notebook"] = notebook
    path = results_path(notebook)
    if reset:
        with file_lock(path):
            path.unlink(missing_ok=True)
    print(_where_message(notebook), flush=True)
    for hook in list(_state["hooks"]):
        hook(notebook)
    return path


def _where_message(notebook: str) -> str:
    results, figures = output_dir("results"), output_dir("figures")
    run_dir = os.environ.get(RUN_DIR_VAR, "").strip()
    if run_dir and os.environ.get(PUBLISH_VAR) == "1":
        return (f"[zsl] {notebook}: staging this run in {config.env_path(RUN_DIR_VAR)}; it is published "
                f"to {config.results_dir()} and {config.figures_dir()} only when the notebook finishes")
    if run_dir or _state["run_dir"] is not None:
        return (f"[zsl] {notebook}: this run's results and figures go to {results.parent} "
                "(only `make reproduce` publishes to results/ and figures/)")
    return f"[zsl] {notebook}: results go to {results}, figures to {figures} (ZSL_RESULTS_DIR / ZSL_FIGURES_DIR)"


def current_notebook() -> str:
    name = _state["notebook"] or os.environ.get("ZSL_NOTEBOOK")
    if not name:
        raise RuntimeError(
            "no notebook is recording: call zsl_lib.record.start('<notebook-stem>') first "
            "(or set the ZSL_NOTEBOOK environment variable)"
        )
    return name


def _new_run_dir(notebook: str, kind: str) -> Path:
    """A fresh folder ``<build>/runs/<date>-<time>-<notebook>-<kind>`` (suffix -2, -3... if taken)."""
    root = config.runs_dir()
    root.mkdir(parents=True, exist_ok=True)
    stem = f"{time.strftime('%Y%m%d-%H%M%S')}-{notebook}-{kind}"
    for i in range(1, 1000):
        path = root / (stem if i == 1 else f"{stem}-{i}")
        try:
            path.mkdir()
            return path
        except FileExistsError:
            continue
    raise RuntimeError(f"could not create a run folder {root / stem}: 999 folders of that name exist")


def new_run_dir(notebook: str, kind: str) -> Path:
    """Create a run folder for ``notebook``; ``kind`` is the profile or ``"interactive"``."""
    for value, what in [(notebook, "notebook"), (kind, "kind")]:
        if not isinstance(value, str) or not _NAME_RE.match(value):
            raise ValueError(f"new_run_dir: {what} {value!r} must be a file stem (letters, digits, '-', '_')")
    return _new_run_dir(notebook, kind)


def output_dir(kind: str) -> Path:
    """This run's folder for ``kind`` (``"results"`` or ``"figures"``); see the module docstring."""
    if kind not in OUTPUT_KINDS:
        raise ValueError(f"output_dir: kind={kind!r} is not one of {', '.join(OUTPUT_KINDS)}")
    run_dir = config.env_path(RUN_DIR_VAR)
    if run_dir is not None:
        return run_dir / kind
    explicit = config.env_path(f"ZSL_{kind.upper()}_DIR")
    if explicit is not None:
        return explicit
    if _state["run_dir"] is None:
        _state["run_dir"] = _new_run_dir(current_notebook(), os.environ.get("ZSL_PROFILE") or "interactive")
    return _state["run_dir"] / kind


def results_path(notebook: str | None = None) -> Path:
    """This run's results file of ``notebook`` (default: the recording notebook)."""
    return output_dir("results") / f"{notebook or current_notebook()}.json"


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
    with file_lock(path):  # read-modify-write: concurrent writers must not lose each other's keys
        data = load_results(path) if path.exists() else {}
        data[key] = converted
        atomic_write_json(path, data)
    return value


def record_many(values: dict[str, Any], prefix: str = "") -> None:
    """Record every ``key: value`` of a flat dict (keys joined to ``prefix`` with a dot)."""
    for k, v in values.items():
        record(f"{prefix}.{k}" if prefix else str(k), v)


def save_table(name: str, table) -> Path:
    """Save a long table (a pandas DataFrame) whole as ``<results>/<notebook>-<name>.csv``.

    Pages show a summary of tables over ~30 rows and link this file; :func:`publish` publishes it
    beside the notebook's results. Written atomically; returns the path.
    """
    if not isinstance(name, str) or not _NAME_RE.match(name):
        raise ValueError(f"save_table: name {name!r} must be a file stem (letters, digits, '-', '_')")
    if not hasattr(table, "to_csv"):
        raise TypeError(f"save_table: expected a pandas DataFrame, got {type(table).__name__}")
    path = output_dir("results") / f"{current_notebook()}-{name}{TABLE_SUFFIX}"
    path.parent.mkdir(parents=True, exist_ok=True)
    text = table.to_csv(index=False)
    return atomic_write(path, lambda fh: fh.write(text), text=True)


def _restore_hint(path: Path) -> str:
    """How to fix a corrupt results file: restore a published one, delete a run's own one."""
    published = config.results_dir() / path.name
    if path.resolve() != published.resolve():
        return "delete it (it belongs to one run) and re-run the notebook"
    try:
        restore = f"`git checkout {published.relative_to(config.PROJECT_ROOT).as_posix()}`"
    except ValueError:
        restore = "your version control"
    return f"restore the published record with {restore}, or delete it and re-run `make reproduce`"


def load_results(source: str | Path | None = None) -> dict[str, Any]:
    """Read a results JSON: a path, a notebook stem (this run's file), or the current notebook
    when None. A corrupt file raises ``ValueError`` naming the file and how to fix it."""
    if source is None:
        path = results_path()
    else:
        p = Path(source)
        path = p if p.suffix == ".json" else results_path(str(source))
    if not path.exists():
        raise FileNotFoundError(f"no recorded results at {path}; run the notebook first")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ValueError(f"results file {path} is corrupt ({exc}); {_restore_hint(path)}") from exc
    if not isinstance(data, dict):
        raise ValueError(f"results file {path} holds a {type(data).__name__}, not a JSON object of "
                         f"recorded numbers; {_restore_hint(path)}")
    return data


PUBLISH_LOCK = ".publish"  # one publish (or recovery) at a time, in config.results_dir()
_JOURNAL_GLOB = ".publish-*.json"
_STAGED_MARK = ".pub-"  # staged files and folders: .<name>.pub-<token>


def _journal_path(notebook: str) -> Path:
    return config.results_dir() / f".publish-{notebook}.json"


def _published_roots() -> dict[str, Path]:
    return {"results": config.results_dir(), "figures": config.figures_dir(),
            "reports": config.reports_dir()}


def _digest(path: Path) -> str:
    import hashlib  # noqa: PLC0415

    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


def _apply_journal(journal: Path) -> None:
    """Finish a committed publish: move every staged file or folder into place, delete what the
    run no longer writes, then drop the journal. Idempotent (a step already done is skipped), so
    a crash at any point is completed by running it again."""
    plan = json.loads(journal.read_text(encoding="utf-8"))
    for staged, final in plan["moves"]:
        staged, final = Path(staged), Path(final)
        if not staged.exists():
            continue  # moved before an interruption
        final.parent.mkdir(parents=True, exist_ok=True)
        if staged.is_dir():
            trash = final.with_name(f".{final.name}.old-{plan['token']}")
            if final.exists():
                final.rename(trash)
            staged.rename(final)
            shutil.rmtree(trash, ignore_errors=True)
        else:
            os.replace(staged, final)
    for gone in map(Path, plan["delete"]):
        if gone.is_dir():
            shutil.rmtree(gone, ignore_errors=True)
        else:
            gone.unlink(missing_ok=True)
    for folder in map(Path, plan.get("cleanup", [])):
        shutil.rmtree(folder, ignore_errors=True)
    journal.unlink()


def _remove_staged(roots) -> None:
    """Delete staged files of publishes that never reached their commit point (no journal)."""
    for root in roots:
        if root.is_dir():
            for mark in (_STAGED_MARK, ".old-"):
                for p in root.glob(f".*{mark}*"):
                    shutil.rmtree(p, ignore_errors=True) if p.is_dir() else p.unlink(missing_ok=True)


def recover_publish() -> list[str]:
    """Complete every interrupted publish (a journal left by a crash after its commit point) and
    delete the staged files of publishes interrupted before it. Returns the completed notebooks.
    :func:`publish` and the runner call it first; a crash therefore never leaves a mix for long."""
    results = config.results_dir()
    leftovers = [p for root in _published_roots().values() if root.is_dir()
                 for mark in (_STAGED_MARK, ".old-") for p in root.glob(f".*{mark}*")]
    if not results.is_dir() or not (leftovers or list(results.glob(_JOURNAL_GLOB))):
        return []  # nothing interrupted (the common case: no lock file created)
    with file_lock(results / PUBLISH_LOCK):
        return _recover_locked()


def _recover_locked() -> list[str]:
    done = []
    for journal in sorted(config.results_dir().glob(_JOURNAL_GLOB)):
        _apply_journal(journal)
        done.append(journal.stem.removeprefix(".publish-"))
    _remove_staged(_published_roots().values())
    return done


def publish(run_dir: str | Path, notebook: str, metadata: dict[str, Any] | None = None,
            render_page: Callable[[Path], Path] | None = None) -> list[Path]:
    """Move one finished run of ``notebook`` from ``run_dir`` into the published record, all or
    nothing.

    ``run_dir/results/<notebook>.json`` (plus ``metadata`` under ``_run.<name>`` keys, e.g. date
    and profile) replaces ``results/<notebook>.json``; every ``run_dir/figures/<notebook>-*``
    figure replaces its namesake in ``figures/``, every ``run_dir/results/<notebook>-*.csv`` table
    its namesake in ``results/``, and published figures and tables of this notebook that the run
    no longer writes are removed. ``render_page(folder)`` (optional) renders the run's page into
    ``folder`` (``<notebook>.md`` and ``<notebook>_files/``); it replaces the page in
    ``reports/``.

    All or nothing: every new file is first staged beside its destination (hidden
    ``.<name>.pub-<token>``); a journal listing the moves is then written atomically (the commit
    point), the moves are applied (one rename each) and the journal removed. A failure before the
    commit point deletes the staged files and leaves the previous record as it was; a crash after
    it is completed by :func:`recover_publish` (called by the next publish and by the runner).
    The results file records ``_run.id`` and ``_run.files`` (a digest of every published file of
    the run), so :func:`check_published` flags any mix, whatever made it. The run folder is left
    as it was. Returns the published paths. Call it only for a run that finished.
    """
    run_dir = Path(run_dir)
    if not isinstance(notebook, str) or not _NAME_RE.match(notebook):
        raise ValueError(f"publish: notebook {notebook!r} is not a file stem")
    roots = _published_roots()
    for root in roots.values():
        root.mkdir(parents=True, exist_ok=True)
    with file_lock(roots["results"] / PUBLISH_LOCK):
        _recover_locked()
        token = uuid.uuid4().hex[:12]
        try:
            moves, delete, cleanup, files = _stage(run_dir, notebook, roots, token, render_page)
            src_results = run_dir / "results" / f"{notebook}.json"
            if src_results.exists():
                data = load_results(src_results)
                for k, v in (metadata or {}).items():
                    data[RUN_KEY_PREFIX + k] = _to_json(v, RUN_KEY_PREFIX + k)
                data[RUN_KEY_PREFIX + "id"] = token
                data[RUN_KEY_PREFIX + "files"] = files
                final = roots["results"] / f"{notebook}.json"
                staged = final.with_name(f".{final.name}{_STAGED_MARK}{token}")
                atomic_write_json(staged, data)
                moves.append((staged, final))  # last: the results name the files beside them
            plan = {"token": token, "notebook": notebook,
                    "moves": [[str(a), str(b)] for a, b in moves],
                    "delete": [str(p) for p in delete], "cleanup": [str(p) for p in cleanup]}
            atomic_write_json(_journal_path(notebook), plan)  # the commit point
        except BaseException:
            _remove_staged(roots.values())
            raise
        _apply_journal(_journal_path(notebook))
    return [final for _, final in moves]


def _stage(run_dir: Path, notebook: str, roots: dict[str, Path], token: str, render_page):
    """Stage a run's files beside their destinations; returns (moves, delete, cleanup, digests)."""
    moves: list[tuple[Path, Path]] = []
    delete: list[Path] = []
    cleanup: list[Path] = []
    files: dict[str, str] = {}

    def stage_file(src: Path, kind: str) -> None:
        final = roots[kind] / src.name
        staged = final.with_name(f".{final.name}{_STAGED_MARK}{token}")
        content = src.read_bytes()
        atomic_write(staged, lambda fh: fh.write(content))
        moves.append((staged, final))
        files[f"{kind}/{src.name}"] = _digest(staged)

    src_figs = sorted(p for p in (run_dir / "figures").glob(f"{notebook}-*")
                      if p.is_file() and p.suffix in FIGURE_SUFFIXES)
    for src in src_figs:
        stage_file(src, "figures")
    fresh = {p.name for p in src_figs}
    delete += [old for old in roots["figures"].glob(f"{notebook}-*")
               if old.is_file() and old.name not in fresh and old.suffix in FIGURE_SUFFIXES]
    src_tables = sorted(p for p in (run_dir / "results").glob(f"{notebook}-*{TABLE_SUFFIX}") if p.is_file())
    for src in src_tables:
        stage_file(src, "results")
    fresh_tables = {p.name for p in src_tables}
    delete += [old for old in roots["results"].glob(f"{notebook}-*{TABLE_SUFFIX}")
               if old.is_file() and old.name not in fresh_tables]
    if render_page is not None:
        folder = roots["reports"] / f".{notebook}{_STAGED_MARK}{token}"
        render_page(folder)
        page, page_files = folder / f"{notebook}.md", folder / f"{notebook}_files"
        if not page.is_file():
            raise RuntimeError(f"render_page did not write {notebook}.md")
        moves.append((page, roots["reports"] / page.name))
        files[f"reports/{page.name}"] = _digest(page)
        if page_files.is_dir():
            moves.append((page_files, roots["reports"] / page_files.name))
            for f in sorted(page_files.iterdir()):
                files[f"reports/{page_files.name}/{f.name}"] = _digest(f)
        else:
            delete.append(roots["reports"] / page_files.name)
        cleanup.append(folder)
    return moves, delete, cleanup, files


def check_published(notebook: str) -> list[str]:
    """Problems that show a published record of ``notebook`` mixing runs: an interrupted publish,
    or a file the results' ``_run.files`` lists that is missing or differs, or a figure or table of
    the notebook that the run did not write. Empty when consistent (or recorded before
    ``_run.files`` existed)."""
    problems = []
    if _journal_path(notebook).exists():
        problems.append(f"an interrupted publish of {notebook} is pending: run "
                        "zsl_lib.record.recover_publish() (or the runner) to complete it")
    path = config.results_dir() / f"{notebook}.json"
    if not path.exists():
        return problems
    listed = load_results(path).get(RUN_KEY_PREFIX + "files")
    if not isinstance(listed, dict):
        return problems
    roots = _published_roots()
    run = load_results(path).get(RUN_KEY_PREFIX + "id")
    for rel, digest in sorted(listed.items()):
        kind, _, name = rel.partition("/")
        f = roots[kind] / name
        if not f.is_file():
            problems.append(f"{rel} of run {run} is missing")
        elif _digest(f) != digest:
            problems.append(f"{rel} is not the file run {run} published")
    present = [f"figures/{p.name}" for p in roots["figures"].glob(f"{notebook}-*")
               if p.is_file() and p.suffix in FIGURE_SUFFIXES]
    present += [f"results/{p.name}" for p in roots["results"].glob(f"{notebook}-*{TABLE_SUFFIX}")
                if p.is_file()]
    problems += [f"{rel} was not published by run {run}" for rel in sorted(set(present) - set(listed))]
    return problems
