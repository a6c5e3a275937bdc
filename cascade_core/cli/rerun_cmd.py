"""`cascade rerun REF [OVERRIDES] [OPTIONS]`: run a recorded run again.

The rerun runs the recorded script with the recorded config forced and the
new overrides on top. Options may come before or after REF. After REF, a
`--x` that names a field of the script's config is an override, as in
`cascade run`.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from cascade_core.cli.run_cmd import (
    confirm,
    launch_options,
    merge_options,
    print_config,
    reject_leading_option,
    run_in_console,
    split_after_target,
)
from cascade_core.cli.run_cmd import run as run_command
from cascade_core.errors import CascadeError


@click.command(
    context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False},
    short_help="Run a recorded run again, with new overrides on top.",
)
@click.argument("ref")
@click.argument("arguments", nargs=-1, type=click.UNPROCESSED)
@click.pass_context
def rerun(ctx: click.Context, ref: str, arguments: tuple[str, ...], **options) -> None:
    """Run the recorded run REF again: its script, its config forced, then OVERRIDES.

    REF is `last`, a run folder, a model folder (`line/00003`) or a unique
    run id prefix. When the script changed since REF ran, the change is shown
    as a unified diff. A recorded key the script no longer defines is an
    error unless -f. With --exact the source saved in REF's folder runs,
    with the local modules it imported. Without new arguments after `--`,
    the recorded run's arguments are passed again.
    """
    reject_leading_option(rerun, ref, "REF")
    try:
        config = _config_for_splitting(ref, arguments, options)
        split = _split(arguments, config)
        options = merge_options(rerun, ctx, options, split.options, ref)
        tokens = [*split.overrides, *(["--", *split.passthrough] if split.passthrough else [])]
        if options["multirun"]:
            sys.exit(_rerun_sweep(ref, tokens, options))
        sys.exit(_rerun_once(ref, tokens, options))
    except CascadeError as exc:
        raise click.ClickException(str(exc)) from exc


def _rerun_options() -> list[click.Option]:
    """Build the options of `cascade rerun`: those of `cascade run` but --base (REF is the base), then -f and --exact."""
    shared = [param for param in run_command.params
              if isinstance(param, click.Option) and param.name not in ("base", "force")]
    return [
        *shared,
        click.Option(["-f", "--force"], is_flag=True, help="Add recorded keys that the script no longer defines."),
        click.Option(["--exact"], is_flag=True,
                     help="Run the source saved in the run folder, with the local modules it imported."),
    ]


rerun.params[:0] = _rerun_options()


def _config_for_splitting(ref: str, arguments, options: dict):
    """Discover the config that decides which tokens after REF are overrides."""
    from cascade_core import store
    from cascade_core.discovery import discover
    from cascade_core.reruns import SOURCES_DIR
    from cascade_core.run import Run

    # REF is resolved before the options after it are parsed, so --root is
    # looked for here. plan_rerun resolves REF again with the final options.
    root = options["root"] or _root_after_ref(arguments)
    run = Run.load(store.resolve(ref, root))
    script = Path(run.script)
    if not script.is_file():
        script = run.path / SOURCES_DIR / script.name
    return discover(script) if script.is_file() else None


def _root_after_ref(arguments) -> str | None:
    tokens = list(arguments)
    for index, token in enumerate(tokens):
        if token == "--":
            return None
        if token == "--root" and index + 1 < len(tokens):
            return tokens[index + 1]
        if token.startswith("--root="):
            return token.partition("=")[2]
    return None


def _split(arguments, config):
    from cascade_core.overrides import SplitArguments

    if config is None:
        return SplitArguments(options=list(arguments))
    return split_after_target(rerun, arguments, config)


def _show_script_change(plan) -> None:
    if plan.script_diff:
        click.echo(f"The script or its local modules changed since run {plan.run.id} started:", err=True)
        click.echo(plan.script_diff, err=True, nl=False)


def _rerun_once(ref: str, tokens: list[str], options: dict) -> int:
    from cascade_core.reruns import plan_rerun

    plan = plan_rerun(ref, *tokens, exact=options["exact"], force=options["force"], root=options["root"])
    _show_script_change(plan)
    click.echo(f"Rerun of {plan.run.id}:", err=True)
    print_config(plan.launch_plan)
    confirm(options["yes"])
    return run_in_console(plan.launch_plan, **launch_options(options))


def _rerun_sweep(ref: str, tokens: list[str], options: dict) -> int:
    from cascade_core.reruns import plan_rerun, recorded_arguments
    from cascade_core.sweeps import run_multirun_cli

    # Planned without the new overrides: checks the recorded config against
    # the script and shows its changes once, before the sweep's own plan.
    plan = plan_rerun(ref, exact=options["exact"], force=options["force"], root=options["root"])
    _show_script_change(plan)
    launch_plan = plan.launch_plan
    run_options = {
        **launch_options(options),
        "base": plan.base,
        "force": options["force"] or options["exact"],
        "argv": recorded_arguments(plan.run, tokens, launch_plan.script),
    }
    return run_multirun_cli(
        launch_plan.script, launch_plan.config, tokens, run_options, yes=options["yes"], jobs=options["jobs"],
        launcher=options["launcher"], dask_address=options["dask_address"], fail_fast=options["fail_fast"],
    )

