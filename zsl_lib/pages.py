"""Rendered reports: an executed notebook turned into a page a reader opens without running it.

:func:`render_page` converts an executed notebook into Markdown (the repository host renders it):
the narrative, every table and text result, each figure in place (PNG files beside the page),
code cells' inputs hidden, progress-bar noise (stderr streams, widget state) dropped. The page is
written atomically: a staging folder is filled, then moved into place, so a reader never sees a
half-written page and a failed render leaves the previous page intact.
"""

from __future__ import annotations

import copy
import re
import shutil
import uuid
from pathlib import Path

import nbformat

from .fileio import atomic_write

_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def _clean(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """A copy of ``nb`` without stderr streams, widget views and empty code cells."""
    nb = copy.deepcopy(nb)
    nb.metadata.pop("widgets", None)
    cells = []
    for cell in nb.cells:
        if cell.cell_type == "code":
            outputs = []
            for out in cell.get("outputs", []):
                if out.output_type == "stream" and out.name == "stderr":
                    continue  # progress bars, warnings: not part of the report
                if out.output_type in ("display_data", "execute_result"):
                    data = {k: v for k, v in out.data.items()
                            if k != "application/vnd.jupyter.widget-view+json"}
                    if not data:
                        continue
                    out.data = data
                if out.output_type == "stream":
                    # the lab's own status lines ("[zsl] ... staging in ...") are for the terminal
                    out.text = "".join(line for line in _ANSI.sub("", out.text).splitlines(True)
                                       if not line.startswith("[zsl]"))
                    if not out.text.strip():
                        continue
                outputs.append(out)
            cell.outputs = outputs
            if not outputs:
                continue  # nothing visible once the input is hidden
        cells.append(cell)
    nb.cells = cells
    return nb


def render_page(executed: str | Path | nbformat.NotebookNode, out_dir: str | Path, stem: str,
                *, header: str = "") -> Path:
    """Write ``out_dir/<stem>.md`` and its images ``out_dir/<stem>_files/`` from an executed notebook.

    ``executed``: a path to an executed ``.ipynb`` (or the notebook itself). ``header``: Markdown
    placed at the top (e.g. the run's date and profile). Returns the page's path.
    """
    from nbconvert import MarkdownExporter  # noqa: PLC0415  (slow import, only when rendering)

    nb = executed if isinstance(executed, nbformat.NotebookNode) else nbformat.read(
        str(executed), as_version=4)
    exporter = MarkdownExporter(exclude_input=True, exclude_input_prompt=True,
                                exclude_output_prompt=True)
    files_dir = f"{stem}_files"
    body, resources = exporter.from_notebook_node(
        _clean(nb), resources={"output_files_dir": files_dir, "unique_key": stem})
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    staging = out_dir / f".{files_dir}.staging-{uuid.uuid4().hex[:8]}"
    staging.mkdir()
    try:
        for rel, data in resources.get("outputs", {}).items():
            (staging / Path(rel).name).write_bytes(data)
        final = out_dir / files_dir
        old = out_dir / f".{files_dir}.old-{uuid.uuid4().hex[:8]}"
        if final.exists():
            final.rename(old)
        staging.rename(final)
        shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    body = re.sub(r"\n(?:[ \t]*\n){2,}", "\n\n", body)  # nbconvert leaves runs of blank lines
    text = (header.rstrip() + "\n\n" if header else "") + body.strip() + "\n"
    page = out_dir / f"{stem}.md"
    atomic_write(page, lambda fh: fh.write(text), text=True)
    return page


def page_images(page: str | Path) -> list[Path]:
    """Local image files a Markdown page links (``![alt](path)``), resolved beside the page."""
    page = Path(page)
    links = re.findall(r"!\[[^\]]*\]\(([^)\s]+)\)", page.read_text())
    links += re.findall(r"<img[^>]+src=\"([^\"]+)\"", page.read_text())
    return [(page.parent / link).resolve() for link in links if "://" not in link]
