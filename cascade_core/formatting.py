"""Text formats shared by the command line, the sweep output and the notebook displays."""

from __future__ import annotations


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
