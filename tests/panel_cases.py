"""Scripts and kernel helpers shared by the widget and panel tests."""

from __future__ import annotations

import contextlib
import json
import textwrap
from pathlib import Path

TRAIN_CFG = textwrap.dedent(
    """\
    from cascade_core import Config


    class TrainCfg(Config):
        lr = 1.5
        momentum = 0.9
        epochs = 10
        weight_decay = 1e-4
        eps = 1e-8
        name = "base"
        use_amp = True


    c = TrainCfg
    print(c.lr, c.epochs, type(c.epochs).__name__, c.weight_decay, c.name, c.use_amp)
    """
)
"""A config of decimal, integer, text, bool and very small float defaults (`train_cfg.py`)."""

WAIT_FOR_OUTPUT = """\
import time
deadline = time.monotonic() + 60
while {condition} and time.monotonic() < deadline:
    time.sleep(0.1)
"""
"""Code of a cell that waits up to 60 s while `{condition}` is true in the kernel."""


@contextlib.contextmanager
def panel_kernel(workdir: Path):
    """Start a kernel in `workdir` with the extension loaded and `json` imported, and stop it afterwards."""
    from kernel_helpers import NotebookKernel

    with NotebookKernel(workdir) as kernel:
        kernel.run("%load_ext cascade_ext\nimport json")
        yield kernel


def run_json(kernel: NotebookKernel, *sources: str) -> object:
    """Run cells and return the JSON the last one prints."""
    result = kernel.run(*sources)
    assert result.error is None, "\n".join(result.error.traceback)
    return json.loads(result.stdout.strip().splitlines()[-1])


def finish_last_run(panel: str) -> str:
    """Return a cell that waits for the panel's newest run and for its output and status to show."""
    wait = WAIT_FOR_OUTPUT.format(condition=f"'completed' not in {panel}.runs[-1].status_label.value")
    return f"{panel}.runs[-1].run.wait(timeout=120)\n{wait}"


def run_folder(workdir: Path, run_id: str) -> Path:
    """Return the folder of a run in the store of a kernel started in `workdir`."""
    return workdir / ".cascade" / "runs" / run_id
