"""Unit tests of the field-to-widget mapping, declared bounds and readout rounding."""

from __future__ import annotations

import math
import re
import subprocess
import sys
import textwrap

import ipywidgets as widgets
import pytest

from cascade_core.discovery import discover_source
from cascade_core.errors import InvalidBoundsError
from cascade_core.fieldtypes import Expression
from cascade_ext import widgets as fieldwidgets
from panel_cases import TRAIN_CFG


HEADER = "from typing import Literal, Optional\nfrom cascade_core import Config\n"


def controls_of(source: str) -> dict[str, fieldwidgets.FieldControl]:
    """Build the controls of a config; sources without an import get `HEADER` (two lines) first."""
    source = textwrap.dedent(source)
    if "import" not in source:
        source = HEADER + source
    config = discover_source(source, "train.py")
    bounds = fieldwidgets.declared_bounds(config.source)
    return {field.key: fieldwidgets.control_for(field, fieldwidgets.bounds_for(field, bounds, config.source)) for field in config.fields}


def control_of(source: str) -> fieldwidgets.FieldControl:
    (control,) = controls_of(source).values()
    return control


@pytest.fixture
def train_cfg() -> dict[str, fieldwidgets.FieldControl]:
    return controls_of(TRAIN_CFG)


def one_notch_up(slider) -> float:
    """Return the value one keyboard step above the slider's value, as the frontend computes it."""
    if isinstance(slider, widgets.FloatLogSlider):
        return slider.base ** (math.log(slider.value, slider.base) + slider.step)
    return slider.value + slider.step


# Train config: decimal, integer, text and bool defaults -------------------------------


def test_widgets_train_cfg_lr_float_slider(train_cfg):
    slider = train_cfg["lr"].widget

    assert type(slider) is widgets.FloatSlider
    assert slider.value == 1.5
    assert slider.min <= 1.5 <= slider.max
    assert slider.step <= 0.1
    assert format(slider.value, slider.readout_format) == "1.5"


def test_widgets_train_cfg_momentum_shows_default(train_cfg):
    slider = train_cfg["momentum"].widget

    assert type(slider) is widgets.FloatSlider
    assert slider.value == 0.9
    assert (slider.min, slider.max) == (0.0, 1.0)
    assert float(format(slider.value, slider.readout_format)) == 0.9


def test_widgets_train_cfg_epochs_int_slider(train_cfg):
    control = train_cfg["epochs"]

    assert type(control.widget) is widgets.IntSlider
    assert control.widget.value == 10
    assert type(control.value()) is int


def test_widgets_train_cfg_text_and_checkbox(train_cfg):
    assert type(train_cfg["name"].widget) is widgets.Text
    assert train_cfg["name"].widget.value == "base"
    assert type(train_cfg["use_amp"].widget) is widgets.Checkbox
    assert train_cfg["use_amp"].widget.value is True


def test_widgets_train_cfg_untouched_unchanged(train_cfg):
    changed = {key: control.value() for key, control in train_cfg.items() if control.changed()}

    assert changed == {}
    assert train_cfg["epochs"].value() == 10
    assert type(train_cfg["epochs"].value()) is int


def test_widgets_train_cfg_labels_name_type_default(train_cfg):
    control = train_cfg["weight_decay"]

    assert control.widget.description == "weight_decay"
    assert control.widget.tooltip == "weight_decay: float, default 1e-4"
    assert "float &middot; default 1e-4" in control.row.children[1].value


# Train config: very small floats ----------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "shown"),
    [
        pytest.param("weight_decay", "0.0001", id="weight_decay"),
        pytest.param("eps", "1e-08", id="eps"),
    ],
)
def test_widgets_small_float_readout_legible(train_cfg, key, shown):
    slider = train_cfg[key].widget

    assert type(slider) is widgets.FloatLogSlider
    assert format(slider.value, slider.readout_format) == shown


@pytest.mark.parametrize("key", ["weight_decay", "eps"])
def test_widgets_small_float_range_above_zero(train_cfg, key):
    slider = train_cfg[key].widget

    assert slider.base ** slider.min > 0
    assert math.isfinite(slider.min)


def test_widgets_small_float_one_notch_log_step(train_cfg):
    slider = train_cfg["weight_decay"].widget

    moved = one_notch_up(slider)

    assert 1e-5 < moved < 1e-3
    assert moved != 1e-4
    assert moved < slider.base ** slider.max


