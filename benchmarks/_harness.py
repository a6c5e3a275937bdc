"""Shared pieces of the benchmark scripts: a clean environment, interleaved timing, ratio lines.

Every benchmark compares two commands measured in the same run, so the
figures are ratios: the machine may be slower or busier on another day, and
both sides of a ratio feel it alike. Timings alternate between the sides
(A, B, A, B, ...) and each side's median is used.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

PYTHON = sys.executable

UNSET_VARIABLES = ("PYTHONUNBUFFERED", "PYTHONDONTWRITEBYTECODE", "CASCADE_ROOT", "CASCADE_RUN_DIR", "CASCADE_RUN_ID")
"""Variables removed from the environment of both sides, so neither gets a setting the other lacks."""


def clean_environment(**extra: str) -> dict[str, str]:
    """Return this process's environment without `UNSET_VARIABLES`, plus `extra`."""
    environment = {key: value for key, value in os.environ.items() if key not in UNSET_VARIABLES}
    environment.update(extra)
    return environment


def use_clean_environment() -> None:
    """Remove `UNSET_VARIABLES` from this process's own environment (kernels and peers inherit it)."""
    for key in UNSET_VARIABLES:
        os.environ.pop(key, None)


def work_folder(prefix: str) -> Path:
    """Create a temporary folder for one benchmark; the caller removes it."""
    return Path(tempfile.mkdtemp(prefix=f"cascade-bench-{prefix}-"))


def cascade_command(*arguments: str) -> list[str]:
    """Return the argv of our CLI through `python -m`, which never picks another package's `cascade`."""
    return [PYTHON, "-m", "cascade_core", *arguments]


# Timing ----------------------------------------------------------------------


def time_command(command: list[str], cwd: Path, env: dict, stdout=None) -> float:
    """Run `command` to the end and return its wall-clock seconds.

    Raises:
        subprocess.CalledProcessError: If it exits non-zero (with its stderr).
    """
    began = time.perf_counter()
    finished = subprocess.run(command, cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                              stdout=stdout if stdout is not None else subprocess.DEVNULL,
                              stderr=subprocess.PIPE)
    elapsed = time.perf_counter() - began
    if finished.returncode != 0:
        raise subprocess.CalledProcessError(finished.returncode, command, stderr=finished.stderr)
    return elapsed


def time_to_file(command: list[str], cwd: Path, env: dict, path: Path) -> float:
    """Run `command` with its stdout written to `path` (as `> file` does) and return its seconds."""
    with open(path, "wb") as stream:
        return time_command(command, cwd, env, stdout=stream)


def interleaved(sides: dict[str, Callable[[], float]], repeat: int) -> dict[str, float]:
    """Call each side's timer `repeat` times, alternating sides, and return each side's median seconds."""
    samples: dict[str, list[float]] = {label: [] for label in sides}
    for _ in range(repeat):
        for label, timer in sides.items():
            samples[label].append(timer())
    return {label: statistics.median(values) for label, values in samples.items()}


def best_of(function: Callable[[], object], repeat: int) -> float:
    """Return the fastest of `repeat` calls of `function`, in seconds."""
    best = float("inf")
    for _ in range(repeat):
        began = time.perf_counter()
        function()
        best = min(best, time.perf_counter() - began)
    return best


# Reporting -------------------------------------------------------------------


@dataclass(frozen=True)
class Ratio:
    """One published figure: `value` of a measure against its baseline, with an optional upper target."""

    name: str
    value: float
    detail: str
    target: float | None = None

    def line(self) -> str:
        """Format as `ratio NAME = VALUE x (DETAIL) [target <= T: met|MISSED]`."""
        text = f"ratio {self.name} = {self.value:.2f}x  ({self.detail})"
        if self.target is not None:
            verdict = "met" if self.value <= self.target else "MISSED"
            text += f"  [target <= {self.target:g}: {verdict}]"
        return text


def report(name: str, measured: float, baseline: float, detail: str, target: float | None = None) -> Ratio:
    """Print and return the ratio `measured / baseline`."""
    ratio = Ratio(name, measured / baseline, detail, target)
    print(ratio.line(), flush=True)
    return ratio


def figure(name: str, value: float, unit: str, detail: str, target: float | None = None) -> Ratio:
    """Print and return an absolute figure (megabytes, seconds) where the target itself is absolute."""
    text = f"figure {name} = {value:.3g} {unit}  ({detail})"
    if target is not None:
        text += f"  [target < {target:g} {unit}: {'met' if value < target else 'MISSED'}]"
    print(text, flush=True)
    return Ratio(name, value, detail, target)


def note(text: str) -> None:
    """Print an informational line that is not a ratio (absolute times, sizes, skipped peers)."""
    print(f"  {text}", flush=True)


def seconds(value: float) -> str:
    return f"{value * 1000:.0f} ms" if value < 10 else f"{value:.1f} s"


def describe_failure(label: str, error: subprocess.CalledProcessError) -> str:
    stderr = (error.stderr or b"").decode(errors="replace").strip().splitlines()
    return f"{label} failed with exit code {error.returncode}: {stderr[-1] if stderr else 'no output'}"
