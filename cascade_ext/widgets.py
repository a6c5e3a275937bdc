"""The widget of each config field: which widget, its bounds, and the value it launches.

`control_for(field, bounds)` returns a `FieldControl`, which pairs an
ipywidgets input with the field it edits. Its `value()` is the value the
widget's readout shows, rounded to the readout's precision, so a run gets
exactly what the user saw. Slider bounds may be declared in the script with a
trailing comment on the field's line, read by `declared_bounds(source)`:

    weight_decay = 1e-4  # range: 1e-6..1e-2 log
    epochs = 10          # range: 1..200 step=5

ipywidgets is imported when the first control is made, never at import time.
"""

from __future__ import annotations

import ast
import io
import math
import re
import tokenize
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from cascade_core.errors import InvalidBoundsError
from cascade_core.fieldtypes import Expression, TypeCheckFailure, field_type, parse_text

LOG_BELOW = 0.1
"""Positive float defaults below this get a log-scale slider."""

LOG_STEP = 0.1
"""Step of a log-scale slider, in decades: one notch multiplies the value by about 1.26."""

LOG_DECADES = 3
"""Decades a log-scale slider extends on each side of its default."""

UNIT_STEP = 0.01
"""Step of the [0, 1] slider that float defaults from 0.1 to 1 get."""

MAX_DIGITS = 12
"""Maximum number of digits a readout shows, after the point (linear) or significant (log)."""

INPUT_WIDTH = "36em"
"""Width of each field's input, label included, so that sliders are long enough to aim at."""

RANGE_PATTERN = re.compile(r"\brange:\s*(?P<low>\S+?)\s*\.\.\s*(?P<high>\S+)(?P<options>.*)")
RANGE_SYNTAX = "# range: LOW..HIGH [log] [step=STEP]"


# Declared bounds -----------------------------------------------------------------


@dataclass(frozen=True)
class Bounds:
    """Slider bounds declared by a `# range:` comment.

    Attributes:
        low: The slider's minimum.
        high: The slider's maximum.
        log: Whether the slider has a log scale.
        step: The step (in decades for a log scale), or None for the automatic one.
        lineno: The comment's line in the script.
    """

    low: int | float
    high: int | float
    log: bool = False
    step: int | float | None = None
    lineno: int = 0


def declared_bounds(source: str, path: object = None) -> dict[int, Bounds]:
    """Read every `# range:` comment of a script, keyed by each line of the statement it ends.

    Comments are not part of the syntax tree, so the source is tokenized. A
    comment counts for the statement on whose last line it is, so a value
    spread over several lines gets it too. A comment on a line of its own is
    ignored, and a script that does not tokenize has no declared bounds.

    Raises:
        InvalidBoundsError: A range comment is malformed.
    """
    bounds: dict[int, Bounds] = {}
    statement_start, pending = None, None
    try:
        for token in tokenize.generate_tokens(io.StringIO(source).readline):
            if token.type == tokenize.COMMENT and statement_start is not None:
                pending = parse_range_comment(token.string, token.start[0], path) or pending
            elif token.type == tokenize.NEWLINE:
                if pending is not None:
                    bounds.update(dict.fromkeys(range(statement_start, token.start[0] + 1), pending))
                statement_start, pending = None, None
            elif token.type not in _NON_CODE_TOKENS and statement_start is None:
                statement_start = token.start[0]
    except (tokenize.TokenError, SyntaxError):
        return {}
    return bounds


_NON_CODE_TOKENS = {tokenize.COMMENT, tokenize.NL, tokenize.INDENT, tokenize.DEDENT, tokenize.ENCODING}


