"""Rendered pages: narrative, tables and figures in place, inputs and progress noise hidden."""

from __future__ import annotations

import base64
import io

import matplotlib
import nbformat
import pytest

from zsl_lib import pages

matplotlib.use("Agg")


def _png() -> str:
    import matplotlib.pyplot as plt  # noqa: PLC0415

    fig, ax = plt.subplots(figsize=(2, 2))
    ax.plot([0, 1], [1, 0])
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode()


def _executed_notebook(png: str) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    out = nbformat.v4.new_output
    nb.cells = [
        nbformat.v4.new_markdown_cell("# The title\nWe measured things."),
        nbformat.v4.new_code_cell("secret_setup_code()", outputs=[
            out("stream", name="stderr", text="\x1b[31m 50%|#####     | 5/10\n"),
            out("display_data", data={"image/png": png, "text/plain": "<Figure>"}),
        ]),
        nbformat.v4.new_code_cell("silent = 1"),
        nbformat.v4.new_code_cell("table", outputs=[out(
            "execute_result", execution_count=3,
            data={"text/html": "<table><tr><td>0.731</td></tr></table>", "text/plain": "t"})]),
        nbformat.v4.new_code_cell("bar", outputs=[out("display_data", data={
            "application/vnd.jupyter.widget-view+json": {"model_id": "x", "version_major": 2}})]),
    ]
    return nb


def test_page_shows_narrative_tables_and_figures_without_code_or_progress(tmp_path):
    png = _png()
    page = pages.render_page(_executed_notebook(png), tmp_path, "07-demo", header="_run: today_")
    text = page.read_text()
    assert text.startswith("_run: today_")
    assert "# The title" in text and "0.731" in text
    assert "secret_setup_code" not in text and "silent = 1" not in text
    assert "5/10" not in text and "model_id" not in text
    images = pages.page_images(page)
    assert len(images) == 1 and images[0].parent == tmp_path / "07-demo_files"
    assert images[0].read_bytes() == base64.b64decode(png)


def test_rerender_replaces_old_images_and_a_failed_render_keeps_the_previous_page(tmp_path):
    nb = _executed_notebook(_png())
    page = pages.render_page(nb, tmp_path, "07-demo")
    stale = tmp_path / "07-demo_files" / "stale.png"
    stale.write_bytes(b"old")
    pages.render_page(nb, tmp_path, "07-demo")
    assert not stale.exists()
    before = page.read_text()
    with pytest.raises(Exception):  # noqa: B017  (any failure must leave the page as it was)
        pages.render_page(tmp_path / "missing.ipynb", tmp_path, "07-demo")
    assert page.read_text() == before
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []
