"""Tests of cascade_core.models: Model, ModelLine and the models a run saved."""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import shutil
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import pytest

from cascade_core import Model, ModelLine, metrics
from cascade_core.errors import (
    InvalidMetricError,
    MetricTypeError,
    ModelFileConflictError,
    ModelFileNotFoundError,
    ModelTypeError,
    NotALineError,
    OutsideRunWarning,
)
from cascade_core.models import config_to_dict, models_of_run

MODEL_KEYS = {
    "name", "description", "tags", "comments", "links", "type", "created_at", "metrics", "params",
    "path", "slug", "saved_at", "python_version", "user", "host", "run_id", "run_path",
    "cascade_ext_version", "files",
}
GIT_KEYS = {"cwd", "git_commit", "git_branch", "git_dirty"}


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch, tmp_path):
    """Start every test outside a run, in an empty folder outside any git repository."""
    for name in list(os.environ):
        if name.startswith("CASCADE_"):
            monkeypatch.delenv(name)
    monkeypatch.setattr(metrics, "_warned_outside_run", False)
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path.parent))
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def run_folder(tmp_path, monkeypatch):
    """A run folder with the files the runner writes, that the current process belongs to."""
    folder = tmp_path / ".cascade" / "runs" / "20261204-191426-123-3fa2"
    (folder / "logs").mkdir(parents=True)
    (folder / "logs" / "cascade_run.log").write_text("epoch 0\nepoch 1\n")
    (folder / "cascade_config.json").write_text('{"lr": 0.5, "epochs": 10}')
    (folder / "cascade_overrides.json").write_text('{"lr": 0.5}')
    (folder / "cascade_run_meta.json").write_text('{"run_id": "20261204-191426-123-3fa2", "status": "running"}')
    monkeypatch.setenv("CASCADE_RUN_DIR", str(folder))
    monkeypatch.setenv("CASCADE_RUN_ID", folder.name)
    return folder


def read_meta(folder: Path) -> list:
    return json.loads((folder / "meta.json").read_text())


def write_file(path: str, text: str = "data") -> Path:
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text)
    return target


# Model -----------------------------------------------------------------------


def test_model_needs_no_arguments():
    model = Model()

    meta = model.get_meta()
    assert meta[0]["type"] == "model"
    assert meta[0]["params"] == {}
    assert meta[0]["metrics"] == []
    assert repr(model) == "Model(0 metrics, no files)"


def test_model_keeps_params_tags_description():
    model = Model(description="baseline", tags="fast", arch="resnet18", layers=(1, 2))

    block = model.get_meta()[0]
    assert block["description"] == "baseline"
    assert block["tags"] == ["fast"]
    assert block["params"] == {"arch": "resnet18", "layers": [1, 2]}


def test_model_tags_none_is_empty():
    assert Model(tags=None).get_meta()[0]["tags"] == []


