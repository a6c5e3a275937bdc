"""Time run listings on a store filled with many runs.

Fills a temporary store with N finished runs through the store's own writer
functions (`create_run_folder`, `write_json`), without starting N processes,
then prints how long each listing takes:

    .venv/bin/python benchmarks/bench_listing.py            # 10,000 runs
    .venv/bin/python benchmarks/bench_listing.py --runs 2000 --keep /tmp/store

Every listing is timed `--repeat` times and the best time is shown. The
CLI rows include the interpreter's start-up; the `python -c pass` row shows
that share.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from cascade_core import browse, store

STATUSES = ("completed", "completed", "completed", "failed", "interrupted")
SCRIPTS = ("train.py", "eval.py", "proj/train.py")


def fill_store(root: Path, count: int, seed: int = 0) -> None:
    """Write `count` finished runs into the store at `root`."""
    chooser = random.Random(seed)
    start = time.time() - count
    for number in range(count):
        run_id, folder = store.create_run_folder(root)
        started = start + number
        lr = chooser.choice((0.1, 0.01, 0.001))
        meta = {
            "run_id": run_id,
            "script": f"/work/{chooser.choice(SCRIPTS)}",
            "status": chooser.choice(STATUSES),
            "started_at": store.utc_timestamp(started),
            "ended_at": store.utc_timestamp(started + 0.5),
            "duration": 0.5,
            "exit_code": 0,
            "host": "bench",
            "base": None,
            "sweep_id": None,
            "name": f"run-{number}" if number % 10 == 0 else None,
            "tags": ["nightly"] if number % 7 == 0 else [],
        }
        store.write_json(folder / store.META_FILE, meta)
        store.write_json(folder / store.CONFIG_FILE, {"lr": lr, "size": [32, 32]})
        store.write_json(folder / store.OVERRIDES_FILE, {"lr": lr})
        store.write_json(folder / store.VALUES_FILE, {"config": {"lr": repr(lr), "size": "(32, 32)"},
                                                      "overrides": {"lr": repr(lr)}})


def best_time(function, repeat: int) -> tuple[float, object]:
    """Return the fastest of `repeat` calls in seconds, and the last result."""
    best, result = float("inf"), None
    for _ in range(repeat):
        began = time.perf_counter()
        result = function()
        best = min(best, time.perf_counter() - began)
    return best, result


def cli_listing(root: Path, *arguments: str):
    command = [sys.executable, "-m", "cascade_core", "runs", "--root", str(root), *arguments]
    return lambda: subprocess.run(command, check=True, capture_output=True)


def without_index(root: Path, **filters):
    def listing():
        (root / browse.INDEX_FILE).unlink(missing_ok=True)
        return browse.find_runs(root=root, **filters)

    return listing


def measurements(root: Path) -> list[tuple[str, object]]:
    return [
        ("runs(last=20)", lambda: browse.find_runs(root=root, last=20)),
        ("runs(status='failed', last=20), no index", without_index(root, status="failed", last=20)),
        ("runs(status='failed', last=20), index", lambda: browse.find_runs(root=root, status="failed", last=20)),
        ("runs(tag='nightly'), no index, all matches", without_index(root, tag="nightly")),
        ("runs(tag='nightly'), index, all matches", lambda: browse.find_runs(root=root, tag="nightly")),
        ("runs() every run", lambda: browse.find_runs(root=root)),
        ("python -c pass", lambda: subprocess.run([sys.executable, "-c", "pass"], check=True)),
        ("cascade runs --last 20", cli_listing(root, "--last", "20")),
        ("cascade runs --status failed --last 20", cli_listing(root, "--status", "failed", "--last", "20")),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10_000, help="number of runs to write (default 10000)")
    parser.add_argument("--repeat", type=int, default=3, help="timings per listing; the best is shown")
    parser.add_argument("--keep", type=Path, help="write the store here and keep it (default: a temporary folder)")
    args = parser.parse_args()

    folder = args.keep or Path(tempfile.mkdtemp(prefix="cascade-bench-"))
    root = folder / ".cascade"
    try:
        began = time.perf_counter()
        fill_store(root, args.runs)
        print(f"filled {args.runs} runs in {time.perf_counter() - began:.1f} s ({root})")
        print(f"{os.cpu_count()} CPUs, Python {sys.version.split()[0]}")
        for label, function in measurements(root):
            try:
                seconds, result = best_time(function, args.repeat)
            except subprocess.CalledProcessError as exc:
                print(f"{label:<45} failed: {exc.stderr.decode(errors='replace').strip()[:200]}")
                continue
            count = f"{len(result)} runs" if isinstance(result, list) else ""
            print(f"{label:<45} {seconds * 1000:9.1f} ms  {count}")
    finally:
        if args.keep is None:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
