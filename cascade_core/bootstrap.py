"""Child-side start-up code that makes the user's script run as under a plain `python script.py`.

The child is started as `python -c BOOTSTRAP SCRIPT ARGS...`, or before its
run exists as `python -c WAITING_BOOTSTRAP FD`, which receives the same
argv and variables through the pipe FD (see `cascade_core.prespawn`).
Paths travel as argv and environment variables, never pasted into code:

- `CASCADE_SCRIPT_FILE`: the script's real absolute path (for `__file__`,
  tracebacks and `sys.path[0]`).
- `CASCADE_SCRIPT_SOURCE`: the file holding the source to execute (the run
  folder's `cascade_run_script.py`, which may carry overrides).
- `CASCADE_PATCH_SPAWN`: set to `1` when the source differs from the script,
  so multiprocessing `spawn` and `forkserver` workers run it too.
- `CASCADE_RECORD_ARGS`: set to `1` for an argparse script, so the values
  its parser returns for `sys.argv` become the run's recorded config.

`main()` executes the source as `__main__`, with the script's real path as
its file name and its lines in `linecache`, so tracebacks show the text that
ran. An uncaught exception is printed without any frame of this module and
the child exits with status 1, exactly as plain Python does.
"""

from __future__ import annotations

import os
import sys

SCRIPT_FILE_ENV = "CASCADE_SCRIPT_FILE"
SCRIPT_SOURCE_ENV = "CASCADE_SCRIPT_SOURCE"
PATCH_SPAWN_ENV = "CASCADE_PATCH_SPAWN"
RECORD_ARGS_ENV = "CASCADE_RECORD_ARGS"

BOOTSTRAP = "import cascade_core.bootstrap as _cascade_bootstrap; _cascade_bootstrap.main()"
"""The `-c` code that starts a child."""

NOTEBOOK_BOOTSTRAP = "import cascade_core.notebook_run as _cascade_notebook; _cascade_notebook.main()"
"""The `-c` code that starts the child of a notebook run (see `cascade_core.notebook_run`)."""

WAITING_BOOTSTRAP = "import cascade_core.bootstrap as _cascade_bootstrap; _cascade_bootstrap.main_when_released()"
"""The `-c` code of a child started before its run exists (see `cascade_core.prespawn`)."""

ENTRY_POINTS = {BOOTSTRAP: "script", NOTEBOOK_BOOTSTRAP: "notebook"}
"""The `-c` code of each kind of child, to the name a release message gives it."""


def command(script_as_given: str, args: list[str] | tuple[str, ...] = ()) -> list[str]:
    """Return the child's argv for running a script (or a `.ipynb` notebook) with `args`."""
    code = NOTEBOOK_BOOTSTRAP if script_as_given.endswith(".ipynb") else BOOTSTRAP
    return [sys.executable, "-c", code, script_as_given, *args]


def load_code(source_path: str, real_path: str):
    """Compile the source in `source_path` as if it were the file `real_path`.

    The decoded lines go into `linecache` under `real_path`, so tracebacks
    and `inspect` show the source that runs rather than the file on disk.
    """
    import importlib.util
    import linecache

    with open(source_path, "rb") as stream:
        data = stream.read()
    text = importlib.util.decode_source(data)
    # An mtime of None keeps linecache.checkcache from replacing the entry with the file on disk.
    linecache.cache[real_path] = (len(text), None, text.splitlines(keepends=True), real_path)
    return compile(data, real_path, "exec", dont_inherit=True)


def main() -> None:
    """Run the user's script in this process's `__main__` module and exit as plain Python would."""
    real_path = os.environ[SCRIPT_FILE_ENV]
    source_path = os.environ[SCRIPT_SOURCE_ENV]
    sys.argv[:] = sys.argv[1:]
    sys.path[0] = os.path.dirname(os.path.realpath(real_path))

    try:
        code = load_code(source_path, real_path)
    except SyntaxError as exc:
        _exit_with_traceback(exc, None)

    namespace = _reset_main(real_path)
    if os.environ.get(PATCH_SPAWN_ENV) == "1":
        _patch_spawn()
    if os.environ.get(RECORD_ARGS_ENV) == "1":
        _patch_argparse()

    try:
        exec(code, namespace)
    except (SystemExit, KeyboardInterrupt, Exception) as exc:
        if isinstance(exc, SystemExit):
            raise
        _exit_with_traceback(exc, _user_frames(exc.__traceback__, code))


