"""Tests of cascade_ext.streaming: the bounded writer, then live output in a real kernel."""

from __future__ import annotations

import json
import os
import threading
import time

import pytest

from cascade_ext.streaming import CellOutput, OutputTail, collapse_carriage_returns
from case_scripts import write_case_scripts
from kernel_helpers import NotebookKernel, process_gone, wait_until, write_scripts


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("plain\n", "plain\n", id="no-carriage-return"),
        pytest.param("\rstep 1\rstep 2\rstep 3", "\rstep 3", id="progress-redrawn"),
        pytest.param("a\r\nb\r\n", "a\r\nb\r\n", id="crlf-line-ends-kept"),
        pytest.param("\rstep 9\nnext\n", "\rstep 9\nnext\n", id="progress-then-newline"),
        pytest.param("old\rnew\n\rx\ry", "\rnew\n\ry", id="two-lines"),
        pytest.param("tick 1\rtick 2\r", "\rtick 2\r", id="trailing-carriage-return"),
        pytest.param("", "", id="empty"),
    ],
)
def test_streaming_collapse_carriage_returns(text, expected):
    assert collapse_carriage_returns(text) == expected


def feed(output: CellOutput, chunks) -> None:
    """Queue chunks from a thread, as a run's reader does, and drain them here."""
    done = threading.Event()

    def reader():
        for stream, text in chunks:
            getattr(output, stream)(text)
        done.set()

    thread = threading.Thread(target=reader)
    thread.start()
    while not done.is_set():
        output.drain(timeout=0.05)
    thread.join()


def test_streaming_head_lines_written_as_streams(capsys):
    output = CellOutput(max_lines=5)
    feed(output, [("stdout", "one\ntwo\n"), ("stderr", "warn\n"), ("stdout", "three\n")])
    output.close()

    captured = capsys.readouterr()
    assert captured.out == "one\ntwo\nthree\n"
    assert captured.err == "warn\n"
    assert output.tail is None


def test_streaming_tail_after_max_lines(capsys, tmp_path):
    log = tmp_path / "cascade_run.log"
    log.write_text("")
    output = CellOutput(max_lines=3, tail_lines=2, update_interval=0)
    feed(output, [("stdout", "".join(f"line {i}\n" for i in range(1000)))])
    output.close(log)

    captured = capsys.readouterr().out
    assert captured.startswith("line 0\nline 1\nline 2\n{")
    final = output.tail_text(log).splitlines()
    assert final[0] == f"[Output cut: the first 3 lines are shown above, 997 more are only in the log: {log}. Last lines:]"
    assert final[1:] == ["line 998", "line 999"]


def test_streaming_tail_reports_missing_log(capsys, tmp_path):
    output = CellOutput(max_lines=1, tail_lines=1, update_interval=0)
    feed(output, [("stdout", "a\nb\nc\n")])
    output.close(tmp_path / "absent.log")

    assert "were not kept because the run had no log" in output.tail_text(tmp_path / "absent.log")


def test_streaming_huge_line_cut_in_tail(capsys):
    output = CellOutput(max_lines=1, tail_lines=3, max_chars=100, max_line_chars=50, update_interval=0)
    feed(output, [("stdout", "first\n")] + [("stdout", "x" * 10_000)] * 50)
    output.close()

    partial = output.tail.partial["stdout"]
    assert len(partial) == 50 + len(" [...]")
    assert partial.endswith(" [...]")


def test_streaming_complete_long_line_cut_in_tail():
    output = CellOutput(max_lines=0, tail_lines=2, max_line_chars=10, update_interval=3600)
    output._write("stdout", "y" * 5_000 + "\nshort\n")

    assert list(output.tail.lines) == ["y" * 10 + " [...]", "short"]


