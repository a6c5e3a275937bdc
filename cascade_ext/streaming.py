"""Writing a run's output into the current notebook cell, bounded.

The run's reader threads call `CellOutput.stdout` and `CellOutput.stderr`
with decoded chunks, which are only put on a bounded queue. The kernel's main
thread drains the queue in `run_in_cell` and writes to `sys.stdout` and
`sys.stderr`. So each chunk lands in the cell that started the run, as that
cell's own streams.

The first `max_lines` lines go to the cell as streams. After that, one
display, updated in place at most every `update_interval` seconds, shows the
latest `tail_lines` lines, and at the end the last lines and the log's path.
Memory use stays bounded: the queue has a size limit (a fast child waits for the kernel),
and past the head only the tail and one partial line per stream are kept,
each line cut to `max_line_chars` characters.
"""

from __future__ import annotations

import logging
import queue
import sys
import threading
import time
from collections import deque

logger = logging.getLogger(__name__)

MAX_LINES = 200
TAIL_LINES = 20
MAX_CHARS = 1_000_000
MAX_LINE_CHARS = 2_000
UPDATE_INTERVAL = 0.5
BATCH_SECONDS = 0.1


class RunInterrupted(KeyboardInterrupt):
    """Exception raised by `%cascade_run` after a kernel interrupt stopped the run.

    It derives from KeyboardInterrupt, so "Run All" stops there as it does
    for any interrupt. `run` is the stopped run, marked `interrupted`.
    """

    def __init__(self, run):
        super().__init__(f"Run {run.id} was interrupted. Run folder: {run.path}")
        self.run = run


def collapse_carriage_returns(text: str) -> str:
    """Drop the parts of each line in `text` that a later bare `\\r` overwrites.

    The kept part starts with `\\r`, so a frontend still overwrites whatever
    an earlier chunk left on that line. `\\r\\n` is a line end, not an overwrite.
    """
    pieces = text.split("\n")
    return "\n".join(_collapse_line(piece) for piece in pieces)


def _collapse_line(piece: str) -> str:
    body = piece.rstrip("\r")
    ending = piece[len(body):]
    start = body.rfind("\r")
    if start < 0:
        return piece
    return body[start:] + ending


class _TailLines:
    """The latest complete lines of both streams plus each stream's partial line."""

    def __init__(self, size: int, max_line_chars: int):
        self.lines: deque[str] = deque(maxlen=size)
        self.partial = {"stdout": "", "stderr": ""}
        self.max_line_chars = max_line_chars
        self.count = 0

    def feed(self, stream: str, text: str) -> None:
        pieces = text.split("\n")
        for piece in pieces[:-1]:
            self.lines.append(self._truncate(self._finish(self.partial[stream] + piece)))
            self.partial[stream] = ""
            self.count += 1
        self.partial[stream] = self._cut(self.partial[stream] + pieces[-1])

    def render(self) -> list[str]:
        partials = [self._finish(text) for text in self.partial.values() if text]
        return list(self.lines) + partials

    def _finish(self, line: str) -> str:
        # "\r" starts the line over, as in a terminal. A trailing "\r" is
        # dropped, because it is the first half of a "\r\n" line end.
        return line.rstrip("\r").rsplit("\r", 1)[-1]

    def _cut(self, line: str) -> str:
        if "\r" in line.rstrip("\r"):
            line = self._finish(line) + ("\r" if line.endswith("\r") else "")
        return self._truncate(line)

    def _truncate(self, line: str) -> str:
        if len(line) <= self.max_line_chars:
            return line
        return line[: self.max_line_chars] + " [...]"


