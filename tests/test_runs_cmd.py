"""Tests of `cascade runs`, `runs rm`, `runs prune`, `show`, `diff` and `logs` through real processes."""

from __future__ import annotations

import json
import os
import pty
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from process_helpers import process_gone, wait_for



def user_env() -> dict:
    return {key: value for key, value in os.environ.items() if not key.startswith("CASCADE_")}


def cascade(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "cascade_core", *args], cwd=cwd, env=user_env(),
                          stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120)


@pytest.fixture
def work(tmp_path):
    (tmp_path / "code.py").write_text('RUN_CODE = "A7"\nprint(repr(RUN_CODE))\n')
    return tmp_path


def only_folder(work: Path) -> Path:
    (folder,) = sorted((work / ".cascade" / "runs").iterdir())
    return folder


def test_runs_cmd_lists_runs(work):
    cascade(work, "run", "code.py", "--RUN_CODE", "B1", "-y")
    folder = only_folder(work)

    result = cascade(work, "runs")

    header, row = result.stdout.splitlines()
    assert header.split() == ["ID", "STATUS", "STARTED", "DURATION", "SCRIPT", "OVERRIDES"]
    assert row.startswith(f"{folder.name}  completed  ")
    assert row.endswith("code.py  --RUN_CODE B1")


def test_runs_cmd_empty_store(work):
    result = cascade(work, "runs")

    assert result.returncode == 0
    assert result.stdout == ""
    assert result.stderr == "No runs yet. Start one with: cascade run SCRIPT\n"


def test_show_cmd_describes_run(work):
    cascade(work, "run", "code.py", "--RUN_CODE", "B1", "-y", "--name", "first", "--tag", "t")
    folder = only_folder(work)
    (folder / "models.jsonl").write_text(json.dumps({"path": "line/00000", "saved_at": "2026-12-04T20:00:00"}) + "\n")
    (folder / "metrics.jsonl").write_text(json.dumps({"name": "loss", "value": 0.5, "step": 1, "time": 1.0}) + "\n")

    result = cascade(work, "show", "last")

    lines = result.stdout.splitlines()
    assert lines[0] == f"Run {folder.name}"
    assert "  status:    completed" in lines
    assert "  name:      first" in lines
    assert "  tags:      t" in lines
    assert f"  folder:    {folder}" in lines
    assert lines[lines.index("Config:") + 1] == "  * RUN_CODE = 'B1'"
    assert lines[lines.index("Metrics:") + 1] == "  loss = 0.5"
    assert lines[lines.index("Models:") + 1] == "  line/00000  (saved 2026-12-04T20:00:00)"
    assert lines[lines.index("Log:") + 1] == f"  {folder / 'logs' / 'cascade_run.log'}"


def test_show_cmd_quotes_argv(work):
    folder = work / "my dir"
    folder.mkdir()
    (folder / "say it.py").write_text("print('hi')\n")
    cascade(work, "run", "my dir/say it.py", "-y", "--", "x y", "z")

    result = cascade(work, "show", "last")

    assert "  argv:      'my dir/say it.py' 'x y' z" in result.stdout.splitlines()


def test_show_cmd_unknown_ref(work):
    cascade(work, "run", "code.py", "-y")

    result = cascade(work, "show", "zzz")

    assert result.returncode == 1
    assert result.stderr == (
        f"Error: No run matches run reference 'zzz' in {work / '.cascade' / 'runs'}. "
        "Give 'last', a run folder path or a run id prefix (see: cascade runs).\n"
    )


# Filters and JSON ------------------------------------------------------------

EXIT = "CODE = 0\nprint('code', CODE)\nraise SystemExit(CODE)\n"


@pytest.fixture
def three(work) -> list[str]:
    """Run ids of: code.py completed; exit.py failed, named `bad`, tagged a and b; code.py tagged a."""
    (work / "sub").mkdir()
    (work / "sub" / "exit.py").write_text(EXIT)
    cascade(work, "run", "code.py", "-y")
    cascade(work, "run", "sub/exit.py", "--CODE", "3", "-y", "--name", "bad", "--tag", "a", "--tag", "b")
    cascade(work, "run", "code.py", "--RUN_CODE", "Z", "-y", "--tag", "a")
    return [folder.name for folder in sorted((work / ".cascade" / "runs").iterdir())]


