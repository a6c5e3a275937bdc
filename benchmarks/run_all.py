"""Run every benchmark in turn and print its figures, then a summary of the targets.

    .venv/bin/python benchmarks/run_all.py            # full sizes, about 10 minutes
    .venv/bin/python benchmarks/run_all.py --quick    # smallest sizes, a smoke pass
    .venv/bin/python benchmarks/run_all.py --only launch --only memory --no-peers

Each benchmark runs as its own process, one after the other, so they do not
compete for the CPU. PYTHONUNBUFFERED and PYTHONDONTWRITEBYTECODE are removed
from the environment of every measured command on both sides.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent

# name -> (script, accepts --no-peers)
BENCHMARKS = {
    "launch": ("bench_launch.py", True),
    "throughput": ("bench_throughput.py", True),
    "memory": ("bench_memory.py", False),
    "listing": ("bench_runs_listing.py", False),
    "discovery": ("bench_discovery.py", False),
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smallest sizes and fewest timings (a smoke pass)")
    parser.add_argument("--no-peers", action="store_true", help="skip cascade-ml and Hydra")
    parser.add_argument("--only", action="append", choices=sorted(BENCHMARKS), help="run only this benchmark (repeatable)")
    args = parser.parse_args()

    print_machine()
    lines: list[str] = []
    failed = []
    for name in args.only or BENCHMARKS:
        script, has_peers = BENCHMARKS[name]
        command = [sys.executable, str(BENCH_DIR / script)]
        command += ["--quick"] if args.quick else []
        command += ["--no-peers"] if args.no_peers and has_peers else []
        output = run_benchmark(command)
        if output is None:
            failed.append(name)
            continue
        lines += [line for line in output.splitlines() if line.startswith(("ratio ", "figure "))]

    print("\n== summary")
    for line in lines:
        print(line)
    missed = [line for line in lines if "MISSED" in line]
    print(f"{len(lines)} figures, {len(missed)} targets missed" + (f", failed: {', '.join(failed)}" if failed else ""))
    return 1 if failed else 0


def print_machine() -> None:
    print(f"date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
    print(f"machine: {os.cpu_count()} CPUs, {_cpu_model()}, {_memory_gb()} GB RAM, {platform.platform()}")
    print(f"python: {platform.python_version()} ({sys.executable})")
    print("environment: PYTHONUNBUFFERED and PYTHONDONTWRITEBYTECODE unset on both sides\n", flush=True)


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def _memory_gb() -> str:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return f"{int(line.split()[1]) / 1024 ** 2:.0f}"
    except OSError:
        pass
    return "?"


def run_benchmark(command: list[str]) -> str | None:
    """Run one benchmark script, echoing its output as it comes; return the output, or None when it failed."""
    process = subprocess.Popen(command, cwd=BENCH_DIR, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    collected = []
    for line in process.stdout:
        print(line, end="", flush=True)
        collected.append(line)
    if process.wait() != 0:
        print(f"{Path(command[1]).name} failed with exit code {process.returncode}", flush=True)
        return None
    return "".join(collected)


if __name__ == "__main__":
    sys.exit(main())
