"""Tests of the override grammar: tokens to typed values, and command-line splitting."""

from __future__ import annotations

import re
import shlex

import pytest

from cascade_core.cli.options import option_arity
from cascade_core.discovery import Expression, discover_source
from cascade_core.errors import (
    AmbiguousKeyError,
    DuplicateKeyError,
    InvalidValueError,
    MissingValueError,
    OverrideError,
    TypeMismatchError,
    UnknownKeyError,
)
from cascade_core.overrides import (
    coerce_overrides,
    parse_overrides,
    parse_value,
    split_arguments,
    split_top_level,
)

CODE_PY = 'RUN_CODE = "A7"\nprint(repr(RUN_CODE), type(RUN_CODE).__name__)\n'

SPLIT_PY = """\
SPLIT = "train"
DAY = "2018-11-23"
STEPS = 1000
print(repr(SPLIT), type(SPLIT).__name__, repr(DAY), repr(STEPS), type(STEPS).__name__)
"""

TYPES_DEMO_PY = """\
LR = 0.1
EPOCHS = 10
USE_AMP = False
CKPT = None
print(repr(LR), type(LR).__name__, repr(EPOCHS), type(EPOCHS).__name__, repr(USE_AMP), repr(CKPT))
"""

NET_PY = 'HIDDEN = [64, 64]\nTAG = "base"\nprint(repr(HIDDEN), repr(TAG))\n'

SAY_PY = 'PROMPT = "hi"\nprint(repr(PROMPT))\n'

TYPED_CLASS_PY = """\
from typing import Literal, Optional
from cascade_core import Config

class Train(Config):
    lr = 1e-3
    batch_size: int = 32
    optimizer: Literal["adam", "sgd"] = "adam"
    image_size = (224, 224)
    layers: list[int] = [64, 64]
    weights: dict = {"a": 1}
    classes: set = {1, 2}
    seed: Optional[int] = None
    tag: str | None = None
    arch = "resnet"
    use_amp: bool = False
    scale = 2 * 3
    shift = 0
    ckpt = None
    gamma: float = 0.5
    level: Literal[1, 2, 3] = 1
"""


def config_of(source: str):
    return discover_source(source, "/tmp/script.py")


# Cases from users' reports ---------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("012", "012", id="leading-zero-012"),
        pytest.param("007", "007", id="leading-zero-007"),
    ],
)
def test_parse_overrides_leading_zero_text_to_str(text, expected):
    values = parse_overrides(["--RUN_CODE", text], config_of(CODE_PY))

    assert values == {"RUN_CODE": expected}
    assert type(values["RUN_CODE"]) is str


@pytest.mark.parametrize(
    ("tokens", "expected"),
    [
        pytest.param(["--SPLIT", "123"], {"SPLIT": "123"}, id="digits-to-str"),
        pytest.param(["--SPLIT", "2024_05"], {"SPLIT": "2024_05"}, id="underscore-digits-to-str"),
        pytest.param(["--DAY", "2018-11-25"], {"DAY": "2018-11-25"}, id="date-to-str"),
        pytest.param(["--STEPS", "10_000"], {"STEPS": 10000}, id="grouped-int"),
        pytest.param(["--SPLIT", "'123'"], {"SPLIT": "123"}, id="quoted-str"),
    ],
)
def test_parse_overrides_digit_like_text(tokens, expected):
    values = parse_overrides(tokens, config_of(SPLIT_PY))

    assert values == expected
    for key, value in expected.items():
        assert type(values[key]) is type(value)


