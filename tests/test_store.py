"""Tests of cascade_core.store: the store folder, run ids, JSON files, listing and references."""

from __future__ import annotations

import json
import os
import re
import socket
import threading

import pytest

from cascade_core import store
from cascade_core.errors import AmbiguousRunError, RunNotFoundError

RUN_ID = re.compile(r"\d{8}-\d{6}-\d{3}-[0-9a-f]{4}\Z")


@pytest.fixture(autouse=True)
def _no_root_env(monkeypatch):
    monkeypatch.delenv(store.ROOT_ENV, raising=False)


def make_run(root, run_id, status="completed", script="/x/train.py", **extra):
    folder = root / "runs" / run_id
    folder.mkdir(parents=True)
    store.write_json(folder / store.META_FILE, {"run_id": run_id, "status": status, "script": script, **extra})
    return folder


def test_find_root_creates_store_with_gitignore(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)

    root = store.find_root()

    assert root == tmp_path / ".cascade"
    assert (root / "runs").is_dir()
    assert (root / ".gitignore").read_text() == "*\n"


def test_find_root_uses_nearest_parent(tmp_path, monkeypatch):
    (tmp_path / ".cascade").mkdir()
    nested = tmp_path / "a" / "b"
    nested.mkdir(parents=True)
    monkeypatch.chdir(nested)

    assert store.find_root() == tmp_path / ".cascade"


def test_find_root_env_and_argument(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv(store.ROOT_ENV, str(tmp_path / "from-env"))

    assert store.find_root() == tmp_path / "from-env"
    assert store.find_root(tmp_path / "given") == tmp_path / "given"


def test_new_run_id_format():
    run_id = store.new_run_id(now=1796415700.5391138)

    assert RUN_ID.match(run_id)
    assert run_id.startswith("20261204-202140-539-")


def test_create_run_folder_unique_under_threads(tmp_path):
    created = []

    def create():
        created.append(store.create_run_folder(tmp_path)[0])

    threads = [threading.Thread(target=create) for _ in range(32)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(set(created)) == 32
    assert len(list((tmp_path / "runs").iterdir())) == 32


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param((224, 224), [224, 224], id="tuple"),
        pytest.param({"a": (1, 2)}, {"a": [1, 2]}, id="nested"),
        pytest.param({1: "a"}, "{1: 'a'}", id="int-keys"),
        pytest.param({1, 2}, "{1, 2}", id="set"),
        pytest.param(float("nan"), "nan", id="nan"),
        pytest.param(None, None, id="none"),
        pytest.param(True, True, id="bool"),
    ],
)
def test_to_json_value(value, expected):
    assert store.to_json_value(value) == expected


def test_write_json_atomic_and_readable(tmp_path):
    path = tmp_path / "data.json"

    store.write_json(path, {"key": "точность"})

    assert json.loads(path.read_text(encoding="utf-8")) == {"key": "точность"}
    assert [entry.name for entry in tmp_path.iterdir()] == ["data.json"]
    assert oct(path.stat().st_mode & 0o777) == oct(0o644)


def test_write_json_failure_leaves_no_temporary(tmp_path):
    path = tmp_path / "data.json"
    store.write_json(path, {"kept": 1})

    with pytest.raises(TypeError, match="Object of type object is not JSON serializable"):
        store.write_json(path, {"bad": object()})

    assert [entry.name for entry in tmp_path.iterdir()] == ["data.json"]
    assert json.loads(path.read_text(encoding="utf-8")) == {"kept": 1}


def test_read_json_missing_and_broken(tmp_path):
    (tmp_path / "broken.json").write_text("{")

    assert store.read_json(tmp_path / "missing.json", {}) == {}
    assert store.read_json(tmp_path / "broken.json", "fallback") == "fallback"


def test_effective_status_lost_when_runner_dead():
    meta = {"status": "running", "host": socket.gethostname(), "runner_pid": 2**22 + 12345}

    assert store.effective_status(meta) == "lost"


def test_effective_status_running_when_runner_alive():
    pid = os.getpid()
    meta = {"status": "running", "host": socket.gethostname(), "runner_pid": pid,
            "runner_start_time": store.process_start_time(pid)}

    assert store.effective_status(meta) == "running"


def test_effective_status_lost_when_pid_reused():
    pid = os.getpid()
    meta = {"status": "running", "host": socket.gethostname(), "runner_pid": pid, "runner_start_time": "1"}

    assert store.effective_status(meta) == "lost"


@pytest.mark.parametrize(
    ("age", "status"),
    [pytest.param(10, "running", id="fresh"), pytest.param(10_000, "lost", id="stale")],
)
def test_effective_status_other_host_heartbeat(age, status):
    import time

    meta = {"status": "running", "host": "elsewhere.example", "runner_pid": 1, "heartbeat": time.time() - age}

    assert store.effective_status(meta) == status


def test_resolve_last_prefix_and_path(tmp_path):
    root = tmp_path / ".cascade"
    first = make_run(root, "20261204-100000-000-aaaa")
    second = make_run(root, "20261204-110000-000-bbbb")

    assert store.resolve("last", root) == second
    assert store.resolve("20261204-10", root) == first
    assert store.resolve(str(first), root) == first


def test_resolve_model_folder(tmp_path):
    root = tmp_path / ".cascade"
    folder = make_run(root, "20261204-100000-000-aaaa")
    model = tmp_path / "line" / "00003"
    model.mkdir(parents=True)
    (model / "meta.json").write_text(json.dumps([{"type": "model", "run_id": folder.name}]))

    assert store.resolve(str(model), root) == folder


def test_resolve_ambiguous_lists_candidates(tmp_path):
    root = tmp_path / ".cascade"
    make_run(root, "20261204-100000-000-aaaa")
    make_run(root, "20261204-100000-001-bbbb")

    with pytest.raises(AmbiguousRunError, match=r"Run id prefix '2026' matches 2 runs: "
                       r"20261204-100000-000-aaaa, 20261204-100000-001-bbbb\. Give more characters\."):
        store.resolve("2026", root)


def test_resolve_unknown(tmp_path):
    root = tmp_path / ".cascade"
    make_run(root, "20261204-100000-000-aaaa")

    with pytest.raises(RunNotFoundError, match=r"No run matches run reference 'zzz' in .*runs\. "
                       r"Give 'last', a run folder path or a run id prefix \(see: cascade runs\)\."):
        store.resolve("zzz", root)


def test_resolve_last_empty_store(tmp_path):
    with pytest.raises(RunNotFoundError, match=r"No runs yet in .*: 'last' names nothing\."):
        store.resolve("last", tmp_path / ".cascade")


def test_resolve_model_folder_of_missing_run(tmp_path):
    root = tmp_path / ".cascade"
    model = tmp_path / "line" / "00000"
    model.mkdir(parents=True)
    (model / "meta.json").write_text(json.dumps([{"type": "model", "run_id": "20260101-000000-000-dead"}]))

    with pytest.raises(RunNotFoundError, match=r"Model folder '.*00000' was saved by run '20260101-000000-000-dead', "
                       r"which is not in .*runs\. Pass --root with the store that holds that run\."):
        store.resolve(str(model), root)
