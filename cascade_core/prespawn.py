"""A run's child interpreter started before the run exists, so that its start-up overlaps the runner's.

Most of the time `cascade run -y script.py` takes goes to starting two
Python interpreters and importing modules. The command line therefore
starts the child first, as `python -c WAITING_BOOTSTRAP FD`: in its own
session, with stdout and stderr as pipes and the environment a run gets at
interpreter start. The child imports the bootstrap and blocks reading the
control pipe FD while the runner imports click, reads the script's config
and writes the run folder.

`WaitingChild.release()` then writes one JSON message and closes the
pipe. The message contains the run's environment variables, the working
directory and the argv. The child applies them and runs the script exactly
as a child started at that moment would. If the pipe closes without a
message, the child exits with status 0 and prints nothing. That happens
when the command is rejected (`cancel()`) and also when the runner dies
before the release.

The runner releases a waiting child only when nothing read at interpreter
start would differ: the same interpreter, the same stdin, and an
environment that differs only in the variables of the run itself. In any
other case the caller cancels it and starts a child as usual.

This module imports nothing heavy at module level: the command line calls
`start_for_command_line()` before it imports click.
"""

from __future__ import annotations

import os
import sys

INTERPRETER_DEFAULTS = {"PYTHONUNBUFFERED": "1", "PYTHONIOENCODING": "utf-8"}
"""Variables a run's child gets unless the caller's environment sets them, read when its interpreter starts."""

RUN_VARIABLES = frozenset({
    "CASCADE_RUN_DIR", "CASCADE_RUN_ID", "CASCADE_SCRIPT_FILE", "CASCADE_SCRIPT_SOURCE",
    "CASCADE_PATCH_SPAWN", "CASCADE_RECORD_ARGS",
})
"""Variables the release message may set: only the bootstrap and the user's script read them."""

CANCEL_TIMEOUT = 5.0
"""Seconds `cancel()` waits for a waiting child to exit before it kills the child."""

# Options after which `cascade run` does not start one plain run.
_OTHER_PATHS = frozenset({"-m", "--multirun", "-h", "--help", "--version"})


def interpreter_environment(extra=None) -> dict:
    """Return the environment of a run's child before the run's own variables are added.

    That is this process's environment with `extra` on top, and
    `INTERPRETER_DEFAULTS` for the variables neither sets.
    """
    environment = dict(os.environ)
    environment.update(extra or {})
    for key, value in INTERPRETER_DEFAULTS.items():
        environment.setdefault(key, value)
    return environment


def start_for_command_line(arguments: list[str]) -> "WaitingChild | None":
    """Start a waiting child when `arguments` (the command line after `cascade`) will start one run at once.

    That is `cascade run ... -y ...` with no sweep, no help and no notebook,
    on a POSIX system (the control pipe is an inherited file descriptor).
    The check is a prediction: a command that is then rejected cancels the
    child. Returns None when no child was started.
    """
    if os.name != "posix" or not _starts_one_run(arguments):
        return None
    try:
        return WaitingChild.start(interactive=stdin_is_terminal())
    except OSError:
        return None  # the run's own launch reports why Python cannot start


def _starts_one_run(arguments: list[str]) -> bool:
    if not arguments or arguments[0] != "run":
        return False

    tokens = arguments[1:]
    if "--" in tokens:
        tokens = tokens[:tokens.index("--")]
    if "-y" not in tokens and "--yes" not in tokens:
        return False
    return not any(token in _OTHER_PATHS or token.endswith(".ipynb") for token in tokens)


def stdin_is_terminal() -> bool:
    """Return whether this process's stdin is a terminal, which a run's child then reads."""
    try:
        return sys.stdin is not None and sys.stdin.isatty()
    except (AttributeError, ValueError):
        return False


class WaitingChild:
    """A child interpreter blocked on its control pipe until `release()` or `cancel()`.

    Attributes:
        process: The child's `subprocess.Popen`.
        environment: The environment it started with.
        interactive: Whether it reads this process's stdin (else /dev/null).
    """

    def __init__(self, process, control: int, environment: dict, interactive: bool):
        self.process = process
        self.environment = environment
        self.interactive = interactive
        self._control = control

    @classmethod
    def start(cls, interactive: bool) -> "WaitingChild":
        """Start a waiting child in its own session, with this process's stdin if `interactive`.

        Raises:
            OSError: If the interpreter cannot be started.
        """
        import subprocess

        from cascade_core.bootstrap import WAITING_BOOTSTRAP

        environment = interpreter_environment()
        read_end, write_end = os.pipe()
        try:
            process = subprocess.Popen(
                [sys.executable, "-c", WAITING_BOOTSTRAP, str(read_end)],
                env=environment,
                stdin=None if interactive else subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                start_new_session=True,
                pass_fds=(read_end,),
            )
        except BaseException:
            os.close(write_end)
            raise
        finally:
            os.close(read_end)
        return cls(process, write_end, environment, interactive)

    def fits(self, command: list[str], environment: dict, interactive: bool) -> bool:
        """Return whether a run of `command` with `environment` and stdin `interactive` may use this child."""
        from cascade_core.bootstrap import ENTRY_POINTS

        if self._control is None or interactive != self.interactive:
            return False
        if len(command) < 3 or command[:2] != [sys.executable, "-c"] or command[2] not in ENTRY_POINTS:
            return False
        changed = {key for key, value in environment.items() if self.environment.get(key) != value}
        removed = set(self.environment) - set(environment)
        return not (changed | removed) - RUN_VARIABLES

    def release(self, command: list[str], cwd, environment: dict):
        """Make the child run `command` in `cwd` with `environment`, and return its `Popen` or None.

        The caller checks `fits()` first. Returns None, with the child
        reaped, when it exited before the release.
        """
        import json

        from cascade_core.bootstrap import ENTRY_POINTS

        message = {
            "entry": ENTRY_POINTS[command[2]],
            "argv": command[3:],
            "cwd": os.fspath(cwd),
            "env": {key: value for key, value in environment.items() if key in RUN_VARIABLES},
        }
        data = json.dumps(message).encode("utf-8")
        control, self._control = self._control, None
        try:
            while data:
                data = data[os.write(control, data):]
        except BrokenPipeError:
            self._reap()
            return None
        finally:
            os.close(control)
        return self.process

    def cancel(self) -> None:
        """Signal a child that was not released to exit, and reap it.

        Does nothing after `release()`.
        """
        if self._control is None:
            return
        control, self._control = self._control, None
        os.close(control)
        self._reap()

    def _reap(self) -> None:
        import subprocess

        try:
            self.process.communicate(timeout=CANCEL_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.communicate()
