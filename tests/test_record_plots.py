"""Unit tests of record(), load_results() and savefig()."""

import json
import math

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pytest

from zsl_lib import record as rec
from zsl_lib.plots import savefig


@pytest.fixture
def recording(isolated_outputs):
    rec.start("99-test-notebook", reset=True)
    yield isolated_outputs
    rec._state["notebook"] = None


def test_record_merges_and_converts_numpy(recording):
    rec.record("a.b", np.float32(0.5))
    rec.record("a.c", np.int64(3))
    rec.record("list", np.array([1.0, 2.0]))
    rec.record("a.b", 0.75)  # overwrite merges, keeps the others
    data = json.loads((recording / "results" / "99-test-notebook.json").read_text())
    assert data == {"a.b": 0.75, "a.c": 3, "list": [1.0, 2.0]}
    assert rec.load_results("99-test-notebook") == data


def test_record_many_with_prefix(recording):
    rec.record_many({"x": 1, "y": "text"}, prefix="grid.k10")
    assert rec.load_results() == {"grid.k10.x": 1, "grid.k10.y": "text"}


def test_start_reset_removes_old_numbers(recording):
    rec.record("old", 1)
    rec.start("99-test-notebook", reset=True)
    rec.record("new", 2)
    assert rec.load_results() == {"new": 2}


@pytest.mark.parametrize("key", ["", "a..b", "has space", ".lead", None, 3])
def test_bad_keys_are_rejected(recording, key):
    with pytest.raises(ValueError, match="malformed"):
        rec.record(key, 1)


@pytest.mark.parametrize("value", [math.nan, float("inf"), np.float64("nan")])
def test_non_finite_values_are_rejected(recording, value):
    with pytest.raises(ValueError, match="not finite"):
        rec.record("x", value)


def test_unsupported_and_oversized_values(recording):
    with pytest.raises(TypeError, match="cannot store a object"):
        rec.record("x", object())
    with pytest.raises(ValueError, match="larger than"):
        rec.record("x", list(range(100_000)))
    assert not (recording / "results" / "99-test-notebook.json").exists()


def test_record_without_start_says_what_to_do(isolated_outputs, monkeypatch):
    rec._state["notebook"] = None
    monkeypatch.delenv("ZSL_NOTEBOOK", raising=False)
    with pytest.raises(RuntimeError, match="record.start"):
        rec.record("x", 1)


def test_bad_notebook_name():
    with pytest.raises(ValueError, match="file stem"):
        rec.start("../escape")


def test_load_results_missing_file(isolated_outputs):
    with pytest.raises(FileNotFoundError, match="run the notebook first"):
        rec.load_results("00-nothing-here")


def test_savefig_writes_png_and_svg(recording):
    fig, ax = plt.subplots()
    ax.plot([0, 1], [1, 0])
    paths = savefig("line", fig)
    plt.close(fig)
    assert [p.name for p in paths] == ["99-test-notebook-line.png", "99-test-notebook-line.svg"]
    assert paths[0].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert b"<svg" in paths[1].read_bytes()[:500]
    assert not list((recording / "figures").glob(".*"))  # no temporary files left


def test_savefig_svg_is_reproducible(recording):
    """Drawing the same figure twice writes byte-identical SVG (no date, no random ids)."""
    texts = []
    for _ in range(2):
        fig, ax = plt.subplots()
        ax.plot([0, 1], [1, 0])
        ax.scatter([0.2, 0.8], [0.5, 0.5])
        ax.set_title("same figure")
        texts.append(savefig("same", fig)[1].read_bytes())
        plt.close(fig)
    assert texts[0] == texts[1]


def test_savefig_bad_name(recording):
    with pytest.raises(ValueError, match="file stem"):
        savefig("a/b")


# --- where a run writes, concurrency, corrupt files, publishing --------------------------------

import ast  # noqa: E402
import os  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

from zsl_lib import config  # noqa: E402


