"""The lab as users meet it, in a real browser (Debian's chromium driven by Playwright).

1. JupyterLab: open ``00-quickstart``, run all cells through the UI, and check that its figure
   and a progress widget render, that no cell failed, and that the published record is untouched.
2. Rendered pages: serve ``reports/`` over HTTP, open every page (Markdown rendered to HTML) and
   check that each image loads.

Runs where chromium is installed (``make env`` installs it where it can; CI has it) and skips
with the reason elsewhere.
"""

from __future__ import annotations

import functools
import hashlib
import http.server
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest

from zsl_lib import config

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="module")
def browser():
    if CHROMIUM is None:
        pytest.skip("chromium is not installed (Debian: apt-get install chromium; make env does it as root)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _digest(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture
def jupyterlab(tmp_path):
    """A JupyterLab server on localhost whose root holds a copy of the quickstart notebook."""
    root = tmp_path / "lab"
    root.mkdir()
    shutil.copy(config.notebooks_dir() / "00-quickstart.ipynb", root)
    port, token = _free_port(), "zsl-browser-test"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        p for p in [str(config.PROJECT_ROOT), os.environ.get("PYTHONPATH", "")] if p),
        JUPYTER_RUNTIME_DIR=str(tmp_path / "runtime"), JUPYTER_CONFIG_DIR=str(tmp_path / "cfg"),
        ZSL_BUILD_DIR=str(tmp_path / "build"))  # the kernel's run folder, checked after the run
    for var in ("ZSL_RUN_DIR", "ZSL_RESULTS_DIR", "ZSL_FIGURES_DIR", "ZSL_PUBLISH"):
        env.pop(var, None)  # an interactive session: no redirect, its own run folder
    env.pop("MPLBACKEND", None)  # the kernel's inline backend, as in a user's session
    cmd = [sys.executable, "-m", "jupyterlab", "--no-browser", f"--port={port}",
           "--ip=127.0.0.1", f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}",
           "--ServerApp.open_browser=False", "--LabApp.news_url=",
           "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
           *(["--allow-root"] if hasattr(os, "geteuid") and os.geteuid() == 0 else [])]
    log = open(tmp_path / "jupyterlab.log", "w")  # noqa: SIM115
    proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(120):
            try:
                urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=2)
                break
            except OSError:
                if proc.poll() is not None:
                    pytest.fail(f"JupyterLab exited: {(tmp_path / 'jupyterlab.log').read_text()[-2000:]}")
                time.sleep(0.5)
        else:
            pytest.fail("JupyterLab did not start within 60 s")
        yield url, token, root
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def test_quickstart_runs_in_jupyterlab_with_figure_and_progress_widget(browser, jupyterlab):
    url, token, _root = jupyterlab
    record_before = {d: _digest(config.PROJECT_ROOT / d) for d in ("results", "figures")}
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(f"{url}/lab/tree/00-quickstart.ipynb?token={token}")
    page.wait_for_selector(".jp-NotebookPanel .jp-Cell", timeout=120_000)
    # the kernel has started: the status bar says "Python 3 (ipykernel) | Idle"
    page.wait_for_function("() => document.body.innerText.includes('| Idle')", timeout=120_000)
    page.get_by_role("menuitem", name="Run", exact=True).click()
    page.get_by_text("Run All Cells", exact=True).click()
    # the figure (an inline PNG) and the progress widget
    try:
        page.wait_for_selector(".jp-OutputArea-output img", state="attached", timeout=240_000)
        # tqdm's ipywidgets bar: an HBox with the description, a progress bar and the rate
        page.wait_for_selector(".jp-OutputArea-output .jupyter-widgets [class*='progress']",
                               state="attached", timeout=60_000)
    except Exception:
        page.screenshot(path=str(_root.parent / "jupyterlab-failure.png"), full_page=True)
        raise
    # every cell finished: no "[*]" prompt left, no traceback
    page.wait_for_function(
        "() => ![...document.querySelectorAll('.jp-InputPrompt')].some(e => e.textContent.includes('*'))",
        timeout=240_000)
    bar_text = page.inner_text(".jp-OutputArea-output .jupyter-widgets.widget-hbox").replace("\u2007", " ")
    assert "k sweep" in bar_text and "100%" in bar_text and "k/s" in bar_text, bar_text
    text = page.inner_text(".jp-NotebookPanel")
    assert "Traceback" not in text and "Error" not in text.split("What this shows")[0], text[-3000:]
    loaded = page.eval_on_selector_all(".jp-OutputArea-output img",
                                       "imgs => imgs.map(i => i.complete && i.naturalWidth > 0)")
    assert loaded and all(loaded)
    page.close()
    # exploring in JupyterLab never touches the published record; the run has its own folder
    assert {d: _digest(config.PROJECT_ROOT / d) for d in ("results", "figures")} == record_before
    runs = sorted((_root.parent / "build" / "runs").glob("*-00-quickstart-interactive"))
    assert len(runs) == 1, runs
    assert (runs[0] / "results" / "00-quickstart.json").is_file()
    assert any((runs[0] / "figures").glob("00-quickstart-*.png"))


def _markdown_to_html(md: str) -> str:
    from markdown_it import MarkdownIt  # noqa: PLC0415

    return "<!doctype html><html><body>" + MarkdownIt("commonmark").enable("table").render(md) + \
        "</body></html>"


def test_every_rendered_page_loads_its_images(browser, tmp_path):
    reports = config.PROJECT_ROOT / "reports"
    pages = sorted(reports.glob("*.md"))
    assert pages, f"no rendered pages in {reports}: run `make reproduce`"
    site = tmp_path / "site"
    shutil.copytree(reports, site)
    shutil.copytree(config.PROJECT_ROOT / "figures", tmp_path / "figures")
    for md in site.glob("*.md"):
        md.with_suffix(".html").write_text(_markdown_to_html(md.read_text()))
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        page = browser.new_page()
        for md in pages:
            page.goto(f"http://127.0.0.1:{server.server_port}/site/{md.stem}.html")
            page.wait_for_load_state("load")
            images = page.eval_on_selector_all(
                "img", "imgs => imgs.map(i => [i.getAttribute('src'), i.complete && i.naturalWidth > 0])")
            assert images, f"{md.name} shows no figure"
            broken = [src for src, ok in images if not ok]
            assert not broken, f"{md.name}: images that do not load: {broken}"
        page.close()
    finally:
        server.shutdown()