def parse_range_comment(comment: str, lineno: int = 0, path: object = None) -> Bounds | None:
    """Parse a `# range: LOW..HIGH [log] [step=STEP]` comment into `Bounds`, or return None for any other comment.

    Raises:
        InvalidBoundsError: The comment contains `range:` but does not follow the syntax.
    """
    if "range:" not in comment:
        return None

    match = RANGE_PATTERN.search(comment)
    if match is None:
        raise _bounds_error(f"invalid range comment {comment.strip()!r}", lineno, path)

    low = _bound_number(match["low"], comment, lineno, path)
    high = _bound_number(match["high"], comment, lineno, path)
    log, step = _range_options(match["options"], comment, lineno, path)

    if not low < high:
        raise _bounds_error(f"the range {low!r}..{high!r} is empty: LOW must be below HIGH", lineno, path)
    if log and low <= 0:
        raise _bounds_error(f"a log range must be above 0, got {low!r}..{high!r}", lineno, path)
    return Bounds(low=low, high=high, log=log, step=step, lineno=lineno)


def _range_options(text: str, comment: str, lineno: int, path) -> tuple[bool, int | float | None]:
    log, step = False, None
    for word in text.split():
        if word in ("log", "linear"):
            log = word == "log"
        elif word.startswith("step="):
            step = _bound_number(word[len("step="):], comment, lineno, path)
            if step <= 0:
                raise _bounds_error(f"the step must be above 0, got {step!r}", lineno, path)
        else:
            raise _bounds_error(f"unknown word {word!r} in range comment {comment.strip()!r}", lineno, path)
    return log, step


def _bound_number(text: str, comment: str, lineno: int, path) -> int | float:
    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError):
        value = None
    if type(value) not in (int, float) or not math.isfinite(value):
        raise _bounds_error(f"{text!r} in range comment {comment.strip()!r} is not a number", lineno, path)
    return value


def _bounds_error(reason: str, lineno: int, path) -> InvalidBoundsError:
    where = f"line {lineno} of {path}" if path else f"line {lineno}"
    return InvalidBoundsError(f"Invalid slider bounds on {where}: {reason}. Expected {RANGE_SYNTAX}.", path, lineno)


def bounds_for(field, bounds_by_line: dict[int, Bounds], source: str) -> Bounds | None:
    """Return the bounds declared for the statement that assigns a field, or None.

    The line is counted from the field's span in `source`, the text that
    `declared_bounds` read. For a notebook that is the joined code cells,
    where `Field.lineno` counts lines within one cell.
    """
    line = source.count("\n", 0, field.span[0]) + 1
    return bounds_by_line.get(line)


# Rounding to the readout ---------------------------------------------------------


def round_decimals(value: float, decimals: int) -> float:
    """Round to `decimals` digits after the point, halves away from zero as the readout does."""
    quantum = Decimal(1).scaleb(-decimals)
    return float(Decimal(value).quantize(quantum, rounding=ROUND_HALF_UP))


def round_significant(value: float, digits: int) -> float:
    """Round to `digits` significant digits, halves away from zero as the readout does."""
    if value == 0 or not math.isfinite(value):
        return value
    exact = Decimal(value)
    quantum = Decimal(1).scaleb(exact.adjusted() - digits + 1)
    return float(exact.quantize(quantum, rounding=ROUND_HALF_UP))


def decimals_of(value: float) -> int:
    """Return how many digits after the point the shortest repr of `value` has."""
    exponent = Decimal(repr(float(value))).normalize().as_tuple().exponent
    return max(0, -exponent)


def significant_digits_of(value: float) -> int:
    """Return how many significant digits the shortest repr of `value` has."""
    return len(Decimal(repr(float(value))).normalize().as_tuple().digits)


# Controls --------------------------------------------------------------------------


