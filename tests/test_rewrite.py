"""Tests of source rewriting: only the overridden spans change, lines stay put."""

from __future__ import annotations

import ast
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

from cascade_core.discovery import Expression, discover, discover_source
from cascade_core.errors import TypeMismatchError
from cascade_core.overrides import parse_overrides
from cascade_core.rewrite import rewrite, rewrite_bytes, rewrite_notebook, to_source

REPO = Path(__file__).resolve().parents[1]
PYTHON_312 = Path("/root/.pyenv/versions/3.12.1/bin/python")

DATES_PY = """\
from datetime import date

# how many passes over the data
EPOCHS = 3  # keep small for smoke tests
when = date(2024, 5, 1)
print(f"run of {when:%d %b '%y}, {EPOCHS} epochs")
"""

CLASS_PY = '''\
"""Training script."""
from cascade_core import Config


@decorator
class Train(Config):
    lr = 1e-3  # learning rate
    layers = [
        64,
        64,
    ]
    name: str = "base"
    scale = 2 * BASE
    text = ("multi"
            "line")
'''


def changed_lines(before: str, after: str) -> list[int]:
    return [number for number, (old, new) in enumerate(zip(before.splitlines(), after.splitlines()), 1) if old != new]


# Cases from users' reports ------------------------------------------------------------


def test_rewrite_fstring_script_changes_only_epochs_line():
    config = discover_source(DATES_PY, "/tmp/dates.py")
    new = rewrite(DATES_PY, config, parse_overrides(["--EPOCHS", "5"], config))

    assert new == DATES_PY.replace("EPOCHS = 3  #", "EPOCHS = 5  #")
    assert changed_lines(DATES_PY, new) == [4]


def test_rewrite_fstring_script_runs(tmp_path):
    script = tmp_path / "dates.py"
    script.write_text(DATES_PY)
    config = discover(script)
    new = rewrite(config.source, config, parse_overrides(["--EPOCHS", "5"], config))
    rewritten = tmp_path / "rewritten.py"
    rewritten.write_text(new)

    result = subprocess.run([sys.executable, str(rewritten)], capture_output=True, text=True, timeout=60)

    assert result.stdout == "run of 01 May '24, 5 epochs\n"


