"""Shared pieces of the sweep tests: the CLI in a subprocess, run folders, and a sweep to interrupt."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

DEADLINE = 180

SLEEPER = """\
import subprocess
import sys
import time

K = 0
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
print("child", child.pid, flush=True)
time.sleep(600)
"""
"""A script that starts a child process, prints `child <pid>` and sleeps."""


def cascade_command(project: Path, *arguments: str) -> list[str]:
    """Return the `cascade run` command line with the run store under `project`."""
    return [sys.executable, "-m", "cascade_core", "run", "--root", str(project / "store"), *arguments]


def cascade_run(project: Path, *arguments: str) -> subprocess.CompletedProcess:
    """Run `cascade run ARGUMENTS` in `project` with no stdin, and return the finished process."""
    return subprocess.run(cascade_command(project, *arguments), cwd=project, capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, timeout=DEADLINE)


def start_sweep(project: Path, *arguments: str, children: int = 2) -> tuple[subprocess.Popen, list[int]]:
    """Start `cascade run ARGUMENTS` in a new session and wait until `children` points print `child <pid>`.

    Returns the runner process and the printed child pids.
    """
    runner = subprocess.Popen(cascade_command(project, *arguments), cwd=project, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True, start_new_session=True)
    pids: list[int] = []
    deadline = time.monotonic() + DEADLINE
    while len(pids) < children and time.monotonic() < deadline:
        line = runner.stdout.readline()
        if " child " in line:
            pids.append(int(line.split()[-1]))
    assert len(pids) == children, "the sweep's points did not start in time"
    return runner, pids


def run_folders(project: Path) -> list[Path]:
    """Return the run folders of the store under `project`, sorted by run id."""
    runs = project / "store" / "runs"
    return sorted(runs.iterdir()) if runs.exists() else []


def read_json(path: Path) -> dict:
    return json.loads(path.read_text())


def read_meta(folder: Path) -> dict:
    return read_json(folder / "cascade_run_meta.json")
