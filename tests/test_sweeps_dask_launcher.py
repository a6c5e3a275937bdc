"""Tests of sweeps on Dask: a local cluster, and a scheduler and workers started here on 127.0.0.1."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from kernel_helpers import process_gone, wait_until
from sweep_helpers import DEADLINE, SLEEPER, cascade_run, read_json, run_folders, start_sweep

pytest.importorskip("distributed")

pytestmark = pytest.mark.slow

TRAIN = """\
import os

from cascade_core import log_metric

K = 0
print("k", K, "pid", os.getpid())
log_metric("score", K * 10)
"""



@pytest.fixture
def project(tmp_path, monkeypatch):
    (tmp_path / "train.py").write_text(TRAIN)
    (tmp_path / "sleeper.py").write_text(SLEEPER)
    monkeypatch.delenv("CASCADE_ROOT", raising=False)
    return tmp_path


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """A `dask scheduler` and a `dask worker` (2 processes, 1 thread each) on 127.0.0.1; yields
    the scheduler address and the worker's process."""
    folder = tmp_path_factory.mktemp("dask")
    scheduler_file = folder / "scheduler.json"
    dask = [sys.executable, "-m", "distributed.cli.dask_scheduler"]
    scheduler = subprocess.Popen(
        [*dask, "--host", "127.0.0.1", "--port", "0", "--no-dashboard", "--scheduler-file", str(scheduler_file)],
        cwd=folder, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    worker = None
    try:
        address = _wait_for_address(scheduler_file)
        worker = subprocess.Popen(
            [sys.executable, "-m", "distributed.cli.dask_worker", address, "--host", "127.0.0.1",
             "--nworkers", "2", "--nthreads", "1", "--no-dashboard"],
            cwd=folder, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        _wait_for_workers(address, 2)
        yield address, worker
    finally:
        for process in (worker, scheduler):
            if process is not None:
                process.terminate()
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()


def _wait_for_address(scheduler_file: Path) -> str:
    deadline = time.monotonic() + DEADLINE
    while time.monotonic() < deadline:
        if scheduler_file.exists():
            try:
                return json.loads(scheduler_file.read_text())["address"]
            except (ValueError, KeyError):
                pass
        time.sleep(0.2)
    raise AssertionError("the Dask scheduler did not write its address in time")


def _wait_for_workers(address: str, count: int) -> None:
    import distributed

    with distributed.Client(address, timeout=DEADLINE) as client:
        client.wait_for_workers(count, timeout=DEADLINE)




def test_dask_local_cluster_sweep(project):
    result = cascade_run(project, "train.py", "-m", "--K", "1,2", "-y", "-j", "2", "--launcher", "dask")

    assert result.returncode == 0, result.stderr
    folders = run_folders(project)
    assert len(folders) == 2
    metas = [read_json(folder / "cascade_run_meta.json") for folder in folders]
    assert [meta["status"] for meta in metas] == ["completed", "completed"]
    assert len({meta["sweep_id"] for meta in metas}) == 1
    by_k = {read_json(folder / "cascade_overrides.json")["K"]: folder for folder in folders}
    assert sorted(by_k) == [1, 2]
    assert (by_k[2] / "logs" / "cascade_run.log").read_text().startswith("k 2 pid ")
    assert "[K=1] k 1 pid " in result.stdout
    assert "[K=2] k 2 pid " in result.stdout
    assert "2 completed" in result.stdout


def test_dask_address_runs_on_workers(project, cluster):
    address, worker = cluster

    result = cascade_run(project, "train.py", "-m", "--K", "0,1,2", "-y", "--launcher", "dask",
                         "--dask-address", address)

    assert result.returncode == 0, result.stderr
    folders = run_folders(project)
    assert len(folders) == 3
    worker_processes = _descendants(worker.pid)
    for folder in folders:
        meta = read_json(folder / "cascade_run_meta.json")
        assert meta["status"] == "completed"
        assert meta["runner_pid"] in worker_processes
    scores = sorted(json.loads((folder / "metrics.jsonl").read_text())["value"] for folder in folders)
    assert scores == [0, 10, 20]
    assert "3 completed" in result.stdout


def test_dask_stop_signal_stops_running_points(project, cluster):
    address, worker = cluster
    runner, children = start_sweep(project, "sleeper.py", "-m", "--K", "range(4)", "-y", "--launcher", "dask",
                                   "--dask-address", address)

    runner.send_signal(signal.SIGINT)
    stdout, stderr = runner.communicate(timeout=DEADLINE)

    assert runner.returncode == 130, stderr
    folders = run_folders(project)
    assert len(folders) == 2
    metas = [read_json(folder / "cascade_run_meta.json") for folder in folders]
    assert [meta["status"] for meta in metas] == ["interrupted", "interrupted"]
    assert "2 interrupted, 2 not started" in stdout
    for pid in [*(meta["pid"] for meta in metas), *children]:
        assert wait_until(lambda: process_gone(pid), timeout=5)
    assert worker.poll() is None


def test_dask_task_skips_after_stop_event(project, cluster):
    import distributed

    from cascade_core.sweeps.dask_launcher import run_point_task, stop_event_name

    address, _ = cluster
    options = {"root": str(project / "store")}
    with distributed.Client(address) as client:
        distributed.Event(stop_event_name("sweep-a"), client=client).set()
        future = client.submit(run_point_task, str(project / "train.py"), ("--K", "5"), options, "sweep-a", 0,
                               pure=False)
        result = future.result(timeout=DEADLINE)

    assert result == {"index": 0, "path": None, "status": None}
    assert run_folders(project) == []


def test_dask_missing_package_message(project):
    code = (
        "import sys; sys.modules['distributed'] = None; "
        "from cascade_core.cli import main; main()"
    )
    command = [sys.executable, "-c", code, "run", "--root", str(project / "store"), "train.py", "-m",
               "--K", "1,2", "-y", "--launcher", "dask"]

    result = subprocess.run(command, cwd=project, capture_output=True, text=True, stdin=subprocess.DEVNULL,
                            timeout=DEADLINE)

    assert result.returncode == 1
    assert "pip install 'cascade-ext[dask]'" in result.stderr
    assert "Traceback" not in result.stderr
    assert run_folders(project) == []


def test_dask_address_needs_dask_launcher(project):
    result = cascade_run(project, "train.py", "-m", "--K", "1,2", "-y", "--dask-address", "tcp://127.0.0.1:1")

    assert result.returncode == 1
    assert (
        "Error: A Dask address ('tcp://127.0.0.1:1') was given with the 'local' launcher: "
        "add --launcher dask to run the sweep on that cluster\n"
    ) in result.stderr
    assert run_folders(project) == []


def _descendants(pid: int) -> set[int]:
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, stack = set(), [pid]
    while stack:
        for child in children.get(stack.pop(), []):
            found.add(child)
            stack.append(child)
    return found


def test_dask_task_error_recorded(project, cluster):
    from cascade_core.discovery import discover
    from cascade_core.sweeps.dask_launcher import run_dask
    from cascade_core.sweeps.plan import plan_sweep
    from cascade_core.sweeps.summary import format_summary

    address, _ = cluster
    plan = plan_sweep(discover(project / "train.py"), ["--K", "1,2"])
    # A script that exists on the client but not at that path on the workers.
    missing = project / "elsewhere" / "train.py"

    outcome = run_dask(missing, plan, {"root": str(project / "store")}, sweep_id="sweep-error", address=address)

    assert outcome.runs == {}
    assert sorted(outcome.errors) == [0, 1]
    assert outcome.errors[0].startswith("ScriptNotFoundError: ")
    assert not outcome.ok
    assert format_summary(outcome).splitlines()[-1] == "2 error"
    assert run_folders(project) == []


def test_dask_local_cluster_terminal_interrupt(project):
    # A terminal's Ctrl-C reaches the whole foreground process group, the
    # local cluster's worker processes included.
    runner, children = start_sweep(project, "sleeper.py", "-m", "--K", "range(4)", "-y", "-j", "2",
                                   "--launcher", "dask")

    os.killpg(runner.pid, signal.SIGINT)
    stdout, stderr = runner.communicate(timeout=DEADLINE)

    assert runner.returncode == 130, stderr
    metas = [read_json(folder / "cascade_run_meta.json") for folder in run_folders(project)]
    assert [meta["status"] for meta in metas] == ["interrupted", "interrupted"]
    assert "2 interrupted, 2 not started" in stdout
    for pid in [*(meta["pid"] for meta in metas), *children]:
        assert wait_until(lambda: process_gone(pid), timeout=5)
