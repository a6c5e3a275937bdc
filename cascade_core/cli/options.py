"""The options of `cascade run` and `cascade rerun`, in one table.

`split_arguments` needs to know which tokens after SCRIPT are run options
and whether each takes a value; `cascade config` lists the config fields
whose names clash with them.
"""

from __future__ import annotations

# (spellings, takes a value), in the order `cascade run --help` shows them.
RUN_OPTIONS: tuple[tuple[tuple[str, ...], bool], ...] = (
    (("-y", "--yes"), False),
    (("--no-log",), False),
    (("--name",), True),
    (("--tag",), True),
    (("--base",), True),
    (("-f", "--force"), False),
    (("-m", "--multirun"), False),
    (("-j", "--jobs"), True),
    (("--launcher",), True),
    (("--dask-address",), True),
    (("--root",), True),
    (("--chdir",), False),
    (("--exact",), False),
    (("--fail-fast",), False),
    (("--no-raise",), False),
    (("--bg",), False),
    (("-h", "--help"), False),
)


def option_arity() -> dict[str, bool]:
    """Return each run option spelling mapped to whether it takes a value."""
    return {spelling: takes_value for spellings, takes_value in RUN_OPTIONS for spelling in spellings}


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
