"""Browsing recorded runs: filtered listings, diffs, removal, pruning and following logs.

Run folders are the source of truth. Listing the newest N runs reads only N
folders' metadata, because run ids sort by start time. Filters need each
run's status, script, name and tags. For finished runs these are cached in
`<store>/index.json`, keyed by run id and checked against the metadata file's
modification time. The cache can be deleted at any time, and the next
filtered listing rebuilds it.
"""

from __future__ import annotations

import codecs
import difflib
import fnmatch
import logging
import os
import re
import shutil
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

from cascade_core import store
from cascade_core.errors import InvalidAgeError, InvalidRunFilterError, RunInProgressError, RunNotFoundError

logger = logging.getLogger(__name__)

INDEX_FILE = "index.json"
INDEX_VERSION = 1
FINAL_STATUSES = ("completed", "failed", "interrupted")


class RunList(list):
    """A list of `Run` objects, as `cascade_core.runs()` returns it."""

    def to_pandas(self):
        """Return a pandas DataFrame with one row per run, indexed by run id.

        Columns: `status`, `name`, `tags`, `script`, `started_at`,
        `duration`, then `config.<key>` for every config key and
        `metric.<name>` for the last value of every metric, in first-seen
        order. A run without some key has NaN there.

        Raises:
            MissingDependencyError: If pandas is not installed.
        """
        from cascade_core.errors import require

        pandas = require("pandas", "pandas")
        rows = [_table_row(run) for run in self]
        frame = pandas.DataFrame.from_records(rows, columns=_table_columns(rows))
        return frame.set_index("id")


def _table_row(run) -> dict:
    row = {
        "id": run.id,
        "status": run.status,
        "name": run.name,
        "tags": list(run.tags or ()),
        "script": str(run.script) if run.script else None,
        "started_at": _parse_time(run.started_at),
        "duration": run.duration,
    }
    row.update({f"config.{key}": value for key, value in (run.config or {}).items()})
    row.update({f"metric.{name}": value for name, value in (run.metrics or {}).items()})
    return row


def _table_columns(rows: list[dict]) -> list[str]:
    fixed = ["id", "status", "name", "tags", "script", "started_at", "duration"]
    seen = dict.fromkeys(fixed)
    for row in rows:
        seen.update(dict.fromkeys(row))
    return list(seen)


def _parse_time(value):
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            return value
    if isinstance(value, (int, float)):
        return datetime.fromtimestamp(value, timezone.utc)
    return value


# Listing -------------------------------------------------------------------


@dataclass(frozen=True)
class RunFilter:
    """The filters of a listing. A run is kept when every filter given matches.

    Attributes:
        status: One of `store.STATUSES`. `lost` is a running run whose runner died.
        script: The script's path ends with these path parts (`train.py`,
            `proj/train.py`), or a glob on the path or its file name (`train*`).
        name: The run's name equals this, or matches it as a glob.
        tags: Tags the run must all have.
    """

    status: str | None = None
    script: str | None = None
    name: str | None = None
    tags: tuple[str, ...] = ()

    def is_empty(self) -> bool:
        return self.status is None and self.script is None and self.name is None and not self.tags

    def matches(self, summary: dict) -> bool:
        if self.status is not None and summary["status"] != self.status:
            return False
        if self.script is not None and not script_matches(summary["script"], self.script):
            return False
        if self.name is not None and not _name_matches(summary["name"], self.name):
            return False
        return all(tag in summary["tags"] for tag in self.tags)


def find_runs(root=None, status=None, script=None, name=None, tag=(), last=None) -> RunList:
    """List the runs of a store as `Run` objects, oldest first.

    Args:
        root: The store folder, as resolved by `store.find_root`.
        status: Keep runs with this status: running, completed, failed,
            interrupted or lost.
        script: Keep runs whose script path ends with these parts
            (`train.py`, `proj/train.py`) or matches this glob (`train*`).
        name: Keep runs with this name (a glob is allowed).
        tag: A tag, or several: keep runs that have all of them.
        last: Keep only the newest `last` runs that pass the filters.

    Returns:
        A `RunList`, newest last. It is empty when the store does not exist.

    Raises:
        InvalidRunFilterError: If `status` is unknown or `last` is negative.
    """
    tags = (tag,) if isinstance(tag, str) else tuple(tag or ())
    run_filter = RunFilter(status, script, name, tags)
    _check_filter(run_filter, last)

    store_path = store.find_root(root, create=False)
    folders = store.run_folders(store_path)
    if not run_filter.is_empty():
        folders = _filtered_folders(store_path, folders, run_filter, last)
    return RunList(_load_newest(folders, last))


