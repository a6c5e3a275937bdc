"""Tests of the run option table shared by `cascade run`, `cascade rerun` and `cascade config`."""

from __future__ import annotations

import pytest

from cascade_core.cli.options import is_magic_only, option_arity, option_clashes, unknown_option_message
from cascade_core.discovery import discover_source


@pytest.mark.parametrize(
    ("spelling", "takes_value"),
    [
        pytest.param("-y", False, id="yes-short"),
        pytest.param("--yes", False, id="yes-long"),
        pytest.param("--name", True, id="name"),
        pytest.param("-j", True, id="jobs-short"),
        pytest.param("--multirun", False, id="multirun"),
        pytest.param("--dask-address", True, id="dask-address"),
        pytest.param("--bg", False, id="background"),
        pytest.param("--max-lines", True, id="max-lines"),
    ],
)
def test_option_arity_spellings(spelling, takes_value):
    assert option_arity()[spelling] is takes_value


def test_option_clashes_lists_fields_named_like_options():
    source = "from cascade_core import Config\nclass A(Config):\n    name = 'x'\n    no_log = False\n    lr = 0.1\n    jobs = 2\n"

    assert option_clashes(discover_source(source)) == [("name", "--name"), ("no_log", "--no-log"), ("jobs", "--jobs")]


def test_option_clashes_qualified_keys():
    source = "from cascade_core import Config\nclass A(Config):\n    tag = 'a'\nclass B(Config):\n    tag = 'b'\n"

    assert option_clashes(discover_source(source)) == [("A.tag", "--tag"), ("B.tag", "--tag")]


@pytest.mark.parametrize(
    ("spelling", "magic_only"),
    [
        pytest.param("--name", False, id="name"),
        pytest.param("-y", False, id="yes-short"),
        pytest.param("--exact", False, id="exact"),
        pytest.param("--bg", True, id="background"),
        pytest.param("--no-raise", True, id="no-raise"),
        pytest.param("--max-lines", True, id="max-lines"),
    ],
)
def test_is_magic_only_spellings(spelling, magic_only):
    assert is_magic_only(spelling) is magic_only


def test_is_magic_only_unknown_spelling():
    with pytest.raises(KeyError, match="--nope"):
        is_magic_only("--nope")


def test_option_clashes_magic_only_option():
    source = "from cascade_core import Config\nclass A(Config):\n    max_lines = 10\n    bg = False\n"

    assert option_clashes(discover_source(source)) == [("max_lines", "--max-lines"), ("bg", "--bg")]


@pytest.mark.parametrize(
    ("token", "message"),
    [
        pytest.param("--frobnicate", "Unknown option '--frobnicate' before SCRIPT. Options: -y, --yes, --name.",
                     id="no-suggestion"),
        pytest.param("--nmae", "Unknown option '--nmae' before SCRIPT; did you mean --name? Options: -y, --yes, --name.",
                     id="did-you-mean"),
        pytest.param("--nmae=x", "Unknown option '--nmae=x' before SCRIPT; did you mean --name? Options: -y, --yes, "
                     "--name.", id="with-value"),
        pytest.param("-q", "Unknown option '-q' before SCRIPT. Options: -y, --yes, --name.", id="short"),
    ],
)
def test_unknown_option_message_cases(token, message):
    assert unknown_option_message(token, "SCRIPT", ["-y", "--yes", "--name"]) == message
