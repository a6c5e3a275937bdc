"""The run handle: `start()` launches a tracked run, `run()` waits for it, `Run` follows or reads it back.

A run goes through three steps:

1. `prepare()` (in `cascade_core.runplan`) reads the script's config
   statically, checks the overrides and builds the source that will run.
   Bad input raises here, before any run folder exists.
2. `launch()` creates the run folder, records config, overrides and
   metadata, and starts the child with its output captured.
3. A waiter thread refreshes the heartbeat while the child runs, and when it
   exits stops what is left of its session, finishes the log and records
   the final status.
"""

from __future__ import annotations

import logging
import os
import shutil
import platform
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Mapping

from cascade_core import store
from cascade_core.errors import RunError, RunTimeoutError
from cascade_core.metrics import RUN_DIR_ENV, RUN_ID_ENV
from cascade_core.runplan import LaunchPlan, is_expression, prepare

__all__ = ["LaunchPlan", "Run", "launch", "prepare", "run", "start"]

logger = logging.getLogger(__name__)

READER_DRAIN_TIMEOUT = 2.0
"""Seconds to keep reading output after the run's processes are gone (a detached process may hold the pipes)."""

ENVIRONMENT_TIMEOUT = 30.0
"""Seconds the end of a run waits for `environment.json` to be written."""

EXIT_STOP_TIMEOUT = 10.0
"""Seconds the interpreter's exit waits for each run it stops (see `_stop_live_runs`)."""


# Launching -----------------------------------------------------------------


def start(script, *overrides, name=None, tags=(), base=None, force=False, no_log=False, chdir=False,
          root=None, argv=(), sweep_id=None, on_stdout=None, on_stderr=None, on_exit=None, env=None,
          interactive=False) -> "Run":
    """Start a tracked run of `script` and return its running `Run` at once.

    Args:
        script: Path of the script.
        *overrides: CLI tokens (`"--lr", "0.1"`) or one mapping of typed
            values (`{"lr": 0.1}`), checked by the same rules. Tokens after
            a bare `"--"` go to the script's `sys.argv`.
        name: A name for the run.
        tags: Tags for the run.
        base: A run reference or config file whose values go under the overrides.
        force: With `base`, add keys the script does not define.
        no_log: Keep no `logs/cascade_run.log` (everything else is kept).
        chdir: Run the script in the run folder instead of the current directory.
        root: The store folder (see `store.find_root`).
        argv: Extra arguments for the script's `sys.argv`.
        sweep_id: The id of the sweep this run belongs to.
        on_stdout: Called with each decoded chunk of stdout, from a reader thread.
        on_stderr: The same for stderr.
        on_exit: Called with the finished `Run`, from a waiter thread.
        env: Extra environment variables for the child (on top of `os.environ`).
        interactive: Pass this process's stdin to the child (a terminal, for
            `input()` and `breakpoint()`). Otherwise the child reads /dev/null.

    Raises:
        ScriptNotFoundError: If the script does not exist.
        OverrideError: If an override is invalid. No run folder is created.
    """
    plan = prepare(script, *overrides, base=base, force=force, argv=argv, root=root)
    return launch(plan, name=name, tags=tags, no_log=no_log, chdir=chdir, root=root, sweep_id=sweep_id,
                  on_stdout=on_stdout, on_stderr=on_stderr, on_exit=on_exit, env=env, interactive=interactive)


def run(script, *overrides, **options) -> "Run":
    """Run `script` to the end and return the finished `Run`.

    `start()` documents the arguments.

    An interrupt (Ctrl-C, a notebook's interrupt) while waiting stops the
    run, waits for it to end, and is raised again.
    """
    handle = start(script, *overrides, **options)
    handle.wait()
    return handle


def launch(plan: LaunchPlan, *, name=None, tags=(), no_log=False, chdir=False, root=None, sweep_id=None,
           on_stdout=None, on_stderr=None, on_exit=None, env=None, interactive=False,
           waiting_child=None) -> "Run":
    """Create the run folder for a prepared plan and start the child.

    `start()` documents the options. `waiting_child` is a
    `cascade_core.prespawn.WaitingChild` started earlier. It becomes the
    run's child when it fits the run. Otherwise it is cancelled and a child
    is started as usual.
    """
    store_root = store.find_root(root)
    run_id, folder = store.create_run_folder(store_root)
    try:
        _write_records(folder, plan)
        _snapshot_sources(plan.script, folder)
        handle = Run(folder)
        handle._begin(plan, name=name, tags=tuple(tags), no_log=no_log, chdir=chdir, sweep_id=sweep_id,
                      callbacks=(on_stdout, on_stderr, on_exit), env=env, interactive=interactive,
                      waiting_child=waiting_child)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return handle


