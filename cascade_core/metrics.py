"""Metrics of the current run, and the run folder itself.

A training script imports this module, so it imports nothing heavy: `json`
is imported when a line is written or read.

Inside a run the runner sets `CASCADE_RUN_DIR` (the run folder) and
`CASCADE_RUN_ID`. `log_metric` appends one JSON line per call to
`<run folder>/metrics.jsonl`:

    {"name": "loss", "value": 0.25, "step": 3, "time": 1764875666.123}

A value that strict JSON cannot represent (NaN, infinity) is written as the
string `"nan"`, `"inf"` or `"-inf"`, and `read_metrics` turns it back into a
float.
"""

from __future__ import annotations

import numbers
import os
import time
import warnings
from pathlib import Path

from cascade_core.errors import (
    InvalidMetricError,
    MetricTypeError,
    NotInRunError,
    OutsideRunWarning,
    RunFolderMissingError,
)

RUN_DIR_ENV = "CASCADE_RUN_DIR"
RUN_ID_ENV = "CASCADE_RUN_ID"
METRICS_FILE = "metrics.jsonl"

_NON_FINITE = {"nan": float("nan"), "inf": float("inf"), "-inf": float("-inf")}
_UNSET = object()
_warned_outside_run = False


# The current run -----------------------------------------------------------


def current_run_dir() -> Path | None:
    """Return the folder of the run this process belongs to, or None outside a run.

    Raises:
        RunFolderMissingError: If `CASCADE_RUN_DIR` is set but names no folder.
    """
    value = os.environ.get(RUN_DIR_ENV)
    if not value:
        return None

    path = Path(value)
    if not path.is_dir():
        raise RunFolderMissingError(
            f"{RUN_DIR_ENV} is set to {value!r}, which is not a folder. "
            f"The run folder may have been deleted; unset {RUN_DIR_ENV} to run the script outside a run.",
            path=value,
        )
    return path


def current_run_id() -> str | None:
    """Return the id of the current run (from `CASCADE_RUN_ID`, else the run folder's name), or None."""
    run_id = os.environ.get(RUN_ID_ENV)
    if run_id:
        return run_id

    value = os.environ.get(RUN_DIR_ENV)
    return Path(value).name if value else None


def run_dir(default=_UNSET) -> Path | None:
    """Return the current run's folder, for outputs such as checkpoints.

    Parallel runs each get their own folder, so files written there never
    collide.

    Args:
        default: What to return outside a run (a path, or None). A path is
            returned as a `Path`. Without it, a call outside a run raises.

    Returns:
        The absolute run folder inside a run, else `default`.

    Raises:
        NotInRunError: Outside a run when no `default` is given.
        RunFolderMissingError: If `CASCADE_RUN_DIR` names no folder.

    Example:
        >>> checkpoint = run_dir(default=".") / "model.pt"
    """
    path = current_run_dir()
    if path is not None:
        return path.absolute()

    if default is _UNSET:
        raise NotInRunError(
            f"run_dir() was called outside a run ({RUN_DIR_ENV} is not set). "
            "Start the script with `cascade run SCRIPT`, or give a folder to use "
            "outside a run: run_dir(default='.')"
        )
    return None if default is None else Path(default)


# Writing -------------------------------------------------------------------


def log_metric(name: str, value, step: int | None = None) -> None:
    """Append a metric value to the current run's `metrics.jsonl`.

    Each call writes one line with a single `write` on a file opened with
    `O_APPEND`, so on a local file system the lines of parallel writers
    (DataLoader workers, threads) never mix. A reader may see the end of the
    file in the middle of a line, and `read_metrics` skips that part.

    Outside a run, the first call warns with `OutsideRunWarning` and every
    call does nothing, so the script also runs without `cascade run`.

    Args:
        name: Metric name, a non-empty string such as `"val/loss"`.
        value: A real number: int, float, a numpy scalar, or an object whose
            `.item()` returns one (a one-element numpy array or torch tensor).
            NaN and infinity are accepted.
        step: Training step or epoch, an int, or None.

    Raises:
        InvalidMetricError: If the name is empty.
        MetricTypeError: If the name is not a string, the value is not a real
            number, or the step is not an int.
        RunFolderMissingError: If `CASCADE_RUN_DIR` names no folder.
    """
    record = metric_record(name, value, step)
    folder = current_run_dir()
    if folder is None:
        _warn_outside_run_once()
        return

    append_json_line(folder / METRICS_FILE, record)


def metric_record(name: str, value, step: int | None = None) -> dict:
    """Check a metric and return the record that `log_metric` writes.

    Raises:
        InvalidMetricError: If the name is empty.
        MetricTypeError: If the name, value or step has the wrong type.
    """
    return {
        "name": check_metric_name(name),
        "value": check_metric_value(name, value),
        "step": _check_step(name, step),
        "time": time.time(),
    }


def check_metric_name(name: object) -> str:
    """Return `name` if it is a valid metric name.

    Raises:
        MetricTypeError: If it is not a string.
        InvalidMetricError: If it is empty or only whitespace.
    """
    if not isinstance(name, str):
        raise MetricTypeError(
            f"Metric name must be a string, got {name!r} of type {type(name).__name__}. Example: log_metric('loss', 0.25)",
            name=name,
        )
    if not name.strip():
        raise InvalidMetricError(
            f"Metric name must not be empty, got {name!r}. Example: log_metric('loss', 0.25)",
            name=name,
        )
    return name


