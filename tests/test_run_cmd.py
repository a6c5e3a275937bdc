"""Tests of `cascade run` (cascade_core.cli.run_cmd) through real `python -m cascade_core` processes."""

from __future__ import annotations

import json
import os
import pty
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from process_helpers import process_gone, wait_for

CODE = 'RUN_CODE = "A7"\nprint(repr(RUN_CODE))\n'


def user_env(**extra) -> dict:
    env = {key: value for key, value in os.environ.items() if not key.startswith("CASCADE_")}
    env.pop("PYTHONUNBUFFERED", None)
    env.update(extra)
    return env


def cascade(cwd: Path, *args: str, env=None, stdin=subprocess.DEVNULL) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "cascade_core", *args], cwd=cwd, env=env or user_env(),
                          stdin=stdin, capture_output=True, text=True, timeout=120)


def folders(store: Path) -> list[Path]:
    runs = store / "runs"
    return sorted(runs.iterdir()) if runs.is_dir() else []


def meta(folder: Path) -> dict:
    return json.loads((folder / "cascade_run_meta.json").read_text())


@pytest.fixture
def work(tmp_path):
    (tmp_path / "code.py").write_text(CODE)
    return tmp_path


@pytest.mark.parametrize(
    "args",
    [
        pytest.param(["run", "-y", "--name", "n1", "--tag", "a", "code.py", "--tag", "b"], id="before-and-after"),
        pytest.param(["run", "code.py", "--name", "n1", "-y", "--tag", "a", "--tag", "b"], id="all-after"),
    ],
)
def test_run_cmd_options_before_or_after_script(work, args):
    result = cascade(work, *args)

    assert result.returncode == 0, result.stderr
    (folder,) = folders(work / ".cascade")
    assert meta(folder)["name"] == "n1"
    assert meta(folder)["tags"] == ["a", "b"]


def test_run_cmd_prints_config_table(work):
    result = cascade(work, "run", "code.py", "--RUN_CODE", "B1", "-y")

    assert result.stdout == "'B1'\n"
    lines = result.stderr.splitlines()
    assert lines[:3] == ["Config of code.py:", "  * RUN_CODE = 'B1'   (default: 'A7')", "  (* overridden)"]
    assert lines[3].startswith("Run ")
    assert " started: " in lines[3]
    assert " completed in " in lines[4]


def test_run_cmd_no_terminal_needs_yes(work):
    result = cascade(work, "run", "code.py")

    assert result.returncode == 1
    assert result.stderr.splitlines()[-1] == (
        "Error: Standard input is not a terminal, so the run cannot be confirmed. Pass -y to run without confirmation."
    )
    assert folders(work / ".cascade") == []


