"""The README's numbers come from the record: its results table is rendered from results/, and
the prose of "What the runs found" quotes no number of its own."""

from __future__ import annotations

import json
import re

from zsl_lib import config, results

README = config.PROJECT_ROOT / "README.md"


def _section(text: str, title: str) -> str:
    start = text.index(f"## {title}")
    end = text.find("\n## ", start + 1)
    return text[start:end if end > 0 else None]


def test_results_table_matches_the_published_record():
    text = README.read_text()
    expected = results.render_readme(text, results.markdown_table(results.table_rows()),
                                     results.findings_markdown())
    assert text == expected, (
        "README.md's results table differs from results/: run `python -m zsl_lib.results "
        "--update-readme` (make reproduce does it); never edit the table or results/ by hand"
    )


def test_a_hand_edited_number_is_caught(tmp_path):
    """Changing one recorded number makes the rendered table differ from the README."""
    src = config.results_dir()
    for f in src.glob("*.json"):
        (tmp_path / f.name).write_text(f.read_text())
    target = tmp_path / "01-bliss-bias.json"
    data = results.record.load_results(target)
    key = "ann.cifar10.bliss_fixed.recall_at_10"
    data[key] = round(data[key] + 0.0123, 4)
    target.write_text(json.dumps(data))
    text = README.read_text()
    assert results.render_readme(text, results.markdown_table(results.table_rows(tmp_path))) != text


def test_findings_prose_quotes_no_number_outside_the_generated_table():
    section = _section(README.read_text(), "What the runs found")
    prose = re.sub(re.escape(results.README_BEGIN) + r".*?" + re.escape(results.README_END), "",
                   section, flags=re.S)
    prose = re.sub(re.escape(results.FINDINGS_BEGIN) + r".*?" + re.escape(results.FINDINGS_END), "",
                   prose, flags=re.S)
    prose = re.sub(r"!\[[^\]]*\]\([^)]*\)|\[[^\]]*\]\([^)]*\)", "", prose)  # links, images
    # results are decimals, decimal percentages or signed differences; plain integers are
    # settings (20 buckets, CIFAR-10, 5% scanned) and stay allowed
    quoted = re.findall(r"\d+\.\d+|(?<![\w-])[+-]\d+", prose)
    assert not quoted, (
        f"numbers typed into the findings prose: {quoted}; quote them from the record (the "
        "generated table or the notebooks' rendered pages) instead"
    )
