"""Tests of prefixed sweep output: chunks of each point's streams to whole lines."""

from __future__ import annotations

import pytest

from cascade_core.sweeps.output import PrefixedOutput
from cascade_core.sweeps.plan import Point

FIRST = Point(0, {"K": 1}, ("--K", "1"), "K=1")
SECOND = Point(1, {"K": 2}, ("--K", "2"), "K=2")


@pytest.fixture
def written():
    return []


@pytest.fixture
def output(written):
    return PrefixedOutput(lambda point, stream, parts: written.append((point.label, stream, "".join(parts))))


@pytest.mark.parametrize(
    ("chunks", "lines"),
    [
        pytest.param(["a\nb\n"], ["a", "b"], id="two-lines"),
        pytest.param(["ep", "och 1\n"], ["epoch 1"], id="split-chunk"),
        pytest.param(["\n", "  x\n"], ["", "  x"], id="blank-and-indent"),
        pytest.param(["\rstep 1", "\rstep 2\n"], ["step 2"], id="carriage-return"),
        pytest.param(["\x1b[31mred\x1b[0m\n"], ["red"], id="ansi-dropped"),
        pytest.param(["a\r\nb\n"], ["a", "b"], id="crlf"),
    ],
)
def test_output_lines_from_chunks(output, written, chunks, lines):
    for chunk in chunks:
        output.feed(FIRST, "stdout", chunk)

    assert written == [("K=1", "stdout", line) for line in lines]


def test_output_partial_line_waits_for_finish(output, written):
    output.feed(FIRST, "stdout", "no newline")

    assert written == []
    output.finish(FIRST)
    assert written == [("K=1", "stdout", "no newline")]


def test_output_points_and_streams_apart(output, written):
    output.feed(FIRST, "stdout", "one ")
    output.feed(SECOND, "stdout", "two\n")
    output.feed(FIRST, "stderr", "warn\n")
    output.feed(FIRST, "stdout", "done\n")

    assert written == [
        ("K=2", "stdout", "two"),
        ("K=1", "stderr", "warn"),
        ("K=1", "stdout", "one done"),
    ]


def test_output_finish_only_its_point(output, written):
    output.feed(FIRST, "stdout", "first")
    output.feed(SECOND, "stderr", "second")

    output.finish(SECOND)

    assert written == [("K=2", "stderr", "second")]
