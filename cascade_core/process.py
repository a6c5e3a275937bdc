"""Start the child in its own session, stop it with escalating signals, and leave nothing behind.

The child is a session leader (`start_new_session=True`), so a terminal's
Ctrl-C reaches only the runner, which decides what the child gets. On Linux
the runner is also a child subreaper: descendants orphaned during the run
are reparented to it instead of to init, so it can signal and reap them.
Every process whose session id is the child's counts as part of the run. A
process that starts a new session of its own (a daemon) leaves the run and
is not stopped.

On macOS only the child's process group is signalled (no /proc there). On
Windows there are no process groups: `stop()` ends the child alone.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from typing import Callable, NamedTuple

logger = logging.getLogger(__name__)

INTERRUPT_GRACE = 5.0
"""Seconds a run gets to exit after SIGINT before it is sent SIGTERM."""

TERMINATE_GRACE = 3.0
"""Seconds a run gets to exit after SIGTERM before it is sent SIGKILL."""

LEFTOVER_GRACE = 1.0
"""Seconds leftover session members get between SIGTERM and SIGKILL after the child has exited."""

_PR_SET_CHILD_SUBREAPER = 36
_subreaper_lock = threading.Lock()
_subreaper_enabled = False

IS_POSIX = os.name == "posix"
IS_LINUX = sys.platform.startswith("linux")


def enable_subreaper() -> bool:
    """Make this process a child subreaper (Linux only) and return whether it is one."""
    global _subreaper_enabled
    if not IS_LINUX:
        return False
    with _subreaper_lock:
        if _subreaper_enabled:
            return True
        import ctypes

        try:
            libc = ctypes.CDLL(None, use_errno=True)
            _subreaper_enabled = libc.prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0
        except (OSError, AttributeError) as exc:
            logger.debug("Cannot become a child subreaper: %s", exc)
        return _subreaper_enabled


def launch(command: list[str], cwd, env: dict, stdin_tty: bool) -> subprocess.Popen:
    """Start `command` in a new session with stdout and stderr as pipes.

    Args:
        command: The argv of the child.
        cwd: Its working directory.
        env: Its complete environment.
        stdin_tty: Pass the caller's stdin through (for `input()` and
            `breakpoint()` in a terminal). Otherwise the child reads /dev/null.
    """
    enable_subreaper()
    return subprocess.Popen(
        command,
        cwd=cwd,
        env=env,
        stdin=None if stdin_tty else subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=IS_POSIX,
        # On Windows a new process group lets CTRL_BREAK_EVENT reach the child alone.
        creationflags=0 if IS_POSIX else getattr(subprocess, "CREATE_NEW_PROCESS_GROUP", 0),
    )


def wait_child(child: subprocess.Popen, timeout: float) -> int:
    """Wait up to `timeout` seconds for `child` to exit and return its exit status.

    `Popen.wait(timeout=...)` polls with sleeps of up to 50 ms, which adds
    that much to every short run. On Linux a pidfd wakes this call as soon
    as the child exits. Elsewhere it falls back to `Popen.wait`.

    Raises:
        subprocess.TimeoutExpired: If the child is still running after `timeout` seconds.
    """
    if child.returncode is not None:
        # Reaped already: its pid may belong to another process by now.
        return child.returncode
    try:
        pidfd = os.pidfd_open(child.pid)
    except (AttributeError, OSError):
        # No pidfd_open (not Linux, or a kernel before 5.3), or the child is reaped already.
        return child.wait(timeout=timeout)
    try:
        import select

        # poll() rather than select(), which rejects descriptors above 1023
        # (a kernel running many runs can reach those).
        waiter = select.poll()
        waiter.register(pidfd, select.POLLIN)
        exited = waiter.poll(timeout * 1000)
    finally:
        os.close(pidfd)
    if not exited:
        raise subprocess.TimeoutExpired(child.args, timeout)
    return child.wait()


# Session members -------------------------------------------------------------


def _stat_fields(pid: int) -> list[str] | None:
    try:
        descriptor = os.open(f"/proc/{pid}/stat", os.O_RDONLY)
    except OSError:
        return None
    try:
        # One read returns the whole file: it is far shorter than the buffer.
        text = os.read(descriptor, 4096).decode("ascii", "replace")
    except OSError:
        return None
    finally:
        os.close(descriptor)
    # The command name is in parentheses and may contain spaces: split after it.
    return text.rpartition(")")[2].split()


class Member(NamedTuple):
    """A process of a run's session, as /proc/PID/stat describes it."""

    pid: int
    parent: int
    group: int
    state: str


def session_members(session: int) -> list[Member]:
    """Return every process in `session` on Linux, and an empty list elsewhere."""
    if not IS_LINUX:
        return []
    members = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        fields = _stat_fields(int(name))
        # After the name: state, ppid, pgrp, session, ...
        if fields is None or len(fields) < 4 or int(fields[3]) != session:
            continue
        members.append(Member(int(name), int(fields[1]), int(fields[2]), fields[0]))
    return members


def is_gone(pid: int) -> bool:
    """Return whether `pid` has exited. A zombie counts as gone."""
    fields = _stat_fields(pid) if IS_LINUX else None
    if fields is not None:
        return fields[0] in ("Z", "X")
    if not IS_POSIX:
        return False  # os.kill(pid, 0) would terminate the process on Windows
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def signal_run(child: subprocess.Popen, signum: int) -> None:
    """Send `signum` to the child's process group and to every other member of its session."""
    if not IS_POSIX:
        _signal_windows(child, signum)
        return
    try:
        os.killpg(child.pid, signum)
    except (ProcessLookupError, PermissionError):
        pass
    # Signal members of the session's other process groups. The child's group has the signal already.
    for member in session_members(child.pid):
        if member.group != child.pid and member.state != "Z":
            _kill(member.pid, signum)


