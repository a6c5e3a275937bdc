"""Text formats shared by the command line, the sweep output and the notebook displays."""

from __future__ import annotations

import ast
import shlex


def format_duration(seconds: float | None) -> str:
    """Format seconds as `4.2s`, `3m05s` or `2h07m`, and as an empty string when unknown.

    Below a minute the seconds are rounded to one decimal. Above it, whole
    seconds (or minutes, above an hour) are cut off, not rounded.
    """
    if seconds is None:
        return ""
    if seconds < 60:
        return f"{seconds:.1f}s"

    minutes, whole_seconds = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes}m{whole_seconds:02d}s"

    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


def format_table(header, rows, rule: bool = False) -> str:
    """Lay out rows of text cells under a header in left-aligned columns, for a terminal.

    Each column is as wide as its widest cell, columns are two spaces apart,
    and trailing spaces are cut from every line.

    Args:
        header: The column titles.
        rows: The rows, each a sequence of strings as long as `header`.
        rule: Put a line of dashes under the header.
    """
    widths = [max(len(cell) for cell in column) for column in zip(header, *rows)]
    lines = [header]
    if rule:
        lines.append(["-" * width for width in widths])
    lines.extend(rows)
    return "\n".join("  ".join(cell.ljust(width) for cell, width in zip(line, widths)).rstrip() for line in lines)


# Words that the override parser reads as bools, None or non-finite floats
# for some field types, so a string with this text is written quoted.
_NON_TEXT_WORDS = {"true", "false", "none", "inf", "+inf", "-inf", "infinity", "+infinity", "-infinity", "nan"}


def format_overrides(overrides) -> str:
    """Format overrides as the `--KEY VALUE` arguments that give them on the command line.

    Each value is written as its Python literal, so `cascade runs`, the
    notebook tables and the panel show the same text. A string that the
    override parser would take as plain text is written bare (`--OPT adam`).
    A value with spaces or shell characters is quoted for a POSIX shell, so
    the text can be pasted after `cascade run SCRIPT`.
    """
    if not overrides:
        return ""
    return " ".join(f"--{key} {shell_word(override_text(value))}" for key, value in overrides.items())


def override_text(value) -> str:
    """Return the override text that parses back to `value`: `repr()`, or a plain string bare."""
    if type(value) is str and _reads_as_text(value):
        return value
    return repr(value)


def _reads_as_text(text: str) -> bool:
    """Check whether the override parser takes this text as the string itself, for a str field."""
    plain = bool(text) and text == text.strip() and text.isprintable() and not text.startswith("-")
    if not plain or text.lower() in _NON_TEXT_WORDS:
        return False
    try:
        ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return True
    return False


def shell_word(text: str) -> str:
    """Quote text for a POSIX shell only where needed, preferring `'...'` and then `"..."`."""
    if text and shlex.quote(text) == text:
        return text
    if "'" not in text:
        return f"'{text}'"
    if not any(char in text for char in '"$`\\!'):
        return f'"{text}"'
    return shlex.quote(text)