class FieldControl:
    """A field paired with the input widget that edits it.

    Attributes:
        field: The `Field` from static discovery.
        widget: The ipywidgets input.
        row: The widget with its type-and-default label and its error label.
        error: The message of a value that does not parse, or None.
    """

    def __init__(self, field, widget, description_width: str = "initial"):
        import ipywidgets as widgets

        self.field = field
        self.widget = widget
        self.error: str | None = None
        self.type_label = field_type(field.annotation, field.default).label
        widget.description = field.key
        widget.tooltip = f"{field.key}: {self.type_label}, default {field.source}"
        widget.style.description_width = description_width
        if not isinstance(widget, widgets.Checkbox):
            widget.layout.width = INPUT_WIDTH
        info = widgets.HTML(f"<small>{_escape(self.type_label)} &middot; default {_escape(field.source)}</small>")
        self.error_label = widgets.HTML()
        self.row = widgets.HBox([widget, info, self.error_label])

    def value(self) -> object:
        """Return the value the widget shows, typed for the field."""
        return self.widget.value

    def changed(self) -> bool:
        """Return whether the shown value differs from the field's default."""
        value = self.value()
        return type(value) is not type(self.field.default) or value != self.field.default

    def reset(self) -> None:
        """Show the field's default again."""
        self.widget.value = self.initial_value()

    def initial_value(self) -> object:
        return self.field.default

    def observe(self, callback) -> None:
        """Call `callback()` whenever the user changes the widget."""
        self.widget.observe(lambda _change: callback(), names="value")


class IntSliderControl(FieldControl):
    """An int field on an IntSlider."""

    def value(self) -> int:
        return int(self.widget.value)


class FloatSliderControl(FieldControl):
    """A float field on a linear FloatSlider whose readout shows `precision` digits after the point."""

    def __init__(self, field, widget, precision: int, description_width: str = "initial"):
        super().__init__(field, widget, description_width)
        self.precision = precision

    def value(self) -> float:
        return round_decimals(self.widget.value, self.precision)

    def changed(self) -> bool:
        return self.value() != self.field.default

    def initial_value(self) -> float:
        return float(self.field.default)


class LogSliderControl(FloatSliderControl):
    """A positive float field on a FloatLogSlider whose readout shows `precision` significant digits."""

    def value(self) -> float:
        return round_significant(self.widget.value, self.precision)


class TextControl(FieldControl):
    """A str field in a Text box: the text is the value, as typed."""


class LiteralTextControl(FieldControl):
    """A field of any other type in a Text box, parsed by the command line's rules.

    The box starts with the default's source text, and the field counts as
    changed only when that text is edited.
    """

    def __init__(self, field, widget, description_width: str = "initial"):
        super().__init__(field, widget, description_width)
        self.field_type = field_type(field.annotation, field.default)
        self.observe(self.check)

    def initial_value(self) -> str:
        return self.field.source

    def changed(self) -> bool:
        return self.widget.value.strip() != self.field.source.strip()

    def value(self) -> object:
        if not self.changed():
            return self.field.default
        return self.parse(self.widget.value)

    def parse(self, text: str) -> object:
        """Return the value of `text` by the command line's rules.

        Raises:
            ValueError: The text gives no value of the field's type.
        """
        try:
            return parse_text(self.field_type, text)
        except TypeCheckFailure as exc:
            raise ValueError(self.describe_failure(text, exc.reason)) from exc

    def describe_failure(self, text: str, reason: str) -> str:
        problem = "is not a Python literal" if reason == "syntax" else f"is not a {self.field_type.label}"
        return f"Invalid value for {self.field.key}: {text!r} {problem}. Enter a value such as {self.field.source}."

    def check(self) -> None:
        """Show or clear the error message of the current text."""
        try:
            self.value()
        except ValueError as exc:
            self.error = str(exc)
        else:
            self.error = None
        self.error_label.value = "" if self.error is None else f"<span style='color:#c62828'>{_escape(self.error)}</span>"


class ExpressionControl(LiteralTextControl):
    """A field whose default is an expression (`2 * BASE_LR`), shown as its source text.

    Edited text that is a literal launches that value. Other text launches
    as an expression, which replaces the one in the script.
    """

    def parse(self, text: str) -> object:
        try:
            return ast.literal_eval(text.strip())
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            pass

        try:
            ast.parse(text.strip(), mode="eval")
        except SyntaxError as exc:
            message = f"Invalid value for {self.field.key}: {text!r} is not a Python expression. Enter one such as {self.field.source}."
            raise ValueError(message) from exc
        return Expression(text.strip())


