"""Tests of the cascade_ext package: a light import, the panel name, loading and unloading."""

from __future__ import annotations

import subprocess
import sys

import pytest

import cascade_ext
from kernel_helpers import NotebookKernel

HEAVY = ("IPython", "ipywidgets", "nbclient", "dask", "optuna", "pandas")


def test_init_import_is_light():
    code = (
        "import sys, cascade_ext\n"
        f"print(sorted(name for name in {HEAVY!r} if name in sys.modules))"
    )
    completed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)

    assert completed.stdout == "[]\n", completed.stderr


def test_init_panel_stays_function_after_submodule_import():
    import cascade_ext.panel  # noqa: F401  (the import that would rebind the name)

    assert callable(cascade_ext.panel)
    assert cascade_ext.panel.__module__ == "cascade_ext"


def test_init_panel_forwards_to_panel_module(tmp_path):
    script = tmp_path / "cfg.py"
    script.write_text("LR = 0.01\nEPOCHS = 3\n")

    built = cascade_ext.panel(script)

    assert type(built).__module__ == "cascade_ext.panel"
    assert [control.field.key for control in built.controls] == ["LR", "EPOCHS"]


def test_init_last_run_none_before_any_run():
    completed = subprocess.run(
        [sys.executable, "-c", "import cascade_ext; print(cascade_ext.last_run())"],
        capture_output=True, text=True, timeout=60,
    )

    assert completed.stdout == "None\n", completed.stderr


@pytest.mark.kernel
def test_init_load_registers_and_unload_restores(tmp_path):
    with NotebookKernel(tmp_path) as kernel:
        kernel.run("ip = get_ipython()\nbefore = (ip.custom_exceptions, ip.CustomTB)")
        loaded = kernel.run(
            "%load_ext cascade_ext\n"
            "from cascade_core.run import Run\n"
            "(sorted(name for name in ip.magics_manager.magics['line'] if name.startswith('cascade_')),"
            " [e.__name__ for e in ip.custom_exceptions], hasattr(Run, '_repr_html_'))"
        )
        unloaded = kernel.run(
            "%unload_ext cascade_ext\n"
            "((ip.custom_exceptions, ip.CustomTB) == before, hasattr(Run, '_repr_html_'),"
            " Run in ip.display_formatter.formatters['text/plain'].type_printers,"
            " [name for name in ip.magics_manager.magics['line'] if name.startswith('cascade_')])"
        )
        reloaded = kernel.run("%load_ext cascade_ext\n%cascade_config --help")

    names, exceptions, has_repr = loaded.value()
    assert names == ["cascade_config", "cascade_diff", "cascade_panel", "cascade_rerun", "cascade_run",
                     "cascade_runs", "cascade_show"]
    assert exceptions == ["RunFailedError", "RunInterrupted"]
    assert has_repr
    assert unloaded.value() == (True, False, False, [])
    assert reloaded.stdout.startswith("::\n\n  %cascade_config")
