"""Tests of reading source files and mapping `ast` positions to text offsets."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

from cascade_core.errors import ScriptError, ScriptNotFoundError
from cascade_core.sourcefile import SourceMap, count_lines, parse_source, read_script, read_script_bytes


@pytest.mark.parametrize(
    ("data", "text", "encoding"),
    [
        pytest.param(b"A = 1\n", "A = 1\n", "utf-8", id="utf-8"),
        pytest.param(b"\xef\xbb\xbfA = 1\r\n", "A = 1\r\n", "utf-8-sig", id="bom-crlf"),
        pytest.param(b"# coding: latin-1\nA = '\xe9'\n", "# coding: latin-1\nA = 'é'\n", "iso-8859-1", id="latin-1"),
        pytest.param(b"A = 1\rB = 2\r", "A = 1\rB = 2\r", "utf-8", id="old-mac-newlines"),
    ],
)
def test_read_script_decodes(tmp_path, data, text, encoding):
    path = tmp_path / "script.py"
    path.write_bytes(data)

    assert read_script(path) == (text, encoding, data)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        pytest.param(
            b"# coding: uft-8\nA = 1\n",
            r"script\.py: unknown encoding: uft-8; declare a codec Python knows, such as utf-8$",
            id="unknown-encoding",
        ),
        pytest.param(
            b"A = 1\nB = 2\nC = '\xff'\n",
            r"script\.py is not valid utf-8 text \(byte 17\)",
            id="invalid-utf8-after-line-two",
        ),
        pytest.param(
            b"NAME = '\xe9'\n",
            r"script\.py is not valid utf-8 text \(byte 8\); a Python script must be UTF-8 or declare its encoding",
            id="latin1-without-declaration",
        ),
        pytest.param(
            b"\x89PNG\r\n\x1a\n\x00\x00",
            r"script\.py contains NUL bytes, so it is not a Python source file$",
            id="binary",
        ),
    ],
)
def test_read_script_rejects_non_source(tmp_path, data, message):
    path = tmp_path / "script.py"
    path.write_bytes(data)

    with pytest.raises(ScriptError, match=message):
        read_script(path)


def test_read_script_missing_script(tmp_path):
    with pytest.raises(ScriptNotFoundError, match=r"^Script not found: .*missing\.py; check the path and the working folder$"):
        read_script(tmp_path / "missing.py")


def test_read_script_folder(tmp_path):
    with pytest.raises(ScriptNotFoundError, match=r"^.* is a folder, not a script; give the path of a \.py file$"):
        read_script(tmp_path)


def test_parse_source_syntax_error_line():
    with pytest.raises(ScriptError, match=r"^x\.py, line 2: invalid syntax; the script does not parse") as caught:
        parse_source("A = 1\nB = = 2\n", "x.py")

    assert caught.value.lineno == 2


def test_parse_source_null_character():
    # Python 3.10 raises ValueError here; 3.11 to 3.13 raise SyntaxError without a line.
    with pytest.raises(ScriptError, match=r"^x\.py(: | cannot be parsed: ).*null"):
        parse_source("A = 1\x00\n", "x.py")


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        pytest.param("A = 'é€😀'; B = 2\n", "2", id="non-ascii-before"),
        pytest.param("X = 1\r\nB = 2\r\n", "2", id="crlf"),
        pytest.param("X = 1\rB = 2", "2", id="lone-cr-no-final-newline"),
        pytest.param("X = 1\n\x0cB = 2\n", "2", id="form-feed-is-not-a-newline"),
    ],
)
def test_source_map_span_of_last_value(source, expected):
    node = ast.parse(source).body[-1].value
    start, end = SourceMap(source).span(node)

    assert source[start:end] == expected


@pytest.mark.parametrize(
    ("text", "count"),
    [
        pytest.param("", 0, id="empty"),
        pytest.param("a\nb\r\nc\rd", 3, id="mixed"),
        pytest.param("a\x0cb\x0bc\u2028d", 0, id="not-python-newlines"),
    ],
)
def test_count_lines_python_newlines(text, count):
    assert count_lines(text) == count


@pytest.mark.parametrize(
    ("kind", "message"),
    [
        pytest.param("script", r"Cannot read script /proc/self/mem: Input/output error", id="script"),
        pytest.param("notebook", r"Cannot read notebook /proc/self/mem: Input/output error", id="notebook"),
    ],
)
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reading /proc/self/mem fails only on Linux")
def test_read_script_bytes_unreadable(kind, message):
    with pytest.raises(ScriptError, match=message):
        read_script_bytes(Path("/proc/self/mem"), kind)


def test_read_script_bytes_folder(tmp_path):
    with pytest.raises(ScriptNotFoundError, match=r"is a folder, not a script"):
        read_script_bytes(tmp_path, "notebook")


@pytest.mark.parametrize("enabled", [pytest.param(True, id="enabled"), pytest.param(False, id="disabled")])
def test_paused_gc_restores_state(enabled):
    import gc

    from cascade_core.sourcefile import paused_gc

    was_enabled = gc.isenabled()
    (gc.enable if enabled else gc.disable)()
    try:
        with paused_gc():
            assert not gc.isenabled()
        assert gc.isenabled() is enabled
    finally:
        (gc.enable if was_enabled else gc.disable)()
