"""`papermill --help-notebook` documents every parameter: its parser reads each line of the
parameters cell, and a comment it cannot parse (an ``=`` or quotes inside it) silently drops that
parameter from the help a user reads."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest
from papermill.translators import PythonTranslator

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]-*.ipynb"))


def parameters_source(path: Path) -> str:
    nb = json.loads(path.read_text())
    (cell,) = [c for c in nb["cells"] if "parameters" in c["metadata"].get("tags", [])]
    return "".join(cell["source"])


def assigned_names(source: str) -> list[str]:
    names = []
    for node in ast.parse(source).body:
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.append(node.target.id)
        elif isinstance(node, ast.Assign):
            names.extend(t.id for t in node.targets if isinstance(t, ast.Name))
    return names


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_help_lists_every_parameter(path):
    source = parameters_source(path)
    documented = [p.name for p in PythonTranslator.inspect({"source": source})]
    assert documented == assigned_names(source), (
        f"{path.name}: papermill --help-notebook misses "
        f"{sorted(set(assigned_names(source)) - set(documented))}: keep '=' and quotes out of their comments")
    assert all(p.help for p in PythonTranslator.inspect({"source": source})), "a parameter has no comment"


def test_a_comment_with_an_equals_sign_is_caught():
    source = 'a: int = 1  # fine\nb: str = None  # with a="user": breaks the parser\n'
    assert [p.name for p in PythonTranslator.inspect({"source": source})] != assigned_names(source)
