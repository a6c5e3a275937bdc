"""Tests of `cascade rerun`, through `python -m cascade_core` in real subprocesses."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from cascade_core import store

TRAIN = '''\
from cascade_core import Config


class Train(Config):
    lr = 0.1
    size = (2, 2)
    labels = {1, 2}


print(repr(Train.lr), repr(Train.size), type(Train.size).__name__, repr(Train.labels))
'''


@pytest.fixture
def work(tmp_path, monkeypatch) -> Path:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "train.py").write_text(TRAIN, encoding="utf-8")
    return tmp_path


def cascade(*arguments: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    env = {key: value for key, value in os.environ.items() if not key.startswith("CASCADE_")}
    return subprocess.run(
        [sys.executable, "-m", "cascade_core", *arguments],
        capture_output=True,
        text=True,
        input=stdin,
        env=env,
        timeout=120,
    )


def run_folders(work: Path) -> list[Path]:
    return store.run_folders(work / ".cascade")


def meta(folder: Path) -> dict:
    return store.read_json(folder / store.META_FILE)


def test_rerun_cmd_same_config(work):
    first = cascade("run", "train.py", "--size", "(3, 4)", "-y")
    assert first.returncode == 0, first.stderr

    again = cascade("rerun", "last", "-y")

    assert again.returncode == 0, again.stderr
    assert again.stdout == "0.1 (3, 4) tuple {1, 2}\n"
    folders = run_folders(work)
    assert len(folders) == 2
    assert meta(folders[1])["base"] == folders[0].name


def test_rerun_cmd_overrides_and_options_around_ref(work):
    cascade("run", "train.py", "--size", "(3, 4)", "-y")
    first_id = run_folders(work)[0].name

    again = cascade("rerun", "--name", "again", first_id[:15], "--lr", "0.5", "--tag", "a", "-y", "--tag=b")

    assert again.returncode == 0, again.stderr
    assert again.stdout == "0.5 (3, 4) tuple {1, 2}\n"
    recorded = meta(run_folders(work)[1])
    assert recorded["name"] == "again"
    assert recorded["tags"] == ["a", "b"]


def test_rerun_cmd_prints_config_and_script_change(work):
    cascade("run", "train.py", "--lr", "0.2", "-y")
    first_id = run_folders(work)[0].name
    (work / "train.py").write_text(TRAIN.replace("lr = 0.1", "lr = 0.3"), encoding="utf-8")

    again = cascade("rerun", "last", "-y")

    assert again.returncode == 0, again.stderr
    assert again.stdout == "0.2 (2, 2) tuple {1, 2}\n"
    expected = (
        f"The script or its local modules changed since run {first_id} started:\n"
        f"--- {first_id}/sources/train.py\n"
        f"+++ {work / 'train.py'}\n"
        "@@ -2,7 +2,7 @@\n"
        " \n"
        " \n"
        " class Train(Config):\n"
        "-    lr = 0.1\n"
        "+    lr = 0.3\n"
        "     size = (2, 2)\n"
        "     labels = {1, 2}\n"
        " \n"
        f"Rerun of {first_id}:\n"
        f"Config of {work / 'train.py'}:\n"
        "  * lr     = 0.2   (default: 0.3)\n"
        "    size   = (2, 2)\n"
        "    labels = {1, 2}\n"
        "  (* overridden)\n"
    )
    assert again.stderr.startswith(expected)


def test_rerun_cmd_removed_key(work):
    cascade("run", "train.py", "-y")
    first_id = run_folders(work)[0].name
    (work / "train.py").write_text(TRAIN.replace("    labels = {1, 2}\n", ""), encoding="utf-8")

    rejected = cascade("rerun", "last", "-y")

    assert rejected.returncode == 1
    assert rejected.stderr == (
        f"Error: Key 'labels' recorded in run {first_id} is not a field of train.py's config "
        "(fields: lr, size). Pass -f to add it to the new run's config.\n"
    )
    assert len(run_folders(work)) == 1


def test_rerun_cmd_removed_key_forced(work):
    cascade("run", "train.py", "-y")
    script = TRAIN.replace("    labels = {1, 2}\n", "").replace("repr(Train.labels)", "repr(Train.labels), 'kept'")
    (work / "train.py").write_text(script, encoding="utf-8")

    forced = cascade("rerun", "last", "-f", "-y")

    assert forced.returncode == 0, forced.stderr
    assert forced.stdout == "0.1 (2, 2) tuple {1, 2} kept\n"


def test_rerun_cmd_exact(work):
    (work / "helpers.py").write_text("NAME = 'old'\n", encoding="utf-8")
    (work / "uses.py").write_text("from helpers import NAME\n\nK = 1\nprint(NAME, K)\n", encoding="utf-8")
    cascade("run", "uses.py", "--K", "2", "-y")
    (work / "helpers.py").write_text("NAME = 'new'\n", encoding="utf-8")

    exact = cascade("rerun", "last", "--exact", "-y")
    current = cascade("rerun", run_folders(work)[0].name, "-y")

    assert exact.stdout == "old 2\n"
    assert current.stdout == "new 2\n"
    assert "--- " in current.stderr
    assert "-NAME = 'old'\n+NAME = 'new'\n" in current.stderr


def test_rerun_cmd_sweep(work):
    cascade("run", "train.py", "--size", "(5, 5)", "-y")
    first_id = run_folders(work)[0].name

    swept = cascade("rerun", "last", "-m", "--lr", "0.1,0.2", "-y")

    assert swept.returncode == 0, swept.stderr
    folders = run_folders(work)[1:]
    assert len(folders) == 2
    logs = sorted((folder / store.LOG_FILE).read_text(encoding="utf-8") for folder in folders)
    assert logs == ["0.1 (5, 5) tuple {1, 2}\n", "0.2 (5, 5) tuple {1, 2}\n"]
    assert {meta(folder)["base"] for folder in folders} == {first_id}


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        pytest.param(
            ("rerun", "nope", "-y"),
            "Error: No run matches run reference 'nope' in {runs}. "
            "Give 'last', a run folder path or a run id prefix (see: cascade runs).\n",
            id="unknown-ref",
        ),
        pytest.param(
            ("rerun", "last"),
            "Error: Standard input is not a terminal, so the run cannot be confirmed. "
            "Pass -y to run without confirmation.\n",
            id="no-terminal",
        ),
    ],
)
def test_rerun_cmd_errors(work, arguments, message):
    cascade("run", "train.py", "-y")

    rejected = cascade(*arguments, stdin="")

    assert rejected.returncode == 1
    assert rejected.stderr.endswith(message.format(runs=work / ".cascade" / "runs"))
    assert "Traceback" not in rejected.stderr
    assert len(run_folders(work)) == 1


def test_rerun_cmd_unknown_option_before_ref(work):
    cascade("run", "train.py", "-y")

    rejected = cascade("rerun", "--frobnicate", "last", "-y")

    assert rejected.returncode == 2
    assert rejected.stderr.endswith(
        "Error: Unknown option '--frobnicate' before REF. Options: -y, --yes, --no-log, --name, --tag, -m, "
        "--multirun, -j, --jobs, --launcher, --dask-address, --fail-fast, --root, --chdir, -f, --force, --exact, "
        "-h, --help.\n"
    )
    assert len(run_folders(work)) == 1


def test_rerun_cmd_unknown_override(work):
    cascade("run", "train.py", "-y")

    rejected = cascade("rerun", "last", "--lrr", "0.1", "-y")

    assert rejected.returncode == 1
    assert rejected.stderr == "Error: --lrr is not a field of train.py; did you mean --lr? Fields: lr, size, labels\n"
    assert len(run_folders(work)) == 1


def test_rerun_cmd_root_after_ref(work, tmp_path):
    other = tmp_path / "elsewhere"
    cascade("run", "train.py", "--lr", "0.7", "-y", "--root", str(other))

    again = cascade("rerun", "last", "-y", "--root", str(other))

    assert again.returncode == 0, again.stderr
    assert again.stdout == "0.7 (2, 2) tuple {1, 2}\n"
    assert len(store.run_folders(other)) == 2
    assert not (work / ".cascade").exists()


def test_rerun_cmd_failed_run_exit_status(work):
    (work / "fail.py").write_text("CODE = 3\nraise SystemExit(CODE)\n", encoding="utf-8")
    cascade("run", "fail.py", "-y")

    again = cascade("rerun", "last", "--CODE", "4", "-y")

    assert again.returncode == 4
    assert meta(run_folders(work)[1])["status"] == "failed"
