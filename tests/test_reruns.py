"""Tests of reruns: forced recorded config, new overrides, script changes, --exact and source snapshots."""

from __future__ import annotations

import json
import logging
import shutil
import warnings
from pathlib import Path

import pytest

import cascade_core
from cascade_core import store
from cascade_core.errors import (
    AmbiguousRunError,
    RunNotFoundError,
    ScriptChangedWarning,
    ScriptNotFoundError,
    UnknownBaseKeyError,
    UnknownKeyError,
)
from cascade_core.reruns import local_modules, plan_rerun, snapshot_sources, start_rerun

TYPES = '''\
from cascade_core import Config


class Train(Config):
    lr = 0.1
    size = (224, 224)
    labels = {"cat", "dog"}
    weights = {0: 1.0, 1: 2.5}
    scale: float = 1.0
    note = None


for key, value in vars(Train).items():
    if not key.startswith("_"):
        print(key, repr(value), type(value).__name__)
'''

HELPERS = "def double(x):\n    return 2 * x\n"

USES_HELPERS = '''\
import sys

from helpers import double

K = 3
print(double(K), sys.argv[1:])
'''


@pytest.fixture
def root(tmp_path) -> Path:
    return tmp_path / ".cascade"


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def rerun(ref, *overrides, **options):
    handle = start_rerun(ref, *overrides, **options)
    handle.wait(timeout=120)
    return handle


def printed(run) -> dict[str, str]:
    """The `key repr type` lines that TYPES prints, by key."""
    return {line.split(" ", 1)[0]: line.split(" ", 1)[1] for line in run.log_text().splitlines()}


# Exact types ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "value", "shown"),
    [
        pytest.param("size", (32, 48), "(32, 48) tuple", id="tuple"),
        pytest.param("labels", {"bird"}, "{'bird'} set", id="set"),
        pytest.param("weights", {3: 0.5, (1, 2): 1.0}, "{3: 0.5, (1, 2): 1.0} dict", id="typed-dict-keys"),
        pytest.param("scale", 2.0, "2.0 float", id="float-whole"),
        pytest.param("lr", 1e-7, "1e-07 float", id="float-small"),
        pytest.param("note", ("a", None), "('a', None) tuple", id="tuple-for-none-default"),
    ],
)
def test_rerun_restores_exact_types(tmp_path, root, key, value, shown):
    script = write(tmp_path, "types.py", TYPES)
    first = cascade_core.run(script, {key: value}, root=root)
    assert printed(first)[key] == shown

    again = rerun(first.id, root=root)

    assert again.status == "completed"
    assert printed(again)[key] == shown
    assert again.overrides == {key: value}
    assert type(again.overrides[key]) is type(value)


def test_rerun_forces_recorded_config_over_new_defaults(tmp_path, root):
    script = write(tmp_path, "types.py", TYPES)
    first = cascade_core.run(script, root=root)
    script.write_text(TYPES.replace("lr = 0.1", "lr = 0.5"), encoding="utf-8")

    with pytest.warns(ScriptChangedWarning):
        again = rerun("last", root=root)

    assert printed(again)["lr"] == "0.1 float"
    assert again.config["lr"] == 0.1
    assert again.overrides == {"lr": 0.1}
    assert first.status == again.status == "completed"


def test_rerun_new_overrides_on_top(tmp_path, root):
    script = write(tmp_path, "types.py", TYPES)
    first = cascade_core.run(script, "--size", "(1, 1)", "--lr", "0.2", root=root)

    again = rerun(first.id, "--lr", "0.3", root=root)

    assert printed(again)["lr"] == "0.3 float"
    assert printed(again)["size"] == "(1, 1) tuple"
    assert again.overrides == {"size": (1, 1), "lr": 0.3}


def test_rerun_typed_mapping_overrides(tmp_path, root):
    script = write(tmp_path, "types.py", TYPES)
    cascade_core.run(script, root=root)

    again = rerun("last", {"scale": 3}, root=root)

    assert printed(again)["scale"] == "3.0 float"


def test_rerun_records_base_and_options(tmp_path, root):
    script = write(tmp_path, "types.py", TYPES)
    first = cascade_core.run(script, root=root)

    again = rerun(first.id, root=root, name="again", tags=("rerun",))

    assert again.meta["base"] == first.id
    assert again.name == "again"
    assert again.tags == ["rerun"]