def test_line_and_file_paths_expand_home(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    write_file("w.pt", "home")
    model = Model()
    model.add_file("~/w.pt")

    folder = ModelLine("~/line").save(model)

    assert folder == tmp_path / "line" / "00000"
    assert (folder / "files" / "w.pt").read_text() == "home"


def test_model_add_file_missing_is_error():
    with pytest.raises(ModelFileNotFoundError, match=r"^Cannot attach 'weights\.pt' to the model: no such file or folder \(relative to .+\)\. Check the path, or write the file before attaching it\.$") as caught:
        Model().add_file("weights.pt")

    assert caught.value.path == "weights.pt"
    assert isinstance(caught.value, FileNotFoundError)


def test_model_add_file_same_name_conflicts():
    write_file("a/config.json")
    write_file("b/config.json")
    model = Model()
    model.add_file("a/config.json")

    with pytest.raises(ModelFileConflictError, match=r"^Cannot attach '.*b/config\.json' as 'config\.json': '.*a/config\.json' is already attached under that name\. Give another name: model\.add_file\(path, name='other_config\.json'\)$"):
        model.add_file("b/config.json")

    model.add_file("b/config.json", name="config_b.json")
    model.add_file("a/config.json")
    assert repr(model) == "Model(0 metrics, config.json, config_b.json)"


@pytest.mark.parametrize(
    "name",
    [
        pytest.param("", id="empty"),
        pytest.param("sub/w.pt", id="folder"),
        pytest.param("..", id="parent"),
        pytest.param("a\\b", id="backslash"),
        pytest.param(3, id="int"),
    ],
)
def test_model_add_file_rejects_bad_name(name):
    write_file("w.pt")

    with pytest.raises(ModelTypeError, match=r"^A model file name must be a plain file name without folders, got .+\. Example: name='weights\.pt'$"):
        Model().add_file("w.pt", name=name)


def test_model_add_metric_replaces_same_name():
    model = Model()
    model.add_metric("acc", 0.5)
    model.add_metric("loss", 2)
    model.add_metric("acc", 0.75)

    metrics_meta = model.get_meta()[0]["metrics"]
    assert [(m["name"], m["value"]) for m in metrics_meta] == [("acc", 0.75), ("loss", 2)]
    assert all(set(m) == {"name", "value", "created_at"} for m in metrics_meta)


@pytest.mark.parametrize(
    ("name", "value", "error", "message"),
    [
        pytest.param("", 1.0, InvalidMetricError, r"^Metric name must not be empty", id="empty-name"),
        pytest.param("acc", "high", MetricTypeError, r"^Metric 'acc' must have a real number as value, got 'high' of type str\.", id="str-value"),
        pytest.param(None, 1.0, MetricTypeError, r"^Metric name must be a string", id="none-name"),
    ],
)
def test_model_add_metric_rejects_invalid(name, value, error, message):
    model = Model()

    with pytest.raises(error, match=message):
        model.add_metric(name, value)

    assert model.metrics == []


def test_model_non_finite_metric_is_strict_json():
    model = Model()
    model.add_metric("loss", float("nan"))

    text = json.dumps(model.get_meta(), allow_nan=False)
    assert '"value": "nan"' in text


@pytest.mark.parametrize(
    ("method", "message"),
    [
        pytest.param("add_log", r"^Model\.add_log\(\) was called outside a run \(CASCADE_RUN_DIR is not set\), so no log is attached\. Start the script with `cascade run SCRIPT` to record it\.$", id="log"),
        pytest.param("add_config", r"^Model\.add_config\(\) was called outside a run \(CASCADE_RUN_DIR is not set\), so no config is attached\.", id="config"),
    ],
)
def test_model_run_files_outside_run_warn(method, message):
    model = Model()

    with pytest.warns(OutsideRunWarning, match=message) as record:
        getattr(model, method)()

    assert record[0].filename == __file__
    assert repr(model) == "Model(0 metrics, no files)"


@dataclasses.dataclass
class DataConfig:
    lr: float = 0.1
    layers: tuple = (64, 64)


class ClassConfig:
    """A config class in the style of cascade_core.Config: class attributes are the defaults."""

    lr = 0.01
    batch_size = 32

    def to_dict(self):
        return {"lr": self.lr, "batch_size": self.batch_size}


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        pytest.param({"lr": 0.1}, {"lr": 0.1}, id="dict"),
        pytest.param(argparse.Namespace(lr=0.2, name="x"), {"lr": 0.2, "name": "x"}, id="namespace"),
        pytest.param(DataConfig(), {"lr": 0.1, "layers": (64, 64)}, id="dataclass"),
        pytest.param(ClassConfig, {"lr": 0.01, "batch_size": 32}, id="config-class"),
        pytest.param(ClassConfig(), {"lr": 0.01, "batch_size": 32}, id="config-instance"),
    ],
)
def test_config_to_dict_accepts_configs(config, expected):
    assert config_to_dict(config) == expected


