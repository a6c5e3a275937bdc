"""`cascade run -m`: the plan, the confirmation, live output and progress, the summary.

Every output line of a point is printed with the point's label in front
(`[SEED=3] loss 0.25`), stdout lines on stdout and stderr lines on stderr.
In a terminal a progress bar on stderr counts finished runs and is redrawn
under the output. Elsewhere each finished run prints one plain line instead.
"""

from __future__ import annotations

import sys
import threading

import click

from cascade_core.cli.run_cmd import confirm
from cascade_core.errors import RunError
from cascade_core.formatting import format_duration
from cascade_core.process import forward_signals
from cascade_core.sweeps.api import check_launch_options, check_points, execute
from cascade_core.sweeps.output import PrefixedOutput
from cascade_core.sweeps.plan import Point, plan_sweep
from cascade_core.sweeps.summary import format_plan, format_summary

BAR_WIDTH = 24
"""Characters of the progress bar itself."""

INTERRUPTED_STATUS = 130
"""Exit status of a sweep stopped by a signal: 128 + SIGINT, as a shell reports Ctrl-C."""


def run_multirun_cli(script, config, override_tokens, run_options, *, yes, jobs, launcher, dask_address,
                     fail_fast) -> int:
    """Plan, confirm and run a sweep for `cascade run -m`, and return the exit status.

    The plan goes to stderr with the progress, so stdout carries the runs'
    prefixed output and the summary table. The exit status is 0 when every
    point completed, 1 when one failed or never ran, and 130 (128 + SIGINT)
    when Ctrl-C, SIGTERM or SIGHUP stopped the sweep. A second signal
    kills the points still stopping at once, as for a single run.

    Raises:
        OverrideError: when the overrides or sweep values are invalid.
        click.ClickException: when confirmation is needed but stdin is not a terminal.
        SystemExit: when the user declines the confirmation.
    """
    check_launch_options(jobs, launcher, dask_address)
    plan = plan_sweep(config, override_tokens)
    check_points(script, plan, run_options)

    click.echo(format_plan(plan), err=True)
    confirm(yes)

    console = ConsoleProgress(len(plan), interactive=_is_terminal(sys.stderr))
    stop_requested = threading.Event()

    def request_stop() -> None:
        if stop_requested.is_set():
            console.hurry_stop()  # a second signal kills the running points at once
        stop_requested.set()

    with forward_signals(request_stop):
        outcome = execute(script, plan, run_options, jobs=jobs, launcher=launcher, dask_address=dask_address,
                          fail_fast=fail_fast, observer=console, stop_requested=stop_requested)
    console.close()

    click.echo(format_summary(outcome))
    _echo_failed_folders(outcome)
    if outcome.interrupted:
        return INTERRUPTED_STATUS
    return 0 if outcome.ok else 1


def _echo_failed_folders(outcome) -> None:
    failed = [run for run in outcome.ordered_runs() if run.status == "failed"]
    for run in failed:
        click.echo(f"Failed run folder: {run.path}", err=True)
    for index, error in sorted(outcome.errors.items()):
        click.echo(f"Point {outcome.plan.points[index].label} did not run: {error}", err=True)


class ConsoleProgress:
    """A sweep observer that prints prefixed output lines and counts finished runs.

    Args:
        total: the number of points.
        interactive: draw a progress bar redrawn in place on stderr (a
            terminal). Otherwise print one line per finished run.
    """

    def __init__(self, total: int, interactive: bool):
        self._total = total
        self._interactive = interactive
        self._lock = threading.RLock()
        self._running = 0
        self._finished = 0
        self._failed = 0
        self._output = PrefixedOutput(self.write_line)
        self._bar_shown = False
        self._runs: dict[int, object] = {}

    def on_start(self, point: Point, run) -> None:
        self._runs[point.index] = run
        with self._lock:
            self._running += 1
            self._redraw()

    def on_output(self, point: Point, stream: str, text: str) -> None:
        self._output.feed(point, stream, text)

    def on_finish(self, point: Point, run) -> None:
        self._runs.pop(point.index, None)
        self._output.finish(point)
        with self._lock:
            self._running -= 1
            self._finished += 1
            self._failed += run.status == "failed"
            self._print_finish(point, run)

    def hurry_stop(self) -> None:
        """Stop the running points started in this process again, which kills them at once.

        Safe in a signal handler, because `Run.stop()` only signals and returns.
        Points on Dask are left to the stop event.
        """
        for run in list(self._runs.values()):
            try:
                run.stop()
            except RunError:
                continue  # a run on a Dask worker cannot be stopped from here

    def close(self) -> None:
        """Remove the progress bar, leaving the terminal at the start of a clean line."""
        with self._lock:
            self._clear_bar()

    def write_line(self, point: Point, stream: str, parts) -> None:
        """Print one output line of `point`, given as text pieces, with the point's label in front."""
        with self._lock:
            self._clear_bar()
            target = sys.stdout if stream == "stdout" else sys.stderr
            _write(target, f"[{point.label}] ")
            for part in parts:
                _write(target, part)
            _write(target, "\n")
            target.flush()
            self._redraw()

    def _print_finish(self, point: Point, run) -> None:
        self._clear_bar()
        duration = format_duration(run.duration)
        _write(sys.stderr, f"[{self._finished}/{self._total}] {point.label}: {run.status} in {duration} (run {run.id})\n")
        sys.stderr.flush()
        self._redraw()

    def _redraw(self) -> None:
        if not self._interactive:
            return
        done = self._finished * BAR_WIDTH // max(self._total, 1)
        bar = "#" * done + "-" * (BAR_WIDTH - done)
        failed = f", {self._failed} failed" if self._failed else ""
        sys.stderr.write(f"\r\x1b[K[{bar}] {self._finished}/{self._total} done, {self._running} running{failed}")
        sys.stderr.flush()
        self._bar_shown = True

    def _clear_bar(self) -> None:
        if self._bar_shown:
            sys.stderr.write("\r\x1b[K")
            sys.stderr.flush()
            self._bar_shown = False


def _write(stream, text: str) -> None:
    """Write text to a console stream, replacing characters its encoding cannot show."""
    encoding = getattr(stream, "encoding", None) or "utf-8"
    stream.write(text.encode(encoding, errors="replace").decode(encoding))


def _is_terminal(stream) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False
