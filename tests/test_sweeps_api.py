"""Tests of the sweep entry points for Python code: multirun, prepare_sweep, option checks."""

from __future__ import annotations

import _thread
import threading

import pytest

from cascade_core.errors import ConfigFileError, OverrideError, ScriptNotFoundError, SweepError
from cascade_core.sweeps.api import check_launch_options, multirun, prepare_sweep

SCRIPT = """\
import time

SEED = 0
WAIT = 0.0
print("seed", SEED)
time.sleep(WAIT)
"""


@pytest.fixture
def script(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("CASCADE_ROOT", raising=False)
    path = tmp_path / "seed.py"
    path.write_text(SCRIPT)
    return path


def run_folders(script) -> list:
    runs = script.parent / "store" / "runs"
    return sorted(runs.iterdir()) if runs.exists() else []


def test_multirun_returns_runs_in_order(script):
    runs = multirun(script, "--SEED", "range(1, 5)", jobs=2, root=str(script.parent / "store"), name="grid",
                    tags=("sweep",))

    assert [run.overrides for run in runs] == [{"SEED": 1}, {"SEED": 2}, {"SEED": 3}, {"SEED": 4}]
    assert [run.log_text() for run in runs] == ["seed 1\n", "seed 2\n", "seed 3\n", "seed 4\n"]
    assert {run.meta["sweep_id"] for run in runs} != {None}
    assert len({run.meta["sweep_id"] for run in runs}) == 1
    assert [run.name for run in runs] == ["grid"] * 4
    assert [run.tags for run in runs] == [["sweep"]] * 4


def test_multirun_observer_events(script):
    seen = []

    class Observer:
        def on_finish(self, point, run):
            seen.append((point.label, run.status))

    multirun(script, "--SEED", "1,2", root=str(script.parent / "store"), observer=Observer())

    assert seen == [("SEED=1", "completed"), ("SEED=2", "completed")]


def test_multirun_interrupt_raised_after_stop(script):
    started = threading.Event()

    class Observer:
        def on_start(self, point, run):
            started.set()

    threading.Thread(target=lambda: started.wait(60) and _thread.interrupt_main(), daemon=True).start()
    with pytest.raises(KeyboardInterrupt):
        multirun(script, "--SEED", "1,2", "--WAIT", "60", root=str(script.parent / "store"), observer=Observer())

    folders = run_folders(script)
    assert len(folders) == 1
    assert '"status": "interrupted"' in (folders[0] / "cascade_run_meta.json").read_text()


def test_multirun_bad_point_runs_nothing(script):
    with pytest.raises(OverrideError, match=r"SEED"):
        multirun(script, "--SEED", "1,x", root=str(script.parent / "store"))

    assert run_folders(script) == []


def test_prepare_sweep_checks_base(script):
    with pytest.raises(ConfigFileError):
        prepare_sweep(script, ["--SEED", "1,2"], {"base": str(script.parent / "missing.yaml")})


def test_prepare_sweep_missing_script(tmp_path):
    with pytest.raises(ScriptNotFoundError):
        prepare_sweep(tmp_path / "nope.py", ["--SEED", "1,2"])


@pytest.mark.parametrize(
    ("jobs", "launcher", "address", "message"),
    [
        pytest.param(0, "local", None, r"Invalid number of jobs 0: expected an integer of 1 or more, for example -j 4",
                     id="zero-jobs"),
        pytest.param(True, "local", None, r"Invalid number of jobs True", id="bool-jobs"),
        pytest.param(2, "ssh", None, r"Unknown launcher 'ssh': expected 'local' or 'dask', for example --launcher dask",
                     id="unknown-launcher"),
        pytest.param(1, "local", "tcp://127.0.0.1:8786",
                     r"A Dask address \('tcp://127\.0\.0\.1:8786'\) was given with the 'local' launcher: "
                     r"add --launcher dask to run the sweep on that cluster", id="address-without-dask"),
    ],
)
def test_check_launch_options_invalid(jobs, launcher, address, message):
    with pytest.raises(SweepError, match=message):
        check_launch_options(jobs, launcher, address)


def test_multirun_exported_from_package():
    import cascade_core

    assert cascade_core.multirun is multirun
