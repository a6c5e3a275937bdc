"""Base configs: values taken from an earlier run or a config file, under the command-line overrides.

`cascade run train.py --base REF|file.yaml|file.json|file.toml --lr 0.1`
starts from the base's values, then applies the command-line overrides on
top. A base key that the script does not define is an error unless `-f`
(`force=True`), which adds it to the run's config and to the source that runs
(see `add_fields`).
"""

from __future__ import annotations

import ast
import json
import logging
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

from cascade_core.errors import ConfigFileError, FieldNotAddableError, UnknownBaseKeyError, UnknownKeyError
from cascade_core.recorded import restore_values

logger = logging.getLogger(__name__)

CONFIG_FILE_SUFFIXES = (".yaml", ".yml", ".json", ".toml")


@dataclass(frozen=True)
class Base:
    """Values a run starts from before its own overrides.

    Attributes:
        label: What the run records under `base`: the run id of a run, or
            the absolute path of a config file.
        values: Key to typed value, in the order the base gives them.
        kind: "run" for a recorded run's config, "file" for a config file.
    """

    label: str
    values: dict = field(default_factory=dict)
    kind: str = "file"


@dataclass(frozen=True)
class Merged:
    """A base merged with the command-line overrides.

    Attributes:
        overrides: `Field.key` to value, for `rewrite()` and the overrides
            record. Base values equal to the script's default are left out.
        extras: Keys the script does not define, kept because of `force`.
        label: The base's label for the run's metadata, None without a base.
    """

    overrides: dict
    extras: dict
    label: str | None = None


# Loading -------------------------------------------------------------------


def load_base(ref: str | Path, root=None) -> Base:
    """Load a base from a config file or from a recorded run.

    Args:
        ref: A path ending in `.yaml`, `.yml`, `.json` or `.toml`, a run
            reference (`last`, a run folder, a model folder, an id prefix),
            or a `Base` already loaded (returned as it is).
        root: The run store folder used to resolve a run reference.

    Returns:
        The base, labelled with the file's absolute path or the run id.

    Raises:
        ConfigFileError: If the config file is missing or invalid.
        RunNotFoundError, AmbiguousRunError: If the run reference matches no
            run or several runs.
        RecordedValueError: If a recorded value cannot be restored.
    """
    if isinstance(ref, Base):
        return ref

    path = Path(ref)
    if path.suffix.lower() in CONFIG_FILE_SUFFIXES:
        return Base(str(path.absolute()), load_config_file(path))

    from cascade_core import store

    run_path = store.resolve(str(ref), root)
    return Base(run_path.name, restore_values(run_path)["config"], kind="run")


def load_config_file(path: str | Path) -> dict:
    """Read a YAML, JSON or TOML file of config values.

    The top level must be a mapping, and values keep the types the format
    gives them. When a key names a config class and its value is a mapping,
    `merge_base` later reads it as that class's fields, so
    `{"Train": {"lr": 0.1}}` is `{"Train.lr": 0.1}`.

    Raises:
        ConfigFileError: If the file is missing, does not parse, or its top
            level is not a mapping with string keys.
    """
    path = Path(path)
    loader = _LOADERS.get(path.suffix.lower())
    if loader is None:
        raise ConfigFileError(
            f"Unsupported config file {str(path)!r}: expected a name ending in {', '.join(CONFIG_FILE_SUFFIXES)}.",
            path,
        )
    if not path.is_file():
        raise ConfigFileError(f"Config file not found: {str(path)!r}. Check the path given to --base.", path)

    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigFileError(
            f"Cannot read config file {str(path)!r}: byte {exc.start} is not UTF-8 ({exc.reason}). "
            "Save the file as UTF-8 text.",
            path,
        ) from exc

    try:
        data = loader(text)
    except _SyntaxFailure as failure:
        raise ConfigFileError(_syntax_message(path, failure), path) from failure

    return _check_mapping(data, path)


