"""`environment.json`: what a run ran on (Python, platform, packages, git state of the script's repository)."""

from __future__ import annotations

import logging
import os
import platform
import subprocess
import sys
import threading
from pathlib import Path

from cascade_core.store import ENVIRONMENT_FILE, write_json

logger = logging.getLogger(__name__)

METADATA_SUFFIXES = (".dist-info", ".egg-info")

GIT_TIMEOUT = 10.0
"""Seconds each git command may take before the git fields are left empty."""


def collect(script: Path) -> dict:
    """Return the environment record of a run of `script`."""
    # git runs while the package records are read.
    git = _start_git_status(Path(script).parent)
    packages = installed_packages()
    return {
        "python": sys.version.split()[0],
        "python_implementation": platform.python_implementation(),
        "executable": sys.executable,
        "platform": platform_text(),
        "machine": os.uname().machine if hasattr(os, "uname") else platform.machine(),
        "packages": packages,
        "git": _git_state_of(git),
    }


def platform_text() -> str:
    """Return the platform in `platform.platform()`'s format, e.g. `Linux-6.1.0-x86_64-with-glibc2.36`.

    On Linux, `platform.platform()` starts a `uname -p` process and scans
    the Python binary for its C library version. This reads `os.uname()` and
    `os.confstr()` instead, and leaves out the processor name that
    `uname -p` would add (empty on most Linux systems). Elsewhere it returns
    `platform.platform()`.
    """
    if not sys.platform.startswith("linux"):
        return platform.platform()

    uname = os.uname()
    text = f"{uname.sysname}-{uname.release}-{uname.machine}"
    try:
        libc = os.confstr("CS_GNU_LIBC_VERSION")
    except (ValueError, OSError):
        libc = None
    if libc:
        text += "-with-" + libc.replace(" ", "")
    return text


def installed_packages() -> dict[str, str]:
    """Return {distribution name: version} of the packages importable by this interpreter, sorted by name.

    The `.dist-info` and `.egg-info` entries of the `sys.path` folders are
    read directly, header lines only. These are the records that
    `importlib.metadata` finds, read at a fraction of its import and parsing
    cost, which matters because a run waits for this record before it ends.
    A zip archive on `sys.path` falls back to `importlib.metadata`.
    """
    folders = [entry or "." for entry in sys.path]
    if any(os.path.isfile(folder) for folder in folders):
        return _sorted(_importlib_packages())

    packages: dict[str, str] = {}
    for folder in folders:
        for name, version in _folder_packages(folder):
            if name and name not in packages:
                packages[name] = version
    return _sorted(packages)


def _sorted(packages: dict[str, str]) -> dict[str, str]:
    return dict(sorted(packages.items(), key=lambda item: item[0].lower()))


def _folder_packages(folder: str):
    """Yield (name, version) of each distribution whose metadata lies in `folder`."""
    try:
        entries = os.scandir(folder)
    except OSError:
        return
    with entries:
        for entry in entries:
            if entry.name.endswith(METADATA_SUFFIXES):
                yield _header_fields(_metadata_file(entry))


def _metadata_file(entry: os.DirEntry) -> str:
    # A `.egg-info` may be a file holding the metadata itself.
    if not entry.is_dir():
        return entry.path
    for name in ("METADATA", "PKG-INFO"):
        candidate = os.path.join(entry.path, name)
        if os.path.isfile(candidate):
            return candidate
    return ""


def _header_fields(path: str) -> tuple[str | None, str | None]:
    """Read `Name` and `Version` from the header block of a core metadata file."""
    fields: dict[str, str] = {}
    try:
        with open(path, encoding="utf-8", errors="replace") as stream:
            for line in stream:
                if not line.strip():
                    break
                key, _, value = line.partition(":")
                if key in ("Name", "Version") and key not in fields:
                    fields[key] = value.strip()
    except OSError:
        pass
    return fields.get("Name"), fields.get("Version")


def _importlib_packages() -> dict[str, str]:
    from importlib import metadata

    packages: dict[str, str] = {}
    for distribution in metadata.distributions():
        name = distribution.metadata["Name"]
        if name and name not in packages:
            packages[name] = distribution.version
    return packages


def git_state(folder: Path) -> dict | None:
    """Return the commit, branch and dirty state of the git repository holding `folder`, or None.

    One `git status --porcelain=v2 --branch` call gives all three (git 2.11
    or newer). A repository without any commit gives None, as does a folder
    outside any git repository.
    """
    return _git_state_of(_start_git_status(folder))


def _git_state_of(git: subprocess.Popen | None) -> dict | None:
    status = _git_output(git)
    if status is None:
        return None
    headers, changed = {}, False
    for line in status.splitlines():
        if line.startswith("# "):
            key, _, value = line[2:].partition(" ")
            headers[key] = value
        else:
            changed = True
    commit = headers.get("branch.oid")
    if commit is None or commit == "(initial)":
        return None
    branch = headers.get("branch.head")
    return {"commit": commit, "branch": None if branch in (None, "(detached)") else branch, "dirty": changed}


def _start_git_status(folder: Path) -> subprocess.Popen | None:
    try:
        return subprocess.Popen(
            ["git", "-C", str(folder), "status", "--porcelain=v2", "--branch", "--untracked-files=no"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
    except OSError as exc:
        logger.debug("git status failed to start in %s: %s", folder, exc)
        return None


def _git_output(git: subprocess.Popen | None) -> str | None:
    """Return what a git process printed, or None when it failed, timed out or never started."""
    if git is None:
        return None
    try:
        output, _ = git.communicate(timeout=GIT_TIMEOUT)
    except subprocess.TimeoutExpired:
        git.kill()
        git.communicate()
        logger.debug("%s timed out after %s s", " ".join(git.args), GIT_TIMEOUT)
        return None
    return output.strip() if git.returncode == 0 else None


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
