"""Browsing commands: `cascade runs` (with `runs rm` and `runs prune`), `show`, `diff` and `logs`."""

from __future__ import annotations

import json
import shlex
import sys

import click

from cascade_core.errors import CascadeError
from cascade_core.formatting import format_duration, format_overrides, format_table
from cascade_core.store import STATUSES

OVERRIDES_WIDTH = 40
"""Characters of the overrides column of `cascade runs` before it is cut with `...`."""


ROOT_HELP = "The run store folder (default: the nearest .cascade/)."


@click.group(invoke_without_command=True, short_help="List, remove and prune the runs of the store.")
@click.option("--status", type=click.Choice(STATUSES), help="Only runs with this status.")
@click.option("--script", help="Only runs of this script: a file name, a path ending (proj/train.py) or a glob.")
@click.option("--name", help="Only runs with this name (a glob is allowed).")
@click.option("--tag", "tags", multiple=True, help="Only runs with this tag; repeat to require several.")
@click.option("--last", type=click.IntRange(min=1), help="Only the newest N runs that pass the other filters.")
@click.option("--json", "as_json", is_flag=True, help="Print the runs as a JSON list instead of a table.")
@click.option("--root", type=click.Path(file_okay=False), help=ROOT_HELP)
@click.pass_context
def runs(ctx: click.Context, status, script, name, tags, last, as_json, root) -> None:
    """List the runs of the store, oldest first: id, status, start time, duration, script and overrides.

    Name and tag columns appear when a listed run has a name or tags.
    `cascade runs rm REF...` and `cascade runs prune --older-than 30d`
    remove runs.
    """
    if ctx.invoked_subcommand is not None:
        return
    try:
        listed = _find_runs(root, status=status, script=script, name=name, tag=tags, last=last)
    except CascadeError as exc:
        raise click.ClickException(str(exc)) from exc

    if as_json:
        click.echo(json.dumps([run_record(run) for run in listed], indent=2, ensure_ascii=False))
        return
    if not listed:
        click.echo(_empty_message(status, script, name, tags), err=True)
        return
    click.echo(format_runs_table([run_row(run) for run in listed], _columns(listed)))


def _find_runs(root, **filters):
    from cascade_core.browse import find_runs

    return find_runs(root=root, **filters)


def _empty_message(*filters) -> str:
    if any(filters):
        return "No runs match these filters."
    return "No runs yet. Start one with: cascade run SCRIPT"


def _columns(listed) -> tuple[str, ...]:
    columns = ["id", "status", "started", "duration", "script"]
    if any(run.name for run in listed):
        columns.append("name")
    if any(run.tags for run in listed):
        columns.append("tags")
    return (*columns, "overrides")


def run_record(run) -> dict:
    """Describe a run as JSON values, for `cascade runs --json`."""
    from cascade_core import store

    meta = run.meta
    return {
        "id": run.id,
        "status": run.status,
        "name": run.name,
        "tags": run.tags,
        "script": str(run.script) if run.script else None,
        "started_at": run.started_at,
        "ended_at": run.ended_at,
        "duration": run.duration,
        "exit_code": run.returncode,
        "base": meta.get("base"),
        "sweep_id": meta.get("sweep_id"),
        "config": store.to_json_value(run.config),
        "overrides": store.to_json_value(run.overrides),
        "metrics": store.to_json_value(run.metrics),
        "path": str(run.path),
    }


def run_row(run) -> dict:
    """Return the columns of one run in `cascade runs`."""
    overrides = format_overrides(run.overrides)
    if len(overrides) > OVERRIDES_WIDTH:
        overrides = overrides[: OVERRIDES_WIDTH - 3] + "..."
    return {
        "id": run.id,
        "status": run.status,
        "started": (run.started_at or "")[:19].replace("T", " "),
        "duration": format_duration(run.duration),
        "script": run.script.name if run.script else "",
        "name": run.name or "",
        "tags": ",".join(run.tags),
        "overrides": overrides,
    }


def format_runs_table(rows: list[dict], columns: tuple[str, ...]) -> str:
    """Format run rows as a plain text table under upper-case column titles."""
    header = [column.upper() for column in columns]
    return format_table(header, [[str(row[column]) for column in columns] for row in rows])


@click.command(short_help="Show one run: status, config, metrics, models and files.")
@click.argument("ref")
@click.option("--root", type=click.Path(file_okay=False), help="The run store folder (default: the nearest .cascade/).")
def show(ref: str, root: str | None) -> None:
    """Show the run REF: `last`, a run folder, a model folder or a unique run id prefix."""
    click.echo(format_run(_load_run(ref, root)))


def _load_run(ref: str, root: str | None):
    """Load the run that REF names, raising a ClickException when REF names none."""
    from cascade_core import store
    from cascade_core.run import Run

    try:
        return Run.load(store.resolve(ref, root))
    except CascadeError as exc:
        raise click.ClickException(str(exc)) from exc


