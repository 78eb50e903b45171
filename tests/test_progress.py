"""The lab's progress bar: where it draws follows ZSL_PROGRESS."""

from __future__ import annotations

import subprocess
import sys

import pytest

from zsl_lib import progress


def _run(mode: str) -> subprocess.CompletedProcess:
    code = ("from zsl_lib.progress import bar\n"
            "for _ in bar(range(5), desc='demo-loop', unit='step'): pass\n")
    env = {"ZSL_PROGRESS": mode, "PATH": "/usr/bin:/bin"}
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)


def test_terminal_mode_writes_rate_to_the_original_stderr():
    proc = _run("terminal")
    assert proc.returncode == 0, proc.stderr
    assert "demo-loop" in proc.stderr and "5/5" in proc.stderr and "step/s" in proc.stderr


def test_off_mode_draws_nothing_and_still_iterates():
    proc = _run("off")
    assert proc.returncode == 0 and "demo-loop" not in proc.stderr
    assert list(progress.bar(range(3), disable=False)) == [0, 1, 2]


def test_unknown_mode_is_a_clear_error(monkeypatch):
    monkeypatch.setenv("ZSL_PROGRESS", "loud")
    with pytest.raises(ValueError, match="ZSL_PROGRESS='loud'.*auto, terminal, off"):
        progress.bar(range(2))
