"""The notebook runner: profiles, redirected outputs, failure reporting, and the quickstart."""

import pytest

from zsl_lib import runner


def test_unknown_profile_lists_accepted():
    with pytest.raises(ValueError, match="default, smoke, paper"):
        runner.params_file("00-quickstart", "fast")


def test_unknown_notebook_lists_known():
    with pytest.raises(FileNotFoundError, match="00-quickstart"):
        runner.run_notebook("99-missing")


@pytest.mark.notebook
def test_quickstart_smoke_records_its_numbers(isolated_outputs, tmp_path):
    run = runner.run_notebook("00-quickstart", profile="smoke", workdir=tmp_path / "run")
    assert run.status == "ok", run.error
    assert run.results["knn.n_test"] == 899  # test_fraction 0.5 of 1,797 digits
    assert 0.95 < run.results["knn.accuracy"] <= 1.0
    assert (tmp_path / "run" / "figures" / "00-quickstart-confusion-matrix.png").exists()
    assert run.output_path.exists()


@pytest.mark.notebook
def test_broken_parameter_fails_with_clear_message(tmp_path):
    run = runner.run_notebook("00-quickstart", profile="smoke", workdir=tmp_path, parameters={"metric": "manhattan"})
    assert run.status == "failed"
    assert "metric='manhattan'" in run.error and "cosine, euclidean" in run.error
    summary = runner.summary_table([run])
    assert "FAILED 00-quickstart" in summary


def test_summary_table_lists_every_run():
    runs = [
        runner.RunResult("01-a", "smoke", "ok", 90.0, {"headline.f1": 0.51234, "other": 1}),
        runner.RunResult("02-b", "smoke", "failed", 3.0, {}, error="cell 4: ValueError: bad"),
    ]
    table = runner.summary_table(runs)
    assert "01-a" in table and "1.5" in table and "f1=0.512" in table
    assert "FAILED 02-b: cell 4: ValueError: bad" in table
    # declared headline keys come first, in their order, and only those
    run = runner.RunResult("03-c", "default", "ok", 60.0, {"a": 1, "b.c": 0.25, "d": 2.0}, headline_keys=["d", "b.c", "zz"])
    row = runner.summary_table([run]).splitlines()[2]
    assert row.endswith("d=2, b.c=0.25")


def test_headline_keys_read_from_notebook_metadata():
    assert runner.headline_keys("00-quickstart") == ["knn.accuracy", "knn.n_test"]