@pytest.mark.parametrize(
    ("tokens", "expected"),
    [
        pytest.param(["--LR", "1", "--EPOCHS", "20"], {"LR": 1.0, "EPOCHS": 20}, id="int-to-float"),
        pytest.param(["--USE_AMP", "true"], {"USE_AMP": True}, id="lowercase-true"),
        pytest.param(["--USE_AMP", "FALSE"], {"USE_AMP": False}, id="uppercase-false"),
        pytest.param(["--CKPT", "runs/best.pt"], {"CKPT": "runs/best.pt"}, id="none-default-text"),
        pytest.param(["--CKPT", "None"], {"CKPT": None}, id="none-default-none"),
        pytest.param(["--CKPT", "3"], {"CKPT": 3}, id="none-default-literal"),
    ],
)
def test_parse_overrides_types_follow_default(tokens, expected):
    values = parse_overrides(tokens, config_of(TYPES_DEMO_PY))

    assert values == expected
    for key, value in expected.items():
        assert type(values[key]) is type(value)


def test_parse_overrides_float_for_int_rejected():
    with pytest.raises(TypeMismatchError, match=r"^Invalid value for --EPOCHS: 2\.5 is a float, but EPOCHS expects int\. Example: --EPOCHS 10$"):
        parse_overrides(["--EPOCHS", "2.5"], config_of(TYPES_DEMO_PY))


@pytest.mark.parametrize(
    ("tokens", "expected"),
    [
        pytest.param(["--TAG", "a,b"], {"TAG": "a,b"}, id="comma-in-str"),
        pytest.param(["--HIDDEN", "[32,32]"], {"HIDDEN": [32, 32]}, id="list"),
    ],
)
def test_parse_overrides_commas_without_multirun(tokens, expected):
    assert parse_overrides(tokens, config_of(NET_PY)) == expected


COMMAS_PY = """\
from typing import Literal
HIDDEN = [64, 64]
MASK = {1}
BATCH = 32
LR = 0.01
OPT: Literal['adam', 'sgd'] = 'adam'
"""


@pytest.mark.parametrize(
    ("tokens", "tail"),
    [
        pytest.param(["--HIDDEN", "32,32"], "Example: --HIDDEN '[64, 64]'. For one list, write --HIDDEN '[32, 32]'",
                     id="list-of-numbers"),
        pytest.param(["--HIDDEN", "[32,32],[128,128]"],
                     "Example: --HIDDEN '[64, 64]'. For one list, write --HIDDEN '[[32,32], [128,128]]'. "
                     "To run once per comma-separated value, add -m: -m --HIDDEN '[32,32],[128,128]'",
                     id="list-of-lists"),
        pytest.param(["--MASK", "1,2"], "Example: --MASK '{1}'. For one set, write --MASK '{1, 2}'", id="set"),
        pytest.param(["--BATCH", "16,32"],
                     "Example: --BATCH 32. To run once per comma-separated value, add -m: -m --BATCH 16,32", id="int"),
        pytest.param(["--BATCH", "16,x"], "expected int. Example: --BATCH 32", id="int-with-bad-item"),
        pytest.param(["--LR", "0.1,abc"], "expected float. Example: --LR 0.01", id="float-with-bad-item"),
        pytest.param(["--OPT", "adam,sgd"],
                     "Example: --OPT adam. To run once per comma-separated value, add -m: -m --OPT adam,sgd",
                     id="literal"),
        pytest.param(["--OPT", "adam,rmsprop"], "expects one of 'adam', 'sgd'. Example: --OPT adam",
                     id="literal-with-bad-item"),
    ],
)
def test_parse_overrides_comma_hints(tokens, tail):
    with pytest.raises(OverrideError, match=f"^Invalid value for {tokens[0]}: .*{re.escape(tail)}$"):
        parse_overrides(tokens, config_of(COMMAS_PY))


