"""`%cascade_run` output as JupyterLab renders it: a real JupyterLab on 127.0.0.1 in headless Chromium."""

from __future__ import annotations

import pytest

from browser_helpers import CHROMIUM, JupyterLab, launch_chromium, run_all_cells, write_notebook
from case_scripts import write_case_scripts
from kernel_helpers import write_scripts

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists(), reason=f"Chromium is not installed at {CHROMIUM}"),
]

UI_TIMEOUT = 120_000

BOOM = """\
print("about to fail")
raise SystemExit(3)
"""

MANY = """\
for i in range(5_000):
    print(f"row {i}")
"""

STDERR = ".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']"
STDOUT = ".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stdout']"


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    root = tmp_path_factory.mktemp("lab-root")
    write_case_scripts(root, "bar.py")
    write_scripts(root, {"boom.py": BOOM, "many.py": MANY})
    server = JupyterLab(root, tmp_path_factory.mktemp("lab-home"), env={"CASCADE_ROOT": str(root / ".cascade")})
    server.start()
    yield server
    server.stop()


@pytest.fixture
def page(lab):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        try:
            yield browser.new_page(viewport={"width": 1280, "height": 1000})
        finally:
            browser.close()


def cell(page, index: int):
    return page.locator(".jp-Notebook .jp-CodeCell").nth(index)


def test_browser_progress_line_shown_once_c10(lab, page):
    write_notebook(lab.root / "bar.ipynb", "%load_ext cascade_ext\nrun = %cascade_run bar.py")

    page.goto(lab.notebook_url("bar.ipynb"))
    run_all_cells(page)
    cell(page, 0).locator(STDOUT, has_text="done").wait_for(timeout=UI_TIMEOUT)
    shown = cell(page, 0).locator(".jp-OutputArea").inner_text()

    # JupyterLab itself shows a blank line between a progress line and the
    # newline that ends it when they arrive in separate messages.
    assert [line for line in shown.splitlines() if line] == ["step 50/50", "done"]


def test_browser_failed_run_stops_run_all(lab, page):
    write_notebook(lab.root / "boom.ipynb", "%load_ext cascade_ext\n%cascade_run boom.py", "print('after')")

    page.goto(lab.notebook_url("boom.ipynb"))
    run_all_cells(page)
    error = cell(page, 0).locator(".jp-OutputArea-output", has_text="boom.py failed with exit status 3")
    error.wait_for(timeout=UI_TIMEOUT)
    page.wait_for_selector("text=| Idle", timeout=UI_TIMEOUT)

    assert cell(page, 1).locator(".jp-InputPrompt").inner_text().strip() == "[ ]:"
    assert cell(page, 1).locator(".jp-OutputArea-output").count() == 0
    assert "cascade_ext" not in error.inner_text()


def test_browser_long_output_tail_display(lab, page):
    write_notebook(lab.root / "many.ipynb", "%load_ext cascade_ext\n%cascade_run many.py --max-lines 10")

    page.goto(lab.notebook_url("many.ipynb"))
    run_all_cells(page)
    tail = cell(page, 0).locator(".jp-OutputArea-output", has_text="more are only in the log")
    tail.wait_for(timeout=UI_TIMEOUT)

    streamed = cell(page, 0).locator(STDOUT).first.inner_text().split()
    assert streamed[:2] == ["row", "0"]
    assert streamed[-2:] == ["row", "9"]
    assert tail.inner_text().strip().endswith("row 4999")
    assert tail.count() == 1
