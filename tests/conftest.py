"""Fixtures shared by the test modules."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def clean_cascade_environment(monkeypatch):
    """Remove the CASCADE_* variables of the calling shell or run, so every test starts from none."""
    for name in [name for name in os.environ if name.startswith("CASCADE_")]:
        monkeypatch.delenv(name)


@pytest.fixture
def write_script(tmp_path: Path):
    """Return a function that writes a script under tmp_path and returns its path.

    The text is dedented, so scripts can be written as indented triple-quoted
    strings inside a test.
    """

    def write(name: str, text: str, encoding: str = "utf-8") -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding=encoding)
        return path

    return write


@pytest.fixture
def cascade_cli(tmp_path: Path):
    """Return a function that runs `python -m cascade_core ARGS...` and returns the CompletedProcess.

    The command runs in tmp_path with a run store under it, stdin closed and
    text output; `cwd` and `timeout` may be passed.
    """

    def run(*args: str, cwd: Path | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
        env = {**os.environ, "CASCADE_ROOT": str(tmp_path / ".cascade")}
        return subprocess.run(
            [sys.executable, "-m", "cascade_core", *args],
            cwd=cwd or tmp_path,
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    return run