def test_streaming_max_chars_moves_to_tail(capsys):
    output = CellOutput(max_lines=100, max_chars=10, update_interval=0)
    feed(output, [("stdout", "abcdefghijklmnop\n")])
    output.close()

    assert capsys.readouterr().out.startswith("abcdefghij")
    assert output.chars_written == 10


def test_streaming_tail_progress_line_last_segment():
    output = CellOutput(max_lines=0, tail_lines=5, update_interval=3600)
    output._write("stderr", "\rstep 1/3")
    output._write("stderr", "\rstep 2/3\rstep 3/3")
    output._write("stderr", "\r\ndone\n")

    assert list(output.tail.lines) == ["step 3/3", "done"]


# Live output in a real kernel ---------------------------------------------------------

MANY_LINES = """\
for i in range(200_000):
    print(f"line {i} of the long output")
"""


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("streaming")
    write_case_scripts(folder, "slow.py", "bar.py", "bytes_out.py")
    write_scripts(folder, {"many.py": MANY_LINES})
    return folder


@pytest.fixture(scope="module")
def kernel(workdir):
    with NotebookKernel(workdir, setup="%load_ext cascade_ext") as kernel:
        yield kernel


def resident_kb(pid: int) -> int:
    """Return the resident memory of process `pid` in kB."""
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError(f"no VmRSS line for pid {pid}")


def render_terminal(text: str) -> list[str]:
    """Return the lines a terminal or Jupyter shows for `text`: a bare \\r starts the line over."""
    return [line.rstrip("\r").rsplit("\r", 1)[-1] for line in text.split("\n")]


@pytest.mark.kernel
@pytest.mark.slow
def test_streaming_live_output_c09(kernel):
    result = kernel.run("r = %cascade_run slow.py\nprint(r.status)")

    epoch0, epoch1, epoch2 = (result.first_time(f"epoch {i}") for i in range(3))
    assert epoch0 - result.started < 1.5 + 2.0  # kernel round trip on a shared machine
    assert 0.5 < epoch1 - epoch0 < 2.5
    assert 0.5 < epoch2 - epoch1 < 2.5
    assert result.ended - epoch0 > 1.5
    lines = result.stdout.split("\n")
    assert lines[:7] == ["epoch 0", "epoch 1", "epoch 2", "", "    indented note", "x" * 100_000, "end"]
    assert lines[7] == "completed"


@pytest.mark.kernel
@pytest.mark.slow
def test_streaming_log_written_while_sleeping_c09(kernel):
    seen = {}

    def check_log(kernel, event):
        if event.msg_type == "stream" and "epoch 0" in event.content["text"] and "log" not in seen:
            logs = sorted(kernel.store.glob("runs/*/logs/cascade_run.log"), key=os.path.getmtime)
            seen["log"] = logs[-1].read_text(encoding="utf-8")

    result = kernel.run("r = %cascade_run slow.py\nr.log_text().splitlines()", on_event=check_log)

    assert "epoch 0\n" in seen["log"]
    assert "end" not in seen["log"]
    log_lines = result.value()
    assert log_lines == ["epoch 0", "epoch 1", "epoch 2", "", "    indented note", "x" * 100_000, "end"]


@pytest.mark.kernel
def test_streaming_progress_line_c10(kernel):
    result = kernel.run("r = %cascade_run bar.py\nr.log_text().splitlines()")

    assert render_terminal(result.stderr) == ["step 50/50", ""]
    assert result.stderr.count("step ") < 50
    assert result.stdout == "done\n"
    assert result.value() == ["step 50/50", "done"]


@pytest.mark.kernel
def test_streaming_undecodable_bytes_c11(kernel):
    result = kernel.run("r = %cascade_run bytes_out.py\n(r.returncode, r.log_text().splitlines())")

    assert result.error is None
    assert result.stdout == "start\nacc\ufffd0.91\nточность ✓ 0.93\nend\n"
    assert result.value() == (0, ["start", "acc\ufffd0.91", "точность ✓ 0.93", "end"])


