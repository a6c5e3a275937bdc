"""Tests of run browsing: filtered listings, the index, pandas tables, diffs, removal, pruning, logs."""

from __future__ import annotations

import codecs
import os
import signal
import subprocess
import sys
import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from process_helpers import process_gone, wait_for

import cascade_core
from cascade_core import browse, store
from cascade_core.errors import (
    InvalidAgeError,
    InvalidRunFilterError,
    MissingDependencyError,
    RunInProgressError,
)

TRAIN = '''\
import sys

from cascade_core import log_metric

LR = 0.1
SIZE = (2, 2)
print("lr", LR)
log_metric("loss", LR * 10)
sys.exit(1 if LR < 0 else 0)
'''

GATED = '''\
import time
from pathlib import Path

print("step 0", flush=True)
while not Path(__file__).with_name("release").exists():
    time.sleep(0.05)
print("step 1")
print("done")
'''

SLEEPER = '''\
import time

print("sleeping", flush=True)
time.sleep(120)
'''


@pytest.fixture
def root(tmp_path) -> Path:
    return tmp_path / ".cascade"


def write_script(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def make_run(folder: Path, root: Path, script_name: str = "train.py", text: str = TRAIN, *overrides, **options):
    script = write_script(folder, script_name, text)
    return cascade_core.run(script, *overrides, root=root, **options)


@pytest.fixture
def three_runs(tmp_path, root):
    """A completed run, a failed one named `neg` tagged `bad`, and a run of another script."""
    first = make_run(tmp_path, root, "train.py", TRAIN, "--LR", "0.5", tags=("base",))
    second = make_run(tmp_path, root, "train.py", TRAIN, "--LR", "-1.0", name="neg", tags=("bad", "base"))
    third = make_run(tmp_path / "other", root, "eval.py", TRAIN, name="eval-1")
    return first, second, third


# Listing -------------------------------------------------------------------


def test_find_runs_oldest_first(three_runs, root):
    listed = browse.find_runs(root=root)

    assert [run.id for run in listed] == [run.id for run in three_runs]
    assert isinstance(listed, browse.RunList)


def test_find_runs_last(three_runs, root):
    listed = browse.find_runs(root=root, last=2)

    assert [run.id for run in listed] == [three_runs[1].id, three_runs[2].id]


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        pytest.param({"status": "completed"}, [0, 2], id="status-completed"),
        pytest.param({"status": "failed"}, [1], id="status-failed"),
        pytest.param({"status": "running"}, [], id="status-running"),
        pytest.param({"script": "train.py"}, [0, 1], id="script-name"),
        pytest.param({"script": "other/eval.py"}, [2], id="script-parts"),
        pytest.param({"script": "*.py"}, [0, 1, 2], id="script-glob"),
        pytest.param({"script": "rain.py"}, [], id="script-partial-name"),
        pytest.param({"name": "neg"}, [1], id="name"),
        pytest.param({"name": "eval-*"}, [2], id="name-glob"),
        pytest.param({"tag": "base"}, [0, 1], id="tag"),
        pytest.param({"tag": ("base", "bad")}, [1], id="tags-all"),
        pytest.param({"tag": "base", "last": 1}, [1], id="tag-last"),
        pytest.param({"status": "completed", "last": 1}, [2], id="status-last"),
    ],
)
def test_find_runs_filters(three_runs, root, filters, expected):
    listed = browse.find_runs(root=root, **filters)

    assert [run.id for run in listed] == [three_runs[index].id for index in expected]


def test_find_runs_is_the_package_runs(three_runs, root):
    listed = cascade_core.runs(root=root, status="failed")

    assert [run.id for run in listed] == [three_runs[1].id]


