"""The widget panel end to end: a real JupyterLab on 127.0.0.1 driven by headless Chromium."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from browser_helpers import CHROMIUM, browser_page, run_all_cells, running_lab, write_notebook
from panel_cases import TRAIN_CFG

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason=f"Chromium is not installed at {CHROMIUM}"),
]

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
UI_TIMEOUT = 120_000


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    with running_lab(tmp_path_factory.mktemp("lab-root"), tmp_path_factory.mktemp("lab-home")) as server:
        yield server


@pytest.fixture
def page(lab):
    with browser_page() as opened:
        yield opened


def slider(page, name: str):
    """Return the slider widget of the panel labelled `name`."""
    return page.locator(".cascade-panel .widget-slider", has=page.locator(".widget-label", has_text=name))


def only_run_of(lab, script_name: str) -> Path:
    """Return the folder of the one run of `script_name` in the lab's store."""
    folders = [
        path for path in (lab.root / ".cascade" / "runs").iterdir()
        if Path(json.loads((path / "cascade_run_meta.json").read_text())["script"]).name == script_name
    ]
    assert len(folders) == 1, folders
    return folders[0]


def test_panel_browser_notch_and_run(lab, page):
    (lab.root / "train_cfg.py").write_text(TRAIN_CFG)
    write_notebook(lab.root / "panel.ipynb", "%load_ext cascade_ext\n%cascade_panel train_cfg.py")

    page.goto(lab.notebook_url("panel.ipynb"))
    run_all_cells(page)
    page.wait_for_selector(".cascade-panel .widget-slider", timeout=UI_TIMEOUT)
    weight_decay = slider(page, "weight_decay")
    readout = weight_decay.locator(".widget-readout")
    assert readout.inner_text() == "0.00010"

    weight_decay.locator(".noUi-handle").focus()
    page.keyboard.press("ArrowRight")
    page.wait_for_function("el => el.textContent.trim() === '0.00013'", arg=readout.element_handle(), timeout=UI_TIMEOUT)
    page.locator(".cascade-panel button:text-is('Run')").click()

    output = page.locator(".cascade-panel pre")
    output.filter(has_text="1.5 10 int 0.00013 base True").wait_for(timeout=UI_TIMEOUT)
    page.locator(".cascade-panel").get_by_text("completed", exact=True).wait_for(timeout=UI_TIMEOUT)
    ARTIFACTS.mkdir(exist_ok=True)
    page.locator(".cascade-panel").screenshot(path=str(ARTIFACTS / "panel.png"))

    folder = only_run_of(lab, "train_cfg.py")
    assert output.inner_text() == "1.5 10 int 0.00013 base True"
    assert page.locator(".cascade-panel").get_by_text("--weight_decay 0.00013").count() == 1
    assert json.loads((folder / "cascade_overrides.json").read_text()) == {"weight_decay": 0.00013}
    assert (folder / "logs" / "cascade_run.log").read_text() == "1.5 10 int 0.00013 base True\n"


TICKER = """\
import time

from cascade_core import Config


class Cfg(Config):
    ticks = 200


for i in range(Cfg.ticks):
    print("tick", i, flush=True)
    time.sleep(0.2)
"""


def test_panel_browser_live_output_and_stop(lab, page):
    (lab.root / "ticker.py").write_text(TICKER)
    write_notebook(lab.root / "ticker.ipynb", "%load_ext cascade_ext\n%cascade_panel ticker.py")

    page.goto(lab.notebook_url("ticker.ipynb"))
    run_all_cells(page)
    panel = page.locator(".cascade-panel")
    panel.locator("button:text-is('Run')").wait_for(timeout=UI_TIMEOUT)
    panel.locator("button:text-is('Run')").click()

    panel.get_by_text("running", exact=True).wait_for(timeout=UI_TIMEOUT)
    panel.locator("pre", has_text="tick 3").wait_for(timeout=UI_TIMEOUT)
    panel.locator("button:text-is('Stop')").click()
    panel.get_by_text("interrupted", exact=True).wait_for(timeout=UI_TIMEOUT)

    folder = only_run_of(lab, "ticker.py")
    meta = json.loads((folder / "cascade_run_meta.json").read_text())
    assert meta["status"] == "interrupted"
    assert panel.locator("button:text-is('Stop')").is_disabled()


OFF_GRID = """\
from cascade_core import Config


class Cfg(Config):
    fraction = 0.125
    lr = 3e-4
    scale = 2.37
    every = 7  # range: 0..100 step=5


print(Cfg.fraction, Cfg.lr, Cfg.scale, Cfg.every)
"""


def test_panel_browser_untouched_off_grid_defaults(lab, page):
    (lab.root / "off_grid.py").write_text(OFF_GRID)
    write_notebook(lab.root / "off_grid.ipynb", "%load_ext cascade_ext\n%cascade_panel off_grid.py")

    page.goto(lab.notebook_url("off_grid.ipynb"))
    run_all_cells(page)
    panel = page.locator(".cascade-panel")
    panel.locator("button:text-is('Run')").wait_for(timeout=UI_TIMEOUT)
    readouts = panel.locator(".widget-readout").all_inner_texts()
    panel.locator("button:text-is('Run')").click()
    panel.locator("pre", has_text="0.125 0.0003 2.37 7").wait_for(timeout=UI_TIMEOUT)

    folder = only_run_of(lab, "off_grid.py")
    assert readouts == ["0.125", "0.00030", "2.37", "7"]
    assert json.loads((folder / "cascade_overrides.json").read_text()) == {}
    assert panel.get_by_text("(defaults)", exact=True).count() == 1
