"""Import direction and private names, checked by parsing every module of the lab (issue 12).

This docstring and :data:`LAYERS` below are the one documented place of the layer order. A module
of ``zsl_lib`` may import modules of its own layer and of earlier layers only:

====  ===============================  ==================================================
0     ``config``, ``validation``,      settings, paths and the device; the input checks; atomic
      ``fileio``, ``progress``         writes, file hashing and locks; the progress bar
1     ``record``, ``plots``,           the platform: the results record, the figure style
      ``pages``                        (``plots`` may import ``record``, never the reverse),
                                       rendered pages
2     ``data``                         dataset registry and loaders (never embeds)
3     ``encoders``                     image / text encoders and the embedding cache
4     ``metrics``                      plain functions of arrays
5     ``index``                        exact, bucket, LSH and FAISS search
6     ``zeroshot``                     estimators only
7     ``experiments``                  one driver per notebook (inputs, grids, the source's
                                       numbers, tables, figures)
8     ``runner``, ``prepare``,         entry points and the results table
      ``results``, ``cli``
====  ===============================  ==================================================

Notebooks and benchmarks sit above all layers and may import any public name.

Every import counts, wherever it is written (module level, inside functions, ``TYPE_CHECKING``
blocks) and however it is spelled (absolute or relative). Imports of packages outside
``zsl_lib`` are not checked: lazy imports of heavy packages (torch, faiss, open_clip, umap) are
fine. Nothing may import a private name (``_name``) from another module, nor use one as an
attribute of an imported ``zsl_lib`` module (``registry._verify``); a private module
(``data/_util.py``) may be imported only from inside its own package. The same holds for
``benchmarks/*.py`` and the notebooks' code cells.
"""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = "zsl_lib"

#: top-level module or package of zsl_lib -> layer (see the module docstring)
LAYERS: dict[str, int] = {
    "config": 0, "validation": 0, "fileio": 0, "progress": 0, "engine": 0,
    "record": 1, "plots": 1, "pages": 1,
    "data": 2,
    "encoders": 3,
    "metrics": 4,
    "index": 5,
    "zeroshot": 6,
    "experiments": 7,
    "runner": 8, "prepare": 8, "results": 8, "cli": 8, "__main__": 8,
}
#: (importer, imported) pairs forbidden inside one layer
FORBIDDEN_SAME_LAYER = {("record", "plots")}


