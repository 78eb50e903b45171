"""The README's papermill commands name real notebooks, real parameters and well-formed values,
so a user who copies one gets the run it describes (not a papermill warning about an unknown
parameter, or a list passed as a string)."""

import ast
import json
import re
import shlex

import pytest
import yaml

from zsl_lib import config


def readme_commands() -> list[str]:
    text = (config.PROJECT_ROOT / "README.md").read_text()
    blocks = re.findall(r"```bash\n(.*?)```", text, re.S)
    joined = "\n".join(b.replace("\\\n", " ") for b in blocks)
    return [line.strip() for line in joined.splitlines()
            if re.match(r"\s*(\.venv/bin/)?papermill\s+notebooks/", line) and "--help-notebook" not in line]


def notebook_parameters(path) -> dict[str, object]:
    nb = json.loads(path.read_text())
    cell = next(c for c in nb["cells"] if "parameters" in c["metadata"].get("tags", []))
    out = {}
    for node in ast.parse("".join(cell["source"])).body:
        target = node.targets[0] if isinstance(node, ast.Assign) else getattr(node, "target", None)
        if isinstance(target, ast.Name):
            out[target.id] = ast.literal_eval(node.value) if node.value is not None else None
    return out


COMMANDS = readme_commands()


def test_the_readme_has_a_user_data_command_for_every_notebook_that_takes_user_data():
    stems = {re.search(r"notebooks/(\d\d)-", c).group(1) for c in COMMANDS}
    assert {"00", "01", "02", "03", "04", "05"} <= stems, stems


@pytest.mark.parametrize("command", COMMANDS, ids=[c[:60] for c in COMMANDS])
def test_every_readme_command_names_real_parameters(command):
    args = shlex.split(command)
    nb = config.PROJECT_ROOT / next(a for a in args if a.startswith("notebooks/"))
    assert nb.is_file(), nb
    params = notebook_parameters(nb)
    i = 0
    while i < len(args):
        flag = args[i]
        if flag == "-p":
            name, value = args[i + 1], args[i + 2]
            assert name in params, f"{nb.name} has no parameter {name!r} (README: {command})"
            # -p passes a string: a list or dict parameter must go through -y instead
            assert not isinstance(params[name], (list, dict)), f"{name} is a list/dict: use -y in the README"
            assert value
            i += 3
        elif flag == "-y":
            doc = yaml.safe_load(args[i + 1])
            assert isinstance(doc, dict) and len(doc) == 1, args[i + 1]
            (name, value), = doc.items()
            assert name in params, f"{nb.name} has no parameter {name!r} (README: {command})"
            if isinstance(params[name], (list, dict)):
                assert isinstance(value, type(params[name])), f"{name}: expected a {type(params[name]).__name__}"
            i += 2
        elif flag == "-f":
            assert (config.PROJECT_ROOT / args[i + 1]).is_file(), args[i + 1]
            assert set(yaml.safe_load((config.PROJECT_ROOT / args[i + 1]).read_text())) <= set(params)
            i += 2
        else:
            i += 1
