"""Output throughput: a script printing many short lines, through a tracked run versus a plain redirect.

    .venv/bin/python benchmarks/bench_throughput.py [--quick] [--lines N] [--no-peers]

Every side writes its stdout to a file (`> file`). Ratios printed:

- `cascade run -y print.py > file` (log on) against
  `PYTHONUNBUFFERED=1 python print.py > file`: the runner gives the child
  PYTHONUNBUFFERED=1 so output is live, so the fair baseline is unbuffered
  Python writing to the same kind of file;
- the same run against block-buffered `python print.py > file`, what a
  redirect costs when the output is not needed live;
- cascade-ml 0.18.0's `cascade run print.py -y --log > file`, against
  unbuffered Python of its own venv;
- a Hydra app printing the same lines, `PYTHONUNBUFFERED=1 python app.py > file`
  (Hydra does not capture stdout, so its log contains none of these lines).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path

import _harness as h
import _peers

THROUGHPUT_TARGET = 1.5

PRINT_BODY = "for number in range({lines}):\n    print(f\"line {{number}}\")"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="50,000 lines and one timing per side (a smoke pass)")
    parser.add_argument("--lines", type=int, help="lines the script prints (default 1,000,000)")
    parser.add_argument("--no-peers", action="store_true", help="skip cascade-ml and Hydra")
    args = parser.parse_args()

    h.use_clean_environment()
    lines = args.lines or (50_000 if args.quick else 1_000_000)
    repeat = 1 if args.quick else 3
    folder = h.work_folder("throughput")
    try:
        (folder / "print.py").write_text("LINES = %d\n" % lines + PRINT_BODY.format(lines="LINES") + "\n")
        print(f"== output throughput: {lines:,} lines ({repeat} timing(s) per side, medians)", flush=True)
        measure_ours(folder, repeat)
        if not args.no_peers:
            measure_cascade_ml(folder, repeat)
            measure_hydra(folder, lines, repeat)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _to_file(command: list[str], folder: Path, env: dict, output: str):
    return lambda: h.time_to_file(command, folder, env, folder / output)


def measure_ours(folder: Path, repeat: int) -> None:
    plain, unbuffered = h.clean_environment(), h.clean_environment(PYTHONUNBUFFERED="1")
    run = h.cascade_command("run", "-y", "--root", str(folder / "store"), "print.py")
    sides = {
        "unbuffered": _to_file([h.PYTHON, "print.py"], folder, unbuffered, "unbuffered.txt"),
        "buffered": _to_file([h.PYTHON, "print.py"], folder, plain, "buffered.txt"),
        "cascade": _to_file(run, folder, plain, "cascade.txt"),
    }
    medians = h.interleaved(sides, repeat)
    _check_same_output(folder, "unbuffered.txt", "cascade.txt")
    _check_log(folder / "store", folder / "unbuffered.txt")

    h.note(f"PYTHONUNBUFFERED=1 python print.py > file: {h.seconds(medians['unbuffered'])}, "
           f"python print.py > file: {h.seconds(medians['buffered'])}")
    h.report("throughput.cascade_run", medians["cascade"], medians["unbuffered"],
             f"cascade run -y print.py > file, log on, {h.seconds(medians['cascade'])} "
             "/ PYTHONUNBUFFERED=1 python print.py > file", THROUGHPUT_TARGET)
    h.report("throughput.cascade_run_vs_buffered", medians["cascade"], medians["buffered"],
             "cascade run -y print.py > file / block-buffered python print.py > file")


def _check_same_output(folder: Path, expected: str, actual: str) -> None:
    if (folder / expected).read_bytes() != (folder / actual).read_bytes():
        raise RuntimeError(f"{actual} differs from {expected}: the run did not pass the output through unchanged")


def _check_log(root: Path, expected: Path) -> None:
    logs = sorted(root.glob("runs/*/logs/cascade_run.log"))
    if not logs or logs[-1].read_bytes() != expected.read_bytes():
        raise RuntimeError(f"the run's log in {root} does not hold the printed lines")


def measure_cascade_ml(folder: Path, repeat: int) -> None:
    venv = _peers.cascade_ml_or_skip()
    if venv is None:
        return
    unbuffered = h.clean_environment(PYTHONUNBUFFERED="1")
    sides = {
        "unbuffered": _to_file([str(venv / "bin" / "python"), "print.py"], folder, unbuffered, "ml-plain.txt"),
        "cascade-ml": _to_file(_peers.cascade_ml_run(venv, "print.py", log=True), folder, h.clean_environment(),
                               "ml-run.txt"),
    }
    medians = h.interleaved(sides, repeat)
    h.report("throughput.peer_cascade_ml", medians["cascade-ml"], medians["unbuffered"],
             f"cascade-ml {_peers.CASCADE_ML_VERSION} cascade run print.py -y --log > file "
             f"{h.seconds(medians['cascade-ml'])} / PYTHONUNBUFFERED=1 python print.py > file")


def measure_hydra(folder: Path, lines: int, repeat: int) -> None:
    if not _peers.hydra_or_skip():
        return
    _peers.write_hydra_app(folder / "hydra_print.py", PRINT_BODY.format(lines=lines))
    unbuffered = h.clean_environment(PYTHONUNBUFFERED="1")
    sides = {
        "unbuffered": _to_file([h.PYTHON, "print.py"], folder, unbuffered, "unbuffered.txt"),
        "hydra": _to_file([h.PYTHON, "hydra_print.py"], folder, unbuffered, "hydra.txt"),
    }
    medians = h.interleaved(sides, repeat)
    h.report("throughput.peer_hydra", medians["hydra"], medians["unbuffered"],
             f"PYTHONUNBUFFERED=1 python hydra_print.py > file {h.seconds(medians['hydra'])} "
             "/ PYTHONUNBUFFERED=1 python print.py > file (Hydra keeps no copy of stdout)")


if __name__ == "__main__":
    try:
        main()
    except subprocess.CalledProcessError as error:
        sys.exit(h.describe_failure(" ".join(map(str, error.cmd)), error))
