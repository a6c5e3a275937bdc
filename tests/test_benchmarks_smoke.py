"""Smoke pass over benchmarks/: each script runs in its smallest mode and prints its figures.

No timing is asserted: the figures depend on the machine. The peers
(cascade-ml in its own venv, Hydra) are skipped, because installing
cascade-ml needs the package registry.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

BENCH_DIR = Path(__file__).resolve().parent.parent / "benchmarks"

FIGURE_LINE = re.compile(r"^(ratio|figure) (?P<name>[\w.-]+) = (?P<value>[0-9.e+-]+)", re.MULTILINE)


def run_benchmark(script: str, *arguments: str, timeout: float = 120) -> str:
    environment = {key: value for key, value in os.environ.items() if key != "PYTHONUNBUFFERED"}
    finished = subprocess.run([sys.executable, str(BENCH_DIR / script), *arguments], cwd=BENCH_DIR,
                              env=environment, capture_output=True, text=True, timeout=timeout)
    assert finished.returncode == 0, finished.stdout + finished.stderr
    return finished.stdout


def figures(output: str) -> dict[str, float]:
    return {match["name"]: float(match["value"]) for match in FIGURE_LINE.finditer(output)}


@pytest.mark.slow
@pytest.mark.parametrize(
    ("script", "arguments", "expected"),
    [
        pytest.param("bench_launch.py", ("--quick", "--no-peers", "--no-kernel"),
                     {"launch.cascade_run", "launch.cascade_console_script"}, id="launch"),
        pytest.param("bench_throughput.py", ("--quick", "--no-peers", "--lines", "20000"),
                     {"throughput.cascade_run", "throughput.cascade_run_vs_buffered"}, id="throughput"),
        pytest.param("bench_memory.py", ("--megabytes", "4"),
                     {"memory.lines_peak", "memory.lines_growth", "memory.redraw_peak", "memory.redraw_growth",
                      "memory.one-line_peak", "memory.one-line_growth"}, id="memory"),
        pytest.param("bench_runs_listing.py", ("--quick", "--runs", "50"),
                     {"listing.last_20", "listing.vs_cli_start"}, id="listing"),
        pytest.param("bench_discovery.py", ("--quick", "--lines", "2000"),
                     {"discovery.discover_and_rewrite", "discovery.vs_ast_parse"}, id="discovery"),
    ],
)
def test_benchmark_script_prints_figures(script, arguments, expected):
    printed = figures(run_benchmark(script, *arguments))

    assert set(printed) == expected
    assert all(value > 0 for value in printed.values()), printed


@pytest.mark.slow
@pytest.mark.kernel
def test_benchmark_launch_kernel_ratio():
    output = run_benchmark("bench_launch.py", "--quick", "--no-peers", timeout=240)

    assert "launch.kernel_magic" in figures(output)


def test_run_all_summary_lists_figures():
    output = run_benchmark("run_all.py", "--quick", "--only", "discovery")

    assert "environment: PYTHONUNBUFFERED and PYTHONDONTWRITEBYTECODE unset on both sides" in output
    summary = output.split("== summary\n", 1)[1]
    assert re.search(r"^figure discovery\.discover_and_rewrite = ", summary, re.MULTILINE)
    assert re.search(r"^2 figures, \d+ targets missed$", summary, re.MULTILINE)
