"""Tests of `cascade config SCRIPT [--json]`, run as a real subprocess."""

from __future__ import annotations

import json
import re

import pytest

TRAIN_PY = """\
from typing import Literal

import cascade_core as cc

BASE_LR = 0.1


class TrainConfig(cc.Config):
    lr = 2 * BASE_LR
    batch_size: int = 32
    optimizer: Literal["adam", "sgd"] = "adam"
    name = "run"
    image_size = (224,
                  224)


class Fine(TrainConfig):
    lr = 1e-4
"""


def test_config_cmd_table(write_script, cascade_cli):
    write_script("train.py", TRAIN_PY)

    result = cascade_cli("config", "train.py")

    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "train.py: 6 fields in config classes TrainConfig, Fine",
        "",
        "key             class        type                    default      line",
        "TrainConfig.lr  TrainConfig  expression              2 * BASE_LR  9",
        "batch_size      TrainConfig  int                     32           10",
        'optimizer       TrainConfig  Literal["adam", "sgd"]  "adam"       11',
        'name            TrainConfig  str                     "run"        12',
        "image_size      TrainConfig  tuple                   (224, 224)   13",
        "Fine.lr         Fine         float                   1e-4         18",
        "",
        "Fields that share a name with a run option (after SCRIPT the name sets the field):",
        "  --name sets field name; for the run option, write it before the script: cascade run --name VALUE train.py",
    ]


def test_config_cmd_json(write_script, cascade_cli):
    path = write_script("train.py", TRAIN_PY)

    result = cascade_cli("config", "train.py", "--json")
    data = json.loads(result.stdout)

    assert result.returncode == 0, result.stderr
    assert data["script"] == str(path)
    assert data["style"] == "class"
    assert data["clashes"] == [{"field": "name", "option": "--name"}]
    assert data["fields"][0] == {
        "key": "TrainConfig.lr",
        "name": "lr",
        "class": "TrainConfig",
        "type": "expression",
        "annotation": None,
        "default": None,
        "expression": True,
        "source": "2 * BASE_LR",
        "line": 9,
        "cell": None,
        "option_strings": None,
    }
    assert data["fields"][4]["default"] == [224, 224]


def test_config_cmd_globals(write_script, cascade_cli):
    write_script("types_demo.py", "LR = 0.1\nEPOCHS = 10\nUSE_AMP = False\nCKPT = None\nLR = 0.2\n")

    result = cascade_cli("config", "types_demo.py")

    assert result.stdout.splitlines() == [
        "types_demo.py: 4 fields from UPPERCASE globals",
        "",
        "key      class  type                default  line",
        "LR       -      float               0.1      1",
        "EPOCHS   -      int                 10       2",
        "USE_AMP  -      bool                False    3",
        "CKPT     -      any (default None)  None     4",
        "Note: LR is assigned again on line 5; an override replaces only the value on line 1",
    ]


def test_config_cmd_argparse(write_script, cascade_cli):
    write_script(
        "cli.py",
        "import argparse\np = argparse.ArgumentParser()\np.add_argument('--lr', type=float, default=0.1)\np.add_argument('--jobs', type=int)\n",
    )

    result = cascade_cli("config", "cli.py")

    assert result.stdout.splitlines() == [
        "cli.py: 2 fields from argparse options; overrides become command-line arguments",
        "",
        "key   class  type   default  line",
        "lr    -      float  0.1      3",
        "jobs  -      int    None     4",
        "",
        "Fields that share a name with a run option (after SCRIPT the name sets the field):",
        "  --jobs sets field jobs; for the run option, write it before the script: cascade run --jobs VALUE cli.py",
    ]