def test_find_runs_skips_folder_without_metadata(three_runs, root):
    (root / "runs" / "29991231-235959-999-0000").mkdir()
    (root / "runs" / "29991231-235959-999-0001").mkdir()
    (root / "runs" / "29991231-235959-999-0001" / store.META_FILE).write_text("{partial", encoding="utf-8")

    newest = browse.find_runs(root=root, last=2)
    failed = browse.find_runs(root=root, status="failed")

    assert [run.id for run in newest] == [three_runs[1].id, three_runs[2].id]
    assert [run.id for run in failed] == [three_runs[1].id]


def test_find_runs_empty_store(tmp_path):
    assert browse.find_runs(root=tmp_path / "none") == []


@pytest.mark.parametrize(
    ("filters", "message"),
    [
        pytest.param(
            {"status": "done"},
            r"Invalid status 'done': expected one of running, completed, failed, interrupted, lost\.",
            id="status",
        ),
        pytest.param({"last": -1}, r"Invalid count -1 for last: expected a whole number, 0 or more\.", id="negative"),
        pytest.param({"last": 2.5}, r"Invalid count 2\.5 for last", id="float"),
    ],
)
def test_find_runs_invalid_filter(root, filters, message):
    with pytest.raises(InvalidRunFilterError, match=message):
        browse.find_runs(root=root, **filters)


def test_find_runs_lost_runner(tmp_path, root):
    script = write_script(tmp_path, "sleeper.py", SLEEPER)
    command = [sys.executable, "-m", "cascade_core", "run", str(script), "-y", "--root", str(root)]
    runner = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        folder = wait_for(lambda: next(iter(store.run_folders(root)), None))
        child_pid = wait_for(lambda: (store.read_json(folder / store.META_FILE) or {}).get("pid"))
        assert [run.status for run in browse.find_runs(root=root)] == ["running"]

        runner.send_signal(signal.SIGKILL)
        runner.wait(timeout=30)

        listed = browse.find_runs(root=root, status="lost")
        assert [run.id for run in listed] == [folder.name]
        assert browse.find_runs(root=root, status="running") == []
    finally:
        runner.kill()
        runner.wait(timeout=30)
        meta = store.read_json(folder / store.META_FILE) or {}
        if meta.get("pid"):
            os.kill(meta["pid"], signal.SIGKILL)
    wait_for(lambda: process_gone(child_pid))


# The index -----------------------------------------------------------------


def test_index_caches_finished_runs(three_runs, root):
    browse.find_runs(root=root, status="completed")

    index = store.read_json(root / browse.INDEX_FILE)
    assert index["version"] == browse.INDEX_VERSION
    assert sorted(index["runs"]) == sorted(run.id for run in three_runs)
    assert index["runs"][three_runs[1].id]["status"] == "failed"
    assert index["runs"][three_runs[1].id]["tags"] == ["bad", "base"]


def test_index_rebuilt_after_deletion(three_runs, root):
    before = [run.id for run in browse.find_runs(root=root, tag="base")]
    (root / browse.INDEX_FILE).unlink()

    after = [run.id for run in browse.find_runs(root=root, tag="base")]

    assert after == before
    assert (root / browse.INDEX_FILE).is_file()


def test_index_entry_refreshed_when_meta_changes(three_runs, root):
    browse.find_runs(root=root, name="neg")
    meta_path = three_runs[0].path / store.META_FILE
    meta = store.read_json(meta_path)
    meta["name"] = "renamed"
    store.write_json(meta_path, meta)

    listed = browse.find_runs(root=root, name="renamed")

    assert [run.id for run in listed] == [three_runs[0].id]


def test_index_ignores_removed_folders(three_runs, root):
    browse.find_runs(root=root, status="completed")
    browse.remove_runs([three_runs[0]])

    listed = browse.find_runs(root=root, status="completed")

    assert [run.id for run in listed] == [three_runs[2].id]
    assert three_runs[0].id not in store.read_json(root / browse.INDEX_FILE)["runs"]


