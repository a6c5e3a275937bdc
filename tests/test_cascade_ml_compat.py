"""Compatibility with cascade-ml 0.18: its models inside our runs, and its tools on our lines."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import pytest

from cascade_core import Model, ModelLine

cascade_ml = pytest.importorskip("cascade", reason="cascade-ml is installed with the test extra")


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch, tmp_path):
    """Start every test outside a run, in an empty folder."""
    for name in list(os.environ):
        if name.startswith("CASCADE_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


def cascade_run(script: Path, *arguments: str, cwd: Path) -> subprocess.CompletedProcess:
    """Run `cascade run SCRIPT ... -y` through our CLI in a real subprocess."""
    environment = {key: value for key, value in os.environ.items() if not key.startswith("CASCADE_")}
    return subprocess.run(
        [sys.executable, "-m", "cascade_core", "run", str(script), *arguments, "-y"],
        cwd=cwd,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )


def only_run_folder(cwd: Path) -> Path:
    [folder] = (cwd / ".cascade" / "runs").iterdir()
    return folder


def save_our_line(values=(0.5, 0.75)) -> ModelLine:
    line = ModelLine("line")
    for value in values:
        model = Model(lr=value)
        model.add_metric("acc", value)
        model.add_config({"lr": value})
        line.save(model)
    return line


# cascade-ml models inside our runs -----------------------------------------------


CASCADE_ML_SCRIPT = textwrap.dedent(
    """
    import os
    import time
    from pathlib import Path

    from cascade.base import Config
    from cascade.lines import ModelLine
    from cascade.models import BasicModel


    class TrainConfig(Config):
        lr = 0.1
        epochs = 2


    cfg = TrainConfig()
    for epoch in range(cfg.epochs):
        print(f"epoch {epoch} lr {cfg.lr}")

    # Wait until the runner has written the printed lines to the run's log,
    # so that the copy taken at save time contains them.
    log = Path(os.environ["CASCADE_RUN_DIR"]) / "logs" / "cascade_run.log"
    deadline = time.time() + 30
    while "epoch 1" not in log.read_text() and time.time() < deadline:
        time.sleep(0.05)

    model = BasicModel(lr=cfg.lr)
    model.add_metric("acc", 0.9)
    model.add_log()
    model.add_config()
    model.add_run_script()
    line = ModelLine("line")
    line.save(model)
    print("saved", line.get_model_names()[-1])
    """
)


def test_cascade_ml_model_saves_run_files(tmp_path):
    script = tmp_path / "train.py"
    script.write_text(CASCADE_ML_SCRIPT)

    result = cascade_run(script, "--lr", "0.5", cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    assert "saved 00000" in result.stdout
    run_folder = only_run_folder(tmp_path)
    files = tmp_path / "line" / "00000" / "files"
    assert sorted(path.name for path in files.iterdir()) == [
        "cascade_config.json", "cascade_overrides.json", "cascade_run.log", "cascade_run_meta.json", "cascade_run_script.py",
    ]
    assert "    lr = 0.5\n" in (files / "cascade_run_script.py").read_text()
    assert json.loads((files / "cascade_config.json").read_text()) == {"lr": 0.5, "epochs": 2}
    assert json.loads((files / "cascade_overrides.json").read_text()) == {"lr": 0.5}
    assert json.loads((files / "cascade_run_meta.json").read_text())["run_id"] == run_folder.name
    assert (files / "cascade_run.log").read_text().splitlines()[:2] == ["epoch 0 lr 0.5", "epoch 1 lr 0.5"]


def test_cascade_ml_model_meta_readable_by_us(tmp_path):
    script = tmp_path / "train.py"
    script.write_text(CASCADE_ML_SCRIPT)
    assert cascade_run(script, cwd=tmp_path).returncode == 0

    line = ModelLine("line")

    assert len(line) == 1
    block = line.load_model_meta(0)[0]
    assert block["type"] == "model"
    assert block["params"] == {"lr": 0.1}
    assert block["metrics"][0]["value"] == 0.9


# cascade-ml tools on our lines ------------------------------------------------------


def test_cascade_ml_line_opens_our_line(tmp_path):
    from cascade.lines import ModelLine as CascadeMLLine

    ours = save_our_line()

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        theirs = CascadeMLLine(str(ours.root))

    assert len(theirs) == 2
    assert theirs.get_model_names() == ["00000", "00001"]
    meta = theirs.load_model_meta(1)
    assert meta[0]["type"] == "model"
    assert meta[0]["params"] == {"lr": 0.75}
    assert meta[0]["metrics"] == [{"name": "acc", "value": 0.75, "created_at": meta[0]["metrics"][0]["created_at"]}]
    assert meta[0]["run_id"] is None
    assert theirs.get_meta()[0]["type"] == "model_line"


def test_cascade_ml_line_finds_model_by_slug(tmp_path):
    from cascade.lines import ModelLine as CascadeMLLine

    ours = save_our_line()
    slug = ours.load_model_meta(0)[0]["slug"]

    theirs = CascadeMLLine(str(ours.root))

    assert theirs.load_model_meta(slug)[0]["path"] == str(ours.root / "00000")
    assert theirs.load_artifact_paths(slug)["files"] == [str(ours.root / "00000" / "files" / "cascade_config.json")]


def test_cascade_ml_base_reads_our_model_config(tmp_path):
    from cascade.cli.run import load_config

    ours = save_our_line()

    assert load_config(str(ours.root / "00001")) == {"lr": 0.75}


def test_cascade_ml_metric_viewer_tabulates_our_line(tmp_path):
    from cascade.lines import ModelLine as CascadeMLLine
    from cascade.meta import MetricViewer

    ours = save_our_line()

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        table = MetricViewer(CascadeMLLine(str(ours.root))).table

    assert list(table["num"]) == [0, 1]
    assert list(table["name"]) == ["acc", "acc"]
    assert list(table["value"]) == [0.5, 0.75]
    assert list(table["lr"]) == [0.5, 0.75]


def test_lines_mix_saves_both_ways(tmp_path):
    from cascade.lines import ModelLine as CascadeMLLine
    from cascade.models import BasicModel

    ours = save_our_line(values=(0.5,))
    theirs = CascadeMLLine(str(ours.root))
    theirs.save(BasicModel(lr=0.6))

    folder = ModelLine("line").save(Model(lr=0.7))

    assert folder.name == "00002"
    reread = CascadeMLLine(str(ours.root))
    assert len(reread) == 3
    assert [reread.load_model_meta(n)[0]["params"]["lr"] for n in range(3)] == [0.5, 0.6, 0.7]
    assert ModelLine("line").get_meta()[0]["len"] == 3


def test_our_line_opens_cascade_ml_line(tmp_path):
    from cascade.lines import ModelLine as CascadeMLLine
    from cascade.models import BasicModel

    theirs = CascadeMLLine(str(tmp_path / "line"))
    model = BasicModel(lr=0.1)
    model.add_metric("acc", 0.8)
    theirs.save(model)

    ours = ModelLine("line")

    assert len(ours) == 1
    assert ours.load_model_meta(0)[0]["metrics"][0]["value"] == 0.8
    assert ours.save(Model()).name == "00001"


def test_cascade_ml_model_without_run_records(tmp_path):
    script = tmp_path / "plain.py"
    script.write_text(textwrap.dedent(
        """
        from cascade.lines import ModelLine
        from cascade.models import BasicModel

        model = BasicModel()
        model.add_config()
        model.add_log()
        ModelLine("line").save(model)
        print("saved")
        """
    ))

    result = cascade_run(script, "--no-log", cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    assert "saved" in result.stdout
    assert "UserWarning: Log was not found inside the run folder." in result.stderr
    files = tmp_path / "line" / "00000" / "files"
    assert sorted(path.name for path in files.iterdir()) == ["cascade_config.json", "cascade_overrides.json", "cascade_run_meta.json"]
    assert json.loads((files / "cascade_config.json").read_text()) == {}
    assert json.loads((files / "cascade_overrides.json").read_text()) == {}
