"""Tests of cascade_ext.display: renderings of real runs recorded in a temporary store."""

from __future__ import annotations

import pytest

import cascade_core
from cascade_core.browse import diff_runs
from cascade_core.discovery import discover
from cascade_ext import display

TRAIN = """\
from cascade_core import Config, log_metric


class TrainConfig(Config):
    lr = 0.1
    epochs: int = 3
    name = "base"


log_metric("loss", 0.5 / TrainConfig.epochs)
print("trained", TrainConfig.lr)
"""

FAIL = """\
print("working")
raise RuntimeError("disk <full> & gone")
"""


@pytest.fixture()
def store(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CASCADE_ROOT", str(tmp_path / ".cascade"))
    (tmp_path / "train.py").write_text(TRAIN)
    (tmp_path / "fail.py").write_text(FAIL)
    return tmp_path


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param(0.1, "0.1", id="float"),
        pytest.param(1e-8, "1e-08", id="small-float"),
        pytest.param(3, "3", id="int"),
        pytest.param("adam", "'adam'", id="str"),
        pytest.param((224, 224), "(224, 224)", id="tuple"),
        pytest.param(None, "None", id="none"),
    ],
)
def test_display_format_value(value, expected):
    assert display.format_value(value) == expected


def test_display_text_table_aligns_columns():
    table = display.text_table(("key", "value"), [["lr", "0.1"], ["batch_size", "32"]])

    assert table.splitlines() == [
        "key         value",
        "----------  -----",
        "lr          0.1",
        "batch_size  32",
    ]


def test_display_html_table_escapes():
    page = display.html_table(("key",), [["<b>&"]], caption="a<b")

    assert "<td style='text-align:left'>&lt;b&gt;&amp;</td>" in page
    assert "<caption style='text-align:left'>a&lt;b</caption>" in page


def test_display_run_html_marks_overrides(store):
    run = cascade_core.run("train.py", "--lr", "0.05")
    page = display.run_repr_html(run)

    assert f"<b>Run {run.id}</b>" in page
    assert "<td style='text-align:left'>lr *</td><td style='text-align:left'>0.05</td>" in page
    assert "<td style='text-align:left'>epochs</td><td style='text-align:left'>3</td>" in page
    assert "<td style='text-align:left'>loss</td>" in page
    assert str(run.path) in page
    assert "completed" in page


def test_display_run_text_summary(store):
    run = cascade_core.run("train.py", "--lr", "0.05", name="short")
    lines = display.run_repr_text(run).splitlines()

    assert lines[0].startswith(f"Run {run.id} (short): completed, exit status 0, ")
    assert lines[1] == f"  script:     {store / 'train.py'}"
    assert lines[2] == f"  run folder: {run.path}"
    assert lines[3] == "  config:     lr=0.05* epochs=3 name='base'   (* overridden)"
    assert lines[4] == "  metrics:    loss=0.166667"


def test_display_run_table_text_and_html(store):
    first = cascade_core.run("train.py", "--epochs", "5", name="five")
    second = cascade_core.run("fail.py")
    table = display.RunTable([first, second])

    lines = str(table).splitlines()
    assert lines[0].split() == ["run", "id", "name", "script", "status", "started", "duration", "overrides", "metrics"]
    assert lines[2].startswith(f"{first.id}  five  train.py  completed")
    assert lines[2].endswith("--epochs 5  loss=0.1")
    assert lines[3].startswith(f"{second.id}        fail.py   failed")
    assert table[1].id == second.id
    assert len(table) == 2
    assert table._repr_html_().count("<tr>") == 3


def test_display_run_table_empty():
    table = display.RunTable([])

    assert str(table) == "No runs found."
    assert table._repr_html_() == "<p>No runs found.</p>"


def test_display_config_table(store):
    table = display.ConfigTable(discover(store / "train.py"))

    lines = str(table).splitlines()
    assert lines[0] == "train.py: 3 fields in config class TrainConfig"
    assert [line.split() for line in lines[2:6]] == [
        ["key", "class", "type", "default", "line"],
        ["lr", "TrainConfig", "float", "0.1", "5"],
        ["epochs", "TrainConfig", "int", "3", "6"],
        ["name", "TrainConfig", "str", '"base"', "7"],
    ]
    assert lines[7] == "Fields that share a name with a run option (after SCRIPT the name sets the field):"


def test_display_config_table_html_notes(store):
    page = display.ConfigTable(discover(store / "train.py"))._repr_html_()

    assert page.startswith("<p><b>train.py: 3 fields in config class TrainConfig</b></p><table>")
    assert "<td style='text-align:left'>epochs</td><td style='text-align:left'>TrainConfig</td>" in page
    assert page.count("<tr>") == 4
    assert page.split("</table>")[1].startswith("<p>Fields that share a name with a run option")


def test_display_config_table_no_fields(store):
    (store / "plain.py").write_text("print('no config')\n")
    table = display.ConfigTable(discover(store / "plain.py"))

    assert str(table).startswith("plain.py: no config fields")
    assert "<table>" not in table._repr_html_()


def test_display_run_comparison(store):
    first = cascade_core.run("train.py", "--lr", "0.5")
    second = cascade_core.run("train.py", "--lr", "0.25", "--epochs", "5")
    comparison = display.RunComparison(diff_runs(first, second))

    assert comparison.rows() == [
        ["config", "lr", "0.5", "0.25"],
        ["config", "epochs", "3", "5"],
        ["overrides", "lr", "0.5", "0.25"],
        ["overrides", "epochs", "(missing)", "5"],
        ["metrics", "loss", "0.16666666666666666", "0.1"],
    ]
    assert str(comparison).startswith(f"--- {first.id}\n+++ {second.id}\n")
    assert comparison._repr_html_().startswith("<table>")


def test_display_failure_traceback(store):
    run = cascade_core.run("fail.py")
    lines = display.failure_traceback(run)

    assert lines[0] == "Traceback (most recent call last):"
    assert lines[-2] == "RuntimeError: disk <full> & gone"
    assert lines[-1] == f"fail.py failed with exit status 1. Run folder: {run.path}"


def test_display_failure_without_log(store):
    run = cascade_core.run("fail.py", no_log=True)

    assert display.failure_traceback(run) == [f"fail.py failed with exit status 1. Run folder: {run.path}"]

