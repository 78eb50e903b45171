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


def test_relative_values_resolve_against_the_working_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ZSL_DATA_MIRROR", "../shared/data")
    monkeypatch.setenv("ZSL_CACHE_DIR", "cache")
    assert config.mirror_dir() == (tmp_path / ".." / "shared" / "data").resolve()
    assert config.cache_dir() == tmp_path / "cache"


def test_a_kernel_in_notebooks_resolves_against_the_project_root(monkeypatch):
    """JupyterLab starts a kernel in notebooks/; the user meant the directory they started from."""
    monkeypatch.chdir(config.notebooks_dir())
    monkeypatch.setenv("ZSL_DATA_MIRROR", "../shared/data")
    monkeypatch.setenv("ZSL_BUILD_DIR", "build")
    assert config.mirror_dir() == (config.PROJECT_ROOT / ".." / "shared" / "data").resolve()
    assert config.build_dir() == config.PROJECT_ROOT / "build"


def test_resolve_env_paths_rewrites_every_relative_path_variable(tmp_path, monkeypatch):
    monkeypatch.chdir(config.notebooks_dir())  # where the kernels will run: must not matter
    monkeypatch.setenv("ZSL_DATA_MIRROR", "../shared/data")
    monkeypatch.setenv("ZSL_WORDNET_DIR", "wn")  # any ZSL_*_DIR
    monkeypatch.setenv("ZSL_RESULTS_DIR", str(tmp_path / "abs"))
    monkeypatch.setenv("ZSL_OFFLINE", "1")
    changed = config.resolve_env_paths(tmp_path / "user")
    assert changed == {"ZSL_DATA_MIRROR": str((tmp_path / "shared" / "data").resolve()),
                       "ZSL_WORDNET_DIR": str(tmp_path / "user" / "wn")}
    assert config.mirror_dir() == tmp_path / "shared" / "data"
    assert config.results_dir() == tmp_path / "abs"  # absolute values are kept
    assert config.resolve_env_paths(tmp_path / "elsewhere") == {}  # once: now all absolute
