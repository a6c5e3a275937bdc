"""Tests of the plan and summary tables, on plans and real runs."""

from __future__ import annotations

import dataclasses
import json
import re
import shutil

import pytest

from cascade_core.discovery import discover
from cascade_core.run import Run
from cascade_core.sweeps.api import execute
from cascade_core.sweeps.plan import plan_sweep
from cascade_core.sweeps.summary import (
    PLAN_ROWS_SHOWN,
    count_statuses,
    format_plan,
    format_summary,
    summary_table,
)

SCRIPT = """\
from cascade_core import log_metric

LR = 0.1
NAME = "a"
log_metric("loss", LR * 2)
if NAME == "fail":
    log_metric("extra", 1)
    raise SystemExit(2)
"""


@pytest.fixture(scope="module")
def script(tmp_path_factory):
    folder = tmp_path_factory.mktemp("summary")
    path = folder / "train.py"
    path.write_text(SCRIPT)
    return path


@pytest.fixture(scope="module")
def outcome(script):
    plan = plan_sweep(discover(script), ["--LR", "0.5,0.25", "--NAME", "ok,fail"])
    return execute(script, plan, {"root": str(script.parent / "store")}, fail_fast=True)


def test_format_plan_table(script):
    plan = plan_sweep(discover(script), ["--LR", "1e-3,0.5", "--NAME", "'x y'"])

    assert format_plan(plan) == "\n".join([
        "Sweep of 2 runs over LR:",
        "#  LR",
        "1  0.001",
        "2  0.5",
    ])


def test_format_plan_without_sweep(script):
    plan = plan_sweep(discover(script), ["--LR", "0.5"])

    assert format_plan(plan) == "Sweep of 1 run (no swept values)"


def test_format_plan_long_cut(script):
    plan = plan_sweep(discover(script), ["--LR", f"linspace(0, 1, {PLAN_ROWS_SHOWN + 7})"])

    lines = format_plan(plan).splitlines()

    assert lines[0] == f"Sweep of {PLAN_ROWS_SHOWN + 7} runs over LR:"
    assert len(lines) == 1 + 1 + PLAN_ROWS_SHOWN + 1
    assert lines[-1] == "  ... 7 more"


def test_summary_table_columns(outcome):
    header, rows = summary_table(outcome)

    assert header == ["run id", "LR", "NAME", "status", "duration", "loss", "extra"]
    assert [row[1:4] for row in rows] == [
        ["0.5", "'ok'", "completed"],
        ["0.5", "'fail'", "failed"],
        ["0.25", "'ok'", "not started"],
        ["0.25", "'fail'", "not started"],
    ]


def test_summary_table_values(outcome):
    header, rows = summary_table(outcome)
    runs = outcome.ordered_runs()

    assert [row[0] for row in rows] == [runs[0].id, runs[1].id, "-", "-"]
    assert re.fullmatch(r"\d+\.\ds", rows[0][4])
    assert rows[0][5:] == ["1", "-"]
    assert rows[1][5:] == ["1", "1"]
    assert rows[2][4:] == ["-", "-", "-"]


def test_format_summary_counts(outcome):
    text = format_summary(outcome)

    assert text.splitlines()[-1] == "1 completed, 1 failed, 2 not started"
    assert text.splitlines()[0].split() == ["run", "id", "LR", "NAME", "status", "duration", "loss", "extra"]


def test_count_statuses_order():
    header = ["run id", "status"]
    rows = [["a", "failed"], ["b", "completed"], ["c", "failed"]]

    assert count_statuses(header, rows) == "2 failed, 1 completed"


def test_summary_table_unknown_duration(outcome, tmp_path):
    # A run whose end was never recorded (a lost run) has no duration.
    first = outcome.ordered_runs()[0]
    folder = tmp_path / first.id
    shutil.copytree(first.path, folder)
    meta_file = folder / "cascade_run_meta.json"
    meta = json.loads(meta_file.read_text())
    meta["duration"] = None
    meta_file.write_text(json.dumps(meta))
    runs = {**outcome.runs, min(outcome.runs): Run.load(folder)}

    header, rows = summary_table(dataclasses.replace(outcome, runs=runs))

    assert rows[0][header.index("duration")] == "-"
