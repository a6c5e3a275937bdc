"""Tests of static config discovery: classes, globals, argparse, notebooks, bad input."""

from __future__ import annotations

import json
import textwrap

import pytest

from cascade_core.argparse_config import argparse_argv
from cascade_core.discovery import Expression, discover, discover_source
from cascade_core.errors import (
    AmbiguousKeyError,
    ImportedConfigError,
    OverrideError,
    ScriptError,
    ScriptNotFoundError,
    UnknownKeyError,
)
from cascade_core.overrides import parse_overrides


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


# Imported config classes ------------------------------------------------------------------------


@pytest.fixture
def imported_project(tmp_path):
    (tmp_path / "configs.py").write_text(
        "from cascade_core import Config\n\nclass Train(Config):\n    lr = 0.1\n    epochs = 3\n"
    )
    (tmp_path / "train.py").write_text("from configs import Train\n\ncfg = Train()\nprint(cfg.lr)\n")
    return tmp_path


def test_discover_imported_config_recorded(imported_project):
    config = discover(imported_project / "train.py")

    assert config.style == "none"
    assert [(item.name, item.module, item.fields) for item in config.imported] == [("Train", "configs", ("lr", "epochs"))]
    assert config.imported[0].path == imported_project / "configs.py"


def test_lookup_imported_field_names_module(imported_project):
    config = discover(imported_project / "train.py")
    message = (
        r"^--lr: 'lr' is a field of Train, which is imported from module 'configs' \(.*configs\.py\), "
        r"so it cannot be overridden from train\.py; define the config class in train\.py, "
        r"or run the script that defines it$"
    )

    with pytest.raises(ImportedConfigError, match=message):
        parse_overrides(["--lr", "0.2"], config)


def test_lookup_imported_base_field(imported_project):
    (imported_project / "fine.py").write_text("from configs import Train\n\nclass Fine(Train):\n    extra = 1\n")
    config = discover(imported_project / "fine.py")

    assert config.style == "class"
    assert config.keys() == ["extra"]
    assert config.classes["Fine"].imported_bases == ("Train",)
    with pytest.raises(ImportedConfigError, match=r"^--Fine\.epochs: 'epochs' is a field of Train"):
        config.lookup("Fine.epochs")


def test_lookup_unknown_key_beside_imported(imported_project):
    config = discover(imported_project / "train.py")

    with pytest.raises(UnknownKeyError, match=r"^--nope cannot be applied: train\.py has no config"):
        config.lookup("nope")


# argparse ---------------------------------------------------------------------------------------

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


# Notebooks -------------------------------------------------------------------------------------


def write_notebook(path, cells):
    notebook = {"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    path.write_text(json.dumps(notebook))
    return path


def code(source, tags=()):
    return {"cell_type": "code", "metadata": {"tags": list(tags)}, "source": source, "outputs": [], "execution_count": None}


def test_discover_notebook_parameters_cell(tmp_path):
    path = write_notebook(
        tmp_path / "nb.ipynb",
        [
            {"cell_type": "markdown", "metadata": {}, "source": "# title"},
            code(["!pip list\n", "import os\n"]),
            code(["lr = 0.1\n", "epochs = 3\n", "_hidden = 1\n"], tags=["parameters"]),
            code("%%bash\necho hi\n"),
            code("late = 5\n"),
        ],
    )
    config = discover(path)

    assert config.style == "notebook"
    assert [(field.key, field.cell, field.lineno) for field in config.fields] == [("lr", 2, 1), ("epochs", 2, 2)]
    assert config.notes == ["cell 3 is not Python (IPython cell magic?) and was not read"]


def test_discover_notebook_config_class(tmp_path):
    path = write_notebook(
        tmp_path / "nb.ipynb",
        [code("from cascade_core import Config\n"), code("class Cfg(Config):\n    lr = 0.1\n", tags=["parameters"])],
    )
    config = discover(path)

    assert [(field.qualname, field.cell, field.lineno) for field in config.fields] == [("Cfg.lr", 1, 2)]


def test_discover_notebook_without_config(tmp_path):
    config = discover(write_notebook(tmp_path / "nb.ipynb", [code("x = 1\n")]))

    assert config.style == "notebook"
    assert config.fields == []


def test_discover_notebook_not_json(tmp_path):
    path = tmp_path / "broken.ipynb"
    path.write_text("{not json")

    with pytest.raises(ScriptError, match=r"broken\.ipynb is not a Jupyter notebook: its content is not JSON text"):
        discover(path)


# Bad input and odd paths ---------------------------------------------------------------------------


def test_discover_missing_script(tmp_path):
    with pytest.raises(ScriptNotFoundError, match=r"^Script not found: .*missing\.py; check the path and the working folder$"):
        discover(tmp_path / "missing.py")


def test_discover_folder(tmp_path):
    with pytest.raises(ScriptNotFoundError, match=r"^.* is a folder, not a script; give the path of a \.py file$"):
        discover(tmp_path)


def test_discover_binary_file(tmp_path):
    path = tmp_path / "model.py"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00")

    with pytest.raises(ScriptError, match=r"model\.py contains NUL bytes, so it is not a Python source file$"):
        discover(path)


def test_discover_latin1_without_declaration(tmp_path):
    path = tmp_path / "legacy.py"
    path.write_bytes(b"NAME = '\xe9'\n")

    with pytest.raises(ScriptError, match=r"legacy\.py is not valid utf-8 text \(byte 8\); a Python script must be UTF-8 or declare its encoding"):
        discover(path)


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


def test_field_hashable_with_list_default():
    field = config_of("HIDDEN = [64, 64]\n").lookup("HIDDEN")

    assert {field: 1}[field] == 1


@pytest.mark.parametrize(
    ("files", "import_line", "module"),
    [
        pytest.param({"pkg/__init__.py": "", "pkg/configs.py": None}, "from .configs import Train", ".configs", id="relative"),
        pytest.param({"configs/__init__.py": None}, "from configs import Train", "configs", id="package"),
        pytest.param({"sub/cfg.py": None}, "from sub.cfg import Train", "sub.cfg", id="dotted"),
    ],
)
def test_discover_imported_config_locations(tmp_path, files, import_line, module):
    config_source = "from cascade_core import Config\nclass Train(Config):\n    lr = 0.1\n"
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(config_source if text is None else text)
    script = tmp_path / ("pkg/train.py" if module.startswith(".") else "train.py")
    script.write_text(f"{import_line}\nprint(Train.lr)\n")

    config = discover(script)

    assert [(item.name, item.module, item.fields) for item in config.imported] == [("Train", module, ("lr",))]


def test_discover_imported_non_config_ignored(tmp_path):
    (tmp_path / "helpers.py").write_text("class Config:\n    pass\nclass Train(Config):\n    lr = 0.1\n")
    (tmp_path / "train.py").write_text("from helpers import Train\nLR = 1\n")

    config = discover(tmp_path / "train.py")

    assert config.imported == []
    assert config.keys() == ["LR"]


def test_discover_class_field_assigned_twice_noted():
    config = config_of("from cascade_core import Config\nclass A(Config):\n    lr = 1\n    lr = 2\n")

    assert [field.lineno for field in config.fields] == [3]
    assert config.notes == ["A.lr is assigned again on line 4; an override replaces only the value on line 3"]
