"""`python -m zsl_lib.prepare` reports every default dataset and never hides a missing one."""

import pytest

from zsl_lib import prepare


def test_missing_dataset_is_reported_not_raised(tmp_path, monkeypatch):
    monkeypatch.setenv("ZSL_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("ZSL_DATA_MIRROR", raising=False)
    monkeypatch.setenv("ZSL_OFFLINE", "1")
    rows = prepare.check([("mulan-scene", {"split": "train"})])
    assert rows[0]["status"] == "missing"
    assert "scene-train.arff" in rows[0]["problem"]
    assert prepare.main(["--strict"]) == 1


@pytest.mark.realdata
def test_default_data_present_with_mirror(require_real):
    require_real("mulan/scene-train.arff")
    rows = prepare.check([("mulan-scene", {"split": "train"}), ("mulan-scene", {"split": "test"})])
    assert [r["items"] for r in rows] == [1211, 1196]


def test_missing_data_fails_unless_asked_to_keep_going(tmp_path, monkeypatch, capsys):
    """`make reproduce` stops before the notebooks when a dataset is missing (KEEP_GOING=1: go on)."""
    monkeypatch.setattr(prepare, "DEFAULT_DATA", [("mulan-scene", {"split": "train"})])
    monkeypatch.setenv("ZSL_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("ZSL_DATA_MIRROR", raising=False)
    monkeypatch.setenv("ZSL_OFFLINE", "1")
    assert prepare.main([]) == 1
    assert "KEEP_GOING=1" in capsys.readouterr().out
    assert prepare.main(["--keep-going"]) == 0
