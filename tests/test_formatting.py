"""Tests of cascade_core.formatting, the text formats shared by the CLI, sweeps and notebook displays."""

from __future__ import annotations

import shlex

import pytest

from cascade_core.discovery import discover_source
from cascade_core.fieldtypes import Expression
from cascade_core.formatting import format_duration, format_overrides, format_table
from cascade_core.overrides import parse_overrides


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        pytest.param(None, "", id="unknown"),
        pytest.param(0.04, "0.0s", id="zero"),
        pytest.param(4.24, "4.2s", id="seconds"),
        pytest.param(59.94, "59.9s", id="under-a-minute"),
        pytest.param(185, "3m05s", id="minutes"),
        pytest.param(119.9, "1m59s", id="seconds-cut-off"),
        pytest.param(3725, "1h02m", id="hour"),
        pytest.param(7620, "2h07m", id="hours"),
        pytest.param(7380, "2h03m", id="hours-exact-minutes"),
    ],
)
def test_format_duration_cases(seconds, text):
    assert format_duration(seconds) == text


@pytest.mark.parametrize(
    ("header", "rows", "rule", "text"),
    [
        pytest.param(["a", "long header"], [["wide cell", "x"]], False, "a          long header\nwide cell  x",
                     id="pads-columns"),
        pytest.param(["key", "value"], [["lr", "0.1"]], True, "key  value\n---  -----\nlr   0.1", id="rule"),
        pytest.param(["id", "note"], [["1", ""]], False, "id  note\n1", id="trailing-spaces-cut"),
        pytest.param(["id", "status"], [], True, "id  status\n--  ------", id="no-rows"),
    ],
)
def test_format_table_cases(header, rows, rule, text):
    assert format_table(header, rows, rule=rule) == text


@pytest.mark.parametrize(
    ("overrides", "text"),
    [
        pytest.param({}, "", id="none"),
        pytest.param({"SEED": 2, "LR": 0.001}, "--SEED 2 --LR 0.001", id="numbers"),
        pytest.param({"OPT": "adam"}, "--OPT adam", id="plain-text"),
        pytest.param({"NAME": "3"}, "--NAME \"'3'\"", id="text-of-a-number"),
        pytest.param({"NAME": "true"}, "--NAME \"'true'\"", id="text-of-a-bool"),
        pytest.param({"NAME": "-y"}, "--NAME \"'-y'\"", id="text-like-an-option"),
        pytest.param({"NAME": ""}, "--NAME \"''\"", id="empty-text"),
        pytest.param({"NAME": "hello world"}, "--NAME 'hello world'", id="text-with-space"),
        pytest.param({"NAME": "it's"}, "--NAME \"it's\"", id="text-with-quote"),
        pytest.param({"HIDDEN": [32, 32]}, "--HIDDEN '[32, 32]'", id="list"),
        pytest.param({"SIZE": (1, 2)}, "--SIZE '(1, 2)'", id="tuple"),
        pytest.param({"FLAG": True, "OPTIONAL": None}, "--FLAG True --OPTIONAL None", id="bool-and-none"),
        pytest.param({"STEP": Expression("2 * BASE")}, "--STEP '2 * BASE'", id="expression"),
    ],
)
def test_format_overrides_cases(overrides, text):
    assert format_overrides(overrides) == text


def test_format_overrides_parse_back():
    config = discover_source(
        "SEED = 1\nLR = 0.1\nOPT = 'sgd'\nNAME = 'x'\nHIDDEN = [64]\nSIZE = (3, 3)\nFLAG = False\n"
        "MASK = {1}\n"
    )
    values = {
        "SEED": 7, "LR": 1e-05, "OPT": "adam", "NAME": "it's \"odd\" $HOME", "HIDDEN": [32, 32],
        "SIZE": (1, 2), "FLAG": True, "MASK": {2, 3},
    }

    parsed = parse_overrides(shlex.split(format_overrides(values)), config)

    assert parsed == values
    assert type(parsed["SIZE"]) is tuple