@pytest.mark.parametrize(
    "tokens",
    [
        pytest.param(["--HIDDEN", "32,32"], id="list-of-numbers"),
        pytest.param(["--HIDDEN", "[32,32],[128,128]"], id="list-of-lists"),
        pytest.param(["--MASK", "1,2"], id="set"),
        pytest.param(["--BATCH", "16,32"], id="int"),
        pytest.param(["--OPT", "adam,sgd"], id="literal"),
    ],
)
def test_parse_overrides_comma_hints_work(tokens):
    from cascade_core.sweeps.plan import plan_sweep

    config = config_of(COMMAS_PY)
    with pytest.raises(OverrideError) as raised:
        parse_overrides(tokens, config)

    example, *hints = str(raised.value).partition(". Example: ")[2].split(". ")
    parse_overrides(shlex.split(example), config)
    for hint in hints:
        command = shlex.split(hint.partition(", write ")[2] or hint.partition("add -m: ")[2])
        if command[0] == "-m":
            assert len(plan_sweep(config, command[1:])) == 2
        else:
            parse_overrides(command, config)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("a  b c", "a  b c", id="double-space"),
        pytest.param("' padded '", " padded ", id="quoted-padding"),
        pytest.param("it's fine", "it's fine", id="apostrophe"),
    ],
)
def test_parse_overrides_spaces_and_apostrophes(text, expected):
    assert parse_overrides(["--PROMPT", text], config_of(SAY_PY)) == {"PROMPT": expected}


# Forms -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tokens", "expected"),
    [
        pytest.param(["--lr", "0.1"], {"lr": 0.1}, id="space"),
        pytest.param(["--lr=0.1"], {"lr": 0.1}, id="equals"),
        pytest.param(["lr=0.1"], {"lr": 0.1}, id="bare-assignment"),
        pytest.param(["--Train.lr", "0.1"], {"lr": 0.1}, id="qualified"),
        pytest.param(["Train.lr=0.1"], {"lr": 0.1}, id="qualified-assignment"),
        pytest.param(["--batch-size", "8"], {"batch_size": 8}, id="dashes"),
        pytest.param(["--use_amp"], {"use_amp": True}, id="bare-flag"),
        pytest.param(["--use_amp", "--lr", "1"], {"use_amp": True, "lr": 1.0}, id="flag-then-key"),
        pytest.param(["--use_amp", "false"], {"use_amp": False}, id="flag-with-value"),
        pytest.param(["--shift", "-5"], {"shift": -5}, id="negative-int"),
        pytest.param(["--lr", "-1e-4"], {"lr": -1e-4}, id="negative-float"),
        pytest.param(["--arch", "-x"], {"arch": "-x"}, id="dash-text"),
        pytest.param(["--arch=--odd"], {"arch": "--odd"}, id="double-dash-text"),
        pytest.param(["--arch", ""], {"arch": ""}, id="empty-str"),
    ],
)
def test_parse_overrides_forms(tokens, expected):
    assert parse_overrides(tokens, config_of(TYPED_CLASS_PY)) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("sgd", "sgd", id="literal-word"),
        pytest.param("'sgd'", "sgd", id="literal-quoted"),
    ],
)
def test_parse_value_literal_field(text, expected):
    field = config_of(TYPED_CLASS_PY).lookup("optimizer")

    assert parse_value(field, text) == expected


@pytest.mark.parametrize(
    ("key", "text", "expected"),
    [
        pytest.param("seed", "None", None, id="optional-none"),
        pytest.param("seed", "7", 7, id="optional-int"),
        pytest.param("tag", "None", None, id="str-or-none-none"),
        pytest.param("tag", "123", "123", id="str-or-none-digits"),
        pytest.param("arch", "None", "None", id="str-none-word"),
        pytest.param("arch", "[1, 2]", "[1, 2]", id="str-list-text"),
        pytest.param("arch", "true", "true", id="str-bool-word"),
        pytest.param("layers", "[1, 2, 3]", [1, 2, 3], id="list-of-int"),
        pytest.param("weights", "{'b': 2}", {"b": 2}, id="dict"),
        pytest.param("classes", "{3}", {3}, id="set"),
        pytest.param("image_size", "(256, 256)", (256, 256), id="tuple"),
        pytest.param("image_size", "256, 256", (256, 256), id="tuple-without-parens"),
        pytest.param("batch_size", "007", 7, id="int-leading-zeros"),
        pytest.param("gamma", "inf", float("inf"), id="float-inf"),
        pytest.param("gamma", "2", 2.0, id="float-from-int"),
        pytest.param("level", "2", 2, id="int-literal"),
        pytest.param("ckpt", "runs/best.pt", "runs/best.pt", id="none-default-path"),
        pytest.param("use_amp", "True", True, id="bool"),
    ],
)
def test_parse_value_typed(key, text, expected):
    field = config_of(TYPED_CLASS_PY).lookup(key)
    value = parse_value(field, text)

    assert value == expected
    assert type(value) is type(expected)


