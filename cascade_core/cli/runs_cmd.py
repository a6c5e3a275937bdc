"""`cascade runs` (the runs of a store, oldest first) and `cascade show REF` (one run in detail)."""

from __future__ import annotations

import json

import click

from cascade_core.errors import CascadeError

OVERRIDES_WIDTH = 40
"""Characters of the overrides column of `cascade runs` before it is cut with `...`."""


@click.command(short_help="List the runs of the store, oldest first.")
@click.option("--root", type=click.Path(file_okay=False), help="The run store folder (default: the nearest .cascade/).")
def runs(root: str | None) -> None:
    """List the runs of the store, oldest first: id, status, start time, duration, script and overrides."""
    try:
        listed = _find_runs(root)
    except CascadeError as exc:
        raise click.ClickException(str(exc)) from exc

    if not listed:
        click.echo("No runs yet. Start one with: cascade run SCRIPT", err=True)
        return
    click.echo(format_table([run_row(run) for run in listed], ("id", "status", "started", "duration", "script", "overrides")))


def _find_runs(root):
    from cascade_core.browse import find_runs

    return find_runs(root=root)


def run_row(run) -> dict:
    """Return the columns of one run in `cascade runs`."""
    overrides = " ".join(f"{key}={value!r}" for key, value in run.overrides.items())
    if len(overrides) > OVERRIDES_WIDTH:
        overrides = overrides[: OVERRIDES_WIDTH - 3] + "..."
    return {
        "id": run.id,
        "status": run.status,
        "started": (run.started_at or "")[:19].replace("T", " "),
        "duration": format_duration(run.duration),
        "script": run.script.name if run.script else "",
        "overrides": overrides,
    }


def format_duration(seconds: float | None) -> str:
    """Format seconds as `4.2s`, `3m05s` or `2h07m`; empty when unknown."""
    if seconds is None:
        return ""
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, secs = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


def format_table(rows: list[dict], columns: tuple[str, ...]) -> str:
    """Format rows as a plain text table with a header line, columns padded to their widest cell."""
    widths = {column: max(len(column), *(len(str(row[column])) for row in rows)) for column in columns}
    lines = ["  ".join(column.upper().ljust(widths[column]) for column in columns).rstrip()]
    for row in rows:
        lines.append("  ".join(str(row[column]).ljust(widths[column]) for column in columns).rstrip())
    return "\n".join(lines)


@click.command(short_help="Show one run: status, config, metrics, models and files.")
@click.argument("ref")
@click.option("--root", type=click.Path(file_okay=False), help="The run store folder (default: the nearest .cascade/).")
def show(ref: str, root: str | None) -> None:
    """Show the run REF: `last`, a run folder, a model folder or a unique run id prefix."""
    from cascade_core import store
    from cascade_core.run import Run

    try:
        run = Run.load(store.resolve(ref, root))
    except CascadeError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(format_run(run))


def format_run(run) -> str:
    """Describe a run in plain text, as `cascade show` prints it."""
    meta = run.meta
    lines = [f"Run {run.id}"]
    fields = (
        ("status", run.status),
        ("exit code", run.returncode),
        ("script", run.script),
        ("argv", " ".join(meta.get("argv") or [])),
        ("name", run.name),
        ("tags", ", ".join(run.tags)),
        ("base", meta.get("base")),
        ("sweep", meta.get("sweep_id")),
        ("started", run.started_at),
        ("ended", run.ended_at),
        ("duration", format_duration(run.duration)),
        ("host", meta.get("host")),
        ("folder", run.path),
    )
    lines += [f"  {label + ':':<11}{value}" for label, value in fields if value not in (None, "")]
    lines += _section("Config", _config_lines(run))
    lines += _section("Metrics", [f"{name} = {value!r}" for name, value in run.metrics.items()])
    lines += _section("Models", _model_lines(run))
    log = run.path / "logs" / "cascade_run.log"
    lines += _section("Log", [str(log) if log.exists() else "(not kept)"])
    return "\n".join(lines)


def _section(title: str, entries: list[str]) -> list[str]:
    if not entries:
        return []
    return ["", f"{title}:", *(f"  {entry}" for entry in entries)]


def _config_lines(run) -> list[str]:
    overrides = run.overrides
    return [f"{'*' if key in overrides else ' '} {key} = {value!r}" for key, value in run.config.items()]


def _model_lines(run) -> list[str]:
    from cascade_core import store

    path = run.path / store.MODELS_FILE
    if not path.is_file():
        return []
    lines = []
    for text in path.read_text(encoding="utf-8").splitlines():
        try:
            record = json.loads(text)
        except ValueError:
            continue
        if isinstance(record, dict) and "path" in record:
            saved = f"  (saved {record['saved_at']})" if record.get("saved_at") else ""
            lines.append(f"{record['path']}{saved}")
    return lines
