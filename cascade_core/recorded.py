"""Values recorded in run folders, read back with their exact Python types.

`cascade_values.json` in a run folder contains `repr()` of every config and
override value. Reading them back with a literal parser restores tuples,
sets, frozensets, dicts with non-text keys, floats (`nan` and `inf`
included), bytes and complex numbers exactly, which JSON cannot.
"""

from __future__ import annotations

import ast
import math
from pathlib import Path

from cascade_core.errors import RecordedValueError


def restore_values(run_path: str | Path) -> dict:
    """Read a run's config and overrides back with their exact Python types.

    `cascade_values.json` contains `repr()` of every value, so tuples, sets,
    frozensets, dicts with non-text keys, floats (`nan` and `inf` included)
    and bytes come back as they were. A run without that file falls back to
    `cascade_config.json` and `cascade_overrides.json` (JSON types only).

    Returns:
        `{"config": {key: value}, "overrides": {key: value}}`.

    Raises:
        RecordedValueError: If a recorded text is not a literal Python value.
    """
    from cascade_core import store

    run_path = Path(run_path)
    recorded = store.read_json(run_path / store.VALUES_FILE)
    if not isinstance(recorded, dict):
        config = store.read_json(run_path / store.CONFIG_FILE, {})
        overrides = store.read_json(run_path / store.OVERRIDES_FILE, {})
        return {"config": dict(config or {}), "overrides": dict(overrides or {})}

    return {
        section: {key: literal_value(text, key) for key, text in (recorded.get(section) or {}).items()}
        for section in ("config", "overrides")
    }


_NAMED_FLOATS = {"nan": math.nan, "inf": math.inf}


def literal_value(text: str, key: str | None = None) -> object:
    """Turn the `repr()` of a literal value back into the value.

    Accepts what `ast.literal_eval` accepts, plus `nan`, `inf`, `set()` and
    `frozenset(...)`, which are how Python writes those values.

    Raises:
        RecordedValueError: If `text` is not such a literal.
    """
    try:
        node = ast.parse(text.strip(), mode="eval").body
        return _evaluate(node)
    except (SyntaxError, ValueError, TypeError, RecursionError) as exc:
        raise RecordedValueError(
            f"Cannot restore the recorded value of {key!r}: {text!r} is not a literal Python value. "
            "Pass the key as an override to set it explicitly.",
            key,
            text,
        ) from exc


def _evaluate(node: ast.AST) -> object:
    if isinstance(node, ast.Name) and node.id in _NAMED_FLOATS:
        return _NAMED_FLOATS[node.id]
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        operand = _evaluate(node.operand)
        if isinstance(operand, bool) or not isinstance(operand, (int, float, complex)):
            raise ValueError("sign applied to a value that is not a number")
        return -operand if isinstance(node.op, ast.USub) else +operand
    if isinstance(node, ast.Tuple):
        return tuple(_evaluate(item) for item in node.elts)
    if isinstance(node, ast.List):
        return [_evaluate(item) for item in node.elts]
    if isinstance(node, ast.Set):
        return {_evaluate(item) for item in node.elts}
    if isinstance(node, ast.Dict):
        return {_evaluate(key): _evaluate(value) for key, value in zip(node.keys, node.values)}
    if isinstance(node, ast.Call):
        return _evaluate_call(node)
    return ast.literal_eval(node)


def _evaluate_call(node: ast.Call) -> object:
    kind = node.func.id if isinstance(node.func, ast.Name) else None
    if kind not in ("set", "frozenset") or node.keywords or len(node.args) > 1:
        raise ValueError("only set(...) and frozenset(...) calls are literal values")
    items = _evaluate(node.args[0]) if node.args else ()
    return set(items) if kind == "set" else frozenset(items)
