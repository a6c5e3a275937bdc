"""`environment.json`: what a run ran on (Python, platform, packages, git state of the script's repository)."""

from __future__ import annotations

import logging
import platform
import subprocess
import sys
import threading
from pathlib import Path

from cascade_core.store import ENVIRONMENT_FILE, write_json

logger = logging.getLogger(__name__)

GIT_TIMEOUT = 10.0
"""Seconds each git command may take before the git fields are left empty."""


def collect(script: Path) -> dict:
    """Return the environment record of a run of `script`."""
    return {
        "python": sys.version.split()[0],
        "python_implementation": platform.python_implementation(),
        "executable": sys.executable,
        "platform": platform.platform(),
        "machine": platform.machine(),
        "packages": installed_packages(),
        "git": git_state(Path(script).parent),
    }


def installed_packages() -> dict[str, str]:
    """Return {distribution name: version} of the packages importable by this interpreter, sorted by name."""
    from importlib import metadata

    packages = {}
    for distribution in metadata.distributions():
        name = distribution.metadata["Name"]
        if name and name not in packages:
            packages[name] = distribution.version
    return dict(sorted(packages.items(), key=lambda item: item[0].lower()))


def git_state(folder: Path) -> dict | None:
    """Return the commit, branch and dirty state of the git repository holding `folder`, or None."""
    commit = _git(folder, "rev-parse", "HEAD")
    if commit is None:
        return None
    branch = _git(folder, "rev-parse", "--abbrev-ref", "HEAD")
    status = _git(folder, "status", "--porcelain", "--untracked-files=no")
    return {
        "commit": commit,
        "branch": None if branch == "HEAD" else branch,
        "dirty": None if status is None else bool(status),
    }


def _git(folder: Path, *args: str) -> str | None:
    try:
        result = subprocess.run(
            ["git", "-C", str(folder), *args],
            capture_output=True,
            text=True,
            timeout=GIT_TIMEOUT,
            stdin=subprocess.DEVNULL,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        logger.debug("git %s failed in %s: %s", " ".join(args), folder, exc)
        return None
    return result.stdout.strip() if result.returncode == 0 else None


def write_in_background(run_folder: Path, script: Path) -> threading.Thread:
    """Write `environment.json` into `run_folder` from a daemon thread, so the child's start is not delayed."""

    def write() -> None:
        try:
            write_json(Path(run_folder) / ENVIRONMENT_FILE, collect(script))
        except OSError as exc:
            logger.warning("Cannot write %s in %s: %s", ENVIRONMENT_FILE, run_folder, exc)

    thread = threading.Thread(target=write, name="cascade-environment", daemon=True)
    thread.start()
    return thread
