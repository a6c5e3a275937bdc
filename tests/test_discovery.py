"""Tests of static config discovery: import forms, classes, globals, keys, odd input."""

from __future__ import annotations

import json
import textwrap

import pytest

from cascade_core.discovery import Expression, discover, discover_source
from cascade_core.errors import AmbiguousKeyError, ScriptError, ScriptNotFoundError, UnknownKeyError


def source_of(text: str) -> str:
    return textwrap.dedent(text)


def config_of(text: str, path: str = "/tmp/script.py"):
    return discover_source(source_of(text), path)


# Import forms ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("imports", "base"),
    [
        pytest.param("from cascade_core import Config", "Config", id="from-cascade-core"),
        pytest.param("from cascade_core import Config as C", "C", id="alias"),
        pytest.param("import cascade_core", "cascade_core.Config", id="module"),
        pytest.param("import cascade_core as cc", "cc.Config", id="module-alias"),
        pytest.param("from cascade_core.config import Config", "Config", id="from-config-module"),
        pytest.param("import cascade.base", "cascade.base.Config", id="cascade-ml-module"),
        pytest.param("from cascade.base import Config", "Config", id="cascade-ml-from"),
        pytest.param("from cascade.base.config import Config", "Config", id="cascade-ml-config-module"),
        pytest.param("import cascade.base as cb", "cb.Config", id="cascade-ml-alias"),
        pytest.param("from cascade import base", "base.Config", id="cascade-ml-submodule"),
        pytest.param("try:\n    from cascade_core import Config\nexcept ImportError:\n    Config = object", "Config", id="in-try"),
    ],
)
def test_discover_import_forms(imports, base):
    config = discover_source(f"{imports}\n\nclass Train({base}):\n    lr = 0.1\n")

    assert config.style == "class"
    assert [field.qualname for field in config.fields] == ["Train.lr"]


@pytest.mark.parametrize(
    "imports",
    [
        pytest.param("from cascade import Config", id="cascade-top-level-exports-no-config"),
        pytest.param("from mylib import Config", id="other-library"),
        pytest.param("class Config:\n    pass", id="local-class"),
    ],
)
def test_discover_other_config_names_ignored(imports):
    config = discover_source(f"{imports}\n\nclass Train(Config):\n    lr = 0.1\nLR = 1\n")

    assert config.style == "globals"
    assert config.keys() == ["LR"]


# Classes ----------------------------------------------------------------------------------

CLASSES = """\
from typing import Literal
from cascade_core import Config

BASE_LR = 0.1


class Base(Config):
    \"\"\"Docstring, not a field.\"\"\"

    lr = 2 * BASE_LR
    batch_size: int = 32
    optimizer: Literal["adam", "sgd"] = "adam"
    _private = 1
    declared_only: int
    a = b = 3
    x, y = 1, 2
    fn = lambda value: value

    def method(self):
        local = 1

    @property
    def prop(self):
        return 1


class Sub(Base):
    lr = 1e-4
    depth = 3


class Other(Config):
    seed = 0
"""


def test_discover_class_fields_in_order():
    config = config_of(CLASSES)

    assert config.style == "class"
    assert [field.qualname for field in config.fields] == [
        "Base.lr",
        "Base.batch_size",
        "Base.optimizer",
        "Sub.lr",
        "Sub.depth",
        "Other.seed",
    ]
    assert config.keys() == ["Base.lr", "batch_size", "optimizer", "Sub.lr", "depth", "seed"]
    assert list(config.classes) == ["Base", "Sub", "Other"]
    assert config.classes["Sub"].bases == ("Base",)


def test_discover_field_attributes():
    config = config_of(CLASSES)
    optimizer = config.lookup("optimizer")

    assert optimizer.owner == "Base"
    assert optimizer.annotation == 'Literal["adam", "sgd"]'
    assert optimizer.default == "adam"
    assert optimizer.source == '"adam"'
    assert optimizer.lineno == 12
    assert config.source[optimizer.span[0] : optimizer.span[1]] == '"adam"'


def test_discover_expression_field():
    field = config_of(CLASSES).lookup("Base.lr")

    assert field.is_expression
    assert field.default == Expression("2 * BASE_LR")
    assert repr(field.default) == "2 * BASE_LR"
    assert json.dumps(field.default) == '"2 * BASE_LR"'


def test_discover_defaults_mapping():
    assert config_of(CLASSES).defaults() == {
        "Base.lr": "2 * BASE_LR",
        "batch_size": 32,
        "optimizer": "adam",
        "Sub.lr": 1e-4,
        "depth": 3,
        "seed": 0,
    }


@pytest.mark.parametrize(
    ("key", "qualname"),
    [
        pytest.param("batch_size", "Base.batch_size", id="bare"),
        pytest.param("Base.batch_size", "Base.batch_size", id="qualified-unique"),
        pytest.param("batch-size", "Base.batch_size", id="dashes"),
        pytest.param("Sub.lr", "Sub.lr", id="qualified-reassigned"),
        pytest.param("Base.lr", "Base.lr", id="qualified-base"),
    ],
)
def test_lookup_spellings(key, qualname):
    assert config_of(CLASSES).lookup(key).qualname == qualname