def test_parse_value_expression_field_takes_expression():
    field = config_of(TYPED_CLASS_PY).lookup("scale")
    value = parse_value(field, "4 * 5")

    assert isinstance(value, Expression)
    assert repr(value) == "4 * 5"


def test_parse_value_expression_field_takes_literal():
    field = config_of(TYPED_CLASS_PY).lookup("scale")

    assert parse_value(field, "'text'") == "text"


def test_parse_value_expression_field_rejects_bad_syntax():
    field = config_of(TYPED_CLASS_PY).lookup("scale")

    with pytest.raises(InvalidValueError, match=r"^Invalid value for --scale: '4 \*' is neither a Python literal nor an expression"):
        parse_value(field, "4 *")


# Errors --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tokens", "error", "message"),
    [
        pytest.param(
            ["--batch_size", "abc"],
            InvalidValueError,
            r"^Invalid value for --batch_size: 'abc' is not a Python literal; expected int\. Example: --batch_size 32$",
            id="text-for-int",
        ),
        pytest.param(
            ["--lr", "fast"],
            InvalidValueError,
            r"^Invalid value for --lr: 'fast' is not a Python literal; expected float\. Example: --lr 1e-3$",
            id="text-for-float",
        ),
        pytest.param(
            ["--optimizer", "rmsprop"],
            TypeMismatchError,
            r"^Invalid value for --optimizer: 'rmsprop' is a str, but optimizer expects one of 'adam', 'sgd'\. "
            r"Example: --optimizer adam$",
            id="outside-literal",
        ),
        pytest.param(
            ["--level", "4"],
            TypeMismatchError,
            r"^Invalid value for --level: 4 is an int, but level expects one of 1, 2, 3\. Example: --level 1$",
            id="outside-int-literal",
        ),
        pytest.param(
            ["--use_amp", "1"],
            TypeMismatchError,
            r"^Invalid value for --use_amp: 1 is an int, but use_amp expects bool\. Example: --use_amp False$",
            id="int-for-bool",
        ),
        pytest.param(
            ["--layers", "(1, 2)"],
            TypeMismatchError,
            r"^Invalid value for --layers: \(1, 2\) is a tuple, but layers expects list\[int\]\. ",
            id="tuple-for-list",
        ),
        pytest.param(
            ["--batch_size", "16,32"],
            TypeMismatchError,
            r"To run once per comma-separated value, add -m: -m --batch_size 16,32$",
            id="sweep-hint",
        ),
        pytest.param(
            ["--lr"],
            MissingValueError,
            r"^Missing value for --lr\. Example: --lr 1e-3$",
            id="missing-value",
        ),
        pytest.param(
            ["--lr", "--batch_size", "3"],
            MissingValueError,
            r"^Missing value for --lr \(the next token '--batch_size' is a field key\)\. Example: --lr 1e-3$",
            id="missing-value-before-key",
        ),
        pytest.param(
            ["--lr", "1", "lr=2"],
            DuplicateKeyError,
            r"^lr is given twice \(as lr = 1\.0 and lr = 2\.0\); give each field once$",
            id="duplicate",
        ),
        pytest.param(
            ["--lr", "1", "--Train.lr", "2"],
            DuplicateKeyError,
            r"^lr is given twice \(as lr = 1\.0 and Train\.lr = 2\.0\)",
            id="duplicate-qualified",
        ),
        pytest.param(
            ["--lrr", "1"],
            UnknownKeyError,
            r"^--lrr is not a field of script\.py; did you mean --lr\? Fields: lr, batch_size",
            id="unknown-key",
        ),
        pytest.param(
            ["--LR", "1"],
            UnknownKeyError,
            r"^--LR is not a field of script\.py; did you mean --lr\?",
            id="unknown-case",
        ),
        pytest.param(
            ["stray"],
            OverrideError,
            r"^Unexpected argument 'stray': write overrides as --key value or key=value, "
            r"and put arguments for the script itself after --$",
            id="stray-word",
        ),
    ],
)
def test_parse_overrides_errors(tokens, error, message):
    with pytest.raises(error, match=message):
        parse_overrides(tokens, config_of(TYPED_CLASS_PY))


