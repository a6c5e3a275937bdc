"""Peak memory of the `cascade run` process while its script prints a gigabyte.

    .venv/bin/python benchmarks/bench_memory.py [--quick] [--megabytes N]

Three scripts, each writing the same number of bytes:

- `lines`: lines of 100 characters;
- `redraw`: one progress line redrawn with `\\r` over and over, a newline only at the end;
- `one-line`: a single line without any newline.

The runner's stdout goes to /dev/null (it echoes what the script prints) and
its log is on. Its peak resident memory is `VmHWM` from /proc/PID/status,
read every 20 ms for that pid only (the script's own memory is not counted).
Each script also runs at 1/64 of the size: the ratio of the two peaks shows
whether memory grows with the output.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import _harness as h

MEMORY_TARGET_MB = 50.0
FLATNESS_TARGET = 1.25

WRITER = '''\
import sys

MEGABYTES = {megabytes}
KIND = {kind!r}

out = sys.stdout.buffer
if KIND == "lines":
    block = (b"x" * 99 + b"\\n") * 10_486
elif KIND == "redraw":
    block = (b"\\r" + b"#" * 99) * 10_486
else:
    block = b"y" * 1_048_600
for _ in range(MEGABYTES):
    out.write(block)
out.write(b"\\n" if KIND == "redraw" else b"")
out.flush()
'''

KINDS = ("lines", "redraw", "one-line")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="64 MB instead of 1024 MB (a smoke pass)")
    parser.add_argument("--megabytes", type=int, help="output size of each script in MB (default 1024)")
    args = parser.parse_args()

    if not Path("/proc/self/status").exists():
        sys.exit("This benchmark reads /proc/PID/status, which this system does not have (Linux only).")
    h.use_clean_environment()
    megabytes = args.megabytes or (64 if args.quick else 1024)
    folder = h.work_folder("memory")
    try:
        print(f"== runner peak memory: {megabytes} MB of output, log on, stdout to /dev/null", flush=True)
        for kind in KINDS:
            measure(folder, kind, megabytes)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def measure(folder: Path, kind: str, megabytes: int) -> None:
    small = max(1, megabytes // 64)
    small_peak, _ = peak_of_run(folder, kind, small)
    peak, elapsed = peak_of_run(folder, kind, megabytes)
    h.figure(f"memory.{kind}_peak", peak, "MB",
             f"cascade run, {megabytes} MB as {kind}, {h.seconds(elapsed)}", MEMORY_TARGET_MB)
    h.report(f"memory.{kind}_growth", peak, small_peak,
             f"peak at {megabytes} MB / peak at {small} MB ({small_peak:.1f} MB)", FLATNESS_TARGET)


def peak_of_run(folder: Path, kind: str, megabytes: int) -> tuple[float, float]:
    """Run the writer script of `kind` through `cascade run`; return the runner's peak RSS in MB and the seconds."""
    script = folder / f"write_{kind.replace('-', '_')}.py"
    script.write_text(WRITER.format(megabytes=megabytes, kind=kind))
    root = folder / "store"
    command = h.cascade_command("run", "-y", "--root", str(root), script.name)

    began = time.perf_counter()
    runner = subprocess.Popen(command, cwd=folder, env=h.clean_environment(), stdin=subprocess.DEVNULL,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    peaks: list[int] = []
    poller = threading.Thread(target=_poll_peak, args=(runner, peaks), daemon=True)
    poller.start()
    _stdout, stderr = runner.communicate()
    elapsed = time.perf_counter() - began
    poller.join()
    if runner.returncode != 0:
        raise subprocess.CalledProcessError(runner.returncode, command, stderr=stderr)

    _check_log(root, kind, megabytes)
    shutil.rmtree(root, ignore_errors=True)
    return max(peaks, default=0) / 1024, elapsed


def _poll_peak(runner: subprocess.Popen, peaks: list[int]) -> None:
    """Append the runner's VmHWM (kB) every 20 ms until it exits; VmHWM only grows, so the last read is the peak."""
    status = Path(f"/proc/{runner.pid}/status")
    while runner.poll() is None:
        try:
            text = status.read_text()
        except OSError:
            return
        for line in text.splitlines():
            if line.startswith("VmHWM:"):
                peaks.append(int(line.split()[1]))
        time.sleep(0.02)


def _check_log(root: Path, kind: str, megabytes: int) -> None:
    """Check by size that the log contains what a terminal would finally show (the file may be a gigabyte)."""
    log = next(root.glob("runs/*/logs/cascade_run.log"))
    expected = {"lines": megabytes * 10_486 * 100, "redraw": 100, "one-line": megabytes * 1_048_600 + 1}[kind]
    size = log.stat().st_size
    if size != expected:
        raise RuntimeError(f"the log of the {kind} run has {size} bytes, expected {expected}")


if __name__ == "__main__":
    try:
        main()
    except subprocess.CalledProcessError as error:
        sys.exit(h.describe_failure(" ".join(map(str, error.cmd)), error))
