"""Tests of `cascade runs` and `cascade show` (cascade_core.cli.runs_cmd) through real processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from cascade_core.cli.runs_cmd import format_duration


def user_env() -> dict:
    return {key: value for key, value in os.environ.items() if not key.startswith("CASCADE_")}


def cascade(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "cascade_core", *args], cwd=cwd, env=user_env(),
                          stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120)


@pytest.fixture
def work(tmp_path):
    (tmp_path / "code.py").write_text('RUN_CODE = "A7"\nprint(repr(RUN_CODE))\n')
    return tmp_path


def only_folder(work: Path) -> Path:
    (folder,) = sorted((work / ".cascade" / "runs").iterdir())
    return folder


def test_runs_cmd_lists_runs(work):
    cascade(work, "run", "code.py", "--RUN_CODE", "B1", "-y")
    folder = only_folder(work)

    result = cascade(work, "runs")

    header, row = result.stdout.splitlines()
    assert header.split() == ["ID", "STATUS", "STARTED", "DURATION", "SCRIPT", "OVERRIDES"]
    assert row.startswith(f"{folder.name}  completed  ")
    assert row.endswith("code.py  RUN_CODE='B1'")


def test_runs_cmd_empty_store(work):
    result = cascade(work, "runs")

    assert result.returncode == 0
    assert result.stdout == ""
    assert result.stderr == "No runs yet. Start one with: cascade run SCRIPT\n"


def test_show_cmd_describes_run(work):
    cascade(work, "run", "code.py", "--RUN_CODE", "B1", "-y", "--name", "first", "--tag", "t")
    folder = only_folder(work)
    (folder / "models.jsonl").write_text(json.dumps({"path": "line/00000", "saved_at": "2026-12-04T20:00:00"}) + "\n")
    (folder / "metrics.jsonl").write_text(json.dumps({"name": "loss", "value": 0.5, "step": 1, "time": 1.0}) + "\n")

    result = cascade(work, "show", "last")

    lines = result.stdout.splitlines()
    assert lines[0] == f"Run {folder.name}"
    assert "  status:    completed" in lines
    assert "  name:      first" in lines
    assert "  tags:      t" in lines
    assert f"  folder:    {folder}" in lines
    assert lines[lines.index("Config:") + 1] == "  * RUN_CODE = 'B1'"
    assert lines[lines.index("Metrics:") + 1] == "  loss = 0.5"
    assert lines[lines.index("Models:") + 1] == "  line/00000  (saved 2026-12-04T20:00:00)"
    assert lines[lines.index("Log:") + 1] == f"  {folder / 'logs' / 'cascade_run.log'}"


def test_show_cmd_unknown_ref(work):
    cascade(work, "run", "code.py", "-y")

    result = cascade(work, "show", "zzz")

    assert result.returncode == 1
    assert result.stderr == (
        f"Error: No run matches run reference 'zzz' in {work / '.cascade' / 'runs'}. "
        "Give 'last', a run folder path or a run id prefix (see: cascade runs).\n"
    )


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        pytest.param(None, "", id="unknown"),
        pytest.param(4.24, "4.2s", id="seconds"),
        pytest.param(185, "3m05s", id="minutes"),
        pytest.param(7620, "2h07m", id="hours"),
    ],
)
def test_format_duration(seconds, text):
    assert format_duration(seconds) == text
