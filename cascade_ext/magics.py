"""The `%cascade_*` line magics, each a short dispatcher into cascade_core.

Magic lines take the arguments of the `cascade` command line. Run options
may come before or after SCRIPT, and after SCRIPT a `--key` naming a config
field is an override. The magics never ask for confirmation.
"""

from __future__ import annotations

import functools
import logging
import sys

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments
from IPython.utils.process import arg_split
from traitlets import Integer

from cascade_core.errors import CascadeError, RunFailedError
from cascade_ext import display, streaming

logger = logging.getLogger(__name__)

HELP_OPTIONS = ("-h", "--help")


class _Session:
    """State kept across cells: the run most recently started by a magic."""

    last_run = None


def last_run():
    """Return the run most recently started by `%cascade_run` or `%cascade_rerun`, or None."""
    return _Session.last_run


def _run_options(function):
    """Declare the options that `%cascade_run` and `%cascade_rerun` share."""
    options = [
        argument("-y", "--yes", action="store_true",
                 help="Accepted as in `cascade run`; the magic never asks for confirmation."),
        argument("--name", help="A name for the run."),
        argument("--tag", action="append", default=[], help="A tag for the run (repeatable)."),
        argument("--base", help="A run reference or a YAML, JSON or TOML file whose values go under the overrides."),
        argument("-f", "--force", action="store_true", help="Accept base or recorded keys the script does not define."),
        argument("--no-log", action="store_true", help="Keep no log file in the run folder."),
        argument("--chdir", action="store_true", help="Run the script in its run folder."),
        argument("--root", help="The run store folder (default: the nearest .cascade/)."),
        argument("-m", "--multirun", action="store_true", help="Run a sweep: a value with commas is several runs."),
        argument("-j", "--jobs", type=int, default=1, help="Sweep runs at once (with -m)."),
        argument("--launcher", choices=["local", "dask"], default="local", help="Where sweep runs execute (with -m)."),
        argument("--dask-address", help="Scheduler address of a Dask cluster (with --launcher dask)."),
        argument("--fail-fast", action="store_true", help="Stop a sweep at its first failed run (with -m)."),
        argument("--bg", action="store_true",
                 help="Return at once; the output goes to a live widget with a Stop button."),
        argument("--no-raise", action="store_true", help="Return a failed run instead of raising RunFailedError."),
        argument("--max-lines", type=int,
                 help="Lines written into the cell before a live view of the latest lines takes over "
                      "(default: CascadeMagics.max_output_lines, 200)."),
    ]
    for option in reversed(options):
        function = option(function)
    return function


