"""Tests of argparse scripts: fields from `add_argument` calls, overrides as arguments."""

from __future__ import annotations

import textwrap

import pytest

from cascade_core.argparse_config import argparse_argv
from cascade_core.discovery import discover_source
from cascade_core.errors import OverrideError
from cascade_core.overrides import parse_overrides


def config_of(text: str, path: str = "/tmp/script.py"):
    return discover_source(textwrap.dedent(text), path)


ARGPARSE_PY = """\
import argparse

DEFAULT_LR = 0.01

parser = argparse.ArgumentParser()
parser.add_argument("data")
parser.add_argument("--lr", type=float, default=DEFAULT_LR)
parser.add_argument("-b", "--batch-size", type=int, default=32)
parser.add_argument("--opt", choices=["adam", "sgd"], default="adam")
parser.add_argument("--amp", action="store_true")
parser.add_argument("--no-shuffle", dest="shuffle", action="store_false")
parser.add_argument("--layers", type=int, nargs="+", default=[64, 64])
parser.add_argument("--verbose", "-v", action="count", default=0)
parser.add_argument("--ema", action=argparse.BooleanOptionalAction, default=True)
parser.add_argument("--version", action="version", version="1")
args = parser.parse_args()
"""


def test_discover_argparse_fields():
    config = config_of(ARGPARSE_PY, "/tmp/train.py")
    summary = [(field.key, field.annotation, field.default) for field in config.fields]

    assert config.style == "argparse"
    assert summary == [
        ("data", None, None),
        ("lr", "float", 0.01),
        ("batch_size", "int", 32),
        ("opt", '"adam", "sgd"'.join(["Literal[", "]"]), "adam"),
        ("amp", "bool", False),
        ("shuffle", "bool", True),
        ("layers", "list[int]", [64, 64]),
        ("verbose", "int", 0),
        ("ema", "bool", True),
    ]


@pytest.mark.parametrize(
    ("tokens", "argv"),
    [
        pytest.param(["--lr", "0.1"], ["--lr", "0.1"], id="float"),
        pytest.param(["--batch-size", "8"], ["--batch-size", "8"], id="dashed-key"),
        pytest.param(["--b", "8"], ["--batch-size", "8"], id="short-spelling"),
        pytest.param(["--opt", "sgd"], ["--opt", "sgd"], id="choice"),
        pytest.param(["--amp"], ["--amp"], id="store-true"),
        pytest.param(["--amp", "False"], [], id="store-true-default"),
        pytest.param(["--shuffle", "False"], ["--no-shuffle"], id="store-false"),
        pytest.param(["--layers", "[1, 2]"], ["--layers", "1", "2"], id="nargs"),
        pytest.param(["--verbose", "2"], ["--verbose", "--verbose"], id="count"),
        pytest.param(["--ema", "False"], ["--no-ema"], id="boolean-optional"),
        pytest.param(["--lr", "1", "--data", "x.csv"], ["x.csv", "--lr", "1.0"], id="positional-first"),
    ],
)
def test_argparse_argv(tokens, argv):
    config = config_of(ARGPARSE_PY, "/tmp/train.py")

    assert argparse_argv(config, parse_overrides(tokens, config)) == argv


def test_argparse_argv_store_true_cannot_turn_off():
    config = config_of("import argparse\np = argparse.ArgumentParser()\np.add_argument('--amp', action='store_true', default=True)\n")

    with pytest.raises(OverrideError, match=r"^--amp cannot be set to False: --amp is a store_true flag whose default is True"):
        argparse_argv(config, {"amp": False})


def test_argparse_type_errors():
    config = config_of(ARGPARSE_PY)

    with pytest.raises(OverrideError, match=r"^Invalid value for --batch_size: 2\.5 is a float, but batch_size expects int"):
        parse_overrides(["--batch_size", "2.5"], config)


def test_discover_argparse_wins_over_globals():
    config = config_of("import argparse\nLR = 0.1\np = argparse.ArgumentParser()\np.add_argument('--x', default=1)\n")

    assert config.style == "argparse"
    assert config.keys() == ["x"]


def test_discover_argparse_without_options_uses_globals():
    config = config_of("import argparse\nLR = 0.1\np = argparse.ArgumentParser()\n")

    assert config.style == "globals"


@pytest.mark.parametrize(
    ("source", "overrides", "argv"),
    [
        pytest.param("p.add_argument('--ckpt')", {"ckpt": None}, [], id="none-default-left-out"),
        pytest.param("p.add_argument('--ckpt', default=None)", {"ckpt": "a b.pt"}, ["--ckpt", "a b.pt"], id="text-kept-whole"),
    ],
)
def test_argparse_argv_none_and_text(source, overrides, argv):
    config = config_of(f"import argparse\np = argparse.ArgumentParser()\n{source}\n")

    assert argparse_argv(config, overrides) == argv


def test_argparse_argv_none_for_set_default():
    config = config_of("import argparse\np = argparse.ArgumentParser()\np.add_argument('--lr', default=0.1)\n")

    with pytest.raises(OverrideError, match=r"^--lr cannot be set to None: the command line has no spelling for None, and leaving --lr out gives its default 0\.1$"):
        argparse_argv(config, {"lr": None})
