"""Tests of notebooks/quickstart.ipynb: it runs top to bottom in a fresh kernel."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from kernel_helpers import execute_notebook

REPO = Path(__file__).resolve().parent.parent

pytestmark = [pytest.mark.kernel, pytest.mark.slow]


@pytest.fixture(scope="module")
def executed(tmp_path_factory):
    folder = tmp_path_factory.mktemp("quickstart")
    shutil.copytree(REPO / "examples", folder / "examples")
    output = folder / "executed.ipynb"
    notebook = execute_notebook(REPO / "notebooks" / "quickstart.ipynb", folder, output, folder / ".cascade")
    return folder, output, [cell for cell in notebook.cells if cell.cell_type == "code"]


def test_quickstart_runs_without_errors(executed):
    _, _, cells = executed

    errors = [out for cell in cells for out in cell.outputs if out.output_type == "error"]
    assert errors == []


def test_quickstart_records_runs_and_model(executed):
    folder, _, _ = executed

    assert len(list((folder / ".cascade" / "runs").iterdir())) == 6
    files = sorted(path.name for path in (folder / "artifacts" / "models" / "digits" / "00000" / "files").iterdir())
    assert files == ["cascade_config.json", "cascade_run.log"]


def test_quickstart_streams_training_output(executed):
    _, _, cells = executed
    run_cell = next(cell for cell in cells if cell.source.startswith("r = %cascade_run"))

    text = "".join(out.text for out in run_cell.outputs if out.output_type == "stream")
    assert text.splitlines()[0].startswith("epoch   1/5  loss ")
    assert len(text.splitlines()) == 5


def test_quickstart_failed_run_returned(executed):
    _, _, cells = executed
    failed_cell = next(cell for cell in cells if "--no-raise" in cell.source)

    result = failed_cell.outputs[-1].data["text/plain"]
    assert result == "('failed', 1, 'ValueError: range() arg 3 must not be zero')"


def test_quickstart_saved_notebook_small(executed):
    _, output, _ = executed

    assert output.stat().st_size < 200_000
