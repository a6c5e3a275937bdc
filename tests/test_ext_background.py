"""Tests of cascade_ext.background: `%cascade_run --bg` in a real kernel."""

from __future__ import annotations

import json
import time

import pytest

from kernel_helpers import NotebookKernel, process_gone, wait_until, write_scripts

pytestmark = [pytest.mark.kernel, pytest.mark.slow]

TICKER = """\
import time

TICKS = 3
for i in range(TICKS):
    print(f"tick {i}", flush=True)
    time.sleep(0.5)
print("finished")
"""

SLEEPER = """\
import time

print("sleeping", flush=True)
time.sleep(600)
"""

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("background")
    return write_scripts(folder, {"ticker.py": TICKER, "sleeper.py": SLEEPER})


@pytest.fixture(scope="module")
def kernel(workdir):
    with NotebookKernel(workdir, setup="%load_ext cascade_ext\nfrom cascade_ext.background import view_of") as kernel:
        yield kernel



def test_background_returns_at_once_with_widget(kernel):
    result = kernel.run("r = %cascade_run ticker.py --TICKS 4 --bg\nr.status")

    assert result.ended - result.started < 1.5
    assert result.value() == "running"
    widgets = [out for out in result.outputs if out.output_type == "display_data" and WIDGET_VIEW in out.data]
    assert len(widgets) == 1
    assert "tick" not in result.stdout


def test_background_wait_from_later_cell(kernel):
    kernel.run("r = %cascade_run ticker.py --bg")
    result = kernel.run(
        "code = r.wait(timeout=60)\n"
        "import time; time.sleep(1.0)\n"
        "view = view_of(r)\n"
        "(code, r.status, view.output.outputs[0]['text'], 'completed' in view.header.value,"
        " view.stop_button.disabled)"
    )

    code, status, shown, header_done, button_disabled = result.value()
    assert (code, status) == (0, "completed")
    assert shown == "tick 0\ntick 1\ntick 2\nfinished"
    assert header_done
    assert button_disabled


def test_background_stop_from_later_cell(kernel):
    kernel.run("r = %cascade_run sleeper.py --bg")
    result = kernel.run("import time; time.sleep(1)\nr.stop()\nr.wait(timeout=30)\n(r.status, r.meta['pid'])")

    status, pid = result.value()
    assert status == "interrupted"
    assert wait_until(lambda: process_gone(pid), timeout=5)


def test_background_stop_button(kernel):
    kernel.run("r = %cascade_run sleeper.py --bg")
    result = kernel.run("import time; time.sleep(1)\nview_of(r).stop_button.click()\nr.wait(timeout=30)\nr.status")

    assert result.value() == "interrupted"


def test_background_several_runs_at_once(kernel):
    result = kernel.run(
        "a = %cascade_run ticker.py --TICKS 2 --bg\n"
        "b = %cascade_run ticker.py --TICKS 3 --bg\n"
        "(a.wait(timeout=60), b.wait(timeout=60), a.log_text().count('tick'), b.log_text().count('tick'))"
    )

    assert result.value() == (0, 0, 2, 3)


def test_background_bad_input_raises_usage_error(kernel):
    result = kernel.run("%cascade_run ticker.py --TICKS many --bg")

    assert result.stderr.startswith("UsageError: ")
    assert "TICKS" in result.stderr


def test_background_stopped_at_kernel_shutdown(workdir):
    with NotebookKernel(workdir) as kernel:
        result = kernel.run("%load_ext cascade_ext", "r = %cascade_run sleeper.py --bg\nstr(r.path)")
        folder = result.value()
        assert wait_until(lambda: "sleeping" in _read(folder + "/logs/cascade_run.log"), timeout=30)
        started = time.monotonic()

    meta = json.loads(_read(folder + "/cascade_run_meta.json"))
    assert meta["status"] == "interrupted"
    assert time.monotonic() - started < 60
    assert wait_until(lambda: process_gone(meta["pid"]), timeout=5)


def _read(path: str) -> str:
    try:
        with open(path, encoding="utf-8") as file:
            return file.read()
    except FileNotFoundError:
        return ""