def test_index_corrupt_file_is_rebuilt(three_runs, root):
    (root / browse.INDEX_FILE).write_text("{not json", encoding="utf-8")

    listed = browse.find_runs(root=root, status="failed")

    assert [run.id for run in listed] == [three_runs[1].id]
    assert store.read_json(root / browse.INDEX_FILE)["version"] == browse.INDEX_VERSION


# pandas --------------------------------------------------------------------


def test_to_pandas_table(three_runs, root):
    frame = browse.find_runs(root=root).to_pandas()

    assert list(frame.index) == [run.id for run in three_runs]
    assert frame.index.name == "id"
    assert list(frame.columns) == [
        "status", "name", "tags", "script", "started_at", "duration", "config.LR", "config.SIZE", "metric.loss",
    ]
    assert list(frame["status"]) == ["completed", "failed", "completed"]
    assert list(frame["config.LR"]) == [0.5, -1.0, 0.1]
    assert frame["config.SIZE"].iloc[0] == (2, 2)
    assert list(frame["metric.loss"]) == [5.0, -10.0, 1.0]
    assert frame["tags"].iloc[1] == ["bad", "base"]


def test_to_pandas_without_pandas(monkeypatch):
    monkeypatch.setitem(sys.modules, "pandas", None)

    with pytest.raises(MissingDependencyError, match=r"pip install 'cascade-ext\[pandas\]'"):
        browse.RunList().to_pandas()


# Diff ----------------------------------------------------------------------


def test_diff_runs_rows(three_runs):
    first, second, _ = three_runs

    diff = browse.diff_runs(first, second)

    assert diff.config == [("LR", 0.5, -1.0)]
    assert diff.overrides == [("LR", 0.5, -1.0)]
    assert diff.metrics == [("loss", 5.0, -10.0)]
    assert "-LR = 0.5\n+LR = -1.0\n" in diff.source


def test_diff_runs_missing_key_and_type(tmp_path, root):
    first = make_run(tmp_path, root, "a.py", "SIZE = (1, 2)\n")
    second = make_run(tmp_path, root, "b.py", "SIZE = [1, 2]\nEXTRA = None\n")

    diff = browse.diff_runs(first, second)

    assert diff.config == [("SIZE", (1, 2), [1, 2]), ("EXTRA", browse.MISSING, None)]


def test_format_diff_text(three_runs):
    first, second, _ = three_runs

    text = browse.format_diff(browse.diff_runs(first, second))

    assert text.startswith(f"--- {first.id}\n+++ {second.id}\n\nconfig:\n  LR  0.5  ->  -1.0\n")
    assert "\nmetrics:\n  loss  5.0  ->  -10.0\n" in text
    assert f"\nsource:\n--- {first.id}/cascade_run_script.py\n+++ {second.id}/cascade_run_script.py\n" in text


def test_format_diff_identical(tmp_path, root):
    first = make_run(tmp_path, root)
    second = make_run(tmp_path, root)

    text = browse.format_diff(browse.diff_runs(first, second))

    assert text == f"--- {first.id}\n+++ {second.id}\nNo differences in config, overrides, metrics or source.\n"


# Removing and pruning ------------------------------------------------------


def test_remove_runs_deletes_folders(three_runs, root):
    browse.remove_runs(three_runs[:2])

    assert [folder.name for folder in store.run_folders(root)] == [three_runs[2].id]


def test_remove_runs_refuses_running_run(tmp_path, root):
    finished = make_run(tmp_path, root)
    running = cascade_core.start(write_script(tmp_path, "sleeper.py", SLEEPER), root=root)
    try:
        with pytest.raises(RunInProgressError, match=rf"Run {running.id} is still running: stop it first"):
            browse.remove_runs([finished, running])

        assert finished.path.is_dir()
        assert running.path.is_dir()
    finally:
        running.stop()
        running.wait(timeout=60)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("30d", timedelta(days=30), id="days"),
        pytest.param("12h", timedelta(hours=12), id="hours"),
        pytest.param("90m", timedelta(minutes=90), id="minutes"),
        pytest.param("45s", timedelta(seconds=45), id="seconds"),
        pytest.param("2w", timedelta(weeks=2), id="weeks"),
        pytest.param("1d12h", timedelta(days=1, hours=12), id="combined"),
        pytest.param(" 1.5h ", timedelta(minutes=90), id="fraction"),
        pytest.param("0s", timedelta(0), id="zero"),
        pytest.param("7D", timedelta(days=7), id="upper-case"),
    ],
)
def test_parse_age_valid(text, expected):
    assert browse.parse_age(text) == expected