@pytest.mark.skipif(not PYTHON_312.exists(), reason="Python 3.12.1 is not installed at /root/.pyenv")
def test_rewrite_fstring_script_on_python312(tmp_path):
    script = tmp_path / "dates.py"
    script.write_text(DATES_PY)
    program = (
        "import sys\n"
        "from cascade_core.discovery import discover\n"
        "from cascade_core.overrides import parse_overrides\n"
        "from cascade_core.rewrite import rewrite\n"
        "config = discover(sys.argv[1])\n"
        "source = rewrite(config.source, config, parse_overrides(['--EPOCHS', '5'], config))\n"
        "sys.stderr.write(source)\n"
        "exec(compile(source, sys.argv[1], 'exec'), {'__name__': '__main__'})\n"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO)}

    result = subprocess.run(
        [str(PYTHON_312), "-c", program, str(script)], capture_output=True, text=True, env=env, timeout=60
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout == "run of 01 May '24, 5 epochs\n"
    assert result.stderr == DATES_PY.replace("EPOCHS = 3  #", "EPOCHS = 5  #")
    assert changed_lines(DATES_PY, result.stderr) == [4]


def test_rewrite_never_unparses(monkeypatch):
    def fail(*args, **kwargs):
        raise AssertionError("the source must not be regenerated from the tree")

    monkeypatch.setattr(ast, "unparse", fail)
    config = discover_source(DATES_PY, "/tmp/dates.py")

    assert "EPOCHS = 5" in rewrite(DATES_PY, config, {"EPOCHS": 5})


# Spans and lines ----------------------------------------------------------------------


def test_rewrite_no_overrides_is_identity():
    config = discover_source(CLASS_PY)

    assert rewrite(CLASS_PY, config, {}) is CLASS_PY


def test_rewrite_keeps_comments_and_decorators():
    config = discover_source(CLASS_PY)
    new = rewrite(CLASS_PY, config, {"lr": 0.5, "name": "it's"})

    assert new == CLASS_PY.replace("lr = 1e-3  #", "lr = 0.5  #").replace('str = "base"', "str = \"it's\"")


@pytest.mark.parametrize(
    ("overrides", "expected_fragment"),
    [
        pytest.param({"layers": [1]}, "layers = ([1]\n\n\n)\n", id="list-to-short-list"),
        pytest.param({"layers": 5}, "layers = (5\n\n\n)\n", id="list-to-int"),
        pytest.param({"text": "x"}, "text = (('x'\n)", id="concatenated-string"),
    ],
)
def test_rewrite_multiline_value_keeps_line_count(overrides, expected_fragment):
    config = discover_source(CLASS_PY)
    new = rewrite(CLASS_PY, config, overrides)
    namespace = {"Config": object, "decorator": lambda cls: cls, "BASE": 1}
    exec(compile(new, "<rewritten>", "exec"), namespace)

    assert expected_fragment in new
    assert new.count("\n") == CLASS_PY.count("\n")
    assert getattr(namespace["Train"], next(iter(overrides))) == next(iter(overrides.values()))


def test_rewrite_expression_replaced_by_text():
    config = discover_source(CLASS_PY)
    new = rewrite(CLASS_PY, config, {"scale": Expression("3 * BASE")})

    assert "    scale = 3 * BASE\n" in new


def test_rewrite_crlf_kept():
    source = "A = 1\r\nB = [\r\n  2,\r\n]\r\nprint(A, B)\r\n"
    config = discover_source(source)
    new = rewrite(source, config, {"A": 5, "B": "x"})

    assert new == "A = 5\r\nB = ('x'\r\n\r\n)\r\nprint(A, B)\r\n"


def test_rewrite_non_ascii_line():
    source = "NAME = 'héllo'; LR = 0.1  # café\nX = '€'\n"
    config = discover_source(source)
    new = rewrite(source, config, {"LR": 0.2, "X": "ü"})

    assert new == "NAME = 'héllo'; LR = 0.2  # café\nX = 'ü'\n"


def test_rewrite_qualified_fields_of_two_classes():
    source = "from cascade_core import Config\nclass A(Config):\n    lr = 1\nclass B(A):\n    lr = 2\n"
    config = discover_source(source)
    new = rewrite(source, config, parse_overrides(["--B.lr", "3"], config))

    assert new == source.replace("lr = 2", "lr = 3")


def test_rewrite_argparse_script_rejected():
    source = "import argparse\np = argparse.ArgumentParser()\np.add_argument('--lr', type=float, default=0.1)\n"
    config = discover_source(source, "/tmp/train.py")

    with pytest.raises(ValueError, match=r"^train\.py reads its settings with argparse; pass overrides as command-line arguments"):
        rewrite(source, config, {"lr": 0.2})


# Values as source -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        pytest.param(0.1, id="float"),
        pytest.param(1 / 3, id="float-exact"),
        pytest.param(1e-300, id="tiny-float"),
        pytest.param(-0.0, id="negative-zero"),
        pytest.param(10**30, id="big-int"),
        pytest.param("it's \"quoted\"\n\ttab", id="str-escapes"),
        pytest.param("\u00e9\u20ac\U0001f600", id="str-unicode"),
        pytest.param(b"\x00\xff", id="bytes"),
        pytest.param((1,), id="one-tuple"),
        pytest.param((), id="empty-tuple"),
        pytest.param(set(), id="empty-set"),
        pytest.param(frozenset({1}), id="frozenset"),
        pytest.param({1: [2, (3, None)]}, id="nested"),
        pytest.param(1 + 2j, id="complex"),
        pytest.param([float("inf"), -float("inf")], id="infinities-in-list"),
    ],
)
def test_to_source_round_trips(value):
    assert eval(to_source(value)) == value


def test_to_source_nan():
    assert math.isnan(eval(to_source(float("nan"))))


def test_to_source_ascii_only():
    assert to_source("é", ascii_only=True) == "'\\xe9'"


# Files: encodings and BOMs ----------------------------------------------------------------


def test_rewrite_bytes_no_overrides_is_file_content(tmp_path):
    path = tmp_path / "bom.py"
    path.write_bytes(b"\xef\xbb\xbfLR = 0.1\r\nprint(LR)\r\n")

    assert rewrite_bytes(discover(path), {}) == path.read_bytes()


def test_rewrite_bytes_keeps_bom(tmp_path):
    path = tmp_path / "bom.py"
    path.write_bytes(b"\xef\xbb\xbfLR = 0.1\r\nprint(LR)\r\n")

    assert rewrite_bytes(discover(path), {"LR": 0.5}) == b"\xef\xbb\xbfLR = 0.5\r\nprint(LR)\r\n"


def test_rewrite_bytes_latin1_declaration(tmp_path):
    path = tmp_path / "legacy.py"
    path.write_bytes(b"# -*- coding: latin-1 -*-\nNAME = '\xe9t\xe9'\nprint(NAME)\n")
    config = discover(path)

    assert config.defaults() == {"NAME": "été"}
    assert rewrite_bytes(config, {"NAME": "\u00fc"}) == b"# -*- coding: latin-1 -*-\nNAME = '\xfc'\nprint(NAME)\n"
    assert rewrite_bytes(config, {"NAME": "\u20ac"}) == b"# -*- coding: latin-1 -*-\nNAME = '\\u20ac'\nprint(NAME)\n"