@pytest.mark.kernel
def test_streaming_ascii_locale_c11(workdir):
    env = {"LC_ALL": "C", "PYTHONUTF8": "0", "PYTHONCOERCECLOCALE": "0"}
    with NotebookKernel(workdir, env=env) as kernel:
        result = kernel.run("%load_ext cascade_ext", "r = %cascade_run bytes_out.py\nr.log_text().splitlines()")

    assert result.error is None
    assert result.value() == ["start", "acc\ufffd0.91", "точность ✓ 0.93", "end"]


@pytest.mark.kernel
@pytest.mark.slow
def test_streaming_huge_output_bounded(kernel, workdir, tmp_path):
    code = "r = %cascade_run many.py\nlen(r.log_text().splitlines())"
    before = resident_kb(kernel.pid)
    result = kernel.run(code)
    growth = resident_kb(kernel.pid) - before

    assert result.value() == 200_000
    streamed = result.stdout.splitlines()
    assert streamed == [f"line {i} of the long output" for i in range(200)]
    tail = result.plain("display_data")
    assert len(tail) == 1
    assert "199800 more are only in the log" in tail[0]
    assert tail[0].endswith("line 199999 of the long output")

    assert growth < 50_000, f"the kernel grew by {growth} kB while streaming 200,000 lines"
    saved = tmp_path / "saved.ipynb"
    saved.write_text(json.dumps({"cells": [{"outputs": result.outputs}]}, default=dict), encoding="utf-8")
    assert saved.stat().st_size < 100_000


@pytest.mark.kernel
def test_streaming_max_lines_option(kernel):
    result = kernel.run("%cascade_run many.py --max-lines 3")

    assert result.stdout.splitlines() == [f"line {i} of the long output" for i in range(3)]
    assert "199997 more are only in the log" in result.plain("display_data")[0]


@pytest.mark.kernel
def test_streaming_config_max_output_lines(kernel):
    result = kernel.run("%config CascadeMagics.max_output_lines = 5\n%cascade_run many.py")
    kernel.run("%config CascadeMagics.max_output_lines = 200")

    assert len(result.stdout.splitlines()) == 5



def test_streaming_output_tail_from_threads():
    tail = OutputTail(lines=3, max_line_chars=20)
    writers = [threading.Thread(target=lambda i=i: tail.stdout(f"line {i}\n")) for i in range(10)]
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join()
    tail.stderr("\rhalf\rdone")

    shown = tail.take_output().splitlines()
    assert len(shown) == 4
    assert shown[-1] == "done"
    assert tail.take_output() is None


def test_streaming_discard_drops_later_chunks():
    output = CellOutput(max_lines=10)
    output.discard()

    for _ in range(1000):
        output.stdout("dropped\n")

    assert output._queue.qsize() == 0


@pytest.mark.kernel
def test_streaming_run_stopped_at_kernel_shutdown(tmp_path):
    write_case_scripts(tmp_path, "spawner.py")
    kernel = NotebookKernel(tmp_path, setup="%load_ext cascade_ext")
    kernel.start()
    client = kernel.client.km.blocking_client()
    client.start_channels()
    try:
        client.execute("%cascade_run spawner.py")
        child_pid = _wait_for_child_pid(client)
    finally:
        client.stop_channels()
    kernel.stop()

    (folder,) = kernel.run_folders()
    meta = json.loads((folder / "cascade_run_meta.json").read_text())
    assert meta["status"] == "interrupted"
    assert wait_until(lambda: process_gone(meta["pid"]), timeout=5)
    assert wait_until(lambda: process_gone(child_pid), timeout=5)


def _wait_for_child_pid(client, timeout: float = 60) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        message = client.get_iopub_msg(timeout=timeout)
        text = message["content"].get("text", "") if message["msg_type"] == "stream" else ""
        if text.startswith("child "):
            return int(text.split()[1])
    raise AssertionError(f"the script printed no child pid within {timeout} s")