def test_rerun_invalid_override_creates_no_run(tmp_path, root):
    script = write(tmp_path, "types.py", TYPES)
    cascade_core.run(script, root=root)

    with pytest.raises(UnknownKeyError, match=r"lrr"):
        start_rerun("last", "--lrr", "0.1", root=root)

    assert len(store.run_folders(root)) == 1


# Script changes ------------------------------------------------------------


def test_plan_rerun_script_diff(tmp_path, root):
    script = write(tmp_path, "train.py", "LR = 0.1\nprint(LR)\n")
    first = cascade_core.run(script, "--LR", "0.2", root=root)
    script.write_text("LR = 0.1\nprint(LR)\nprint('new')\n", encoding="utf-8")

    plan = plan_rerun(first.id, root=root)

    assert plan.script_diff == (
        f"--- {first.id}/sources/train.py\n"
        f"+++ {script}\n"
        "@@ -1,2 +1,3 @@\n"
        " LR = 0.1\n"
        " print(LR)\n"
        "+print('new')\n"
    )


def test_plan_rerun_diff_of_local_modules(tmp_path, root):
    helpers = write(tmp_path, "helpers.py", HELPERS)
    script = write(tmp_path, "uses.py", USES_HELPERS)
    first = cascade_core.run(script, root=root)
    helpers.write_text("def double(x):\n    return x + x\n", encoding="utf-8")

    plan = plan_rerun(first.id, root=root)

    assert plan.script_diff == (
        f"--- {first.id}/sources/helpers.py\n"
        f"+++ {helpers}\n"
        "@@ -1,2 +1,2 @@\n"
        " def double(x):\n"
        "-    return 2 * x\n"
        "+    return x + x\n"
    )


def test_plan_rerun_deleted_local_module(tmp_path, root):
    helpers = write(tmp_path, "helpers.py", HELPERS)
    script = write(tmp_path, "uses.py", USES_HELPERS)
    first = cascade_core.run(script, root=root)
    helpers.unlink()

    plan = plan_rerun(first.id, root=root)

    assert plan.script_diff.startswith(f"--- {first.id}/sources/helpers.py\n+++ {helpers} (deleted)\n")


def test_plan_rerun_unchanged_script_has_no_diff(tmp_path, root):
    script = write(tmp_path, "train.py", "LR = 0.1\nprint(LR)\n")
    cascade_core.run(script, "--LR", "0.2", root=root)

    assert plan_rerun("last", root=root).script_diff == ""


def test_plan_rerun_without_snapshot_compares_source_that_ran(tmp_path, root):
    script = write(tmp_path, "train.py", "LR = 0.1\nprint(LR)\n")
    first = cascade_core.run(script, "--LR", "0.2", root=root)
    shutil.rmtree(first.path / "sources")

    diff = plan_rerun(first.id, root=root).script_diff

    assert diff.startswith(f"--- {first.id}/cascade_run_script.py\n")
    assert "-LR = 0.2\n+LR = 0.1\n" in diff


def test_start_rerun_warns_with_diff(tmp_path, root):
    script = write(tmp_path, "train.py", "LR = 0.1\nprint(LR)\n")
    first = cascade_core.run(script, root=root)
    script.write_text("LR = 0.1\nprint(LR * 2)\n", encoding="utf-8")

    with pytest.warns(ScriptChangedWarning, match=r"changed since run") as caught:
        again = rerun(first.id, root=root)

    assert "-print(LR)\n+print(LR * 2)\n" in str(caught[0].message)
    assert again.log_text() == "0.2\n"


def test_start_rerun_unchanged_script_does_not_warn(tmp_path, root):
    script = write(tmp_path, "train.py", "LR = 0.1\nprint(LR)\n")
    cascade_core.run(script, root=root)

    with warnings.catch_warnings():
        warnings.simplefilter("error", ScriptChangedWarning)
        rerun("last", root=root)


def test_rerun_removed_key_is_an_error(tmp_path, root):
    script = write(tmp_path, "train.py", "LR = 0.1\nDROPOUT = 0.5\nprint(LR)\n")
    first = cascade_core.run(script, root=root)
    script.write_text("LR = 0.1\nprint(LR)\n", encoding="utf-8")

    message = (
        rf"Key 'DROPOUT' recorded in run {first.id} is not a field of train\.py's config "
        r"\(fields: LR\)\. Pass -f to add it to the new run's config\.$"
    )
    with pytest.raises(UnknownBaseKeyError, match=message):
        start_rerun(first.id, root=root)

    assert len(store.run_folders(root)) == 1


