"""The plan of a run: the checked overrides and the source to run, computed before anything is written.

`prepare()` reads the script's config statically, parses and checks the
overrides, merges a base, and builds the source that will run. Bad input
raises here, so no run folder exists for it. `cascade_core.run.launch()`
turns a plan into a running run.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

from cascade_core import store


@dataclass
class LaunchPlan:
    """Everything needed to launch a run, checked and computed before anything is written.

    Attributes:
        script: Absolute path of the script.
        script_as_given: The script path as the caller wrote it (the child's `sys.argv[0]`).
        config: The discovered `ScriptConfig`, or None for a script without config.
        overrides: `Field.key` to typed value, in the order given.
        source: The bytes that run: the script itself when nothing is rewritten.
        args: Command-line arguments after `sys.argv[0]` (argparse overrides, then pass-through).
        values: The effective config, `Field.key` to value (defaults with overrides applied).
        base: What the run records as its base (a run id or a file path), or None.
    """

    script: Path
    script_as_given: str
    config: object
    overrides: dict
    source: bytes
    args: list = field(default_factory=list)
    values: dict = field(default_factory=dict)
    base: str | None = None

    @property
    def rewritten(self) -> bool:
        return self.source != self.script.read_bytes()

    @property
    def is_notebook(self) -> bool:
        return self.script.suffix == ".ipynb"

    @property
    def source_name(self) -> str:
        """The name of the run folder's file that contains the source to run."""
        return store.NOTEBOOK_FILE if self.is_notebook else store.SCRIPT_FILE


def prepare(script, *overrides, base=None, force: bool = False, argv=(), root=None) -> LaunchPlan:
    """Check a run's script and overrides and build what will run, without running it.

    Args:
        script: Path of the script.
        *overrides: CLI tokens (`"--lr", "0.1"`, a bare `"--"` starts
            pass-through arguments) or a single mapping of typed values.
        base: A run reference or config file whose values go under the overrides.
        force: Add base keys that the script does not define instead of raising.
        argv: Extra arguments for the script's `sys.argv`.
        root: The store used to resolve a run reference given as `base`.

    Raises:
        ScriptNotFoundError: If the script does not exist.
        OverrideError: If an override is invalid.
        FieldNotAddableError: If `force` adds base keys to an argparse script
            or a notebook, which have no config class or globals to add them to.
    """
    path = Path(script).expanduser().absolute()
    config = _discover(path)
    typed, passthrough = _typed_overrides(overrides, config)
    extras, label = {}, None
    if base is not None:
        merged = _apply_base(base, typed, config, force, root)
        typed, extras, label = dict(merged.overrides), dict(merged.extras), merged.label
    if extras:
        _check_addable(path, config, extras)

    source = path.read_bytes()
    args: list[str] = []
    if config is not None and typed and config.style == "argparse":
        from cascade_core.argparse_config import argparse_argv

        args = list(argparse_argv(config, typed))
    elif path.suffix == ".ipynb" and typed:
        source = _rewritten_notebook(source, config, typed)
    elif typed or extras:
        source = _rewritten_source(config, typed, extras)

    return LaunchPlan(
        script=path,
        script_as_given=str(script),
        config=config,
        overrides=typed,
        source=source,
        args=[*args, *passthrough, *argv],
        values={**_effective_config(config, typed), **extras},
        base=label,
    )


def _discover(path: Path):
    from cascade_core.discovery import discover

    return discover(path)


def _typed_overrides(overrides: tuple, config) -> tuple[dict, list[str]]:
    """Turn `start()`'s overrides into typed values and pass-through arguments."""
    if len(overrides) == 1 and isinstance(overrides[0], Mapping):
        from cascade_core.overrides import coerce_overrides

        return dict(coerce_overrides(dict(overrides[0]), config)), []

    tokens = [str(token) for token in overrides]
    passthrough: list[str] = []
    if "--" in tokens:
        cut = tokens.index("--")
        tokens, passthrough = tokens[:cut], tokens[cut + 1:]
    if not tokens:
        return {}, passthrough

    from cascade_core.overrides import parse_overrides

    return dict(parse_overrides(tokens, config)), passthrough


def _apply_base(base, typed: dict, config, force: bool, root):
    from cascade_core.bases import apply_base

    return apply_base(base, typed, config, force=force, root=root)


def _check_addable(path: Path, config, extras: dict) -> None:
    """Raise for keys added with `force` where no field can be written into the source."""
    from cascade_core.errors import FieldNotAddableError

    key = next(iter(extras))
    if config is not None and config.style == "argparse":
        raise FieldNotAddableError(
            f"Cannot add {key!r}: {path.name} reads its config with argparse, whose parser rejects options it "
            "does not define. Add the option to the parser, or remove the key from the base.",
            key,
        )
    if path.suffix == ".ipynb":
        raise FieldNotAddableError(
            f"Cannot add {key!r}: keys cannot be added to a notebook such as {path.name}. "
            "Define the field in the notebook, or remove the key from the base.",
            key,
        )


def _rewritten_source(config, typed: dict, extras: dict) -> bytes:
    from cascade_core.rewrite import rewrite, rewrite_bytes

    if not extras:
        return rewrite_bytes(config, typed)

    from cascade_core.bases import add_fields

    text = rewrite(config.source, config, typed) if typed else config.source
    return add_fields(text, config, extras).encode(getattr(config, "encoding", None) or "utf-8")


def _rewritten_notebook(data: bytes, config, typed: dict) -> bytes:
    from cascade_core.rewrite import rewrite_notebook

    return rewrite_notebook(data.decode("utf-8"), config, typed).encode("utf-8")


def _effective_config(config, typed: dict) -> dict:
    if config is None:
        return dict(typed)
    values = {}
    for config_field in config.fields:
        if config_field.key in typed:
            values[config_field.key] = typed[config_field.key]
        else:
            values[config_field.key] = config_field.default
    return values


def is_expression(value: object) -> bool:
    """Return whether a config value is an expression's source text rather than a literal."""
    from cascade_core.fieldtypes import Expression

    return isinstance(value, Expression)
