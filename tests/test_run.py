"""Tests of cascade_core.run: the Run handle, start() and run(), with real child processes."""

from __future__ import annotations

import _thread
import json
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

import cascade_core
from cascade_core import store
from cascade_core.errors import OverrideError, RunError, RunTimeoutError, ScriptNotFoundError
from cascade_core.run import Run


@pytest.fixture
def work(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("CASCADE_ROOT", raising=False)
    monkeypatch.delenv("CASCADE_RUN_DIR", raising=False)
    return tmp_path


def script(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


CONFIG_SCRIPT = (
    "from cascade_core import Config, log_metric\n"
    "\n"
    "\n"
    "class Train(Config):\n"
    "    lr = 0.1\n"
    "    size = (24, 24)\n"
    "    name = 'base'\n"
    "\n"
    "\n"
    "log_metric('loss', 1.0, step=0)\n"
    "log_metric('loss', 0.5, step=1)\n"
    "print(Train.lr, Train.size, Train.name)\n"
)


def test_run_records_config_overrides_and_metrics(work):
    path = script(work, "train.py", CONFIG_SCRIPT)

    run = cascade_core.run(path, "--lr", "0.01", "--size", "(32, 32)")

    assert run.status == "completed"
    assert run.returncode == 0
    assert run.log_text() == "0.01 (32, 32) base\n"
    assert run.overrides == {"lr": 0.01, "size": (32, 32)}
    assert run.config == {"lr": 0.01, "size": (32, 32), "name": "base"}
    assert run.metrics == {"loss": 0.5}
    assert json.loads((run.path / "cascade_config.json").read_text()) == {"lr": 0.01, "size": [32, 32], "name": "base"}
    assert json.loads((run.path / "cascade_values.json").read_text()) == {
        "config": {"lr": "0.01", "size": "(32, 32)", "name": "'base'"},
        "overrides": {"lr": "0.01", "size": "(32, 32)"},
    }


def test_run_mapping_overrides(work):
    path = script(work, "train.py", CONFIG_SCRIPT)

    run = cascade_core.run(path, {"lr": 1, "name": "it's"})

    assert run.log_text() == "1.0 (24, 24) it's\n"
    assert run.overrides == {"lr": 1.0, "name": "it's"}


def test_run_loaded_back_equals_live(work):
    path = script(work, "train.py", CONFIG_SCRIPT)
    live = cascade_core.run(path, "--size", "(1, 2)", name="first", tags=("a", "b"))

    loaded = Run.load(live.path)

    assert loaded.id == live.id
    assert loaded.config == live.config
    assert loaded.overrides == {"size": (1, 2)}
    assert loaded.status == "completed"
    assert loaded.name == "first"
    assert loaded.tags == ["a", "b"]
    assert loaded.script == path
    assert loaded.returncode == 0
    assert loaded.duration == live.duration
    assert loaded.poll() == 0


def test_run_meta_fields(work):
    path = script(work, "show.py", "print('x')\n")

    run = cascade_core.run(path, sweep_id="sweep-1")
    meta = json.loads((run.path / "cascade_run_meta.json").read_text())

    assert meta["run_id"] == run.id
    assert meta["script"] == str(path)
    assert meta["argv"] == [str(path)]
    assert meta["status"] == "completed"
    assert meta["exit_code"] == 0
    assert meta["host"] == socket.gethostname()
    assert meta["sweep_id"] == "sweep-1"
    assert meta["base"] is None
    assert meta["started_at"].endswith("+00:00")
    assert meta["ended_at"] >= meta["started_at"]
    assert isinstance(meta["pid"], int)
    assert isinstance(meta["duration"], float)


def test_run_environment_file(work):
    run = cascade_core.run(script(work, "show.py", "print('x')\n"))

    environment = json.loads((run.path / "environment.json").read_text())

    assert environment["python"] == ".".join(map(str, __import__("sys").version_info[:3]))
    assert "click" in {name.lower() for name in environment["packages"]}
    assert "platform" in environment


def test_run_child_environment(work, monkeypatch):
    monkeypatch.delenv("PYTHONUNBUFFERED", raising=False)
    code = (
        "import os, sys\n"
        "print(os.environ['CASCADE_RUN_ID'], os.environ['CASCADE_RUN_DIR'], os.environ['PYTHONUNBUFFERED'],\n"
        "      os.environ['PYTHONIOENCODING'], os.environ.get('EXTRA'), sys.stdout.isatty(), os.getcwd())\n"
    )
    before = dict(os.environ)

    run = cascade_core.run(script(work, "env.py", code), env={"EXTRA": "yes"})

    assert run.log_text() == f"{run.id} {run.path} 1 utf-8 yes False {work}\n"
    assert dict(os.environ) == before


def test_run_keeps_user_pythonioencoding(work, monkeypatch):
    monkeypatch.setenv("PYTHONIOENCODING", "latin-1")

    run = cascade_core.run(script(work, "enc.py", "import os\nprint(os.environ['PYTHONIOENCODING'])\n"))

    assert run.log_text() == "latin-1\n"


def test_run_chdir_runs_in_run_folder(work):
    run = cascade_core.run(script(work, "cwd.py", "import os\nprint(os.getcwd())\n"), chdir=True)

    assert run.log_text() == f"{run.path}\n"


def test_run_passthrough_and_argv(work):
    path = script(work, "args.py", "import sys\nprint(sys.argv[1:])\n")

    run = cascade_core.run(path, "--", "--raw", "x", argv=("tail",))

    assert run.log_text() == "['--raw', 'x', 'tail']\n"


def test_run_no_log_keeps_records(work):
    run = cascade_core.run(script(work, "quiet.py", "print('hidden')\n"), no_log=True)

    assert not (run.path / "logs" / "cascade_run.log").exists()
    assert (run.path / "cascade_run_meta.json").is_file()
    assert (run.path / "cascade_run_script.py").read_text() == "print('hidden')\n"
    assert run.log_text() == ""


def test_run_callbacks_receive_output(work):
    stdout, stderr, ended = [], [], []
    code = "import sys\nprint('out')\nprint('err', file=sys.stderr)\n"

    run = cascade_core.run(script(work, "both.py", code), on_stdout=stdout.append, on_stderr=stderr.append,
                           on_exit=ended.append)

    assert "".join(stdout) == "out\n"
    assert "".join(stderr) == "err\n"
    assert ended == [run]


def test_run_failure_status(work):
    run = cascade_core.run(script(work, "fail.py", "raise SystemExit(3)\n"))

    assert run.status == "failed"
    assert run.returncode == 3


def test_start_returns_at_once_and_stop(work):
    path = script(work, "sleepy.py", "import time\nprint('ready', flush=True)\ntime.sleep(600)\n")
    ready = threading.Event()

    handle = cascade_core.start(path, on_stdout=lambda text: ready.set())
    assert handle.status == "running"
    assert handle.poll() is None
    assert ready.wait(60)
    handle.stop()

    assert handle.wait(60) == 130
    assert handle.status == "interrupted"
    assert Run.load(handle.path).status == "interrupted"


def test_wait_timeout(work):
    handle = cascade_core.start(script(work, "sleepy.py", "import time\ntime.sleep(600)\n"))

    with pytest.raises(RunTimeoutError, match=rf"Run {handle.id} is still running after 0.3 s\."):
        handle.wait(0.3)
    handle.stop()
    handle.wait(60)


def test_wait_interrupted_stops_run(work):
    path = script(work, "sleepy.py", "import time\nprint('ready', flush=True)\ntime.sleep(600)\n")
    ready = threading.Event()
    handle = cascade_core.start(path, on_stdout=lambda text: ready.set())
    assert ready.wait(60)
    threading.Timer(0.2, _thread.interrupt_main).start()

    with pytest.raises(KeyboardInterrupt):
        handle.wait()

    assert handle.status == "interrupted"
    assert handle.returncode == 130


def test_stop_loaded_run_rejected(work):
    run = cascade_core.run(script(work, "a.py", "import time\n"))
    folder = run.path
    meta = json.loads((folder / "cascade_run_meta.json").read_text())
    meta["status"] = "running"
    meta["runner_pid"] = os.getpid()
    meta["runner_start_time"] = store.process_start_time(os.getpid())
    store.write_json(folder / "cascade_run_meta.json", meta)

    with pytest.raises(RunError, match=r"Run .* was not started by this process, so it cannot be stopped from here\."):
        Run.load(folder).stop()


def test_loaded_running_run_with_dead_runner_is_lost(work):
    run = cascade_core.run(script(work, "a.py", "pass\n"))
    meta = json.loads((run.path / "cascade_run_meta.json").read_text())
    meta.update(status="running", runner_pid=2**22 + 4321)
    store.write_json(run.path / "cascade_run_meta.json", meta)

    assert Run.load(run.path).status == "lost"


def test_start_missing_script_creates_no_folder(work):
    with pytest.raises(ScriptNotFoundError, match=r"Script not found: .*missing\.py"):
        cascade_core.start("missing.py")

    assert not (work / ".cascade" / "runs").exists() or not any((work / ".cascade" / "runs").iterdir())


def test_start_bad_override_creates_no_folder(work):
    path = script(work, "train.py", CONFIG_SCRIPT)

    with pytest.raises(OverrideError, match="lr"):
        cascade_core.start(path, "--lr", "fast")

    assert not (work / ".cascade").exists()


def test_run_with_overrides_spawn_workers(work):
    code = (
        "import multiprocessing as mp\n"
        "\n"
        "VALUE = 1\n"
        "\n"
        "\n"
        "def work(_):\n"
        "    return VALUE\n"
        "\n"
        "\n"
        "if __name__ == '__main__':\n"
        "    with mp.get_context('spawn').Pool(2) as pool:\n"
        "        print(pool.map(work, range(2)))\n"
    )

    run = cascade_core.run(script(work, "mp.py", code), "--VALUE", "9")

    assert run.log_text() == "[9, 9]\n"


def test_run_argparse_records_parsed_values(work):
    code = (
        "import argparse\n"
        "parser = argparse.ArgumentParser()\n"
        "parser.add_argument('--lr', type=float, default=0.1)\n"
        "parser.add_argument('--epochs', type=int, default=3)\n"
        "args = parser.parse_args()\n"
        "print(args.lr, args.epochs)\n"
    )

    run = cascade_core.run(script(work, "ap.py", code), "--lr", "0.5")

    assert run.log_text() == "0.5 3\n"
    assert run.config == {"lr": 0.5, "epochs": 3}
    assert run.overrides == {"lr": 0.5}


def test_run_big_line_without_newline(work):
    code = "import sys\nchunk = 'z' * (1 << 20)\nfor _ in range(24):\n    sys.stdout.write(chunk)\n"

    run = cascade_core.run(script(work, "big.py", code))

    with open(run.path / "logs" / "cascade_run.log", "rb") as stream:
        data = stream.read()
    assert len(data) == 24 * (1 << 20) + 1
    assert data.count(b"z") == 24 * (1 << 20)


def test_runs_lists_newest_last(work):
    path = script(work, "a.py", "pass\n")
    first = cascade_core.run(path)
    second = cascade_core.run(path, name="two")

    listed = cascade_core.runs()

    assert [run.id for run in listed] == [first.id, second.id]
    assert listed[-1].name == "two"
    time.sleep(0)


def process_gone(pid: int) -> bool:
    """Tell whether `pid` has exited; a zombie counts as gone."""
    try:
        with open(f"/proc/{pid}/stat") as stream:
            return stream.read().rpartition(")")[2].split()[0] in ("Z", "X")
    except FileNotFoundError:
        return True


def test_run_refreshes_heartbeat(work, monkeypatch):
    monkeypatch.setattr(store, "HEARTBEAT_INTERVAL", 0.2)
    path = script(work, "sleepy.py", "import time\nprint('ready', flush=True)\ntime.sleep(600)\n")
    ready = threading.Event()
    handle = cascade_core.start(path, on_stdout=lambda text: ready.set())
    assert ready.wait(60)

    time.sleep(1.0)
    meta = json.loads((handle.path / "cascade_run_meta.json").read_text())
    handle.stop()
    handle.wait(60)

    assert meta["status"] == "running"
    assert meta["heartbeat"] > meta["start_time"] + 0.3


def test_runs_stopped_when_runner_exits(work):
    path = script(work, "sleepy.py", "import time\nprint('ready', flush=True)\ntime.sleep(600)\n")
    code = (
        "import sys, threading\n"
        "import cascade_core\n"
        "ready = threading.Event()\n"
        f"handle = cascade_core.start({str(path)!r}, on_stdout=lambda text: ready.set())\n"
        "ready.wait(60)\n"
        "print(handle.path, flush=True)\n"
    )

    result = subprocess.run([sys.executable, "-c", code], cwd=work, capture_output=True, text=True, timeout=120)

    folder = Path(result.stdout.strip())
    meta = json.loads((folder / "cascade_run_meta.json").read_text())
    assert meta["status"] == "interrupted"
    assert process_gone(meta["pid"])
