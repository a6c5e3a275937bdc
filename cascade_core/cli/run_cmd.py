"""`cascade run SCRIPT [OVERRIDES] [OPTIONS]`: run a script as a tracked run.

Run options may come before or after SCRIPT. After SCRIPT, a `--x` that
names a config field is an override even when a run option has the same
name. `split_arguments` sorts the tokens with the script's config.

The config table and the run's own messages go to stderr, so stdout carries
exactly what the script prints.
"""

from __future__ import annotations

import os
import sys
import threading

import click

from cascade_core.errors import CascadeError

@click.command(
    context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False},
    short_help="Run a script with config overrides, as a tracked run.",
)
@click.option("-y", "--yes", is_flag=True, help="Run without asking for confirmation.")
@click.option("--no-log", is_flag=True, help="Keep no log file (the run folder and its records are still written).")
@click.option("--name", help="A name for the run.")
@click.option("--tag", "tags", multiple=True, help="A tag for the run; repeat for several.")
@click.option("--base", help="Start from the config of a run (REF) or a .yaml, .json or .toml file.")
@click.option("-f", "--force", is_flag=True, help="With --base: add keys the script does not define.")
@click.option("-m", "--multirun", is_flag=True, help="Sweep: values with top-level commas, range(), linspace(), ...")
@click.option("-j", "--jobs", type=click.IntRange(min=1), default=1, show_default=True,
              help="With -m: runs at the same time.")
@click.option("--launcher", type=click.Choice(["local", "dask"]), default="local", show_default=True,
              help="With -m: where the runs execute.")
@click.option("--dask-address", help="With --launcher dask: the scheduler address (default: a local cluster).")
@click.option("--fail-fast", is_flag=True, help="With -m: stop the sweep at the first failed run.")
@click.option("--root", type=click.Path(file_okay=False), help="The run store folder (default: the nearest .cascade/).")
@click.option("--chdir", is_flag=True, help="Run the script in its run folder instead of the current directory.")
@click.argument("script", type=click.Path(dir_okay=False))
@click.argument("arguments", nargs=-1, type=click.UNPROCESSED, metavar="[OVERRIDES]...")
@click.pass_context
def run(ctx: click.Context, script: str, arguments: tuple[str, ...], **options) -> None:
    """Run SCRIPT with config OVERRIDES (`--lr 0.1`, `lr=0.1`) as a tracked run.

    Prints the config with overridden keys marked and prompts for confirmation
    unless -y. Arguments after a bare `--` go to the script's sys.argv.
    The exit status is the script's (128+N when signal N ended it).
    """
    reject_leading_option(run, script, "SCRIPT")
    try:
        config = _discover(script)
        split = _split(arguments, config)
        options = _merge_options(ctx, options, split.options, script)
        if options["multirun"]:
            sys.exit(_multirun(script, config, [*split.overrides, *_passthrough(split)], options))
        sys.exit(_run_once(script, [*split.overrides, *_passthrough(split)], options, ctx.obj))
    except CascadeError as exc:
        raise click.ClickException(str(exc)) from exc


def _discover(script: str):
    from cascade_core.discovery import discover

    return discover(script)


def _split(arguments, config):
    return split_after_target(run, arguments, config)


def split_after_target(command: click.Command, arguments, config):
    """Sort the tokens after SCRIPT (or REF) into overrides, `command`'s options and pass-through.

    Raises:
        UnknownKeyError: If a `--x` is neither a field nor an option of
            `command`. For an option of the magics only, the message names the magics.
    """
    from cascade_core.cli.options import is_magic_only, option_arity
    from cascade_core.errors import UnknownKeyError
    from cascade_core.overrides import split_arguments

    try:
        return split_arguments(list(arguments), config, option_table(command))
    except UnknownKeyError as exc:
        spelling = "--" + str(exc.key).partition("=")[0]
        if spelling not in option_arity() or not is_magic_only(spelling):
            raise
        raise UnknownKeyError(_magic_only_message(spelling, command), exc.key) from None


def reject_leading_option(command: click.Command, target: str, placeholder: str) -> None:
    """Reject an unknown option that click, which passes unknown options on, took as SCRIPT or REF.

    Raises:
        click.UsageError: If `target` starts with `-`. The message lists
            `command`'s options with a did-you-mean.
    """
    from cascade_core.cli.options import is_magic_only, option_arity, unknown_option_message

    if not target.startswith("-") or target == "-":
        return
    spelling = target.partition("=")[0]
    if spelling in option_arity() and is_magic_only(spelling):
        raise click.UsageError(_magic_only_message(spelling, command))
    raise click.UsageError(unknown_option_message(target, placeholder, option_table(command)))


def _magic_only_message(spelling: str, command: click.Command) -> str:
    return (
        f"{spelling} is an option of the %cascade_run and %cascade_rerun magics only, not of "
        f"cascade {command.name}. Remove it from the command line."
    )


def option_table(command: click.Command) -> dict[str, bool]:
    """Map each option spelling of `command` to whether it takes a value, for `split_arguments`."""
    table = {name: not param.is_flag for param in command.params if isinstance(param, click.Option)
             for name in param.opts}
    # The help option is added by click itself and is not in `command.params`.
    table.update({"-h": False, "--help": False})
    return table


def _passthrough(split) -> list[str]:
    return ["--", *split.passthrough] if split.passthrough else []


def _merge_options(ctx: click.Context, before: dict, tokens, script: str) -> dict:
    return merge_options(run, ctx, before, tokens, script)


