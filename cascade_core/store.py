"""The run store: where runs live, how they are named, and how they are found again.

A store is a folder, by default `.cascade/` in the current directory or the
nearest parent that has one. Each run gets `runs/<run_id>/` inside it, with
the file names that cascade-ml 0.18 uses, so its tools work inside our runs.
"""

from __future__ import annotations

import json
import logging
import os
import platform
import time
from datetime import datetime, timezone
from pathlib import Path

from cascade_core.errors import AmbiguousRunError, RunNotFoundError
from cascade_core.metrics import METRICS_FILE  # noqa: F401 (part of the run folder layout listed here)

logger = logging.getLogger(__name__)

STORE_DIRNAME = ".cascade"
ROOT_ENV = "CASCADE_ROOT"

CONFIG_FILE = "cascade_config.json"
OVERRIDES_FILE = "cascade_overrides.json"
META_FILE = "cascade_run_meta.json"
SCRIPT_FILE = "cascade_run_script.py"
NOTEBOOK_FILE = "cascade_run_notebook.ipynb"
VALUES_FILE = "cascade_values.json"
LOG_FILE = "logs/cascade_run.log"
ENVIRONMENT_FILE = "environment.json"
MODELS_FILE = "models.jsonl"

STATUSES = ("running", "completed", "failed", "interrupted", "lost")

HEARTBEAT_INTERVAL = 30.0
"""Seconds between two refreshes of a running run's `heartbeat` time."""

HEARTBEAT_STALE = 4 * HEARTBEAT_INTERVAL
"""Seconds after which a run on another host with no fresh heartbeat is `lost`."""


# Root ----------------------------------------------------------------------


def find_root(root: str | os.PathLike | None = None, create: bool = True) -> Path:
    """Return the store folder to use, creating it when needed.

    Args:
        root: An explicit store folder. When None, `CASCADE_ROOT` is used if
            set, else the nearest `.cascade/` in the current directory or a
            parent, else a new `.cascade/` in the current directory.
        create: Create the folder (and its `.gitignore`) if it does not exist.

    Returns:
        The absolute path of the store folder (the one that contains `runs/`).
    """
    chosen = root if root is not None else os.environ.get(ROOT_ENV) or None
    if chosen is not None:
        path = Path(chosen).expanduser().absolute()
    else:
        path = _nearest_store(Path.cwd()) or Path.cwd() / STORE_DIRNAME

    if create:
        _create_store(path)
    return path


def _nearest_store(start: Path) -> Path | None:
    for folder in (start, *start.parents):
        candidate = folder / STORE_DIRNAME
        if candidate.is_dir():
            return candidate
    return None


def _create_store(path: Path) -> None:
    (path / "runs").mkdir(parents=True, exist_ok=True)
    ignore = path / ".gitignore"
    if not ignore.exists():
        # The store contains logs and copies of scripts, so git should ignore it.
        ignore.write_text("*\n", encoding="utf-8")


# Run ids and folders -------------------------------------------------------


def new_run_id(now: float | None = None) -> str:
    """Return a run id such as `20261204-191426-123-3fa2`: UTC time to the ms, 4 random hex digits."""
    now = time.time() if now is None else now
    stamp = datetime.fromtimestamp(now, timezone.utc)
    millis = int(now * 1000) % 1000
    return f"{stamp:%Y%m%d-%H%M%S}-{millis:03d}-{os.urandom(2).hex()}"


def create_run_folder(root: Path) -> tuple[str, Path]:
    """Create a new, empty run folder under `root/runs/` and return its id and path.

    The folder is created with `os.mkdir`, so two processes starting at the
    same millisecond never share one: the loser draws a new id.
    """
    runs_folder = Path(root) / "runs"
    runs_folder.mkdir(parents=True, exist_ok=True)
    while True:
        run_id = new_run_id()
        path = runs_folder / run_id
        try:
            os.mkdir(path)
        except FileExistsError:
            continue
        return run_id, path


def utc_timestamp(moment: float) -> str:
    """Format a `time.time()` value as ISO 8601 in UTC, e.g. `2026-12-04T19:14:26.123456+00:00`."""
    return datetime.fromtimestamp(moment, timezone.utc).isoformat()


# JSON ----------------------------------------------------------------------


def to_json_value(value: object) -> object:
    """Convert a config value to JSON data.

    Tuples become lists, and anything that JSON cannot represent becomes its repr.
    """
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if value == value and value not in (float("inf"), float("-inf")) else repr(value)
    if isinstance(value, (list, tuple)):
        return [to_json_value(item) for item in value]
    if isinstance(value, dict) and all(isinstance(key, str) for key in value):
        return {key: to_json_value(item) for key, item in value.items()}
    return repr(value)


def write_json(path: Path, data: object) -> None:
    """Write `data` as JSON to `path` atomically (a temporary file in the same folder, then `os.replace`)."""
    path = Path(path)
    handle, temporary = _create_temporary(path)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            json.dump(data, stream, indent=2, ensure_ascii=False)
            stream.write("\n")
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise


