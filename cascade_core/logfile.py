"""Turn a child's raw output into the lines a terminal would finally show.

Each stream (stdout, stderr) has its own `LineAssembler`. Both write
complete lines into one `LogWriter`, so the log keeps the arrival order line
by line. Rules, applied per stream:

- `\\n` ends a line and `\\r\\n` counts as one newline.
- A bare `\\r` starts the line over, so the last segment wins. The line is
  cleared only when the next character arrives, so a `\\r` right before the
  newline or the end of output keeps the text.
- `\\b` deletes the previous character of the line.
- ANSI escape sequences (CSI `ESC [ ... final`, OSC `ESC ] ... BEL` or
  `ESC ] ... ESC \\`, and other `ESC` sequences) are dropped, also when a
  sequence is split across chunks.
- Everything else is kept exactly, including leading spaces and blank lines.

Memory stays flat: a pending line longer than `SPILL_LIMIT` characters moves
to a temporary file and is copied into the log when it ends.
"""

from __future__ import annotations

import codecs
import logging
import os
import re
import threading
import time
from pathlib import Path
from typing import Callable, Iterable, Iterator

logger = logging.getLogger(__name__)

SPILL_LIMIT = 1 << 20
"""Maximum characters of a pending (unterminated) line kept in memory before it moves to a temporary file."""

_SPECIAL = re.compile(r"[\r\n\b\x1b]")
_ESC = "\x1b"

# Escape parser states.
_TEXT, _ESCAPE, _CSI, _OSC, _OSC_ESCAPE, _INTERMEDIATE = range(6)


class LogWriter:
    """The log file: whole lines, written and flushed as they arrive, safe to share between streams."""

    def __init__(self, path: Path | None):
        self.path = path
        self._lock = threading.Lock()
        self._stream = None
        if path is not None:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            self._stream = open(path, "w", encoding="utf-8", newline="\n")

    def write_lines(self, lines: list[str]) -> None:
        """Append complete lines (without their newline) and flush."""
        if self._stream is None or not lines:
            return
        with self._lock:
            self._stream.write("\n".join(lines))
            self._stream.write("\n")
            self._stream.flush()

    def write_line_parts(self, parts: Iterable[str]) -> None:
        """Append one line given as consecutive pieces (for lines too long to join in memory)."""
        if self._stream is None:
            for _ in parts:
                pass
            return
        with self._lock:
            for part in parts:
                self._stream.write(part)
            self._stream.write("\n")
            self._stream.flush()

    def close(self) -> None:
        """Close the file. Later writes are ignored."""
        with self._lock:
            if self._stream is not None:
                self._stream.close()
                self._stream = None


class _PendingLine:
    """The unterminated end of a stream: an in-memory tail, spilled to a temporary file when long."""

    def __init__(self, spill_limit: int):
        self._spill_limit = spill_limit
        self._parts: list[str] = []
        self._size = 0
        self._spill = None

    def __bool__(self) -> bool:
        return self._size > 0 or self._spill is not None

    def append(self, text: str) -> None:
        if not text:
            return
        self._parts.append(text)
        self._size += len(text)
        if self._size > self._spill_limit:
            self._move_to_spill()

    def delete_last(self) -> None:
        """Delete the last character, as a backspace does."""
        while self._parts:
            last = self._parts.pop()
            self._size -= len(last)
            if last:
                self._parts.append(last[:-1])
                self._size += len(last) - 1
                return
        if self._spill is not None:
            self._spill_delete_last()

    def clear(self) -> None:
        self._parts.clear()
        self._size = 0
        if self._spill is not None:
            self._spill.close()
            self._spill = None

    def take(self, tail: str = "") -> str | None:
        """Return the whole line joined with `tail` and clear, or None when it is spilled."""
        if self._spill is not None:
            return None
        text = "".join(self._parts) + tail
        self.clear()
        return text

    def drain(self, tail: str = "") -> Iterator[str]:
        """Yield the line in pieces (spilled part first), then clear."""
        if self._spill is not None:
            self._spill.seek(0)
            reader = codecs.getreader("utf-8")(self._spill)
            while True:
                piece = reader.read(SPILL_LIMIT)
                if not piece:
                    break
                yield piece
        yield from self._parts
        yield tail
        self.clear()

    def _move_to_spill(self) -> None:
        if self._spill is None:
            import tempfile

            self._spill = tempfile.TemporaryFile(prefix="cascade-line-")
        self._spill.seek(0, os.SEEK_END)
        self._spill.write("".join(self._parts).encode("utf-8"))
        self._parts.clear()
        self._size = 0

    def _spill_delete_last(self) -> None:
        end = self._spill.seek(0, os.SEEK_END)
        if end == 0:
            return
        start = max(0, end - 4)
        self._spill.seek(start)
        tail = self._spill.read()
        # Step back over UTF-8 continuation bytes to the start of the last character.
        cut = len(tail) - 1
        while cut > 0 and tail[cut] & 0xC0 == 0x80:
            cut -= 1
        self._spill.truncate(start + cut)


