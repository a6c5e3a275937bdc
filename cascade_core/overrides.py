"""The override grammar: command-line tokens to typed field values.

Forms: `--key value`, `--key=value`, `key=value`, `--Class.key value`, and a
bare `--flag` for a bool field. Values are Python literals, except that a
`str` field takes any other text as the string itself. Everything after a bare `--` is
passed to the script untouched. See docs/overrides.md for the full rules.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field as dataclass_field

from cascade_core.errors import (
    AmbiguousKeyError,
    DuplicateKeyError,
    ImportedConfigError,
    InvalidValueError,
    MissingValueError,
    OverrideError,
    TypeMismatchError,
    UnknownKeyError,
)
from cascade_core.fieldtypes import Expression, TypeCheckFailure, check_value, field_type, normalize_value, parse_text
from cascade_core.formatting import shell_word
from cascade_core.lookup import find_field, unknown_key_message

_OPENERS = {"[": "]", "(": ")", "{": "}"}
_QUOTES = ("'", '"')

__all__ = [
    "SplitArguments",
    "argparse_argv",
    "coerce_overrides",
    "parse_overrides",
    "parse_value",
    "read_override",
    "split_arguments",
    "split_top_level",
]


def argparse_argv(config, overrides: dict[str, object]) -> list[str]:
    """Turn typed overrides of an argparse script into its command-line arguments.

    See `cascade_core.argparse_config.argparse_argv`.
    """
    from cascade_core.argparse_config import argparse_argv as build_argv

    return build_argv(config, overrides)


@dataclass
class SplitArguments:
    """The tokens after SCRIPT on a command line, sorted by what they are for.

    Attributes:
        overrides: Override tokens, in the order given.
        options: Run option tokens (with their values), for click.
        passthrough: Tokens after a bare `--`, for the script's `sys.argv`.
    """

    overrides: list[str] = dataclass_field(default_factory=list)
    options: list[str] = dataclass_field(default_factory=list)
    passthrough: list[str] = dataclass_field(default_factory=list)


def split_top_level(text: str, sep: str = ",") -> list[str]:
    """Split text at separators outside brackets and quotes.

    `"[32,32],[128,128]"` gives `["[32,32]", "[128,128]"]` and `"'a,b',c"`
    gives `["'a,b'", "c"]`. Pieces are returned as written, unstripped. Text
    without a top-level separator gives a one-item list.
    """
    pieces: list[str] = []
    closers: list[str] = []
    quote: str | None = None
    start = 0
    index = 0
    while index < len(text):
        char = text[index]
        if quote is not None:
            if char == "\\":
                index += 1
            elif char == quote:
                quote = None
        elif char in _QUOTES:
            quote = char
        elif char in _OPENERS:
            closers.append(_OPENERS[char])
        elif closers and char == closers[-1]:
            closers.pop()
        elif not closers and text.startswith(sep, index):
            pieces.append(text[start:index])
            start = index + len(sep)
            index = start
            continue
        index += 1
    pieces.append(text[start:])
    return pieces


# Splitting a command line ------------------------------------------------------


def split_arguments(tokens, config, options: dict[str, bool]) -> SplitArguments:
    """Sort the tokens after SCRIPT into overrides, run options and passthrough.

    A `--x` that names a config field is an override, even where a run option
    has the same spelling. Any other `--x` must be a run option.

    Args:
        tokens: The command-line tokens after the script's path.
        config: The script's `ScriptConfig`.
        options: Each run option spelling ("-y", "--name", ...) mapped to
            whether it takes a value.

    Raises:
        UnknownKeyError: A `--x` is neither a field nor a run option.
        MissingValueError: A `--key` is followed by `--`, another key or a
            run option instead of its value.
        OverrideError: A token is neither an override nor an option.
    """
    tokens = list(tokens)
    result = SplitArguments()
    index = 0
    while index < len(tokens):
        token = tokens[index]
        if token == "--":
            result.passthrough = tokens[index + 1 :]
            break

        if _is_override_start(token, config):
            end = _override_end(tokens, index, config, options)
            _require_value(tokens, index, end, config, options)
            result.overrides += tokens[index:end]
        elif token.startswith("-") and len(token) > 1:
            end = _option_end(tokens, index, config, options)
            result.options += tokens[index:end]
        else:
            raise _unexpected(token)
        index = end
    return result


def _is_override_start(token: str, config) -> bool:
    if token.startswith("--"):
        return names_field(config, token[2:].partition("=")[0])
    return _is_assignment(token)


def names_field(config, key: str) -> bool:
    """Return True when a key is meant as a field: it names one, several, or an inherited or imported one."""
    if "." in key:
        return True
    try:
        config.lookup(key)
    except (AmbiguousKeyError, ImportedConfigError):
        return True
    except UnknownKeyError:
        return False
    return True


def _is_assignment(token: str) -> bool:
    key, equals, _ = token.partition("=")
    return bool(equals) and all(part.isidentifier() for part in key.split("."))


def _override_end(tokens: list[str], index: int, config, options=()) -> int:
    """Return the index after the override starting at `tokens[index]`.

    A `--key` of a non-bool field ends at once, without a value, when the
    next token is `--`, another field's `--key`, or exactly one of the run
    `options`.
    """
    token = tokens[index]
    if not token.startswith("--") or "=" in token:
        return index + 1

    key = token[2:]
    following = tokens[index + 1] if index + 1 < len(tokens) else None
    if _takes_flag_form(config, key):
        # A bool value never starts with "-", so "--flag -y" is a bare flag then an option.
        has_value = following is not None and not following.startswith("-")
        return index + 2 if has_value else index + 1
    if following is None or _next_token_reason(following, config, options):
        return index + 1
    return index + 2


def _require_value(tokens: list[str], index: int, end: int, config, options) -> None:
    """Raise MissingValueError when the `--key` at `tokens[index]` got no value, naming the next token."""
    token = tokens[index]
    if end != index + 1 or not token.startswith("--") or "=" in token or _takes_flag_form(config, token[2:]):
        return
    following = tokens[end] if end < len(tokens) else None
    raise _missing_value(config, token[2:], following, options)


def _next_token_reason(token: str, config, options=()) -> str:
    """Return why a token after `--key` is not a value for it, or "" when it is the value."""
    if token == "--":
        return "starts the script's own arguments"
    if _is_next_key(token, config):
        return "is a field key"
    spelling, equals, _ = token.partition("=")
    if spelling in options and (not equals or spelling.startswith("--")):
        return "is an option"
    return ""


def _option_end(tokens: list[str], index: int, config, options: dict[str, bool]) -> int:
    token = tokens[index]
    spelling = token.partition("=")[0]

    if spelling in options:
        takes_value = options[spelling] and "=" not in token
        return index + 2 if takes_value and index + 1 < len(tokens) else index + 1

    if token.startswith("--"):
        raise UnknownKeyError(unknown_key_message(config, token[2:].partition("=")[0], options), token[2:])
    end = _short_cluster_end(tokens, index, options)
    if end is None:
        raise _unexpected(token)
    return end


def _short_cluster_end(tokens: list[str], index: int, options: dict[str, bool]) -> int | None:
    """Return the index after a short-option cluster like `-ym` or `-j4`, or None if invalid."""
    token = tokens[index]
    for position, letter in enumerate(token[1:], start=1):
        takes_value = options.get(f"-{letter}")
        if takes_value is None:
            return None
        if takes_value:
            value_attached = position < len(token) - 1
            return index + 1 if value_attached else min(index + 2, len(tokens))
    return index + 1


def _unexpected(token: str) -> OverrideError:
    return OverrideError(
        f"Unexpected argument {token!r}: write overrides as --key value or key=value, "
        "and put arguments for the script itself after --",
        None,
        token,
    )


# Parsing overrides ---------------------------------------------------------------


def parse_overrides(tokens, config) -> dict[str, object]:
    """Parse override tokens into typed values.

    Returns:
        Field key -> value, in the order given.

    Raises:
        OverrideError: An unknown or ambiguous key, a key given twice, a
            missing value, a value that does not parse or does not fit the
            field's type. The subclass names the kind of failure.
    """
    tokens = list(tokens)
    values: dict[str, object] = {}
    spellings: dict[str, str] = {}
    index = 0
    while index < len(tokens):
        key, text, index = read_override(tokens, index, config)
        field = config.lookup(key)
        value = True if text is None else parse_value(field, text)
        _store(values, spellings, field, key, value)
    return values


def read_override(tokens: list[str], index: int, config) -> tuple[str, str | None, int]:
    """Read the override starting at `tokens[index]`.

    Returns:
        (key as typed, value text or None for a bare bool flag, index of the
        next token).

    Raises:
        MissingValueError: A non-bool key has no value after it.
        OverrideError: The token is not an override.
    """
    token = tokens[index]
    if token.startswith("--"):
        key, equals, text = token[2:].partition("=")
        if equals:
            return key, text, index + 1
        end = _override_end(tokens, index, config)
        if end == index + 2:
            return key, tokens[index + 1], end
        if _takes_flag_form(config, key):
            return key, None, end
        raise _missing_value(config, key, tokens[end] if end < len(tokens) else None)

    if _is_assignment(token):
        key, _, text = token.partition("=")
        return key, text, index + 1
    raise _unexpected(token)


# The sweep planner imported the private name before it was public.
_read_override = read_override


def _takes_flag_form(config, key: str) -> bool:
    """Return True when `--key` alone is allowed, because the key names a bool field."""
    field = find_field(config, key)
    return field is not None and "bool" in field_type(field.annotation, field.default).kinds


def _is_next_key(token: str, config) -> bool:
    return token.startswith("--") and names_field(config, token[2:].partition("=")[0])


def _missing_value(config, key: str, following: str | None = None, options=()) -> MissingValueError:
    """Build the error for a `--key` without a value.

    `following` is the token after the key, if any.
    """
    field = config.lookup(key)
    message = f"Missing value for --{key}"
    if following is not None:
        message += f" (the next token {following!r} {_next_token_reason(following, config, options)})"
    message += f". Example: --{key} {shell_word(example_value(field))}"

    ftype = field_type(field.annotation, field.default)
    if following is not None and ftype.accepts_text:
        message += f". For the text {following!r} itself, write --{key}={following}"
    return MissingValueError(message, key)


def _store(values: dict, spellings: dict, field, key: str, value: object) -> None:
    if field.key in values:
        raise DuplicateKeyError(
            f"{field.key} is given twice (as {spellings[field.key]} = {values[field.key]!r} "
            f"and {key} = {value!r}); give each field once",
            key,
            value,
        )
    values[field.key] = value
    spellings[field.key] = key


def parse_value(field, text: str) -> object:
    """Parse the text of one override for a field.

    Raises:
        InvalidValueError: The text is not a value of the field's type.
        TypeMismatchError: The text is a literal of another type.
    """
    if field.is_expression:
        return _parse_expression(field, text)

    ftype = field_type(field.annotation, field.default)
    try:
        return parse_text(ftype, text)
    except TypeCheckFailure as failure:
        raise _value_error(field, text, failure) from None


def _parse_expression(field, text: str) -> object:
    """Parse text for an expression field: a literal, else the text as an expression."""
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        pass

    try:
        ast.parse(text.strip(), mode="eval")
    except SyntaxError:
        raise InvalidValueError(
            f"Invalid value for --{field.key}: {text!r} is neither a Python literal nor an "
            f"expression. Example: --{field.key} {field.source!r} (the current expression)",
            field.key,
            text,
        ) from None

    if "\n" in text or "\r" in text:
        raise InvalidValueError(
            f"Invalid value for --{field.key}: the expression {text!r} spans several lines; "
            "write it on one line",
            field.key,
            text,
        )
    return Expression(text.strip())


def _value_error(field, text: str, failure: TypeCheckFailure) -> OverrideError:
    ftype = field_type(field.annotation, field.default)
    example = f"Example: {_example_override(field)}"
    sweep_hint = _comma_hints(field, ftype, text)

    if failure.reason == "syntax":
        return InvalidValueError(
            f"Invalid value for --{field.key}: {text!r} is not a Python literal; expected "
            f"{describe_expected(ftype)}. {example}{sweep_hint}",
            field.key,
            text,
        )

    value = failure.value
    return TypeMismatchError(
        f"Invalid value for --{field.key}: {value!r} is {_a_type(value)}, but {field.key} "
        f"expects {describe_expected(ftype)}. {example}{sweep_hint}",
        field.key,
        text,
    )


# Container kinds whose literals can contain comma-separated items, each with its brackets.
_BRACKETS = {"list": "[]", "tuple": "()", "set": "{}"}


def _comma_hints(field, ftype, text: str) -> str:
    """Suggest what a value with top-level commas may have meant, checking each suggestion first.

    The bracketed form (`'[32, 32]'`) is offered when it is a valid value
    of the field. `-m` is offered only when every comma-separated item is
    valid on its own. This way no suggested command fails.
    """
    pieces = [piece.strip() for piece in split_top_level(text)]
    if len(pieces) < 2:
        return ""

    hints = []
    for kind, brackets in _BRACKETS.items():
        bracketed = f"{brackets[0]}{', '.join(pieces)}{brackets[1]}"
        if kind in ftype.kinds and _fits(ftype, bracketed):
            hints.append(f"For one {kind}, write --{field.key} {shell_word(bracketed)}")
            break
    if all(_fits(ftype, piece) for piece in pieces):
        hints.append(f"To run once per comma-separated value, add -m: -m --{field.key} {shell_word(text)}")
    return "".join(f". {hint}" for hint in hints)


def _fits(ftype, text: str) -> bool:
    try:
        parse_text(ftype, text)
    except TypeCheckFailure:
        return False
    return True


def _example_override(field) -> str:
    """Return `--key VALUE` with a valid value for the field, quoted for a POSIX shell."""
    return f"--{field.key} {shell_word(example_value(field))}"


def _a_type(value: object) -> str:
    name = type(value).__name__
    if value is None:
        return "None"
    return f"an {name}" if name[0] in "aeiou" else f"a {name}"


def describe_expected(ftype) -> str:
    """Describe what a field type accepts, for messages."""
    if ftype.literals and not ftype.kinds:
        return "one of " + ", ".join(repr(value) for value in ftype.literals)
    return ftype.label


def example_value(field) -> str:
    """Return a valid command-line value for a field, for messages."""
    default = field.default
    if isinstance(default, str) and not isinstance(default, Expression):
        simple = default and default.isprintable() and " " not in default and len(default) <= 30
        return default if simple else "text"
    if "\n" not in field.source and len(field.source) <= 30:
        return field.source

    ftype = field_type(field.annotation, default)
    generic = {"int": "3", "float": "0.01", "str": "text", "bool": "True", "list": "[1, 2]", "tuple": "(1, 2)"}
    for kind in ftype.kinds:
        if kind in generic:
            return generic[kind]
    return "None"


# Typed values ----------------------------------------------------------------------


def coerce_overrides(mapping, config) -> dict[str, object]:
    """Check a mapping of typed values by the same rules as command-line overrides.

    Keys may be bare, qualified or spelled with leading dashes. An int given
    to a float field becomes a float, and other mismatches raise. For an
    expression field, an `Expression` is inserted as source text.

    Returns:
        Field key -> value, in the order given.

    Raises:
        OverrideError: As `parse_overrides`, and also for a value that cannot
            be written into a script as a Python literal.
    """
    values: dict[str, object] = {}
    spellings: dict[str, str] = {}
    for raw_key, value in dict(mapping).items():
        key = str(raw_key).lstrip("-")
        field = config.lookup(key)
        _store(values, spellings, field, key, coerce_value(field, value))
    return values


def coerce_value(field, value: object) -> object:
    """Check one typed value for a field and return it, converted where the type rules allow."""
    if isinstance(value, Expression):
        if field.is_expression:
            return _parse_expression(field, str(value))
        value = str(value)

    try:
        value = normalize_value(value)
    except TypeCheckFailure:
        raise TypeMismatchError(
            f"Invalid value for {field.key}: {value!r} ({type(value).__name__}) cannot be written "
            "into the script; use None, bool, int, float, str, or a list, tuple, dict or set of them",
            field.key,
            value,
        ) from None

    if field.is_expression:
        return value
    ftype = field_type(field.annotation, field.default)
    try:
        return check_value(ftype, value)
    except TypeCheckFailure:
        raise TypeMismatchError(
            f"Invalid value for {field.key}: {value!r} is {_a_type(value)}, but {field.key} expects "
            f"{describe_expected(ftype)}. Example: {field.key}={example_value(field)}",
            field.key,
            value,
        ) from None