def _load_newest(folders: list[Path], last) -> list:
    """Load the newest `last` runs (all without `last`), oldest first.

    A folder without readable metadata is skipped: a run being created right
    now has none yet.
    """
    from cascade_core.run import Run

    loaded = []
    for folder in reversed(folders):
        if last and len(loaded) == last:
            break
        try:
            loaded.append(Run.load(folder))
        except RunNotFoundError:
            logger.debug("Skipped %s: no readable %s", folder, store.META_FILE)
    return loaded[::-1]


runs = find_runs


def _check_filter(run_filter: RunFilter, last) -> None:
    if run_filter.status is not None and run_filter.status not in store.STATUSES:
        raise InvalidRunFilterError(
            f"Invalid status {run_filter.status!r}: expected one of {', '.join(store.STATUSES)}."
        )
    if last is not None and (isinstance(last, bool) or not isinstance(last, int) or last < 0):
        raise InvalidRunFilterError(f"Invalid count {last!r} for last: expected a whole number, 0 or more.")


def _filtered_folders(store_path: Path, folders: list[Path], run_filter: RunFilter, last) -> list[Path]:
    index = RunIndex.load(store_path, {folder.name for folder in folders})
    selected = []
    for folder in reversed(folders):
        if last and len(selected) == last:
            break
        summary = index.summary(folder)
        if summary is not None and run_filter.matches(summary):
            selected.append(folder)
    index.save()
    return selected[::-1]


def script_matches(path, pattern: str) -> bool:
    """Check whether a run's script path matches a `--script` filter (see `RunFilter`)."""
    if not path:
        return False
    path = Path(path)
    if any(char in pattern for char in "*?["):
        return fnmatch.fnmatch(str(path), pattern) or fnmatch.fnmatch(path.name, pattern)
    pattern_parts = Path(pattern).parts
    return path.parts[-len(pattern_parts):] == pattern_parts


def _name_matches(name, pattern: str) -> bool:
    return name is not None and (name == pattern or fnmatch.fnmatchcase(name, pattern))


class RunIndex:
    """The cache of finished runs' status, script, name and tags in `<store>/index.json`.

    An entry is used only while the metadata file's modification time is the
    one recorded. Running runs are never cached, because their status changes.
    """

    def __init__(self, path: Path, entries: dict):
        self.path = path
        self.entries = entries
        self.changed = False

    @classmethod
    def load(cls, store_path: Path, run_ids: set[str]) -> RunIndex:
        """Read the cache, dropping the entries of runs not in `run_ids` (their folders are gone)."""
        path = Path(store_path) / INDEX_FILE
        data = store.read_json(path, {})
        entries = data.get("runs") if isinstance(data, dict) and data.get("version") == INDEX_VERSION else None
        entries = entries if isinstance(entries, dict) else {}
        index = cls(path, {run_id: entry for run_id, entry in entries.items() if run_id in run_ids})
        index.changed = len(index.entries) != len(entries)
        return index

    def summary(self, folder: Path) -> dict | None:
        """Return the run's status, script, name and tags, from the cache when it is fresh.

        Returns None for a folder without readable metadata.
        """
        meta_path = folder / store.META_FILE
        try:
            mtime = meta_path.stat().st_mtime_ns
        except OSError:
            return None

        cached = self.entries.get(folder.name)
        if cached is not None and cached.get("mtime_ns") == mtime:
            return cached

        meta = store.read_json(meta_path)
        if not isinstance(meta, dict):
            return None
        summary = _summarize(meta)
        if summary["status"] in FINAL_STATUSES:
            self.entries[folder.name] = {**summary, "mtime_ns": mtime}
            self.changed = True
        return summary

    def save(self) -> None:
        """Write the cache back if it changed."""
        if not self.changed or not self.path.parent.is_dir():
            return
        try:
            store.write_json(self.path, {"version": INDEX_VERSION, "runs": self.entries})
        except OSError as exc:
            # The index only speeds listings up, so a read-only store still lists.
            logger.warning("Cannot write the run index %s: %s", self.path, exc)