def test_lookup_ambiguous_lists_both():
    with pytest.raises(AmbiguousKeyError, match=r"^--lr is ambiguous: Base and Sub each define 'lr'; write --Base\.lr or --Sub\.lr$"):
        config_of(CLASSES).lookup("lr")


def test_lookup_inherited_field_suggests_base():
    message = (
        r"^--Sub\.batch_size: Sub inherits 'batch_size' from Base without assigning it; "
        r"override it as --Base\.batch_size \(which changes Sub too\), or assign batch_size in Sub"
    )
    with pytest.raises(UnknownKeyError, match=message):
        config_of(CLASSES).lookup("Sub.batch_size")


def test_lookup_unknown_class():
    with pytest.raises(UnknownKeyError, match=r"^--Nope\.lr is not a field of script\.py"):
        config_of(CLASSES).lookup("Nope.lr")


def test_lookup_did_you_mean():
    with pytest.raises(UnknownKeyError, match=r"^--dept is not a field of script\.py; did you mean --depth\?"):
        config_of(CLASSES).lookup("dept")


def test_discover_nested_class_is_not_config():
    config = config_of(
        """\
        from cascade_core import Config

        def make():
            class Inner(Config):
                lr = 0.1
            return Inner
        """
    )

    assert config.style == "none"


# Globals -----------------------------------------------------------------------------------


def test_discover_uppercase_globals():
    config = config_of(
        """\
        import os

        LR = 1e-3
        BATCH_SIZE: int = 32
        _PRIVATE = 1
        lower = 2
        A = B = 3
        X1 = os.environ.get("X", "1")
        LR = 5
        if True:
            INSIDE = 1

        def f():
            LOCAL = 1
        """
    )

    assert config.style == "globals"
    assert config.keys() == ["LR", "BATCH_SIZE", "X1"]
    assert config.lookup("LR").default == 1e-3
    assert config.lookup("BATCH_SIZE").annotation == "int"
    assert config.lookup("X1").is_expression
    assert config.notes == ["LR is assigned again on line 9; an override replaces only the value on line 3"]


def test_discover_classes_win_over_globals():
    config = config_of("from cascade_core import Config\nLR = 1\nclass A(Config):\n    lr = 2\n")

    assert config.keys() == ["lr"]


def test_discover_no_config():
    config = config_of("print('hello')\n")

    assert config.style == "none"
    assert config.fields == []
    assert config.defaults() == {}


# Bad input and odd paths ---------------------------------------------------------------------------


def test_discover_syntax_error_names_file_and_line(tmp_path):
    path = tmp_path / "broken.py"
    path.write_text("LR = 0.1\n\ndef f(:\n    pass\n")

    with pytest.raises(ScriptError, match=r"broken\.py, line 3: invalid syntax; the script does not parse") as caught:
        discover(path)

    assert caught.value.lineno == 3


@pytest.mark.parametrize(
    "folder",
    [
        pytest.param("with space", id="space"),
        pytest.param("odd \"q\" 'a'", id="quotes"),
        pytest.param("back\\slash \\Users", id="backslashes"),
        pytest.param("ünï €", id="non-ascii"),
    ],
)
def test_discover_odd_paths(tmp_path, folder):
    path = tmp_path / folder / "train.py"
    path.parent.mkdir()
    path.write_text("K = 3\n")

    config = discover(path)

    assert config.path == path
    assert config.keys() == ["K"]


def test_discover_relative_path_is_absolute(tmp_path, monkeypatch):
    (tmp_path / "train.py").write_text("K = 3\n")
    monkeypatch.chdir(tmp_path)

    assert discover("train.py").path == tmp_path / "train.py"


def test_discover_bom_and_crlf(tmp_path):
    path = tmp_path / "bom.py"
    path.write_bytes(b"\xef\xbb\xbfLR = 0.1\r\nNAME = '\xc3\xa9'\r\n")
    config = discover(path)

    assert config.encoding == "utf-8-sig"
    assert config.source == "LR = 0.1\r\nNAME = 'é'\r\n"
    assert [(field.key, field.lineno, field.span) for field in config.fields] == [("LR", 1, (5, 8)), ("NAME", 2, (17, 20))]


def test_discover_never_executes(tmp_path):
    marker = tmp_path / "executed"
    path = tmp_path / "train.py"
    path.write_text(f"import pathlib\npathlib.Path({str(marker)!r}).write_text('x')\nLR = 1\n")

    discover(path)

    assert not marker.exists()


def test_field_hashable_with_list_default():
    field = config_of("HIDDEN = [64, 64]\n").lookup("HIDDEN")

    assert {field: 1}[field] == 1


def test_discover_class_field_assigned_twice_noted():
    config = config_of("from cascade_core import Config\nclass A(Config):\n    lr = 1\n    lr = 2\n")

    assert [field.lineno for field in config.fields] == [3]
    assert config.notes == ["A.lr is assigned again on line 4; an override replaces only the value on line 3"]