def _write_records(folder: Path, plan: LaunchPlan) -> None:
    (folder / plan.source_name).write_bytes(plan.source)
    config_json, values_repr = {}, {}
    for key, value in plan.values.items():
        config_json[key] = store.to_json_value(value)
        if not is_expression(value):
            # An expression is recorded as its source text only: it is no value a rerun can force.
            values_repr[key] = repr(value)
    store.write_json(folder / store.CONFIG_FILE, config_json)
    store.write_json(folder / store.OVERRIDES_FILE, {key: store.to_json_value(v) for key, v in plan.overrides.items()})
    store.write_json(
        folder / store.VALUES_FILE,
        {"config": values_repr, "overrides": {key: repr(value) for key, value in plan.overrides.items()}},
    )


def _snapshot_sources(script: Path, folder: Path) -> None:
    try:
        from cascade_core.reruns import snapshot_sources
    except ModuleNotFoundError as exc:
        if exc.name != "cascade_core.reruns":
            raise
        return
    snapshot_sources(script, folder)


def _child_env(extra: Mapping | None, folder: Path, run_id: str, plan: LaunchPlan, record_args: bool) -> dict:
    from cascade_core import bootstrap
    from cascade_core.prespawn import interpreter_environment

    child_env = interpreter_environment(extra)
    child_env[RUN_DIR_ENV] = str(folder)
    child_env[RUN_ID_ENV] = run_id
    child_env[bootstrap.SCRIPT_FILE_ENV] = str(plan.script)
    child_env[bootstrap.SCRIPT_SOURCE_ENV] = str(folder / plan.source_name)
    child_env[bootstrap.PATCH_SPAWN_ENV] = "1" if plan.rewritten else "0"
    child_env[bootstrap.RECORD_ARGS_ENV] = "1" if record_args else "0"
    return child_env


# Runs still going when this process exits ----------------------------------

_live_runs: set = set()
_live_lock = threading.Lock()
_exit_hook_registered = False


def _track(handle: "Run") -> None:
    global _exit_hook_registered
    with _live_lock:
        _live_runs.add(handle)
        if not _exit_hook_registered:
            import atexit

            atexit.register(_stop_live_runs)
            _exit_hook_registered = True


def _untrack(handle: "Run") -> None:
    with _live_lock:
        _live_runs.discard(handle)


def _stop_live_runs() -> None:
    """Stop the runs this process started and still runs, so none is left unrecorded (an interpreter exit hook)."""
    with _live_lock:
        running = list(_live_runs)
    for handle in running:
        logger.info("Stopping run %s: the process that started it is exiting", handle.id)
        handle.stop()
    for handle in running:
        handle._done.wait(EXIT_STOP_TIMEOUT)


# The handle ----------------------------------------------------------------


