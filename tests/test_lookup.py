"""Tests of key lookup helpers: suggestions and unknown-key messages."""

from __future__ import annotations

import pytest

from cascade_core.discovery import discover_source
from cascade_core.lookup import find_field, suggest, unknown_key_message


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        pytest.param("lrr", "--lr", id="typo"),
        pytest.param("LR", "--lr", id="case"),
        pytest.param("jobz", "--jobs", id="run-option"),
        pytest.param("zzz", None, id="nothing-close"),
    ],
)
def test_suggest_closest_spelling(key, expected):
    assert suggest(key, ["lr", "epochs"], ["-j", "--jobs", "--name"]) == expected


def test_unknown_key_message_lists_fields():
    config = discover_source("LR = 1\nEPOCHS = 2\n", "/tmp/train.py")

    assert unknown_key_message(config, "EPOCH") == "--EPOCH is not a field of train.py; did you mean --EPOCHS? Fields: LR, EPOCHS"


def test_unknown_key_message_without_config():
    config = discover_source("print(1)\n", "/tmp/train.py")

    assert unknown_key_message(config, "lr") == (
        "--lr cannot be applied: train.py has no config (no Config class, no UPPERCASE globals, "
        "no argparse options). Pass arguments for the script itself after --"
    )


@pytest.mark.parametrize(
    ("key", "found"),
    [
        pytest.param("batch_size", "batch_size", id="key"),
        pytest.param("batch-size", "batch_size", id="dashed"),
        pytest.param("A.batch_size", "batch_size", id="qualified"),
        pytest.param("lr", None, id="ambiguous-is-not-exact"),
        pytest.param("nope", None, id="unknown"),
    ],
)
def test_find_field_exact_spellings(key, found):
    source = "from cascade_core import Config\nclass A(Config):\n    lr = 1\n    batch_size = 2\nclass B(Config):\n    lr = 3\n"
    field = find_field(discover_source(source), key)

    found_key = field.key if field is not None else None
    assert found_key == found
