"""HTML and plain-text renderings of runs, run tables, configs and run comparisons.

Each table object carries both renderings: IPython's display machinery
shows the HTML in a notebook and the plain text in a terminal IPython.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence

from cascade_core.formatting import format_duration, format_overrides, format_table

TRACEBACK_START = "Traceback (most recent call last):"
FALLBACK_LOG_LINES = 20


# Values ----------------------------------------------------------------------


def format_value(value) -> str:
    """Format a config, override or metric value the way the user would type it."""
    if isinstance(value, float):
        return f"{value:.6g}"
    return repr(value)


def format_time(value) -> str:
    """Format a start or end time (datetime, ISO text or epoch seconds) to the second."""
    if value is None:
        return ""
    if isinstance(value, (int, float)):
        import datetime

        value = datetime.datetime.fromtimestamp(value)
    if hasattr(value, "strftime"):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    return str(value).replace("T", " ")[:19]


def format_metrics(metrics: Mapping | None) -> str:
    """Format the last value of each metric as `loss=0.31 accuracy=0.93`."""
    if not metrics:
        return ""
    return " ".join(f"{name}={format_value(value)}" for name, value in metrics.items())


# Tables ----------------------------------------------------------------------


def text_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Lay out `rows` under `headers` and a line of dashes in left-aligned columns, for a terminal."""
    return format_table(headers, rows, rule=True)


def html_table(headers: Sequence[str], rows: Sequence[Sequence[str]], caption: str = "") -> str:
    """Build an HTML table with every cell escaped."""
    head = "".join(f"<th style='text-align:left'>{html.escape(h)}</th>" for h in headers)
    body = "".join(
        "<tr>" + "".join(f"<td style='text-align:left'>{html.escape(c)}</td>" for c in row) + "</tr>"
        for row in rows
    )
    caption_html = f"<caption style='text-align:left'>{html.escape(caption)}</caption>" if caption else ""
    return f"<table>{caption_html}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


class Table:
    """Rows with headers, rendered as HTML in a notebook and as text in a terminal."""

    headers: Sequence[str] = ()
    caption = ""

    def rows(self) -> list[list[str]]:
        raise NotImplementedError

    def _repr_html_(self) -> str:
        return html_table(self.headers, self.rows(), self.caption)

    def _repr_pretty_(self, printer, cycle) -> None:
        printer.text(str(self))

    def __str__(self) -> str:
        table = text_table(self.headers, self.rows())
        return f"{self.caption}\n{table}" if self.caption else table


class RunTable(Table):
    """A list of runs shown as a table: id, name, script, status, start, duration,
    overrides and last metrics. Indexing and iteration return the `Run` objects."""

    headers = ("run id", "name", "script", "status", "started", "duration", "overrides", "metrics")

    def __init__(self, runs):
        self.runs = list(runs)

    def __len__(self) -> int:
        return len(self.runs)

    def __iter__(self):
        return iter(self.runs)

    def __getitem__(self, index):
        return self.runs[index]

    def rows(self) -> list[list[str]]:
        return [_run_row(run) for run in self.runs]

    def __str__(self) -> str:
        if not self.runs:
            return "No runs found."
        return super().__str__()

    def _repr_html_(self) -> str:
        if not self.runs:
            return "<p>No runs found.</p>"
        return super()._repr_html_()


def _run_row(run) -> list[str]:
    script = getattr(run, "script", "")
    return [
        str(run.id),
        str(getattr(run, "name", None) or ""),
        getattr(script, "name", str(script)),
        str(run.status),
        format_time(getattr(run, "started_at", None)),
        format_duration(getattr(run, "duration", None)),
        format_overrides(run.overrides),
        format_metrics(run.metrics),
    ]


class ConfigTable(Table):
    """The config discovered in a script, as `cascade config` shows it.

    The text is exactly the command's output. The HTML shows the same table
    under the same heading, followed by the command's notes (imported config
    classes, fields that clash with run options, discovery notes).
    """

    headers = ("key", "class", "type", "default", "line")

    def __init__(self, script_config):
        self.config = script_config

    def rows(self) -> list[list[str]]:
        from cascade_core.cli.config_cmd import type_label

        return [
            [field.key, field.owner or "-", type_label(field), field.source or repr(field.default), _field_line(field)]
            for field in self.config.fields
        ]

    def __str__(self) -> str:
        from cascade_core.cli.config_cmd import format_config

        return format_config(self.config)

    def _repr_html_(self) -> str:
        lines = str(self).splitlines()
        heading, notes = lines[0], lines[1:]
        parts = [f"<p><b>{html.escape(heading)}</b></p>"]
        if self.config.fields:
            parts.append(html_table(self.headers, self.rows()))
            # The command's text puts a blank line and the table (header plus
            # one row per field) between the heading and the notes.
            notes = lines[3 + len(self.config.fields):]
        parts += [f"<p>{html.escape(line)}</p>" for line in notes if line.strip()]
        return "".join(parts)


