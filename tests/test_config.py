"""Tests of `Config`, the runtime container."""

from __future__ import annotations

import argparse
import functools
import types

import pytest

from cascade_core import Config
from cascade_core.errors import UnknownKeyError


class Train(Config):
    lr = 1e-3
    batch_size: int = 32
    layers = [64, 64]

    def describe(self):
        return f"lr={self.lr}"

    @property
    def double_lr(self):
        return 2 * self.lr

    @staticmethod
    def helper():
        return 1

    @classmethod
    def build(cls):
        return cls()

    @functools.cached_property
    def cached(self):
        return 1

    class Nested:
        pass


class Fine(Train):
    lr = 1e-4
    depth = 3


def test_config_defaults_from_class():
    assert Train().to_dict() == {"lr": 1e-3, "batch_size": 32, "layers": [64, 64]}


def test_config_inherited_fields_in_order():
    assert list(Fine().to_dict().items()) == [("lr", 1e-4), ("batch_size", 32), ("layers", [64, 64]), ("depth", 3)]


@pytest.mark.parametrize(
    "values",
    [
        pytest.param({"lr": 0.1}, id="dict"),
        pytest.param(argparse.Namespace(lr=0.1), id="argparse-namespace"),
        pytest.param(types.SimpleNamespace(lr=0.1), id="simple-namespace"),
    ],
)
def test_config_instance_overrides(values):
    config = Train(values)

    assert config.lr == 0.1
    assert Train.lr == 1e-3


def test_config_keyword_overrides_win():
    assert Train({"lr": 0.1}, lr=0.2).lr == 0.2


def test_config_from_other_config():
    assert Train(Train(lr=0.5)).lr == 0.5


def test_config_mutable_defaults_copied():
    first = Train()
    first.layers.append(1)

    assert Train().layers == [64, 64]
    assert Train.layers == [64, 64]


def test_config_unknown_key_rejected():
    with pytest.raises(UnknownKeyError, match=r"^Train has no field 'lrr'; did you mean 'lr'\? Fields: lr, batch_size, layers$"):
        Train({"lrr": 0.1})


def test_config_bad_argument_type():
    with pytest.raises(TypeError, match=r"^Config\(\) takes a mapping or a namespace such as argparse\.Namespace, got int: 3$"):
        Train(3)


def test_config_repr():
    assert repr(Fine(depth=4)) == "Fine(lr=0.0001, batch_size=32, layers=[64, 64], depth=4)"


@pytest.mark.parametrize(
    ("left", "right", "equal"),
    [
        pytest.param(Train(), Train(), True, id="same-defaults"),
        pytest.param(Train(lr=0.1), Train(), False, id="different-field"),
        pytest.param(Train(), Fine(), False, id="different-class"),
    ],
)
def test_config_equality(left, right, equal):
    assert (left == right) is equal


def test_config_not_equal_to_dict():
    assert Train() != Train().to_dict()


def test_config_methods_are_not_fields():
    assert Train.field_names() == ["lr", "batch_size", "layers"]
    assert Train().describe() == "lr=0.001"
    assert Train().double_lr == 2e-3


def test_config_unhashable():
    with pytest.raises(TypeError):
        hash(Train())


def test_config_empty_subclass():
    class Empty(Config):
        pass

    assert Empty().to_dict() == {}
    assert repr(Empty()) == "Empty()"