def run_on_terminal(cwd: Path, args: list[str], answer: bytes) -> tuple[int, str]:
    primary, secondary = pty.openpty()
    child = subprocess.Popen([sys.executable, "-m", "cascade_core", *args], cwd=cwd, env=user_env(),
                             stdin=secondary, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    os.close(secondary)
    time.sleep(0.5)
    os.write(primary, answer)
    output, _ = child.communicate(timeout=120)
    os.close(primary)
    return child.returncode, output.decode()


@pytest.mark.parametrize(
    ("answer", "code", "runs"),
    [pytest.param(b"y\n", 0, 1, id="yes"), pytest.param(b"n\n", 1, 0, id="no")],
)
def test_run_cmd_confirm_on_terminal(work, answer, code, runs):
    returncode, output = run_on_terminal(work, ["run", "code.py"], answer)

    assert "Confirm? [y/N]: " in output
    assert returncode == code
    assert len(folders(work / ".cascade")) == runs


def test_run_cmd_input_from_terminal(work):
    (work / "ask.py").write_text("name = input('name? ')\nprint('hello', name)\n")

    returncode, output = run_on_terminal(work, ["run", "ask.py", "-y"], b"ada\n")

    assert returncode == 0
    assert "hello ada" in output
    (folder,) = folders(work / ".cascade")
    assert (folder / "logs" / "cascade_run.log").read_text() == "name? hello ada\n"


@pytest.mark.parametrize(
    ("body", "code", "status"),
    [
        pytest.param("raise SystemExit(3)\n", 3, "failed", id="exit-3"),
        pytest.param("import os, signal\nos.kill(os.getpid(), signal.SIGKILL)\n", 137, "failed", id="sigkill"),
        pytest.param("raise KeyboardInterrupt\n", 130, "interrupted", id="keyboard-interrupt"),
    ],
)
def test_run_cmd_exit_status(work, body, code, status):
    (work / "end.py").write_text(body)

    result = cascade(work, "run", "end.py", "-y")

    assert result.returncode == code
    (folder,) = folders(work / ".cascade")
    assert meta(folder)["exit_code"] == code
    assert meta(folder)["status"] == status
    assert f"Run folder: {folder}" in result.stderr


def test_run_cmd_sighup_interrupts(work):
    (work / "wait.py").write_text("import time\nprint('ready', flush=True)\ntime.sleep(600)\n")
    runner = subprocess.Popen([sys.executable, "-m", "cascade_core", "run", "wait.py", "-y"], cwd=work,
                              env=user_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert runner.stdout.readline() == b"ready\n"

    runner.send_signal(signal.SIGHUP)
    runner.wait(60)

    (folder,) = folders(work / ".cascade")
    assert meta(folder)["status"] == "interrupted"
    assert runner.returncode == 130


# Runs `cascade run` in this process and sends it SIGTERM from inside
# Run._begin, right after the child's pid is saved to the run's metadata and
# before launch() has returned the handle.
EARLY_SIGNAL_DRIVER = """
import os, signal, sys
from cascade_core.run import Run

save_meta = Run._save_meta

def save_then_signal(self):
    save_meta(self)
    if self._meta.get("pid") and not getattr(self, "signal_sent", False):
        self.signal_sent = True
        os.kill(os.getpid(), signal.SIGTERM)

Run._save_meta = save_then_signal
from cascade_core.cli import main
sys.argv = ["cascade", "run", "wait.py", "-y"]
main()
"""


def test_run_cmd_sigterm_before_handle_stops_run(work):
    (work / "wait.py").write_text("import time\nprint('ready', flush=True)\ntime.sleep(30)\n")
    (work / "driver.py").write_text(EARLY_SIGNAL_DRIVER)

    result = subprocess.run([sys.executable, "driver.py"], cwd=work, env=user_env(), stdin=subprocess.DEVNULL,
                            capture_output=True, text=True, timeout=120)

    # The child may still be starting Python when it gets SIGINT, and then it
    # exits with 1 and a KeyboardInterrupt traceback instead of 130.
    (folder,) = folders(work / ".cascade")
    assert meta(folder)["status"] == "interrupted", result.stderr
    assert result.returncode == meta(folder)["exit_code"]
    assert result.returncode in (1, 130)
    assert wait_for(lambda: process_gone(meta(folder)["pid"]), timeout=10)


@pytest.mark.parametrize("how", ["option", "env"])
def test_run_cmd_root(work, how):
    store = work / "elsewhere" / "store"
    if how == "option":
        result = cascade(work, "run", "code.py", "-y", "--root", str(store))
    else:
        result = cascade(work, "run", "code.py", "-y", env=user_env(CASCADE_ROOT=str(store)))

    assert result.returncode == 0, result.stderr
    assert len(folders(store)) == 1
    assert not (work / ".cascade").exists()


def test_run_cmd_no_log_and_chdir(work):
    (work / "cwd.py").write_text("import os\nprint(os.getcwd())\n")

    result = cascade(work, "run", "cwd.py", "-y", "--no-log", "--chdir")

    (folder,) = folders(work / ".cascade")
    assert result.stdout == f"{folder}\n"
    assert not (folder / "logs" / "cascade_run.log").exists()
    assert meta(folder)["status"] == "completed"


def test_run_cmd_unknown_option_after_script(work):
    result = cascade(work, "run", "code.py", "--RUN_COD", "x", "-y")

    assert result.returncode != 0
    assert result.stderr.startswith("Error: --RUN_COD is not a field of code.py; did you mean --RUN_CODE?")
    assert "Traceback" not in result.stderr
    assert folders(work / ".cascade") == []


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        pytest.param(["--RUN_CODE", "-y"], "Error: Missing value for --RUN_CODE (the next token '-y' is an option). "
                     "Example: --RUN_CODE A7. For the text '-y' itself, write --RUN_CODE=-y\n", id="str-field"),
        pytest.param(["--RUN_CODE", "--name", "n"], "Error: Missing value for --RUN_CODE (the next token '--name' is an "
                     "option). Example: --RUN_CODE A7. For the text '--name' itself, write --RUN_CODE=--name\n",
                     id="long-option"),
    ],
)
def test_run_cmd_missing_value_before_option(work, arguments, message):
    result = cascade(work, "run", "code.py", *arguments, "-y")

    assert result.returncode == 1
    assert result.stderr == message
    assert folders(work / ".cascade") == []


