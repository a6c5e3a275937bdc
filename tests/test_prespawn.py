"""Tests of cascade_core.prespawn: a child started before its run, released or cancelled, with real processes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from cascade_core import bootstrap, prespawn
from process_helpers import process_gone, wait_for

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")

REPORT = (
    "import json, os, sys\n"
    "LR = 0.1\n"
    "print(json.dumps({'argv': sys.argv, 'cwd': os.getcwd(), 'run_id': os.environ.get('CASCADE_RUN_ID'),\n"
    "                  'file': __file__, 'name': __name__}))\n"
)


def run_environment(child: prespawn.WaitingChild, script: Path, run_id: str) -> dict:
    environment = dict(child.environment)
    environment.update({
        "CASCADE_RUN_DIR": str(script.parent), "CASCADE_RUN_ID": run_id,
        bootstrap.SCRIPT_FILE_ENV: str(script), bootstrap.SCRIPT_SOURCE_ENV: str(script),
        bootstrap.PATCH_SPAWN_ENV: "0", bootstrap.RECORD_ARGS_ENV: "0",
    })
    return environment


def processes_with_marker(marker: str) -> list[int]:
    """Return the live processes whose environment contains `marker`."""
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/environ", "rb") as stream:
                environ = stream.read()
        except OSError:
            continue
        if marker.encode() in environ and not process_gone(int(name)):
            found.append(int(name))
    return found


def test_prespawn_release_runs_script(tmp_path):
    script = tmp_path / "report.py"
    script.write_text(REPORT)
    (tmp_path / "elsewhere").mkdir()
    child = prespawn.WaitingChild.start(interactive=False)
    command = bootstrap.command(str(script), ["--flag", "x y"])
    environment = run_environment(child, script, "run-1")

    assert child.fits(command, environment, interactive=False)
    process = child.release(command, tmp_path / "elsewhere", environment)
    out, err = process.communicate(timeout=60)

    assert err == b""
    assert process.returncode == 0
    assert json.loads(out) == {
        "argv": [str(script), "--flag", "x y"], "cwd": str(tmp_path / "elsewhere"), "run_id": "run-1",
        "file": str(script), "name": "__main__",
    }


def test_prespawn_release_traceback_and_exit_code(tmp_path):
    script = tmp_path / "fails.py"
    script.write_text("LR = 0.1\nraise ValueError('bad value')\n")
    child = prespawn.WaitingChild.start(interactive=False)
    command = bootstrap.command(str(script))

    process = child.release(command, tmp_path, run_environment(child, script, "run-2"))
    _, err = process.communicate(timeout=60)

    assert process.returncode == 1
    assert err.decode().splitlines() == [
        "Traceback (most recent call last):",
        f'  File "{script}", line 2, in <module>',
        "    raise ValueError('bad value')",
        "ValueError: bad value",
    ]


def test_prespawn_cancel_exits_silently():
    child = prespawn.WaitingChild.start(interactive=False)

    child.cancel()

    assert child.process.returncode == 0
    assert process_gone(child.process.pid)
    child.cancel()  # a second call does nothing


def test_prespawn_cancelled_child_never_fits():
    child = prespawn.WaitingChild.start(interactive=False)
    child.cancel()

    assert not child.fits(bootstrap.command("x.py"), child.environment, interactive=False)


def test_prespawn_release_of_exited_child_returns_none(tmp_path):
    script = tmp_path / "report.py"
    script.write_text(REPORT)
    child = prespawn.WaitingChild.start(interactive=False)
    child.process.kill()
    child.process.wait(timeout=60)

    assert child.release(bootstrap.command(str(script)), tmp_path, run_environment(child, script, "r")) is None


RUNNER_DIES = """\
import os, signal, sys
from cascade_core import prespawn
child = prespawn.WaitingChild.start(interactive=False)
print(child.process.pid, flush=True)
os.kill(os.getpid(), signal.SIGKILL)
"""


def test_prespawn_child_exits_when_runner_dies(tmp_path):
    (tmp_path / "runner.py").write_text(RUNNER_DIES)

    result = subprocess.run([sys.executable, "runner.py"], cwd=tmp_path, capture_output=True, text=True,
                            timeout=120)

    assert result.returncode == -signal.SIGKILL
    assert wait_for(lambda: process_gone(int(result.stdout)), timeout=60)


@pytest.mark.parametrize(
    ("change", "interactive", "expected"),
    [
        pytest.param({}, False, True, id="same"),
        pytest.param({"CASCADE_RUN_ID": "x", "CASCADE_RUN_DIR": "/tmp"}, False, True, id="run-variables"),
        pytest.param({}, True, False, id="other-stdin"),
        pytest.param({"PYTHONPATH": "/elsewhere"}, False, False, id="interpreter-variable"),
        pytest.param({"PYTHONUNBUFFERED": None}, False, False, id="variable-removed"),
        pytest.param({"MY_SETTING": "1"}, False, False, id="other-variable"),
    ],
)
def test_prespawn_fits_environment(change, interactive, expected):
    child = prespawn.WaitingChild(None, control=-1, environment={"PYTHONUNBUFFERED": "1", "HOME": "/h"},
                                  interactive=False)
    environment = dict(child.environment)
    for key, value in change.items():
        if value is None:
            environment.pop(key)
        else:
            environment[key] = value

    assert child.fits(bootstrap.command("train.py"), environment, interactive) is expected


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        pytest.param(bootstrap.command("train.py", ["a"]), True, id="script"),
        pytest.param(bootstrap.command("analysis.ipynb"), True, id="notebook"),
        pytest.param([sys.executable, "-c", "print(1)", "train.py"], False, id="other-code"),
        pytest.param(["/usr/bin/python3", "-c", bootstrap.BOOTSTRAP, "train.py"], False, id="other-interpreter"),
    ],
)
def test_prespawn_fits_command(command, expected):
    child = prespawn.WaitingChild(None, control=-1, environment={}, interactive=False)

    assert child.fits(command, {}, interactive=False) is expected


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        pytest.param(["run", "-y", "train.py"], True, id="run-y"),
        pytest.param(["run", "train.py", "--lr", "0.1", "--yes"], True, id="yes-after-script"),
        pytest.param(["run", "train.py"], False, id="asks-confirmation"),
        pytest.param(["run", "-y", "-m", "train.py", "--lr", "1,2"], False, id="sweep"),
        pytest.param(["run", "-y", "--help"], False, id="help"),
        pytest.param(["run", "-y", "analysis.ipynb"], False, id="notebook"),
        pytest.param(["run", "train.py", "--", "-y"], False, id="y-for-the-script"),
        pytest.param(["rerun", "-y", "last"], False, id="rerun"),
        pytest.param([], False, id="no-command"),
    ],
)
def test_prespawn_starts_for_command_line(arguments, expected):
    assert prespawn._starts_one_run(arguments) is expected


# Runs the command line in this process, noting the pid of each waiting child it starts.
CLI_DRIVER = """\
import sys
from cascade_core import prespawn

