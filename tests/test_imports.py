"""Tests of config classes imported from modules next to the script."""

from __future__ import annotations

import pytest

from cascade_core.discovery import discover
from cascade_core.errors import ImportedConfigError, UnknownKeyError
from cascade_core.overrides import parse_overrides


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
