"""Tests of `%cascade_run -m` in a real kernel: progress widget, prefixed output, summary, returned runs."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

from case_scripts import write_case_scripts
from kernel_helpers import NotebookKernel, process_gone, wait_until

pytestmark = pytest.mark.kernel

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"

TRAIN = """\
from cascade_core import log_metric

K = 0
print("k", K)
log_metric("score", K * 10)
if K == 2:
    raise SystemExit(3)
"""

SLEEPER = """\
import subprocess
import sys
import time

K = 0
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
print("child", child.pid, flush=True)
time.sleep(600)
"""


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("sweeps")
    write_case_scripts(folder, "net.py")
    for name, source in {"train.py": TRAIN, "sleeper.py": SLEEPER}.items():
        (folder / name).write_text(source, encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def kernel(workdir):
    with NotebookKernel(workdir) as kernel:
        kernel.run("%load_ext cascade_ext")
        yield kernel


def run_folders(kernel) -> set[Path]:
    return set((kernel.store / "runs").glob("*"))


def value(result):
    return eval(result.plain()[0])


def test_sweep_display_quoted_comma_two_runs(kernel):
    before = run_folders(kernel)

    result = kernel.run(
        "runs = %cascade_run -m net.py --TAG \"'a,b'\",c\n"
        "[(r.status, r.overrides, r.log_text()) for r in runs]"
    )

    assert result.error is None
    assert value(result) == [
        ("completed", {"TAG": "a,b"}, "[64, 64] 'a,b'\n"),
        ("completed", {"TAG": "c"}, "[64, 64] 'c'\n"),
    ]
    assert len(run_folders(kernel) - before) == 2
    assert "[TAG='a,b'] [64, 64] 'a,b'\n" in result.stdout
    assert "[TAG='c'] [64, 64] 'c'\n" in result.stdout


def test_sweep_display_lists_two_runs(kernel):
    result = kernel.run(
        "runs = %cascade_run -m net.py --HIDDEN '[32,32],[128,128]' -j 2\n"
        "[r.log_text() for r in runs]"
    )

    assert result.error is None
    assert value(result) == ["[32, 32] 'base'\n", "[128, 128] 'base'\n"]


def test_sweep_display_widget_and_summary(kernel):
    result = kernel.run("runs = %cascade_run -m train.py --K 0,1")

    assert result.error is None
    widgets = [out for out in result.outputs if out.output_type == "display_data" and WIDGET_VIEW in out.data]
    assert len(widgets) == 1
    tables = result.html()
    assert len(tables) == 1
    assert "<th style='text-align:left'>run id</th>" in tables[0]
    assert "<th style='text-align:left'>score</th>" in tables[0]
    assert "2 completed" in tables[0]

    ids = value(kernel.run("[r.id for r in runs]"))
    for run_id in ids:
        assert f"<td style='text-align:left'>{run_id}</td>" in tables[0]


def test_sweep_display_failed_point_returns_runs(kernel):
    result = kernel.run(
        "runs = %cascade_run -m train.py --K 'range(1, 4)'\n"
        "[(r.config['K'], r.status, r.metrics) for r in runs]"
    )

    assert result.error is None
    assert value(result) == [
        (1, "completed", {"score": 10}),
        (2, "failed", {"score": 20}),
        (3, "completed", {"score": 30}),
    ]
    assert "1 failed" in result.html()[0]


def test_sweep_display_bad_input_usage_error(kernel):
    before = run_folders(kernel)

    result = kernel.run("%cascade_run -m net.py --TAG 'a,,b'")

    assert result.stderr == (
        "UsageError: Invalid sweep for TAG: 'a,,b' has an empty item at position 2. "
        "Separate values with single commas, for example --TAG 1,2,3\n"
    )
    assert result.error is None
    assert run_folders(kernel) == before


def test_sweep_display_interrupt_stops_points(kernel):
    seen = {"children": []}

    def interrupt_after_two(kernel, event):
        for match in re.finditer(r"child (\d+)", event.content.get("text", "")):
            seen["children"].append(int(match.group(1)))
        if len(seen["children"]) >= 2 and "time" not in seen:
            seen["time"] = time.monotonic()
            kernel.interrupt()

    result = kernel.run("%cascade_run -m sleeper.py --K 'range(4)' -j 2", on_event=interrupt_after_two)
    returned = time.monotonic()

    assert result.error.ename == "SweepInterrupted"
    assert re.fullmatch(
        r"Sweep \S+ was interrupted: its running runs were stopped, 2 of 4 runs had started and 2 were never launched\.",
        result.error.traceback[0],
    )
    assert len(result.error.traceback) == 1
    assert returned - seen["time"] < 60
    assert "2 interrupted, 2 not started" in result.html()[0]
    for pid in seen["children"]:
        assert wait_until(lambda: process_gone(pid), timeout=5)

    after = kernel.run(
        "import json, pathlib\n"
        "metas = [json.loads(p.read_text()) for p in pathlib.Path(r'%s').glob('runs/*/cascade_run_meta.json')]\n"
        "sorted((m['status'], m['pid']) for m in metas if m['script'].endswith('sleeper.py'))" % kernel.store
    )
    statuses = value(after)
    assert [status for status, _ in statuses] == ["interrupted", "interrupted"]
    for _, pid in statuses:
        assert wait_until(lambda: process_gone(pid), timeout=5)


def test_sweep_display_dask_local_cluster(kernel):
    pytest.importorskip("distributed")

    result = kernel.run(
        "runs = %cascade_run -m train.py --K 0,1 --launcher dask -j 2\n"
        "[(r.config['K'], r.status, r.metrics) for r in runs]"
    )

    assert result.error is None
    assert value(result) == [(0, "completed", {"score": 0}), (1, "completed", {"score": 10})]
    assert "[K=0] k 0\n" in result.stdout
    assert "[K=1] k 1\n" in result.stdout
