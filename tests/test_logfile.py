"""Tests of cascade_core.logfile: how raw output becomes log lines."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from cascade_core.logfile import Capture, LineAssembler, LogWriter, StreamDecoder, assemble


@pytest.mark.parametrize(
    ("text", "lines"),
    [
        pytest.param("a\nb\n", ["a", "b"], id="plain"),
        pytest.param("a\nb", ["a", "b"], id="no-final-newline"),
        pytest.param("\n\n", ["", ""], id="blank-lines"),
        pytest.param("    indented\n", ["    indented"], id="leading-spaces"),
        pytest.param("a\r\nb\r\n", ["a", "b"], id="crlf"),
        pytest.param("step 1\rstep 2\rstep 3\n", ["step 3"], id="carriage-return-last-wins"),
        pytest.param("long text\rab\n", ["ab"], id="carriage-return-shorter"),
        pytest.param("done\r\n", ["done"], id="carriage-return-before-newline"),
        pytest.param("done\r", ["done"], id="carriage-return-at-end"),
        pytest.param("abc\b\bX\n", ["aX"], id="backspace"),
        pytest.param("\bX\n", ["X"], id="backspace-at-line-start"),
        pytest.param("\x1b[31mred\x1b[0m\n", ["red"], id="csi-color"),
        pytest.param("\x1b]0;title\x07text\n", ["text"], id="osc-bel"),
        pytest.param("\x1b]8;;http://x\x1b\\link\x1b]8;;\x1b\\\n", ["link"], id="osc-st"),
        pytest.param("a\x1b(Bb\x1b7c\n", ["abc"], id="two-char-escapes"),
        pytest.param("tab\there\n", ["tab\there"], id="tab-kept"),
    ],
)
def test_assemble_rules(text, lines):
    assert assemble(text) == lines


@pytest.mark.parametrize(
    ("chunks", "lines"),
    [
        pytest.param(["ab", "c\nd", "e\n"], ["abc", "de"], id="line-across-chunks"),
        pytest.param(["x\r", "\n"], ["x"], id="crlf-split"),
        pytest.param(["x\r", "y\n"], ["y"], id="carriage-return-split"),
        pytest.param(["a\x1b[3", "1mb\n"], ["ab"], id="csi-split"),
        pytest.param(["a\x1b", "[0mb\n"], ["ab"], id="escape-split-after-esc"),
        pytest.param(["a\x1b]0;ti", "tle\x1b", "\\b\n"], ["ab"], id="osc-split"),
    ],
)
def test_assembler_chunks(chunks, lines):
    collected = []

    class ListWriter(LogWriter):
        def write_lines(self, items):
            collected.extend(items)

        def write_line_parts(self, parts):
            collected.append("".join(parts))

    assembler = LineAssembler(ListWriter(None))
    for chunk in chunks:
        assembler.feed(chunk)
    assembler.finish()

    assert collected == lines


def test_assembler_spills_long_line():
    text = "y" * 50 + "\b" + "z" * 30 + "\n" + "tail"

    lines = assemble(text, spill_limit=16)

    assert lines == ["y" * 49 + "z" * 30, "tail"]


def test_assembler_spill_backspace_multibyte():
    text = "é" * 20 + "\b\b" + "\n"

    assert assemble(text, spill_limit=8) == ["é" * 18]


def test_assembler_spill_then_carriage_return():
    assert assemble("q" * 40 + "\rshort\n", spill_limit=8) == ["short"]


def test_decoder_replaces_invalid_bytes_across_chunks():
    decoder = StreamDecoder()
    data = "точность ✓".encode() + b"\x97!"

    text = "".join(decoder.decode(data[i:i + 1]) for i in range(len(data))) + decoder.decode(b"", final=True)

    assert text == "точность ✓\ufffd!"


def test_logwriter_flushes_each_line(tmp_path):
    log = tmp_path / "logs" / "run.log"
    writer = LogWriter(log)

    writer.write_lines(["first"])

    assert log.read_text() == "first\n"
    writer.close()


def test_capture_merges_streams_in_order(tmp_path):
    code = (
        "import sys, time\n"
        "print('out 1', flush=True); time.sleep(0.2)\n"
        "print('err 1', file=sys.stderr, flush=True); time.sleep(0.2)\n"
        "sys.stdout.write('out 2'); sys.stdout.flush()\n"
    )
    child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    stdout, stderr = [], []
    writer = LogWriter(tmp_path / "run.log")
    capture = Capture(child.stdout, child.stderr, writer, stdout.append, stderr.append)

    capture.start()
    child.wait()
    assert capture.join(30)
    writer.close()

    assert (tmp_path / "run.log").read_text() == "out 1\nerr 1\nout 2\n"
    assert "".join(stdout) == "out 1\nout 2"
    assert "".join(stderr) == "err 1\n"


def test_capture_survives_failing_callback(tmp_path):
    child = subprocess.Popen([sys.executable, "-c", "print('a'); print('b')"], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE)
    writer = LogWriter(tmp_path / "run.log")

    def broken(text):
        raise RuntimeError("callback bug")

    capture = Capture(child.stdout, child.stderr, writer, broken, None)
    capture.start()
    child.wait()
    assert capture.join(30)
    writer.close()

    assert (tmp_path / "run.log").read_text() == "a\nb\n"


def test_capture_abandon_open_pipe(tmp_path):
    read_end, write_end = os.pipe()
    other_read, other_write = os.pipe()
    writer = LogWriter(tmp_path / "run.log")
    capture = Capture(os.fdopen(read_end, "rb"), os.fdopen(other_read, "rb"), writer)
    capture.start()
    os.write(write_end, b"partial")

    assert not capture.join(0.5)
    capture.abandon()
    writer.close()
    os.close(write_end)
    os.close(other_write)

    assert (tmp_path / "run.log").read_text() == "partial\n"


def test_capture_trickle_of_small_writes(tmp_path):
    # Unbuffered prints arrive a few bytes at a time, so the reader takes its short pauses between reads.
    code = (
        "import sys, time\n"
        "for number in range(3000):\n"
        "    print(f'line {number}')\n"
        "time.sleep(0.3)\n"
        "print('done', file=sys.stderr)\n"
    )
    environment = dict(os.environ, PYTHONUNBUFFERED="1")
    child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             env=environment)
    stdout = []
    writer = LogWriter(tmp_path / "run.log")
    capture = Capture(child.stdout, child.stderr, writer, stdout.append)

    capture.start()
    child.wait()
    assert capture.join(30)
    writer.close()

    expected = "".join(f"line {number}\n" for number in range(3000))
    assert "".join(stdout) == expected
    assert (tmp_path / "run.log").read_text() == expected + "done\n"