@magics_class
class CascadeMagics(Magics):
    """Magics that run scripts with config overrides and browse the recorded runs."""

    max_output_lines = Integer(
        streaming.MAX_LINES,
        help="Lines of a run's output written into the cell before a live view of the latest lines takes over.",
    ).tag(config=True)
    tail_lines = Integer(
        streaming.TAIL_LINES, help="Lines the live view shows once a run's output passes max_output_lines."
    ).tag(config=True)

    @line_magic
    @magic_arguments()
    @argument("script", metavar="SCRIPT", help="Path of the script (.py) or notebook (.ipynb).")
    @argument("overrides", nargs="*", metavar="OVERRIDES", help="Overrides: --key value, --key=value or key=value.")
    @_run_options
    def cascade_run(self, line):
        """Run a script with config overrides, stream its output into the cell, return the Run.

        The script runs in a child process with the kernel's interpreter, and
        the run is recorded in the run store. A failed script raises
        RunFailedError (unless --no-raise), and `cascade_ext.last_run()`
        returns the run either way. `{var}` and `$var` in the line are expanded.

        Example::

            In [1]: r = %cascade_run train.py --lr 1e-2 --epochs 5
            In [2]: for lr in [0.1, 0.01]:
               ...:     %cascade_run train.py --lr {lr} --name lr-sweep
        """
        parsed = parse_line(line, self.cascade_run.parser)
        if parsed is None:
            return None
        script, overrides, options = parsed
        if options.multirun:
            return self._multirun(script, overrides, options)

        from cascade_core import start

        launch = functools.partial(start, script, *overrides, **_start_options(options))
        return self._launch(launch, options)

    @line_magic
    @magic_arguments()
    @argument("ref", metavar="REF", help="The run to repeat: last, a run id prefix, or a run or model folder.")
    @argument("overrides", nargs="*", metavar="OVERRIDES", help="Overrides on top of the recorded config.")
    @argument("--exact", action="store_true", help="Run the saved source instead of the script as it is now.")
    @_run_options
    def cascade_rerun(self, line):
        """Run a recorded run's script again with its recorded config, plus new overrides.

        Example::

            In [1]: r = %cascade_rerun last --epochs 50
        """
        try:
            from cascade_core import reruns
        except ImportError:
            raise UsageError(
                "Reruns are not available in this installation of cascade-ext. "
                "Start a new run with: %cascade_run SCRIPT [OVERRIDES]"
            ) from None

        parsed = parse_line(line, self.cascade_rerun.parser, rerun=True)
        if parsed is None:
            return None
        ref, overrides, options = parsed
        run_options = _start_options(options)
        del run_options["base"]
        launch = functools.partial(reruns.start_rerun, ref, *overrides, exact=options.exact, **run_options)
        return self._launch(launch, options)

    @line_magic
    @magic_arguments()
    @argument("--status", help="Only runs with this status: running, completed, failed, interrupted or lost.")
    @argument("--script", help="Only runs of this script (matched on the end of its path).")
    @argument("--name", help="Only runs with this name.")
    @argument("--tag", action="append", default=[], help="Only runs with this tag (repeatable).")
    @argument("--last", type=int, help="Only the newest N runs.")
    @argument("--root", help="The run store folder (default: the nearest .cascade/).")
    def cascade_runs(self, line):
        """List recorded runs: an HTML table in a notebook, plain text in a terminal.

        The table indexes like a list of Run objects (`table[-1]` is the newest).

        Example::

            In [1]: %cascade_runs --last 5 --status completed
        """
        from cascade_core.browse import find_runs

        args = _parse(self.cascade_runs.parser, line)
        if args is None:
            return None
        with _usage_errors():
            found = find_runs(root=args.root, status=args.status, script=args.script, name=args.name,
                              tag=tuple(args.tag), last=args.last)
        return display.RunTable(found)

    @line_magic
    @magic_arguments()
    @argument("ref", metavar="REF", help="The run: last, a run id prefix, or a run or model folder.")
    @argument("--root", help="The run store folder (default: the nearest .cascade/).")
    def cascade_show(self, line):
        """Show one recorded run: status, config, overrides, last metrics and run folder.

        Example::

            In [1]: r = %cascade_show last
            In [2]: print(r.log_text())
        """
        args = _parse(self.cascade_show.parser, line)
        if args is None:
            return None
        return load_run(args.ref, args.root)

    @line_magic
    @magic_arguments()
    @argument("first", metavar="REF", help="The first run (A): last, a run id prefix, or a run folder.")
    @argument("second", metavar="REF", help="The second run (B), given the same way.")
    @argument("--root", help="The run store folder (default: the nearest .cascade/).")
    def cascade_diff(self, line):
        """Compare two runs: config, overrides, last metrics and the source that ran.

        Example::

            In [1]: %cascade_diff 20261204-1914 last
        """
        from cascade_core.browse import diff_runs

        args = _parse(self.cascade_diff.parser, line)
        if args is None:
            return None
        first, second = load_run(args.first, args.root), load_run(args.second, args.root)
        with _usage_errors():
            return display.RunComparison(diff_runs(first, second))

    @line_magic
    @magic_arguments()
    @argument("script", metavar="SCRIPT", help="Path of the script (.py) or notebook (.ipynb).")
    @argument("--json", action="store_true", help="Return the config as JSON-ready data instead of a table.")
    def cascade_config(self, line):
        """Show the config found in a script: each field's key, class, type, default and line.

        The script is read, never run. Fields whose names clash with run
        options, and config classes imported from other modules, are noted
        below the table.

        Example::

            In [1]: %cascade_config train.py
            In [2]: fields = %cascade_config train.py --json
        """
        from cascade_core.cli.config_cmd import config_as_dict
        from cascade_core.discovery import discover

        args = _parse(self.cascade_config.parser, line)
        if args is None:
            return None
        with _usage_errors():
            script_config = discover(args.script)
        return config_as_dict(script_config) if args.json else display.ConfigTable(script_config)

    @line_magic
    @magic_arguments()
    @argument("script", metavar="SCRIPT", help="Path of the script (.py) or notebook (.ipynb).")
    @argument("--name", help="A name for the runs the panel launches.")
    @argument("--tag", action="append", default=[], help="A tag for the runs the panel launches (repeatable).")
    @argument("--root", help="The run store folder (default: the nearest .cascade/).")
    def cascade_panel(self, line):
        """Show a widget panel for a script's config, with Run, Stop, Reset and Reload buttons.

        Example::

            In [1]: %cascade_panel train.py
        """
        from cascade_ext.panel import panel

        args = _parse(self.cascade_panel.parser, line)
        if args is None:
            return None
        with _usage_errors():
            return panel(args.script, root=args.root, name=args.name, tags=tuple(args.tag))

    # Launching -------------------------------------------------------------

    def _launch(self, launch, options):
        launch = functools.partial(_remember, launch)
        with _usage_errors():
            if options.bg:
                from cascade_ext import background

                return background.start_in_background(launch, widget=_in_kernel(self.shell))
            run = streaming.run_in_cell(launch, self._cell_output(options))

        if run.returncode != 0 and not options.no_raise:
            script = getattr(run.script, "name", run.script)
            message = f"{script} failed with exit status {run.returncode}. Run folder: {run.path}"
            raise RunFailedError(message, run=run)
        return run

    def _cell_output(self, options) -> streaming.CellOutput:
        max_lines = self.max_output_lines if options.max_lines is None else options.max_lines
        if not _in_kernel(self.shell):
            # A terminal keeps nothing, so everything is written through.
            max_lines = None
        return streaming.CellOutput(max_lines=max_lines, tail_lines=self.tail_lines)

    def _multirun(self, script, overrides, options):
        from cascade_ext.sweep_display import run_sweep_in_notebook

        with _usage_errors():
            return run_sweep_in_notebook(
                script, overrides, _start_options(options), jobs=options.jobs, launcher=options.launcher,
                dask_address=options.dask_address, fail_fast=options.fail_fast,
            )