def test_config_to_dict_accepts_our_config():
    from cascade_core import Config

    class Train(Config):
        lr = 0.1
        batch_size: int = 32

    assert config_to_dict(Train) == {"lr": 0.1, "batch_size": 32}
    assert config_to_dict(Train({"lr": 0.5})) == {"lr": 0.5, "batch_size": 32}


def test_config_to_dict_class_needing_arguments():
    class Strict(ClassConfig):
        def __init__(self, lr):
            self.lr = lr

    with pytest.raises(ModelTypeError, match=r"^add_config\(\) cannot create Strict\(\) to read its defaults: .*missing 1 required positional argument: 'lr'\. Pass an instance instead: add_config\(Strict\(\.\.\.\)\)$"):
        config_to_dict(Strict)


def test_config_to_dict_accepts_cascade_ml_config():
    from cascade.base import Config as CascadeMLConfig

    class Train(CascadeMLConfig):
        lr = 0.3

    assert config_to_dict(Train()) == {"lr": 0.3}
    assert config_to_dict(Train) == {"lr": 0.3}


@pytest.mark.parametrize(
    "config",
    [
        pytest.param(None, id="none"),
        pytest.param([("lr", 0.1)], id="list"),
        pytest.param("lr=0.1", id="str"),
        pytest.param(DataConfig, id="dataclass-type"),
    ],
)
def test_model_add_config_rejects_non_config(config):
    with pytest.raises(ModelTypeError, match=r"^add_config\(\) needs a config: a Config instance or class, a dict, an argparse\.Namespace or a dataclass instance, got .+\. Call add_config\(\) without an argument inside a run to attach the run's config\.$"):
        Model().add_config(config)


# ModelLine.save ----------------------------------------------------------------


def test_line_save_writes_layout(tmp_path):
    write_file("weights.pt", "w1")
    write_file("ckpt/part.bin", "p")
    model = Model(arch="mlp")
    model.add_file("weights.pt")
    model.add_file("ckpt")
    model.add_metric("acc", 0.9)

    line = ModelLine("models/mlp")
    folder = line.save(model)

    assert folder == tmp_path / "models" / "mlp" / "00000"
    assert (folder / "files" / "weights.pt").read_text() == "w1"
    assert (folder / "files" / "ckpt" / "part.bin").read_text() == "p"
    block = read_meta(folder)[0]
    assert MODEL_KEYS <= set(block)
    assert set(block) - MODEL_KEYS <= GIT_KEYS
    assert block["type"] == "model"
    assert block["path"] == str(folder)
    assert block["run_id"] is None
    assert block["metrics"][0]["name"] == "acc"
    assert block["files"] == ["ckpt", "weights.pt"]
    assert (folder / "SLUG").read_text() == block["slug"]
    assert block["saved_at"] >= block["created_at"]
    assert block["python_version"] == sys.version


def test_line_save_writes_line_meta(tmp_path):
    line = ModelLine("line")
    assert not (tmp_path / "line").exists()

    line.save(Model())
    line.save(Model())

    [block] = json.loads((tmp_path / "line" / "meta.json").read_text())
    assert block["type"] == "model_line"
    assert block["len"] == 2
    assert block["root"] == str(tmp_path / "line")
    assert block["item_cls"] == "Model"
    assert block["cascade_version"] == "0.18.0"
    assert block["created_at"] <= block["updated_at"]
    assert len(line) == 2


def test_line_save_numbers_after_highest(tmp_path):
    line = ModelLine("line")
    for _ in range(3):
        line.save(Model())
    shutil.rmtree(tmp_path / "line" / "00001")

    folder = line.save(Model())

    assert folder.name == "00003"
    assert [path.name for path in line.model_paths()] == ["00000", "00002", "00003"]