@pytest.mark.parametrize("text", ["30", "d", "30x", "-3d", "3 days", "", "1d 2y"])
def test_parse_age_invalid(text):
    message = rf"Invalid age {text!r}: expected a number and a unit \(w, d, h, m or s\), e\.g\. 30d, 12h or 1d12h\."
    with pytest.raises(InvalidAgeError, match=message):
        browse.parse_age(text)


def test_select_prune_by_age_and_status(three_runs, root):
    now = datetime.now(timezone.utc)

    assert browse.select_prune("1d", root=root, now=now) == []
    later = now + timedelta(days=31)
    assert [run.id for run in browse.select_prune("30d", root=root, now=later)] == [run.id for run in three_runs]
    failed = browse.select_prune(timedelta(days=30), status="failed", root=root, now=later)
    assert [run.id for run in failed] == [three_runs[1].id]


def test_select_prune_skips_running(tmp_path, root):
    running = cascade_core.start(write_script(tmp_path, "sleeper.py", SLEEPER), root=root)
    try:
        later = datetime.now(timezone.utc) + timedelta(days=1)
        assert browse.select_prune("1h", root=root, now=later) == []
    finally:
        running.stop()
        running.wait(timeout=60)


# Logs ----------------------------------------------------------------------


def test_follow_log_until_end(tmp_path, root):
    running = cascade_core.start(write_script(tmp_path, "gated.py", GATED), root=root)
    pieces = []
    seen_while_running = []

    def collect(text):
        pieces.append(text)
        if running.poll() is None:
            seen_while_running.append(text)
            (tmp_path / "release").touch()

    status = browse.follow_log(browse.find_runs(root=root)[-1], collect, interval=0.05)

    assert status == "completed"
    assert "".join(pieces) == "step 0\nstep 1\ndone\n"
    assert "".join(seen_while_running).startswith("step 0\n")


def test_follow_log_finished_run(tmp_path, root):
    finished = make_run(tmp_path, root)
    pieces = []

    status = browse.follow_log(finished, pieces.append)

    assert status == "completed"
    assert "".join(pieces) == "lr 0.1\n"


def test_follow_log_character_split_across_reads(tmp_path):
    log = tmp_path / "cascade_run.log"
    data = "точность ✓\n".encode("utf-8")
    log.write_bytes(data[:1])
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    pieces = []

    position = browse._write_new_text(log, 0, decoder, pieces.append)
    log.write_bytes(data)
    browse._write_new_text(log, position, decoder, pieces.append)

    assert position == 1
    assert "".join(pieces) == "точность ✓\n"


def test_log_exists(tmp_path, root):
    with_log = make_run(tmp_path, root)
    without_log = make_run(tmp_path, root, no_log=True)

    assert browse.log_exists(with_log)
    assert not browse.log_exists(without_log)


def test_follow_log_thread_sees_growth(tmp_path, root):
    running = cascade_core.start(write_script(tmp_path, "gated.py", GATED), root=root)
    pieces = []
    follower = threading.Thread(target=browse.follow_log, args=(running, pieces.append, 0.05))
    follower.start()

    wait_for(lambda: "step 0" in "".join(pieces))
    still_running = running.poll() is None
    (tmp_path / "release").touch()
    follower.join(timeout=60)

    assert still_running
    assert "".join(pieces) == "step 0\nstep 1\ndone\n"