@pytest.fixture
def fresh_state():
    rec._state["notebook"] = None
    rec._state["run_dir"] = None
    yield
    rec._state["notebook"] = None
    rec._state["run_dir"] = None


@pytest.fixture
def exploring(tmp_path, monkeypatch, fresh_state):
    """A user's session: no output redirects, the project (and its published record) in tmp."""
    for var in ["ZSL_RESULTS_DIR", "ZSL_FIGURES_DIR", "ZSL_BUILD_DIR", rec.RUN_DIR_VAR, "ZSL_PROFILE", "ZSL_NOTEBOOK"]:
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setattr(config, "PROJECT_ROOT", tmp_path)
    (tmp_path / "results").mkdir()
    (tmp_path / "figures").mkdir()
    published = tmp_path / "results" / "99-test-notebook.json"
    published.write_text('{"old": 1}\n')
    (tmp_path / "figures" / "99-test-notebook-line.png").write_bytes(b"old figure")
    return tmp_path


def test_exploring_writes_its_own_run_folder_and_says_where(exploring, capsys):
    path = rec.start("99-test-notebook", reset=True)
    said = capsys.readouterr().out
    run_dir = path.parent.parent
    assert run_dir.parent == exploring / "build" / "runs"
    assert run_dir.name.endswith("-99-test-notebook-interactive")
    assert str(run_dir) in said and "make reproduce" in said
    rec.record("new", 2)
    fig, ax = plt.subplots()
    ax.plot([0, 1])
    paths = savefig("line", fig)
    plt.close(fig)
    assert rec.load_results() == {"new": 2}
    assert all(p.parent == run_dir / "figures" for p in paths)
    # the published record is untouched, also by reset=True in a re-run of the start cell
    rec.start("99-test-notebook", reset=True)
    assert rec.results_path().parent.parent == run_dir  # same notebook, same process: same folder
    assert not rec.results_path().exists()
    assert (exploring / "results" / "99-test-notebook.json").read_text() == '{"old": 1}\n'
    assert (exploring / "figures" / "99-test-notebook-line.png").read_bytes() == b"old figure"


def test_run_dir_variable_wins_over_explicit_dirs(tmp_path, monkeypatch, fresh_state):
    monkeypatch.setenv("ZSL_RESULTS_DIR", str(tmp_path / "explicit"))
    monkeypatch.setenv(rec.RUN_DIR_VAR, str(tmp_path / "run"))
    rec.start("99-test-notebook")
    rec.record("a", 1)
    assert (tmp_path / "run" / "results" / "99-test-notebook.json").exists()
    assert rec.output_dir("figures") == tmp_path / "run" / "figures"
    assert not (tmp_path / "explicit").exists()
    with pytest.raises(ValueError, match="kind='tables'"):
        rec.output_dir("tables")


_WRITER = """
import sys
from zsl_lib import record as r
r.start("99-concurrent")
for i in range(300):
    r.record(f"{sys.argv[1]}.k{i}", i)
"""


def test_two_processes_recording_into_one_file_lose_nothing(tmp_path):
    env = {**os.environ, "ZSL_RESULTS_DIR": str(tmp_path), "ZSL_FIGURES_DIR": str(tmp_path / "figures"),
           "PYTHONPATH": str(config.PROJECT_ROOT)}
    env.pop(rec.RUN_DIR_VAR, None)
    procs = [subprocess.Popen([sys.executable, "-c", _WRITER, tag], env=env, stdout=subprocess.DEVNULL)
             for tag in ("a", "b")]
    assert [p.wait(timeout=300) for p in procs] == [0, 0]
    data = rec.load_results(tmp_path / "99-concurrent.json")
    assert len(data) == 600
    assert data["a.k299"] == 299 and data["b.k0"] == 0