def _remember(launch, **callbacks):
    run = launch(**callbacks)
    _Session.last_run = run
    return run


def _in_kernel(shell) -> bool:
    return getattr(shell, "kernel", None) is not None


# Parsing ---------------------------------------------------------------------


def parse_line(line: str, parser, rerun: bool = False):
    """Split a `%cascade_run` or `%cascade_rerun` line into target, override tokens and options.

    Returns:
        `(target, overrides, options)`: the script path (or run reference),
        the override tokens (with `"--"` and the pass-through tokens at the
        end when given), and the parsed run options. None for `-h` or
        `--help`, after the help is printed.

    Raises:
        UsageError: If the line does not parse, SCRIPT is missing, the script
            cannot be read, or an option or override key is unknown.
    """
    from cascade_core.cli.options import option_arity

    options_table = option_arity()
    placeholder = "REF" if rerun else "SCRIPT"
    tokens = _split(line)
    leading, target, rest = _take_target(tokens, options_table, placeholder)
    if any(token in HELP_OPTIONS for token in leading):
        print(parser.format_help())
        return None
    if target is None:
        usage = f"%{parser.prog.lstrip('%')} {placeholder} [OVERRIDES] [OPTIONS]"
        raise _missing_argument_error(parser, [placeholder], usage)

    with _usage_errors():
        config = _config_for(target, rerun, [*leading, *rest])
        from cascade_core.overrides import split_arguments

        split = split_arguments(rest, config, options_table)

    if any(token in HELP_OPTIONS for token in split.options):
        print(parser.format_help())
        return None
    options = parser.parse_args([*leading, *split.options, target])
    _check_options(options)
    overrides = list(split.overrides)
    if split.passthrough:
        overrides += ["--", *split.passthrough]
    return target, overrides, options