def test_rerun_removed_key_added_with_force(tmp_path, root):
    script = write(tmp_path, "train.py", "LR = 0.1\nDROPOUT = 0.5\nprint(LR)\n")
    first = cascade_core.run(script, "--DROPOUT", "0.25", root=root)
    script.write_text("LR = 0.1\nprint(LR, globals().get('DROPOUT'))\n", encoding="utf-8")

    with pytest.warns(ScriptChangedWarning):
        again = rerun(first.id, root=root, force=True)

    assert again.log_text() == "0.1 0.25\n"
    assert again.config == {"LR": 0.1, "DROPOUT": 0.25}
    source = (again.path / store.SCRIPT_FILE).read_text(encoding="utf-8")
    assert source == "LR = 0.1; DROPOUT = 0.25\nprint(LR, globals().get('DROPOUT'))\n"


def test_rerun_deleted_script(tmp_path, root):
    script = write(tmp_path, "train.py", "LR = 0.1\n")
    first = cascade_core.run(script, root=root)
    script.unlink()

    message = rf"Cannot rerun {first.id}: its script '.*train\.py' no longer exists\. Pass --exact to run the source"
    with pytest.raises(ScriptNotFoundError, match=message):
        start_rerun(first.id, root=root)


# References ----------------------------------------------------------------


def test_rerun_references(tmp_path, root):
    script = write(tmp_path, "train.py", "LR = 0.1\nprint(LR)\n")
    first = cascade_core.run(script, "--LR", "0.7", root=root)

    by_path = plan_rerun(str(first.path), root=root)
    by_prefix = plan_rerun(first.id[:-2], root=root)
    by_last = plan_rerun("last", root=root)

    assert by_path.run.id == by_prefix.run.id == by_last.run.id == first.id


def test_rerun_model_folder_reference(tmp_path, root, monkeypatch):
    monkeypatch.chdir(tmp_path)
    script = write(
        tmp_path,
        "save.py",
        "from cascade_core import Model, ModelLine\n\nLR = 0.1\nModelLine('line').save(Model())\nprint(LR)\n",
    )
    first = cascade_core.run(script, "--LR", "0.4", root=root)
    assert first.status == "completed", first.log_text()

    again = rerun(str(tmp_path / "line" / "00000"), root=root)

    assert again.meta["base"] == first.id
    assert again.log_text() == "0.4\n"


def test_rerun_unknown_and_ambiguous_references(tmp_path, root):
    script = write(tmp_path, "train.py", "LR = 0.1\n")
    cascade_core.run(script, root=root)
    cascade_core.run(script, root=root)

    with pytest.raises(RunNotFoundError, match=r"No run matches run reference 'zzz'"):
        plan_rerun("zzz", root=root)
    with pytest.raises(AmbiguousRunError, match=r"Run id prefix '2' matches 2 runs"):
        plan_rerun("2", root=root)


# Script arguments ----------------------------------------------------------


def test_rerun_reuses_recorded_arguments(tmp_path, root):
    write(tmp_path, "helpers.py", HELPERS)
    script = write(tmp_path, "uses.py", USES_HELPERS)
    cascade_core.run(script, "--", "a", "b", root=root)

    again = rerun("last", root=root)
    replaced = rerun("last", "--", "c", root=root)

    assert again.log_text() == "6 ['a', 'b']\n"
    assert replaced.log_text() == "6 ['c']\n"


# --exact and source snapshots ----------------------------------------------


def test_rerun_exact_runs_saved_sources(tmp_path, root):
    helpers = write(tmp_path, "helpers.py", HELPERS)
    script = write(tmp_path, "uses.py", USES_HELPERS)
    first = cascade_core.run(script, "--K", "5", root=root)
    helpers.write_text("def double(x):\n    return 3 * x\n", encoding="utf-8")
    script.write_text(USES_HELPERS.replace("K = 3", "K = 4"), encoding="utf-8")

    exact = rerun(first.id, exact=True, root=root)
    with pytest.warns(ScriptChangedWarning, match=r"\+    return 3 \* x"):
        current = rerun(first.id, root=root)

    assert exact.log_text() == "10 []\n"
    assert current.log_text() == "15 []\n"
    assert exact.script == first.path / "sources" / "uses.py"
    assert (exact.path / "sources" / "helpers.py").read_text(encoding="utf-8") == HELPERS


def test_rerun_exact_with_new_override(tmp_path, root):
    write(tmp_path, "helpers.py", HELPERS)
    script = write(tmp_path, "uses.py", USES_HELPERS)
    first = cascade_core.run(script, root=root)

    exact = rerun(first.id, "--K", "10", exact=True, root=root)

    assert exact.log_text() == "20 []\n"