class Run:
    """A tracked run, either running in this process or read back from its folder.

    Attributes:
        id: The run id, e.g. `20261204-191426-123-3fa2`.
        path: The run folder.
    """

    def __init__(self, path):
        self.path = Path(path).absolute()
        self.id = self.path.name
        self._meta: dict = {}
        self._config: dict | None = None
        self._overrides: dict | None = None
        self._lock = threading.Lock()
        self._done = threading.Event()
        self._child = None
        self._stopper = None

    @classmethod
    def load(cls, path) -> "Run":
        """Read a run back from its folder (metadata now, config and overrides when first used).

        Raises:
            RunNotFoundError: If `path` contains no readable `cascade_run_meta.json`.
        """
        from cascade_core.errors import RunNotFoundError

        handle = cls(path)
        meta = store.read_json(handle.path / store.META_FILE)
        if not isinstance(meta, dict):
            raise RunNotFoundError(f"{str(path)!r} is not a run folder: it has no readable {store.META_FILE}.")
        handle._meta = meta
        handle._meta["status"] = store.effective_status(meta)
        if meta["status"] != "running":
            handle._done.set()
        return handle

    # Recorded attributes

    @property
    def meta(self) -> dict:
        """A copy of the run's metadata, as in `cascade_run_meta.json`."""
        return dict(self._meta)

    @property
    def script(self) -> Path | None:
        script = self._meta.get("script")
        return Path(script) if script else None

    @property
    def name(self) -> str | None:
        return self._meta.get("name")

    @property
    def tags(self) -> list:
        return list(self._meta.get("tags") or [])

    @property
    def status(self) -> str:
        return self._meta.get("status", "lost")

    @property
    def returncode(self) -> int | None:
        return self._meta.get("exit_code")

    @property
    def started_at(self) -> str | None:
        return self._meta.get("started_at")

    @property
    def ended_at(self) -> str | None:
        return self._meta.get("ended_at")

    @property
    def duration(self) -> float | None:
        """Seconds from start to end, or from start until now for a running run."""
        duration = self._meta.get("duration")
        if duration is None and self._meta.get("status") == "running" and "start_time" in self._meta:
            return time.time() - self._meta["start_time"]
        return duration

    @property
    def config(self) -> dict:
        """The effective config: `Field.key` to value, defaults with overrides applied."""
        if self._config is None:
            self._read_values()
        return dict(self._config)

    @property
    def overrides(self) -> dict:
        """The overridden keys and their values."""
        if self._overrides is None:
            self._read_values()
        return dict(self._overrides)

    @property
    def metrics(self) -> dict:
        """The last logged value of each metric, read from `metrics.jsonl`."""
        from cascade_core.metrics import last_metrics

        return last_metrics(self.path)

    def log_text(self) -> str:
        """Return the log as written so far ("" when the run keeps no log)."""
        try:
            return (self.path / store.LOG_FILE).read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return ""

    def _read_values(self) -> None:
        recorded = store.read_json(self.path / store.VALUES_FILE, {}) or {}
        self._config = _restore(recorded.get("config"), store.read_json(self.path / store.CONFIG_FILE, {}))
        self._overrides = _restore(recorded.get("overrides"), store.read_json(self.path / store.OVERRIDES_FILE, {}))

    # Control

    def poll(self) -> int | None:
        """Return the exit status if the run has ended, else None."""
        if not self._done.is_set() and self._child is None:
            self._reload_meta()
        return self.returncode if self._done.is_set() else None

    def wait(self, timeout: float | None = None) -> int | None:
        """Wait for the run to end and return its exit status (128+N when a signal N ended it).

        An interrupt while waiting on a run started here stops the run,
        waits for it to end, and is raised again.

        Raises:
            RunTimeoutError: If the run is still going after `timeout` seconds.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        try:
            while not self._done.wait(0.2 if self._child is None else 0.5):
                if self._child is None:
                    self._reload_meta()
                if deadline is not None and time.monotonic() >= deadline:
                    raise RunTimeoutError(f"Run {self.id} is still {self.status} after {timeout} s.")
        except KeyboardInterrupt:
            if self._child is None:
                raise
            self._stop_after_interrupt()
            raise
        return self.returncode

    def stop(self) -> None:
        """Stop the run: SIGINT to its process group, then SIGTERM and SIGKILL after grace periods.

        Returns at once, so call `wait()` for the end. Calling it again kills at once.
        A run that is not running in this process cannot be stopped here.
        """
        if self._stopper is None:
            if self._done.is_set():
                return
            raise RunError(f"Run {self.id} was not started by this process, so it cannot be stopped from here.")
        if not self._done.is_set():
            self._stopper.request()

    def _stop_after_interrupt(self) -> None:
        self.stop()
        while True:
            try:
                self._done.wait()
                return
            except KeyboardInterrupt:
                self.stop()

    def _reload_meta(self) -> None:
        meta = store.read_json(self.path / store.META_FILE)
        if isinstance(meta, dict):
            meta["status"] = store.effective_status(meta)
            self._meta = meta
            if meta["status"] != "running":
                self._done.set()

    def __repr__(self) -> str:
        return f"<Run {self.id} {self.status}>"

    # Lifecycle (runs started in this process)

    def _begin(self, plan: LaunchPlan, *, name, tags, no_log, chdir, sweep_id, callbacks, env, interactive,
               waiting_child=None) -> None:
        from cascade_core import environment, logfile, process
        from cascade_core.bootstrap import command

        on_stdout, on_stderr, self._on_exit = callbacks
        self._config, self._overrides = dict(plan.values), dict(plan.overrides)
        self._meta = self._initial_meta(plan, name, tags, sweep_id)
        self._save_meta()

        record_args = plan.config is not None and plan.config.style == "argparse"
        self._config_from_args = record_args
        child_env = _child_env(env, self.path, self.id, plan, record_args)
        cwd = self.path if chdir else Path.cwd()
        writer = logfile.LogWriter(None if no_log else self.path / store.LOG_FILE)
        self._child = _start_child(command(plan.script_as_given, plan.args), cwd, child_env, interactive,
                                   waiting_child, plan.script)
        self._exited = threading.Event()
        self._stopper = process.Stopper(self._child, self._exited)
        self._capture = logfile.Capture(self._child.stdout, self._child.stderr, writer, on_stdout, on_stderr)
        self._writer = writer
        self._capture.start()

        self._meta["pid"] = self._child.pid
        self._save_meta()
        _track(self)
        logger.info("Run %s started: %s (pid %d)", self.id, plan.script, self._child.pid)
        self._environment = environment.write_in_background(self.path, plan.script)
        threading.Thread(target=self._watch, name=f"cascade-run-{self.id}", daemon=True).start()

    def _initial_meta(self, plan: LaunchPlan, name, tags, sweep_id) -> dict:
        now = time.time()
        return {
            "run_id": self.id,
            "script": str(plan.script),
            "argv": [plan.script_as_given, *plan.args],
            "cwd": str(Path.cwd()),
            "status": "running",
            "started_at": store.utc_timestamp(now),
            "ended_at": None,
            "duration": None,
            "exit_code": None,
            "pid": None,
            "host": platform.node(),
            "python": sys.version.split()[0],
            "python_executable": sys.executable,
            "base": plan.base,
            "sweep_id": sweep_id,
            "name": name,
            "tags": list(tags),
            "overrides": list(plan.overrides),
            "start_time": now,
            "heartbeat": now,
            "runner_pid": os.getpid(),
            "runner_start_time": store.process_start_time(os.getpid()),
        }

    def _save_meta(self) -> None:
        with self._lock:
            store.write_json(self.path / store.META_FILE, self._meta)

    def _watch(self) -> None:
        """Wait for the child, refreshing the heartbeat, then clean up and record the end."""
        import subprocess

        from cascade_core import process

        while True:
            try:
                status = process.wait_child(self._child, store.HEARTBEAT_INTERVAL)
                break
            except subprocess.TimeoutExpired:
                self._meta["heartbeat"] = time.time()
                self._save_meta()

        self._exited.set()
        process.clear_session(self._child.pid)
        if not self._capture.join(READER_DRAIN_TIMEOUT):
            logger.warning("Run %s: output pipes still open after the run ended (a detached process?)", self.id)
            self._capture.abandon()
        self._writer.close()
        self._environment.join(ENVIRONMENT_TIMEOUT)
        self._finish(status)

    def _finish(self, status: int) -> None:
        exit_code = 128 - status if status < 0 else status
        now = time.time()
        if self._stopper.requested or status == -signal.SIGINT:
            final_status = "interrupted"
        elif exit_code == 0:
            final_status = "completed"
        else:
            final_status = "failed"
        if self._config_from_args:
            self._config = None  # the child recorded what its parser returned
        self._meta.update(
            status=final_status,
            exit_code=exit_code,
            ended_at=store.utc_timestamp(now),
            duration=round(now - self._meta["start_time"], 3),
            heartbeat=now,
        )
        self._save_meta()
        logger.info("Run %s %s: exit code %d after %.1f s", self.id, self.status, exit_code, self.duration)
        self._done.set()
        _untrack(self)
        if self._on_exit is not None:
            try:
                self._on_exit(self)
            except Exception:  # the run is recorded already, so a broken callback must not hide that
                logger.exception("on_exit callback of run %s failed", self.id)


def _start_child(child_command, cwd, child_env, interactive, waiting_child, script):
    """Release `waiting_child` for this run when it fits, else cancel it and start a new child."""
    from cascade_core import process

    if waiting_child is not None:
        if waiting_child.fits(child_command, child_env, interactive):
            process.enable_subreaper()
            child = waiting_child.release(child_command, cwd, child_env)
            if child is not None:
                return child
            logger.info("The waiting child of the run of %s had exited; starting a new one", script)
        waiting_child.cancel()

    try:
        return process.launch(child_command, cwd, child_env, interactive)
    except OSError as exc:
        raise RunError(f"Cannot start the run of {script}: {sys.executable} failed to start ({exc}).") from exc


def _restore(recorded: object, fallback: object) -> dict:
    """Rebuild typed values from `repr()` texts, falling back to the JSON record for keys that do not parse."""
    from cascade_core.recorded import literal_value
    from cascade_core.errors import RecordedValueError

    values = dict(fallback) if isinstance(fallback, dict) else {}
    for key, text in (recorded or {}).items() if isinstance(recorded, dict) else ():
        try:
            values[key] = literal_value(text, key)
        except RecordedValueError:
            continue
    return values
