"""Tests of notebook config discovery: Config classes in cells and the parameters cell."""

from __future__ import annotations

import json

import pytest

from cascade_core.discovery import discover
from cascade_core.errors import ScriptError


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
