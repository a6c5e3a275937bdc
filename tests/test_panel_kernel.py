"""The widget panel in a real IPython kernel: build it, set widgets, click its buttons, check the runs."""

from __future__ import annotations

import html
import json
import textwrap
from pathlib import Path

import pytest

from cascade_core.errors import UnknownKeyError
from cascade_core.run import prepare

from kernel_helpers import process_gone, wait_until
from panel_cases import TRAIN_CFG, WAIT_FOR_OUTPUT, finish_last_run, panel_kernel, run_folder, run_json

pytestmark = pytest.mark.kernel


SLEEPER = textwrap.dedent(
    """\
    import os
    import subprocess
    import sys
    import time

    from cascade_core import Config, log_metric


    class Cfg(Config):
        seconds = 60.0
        size = (224, 224)


    log_metric("loss", 0.25)
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    print("child", child.pid, flush=True)
    time.sleep(Cfg.seconds)
    """
)

@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("panel")
    (folder / "train_cfg.py").write_text(TRAIN_CFG)
    (folder / "sleeper.py").write_text(SLEEPER)
    (folder / "marker.py").write_text("open('executed.txt', 'w').close()\nLR = 0.5\nprint(LR)\n")
    return folder


@pytest.fixture(scope="module")
def kernel(workdir):
    with panel_kernel(workdir) as running:
        yield running


def existing_runs(workdir: Path) -> set[Path]:
    """Return the run folders in the store of a kernel started in `workdir`."""
    folder = workdir / ".cascade" / "runs"
    return set(folder.iterdir()) if folder.exists() else set()


# Train config: decimal, integer, text and bool defaults -------------------------------


def test_panel_train_cfg_builds_expected_widgets(kernel):
    widgets = run_json(
        kernel,
        "p = %cascade_panel train_cfg.py",
        "import json\n"
        "print(json.dumps({c.field.key: [type(c.widget).__name__, c.widget.value] for c in p.controls}))",
    )

    assert widgets == {
        "lr": ["FloatSlider", 1.5],
        "momentum": ["FloatSlider", 0.9],
        "epochs": ["IntSlider", 10],
        "weight_decay": ["FloatLogSlider", 0.0001],
        "eps": ["FloatLogSlider", 1e-08],
        "name": ["Text", "base"],
        "use_amp": ["Checkbox", True],
    }


def test_panel_untouched_run_uses_defaults(kernel, workdir):
    shown = run_json(
        kernel,
        "p = %cascade_panel train_cfg.py",
        "p.run_button.click()",
        finish_last_run("p"),
        "print(json.dumps([p.runs[-1].run.id, p.output_view.value, p.runs[-1].values_label.value]))",
    )
    run_id, output_html, values_html = shown
    folder = run_folder(workdir, run_id)

    assert "1.5 10 int 0.0001 base True" in output_html
    assert values_html == "(defaults)"
    assert json.loads((folder / "cascade_overrides.json").read_text()) == {}
    assert (folder / "logs" / "cascade_run.log").read_text() == "1.5 10 int 0.0001 base True\n"
    assert json.loads((folder / "cascade_run_meta.json").read_text())["status"] == "completed"


# Train config: very small floats ----------------------------------------------------------


def test_panel_weight_decay_notch_runs_shown_value(kernel, workdir):
    shown = run_json(
        kernel,
        "p = %cascade_panel train_cfg.py\n"
        "import math\n"
        "wd = [c for c in p.controls if c.field.key == 'weight_decay'][0].widget\n"
        "wd.value = 10 ** (math.log10(wd.value) + wd.step)",
        "p.run_button.click()",
        finish_last_run("p"),
        "print(json.dumps([p.runs[-1].run.id, format(wd.value, wd.readout_format), p.output_view.value]))",
    )
    run_id, readout, output_html = shown
    folder = run_folder(workdir, run_id)

    assert readout == "0.00013"
    assert json.loads((folder / "cascade_overrides.json").read_text()) == {"weight_decay": 0.00013}
    assert "1.5 10 int 0.00013 base True" in output_html
    assert (folder / "logs" / "cascade_run.log").read_text() == "1.5 10 int 0.00013 base True\n"


