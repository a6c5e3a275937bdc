"""Writing override values into a script's source text.

`rewrite` is a pure function from text to text. Only the spans of the
overridden values change. Every other character, comments and line endings
included, stays as it was. The source is never regenerated from the syntax
tree. The line count never changes, so tracebacks point at the user's lines:
a multi-line value replaced by a one-line value is padded with newlines
inside parentheses.
"""

from __future__ import annotations

import math

from cascade_core.errors import TypeMismatchError
from cascade_core.fieldtypes import Expression, TypeCheckFailure, normalize_value
from cascade_core.sourcefile import count_lines

__all__ = ["apply_replacements", "replacements", "rewrite", "rewrite_bytes", "rewrite_notebook", "to_source"]


def rewrite(source: str, config, overrides: dict[str, object]) -> str:
    """Return `source` with each overridden field's value replaced.

    Args:
        source: The text the config was discovered in (`config.source`).
        config: The `ScriptConfig` of that text.
        overrides: Field key -> value, as `parse_overrides` or
            `coerce_overrides` return them.

    Returns:
        The new source. With no overrides, `source` itself.

    Raises:
        UnknownKeyError: A key names no field.
        TypeMismatchError: A value cannot be written as a Python literal.
        ValueError: Two keys name the same field, or the script is an
            argparse script, whose overrides are command-line arguments
            (see `cascade_core.argparse_config.argparse_argv`).
    """
    if not overrides:
        return source
    if config.style == "argparse":
        raise ValueError(
            f"{config.path.name} reads its settings with argparse; pass overrides as "
            "command-line arguments (argparse_argv) instead of rewriting its source"
        )

    return apply_replacements(source, replacements(source, config, overrides))


def apply_replacements(source: str, changes: list[tuple[int, int, str]]) -> str:
    """Return `source` with each (start, end, text) span replaced. Spans must not overlap."""
    pieces: list[str] = []
    end = len(source)
    for start, stop, text in sorted(changes, reverse=True):
        pieces.append(source[stop:end])
        pieces.append(text)
        end = start
    pieces.append(source[:end])
    return "".join(reversed(pieces))


def replacements(source: str, config, overrides: dict[str, object]) -> list[tuple[int, int, str]]:
    """Return (start, end, new text) for each overridden field's value span."""
    seen: set[tuple[int, int]] = set()
    changes = []
    for key, value in overrides.items():
        field = config.lookup(key)
        if field.span in seen:
            raise ValueError(f"{key} names a field that is already overridden; give each field once")
        seen.add(field.span)

        start, stop = field.span
        text = keep_line_count(to_source(_literal(key, value)), source[start:stop])
        changes.append((start, stop, text))
    return changes


def _literal(key: str, value: object) -> object:
    try:
        return normalize_value(value)
    except TypeCheckFailure:
        raise TypeMismatchError(
            f"{key}: {value!r} ({type(value).__name__}) cannot be written into a script; use None, "
            "bool, int, float, complex, str, bytes, or a list, tuple, dict or set of them",
            key,
            value,
        ) from None


def keep_line_count(text: str, original: str) -> str:
    """Pad a one-line replacement so it spans as many lines as the text it replaces.

    The padding goes inside parentheses, where Python ignores newlines. The
    newline style is taken from the original text.
    """
    missing = count_lines(original) - count_lines(text)
    if missing <= 0:
        return text

    newline = "\n"
    if "\r\n" in original:
        newline = "\r\n"
    elif "\r" in original:
        newline = "\r"
    return f"({text}{newline * missing})"


def to_source(value: object, ascii_only: bool = False) -> str:
    """Return Python source text that evaluates to `value`.

    This is `repr(value)` except where repr does not round-trip: non-finite
    floats become `float('inf')` and `float('nan')`, and an `Expression` is
    its own text. With `ascii_only`, strings use escapes for non-ASCII
    characters, for scripts in a legacy encoding.
    """
    if isinstance(value, Expression):
        return str.__str__(value)
    if isinstance(value, float) and not math.isfinite(value):
        return f"float({repr(value)!r})"
    if isinstance(value, (list, tuple, set, frozenset, dict)):
        return _container_source(value, ascii_only)
    return ascii(value) if ascii_only else repr(value)


def _container_source(value, ascii_only: bool) -> str:
    if isinstance(value, dict):
        items = ", ".join(f"{to_source(k, ascii_only)}: {to_source(v, ascii_only)}" for k, v in value.items())
        return "{" + items + "}"

    items = ", ".join(to_source(item, ascii_only) for item in value)
    if isinstance(value, list):
        return f"[{items}]"
    if isinstance(value, tuple):
        return f"({items},)" if len(value) == 1 else f"({items})"
    if not value:
        return "set()" if isinstance(value, set) else "frozenset()"
    return "{" + items + "}" if isinstance(value, set) else "frozenset({" + items + "})"


def rewrite_bytes(config, overrides: dict[str, object]) -> bytes:
    """Return the script's file content with the overrides applied, in its own encoding.

    With no overrides these are the bytes read from the file, unchanged. A
    BOM or a legacy encoding declared in the file is kept, and string values
    that the encoding cannot represent are written with escapes. For a notebook
    the result is its JSON text with the overrides in its cells.
    """
    if not overrides:
        return config.data
    if config.style == "notebook":
        notebook_text = config.data.decode("utf-8-sig")
        return rewrite_notebook(notebook_text, config, overrides).encode("utf-8")

    text = rewrite(config.source, config, overrides)
    try:
        return text.encode(config.encoding)
    except UnicodeEncodeError:
        escaped = {key: _ascii_value(value) for key, value in overrides.items()}
        return rewrite(config.source, config, escaped).encode(config.encoding)


def _ascii_value(value: object) -> object:
    if isinstance(value, Expression):
        return value
    return Expression(to_source(value, ascii_only=True))


def rewrite_notebook(notebook_text: str, config, overrides: dict[str, object]) -> str:
    """Return a notebook's JSON text with the overrides written into its code cells.

    Args:
        notebook_text: The `.ipynb` file's text.
        config: The `ScriptConfig` that `discover` returned for the notebook.
        overrides: Field key -> value.

    Returns:
        The new notebook text, or `notebook_text` itself when there are no overrides.
    """
    if not overrides:
        return notebook_text

    from cascade_core.notebook_config import write_cells

    return write_cells(notebook_text, config, replacements(config.source, config, overrides))
