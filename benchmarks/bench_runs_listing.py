"""Listing: `cascade runs --last 20` on a store holding 10,000 runs, end to end as a user types it.

    .venv/bin/python benchmarks/bench_runs_listing.py [--quick] [--runs N]

The store is filled through the store's own writer functions (the
`fill_store` of bench_listing.py, which also times the Python API in more
detail). Printed: the command's median wall time, first with no listing
index (a fresh store) and then with it, and its ratio to
`python -m cascade_core --help`, the start-up every command pays.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import time

import _harness as h
from bench_listing import fill_store

LISTING_TARGET_SECONDS = 0.5


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="200 runs and 3 timings (a smoke pass)")
    parser.add_argument("--runs", type=int, help="runs in the store (default 10,000)")
    args = parser.parse_args()

    h.use_clean_environment()
    count = args.runs or (200 if args.quick else 10_000)
    repeat = 3 if args.quick else 9
    folder = h.work_folder("listing")
    try:
        root = folder / ".cascade"
        began = time.perf_counter()
        fill_store(root, count)
        print(f"== listing: cascade runs --last 20 with {count:,} runs "
              f"(filled in {h.seconds(time.perf_counter() - began)}; {repeat} timings, medians)", flush=True)
        env = h.clean_environment()
        listing = h.cascade_command("runs", "--root", str(root), "--last", "20")
        first = h.time_command(listing, folder, env)
        medians = h.interleaved({
            "help": lambda: h.time_command(h.cascade_command("--help"), folder, env),
            "listing": lambda: h.time_command(listing, folder, env),
        }, repeat)
        h.note(f"first listing of the fresh store: {h.seconds(first)}")
        h.figure("listing.last_20", medians["listing"], "s",
                 f"cascade runs --last 20 of {count:,} runs, interpreter start included", LISTING_TARGET_SECONDS)
        h.report("listing.vs_cli_start", medians["listing"], medians["help"],
                 f"cascade runs --last 20 / cascade --help {h.seconds(medians['help'])}")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    try:
        main()
    except subprocess.CalledProcessError as error:
        sys.exit(h.describe_failure(" ".join(map(str, error.cmd)), error))
