"""Config of argparse scripts: fields read from `add_argument` calls.

The calls are read statically. Each option becomes a field whose key is its
`dest`, whose default is the `default=` argument, and whose type comes from
`type=`, `choices=` (as a `Literal[...]`), `nargs=` (a list) or the action.
Overrides are not written into the source: `argparse_argv` turns them into
command-line arguments for the script.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass

from cascade_core.errors import OverrideError
from cascade_core.fieldtypes import Expression

_TYPE_NAMES = {"int", "float", "str"}
_BOOL_ACTIONS = {"store_true": False, "store_false": True}
_SKIPPED_ACTIONS = {"help", "version", "store_const", "append_const"}

__all__ = ["ArgparseOption", "argparse_argv", "find_argparse_fields"]


@dataclass(frozen=True)
class ArgparseOption:
    """The command-line form of an argparse field.

    Attributes:
        dest: The attribute name on the parsed namespace.
        option_strings: Spellings such as ("-b", "--batch-size"), or empty
            for a positional argument.
        action: The `action=` argument as written ("store", "store_true",
            "BooleanOptionalAction", ...).
        nargs: The `nargs=` argument, or None.
    """

    dest: str
    option_strings: tuple[str, ...]
    action: str = "store"
    nargs: object = None

    @property
    def positional(self) -> bool:
        """Whether the argument is positional."""
        return not self.option_strings

    @property
    def spelling(self) -> str:
        """The option string to pass: the first long one, else the first."""
        long_options = [option for option in self.option_strings if option.startswith("--")]
        return (long_options or list(self.option_strings))[0]


def find_argparse_fields(finder) -> tuple[list, dict[str, ArgparseOption]]:
    """Return the fields and options of every `add_argument` call in a module.

    Args:
        finder: The `ConfigFinder` of the module.
    """
    from cascade_core.discovery import Field

    constants = _global_literals(finder.tree)
    fields = []
    options: dict[str, ArgparseOption] = {}
    for call in _add_argument_calls(finder.tree):
        option = _read_option(call)
        if option is None or option.dest in options:
            continue

        keywords = {keyword.arg: keyword.value for keyword in call.keywords if keyword.arg}
        value_node = keywords.get("default")
        span = finder.source_map.span(value_node if value_node is not None else call)
        source = finder.source[span[0] : span[1]] if value_node is not None else ""
        fields.append(
            Field(
                name=option.dest,
                owner=None,
                annotation=_annotation(option, keywords, finder),
                default=_default(option, value_node, source, constants),
                source=source,
                lineno=(value_node or call).lineno,
                span=span,
                key=option.dest,
                qualname=option.dest,
            )
        )
        options[option.dest] = option
    return fields, options


def _add_argument_calls(tree: ast.Module) -> list[ast.Call]:
    calls = [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "add_argument"
    ]
    return sorted(calls, key=lambda call: (call.lineno, call.col_offset))


def _read_option(call: ast.Call) -> ArgparseOption | None:
    names = [arg.value for arg in call.args if isinstance(arg, ast.Constant) and isinstance(arg.value, str)]
    if not names or len(names) != len(call.args):
        return None

    keywords = {keyword.arg: keyword.value for keyword in call.keywords if keyword.arg}
    action = _action_name(keywords.get("action"))
    if action in _SKIPPED_ACTIONS:
        return None

    option_strings = tuple(name for name in names if name.startswith("-"))
    dest = _constant(keywords.get("dest")) or _dest_of(names, option_strings)
    nargs = _constant(keywords.get("nargs"))
    return ArgparseOption(dest, option_strings, action, nargs)


def _dest_of(names: list[str], option_strings: tuple[str, ...]) -> str:
    if not option_strings:
        return names[0]
    long_options = [name for name in option_strings if name.startswith("--")]
    chosen = long_options[0] if long_options else option_strings[0]
    return chosen.lstrip("-").replace("-", "_")


def _action_name(node: ast.expr | None) -> str:
    if node is None:
        return "store"
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.Attribute):
        return node.attr
    if isinstance(node, ast.Name):
        return node.id
    return "custom"


def _constant(node: ast.expr | None) -> object:
    if isinstance(node, ast.Constant):
        return node.value
    return None


def _annotation(option: ArgparseOption, keywords: dict, finder) -> str | None:
    if option.action in _BOOL_ACTIONS or option.action == "BooleanOptionalAction":
        return "bool"
    if option.action == "count":
        return "int"

    item = None
    choices = keywords.get("choices")
    type_node = keywords.get("type")
    if isinstance(choices, (ast.List, ast.Tuple, ast.Set)) and choices.elts:
        item = "Literal[" + ", ".join(finder.source_map.text(element) for element in choices.elts) + "]"
    elif isinstance(type_node, ast.Name) and type_node.id in _TYPE_NAMES:
        item = type_node.id

    if option.nargs in ("+", "*") or isinstance(option.nargs, int) or option.action in ("append", "extend"):
        return f"list[{item}]" if item else "list"
    return item


def _default(option: ArgparseOption, node: ast.expr | None, source: str, constants: dict) -> object:
    if node is None:
        if option.action in _BOOL_ACTIONS:
            return _BOOL_ACTIONS[option.action]
        return None

    if isinstance(node, ast.Name) and node.id in constants:
        return constants[node.id]
    try:
        return ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return Expression(source)


def _global_literals(tree: ast.Module) -> dict[str, object]:
    """Return name -> literal value of simple top-level assignments, for defaults like `default=LR`."""
    constants = {}
    for statement in tree.body:
        if isinstance(statement, ast.Assign) and len(statement.targets) == 1:
            target = statement.targets[0]
            if isinstance(target, ast.Name):
                try:
                    constants[target.id] = ast.literal_eval(statement.value)
                except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
                    constants.pop(target.id, None)
    return constants


# Overrides as command-line arguments ----------------------------------------------


def argparse_argv(config, overrides: dict[str, object]) -> list[str]:
    """Turn overrides of an argparse script into its command-line arguments.

    Positional arguments come first, in the order the parser defines them,
    then options in the order given.

    Args:
        config: The script's `ScriptConfig` (style "argparse").
        overrides: Field key -> typed value.

    Raises:
        OverrideError: A value cannot be expressed on the command line, such
            as False for a `store_true` option whose default is True.
    """
    options: dict[str, ArgparseOption] = config.extras.get("argparse", {})
    positional: dict[str, list[str]] = {}
    argv: list[str] = []
    for key, value in overrides.items():
        field = config.lookup(key)
        option = options[field.key]
        if option.positional:
            positional[field.key] = _values(value)
        else:
            argv += _option_arguments(option, field, value)

    ordered = [item for field in config.fields if field.key in positional for item in positional[field.key]]
    return ordered + argv


def _option_arguments(option: ArgparseOption, field, value: object) -> list[str]:
    if value is None:
        return _none_arguments(option, field)
    if option.action == "BooleanOptionalAction":
        return [option.spelling] if value else [_negated(option.spelling)]
    if option.action in _BOOL_ACTIONS:
        return _flag_arguments(option, field, value)
    if option.action == "count":
        return [option.spelling] * int(value or 0)
    if isinstance(value, (list, tuple)) and option.action in ("append", "extend") and option.nargs is None:
        return [item for element in value for item in (option.spelling, _text(element))]
    return [option.spelling, *_values(value)]


def _flag_arguments(option: ArgparseOption, field, value: object) -> list[str]:
    sets_true = option.action == "store_true"
    if bool(value) == sets_true:
        return [option.spelling]
    if bool(value) == field.default:
        return []
    raise OverrideError(
        f"--{field.key} cannot be set to {value!r}: {option.spelling} is a {option.action} flag "
        f"whose default is {field.default!r}, so the command line can only turn it on",
        field.key,
        value,
    )


def _none_arguments(option: ArgparseOption, field) -> list[str]:
    """Leave out an option set to None, which only works when None is its default."""
    if field.default is None:
        return []
    raise OverrideError(
        f"--{field.key} cannot be set to None: the command line has no spelling for None, "
        f"and leaving {option.spelling} out gives its default {field.default!r}",
        field.key,
        None,
    )


def _negated(spelling: str) -> str:
    return "--no-" + spelling[2:]


def _values(value: object) -> list[str]:
    if isinstance(value, (list, tuple)):
        return [_text(item) for item in value]
    return [_text(value)]


def _text(value: object) -> str:
    if isinstance(value, (str, int, float)):
        return str(value)
    return repr(value)