class _SyntaxFailure(ValueError):
    """A config file that does not parse: the problem in one line, and where it was found.

    `line` and `column` are 1-based, or None when the parser gives no
    position. `at_end` is true when the parser reached the end of the file.
    """

    def __init__(self, problem: str, line: int | None = None, column: int | None = None, at_end: bool = False):
        super().__init__(problem)
        self.problem = problem
        self.line = line
        self.column = column
        self.at_end = at_end


def _syntax_message(path: Path, failure: _SyntaxFailure) -> str:
    place = ""
    if failure.at_end:
        place = " at the end of the file"
    elif failure.line is not None:
        place = f" at line {failure.line}" + (f", column {failure.column}" if failure.column is not None else "")
    syntax = _FORMAT_NAMES[path.suffix.lower()]
    return (
        f"Cannot parse config file {str(path)!r}{place}: {failure.problem}. "
        f"Fix the {syntax} syntax there and run again."
    )


def _load_yaml(text: str) -> object:
    import yaml

    try:
        return yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        raise _yaml_failure(exc, text) from exc
    except yaml.YAMLError as exc:
        raise _SyntaxFailure(" ".join(str(exc).split())) from exc


def _yaml_failure(exc, text: str) -> _SyntaxFailure:
    """Read PyYAML's problem, context and marks (0-based) into one line with 1-based positions."""
    mark = exc.problem_mark or exc.context_mark
    problem = exc.problem or exc.context or "invalid YAML"
    if exc.context and exc.problem:
        problem += f" ({exc.context}"
        if exc.context_mark is not None:
            problem += f" started at line {exc.context_mark.line + 1}, column {exc.context_mark.column + 1}"
        problem += ")"
    if mark is None:
        return _SyntaxFailure(problem)
    return _SyntaxFailure(problem, mark.line + 1, mark.column + 1, at_end=mark.index >= len(text))


def _load_json(text: str) -> object:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise _SyntaxFailure(exc.msg, exc.lineno, exc.colno) from exc


# tomllib (Python 3.11 to 3.13) and tomli end each message with its position.
_TOML_POSITION = re.compile(r"^(?P<problem>.*) \(at (?:line (?P<line>\d+), column (?P<column>\d+)|end of document)\)$")


def _load_toml(text: str) -> object:
    if sys.version_info >= (3, 11):
        import tomllib
    else:
        import tomli as tomllib
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise _toml_failure(str(exc)) from exc


def _toml_failure(message: str) -> _SyntaxFailure:
    match = _TOML_POSITION.match(message)
    if match is None:
        return _SyntaxFailure(message)
    if match["line"] is None:
        return _SyntaxFailure(match["problem"], at_end=True)
    return _SyntaxFailure(match["problem"], int(match["line"]), int(match["column"]))


_LOADERS = {".yaml": _load_yaml, ".yml": _load_yaml, ".json": _load_json, ".toml": _load_toml}
_FORMAT_NAMES = {".yaml": "YAML", ".yml": "YAML", ".json": "JSON", ".toml": "TOML"}


def _check_mapping(data: object, path: Path) -> dict:
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigFileError(
            f"Invalid config file {str(path)!r}: it contains a {type(data).__name__}, expected a mapping of "
            "field names to values, e.g. 'lr: 0.1'.",
            path,
        )
    bad = [key for key in data if not isinstance(key, str)]
    if bad:
        raise ConfigFileError(
            f"Config file {str(path)!r} has a key that is not a field name: {bad[0]!r}. Keys must be text.",
            path,
        )
    return data


# Merging -------------------------------------------------------------------