def listed_ids(result: subprocess.CompletedProcess) -> list[str]:
    return [line.split()[0] for line in result.stdout.splitlines()[1:]]


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        pytest.param((), [0, 1, 2], id="all"),
        pytest.param(("--status", "failed"), [1], id="status"),
        pytest.param(("--script", "code.py"), [0, 2], id="script"),
        pytest.param(("--script", "sub/exit.py"), [1], id="script-path"),
        pytest.param(("--script", "ex*"), [1], id="script-glob"),
        pytest.param(("--name", "bad"), [1], id="name"),
        pytest.param(("--tag", "a"), [1, 2], id="tag"),
        pytest.param(("--tag", "a", "--tag", "b"), [1], id="tags"),
        pytest.param(("--last", "2"), [1, 2], id="last"),
        pytest.param(("--tag", "a", "--last", "1"), [2], id="tag-last"),
        pytest.param(("--status", "completed", "--script", "code.py", "--last", "1"), [2], id="combined"),
    ],
)
def test_runs_cmd_filters(work, three, arguments, expected):
    result = cascade(work, "runs", *arguments)

    assert result.returncode == 0, result.stderr
    assert listed_ids(result) == [three[index] for index in expected]


def test_runs_cmd_name_and_tag_columns(work, three):
    result = cascade(work, "runs")

    header, *rows = result.stdout.splitlines()
    assert header.split() == ["ID", "STATUS", "STARTED", "DURATION", "SCRIPT", "NAME", "TAGS", "OVERRIDES"]
    assert rows[1].split()[5:] == ["exit.py", "bad", "a,b", "--CODE", "3"]
    assert rows[2].split()[5:] == ["code.py", "a", "--RUN_CODE", "Z"]


def test_runs_cmd_no_match(work, three):
    result = cascade(work, "runs", "--name", "nobody")

    assert result.returncode == 0
    assert result.stdout == ""
    assert result.stderr == "No runs match these filters.\n"


def test_runs_cmd_json(work, three):
    result = cascade(work, "runs", "--json", "--tag", "a")

    records = json.loads(result.stdout)
    assert [record["id"] for record in records] == three[1:]
    failed = records[0]
    assert failed["status"] == "failed"
    assert failed["exit_code"] == 3
    assert failed["name"] == "bad"
    assert failed["tags"] == ["a", "b"]
    assert failed["script"] == str(work / "sub" / "exit.py")
    assert failed["config"] == {"CODE": 3}
    assert failed["overrides"] == {"CODE": 3}
    assert failed["path"] == str(work / ".cascade" / "runs" / three[1])
    assert set(failed) == {
        "id", "status", "name", "tags", "script", "started_at", "ended_at", "duration", "exit_code",
        "base", "sweep_id", "config", "overrides", "metrics", "path",
    }


def test_runs_cmd_json_empty(work):
    result = cascade(work, "runs", "--json")

    assert result.stdout == "[]\n"


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        pytest.param(("--status", "done"), "Invalid value for '--status': 'done' is not one of", id="status"),
        pytest.param(("--last", "0"), "Invalid value for '--last': 0 is not in the range x>=1.", id="last"),
    ],
)
def test_runs_cmd_invalid_filter(work, arguments, message):
    result = cascade(work, "runs", *arguments)

    assert result.returncode == 2
    assert message in result.stderr


def start_runner(work: Path, script: str) -> subprocess.Popen:
    """Start `cascade run` on `script` and return once it reports the run started.

    From that message on, the runner stops the run on SIGTERM.
    """
    (work / "sleeper.py").write_text(script)
    runner = subprocess.Popen([sys.executable, "-m", "cascade_core", "run", "sleeper.py", "-y"], cwd=work,
                              env=user_env(), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE)
    for line in runner.stderr:
        if line.startswith(b"Run ") and b" started: " in line:
            return runner
    raise AssertionError(f"cascade run ended without starting the run (exit status {runner.wait()})")