def check_metric_value(name: str, value: object) -> int | float:
    """Return `value` as a plain int or float if it is a real number.

    Bools are rejected because `True` as a metric is almost always a mistake.
    Pass `int(flag)` to record one.

    Raises:
        MetricTypeError: If the value is not a real number.
    """
    number = _as_real(value)
    if number is None:
        raise MetricTypeError(
            f"Metric {name!r} must have a real number as value, got {_short_repr(value)} "
            f"of type {type(value).__name__}. Pass an int or float, e.g. float(loss).",
            name=name,
            value=value,
        )
    if isinstance(number, numbers.Integral):
        return int(number)
    return float(number)


def _as_real(value: object) -> numbers.Real | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, numbers.Real):
        return value

    # One-element numpy arrays and torch tensors give their number through item().
    item = getattr(value, "item", None)
    if not callable(item) or not hasattr(value, "__float__"):
        return None
    try:
        number = item()
    except (TypeError, ValueError, RuntimeError):
        return None
    return number if isinstance(number, numbers.Real) and not isinstance(number, bool) else None


def _check_step(name: str, step: object) -> int | None:
    if step is None:
        return None
    if isinstance(step, numbers.Integral) and not isinstance(step, bool):
        return int(step)
    raise MetricTypeError(
        f"Metric {name!r} must have an int or None as step, got {_short_repr(step)} "
        f"of type {type(step).__name__}. Example: log_metric({name!r}, 0.25, step=3)",
        name=name,
        value=step,
    )


def _short_repr(value: object, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _warn_outside_run_once() -> None:
    global _warned_outside_run
    if _warned_outside_run:
        return

    _warned_outside_run = True
    warnings.warn(
        f"log_metric() was called outside a run ({RUN_DIR_ENV} is not set), so metrics are not recorded. "
        "Start the script with `cascade run SCRIPT` to record them. This warning is shown once.",
        OutsideRunWarning,
        stacklevel=3,
    )


def append_json_line(path: Path, record: dict) -> None:
    """Append `record` as one JSON line to `path`, creating the file if needed.

    The line is written with one `os.write` on an `O_APPEND` descriptor, so
    on a local file system concurrent appends from several processes never
    mix. Non-finite floats become the strings `"nan"`, `"inf"` and `"-inf"`.
    """
    import json

    line = json.dumps(json_safe(record), ensure_ascii=False, allow_nan=False) + "\n"
    data = line.encode("utf-8")
    descriptor = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        written = os.write(descriptor, data)
    finally:
        os.close(descriptor)

    # NOTE: a regular local file takes a short append whole. This check guards
    # against a file system that accepts only part of it.
    if written != len(data):
        raise OSError(f"Wrote {written} of {len(data)} bytes of a line to {path}")


def json_safe(value: object) -> object:
    """Convert `value` to data that strict JSON can represent, recursively.

    Non-finite floats become `"nan"`, `"inf"` or `"-inf"`. Tuples and sets
    become lists (sets sorted when they can be), and mapping keys become
    strings. Numpy scalars become numbers, paths become strings, and dates
    and times become ISO 8601 text. Any other object becomes its `repr`.
    """
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        value = float(value)  # numpy.float64 is a float subclass with its own repr
        return value if value == value and abs(value) != float("inf") else repr(value)
    if isinstance(value, dict):
        return {str(key): json_safe(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(item) for item in value]
    if isinstance(value, (set, frozenset)):
        return [json_safe(item) for item in _sorted_if_possible(value)]
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if callable(getattr(value, "isoformat", None)):
        return value.isoformat()

    number = _as_real(value)
    if number is not None:
        return json_safe(int(number) if isinstance(number, numbers.Integral) else float(number))
    return repr(value)


def _sorted_if_possible(items) -> list:
    try:
        return sorted(items)
    except TypeError:
        return list(items)


# Reading -------------------------------------------------------------------


def read_json_lines(path: Path) -> list[dict]:
    """Return the JSON objects of a `.jsonl` file in file order, or [] if it is missing.

    A line that does not parse is skipped. Without a final newline it is a
    line being written right now, and otherwise it is damage, which is logged.
    """
    import json

    try:
        with open(path, encoding="utf-8", errors="replace") as stream:
            lines = stream.readlines()
    except FileNotFoundError:
        return []

    records = []
    for number, line in enumerate(lines, start=1):
        try:
            record = json.loads(line)
        except ValueError:
            if line.endswith("\n"):
                _logger().warning("Skipping line %d of %s, which is not JSON: %.80r", number, path, line)
            continue
        if isinstance(record, dict):
            records.append(record)
    return records


def read_metrics(run_path) -> list[dict]:
    """Return every metric record of a run, in the order they were logged.

    Each record has `name`, `value` (an int or float, with NaN and infinity
    returned as floats), `step` (int or None) and `time` (seconds since the
    epoch).

    Args:
        run_path: The run folder.
    """
    records = read_json_lines(Path(run_path) / METRICS_FILE)
    for record in records:
        value = record.get("value")
        if isinstance(value, str) and value in _NON_FINITE:
            record["value"] = _NON_FINITE[value]
    return records


def last_metrics(run_path) -> dict[str, int | float]:
    """Return the last logged value of each metric of a run.

    "Last" is the latest line in `metrics.jsonl`, not the highest step.
    Names are in the order in which each metric was first logged.
    """
    values: dict[str, int | float] = {}
    for record in read_metrics(run_path):
        name = record.get("name")
        if isinstance(name, str):
            values[name] = record.get("value")
    return values


def _logger():
    import logging

    return logging.getLogger(__name__)
