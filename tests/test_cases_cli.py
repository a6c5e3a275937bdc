"""Users' cases, end to end: `python -m cascade_core run ... -y` in real subprocesses."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from case_scripts import CASE_SCRIPTS, write_case_scripts, write_project


@pytest.fixture
def work(tmp_path):
    return write_case_scripts(tmp_path, *CASE_SCRIPTS)


def user_env(**extra) -> dict:
    env = {key: value for key, value in os.environ.items() if not key.startswith("CASCADE_")}
    env.pop("PYTHONUNBUFFERED", None)
    env.update(extra)
    return env


def cascade_run(cwd: Path, *args: str, env=None, timeout=120) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "cascade_core", "run", *args]
    return subprocess.run(command, cwd=cwd, env=env or user_env(), capture_output=True, text=True,
                          encoding="utf-8", timeout=timeout)


def run_folders(cwd: Path) -> list[Path]:
    runs = cwd / ".cascade" / "runs"
    return sorted(runs.iterdir()) if runs.is_dir() else []


def only_run(cwd: Path) -> Path:
    folders = run_folders(cwd)
    assert len(folders) == 1, folders
    return folders[0]


def read_json(path: Path):
    return json.loads(path.read_text(encoding="utf-8"))


def log_lines(folder: Path) -> list[str]:
    return (folder / "logs" / "cascade_run.log").read_text(encoding="utf-8").split("\n")[:-1]


# C01, C02, C03, C05, C06: override values ------------------------------------


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        pytest.param(["code.py", "--RUN_CODE", "012"], "'012' str", id="C01-012"),
        pytest.param(["code.py", "--RUN_CODE", "007"], "'007' str", id="C01-007"),
        pytest.param(["split.py", "--SPLIT", "123"], "'123' str '2018-11-23' 1000 int", id="C02-digits"),
        pytest.param(["split.py", "--SPLIT", "2024_05"], "'2024_05' str '2018-11-23' 1000 int", id="C02-underscore"),
        pytest.param(["split.py", "--DAY", "2018-11-25"], "'train' str '2018-11-25' 1000 int", id="C02-date"),
        pytest.param(["split.py", "--STEPS", "10_000"], "'train' str '2018-11-23' 10000 int", id="C02-grouping"),
        pytest.param(["split.py", "--SPLIT", "'123'"], "'123' str '2018-11-23' 1000 int", id="C02-quoted"),
        pytest.param(["types_demo.py", "--LR", "1", "--EPOCHS", "20"], "1.0 float 20 int False None", id="C03-int-to-float"),
        pytest.param(["types_demo.py", "--USE_AMP", "true"], "0.1 float 10 int True None", id="C03-bool"),
        pytest.param(["types_demo.py", "--CKPT", "runs/best.pt"], "0.1 float 10 int False 'runs/best.pt'", id="C03-none-text"),
        pytest.param(["types_demo.py", "--CKPT", "None"], "0.1 float 10 int False None", id="C03-none"),
        pytest.param(["net.py", "--TAG", "a,b"], "[64, 64] 'a,b'", id="C05-comma-no-multirun"),
        pytest.param(["say.py", "--PROMPT", "a  b c"], "'a  b c'", id="C06-spaces"),
        pytest.param(["say.py", "--PROMPT", "' padded '"], "' padded '", id="C06-quoted-padding"),
    ],
)
def test_cases_override_values(work, args, expected):
    result = cascade_run(work, *args, "-y")

    assert result.returncode == 0, result.stderr
    assert result.stdout == expected + "\n"
    folder = only_run(work)
    assert log_lines(folder) == [expected]
    assert read_json(folder / "cascade_run_meta.json")["status"] == "completed"


def test_cases_c01_overrides_record_string(work):
    cascade_run(work, "code.py", "--RUN_CODE", "012", "-y")

    assert read_json(only_run(work) / "cascade_overrides.json") == {"RUN_CODE": "012"}


def test_cases_c03_float_to_int_refused(work):
    result = cascade_run(work, "types_demo.py", "--EPOCHS", "2.5", "-y")

    assert result.returncode != 0
    assert result.stdout == ""
    error_lines = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert len(error_lines) == 1
    assert "EPOCHS" in error_lines[0]
    assert "int" in error_lines[0]
    assert "Traceback" not in result.stderr
    assert run_folders(work) == []


# C09: live streaming ------------------------------------------------------------


def test_cases_c09_streams_live(work):
    command = [sys.executable, "-m", "cascade_core", "run", "slow.py", "-y"]
    child = subprocess.Popen(command, cwd=work, env=user_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    arrivals = {}
    log_during_run = None
    for raw in child.stdout:
        line = raw.decode("utf-8").rstrip("\n")
        arrivals.setdefault(line, time.monotonic())
        if line == "epoch 0":
            log_during_run = log_lines(only_run(work))
    child.wait(120)

    assert child.returncode == 0
    assert log_during_run is not None and "epoch 0" in log_during_run
    assert arrivals["epoch 1"] - arrivals["epoch 0"] > 0.5
    assert arrivals["epoch 2"] - arrivals["epoch 1"] > 0.5
    assert log_lines(only_run(work)) == ["epoch 0", "epoch 1", "epoch 2", "", "    indented note", "x" * 100_000, "end"]


# C10: carriage-return progress bars ---------------------------------------------


def test_cases_c10_progress_bar(work):
    result = subprocess.run([sys.executable, "-m", "cascade_core", "run", "bar.py", "-y"], cwd=work,
                            env=user_env(), capture_output=True, timeout=120)

    assert result.returncode == 0
    assert b"\rstep 1/50\rstep 2/50" in result.stderr
    assert log_lines(only_run(work)) == ["step 50/50", "done"]


# C11: undecodable and non-ASCII bytes ---------------------------------------------


@pytest.mark.parametrize(
    "locale_env",
    [
        pytest.param({}, id="default-locale"),
        pytest.param({"LC_ALL": "C", "PYTHONUTF8": "0", "PYTHONCOERCECLOCALE": "0", "LANG": "C"}, id="ascii-locale"),
    ],
)
def test_cases_c11_bytes(work, locale_env):
    result = subprocess.run([sys.executable, "-m", "cascade_core", "run", "bytes_out.py", "-y"], cwd=work,
                            env=user_env(**locale_env), capture_output=True, timeout=120)

    assert result.returncode == 0, result.stderr
    assert log_lines(only_run(work)) == ["start", "acc\ufffd0.91", "точность ✓ 0.93", "end"]
    assert b"UnicodeDecodeError" not in result.stderr
    assert b"UnicodeEncodeError" not in result.stderr
    assert result.stdout.splitlines()[0] == b"start"
    assert result.stdout.splitlines()[-1] == b"end"


# C12: interrupt stops the whole tree ----------------------------------------------


def gone(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stream:
            return stream.read().rpartition(")")[2].split()[0] in ("Z", "X")
    except FileNotFoundError:
        return True


@pytest.mark.parametrize("signum", [pytest.param(signal.SIGINT, id="kill-INT"), pytest.param(signal.SIGTERM, id="kill-TERM")])
def test_cases_c12_interrupt_stops_tree(work, signum):
    command = [sys.executable, "-m", "cascade_core", "run", "spawner.py", "-y"]
    runner = subprocess.Popen(command, cwd=work, env=user_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    first = runner.stdout.readline().decode()
    assert first.startswith("child "), runner.stderr.read()
    grandchild = int(first.split()[1])
    folder = only_run(work)
    script_pid = read_json(folder / "cascade_run_meta.json")["pid"]

    runner.send_signal(signum)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and not (gone(script_pid) and gone(grandchild)):
        time.sleep(0.05)

    assert gone(script_pid)
    assert gone(grandchild)
    runner.wait(60)
    meta = read_json(folder / "cascade_run_meta.json")
    assert meta["status"] == "interrupted"
    assert meta["exit_code"] == 130
    assert runner.returncode == 130
    assert (folder / "cascade_config.json").is_file()
    assert log_lines(folder)[0] == first.strip()


# C13: another directory and odd characters in the path ----------------------------


@pytest.mark.parametrize("folder", [pytest.param("plain", id="plain"), pytest.param('odd "q" \\Users', id="odd-path")])
def test_cases_c13_other_directory(tmp_path, folder):
    parent = tmp_path / folder
    write_project(parent)

    result = cascade_run(parent, "proj/train.py", "--K", "5", "-y")

    assert result.returncode == 0, result.stderr
    assert result.stdout == "17 proj train.py\n"


def test_cases_c13_absolute_path_from_elsewhere(tmp_path):
    proj = write_project(tmp_path / 'odd "q" \\Users')
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()

    result = cascade_run(elsewhere, str(proj / "train.py"), "--K", "5", "-y")

    assert result.returncode == 0, result.stderr
    assert result.stdout == "17 proj train.py\n"


# C14: tracebacks name the real file and lines --------------------------------------


def test_cases_c14_traceback_locations(work):
    boom = work / "boom.py"
    expected = (
        "Traceback (most recent call last):\n"
        f'  File "{boom}", line 13, in <module>\n'
        "    update(1.0, 0.5)\n"
        f'  File "{boom}", line 8, in update\n'
        "    scale = LR / 0  # line 8 divides by zero\n"
    )

    result = cascade_run(work, "boom.py", "--LR", "0.5", "-y")

    assert result.returncode != 0
    assert result.stdout == "lr 0.5\n"
    folder = only_run(work)
    assert str(folder) in result.stderr
    log = (folder / "logs" / "cascade_run.log").read_text()
    for text in (result.stderr, log):
        assert expected in text
        assert "ZeroDivisionError: float division by zero\n" in text
        assert "<string>" not in text
    assert read_json(folder / "cascade_run_meta.json")["status"] == "failed"


# C16: parallel starts ----------------------------------------------------------------


def test_cases_c16_parallel_runs(work):
    command = [sys.executable, "-m", "cascade_core", "run", "seed.py"]
    runners = [
        subprocess.Popen([*command, "--SEED", str(seed), "-y"], cwd=work, env=user_env(),
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for seed in range(1, 9)
    ]
    results = [runner.communicate(timeout=180) for runner in runners]

    assert [runner.returncode for runner in runners] == [0] * 8, [err for _out, err in results]
    folders = run_folders(work)
    assert len(folders) == 8
    by_seed = {read_json(folder / "cascade_overrides.json")["SEED"]: folder for folder in folders}
    assert sorted(by_seed) == list(range(1, 9))
    for seed, folder in by_seed.items():
        assert log_lines(folder) == [f"seed {seed}"]
    assert all(b"FileExistsError" not in err for _out, err in results)