# Notebooks ---------------------------------------------------------------------------------


def notebook_text(cells: list[dict]) -> str:
    return json.dumps({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}, indent=1)


def code_cell(source, tags=()) -> dict:
    return {"cell_type": "code", "metadata": {"tags": list(tags)}, "source": source, "outputs": [], "execution_count": None}


def test_rewrite_notebook_parameters_cell(tmp_path):
    text = notebook_text(
        [
            code_cell(["%matplotlib inline\n", "import os"]),
            code_cell(["lr = 0.1\n", "epochs = 3\n"], tags=["parameters"]),
            code_cell("print(lr, epochs)"),
        ]
    )
    path = tmp_path / "nb.ipynb"
    path.write_text(text)
    config = discover(path)

    new = json.loads(rewrite_notebook(text, config, parse_overrides(["--lr", "0.5"], config)))

    assert new["cells"][1]["source"] == ["lr = 0.5\n", "epochs = 3\n"]
    assert new["cells"][0]["source"] == ["%matplotlib inline\n", "import os"]
    assert new["cells"][2]["source"] == "print(lr, epochs)"


def test_rewrite_notebook_no_overrides_is_identity(tmp_path):
    text = notebook_text([code_cell("A = 1", tags=["parameters"])])
    path = tmp_path / "nb.ipynb"
    path.write_text(text)

    assert rewrite_notebook(text, discover(path), {}) is text


def test_rewrite_notebook_config_class_in_later_cell(tmp_path):
    text = notebook_text(
        [
            code_cell("from cascade_core import Config\n"),
            code_cell("x = 1\n"),
            code_cell("class Cfg(Config):\n    lr = 0.1\n    bs = [\n        1,\n    ]\n"),
        ]
    )
    path = tmp_path / "nb.ipynb"
    path.write_text(text)
    config = discover(path)

    new = json.loads(rewrite_notebook(text, config, {"lr": 0.2, "bs": [2]}))

    assert new["cells"][2]["source"] == "class Cfg(Config):\n    lr = 0.2\n    bs = ([2]\n\n)\n"


def test_rewrite_bytes_notebook(tmp_path):
    text = notebook_text([code_cell(["lr = 0.1\n"], tags=["parameters"])])
    path = tmp_path / "nb.ipynb"
    path.write_text(text)
    config = discover(path)

    new = json.loads(rewrite_bytes(config, {"lr": 0.5}).decode("utf-8"))

    assert new["cells"][0]["source"] == ["lr = 0.5\n"]
    assert rewrite_bytes(config, {}) == path.read_bytes()


def test_rewrite_rejects_non_literal_value():
    config = discover_source("LR = 0.1\n")

    with pytest.raises(TypeMismatchError, match=r"^LR: <object object at .*> \(object\) cannot be written into a script; use None, bool"):
        rewrite("LR = 0.1\n", config, {"LR": object()})


@pytest.mark.parametrize(
    ("source", "overrides", "expected"),
    [
        pytest.param("A = 1; B = 2  # 'quoted' \"comment\"\n", {"B": 3}, "A = 1; B = 3  # 'quoted' \"comment\"\n", id="semicolon"),
        pytest.param("A =\\\n    1\nprint(A)\n", {"A": 2}, "A =\\\n    2\nprint(A)\n", id="backslash-continuation"),
        pytest.param("A\t=\t'x'\t# tab\n", {"A": "y"}, "A\t=\t'y'\t# tab\n", id="tabs"),
        pytest.param("A: 'int' = (\n    1\n)\n", {"A": 5}, "A: 'int' = (\n    5\n)\n", id="parenthesised"),
        pytest.param("A = -1\nf'{A!r:>{A}}'\n", {"A": 3}, "A = 3\nf'{A!r:>{A}}'\n", id="fstring-after"),
        pytest.param("A = \"\"\"multi\nline\"\"\"\n", {"A": "one"}, "A = ('one'\n)\n", id="triple-quoted"),
        pytest.param("A = 1 if True else 2\n", {"A": 9}, "A = 9\n", id="conditional-expression"),
        pytest.param("A = 1,\n", {"A": (2, 3)}, "A = (2, 3)\n", id="bare-tuple"),
        pytest.param("A = 0\nB = A\n", {"A": 1, "B": Expression("A + 1")}, "A = 1\nB = A + 1\n", id="two-fields"),
    ],
)
def test_rewrite_only_value_spans_change(source, overrides, expected):
    config = discover_source(source)
    new = rewrite(source, config, overrides)

    assert new == expected
    assert new.count("\n") == source.count("\n")
    compile(new, "<rewritten>", "exec")