class OutputTail:
    """The latest output lines of one run, fed by its reader threads, for widgets.

    `stdout` and `stderr` take decoded chunks from any thread, and
    `take_output` returns the lines when they changed since its last call.
    """

    def __init__(self, lines: int, max_line_chars: int = MAX_LINE_CHARS):
        self._tail = _TailLines(lines, max_line_chars)
        self._lock = threading.Lock()
        self._changed = False

    def stdout(self, text: str) -> None:
        """Take a chunk of the run's stdout (called from a reader thread)."""
        self._feed("stdout", text)

    def stderr(self, text: str) -> None:
        """Take a chunk of the run's stderr (called from a reader thread)."""
        self._feed("stderr", text)

    def mark_changed(self) -> None:
        """Make the next `take_output` return the lines even if no output arrived since."""
        with self._lock:
            self._changed = True

    def take_output(self) -> str | None:
        """Return the latest lines joined by newlines if they changed since the last call, else None."""
        with self._lock:
            if not self._changed:
                return None
            self._changed = False
            return "\n".join(self._tail.render())

    def _feed(self, stream: str, text: str) -> None:
        with self._lock:
            self._tail.feed(stream, text)
            self._changed = True


class CellOutput:
    """A run's output written into the current cell: streams first, then a live tail.

    Args:
        max_lines: lines written as cell streams before the tail display
            takes over. None writes everything as streams (terminal IPython).
        tail_lines: lines the tail display shows.
        max_chars: characters written as streams before the tail takes over,
            so that one huge line cannot bloat the notebook either.
        max_line_chars: characters kept of each line in the tail display.
        update_interval: minimum seconds between two updates of the display.
    """

    def __init__(self, max_lines=MAX_LINES, tail_lines=TAIL_LINES, max_chars=MAX_CHARS,
                 max_line_chars=MAX_LINE_CHARS, update_interval=UPDATE_INTERVAL):
        self.max_lines = max_lines
        self.max_chars = max_chars
        self.update_interval = update_interval
        self.lines_written = 0
        self.chars_written = 0
        self.tail: _TailLines | None = None
        self._tail_size = tail_lines
        self._max_line_chars = max_line_chars
        self._handle = None
        self._last_update = 0.0
        self._queue: queue.Queue = queue.Queue(maxsize=256)
        self._closed = threading.Event()

    # Called from the run's reader threads --------------------------------

    def stdout(self, text: str) -> None:
        """Queue a chunk of the child's stdout (any thread)."""
        self._put("stdout", text)

    def stderr(self, text: str) -> None:
        """Queue a chunk of the child's stderr (any thread)."""
        self._put("stderr", text)

    def _put(self, stream: str, text: str) -> None:
        # Waiting on a full queue slows the child down to the kernel's pace
        # instead of letting memory grow. After close(), chunks are dropped.
        while not self._closed.is_set():
            try:
                self._queue.put((stream, text), timeout=0.2)
                return
            except queue.Full:
                continue

    # Called from the kernel's main thread --------------------------------

    def drain(self, timeout: float = BATCH_SECONDS) -> None:
        """Write the chunks queued so far, waiting up to `timeout` for the first one.

        Chunks that arrive within `BATCH_SECONDS` of the first are written
        together, so a progress line redrawn fifty times a second reaches
        the cell a few times a second.
        """
        try:
            first = self._queue.get(timeout=timeout)
        except queue.Empty:
            self._update_tail(force=False)
            return

        batch = [first]
        deadline = time.monotonic() + BATCH_SECONDS
        while len(batch) < 256:
            remaining = deadline - time.monotonic()
            try:
                batch.append(self._queue.get(timeout=max(remaining, 0)))
            except queue.Empty:
                break
        self._write_batch(batch)

    def close(self, log_path=None) -> None:
        """Write what is still queued, then the final state of the tail display."""
        while not self._queue.empty():
            self.drain(timeout=0)
        self._closed.set()
        self._flush()
        if self.tail is not None:
            self._update_tail(force=True, log_path=log_path)

    def discard(self) -> None:
        """Stop taking chunks: later ones are dropped instead of queued."""
        self._closed.set()

    def _write_batch(self, batch) -> None:
        for stream, text in _merge_consecutive(batch):
            self._write(stream, collapse_carriage_returns(text))
        self._flush()
        self._update_tail(force=False)

    def _write(self, stream: str, text: str) -> None:
        if self.tail is not None:
            self.tail.feed(stream, text)
            return

        head, rest = self._split_head(text)
        if head:
            # Flushing each chunk keeps stdout and stderr in arrival order,
            # because the kernel sends each stream's buffer on its own timer.
            target = getattr(sys, stream)
            target.write(head)
            target.flush()
            self.lines_written += head.count("\n")
            self.chars_written += len(head)
        if rest:
            self.tail = _TailLines(self._tail_size, self._max_line_chars)
            self.tail.feed(stream, rest)

    def _split_head(self, text: str) -> tuple[str, str]:
        """Split `text` into what still fits in the cell's streams and the rest."""
        if self.max_lines is None:
            return text, ""

        lines_left = self.max_lines - self.lines_written
        chars_left = self.max_chars - self.chars_written
        end = 0
        while lines_left > 0 and end < len(text):
            newline = text.find("\n", end)
            if newline < 0:
                end = len(text)
                break
            end = newline + 1
            lines_left -= 1
        end = min(end, max(chars_left, 0))
        return text[:end], text[end:]

    def _flush(self) -> None:
        sys.stdout.flush()
        sys.stderr.flush()

    def _update_tail(self, force: bool, log_path=None) -> None:
        if self.tail is None:
            return
        now = time.monotonic()
        if not force and now - self._last_update < self.update_interval:
            return

        self._last_update = now
        bundle = {"text/plain": self.tail_text(log_path)}
        if self._handle is None:
            from IPython.display import display

            self._handle = display(bundle, raw=True, display_id=True)
        else:
            self._handle.update(bundle, raw=True)

    def tail_text(self, log_path=None) -> str:
        hidden = self.tail.count
        lines = self.tail.render()
        if log_path is None:
            header = (
                f"[{self.lines_written} lines shown above; {hidden} more lines so far. "
                f"Latest lines:]"
            )
        elif not log_path.exists():
            header = (
                f"[Output cut: the first {self.lines_written} lines are shown above; "
                f"{hidden} more were not kept because the run had no log. Last lines:]"
            )
        else:
            header = (
                f"[Output cut: the first {self.lines_written} lines are shown above, "
                f"{hidden} more are only in the log: {log_path}. Last lines:]"
            )
        return "\n".join([header, *lines])