def _check_options(options) -> None:
    if getattr(options, "multirun", False) and options.bg:
        raise UsageError("--bg does not apply to sweeps (-m): a sweep shows its own progress widget. "
                         "Drop --bg, or start the points one by one with --bg.")
    if options.max_lines is not None and options.max_lines < 0:
        raise UsageError(f"Invalid --max-lines {options.max_lines}: expected 0 or more lines.")


def _split(line: str) -> list[str]:
    try:
        return arg_split(line, posix=not sys.platform.startswith("win"), strict=True)
    except ValueError as exc:
        raise UsageError(f"Cannot split the magic line {line!r}: {exc}. Check its quotes.") from None


def _take_target(tokens: list[str], options_table: dict, placeholder: str):
    """Split `tokens` at the first one that is not a run option or an option's value.

    Returns:
        `(options, target, rest)`: the option tokens before the target, the
        target, and the tokens after it. The target is None, and rest empty,
        when every token is an option.

    Raises:
        UsageError: If an option before the target is unknown.
    """
    from cascade_core.cli.options import unknown_option_message

    index = 0
    while index < len(tokens):
        token = tokens[index]
        if not token.startswith("-") or token == "-":
            return tokens[:index], token, tokens[index + 1:]
        name, has_value = token.partition("=")[::2]
        if name not in options_table:
            raise UsageError(unknown_option_message(token, placeholder, options_table))
        index += 2 if options_table[name] and not has_value else 1
    return tokens, None, []


def _config_for(target: str, rerun: bool, option_tokens):
    from cascade_core.discovery import discover

    if not rerun:
        return discover(target)
    root = _option_value(option_tokens, "--root")
    run = load_run(target, root)
    return discover(_recorded_script(run))


def _recorded_script(run):
    """Return the run's script, or its saved copy when the script is gone (what --exact runs)."""
    from cascade_core import store

    if run.script is not None and run.script.is_file():
        return run.script
    for name in (store.SCRIPT_FILE, store.NOTEBOOK_FILE):
        if (run.path / name).is_file():
            return run.path / name
    return run.script


def _option_value(tokens, name):
    for index, token in enumerate(tokens):
        if token == name and index + 1 < len(tokens):
            return tokens[index + 1]
        if token.startswith(name + "="):
            return token.split("=", 1)[1]
    return None


def _start_options(options) -> dict:
    """Map the parsed options to keyword arguments of `cascade_core.start`."""
    return {
        "name": options.name,
        "tags": tuple(options.tag),
        "base": options.base,
        "force": options.force,
        "no_log": options.no_log,
        "chdir": options.chdir,
        "root": options.root,
    }


def _parse(parser, line: str):
    """Parse a magic line, or print the help and return None for -h or --help.

    Raises:
        UsageError: If the line does not parse. A missing argument is named
            as the usage line shows it (`REF`, `SCRIPT`), with that line.
    """
    tokens = _split(line)
    if any(token in HELP_OPTIONS for token in tokens):
        print(parser.format_help())
        return None
    try:
        return parser.parse_args(tokens)
    except UsageError as exc:
        missing = _missing_arguments(str(exc))
        if missing is None:
            raise
        usage = parser.format_usage().strip().splitlines()[-1].strip()
        raise _missing_argument_error(parser, missing, usage) from None


