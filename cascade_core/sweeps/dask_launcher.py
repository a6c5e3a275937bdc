"""Running the points of a sweep on a Dask distributed cluster.

Each point is one task. On a worker, the task starts the point as a normal
run (`cascade_core.start`) in the same run store. So the store must be on a
filesystem that the client and every worker share, at the same path.
While its run goes on, the task watches a `distributed.Event` named after
the sweep id and stops the run when the client sets it. Cancelling a future
cannot stop a task that is already running, so the event is what Ctrl-C
and --fail-fast use.

The client shows each run's output by following its log file on the shared
filesystem, prefixed like local output, with both streams merged.
"""

from __future__ import annotations

import codecs
import contextlib
import logging
import queue
import signal
import threading
from pathlib import Path

from cascade_core.sweeps.executor import Observer, SweepOutcome
from cascade_core.sweeps.plan import SweepPlan

logger = logging.getLogger(__name__)

POLL_INTERVAL = 0.1
"""Seconds between two checks of the futures by the client."""

STOP_CHECK_INTERVAL = 0.5
"""Seconds a worker-side task waits on the stop event before polling its run again."""

STOP_TIMEOUT = 120.0
"""Seconds the client waits for running tasks to end after setting the stop event."""

STARTED_TOPIC = "cascade-sweep-started"
"""Worker event topic of the run-started notices: {"sweep_id", "index", "path"}."""


def stop_event_name(sweep_id: str) -> str:
    """Return the name of the `distributed.Event` that stops the sweep's running points."""
    return f"cascade-sweep-stop-{sweep_id}"


def run_point_task(script: str, tokens: tuple, run_options: dict, sweep_id: str, index: int) -> dict:
    """Run one point on a Dask worker, stopping it when the sweep's stop event is set.

    Returns:
        `{"index", "path", "status"}`. `path` is None when the stop event was
        set before the point started.
    """
    import distributed

    from cascade_core.run import start

    stop = distributed.Event(stop_event_name(sweep_id))
    if stop.is_set():
        return {"index": index, "path": None, "status": None}

    run = start(script, *tokens, sweep_id=sweep_id, **run_options)
    distributed.get_worker().log_event(STARTED_TOPIC, {"sweep_id": sweep_id, "index": index, "path": str(run.path)})
    while run.poll() is None:
        if stop.wait(timeout=STOP_CHECK_INTERVAL):
            logger.info("Sweep %s stopped: stopping run %s", sweep_id, run.id)
            run.stop()
            break
    run.wait()
    return {"index": index, "path": str(run.path), "status": run.status}


def run_dask(script, plan: SweepPlan, run_options: dict, *, sweep_id: str, jobs: int = 1,
             fail_fast: bool = False, observer: Observer | None = None,
             stop_requested: threading.Event | None = None, address: str | None = None) -> SweepOutcome:
    """Run every point of `plan` on a Dask cluster.

    `run_local` documents the shared arguments.

    Args:
        address: the scheduler's address. Without one, a local cluster of
            `jobs` worker processes (one thread each, no more than there are
            points) on 127.0.0.1 runs the sweep and is closed at the end.
            With one, at most `jobs` points are submitted at once when
            `jobs` is above 1. Otherwise all are, and the cluster's worker
            threads decide how many run at once.

    Raises:
        MissingDependencyError: when `distributed` is not installed.
    """
    from cascade_core import store
    from cascade_core.errors import require

    distributed = require("distributed", "dask")
    observer = observer or Observer()
    stop_requested = stop_requested or threading.Event()
    script = str(Path(script).resolve())
    options = {**run_options, "root": str(store.find_root(run_options.get("root")).resolve())}
    limit = jobs if address is not None and jobs > 1 else len(plan)

    with _connect(distributed, address, min(jobs, max(len(plan), 1))) as client:
        sweep = _DaskSweep(client, distributed, plan, sweep_id, observer)
        return sweep.run(script, options, limit, fail_fast, stop_requested)


def _connect(distributed, address: str | None, jobs: int):
    """Return a client of the cluster at `address`, or of a new local cluster that closes with it."""
    if address is not None:
        logger.info("Connecting to the Dask scheduler at %s", address)
        return distributed.Client(address)

    logger.info("Starting a local Dask cluster of %d worker processes", jobs)
    with _terminal_signals_ignored():
        cluster = distributed.LocalCluster(
            n_workers=jobs,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
            silence_logs=logging.ERROR,
        )
    client = distributed.Client(cluster)
    return _ClusterClient(client, cluster)