class DropdownControl(FieldControl):
    """A `Literal[...]` field in a Dropdown of its allowed values."""


class CheckboxControl(FieldControl):
    """A bool field on a Checkbox."""


# Choosing the widget -------------------------------------------------------------


def widget_kind(field, bounds: Bounds | None = None) -> str:
    """Choose the kind of widget a field gets.

    Returns:
        One of "expression", "dropdown", "checkbox", "int", "log", "unit",
        "float", "text" and "literal".
    """
    if field.is_expression:
        return "expression"

    ftype = field_type(field.annotation, field.default)
    default = field.default
    if ftype.literals and set(ftype.kinds) <= {"None"}:
        return "dropdown"
    if ftype.kinds == ("bool",) and type(default) is bool:
        return "checkbox"
    if ftype.kinds == ("int",) and type(default) is int:
        return "int"
    if ftype.kinds == ("float",) and type(default) in (int, float) and math.isfinite(default):
        return _float_kind(float(default), bounds)
    if ftype.kinds == ("str",) and type(default) is str:
        return "text"
    return "literal"


def _float_kind(default: float, bounds: Bounds | None) -> str:
    if bounds is not None:
        return "log" if bounds.log else "float"
    if 0 < default < LOG_BELOW:
        return "log"
    if LOG_BELOW <= default <= 1:
        return "unit"
    return "float"


def control_for(field, bounds: Bounds | None = None, description_width: str = "initial") -> FieldControl:
    """Build the control of one field, using declared bounds where given.

    Raises:
        InvalidBoundsError: The bounds do not fit the field (a range on a
            non-number field, a default outside the range, a log range on an int).
    """
    kind = widget_kind(field, bounds)
    if bounds is not None and kind not in ("int", "float", "log"):
        raise _misfit(field, bounds, "a range applies only to int and float fields")

    builder = _BUILDERS[kind]
    return builder(field, bounds, description_width)


def _misfit(field, bounds: Bounds, reason: str) -> InvalidBoundsError:
    return InvalidBoundsError(
        f"Invalid slider bounds for {field.key} on line {bounds.lineno}: {reason}. "
        f"Fix or remove the range comment ({RANGE_SYNTAX}).",
        None,
        bounds.lineno,
    )


def _check_contains(field, bounds: Bounds, default: float) -> None:
    if not bounds.low <= default <= bounds.high:
        reason = f"the default {field.source} is outside the range {bounds.low!r}..{bounds.high!r}"
        raise _misfit(field, bounds, reason)


def _build_int(field, bounds: Bounds | None, width: str) -> FieldControl:
    import ipywidgets as widgets

    default = field.default
    if bounds is None:
        low, high, step = _int_range(default)
    else:
        if bounds.log:
            raise _misfit(field, bounds, "a log scale applies only to float fields")
        if not all(type(number) is int for number in (bounds.low, bounds.high, bounds.step or 1)):
            raise _misfit(field, bounds, "an int field needs int bounds and step")
        _check_contains(field, bounds, default)
        low, high, step = bounds.low, bounds.high, bounds.step or 1

    widget = widgets.IntSlider(value=default, min=low, max=high, step=step, continuous_update=False)
    return IntSliderControl(field, widget, width)


def _int_range(default: int) -> tuple[int, int, int]:
    """Return the automatic `(low, high, step)` of an int slider, at least 10 wide.

    A positive default gets 0 to three times the default. A negative default
    gets three times the default to its absolute value. A zero default gets
    -10 to 10.
    """
    if default > 0:
        return 0, max(3 * default, 10), 1
    if default < 0:
        return min(3 * default, -10), -default, 1
    return -10, 10, 1