def test_config_cmd_magic_only_clash(write_script, cascade_cli):
    write_script("tail.py", "from cascade_core import Config\nclass Show(Config):\n    max_lines = 10\n    name = 'a'\n")

    result = cascade_cli("config", "tail.py")

    assert result.stdout.splitlines()[-3:] == [
        "Fields that share a name with a run option (after SCRIPT the name sets the field):",
        "  --max-lines sets field max_lines; for the run option, write it before the script: "
        "%cascade_run --max-lines VALUE tail.py",
        "  --name sets field name; for the run option, write it before the script: cascade run --name VALUE tail.py",
    ]


def test_config_cmd_no_config(write_script, cascade_cli):
    write_script("plain.py", "print('hi')\n")

    result = cascade_cli("config", "plain.py")

    assert result.returncode == 0
    assert result.stdout == "plain.py: no config fields (no Config class, no UPPERCASE globals, no argparse options)\n"


def test_config_cmd_imported_config(write_script, cascade_cli, tmp_path):
    write_script("configs.py", "from cascade_core import Config\nclass Train(Config):\n    lr = 0.1\n")
    write_script("train.py", "from configs import Train\nprint(Train.lr)\n")

    result = cascade_cli("config", "train.py")

    assert result.stdout.splitlines()[-1] == (
        f"Imported: Train comes from module 'configs' ({tmp_path / 'configs.py'}) on line 1; "
        "its fields cannot be overridden from train.py"
    )


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        pytest.param(None, None, r"Error: Script not found: .*missing\.py; check the path and the working folder", id="missing"),
        pytest.param("bad.py", b"x = (\n", r"Error: .*bad\.py, line 1: '\(' was never closed; the script does not parse, so its config cannot be read", id="syntax"),
        pytest.param("blob.py", b"\x00\x01\x02", r"Error: .*blob\.py contains NUL bytes, so it is not a Python source file", id="binary"),
    ],
)
def test_config_cmd_bad_input(tmp_path, cascade_cli, name, content, message):
    if name is not None:
        (tmp_path / name).write_bytes(content)

    result = cascade_cli("config", name or "missing.py")

    assert result.returncode == 1
    assert re.fullmatch(message + r"\n", result.stderr)
    assert "Traceback" not in result.stderr


def test_config_cmd_folder(tmp_path, cascade_cli):
    (tmp_path / "folder").mkdir()

    result = cascade_cli("config", "folder")

    assert result.returncode == 1
    assert result.stderr.endswith("folder is a folder, not a script; give the path of a .py file\n")


def test_config_cmd_path_with_quotes_and_backslashes(tmp_path, cascade_cli):
    folder = tmp_path / "odd \"q\" \\Users"
    folder.mkdir()
    (folder / "train.py").write_text("K = 3\n")

    result = cascade_cli("config", str(folder / "train.py"), "--json")

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["fields"][0]["key"] == "K"


def test_config_cmd_notebook(tmp_path, cascade_cli):
    cells = [
        {"cell_type": "code", "metadata": {}, "source": "import os\n", "outputs": [], "execution_count": None},
        {"cell_type": "code", "metadata": {"tags": ["parameters"]}, "source": "lr = 0.1\nepochs = 3\n", "outputs": [], "execution_count": None},
    ]
    (tmp_path / "nb.ipynb").write_text(json.dumps({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))

    result = cascade_cli("config", "nb.ipynb")

    assert result.stdout.splitlines() == [
        "nb.ipynb: 2 fields from the notebook's parameters cell",
        "",
        "key     class  type   default  line",
        "lr      -      float  0.1      cell 1, line 1",
        "epochs  -      int    3        cell 1, line 2",
    ]


def test_config_cmd_json_argparse_options(write_script, cascade_cli):
    write_script("cli.py", "import argparse\np = argparse.ArgumentParser()\np.add_argument('-b', '--batch-size', type=int, default=8)\n")

    result = cascade_cli("config", "cli.py", "--json")
    field = json.loads(result.stdout)["fields"][0]

    assert field["key"] == "batch_size"
    assert field["option_strings"] == ["-b", "--batch-size"]
    assert field["type"] == "int"
