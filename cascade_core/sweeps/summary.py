"""Tables of a sweep: the plan shown before it starts and the summary at its end.

Both come as a header list and rows of cell texts, so the terminal and the
notebook render the same content (`format_table` for text, the notebook's
own HTML).
"""

from __future__ import annotations

from cascade_core.formatting import format_duration, format_table
from cascade_core.sweeps.plan import SweepPlan

PLAN_ROWS_SHOWN = 50
"""Rows of the plan table printed before the rest are counted as `... N more`."""

NOT_STARTED = "not started"
"""Status shown for a point that was never launched (after Ctrl-C or --fail-fast)."""


def plan_table(plan: SweepPlan) -> tuple[list[str], list[list[str]]]:
    """Return the header and rows of the plan: point number and swept values."""
    header = ["#", *plan.swept_keys]
    rows = [[str(point.index + 1), *(_cell(point.values[key]) for key in plan.swept_keys)] for point in plan.points]
    return header, rows


def format_plan(plan: SweepPlan) -> str:
    """Return the plan as text: a count line, then a table of at most PLAN_ROWS_SHOWN points."""
    count = len(plan)
    noun = "run" if count == 1 else "runs"
    if not plan.swept_keys:
        return f"Sweep of {count} {noun} (no swept values)"

    header, rows = plan_table(plan)
    lines = [f"Sweep of {count} {noun} over {', '.join(plan.swept_keys)}:"]
    lines.append(format_table(header, rows[:PLAN_ROWS_SHOWN]))
    if count > PLAN_ROWS_SHOWN:
        lines.append(f"  ... {count - PLAN_ROWS_SHOWN} more")
    return "\n".join(lines)


def summary_table(outcome) -> tuple[list[str], list[list[str]]]:
    """Return the header and rows of a sweep's summary, one row per point.

    Columns: run id, each swept value, status, duration, then the last value
    of every metric that any run logged, in first-seen order. A point that
    never ran shows `not started`, or `error` when its Dask task raised.

    Args:
        outcome: the `SweepOutcome` of the sweep.
    """
    plan = outcome.plan
    metrics = {index: dict(run.metrics or {}) for index, run in outcome.runs.items()}
    metric_names = list(dict.fromkeys(name for values in metrics.values() for name in values))
    header = ["run id", *plan.swept_keys, "status", "duration", *metric_names]

    rows = []
    for point in plan.points:
        run = outcome.runs.get(point.index)
        swept = [_cell(point.values[key]) for key in plan.swept_keys]
        if run is None:
            status = "error" if point.index in outcome.errors else NOT_STARTED
            rows.append(["-", *swept, status, "-", *("-" for _ in metric_names)])
            continue
        values = metrics[point.index]
        shown_metrics = [_metric_cell(values[name]) if name in values else "-" for name in metric_names]
        rows.append([run.id, *swept, str(run.status), format_duration(run.duration) or "-", *shown_metrics])
    return header, rows


def format_summary(outcome) -> str:
    """Return the summary table as text, followed by a count of runs per status."""
    header, rows = summary_table(outcome)
    return f"{format_table(header, rows)}\n{count_statuses(header, rows)}"


def count_statuses(header: list[str], rows: list[list[str]]) -> str:
    """Return how many rows have each status, such as `3 completed, 1 failed`."""
    column = header.index("status")
    counts: dict[str, int] = {}
    for row in rows:
        counts[row[column]] = counts.get(row[column], 0) + 1
    return ", ".join(f"{count} {status}" for status, count in counts.items())


def _cell(value) -> str:
    return repr(value) if isinstance(value, str) else str(value)


def _metric_cell(value) -> str:
    return f"{value:.6g}" if isinstance(value, float) else str(value)
