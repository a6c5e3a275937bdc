"""Sweeps: many runs of one script over a grid of override values.

`multirun()` is the Python entry point and `run_multirun_cli()` the one of
`cascade run -m`. The modules:

- `grammar`: one value to its sweep items.
- `plan`: tokens to points.
- `executor`: local runs, N at a time.
- `dask_launcher`: runs on a Dask cluster.
- `summary`: plan and summary tables.
- `console`: the terminal side of `cascade run -m`.
"""

from __future__ import annotations

from cascade_core.sweeps.api import execute, multirun, prepare_sweep
from cascade_core.sweeps.executor import SweepOutcome
from cascade_core.sweeps.plan import Point, SweepPlan, plan_sweep


def run_multirun_cli(*args, **kwargs) -> int:
    """Run `cascade run -m`, as documented in `cascade_core.sweeps.console.run_multirun_cli`."""
    from cascade_core.sweeps.console import run_multirun_cli as run_cli

    return run_cli(*args, **kwargs)


__all__ = ["Point", "SweepOutcome", "SweepPlan", "execute", "multirun", "plan_sweep", "prepare_sweep", "run_multirun_cli"]
