"""Packaging: pyproject declares what the library imports, the lock pins it, `zsl-lab` works."""

from __future__ import annotations

import ast
import subprocess
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from zsl_lib import cli, config

ROOT = config.PROJECT_ROOT
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


def _declared(extra: str | None = None) -> dict[str, Requirement]:
    reqs = PYPROJECT["project"]["dependencies"] if extra is None else \
        PYPROJECT["project"]["optional-dependencies"][extra]
    return {canonicalize_name(Requirement(r).name): Requirement(r) for r in reqs}


def _top_level_imports(folder: Path) -> set[str]:
    names = set()
    for path in folder.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names.update(a.name.split(".")[0] for a in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module.split(".")[0])
    return names


def test_every_third_party_import_of_the_library_is_a_declared_dependency():
    stdlib = set(sys.stdlib_module_names)
    dists = packages_distributions()
    # optional extras count for the modules that import them lazily (ray: zsl_lib.encoders.distribute)
    declared = set(_declared()) | set(_declared("scale"))
    missing = {}
    for mod in sorted(_top_level_imports(ROOT / "zsl_lib") - stdlib - {"zsl_lib"}):
        owners = {canonicalize_name(d) for d in dists.get(mod, [])}
        if not owners:
            missing[mod] = "not installed"
        elif not owners & declared:
            # a transitive dependency imported directly must be declared too
            missing[mod] = f"provided by {sorted(owners)}, not in [project.dependencies]"
    assert not missing, f"undeclared imports in zsl_lib: {missing}"


def test_requirements_txt_is_the_lock_and_every_file_refers_to_it():
    # users expect `pip install -r requirements.txt`; make env, make lock and conda use that file
    assert (ROOT / "requirements.txt").is_file()
    assert not (ROOT / "requirements-lock.txt").exists()
    makefile = (ROOT / "Makefile").read_text()
    assert "pip install --quiet -r requirements.txt" in makefile
    assert "> requirements.txt" in makefile  # make lock writes it
    assert "-r requirements.txt" in (ROOT / "environment.yml").read_text()
    assert "pip install -r requirements.txt" in (ROOT / "README.md").read_text()
    for name in ("Makefile", "README.md", "pyproject.toml", "environment.yml"):
        assert "requirements-lock" not in (ROOT / name).read_text(), name


def test_the_lock_file_pins_every_declared_dependency_within_its_range():
    lock = {}
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            req = Requirement(line)
            spec = list(req.specifier)
            assert len(spec) == 1 and spec[0].operator == "==", f"lock line is not a pin: {line}"
            lock[canonicalize_name(req.name)] = spec[0].version
    for name, req in {**_declared(), **_declared("dev")}.items():
        assert name in lock, f"{name} is declared in pyproject.toml but not pinned in the lock"
        assert req.specifier.contains(lock[name], prereleases=True), (
            f"lock pins {name}=={lock[name]}, outside pyproject's range {req.specifier}"
        )


def test_console_script_is_declared_and_the_cli_lists_its_commands(capsys):
    assert PYPROJECT["project"]["scripts"]["zsl-lab"] == "zsl_lib.cli:main"
    with pytest.raises(SystemExit) as exc:
        cli.main(["--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    for command in ("list", "data", "run", "results"):
        assert command in out


def test_cli_list_shows_notebooks_datasets_and_encoders(capsys):
    assert cli.main(["list"]) == 0
    out = capsys.readouterr().out
    assert "04-lsh-comparison" in out and "tiny-imagenet" in out and "efficientnet-lite0" in out


def test_cli_rejects_an_unknown_command():
    proc = subprocess.run([sys.executable, "-m", "zsl_lib.cli", "frobnicate"],
                          capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 2 and "invalid choice" in proc.stderr


def test_ray_is_an_optional_lazy_import_of_the_ray_distributor_only():
    # `pip install -e .` without the scale extra must work: nothing imports ray at module level,
    # and only the two Ray paths use it: zsl_lib/engine.py (tasks; ray_module, the one importer) and
    # zsl_lib/encoders/distribute.py (Ray Data's API, inside the function that runs the pipeline)
    users = []
    for path in (ROOT / "zsl_lib").rglob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            mods = ([a.name for a in node.names] if isinstance(node, ast.Import)
                    else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            if any(m == "ray" or m.startswith("ray.") for m in mods):
                users.append(path.relative_to(ROOT).as_posix())
                assert node not in tree.body, f"{path}: ray imported at module level"
    assert set(users) == {"zsl_lib/engine.py", "zsl_lib/encoders/distribute.py"}
    assert "scale" in PYPROJECT["project"]["optional-dependencies"]
    assert any(line.startswith("ray[data]==") for line in (ROOT / "requirements.txt").read_text().splitlines())
    code = "import sys, zsl_lib.cli, zsl_lib.encoders.distribute; assert 'ray' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)