def test_widgets_small_float_launches_shown_value(train_cfg):
    control = train_cfg["weight_decay"]

    control.widget.value = one_notch_up(control.widget)

    shown = format(control.widget.value, control.widget.readout_format)
    assert shown == "0.00013"
    assert control.value() == 0.00013
    assert control.changed()


# Widget kinds -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "widget_type"),
    [
        pytest.param("x: Literal['adam', 'sgd'] = 'adam'", widgets.Dropdown, id="literal"),
        pytest.param("x: Optional[Literal[1, 2]] = None", widgets.Dropdown, id="optional-literal"),
        pytest.param("x = None", widgets.Text, id="none"),
        pytest.param("x = (224, 224)", widgets.Text, id="tuple"),
        pytest.param("x = [1, 2]", widgets.Text, id="list"),
        pytest.param("x = {'a': 1}", widgets.Text, id="dict"),
        pytest.param("x = 2 * BASE", widgets.Text, id="expression"),
        pytest.param("x: Optional[int] = None", widgets.Text, id="optional-int"),
        pytest.param("x: float = 3", widgets.FloatSlider, id="int-default-float-annotation"),
        pytest.param("x = 0.05", widgets.FloatLogSlider, id="just-below-tenth"),
        pytest.param("x = 0.1", widgets.FloatSlider, id="tenth"),
        pytest.param("x = 1.0", widgets.FloatSlider, id="one"),
        pytest.param("x = -5.0", widgets.FloatSlider, id="negative"),
        pytest.param("x = 0.0", widgets.FloatSlider, id="zero"),
        pytest.param("x = 250.0", widgets.FloatSlider, id="large"),
        pytest.param("x = -3", widgets.IntSlider, id="negative-int"),
        pytest.param("x = False", widgets.Checkbox, id="bool"),
        pytest.param("x = ''", widgets.Text, id="empty-str"),
    ],
)
def test_widgets_kind_per_default(source, widget_type):
    control = control_of(f"class C(Config):\n    {source}\n")

    assert type(control.widget) is widget_type
    assert not control.changed()


@pytest.mark.parametrize(
    ("default", "shown"),
    [
        pytest.param("-5.0", "-5.0", id="negative"),
        pytest.param("0.0", "0.00", id="zero"),
        pytest.param("250.0", "250.0", id="large"),
        pytest.param("2.375", "2.375", id="three-decimals"),
        pytest.param("0.125", "0.125", id="unit-three-decimals"),
    ],
)
def test_widgets_float_slider_contains_default(default, shown):
    slider = control_of(f"class C(Config):\n    x = {default}\n").widget

    assert slider.min <= float(default) <= slider.max
    assert slider.step <= 0.1
    assert format(slider.value, slider.readout_format) == shown


def test_widgets_log_readout_shows_default_digits():
    slider = control_of("class C(Config):\n    x = 3.25e-5\n").widget

    assert format(slider.value, slider.readout_format) == "3.25e-05"


def test_widgets_dropdown_offers_literal_values():
    control = control_of("class C(Config):\n    x: Literal['adam', 'sgd'] = 'sgd'\n")

    assert control.widget.options == (("adam", "adam"), ("sgd", "sgd"))
    assert control.widget.value == "sgd"

    control.widget.value = "adam"

    assert control.value() == "adam"
    assert control.changed()


def test_widgets_int_slider_stays_int():
    control = control_of("class C(Config):\n    x = 10\n")

    control.widget.value = 11

    assert control.value() == 11
    assert type(control.value()) is int


def test_widgets_float_slider_rounds_to_readout():
    control = control_of("class C(Config):\n    x = 1.5\n")

    control.widget.value = 1.5 + 0.1

    assert control.value() == 1.6
    assert control.changed()


def test_widgets_reset_restores_default(train_cfg):
    for key, value in [("lr", 2.0), ("epochs", 12), ("weight_decay", 1e-3), ("name", "x"), ("use_amp", False)]:
        train_cfg[key].widget.value = value

    for control in train_cfg.values():
        control.reset()

    assert not any(control.changed() for control in train_cfg.values())


# Text parsed by the command line's rules -----------------------------------------------


@pytest.mark.parametrize(
    ("source", "text", "expected"),
    [
        pytest.param("x = (224, 224)", "(32, 32)", (32, 32), id="tuple"),
        pytest.param("x = None", "runs/best.pt", "runs/best.pt", id="none-text-is-str"),
        pytest.param("x = None", "3", 3, id="none-literal"),
        pytest.param("x: Optional[int] = None", "7", 7, id="optional-int"),
        pytest.param("x = [1, 2]", " [3] ", [3], id="list-spaces"),
        pytest.param("x = {'a': 1}", "{'b': 2}", {"b": 2}, id="dict"),
    ],
)
def test_widgets_literal_text_parses(source, text, expected):
    control = control_of(f"class C(Config):\n    {source}\n")

    control.widget.value = text

    assert control.value() == expected
    assert control.changed()
    assert control.error is None


