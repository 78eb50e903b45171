"""The notebook runner: profiles, redirected outputs, failure reporting, and the quickstart."""

import pytest

from zsl_lib import pages, runner


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
    # the setup cell checks the parameters before anything runs, naming the parameter and the choices
    assert "cell 3 of 12" in run.error and "metric 'manhattan'" in run.error
    assert "'cosine', 'euclidean'" in run.error
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
    assert runner.headline_keys("00-quickstart") == ["knn.accuracy"]
    assert runner.headline_entries("00-quickstart")[0]["scale"] == 100


# --- names checked first, failing cells named by position, publishing ----------------------------

import json  # noqa: E402
import os  # noqa: E402
import shutil  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402

from zsl_lib import config, record  # noqa: E402


def test_unknown_name_anywhere_stops_before_anything_runs(isolated_outputs, monkeypatch, capsys):
    ran = []
    monkeypatch.setattr(runner, "run_notebook", lambda name, **kw: ran.append(name))
    assert runner.main(["00-quickstart", "99-nope", "01-bliss-bias"]) == 2
    err = capsys.readouterr().err
    assert "99-nope" in err and "00-quickstart, 01-bliss-bias" in err and "nothing was run" in err
    assert ran == []
    with pytest.raises(ValueError, match="valid names: 00-quickstart"):
        runner.run_all("smoke", ["00-quickstart", "zz"])
    assert ran == []


def test_failing_cell_named_by_position_and_first_line():
    from papermill.exceptions import PapermillExecutionError

    path = config.notebooks_dir() / "00-quickstart.ipynb"
    cells = json.loads(path.read_text())["cells"]
    i = next(i for i, c in enumerate(cells) if "".join(c["source"]).startswith("knn = "))
    source = "".join(cells[i]["source"])
    # the executed copy has papermill's injected parameters cell, and the execution count is not
    # a position: neither may leak into the message
    exc = PapermillExecutionError(i + 1, 3, source, "ValueError", "bad n_neighbors", [])
    msg = runner._describe_error(exc, path)
    assert msg.startswith(f"cell {i + 1} of {len(cells)} ('knn = KNeighborsClassifier(")
    assert msg.endswith("ValueError: bad n_neighbors")


def test_failed_run_row_shows_no_numbers():
    run = runner.RunResult("00-quickstart", "default", "failed", 6.0, {"knn.accuracy": 0.98765},
                           error="cell 7 of 10 ('knn = ...'): ValueError: bad", headline_keys=["knn.accuracy"])
    row = runner.summary_table([run]).splitlines()[2]
    assert "0.988" not in row and "failed" in row


def test_only_the_default_profile_with_default_parameters_publishes():
    assert runner.is_publishing("default", None, None)
    assert not runner.is_publishing("default", {"metric": "euclidean"}, None)
    assert not runner.is_publishing("smoke", None, None)
    assert not runner.is_publishing("default", None, "somewhere")


@pytest.mark.notebook
def test_reproduce_publishes_with_relative_paths_from_the_users_directory(tmp_path, monkeypatch):
    """`export ZSL_RESULTS_DIR=pub/results` etc. then the runner: the kernels (in notebooks/) must
    see the paths the user meant, and a finished run is published with its date and profile."""
    monkeypatch.chdir(tmp_path)
    for var, rel in [("ZSL_RESULTS_DIR", "pub/results"), ("ZSL_FIGURES_DIR", "pub/figures"),
                     ("ZSL_BUILD_DIR", "pub/build"), ("ZSL_REPORTS_DIR", "pub/reports")]:
        monkeypatch.setenv(var, rel)
    assert runner.main(["00-quickstart"]) == 0
    data = record.load_results(tmp_path / "pub" / "results" / "00-quickstart.json")
    assert data["_run.profile"] == "default" and data["_run.date"][:2] == "20"
    assert 0.9 < data["knn.accuracy"] <= 1
    assert (tmp_path / "pub" / "figures" / "00-quickstart-confusion-matrix.png").exists()
    assert (tmp_path / "pub" / "build" / "default" / "00-quickstart.ipynb").exists()
    assert not list((tmp_path / "pub" / "build" / "runs").iterdir())  # staging removed once published
    assert not (config.notebooks_dir() / "pub").exists()
    # the rendered page: narrative, the recorded accuracy and the figure in place, no code
    page = tmp_path / "pub" / "reports" / "00-quickstart.md"
    text = page.read_text()
    assert "# 00" in text and f"{data['knn.accuracy']:.3f}" in text and 'savefig("confusion-matrix")' not in text
    assert "[zsl]" not in text  # the runner's messages are for the terminal
    images = pages.page_images(page)
    assert images and all(p.exists() and p.stat().st_size > 1000 for p in images)


