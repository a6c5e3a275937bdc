"""Tests of cascade_core.metrics: log_metric, run_dir and reading metrics back."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import textwrap
import time
import warnings
from pathlib import Path

import numpy as np
import pytest

from cascade_core import metrics
from cascade_core.errors import (
    InvalidMetricError,
    MetricTypeError,
    NotInRunError,
    OutsideRunWarning,
    RunFolderMissingError,
)
from cascade_core.metrics import last_metrics, log_metric, read_metrics, run_dir


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch):
    """Start every test outside a run, with the warn-once flag cleared."""
    for name in list(os.environ):
        if name.startswith("CASCADE_"):
            monkeypatch.delenv(name)
    monkeypatch.setattr(metrics, "_warned_outside_run", False)


@pytest.fixture
def run_folder(tmp_path, monkeypatch):
    """A run folder that the current process belongs to."""
    folder = tmp_path / "runs" / "20261204-191426-123-3fa2"
    folder.mkdir(parents=True)
    monkeypatch.setenv("CASCADE_RUN_DIR", str(folder))
    monkeypatch.setenv("CASCADE_RUN_ID", folder.name)
    return folder


def metric_lines(folder: Path) -> list[dict]:
    return [json.loads(line) for line in (folder / "metrics.jsonl").read_text().splitlines()]


# log_metric ------------------------------------------------------------------


def test_log_metric_appends_one_line(run_folder):
    log_metric("loss", 0.25, step=3)

    [record] = metric_lines(run_folder)
    assert sorted(record) == ["name", "step", "time", "value"]
    assert record["name"] == "loss"
    assert record["value"] == 0.25
    assert record["step"] == 3
    assert isinstance(record["time"], float)


def test_log_metric_keeps_order_and_null_step(run_folder):
    log_metric("loss", 1.0)
    log_metric("acc", 7)
    log_metric("loss", 0.5, step=1)

    records = metric_lines(run_folder)
    assert [(r["name"], r["value"], r["step"]) for r in records] == [
        ("loss", 1.0, None),
        ("acc", 7, None),
        ("loss", 0.5, 1),
    ]


@pytest.mark.parametrize(
    ("value", "expected", "expected_type"),
    [
        pytest.param(3, 3, int, id="int"),
        pytest.param(0.1, 0.1, float, id="float"),
        pytest.param(np.float32(0.5), 0.5, float, id="numpy-float32"),
        pytest.param(np.float64(0.125), 0.125, float, id="numpy-float64"),
        pytest.param(np.int64(12), 12, int, id="numpy-int64"),
        pytest.param(np.array(2.5), 2.5, float, id="numpy-0d-array"),
        pytest.param(np.array([4.0]), 4.0, float, id="numpy-one-element-array"),
    ],
)
def test_log_metric_accepts_real_numbers(run_folder, value, expected, expected_type):
    log_metric("m", value)

    [record] = read_metrics(run_folder)
    assert record["value"] == expected
    assert type(record["value"]) is expected_type


@pytest.mark.parametrize(
    ("value", "written"),
    [
        pytest.param(float("nan"), "nan", id="nan"),
        pytest.param(float("inf"), "inf", id="inf"),
        pytest.param(-math.inf, "-inf", id="minus-inf"),
        pytest.param(np.float32("nan"), "nan", id="numpy-nan"),
    ],
)
def test_log_metric_non_finite_round_trips(run_folder, value, written):
    log_metric("loss", value)

    raw = (run_folder / "metrics.jsonl").read_text()
    assert json.loads(raw)["value"] == written
    assert "NaN" not in raw
    assert "Infinity" not in raw

    [record] = read_metrics(run_folder)
    assert isinstance(record["value"], float)
    assert repr(record["value"]) == written


@pytest.mark.parametrize(
    ("name", "value", "step", "error", "message"),
    [
        pytest.param("", 1.0, None, InvalidMetricError, r"^Metric name must not be empty, got ''\. Example: log_metric\('loss', 0\.25\)$", id="empty-name"),
        pytest.param("  ", 1.0, None, InvalidMetricError, r"^Metric name must not be empty, got '  '\.", id="blank-name"),
        pytest.param(3, 1.0, None, MetricTypeError, r"^Metric name must be a string, got 3 of type int\.", id="int-name"),
        pytest.param(None, 1.0, None, MetricTypeError, r"^Metric name must be a string, got None of type NoneType\.", id="none-name"),
        pytest.param("loss", "0.5", None, MetricTypeError, r"^Metric 'loss' must have a real number as value, got '0\.5' of type str\. Pass an int or float, e\.g\. float\(loss\)\.$", id="str-value"),
        pytest.param("loss", None, None, MetricTypeError, r"^Metric 'loss' must have a real number as value, got None of type NoneType\.", id="none-value"),
        pytest.param("loss", True, None, MetricTypeError, r"^Metric 'loss' must have a real number as value, got True of type bool\.", id="bool-value"),
        pytest.param("loss", np.bool_(True), None, MetricTypeError, r"got np\.True_ of type bool|got True of type bool_", id="numpy-bool-value"),
        pytest.param("loss", [0.5], None, MetricTypeError, r"got \[0\.5\] of type list\.", id="list-value"),
        pytest.param("loss", np.array([1.0, 2.0]), None, MetricTypeError, r"of type ndarray\.", id="array-value"),
        pytest.param("loss", 1j, None, MetricTypeError, r"got 1j of type complex\.", id="complex-value"),
        pytest.param("loss", 0.5, 1.5, MetricTypeError, r"^Metric 'loss' must have an int or None as step, got 1\.5 of type float\. Example: log_metric\('loss', 0\.25, step=3\)$", id="float-step"),
        pytest.param("loss", 0.5, True, MetricTypeError, r"must have an int or None as step, got True of type bool\.", id="bool-step"),
        pytest.param("loss", 0.5, "3", MetricTypeError, r"must have an int or None as step, got '3' of type str\.", id="str-step"),
    ],
)
def test_log_metric_rejects_invalid_input(run_folder, name, value, step, error, message):
    with pytest.raises(error, match=message):
        log_metric(name, value, step=step)

    assert not (run_folder / "metrics.jsonl").exists()


def test_log_metric_error_carries_name_and_value(run_folder):
    with pytest.raises(MetricTypeError) as caught:
        log_metric("loss", "high")

    assert caught.value.name == "loss"
    assert caught.value.value == "high"
    assert isinstance(caught.value, TypeError)
    assert isinstance(caught.value, ValueError)


def test_log_metric_long_value_repr_is_shortened(run_folder):
    with pytest.raises(MetricTypeError, match=r"got 'xxxx+\.\.\. of type str") as caught:
        log_metric("loss", "x" * 500)

    assert len(str(caught.value)) < 250


def test_log_metric_outside_run_warns_once(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)

    with pytest.warns(OutsideRunWarning, match=r"^log_metric\(\) was called outside a run \(CASCADE_RUN_DIR is not set\), so metrics are not recorded\."):
        log_metric("loss", 0.5)

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        log_metric("loss", 0.4)
        log_metric("acc", 0.9, step=2)

    assert list(tmp_path.iterdir()) == []


def test_log_metric_outside_run_warning_points_at_caller(monkeypatch):
    with pytest.warns(OutsideRunWarning) as record:
        log_metric("loss", 0.5)

    assert record[0].filename == __file__


def test_log_metric_outside_run_still_checks_input():
    with pytest.raises(MetricTypeError, match=r"^Metric 'loss' must have a real number as value"):
        log_metric("loss", "bad")


def test_log_metric_missing_run_folder_is_error(tmp_path, monkeypatch):
    gone = tmp_path / "deleted-run"
    monkeypatch.setenv("CASCADE_RUN_DIR", str(gone))

    with pytest.raises(RunFolderMissingError, match=r"^CASCADE_RUN_DIR is set to '.*deleted-run', which is not a folder\. The run folder may have been deleted; unset CASCADE_RUN_DIR to run the script outside a run\.$") as caught:
        log_metric("loss", 0.5)

    assert caught.value.path == str(gone)
    assert not gone.exists()


WRITER = textwrap.dedent(
    """
    import sys
    from cascade_core import log_metric

    worker = sys.argv[1]
    for step in range(int(sys.argv[2])):
        log_metric(f"{worker}/" + "w" * (step % 7) * 300, step * 0.5, step=step)
    """
)


def test_log_metric_parallel_writers_never_tear_lines(run_folder, tmp_path):
    script = tmp_path / "writer.py"
    script.write_text(WRITER)
    count = 300
    writers = [
        subprocess.Popen([sys.executable, str(script), f"worker{index}", str(count)], env=os.environ.copy())
        for index in range(4)
    ]

    # Read while the writers append: every complete line must be whole JSON.
    path = run_folder / "metrics.jsonl"
    while any(writer.poll() is None for writer in writers):
        if path.exists():
            for line in path.read_text().splitlines(keepends=True):
                if line.endswith("\n"):
                    json.loads(line)
        time.sleep(0.01)

    assert [writer.returncode for writer in writers] == [0, 0, 0, 0]
    records = metric_lines(run_folder)
    assert len(records) == 4 * count
    for index in range(4):
        steps = [r["step"] for r in records if r["name"].startswith(f"worker{index}/")]
        assert steps == list(range(count))


# run_dir ---------------------------------------------------------------------


def test_run_dir_inside_run(run_folder):
    assert run_dir() == run_folder
    assert run_dir().is_absolute()


def test_run_dir_relative_variable_becomes_absolute(tmp_path, monkeypatch):
    (tmp_path / "run").mkdir()
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CASCADE_RUN_DIR", "run")

    assert run_dir() == tmp_path / "run"


def test_run_dir_outside_run_raises():
    with pytest.raises(NotInRunError, match=r"^run_dir\(\) was called outside a run \(CASCADE_RUN_DIR is not set\)\. Start the script with `cascade run SCRIPT`, or give a folder to use outside a run: run_dir\(default='\.'\)$"):
        run_dir()


@pytest.mark.parametrize(
    ("default", "expected"),
    [
        pytest.param(".", Path("."), id="dot"),
        pytest.param("out/ckpt", Path("out/ckpt"), id="relative"),
        pytest.param(Path("/tmp/x"), Path("/tmp/x"), id="path"),
        pytest.param(None, None, id="none"),
    ],
)
def test_run_dir_outside_run_default(default, expected):
    assert run_dir(default=default) == expected


def test_run_dir_inside_run_ignores_default(run_folder):
    assert run_dir(default=".") == run_folder


def test_run_dir_missing_folder_is_error(tmp_path, monkeypatch):
    monkeypatch.setenv("CASCADE_RUN_DIR", str(tmp_path / "nope"))

    with pytest.raises(RunFolderMissingError, match=r"which is not a folder"):
        run_dir(default=".")


# Reading ---------------------------------------------------------------------


def test_read_metrics_missing_file_is_empty(tmp_path):
    assert read_metrics(tmp_path) == []
    assert last_metrics(tmp_path) == {}


def test_last_metrics_takes_latest_line(run_folder):
    log_metric("loss", 1.0, step=5)
    log_metric("acc", 0.5)
    log_metric("loss", 0.75, step=2)
    log_metric("acc", float("nan"))

    last = last_metrics(run_folder)
    assert list(last) == ["loss", "acc"]
    assert last["loss"] == 0.75
    assert math.isnan(last["acc"])


def test_read_metrics_skips_partial_last_line(tmp_path, caplog):
    (tmp_path / "metrics.jsonl").write_text(
        '{"name": "a", "value": 1, "step": null, "time": 1.0}\n{"name": "b", "val'
    )

    assert [r["name"] for r in read_metrics(tmp_path)] == ["a"]
    assert caplog.records == []


def test_read_metrics_logs_damaged_line(tmp_path, caplog):
    (tmp_path / "metrics.jsonl").write_text(
        'garbage\n{"name": "a", "value": 2, "step": 1, "time": 1.0}\n[1, 2]\n'
    )

    with caplog.at_level("WARNING", logger="cascade_core.metrics"):
        records = read_metrics(tmp_path)

    assert [(r["name"], r["value"]) for r in records] == [("a", 2)]
    assert len(caplog.records) == 1
    assert caplog.records[0].getMessage() == f"Skipping line 1 of {tmp_path / 'metrics.jsonl'}, which is not JSON: 'garbage\\n'"


# Import cost -----------------------------------------------------------------


def test_metrics_import_is_cheap():
    code = (
        "import sys, cascade_core.metrics, cascade_core\n"
        "cascade_core.log_metric\n"
        "heavy = ['json', 'numpy', 'IPython', 'ipywidgets', 'pandas', 'dask', 'optuna', 'click', 'subprocess']\n"
        "print(sorted(name for name in heavy if name in sys.modules))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)

    assert result.stdout.strip() == "[]"


# json_safe -------------------------------------------------------------------


class Opaque:
    def __repr__(self):
        return "<opaque>"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param({"a": (1, 2.5)}, {"a": [1, 2.5]}, id="tuple"),
        pytest.param({1: "x"}, {"1": "x"}, id="int-key"),
        pytest.param({3, 1, 2}, [1, 2, 3], id="set"),
        pytest.param({1, "a"}, None, id="unsortable-set"),
        pytest.param([float("nan"), float("-inf")], ["nan", "-inf"], id="non-finite"),
        pytest.param(np.int32(4), 4, id="numpy-int"),
        pytest.param(np.float64("inf"), "inf", id="numpy-inf"),
        pytest.param(Path("a/b"), "a/b", id="path"),
        pytest.param(Opaque(), "<opaque>", id="repr"),
        pytest.param(None, None, id="none"),
        pytest.param(True, True, id="bool"),
    ],
)
def test_json_safe_converts_values(value, expected):
    converted = metrics.json_safe(value)

    json.dumps(converted, allow_nan=False)
    if expected is not None or value is None:
        assert converted == expected
    else:
        assert sorted(converted, key=str) == [1, "a"]


def test_json_safe_dates_become_iso_text():
    from datetime import datetime, timezone

    moment = datetime(2026, 12, 4, 19, 14, 26, tzinfo=timezone.utc)

    assert metrics.json_safe({"at": moment}) == {"at": "2026-12-04T19:14:26+00:00"}


# Through real runs -------------------------------------------------------------------


TRAINER = textwrap.dedent(
    """
    from cascade_core import log_metric, run_dir

    EPOCHS = 3
    for epoch in range(EPOCHS):
        log_metric("loss", 1.0 / (epoch + 1), step=epoch)
    log_metric("acc", float("nan"))
    print("folder", run_dir())
    """
)


def test_log_metric_in_real_run(tmp_path):
    script = tmp_path / "train.py"
    script.write_text(TRAINER)
    environment = {key: value for key, value in os.environ.items() if not key.startswith("CASCADE_")}

    result = subprocess.run(
        [sys.executable, "-m", "cascade_core", "run", str(script), "--EPOCHS", "4", "-y"],
        cwd=tmp_path, env=environment, capture_output=True, text=True, timeout=120,
    )

    assert result.returncode == 0, result.stderr
    [folder] = (tmp_path / ".cascade" / "runs").iterdir()
    assert f"folder {folder}" in result.stdout
    records = read_metrics(folder)
    assert [(r["name"], r["step"]) for r in records] == [("loss", 0), ("loss", 1), ("loss", 2), ("loss", 3), ("acc", None)]
    last = last_metrics(folder)
    assert last["loss"] == 0.25
    assert math.isnan(last["acc"])


def test_log_metric_plain_python_warns_once(tmp_path):
    script = tmp_path / "train.py"
    script.write_text(TRAINER.replace('print("folder", run_dir())', 'print("folder", run_dir(default=None))'))
    environment = {key: value for key, value in os.environ.items() if not key.startswith("CASCADE_")}

    result = subprocess.run([sys.executable, str(script)], cwd=tmp_path, env=environment, capture_output=True, text=True, timeout=60)

    assert result.returncode == 0, result.stderr
    assert result.stdout == "folder None\n"
    assert result.stderr.count("OutsideRunWarning") == 1
    assert f"{script}:6: OutsideRunWarning: log_metric() was called outside a run" in result.stderr
    assert list(tmp_path.iterdir()) == [script]
