"""Tests of cascade_core.process: sessions, signal escalation and reaping, with real processes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time

import pytest

from cascade_core import process

pytestmark = pytest.mark.skipif(not process.IS_LINUX, reason="walks /proc")

SPAWN_GRANDCHILD = (
    "import subprocess, sys, time\n"
    "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)'])\n"
    "print(child.pid, flush=True)\n"
    "time.sleep(600)\n"
)


def launch(code: str) -> subprocess.Popen:
    return process.launch([sys.executable, "-c", code], os.getcwd(), dict(os.environ), stdin_tty=False)


def waiter(child: subprocess.Popen) -> threading.Event:
    exited = threading.Event()

    def wait():
        child.wait()
        exited.set()

    threading.Thread(target=wait, daemon=True).start()
    return exited


def wait_gone(pid: int, timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.is_gone(pid):
            return True
        time.sleep(0.05)
    return False


def test_launch_new_session_and_devnull_stdin():
    child = launch("import os, sys; print(os.getsid(0) == os.getpid(), sys.stdin.read() == '', flush=True)")

    out, _ = child.communicate(timeout=60)

    assert out == b"True True\n"


def test_enable_subreaper():
    assert process.enable_subreaper()


def test_session_members_lists_grandchild():
    child = launch(SPAWN_GRANDCHILD)
    grandchild = int(child.stdout.readline())

    members = {member.pid for member in process.session_members(child.pid)}

    assert {child.pid, grandchild} <= members
    process.signal_run(child, 9)
    child.wait(30)
    process.clear_session(child.pid)


def test_stopper_interrupt_stops_tree():
    child = launch(SPAWN_GRANDCHILD)
    grandchild = int(child.stdout.readline())
    exited = waiter(child)

    process.Stopper(child, exited).request()

    assert exited.wait(30)
    process.clear_session(child.pid)
    assert child.returncode == -2
    assert wait_gone(grandchild)


def test_stopper_escalates_to_sigkill():
    code = "import signal, time\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\nprint('ready', flush=True)\ntime.sleep(600)\n"
    child = launch(code)
    child.stdout.readline()
    exited = waiter(child)

    process.Stopper(child, exited, interrupt_grace=0.3, terminate_grace=0.3).request()

    assert exited.wait(30)
    assert child.returncode == -9


def test_stopper_second_request_kills_at_once():
    code = "import signal, time\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\nprint('ready', flush=True)\ntime.sleep(600)\n"
    child = launch(code)
    child.stdout.readline()
    exited = waiter(child)
    stopper = process.Stopper(child, exited, interrupt_grace=600, terminate_grace=600)

    stopper.request()
    time.sleep(0.2)
    stopper.request()

    assert exited.wait(30)
    assert child.returncode == -15


def test_clear_session_stops_leftovers_and_reaps():
    child = launch(SPAWN_GRANDCHILD.replace("time.sleep(600)\n", "") + "")
    grandchild = int(child.stdout.readline())
    child.wait(30)

    process.clear_session(child.pid)

    assert wait_gone(grandchild)
    assert not os.path.exists(f"/proc/{grandchild}")


def test_clear_session_spares_daemon():
    code = (
        "import os, subprocess, sys\n"
        "d = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)'], start_new_session=True)\n"
        "print(d.pid, flush=True)\n"
    )
    child = launch(code)
    daemon = int(child.stdout.readline())
    child.wait(30)

    process.clear_session(child.pid)

    assert not process.is_gone(daemon)
    os.kill(daemon, 9)
    assert wait_gone(daemon)
    os.waitpid(daemon, 0)


def test_signal_run_reaches_group_once():
    code = (
        "import signal, time\n"
        "count = []\n"
        "signal.signal(signal.SIGUSR1, lambda *args: count.append(1))\n"
        "print('ready', flush=True)\n"
        "time.sleep(1)\n"
        "print(len(count), flush=True)\n"
    )
    child = launch(code)
    child.stdout.readline()

    process.signal_run(child, signal.SIGUSR1)

    assert child.stdout.readline() == b"1\n"
    child.wait(30)


def test_clear_group_stops_group_without_proc():
    child = launch(SPAWN_GRANDCHILD.replace("time.sleep(600)\n", ""))
    grandchild = int(child.stdout.readline())
    child.wait(30)

    process._clear_group(child.pid, 0.5)

    assert wait_gone(grandchild)


def test_wait_child_returns_exit_status():
    child = launch("import time; time.sleep(0.3); raise SystemExit(3)")

    assert process.wait_child(child, 60) == 3


def test_wait_child_times_out():
    child = launch("import time; time.sleep(60)")

    with pytest.raises(subprocess.TimeoutExpired, match=r"timed out after 0\.1 seconds"):
        process.wait_child(child, 0.1)

    child.kill()
    assert process.wait_child(child, 60) == -signal.SIGKILL


def test_wait_child_already_reaped():
    child = launch("raise SystemExit(5)")
    child.wait(timeout=60)

    assert process.wait_child(child, 0.1) == 5
