"""End-to-end tests of `cascade run -m`, through `python -m cascade_core` in real subprocesses."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
from pathlib import Path

import pytest

from cascade_core.process import INTERRUPT_GRACE, TERMINATE_GRACE
from case_scripts import write_case_scripts
from kernel_helpers import process_gone, wait_until
from sweep_helpers import DEADLINE, SLEEPER, cascade_command, cascade_run, read_meta, run_folders, start_sweep

TRAIN = """\
import sys

from cascade_core import log_metric

K = 0
print("start", K)
print("note", K, file=sys.stderr)
log_metric("loss", 1.0 / (K + 1))
if K == 2:
    raise SystemExit(3)
"""



@pytest.fixture
def project(tmp_path, monkeypatch):
    """A folder with the test scripts and its own run store."""
    write_case_scripts(tmp_path, "net.py", "seed.py")
    for name, source in {"train.py": TRAIN, "sleeper.py": SLEEPER}.items():
        (tmp_path / name).write_text(source)
    monkeypatch.delenv("CASCADE_ROOT", raising=False)
    return tmp_path


def read_overrides(folder: Path) -> dict:
    return json.loads((folder / "cascade_overrides.json").read_text())


def read_log(folder: Path) -> str:
    return (folder / "logs" / "cascade_run.log").read_text()




def test_console_lists_split_top_level(project):
    result = cascade_run(project, "net.py", "-m", "--HIDDEN", "[32,32],[128,128]", "-y")

    assert result.returncode == 0, result.stderr
    folders = run_folders(project)
    assert len(folders) == 2
    assert sorted(read_log(folder) for folder in folders) == ["[128, 128] 'base'\n", "[32, 32] 'base'\n"]
    assert sorted(read_overrides(folder)["HIDDEN"] for folder in folders) == [[32, 32], [128, 128]]
    assert "[HIDDEN=[32, 32]] [32, 32] 'base'\n" in result.stdout
    assert "[HIDDEN=[128, 128]] [128, 128] 'base'\n" in result.stdout


def test_console_quoted_comma_not_split(project):
    result = cascade_run(project, "net.py", "-m", "--TAG", "'a,b',c", "-y")

    assert result.returncode == 0, result.stderr
    folders = run_folders(project)
    assert len(folders) == 2
    assert sorted(read_log(folder) for folder in folders) == ["[64, 64] 'a,b'\n", "[64, 64] 'c'\n"]
    assert sorted(read_overrides(folder)["TAG"] for folder in folders) == ["a,b", "c"]


def test_console_parallel_seeds_separate_folders(project):
    result = cascade_run(project, "seed.py", "-m", "--SEED", "1,2,3,4,5,6,7,8", "-y", "-j", "4")

    assert result.returncode == 0, result.stderr
    folders = run_folders(project)
    assert len(folders) == 8
    by_seed = {read_overrides(folder)["SEED"]: folder for folder in folders}
    assert sorted(by_seed) == [1, 2, 3, 4, 5, 6, 7, 8]
    for seed, folder in by_seed.items():
        assert read_overrides(folder) == {"SEED": seed}
        assert read_log(folder) == f"seed {seed}\n"
        assert read_meta(folder)["status"] == "completed"
    assert len({read_meta(folder)["sweep_id"] for folder in folders}) == 1
    assert read_meta(folders[0])["sweep_id"] is not None


def test_console_parallel_runs_overlap(project):
    result = cascade_run(project, "seed.py", "-m", "--SEED", "1,2", "-y", "-j", "2")

    assert result.returncode == 0, result.stderr
    metas = [read_meta(folder) for folder in run_folders(project)]
    first, second = sorted(metas, key=lambda meta: meta["start_time"])
    # Each run sleeps 1 s, so with -j 2 the second starts before the first ends.
    assert second["start_time"] < first["start_time"] + first["duration"]


def test_console_failed_point_others_go_on(project):
    result = cascade_run(project, "train.py", "-m", "--K", "range(4)", "-y")

    assert result.returncode == 1
    statuses = {read_overrides(folder)["K"]: read_meta(folder)["status"] for folder in run_folders(project)}
    assert statuses == {0: "completed", 1: "completed", 2: "failed", 3: "completed"}
    assert "3 completed, 1 failed" in result.stdout
    failed = next(folder for folder in run_folders(project) if read_overrides(folder)["K"] == 2)
    assert f"Failed run folder: {failed}" in result.stderr


def test_console_summary_table(project):
    result = cascade_run(project, "train.py", "-m", "--K", "0,1", "-y")

    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    header = next(line for line in lines if line.startswith("run id"))
    assert header.split() == ["run", "id", "K", "status", "duration", "loss"]
    folders = {read_overrides(folder)["K"]: folder.name for folder in run_folders(project)}
    rows = [line.split() for line in lines if line.startswith(tuple(folders.values()))]
    assert [row[0] for row in rows] == [folders[0], folders[1]]
    assert [row[1] for row in rows] == ["0", "1"]
    assert [row[2] for row in rows] == ["completed", "completed"]
    assert all(re.fullmatch(r"\d+\.\ds", row[3]) for row in rows)
    assert [row[4] for row in rows] == ["1", "0.5"]


def test_console_streams_kept_apart(project):
    result = cascade_run(project, "train.py", "-m", "--K", "0,1", "-y")

    assert "[K=0] start 0\n" in result.stdout
    assert "[K=1] start 1\n" in result.stdout
    assert "[K=0] note 0\n" in result.stderr
    assert "note" not in result.stdout


def test_console_plan_and_progress_lines(project):
    result = cascade_run(project, "train.py", "-m", "--K", "0,1", "-y")

    assert "Sweep of 2 runs over K:\n" in result.stderr
    assert re.search(r"^\[1/2\] K=\d: completed in \d+\.\ds \(run \S+\)$", result.stderr, re.MULTILINE)
    assert re.search(r"^\[2/2\] K=\d: completed in \d+\.\ds \(run \S+\)$", result.stderr, re.MULTILINE)


def test_console_fail_fast_stops_sweep(project):
    result = cascade_run(project, "train.py", "-m", "--K", "2,0,1", "-y", "--fail-fast")

    assert result.returncode == 1
    folders = run_folders(project)
    assert len(folders) == 1
    assert read_meta(folders[0])["status"] == "failed"
    assert "1 failed, 2 not started" in result.stdout


def test_console_without_yes_or_terminal(project):
    result = cascade_run(project, "net.py", "-m", "--TAG", "a,b")

    assert result.returncode == 1
    assert "Pass -y" in result.stderr
    assert "Traceback" not in result.stderr
    assert run_folders(project) == []


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        pytest.param(
            ["--TAG", "a,,b"],
            "Error: Invalid sweep for TAG: 'a,,b' has an empty item at position 2. "
            "Separate values with single commas, for example --TAG 1,2,3\n",
            id="empty-item",
        ),
        pytest.param(["--HIDDEN", "[1],2"], "Error: Invalid value for --HIDDEN: 2", id="bad-type-in-one-point"),
        pytest.param(["--TAGS", "a,b"], "Error: ", id="unknown-key"),
    ],
)
def test_console_bad_input_runs_nothing(project, arguments, message):
    result = cascade_run(project, "net.py", "-m", *arguments, "-y")

    assert result.returncode == 1
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert run_folders(project) == []


@pytest.mark.parametrize(
    ("signum", "to_group"),
    [
        pytest.param(signal.SIGINT, False, id="sigint"),
        pytest.param(signal.SIGTERM, False, id="sigterm"),
        pytest.param(signal.SIGINT, True, id="terminal-ctrl-c"),
    ],
)
def test_console_signal_stops_points(project, signum, to_group):
    runner, children = start_sweep(project, "sleeper.py", "-m", "--K", "range(4)", "-y", "-j", "2")

    if to_group:
        os.killpg(runner.pid, signum)  # as a terminal's Ctrl-C does
    else:
        runner.send_signal(signum)
    stdout, stderr = runner.communicate(timeout=DEADLINE)

    assert runner.returncode == 130, stderr
    folders = run_folders(project)
    assert len(folders) == 2
    assert [read_meta(folder)["status"] for folder in folders] == ["interrupted", "interrupted"]
    assert "2 interrupted, 2 not started" in stdout
    scripts = [read_meta(folder)["pid"] for folder in folders]
    for pid in [*scripts, *children]:
        assert wait_until(lambda: process_gone(pid), timeout=5)


def test_console_progress_bar_in_terminal(project):
    import pty

    master, replica = pty.openpty()
    command = cascade_command(project, "train.py", "-m", "--K", "0,1", "-y")
    runner = subprocess.Popen(command, cwd=project, stdout=subprocess.PIPE, stderr=replica,
                              stdin=subprocess.DEVNULL)
    os.close(replica)
    terminal = b""
    while True:
        try:
            chunk = os.read(master, 4096)
        except OSError:  # the pty reports EIO once the runner has closed it
            break
        if not chunk:
            break
        terminal += chunk
    runner.wait(timeout=DEADLINE)
    os.close(master)

    text = terminal.decode()
    assert runner.returncode == 0
    assert "\r\x1b[K[------------------------] 0/2 done, 1 running" in text
    assert "\r\x1b[K[############------------] 1/2 done, 1 running" in text
    assert text.rstrip("\r\n").endswith("\x1b[K")


def test_console_second_signal_kills_at_once(project):
    (project / "stubborn.py").write_text(
        "import signal\nimport time\n\nK = 0\n"
        "signal.signal(signal.SIGINT, signal.SIG_IGN)\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
        "print('ready', flush=True)\ntime.sleep(600)\n"
    )
    command = cascade_command(project, "stubborn.py", "-m", "--K", "1,2", "-y")
    runner = subprocess.Popen(command, cwd=project, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              stdin=subprocess.DEVNULL, text=True)
    assert "ready" in runner.stdout.readline()

    runner.send_signal(signal.SIGINT)
    time.sleep(0.5)
    runner.send_signal(signal.SIGINT)
    stdout, stderr = runner.communicate(timeout=DEADLINE)

    assert runner.returncode == 130, stderr
    meta = read_meta(run_folders(project)[0])
    assert meta["status"] == "interrupted"
    # Without the second signal, the run would end only after both grace periods.
    assert meta["duration"] < INTERRUPT_GRACE + TERMINATE_GRACE


def test_console_argparse_script_sweep(project):
    (project / "args.py").write_text(
        "import argparse\n\nparser = argparse.ArgumentParser()\n"
        "parser.add_argument('--lr', type=float, default=0.1)\n"
        "args = parser.parse_args()\nprint(repr(args.lr))\n"
    )

    result = cascade_run(project, "args.py", "-m", "--lr", "0.5,1e-3", "-y")

    assert result.returncode == 0, result.stderr
    assert sorted(read_log(folder) for folder in run_folders(project)) == ["0.001\n", "0.5\n"]
    assert "[lr=0.5] 0.5\n" in result.stdout