def test_line_save_keeps_line_meta_keys(tmp_path):
    line = ModelLine("line")
    line.save(Model())
    meta_path = tmp_path / "line" / "meta.json"
    meta = json.loads(meta_path.read_text())
    meta[0]["description"] = "resnet runs"
    created = meta[0]["created_at"]
    meta_path.write_text(json.dumps(meta))

    line.save(Model())

    block = json.loads(meta_path.read_text())[0]
    assert block["description"] == "resnet runs"
    assert block["created_at"] == created
    assert block["len"] == 2


def test_line_save_copies_file_at_save_time():
    path = write_file("log.txt", "first")
    model = Model()
    model.add_file("log.txt")
    path.write_text("first\nsecond")

    folder = ModelLine("line").save(model)

    assert (folder / "files" / "log.txt").read_text() == "first\nsecond"


def test_line_save_removed_file_is_error(tmp_path):
    path = write_file("w.pt")
    model = Model()
    model.add_file("w.pt")
    path.unlink()

    with pytest.raises(ModelFileNotFoundError, match=r"^Cannot save the model: the attached file '.*w\.pt' no longer exists\. Write it again or attach another file before saving\.$"):
        ModelLine("line").save(model)

    assert not (tmp_path / "line").exists()


def test_line_save_failure_removes_folder(tmp_path, monkeypatch):
    write_file("w.pt")
    model = Model()
    model.add_file("w.pt")
    line = ModelLine("line")
    line.save(Model())

    def fail_copy(source, target):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(shutil, "copyfile", fail_copy)
    with pytest.raises(OSError, match="No space left on device"):
        line.save(model)

    assert [path.name for path in line.model_paths()] == ["00000"]


def test_line_save_explicit_config(tmp_path):
    model = Model()
    model.add_config({"lr": 0.1, "sizes": (1, 2), "ratio": float("inf")})

    folder = ModelLine("line").save(model)

    written = json.loads((folder / "files" / "cascade_config.json").read_text())
    assert written == {"lr": 0.1, "sizes": [1, 2], "ratio": "inf"}
    assert read_meta(folder)[0]["config"] == written
    assert read_meta(folder)[0]["files"] == ["cascade_config.json"]


def test_line_save_rejects_non_model():
    with pytest.raises(ModelTypeError, match=r"^ModelLine\.save\(\) needs a cascade_core Model, got dict\. Models of cascade-ml go into cascade-ml's own ModelLine\.$"):
        ModelLine("line").save({"type": "model"})


def test_line_save_outside_run_leaves_no_models_file(tmp_path):
    ModelLine("line").save(Model())

    assert not list(tmp_path.rglob("models.jsonl"))


def test_line_save_records_git_commit(tmp_path, monkeypatch):
    monkeypatch.delenv("GIT_CEILING_DIRECTORIES")
    repo = tmp_path / "repo"
    repo.mkdir()
    git = ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run([*git, "init", "-q"], check=True)
    (repo / "a.txt").write_text("a")
    subprocess.run([*git, "add", "a.txt"], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "first"], check=True)
    commit = subprocess.run([*git, "rev-parse", "HEAD"], capture_output=True, text=True, check=True).stdout.strip()
    script = repo / "save.py"
    script.write_text("from cascade_core import Model, ModelLine\nprint(ModelLine('line').save(Model()))\n")

    result = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, check=True, cwd=tmp_path)

    block = read_meta(Path(result.stdout.strip()))[0]
    assert block["git_commit"] == commit
    assert block["git_dirty"] is False
    assert block["cwd"] == str(tmp_path)


# ModelLine inside a run ----------------------------------------------------------


