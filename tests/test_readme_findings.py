"""The README's findings are generated from the published record: each notebook's report module
turns its recorded intervals into summary lines (reproduced / not reproduced / not testable
offline), the same lines that open its rendered page, so a rerun that changes a verdict changes
the README (``tests/test_readme.py`` checks the README block equals the generated one)."""

import json

import pytest

from zsl_lib import config, results
from zsl_lib.experiments.verdicts import STATUSES

STEMS = ("01-bliss-bias", "02-pairwise-tourney", "03-cvae-clusterable-features", "04-lsh-comparison",
         "05-clip-multilabel")


def res(stem: str) -> dict:
    path = config.results_dir() / f"{stem}.json"
    if not path.exists():
        pytest.skip(f"no published record {path}: run `make reproduce`")
    return json.loads(path.read_text())


@pytest.mark.parametrize("stem", STEMS)
def test_every_notebook_summarises_its_record(stem):
    lines = results.summary_lines(stem, res(stem))
    assert lines, f"{stem}: its report module has no summary_lines(rec), or it returned none"
    for line in lines:
        assert line["status"] in STATUSES, line
        assert line["claim"] and line["evidence"], line


def test_the_findings_block_follows_the_recorded_intervals(tmp_path):
    """Reversing every recorded interval (a planted change of the record) changes the findings."""
    for f in config.results_dir().glob("*.json"):
        data = json.loads(f.read_text())
        for key in [k for k in data if k.endswith(".lo")]:
            stem = key[:-3]
            lo, hi, diff = data.get(f"{stem}.lo"), data.get(f"{stem}.hi"), data.get(f"{stem}.diff")
            if all(isinstance(v, (int, float)) for v in (lo, hi, diff)):
                data[f"{stem}.lo"], data[f"{stem}.hi"], data[f"{stem}.diff"] = -hi, -lo, -diff
        (tmp_path / f.name).write_text(json.dumps(data))
    assert results.findings_markdown(tmp_path) != results.findings_markdown()
