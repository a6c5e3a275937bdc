"""Tests of cascade_core.runplan: what prepare() checks and builds before a run exists."""

from __future__ import annotations

from pathlib import Path

import pytest

from cascade_core.errors import FieldNotAddableError, OverrideError, ScriptNotFoundError
from cascade_core.runplan import prepare


@pytest.fixture
def work(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return tmp_path


def script(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def test_prepare_without_overrides_keeps_source(work):
    text = "# comment\nLR = 0.1  # keep\nprint(f'{LR!r}')\n"

    plan = prepare(script(work, "keep.py", text))

    assert plan.source == text.encode()
    assert not plan.rewritten
    assert plan.values == {"LR": 0.1}
    assert plan.overrides == {}


def test_prepare_rewrites_only_the_value(work):
    path = script(work, "keep.py", "# comment\nLR = 0.1  # keep\nSIZE = (1, 2)\n")

    plan = prepare(path, "--LR", "0.5")

    assert plan.source == b"# comment\nLR = 0.5  # keep\nSIZE = (1, 2)\n"
    assert plan.rewritten
    assert plan.values == {"LR": 0.5, "SIZE": (1, 2)}


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        pytest.param(("--LR", "1"), {"LR": 1.0}, id="tokens"),
        pytest.param(({"LR": 1},), {"LR": 1.0}, id="mapping"),
        pytest.param(("LR=2e-3",), {"LR": 0.002}, id="assignment"),
    ],
)
def test_prepare_override_forms(work, overrides, expected):
    plan = prepare(script(work, "lr.py", "LR = 0.1\n"), *overrides)

    assert plan.overrides == expected


def test_prepare_passthrough_and_argv(work):
    plan = prepare(script(work, "lr.py", "LR = 0.1\n"), "--LR", "0.2", "--", "--raw", argv=("x",))

    assert plan.overrides == {"LR": 0.2}
    assert plan.args == ["--raw", "x"]


def test_prepare_argparse_overrides_become_args(work):
    text = "import argparse\np = argparse.ArgumentParser()\np.add_argument('--lr', type=float, default=0.1)\np.parse_args()\n"

    plan = prepare(script(work, "ap.py", text), "--lr", "0.5")

    assert plan.args == ["--lr", "0.5"]
    assert plan.source == text.encode()


def test_prepare_expression_field_recorded_as_text(work):
    plan = prepare(script(work, "expr.py", "BASE = 2\nLR = BASE * 0.1\n"))

    assert str(plan.values["LR"]) == "BASE * 0.1"


def test_prepare_missing_script(work):
    with pytest.raises(ScriptNotFoundError, match=r"Script not found: .*nope\.py"):
        prepare("nope.py")


def test_prepare_invalid_override(work):
    with pytest.raises(OverrideError, match="LR"):
        prepare(script(work, "lr.py", "LR = 0.1\n"), "--LR", "fast")

    assert not (work / ".cascade").exists()


ARGPARSE_SCRIPT = (
    "import argparse\np = argparse.ArgumentParser()\np.add_argument('--lr', type=float, default=0.1)\n"
    "print(p.parse_args())\n"
)
NOTEBOOK = (
    '{"cells": [{"cell_type": "code", "execution_count": null, "id": "c1", "metadata": {}, "outputs": [],'
    ' "source": "from cascade_core import Config\\nclass C(Config):\\n    lr = 0.1\\n"}],'
    ' "metadata": {}, "nbformat": 4, "nbformat_minor": 5}'
)
ARGPARSE_MESSAGE = (
    r"Cannot add 'extra': ap\.py reads its config with argparse, whose parser rejects options it does not "
    r"define\. Add the option to the parser, or remove the key from the base\."
)
NOTEBOOK_MESSAGE = (
    r"Cannot add 'extra': keys cannot be added to a notebook such as nb\.ipynb\. "
    r"Define the field in the notebook, or remove the key from the base\."
)


@pytest.mark.parametrize(
    ("name", "text", "base", "overrides", "message"),
    [
        pytest.param("ap.py", ARGPARSE_SCRIPT, "extra: 5\n", (), ARGPARSE_MESSAGE, id="argparse"),
        pytest.param("ap.py", ARGPARSE_SCRIPT, "extra: 5\n", ("--lr", "0.5"), ARGPARSE_MESSAGE,
                     id="argparse-with-override"),
        pytest.param("ap.py", ARGPARSE_SCRIPT, "lr: 0.3\nextra: 5\n", (), ARGPARSE_MESSAGE,
                     id="argparse-with-base-value"),
        pytest.param("nb.ipynb", NOTEBOOK, "extra: 5\n", (), NOTEBOOK_MESSAGE, id="notebook"),
        pytest.param("nb.ipynb", NOTEBOOK, "extra: 5\n", ("--lr", "0.5"), NOTEBOOK_MESSAGE,
                     id="notebook-with-override"),
    ],
)
def test_prepare_added_key_not_addable(work, name, text, base, overrides, message):
    path = script(work, name, text)
    script(work, "base.yaml", base)

    with pytest.raises(FieldNotAddableError, match=message):
        prepare(path, *overrides, base="base.yaml", force=True)

    assert not (work / ".cascade").exists()