def apply_base(base, overrides: dict, config, force: bool = False, root=None) -> Merged:
    """Load a base when one is given and merge it under the overrides.

    `runplan.prepare()` calls this for `start()`.

    Args:
        base: None, a loaded `Base`, or what `load_base` takes.
        overrides: `Field.key` to typed value, already checked.
        config: The script's `ScriptConfig`.
        force: See `merge_base`.
        root: The run store folder, for a run reference.

    Returns:
        The merged overrides and extras, labelled for the run's `base`
        metadata. Without a base, the overrides unchanged and no extras.
    """
    if base is None:
        return Merged(dict(overrides), {})
    return merge_base(load_base(base, root), overrides, config, force)


def merge_base(base: Base, overrides: dict, config, force: bool = False) -> Merged:
    """Merge a base's values under the command-line overrides.

    Args:
        base: The loaded base.
        overrides: `Field.key` to typed value, already checked.
        config: The script's `ScriptConfig`.
        force: Keep keys the script does not define (as `Merged.extras`)
            instead of raising.

    Returns:
        The merged overrides and the extra keys. A base value equal to the
        script's current default (same type and value) is not an override.

    Raises:
        UnknownBaseKeyError: If a base key names no field and `force` is False.
        OverrideError: If a base value does not fit its field's type.
    """
    from cascade_core.overrides import coerce_overrides

    known, extras = _split_known(base, config, force)
    checked = coerce_overrides(adapt_containers(known, config), config)

    merged = {key: value for key, value in checked.items() if not _equals_default(config.lookup(key), value)}
    for key, value in overrides.items():
        merged.pop(key, None)
        merged[key] = value
    return Merged(merged, extras, base.label)


def _split_known(base: Base, config, force: bool) -> tuple[dict, dict]:
    known, extras = {}, {}
    for key, value in _flatten_classes(base.values, config).items():
        try:
            known[config.lookup(key).key] = value
        except UnknownKeyError:
            extras[key] = value

    if extras and not force:
        raise _unknown_base_key(base, config, *next(iter(extras.items())))
    if extras:
        logger.info("Adding keys the script does not define, from base %s: %s", base.label, ", ".join(extras))
    return known, extras


def _flatten_classes(values: dict, config) -> dict:
    classes = set(_config_classes(config))
    flat = {}
    for key, value in values.items():
        if key in classes and isinstance(value, dict):
            flat.update({f"{key}.{name}": item for name, item in value.items()})
        else:
            flat[key] = value
    return flat


def _unknown_base_key(base: Base, config, key: str, value: object) -> UnknownBaseKeyError:
    import difflib

    names = [item.key for item in config.fields]
    close = difflib.get_close_matches(key, names, n=1)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    where = f"recorded in run {base.label}" if base.kind == "run" else f"in {base.label}"
    fix = "Pass -f to add it to the new run's config." if base.kind == "run" else (
        "Remove it from the file, or pass -f to add it to the run's config."
    )
    return UnknownBaseKeyError(
        f"Key {key!r} {where} is not a field of {config.path.name}'s config "
        f"(fields: {', '.join(names) or 'none'}).{hint} {fix}",
        key,
        value,
    )


def adapt_containers(values: dict, config) -> dict:
    """Turn lists into tuples, sets or frozensets where the field's default has that type.

    YAML, JSON and TOML have only lists, so `image_size: [224, 224]` must
    become `(224, 224)` for a tuple field.
    """
    adapted = {}
    for key, value in values.items():
        default = config.lookup(key).default
        kind = type(default)
        if isinstance(value, list) and kind in (tuple, set, frozenset):
            value = kind(value)
        adapted[key] = value
    return adapted


def _equals_default(config_field, value: object) -> bool:
    default = config_field.default
    if type(default) is not type(value):
        return False
    try:
        return bool(default == value) and repr(default) == repr(value)
    except Exception:  # noqa: BLE001 - a value whose __eq__ fails is simply not equal
        return False


# Adding fields -------------------------------------------------------------