def test_run_cmd_dash_text_with_equals(work):
    result = cascade(work, "run", "code.py", "--RUN_CODE=-y", "-y")

    assert result.returncode == 0, result.stderr
    assert result.stdout == "'-y'\n"


RUN_OPTIONS_LISTED = ("-y, --yes, --no-log, --name, --tag, --base, -f, --force, -m, --multirun, -j, --jobs, "
                      "--launcher, --dask-address, --fail-fast, --root, --chdir, -h, --help")


@pytest.mark.parametrize(
    ("option", "hint"),
    [
        pytest.param("--frobnicate", ".", id="unknown"),
        pytest.param("--nmae", "; did you mean --name?", id="did-you-mean"),
    ],
)
def test_run_cmd_unknown_option_before_script(work, option, hint):
    result = cascade(work, "run", option, "code.py", "-y")

    assert result.returncode == 2
    assert result.stderr.endswith(
        f"Error: Unknown option '{option}' before SCRIPT{hint} Options: {RUN_OPTIONS_LISTED}.\n"
    )
    assert "Usage: cascade run [OPTIONS] SCRIPT" in result.stderr
    assert folders(work / ".cascade") == []


def test_run_cmd_magic_only_option_before_script(work):
    result = cascade(work, "run", "--bg", "code.py", "-y")

    assert result.returncode == 2
    assert result.stderr.endswith(
        "Error: --bg is an option of the %cascade_run and %cascade_rerun magics only, not of cascade run. "
        "Remove it from the command line.\n"
    )
    assert folders(work / ".cascade") == []


@pytest.mark.parametrize("option", ["--max-lines", "--bg", "--no-raise"])
def test_run_cmd_rejects_magic_only_option(work, option):
    result = cascade(work, "run", "code.py", option, "3", "-y")

    assert result.returncode == 1
    assert result.stderr == (
        f"Error: {option} is an option of the %cascade_run and %cascade_rerun magics only, not of cascade run. "
        "Remove it from the command line.\n"
    )
    assert folders(work / ".cascade") == []


def test_run_cmd_missing_script(work):
    result = cascade(work, "run", "nope.py", "-y")

    assert result.returncode == 1
    assert result.stderr.startswith("Error: Script not found: ")
    assert folders(work / ".cascade") == []


def test_run_cmd_passthrough_args(work):
    (work / "args.py").write_text("import sys\nprint(sys.argv)\n")

    result = cascade(work, "run", "args.py", "-y", "--", "--RUN_CODE", "-y")

    assert result.stdout == "['args.py', '--RUN_CODE', '-y']\n"


def test_run_cmd_base_file(work):
    (work / "base.yaml").write_text("RUN_CODE: Z9\n")

    result = cascade(work, "run", "code.py", "--base", "base.yaml", "-y")

    assert result.returncode == 0, result.stderr
    assert result.stdout == "'Z9'\n"
    (folder,) = folders(work / ".cascade")
    assert meta(folder)["base"] == str(work / "base.yaml")