def _is_private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _top(module: str) -> str:
    """``zsl_lib.data.registry`` -> ``data``; the package itself -> ``""``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def _package_of(module: str, is_package: bool) -> str:
    return module if is_package else module.rpartition(".")[0]


def _imports(tree: ast.AST, module: str, is_package: bool, known: set[str]):
    """Yield ``(line, target module, imported name or None, alias bound)`` for every zsl_lib import.

    ``from X import n`` yields ``X.n`` when that is a module, otherwise ``X`` with name ``n``.
    """
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                if a.name == PACKAGE or a.name.startswith(PACKAGE + "."):
                    yield node.lineno, a.name, None, a.asname or None
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = _package_of(module, is_package).split(".")
                base = base[: len(base) - (node.level - 1)] if node.level > 1 else base
                src = ".".join(base + ([node.module] if node.module else []))
            else:
                src = node.module or ""
            if not (src == PACKAGE or src.startswith(PACKAGE + ".")):
                continue
            for a in node.names:
                sub = f"{src}.{a.name}"
                if sub in known:
                    yield node.lineno, sub, None, a.asname or a.name
                else:
                    yield node.lineno, src, a.name, None


def _private_module_violation(importer: str, is_package: bool, target: str) -> str | None:
    """A private segment of ``target`` (``zsl_lib.data._util``) reached from outside its package."""
    parts = target.split(".")
    own = _package_of(importer, is_package)
    for i, p in enumerate(parts):
        if _is_private(p):
            parent = ".".join(parts[:i])
            if not (own == parent or own.startswith(parent + ".")):
                return f"imports the private module {target} from outside {parent}"
            return None
    return None


def check_source(source: str, module: str, known: set[str], *, path: str = "", is_package: bool = False,
                 layered: bool = True) -> list[str]:
    """Violations in one module's source (``module`` is its dotted name; ``known``: every module
    and package of zsl_lib). ``layered=False`` (benchmarks, notebooks) checks private names only."""
    where = path or module
    try:
        tree = ast.parse(source)
    except SyntaxError as err:
        return [f"{where}: cannot be parsed ({err.msg}, line {err.lineno})"]
    out = []
    layer_of_importer = None
    if layered:
        top = _top(module)
        if top and top not in LAYERS:
            return [f"{where}: zsl_lib.{top} is not in the layer table of tests/test_layers.py; "
                    "place it in a layer (or move it into a package of one)"]
        layer_of_importer = LAYERS.get(top, 0)
    module_aliases = set()
    for line, target, name, alias in _imports(tree, module, is_package, known):
        if alias and "." not in alias:
            module_aliases.add(alias)
        if name is not None and _is_private(name) and target != module:
            out.append(f"{where}:{line}: imports the private name {name} from {target}")
        bad = _private_module_violation(module, is_package, target)
        if bad:
            out.append(f"{where}:{line}: {bad}")
        if not layered:
            continue
        importer_top, target_top = _top(module), _top(target)
        if not target_top:
            if name is not None and name in LAYERS:  # from zsl_lib import config (not a known module)
                target_top = name
            else:
                continue
        if target_top not in LAYERS:
            out.append(f"{where}:{line}: imports {target}, which is not in the layer table")
            continue
        if LAYERS[target_top] > layer_of_importer:
            out.append(
                f"{where}:{line}: {importer_top or PACKAGE} (layer {layer_of_importer}) imports "
                f"{target} ({target_top}, layer {LAYERS[target_top]}): an arrow against the layer order"
            )
        elif (importer_top, target_top) in FORBIDDEN_SAME_LAYER:
            out.append(f"{where}:{line}: {importer_top} must not import {target_top} ({target})")
    # attribute use of a private name through an imported zsl_lib module: registry._verify
    if module_aliases:
        for node in ast.walk(tree):
            if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
                    and node.value.id in module_aliases and _is_private(node.attr)):
                out.append(f"{where}:{node.lineno}: uses the private name {node.value.id}.{node.attr}")
    return list(dict.fromkeys(out))  # one line per problem (``from m import a, b`` yields twice)


def package_modules(root: Path = ROOT) -> dict[str, tuple[Path, bool]]:
    """Dotted name -> (path, is_package) for every module of zsl_lib."""
    mods = {}
    for p in sorted((root / PACKAGE).rglob("*.py")):
        rel = p.relative_to(root).with_suffix("")
        parts = list(rel.parts)
        is_package = parts[-1] == "__init__"
        if is_package:
            parts = parts[:-1]
        mods[".".join(parts)] = (p, is_package)
    return mods


def notebook_source(path: Path) -> str:
    """The code cells of a notebook, IPython magics and shell lines blanked (line numbers kept)."""
    nb = json.loads(path.read_text())
    lines = []
    for cell in nb["cells"]:
        if cell.get("cell_type") != "code":
            continue
        src = cell["source"] if isinstance(cell["source"], str) else "".join(cell["source"])
        for line in src.splitlines():
            lines.append("" if line.lstrip().startswith(("%", "!")) else line)
        lines.append("")
    return "\n".join(lines)


def all_violations(root: Path = ROOT) -> list[str]:
    mods = package_modules(root)
    known = set(mods)
    out = []
    for name, (path, is_package) in mods.items():
        out += check_source(path.read_text(), name, known, path=str(path.relative_to(root)),
                            is_package=is_package)
    for path in sorted((root / "benchmarks").glob("*.py")):
        out += check_source(path.read_text(), f"benchmarks.{path.stem}", known,
                            path=str(path.relative_to(root)), layered=False)
    for path in sorted((root / "notebooks").glob("*.ipynb")):
        out += check_source(notebook_source(path), f"notebooks.{path.stem}", known,
                            path=str(path.relative_to(root)), layered=False)
    return out


def test_imports_follow_the_layers_and_no_private_names():
    found = all_violations()
    assert not found, f"{len(found)} import violation(s):\n" + "\n".join(found)


# ---- the checker itself catches what it should (synthetic modules) -----------------------------
FAKE_KNOWN = {
    "zsl_lib", "zsl_lib.config", "zsl_lib.validation", "zsl_lib.fileio", "zsl_lib.record",
    "zsl_lib.plots", "zsl_lib.data", "zsl_lib.data.base", "zsl_lib.data._util",
    "zsl_lib.encoders", "zsl_lib.encoders.embedding", "zsl_lib.metrics", "zsl_lib.metrics.zsl",
    "zsl_lib.index", "zsl_lib.index.exact", "zsl_lib.zeroshot", "zsl_lib.zeroshot.tourney",
    "zsl_lib.experiments", "zsl_lib.runner",
}


def _check(source: str, module: str, **kw) -> list[str]:
    is_package = any(k.startswith(module + ".") for k in FAKE_KNOWN)
    return check_source(source, module, FAKE_KNOWN, is_package=is_package, **kw)


@pytest.mark.parametrize("module, source, expected", [
    # data must never reach up to encoders, even lazily inside a function, absolute or relative
    ("zsl_lib.data.splits", "def f():\n    from zsl_lib.encoders import embed\n",
     "data (layer 2) imports zsl_lib.encoders (encoders, layer 3)"),
    ("zsl_lib.data.splits", "def f():\n    from ..encoders import embedding\n",
     "data (layer 2) imports zsl_lib.encoders.embedding"),
    ("zsl_lib.data", "from ..encoders.embedding import embed\n", "data (layer 2) imports"),
    ("zsl_lib.metrics.retrieval", "import zsl_lib.index.exact as ex\n",
     "metrics (layer 4) imports zsl_lib.index.exact (index, layer 5)"),
    ("zsl_lib.config", "from zsl_lib import record\n", "config (layer 0) imports zsl_lib.record"),
    ("zsl_lib.validation", "from . import plots\n", "validation (layer 0) imports zsl_lib.plots"),
    ("zsl_lib.record", "from zsl_lib.plots import savefig\n", "record must not import plots"),
    ("zsl_lib.hpo", "import numpy\n", "zsl_lib.hpo is not in the layer table"),
    # private names across modules
    ("zsl_lib.zeroshot.blissnet", "from zsl_lib.index.exact import _check_matrix\n",
     "imports the private name _check_matrix from zsl_lib.index.exact"),
    ("zsl_lib.zeroshot.blissnet", "def f():\n    from ..metrics.zsl import _per_class as pc\n",
     "imports the private name _per_class from zsl_lib.metrics.zsl"),
    ("zsl_lib.zeroshot.blissnet", "from zsl_lib.index import exact\nexact._topk(1)\n",
     "uses the private name exact._topk"),
    ("zsl_lib.encoders.base", "from zsl_lib.data._util import natural_key\n",
     "imports the private module zsl_lib.data._util from outside zsl_lib.data"),
    ("benchmarks.bench_x", "from zsl_lib.index.exact import _topk\n", "imports the private name _topk"),
])
def test_checker_catches_a_synthetic_violation(module, source, expected):
    found = _check(source, module, layered=not module.startswith("benchmarks."))
    assert any(expected in v for v in found), found


@pytest.mark.parametrize("module, source", [
    ("zsl_lib.plots", "from zsl_lib.record import record\nfrom . import config\n"),
    ("zsl_lib.data.cifar", "from zsl_lib.data._util import natural_key\nfrom . import base\n"
                           "from ..validation import check_choice\nimport numpy\n"),
    ("zsl_lib.data", "from zsl_lib.data import _util\n"),
    ("zsl_lib.encoders.embedding", "def f():\n    import torch\n    from zsl_lib.data import base\n"),
    ("zsl_lib.zeroshot.tourney", "from zsl_lib.index.exact import topk\nfrom . import tourney\n"
                                 "import faiss\nfrom zsl_lib import __version__\n"),
    ("zsl_lib.runner", "from zsl_lib.experiments import bliss\nfrom zsl_lib import config\n"),
    ("benchmarks.bench_x", "from zsl_lib.zeroshot.tourney import Tourney\nimport zsl_lib.index.exact\n"),
])
def test_checker_accepts_allowed_imports(module, source):
    assert _check(source, module, layered=not module.startswith("benchmarks.")) == []


def test_notebook_source_blanks_magics_and_keeps_code(tmp_path):
    nb = {"cells": [
        {"cell_type": "markdown", "source": ["from zsl_lib.x import _md\n"]},
        {"cell_type": "code", "source": ["%matplotlib inline\n", "!ls\n",
                                         "from zsl_lib.index.exact import _topk\n"]},
    ]}
    p = tmp_path / "n.ipynb"
    p.write_text(json.dumps(nb))
    src = notebook_source(p)
    found = check_source(src, "notebooks.n", FAKE_KNOWN, layered=False)
    assert found == ["notebooks.n:3: imports the private name _topk from zsl_lib.index.exact"]
