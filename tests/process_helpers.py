"""Helpers for tests that start real processes and wait for them."""

from __future__ import annotations

import time


def wait_for(predicate, timeout: float = 60.0):
    """Call `predicate` every 50 ms until it returns a true value, and return that value.

    Raises:
        AssertionError: If `timeout` seconds pass first.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"condition not reached in {timeout} s")


def process_gone(pid: int) -> bool:
    """Return True when process `pid` has ended: it no longer exists, or it is a zombie that no process has reaped."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stream:
            return stream.read().rpartition(")")[2].split()[0] in ("Z", "X")
    except FileNotFoundError:
        return True