def child_pid(work: Path) -> int:
    def read_pid():
        folders = sorted((work / ".cascade" / "runs").glob("*"))
        meta_path = folders[-1] / "cascade_run_meta.json" if folders else None
        return json.loads(meta_path.read_text()).get("pid") if meta_path and meta_path.exists() else None

    return wait_for(read_pid)


def test_runs_cmd_lost_run(work):
    runner = start_runner(work, "import time\nprint('up', flush=True)\ntime.sleep(120)\n")
    pid = child_pid(work)
    try:
        assert listed_ids(cascade(work, "runs", "--status", "running"))
        runner.send_signal(signal.SIGKILL)
        runner.wait(timeout=30)

        result = cascade(work, "runs", "--status", "lost")

        assert len(listed_ids(result)) == 1
        assert result.stdout.splitlines()[1].split()[1] == "lost"
    finally:
        runner.kill()
        runner.wait(timeout=30)
        os.kill(pid, signal.SIGKILL)
    wait_for(lambda: process_gone(pid))


# rm and prune ----------------------------------------------------------------


def remaining(work: Path) -> list[str]:
    return [folder.name for folder in sorted((work / ".cascade" / "runs").iterdir())]


def test_runs_rm_removes_runs(work, three):
    result = cascade(work, "runs", "rm", three[0], "last", "-y")

    assert result.returncode == 0, result.stderr
    assert result.stderr == "Removed 2 runs.\n"
    assert remaining(work) == [three[1]]


def test_runs_rm_same_run_twice(work, three):
    result = cascade(work, "runs", "rm", "last", three[2], "-y")

    assert result.stderr == "Removed 1 run.\n"
    assert remaining(work) == three[:2]


def test_runs_rm_unknown_ref_removes_nothing(work, three):
    result = cascade(work, "runs", "rm", three[0], "zzz", "-y")

    assert result.returncode == 1
    assert result.stderr.startswith("Error: No run matches run reference 'zzz'")
    assert remaining(work) == three


def test_runs_rm_needs_confirmation(work, three):
    result = cascade(work, "runs", "rm", "last")

    assert result.returncode == 1
    assert result.stderr == (
        "Error: Standard input is not a terminal, so the removal cannot be confirmed. "
        "Pass -y to remove without confirmation.\n"
    )
    assert remaining(work) == three


