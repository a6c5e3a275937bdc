"""Tests of cascade_ext.magics: every magic in a real kernel, and in a terminal IPython."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from case_scripts import write_case_scripts, write_project
from kernel_helpers import NotebookKernel, process_gone, wait_until, write_scripts

pytestmark = pytest.mark.kernel

TRAIN = """\
LR = 0.1
EPOCHS = 3
print("lr", repr(LR), "epochs", EPOCHS)
"""

BOOM = """\
RATE = 0.5


def update(weight):
    return weight / 0


print("before the error")
update(RATE)
"""

ENV_PROBE = """\
import os

MARK = "x"
os.environ["CASCADE_TEST_MARK"] = MARK
os.chdir("..")
print(os.environ.get("CASCADE_RUN_ID", "")[:8], MARK)
"""



@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("magics")
    write_case_scripts(folder, "say.py", "spawner.py")
    scripts = {"train.py": TRAIN, "boom.py": BOOM, "env_probe.py": ENV_PROBE}
    write_scripts(folder, scripts)
    write_project(folder / "elsewhere")
    odd = folder / 'odd "q" \\Users'
    shutil.copytree(folder / "elsewhere" / "proj", odd / "proj")
    (folder / "nb").mkdir()
    return folder


@pytest.fixture(scope="module")
def kernel(workdir):
    with NotebookKernel(workdir, setup="%load_ext cascade_ext") as kernel:
        yield kernel




# %cascade_run: values reach the script exactly ------------------------------------


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        pytest.param('%cascade_run say.py --PROMPT "a  b c"', "'a  b c'\n", id="c06-two-spaces"),
        pytest.param('%cascade_run say.py --PROMPT "it\'s fine"', '"it\'s fine"\n', id="c06-apostrophe"),
        pytest.param("%cascade_run say.py --PROMPT \"' padded '\"", "' padded '\n", id="quoted-literal"),
        pytest.param("%cascade_run say.py PROMPT=plain", "'plain'\n", id="assignment-form"),
        pytest.param('%cascade_run say.py --PROMPT "{{a}}"', "'{a}'\n", id="double-brace-literal"),
    ],
)
def test_magics_run_string_values(kernel, line, expected):
    result = kernel.run(line)

    assert result.error is None
    assert result.stdout == expected


def test_magics_run_brace_expansion_in_loop(kernel):
    result = kernel.run(
        "runs = []\n"
        "for lr in [0.5, 0.25]:\n"
        "    r = %cascade_run train.py --LR {lr} --EPOCHS {int(lr * 8)}\n"
        "    runs.append(r)\n"
        "[(r.overrides, r.status) for r in runs]"
    )

    assert result.stdout == "lr 0.5 epochs 4\nlr 0.25 epochs 2\n"
    assert result.value() == [({"LR": 0.5, "EPOCHS": 4}, "completed"), ({"LR": 0.25, "EPOCHS": 2}, "completed")]


def test_magics_run_dollar_expansion(kernel):
    result = kernel.run('word = "dollar"\n%cascade_run say.py --PROMPT $word')

    assert result.stdout == "'dollar'\n"


def test_magics_run_returns_run(kernel):
    result = kernel.run(
        "r = %cascade_run train.py --LR 1e-2 --name first -y\n"
        "(r.id == r.path.name, r.status, r.returncode, r.config, r.overrides, r.name,"
        " r.log_text(), r.wait(), r.path.is_dir())"
    )

    assert result.value() == (True, "completed", 0, {"LR": 0.01, "EPOCHS": 3}, {"LR": 0.01}, "first",
                             "lr 0.01 epochs 3\n", 0, True)


def test_magics_run_html_repr_marks_overrides(kernel):
    result = kernel.run("r = %cascade_run train.py --EPOCHS 2\nr")

    page = result.html()[0]
    assert "EPOCHS *" in page
    assert "LR *" not in page
    assert "completed" in page
    assert str(kernel.store / "runs") in page


def test_magics_run_from_other_directory_c13(kernel, workdir):
    script = workdir / "elsewhere" / "proj" / "train.py"
    result = kernel.run(f"%cascade_run {script} --K 5")

    assert result.stdout == "17 proj train.py\n"


def test_magics_run_odd_path_c13(kernel, workdir):
    script = workdir / 'odd "q" \\Users' / "proj" / "train.py"
    result = kernel.run(f"%cascade_run '{script}' --K 5")

    assert result.error is None
    assert result.stdout == "17 proj train.py\n"


def test_magics_run_passthrough_argv(kernel, workdir):
    (workdir / "argv.py").write_text("import sys\nN = 1\nprint(sys.argv[1:])\n")
    result = kernel.run("%cascade_run argv.py --N 2 -- --raw 'two words'")

    assert result.stdout == "['--raw', 'two words']\n"


def test_magics_run_leaves_kernel_environment(kernel, workdir):
    result = kernel.run(
        "import os\n"
        "before = (dict(os.environ), os.getcwd())\n"
        "%cascade_run env_probe.py --MARK y\n"
        "(dict(os.environ) == before[0], os.getcwd() == before[1], 'CASCADE_TEST_MARK' in os.environ)"
    )

    assert re.fullmatch(r"\d{8} y\n", result.stdout)
    assert result.value() == (True, True, False)


def test_magics_run_uses_kernel_interpreter(kernel, workdir):
    (workdir / "which.py").write_text("import sys\nprint(sys.executable)\n")
    result = kernel.run("import sys\n%cascade_run which.py\nsys.executable")

    assert result.stdout == result.value() + "\n"


def test_magics_run_root_and_chdir_options(kernel, workdir):
    (workdir / "where.py").write_text("import os\nprint(os.getcwd() == os.environ['CASCADE_RUN_DIR'])\n")
    other_store = workdir / "other-store"
    result = kernel.run(f"r = %cascade_run --root {other_store} where.py --chdir\nstr(r.path.parent)")

    assert result.stdout == "True\n"
    assert result.value() == str(other_store / "runs")

    rerun = kernel.run(f"r = %cascade_rerun --root {other_store} last --chdir\nstr(r.path.parent)")
    assert rerun.stdout == "True\n"
    assert rerun.value() == str(other_store / "runs")


def test_magics_run_notebook(kernel, workdir):
    import nbformat

    notebook = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("LR = 0.1", metadata={"tags": ["parameters"]}),
        nbformat.v4.new_code_cell("print('lr is', LR)"),
    ])
    nbformat.write(notebook, workdir / "params.ipynb")
    result = kernel.run("r = %cascade_run params.ipynb --LR 0.5\n(r.status, (r.path / 'output.ipynb').is_file())")

    assert result.stdout == "lr is 0.5\n"
    assert result.value() == ("completed", True)


# %cascade_run: bad input and failures ---------------------------------------------


@pytest.mark.parametrize(
    ("line", "message"),
    [
        pytest.param("%cascade_run missing.py --LR 1", r"UsageError: Script not found: .*missing\.py", id="missing-script"),
        pytest.param("%cascade_run train.py --LRR 1", r"UsageError: --LRR is not a field of train\.py; did you mean --LR\?",
                     id="unknown-key"),
        pytest.param("%cascade_run train.py --EPOCHS 2.5", r"UsageError: .*EPOCHS.*int", id="type-mismatch"),
        pytest.param("%cascade_run --bogus train.py", r"UsageError: Unknown option '--bogus' before SCRIPT\. Options: -y, ",
                     id="unknown-option"),
        pytest.param("%cascade_run --nmae x train.py",
                     r"UsageError: Unknown option '--nmae' before SCRIPT; did you mean --name\? Options: -y, ",
                     id="unknown-option-did-you-mean"),
        pytest.param("%cascade_run train.py --LR -y",
                     r"UsageError: Missing value for --LR \(the next token '-y' is an option\)\. Example: --LR 0\.1$",
                     id="missing-value-before-option"),
        pytest.param("%cascade_run train.py --PROMPT 'x", r"UsageError: Cannot split the magic line", id="open-quote"),
        pytest.param("%cascade_run -m train.py --LR 1,2 --bg", r"UsageError: --bg does not apply to sweeps \(-m\)",
                     id="bg-with-sweep"),
        pytest.param("%cascade_run train.py --max-lines -1", r"UsageError: Invalid --max-lines -1: expected 0 or more",
                     id="negative-max-lines"),
        pytest.param("%cascade_run train.py --jobs two", r"UsageError: argument -j/--jobs: invalid int value: 'two'",
                     id="bad-option-value"),
    ],
)
def test_magics_run_bad_input(kernel, line, message):
    before = kernel.run_folders()
    result = kernel.run(line)

    assert re.match(message, result.stderr), result.stderr
    assert result.stderr.count("\n") == 1
    assert result.error is None
    assert kernel.run_folders() == before


def test_magics_run_failure_shows_child_traceback(kernel, workdir):
    result = kernel.run("%cascade_run boom.py --RATE 2.0\nprint('not reached')")

    error = result.error
    assert error.ename == "RunFailedError"
    assert error.traceback[0] == "Traceback (most recent call last):"
    assert f'  File "{workdir / "boom.py"}", line 9, in <module>' in error.traceback
    assert error.traceback[-2] == "ZeroDivisionError: float division by zero"
    assert re.fullmatch(r"boom\.py failed with exit status 1\. Run folder: .*/runs/[0-9-]+[0-9a-f]+", error.traceback[-1])
    assert not any("cascade_ext" in line or "cascade_core" in line for line in error.traceback)
    assert "not reached" not in result.stdout
    assert result.stdout == "before the error\n"


def test_magics_run_failure_last_run(kernel):
    result = kernel.run("%cascade_run boom.py")
    assert result.error.ename == "RunFailedError"

    result = kernel.run("import cascade_ext\nr = cascade_ext.last_run()\n(r.status, r.returncode, r.script.name)")
    assert result.value() == ("failed", 1, "boom.py")


def test_magics_run_no_raise_returns_failed_run(kernel):
    result = kernel.run("r = %cascade_run boom.py --no-raise\n(r.status, r.returncode)")

    assert result.error is None
    assert result.value() == ("failed", 1)


def test_magics_run_interrupt_stops_tree_c12(kernel):
    interrupted = {}

    def interrupt_on_child(kernel, event):
        match = re.search(r"child (\d+)", event.content.get("text", ""))
        if match and "pid" not in interrupted:
            interrupted["pid"] = int(match.group(1))
            interrupted["time"] = time.monotonic()
            kernel.interrupt()

    result = kernel.run("%cascade_run spawner.py", on_event=interrupt_on_child)
    child_gone = wait_until(lambda: process_gone(interrupted["pid"]), timeout=interrupted["time"] + 5 - time.monotonic())

    assert result.error.ename == "RunInterrupted"
    assert result.error.traceback[0].startswith("Run ")
    assert "was interrupted. Run folder:" in result.error.traceback[0]
    assert child_gone, "the script's child process outlived the interrupt by 5 s"

    after = kernel.run("import cascade_ext\nr = cascade_ext.last_run()\n"
                       "(r.status, r.log_text(), r.config, r.meta['pid'], 1 + 1)")
    status, log, config, script_pid, two = after.value()
    assert status == "interrupted"
    assert log.startswith("child ")
    assert config == {}
    assert two == 2
    assert process_gone(script_pid)


# Browsing magics -------------------------------------------------------------------


def test_magics_runs_table(kernel):
    kernel.run("%cascade_run say.py --PROMPT listed --name listed-run")
    result = kernel.run("%cascade_runs --last 1")

    page = result.html()[0]
    assert page.startswith("<table>")
    assert "listed-run" in page
    assert "--PROMPT listed" in page
    text = result.plain()[0].splitlines()
    assert text[0].split() == ["run", "id", "name", "script", "status", "started", "duration", "overrides", "metrics"]
    assert "listed-run" in text[2]
    assert "completed" in text[2]


def test_magics_runs_table_indexes_runs(kernel):
    result = kernel.run("table = %cascade_runs --status failed\n(len(table) > 0, {r.status for r in table})")

    assert result.value() == (True, {"failed"})


def test_magics_runs_bad_status(kernel):
    result = kernel.run("%cascade_runs --status done")

    assert result.stderr.startswith("UsageError: ")
    assert "done" in result.stderr


def test_magics_show_run(kernel):
    kernel.run("%cascade_run say.py --PROMPT shown")
    result = kernel.run("r = %cascade_show last\n(r.overrides, r.status)")

    assert result.value() == ({"PROMPT": "shown"}, "completed")


@pytest.mark.parametrize(
    ("line", "message"),
    [
        pytest.param("%cascade_run", "Missing argument SCRIPT. Usage: %cascade_run SCRIPT [OVERRIDES] [OPTIONS]. "
                     "%cascade_run? shows the help.", id="run"),
        pytest.param("%cascade_run -y --name x", "Missing argument SCRIPT. Usage: %cascade_run SCRIPT [OVERRIDES] "
                     "[OPTIONS]. %cascade_run? shows the help.", id="run-options-only"),
        pytest.param("%cascade_rerun", "Missing argument REF. Usage: %cascade_rerun REF [OVERRIDES] [OPTIONS]. "
                     "%cascade_rerun? shows the help.", id="rerun"),
        pytest.param("%cascade_show", "Missing argument REF. Usage: %cascade_show [--root ROOT] REF. "
                     "%cascade_show? shows the help.", id="show"),
        pytest.param("%cascade_diff last", "Missing argument REF. Usage: %cascade_diff [--root ROOT] REF REF. "
                     "%cascade_diff? shows the help.", id="diff-one-ref"),
        pytest.param("%cascade_diff", "Missing arguments REF and REF. Usage: %cascade_diff [--root ROOT] REF REF. "
                     "%cascade_diff? shows the help.", id="diff-no-ref"),
        pytest.param("%cascade_config --json", "Missing argument SCRIPT. Usage: %cascade_config [--json] SCRIPT. "
                     "%cascade_config? shows the help.", id="config"),
        pytest.param("%cascade_panel", "Missing argument SCRIPT. Usage: %cascade_panel [--name NAME] [--tag TAG] "
                     "[--root ROOT] SCRIPT. %cascade_panel? shows the help.", id="panel"),
    ],
)
def test_magics_missing_argument(kernel, line, message):
    before = kernel.run_folders()
    result = kernel.run(line)

    assert result.stderr == f"UsageError: {message}\n"
    assert kernel.run_folders() == before


def test_magics_show_unknown_ref(kernel):
    result = kernel.run("%cascade_show nosuchrun")

    assert result.stderr.startswith("UsageError: ")
    assert "'nosuchrun'" in result.stderr


def test_magics_diff_runs(kernel):
    kernel.run("a = %cascade_run train.py --LR 0.5", "b = %cascade_run train.py --LR 0.25 --EPOCHS 4")
    result = kernel.run("%cascade_diff {a.id} {b.id}")

    text = result.plain()[0]
    assert "config:" in text
    assert "LR" in text
    assert "0.5" in text
    assert "0.25" in text
    page = result.html()[0]
    assert "<td style='text-align:left'>EPOCHS</td><td style='text-align:left'>3</td>" in page
    assert "<td style='text-align:left'>4</td>" in page


def test_magics_config_table(kernel):
    result = kernel.run("%cascade_config train.py")

    lines = result.plain()[0].splitlines()
    assert lines[0] == "train.py: 2 fields from UPPERCASE globals"
    assert lines[2].split() == ["key", "class", "type", "default", "line"]
    assert lines[3].split() == ["LR", "-", "float", "0.1", "1"]
    assert lines[4].split() == ["EPOCHS", "-", "int", "3", "2"]
    assert "<td style='text-align:left'>LR</td>" in result.html()[0]


def test_magics_config_json(kernel):
    result = kernel.run("data = %cascade_config train.py --json\n[(f['key'], f['type'], f['default']) for f in data['fields']]")

    assert result.value() == [("LR", "float", 0.1), ("EPOCHS", "int", 3)]


def test_magics_rerun_exact_runs_saved_source(kernel, workdir):
    (workdir / "changing.py").write_text("WIDTH = 1\nprint('first version', WIDTH)\n")
    kernel.run("%cascade_run changing.py --WIDTH 2")
    (workdir / "changing.py").write_text("WIDTH = 1\nprint('second version', WIDTH)\n")
    result = kernel.run("r = %cascade_rerun last --exact\nr.config")

    assert result.stdout.endswith("first version 2\n")
    assert result.value() == {"WIDTH": 2}


def test_magics_rerun_exact_after_script_deleted(kernel, workdir):
    (workdir / "gone.py").write_text("DEPTH = 1\nprint('depth', DEPTH)\n")
    kernel.run("%cascade_run gone.py --DEPTH 2")
    (workdir / "gone.py").unlink()
    result = kernel.run("r = %cascade_rerun last --exact --DEPTH 3\nr.config")

    assert result.stdout.endswith("depth 3\n")
    assert result.value() == {"DEPTH": 3}


def test_magics_rerun_unknown_ref(kernel):
    result = kernel.run("%cascade_rerun nosuchrun")

    assert result.stderr.startswith("UsageError: ")
    assert "'nosuchrun'" in result.stderr


def test_magics_rerun_last(kernel):
    kernel.run("%cascade_run train.py --LR 0.5")
    result = kernel.run("r = %cascade_rerun last --EPOCHS 1\n(r.config, r.status)")

    assert "lr 0.5 epochs 1" in result.stdout
    assert result.value() == ({"LR": 0.5, "EPOCHS": 1}, "completed")


def test_magics_help_has_example(kernel):
    result = kernel.run("from cascade_ext.magics import CascadeMagics\n"
                        "[name for name in ['cascade_run', 'cascade_rerun', 'cascade_runs', 'cascade_show',"
                        " 'cascade_diff', 'cascade_config', 'cascade_panel']"
                        " if 'In [1]:' not in getattr(CascadeMagics, name).__doc__]")

    assert result.value() == []


# Terminal IPython ------------------------------------------------------------------


def test_magics_runs_plain_text_in_terminal(workdir):
    env = {key: value for key, value in os.environ.items() if key != "PYTHONUNBUFFERED"}
    env["CASCADE_ROOT"] = str(workdir / ".cascade")
    commands = (
        "%load_ext cascade_ext\n"
        "%cascade_run say.py --PROMPT term\n"
        "%cascade_runs --last 1\n"
        "%cascade_diff last last\n"
        "%cascade_show last\n"
        "%cascade_run boom.py\n"
        "r = %cascade_run say.py --PROMPT background --bg\n"
        "r.wait(), r.log_text()\n"
        "exit\n"
    )
    completed = subprocess.run(
        [sys.executable, "-m", "IPython", "--simple-prompt", "--no-banner", "--colors=nocolor"],
        input=commands, capture_output=True, text=True, cwd=workdir, env=env, timeout=120,
    )

    assert "'term'" in completed.stdout
    assert "run id" in completed.stdout
    assert "<table>" not in completed.stdout
    assert "--PROMPT term" in completed.stdout
    assert "No differences in config, overrides, metrics or source." in completed.stdout
    assert "  config:     PROMPT='term'*   (* overridden)" in completed.stdout
    assert "ZeroDivisionError: float division by zero\nboom.py failed with exit status 1. Run folder: " in completed.stdout
    assert "cascade_ext" not in completed.stdout + completed.stderr
    assert re.search(r"Run \S+ started in the background; its output goes to \S+cascade_run\.log\.", completed.stdout)
    assert "(0, \"'background'\\n\")" in completed.stdout
    assert "VBox" not in completed.stdout


def test_magics_panel_shows_widget(kernel):
    result = kernel.run("p = %cascade_panel train.py --name from-panel\n(type(p).__name__, p.run_options['name'])\n")
    shown = kernel.run("p")

    assert result.value() == ("Panel", "from-panel")
    assert "application/vnd.jupyter.widget-view+json" in shown.outputs[0].data


def test_magics_panel_missing_script(kernel):
    result = kernel.run("%cascade_panel nothere.py")

    assert re.match(r"UsageError: Script not found: .*nothere\.py", result.stderr)


@pytest.mark.parametrize(
    "line",
    [
        pytest.param("%cascade_run -h", id="before-script"),
        pytest.param("%cascade_run train.py --help", id="after-script"),
    ],
)
def test_magics_run_help_option(kernel, line):
    before = kernel.run_folders()
    result = kernel.run(line)

    assert result.stdout.startswith("::\n\n  %cascade_run [-y]")
    assert "--max-lines MAX_LINES" in result.stdout
    assert result.error is None
    assert kernel.run_folders() == before
