"""Reading Python source files and mapping `ast` positions to text offsets.

Scripts are decoded as Python itself decodes them: UTF-8 unless a BOM or an
encoding declaration (`# -*- coding: latin-1 -*-`) names another codec. Line
endings are kept as they are, so `\\r\\n` files stay `\\r\\n`.
"""

from __future__ import annotations

import ast
import contextlib
import gc
import io
import re
import tokenize
import warnings
from pathlib import Path

from cascade_core.errors import ScriptError, ScriptNotFoundError

# The line breaks of Python source: \r\n, \r and \n (not form feeds).
_NEWLINE = re.compile(r"\r\n|\r|\n")


def read_script(path: Path) -> tuple[str, str, bytes]:
    """Read and decode a Python source file.

    Returns:
        (text, encoding, bytes). The encoding is "utf-8-sig" when the file
        starts with a BOM, so encoding the text with it gives the bytes back.

    Raises:
        ScriptNotFoundError: The path does not exist or is a folder.
        ScriptError: The file cannot be read or is not Python source text.
    """
    data = read_script_bytes(path)
    if b"\x00" in data:
        raise ScriptError(f"{path} contains NUL bytes, so it is not a Python source file", path)

    encoding = detect_encoding(data, path)
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as exc:
        raise ScriptError(_undecodable_message(path, encoding, exc.start), path) from exc
    return text, encoding, data


def detect_encoding(data: bytes, path: Path) -> str:
    """Return the codec of Python source bytes, following a BOM or PEP 263 declaration."""
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    except SyntaxError as exc:
        if "unknown encoding" not in str(exc):
            undecodable_at = _first_undecodable_byte(data)
            raise ScriptError(_undecodable_message(path, "utf-8", undecodable_at), path) from exc
        raise ScriptError(f"{path}: {exc}; declare a codec Python knows, such as utf-8", path, 1) from exc
    return encoding


def _first_undecodable_byte(data: bytes) -> int:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return exc.start
    return 0


def _undecodable_message(path: Path, encoding: str, position: int) -> str:
    return (
        f"{path} is not valid {encoding} text (byte {position}); a Python script must be "
        "UTF-8 or declare its encoding on line 1 or 2, e.g. '# -*- coding: latin-1 -*-'"
    )


def check_script_path(path: Path) -> None:
    """Raise ScriptNotFoundError unless `path` is an existing file."""
    if path.is_dir():
        raise ScriptNotFoundError(f"{path} is a folder, not a script; give the path of a .py file", path)
    if not path.exists():
        raise ScriptNotFoundError(f"Script not found: {path}; check the path and the working folder", path)


def read_script_bytes(path: Path, kind: str = "script") -> bytes:
    """Return the bytes of a script or notebook file.

    Raises:
        ScriptNotFoundError: The path does not exist or is a folder.
        ScriptError: The file cannot be read. The message names the file by its `kind`.
    """
    check_script_path(path)
    try:
        return path.read_bytes()
    except OSError as exc:
        raise ScriptError(f"Cannot read {kind} {path}: {exc.strerror}", path) from exc


@contextlib.contextmanager
def paused_gc():
    """Pause the cyclic garbage collector for the block, for parsing large sources.

    Building the tree of a 10,000-line script allocates about 100,000 nodes,
    and the collections those allocations trigger take about 40% of the
    parse time. The collector is enabled again afterwards only if it was
    enabled before.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def parse_source(source: str, path: Path) -> ast.Module:
    """Parse source text, raising ScriptError with the file and line on failure."""
    try:
        # Warnings such as "invalid escape sequence" are the script's own.
        # Python shows them when the script runs.
        with warnings.catch_warnings(), paused_gc():
            warnings.simplefilter("ignore")
            return ast.parse(source, filename=str(path))
    except SyntaxError as exc:
        location = f"{path}, line {exc.lineno}" if exc.lineno else str(path)
        message = f"{location}: {exc.msg}; the script does not parse, so its config cannot be read"
        raise ScriptError(message, path, exc.lineno) from exc
    except (ValueError, RecursionError, MemoryError) as exc:
        raise ScriptError(f"{path} cannot be parsed: {exc}", path) from exc


def count_lines(text: str) -> int:
    """Return the number of line breaks in source text."""
    return len(_NEWLINE.findall(text))


class SourceMap:
    """Converter from `ast` positions (line, UTF-8 byte column) to offsets in the text."""

    def __init__(self, source: str):
        self.source = source
        self.line_starts = [0] + [match.end() for match in _NEWLINE.finditer(source)]

    def offset(self, lineno: int, col: int) -> int:
        """Return the character offset of a 1-based line and a UTF-8 byte column."""
        start = self.line_starts[lineno - 1]
        if lineno < len(self.line_starts):
            line = self.source[start : self.line_starts[lineno]]
        else:
            line = self.source[start:]

        if line.isascii():
            return start + col
        return start + len(line.encode("utf-8")[:col].decode("utf-8", errors="ignore"))

    def span(self, node: ast.AST) -> tuple[int, int]:
        """Return the [start, end) character offsets of a node."""
        start = self.offset(node.lineno, node.col_offset)
        end = self.offset(node.end_lineno, node.end_col_offset)
        return start, end

    def text(self, node: ast.AST) -> str:
        """Return the source text of a node."""
        start, end = self.span(node)
        return self.source[start:end]