def _create_temporary(path: Path) -> tuple[int, Path]:
    """Create a new file `.NAME.RANDOM.tmp` next to `path`, mode 0644, and return its descriptor and path.

    `tempfile.mkstemp` does the same, but importing `tempfile` adds about
    1 ms to every run.
    """
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    for _ in range(100):
        temporary = path.with_name(f".{path.name}.{os.urandom(4).hex()}.tmp")
        try:
            handle = os.open(temporary, flags, 0o600)
        except FileExistsError:
            continue
        if hasattr(os, "fchmod"):
            os.fchmod(handle, 0o644)
        return handle, temporary
    raise FileExistsError(f"Cannot create a temporary file next to {path}: 100 random names were taken.")


def read_json(path: Path, default: object = None) -> object:
    """Read a JSON file, or return `default` when it is missing or unreadable."""
    try:
        with open(path, encoding="utf-8") as stream:
            return json.load(stream)
    except FileNotFoundError:
        return default
    except (OSError, ValueError) as exc:
        logger.warning("Cannot read %s: %s", path, exc)
        return default


# Liveness ------------------------------------------------------------------


def process_start_time(pid: int) -> str | None:
    """Return an opaque start time of process `pid`, or None when unknown.

    On Linux it is the start time in clock ticks from `/proc/PID/stat`, which
    distinguishes a live runner from a later process that reused its pid.
    """
    try:
        with open(f"/proc/{pid}/stat", "rb") as stream:
            text = stream.read().decode("ascii", "replace")
    except OSError:
        return None
    fields = text.rpartition(")")[2].split()
    return fields[19] if len(fields) > 19 else None


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def runner_alive(meta: dict, now: float | None = None) -> bool:
    """Return whether the runner that writes this run's metadata is still alive.

    On the same host the runner's pid and process start time decide. Read
    from another host (a shared filesystem), or on Windows, the heartbeat
    must be fresher than `HEARTBEAT_STALE` seconds.
    """
    runner = meta.get("runner_pid")
    # os.kill(pid, 0) would terminate the process on Windows: use the heartbeat there.
    same_host = os.name == "posix" and meta.get("host") == platform.node()
    if same_host and isinstance(runner, int):
        if not _pid_alive(runner):
            return False
        recorded = meta.get("runner_start_time")
        current = process_start_time(runner)
        return recorded is None or current is None or recorded == current

    heartbeat = meta.get("heartbeat")
    if not isinstance(heartbeat, (int, float)):
        return True
    now = time.time() if now is None else now
    return now - heartbeat < HEARTBEAT_STALE


def effective_status(meta: dict) -> str:
    """Return the run's status, `lost` for a `running` run whose runner is gone."""
    status = meta.get("status", "lost")
    if status == "running" and not runner_alive(meta):
        return "lost"
    return status


# Listing and references ----------------------------------------------------


def run_folders(root: Path) -> list[Path]:
    """Return the run folders under `root/runs/`, oldest first (run ids sort by start time)."""
    runs_folder = Path(root) / "runs"
    try:
        entries = os.scandir(runs_folder)
    except FileNotFoundError:
        return []
    with entries:
        folders = [Path(entry.path) for entry in entries if entry.is_dir() and not entry.name.startswith(".")]
    return sorted(folders, key=lambda folder: folder.name)


def resolve(ref: str, root=None) -> Path:
    """Return the run folder that a run reference names.

    A reference is `last` (the newest run), a path to a run folder, or a
    unique prefix of a run id. It may also be a path to a model folder, that
    is a folder whose `meta.json` records a `run_id`.

    Raises:
        RunNotFoundError: If nothing matches.
        AmbiguousRunError: If a prefix matches several runs. The message lists them.
    """
    store = find_root(root, create=False)
    folders = run_folders(store)
    if ref == "last":
        if not folders:
            raise RunNotFoundError(f"No runs yet in {store}: 'last' names nothing. Start one with: cascade run SCRIPT")
        return folders[-1]

    as_path = Path(ref).expanduser()
    if (as_path / META_FILE).is_file():
        return as_path.absolute()
    model_run = _model_run_id(as_path)
    if model_run is not None:
        return _model_run_folder(ref, model_run, folders, store)
    return _by_prefix(ref, folders, store)


def _model_run_id(folder: Path) -> str | None:
    meta = read_json(folder / "meta.json") if (folder / "meta.json").is_file() else None
    blocks = meta if isinstance(meta, list) else [meta]
    for block in blocks:
        if isinstance(block, dict) and isinstance(block.get("run_id"), str):
            return block["run_id"]
    return None


def _model_run_folder(ref: str, run_id: str, folders: list[Path], store: Path) -> Path:
    for folder in folders:
        if folder.name == run_id:
            return folder
    raise RunNotFoundError(
        f"Model folder {ref!r} was saved by run {run_id!r}, which is not in {store / 'runs'}. "
        "Pass --root with the store that holds that run."
    )


def _by_prefix(prefix: str, folders: list[Path], store: Path) -> Path:
    matches = [folder for folder in folders if folder.name.startswith(prefix)] if prefix else []
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise RunNotFoundError(
            f"No run matches run reference {prefix!r} in {store / 'runs'}. "
            "Give 'last', a run folder path or a run id prefix (see: cascade runs)."
        )
    names = ", ".join(folder.name for folder in matches[:10])
    more = f" and {len(matches) - 10} more" if len(matches) > 10 else ""
    raise AmbiguousRunError(f"Run id prefix {prefix!r} matches {len(matches)} runs: {names}{more}. Give more characters.")