def run_in_terminal(work: Path, *args: str, answer: bytes) -> tuple[int, str]:
    """Run the CLI with a pseudo-terminal as stdin, type `answer`, and return the exit status and stderr."""
    leader, follower = pty.openpty()
    try:
        process = subprocess.Popen([sys.executable, "-m", "cascade_core", *args], cwd=work, env=user_env(),
                                   stdin=follower, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        os.write(leader, answer)
        _, stderr = process.communicate(timeout=120)
    finally:
        os.close(leader)
        os.close(follower)
    return process.returncode, stderr.decode()


def test_runs_rm_confirmed_in_terminal(work, three):
    status, stderr = run_in_terminal(work, "runs", "rm", "last", answer=b"y\n")

    assert status == 0
    assert "Remove 1 run and their folders? [y/N]: " in stderr
    assert remaining(work) == three[:2]


def test_runs_rm_declined_in_terminal(work, three):
    status, stderr = run_in_terminal(work, "runs", "rm", "last", answer=b"n\n")

    assert status == 1
    assert stderr.endswith("Aborted: nothing was removed.\n")
    assert remaining(work) == three


def test_runs_rm_running_run(work):
    runner = start_runner(work, "import time\ntime.sleep(120)\n")
    pid = child_pid(work)
    try:
        result = cascade(work, "runs", "rm", "last", "-y")

        assert result.returncode == 1
        assert result.stderr.startswith(f"Error: Run {remaining(work)[0]} is still running: stop it first")
        assert len(remaining(work)) == 1
    finally:
        runner.send_signal(signal.SIGTERM)
        runner.wait(timeout=60)
    wait_for(lambda: process_gone(pid))


def test_runs_prune_by_status(work, three):
    result = cascade(work, "runs", "prune", "--older-than", "0s", "--status", "failed", "-y")

    assert result.returncode == 0, result.stderr
    assert result.stderr == "Removed 1 run.\n"
    assert remaining(work) == [three[0], three[2]]


def test_runs_prune_dry_run(work, three):
    result = cascade(work, "runs", "prune", "--older-than", "0s", "--dry-run")

    assert listed_ids(result) == three
    assert result.stderr == "Would remove 3 runs (dry run: nothing removed).\n"
    assert remaining(work) == three


def test_runs_prune_nothing_old_enough(work, three):
    result = cascade(work, "runs", "prune", "--older-than", "30d", "-y")

    assert result.returncode == 0
    assert result.stderr == "No runs to prune: none started more than 30d ago.\n"
    assert remaining(work) == three


def test_runs_prune_confirmed_in_terminal(work, three):
    status, stderr = run_in_terminal(work, "runs", "prune", "--older-than", "0s", answer=b"y\n")

    assert status == 0
    assert "Remove 3 runs and their folders? [y/N]: " in stderr
    assert remaining(work) == []


def test_runs_prune_invalid_age(work, three):
    result = cascade(work, "runs", "prune", "--older-than", "30 days", "-y")

    assert result.returncode == 1
    assert result.stderr == (
        "Error: Invalid age '30 days': expected a number and a unit (w, d, h, m or s), e.g. 30d, 12h or 1d12h.\n"
    )
    assert remaining(work) == three


def test_runs_prune_keeps_running_run(work, three):
    runner = start_runner(work, "import time\ntime.sleep(120)\n")
    pid = child_pid(work)
    try:
        result = cascade(work, "runs", "prune", "--older-than", "0s", "-y")

        assert result.stderr == "Removed 3 runs.\n"
        assert len(remaining(work)) == 1
    finally:
        runner.send_signal(signal.SIGTERM)
        runner.wait(timeout=60)
    wait_for(lambda: process_gone(pid))


# diff and logs ---------------------------------------------------------------


def test_diff_cmd(work, three):
    result = cascade(work, "diff", three[0], "last")

    assert result.returncode == 0, result.stderr
    assert result.stdout == (
        f"--- {three[0]}\n"
        f"+++ {three[2]}\n"
        "\n"
        "config:\n"
        "  RUN_CODE  'A7'  ->  'Z'\n"
        "\n"
        "overrides:\n"
        "  RUN_CODE  (missing)  ->  'Z'\n"
        "\n"
        "source:\n"
        f"--- {three[0]}/cascade_run_script.py\n"
        f"+++ {three[2]}/cascade_run_script.py\n"
        "@@ -1,2 +1,2 @@\n"
        "-RUN_CODE = \"A7\"\n"
        "+RUN_CODE = 'Z'\n"
        " print(repr(RUN_CODE))\n"
    )


def test_diff_cmd_unknown_ref(work, three):
    result = cascade(work, "diff", "last", "zzz")

    assert result.returncode == 1
    assert result.stderr.startswith("Error: No run matches run reference 'zzz'")


def test_logs_cmd_prints_log(work, three):
    result = cascade(work, "logs", three[1])

    assert result.returncode == 0
    assert result.stdout == "code 3\n"


def test_logs_cmd_no_log(work):
    cascade(work, "run", "code.py", "-y", "--no-log")

    result = cascade(work, "logs", "last")

    assert result.returncode == 1
    assert result.stderr == f"Error: Run {remaining(work)[0]} has no log: it was started with --no-log.\n"


def test_logs_cmd_follow(work):
    waits = (
        "import time\nfrom pathlib import Path\n\n"
        "print('step 0', flush=True)\n"
        "while not Path('release').exists():\n    time.sleep(0.05)\n"
        "print('step 1')\nprint('end')\n"
    )
    runner = start_runner(work, waits)
    follower = subprocess.Popen([sys.executable, "-m", "cascade_core", "logs", "-f", "last"], cwd=work,
                                env=user_env(), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, text=True)
    try:
        first = follower.stdout.readline()
        still_running = runner.poll() is None
        (work / "release").touch()
        rest, _ = follower.communicate(timeout=60)
    finally:
        (work / "release").touch()
        runner.wait(timeout=60)

    assert first == "step 0\n"
    assert still_running
    assert first + rest == "step 0\nstep 1\nend\n"
    assert follower.returncode == 0