def _summarize(meta: dict) -> dict:
    tags = meta.get("tags")
    return {
        "status": store.effective_status(meta),
        "script": meta.get("script"),
        "name": meta.get("name"),
        "tags": list(tags) if isinstance(tags, (list, tuple)) else [],
    }


# Diff ----------------------------------------------------------------------

MISSING = object()
"""Placeholder in a `RunDiff` row for a key one of the two runs does not have."""


@dataclass(frozen=True)
class RunDiff:
    """The differences between two runs.

    Attributes:
        a, b: The two `Run` objects.
        config, overrides, metrics: Rows `(key, value_in_a, value_in_b)` for
            keys whose values differ, with `MISSING` where a run lacks the key.
        source: Unified diff of the sources that ran, or "" when identical.
    """

    a: object
    b: object
    config: list = field(default_factory=list)
    overrides: list = field(default_factory=list)
    metrics: list = field(default_factory=list)
    source: str = ""

    def is_empty(self) -> bool:
        return not (self.config or self.overrides or self.metrics or self.source)


def diff_runs(a, b) -> RunDiff:
    """Compare two runs' config, overrides, last metric values and the source that ran.

    Config and override values are compared with their exact recorded types,
    so `(224, 224)` differs from `[224, 224]`.
    """
    from cascade_core.recorded import restore_values

    values_a, values_b = restore_values(a.path), restore_values(b.path)
    return RunDiff(
        a=a,
        b=b,
        config=_changed_rows(values_a["config"], values_b["config"]),
        overrides=_changed_rows(values_a["overrides"], values_b["overrides"]),
        metrics=_changed_rows(a.metrics or {}, b.metrics or {}),
        source=source_diff(a, b),
    )


def _changed_rows(first: dict, second: dict) -> list:
    rows = []
    for key in dict.fromkeys([*first, *second]):
        left, right = first.get(key, MISSING), second.get(key, MISSING)
        if type(left) is not type(right) or repr(left) != repr(right):
            rows.append((key, left, right))
    return rows


def source_diff(a, b) -> str:
    """Return a unified diff of the sources that two runs executed ("" when identical)."""
    first = _read_text(a.path / store.SCRIPT_FILE)
    second = _read_text(b.path / store.SCRIPT_FILE)
    lines = difflib.unified_diff(
        first.splitlines(keepends=True),
        second.splitlines(keepends=True),
        fromfile=f"{a.id}/{store.SCRIPT_FILE}",
        tofile=f"{b.id}/{store.SCRIPT_FILE}",
    )
    return "".join(line if line.endswith("\n") else line + "\n" for line in lines)


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return ""


def format_diff(diff: RunDiff) -> str:
    """Render a `RunDiff` as plain text, one section per part that differs."""
    header = f"--- {diff.a.id}\n+++ {diff.b.id}\n"
    if diff.is_empty():
        return header + "No differences in config, overrides, metrics or source.\n"

    sections = [header]
    for title, rows in (("config", diff.config), ("overrides", diff.overrides), ("metrics", diff.metrics)):
        if rows:
            sections.append(_format_rows(title, rows))
    if diff.source:
        sections.append("source:\n" + diff.source)
    return "\n".join(sections)


def _format_rows(title: str, rows: list) -> str:
    shown = [(key, _show(left), _show(right)) for key, left, right in rows]
    key_width = max(len(key) for key, _, _ in shown)
    left_width = max(len(left) for _, left, _ in shown)
    lines = [f"  {key:<{key_width}}  {left:<{left_width}}  ->  {right}" for key, left, right in shown]
    return f"{title}:\n" + "\n".join(lines) + "\n"


def _show(value) -> str:
    return "(missing)" if value is MISSING else repr(value)


# Removing and pruning ------------------------------------------------------