def test_parse_overrides_error_carries_key_and_value():
    with pytest.raises(TypeMismatchError) as caught:
        parse_overrides(["--EPOCHS", "2.5"], config_of(TYPES_DEMO_PY))

    assert caught.value.key == "EPOCHS"
    assert caught.value.value == "2.5"
    assert isinstance(caught.value, ValueError)


def test_parse_overrides_no_config():
    config = config_of("print('hello')\n")

    with pytest.raises(UnknownKeyError, match=r"^--lr cannot be applied: script\.py has no config"):
        parse_overrides(["--lr", "1"], config)


def test_parse_overrides_ambiguous_key():
    source = """\
from cascade_core import Config
class A(Config):
    lr = 0.1
class B(Config):
    lr = 0.2
"""
    with pytest.raises(AmbiguousKeyError, match=r"^--lr is ambiguous: A and B each define 'lr'; write --A\.lr or --B\.lr$"):
        parse_overrides(["--lr", "1"], config_of(source))


def test_parse_overrides_order_kept():
    values = parse_overrides(["--use_amp", "--lr", "1", "shift=2"], config_of(TYPED_CLASS_PY))

    assert list(values) == ["use_amp", "lr", "shift"]


# Typed values -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("mapping", "expected"),
    [
        pytest.param({"lr": 1}, {"lr": 1.0}, id="int-to-float"),
        pytest.param({"--lr": 0.5}, {"lr": 0.5}, id="dashed-key"),
        pytest.param({"Train.batch_size": 8}, {"batch_size": 8}, id="qualified"),
        pytest.param({"optimizer": "sgd"}, {"optimizer": "sgd"}, id="literal"),
        pytest.param({"seed": None}, {"seed": None}, id="optional"),
        pytest.param({"ckpt": "a/b"}, {"ckpt": "a/b"}, id="none-default"),
        pytest.param({"scale": 7}, {"scale": 7}, id="expression-literal"),
        pytest.param({"scale": Expression("3 * 3")}, {"scale": "3 * 3"}, id="expression-text"),
        pytest.param({"layers": (1, 2)}, None, id="tuple-for-list"),
    ],
)
def test_coerce_overrides_values(mapping, expected):
    config = config_of(TYPED_CLASS_PY)
    if expected is None:
        with pytest.raises(TypeMismatchError, match=r"^Invalid value for layers: \(1, 2\) is a tuple, but layers expects list\[int\]"):
            coerce_overrides(mapping, config)
        return

    values = coerce_overrides(mapping, config)

    assert values == expected
    for key, value in expected.items():
        assert type(values[key]) is type(value) or isinstance(values[key], Expression)