def test_panel_int_change_stays_int(kernel, workdir):
    run_id = run_json(
        kernel,
        "p = %cascade_panel train_cfg.py\n"
        "[c for c in p.controls if c.field.key == 'epochs'][0].widget.value = 11",
        "p.run_button.click()",
        finish_last_run("p"),
        "print(json.dumps(p.runs[-1].run.id))",
    )
    folder = run_folder(workdir, run_id)

    assert json.loads((folder / "cascade_overrides.json").read_text()) == {"epochs": 11}
    assert (folder / "logs" / "cascade_run.log").read_text() == "1.5 11 int 0.0001 base True\n"


# Buttons ----------------------------------------------------------------------------------


def test_panel_build_does_not_execute_script(kernel, workdir):
    titles = run_json(kernel, "m = %cascade_panel marker.py", "print(json.dumps(m.title.value))")

    assert titles == "<b>marker.py</b> &middot; 1 field"
    assert not (workdir / "executed.txt").exists()


def test_panel_stop_ends_run_and_children(kernel):
    state = run_json(
        kernel,
        "s = %cascade_panel sleeper.py",
        "s.run_button.click()\n"
        + WAIT_FOR_OUTPUT.format(condition="'child' not in s.output_view.value"),
        "child_pid = int(s.output_view.value.split('child ')[1].split('<')[0].split()[0])\n"
        "stop_enabled = not s.stop_button.disabled\n"
        "s.stop_button.click()\n"
        "s.runs[-1].run.wait(timeout=60)\n"
        + WAIT_FOR_OUTPUT.format(condition="'interrupted' not in s.runs[-1].status_label.value")
        + "print(json.dumps([child_pid, stop_enabled, s.runs[-1].run.status, s.stop_button.disabled]))",
    )
    child_pid, stop_enabled, status, stop_disabled_after = state

    assert stop_enabled
    assert status == "interrupted"
    assert stop_disabled_after
    assert wait_until(lambda: process_gone(child_pid), timeout=30)


def test_panel_several_runs_at_once(kernel):
    state = run_json(
        kernel,
        "s2 = %cascade_panel sleeper.py",
        "s2.run_button.click()\ns2.run_button.click()\n"
        "both_running = [row.run.poll() is None for row in s2.runs]\n"
        + WAIT_FOR_OUTPUT.format(condition="'loss=0.25' not in s2.runs[0].metrics_label.value")
        + "metrics = s2.runs[0].metrics_label.value\n"
        "s2.runs[0].id_button.click()\ns2.stop_button.click()\n"
        "s2.runs[1].id_button.click()\ns2.stop_button.click()\n"
        "codes = [row.run.wait(timeout=60) for row in s2.runs]\n"
        "print(json.dumps([both_running, len(s2.runs_box.children), metrics,"
        " [row.run.status for row in s2.runs]]))",
    )
    both_running, table_rows, metrics, statuses = state

    assert both_running == [True, True]
    assert table_rows == 3
    assert metrics == "loss=0.25"
    assert statuses == ["interrupted", "interrupted"]


def test_panel_reset_restores_defaults(kernel):
    changed = run_json(
        kernel,
        "r = %cascade_panel train_cfg.py\n"
        "for c in r.controls:\n"
        "    if c.field.key in ('lr', 'epochs', 'name', 'use_amp'):\n"
        "        c.widget.value = {'lr': 2.0, 'epochs': 3, 'name': 'x', 'use_amp': False}[c.field.key]\n"
        "before = r.changed_values()\n"
        "r.reset_button.click()",
        "print(json.dumps([before, r.changed_values()]))",
    )

    assert changed == [{"lr": 2.0, "epochs": 3, "name": "x", "use_amp": False}, {}]


def test_panel_reload_reads_script_again(kernel, workdir):
    script = workdir / "reloaded.py"
    script.write_text("from cascade_core import Config\n\nclass C(Config):\n    a = 1\n    b = 0.5\n\nprint(C.a)\n")
    kernel.run(
        "q = %cascade_panel reloaded.py",
        "q.run_button.click()\n" + finish_last_run("q"),
    )
    script.write_text("from cascade_core import Config\n\nclass C(Config):\n    a = 2\n    c = 'new'\n\nprint(C.a)\n")

    state = run_json(
        kernel,
        "q.reload_button.click()",
        "print(json.dumps([[c.field.key for c in q.controls], q.controls[0].widget.value,"
        " len(q.runs), q.message.value]))",
    )

    assert state == [["a", "c"], 2, 1, "Reloaded the fields from the script; added: c; removed: b; changed: a."]


