"""The `cascade` click group.

Each command lives in its own module and is imported only when invoked, so
`cascade --help` and `cascade run` do not pay for the other commands.
"""

from __future__ import annotations

import importlib

import click

# Command name -> "module:attribute" of its click command.
COMMANDS = {
    "config": "cascade_core.cli.config_cmd:config",
    "run": "cascade_core.cli.run_cmd:run",
    "rerun": "cascade_core.cli.rerun_cmd:rerun",
    "runs": "cascade_core.cli.runs_cmd:runs",
    "show": "cascade_core.cli.runs_cmd:show",
    "diff": "cascade_core.cli.runs_cmd:diff",
    "logs": "cascade_core.cli.runs_cmd:logs",
}


class LazyGroup(click.Group):
    """A group whose subcommands are imported when they are looked up."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(name for name in COMMANDS if self._load(name) is not None)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        return self._load(cmd_name)

    @staticmethod
    def _load(name: str) -> click.Command | None:
        target = COMMANDS.get(name)
        if target is None:
            return None
        module_name, attribute = target.split(":")
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            # NOTE: commands whose module is not written yet are hidden
            # rather than breaking the whole CLI.
            if exc.name == module_name:
                return None
            raise
        return getattr(module, attribute)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="cascade-ext", prog_name="cascade")
def cli() -> None:
    """Run Python scripts with config overrides and track every run."""