@pytest.mark.parametrize(
    ("mapping", "message"),
    [
        pytest.param({"EPOCHS": 2.5}, r"^Invalid value for EPOCHS: 2\.5 is a float, but EPOCHS expects int\. Example: EPOCHS=10$", id="float-for-int"),
        pytest.param({"EPOCHS": "20"}, r"^Invalid value for EPOCHS: '20' is a str, but EPOCHS expects int", id="str-for-int"),
        pytest.param({"USE_AMP": 1}, r"^Invalid value for USE_AMP: 1 is an int, but USE_AMP expects bool", id="int-for-bool"),
        pytest.param({"EPOCHS": True}, r"^Invalid value for EPOCHS: True is a bool, but EPOCHS expects int", id="bool-for-int"),
        pytest.param({"CKPT": object()}, r"^Invalid value for CKPT: <object object at .*> \(object\) cannot be written into the script", id="not-a-literal"),
    ],
)
def test_coerce_overrides_errors(mapping, message):
    with pytest.raises(TypeMismatchError, match=message):
        coerce_overrides(mapping, config_of(TYPES_DEMO_PY))


def test_coerce_overrides_duplicate_spellings():
    with pytest.raises(DuplicateKeyError, match=r"^lr is given twice"):
        coerce_overrides({"lr": 0.1, "Train.lr": 0.2}, config_of(TYPED_CLASS_PY))


def test_coerce_overrides_normalizes_subclasses():
    import enum

    class Mode(str, enum.Enum):
        FAST = "fast"

    values = coerce_overrides({"arch": Mode.FAST, "gamma": 0.25}, config_of(TYPED_CLASS_PY))

    assert values == {"arch": "fast", "gamma": 0.25}
    assert type(values["arch"]) is str


# split_top_level -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("1e-3,1e-4", ["1e-3", "1e-4"], id="plain"),
        pytest.param("[32,32],[128,128]", ["[32,32]", "[128,128]"], id="brackets"),
        pytest.param("'a,b',c", ["'a,b'", "c"], id="quotes"),
        pytest.param('"x\\",y",z', ['"x\\",y"', "z"], id="escaped-quote"),
        pytest.param("{'a': 1, 'b': 2},(1, 2)", ["{'a': 1, 'b': 2}", "(1, 2)"], id="dict-tuple"),
        pytest.param("a, b", ["a", " b"], id="unstripped"),
        pytest.param("single", ["single"], id="no-separator"),
        pytest.param("", [""], id="empty"),
        pytest.param("a;b", ["a", "b"], id="other-separator"),
    ],
)
def test_split_top_level_pieces(text, expected):
    sep = ";" if ";" in text else ","

    assert split_top_level(text, sep) == expected


# split_arguments ---------------------------------------------------------------------------

CLASH_PY = """\
from cascade_core import Config
class Train(Config):
    lr = 0.1
    name = "base"
    use_amp = False
"""


@pytest.mark.parametrize(
    ("tokens", "overrides", "options", "passthrough"),
    [
        pytest.param(["--lr", "1", "-y"], ["--lr", "1"], ["-y"], [], id="option-after"),
        pytest.param(["-y", "--lr", "1"], ["--lr", "1"], ["-y"], [], id="option-first"),
        pytest.param(["--name", "x"], ["--name", "x"], [], [], id="field-wins-over-option"),
        pytest.param(["--tag", "a", "--tag=b"], [], ["--tag", "a", "--tag=b"], [], id="repeated-option"),
        pytest.param(["-j", "4", "-m"], [], ["-j", "4", "-m"], [], id="short-options"),
        pytest.param(["-j4", "-ym"], [], ["-j4", "-ym"], [], id="short-clusters"),
        pytest.param(["lr=2", "--use_amp", "-y"], ["lr=2", "--use_amp"], ["-y"], [], id="flag-field"),
        pytest.param(["--use_amp", "true"], ["--use_amp", "true"], [], [], id="flag-value"),
        pytest.param(["--lr", "-3"], ["--lr", "-3"], [], [], id="negative-value"),
        pytest.param(["--lr", "1", "--", "--lr", "x", "-y"], ["--lr", "1"], [], ["--lr", "x", "-y"], id="passthrough"),
        pytest.param(["--Train.lr", "1"], ["--Train.lr", "1"], [], [], id="qualified"),
    ],
)
def test_split_arguments_sorts_tokens(tokens, overrides, options, passthrough):
    split = split_arguments(tokens, config_of(CLASH_PY), option_arity())

    assert split.overrides == overrides
    assert split.options == options
    assert split.passthrough == passthrough