@pytest.mark.notebook
def test_failed_default_run_leaves_the_record_intact(isolated_outputs, tmp_path, monkeypatch):
    """A forced failure after start(reset=True) publishes nothing: n_neighbors larger than the
    training set passes the parameter check and fails in the classifier cell, after the run began."""
    nbdir = tmp_path / "notebooks"
    nbdir.mkdir()
    nb = json.loads((config.notebooks_dir() / "00-quickstart.ipynb").read_text())
    params = next(c for c in nb["cells"] if "parameters" in c["metadata"].get("tags", []))
    params["source"] = ["n_neighbors = 100000\n" if line.startswith("n_neighbors") else line for line in params["source"]]
    (nbdir / "00-quickstart.ipynb").write_text(json.dumps(nb))
    monkeypatch.setattr(config, "notebooks_dir", lambda: nbdir)
    published = isolated_outputs / "results" / "00-quickstart.json"
    figure = isolated_outputs / "figures" / "00-quickstart-confusion-matrix.png"
    published.parent.mkdir()
    figure.parent.mkdir()
    published.write_text('{"knn.accuracy": 0.5}\n')
    figure.write_bytes(b"previous figure")
    run = runner.run_notebook("00-quickstart", profile="default")
    assert run.status == "failed" and not run.published
    assert "knn = KNeighborsClassifier" in run.error and "previous record is intact" in run.error
    assert published.read_text() == '{"knn.accuracy": 0.5}\n'
    assert figure.read_bytes() == b"previous figure"
    assert sorted(p.name for p in published.parent.iterdir()) == ["00-quickstart.json"]
    assert run.run_dir.is_dir() and str(run.run_dir) in run.error  # kept for inspection
    assert "0.5" not in runner.summary_table([run]).splitlines()[2]


@pytest.mark.notebook
def test_papermill_with_a_parameter_leaves_git_status_clean(tmp_path):
    """The README's `papermill notebooks/00-quickstart.ipynb ... -p metric euclidean`, in a copy of
    the project under git: the run folder holds the outputs, `git status` stays clean."""
    proj = tmp_path / "proj"
    for name in ["zsl_lib", "notebooks", "results", "figures"]:
        shutil.copytree(config.PROJECT_ROOT / name, proj / name, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(config.PROJECT_ROOT / ".gitignore", proj / ".gitignore")
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@t", "-c", "commit.gpgsign=false"]
    subprocess.run(git + ["init", "-q"], cwd=proj, check=True)
    subprocess.run(git + ["add", "-A"], cwd=proj, check=True)
    subprocess.run(git + ["commit", "-qm", "copy"], cwd=proj, check=True)
    env = {k: v for k, v in os.environ.items() if k not in
           {"ZSL_RESULTS_DIR", "ZSL_FIGURES_DIR", "ZSL_BUILD_DIR", record.RUN_DIR_VAR, "ZSL_PROFILE"}}
    env["PYTHONPATH"] = str(proj)
    done = subprocess.run(
        [sys.executable, "-m", "papermill", "notebooks/00-quickstart.ipynb", "out.ipynb",
         "-p", "metric", "euclidean", "-k", "python3"],
        cwd=proj, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    status = subprocess.run(["git", "status", "--porcelain"], cwd=proj, capture_output=True, text=True, check=True)
    assert status.stdout == ""
    (run_dir,) = (proj / "build" / "runs").iterdir()
    assert run_dir.name.endswith("-00-quickstart-interactive")
    assert 0.9 < record.load_results(run_dir / "results" / "00-quickstart.json")["knn.accuracy"] <= 1
    assert (run_dir / "figures" / "00-quickstart-confusion-matrix.png").exists()
    out = json.loads((proj / "out.ipynb").read_text())
    said = "".join("".join(o.get("text", "")) for c in out["cells"] for o in c.get("outputs", []))
    assert str(run_dir) in said  # start() said where