def test_corrupt_results_file_names_the_file_and_the_fix(recording):
    rec.record("a", 1)
    path = recording / "results" / "99-test-notebook.json"
    path.write_text('{"a": 1, "b"')  # half written by an old version
    with pytest.raises(ValueError, match=r"99-test-notebook\.json is corrupt.*delete it"):
        rec.record("c", 2)
    path.write_text("[1, 2]")
    with pytest.raises(ValueError, match="not a JSON object"):
        rec.load_results(path)


def test_corrupt_published_file_says_how_to_restore_it(tmp_path, monkeypatch):
    monkeypatch.delenv("ZSL_RESULTS_DIR", raising=False)
    monkeypatch.setattr(config, "PROJECT_ROOT", tmp_path)
    (tmp_path / "results").mkdir()
    (tmp_path / "results" / "01-x.json").write_text("{not json")
    with pytest.raises(ValueError, match=r"git checkout results/01-x\.json"):
        rec.load_results(tmp_path / "results" / "01-x.json")


def test_publish_moves_a_finished_run_into_the_record(isolated_outputs):
    run = isolated_outputs / "run"
    for sub in ("results", "figures"):
        (run / sub).mkdir(parents=True)
    (run / "results" / "01-x.json").write_text('{"a": 0.5}')
    (run / "figures" / "01-x-new.png").write_bytes(b"png")
    (run / "figures" / "01-x-new.png.lock").write_bytes(b"")
    published_figs = isolated_outputs / "figures"
    published_figs.mkdir()
    (published_figs / "01-x-gone.png").write_bytes(b"a figure the notebook no longer draws")
    (published_figs / "01-xy-other.png").write_bytes(b"another notebook's")
    (published_figs / "02-y-keep.png").write_bytes(b"another notebook's")
    rec.publish(run, "01-x", {"date": "2026-11-30T21:00:00+00:00", "profile": "default"})
    data = rec.load_results(isolated_outputs / "results" / "01-x.json")
    run_id, files = data.pop("_run.id"), data.pop("_run.files")
    assert data == {"a": 0.5, "_run.date": "2026-11-30T21:00:00+00:00", "_run.profile": "default"}
    assert len(run_id) == 12 and sorted(files) == ["figures/01-x-new.png"]
    assert rec.check_published("01-x") == []
    assert sorted(p.name for p in published_figs.iterdir()) == ["01-x-new.png", "01-xy-other.png", "02-y-keep.png"]
    assert (run / "results" / "01-x.json").read_text() == '{"a": 0.5}'  # the run folder as it was


def _run_folder(root, tag, figures, tables=()):
    run = root / f"run-{tag}"
    for sub in ("results", "figures"):
        (run / sub).mkdir(parents=True)
    (run / "results" / "01-x.json").write_text(json.dumps({"a": tag}))
    for name in figures:
        (run / "figures" / f"01-x-{name}.png").write_bytes(f"{name} of {tag}".encode())
    for name in tables:
        (run / "results" / f"01-x-{name}.csv").write_text(f"col\n{tag}\n")
    return run


def _page(tag):
    def render(folder):
        (folder / "01-x_files").mkdir(parents=True)
        (folder / "01-x_files" / "output_1_0.png").write_bytes(f"page figure of {tag}".encode())
        (folder / "01-x.md").write_text(f"# page of {tag}\n")
        return folder / "01-x.md"
    return render


def _published(root):
    """Every published file (bytes), lock files aside."""
    return {str(p.relative_to(root)): p.read_bytes() for sub in ("results", "figures", "reports")
            for p in sorted((root / sub).rglob("*")) if p.is_file() and not p.name.endswith(".lock")}