def test_run_cmd_multirun_delegates_to_sweeps(work):
    result = cascade(work, "run", "code.py", "-m", "--RUN_CODE", "a,b", "-y")

    assert result.returncode == 0, result.stderr
    runs = folders(work / ".cascade")
    assert len(runs) == 2
    assert len({meta(folder)["sweep_id"] for folder in runs}) == 1


def test_run_cmd_example_main_job(tmp_path):
    repo = Path(__file__).resolve().parents[1]

    result = cascade(repo, "run", "examples/train.py", "--lr", "0.05", "--epochs", "2", "-y",
                     "--root", str(tmp_path / "store"))

    assert result.returncode == 0, result.stderr
    (folder,) = folders(tmp_path / "store")
    assert json.loads((folder / "cascade_overrides.json").read_text()) == {"lr": 0.05, "epochs": 2}
    assert "epoch   2/2" in result.stdout


def test_run_cmd_memory_flat_on_huge_line(work):
    (work / "huge.py").write_text(
        "import sys\nchunk = 'y' * (1 << 20)\nfor _ in range(128):\n    sys.stdout.write(chunk)\n"
    )
    measure = (
        "import resource, subprocess, sys\n"
        "subprocess.run([sys.executable, '-m', 'cascade_core', 'run', 'huge.py', '-y'],\n"
        "               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)\n"
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
    )

    result = subprocess.run([sys.executable, "-c", measure], cwd=work, env=user_env(), capture_output=True,
                            text=True, timeout=300)

    assert result.returncode == 0, result.stderr
    peak_kib = int(result.stdout)
    assert peak_kib < 100 * 1024
    (folder,) = folders(work / ".cascade")
    assert (folder / "logs" / "cascade_run.log").stat().st_size == 128 * (1 << 20) + 1


def test_run_cmd_breakpoint_on_terminal(work):
    (work / "debug.py").write_text("value = 41\nbreakpoint()\nprint('value', value + 1)\n")

    returncode, output = run_on_terminal(work, ["run", "debug.py", "-y"], b"p value\nc\n")

    assert returncode == 0
    assert "(Pdb) 41" in output
    assert "value 42" in output


def read_until(fd: int, pattern: bytes, timeout: float = 60) -> bytes:
    """Read a terminal until its output matches the regular expression `pattern`."""
    import re
    import select

    data = b""
    deadline = time.monotonic() + timeout
    while not re.search(pattern, data) and time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                break
            if not chunk:
                break
            data += chunk
    return data


def test_run_cmd_ctrl_c_in_terminal(work):
    (work / "spawner.py").write_text(
        "import subprocess, sys, time\n"
        "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)'])\n"
        "print('child', child.pid, flush=True)\n"
        "time.sleep(600)\n"
    )
    pid, terminal = pty.fork()
    if pid == 0:
        os.chdir(work)
        os.execve(sys.executable, [sys.executable, "-m", "cascade_core", "run", "spawner.py", "-y"], user_env())

    output = read_until(terminal, rb"child \d+\r?\n")
    grandchild = int(output.split(b"child ")[1].split()[0])
    os.write(terminal, b"\x03")
    output += read_until(terminal, b"interrupted")
    _, status = os.waitpid(pid, 0)
    os.close(terminal)

    assert os.waitstatus_to_exitcode(status) == 130
    (folder,) = folders(work / ".cascade")
    assert meta(folder)["status"] == "interrupted"
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and os.path.exists(f"/proc/{grandchild}"):
        time.sleep(0.05)
    assert not os.path.exists(f"/proc/{grandchild}")


def test_run_cmd_closed_stdout_keeps_running(work):
    (work / "many.py").write_text("for i in range(200_000):\n    print('line', i)\nprint('end')\n")
    runner = subprocess.Popen([sys.executable, "-m", "cascade_core", "run", "many.py", "-y"], cwd=work,
                              env=user_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE)

    assert runner.stdout.readline() == b"line 0\n"
    runner.stdout.close()
    stderr = runner.stderr.read().decode()
    runner.wait(120)

    assert runner.returncode == 0
    assert "Traceback" not in stderr
    (folder,) = folders(work / ".cascade")
    assert (folder / "logs" / "cascade_run.log").read_text().splitlines()[-1] == "end"
