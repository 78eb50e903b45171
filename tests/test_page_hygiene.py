"""Rendered pages are for a reader, and their verdicts come from the record.

- Every published page in ``reports/`` is free of what :func:`zsl_lib.pages.page_problems`
  flags (machine paths, object reprs, progress-bar lines, raw style blocks, internal words, long
  floats, NaN cells, truncated dumps); each of those is planted once to show the check catches it.
- No notebook's typed markdown holds a verdict word ("beats", "reproduces", "tie", "rises",
  "falls", "holds", "outperforms"): verdicts are rendered from recorded intervals
  (:mod:`zsl_lib.experiments.verdicts`). Quoted or code-formatted words and headings are not
  verdicts.
- :func:`zsl_lib.pages.render_page` drops widget fallbacks, style blocks and accidental path
  reprs, and moves the cell tagged ``summary`` to the top.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import nbformat
import pytest

from zsl_lib.pages import page_problems, render_page

ROOT = Path(__file__).resolve().parents[1]
PAGES = sorted((ROOT / "reports").glob("*.md"))
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]-*.ipynb"))

VERDICT_WORDS = re.compile(
    r"\b(beats?|outperforms?|reproduc(?:es|ed)|does not reproduce|ties|tied|ties with|rises|falls|holds)\b",
    re.I)
QUOTED = re.compile(r"`[^`]*`|\"[^\"]*\"|'[^'\n]*'|“[^”]*”")

PLANTED = {
    "machine path": "    PosixPath('/work/main/build/runs/x/results/04.json')",
    "object repr": "<zsl_lib.index.bliss.BLISS object at 0x7f00aa11bb22>",
    "progress-bar line": "    cluster grid:   0%|          | 0/72 [00:00<?, ?it/s]",
    "raw style block": "<style scoped>",
    "internal word": "see the driver's SOURCE constant (issue 15)",
    "long float": "| kmeans | 43.758333333333333 |",
    "NaN cell": "| lsh | NaN | 3 |",
    "truncated dump": "{'a': 1, 'b': 2, ...",
}


@pytest.mark.parametrize("problem", sorted(PLANTED))
def test_each_planted_problem_is_caught(problem):
    clean = "# Title\n\nA clean line with 0.923 recall@10 and 12 % scanned.\n"
    assert page_problems(clean) == []
    found = page_problems(clean + PLANTED[problem] + "\n")
    assert problem in {name for name, _, _ in found}, found


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.stem)
def test_published_page_is_clean(page):
    problems = page_problems(page.read_text())
    assert not problems, "\n".join(f"{page.name}:{n}: {name}: {line}" for name, n, line in problems)


def verdict_words_in_markdown(nb: dict) -> list[tuple[int, str]]:
    found = []
    for i, cell in enumerate(nb["cells"]):
        if cell["cell_type"] != "markdown":
            continue
        for line in "".join(cell["source"]).splitlines():
            if line.lstrip().startswith("#"):
                continue
            for m in VERDICT_WORDS.finditer(QUOTED.sub("", line)):
                found.append((i, m.group(0)))
    return found


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_no_typed_verdict_in_markdown(notebook):
    found = verdict_words_in_markdown(json.loads(notebook.read_text()))
    assert not found, f"{notebook.name}: verdict words typed in markdown cells (render them from " \
                      f"the record instead): {found}"


def test_typed_verdict_is_caught_but_quotes_and_headings_are_not():
    nb = {"cells": [
        {"cell_type": "markdown", "source": ["## What reproduced\n", "Neural LSH beats k-means.\n"]},
        {"cell_type": "markdown", "source": ["every \"beats\" or `tie` is rendered\n"]},
    ]}
    assert verdict_words_in_markdown(nb) == [(0, "beats")]


def test_render_page_drops_residue_and_opens_with_summary(tmp_path):
    nb = nbformat.v4.new_notebook()
    title = nbformat.v4.new_markdown_cell("# Title")
    path_cell = nbformat.v4.new_code_cell("savefig('x')", outputs=[nbformat.v4.new_output(
        "execute_result", data={"text/plain": "[PosixPath('/work/main/figures/x.png')]"}, execution_count=1)])
    widget = nbformat.v4.new_code_cell("bar", outputs=[nbformat.v4.new_output(
        "display_data", data={"text/plain": "grid:   0%|          | 0/72 [00:00<?, ?it/s]",
                              "application/vnd.jupyter.widget-view+json": {"model_id": "m"}})])
    table = nbformat.v4.new_code_cell("df", outputs=[nbformat.v4.new_output(
        "execute_result", data={"text/plain": "t", "text/html":
                                "<div><style scoped>\n.x {}\n</style><table><tr><td>1</td></tr></table></div>"},
        execution_count=2)])
    stream = nbformat.v4.new_code_cell("print", outputs=[nbformat.v4.new_output(
        "stream", name="stdout", text="BLISS epochs:   0%|          | 0/10 [00:00<?, ?it/s]\nkept line\n")])
    summary = nbformat.v4.new_code_cell("summary", outputs=[nbformat.v4.new_output(
        "display_data", data={"text/markdown": "## Summary\n\n- it worked"})])
    summary.metadata["tags"] = ["summary"]
    nb.cells = [title, path_cell, widget, table, stream, summary]
    page = render_page(nb, tmp_path, "x")
    text = page.read_text()
    assert page_problems(text) == [], page_problems(text)
    assert "kept line" in text and "<table>" in text
    assert text.index("# Title") < text.index("## Summary") < text.index("<table>")


def parameter_names(nb: dict) -> set[str]:
    """Names assigned in the notebook's cell tagged ``parameters``."""
    cell = next(c for c in nb["cells"] if "parameters" in c["metadata"].get("tags", []))
    return set(re.findall(r"^([A-Za-z_]\w*)\s*(?::[^=]+)?=", "".join(cell["source"]), re.M))


def unrendered_parameters(nb: dict) -> list[tuple[int, str]]:
    """(cell, name) of every notebook parameter named in typed markdown: a reader needs what it
    means and its value, rendered, not the code name. Also flags papermill how-to lines (the
    README has the commands)."""
    names = parameter_names(nb)
    found = []
    for i, cell in enumerate(nb["cells"]):
        if cell["cell_type"] != "markdown":
            continue
        text = "".join(cell["source"])
        found += [(i, w) for w in re.findall(r"`([^`]+)`", text) if w.split("=")[0].split("(")[0].strip() in names]
        found += [(i, "papermill") for line in text.splitlines() if re.search(r"\bpapermill\b.*\.ipynb", line)]
    return found


def test_unrendered_parameter_check_catches_a_planted_name():
    nb = {"cells": [{"cell_type": "code", "metadata": {"tags": ["parameters"]},
                     "source": ["fewshot_way: int = 5  # N\n", "seed = 0\n"]},
                    {"cell_type": "markdown", "metadata": {}, "source": ["episodes draw `fewshot_way` classes"]},
                    {"cell_type": "markdown", "metadata": {}, "source": ["`papermill 03.ipynb out.ipynb -p seed 1`"]},
                    {"cell_type": "markdown", "metadata": {}, "source": ["episodes draw 5 classes (`X V` space)"]}]}
    assert unrendered_parameters(nb) == [(1, "fewshot_way"), (2, "papermill")]


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_no_parameter_name_in_typed_markdown(notebook):
    found = unrendered_parameters(json.loads(notebook.read_text()))
    assert not found, f"{notebook.name}: parameter names or papermill commands in markdown: {found}"
