"""The `cascade` command line interface.

`main()` imports click and the commands only after it has started the
child of a `cascade run -y` (see `cascade_core.prespawn`), so the child's
interpreter starts while this one imports them. The click group itself is
`cascade_core.cli.group.cli`, also reachable as `cascade_core.cli.cli`.
"""

from __future__ import annotations

import sys


def main() -> None:
    """Entry point of the `cascade` console script."""
    from cascade_core.prespawn import start_for_command_line

    waiting_child = start_for_command_line(sys.argv[1:])

    from cascade_core.cli.group import cli

    try:
        # The run command finds the waiting child in its click context's `obj`.
        cli(prog_name="cascade", obj=waiting_child)
    finally:
        if waiting_child is not None:
            waiting_child.cancel()


def __getattr__(name: str):
    if name in ("cli", "LazyGroup", "COMMANDS"):
        from cascade_core.cli import group

        return getattr(group, name)
    raise AttributeError(f"module 'cascade_core.cli' has no attribute {name!r}")
