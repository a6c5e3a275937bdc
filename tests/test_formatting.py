"""Tests of cascade_core.formatting, the text formats shared by the CLI, sweeps and notebook displays."""

from __future__ import annotations

import pytest

from cascade_core.formatting import format_duration, format_table


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