def merge_options(command: click.Command, ctx: click.Context, before: dict, tokens, positional: str) -> dict:
    """Combine the options given before a command's positional argument with those given after it.

    `tokens` are the option tokens found after the positional argument
    (SCRIPT, or REF for `cascade rerun`). Options given there win, and tags
    from both places are combined.
    """
    if not tokens:
        return before
    after_ctx = command.make_context(ctx.info_name, [*tokens, positional], parent=ctx.parent)
    arguments = {param.name for param in command.params if isinstance(param, click.Argument)}
    merged = dict(before)
    for name, value in after_ctx.params.items():
        if name in arguments:
            continue
        source = after_ctx.get_parameter_source(name)
        if source is click.core.ParameterSource.DEFAULT:
            continue
        merged[name] = (*before["tags"], *value) if name == "tags" else value
    return merged


def launch_options(options: dict) -> dict:
    """Return the keyword arguments of `cascade_core.run.launch()` that the run options set."""
    return {
        "name": options["name"],
        "tags": tuple(options["tags"]),
        "no_log": options["no_log"],
        "chdir": options["chdir"],
        "root": options["root"],
    }


def _multirun(script: str, config, tokens: list[str], options: dict) -> int:
    from cascade_core.sweeps import run_multirun_cli

    run_options = {**launch_options(options), "base": options["base"], "force": options["force"], "argv": ()}
    return run_multirun_cli(
        script, config, tokens, run_options, yes=options["yes"], jobs=options["jobs"],
        launcher=options["launcher"], dask_address=options["dask_address"], fail_fast=options["fail_fast"],
    )


def _run_once(script: str, tokens: list[str], options: dict, waiting_child) -> int:
    from cascade_core.run import prepare

    plan = prepare(script, *tokens, base=options["base"], force=options["force"], root=options["root"])
    print_config(plan)
    confirm(options["yes"])
    return run_in_console(plan, waiting_child=waiting_child, **launch_options(options))


# Console helpers, shared with `cascade rerun` ---------------------------------


def print_config(plan) -> None:
    """Print the config that will run to stderr, overridden keys marked with `*`."""
    echo = _stderr_echo
    if not plan.values:
        echo(f"{plan.script_as_given}: no config")
        return

    defaults = plan.config.defaults() if plan.config is not None else {}
    width = max(len(key) for key in plan.values)
    echo(f"Config of {plan.script_as_given}:")
    marked = False
    for key, value in plan.values.items():
        # A key without a default was added with -f from a base.
        if key in plan.overrides or key not in defaults:
            default = f"   (default: {defaults[key]!r})" if key in defaults else "   (added)"
            echo(f"  * {key:<{width}} = {value!r}{default}")
            marked = True
        else:
            echo(f"    {key:<{width}} = {value!r}")
    if marked:
        echo("  (* overridden)")


def confirm(yes: bool) -> None:
    """Ask `Confirm? [y/N]` unless `yes`, and exit on a no or when stdin is not a terminal."""
    if yes:
        return
    if not sys.stdin.isatty():
        raise click.ClickException("Standard input is not a terminal, so the run cannot be confirmed. Pass -y to run without confirmation.")
    if not click.confirm("Confirm?", default=False, err=True):
        _stderr_echo("Aborted: nothing was run.")
        sys.exit(1)


def run_in_console(plan, **options) -> int:
    """Launch a prepared run with its output on this terminal, and return the exit status.

    SIGINT, SIGTERM and SIGHUP sent to this process stop the run, which is
    recorded as `interrupted`. A second signal kills it at once.
    """
    from cascade_core.prespawn import stdin_is_terminal
    from cascade_core.process import forward_signals
    from cascade_core.run import launch

    stop = _DeferredStop()
    # The child may print before the start line is out: its output waits for it.
    announced = threading.Event()
    with forward_signals(stop):
        handle = launch(plan, on_stdout=_writer(sys.stdout, announced), on_stderr=_writer(sys.stderr, announced),
                        interactive=stdin_is_terminal(), **options)
        stop.attach(handle)
        try:
            _stderr_echo(f"Run {handle.id} started: {handle.path}")
        finally:
            announced.set()
        handle.wait()

    _report_end(handle)
    return handle.returncode


class _DeferredStop:
    """Signal callback that stops a run, also when the signal arrives before the run has started."""

    def __init__(self):
        self._handle = None
        self._pending = 0

    def __call__(self) -> None:
        if self._handle is None:
            self._pending += 1
            return
        self._handle.stop()

    def attach(self, handle) -> None:
        self._handle = handle
        for _ in range(self._pending):
            handle.stop()


def _report_end(handle) -> None:
    if handle.status == "completed":
        _stderr_echo(f"Run {handle.id} completed in {handle.duration:.1f} s.")
        return
    _stderr_echo(
        f"Run {handle.id} {handle.status} with exit code {handle.returncode} after {handle.duration:.1f} s. "
        f"Run folder: {handle.path}"
    )


def _writer(stream, ready: threading.Event):
    """Return a callback that writes text to `stream` at once, replacing what its encoding cannot show.

    Once the stream is closed (`cascade run ... | head`), later output is
    dropped from the screen. The run goes on, and the log keeps everything.
    """
    encoding = getattr(stream, "encoding", None) or "utf-8"
    binary = getattr(stream, "buffer", None)
    closed = []

    def write(text: str) -> None:
        ready.wait()
        if closed:
            return
        try:
            _write_now(stream, binary, text.encode(encoding, errors="replace") if binary else text)
        except (BrokenPipeError, ValueError):
            closed.append(True)
            _discard_stream(stream)

    return write


def _discard_stream(stream) -> None:
    """Point a closed stream's file descriptor at /dev/null, so flushing it at exit does not fail."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, stream.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):
        pass


def _write_now(stream, binary, data) -> None:
    if binary is None:
        stream.write(data)
        stream.flush()
        return
    stream.flush()
    binary.write(data)
    binary.flush()


def _stderr_echo(message: str) -> None:
    click.echo(message, err=True)
