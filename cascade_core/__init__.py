"""Run Python scripts with their Config overridden for one run, and record every run.

The names below are imported on first use, so `import cascade_core` stays
cheap for the CLI and for scripts that only call `log_metric`.
"""

from __future__ import annotations

import importlib
import sys
import types

__version__ = "0.1.0"

_EXPORTS = {
    "Config": "cascade_core.config",
    "discover": "cascade_core.discovery",
    "Run": "cascade_core.run",
    "run": "cascade_core.run",
    "start": "cascade_core.run",
    "runs": "cascade_core.browse",
    "run_dir": "cascade_core.metrics",
    "log_metric": "cascade_core.metrics",
    "Model": "cascade_core.models",
    "ModelLine": "cascade_core.models",
    "multirun": "cascade_core.sweeps",
    "CascadeError": "cascade_core.errors",
    "OverrideError": "cascade_core.errors",
    "RunFailedError": "cascade_core.errors",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'cascade_core' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))


class _Package(types.ModuleType):
    """The package module, keeping `cascade_core.run` the function once the `cascade_core.run` module is imported.

    Importing a submodule sets it as an attribute of its package, which
    would hide the function `run` behind the module of the same name.
    """

    def __setattr__(self, name: str, value: object) -> None:
        if isinstance(value, types.ModuleType) and _EXPORTS.get(name) == value.__name__:
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package