@contextlib.contextmanager
def _terminal_signals_ignored():
    """Ignore SIGINT and SIGHUP while local workers start, so that they inherit the ignoring.

    The workers share the terminal's process group, so Ctrl-C in a terminal
    reaches them too. A worker killed by it would leave its runs unstopped
    and its tasks unfinished. This way only the client handles Ctrl-C, and
    it stops the runs through the stop event.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    names = [name for name in ("SIGINT", "SIGHUP") if hasattr(signal, name)]
    previous = {name: signal.signal(getattr(signal, name), signal.SIG_IGN) for name in names}
    try:
        yield
    finally:
        for name, handler in previous.items():
            signal.signal(getattr(signal, name), handler)


class _ClusterClient:
    """A client that closes its local cluster when the `with` block ends."""

    def __init__(self, client, cluster):
        self._client = client
        self._cluster = cluster

    def __enter__(self):
        return self._client

    def __exit__(self, *exc_info) -> None:
        self._client.close()
        self._cluster.close()


class _DaskSweep:
    """The client side of one sweep: submitting, watching, following logs, stopping."""

    def __init__(self, client, distributed, plan: SweepPlan, sweep_id: str, observer: Observer):
        self._client = client
        self._distributed = distributed
        self._plan = plan
        self._sweep_id = sweep_id
        self._observer = observer
        self._outcome = SweepOutcome(plan, sweep_id)
        self._started: queue.SimpleQueue = queue.SimpleQueue()
        self._logs: dict[int, _LogFollower] = {}
        self._finished: set[int] = set()

    def run(self, script: str, options: dict, limit: int, fail_fast: bool, stop_requested: threading.Event) -> SweepOutcome:
        """Submit the points, at most `limit` at a time, and collect them until done or stopped."""
        stop_event = self._distributed.Event(stop_event_name(self._sweep_id), client=self._client)
        self._client.subscribe_topic(STARTED_TOPIC, self._on_started_event)
        pending = list(reversed(self._plan.points))
        in_flight: dict = {}

        try:
            while (pending or in_flight) and not stop_requested.is_set():
                while pending and len(in_flight) < limit:
                    point = pending.pop()
                    future = self._client.submit(
                        run_point_task, script, point.tokens, options, self._sweep_id, point.index, pure=False
                    )
                    in_flight[future] = point

                self._report_progress()
                if self._collect(in_flight) and fail_fast:
                    self._outcome.halted = True
                    break
                self._observer.on_poll()
                stop_requested.wait(POLL_INTERVAL)
        except KeyboardInterrupt:
            stop_requested.set()
        finally:
            self._outcome.interrupted = stop_requested.is_set() and not self._outcome.halted
            self._stop(stop_event, in_flight)
            self._client.unsubscribe_topic(STARTED_TOPIC)
        return self._outcome

    def _on_started_event(self, event) -> None:
        # Called on the client's event loop thread: hand over to the sweep's thread.
        _, message = event
        if isinstance(message, dict) and message.get("sweep_id") == self._sweep_id:
            self._started.put(message)

    def _report_progress(self) -> None:
        """Report the runs that started since the last call, and their new log lines."""
        from cascade_core.run import Run

        while not self._started.empty():
            message = self._started.get()
            point = self._plan.points[message["index"]]
            if point.index not in self._finished:
                self._begin(point, Run.load(message["path"]))

        for index, follower in self._logs.items():
            text = follower.read_new()
            if text:
                self._observer.on_output(self._plan.points[index], "stdout", text)

    def _begin(self, point, run) -> None:
        self._outcome.runs[point.index] = run
        self._logs[point.index] = _LogFollower(run.path)
        self._observer.on_start(point, run)

    def _collect(self, in_flight: dict) -> bool:
        """Record the finished tasks and return whether a point failed."""
        failed = False
        for future, point in list(in_flight.items()):
            if not future.done():
                continue
            del in_flight[future]
            failed = self._record(future, point) or failed
        return failed

    def _record(self, future, point) -> bool:
        from cascade_core.run import Run

        try:
            result = future.result()
        except Exception as exc:  # a task error is the point's failure, not the sweep's
            logger.error("Sweep %s: point %s failed on its worker: %s", self._sweep_id, point.label, exc)
            self._outcome.errors[point.index] = f"{type(exc).__name__}: {exc}"
            return True
        if result["path"] is None:
            return False

        self._report_progress()
        run = Run.load(result["path"])
        if point.index not in self._logs:
            self._begin(point, run)
        self._outcome.runs[point.index] = run
        self._finished.add(point.index)

        text = self._logs.pop(point.index).read_new(final=True)
        if text:
            self._observer.on_output(point, "stdout", text)
        self._observer.on_finish(point, run)
        return run.status != "completed"

    def _stop(self, stop_event, in_flight: dict) -> None:
        """Set the stop event and wait for the tasks in flight to stop their runs and return."""
        if not in_flight:
            return

        logger.info("Sweep %s: stopping %d points in flight on Dask", self._sweep_id, len(in_flight))
        stop_event.set()
        try:
            self._distributed.wait(list(in_flight), timeout=STOP_TIMEOUT)
        except TimeoutError:
            pass  # the tasks still in flight are cancelled below
        self._collect(in_flight)
        if in_flight:
            logger.warning("Sweep %s: %d points did not stop in time; cancelling them", self._sweep_id, len(in_flight))
            self._client.cancel(list(in_flight))


class _LogFollower:
    """Reader of the lines that a run's log file gained since the last read."""

    def __init__(self, run_path: Path):
        from cascade_core import store

        self._path = run_path / store.LOG_FILE
        self._position = 0
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._pending = ""

    def read_new(self, final: bool = False) -> str:
        """Return the complete new lines (all new text when `final`)."""
        try:
            with open(self._path, "rb") as log:
                log.seek(self._position)
                data = log.read()
        except FileNotFoundError:
            return ""

        self._position += len(data)
        text = self._pending + self._decoder.decode(data, final=final)
        if final:
            self._pending = ""
            return text
        lines, newline, self._pending = text.rpartition("\n")
        return lines + newline
