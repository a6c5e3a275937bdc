"""Tests of recorded values read back with their exact Python types."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from cascade_core import store
from cascade_core.errors import RecordedValueError
from cascade_core.recorded import literal_value, restore_values


@pytest.mark.parametrize(
    ("value",),
    [
        pytest.param((224, 224), id="tuple"),
        pytest.param((1,), id="one-tuple"),
        pytest.param(set(), id="empty-set"),
        pytest.param({3, 1, 2}, id="set"),
        pytest.param(frozenset({"a", "b"}), id="frozenset"),
        pytest.param(frozenset(), id="empty-frozenset"),
        pytest.param({1: "one", (2, 3): "pair", None: 0}, id="typed-dict-keys"),
        pytest.param(1.0, id="float-whole"),
        pytest.param(1e-5, id="float-small"),
        pytest.param(-0.0, id="negative-zero"),
        pytest.param(math.inf, id="inf"),
        pytest.param(-math.inf, id="minus-inf"),
        pytest.param([1, (2, {3})], id="nested"),
        pytest.param(b"\x00raw", id="bytes"),
        pytest.param(1 + 2j, id="complex"),
        pytest.param("it's \"quoted\"\n", id="str"),
        pytest.param(None, id="none"),
        pytest.param(True, id="bool"),
        pytest.param(10**30, id="big-int"),
    ],
)
def test_literal_value_round_trip(value):
    restored = literal_value(repr(value))

    assert restored == value
    assert type(restored) is type(value)
    if not isinstance(value, (set, frozenset)):
        assert repr(restored) == repr(value)


def test_literal_value_nan():
    restored = literal_value(repr([math.nan]))

    assert math.isnan(restored[0])


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("<object object at 0x7f00>", id="object-repr"),
        pytest.param("os.getcwd()", id="call"),
        pytest.param("frozenset(1, 2)", id="frozenset-two-args"),
        pytest.param("-'a'", id="negated-text"),
        pytest.param("2 * LR", id="expression"),
    ],
)
def test_literal_value_rejects(text):
    with pytest.raises(RecordedValueError, match=r"Cannot restore the recorded value of 'lr'") as caught:
        literal_value(text, "lr")

    assert caught.value.key == "lr"
    assert caught.value.value == text


def write_values(folder: Path, config: dict, overrides: dict) -> None:
    folder.mkdir(parents=True)
    store.write_json(
        folder / store.VALUES_FILE,
        {
            "config": {key: repr(value) for key, value in config.items()},
            "overrides": {key: repr(value) for key, value in overrides.items()},
        },
    )


def test_restore_values_exact_types(tmp_path):
    config = {"lr": 1.0, "size": (3, 3), "labels": {2, 1}, "weights": {0: 0.5, 1: 2.0}}
    write_values(tmp_path / "run", config, {"size": (3, 3)})

    restored = restore_values(tmp_path / "run")

    assert restored == {"config": config, "overrides": {"size": (3, 3)}}
    assert [type(value) for value in restored["config"].values()] == [float, tuple, set, dict]
    assert list(restored["config"]["weights"]) == [0, 1]


def test_restore_values_without_values_file(tmp_path):
    folder = tmp_path / "run"
    folder.mkdir()
    store.write_json(folder / store.CONFIG_FILE, {"lr": 0.1, "size": [3, 3]})
    store.write_json(folder / store.OVERRIDES_FILE, {"lr": 0.1})

    assert restore_values(folder) == {"config": {"lr": 0.1, "size": [3, 3]}, "overrides": {"lr": 0.1}}
