"""Tests of base configs: config files, recorded values, merging and added fields."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from cascade_core import store
from cascade_core.bases import Base, add_fields, load_base, load_config_file, merge_base
from cascade_core.recorded import restore_values
from cascade_core.errors import (
    AmbiguousKeyError,
    ConfigFileError,
    FieldNotAddableError,
    RunNotFoundError,
    TypeMismatchError,
    UnknownBaseKeyError,
)

CLASS_SCRIPT = '''\
from typing import Literal

from cascade_core import Config


class TrainConfig(Config):
    """Training settings."""

    lr = 1e-3  # learning rate
    batch_size: int = 32
    optimizer: Literal["adam", "sgd"] = "adam"
    image_size = (224, 224)
    classes = {"cat", "dog"}

    def describe(self):
        return "train"


print(TrainConfig.lr, TrainConfig.batch_size)
'''

GLOBALS_SCRIPT = '''\
LR = 0.1
EPOCHS = 10  # passes
name = "not config"
print(LR, EPOCHS)
'''


def discover_text(tmp_path: Path, text: str, name: str = "train.py"):
    from cascade_core.discovery import discover

    script = tmp_path / name
    script.write_text(text, encoding="utf-8")
    return discover(script)


# Config files --------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "text"),
    [
        pytest.param("base.yaml", "lr: 0.01\nimage_size: [128, 128]\nTrainConfig:\n  batch_size: 64\n", id="yaml"),
        pytest.param("base.yml", "lr: 0.01\nimage_size: [128, 128]\nTrainConfig:\n  batch_size: 64\n", id="yml"),
        pytest.param(
            "base.json", '{"lr": 0.01, "image_size": [128, 128], "TrainConfig": {"batch_size": 64}}', id="json"
        ),
        pytest.param("base.toml", "lr = 0.01\nimage_size = [128, 128]\n[TrainConfig]\nbatch_size = 64\n", id="toml"),
    ],
)
def test_load_config_file_formats(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")

    values = load_config_file(path)

    assert values == {"lr": 0.01, "image_size": [128, 128], "TrainConfig": {"batch_size": 64}}


def test_load_config_file_empty_yaml(tmp_path):
    path = tmp_path / "empty.yaml"
    path.write_text("# nothing yet\n", encoding="utf-8")

    assert load_config_file(path) == {}


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        pytest.param("base.yaml", "- 1\n- 2\n", r"Invalid config file .*base\.yaml.: it contains a list, expected a mapping of field names", id="list"),
        pytest.param("base.yaml", "lr: [1, 2\n",
                     r"^Cannot parse config file '.*base\.yaml' at the end of the file: expected ',' or '\]', but got "
                     r"'<stream end>' \(while parsing a flow sequence started at line 1, column 5\)\. "
                     r"Fix the YAML syntax there and run again\.$", id="bad-yaml"),
        pytest.param("base.yaml", "lr: 1\nwd: x: y\n",
                     r"^Cannot parse config file '.*base\.yaml' at line 2, column 6: mapping values are not allowed "
                     r"here\. Fix the YAML syntax there and run again\.$", id="bad-yaml-line"),
        pytest.param("base.yml", "lr:\n\tx: 1\n",
                     r"^Cannot parse config file '.*base\.yml' at line 2, column 1: found character '\\t' that cannot "
                     r"start any token \(while scanning for the next token\)\. Fix the YAML syntax there", id="yaml-tab"),
        pytest.param("base.json", '{\n  "lr": }',
                     r"^Cannot parse config file '.*base\.json' at line 2, column 9: Expecting value\. "
                     r"Fix the JSON syntax there and run again\.$", id="bad-json"),
        pytest.param("base.toml", "wd = 0\nlr = = 1\n",
                     r"^Cannot parse config file '.*base\.toml' at line 2, column 6: Invalid value\. "
                     r"Fix the TOML syntax there and run again\.$", id="bad-toml"),
        pytest.param("base.toml", "lr = [1,\n",
                     r"^Cannot parse config file '.*base\.toml' at the end of the file: ", id="toml-at-end"),
        pytest.param("base.yaml", "1: 0.1\n", r"has a key that is not a field name: 1\. Keys must be text", id="int-key"),
        pytest.param("base.ini", "lr=1\n", r"Unsupported config file .*base\.ini.*\.yaml, \.yml, \.json, \.toml", id="ini"),
    ],
)
def test_load_config_file_invalid(tmp_path, name, text, message):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")

    with pytest.raises(ConfigFileError, match=message) as caught:
        load_config_file(path)

    assert caught.value.path == path


def test_load_config_file_not_utf8(tmp_path):
    path = tmp_path / "base.yaml"
    path.write_bytes(b"lr: 1\xff\n")

    message = r"^Cannot read config file '.*base\.yaml': byte 5 is not UTF-8 \(invalid start byte\)\. Save the file as UTF-8 text\.$"
    with pytest.raises(ConfigFileError, match=message):
        load_config_file(path)


def test_load_config_file_missing(tmp_path):
    with pytest.raises(ConfigFileError, match=r"Config file not found: .*nope\.yaml.*Check the path given to --base"):
        load_config_file(tmp_path / "nope.yaml")


def test_load_base_file_label_is_absolute_path(tmp_path, monkeypatch):
    (tmp_path / "base.json").write_text('{"lr": 0.5}', encoding="utf-8")
    monkeypatch.chdir(tmp_path)

    base = load_base("base.json")

    assert base == Base(str(tmp_path / "base.json"), {"lr": 0.5})


def test_load_base_returns_loaded_base():
    base = Base("20261204-191426-123-3fa2", {"lr": 0.5})

    assert load_base(base) is base


def test_load_base_unknown_run(tmp_path):
    with pytest.raises(RunNotFoundError, match=r"No run matches run reference 'abc'"):
        load_base("abc", root=tmp_path / ".cascade")


# Merging -------------------------------------------------------------------


def test_merge_base_overrides_on_top(tmp_path):
    config = discover_text(tmp_path, CLASS_SCRIPT)
    base = Base("base.yaml", {"lr": 0.01, "batch_size": 64})

    merged = merge_base(base, {"batch_size": 16}, config)

    assert merged.overrides == {"lr": 0.01, "batch_size": 16}
    assert merged.extras == {}
    assert merged.label == "base.yaml"


def test_merge_base_drops_values_equal_to_defaults(tmp_path):
    config = discover_text(tmp_path, CLASS_SCRIPT)
    base = Base("run", {"lr": 1e-3, "batch_size": 32, "optimizer": "sgd", "image_size": (224, 224)})

    merged = merge_base(base, {}, config)

    assert merged.overrides == {"optimizer": "sgd"}


def test_merge_base_lists_become_tuples_and_sets(tmp_path):
    config = discover_text(tmp_path, CLASS_SCRIPT)
    base = Base("base.yaml", {"image_size": [128, 128], "classes": ["cat", "bird"]})

    merged = merge_base(base, {}, config)

    assert merged.overrides == {"image_size": (128, 128), "classes": {"cat", "bird"}}
    assert type(merged.overrides["image_size"]) is tuple
    assert type(merged.overrides["classes"]) is set


def test_merge_base_int_for_float_becomes_float(tmp_path):
    config = discover_text(tmp_path, CLASS_SCRIPT)

    merged = merge_base(Base("base.toml", {"lr": 1}), {}, config)

    assert merged.overrides == {"lr": 1.0}
    assert type(merged.overrides["lr"]) is float


def test_merge_base_class_section(tmp_path):
    config = discover_text(tmp_path, CLASS_SCRIPT)

    merged = merge_base(Base("base.yaml", {"TrainConfig": {"batch_size": 8}, "TrainConfig.lr": 0.5}), {}, config)

    assert merged.overrides == {"batch_size": 8, "lr": 0.5}


def test_merge_base_type_mismatch(tmp_path):
    config = discover_text(tmp_path, CLASS_SCRIPT)

    with pytest.raises(TypeMismatchError, match=r"batch_size"):
        merge_base(Base("base.yaml", {"batch_size": 0.5}), {}, config)


def test_merge_base_unknown_key(tmp_path):
    config = discover_text(tmp_path, CLASS_SCRIPT)
    base = Base("/work/base.yaml", {"lr": 0.1, "batch_sise": 8})

    message = (
        r"Key 'batch_sise' in /work/base\.yaml is not a field of train\.py's config "
        r"\(fields: lr, batch_size, optimizer, image_size, classes\)\. Did you mean 'batch_size'\? "
        r"Remove it from the file, or pass -f to add it to the run's config\.$"
    )
    with pytest.raises(UnknownBaseKeyError, match=message) as caught:
        merge_base(base, {}, config)

    assert caught.value.key == "batch_sise"
    assert caught.value.value == 8


def test_merge_base_unknown_key_of_run(tmp_path):
    config = discover_text(tmp_path, GLOBALS_SCRIPT)
    base = Base("20261204-191426-123-3fa2", {"DROPOUT": 0.5}, kind="run")

    message = (
        r"Key 'DROPOUT' recorded in run 20261204-191426-123-3fa2 is not a field of train\.py's config "
        r"\(fields: LR, EPOCHS\)\. Pass -f to add it to the new run's config\.$"
    )
    with pytest.raises(UnknownBaseKeyError, match=message):
        merge_base(base, {}, config)


def test_merge_base_force_keeps_extras(tmp_path):
    config = discover_text(tmp_path, CLASS_SCRIPT)

    merged = merge_base(Base("base.yaml", {"lr": 0.1, "warmup": (1, 2)}), {}, config, force=True)

    assert merged.overrides == {"lr": 0.1}
    assert merged.extras == {"warmup": (1, 2)}


# Adding fields -------------------------------------------------------------


def test_add_fields_class_keeps_line_count(tmp_path):
    config = discover_text(tmp_path, CLASS_SCRIPT)

    source = add_fields(CLASS_SCRIPT, config, {"warmup": (1, 2), "TrainConfig.note": "it's"})

    assert source.count("\n") == CLASS_SCRIPT.count("\n")
    assert "    classes = {\"cat\", \"dog\"}; warmup = (1, 2); note = \"it's\"\n" in source
    assert source.replace("; warmup = (1, 2); note = \"it's\"", "") == CLASS_SCRIPT


def test_add_fields_class_runs(tmp_path):
    script = '''\
from cascade_core import Config


class Cfg(Config):
    lr = 0.1  # comment after the value
    def method(self):
        return 1


print(repr(Cfg.extra), type(Cfg.extra).__name__, Cfg().method())
'''
    config = discover_text(tmp_path, script)
    path = tmp_path / "added.py"
    path.write_text(add_fields(script, config, {"extra": {1, 2}}), encoding="utf-8")

    completed = subprocess.run([sys.executable, str(path)], capture_output=True, text=True, check=True)

    assert completed.stdout == "{1, 2} set 1\n"


def test_add_fields_globals_after_last_field(tmp_path):
    config = discover_text(tmp_path, GLOBALS_SCRIPT)

    source = add_fields(GLOBALS_SCRIPT, config, {"WARMUP": 5})

    assert source == GLOBALS_SCRIPT.replace("EPOCHS = 10", "EPOCHS = 10; WARMUP = 5")


def test_add_fields_non_ascii_line(tmp_path):
    script = 'NOTE = "température"  # °C\nprint(NOTE)\n'
    config = discover_text(tmp_path, script)

    source = add_fields(script, config, {"UNIT": "°"})

    assert source == 'NOTE = "température"; UNIT = \'°\'  # °C\nprint(NOTE)\n'


def test_add_fields_nothing_to_add(tmp_path):
    config = discover_text(tmp_path, GLOBALS_SCRIPT)

    assert add_fields(GLOBALS_SCRIPT, config, {}) is GLOBALS_SCRIPT


@pytest.mark.parametrize(
    ("script", "key", "message"),
    [
        pytest.param(
            "print('no config')\n",
            "lr",
            r"Cannot add 'lr': train\.py has no config class or UPPERCASE globals",
            id="no-config",
        ),
        pytest.param(
            "from cascade_core import Config\nclass A(Config):\n    x = 1\nclass B(Config):\n    y = 2\n",
            "z",
            r"Cannot add 'z': the script has several config classes\. Name the class, e\.g\. A\.z or B\.z\.",
            id="ambiguous-class",
        ),
        pytest.param(
            "from cascade_core import Config\nclass A(Config):\n    x = 1\n",
            "Other.z",
            r"Cannot add 'Other\.z': the script has no top-level class 'Other'\.",
            id="unknown-class",
        ),
        pytest.param("LR = 1\n", "bad-name", r"Cannot add 'bad-name': it is not a valid field name\.", id="bad-name"),
    ],
)
def test_add_fields_not_addable(tmp_path, script, key, message):
    config = discover_text(tmp_path, script)

    with pytest.raises(FieldNotAddableError, match=message):
        add_fields(script, config, {key: 1})


def test_merge_base_ambiguous_key(tmp_path):
    script = "from cascade_core import Config\nclass A(Config):\n    x = 1\nclass B(Config):\n    x = 2\n"
    config = discover_text(tmp_path, script)

    with pytest.raises(AmbiguousKeyError, match=r"A\.x.*B\.x"):
        merge_base(Base("base.yaml", {"x": 3}), {}, config)


def test_load_base_run_config_json(tmp_path):
    path = tmp_path / "cascade_config.json"
    path.write_text(json.dumps({"lr": 0.2, "image_size": [64, 64]}), encoding="utf-8")
    config = discover_text(tmp_path, CLASS_SCRIPT)

    merged = merge_base(load_base(path), {}, config)

    assert merged.overrides == {"lr": 0.2, "image_size": (64, 64)}


# End to end: cascade run --base --------------------------------------------

CLI_SCRIPT = '''\
from cascade_core import Config


class Train(Config):
    lr = 0.1
    size = (2, 2)


print(repr(Train.lr), repr(Train.size), repr(getattr(Train, "warmup", "none")))
'''


def run_folders(tmp_path: Path) -> list[Path]:
    return store.run_folders(tmp_path / ".cascade")


def test_cli_base_file_then_overrides(tmp_path, cascade_cli):
    (tmp_path / "train.py").write_text(CLI_SCRIPT, encoding="utf-8")
    (tmp_path / "base.yaml").write_text("lr: 0.01\nsize: [8, 8]\n", encoding="utf-8")

    result = cascade_cli("run", "train.py", "--base", "base.yaml", "--lr", "0.5", "-y")

    assert result.returncode == 0, result.stderr
    assert result.stdout == "0.5 (8, 8) 'none'\n"
    [folder] = run_folders(tmp_path)
    assert store.read_json(folder / store.META_FILE)["base"] == str(tmp_path / "base.yaml")
    assert restore_values(folder)["overrides"] == {"size": (8, 8), "lr": 0.5}


def test_cli_base_run_reference(tmp_path, cascade_cli):
    (tmp_path / "train.py").write_text(CLI_SCRIPT, encoding="utf-8")
    cascade_cli("run", "train.py", "--size", "(3, 3)", "-y")
    first = run_folders(tmp_path)[0].name

    result = cascade_cli("run", "train.py", "--base", "last", "-y")

    assert result.stdout == "0.1 (3, 3) 'none'\n"
    assert store.read_json(run_folders(tmp_path)[1] / store.META_FILE)["base"] == first


def test_cli_base_unknown_key(tmp_path, cascade_cli):
    (tmp_path / "train.py").write_text(CLI_SCRIPT, encoding="utf-8")
    (tmp_path / "base.toml").write_text("warmup = 500\n", encoding="utf-8")

    rejected = cascade_cli("run", "train.py", "--base", "base.toml", "-y")
    forced = cascade_cli("run", "train.py", "--base", "base.toml", "-f", "-y")

    assert rejected.returncode == 1
    assert rejected.stderr == (
        f"Error: Key 'warmup' in {tmp_path / 'base.toml'} is not a field of train.py's config "
        "(fields: lr, size). Remove it from the file, or pass -f to add it to the run's config.\n"
    )
    assert forced.returncode == 0, forced.stderr
    assert forced.stdout == "0.1 (2, 2) 500\n"
    assert forced.stderr.startswith(
        "Config of train.py:\n    lr     = 0.1\n    size   = (2, 2)\n  * warmup = 500   (added)\n  (* overridden)\n"
    )
    [folder] = run_folders(tmp_path)
    assert restore_values(folder)["config"] == {"lr": 0.1, "size": (2, 2), "warmup": 500}


def test_cli_base_invalid_file(tmp_path, cascade_cli):
    (tmp_path / "train.py").write_text(CLI_SCRIPT, encoding="utf-8")
    (tmp_path / "base.json").write_text("{lr: 1}", encoding="utf-8")

    result = cascade_cli("run", "train.py", "--base", "base.json", "-y")

    assert result.returncode == 1
    assert result.stderr == (
        "Error: Cannot parse config file 'base.json' at line 1, column 2: "
        "Expecting property name enclosed in double quotes. Fix the JSON syntax there and run again.\n"
    )
    assert run_folders(tmp_path) == []
