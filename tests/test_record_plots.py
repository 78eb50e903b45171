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
