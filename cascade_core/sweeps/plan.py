"""A sweep plan: the override tokens of a multirun expanded into points.

The points are the Cartesian product of the swept values. Keys follow the
order they were given in, and each key's items their own order, so the last
key varies fastest (as in `itertools.product`).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

from cascade_core.overrides import _read_override, parse_overrides
from cascade_core.sweeps.grammar import expand_value, is_sweep

LABEL_WIDTH = 40
"""Characters of a point label before it is cut with an ellipsis."""



@dataclass(frozen=True)
class Point:
    """One run of a sweep.

    Attributes:
        index: 0-based position in the plan.
        values: field key to typed value, for the swept keys only.
        tokens: the override tokens of this run, as `start()` takes them.
        label: a short label such as `SEED=3`, used to prefix output lines.
    """

    index: int
    values: dict[str, object]
    tokens: tuple[str, ...]
    label: str


@dataclass(frozen=True)
class SweepPlan:
    """The points of a sweep and the keys that vary between them."""

    points: list[Point]
    swept_keys: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.points)


@dataclass(frozen=True)
class _Slot:
    """A value in the token list: where it sits, its key and how to write an item back."""

    position: int
    key: str
    text: str
    template: str  # "{}" for a separate value token, "--key={}" or "key={}" for an inline one


def plan_sweep(config, tokens) -> SweepPlan:
    """Expand override tokens with sweep values into a plan of points.

    Every point's tokens are checked with `parse_overrides`, so an invalid
    value in any point raises before anything runs.

    Args:
        config: the script's `ScriptConfig`.
        tokens: the override tokens after SCRIPT, such as
            `["--lr", "1e-3,1e-4", "--bs=16,32"]`.

    Returns:
        The plan. Tokens without sweep values give a plan of one point.

    Raises:
        SweepError: when a sweep value is invalid.
        OverrideError: when a point's overrides are invalid (unknown key,
            wrong type, ...).
    """
    tokens = list(tokens)
    slots = [slot for slot in _value_slots(tokens, config) if is_sweep(slot.text)]
    item_lists = [expand_value(slot.key, slot.text) for slot in slots]
    swept_keys = [config.lookup(slot.key).key for slot in slots]

    points = []
    for index, items in enumerate(itertools.product(*item_lists)):
        point_tokens = list(tokens)
        for slot, item in zip(slots, items):
            point_tokens[slot.position] = slot.template.format(item)

        typed = parse_overrides(_before_passthrough(point_tokens), config)
        values = {key: typed[key] for key in swept_keys}
        points.append(Point(index, values, tuple(point_tokens), _label(values)))
    return SweepPlan(points, swept_keys)


def _value_slots(tokens: list[str], config) -> list[_Slot]:
    """Find the value of each override in `tokens`, in order, by the override grammar's own reading."""
    slots = []
    index = 0
    while index < len(tokens) and tokens[index] != "--":
        token = tokens[index]
        key, text, following = _read_override(tokens, index, config)
        if text is None and _is_bool_sweep(key, tokens, following):
            # `--flag True,False`: the override grammar reads `--flag` alone,
            # because a sweep is not one of the bool words it accepts after it.
            slots.append(_Slot(following, key, tokens[following], "{}"))
            following += 1
        elif text is None:
            pass  # a bare bool flag has no value to sweep
        elif following == index + 2:
            slots.append(_Slot(index + 1, key, text, "{}"))
        else:
            prefix = token[: len(token) - len(text)]
            slots.append(_Slot(index, key, text, prefix.replace("{", "{{").replace("}", "}}") + "{}"))
        index = following
    return slots


def _before_passthrough(tokens: list[str]) -> list[str]:
    return tokens[: tokens.index("--")] if "--" in tokens else tokens


def _is_bool_sweep(key: str, tokens: list[str], index: int) -> bool:
    if index >= len(tokens) or not is_sweep(tokens[index]):
        return False
    items = expand_value(key, tokens[index])
    return all(item.strip().lower() in ("true", "false") for item in items)


def _label(values: dict[str, object]) -> str:
    parts = [f"{key.rsplit('.', 1)[-1]}={value!r}" for key, value in values.items()]
    label = " ".join(parts) or "run"
    if len(label) > LABEL_WIDTH:
        return label[: LABEL_WIDTH - 1] + "…"
    return label
