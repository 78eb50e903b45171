"""Notebook 00 (quickstart): a bad parameter fails in the setup cell, naming it."""

import pytest

from zsl_lib import runner


@pytest.mark.notebook
def test_non_numeric_test_fraction_fails_naming_the_parameter(tmp_path):
    run = runner.run_notebook("00-quickstart", profile="smoke", workdir=tmp_path,
                              parameters={"test_fraction": "abc"})
    assert run.status == "failed"
    assert "parameter test_fraction must be a number; got 'abc'" in run.error, run.error