def format_run(run) -> str:
    """Describe a run in plain text, as `cascade show` prints it."""
    meta = run.meta
    lines = [f"Run {run.id}"]
    fields = (
        ("status", run.status),
        ("exit code", run.returncode),
        ("script", run.script),
        ("argv", shlex.join(meta.get("argv") or [])),
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
    from cascade_core.models import models_of_run

    lines = []
    for record in models_of_run(run.path):
        if "path" in record:
            saved = f"  (saved {record['saved_at']})" if record.get("saved_at") else ""
            lines.append(f"{record['path']}{saved}")
    return lines


# Removing runs ---------------------------------------------------------------


@runs.command("rm", short_help="Remove runs and their folders.")
@click.argument("refs", nargs=-1, required=True, metavar="REF...")
@click.option("-y", "--yes", is_flag=True, help="Remove without asking for confirmation.")
@click.option("--root", type=click.Path(file_okay=False), help=ROOT_HELP)
def remove(refs: tuple[str, ...], yes: bool, root: str | None) -> None:
    """Remove the runs REF... (each `last`, a run folder, a model folder or a run id prefix).

    Every REF is resolved, and none may be running, before any folder is
    removed. Asks for confirmation unless -y.
    """
    from cascade_core import store
    from cascade_core.run import Run

    try:
        folders = list(dict.fromkeys(store.resolve(ref, root) for ref in refs))
        selected = [Run.load(folder) for folder in folders]
        _confirm_removal(selected, yes)
        _remove(selected)
    except CascadeError as exc:
        raise click.ClickException(str(exc)) from exc


@runs.command("prune", short_help="Remove runs older than an age.")
@click.option("--older-than", "older_than", required=True, metavar="AGE",
              help="Remove runs started more than AGE ago: 30d, 12h, 90m, 45s, 2w or 1d12h.")
@click.option("--status", type=click.Choice(STATUSES), help="Only runs with this status.")
@click.option("--dry-run", is_flag=True, help="List the runs that would be removed, and remove nothing.")
@click.option("-y", "--yes", is_flag=True, help="Remove without asking for confirmation.")
@click.option("--root", type=click.Path(file_okay=False), help=ROOT_HELP)
def prune(older_than: str, status: str | None, dry_run: bool, yes: bool, root: str | None) -> None:
    """Remove the runs started more than --older-than ago, optionally only those with --status.

    Running runs are never removed. The runs are listed, and removed only
    after confirmation, unless -y.
    """
    from cascade_core.browse import select_prune

    try:
        selected = select_prune(older_than, status=status, root=root)
        if not selected:
            click.echo(f"No runs to prune: none started more than {older_than} ago.", err=True)
            return
        if dry_run:
            click.echo(format_runs_table([run_row(run) for run in selected], _columns(selected)))
            click.echo(f"Would remove {_count(selected)} (dry run: nothing removed).", err=True)
            return
        _confirm_removal(selected, yes)
        _remove(selected)
    except CascadeError as exc:
        raise click.ClickException(str(exc)) from exc


def _count(selected) -> str:
    return f"{len(selected)} run" if len(selected) == 1 else f"{len(selected)} runs"


def _confirm_removal(selected, yes: bool) -> None:
    """List the runs and prompt `Remove N runs and their folders? [y/N]` unless `yes`.

    Raises:
        click.ClickException: If confirmation is needed but stdin is not a terminal.
        SystemExit: With status 1 when the user declines.
    """
    if yes:
        return
    if not sys.stdin.isatty():
        raise click.ClickException(
            "Standard input is not a terminal, so the removal cannot be confirmed. "
            "Pass -y to remove without confirmation."
        )
    click.echo(format_runs_table([run_row(run) for run in selected], _columns(selected)), err=True)
    if not click.confirm(f"Remove {_count(selected)} and their folders?", default=False, err=True):
        click.echo("Aborted: nothing was removed.", err=True)
        sys.exit(1)


def _remove(selected) -> None:
    from cascade_core.browse import remove_runs

    remove_runs(selected)
    click.echo(f"Removed {_count(selected)}.", err=True)


# Diff and logs ---------------------------------------------------------------


@click.command(short_help="Compare two runs: config, overrides, metrics and source.")
@click.argument("first", metavar="REF")
@click.argument("second", metavar="REF")
@click.option("--root", type=click.Path(file_okay=False), help=ROOT_HELP)
def diff(first: str, second: str, root: str | None) -> None:
    """Compare two runs: config and override values (exact types), last metric values, and a
    unified diff of the source that ran.
    """
    from cascade_core.browse import diff_runs, format_diff

    runs_compared = [_load_run(ref, root) for ref in (first, second)]
    click.echo(format_diff(diff_runs(*runs_compared)), nl=False)


@click.command(short_help="Print a run's log; -f follows a running run.")
@click.argument("ref")
@click.option("-f", "--follow", is_flag=True, help="Keep printing new lines until the run ends.")
@click.option("--root", type=click.Path(file_okay=False), help=ROOT_HELP)
def logs(ref: str, follow: bool, root: str | None) -> None:
    """Print the log of run REF. With -f, keep printing as the run writes it, until the run ends.

    Ctrl-C stops following; it does not stop the run.
    """
    from cascade_core.browse import follow_log, log_exists

    run = _load_run(ref, root)
    if run.status != "running" and not log_exists(run):
        raise click.ClickException(f"Run {run.id} has no log: it was started with --no-log.")
    if not follow:
        click.echo(run.log_text(), nl=False)
        return
    try:
        follow_log(run, lambda text: click.echo(text, nl=False))
    except KeyboardInterrupt:
        sys.exit(130)