def test_panel_invalid_text_blocks_run(kernel, workdir):
    runs_before = existing_runs(workdir)
    state = run_json(
        kernel,
        "t = %cascade_panel sleeper.py\n"
        "[c for c in t.controls if c.field.key == 'size'][0].widget.value = '(224, '",
        "disabled = t.run_button.disabled\n"
        "t.guard(t.launch)\n"
        "print(json.dumps([disabled, t.message.value, len(t.runs)]))",
    )
    disabled, message, runs = state

    assert disabled
    assert message == (
        "<span style='color:#c62828'>Invalid value for size: &#x27;(224, &#x27; is not a Python literal. "
        "Enter a value such as (224, 224).</span>"
    )
    assert runs == 0
    assert existing_runs(workdir) == runs_before


def test_panel_missing_script_usage_error(kernel, workdir):
    result = kernel.run("%cascade_panel missing.py")

    assert result.stderr == (
        f"UsageError: Script not found: {workdir / 'missing.py'}; check the path and the working folder\n"
    )


def test_panel_bad_range_comment_usage_error(kernel, workdir):
    (workdir / "bad_range.py").write_text("LR = 0.5  # range: 0..1 steep\n")

    result = kernel.run("%cascade_panel bad_range.py")

    assert result.stderr == (
        f"UsageError: Invalid slider bounds on line 1 of {workdir / 'bad_range.py'}: unknown word 'steep' "
        "in range comment '# range: 0..1 steep'. Expected # range: LOW..HIGH [log] [step=STEP].\n"
    )


def test_panel_runs_stopped_at_kernel_shutdown(workdir):
    with panel_kernel(workdir) as own_kernel:
        run_id = run_json(own_kernel, "k = %cascade_panel sleeper.py\nk.run_button.click()\nprint(json.dumps(k.runs[-1].run.id))")
    meta = run_folder(workdir, run_id) / "cascade_run_meta.json"

    assert wait_until(lambda: json.loads(meta.read_text())["status"] == "interrupted", timeout=60)


def test_panel_selected_row_shows_its_output(kernel, workdir):
    (workdir / "echo.py").write_text("WORD = 'first'\nprint(WORD)\n")
    shown = run_json(
        kernel,
        "e = %cascade_panel echo.py",
        "e.run_button.click()\n" + finish_last_run("e"),
        "e.controls[0].widget.value = 'second'\ne.run_button.click()\n" + finish_last_run("e"),
        "newest = e.output_view.value\n"
        "e.runs[0].id_button.click()\n"
        "print(json.dumps([newest, e.output_view.value, e.runs[0].id_button.button_style,"
        " e.runs[1].id_button.button_style, e.output_title.value]))",
    )
    newest, first, first_style, second_style, title = shown

    assert newest == "<pre style='margin:0'>second</pre>"
    assert first == "<pre style='margin:0'>first</pre>"
    assert (first_style, second_style) == ("info", "")
    assert title.startswith("Output of run <b>")


def test_panel_output_view_bounded(kernel, workdir):
    (workdir / "chatty.py").write_text("N = 5000\nfor i in range(N):\n    print('line', i)\n")
    lines = run_json(
        kernel,
        "ch = %cascade_panel chatty.py",
        "ch.run_button.click()\n" + finish_last_run("ch")
        + WAIT_FOR_OUTPUT.format(condition="'line 4999' not in ch.output_view.value"),
        "import html\n"
        "print(json.dumps(html.unescape(ch.output_view.value).removeprefix(\"<pre style='margin:0'>\")"
        ".removesuffix('</pre>').splitlines()))",
    )

    assert len(lines) == 200
    assert lines[0] == "line 4800"
    assert lines[-1] == "line 4999"


