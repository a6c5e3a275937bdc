"""Tests of cascade_core.notebook_run: notebooks as tracked runs, through a real kernel."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

import cascade_core

pytestmark = pytest.mark.kernel


@pytest.fixture
def work(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("CASCADE_ROOT", raising=False)
    monkeypatch.delenv("CASCADE_RUN_DIR", raising=False)
    return tmp_path


def process_gone(pid: int) -> bool:
    """Tell whether `pid` has exited; a zombie counts as gone."""
    try:
        with open(f"/proc/{pid}/stat") as stream:
            return stream.read().rpartition(")")[2].split()[0] in ("Z", "X")
    except FileNotFoundError:
        return True


def write_notebook(path: Path, *cells: str, parameters: str | None = None) -> Path:
    import nbformat
    from nbformat.v4 import new_code_cell, new_notebook

    notebook = new_notebook()
    if parameters is not None:
        cell = new_code_cell(parameters)
        cell.metadata["tags"] = ["parameters"]
        notebook.cells.append(cell)
    notebook.cells += [new_code_cell(text) for text in cells]
    nbformat.write(notebook, path)
    return path


def test_notebook_run_with_overrides(work):
    import nbformat

    path = write_notebook(work / "nb.ipynb", "import sys\nprint('lr', lr)\nprint('warn', file=sys.stderr)", "lr * 2",
                          parameters="lr = 0.1")
    chunks = []

    run = cascade_core.run(path, "--lr", "0.5", on_stdout=chunks.append)

    assert run.status == "completed"
    assert run.overrides == {"lr": 0.5}
    assert "".join(chunks) == "lr 0.5\n1.0\n"
    lines = run.log_text().splitlines()
    # stdout and stderr written within one read of the pipes may land in either order.
    assert sorted(lines) == ["1.0", "lr 0.5", "warn"]
    assert [line for line in lines if line != "warn"] == ["lr 0.5", "1.0"]
    executed = nbformat.read(run.path / "output.ipynb", as_version=4)
    assert executed.cells[2].outputs[0]["data"]["text/plain"] == "1.0"
    assert nbformat.read(path, as_version=4).cells[0].source == "lr = 0.1"


def test_notebook_run_failing_cell(work):
    import nbformat

    path = write_notebook(work / "fail.ipynb", "print('before')", "1 / 0", "print('never')")

    run = cascade_core.run(path)

    assert run.status == "failed"
    assert run.returncode == 1
    assert "ZeroDivisionError: division by zero" in run.log_text()
    assert "never" not in run.log_text()
    executed = nbformat.read(run.path / "output.ipynb", as_version=4)
    assert executed.cells[1].outputs[0]["ename"] == "ZeroDivisionError"


def test_notebook_run_stop_ends_kernel(work):
    path = write_notebook(work / "sleep.ipynb", "import os, time\nprint('kernel', os.getpid(), flush=True)\ntime.sleep(600)")
    printed = []
    ready = threading.Event()

    def collect(text):
        printed.append(text)
        ready.set()

    handle = cascade_core.start(path, on_stdout=collect)
    assert ready.wait(120)
    kernel = int("".join(printed).split()[1])
    handle.stop()

    assert handle.wait(60) == 130
    assert handle.status == "interrupted"
    assert (handle.path / "output.ipynb").is_file()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not process_gone(kernel):
        time.sleep(0.1)
    assert process_gone(kernel)
