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
