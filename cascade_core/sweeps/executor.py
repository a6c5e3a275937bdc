"""Running the points of a sweep on this machine, N at a time.

The loop runs in the caller's thread. It starts points while fewer than
`jobs` are running and polls the running ones. A stop request (Ctrl-C, a
signal that the CLI turns into a request, or the first failure under
fail-fast) stops every running point, and points not started by then are
never launched.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from dataclasses import dataclass, field

from cascade_core.sweeps.plan import Point, SweepPlan

logger = logging.getLogger(__name__)

POLL_INTERVAL = 0.05
"""Seconds between two polls of the running points."""


class Observer:
    """Adapter that forwards sweep events to an object with any of `on_start`, `on_output`, `on_finish`, `on_poll`.

    `on_start(point, run)`, `on_finish(point, run)` and `on_poll()` are
    called from the thread that runs the sweep, `on_poll()` once between two
    polls of the running points. `on_output(point, stream, text)` is called
    from a run's reader thread, with stream "stdout" or "stderr" and a
    decoded chunk (on Dask, from the sweep's thread, with both streams as
    "stdout").
    """

    def __init__(self, target=None):
        self._target = target

    def on_start(self, point: Point, run) -> None:
        self._call("on_start", point, run)

    def on_output(self, point: Point, stream: str, text: str) -> None:
        self._call("on_output", point, stream, text)

    def on_finish(self, point: Point, run) -> None:
        self._call("on_finish", point, run)

    def on_poll(self) -> None:
        self._call("on_poll")

    def output_callbacks(self, point: Point) -> dict:
        """Return the `on_stdout` and `on_stderr` arguments of `start()` for this point."""
        if getattr(self._target, "on_output", None) is None:
            return {}
        return {
            "on_stdout": lambda text: self.on_output(point, "stdout", text),
            "on_stderr": lambda text: self.on_output(point, "stderr", text),
        }

    def _call(self, name: str, *arguments) -> None:
        method = getattr(self._target, name, None)
        if method is not None:
            method(*arguments)


@dataclass
class SweepOutcome:
    """The result of a sweep: the run of each started point, and whether the sweep was cut short.

    Attributes:
        plan: the plan that ran.
        sweep_id: the id shared by the sweep's runs.
        runs: point index to its `Run`. Points never started are missing.
        interrupted: True when Ctrl-C or a signal stopped the sweep.
        halted: True when --fail-fast stopped the sweep after a failure.
        errors: point index to the error that kept it from running as a
            run (a Dask task that raised). Such points have no run.
    """

    plan: SweepPlan
    sweep_id: str
    runs: dict = field(default_factory=dict)
    interrupted: bool = False
    halted: bool = False
    errors: dict = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """True when every point ran and completed."""
        complete = len(self.runs) == len(self.plan)
        return complete and all(run.status == "completed" for run in self.runs.values())

    def ordered_runs(self) -> list:
        """Return the started runs in plan order."""
        return [self.runs[index] for index in sorted(self.runs)]


def run_local(script, plan: SweepPlan, run_options: dict, *, sweep_id: str, jobs: int = 1,
              fail_fast: bool = False, observer: Observer | None = None,
              stop_requested: threading.Event | None = None) -> SweepOutcome:
    """Run every point of `plan` as a run of `script`, at most `jobs` at a time.

    Args:
        script: the script path.
        plan: the points to run.
        run_options: keyword arguments of `start()` shared by every point.
        sweep_id: recorded as each run's `sweep_id`.
        jobs: how many points run at once (1 or more).
        fail_fast: stop the running points and launch no more after the
            first failed one.
        observer: receives start, output and finish events.
        stop_requested: set from another thread or a signal handler to stop
            the sweep. KeyboardInterrupt in the calling thread does the same.

    Returns:
        The outcome. After a stop, the running points are stopped (their runs
        end as interrupted) and waited for before this returns.
    """
    from cascade_core.run import start

    observer = observer or Observer()
    stop_requested = stop_requested or threading.Event()
    outcome = SweepOutcome(plan, sweep_id)
    pending = deque(plan.points)
    running: dict[int, tuple[Point, object]] = {}

    try:
        while (pending or running) and not stop_requested.is_set():
            while pending and len(running) < jobs:
                point = pending.popleft()
                run = start(script, *point.tokens, sweep_id=sweep_id, **run_options, **observer.output_callbacks(point))
                logger.info("Sweep %s: started run %s for point %s", sweep_id, run.id, point.label)
                running[point.index] = (point, run)
                outcome.runs[point.index] = run
                observer.on_start(point, run)

            if _collect_finished(running, observer) and fail_fast:
                outcome.halted = True
                break
            observer.on_poll()
            stop_requested.wait(POLL_INTERVAL)
    except KeyboardInterrupt:
        stop_requested.set()
    finally:
        outcome.interrupted = stop_requested.is_set() and not outcome.halted
        _stop_all(running, observer)
    return outcome


def _collect_finished(running: dict, observer: Observer) -> bool:
    """Remove the finished points from `running` and return whether one of them failed."""
    failed = False
    for index, (point, run) in list(running.items()):
        if run.poll() is None:
            continue
        del running[index]
        logger.info("Sweep point %s: run %s ended as %s", point.label, run.id, run.status)
        observer.on_finish(point, run)
        failed = failed or run.status != "completed"
    return failed


def _stop_all(running: dict, observer: Observer) -> None:
    """Stop every running point at once, wait for each, and report it finished."""
    if not running:
        return

    logger.info("Stopping %d running sweep points", len(running))
    for _, run in running.values():
        run.stop()

    # Polling, not wait(), so the observer goes on consuming output while the runs stop.
    for point, run in running.values():
        while run.poll() is None:
            observer.on_poll()
            time.sleep(POLL_INTERVAL)
        observer.on_finish(point, run)
    running.clear()