def test_publish_is_all_or_nothing_under_a_crash(isolated_outputs, monkeypatch):
    root = isolated_outputs
    rec.publish(_run_folder(root, "A", ["f1", "f2"], ["t1"]), "01-x", {"profile": "default"},
                render_page=_page("A"))
    before = _published(root)
    assert rec.check_published("01-x") == []
    assert before["reports/01-x.md"] == b"# page of A\n" and "results/01-x-t1.csv" in before
    run_b = _run_folder(root, "B", ["f1", "f3"], ["t2"])

    # 1. a crash while staging (the third file written): the previous record is intact, no leftovers
    calls = {"n": 0}
    real_write = rec.atomic_write

    def crashing_write(*a, **k):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt("killed while publishing")
        return real_write(*a, **k)

    monkeypatch.setattr(rec, "atomic_write", crashing_write)
    with pytest.raises(KeyboardInterrupt):
        rec.publish(run_b, "01-x", {"profile": "default"}, render_page=_page("B"))
    monkeypatch.setattr(rec, "atomic_write", real_write)
    assert _published(root) == before
    assert not [p for sub in ("results", "figures", "reports") for p in (root / sub).glob(".*.pub-*")]
    assert rec.check_published("01-x") == []

    # 2. a crash after the commit point, two renames in: the mix is flagged, and completed by the
    # next publish or recover_publish()
    real_apply = rec._apply_journal

    def crash_mid_apply(journal):
        plan = json.loads(journal.read_text())
        for staged, final in plan["moves"][:2]:
            Path(staged).replace(final)
        raise KeyboardInterrupt("killed while publishing")

    monkeypatch.setattr(rec, "_apply_journal", crash_mid_apply)
    with pytest.raises(KeyboardInterrupt):
        rec.publish(run_b, "01-x", {"profile": "default"}, render_page=_page("B"))
    monkeypatch.setattr(rec, "_apply_journal", real_apply)
    problems = rec.check_published("01-x")
    assert any("interrupted publish" in p for p in problems), problems
    assert _published(root) != before
    assert rec.recover_publish() == ["01-x"]
    assert rec.check_published("01-x") == []
    after = _published(root)
    assert rec.load_results(root / "results" / "01-x.json")["a"] == "B"
    assert sorted(k for k in after if k.startswith("figures/")) == ["figures/01-x-f1.png", "figures/01-x-f3.png"]
    assert after["figures/01-x-f1.png"] == b"f1 of B" and after["reports/01-x.md"] == b"# page of B\n"
    assert after["reports/01-x_files/output_1_0.png"] == b"page figure of B"
    assert "results/01-x-t2.csv" in after and "results/01-x-t1.csv" not in after
    assert not [p for sub in ("results", "figures", "reports") for p in (root / sub).glob(".*")
                if not p.name.endswith(".lock")]

    # 3. a mix made any other way (a figure of another run copied in) is flagged too
    (root / "figures" / "01-x-f1.png").write_bytes(b"f1 of A")
    (root / "figures" / "01-x-stray.png").write_bytes(b"?")
    problems = rec.check_published("01-x")
    assert any("figures/01-x-f1.png is not the file run" in p for p in problems), problems
    assert any("figures/01-x-stray.png was not published by run" in p for p in problems), problems


def test_a_failing_page_publishes_nothing(isolated_outputs):
    root = isolated_outputs
    rec.publish(_run_folder(root, "A", ["f1"]), "01-x", render_page=_page("A"))
    before = _published(root)

    def broken(folder):
        raise RuntimeError("nbconvert failed")

    with pytest.raises(RuntimeError, match="nbconvert"):
        rec.publish(_run_folder(root, "B", ["f2"]), "01-x", render_page=broken)
    assert _published(root) == before and rec.check_published("01-x") == []


def test_record_never_imports_plots():
    """Layer order: plots may import record, never the reverse."""
    tree = ast.parse(Path(rec.__file__).read_text())
    imported = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    imported |= {f"{n.module}" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
    imported |= {a.name for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) for a in n.names}
    assert not {"plots", "zsl_lib.plots"} & imported


def test_start_applies_the_figure_style(recording):
    matplotlib.rcdefaults()
    assert matplotlib.rcParams["axes.titleweight"] != "bold"
    rec.start("99-test-notebook")
    assert matplotlib.rcParams["axes.titleweight"] == "bold"