def _kill(pid: int, signum: int) -> None:
    try:
        os.kill(pid, signum)
    except (ProcessLookupError, PermissionError):
        pass


def _signal_windows(child: subprocess.Popen, signum: int) -> None:
    # NOTE: Windows has no process groups here, so only the child is signalled
    # and its own children are left to it.
    if signum == signal.SIGINT:
        child.send_signal(signal.CTRL_BREAK_EVENT if hasattr(signal, "CTRL_BREAK_EVENT") else signum)
    else:
        child.kill()


def reap_orphans(session: int, members: list[Member] | None = None) -> None:
    """Reap zombies of `session` that were reparented to this process (as a subreaper).

    `members` is a listing of the session just taken, if the caller has one.
    """
    me = os.getpid()
    for member in session_members(session) if members is None else members:
        if member.parent == me and member.state == "Z" and member.pid != session:
            try:
                os.waitpid(member.pid, os.WNOHANG)
            except ChildProcessError:
                pass


def clear_session(session: int, grace: float = LEFTOVER_GRACE) -> None:
    """Stop what is left of a run's session after its child exited, then reap it.

    Members still running get SIGTERM, then SIGKILL after `grace` seconds.
    Without /proc (macOS), the child's process group is used in place of the session.
    """
    if not IS_POSIX:
        return
    if not IS_LINUX:
        _clear_group(session, grace)
        return

    # One scan of /proc serves both steps in the usual case: nothing is left.
    members = session_members(session)
    live = [member.pid for member in members if member.state not in ("Z", "X")]
    if live:
        logger.info("Stopping %d leftover process(es) of the run: %s", len(live), live)
        for pid in live:
            _kill(pid, signal.SIGTERM)
        _wait_members_gone(session, grace)
        for pid in _live_members(session):
            _kill(pid, signal.SIGKILL)
        _wait_members_gone(session, grace)
        members = None
    reap_orphans(session, members)


def _clear_group(group: int, grace: float) -> None:
    for signum in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(group, signum)
        except (ProcessLookupError, PermissionError):
            return
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline and _group_exists(group):
            time.sleep(0.05)


def _group_exists(group: int) -> bool:
    try:
        os.killpg(group, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _live_members(session: int) -> list[int]:
    return [member.pid for member in session_members(session) if member.state not in ("Z", "X")]


def _wait_members_gone(session: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while _live_members(session) and time.monotonic() < deadline:
        reap_orphans(session)
        time.sleep(0.05)


class Stopper:
    """Escalating stop of a running child: SIGINT, then SIGTERM and SIGKILL after grace periods.

    `request()` is safe to call from a signal handler or any thread and
    returns at once, because the escalation runs in a background thread. A second
    request skips the remaining grace and kills at once.


    Args:
        child: The run's child process.
        exited: An event that the thread waiting for the child sets once it has exited.
            (`Popen.poll()` cannot detect the exit while another thread is in `wait()`.)
    """

    def __init__(self, child: subprocess.Popen, exited: threading.Event,
                 interrupt_grace: float = INTERRUPT_GRACE, terminate_grace: float = TERMINATE_GRACE):
        self._child = child
        self._exited = exited
        self._grace = (interrupt_grace, terminate_grace)
        self._requests = 0
        self._hurry = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def requested(self) -> bool:
        return self._requests > 0

    def request(self) -> None:
        """Start stopping the child, or hurry a stop already under way."""
        self._requests += 1
        if self._requests > 1:
            self._hurry.set()
            return
        self._thread = threading.Thread(target=self._escalate, name="cascade-stop", daemon=True)
        self._thread.start()

    def _escalate(self) -> None:
        steps = ((signal.SIGINT, self._grace[0]), (signal.SIGTERM, self._grace[1]))
        for signum, grace in steps:
            if self._exited.is_set():
                return
            logger.info("Sending %s to run process group %d", signal.Signals(signum).name, self._child.pid)
            signal_run(self._child, signum)
            if self._wait(grace):
                return
        if not self._exited.is_set():
            logger.info("Sending SIGKILL to run process group %d", self._child.pid)
            signal_run(self._child, getattr(signal, "SIGKILL", signal.SIGTERM))

    def _wait(self, grace: float) -> bool:
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline:
            if self._exited.wait(0.05):
                return True
            if self._hurry.is_set():
                return False
        return False


FORWARDED_SIGNALS = ("SIGINT", "SIGTERM", "SIGHUP")
"""Signals that make a command-line runner stop its run."""


@contextlib.contextmanager
def forward_signals(stop: Callable[[], object]):
    """Call `stop()` on SIGINT, SIGTERM or SIGHUP while the block runs, then restore the handlers.

    Does nothing outside the main thread, where Python cannot set handlers.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    previous = {}
    for name in FORWARDED_SIGNALS:
        signum = getattr(signal, name, None)
        if signum is not None:
            previous[signum] = signal.signal(signum, lambda number, frame: _on_signal(number, stop))
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _on_signal(signum: int, stop: Callable[[], object]) -> None:
    logger.info("Received %s: stopping the run", signal.Signals(signum).name)
    stop()