start = prespawn.WaitingChild.start

def noting_start(*args, **kwargs):
    child = start(*args, **kwargs)
    with open("spawned.txt", "a") as stream:
        stream.write(f"{child.process.pid}\\n")
    return child

prespawn.WaitingChild.start = noting_start
from cascade_core.cli import main
sys.argv = ["cascade", *sys.argv[1:]]
main()
"""


@pytest.mark.parametrize(
    "arguments",
    [
        pytest.param(["run", "-y", "code.py", "--nope", "1"], id="unknown-override"),
        pytest.param(["run", "-y", "code.py", "--LR", "abc"], id="bad-value"),
        pytest.param(["run", "-y", "missing.py"], id="missing-script"),
        pytest.param(["run", "-y", "--base", "missing.yaml", "code.py"], id="missing-base"),
    ],
)
def test_prespawn_rejected_command_leaves_nothing(tmp_path, arguments):
    (tmp_path / "code.py").write_text("LR = 0.1\n")
    (tmp_path / "driver.py").write_text(CLI_DRIVER)
    marker = f"CASCADE_TEST_MARKER_{uuid.uuid4().hex}"
    env = {key: value for key, value in os.environ.items() if not key.startswith("CASCADE_")}
    env[marker] = "1"

    result = subprocess.run([sys.executable, "driver.py", *arguments], cwd=tmp_path, env=env,
                            stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120)

    assert result.returncode == 1
    assert result.stderr.startswith("Error: ")
    (spawned,) = (tmp_path / "spawned.txt").read_text().split()
    assert process_gone(int(spawned))
    assert processes_with_marker(marker) == []
    runs = tmp_path / ".cascade" / "runs"
    assert not runs.exists() or list(runs.iterdir()) == []


def test_prespawn_cli_run_uses_waiting_child(tmp_path):
    (tmp_path / "report.py").write_text(REPORT)
    (tmp_path / "driver.py").write_text(CLI_DRIVER)
    env = {key: value for key, value in os.environ.items() if not key.startswith("CASCADE_")}

    result = subprocess.run([sys.executable, "driver.py", "run", "-y", "report.py", "--LR", "0.5", "--", "a"],
                            cwd=tmp_path, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                            timeout=120)

    assert result.returncode == 0, result.stderr
    (spawned,) = (tmp_path / "spawned.txt").read_text().split()
    (folder,) = (tmp_path / ".cascade" / "runs").iterdir()
    meta = json.loads((folder / "cascade_run_meta.json").read_text())
    assert meta["pid"] == int(spawned)
    assert meta["status"] == "completed"
    assert json.loads(result.stdout) == {
        "argv": ["report.py", "a"], "cwd": str(tmp_path), "run_id": folder.name,
        "file": str(tmp_path / "report.py"), "name": "__main__",
    }


def test_prespawn_launch_cancels_child_that_does_not_fit(tmp_path, monkeypatch):
    from cascade_core.run import launch, prepare

    script = tmp_path / "report.py"
    script.write_text(REPORT)
    monkeypatch.chdir(tmp_path)
    child = prespawn.WaitingChild.start(interactive=False)
    child.environment = {**child.environment, "PYTHONPATH": "/not/what/the/run/gets"}

    run = launch(prepare(str(script)), root=tmp_path / "store", waiting_child=child)
    run.wait(timeout=120)

    assert run.status == "completed"
    assert run.meta["pid"] != child.process.pid
    assert child.process.returncode == 0
    assert process_gone(child.process.pid)


def test_prespawn_cli_terminal_stdin_reaches_script(tmp_path):
    import pty

    (tmp_path / "ask.py").write_text("LR = 0.1\nprint('got', input())\n")
    (tmp_path / "driver.py").write_text(CLI_DRIVER)
    env = {key: value for key, value in os.environ.items() if not key.startswith("CASCADE_")}
    controller, terminal = pty.openpty()
    try:
        os.write(controller, b"hello\n")
        result = subprocess.run([sys.executable, "driver.py", "run", "-y", "ask.py"], cwd=tmp_path, env=env,
                                stdin=terminal, capture_output=True, text=True, timeout=120)
    finally:
        os.close(terminal)
        os.close(controller)

    assert result.returncode == 0, result.stderr
    assert result.stdout == "got hello\n"
    (spawned,) = (tmp_path / "spawned.txt").read_text().split()
    (folder,) = (tmp_path / ".cascade" / "runs").iterdir()
    assert json.loads((folder / "cascade_run_meta.json").read_text())["pid"] == int(spawned)
