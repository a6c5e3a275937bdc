"""The sweep entry points shared by the CLI, the notebook and Python code."""

from __future__ import annotations

import logging
import threading

from cascade_core.errors import SweepError
from cascade_core.sweeps.executor import Observer, SweepOutcome, run_local
from cascade_core.sweeps.plan import SweepPlan, plan_sweep

logger = logging.getLogger(__name__)

LAUNCHERS = ("local", "dask")

# start() options that change what a point's prepared run looks like.
_PREPARE_OPTIONS = ("base", "force", "argv", "root")


def prepare_sweep(script, tokens, run_options: dict | None = None) -> SweepPlan:
    """Plan a sweep of `script` and check every point as `start()` would, without running anything.

    Raises:
        ScriptNotFoundError: when the script does not exist.
        OverrideError: when a point's overrides are invalid (SweepError for
            an invalid sweep value).
    """
    from cascade_core.discovery import discover

    plan = plan_sweep(discover(script), tokens)
    check_points(script, plan, run_options)
    return plan


def check_points(script, plan: SweepPlan, run_options: dict | None = None) -> None:
    """Prepare each point's run as `start()` would (base, rewrite), so bad input raises before any run."""
    from cascade_core.run import prepare

    checked = {key: value for key, value in (run_options or {}).items() if key in _PREPARE_OPTIONS}
    for point in plan.points:
        prepare(script, *point.tokens, **checked)


def execute(script, plan: SweepPlan, run_options: dict, *, jobs: int = 1, launcher: str = "local",
            dask_address: str | None = None, fail_fast: bool = False, observer=None,
            stop_requested: threading.Event | None = None) -> SweepOutcome:
    """Run a planned sweep with a new sweep id.

    `run_local` documents the arguments.

    Raises:
        SweepError: when `jobs`, `launcher` or `dask_address` is invalid.
        MissingDependencyError: when the Dask launcher is chosen and
            `distributed` is not installed.
    """
    check_launch_options(jobs, launcher, dask_address)
    from cascade_core import store

    sweep_id = store.new_run_id()
    observer = observer if isinstance(observer, Observer) else Observer(observer)
    logger.info("Sweep %s: %d points, launcher %s, %d at once", sweep_id, len(plan), launcher, jobs)
    arguments = dict(sweep_id=sweep_id, jobs=jobs, fail_fast=fail_fast, observer=observer, stop_requested=stop_requested)
    if launcher == "dask":
        from cascade_core.sweeps.dask_launcher import run_dask

        outcome = run_dask(script, plan, run_options, address=dask_address, **arguments)
    else:
        outcome = run_local(script, plan, run_options, **arguments)

    logger.info("Sweep %s ended: %d of %d points ran", sweep_id, len(outcome.runs), len(plan))
    return outcome


def check_launch_options(jobs: int, launcher: str, dask_address: str | None) -> None:
    """Raise SweepError for an invalid job count, launcher or Dask address.

    Raises MissingDependencyError when the Dask launcher is chosen and
    `distributed` is not installed.
    """
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
        raise SweepError(f"Invalid number of jobs {jobs!r}: expected an integer of 1 or more, for example -j 4")
    if launcher not in LAUNCHERS:
        raise SweepError(f"Unknown launcher {launcher!r}: expected 'local' or 'dask', for example --launcher dask")
    if dask_address is not None and launcher != "dask":
        raise SweepError(
            f"A Dask address ({dask_address!r}) was given with the {launcher!r} launcher: "
            "add --launcher dask to run the sweep on that cluster"
        )
    if launcher == "dask":
        from cascade_core.errors import require

        require("distributed", "dask")


def multirun(script, *overrides, jobs: int = 1, launcher: str = "local", dask_address: str | None = None,
             fail_fast: bool = False, observer=None, **run_options) -> list:
    """Run a sweep of `script` and return its runs in plan order.

    In [1]: runs = multirun("train.py", "--lr", "1e-3,1e-4", "--bs", "16,32", jobs=2)

    Args:
        script: the script path.
        *overrides: override tokens after SCRIPT, with sweep values such as
            `"1,2,3"`, `"range(1, 4)"`, `"linspace(0, 1, 5)"`,
            `"logspace(-5, -1, 5)"` or `"choice(adam, sgd)"`.
        jobs: how many points run at once (local launcher and local Dask
            cluster).
        launcher: "local" or "dask".
        dask_address: a Dask scheduler address. Without one, the Dask
            launcher starts a local cluster.
        fail_fast: stop the running points and launch no more after the
            first failure.
        observer: an object with any of `on_start(point, run)`,
            `on_output(point, stream, text)`, `on_finish(point, run)`.
        **run_options: `start()` options shared by every point (name, tags,
            base, force, no_log, chdir, root, argv, env).

    Returns:
        The runs of the points that started, in plan order. A failed run is
        returned like any other, so check `run.status`.

    Raises:
        OverrideError: when the overrides or sweep values are invalid
            (nothing is run).
        KeyboardInterrupt: after an interrupt has stopped every running point.
    """
    check_launch_options(jobs, launcher, dask_address)
    plan = prepare_sweep(script, overrides, run_options)
    outcome = execute(script, plan, run_options, jobs=jobs, launcher=launcher, dask_address=dask_address,
                      fail_fast=fail_fast, observer=observer)
    if outcome.interrupted:
        raise KeyboardInterrupt
    return outcome.ordered_runs()
