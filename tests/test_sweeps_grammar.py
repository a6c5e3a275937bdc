"""Tests of the sweep grammar: one override value to the texts of its items."""

from __future__ import annotations

import pytest

from cascade_core.errors import OverrideError, SweepError
from cascade_core.sweeps.grammar import expand_value, is_sweep


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("1e-3,1e-4", ["1e-3", "1e-4"], id="commas"),
        pytest.param("16, 32 ,64", ["16", "32", "64"], id="spaces-around-items"),
        pytest.param("[32,32],[128,128]", ["[32,32]", "[128,128]"], id="lists"),
        pytest.param("'a,b',c", ["'a,b'", "c"], id="quoted-comma"),
        pytest.param('"x,y",\'z\'', ['"x,y"', "'z'"], id="double-quotes"),
        pytest.param("{'a': 1, 'b': 2},{}", ["{'a': 1, 'b': 2}", "{}"], id="dicts"),
        pytest.param("(1, 2),(3, 4)", ["(1, 2)", "(3, 4)"], id="tuples"),
        pytest.param("-5,-3", ["-5", "-3"], id="negative-numbers"),
        pytest.param("adam", ["adam"], id="single-value"),
        pytest.param("[1, 2]", ["[1, 2]"], id="single-list"),
        pytest.param("'a,b'", ["'a,b'"], id="single-quoted-comma"),
    ],
)
def test_expand_value_comma_lists(text, expected):
    assert expand_value("key", text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("range(1, 4)", ["1", "2", "3"], id="range-start-stop"),
        pytest.param("range(3)", ["0", "1", "2"], id="range-stop-only"),
        pytest.param("range(0, 10, 4)", ["0", "4", "8"], id="range-step"),
        pytest.param("range(5, 0, -2)", ["5", "3", "1"], id="range-negative-step"),
        pytest.param("linspace(0, 1, 5)", ["0.0", "0.25", "0.5", "0.75", "1.0"], id="linspace"),
        pytest.param("linspace(1, 2, 1)", ["1.0"], id="linspace-one-value"),
        pytest.param("linspace(-1, 1, 3)", ["-1.0", "0.0", "1.0"], id="linspace-negative"),
        pytest.param("logspace(-5, -1, 5)", ["1e-05", "0.0001", "0.001", "0.01", "0.1"], id="logspace"),
        pytest.param("logspace(0, 2, 3)", ["1.0", "10.0", "100.0"], id="logspace-positive"),
        pytest.param("choice(adam, sgd)", ["adam", "sgd"], id="choice-words"),
        pytest.param("choice([1, 2], [3])", ["[1, 2]", "[3]"], id="choice-lists"),
        pytest.param("choice('a,b')", ["'a,b'"], id="choice-single-quoted"),
        pytest.param(" range( 1 ,3 ) ", ["1", "2"], id="spaces-around-call"),
    ],
)
def test_expand_value_functions(text, expected):
    assert expand_value("key", text) == expected


def test_expand_value_linspace_matches_numpy():
    numpy = pytest.importorskip("numpy")

    items = expand_value("lr", "linspace(0, 1, 7)")

    assert [float(item) for item in items] == numpy.linspace(0, 1, 7).tolist()


def test_expand_value_logspace_close_to_numpy():
    numpy = pytest.importorskip("numpy")

    items = [float(item) for item in expand_value("lr", "logspace(-3, 0, 7)")]

    assert items == pytest.approx(numpy.logspace(-3, 0, 7).tolist(), rel=1e-12)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param(
            "range(3, 1)",
            r"Invalid sweep for SEED: 'range\(3, 1\)' is not a valid range\(\) because it is empty "
            r"\(the stop is excluded, as in Python\)\. Expected range\(start, stop\[, step\]\), for example range\(1, 5\)",
            id="empty-range",
        ),
        pytest.param("range(0, 4, 0)", r"'range\(0, 4, 0\)' is not a valid range\(\) because its step is 0", id="zero-step"),
        pytest.param(
            "range(0, 1, 0.1)",
            r"because its arguments are not all integers \(use linspace for floats\)",
            id="float-range",
        ),
        pytest.param("range()", r"because it takes 1 to 3 arguments, not 0", id="range-no-arguments"),
        pytest.param("range(a, 3)", r"because 'a' is not a number", id="range-word"),
        pytest.param("linspace(0, 1)", r"not a valid linspace\(\) because it takes 3 arguments, not 2", id="linspace-two"),
        pytest.param(
            "linspace(0, 1, 0)",
            r"because its number of values 0 is not an integer of 1 or more\. "
            r"Expected linspace\(start, stop, num\), for example linspace\(0, 1, 5\)",
            id="linspace-zero",
        ),
        pytest.param("logspace(0, 1, 2.5)", r"because its number of values 2\.5 is not an integer", id="logspace-float-num"),
        pytest.param("linspace(0, inf, 3)", r"because 'inf' is not a number", id="linspace-inf"),
        pytest.param("linspace(True, 2, 3)", r"because 'True' is not a number", id="linspace-bool"),
        pytest.param("choice()", r"not a valid choice\(\) because it has no values", id="empty-choice"),
        pytest.param(
            "1,,2",
            r"Invalid sweep for SEED: '1,,2' has an empty item at position 2\. "
            r"Separate values with single commas, for example --SEED 1,2,3",
            id="empty-item",
        ),
        pytest.param("1,2,", r"'1,2,' has an empty item at position 3", id="trailing-comma"),
    ],
)
def test_expand_value_invalid(text, message):
    with pytest.raises(SweepError, match=message) as caught:
        expand_value("SEED", text)

    assert caught.value.key == "SEED"
    assert caught.value.value == text


def test_sweep_error_is_override_error():
    with pytest.raises(OverrideError):
        expand_value("SEED", "range(0)")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("1,2", True, id="commas"),
        pytest.param("range(2)", True, id="range"),
        pytest.param("choice(a)", True, id="choice"),
        pytest.param("[1,2]", False, id="list"),
        pytest.param("'a,b'", False, id="quoted"),
        pytest.param("ranged(1, 2)", False, id="other-call"),
        pytest.param("0.1", False, id="number"),
    ],
)
def test_is_sweep_cases(text, expected):
    assert is_sweep(text) is expected