def remove_runs(runs) -> None:
    """Delete run folders. Every run is checked before any is deleted.

    Raises:
        RunInProgressError: If a run is still running (a `lost` run may be removed).
    """
    for run in runs:
        meta = store.read_json(run.path / store.META_FILE, {}) or {}
        if store.effective_status(meta) == "running":
            raise RunInProgressError(
                f"Run {run.id} is still running: stop it first (Ctrl-C in its terminal, or Run.stop()), "
                "then remove it."
            )

    for run in runs:
        shutil.rmtree(run.path)
        logger.info("Removed run %s (%s)", run.id, run.path)


_AGE_PART = re.compile(r"(\d+(?:\.\d+)?)\s*([wdhms])")
_AGE_UNITS = {"w": "weeks", "d": "days", "h": "hours", "m": "minutes", "s": "seconds"}


def parse_age(text: str) -> timedelta:
    """Parse an age such as `30d`, `12h`, `90m`, `45s`, `2w` or `1d12h`.

    Raises:
        InvalidAgeError: If the text is not one or more number-and-unit parts.
    """
    compact = str(text).strip().lower()
    parts = _AGE_PART.findall(compact)
    if not parts or _AGE_PART.sub("", compact).strip():
        raise InvalidAgeError(
            f"Invalid age {text!r}: expected a number and a unit (w, d, h, m or s), e.g. 30d, 12h or 1d12h.",
            text,
        )
    return sum((timedelta(**{_AGE_UNITS[unit]: float(number)}) for number, unit in parts), timedelta())


def select_prune(older_than, status=None, root=None, now: datetime | None = None) -> RunList:
    """Return the finished runs that started more than `older_than` ago, oldest first.

    Args:
        older_than: A `timedelta`, or text for `parse_age` (`30d`).
        status: Keep only runs with this status. Running runs are never
            selected, whatever the status given.
        root: The store folder.
        now: The reference time (UTC). Defaults to the current time.
    """
    age = parse_age(older_than) if isinstance(older_than, str) else older_than
    cutoff = (now or datetime.now(timezone.utc)) - age
    candidates = find_runs(root=root, status=status)
    return RunList(run for run in candidates if run.status != "running" and _started_before(run, cutoff))


def _started_before(run, cutoff: datetime) -> bool:
    started = _parse_time(run.started_at)
    if not isinstance(started, datetime):
        started = _time_from_id(run.id)
    if started is None:
        return False
    if started.tzinfo is None:
        started = started.replace(tzinfo=timezone.utc)
    return started < cutoff


def _time_from_id(run_id: str) -> datetime | None:
    try:
        return datetime.strptime(run_id[:19], "%Y%m%d-%H%M%S-%f").replace(tzinfo=timezone.utc)
    except ValueError:
        return None


# Logs ----------------------------------------------------------------------


def follow_log(run, write, interval: float = 0.2) -> str:
    """Write a run's log as it grows, until the run has ended and the log is read to its end.

    Args:
        run: The `Run` to follow.
        write: Called with each new piece of decoded text.
        interval: Seconds between two checks for new text.

    Returns:
        The run's final status.
    """
    log_path = run.path / store.LOG_FILE
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    position = 0
    while True:
        status = _current_status(run.path)
        position = _write_new_text(log_path, position, decoder, write)
        if status != "running":
            break
        time.sleep(interval)

    # The runner may have written the last lines just before its final status.
    _write_new_text(log_path, position, decoder, write)
    tail = decoder.decode(b"", final=True)
    if tail:
        write(tail)
    return status


def _current_status(run_path: Path) -> str:
    return store.effective_status(store.read_json(run_path / store.META_FILE, {}) or {})


def _write_new_text(log_path: Path, position: int, decoder, write) -> int:
    try:
        with open(log_path, "rb") as stream:
            stream.seek(position)
            while chunk := stream.read(1 << 16):
                position += len(chunk)
                text = decoder.decode(chunk)
                if text:
                    write(text)
    except FileNotFoundError:
        pass
    return position


def log_exists(run) -> bool:
    """Check whether a run has a log file (runs started with `--no-log` have none)."""
    return os.path.isfile(run.path / store.LOG_FILE)
