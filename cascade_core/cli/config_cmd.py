"""`cascade config SCRIPT [--json]`: show the config discovered in a script."""

from __future__ import annotations

import json

import click

from cascade_core.errors import CascadeError

# Maximum width of a default in the table. Longer text is cut with "...".
_MAX_DEFAULT_WIDTH = 40


@click.command(short_help="Show the config fields that a script's overrides can set.")
@click.argument("script", type=click.Path())
@click.option("--json", "as_json", is_flag=True, help="Print the config as JSON instead of a table.")
def config(script: str, as_json: bool) -> None:
    """Show the config of SCRIPT: each field's key, class, type, default and line.

    The script is read, never imported or run. Also lists fields whose
    names clash with run options: after SCRIPT such a name sets the field,
    so give the run option before SCRIPT.
    """
    from cascade_core.discovery import discover

    try:
        script_config = discover(script)
    except CascadeError as exc:
        raise click.ClickException(str(exc)) from exc

    if as_json:
        click.echo(json.dumps(config_as_dict(script_config), indent=2, ensure_ascii=False))
    else:
        click.echo(format_config(script_config))


def config_as_dict(script_config) -> dict:
    """Return the discovered config as JSON-ready data."""
    from cascade_core.cli.options import option_clashes

    return {
        "script": str(script_config.path),
        "style": script_config.style,
        "fields": [_field_as_dict(field, script_config) for field in script_config.fields],
        "clashes": [{"field": key, "option": option} for key, option in option_clashes(script_config)],
        "imported": [
            {
                "name": imported.name,
                "module": imported.module,
                "path": None if imported.path is None else str(imported.path),
                "line": imported.lineno,
                "fields": list(imported.fields),
            }
            for imported in script_config.imported
        ],
        "notes": list(script_config.notes),
    }


def _field_as_dict(field, script_config) -> dict:
    option = script_config.extras.get("argparse", {}).get(field.key)
    return {
        "key": field.key,
        "name": field.name,
        "class": field.owner,
        "type": type_label(field),
        "annotation": field.annotation,
        "default": _json_default(field),
        "expression": field.is_expression,
        "source": field.source,
        "line": field.lineno,
        "cell": field.cell,
        "option_strings": None if option is None else list(option.option_strings),
    }


def _json_default(field) -> object:
    if field.is_expression:
        return None
    try:
        json.dumps(field.default, allow_nan=False)
    except (TypeError, ValueError):
        return repr(field.default)
    if isinstance(field.default, (dict, list, tuple)) and _has_non_string_keys(field.default):
        return repr(field.default)
    return field.default


def _has_non_string_keys(value) -> bool:
    if isinstance(value, dict):
        return any(not isinstance(key, str) or _has_non_string_keys(item) for key, item in value.items())
    if isinstance(value, (list, tuple)):
        return any(_has_non_string_keys(item) for item in value)
    return False


def type_label(field) -> str:
    """Return the type shown for a field: its annotation, else the type its default implies."""
    from cascade_core.fieldtypes import field_type

    if field.annotation:
        return field.annotation
    return field_type(None, field.default).label


def format_config(script_config) -> str:
    """Render the discovered config as a plain-text table with clashes and notes."""
    lines = [_heading(script_config)]
    if script_config.fields:
        lines += ["", *_table(script_config)]
    lines += _imported_lines(script_config)
    lines += _clash_lines(script_config)
    lines += [f"Note: {note}" for note in script_config.notes]
    return "\n".join(lines)


def _heading(script_config) -> str:
    name = script_config.path.name
    count = len(script_config.fields)
    if script_config.style == "none" or not count:
        return f"{name}: no config fields (no Config class, no UPPERCASE globals, no argparse options)"
    fields = "1 field" if count == 1 else f"{count} fields"
    if script_config.classes:
        noun = "config class" if len(script_config.classes) == 1 else "config classes"
        return f"{name}: {fields} in {noun} {', '.join(script_config.classes)}"
    described = {
        "globals": "UPPERCASE globals",
        "argparse": "argparse options; overrides become command-line arguments",
        "notebook": "the notebook's parameters cell",
    }[script_config.style]
    return f"{name}: {fields} from {described}"


def _table(script_config) -> list[str]:
    headers = ("key", "class", "type", "default", "line")
    rows = [
        (
            field.key,
            field.owner or "-",
            type_label(field),
            _short(field.source or repr(field.default)),
            str(field.lineno) if field.cell is None else f"cell {field.cell}, line {field.lineno}",
        )
        for field in script_config.fields
    ]
    widths = [max(len(row[column]) for row in [headers, *rows]) for column in range(len(headers))]
    return ["  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() for row in [headers, *rows]]


def _short(text: str) -> str:
    text = " ".join(text.split())
    if len(text) <= _MAX_DEFAULT_WIDTH:
        return text
    return text[: _MAX_DEFAULT_WIDTH - 3] + "..."


def _imported_lines(script_config) -> list[str]:
    lines = []
    for imported in script_config.imported:
        location = f" ({imported.path})" if imported.path else ""
        lines.append(
            f"Imported: {imported.name} comes from module {imported.module!r}{location} on line "
            f"{imported.lineno}; its fields cannot be overridden from {script_config.path.name}"
        )
    return [""] + lines if lines else []


def _clash_lines(script_config) -> list[str]:
    from cascade_core.cli.options import is_magic_only, option_arity, option_clashes

    clashes = option_clashes(script_config)
    if not clashes:
        return []

    script = script_config.path.name
    lines = ["", "Fields that share a name with a run option (after SCRIPT the name sets the field):"]
    for key, option in clashes:
        usage = f"{option} VALUE" if option_arity()[option] else option
        command = "%cascade_run" if is_magic_only(option) else "cascade run"
        lines.append(f"  {option} sets field {key}; for the run option, write it before the script: {command} {usage} {script}")
    return lines
