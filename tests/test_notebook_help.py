"""``papermill --help-notebook`` lists every parameter of every notebook.

papermill parses the parameters cell line by line and skips, with only a log warning, any line
holding more than one ``=``: a comment such as ``# ann_dataset="user": ...`` or ``(labels = the
last N)`` hid that parameter from the help, so a user reading it could not find how to pass their
own data. The check compares the help's names (:func:`papermill.inspect_notebook`, the parser
behind ``--help-notebook``) with the assignments of the cell, and names the offending lines.
"""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys

import papermill
import pytest

from zsl_lib import config

NOTEBOOKS = sorted(config.notebooks_dir().glob("[0-9][0-9]-*.ipynb"))


def _parameters_cell(path) -> str:
    nb = json.loads(path.read_text())
    cell = next(c for c in nb["cells"] if "parameters" in c["metadata"].get("tags", []))
    return "".join(cell["source"])


def _assigned_names(source: str) -> list[str]:
    names = []
    for node in ast.parse(source).body:
        target = node.targets[0] if isinstance(node, ast.Assign) else getattr(node, "target", None)
        if isinstance(target, ast.Name):
            names.append(target.id)
    return names


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_help_notebook_lists_every_parameter(path):
    source = _parameters_cell(path)
    expected = _assigned_names(source)
    shown = list(papermill.inspect_notebook(str(path)))
    missing = [n for n in expected if n not in shown]
    culprits = [line for line in source.splitlines() if line.count("=") > 1 and not line.lstrip().startswith("#")]
    assert not missing, (
        f"{path.name}: papermill --help-notebook omits {missing}: papermill skips a parameters-cell "
        "line with more than one '=' (write 'dataset: user' instead of 'dataset=\"user\"' in "
        f"comments); lines: {culprits}"
    )
    assert shown == expected


def test_the_command_line_help_shows_the_same_names():
    path = NOTEBOOKS[0]
    out = subprocess.run([sys.executable, "-m", "papermill", "--help-notebook", str(path)],
                         capture_output=True, text=True, timeout=300, check=True).stdout
    shown = re.findall(r"^  (\w+): ", out, re.M)
    assert shown == _assigned_names(_parameters_cell(path))


def test_a_comment_with_an_equals_sign_is_caught(tmp_path):
    """The check can fail: a parameters cell whose comment holds '=' loses that parameter."""
    nb = json.loads(NOTEBOOKS[0].read_text())
    cell = next(c for c in nb["cells"] if "parameters" in c["metadata"].get("tags", []))
    cell["source"] = "a: int = 1  # fine\nb: str = None  # with a=\"user\": breaks the parser\n"
    path = tmp_path / "planted.ipynb"
    path.write_text(json.dumps(nb))
    assert list(papermill.inspect_notebook(str(path))) == ["a"]
    assert _assigned_names(cell["source"]) == ["a", "b"]