# argparse's message for missing positional arguments (the same text in Python 3.10 to 3.13).
_REQUIRED_PREFIX = "the following arguments are required: "


def _missing_arguments(message: str) -> list[str] | None:
    """Return the names argparse lists as missing in `message`, or None for other errors."""
    if not message.startswith(_REQUIRED_PREFIX):
        return None
    return message.removeprefix(_REQUIRED_PREFIX).split(", ")


def _missing_argument_error(parser, names: list[str], usage: str) -> UsageError:
    """Build the error for missing positional arguments, named as in the usage line."""
    noun = "argument" if len(names) == 1 else "arguments"
    magic = "%" + parser.prog.lstrip("%")
    return UsageError(f"Missing {noun} {' and '.join(names)}. Usage: {usage}. {magic}? shows the help.")


def load_run(ref: str, root=None):
    """Load a recorded run from a reference, raising UsageError for a bad reference."""
    from cascade_core import store
    from cascade_core.run import Run

    with _usage_errors():
        return Run.load(store.resolve(ref, root))


class _usage_errors:
    """Turn a CascadeError from cascade_core into IPython's UsageError with the same message."""

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, traceback):
        if exc_type is None or not issubclass(exc_type, CascadeError):
            return False
        if isinstance(exc, RunFailedError):
            return False
        logger.debug("Magic input rejected: %s", exc)
        raise UsageError(str(exc)) from exc


# Loading the extension ---------------------------------------------------------


class _Previous:
    """The shell state that `register` replaced and `unregister` restores."""

    custom_exc = None


def register(shell) -> None:
    """Register the magics, the rendering of failed and interrupted runs, and the runs' HTML repr."""
    from cascade_core.run import Run

    shell.register_magics(CascadeMagics)
    if _Previous.custom_exc is None:
        _Previous.custom_exc = (shell.custom_exceptions, getattr(shell, "CustomTB", None))
    # NOTE: IPython allows one custom exception handler per shell, so a handler
    # set by another extension is replaced until this extension is unloaded.
    shell.set_custom_exc((RunFailedError, streaming.RunInterrupted), show_run_error)
    if "_repr_html_" not in vars(Run):
        Run._repr_html_ = display.run_repr_html
    shell.display_formatter.formatters["text/plain"].for_type(Run, _pretty_run)


def unregister(shell) -> None:
    """Remove the magics and the runs' HTML repr, and restore the previous exception handler."""
    from cascade_core.run import Run

    line_magics = shell.magics_manager.magics["line"]
    for name, function in list(line_magics.items()):
        if isinstance(getattr(function, "__self__", None), CascadeMagics):
            del line_magics[name]

    if _Previous.custom_exc is not None:
        exceptions, handler = _Previous.custom_exc
        shell.custom_exceptions, shell.CustomTB = exceptions, handler
        _Previous.custom_exc = None
    if vars(Run).get("_repr_html_") is display.run_repr_html:
        del Run._repr_html_
    shell.display_formatter.formatters["text/plain"].type_printers.pop(Run, None)


def _pretty_run(run, printer, cycle) -> None:
    # A run inside a list or dict keeps its one-line repr, and a run shown alone gets the summary.
    if cycle or len(printer.stack) > 1:
        printer.text(repr(run))
    else:
        printer.text(display.run_repr_text(run))


def show_run_error(shell, etype, value, tb, tb_offset=None):
    """Show a failed run as the child's traceback and the run folder, with no frame of this package."""
    if isinstance(value, RunFailedError) and value.run is not None:
        lines = display.failure_traceback(value.run)
    else:
        lines = [str(value)]
    logger.info("Run ended in a notebook cell with %s: %s", etype.__name__, value)
    # NOTE: `_showtraceback` is the method that IPython's own showtraceback
    # calls, and ipykernel overrides it to send the error to the frontend.
    shell._showtraceback(etype, value, lines)
    return lines