def test_panel_reload_keeps_fields_on_syntax_error(kernel, workdir):
    script = workdir / "broken.py"
    script.write_text("LR = 0.5\n")
    kernel.run("b = %cascade_panel broken.py")
    script.write_text("LR = (0.5\n")

    state = run_json(
        kernel,
        "b.reload_button.click()",
        "print(json.dumps([[c.field.key for c in b.controls], b.message.value.startswith(\"<span style='color:#c62828'>\")]))",
    )

    assert state == [["LR"], True]


@pytest.mark.parametrize(
    ("option", "message"),
    [
        pytest.param("output_lines=0", "Invalid output_lines 0: expected a number above 0, for example output_lines=200", id="lines"),
        pytest.param("update_interval=-1", "Invalid update_interval -1: expected a number above 0, for example update_interval=0.5", id="interval"),
    ],
)
def test_panel_invalid_option_raises(kernel, option, message):
    result = kernel.run(f"import cascade_ext\ncascade_ext.panel('train_cfg.py', {option})")

    assert result.error.ename == "ValueError"
    assert result.error.evalue == message


def test_panel_notebook_script_runs_changed_value(kernel, workdir):
    import nbformat

    notebook = nbformat.v4.new_notebook()
    notebook.cells = [
        nbformat.v4.new_code_cell("from cascade_core import Config\n\nclass C(Config):\n    lr = 1e-3  # range: 1e-5..1e-1 log\n"),
        nbformat.v4.new_code_cell("print('lr is', C.lr)"),
    ]
    nbformat.write(notebook, workdir / "train_nb.ipynb")

    state = run_json(
        kernel,
        "n = %cascade_panel train_nb.ipynb\nn.controls[0].widget.value = 2e-3",
        "n.run_button.click()\n" + finish_last_run("n"),
        "print(json.dumps([n.controls[0].widget.min, n.runs[-1].run.id, n.output_view.value]))",
    )
    low, run_id, output_html = state

    assert low == -5.0
    assert json.loads((run_folder(workdir, run_id) / "cascade_overrides.json").read_text()) == {"lr": 0.002}
    assert output_html == "<pre style='margin:0'>lr is 0.002</pre>"


ARGPARSE_SCRIPT = """\
import argparse

parser = argparse.ArgumentParser()
parser.add_argument("--lr", type=float, default=0.01)
parser.add_argument("--epochs", type=int, default=3)
parser.add_argument("--amp", action="store_true")
args = parser.parse_args()
print(args.lr, args.epochs, args.amp)
"""


def test_panel_argparse_script_passes_arguments(kernel, workdir):
    (workdir / "cli_train.py").write_text(ARGPARSE_SCRIPT)

    state = run_json(
        kernel,
        "a = %cascade_panel cli_train.py\n"
        "a.controls[1].widget.value = 4\na.controls[2].widget.value = True",
        "a.run_button.click()\n" + finish_last_run("a"),
        "print(json.dumps([[type(c.widget).__name__ for c in a.controls], a.runs[-1].run.id, a.output_view.value]))",
    )
    widget_types, run_id, output_html = state

    assert widget_types == ["FloatLogSlider", "IntSlider", "Checkbox"]
    assert json.loads((run_folder(workdir, run_id) / "cascade_overrides.json").read_text()) == {"epochs": 4, "amp": True}
    assert output_html == "<pre style='margin:0'>0.01 4 True</pre>"


def test_panel_run_refused_after_field_removed(kernel, workdir, monkeypatch):
    script = workdir / "shrinking.py"
    script.write_text("from cascade_core import Config\n\nclass C(Config):\n    a = 1\n    b = 2\n")
    runs_before = existing_runs(workdir)
    kernel.run("g = %cascade_panel shrinking.py\ng.controls[1].widget.value = 3")
    script.write_text("from cascade_core import Config\n\nclass C(Config):\n    a = 1\n")

    state = run_json(kernel, "g.run_button.click()", "print(json.dumps([g.message.value, len(g.runs)]))")

    message, runs = state
    monkeypatch.chdir(workdir)
    with pytest.raises(UnknownKeyError) as unknown:
        prepare("shrinking.py", {"b": 3})
    reason = html.escape(str(unknown.value))
    assert message == (
        f"<span style='color:#c62828'>{reason}. "
        "The script changed since the panel was built: click Reload to read it again.</span>"
    )
    assert runs == 0
    assert existing_runs(workdir) == runs_before
