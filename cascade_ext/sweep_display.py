"""A sweep in the notebook: a live progress widget, prefixed output and a summary table.

`%cascade_run -m` calls `run_sweep_in_notebook`. The sweep runs in the
kernel's main thread, so a kernel interrupt reaches it: every running point
is stopped and the summary is shown before the interrupt is raised again.
"""

from __future__ import annotations

import logging
import sys

from cascade_core.sweeps.api import execute, prepare_sweep
from cascade_core.sweeps.summary import count_statuses, format_plan, summary_table
from cascade_ext import display, streaming

logger = logging.getLogger(__name__)


class SweepInterrupted(streaming.RunInterrupted):
    """Exception raised after a kernel interrupt stopped a sweep.

    It derives from KeyboardInterrupt, so "Run All" stops there. Like an
    interrupted run, it is shown as its message alone. `runs` are the runs
    that started, in plan order, and the stopped ones are `interrupted`.
    """

    def __init__(self, outcome):
        runs = outcome.ordered_runs()
        not_started = len(outcome.plan) - len(runs)
        KeyboardInterrupt.__init__(
            self,
            f"Sweep {outcome.sweep_id} was interrupted: its running runs were stopped, "
            f"{len(runs)} of {len(outcome.plan)} runs had started and {not_started} were never launched.",
        )
        self.run = runs[-1] if runs else None
        self.runs = runs


class SweepSummary(display.Table):
    """The summary of a sweep: run id, swept values, status, duration and last metrics of each point."""

    def __init__(self, outcome):
        self.headers, self._rows = summary_table(outcome)
        self.caption = f"Sweep {outcome.sweep_id}: {count_statuses(self.headers, self._rows)}"

    def rows(self) -> list[list[str]]:
        return self._rows


def run_sweep_in_notebook(script, override_tokens, run_options, *, jobs=1, launcher="local", dask_address=None,
                          fail_fast=False) -> list:
    """Run a sweep with live progress in the current cell and return its runs in plan order.

    In [1]: runs = %cascade_run -m train.py --lr 1e-3,1e-4 -j 2

    Output lines of each point go to the cell with the point's label in
    front (bounded as for `%cascade_run`). A progress widget counts finished
    runs, and a summary table ends the cell. A failed point does not raise,
    so check each run's `status` or the summary.

    Raises:
        CascadeError: An override, sweep value or option is invalid (nothing is run).
        SweepInterrupted: after a kernel interrupt stopped every running point.
    """
    plan = prepare_sweep(script, override_tokens, run_options)
    progress = NotebookProgress(plan)
    progress.show()

    outcome = execute(script, plan, dict(run_options), jobs=jobs, launcher=launcher, dask_address=dask_address,
                      fail_fast=fail_fast, observer=progress)
    progress.close(outcome)
    _show(SweepSummary(outcome))

    if outcome.interrupted:
        raise SweepInterrupted(outcome)
    return outcome.ordered_runs()


class NotebookProgress:
    """Sweep observer for the notebook: an IntProgress bar with a status line, and prefixed output."""

    def __init__(self, plan):
        from cascade_core.sweeps.output import PrefixedOutput

        self._plan = plan
        self._total = len(plan)
        self._running = 0
        self._finished = 0
        self._failed = 0
        self._cell = streaming.CellOutput(max_lines=_max_lines())
        self._output = PrefixedOutput(self._queue_line)
        self._bar = None
        self._label = None

    def show(self) -> None:
        """Display the progress widget, or print the plan where widgets cannot show (terminal IPython)."""
        try:
            import ipywidgets
        except ImportError:
            ipywidgets = None
        if ipywidgets is None or not _in_kernel():
            print(format_plan(self._plan), file=sys.stderr)
            return

        self._bar = ipywidgets.IntProgress(value=0, min=0, max=self._total, description="Sweep", bar_style="info")
        self._label = ipywidgets.HTML(value=self._status_text())
        _show(ipywidgets.HBox([self._bar, self._label]))

    def on_start(self, point, run) -> None:
        self._running += 1
        self._update()

    def on_output(self, point, stream: str, text: str) -> None:
        self._output.feed(point, stream, text)

    def on_finish(self, point, run) -> None:
        self._output.finish(point)
        self._running -= 1
        self._finished += 1
        self._failed += run.status == "failed"
        self._update()

    def on_poll(self) -> None:
        self._cell.drain(timeout=0)

    def close(self, outcome) -> None:
        """Write the output still queued and set the widget to its final state."""
        self._cell.close()
        if self._bar is None:
            return
        if outcome.ok:
            self._bar.bar_style = "success"
        elif self._failed:
            self._bar.bar_style = "danger"
        else:
            self._bar.bar_style = "warning"  # stopped before every point ran
        self._update()

    def _queue_line(self, point, stream: str, parts) -> None:
        # Called from reader threads. CellOutput only queues the text, and on_poll writes it in the main thread.
        text = f"[{point.label}] {_bounded_join(parts, streaming.MAX_LINE_CHARS)}\n"
        if stream == "stdout":
            self._cell.stdout(text)
        else:
            self._cell.stderr(text)

    def _update(self) -> None:
        if self._bar is None:
            return
        self._bar.value = self._finished
        self._label.value = self._status_text()

    def _status_text(self) -> str:
        failed = f", {self._failed} failed" if self._failed else ""
        return f"{self._finished}/{self._total} done, {self._running} running{failed}"


def _bounded_join(parts, limit: int) -> str:
    """Join text pieces up to `limit` characters and mark a cut with ` [...]`.

    Pieces past the limit are still read from `parts`, then dropped.
    """
    kept: list[str] = []
    size = 0
    for part in parts:
        if size < limit:
            kept.append(part[: limit - size])
        size += len(part)
    text = "".join(kept)
    return text + " [...]" if size > limit else text


def _max_lines():
    return streaming.MAX_LINES if _in_kernel() else None


def _in_kernel() -> bool:
    from IPython import get_ipython

    shell = get_ipython()
    return getattr(shell, "kernel", None) is not None


def _show(obj) -> None:
    from IPython.display import display as show

    show(obj)