@pytest.mark.parametrize(
    ("source", "text", "message"),
    [
        pytest.param(
            "x = (224, 224)", "(224, ",
            "Invalid value for x: '(224, ' is not a Python literal. Enter a value such as (224, 224).",
            id="syntax",
        ),
        pytest.param(
            "x = [1, 2]", "5",
            "Invalid value for x: '5' is not a list. Enter a value such as [1, 2].",
            id="type",
        ),
    ],
)
def test_widgets_literal_text_invalid_shows_message(source, text, message):
    control = control_of(f"class C(Config):\n    {source}\n")

    control.widget.value = text

    assert control.error == message
    assert message.replace("'", "&#x27;") in control.error_label.value
    with pytest.raises(ValueError, match=re.escape(message)):
        control.value()


def test_widgets_literal_text_error_clears_when_fixed():
    control = control_of("class C(Config):\n    x = (224, 224)\n")

    control.widget.value = "(224, "
    control.widget.value = "(224, 225)"

    assert control.error is None
    assert control.error_label.value == ""


def test_widgets_expression_unchanged_unless_edited():
    control = control_of("BASE = 1\nclass C(Config):\n    x = 2 * BASE\n")

    assert control.widget.value == "2 * BASE"
    assert not control.changed()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("0.5", 0.5, id="literal"),
        pytest.param("3 * BASE", Expression("3 * BASE"), id="expression"),
    ],
)
def test_widgets_expression_edited(text, expected):
    control = control_of("BASE = 1\nclass C(Config):\n    x = 2 * BASE\n")

    control.widget.value = text

    assert control.value() == expected
    assert type(control.value()) is type(expected)


def test_widgets_expression_invalid_shows_message():
    control = control_of("BASE = 1\nclass C(Config):\n    x = 2 * BASE\n")

    control.widget.value = "3 *"

    assert control.error == "Invalid value for x: '3 *' is not a Python expression. Enter one such as 2 * BASE."


# Declared bounds ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("comment", "expected"),
    [
        pytest.param("# range: 1e-5..1e-1 log", fieldwidgets.Bounds(1e-5, 1e-1, log=True), id="log"),
        pytest.param("# range: 0..100", fieldwidgets.Bounds(0, 100), id="int"),
        pytest.param("# range: -1.5 .. 2.5 step=0.5", fieldwidgets.Bounds(-1.5, 2.5, step=0.5), id="spaces-step"),
        pytest.param("# learning rate, range: .5..1 linear", fieldwidgets.Bounds(0.5, 1), id="after-text"),
        pytest.param("# the learning rate", None, id="other-comment"),
    ],
)
def test_widgets_parse_range_comment(comment, expected):
    assert fieldwidgets.parse_range_comment(comment) == expected


@pytest.mark.parametrize(
    ("comment", "reason"),
    [
        pytest.param("# range: 1e-5", "invalid range comment '# range: 1e-5'", id="no-high"),
        pytest.param("# range: a..1", "'a' in range comment '# range: a..1' is not a number", id="not-number"),
        pytest.param("# range: 5..1", "the range 5..1 is empty: LOW must be below HIGH", id="empty"),
        pytest.param("# range: 0..1 log", "a log range must be above 0, got 0..1", id="log-zero"),
        pytest.param("# range: 0..1 steep", "unknown word 'steep' in range comment '# range: 0..1 steep'", id="unknown"),
        pytest.param("# range: 0..1 step=0", "the step must be above 0, got 0", id="zero-step"),
    ],
)
def test_widgets_parse_range_comment_invalid(comment, reason):
    message = f"Invalid slider bounds on line 3 of train.py: {reason}. Expected # range: LOW..HIGH [log] [step=STEP]."

    with pytest.raises(InvalidBoundsError, match=re.escape(message)):
        fieldwidgets.parse_range_comment(comment, 3, "train.py")


