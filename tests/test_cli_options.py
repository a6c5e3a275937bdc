"""Tests of the run option table shared by `cascade run`, `cascade rerun` and `cascade config`."""

from __future__ import annotations

import pytest

from cascade_core.cli.options import option_arity, option_clashes
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
