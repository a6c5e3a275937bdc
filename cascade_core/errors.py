"""Exceptions raised by cascade_core.

Every exception the library raises on purpose derives from `CascadeError`.
Each class also derives from the builtin a caller would catch for the same
failure (`ValueError` for bad overrides, `FileNotFoundError` for a missing
script, `LookupError` for an unknown run). Each carries the offending value
as attributes, so callers can report it without parsing the message.

The CLI prints `Error: <message>` and exits non-zero. The IPython magics
raise `UsageError` with the same message.
"""

from __future__ import annotations


class CascadeError(Exception):
    """Base class of the errors that cascade_core raises on purpose."""


# Scripts -------------------------------------------------------------------


class ScriptError(CascadeError):
    """Raised when a script cannot be read or parsed for its config.

    `path` is the script's path and `lineno` the line at fault, if any.
    """

    def __init__(self, message: str, path: object = None, lineno: int | None = None):
        super().__init__(message)
        self.path = path
        self.lineno = lineno


class ScriptNotFoundError(ScriptError, FileNotFoundError):
    """Raised when the script path does not exist or is not a file."""

    def __str__(self) -> str:
        return self.args[0]


class ImportedConfigError(ScriptError):
    """Raised when an override targets a config class imported from another module."""


class InvalidBoundsError(ScriptError, ValueError):
    """Raised when a `# range:` comment on a config field is malformed or does not fit the field."""


# Overrides -----------------------------------------------------------------


class OverrideError(CascadeError, ValueError):
    """Raised when an override is invalid. Nothing is run when this is raised.

    `key` is the override's key as given and `value` its raw value (or None).
    """

    def __init__(self, message: str, key: str | None = None, value: object = None):
        super().__init__(message)
        self.key = key
        self.value = value


class UnknownKeyError(OverrideError):
    """Raised when an override names no field of the script's config."""


class AmbiguousKeyError(OverrideError):
    """Raised when a bare key names fields of several config classes."""


class DuplicateKeyError(OverrideError):
    """Raised when the same field is overridden twice in one command."""


class MissingValueError(OverrideError):
    """Raised when an override key has no value after it."""


class InvalidValueError(OverrideError):
    """Raised when an override value does not parse as a Python literal."""


class TypeMismatchError(OverrideError, TypeError):
    """Raised when an override value does not fit the field's type."""


class SweepError(OverrideError):
    """Raised when a sweep value (`1,2`, `range(...)`, `linspace(...)`, ...) is invalid."""


class UnknownBaseKeyError(UnknownKeyError):
    """Raised when a base config or a rerun's recorded config has a key the script does not define.

    Passing `force=True` (`-f`) adds such keys instead.
    """


class FieldNotAddableError(OverrideError):
    """Raised when `-f` requests a new key for a script that has no place to add it."""


# Runs ----------------------------------------------------------------------


class RunError(CascadeError):
    """Base class of errors about runs and the run store."""


class RunNotFoundError(RunError, LookupError):
    """Raised when a run reference matches no run in the store."""


class AmbiguousRunError(RunError, LookupError):
    """Raised when a run id prefix matches several runs."""


class RunFailedError(RunError):
    """Raised when a run ends with a non-zero exit status and the caller raises on failure.

    The IPython magics raise it unless given `--no-raise`. `run` is the
    finished `Run`.
    """

    def __init__(self, message: str, run: object = None):
        super().__init__(message)
        self.run = run


class RunTimeoutError(RunError, TimeoutError):
    """Raised when `Run.wait(timeout)` times out before the run has ended. The run keeps running."""


class NotInRunError(RunError, RuntimeError):
    """Raised when code that needs the current run is called outside a run."""


class RunFolderMissingError(RunError, FileNotFoundError):
    """Raised when `CASCADE_RUN_DIR` names a run folder that does not exist.

    `path` is the folder named by the variable.
    """

    def __init__(self, message: str, path: object = None):
        super().__init__(message)
        self.path = path

    def __str__(self) -> str:
        return self.args[0]


class OutsideRunWarning(UserWarning):
    """Warned when a run-only call (`log_metric`, `Model.add_log`, ...) is made outside a run.

    The call does nothing and the script goes on.
    """


# Bases, reruns and browsing -----------------------------------------------


class ConfigFileError(CascadeError, ValueError):
    """Raised when a base config file cannot be read, does not parse, or is not a mapping.

    `path` is the file at fault.
    """

    def __init__(self, message: str, path: object = None):
        super().__init__(message)
        self.path = path


class RecordedValueError(RunError, ValueError):
    """Raised when a value recorded in a run folder cannot be turned back into a Python value.

    `key` is the config key and `value` the recorded text.
    """

    def __init__(self, message: str, key: str | None = None, value: object = None):
        super().__init__(message)
        self.key = key
        self.value = value


class InvalidRunFilterError(RunError, ValueError):
    """Raised when a run listing filter is invalid, e.g. an unknown status or a negative count."""


class RunInProgressError(RunError, RuntimeError):
    """Raised when an operation that needs a finished run (removing it) is given a running one."""


class InvalidAgeError(CascadeError, ValueError):
    """Raised when an age such as `30d` or `12h` does not parse. `value` is the text given."""

    def __init__(self, message: str, value: object = None):
        super().__init__(message)
        self.value = value


class ScriptChangedWarning(UserWarning):
    """Warned when a rerun's script differs from the source the recorded run started from."""


# Metrics, models and lines -------------------------------------------------


class InvalidMetricError(CascadeError, ValueError):
    """Raised when a metric name, value or step is invalid.

    `name` is the metric name as given and `value` the offending value.
    """

    def __init__(self, message: str, name: object = None, value: object = None):
        super().__init__(message)
        self.name = name
        self.value = value


class MetricTypeError(InvalidMetricError, TypeError):
    """Raised when a metric name, value or step has the wrong type."""


class ModelError(CascadeError):
    """Base class of errors about models and model lines.

    `path` is the file or folder at fault, if any.
    """

    def __init__(self, message: str, path: object = None):
        super().__init__(message)
        self.path = path


class ModelTypeError(ModelError, TypeError):
    """Raised when a model or line method gets an argument of the wrong type (a config, a model, a file name)."""


class ModelFileNotFoundError(ModelError, FileNotFoundError):
    """Raised when a file attached to a model does not exist."""

    def __str__(self) -> str:
        return self.args[0]


class ModelFileConflictError(ModelError, ValueError):
    """Raised when two files attached to one model would get the same name."""


class NotALineError(ModelError, ValueError):
    """Raised when a model line path exists but is not a model line folder."""


# Optional dependencies -----------------------------------------------------


class MissingDependencyError(CascadeError, ImportError):
    """Raised when a feature needs an optional package that is not installed.

    The message gives the exact `pip install` command.
    """


def require(module: str, extra: str):
    """Import and return `module`, or raise MissingDependencyError naming the extra."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:
        message = (
            f"This feature needs the {module.split('.')[0]!r} package, which is not installed. "
            f"Install it with: pip install 'cascade-ext[{extra}]'"
        )
        raise MissingDependencyError(message) from exc