def _merge_consecutive(batch):
    """Join consecutive chunks of the same stream, keeping the arrival order."""
    merged: list[list[str]] = []
    for stream, text in batch:
        if merged and merged[-1][0] == stream:
            merged[-1][1] += text
        else:
            merged.append([stream, text])
    return merged


def run_in_cell(start_run, output: CellOutput):
    """Start a run with `start_run(on_stdout, on_stderr)` and stream it into the cell.

    Blocks until the run ends. A KeyboardInterrupt (the kernel's interrupt)
    stops the run and its process tree, then raises RunInterrupted.

    Returns:
        The finished Run.
    """
    run = start_run(on_stdout=output.stdout, on_stderr=output.stderr)
    logger.info("Run %s started in the notebook: %s", run.id, run.script)
    try:
        _follow(run, output)
    except KeyboardInterrupt:
        _stop_while_draining(run, output)
        output.close(_log_path(run))
        raise RunInterrupted(run) from None
    except BaseException:
        # The run goes on and writes only to its log, so the reader threads
        # must not wait on a queue that is no longer drained.
        output.discard()
        logger.exception("Writing the output of run %s into the cell failed", run.id)
        raise

    output.close(_log_path(run))
    return run


def _follow(run, output: CellOutput) -> None:
    # poll() returns the exit status only after the reader threads have
    # delivered the last chunk, so draining until then writes everything.
    while run.poll() is None:
        output.drain()


def _stop_while_draining(run, output: CellOutput) -> None:
    logger.info("Kernel interrupt: stopping run %s", run.id)
    run.stop()
    while run.poll() is None:
        try:
            output.drain()
        except KeyboardInterrupt:
            # A second interrupt while the run is stopping kills it at once.
            run.stop()


def _log_path(run):
    return run.path / "logs" / "cascade_run.log"
