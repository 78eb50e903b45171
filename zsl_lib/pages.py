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
_WIDGET = "application/vnd.jupyter.widget-view+json"
_STYLE = re.compile(r"<style[^>]*>.*?</style>\s*", re.S)
#: a bare value a cell returned by accident (a saved figure's paths, a matplotlib object)
_ACCIDENTAL = re.compile(r"^\[?\s*(?:PosixPath|WindowsPath)\(|^<(?:Figure|matplotlib\.|Axes)|^\[<matplotlib\.")
#: a tqdm line left in a stream (a bar drawn where the page would keep it)
_BAR_LINE = re.compile(r"\d+%\|.*\|.*(?:it|img|s)/s|\d+%\|[^\n]*\| \d+/\d+")
SUMMARY_TAG = "summary"  # a cell whose output opens the page (after the title cell)


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
                    if _WIDGET in out.data:
                        continue  # a progress widget: its text fallback is a frozen bar
                    data = dict(out.data)
                    if "text/html" in data:
                        data["text/html"] = _STYLE.sub("", "".join(data["text/html"]))
                    plain = "".join(data.get("text/plain", ""))
                    if set(data) <= {"text/plain"} and _ACCIDENTAL.match(plain.strip()):
                        continue
                    out.data = data
                if out.output_type == "stream":
                    # the lab's own status lines ("[zsl] ... staging in ...") are for the terminal
                    out.text = "".join(line for line in _ANSI.sub("", out.text).splitlines(True)
                                       if not line.startswith("[zsl]") and not _BAR_LINE.search(line))
                    if not out.text.strip():
                        continue
                outputs.append(out)
            cell.outputs = outputs
            if not outputs:
                continue  # nothing visible once the input is hidden
        cells.append(cell)
    # the summary (a cell tagged "summary", computed last from the record) opens the page
    summary = [c for c in cells if SUMMARY_TAG in c.get("metadata", {}).get("tags", [])]
    if summary:
        rest = [c for c in cells if not any(c is t for t in summary)]
        first = 1 if rest and rest[0].cell_type == "markdown" else 0
        cells = rest[:first] + summary + rest[first:]
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


#: what a rendered page must not contain: (name, pattern); see :func:`page_problems`
PAGE_PROBLEMS: tuple[tuple[str, re.Pattern], ...] = (
    ("machine path", re.compile(r"PosixPath|WindowsPath|(?<![\w.])/(?:work|home|tmp|Users|root|var)/|build/runs/")),
    ("object repr", re.compile(r"<[\w.]+ object at 0x[0-9a-fA-F]+>|<Figure size \d+x\d+ with|<matplotlib\.")),
    ("progress-bar line", re.compile(r"\d+%\|[^\n]*\||\?(?:it|img)/s\]")),
    ("raw style block", re.compile(r"<style\b", re.I)),
    ("internal word", re.compile(r"\bissue \d+|\bSOURCE\b|load_results\(|\bzsl_lib\.experiments\b|_report\.py")),
    ("long float", re.compile(r"(?<![\w.])-?\d+\.\d{7,}(?![\w.])")),
    ("NaN cell", re.compile(r"\|\s*NaN\s*\||(?<![\w`])NaN(?![\w`])")),
    ("truncated dump", re.compile(r"\{'[^}\n]*\.\.\.")),
)


def page_problems(text: str) -> list[tuple[str, int, str]]:
    """Every line of a rendered page that a reader should not see: ``(problem, line number, line)``.

    Checked: machine paths and path objects, object reprs, progress-bar residue, raw HTML style
    blocks, internal words (issue numbers, the drivers' constant and function names), floats with
    7+ decimals, NaN cells and truncated dict dumps (:data:`PAGE_PROBLEMS`).
    """
    found = []
    for lineno, line in enumerate(text.splitlines(), 1):
        if line.startswith("_Rendered from the executed notebook"):
            continue  # the page's own header links the notebook and results file
        for name, pattern in PAGE_PROBLEMS:
            if pattern.search(line):
                found.append((name, lineno, line.strip()[:160]))
    return found


def page_images(page: str | Path) -> list[Path]:
    """Local image files a Markdown page links (``![alt](path)``), resolved beside the page."""
    page = Path(page)
    links = re.findall(r"!\[[^\]]*\]\(([^)\s]+)\)", page.read_text())
    links += re.findall(r"<img[^>]+src=\"([^\"]+)\"", page.read_text())
    return [(page.parent / link).resolve() for link in links if "://" not in link]