def _build_float(field, bounds: Bounds | None, width: str) -> FieldControl:
    import ipywidgets as widgets

    default = float(field.default)
    if bounds is None:
        low, high, step = _float_range(default)
    else:
        _check_contains(field, bounds, default)
        low, high = float(bounds.low), float(bounds.high)
        step = bounds.step or _float_step(high - low)

    decimals = min(max(decimals_of(step), decimals_of(default)), MAX_DIGITS)
    widget = widgets.FloatSlider(
        value=default, min=low, max=high, step=step, readout_format=f".{decimals}f", continuous_update=False,
    )
    return FloatSliderControl(field, widget, decimals, width)


def _build_unit(field, bounds: Bounds | None, width: str) -> FieldControl:
    return _build_float(field, Bounds(0.0, 1.0, step=UNIT_STEP), width)


def _float_range(default: float) -> tuple[float, float, float]:
    """Return the automatic range of a linear float slider around its default."""
    if default == 0:
        return -1.0, 1.0, UNIT_STEP
    step = min(0.1, _float_step(abs(default) * 10))
    if default > 0:
        return 0.0, 3 * default, step
    return 3 * default, -default, step


def _float_step(width: float) -> float:
    """Return the largest power of ten that is at most a hundredth of `width`."""
    return 10.0 ** (math.floor(math.log10(width)) - 2)


def _build_log(field, bounds: Bounds | None, width: str) -> FieldControl:
    import ipywidgets as widgets

    default = float(field.default)
    if bounds is None:
        center = math.floor(math.log10(default))
        low, high, step = center - LOG_DECADES, center + LOG_DECADES, LOG_STEP
    else:
        _check_contains(field, bounds, default)
        low, high, step = math.log10(bounds.low), math.log10(bounds.high), bounds.step or LOG_STEP

    digits = min(max(2, significant_digits_of(default)), MAX_DIGITS)
    widget = widgets.FloatLogSlider(
        value=default, base=10, min=low, max=high, step=step, readout_format=f".{digits}g", continuous_update=False,
    )
    return LogSliderControl(field, widget, digits, width)


def _build_checkbox(field, bounds, width: str) -> FieldControl:
    import ipywidgets as widgets

    return CheckboxControl(field, widgets.Checkbox(value=field.default, indent=True), width)


def _build_dropdown(field, bounds, width: str) -> FieldControl:
    import ipywidgets as widgets

    ftype = field_type(field.annotation, field.default)
    choices = list(ftype.literals) + ([None] if "None" in ftype.kinds else [])
    options = [(_choice_label(choice), choice) for choice in choices]
    if not any(_same(choice, field.default) for choice in choices):
        # A default outside its Literal still shows, so an untouched launch keeps it.
        options.insert(0, (_choice_label(field.default), field.default))
    return DropdownControl(field, widgets.Dropdown(options=options, value=field.default), width)


def _choice_label(choice: object) -> str:
    return choice if isinstance(choice, str) else repr(choice)


def _same(first: object, second: object) -> bool:
    return type(first) is type(second) and first == second


def _build_text(field, bounds, width: str) -> FieldControl:
    import ipywidgets as widgets

    return TextControl(field, widgets.Text(value=field.default, continuous_update=False), width)


def _build_literal(field, bounds, width: str) -> FieldControl:
    return LiteralTextControl(field, _source_box(field), width)


def _build_expression(field, bounds, width: str) -> FieldControl:
    return ExpressionControl(field, _source_box(field), width)


def _source_box(field):
    """Return a Text showing the field's source, or a Textarea when the source spans several lines."""
    import ipywidgets as widgets

    if "\n" in field.source:
        rows = min(field.source.count("\n") + 1, 10)
        return widgets.Textarea(value=field.source, rows=rows, continuous_update=False)
    return widgets.Text(value=field.source, continuous_update=False)


_BUILDERS = {
    "int": _build_int,
    "float": _build_float,
    "unit": _build_unit,
    "log": _build_log,
    "checkbox": _build_checkbox,
    "dropdown": _build_dropdown,
    "text": _build_text,
    "literal": _build_literal,
    "expression": _build_expression,
}


def _escape(text: str) -> str:
    import html

    return html.escape(text, quote=True)
