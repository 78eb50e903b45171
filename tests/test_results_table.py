"""`python -m zsl_lib.results`: headline numbers of the published record beside the source's."""

import json

import pytest

from zsl_lib import config, results


def _publish(folder, stem, data):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{stem}.json").write_text(json.dumps(data))


@pytest.fixture
def legacy_headlines(tmp_path, monkeypatch):
    """A notebooks folder whose 00-quickstart declares bare-key headlines (shown as recorded)."""
    nbdir = tmp_path / "legacy-notebooks"
    nbdir.mkdir()
    nb = json.loads((config.notebooks_dir() / "00-quickstart.ipynb").read_text())
    nb["metadata"]["zsl"]["headline"] = ["knn.accuracy", "knn.n_test"]
    (nbdir / "00-quickstart.ipynb").write_text(json.dumps(nb))
    monkeypatch.setattr(config, "notebooks_dir", lambda: nbdir)
    return nbdir


def test_table_shows_ours_the_sources_and_the_run(isolated_outputs, capsys, legacy_headlines):
    _publish(isolated_outputs / "results", "00-quickstart", {
        "knn.accuracy": 0.98765, "knn.n_test": 540, "source.knn.accuracy": 0.97,
        "_run.date": "2026-11-30T21:00:00+00:00", "_run.profile": "default", "_run.minutes": 0.2})
    rows = results.table_rows(names=["00-quickstart"])
    assert rows == [
        {"notebook": "00-quickstart", "run date": "2026-11-30T21:00:00+00:00", "profile": "default",
         "minutes": "0.2", "headline number": "knn.accuracy", "ours": "0.9877", "source": "0.97"},
        {"notebook": "", "run date": "", "profile": "", "minutes": "", "headline number": "knn.n_test",
         "ours": "540", "source": "-"},
    ]
    assert results.main(["00-quickstart"]) == 0
    out = capsys.readouterr().out
    assert "headline number" in out and "0.9877" in out and "2026-11-30" in out


def test_source_numbers_from_notebook_metadata(isolated_outputs, tmp_path, monkeypatch):
    nbdir = tmp_path / "notebooks"
    nbdir.mkdir()
    nb = json.loads((config.notebooks_dir() / "00-quickstart.ipynb").read_text())
    nb["metadata"]["zsl"]["headline"] = ["knn.accuracy", "knn.n_test"]
    nb["metadata"]["zsl"]["source"] = {"knn.n_test": 539}
    (nbdir / "00-quickstart.ipynb").write_text(json.dumps(nb))
    monkeypatch.setattr(config, "notebooks_dir", lambda: nbdir)
    _publish(isolated_outputs / "results", "00-quickstart", {"knn.accuracy": 0.5})
    rows = results.table_rows()
    assert [(r["headline number"], r["ours"], r["source"]) for r in rows] == [
        ("knn.accuracy", "0.5", "-"), ("knn.n_test", "(not recorded)", "539")]
    assert rows[0]["run date"] == "unknown"


def test_missing_and_corrupt_results(isolated_outputs, capsys):
    (row,) = results.table_rows(names=["00-quickstart"])
    assert row["run date"] == "never run" and "00-quickstart.json" in row["headline number"]
    _publish(isolated_outputs / "results", "00-quickstart", {})
    (isolated_outputs / "results" / "00-quickstart.json").write_text("{broken")
    with pytest.raises(ValueError, match="00-quickstart.json is corrupt"):
        results.table_rows(names=["00-quickstart"])
    assert results.main(["00-quickstart"]) == 2
    assert results.main(["99-nope"]) == 2
    assert "valid names: 00-quickstart" in capsys.readouterr().err


def test_published_record_has_every_headline_row():
    """The committed results/ gives a row for each declared headline key of every notebook."""
    rows = results.table_rows(config.PROJECT_ROOT / "results")
    stems = [r["notebook"] for r in rows if r["notebook"]]
    assert stems == sorted(p.stem for p in config.notebooks_dir().glob("[0-9][0-9]-*.ipynb"))
    assert all(r["ours"] not in {"-", "(not recorded)"} for r in rows)


def test_a_seed_spread_recorded_beside_a_headline_is_shown(isolated_outputs, legacy_headlines):
    _publish(isolated_outputs / "results", "00-quickstart", {
        "knn.accuracy": 0.5, "knn.accuracy_std": 0.0123, "knn.n_test": 540, "knn.n_test_std": None})
    ours = [r["ours"] for r in results.table_rows(names=["00-quickstart"])]
    assert ours == ["0.5 ± 0.0123", "540"]  # a missing (None) spread shows the value alone


def test_dict_headlines_show_labels_percent_and_digits_the_spread_supports(isolated_outputs, tmp_path,
                                                                           monkeypatch):
    nbdir = tmp_path / "notebooks"
    nbdir.mkdir()
    nb = json.loads((config.notebooks_dir() / "00-quickstart.ipynb").read_text())
    nb["metadata"]["zsl"]["headline"] = [
        {"key": "a.top1", "label": "top-1, our method", "scale": 100, "source_key": "paper.top1",
         "source_scale": 1},
        {"key": "b.top1", "label": "top-1, the baseline", "scale": 100},
        {"key": "c.p10", "label": "precision@10 (recorded in %)", "scale": 1},
    ]
    nb["metadata"]["zsl"]["source"] = {"paper.top1": 24.5}
    (nbdir / "00-quickstart.ipynb").write_text(json.dumps(nb))
    monkeypatch.setattr(config, "notebooks_dir", lambda: nbdir)
    _publish(isolated_outputs / "results", "00-quickstart", {
        "a.top1": 0.2221, "a.top1_std": 0.002948, "b.top1": 0.0476, "c.p10": 43.7583})
    rows = results.table_rows(names=["00-quickstart"])
    assert [(r["headline number"], r["ours"], r["source"]) for r in rows] == [
        ("top-1, our method", "22.2 ± 0.3", "24.5"), ("top-1, the baseline", "4.8", "-"),
        ("precision@10 (recorded in %)", "43.8", "-")]
    table = results.markdown_table(rows)
    assert "| ours (%) | source (%) |" in table and "`" not in table


def test_a_malformed_headline_entry_is_refused(tmp_path, monkeypatch):
    from zsl_lib import runner
    nbdir = tmp_path / "notebooks"
    nbdir.mkdir()
    nb = json.loads((config.notebooks_dir() / "00-quickstart.ipynb").read_text())
    nb["metadata"]["zsl"]["headline"] = [{"key": "a", "lable": "typo"}]
    (nbdir / "00-quickstart.ipynb").write_text(json.dumps(nb))
    monkeypatch.setattr(config, "notebooks_dir", lambda: nbdir)
    with pytest.raises(ValueError, match="headline entry"):
        runner.headline_entries("00-quickstart")


def test_the_published_record_is_one_run_per_notebook():
    """Results, figures, tables and page of each published notebook come from one run (the
    publish journal's file list): a mix left by an interrupted publish or a hand copy fails here."""
    from zsl_lib import record, runner
    problems = {stem: record.check_published(stem) for stem in runner.list_notebooks()}
    assert not any(problems.values()), problems
