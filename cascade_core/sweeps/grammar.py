"""The sweep grammar: one override value text to the texts of its sweep items.

A value is a sweep when it has top-level commas (`1e-3,1e-4`) or is one of the
functions `range(a, b[, step])`, `linspace(a, b, n)`, `logspace(a, b, n)` and
`choice(x, y, ...)`. Each item comes back as text, so that the overrides
module types it by exactly the rules of a single run.
"""

from __future__ import annotations

import ast
import math
import re

from cascade_core.errors import SweepError
from cascade_core.overrides import split_top_level

_FUNCTION_CALL = re.compile(r"\s*(range|linspace|logspace|choice)\s*\((.*)\)\s*", re.DOTALL)

_USAGE = {
    "range": "range(start, stop[, step]), for example range(1, 5)",
    "linspace": "linspace(start, stop, num), for example linspace(0, 1, 5)",
    "logspace": "logspace(start, stop, num), for example logspace(-5, -1, 5)",
    "choice": "choice(value, ...), for example choice(adam, sgd)",
}


def expand_value(key: str, text: str) -> list[str]:
    """Expand one override value into the texts of its sweep items.

    Args:
        key: the override key, used in error messages.
        text: the value as typed on the command line.

    Returns:
        One text per item, in order. A value that is not a sweep comes back
        as a one-item list holding `text` unchanged.

    Raises:
        SweepError: when a sweep function has invalid arguments or a sweep
            expands to no values.
    """
    call = _FUNCTION_CALL.fullmatch(text)
    if call is None:
        return _split_items(key, text)

    function, arguments = call.groups()
    if function == "choice":
        return _expand_choice(key, text, arguments)

    numbers = _parse_numbers(key, text, function, arguments)
    if function == "range":
        items = _expand_range(key, text, numbers)
    else:
        items = _expand_spaced(key, text, function, numbers)
    return [repr(item) for item in items]


def is_sweep(text: str) -> bool:
    """Return whether `text` expands to a sweep rather than one plain value."""
    return _FUNCTION_CALL.fullmatch(text) is not None or len(split_top_level(text, sep=",")) > 1


def _split_items(key: str, text: str) -> list[str]:
    items = split_top_level(text, sep=",")
    if len(items) == 1:
        return [text]

    empty = [position for position, item in enumerate(items, 1) if not item.strip()]
    if empty:
        raise SweepError(
            f"Invalid sweep for {key}: {text!r} has an empty item at position {empty[0]}. "
            f"Separate values with single commas, for example --{key} 1,2,3",
            key=key,
            value=text,
        )
    return [item.strip() for item in items]


def _expand_choice(key: str, text: str, arguments: str) -> list[str]:
    if not arguments.strip():
        raise _usage_error(key, text, "choice", "it has no values")
    return [item.strip() for item in _split_items(key, arguments)]


def _parse_numbers(key: str, text: str, function: str, arguments: str) -> list[int | float]:
    numbers: list[int | float] = []
    if not arguments.strip():
        return numbers

    for argument in split_top_level(arguments, sep=","):
        try:
            number = ast.literal_eval(argument.strip())
        except (ValueError, SyntaxError) as exc:
            raise _usage_error(key, text, function, f"{argument.strip()!r} is not a number") from exc
        if isinstance(number, bool) or not isinstance(number, (int, float)):
            raise _usage_error(key, text, function, f"{argument.strip()!r} is not a number")
        if not math.isfinite(number):
            raise _usage_error(key, text, function, f"{argument.strip()!r} is not a finite number")
        numbers.append(number)
    return numbers


def _expand_range(key: str, text: str, numbers: list[int | float]) -> list[int]:
    if not 1 <= len(numbers) <= 3:
        raise _usage_error(key, text, "range", f"it takes 1 to 3 arguments, not {len(numbers)}")
    if not all(isinstance(number, int) for number in numbers):
        raise _usage_error(key, text, "range", "its arguments are not all integers (use linspace for floats)")
    if len(numbers) == 3 and numbers[2] == 0:
        raise _usage_error(key, text, "range", "its step is 0")

    items = list(range(*numbers))
    if not items:
        raise _usage_error(key, text, "range", "it is empty (the stop is excluded, as in Python)")
    return items


def _expand_spaced(key: str, text: str, function: str, numbers: list[int | float]) -> list[float]:
    if len(numbers) != 3:
        raise _usage_error(key, text, function, f"it takes 3 arguments, not {len(numbers)}")

    start, stop, num = numbers
    if not isinstance(num, int) or num < 1:
        raise _usage_error(key, text, function, f"its number of values {num!r} is not an integer of 1 or more")

    points = [float(start)] if num == 1 else _linspace(start, stop, num)
    if function == "logspace":
        return [10.0**point for point in points]
    return points


def _linspace(start: float, stop: float, num: int) -> list[float]:
    step = (stop - start) / (num - 1)
    points = [float(start + index * step) for index in range(num - 1)]
    return points + [float(stop)]


def _usage_error(key: str, text: str, function: str, reason: str) -> SweepError:
    return SweepError(
        f"Invalid sweep for {key}: {text!r} is not a valid {function}() because {reason}. "
        f"Expected {_USAGE[function]}",
        key=key,
        value=text,
    )