def test_widgets_declared_bounds_win():
    controls = controls_of(
        """\
        class C(Config):
            lr = 1e-3  # range: 1e-5..1e-1 log
            epochs = 10  # range: 1..200 step=5
            momentum = 0.9  # range: 0.5..0.99
            scale = 0.01  # range: 0..0.1
        """
    )

    assert (controls["lr"].widget.min, controls["lr"].widget.max) == (-5.0, -1.0)
    assert (controls["epochs"].widget.min, controls["epochs"].widget.max, controls["epochs"].widget.step) == (1, 200, 5)
    assert (controls["momentum"].widget.min, controls["momentum"].widget.max) == (0.5, 0.99)
    assert type(controls["scale"].widget) is widgets.FloatSlider
    assert format(controls["scale"].widget.value, controls["scale"].widget.readout_format) == "0.010"


def test_widgets_bounds_on_multiline_value():
    control = control_of("class C(Config):\n    x = (\n        0.5\n    )  # range: 0..2\n")

    assert (control.widget.min, control.widget.max) == (0.0, 2.0)


def test_widgets_bounds_ignore_string_text():
    control = control_of("class C(Config):\n    x = 'range: 1..2'\n")

    assert type(control.widget) is widgets.Text


@pytest.mark.parametrize(
    ("source", "reason"),
    [
        pytest.param("x = 5.0  # range: 0..1", "the default 5.0 is outside the range 0..1", id="outside"),
        pytest.param("x = 'a'  # range: 0..1", "a range applies only to int and float fields", id="str"),
        pytest.param("x = 5  # range: 1..100 log", "a log scale applies only to float fields", id="log-int"),
        pytest.param("x = 5  # range: 0..9.5", "an int field needs int bounds and step", id="float-bound-int"),
    ],
)
def test_widgets_bounds_misfit(source, reason):
    message = (
        f"Invalid slider bounds for x on line 4: {reason}. "
        "Fix or remove the range comment (# range: LOW..HIGH [log] [step=STEP])."
    )

    with pytest.raises(InvalidBoundsError, match=re.escape(message)):
        control_of(f"class C(Config):\n    {source}\n")


# Rounding ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "digits", "expected"),
    [
        pytest.param(1.2589254117941673e-4, 2, 0.00013, id="log-notch"),
        pytest.param(1e-8, 2, 1e-8, id="tiny"),
        pytest.param(0.000125, 2, 0.00013, id="half-away-from-zero"),
        pytest.param(-2.5, 1, -3.0, id="negative-half"),
        pytest.param(0.0, 3, 0.0, id="zero"),
    ],
)
def test_widgets_round_significant(value, digits, expected):
    assert fieldwidgets.round_significant(value, digits) == expected


@pytest.mark.parametrize(
    ("value", "decimals", "expected"),
    [
        pytest.param(1.6000000000000001, 1, 1.6, id="float-noise"),
        pytest.param(0.125, 2, 0.13, id="half-away-from-zero"),
        pytest.param(0.89999, 2, 0.9, id="round-up"),
    ],
)
def test_widgets_round_decimals(value, decimals, expected):
    assert fieldwidgets.round_decimals(value, decimals) == expected


def test_widgets_import_leaves_ipywidgets_unloaded():
    code = "import sys, cascade_ext, cascade_ext.widgets, cascade_ext.panel; print('ipywidgets' in sys.modules)"

    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)

    assert result.stdout.strip() == "False"


def test_widgets_bounds_comment_own_line_ignored():
    control = control_of("class C(Config):\n    # range: 0..2\n    x = 0.5\n")

    assert (control.widget.min, control.widget.max) == (0.0, 1.0)


def test_widgets_bounds_in_notebook_cell(tmp_path):
    import nbformat

    from cascade_core.discovery import discover

    notebook = nbformat.v4.new_notebook()
    notebook.cells = [
        nbformat.v4.new_code_cell("import math\nprint(math.pi)"),
        nbformat.v4.new_code_cell("from cascade_core import Config\n\nclass C(Config):\n    x = 0.5  # range: 0..2\n"),
    ]
    nbformat.write(notebook, tmp_path / "nb.ipynb")
    config = discover(tmp_path / "nb.ipynb")
    bounds = fieldwidgets.declared_bounds(config.source)

    (field,) = config.fields
    control = fieldwidgets.control_for(field, fieldwidgets.bounds_for(field, bounds, config.source))

    assert (control.widget.min, control.widget.max) == (0.0, 2.0)


def test_widgets_multiline_literal_textarea():
    control = control_of("class C(Config):\n    x = {\n        'a': 1,\n        'b': 2,\n    }\n")

    assert type(control.widget) is widgets.Textarea
    assert not control.changed()

    control.widget.value = "{'a': 3}"

    assert control.value() == {"a": 3}
