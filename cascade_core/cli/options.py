"""The options of `cascade run`, `cascade rerun` and the run magics, in one table.

`split_arguments` reads this table to decide which tokens after SCRIPT are
run options and whether each takes a value. `cascade config` lists the config fields
whose names clash with them.
"""

from __future__ import annotations

from typing import NamedTuple


class RunOption(NamedTuple):
    """One run option: its spellings, whether it takes a value, and where it exists.

    Attributes:
        spellings: The short and long forms, e.g. `("-y", "--yes")`.
        takes_value: Whether the option reads the next token as its value.
        magic_only: True for options of `%cascade_run` and `%cascade_rerun`
            that the `cascade` command line does not have, so `cascade run`
            rejects them as unknown options.
    """

    spellings: tuple[str, ...]
    takes_value: bool
    magic_only: bool = False


# The options of `cascade run` and `cascade rerun`, then those of the magics only.
RUN_OPTIONS: tuple[RunOption, ...] = (
    RunOption(("-y", "--yes"), False),
    RunOption(("--no-log",), False),
    RunOption(("--name",), True),
    RunOption(("--tag",), True),
    RunOption(("--base",), True),
    RunOption(("-f", "--force"), False),
    RunOption(("-m", "--multirun"), False),
    RunOption(("-j", "--jobs"), True),
    RunOption(("--launcher",), True),
    RunOption(("--dask-address",), True),
    RunOption(("--root",), True),
    RunOption(("--chdir",), False),
    RunOption(("--exact",), False),
    RunOption(("--fail-fast",), False),
    RunOption(("-h", "--help"), False),
    RunOption(("--no-raise",), False, magic_only=True),
    RunOption(("--bg",), False, magic_only=True),
    RunOption(("--max-lines",), True, magic_only=True),
)


def option_arity() -> dict[str, bool]:
    """Return each run option spelling, magic-only ones included, mapped to whether it takes a value."""
    return {spelling: option.takes_value for option in RUN_OPTIONS for spelling in option.spellings}


def is_magic_only(spelling: str) -> bool:
    """Return whether a run option spelling exists only in `%cascade_run` and `%cascade_rerun`.

    Raises:
        KeyError: If `spelling` is not a run option.
    """
    for option in RUN_OPTIONS:
        if spelling in option.spellings:
            return option.magic_only
    raise KeyError(spelling)


def option_clashes(config) -> list[tuple[str, str]]:
    """Return (field key, option spelling) for fields that share a name with a run option.

    After SCRIPT such a name sets the field, so the run option must be given
    before SCRIPT. A dashed option such as `--no-log` clashes with a field
    `no_log` too, because keys may be spelled with dashes.
    """
    spellings = {spelling[2:].replace("-", "_"): spelling for spelling in option_arity() if spelling.startswith("--")}
    clashes = []
    for field in config.fields:
        for name in {field.key, field.name}:
            if name in spellings:
                clashes.append((field.key, spellings[name]))
                break
    return clashes


def unknown_option_message(token: str, placeholder: str, spellings) -> str:
    """Build the message for a token before SCRIPT (or REF) that starts with `-` but is not a known option.

    Args:
        token: The token as typed, e.g. `--frobnicate` or `--nmae=x`.
        placeholder: `SCRIPT` or `REF`, the argument that follows the token.
        spellings: The option spellings of the command, listed in the message.
    """
    from cascade_core.lookup import suggest

    spellings = list(spellings)
    name = token.partition("=")[0]
    suggestion = suggest(name.lstrip("-"), (), spellings) if name.startswith("--") else None
    hint = f"; did you mean {suggestion}?" if suggestion else "."
    return f"Unknown option {token!r} before {placeholder}{hint} Options: {', '.join(spellings)}."
