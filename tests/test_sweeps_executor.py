"""Tests of the local sweep executor with real runs: events, job limit, stops and fail-fast."""

from __future__ import annotations

import _thread
import threading

import pytest

from cascade_core.discovery import discover
from cascade_core.sweeps.executor import Observer, run_local
from cascade_core.sweeps.plan import plan_sweep

SCRIPT = """\
import sys
import time

K = 0
WAIT = 0.0
print("k", K)
print("e", K, file=sys.stderr)
time.sleep(WAIT)
if K < 0:
    raise SystemExit(1)
"""


class Recorder:
    """Records sweep events and the largest number of points running at once."""

    def __init__(self):
        self.events = []
        self.running = 0
        self.max_running = 0
        self.output = {}
        self.started = threading.Event()
        self._lock = threading.Lock()

    def on_start(self, point, run):
        self.events.append(("start", point.index))
        self.running += 1
        self.max_running = max(self.max_running, self.running)
        self.started.set()

    def on_output(self, point, stream, text):
        with self._lock:
            self.output.setdefault((point.index, stream), []).append(text)

    def on_finish(self, point, run):
        self.events.append(("finish", point.index, run.status))
        self.running -= 1


@pytest.fixture
def script(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "work.py"
    path.write_text(SCRIPT)
    return path


def sweep(script, tokens, **options):
    plan = plan_sweep(discover(script), tokens)
    recorder = Recorder()
    outcome = run_local(script, plan, {"root": str(script.parent / "store")}, sweep_id="sweep-1",
                        observer=Observer(recorder), **options)
    return outcome, recorder


def test_executor_runs_every_point(script):
    outcome, recorder = sweep(script, ["--K", "1,2,3"])

    assert outcome.ok
    assert not outcome.interrupted
    assert not outcome.halted
    assert [run.status for run in outcome.ordered_runs()] == ["completed"] * 3
    assert [run.meta["sweep_id"] for run in outcome.ordered_runs()] == ["sweep-1"] * 3
    assert [event for event in recorder.events if event[0] == "start"] == [("start", 0), ("start", 1), ("start", 2)]
    assert recorder.max_running == 1


def test_executor_output_per_point_and_stream(script):
    outcome, recorder = sweep(script, ["--K", "1,2"], jobs=2)

    assert "".join(recorder.output[(0, "stdout")]) == "k 1\n"
    assert "".join(recorder.output[(1, "stdout")]) == "k 2\n"
    assert "".join(recorder.output[(0, "stderr")]) == "e 1\n"
    assert "".join(recorder.output[(1, "stderr")]) == "e 2\n"


def test_executor_job_limit(script):
    outcome, recorder = sweep(script, ["--K", "range(4)", "--WAIT", "0.5"], jobs=2)

    assert outcome.ok
    assert recorder.max_running == 2


def test_executor_failure_does_not_stop_others(script):
    outcome, recorder = sweep(script, ["--K", "-1,1"])

    assert not outcome.ok
    assert [run.status for run in outcome.ordered_runs()] == ["failed", "completed"]


def test_executor_fail_fast_halts(script):
    outcome, recorder = sweep(script, ["--K", "-1,1,2"], fail_fast=True)

    assert outcome.halted
    assert not outcome.interrupted
    assert [run.status for run in outcome.ordered_runs()] == ["failed"]
    assert ("start", 1) not in recorder.events


def test_executor_fail_fast_stops_running(script):
    outcome, recorder = sweep(script, ["--WAIT", "60,0", "--K", "-1"], jobs=2, fail_fast=True)

    assert outcome.halted
    assert [run.status for run in outcome.ordered_runs()] == ["interrupted", "failed"]


def test_executor_stop_request_from_thread(script):
    stop = threading.Event()
    plan = plan_sweep(discover(script), ["--K", "range(4)", "--WAIT", "60"])
    recorder = Recorder()
    threading.Thread(target=lambda: recorder.started.wait(60) and stop.set(), daemon=True).start()

    outcome = run_local(script, plan, {"root": str(script.parent / "store")}, sweep_id="sweep-2", jobs=2,
                        observer=Observer(recorder), stop_requested=stop)

    assert outcome.interrupted
    assert len(outcome.runs) == 2
    assert [run.status for run in outcome.ordered_runs()] == ["interrupted", "interrupted"]


def test_executor_keyboard_interrupt_stops_points(script):
    plan = plan_sweep(discover(script), ["--K", "range(3)", "--WAIT", "60"])
    recorder = Recorder()
    threading.Thread(target=lambda: recorder.started.wait(60) and _thread.interrupt_main(), daemon=True).start()

    outcome = run_local(script, plan, {"root": str(script.parent / "store")}, sweep_id="sweep-3",
                        observer=Observer(recorder))

    assert outcome.interrupted
    assert [run.status for run in outcome.ordered_runs()] == ["interrupted"]
    assert recorder.events[-1] == ("finish", 0, "interrupted")