def _field_line(field) -> str:
    cell = getattr(field, "cell", None)
    return str(field.lineno) if cell is None else f"cell {cell}, line {field.lineno}"


class RunComparison(Table):
    """A `cascade_core.browse.RunDiff` as a table: config, overrides and metrics
    rows that differ, then the diff of the sources that ran."""

    headers = ("section", "key", "run A", "run B")

    def __init__(self, diff):
        self.diff = diff
        self.caption = f"A = {diff.a.id}   B = {diff.b.id}"

    def rows(self) -> list[list[str]]:
        rows = []
        for section in ("config", "overrides", "metrics"):
            for key, first, second in getattr(self.diff, section):
                rows.append([section, str(key), _diff_value(first), _diff_value(second)])
        return rows

    def __str__(self) -> str:
        from cascade_core.browse import format_diff

        return format_diff(self.diff)

    def _repr_html_(self) -> str:
        if self.diff.is_empty():
            return f"<p>{html.escape(self.caption)}: no differences in config, overrides, metrics or source.</p>"
        parts = [super()._repr_html_()]
        if self.diff.source:
            parts.append(f"<pre>{html.escape(self.diff.source)}</pre>")
        return "".join(parts)


def _diff_value(value) -> str:
    from cascade_core.browse import MISSING

    return "(missing)" if value is MISSING else repr(value)


# One run ---------------------------------------------------------------------


def run_repr_html(run) -> str:
    """Render a run as HTML: id, status, duration, config with overridden keys
    marked, last metrics and run folder."""
    overrides = run.overrides or {}
    title = html.escape(f"Run {run.id}" + (f" ({run.name})" if getattr(run, "name", None) else ""))
    summary = html_table(
        ("status", "exit status", "duration", "run folder"),
        [[str(run.status), _text(run.returncode), format_duration(getattr(run, "duration", None)),
          str(run.path)]],
    )
    config_rows = [
        [f"{key} *" if key in overrides else key, format_value(value)]
        for key, value in (run.config or {}).items()
    ]
    parts = [f"<div><b>{title}</b> {html.escape(str(getattr(run, 'script', '')))}", summary]
    if config_rows:
        parts.append(html_table(("config", "value"), config_rows, "* overridden in this run"))
    if run.metrics:
        parts.append(html_table(("metric", "last value"),
                                [[name, format_value(value)] for name, value in run.metrics.items()]))
    parts.append("</div>")
    return "".join(parts)


def run_repr_text(run) -> str:
    """Render a run as plain text for a terminal: the same facts as `run_repr_html`."""
    overrides = run.overrides or {}
    name = f" ({run.name})" if getattr(run, "name", None) else ""
    duration = format_duration(getattr(run, "duration", None))
    lines = [
        f"Run {run.id}{name}: {run.status}, exit status {_text(run.returncode) or '-'}, {duration or 'running'}",
        f"  script:     {getattr(run, 'script', '')}",
        f"  run folder: {run.path}",
    ]
    config = " ".join(
        f"{key}={format_value(value)}{'*' if key in overrides else ''}" for key, value in (run.config or {}).items()
    )
    if config:
        lines.append(f"  config:     {config}   (* overridden)")
    if run.metrics:
        lines.append(f"  metrics:    {format_metrics(run.metrics)}")
    return "\n".join(lines)


def _text(value) -> str:
    return "" if value is None else str(value)


def failure_traceback(run) -> list[str]:
    """Build the lines shown for a failed run: the child's traceback and the run folder.

    The traceback is read back from the run's log. Without a log (`--no-log`),
    only the exit status and the run folder are shown.
    """
    lines = _traceback_from_log(run)
    status = f"{getattr(run.script, 'name', run.script)} failed with exit status {run.returncode}."
    return [*lines, f"{status} Run folder: {run.path}"]


def _traceback_from_log(run) -> list[str]:
    try:
        text = run.log_text()
    except OSError:
        return []
    lines = text.splitlines()
    starts = [index for index, line in enumerate(lines) if line.startswith(TRACEBACK_START)]
    if starts:
        return lines[starts[-1]:]
    return lines[-FALLBACK_LOG_LINES:]
