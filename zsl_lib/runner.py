"""Execute the lab's notebooks with papermill under a parameter profile.

Profiles:

* ``default``: the notebook's own defaults (the offline real-data configuration). Results go to
  ``results/``, figures to ``figures/``, executed copies to ``build/default/``.
* ``smoke``: ``params/smoke/<stem>.yaml``, seconds per notebook, used by the tests. Results and
  figures are redirected to ``<workdir>/results`` and ``<workdir>/figures`` so committed
  outputs are never overwritten by a smoke run.
* ``paper``: ``params/paper/<stem>.yaml``, the source document's exact setting (may need downloads
  or a GPU). Outputs are redirected like ``smoke``.

Command line: ``python -m zsl_lib.runner [--profile default] [stem ...]`` runs the notebooks (all
by default), continues past failures, prints a summary table and exits 1 if any failed.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import config

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


def headline_keys(stem: str) -> list[str]:
    """The recorded keys a notebook declares as its headline numbers (notebook metadata
    ``zsl.headline``), shown in the runner's summary table."""
    import json  # noqa: PLC0415

    meta = json.loads(_resolve(stem).read_text()).get("metadata", {})
    keys = meta.get("zsl", {}).get("headline", [])
    if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
        raise ValueError(f"{stem}: notebook metadata zsl.headline must be a list of recorded keys, got {keys!r}")
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


def _describe_error(exc: BaseException) -> str:
    ename = getattr(exc, "ename", None)
    if ename is not None:  # papermill.PapermillExecutionError
        cell = getattr(exc, "exec_count", None)
        return f"cell {cell}: {ename}: {getattr(exc, 'evalue', '')}"
    return f"{type(exc).__name__}: {exc}"


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

    ``parameters`` override the profile's values. ``workdir`` (default ``build/<profile>``)
    receives the executed copy and, for non-default profiles, the results and figures. Never
    raises for a failing notebook: the returned :class:`RunResult` has ``status="failed"`` and
    the failing cell's error.
    """
    import papermill as pm  # noqa: PLC0415
    import yaml  # noqa: PLC0415

    from .record import load_results  # noqa: PLC0415

    path = _resolve(stem)
    stem = path.stem
    workdir = Path(workdir) if workdir is not None else config.build_dir() / profile
    workdir.mkdir(parents=True, exist_ok=True)
    params: dict[str, Any] = {}
    pfile = params_file(stem, profile)
    if pfile is not None:
        params.update(yaml.safe_load(pfile.read_text()) or {})
    params.update(parameters or {})

    # The kernel starts in notebooks/: put this checkout first on its path so it imports this
    # zsl_lib, not another installed copy.
    pythonpath = os.pathsep.join(p for p in [str(config.PROJECT_ROOT), os.environ.get("PYTHONPATH", "")] if p)
    env = {"ZSL_PROFILE": profile, "PYTHONHASHSEED": "0", "PYTHONPATH": pythonpath}
    if profile == "default" and workdir == config.build_dir() / profile:
        results_dir = config.results_dir()
    else:
        results_dir = workdir / "results"
        env["ZSL_RESULTS_DIR"] = str(results_dir)
        env["ZSL_FIGURES_DIR"] = str(workdir / "figures")
    out = workdir / f"{stem}.ipynb"
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
            error = _describe_error(exc)
    seconds = time.perf_counter() - t0
    results_file = results_dir / f"{stem}.json"
    results = load_results(results_file) if results_file.exists() else {}
    return RunResult(
        name=stem,
        profile=profile,
        status="ok" if error is None else "failed",
        seconds=seconds,
        results=results,
        error=error,
        output_path=out,
        headline_keys=headline_keys(stem),
    )


def _headline(results: dict[str, Any], keys: list[str] | None = None, n: int = 3) -> str:
    """``key=value`` for the declared headline keys that were recorded (else ``headline.*`` keys,
    else the first ``n`` keys)."""
    chosen = [k for k in (keys or []) if k in results]
    if not chosen:
        chosen = ([k for k in results if k.startswith("headline.")] or list(results))[:n]
    shown = []
    for k in chosen:
        v = results[k]
        shown.append(f"{k.removeprefix('headline.')}=" + (f"{v:.3g}" if isinstance(v, float) else str(v)))
    return ", ".join(shown)


def summary_table(runs: list[RunResult]) -> str:
    """A plain-text table: notebook, status, minutes, headline numbers."""
    rows = [("notebook", "status", "minutes", "headline numbers")]
    for r in runs:
        rows.append((r.name, r.status, f"{r.seconds / 60:.1f}", _headline(r.results, r.headline_keys)))
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row[:3], widths)) + "  " + row[3] for row in rows]
    lines.insert(1, "-" * max(len(line) for line in lines))
    for r in runs:
        if r.error:
            lines.append(f"FAILED {r.name}: {r.error}")
    return "\n".join(lines)


def run_all(profile: str = "default", names: list[str] | None = None, **kwargs) -> list[RunResult]:
    """Run several notebooks (all by default), continuing past failures."""
    names = names or list_notebooks()
    runs = []
    for name in names:
        print(f"=== {name} [{profile}]", flush=True)
        run = run_notebook(name, profile=profile, **kwargs)
        print(run, flush=True)
        runs.append(run)
    return runs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("notebooks", nargs="*", help="notebook stems (default: all)")
    parser.add_argument("--profile", default="default", choices=PROFILES)
    parser.add_argument("--log-output", action="store_true", help="stream cell output")
    args = parser.parse_args(argv)
    runs = run_all(args.profile, args.notebooks or None, log_output=args.log_output, progress=True)
    print()
    print(summary_table(runs))
    return 1 if any(r.status != "ok" for r in runs) else 0


if __name__ == "__main__":
    sys.exit(main())
