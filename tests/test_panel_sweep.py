"""The panel's sweep mode in a real IPython kernel: choose fields and values, launch the grid."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from panel_cases import TRAIN_CFG, WAIT_FOR_OUTPUT, panel_kernel, run_folder, run_json

pytestmark = pytest.mark.kernel

SLOW = "import time\nfrom cascade_core import Config\n\nclass Cfg(Config):\n    seconds = 60.0\n    seed = 0\n\ntime.sleep(Cfg.seconds)\n"


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("panel-sweep")
    (folder / "train_cfg.py").write_text(TRAIN_CFG)
    (folder / "slow.py").write_text(SLOW)
    return folder


@pytest.fixture(scope="module")
def kernel(workdir):
    with panel_kernel(workdir) as running:
        yield running


def sweep_cell(panel: str, first: tuple[str, str], second: tuple[str, str] | None = None) -> str:
    """Return a cell that fills the sweep rows of `panel` and clicks Run sweep."""
    lines = [f"{panel}.sweep.first_key.value = {first[0]!r}", f"{panel}.sweep.first_values.value = {first[1]!r}"]
    if second is not None:
        lines += [f"{panel}.sweep.second_key.value = {second[0]!r}", f"{panel}.sweep.second_values.value = {second[1]!r}"]
    lines.append(f"{panel}.sweep.run_button.click()")
    return "\n".join(lines)


def test_panel_sweep_runs_grid(kernel, workdir):
    state = run_json(
        kernel,
        "p = %cascade_panel train_cfg.py\n"
        "[c for c in p.controls if c.field.key == 'name'][0].widget.value = 'grid'",
        sweep_cell("p", ("weight_decay", "1e-5,1e-3"), ("epochs", "range(1, 3)")),
        "p.sweep._thread.join(120)\n"
        + WAIT_FOR_OUTPUT.format(condition="'ended' not in p.message.value")
        + "print(json.dumps([[row.run.id for row in p.runs], p.message.value]))",
    )
    run_ids, message = state
    metas = [json.loads((run_folder(workdir, run_id) / "cascade_run_meta.json").read_text()) for run_id in run_ids]
    overrides = [json.loads((run_folder(workdir, run_id) / "cascade_overrides.json").read_text()) for run_id in run_ids]
    logs = [(run_folder(workdir, run_id) / "logs" / "cascade_run.log").read_text() for run_id in run_ids]

    assert overrides == [
        {"name": "grid", "weight_decay": 1e-5, "epochs": 1},
        {"name": "grid", "weight_decay": 1e-5, "epochs": 2},
        {"name": "grid", "weight_decay": 1e-3, "epochs": 1},
        {"name": "grid", "weight_decay": 1e-3, "epochs": 2},
    ]
    assert logs == [
        "1.5 1 int 1e-05 grid True\n",
        "1.5 2 int 1e-05 grid True\n",
        "1.5 1 int 0.001 grid True\n",
        "1.5 2 int 0.001 grid True\n",
    ]
    assert len({meta["sweep_id"] for meta in metas}) == 1
    assert message == f"Sweep {metas[0]['sweep_id']} ended: 4 of 4 runs completed."


@pytest.mark.parametrize(
    ("cell", "message"),
    [
        pytest.param(
            sweep_cell("q", ("epochs", "")),
            "Missing sweep values for epochs: enter them as in cascade run -m, e.g. 1e-3,1e-4 or logspace(-5, -1, 5).",
            id="missing-values",
        ),
        pytest.param(
            sweep_cell("q", ("epochs", "1,2"), ("epochs", "3")),
            "Both sweep rows name epochs: choose another field for the second row.",
            id="same-field",
        ),
    ],
)
def test_panel_sweep_invalid_input_runs_nothing(kernel, cell, message):
    state = run_json(
        kernel,
        "q = %cascade_panel train_cfg.py",
        cell,
        "print(json.dumps([q.message.value, len(q.runs), q.sweep.running]))",
    )

    assert state == [f"<span style='color:#c62828'>{message}</span>", 0, False]


def test_panel_sweep_invalid_value_runs_nothing(kernel, workdir):
    runs_before = set((workdir / ".cascade" / "runs").iterdir()) if (workdir / ".cascade" / "runs").exists() else set()
    state = run_json(
        kernel,
        "v = %cascade_panel train_cfg.py",
        sweep_cell("v", ("epochs", "1,2.5")),
        "print(json.dumps([v.message.value.startswith(\"<span style='color:#c62828'>\"), 'epochs' in v.message.value,"
        " len(v.runs)]))",
    )
    runs_after = set((workdir / ".cascade" / "runs").iterdir()) if (workdir / ".cascade" / "runs").exists() else set()

    assert state == [True, True, 0]
    assert runs_after == runs_before


def test_panel_sweep_stop_ends_every_point(kernel):
    state = run_json(
        kernel,
        "s = %cascade_panel slow.py\ns.sweep.jobs.value = 2",
        sweep_cell("s", ("seed", "1,2,3")),
        WAIT_FOR_OUTPUT.format(condition="len(s.runs) < 2")
        + "s.sweep.stop_button.click()\n"
        "s.sweep._thread.join(120)\n"
        + WAIT_FOR_OUTPUT.format(condition="'ended' not in s.message.value")
        + "print(json.dumps([[row.run.status for row in s.runs], s.message.value.endswith('(stopped).')]))",
    )
    statuses, stopped = state

    assert statuses == ["interrupted", "interrupted"]
    assert stopped