class LineAssembler:
    """Assemble one stream's decoded text into log lines (rules in the module docstring).

    Args:
        writer: Where complete lines go.
        spill_limit: See `SPILL_LIMIT`.
    """

    def __init__(self, writer: LogWriter, spill_limit: int = SPILL_LIMIT):
        self._writer = writer
        self._line = _PendingLine(spill_limit)
        self._carriage_return = False
        self._escape_state = _TEXT

    def feed(self, text: str) -> None:
        """Process a chunk of decoded text, writing complete lines at once."""
        if not text:
            return
        plain_state = self._escape_state == _TEXT and not self._carriage_return
        if plain_state and _SPECIAL.search(text) is None:
            self._line.append(text)
            return
        if plain_state and "\r" not in text and "\b" not in text and _ESC not in text:
            self._feed_plain(text)
            return
        self._feed_special(text)

    def finish(self) -> None:
        """End the stream: a non-empty unterminated line is written as the last line."""
        self._escape_state = _TEXT
        self._carriage_return = False
        if self._line:
            self._end_line()

    def _feed_plain(self, text: str) -> None:
        # Common case: only newlines, so str.split does the work.
        lines = text.split("\n")
        first = self._line.take(lines[0])
        if first is None:
            self._writer.write_line_parts(self._line.drain(lines[0]))
            self._writer.write_lines(lines[1:-1])
        else:
            self._writer.write_lines([first, *lines[1:-1]])
        self._line.append(lines[-1])

    def _feed_special(self, text: str) -> None:
        position = 0
        length = len(text)
        while position < length:
            if self._escape_state != _TEXT:
                position = self._skip_escape(text, position)
                continue
            match = _SPECIAL.search(text, position)
            end = match.start() if match else length
            if end > position:
                self._append(text[position:end])
            if match is None:
                return
            self._control(match.group())
            position = end + 1

    def _append(self, text: str) -> None:
        if self._carriage_return:
            self._line.clear()
            self._carriage_return = False
        self._line.append(text)

    def _control(self, char: str) -> None:
        if char == "\n":
            self._carriage_return = False
            self._end_line()
        elif char == "\r":
            self._carriage_return = True
        elif char == "\b":
            self._append("")
            self._line.delete_last()
        else:
            self._escape_state = _ESCAPE

    def _end_line(self) -> None:
        line = self._line.take()
        if line is None:
            self._writer.write_line_parts(self._line.drain())
        else:
            self._writer.write_lines([line])

    def _skip_escape(self, text: str, position: int) -> int:
        """Consume escape-sequence characters from `position` and return where plain text resumes."""
        state = self._escape_state
        while position < len(text) and state != _TEXT:
            char = text[position]
            position += 1
            state = _next_escape_state(state, char)
        self._escape_state = state
        return position


def _next_escape_state(state: int, char: str) -> int:
    code = ord(char)
    if state == _ESCAPE:
        if char == "[":
            return _CSI
        if char == "]":
            return _OSC
        return _INTERMEDIATE if 0x20 <= code <= 0x2F else _TEXT
    if state == _CSI:
        return _TEXT if 0x40 <= code <= 0x7E else _CSI
    if state == _INTERMEDIATE:
        return _INTERMEDIATE if 0x20 <= code <= 0x2F else _TEXT
    if state == _OSC:
        if char == "\x07":
            return _TEXT
        return _OSC_ESCAPE if char == _ESC else _OSC
    # _OSC_ESCAPE: `ESC \` ends the OSC string, and anything else continues it.
    return _TEXT if char == "\\" else _OSC


