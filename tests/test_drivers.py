"""One driver per notebook, each holding its source document's numbers in one constant of one shape."""

import importlib
import json
import numbers

import pytest

from zsl_lib import config, results, runner


@pytest.mark.parametrize("stem", [s for s in runner.list_notebooks() if s != "00-quickstart"])
def test_every_notebook_names_its_driver_and_the_driver_has_a_flat_source(stem):
    meta = json.loads((config.notebooks_dir() / f"{stem}.ipynb").read_text())["metadata"]["zsl"]
    driver = importlib.import_module(meta["driver"])
    assert driver.__name__.startswith("zsl_lib.experiments.")
    source = driver.SOURCE
    assert isinstance(source, dict) and source
    for key, value in source.items():
        assert isinstance(key, str) and key.strip() and not key.startswith(".") and ".." not in key, key
        assert isinstance(value, numbers.Real) and not isinstance(value, bool), (key, value)
    # the results table reads it through the notebook metadata
    assert results.driver_source_numbers(stem) == source
    # the driver is used by the notebook it is named in
    code = json.loads((config.notebooks_dir() / f"{stem}.ipynb").read_text())["cells"]
    assert any(meta["driver"] in "".join(c["source"]) or meta["driver"].rsplit(".", 1)[1] in "".join(c["source"])
               for c in code if c["cell_type"] == "code")