def main_when_released() -> None:
    """Wait for the release message on the control pipe in `sys.argv[1]`, then run the child it names.

    The message is one JSON object: `entry` ("script" or "notebook"),
    `argv` (the script and its arguments), `cwd` and `env` (variables to
    set). When the pipe closes without a message, the child exits with
    status 0 and prints nothing.
    """
    import json
    import linecache  # noqa: F401  used by load_code(), and imported now, while nothing waits for this process

    control = int(sys.argv[1])
    chunks = []
    while chunk := os.read(control, 65536):
        chunks.append(chunk)
    os.close(control)
    if not chunks:
        raise SystemExit(0)

    message = json.loads(b"".join(chunks))
    os.environ.update(message["env"])
    os.chdir(message["cwd"])
    sys.argv[:] = ["-c", *message["argv"]]
    if message["entry"] == "notebook":
        from cascade_core.notebook_run import main as run_notebook

        run_notebook()
        return
    main()


def _reset_main(real_path: str) -> dict:
    import builtins
    import importlib.machinery

    namespace = sys.modules["__main__"].__dict__
    namespace.clear()
    namespace.update(
        __name__="__main__",
        __file__=real_path,
        __builtins__=builtins,
        __doc__=None,
        __package__=None,
        __spec__=None,
        __loader__=importlib.machinery.SourceFileLoader("__main__", real_path),
        __cached__=None,
    )
    return namespace


def _user_frames(traceback, code):
    """Drop the frames of this module from the front of a traceback."""
    entry = traceback
    while entry is not None and entry.tb_frame.f_code is not code:
        entry = entry.tb_next
    return entry if entry is not None else traceback


def _exit_with_traceback(exc: BaseException, traceback) -> None:
    exc.__traceback__ = traceback
    sys.excepthook(type(exc), exc, traceback)
    if not isinstance(exc, KeyboardInterrupt):
        sys.exit(1)

    # Plain Python ends on an uncaught KeyboardInterrupt by killing itself
    # with SIGINT after cleanup, so the parent's wait status shows death by SIGINT.
    import atexit
    import signal

    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError, AttributeError):
            pass
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    os.kill(os.getpid(), signal.SIGINT)
    sys.exit(130)


def _patch_spawn() -> None:
    """Make multiprocessing workers run the executed source instead of the file on disk."""
    import multiprocessing.spawn as spawn

    shim = os.path.join(os.path.dirname(os.path.abspath(__file__)), "_mp_main.py")
    original = spawn.get_preparation_data

    def get_preparation_data(name):
        data = original(name)
        # Spawned and forkserver workers import the main module from this key
        # (`main_path` is the forkserver preload's name for it).
        for key in ("init_main_from_path", "main_path"):
            if key in data:
                data[key] = shim
        return data

    spawn.get_preparation_data = get_preparation_data


def _patch_argparse() -> None:
    """Record what the script's first parse of `sys.argv` returns in the run's config files."""
    import argparse

    original = argparse.ArgumentParser.parse_known_args
    recorded = []

    def parse_known_args(self, args=None, namespace=None):
        result = original(self, args, namespace)
        if args is None and not recorded:
            recorded.append(True)
            _record_config(vars(result[0]))
        return result

    argparse.ArgumentParser.parse_known_args = parse_known_args


def _record_config(values: dict) -> None:
    from cascade_core import store

    folder = os.environ.get("CASCADE_RUN_DIR")
    if not folder:
        return
    store.write_json(os.path.join(folder, store.CONFIG_FILE), {k: store.to_json_value(v) for k, v in values.items()})
    recorded = store.read_json(os.path.join(folder, store.VALUES_FILE), {}) or {}
    recorded["config"] = {key: repr(value) for key, value in values.items()}
    store.write_json(os.path.join(folder, store.VALUES_FILE), recorded)