class StreamDecoder:
    """Incremental UTF-8 decoder of one byte stream, which replaces invalid bytes with U+FFFD."""

    def __init__(self):
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")

    def decode(self, data: bytes, final: bool = False) -> str:
        return self._decoder.decode(data, final)


def assemble(text: str, spill_limit: int = SPILL_LIMIT) -> list[str]:
    """Return the log lines of a single stream's complete output (for tests and re-rendering)."""
    collected: list[str] = []

    class _ListWriter(LogWriter):
        def __init__(self):
            super().__init__(None)

        def write_lines(self, lines: list[str]) -> None:
            collected.extend(lines)

        def write_line_parts(self, parts: Iterable[str]) -> None:
            collected.append("".join(parts))

    assembler = LineAssembler(_ListWriter(), spill_limit)
    assembler.feed(text)
    assembler.finish()
    return collected


OutputCallback = Callable[[str], None]

READ_SIZE = 1 << 16
"""Bytes read from a pipe at a time."""

COALESCE_BELOW = 4096
"""A read smaller than this many bytes makes the reader pause for `COALESCE_DELAY` before the next one."""

COALESCE_DELAY = 0.001
"""Seconds the reader pauses after a small read, so output reaches the screen at most this much later."""


class Capture:
    """Read a child's stdout and stderr pipes in one thread, in arrival order.

    Each chunk is decoded (invalid UTF-8 becomes U+FFFD), handed to the
    stream's callback at once, and fed to the stream's `LineAssembler`.

    Args:
        stdout: The child's stdout pipe.
        stderr: The child's stderr pipe.
        writer: The log writer. `LogWriter(None)` keeps no log.
        on_stdout: Called with each decoded stdout chunk, from the reader thread.
        on_stderr: The same for stderr.
    """

    def __init__(self, stdout, stderr, writer: LogWriter,
                 on_stdout: OutputCallback | None = None, on_stderr: OutputCallback | None = None):
        self._writer = writer
        self._streams = {
            stdout.fileno(): (stdout, StreamDecoder(), LineAssembler(writer), on_stdout),
            stderr.fileno(): (stderr, StreamDecoder(), LineAssembler(writer), on_stderr),
        }
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._read_all, name="cascade-capture", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def join(self, timeout: float | None = None) -> bool:
        """Wait for both pipes to reach end of file and return whether they did within `timeout`."""
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def abandon(self) -> None:
        """Stop reading pipes that stay open (a detached process still has them open) and finish the lines."""
        self._stop.set()
        self._thread.join()

    def _read_all(self) -> None:
        import selectors

        with selectors.DefaultSelector() as selector:
            for fd in self._streams:
                selector.register(fd, selectors.EVENT_READ)
            while selector.get_map() and not self._stop.is_set():
                largest = 0
                for key, _events in selector.select(timeout=0.2):
                    size = self._read_chunk(key.fd)
                    if not size:
                        selector.unregister(key.fd)
                    largest = max(largest, size)
                if 0 < largest < COALESCE_BELOW:
                    # A trickle of small writes: let more arrive so that the
                    # next read takes many lines at once instead of waking
                    # this thread (and the child's writes) for each line.
                    # NOTE: lines that the two streams write within this
                    # pause reach the log stream by stream, not interleaved.
                    time.sleep(COALESCE_DELAY)
        for fd in self._streams:
            self._finish(fd)

    def _read_chunk(self, fd: int) -> int:
        """Read and deliver one chunk of `fd` and return its size in bytes, 0 at the end of the stream."""
        try:
            data = os.read(fd, READ_SIZE)
        except OSError:
            data = b""
        if not data:
            return 0
        _pipe, decoder, assembler, callback = self._streams[fd]
        self._deliver(decoder.decode(data), assembler, callback)
        return len(data)

    def _finish(self, fd: int) -> None:
        pipe, decoder, assembler, callback = self._streams[fd]
        self._deliver(decoder.decode(b"", final=True), assembler, callback)
        assembler.finish()
        pipe.close()

    @staticmethod
    def _deliver(text: str, assembler: LineAssembler, callback: OutputCallback | None) -> None:
        if not text:
            return
        # The log first, so a line shown on screen is already in the log file.
        assembler.feed(text)
        if callback is not None:
            try:
                callback(text)
            except Exception:  # a broken callback must not stop the capture or the log
                logger.exception("Output callback %r failed", callback)
