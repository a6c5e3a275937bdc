"""Launch overhead: how much longer a tracked run of a do-nothing script takes than `python script.py`.

    .venv/bin/python benchmarks/bench_launch.py [--quick] [--no-peers] [--no-kernel]

The script has only UPPERCASE globals, so it is the config and the run does
nothing else. Ratios printed, each against plain `python noop.py` timed in
the same loop:

- `cascade run -y noop.py` through `python -m cascade_core`, and through a
  console script written as pip writes ours (`cascade = cascade_core.cli:main`);
- cascade-ml 0.18.0's `cascade run noop.py -y`, against its own venv's python;
- a Hydra app with the same two values, run as `python app.py`;
- in one IPython kernel (through nbclient), `%cascade_run noop.py` against
  `!python noop.py`, timed inside the kernel with `time.perf_counter`.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
from pathlib import Path

import _harness as h
import _peers

NOOP = "LR = 0.1\nEPOCHS = 3\n"

CONSOLE_SCRIPT = """\
#!{python}
import sys
from cascade_core.cli import main
if __name__ == "__main__":
    sys.exit(main())
"""

LAUNCH_TARGET = 4.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 timings per side instead of 15 (a smoke pass)")
    parser.add_argument("--no-peers", action="store_true", help="skip cascade-ml and Hydra")
    parser.add_argument("--no-kernel", action="store_true", help="skip the IPython kernel measure")
    args = parser.parse_args()

    h.use_clean_environment()
    repeat = 3 if args.quick else 15
    folder = h.work_folder("launch")
    try:
        (folder / "noop.py").write_text(NOOP)
        print(f"== launch overhead ({repeat} timings per side, medians)", flush=True)
        measure_cli(folder, repeat)
        if not args.no_peers:
            measure_cascade_ml(folder, repeat)
            measure_hydra(folder, repeat)
        if not args.no_kernel:
            measure_kernel(folder, repeat)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _timer(command: list[str], folder: Path, env: dict):
    return lambda: h.time_command(command, folder, env)


def measure_cli(folder: Path, repeat: int) -> None:
    env = h.clean_environment()
    root = str(folder / "store")
    console = folder / "cascade-console"
    console.write_text(CONSOLE_SCRIPT.format(python=h.PYTHON))
    console.chmod(0o755)
    sides = {
        "python": _timer([h.PYTHON, "noop.py"], folder, env),
        "module": _timer(h.cascade_command("run", "-y", "--root", root, "noop.py"), folder, env),
        "console": _timer([str(console), "run", "-y", "--root", root, "noop.py"], folder, env),
    }
    _warm_up(sides)
    medians = h.interleaved(sides, repeat)
    h.note(f"python noop.py: {h.seconds(medians['python'])}")
    h.report("launch.cascade_run", medians["module"], medians["python"],
             f"python -m cascade_core run -y noop.py {h.seconds(medians['module'])} / python noop.py",
             LAUNCH_TARGET)
    h.report("launch.cascade_console_script", medians["console"], medians["python"],
             f"cascade run -y noop.py (console script) {h.seconds(medians['console'])} / python noop.py",
             LAUNCH_TARGET)


def measure_cascade_ml(folder: Path, repeat: int) -> None:
    venv = _peers.cascade_ml_or_skip()
    if venv is None:
        return
    env = h.clean_environment()
    sides = {
        "python": _timer([str(venv / "bin" / "python"), "noop.py"], folder, env),
        "cascade-ml": _timer(_peers.cascade_ml_run(venv, "noop.py", log=False), folder, env),
    }
    _warm_up(sides)
    medians = h.interleaved(sides, repeat)
    h.report("launch.peer_cascade_ml", medians["cascade-ml"], medians["python"],
             f"cascade-ml {_peers.CASCADE_ML_VERSION} cascade run noop.py -y "
             f"{h.seconds(medians['cascade-ml'])} / python noop.py")


def measure_hydra(folder: Path, repeat: int) -> None:
    if not _peers.hydra_or_skip():
        return
    _peers.write_hydra_app(folder / "hydra_noop.py", "")
    env = h.clean_environment()
    sides = {
        "python": _timer([h.PYTHON, "noop.py"], folder, env),
        "hydra": _timer([h.PYTHON, "hydra_noop.py"], folder, env),
    }
    _warm_up(sides)
    medians = h.interleaved(sides, repeat)
    h.report("launch.peer_hydra", medians["hydra"], medians["python"],
             f"python hydra_noop.py (@hydra.main) {h.seconds(medians['hydra'])} / python noop.py")


def _warm_up(sides: dict) -> None:
    """Run each side once untimed, so byte-code caches exist for both."""
    for timer in sides.values():
        timer()


KERNEL_CELLS = (
    "%load_ext cascade_ext\nimport json, sys, time",
    # One untimed round first: the kernel imports cascade_core on the first run.
    """\
magic, shell = [], []
for number in range({rounds}):
    began = time.perf_counter()
    handle = %cascade_run noop.py --root {root!r}
    magic.append(time.perf_counter() - began)
    began = time.perf_counter()
    !{{sys.executable}} noop.py
    shell.append(time.perf_counter() - began)
print("BENCH", json.dumps({{"magic": magic[1:], "shell": shell[1:]}}))""",
)


def measure_kernel(folder: Path, repeat: int) -> None:
    try:
        import nbformat
        from nbclient import NotebookClient
    except ImportError:
        h.note("kernel skipped: nbclient is not installed (pip install -e '.[notebook]')")
        return

    cells = [KERNEL_CELLS[0], KERNEL_CELLS[1].format(rounds=repeat + 1, root=str(folder / "store"))]
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(text) for text in cells])
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    client = NotebookClient(notebook, timeout=600, kernel_name="python3",
                            resources={"metadata": {"path": str(folder)}})
    client.execute()

    samples = _bench_output(notebook.cells[1])
    magic, shell = statistics.median(samples["magic"]), statistics.median(samples["shell"])
    h.report("launch.kernel_magic", magic, shell,
             f"%cascade_run noop.py {h.seconds(magic)} / !python noop.py {h.seconds(shell)}, same kernel",
             LAUNCH_TARGET)


def _bench_output(cell) -> dict:
    for output in cell.outputs:
        for line in output.get("text", "").splitlines():
            if line.startswith("BENCH "):
                return json.loads(line[len("BENCH "):])
    raise RuntimeError(f"the kernel printed no BENCH line: {cell.outputs!r}"[:500])


if __name__ == "__main__":
    try:
        main()
    except subprocess.CalledProcessError as error:
        sys.exit(h.describe_failure(" ".join(map(str, error.cmd)), error))
