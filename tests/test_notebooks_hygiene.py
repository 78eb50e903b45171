"""Every committed notebook: no outputs, exactly one parameters cell of literal assignments,
documented parameters, and a smoke and a paper parameter file whose names exist in the notebook."""

import ast
import json

import pytest
import yaml

from zsl_lib import config, runner

NOTEBOOKS = sorted(config.notebooks_dir().glob("*.ipynb"))


def _cells(path):
    return json.loads(path.read_text())["cells"]


def _parameters_cell(path):
    cells = [c for c in _cells(path) if "parameters" in c.get("metadata", {}).get("tags", [])]
    assert len(cells) == 1, f"{path.name}: {len(cells)} cells tagged 'parameters', expected exactly 1"
    return "".join(cells[0]["source"])


def test_there_are_notebooks():
    assert NOTEBOOKS, "no notebooks found"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_no_outputs_committed(path):
    for i, cell in enumerate(_cells(path)):
        if cell["cell_type"] == "code":
            assert not cell.get("outputs"), f"{path.name} cell {i} has outputs: clear them before committing"
            assert cell.get("execution_count") is None, f"{path.name} cell {i} has an execution count"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_parameters_cell_holds_documented_literals(path):
    source = _parameters_cell(path)
    tree = ast.parse(source)
    lines = source.splitlines()
    for node in tree.body:
        assert isinstance(node, (ast.Assign, ast.AnnAssign)), f"{path.name}: parameters cell may hold assignments only"
        ast.literal_eval(node.value)  # raises if not a literal
        assert "#" in lines[node.lineno - 1], f"{path.name}: parameter on line {node.lineno} has no comment"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
@pytest.mark.parametrize("profile", ["smoke", "paper"])
def test_profile_files_name_real_parameters(path, profile):
    body = ast.parse(_parameters_cell(path)).body
    names = {t.id for node in body for t in (node.targets if isinstance(node, ast.Assign) else [node.target])}
    values = yaml.safe_load(runner.params_file(path.stem, profile).read_text()) or {}
    unknown = set(values) - names
    assert not unknown, f"{profile} params of {path.name} set unknown parameters {sorted(unknown)}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_first_cell_is_a_title(path):
    first = _cells(path)[0]
    assert first["cell_type"] == "markdown" and "".join(first["source"]).startswith("# ")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_headline_keys_are_recorded_by_the_committed_run(path):
    """The summary table's headline numbers (notebook metadata zsl.headline) exist in results/."""
    from zsl_lib.record import load_results

    keys = runner.headline_keys(path.stem)
    assert keys, f"{path.name}: declare its headline numbers in the notebook metadata zsl.headline"
    missing = [k for k in keys if k not in load_results(config.results_dir() / f"{path.stem}.json")]
    assert not missing, f"{path.name}: headline keys {missing} are not in results/{path.stem}.json"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_is_valid_nbformat_with_cell_ids(path):
    """nbformat 4.5 requires a unique id per cell (missing ids will become a hard error)."""
    import nbformat

    ids = [c.get("id") for c in _cells(path)]  # the file as committed: nbformat.read would add ids
    assert all(ids) and len(set(ids)) == len(ids), f"{path.name}: every cell needs a unique id"
    nbformat.validate(nbformat.read(path, as_version=4))
