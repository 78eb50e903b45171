"""Paths come from zsl_lib.config, each overridable by an environment variable at call time."""

from pathlib import Path

import pytest

from zsl_lib import config


@pytest.mark.parametrize(
    "var, func",
    [
        ("ZSL_DATA_DIR", config.data_dir),
        ("ZSL_CACHE_DIR", config.cache_dir),
        ("ZSL_FIGURES_DIR", config.figures_dir),
        ("ZSL_RESULTS_DIR", config.results_dir),
        ("ZSL_BUILD_DIR", config.build_dir),
        ("ZSL_DATA_MIRROR", config.mirror_dir),
    ],
)
def test_environment_overrides(var, func, tmp_path, monkeypatch):
    monkeypatch.setenv(var, str(tmp_path / "x"))
    assert func() == tmp_path / "x"


def test_defaults_live_in_the_project(monkeypatch):
    for var in ["ZSL_DATA_DIR", "ZSL_CACHE_DIR", "ZSL_FIGURES_DIR", "ZSL_RESULTS_DIR", "ZSL_DATA_MIRROR"]:
        monkeypatch.delenv(var, raising=False)
    assert config.data_dir() == config.PROJECT_ROOT / "data"
    assert config.cache_dir() == config.PROJECT_ROOT / "data" / "cache"
    assert config.figures_dir() == config.PROJECT_ROOT / "figures"
    assert config.results_dir() == config.PROJECT_ROOT / "results"
    assert config.mirror_dir() is None


def test_cache_follows_data_dir(tmp_path, monkeypatch):
    monkeypatch.delenv("ZSL_CACHE_DIR", raising=False)
    monkeypatch.setenv("ZSL_DATA_DIR", str(tmp_path))
    assert config.cache_dir() == tmp_path / "cache"


@pytest.mark.parametrize("value, expected", [("1", True), ("true", True), ("0", False), ("", False)])
def test_offline_flag(value, expected, monkeypatch):
    monkeypatch.setenv("ZSL_OFFLINE", value)
    assert config.offline() is expected


def test_project_root_holds_the_package():
    assert (config.PROJECT_ROOT / "zsl_lib" / "config.py").exists()
    assert isinstance(config.PROJECT_ROOT, Path)