def test_line_save_in_run_attaches_run_files(run_folder):
    model = Model()
    model.add_log()
    model.add_config()
    (run_folder / "logs" / "cascade_run.log").write_text("epoch 0\nepoch 1\nepoch 2\n")

    folder = ModelLine("line").save(model)

    files = folder / "files"
    assert sorted(path.name for path in files.iterdir()) == [
        "cascade_config.json", "cascade_overrides.json", "cascade_run.log", "cascade_run_meta.json",
    ]
    assert (files / "cascade_run.log").read_text() == "epoch 0\nepoch 1\nepoch 2\n"
    block = read_meta(folder)[0]
    assert block["run_id"] == "20261204-191426-123-3fa2"
    assert block["run_path"] == str(run_folder)
    assert block["config"] == {"lr": 0.5, "epochs": 10}


def test_line_save_in_run_appends_models_file(run_folder):
    line = ModelLine("line")
    first = line.save(Model())
    second = line.save(Model())

    records = models_of_run(run_folder)
    assert [record["path"] for record in records] == [str(first), str(second)]
    assert {record["line"] for record in records} == {str(line.root)}
    assert records[0]["slug"] == read_meta(first)[0]["slug"]
    assert records[0]["saved_at"] == read_meta(first)[0]["saved_at"]


def test_models_of_run_without_models(tmp_path):
    assert models_of_run(tmp_path) == []


def test_line_save_in_run_without_log_warns(run_folder):
    shutil.rmtree(run_folder / "logs")
    model = Model()
    model.add_log()

    with pytest.warns(UserWarning, match=r"^The run file '.*logs/cascade_run\.log' does not exist, so the model is saved without it\. A run started with --no-log has no log file\.$") as record:
        folder = ModelLine("line").save(model)

    assert record[0].filename == __file__
    assert not (folder / "files").exists()
    assert read_meta(folder)[0]["files"] == []


def test_line_save_explicit_config_wins_in_run(run_folder):
    model = Model()
    model.add_config()
    model.add_config({"lr": 0.01})

    folder = ModelLine("line").save(model)

    assert json.loads((folder / "files" / "cascade_config.json").read_text()) == {"lr": 0.01}
    assert read_meta(folder)[0]["config"] == {"lr": 0.01}
    assert (folder / "files" / "cascade_overrides.json").exists()


def test_line_save_run_config_wins_when_last(run_folder):
    model = Model()
    model.add_config({"lr": 0.01})
    model.add_config()

    folder = ModelLine("line").save(model)

    assert json.loads((folder / "files" / "cascade_config.json").read_text()) == {"lr": 0.5, "epochs": 10}
    assert read_meta(folder)[0]["config"] == {"lr": 0.5, "epochs": 10}


# ModelLine paths and reading -------------------------------------------------------


def test_line_rejects_file(tmp_path):
    write_file("line")

    with pytest.raises(NotALineError, match=r"^Cannot use '.*line' as a model line: it is a file\. Give a folder path\.$"):
        ModelLine("line")


def test_line_rejects_model_folder():
    line = ModelLine("line")
    folder = line.save(Model())

    with pytest.raises(NotALineError, match=r"^Cannot use '.*00000' as a model line: its meta\.json has type 'model', expected 'model_line'\. It is a model folder; give its parent, the line\.$"):
        ModelLine(folder)


def test_line_rejects_folder_with_other_content():
    write_file("src/train.py")
    write_file("src/util.py")
    write_file("src/00001/x")
    write_file("src/a/b")
    write_file("src/z.txt")

    with pytest.raises(NotALineError, match=r"^Cannot use '.*src' as a model line: it is a folder with other content \(a, train\.py, util\.py, \.\.\.\)\. Give an empty or new folder\.$"):
        ModelLine("src")


def test_line_rejects_yaml_meta():
    write_file("line/meta.yml", "- type: model_line\n")

    with pytest.raises(NotALineError, match=r"^The line '.*line' keeps its meta as meta\.yml, which cascade_core does not write\. Save into it with cascade-ml's ModelLine, or use a new line folder\.$"):
        ModelLine("line")


def test_line_accepts_empty_folder(tmp_path):
    (tmp_path / "line").mkdir()

    line = ModelLine("line")

    assert len(line) == 0
    assert line.get_meta() == []
    assert line.save(Model()).name == "00000"