def add_fields(source: str, config, extras: dict) -> str:
    """Append extra fields to a script's source without changing its line count.

    Each extra `name = repr(value)` is appended as `; name = value` to the
    line of the last simple statement (an assignment, a docstring) in the
    body of its config class. No line is added, so tracebacks keep their line
    numbers. A key `Class.name` goes into that class. A bare key goes into
    the script's only config class, or after the last UPPERCASE global when
    the config is made of globals.

    Args:
        source: The script's source, after `rewrite()`.
        config: The `ScriptConfig` discovered from the original script.
        extras: Key to value, as `Merged.extras`.

    Raises:
        FieldNotAddableError: If the script has no config class or globals to
            add to, the key names no config class, or a bare key could go
            into several classes.
    """
    if not extras:
        return source

    tree = ast.parse(source)
    insertions: dict[int, list[str]] = {}
    for key, value in extras.items():
        owner, name = _split_key(key, config)
        offset = _insertion_offset(source, tree, config, owner, key)
        insertions.setdefault(offset, []).append(f"; {name} = {value!r}")

    for offset in sorted(insertions, reverse=True):
        source = source[:offset] + "".join(insertions[offset]) + source[offset:]
    return source


def _config_classes(config) -> list[str]:
    owners = [item.owner for item in config.fields if item.owner]
    return list(dict.fromkeys([*getattr(config, "classes", {}), *owners]))


def _split_key(key: str, config) -> tuple[str | None, str]:
    owner, _, name = key.rpartition(".")
    if not name.isidentifier() or (owner and not all(part.isidentifier() for part in owner.split("."))):
        raise FieldNotAddableError(f"Cannot add {key!r}: it is not a valid field name.", key)
    if owner:
        return owner, name
    if config.style == "globals":
        return None, name

    classes = _config_classes(config)
    if len(classes) > 1:
        choices = " or ".join(f"{cls}.{name}" for cls in classes)
        raise FieldNotAddableError(
            f"Cannot add {key!r}: the script has several config classes. Name the class, e.g. {choices}.", key
        )
    return (classes[0] if classes else None), name


def _insertion_offset(source: str, tree: ast.Module, config, owner: str | None, key: str) -> int:
    if owner is not None:
        body = next((node.body for node in tree.body if isinstance(node, ast.ClassDef) and node.name == owner), None)
        if body is None:
            raise FieldNotAddableError(f"Cannot add {key!r}: the script has no top-level class {owner!r}.", key)
        statement = _last_simple_statement(body)
    elif config.style == "globals":
        names = {item.name for item in config.fields}
        statement = _last_assignment(tree.body, names)
    else:
        statement = None

    if statement is None:
        raise FieldNotAddableError(
            f"Cannot add {key!r}: {config.path.name} has no config class or UPPERCASE globals with a "
            "field to add it after. Define the field in the script instead.",
            key,
        )
    return _offset(source, statement.end_lineno, statement.end_col_offset)


_SIMPLE_STATEMENTS = (ast.Assign, ast.AnnAssign, ast.AugAssign, ast.Expr, ast.Pass)


def _last_simple_statement(body: list[ast.stmt]) -> ast.stmt | None:
    simple = [node for node in body if isinstance(node, _SIMPLE_STATEMENTS)]
    return simple[-1] if simple else None


def _last_assignment(body: list[ast.stmt], names: set[str]) -> ast.stmt | None:
    found = None
    for node in body:
        targets = node.targets if isinstance(node, ast.Assign) else [getattr(node, "target", None)]
        if isinstance(node, (ast.Assign, ast.AnnAssign)) and any(
            isinstance(target, ast.Name) and target.id in names for target in targets
        ):
            found = node
    return found


def _offset(source: str, lineno: int, col_offset: int) -> int:
    # ast columns count UTF-8 bytes, not characters, and only \n, \r\n and \r end a line.
    lines = re.findall(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+$", source)
    start = sum(len(line) for line in lines[: lineno - 1])
    prefix = lines[lineno - 1].encode("utf-8")[:col_offset].decode("utf-8")
    return start + len(prefix)