@pytest.mark.parametrize(
    ("tokens", "message"),
    [
        pytest.param(["--lr", "-y"], r"^Missing value for --lr \(the next token '-y' is an option\)\. Example: --lr 0\.1$",
                     id="short-option"),
        pytest.param(["--lr", "--name=x"],
                     r"^Missing value for --lr \(the next token '--name=x' is a field key\)\. Example: --lr 0\.1$",
                     id="field-key"),
        pytest.param(["--lr", "--jobs=2"],
                     r"^Missing value for --lr \(the next token '--jobs=2' is an option\)\. Example: --lr 0\.1$",
                     id="option-with-value"),
        pytest.param(["--lr", "--"],
                     r"^Missing value for --lr \(the next token '--' starts the script's own arguments\)\. "
                     r"Example: --lr 0\.1$", id="passthrough"),
        pytest.param(["--name", "-y"],
                     r"^Missing value for --name \(the next token '-y' is an option\)\. Example: --name base\. "
                     r"For the text '-y' itself, write --name=-y$", id="str-field"),
        pytest.param(["--name", "--no-log"],
                     r"^Missing value for --name \(the next token '--no-log' is an option\)\. Example: --name base\. "
                     r"For the text '--no-log' itself, write --name=--no-log$", id="str-field-long-option"),
    ],
)
def test_split_arguments_missing_value(tokens, message):
    with pytest.raises(MissingValueError, match=message):
        split_arguments(tokens, config_of(CLASH_PY), option_arity())


@pytest.mark.parametrize(
    ("tokens", "value"),
    [
        pytest.param(["--name=-y"], "-y", id="equals-form"),
        pytest.param(["--name", "'-y'"], "-y", id="quoted"),
        pytest.param(["--name", "-x"], "-x", id="not-an-option"),
        pytest.param(["--name", "-j4"], "-j4", id="option-cluster"),
    ],
)
def test_split_arguments_dash_text_for_str_field(tokens, value):
    config = config_of(CLASH_PY)
    split = split_arguments(tokens, config, option_arity())

    assert parse_overrides(split.overrides, config) == {"name": value}


def test_split_arguments_unknown_option_did_you_mean():
    message = r"^--nam is not a field of script\.py; did you mean --name\? Fields: lr, name, use_amp$"
    with pytest.raises(UnknownKeyError, match=message):
        split_arguments(["--nam", "x"], config_of(CLASH_PY), option_arity())


def test_split_arguments_suggests_run_option():
    with pytest.raises(UnknownKeyError, match=r"^--jobz is not a field of script\.py; did you mean --jobs\?"):
        split_arguments(["--jobz", "2"], config_of(CLASH_PY), option_arity())


def test_split_arguments_unknown_short_option():
    with pytest.raises(OverrideError, match=r"^Unexpected argument '-q'"):
        split_arguments(["-q"], config_of(CLASH_PY), option_arity())


def test_split_arguments_no_config_option_only():
    split = split_arguments(["-y", "--", "a"], config_of("print(1)\n"), option_arity())

    assert split.options == ["-y"]
    assert split.passthrough == ["a"]


def test_split_arguments_no_config_override_rejected():
    with pytest.raises(UnknownKeyError, match=r"^--lr cannot be applied: script\.py has no config"):
        split_arguments(["--lr", "1"], config_of("print(1)\n"), option_arity())
