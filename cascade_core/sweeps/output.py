"""Output lines of a sweep's points, each with its point's label in front.

Each point's stdout and stderr chunks go through their own `LineAssembler`,
so a line is printed once it is complete. As in the log, a bare `\\r`
starts the line over, and ANSI codes are dropped. The
console and the notebook each provide the function that prints a line.
"""

from __future__ import annotations

import threading
from typing import Callable, Iterable

from cascade_core.logfile import LineAssembler
from cascade_core.sweeps.plan import Point

LineWriter = Callable[[Point, str, Iterable[str]], None]
"""`write_line(point, stream, parts)`: print one line, given as text pieces, for a point."""


class PrefixedOutput:
    """Line assembler for the points' output, which hands each complete line to `write_line`.

    Args:
        write_line: prints one line, as `LineWriter` describes. It is called from
            the thread that feeds the chunk.
    """

    def __init__(self, write_line: LineWriter):
        self._write_line = write_line
        self._assemblers: dict[tuple[int, str], LineAssembler] = {}
        self._lock = threading.Lock()

    def feed(self, point: Point, stream: str, text: str) -> None:
        """Add a chunk of a point's stream ("stdout" or "stderr") and write its complete lines at once."""
        with self._lock:
            key = (point.index, stream)
            if key not in self._assemblers:
                self._assemblers[key] = LineAssembler(_LineSink(self._write_line, point, stream))
            assembler = self._assemblers[key]
        assembler.feed(text)

    def finish(self, point: Point) -> None:
        """Write the unterminated last line of each of the point's streams, if any."""
        for stream in ("stdout", "stderr"):
            with self._lock:
                assembler = self._assemblers.pop((point.index, stream), None)
            if assembler is not None:
                assembler.finish()


class _LineSink:
    """The writer side of a `LineAssembler`: hands each complete line to a `LineWriter`."""

    def __init__(self, write_line: LineWriter, point: Point, stream: str):
        self._write_line = write_line
        self._point = point
        self._stream = stream

    def write_lines(self, lines: list[str]) -> None:
        for line in lines:
            self._write_line(self._point, self._stream, (line,))

    def write_line_parts(self, parts: Iterable[str]) -> None:
        self._write_line(self._point, self._stream, parts)