def test_line_reads_model_meta():
    line = ModelLine("line")
    for value in (0.1, 0.2, 0.3):
        model = Model()
        model.add_metric("acc", value)
        line.save(model)
    slug = (line.root / "00001" / "SLUG").read_text()

    assert line.load_model_meta(0)[0]["metrics"][0]["value"] == 0.1
    assert line.load_model_meta(-1)[0]["metrics"][0]["value"] == 0.3
    assert line.load_model_meta("00002")[0]["path"] == str(line.root / "00002")
    assert line.load_model_meta(slug)[0]["path"] == str(line.root / "00001")
    assert line.get_meta()[0]["len"] == 3


@pytest.mark.parametrize(
    "model",
    [
        pytest.param(3, id="past-end"),
        pytest.param(-4, id="before-start"),
        pytest.param("00009", id="name"),
        pytest.param("no-such-slug", id="slug"),
        pytest.param(True, id="bool"),
    ],
)
def test_line_load_missing_model_is_error(model):
    line = ModelLine("line")
    for _ in range(3):
        line.save(Model())

    with pytest.raises(FileNotFoundError, match=rf"^No model {model!r} in the line '.*line', which has 3 models\.$"):
        line.load_model_meta(model)


# Parallel saves --------------------------------------------------------------------


SAVER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from cascade_core import Model, ModelLine

    worker = sys.argv[1]
    Path(f"w{worker}.bin").write_text(worker * 1000)
    for index in range(int(sys.argv[2])):
        model = Model(worker=worker, index=index)
        model.add_file(f"w{worker}.bin")
        model.add_metric("index", index)
        print(ModelLine("line").save(model), flush=True)
    """
)


def test_line_parallel_saves_get_distinct_folders(tmp_path):
    script = tmp_path / "saver.py"
    script.write_text(SAVER)
    workers, saves = 4, 10
    processes = [
        subprocess.Popen([sys.executable, str(script), str(worker), str(saves)], stdout=subprocess.PIPE, text=True)
        for worker in range(workers)
    ]
    outputs = [process.communicate(timeout=120)[0] for process in processes]

    assert [process.returncode for process in processes] == [0] * workers
    printed = [line for output in outputs for line in output.split()]
    assert len(set(printed)) == workers * saves
    line = ModelLine("line")
    assert sorted(str(path) for path in line.model_paths()) == sorted(printed)
    assert [path.name for path in line.model_paths()] == [f"{n:05d}" for n in range(workers * saves)]
    for folder in line.model_paths():
        block = read_meta(folder)[0]
        worker = block["params"]["worker"]
        assert block["path"] == str(folder)
        assert (folder / "files" / f"w{worker}.bin").read_text() == worker * 1000
    assert line.get_meta()[0]["len"] == workers * saves
    assert not [path for path in line.root.rglob(".*")]


def test_line_save_warnings_do_not_leak(run_folder):
    model = Model()
    model.add_log()
    model.add_config()

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ModelLine("line").save(model)


# Through real runs -------------------------------------------------------------------


RUN_SAVER = textwrap.dedent(
    """
    import time

    from cascade_core import Model, ModelLine, log_metric, run_dir

    SEED = 0
    (run_dir() / "weights.bin").write_text(f"seed {SEED}\\n" * 1000)
    log_metric("seed", SEED)
    print("training", SEED, flush=True)

    # The log is copied as it is at save time: wait until the runner has written the line.
    deadline = time.time() + 30
    while "training" not in (run_dir() / "logs" / "cascade_run.log").read_text() and time.time() < deadline:
        time.sleep(0.05)

    model = Model(seed=SEED)
    model.add_file(run_dir() / "weights.bin")
    model.add_log()
    model.add_config()
    model.add_metric("seed", SEED)
    print("saved", ModelLine("line").save(model))
    """
)


def cascade_run_process(script: Path, *arguments: str, cwd: Path) -> subprocess.Popen:
    environment = {key: value for key, value in os.environ.items() if not key.startswith("CASCADE_")}
    return subprocess.Popen(
        [sys.executable, "-m", "cascade_core", "run", str(script), *arguments, "-y"],
        cwd=cwd,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_line_save_in_real_run_records_run(tmp_path):
    script = tmp_path / "train.py"
    script.write_text(RUN_SAVER)

    process = cascade_run_process(script, "--SEED", "7", cwd=tmp_path)
    stdout, stderr = process.communicate(timeout=120)

    assert process.returncode == 0, stderr
    [run_folder] = (tmp_path / ".cascade" / "runs").iterdir()
    folder = tmp_path / "line" / "00000"
    block = read_meta(folder)[0]
    assert block["run_id"] == run_folder.name
    assert block["run_path"] == str(run_folder)
    assert block["config"] == {"SEED": 7}
    assert block["params"] == {"seed": 7}
    assert (folder / "files" / "weights.bin").read_text().startswith("seed 7\n")
    assert json.loads((folder / "files" / "cascade_overrides.json").read_text()) == {"SEED": 7}
    assert [record["path"] for record in models_of_run(run_folder)] == [str(folder)]


def test_line_parallel_runs_save_distinct_models(tmp_path):
    script = tmp_path / "train.py"
    script.write_text(RUN_SAVER)
    seeds = range(1, 5)

    processes = {seed: cascade_run_process(script, "--SEED", str(seed), cwd=tmp_path) for seed in seeds}
    results = {seed: process.communicate(timeout=180) for seed, process in processes.items()}

    assert {seed: process.returncode for seed, process in processes.items()} == {seed: 0 for seed in seeds}
    line = ModelLine(tmp_path / "line")
    assert [path.name for path in line.model_paths()] == ["00000", "00001", "00002", "00003"]
    assert line.get_meta()[0]["len"] == 4
    saved_seeds = []
    for folder in line.model_paths():
        block = read_meta(folder)[0]
        seed = block["params"]["seed"]
        saved_seeds.append(seed)
        run_folder = Path(block["run_path"])
        assert f"saved {folder}" in results[seed][0]
        assert block["config"] == {"SEED": seed}
        assert (folder / "files" / "weights.bin").read_text() == f"seed {seed}\n" * 1000
        assert (folder / "files" / "cascade_run.log").read_text().startswith(f"training {seed}\n")
        assert json.loads((folder / "files" / "cascade_run_meta.json").read_text())["run_id"] == block["run_id"]
        assert [record["path"] for record in models_of_run(run_folder)] == [str(folder)]
    assert sorted(saved_seeds) == list(seeds)


def test_line_parallel_sweep_saves_distinct_models(tmp_path):
    script = tmp_path / "train.py"
    script.write_text(RUN_SAVER)
    environment = {key: value for key, value in os.environ.items() if not key.startswith("CASCADE_")}

    result = subprocess.run(
        [sys.executable, "-m", "cascade_core", "run", str(script), "-m", "--SEED", "1,2,3,4", "-j", "4", "-y"],
        cwd=tmp_path, env=environment, capture_output=True, text=True, timeout=300,
    )

    assert result.returncode == 0, result.stderr
    line = ModelLine(tmp_path / "line")
    assert len(line) == 4
    run_ids = {folder.name for folder in (tmp_path / ".cascade" / "runs").iterdir()}
    blocks = [read_meta(folder)[0] for folder in line.model_paths()]
    assert sorted(block["params"]["seed"] for block in blocks) == [1, 2, 3, 4]
    assert {block["run_id"] for block in blocks} == run_ids
    for block in blocks:
        assert block["config"] == {"SEED": block["params"]["seed"]}
        assert [record["path"] for record in models_of_run(block["run_path"])] == [block["path"]]
