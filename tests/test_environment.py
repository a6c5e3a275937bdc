"""Tests of `cascade_core.environment`: the `environment.json` record of a run."""

import platform
import shutil
import subprocess
import sys

import pytest

from cascade_core.environment import collect, platform_text


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the uname-based text is Linux only")
def test_platform_text_matches_platform_module():
    expected = platform.platform()
    processor = platform.processor()
    if processor:
        # platform.platform() adds the processor from `uname -p`; platform_text() leaves it out.
        expected = expected.replace(f"-{processor}", "", 1)

    assert platform_text() == expected


def test_environment_collect_platform_fields(tmp_path):
    record = collect(tmp_path / "script.py")

    assert record["platform"] == platform_text()
    assert record["machine"] == platform.machine()


def git(folder, *args):
    command = ["git", "-C", str(folder), "-c", "user.name=Test", "-c", "user.email=test@example.com", *args]
    return subprocess.run(command, check=True, capture_output=True, text=True).stdout.strip()


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_environment_collect_git_state(tmp_path):
    script = tmp_path / "train.py"
    script.write_text("LR = 0.1\n")
    git(tmp_path, "init", "-q", "-b", "main")
    git(tmp_path, "add", "train.py")
    git(tmp_path, "commit", "-q", "-m", "Add train.py")
    commit = git(tmp_path, "rev-parse", "HEAD")

    clean = collect(script)["git"]
    script.write_text("LR = 0.2\n")
    dirty = collect(script)["git"]

    assert clean == {"commit": commit, "branch": "main", "dirty": False}
    assert dirty == {"commit": commit, "branch": "main", "dirty": True}


def test_environment_collect_outside_git(tmp_path):
    assert collect(tmp_path / "train.py")["git"] is None