def test_rerun_exact_without_snapshot(tmp_path, root):
    script = write(tmp_path, "train.py", "LR = 0.1\n")
    first = cascade_core.run(script, root=root)
    shutil.rmtree(first.path / "sources")

    message = rf"Cannot rerun {first.id} exactly: .*sources/train\.py' does not exist"
    with pytest.raises(ScriptNotFoundError, match=message):
        start_rerun(first.id, exact=True, root=root)


def test_snapshot_sources_layout(tmp_path):
    project = tmp_path / "proj"
    write(project, "helpers.py", "import json\nfrom pkg import tools\n")
    write(project, "pkg/__init__.py", "from .core import run\n")
    write(project, "pkg/core.py", "from . import util\nfrom ..outside import nothing\n")
    write(project, "pkg/util.py", "X = 1\n")
    write(project, "pkg/tools.py", "from .sub.deep import Y\n")
    write(project, "pkg/sub/__init__.py", "")
    write(project, "pkg/sub/deep.py", "Y = 2\n")
    write(project, "nspace/mod.py", "Z = 3\n")
    write(project, "lazy.py", "W = 4\n")
    write(project, "unused.py", "never imported\n")
    script = write(
        project,
        "train.py",
        "import os\nimport helpers\nimport nspace.mod\n\n"
        "def later():\n    try:\n        import lazy\n    except ImportError:\n        pass\n\n"
        "import missing_module\nfrom pkg import *\n",
    )

    copied = snapshot_sources(script, tmp_path / "run")

    names = sorted(path.relative_to(tmp_path / "run" / "sources").as_posix() for path in copied)
    assert names == [
        "helpers.py",
        "lazy.py",
        "nspace/mod.py",
        "pkg/__init__.py",
        "pkg/core.py",
        "pkg/sub/__init__.py",
        "pkg/sub/deep.py",
        "pkg/tools.py",
        "pkg/util.py",
        "train.py",
    ]
    assert copied[0] == tmp_path / "run" / "sources" / "train.py"
    assert (tmp_path / "run" / "sources" / "pkg" / "core.py").read_text(encoding="utf-8") == (
        "from . import util\nfrom ..outside import nothing\n"
    )


def test_local_modules_ignores_site_packages(tmp_path):
    script = write(tmp_path, "train.py", "import click\nimport yaml\nimport cascade_core\n")

    assert local_modules(script) == [script.resolve()]


def test_snapshot_sources_bad_module_is_logged(tmp_path, caplog):
    write(tmp_path, "broken.py", "def (:\n")
    script = write(tmp_path, "train.py", "import broken\n")

    with caplog.at_level(logging.WARNING, logger="cascade_core.reruns"):
        copied = snapshot_sources(script, tmp_path / "run")

    assert [path.name for path in copied] == ["train.py", "broken.py"]
    assert "Cannot read the imports of" in caplog.text
    assert "broken.py" in caplog.text


def test_snapshot_sources_notebook(tmp_path):
    write(tmp_path, "helpers.py", HELPERS)
    write(tmp_path, "plots.py", "Y = 1\n")
    cells = [
        {"cell_type": "markdown", "metadata": {}, "source": ["import not_code\n"]},
        {"cell_type": "code", "metadata": {}, "source": ["%matplotlib inline\n", "from helpers import double\n"]},
        {"cell_type": "code", "metadata": {}, "source": "%%bash\nimport this is not python\n"},
        {"cell_type": "code", "metadata": {}, "source": ["!pip list\n", "import plots\n"]},
    ]
    notebook = write(tmp_path, "nb.ipynb", json.dumps({"cells": cells, "metadata": {}, "nbformat": 4}))

    copied = snapshot_sources(notebook, tmp_path / "run")

    assert [path.name for path in copied] == ["nb.ipynb", "helpers.py", "plots.py"]


def test_snapshot_sources_copy_failure_is_logged(tmp_path, caplog):
    module = write(tmp_path, "pkg/__init__.py", "X = 1\n")
    script = write(tmp_path, "train.py", "import pkg\n")
    write(tmp_path, "run/sources/pkg", "a file where the package folder should go\n")

    with caplog.at_level(logging.WARNING, logger="cascade_core.reruns"):
        copied = snapshot_sources(script, tmp_path / "run")

    assert [path.name for path in copied] == ["train.py"]
    assert f"Cannot copy {module} into the source snapshot" in caplog.text
