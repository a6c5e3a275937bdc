"""Tests of sweep plans: override tokens to points."""

from __future__ import annotations

import textwrap

import pytest

from cascade_core.discovery import discover
from cascade_core.errors import SweepError, TypeMismatchError, UnknownKeyError
from cascade_core.sweeps.plan import plan_sweep

NET = """\
HIDDEN = [64, 64]
TAG = "base"
LR = 0.1
EPOCHS = 10
USE_AMP = False
print(repr(HIDDEN), repr(TAG))
"""


@pytest.fixture
def net(tmp_path):
    path = tmp_path / "net.py"
    path.write_text(NET)
    return discover(path)


def test_plan_sweep_cartesian_order(net):
    plan = plan_sweep(net, ["--LR", "0.1,0.2", "--EPOCHS", "1,2,3"])

    assert [point.values for point in plan.points] == [
        {"LR": 0.1, "EPOCHS": 1},
        {"LR": 0.1, "EPOCHS": 2},
        {"LR": 0.1, "EPOCHS": 3},
        {"LR": 0.2, "EPOCHS": 1},
        {"LR": 0.2, "EPOCHS": 2},
        {"LR": 0.2, "EPOCHS": 3},
    ]
    assert [point.index for point in plan.points] == list(range(6))
    assert plan.swept_keys == ["LR", "EPOCHS"]


@pytest.mark.parametrize(
    ("tokens", "values"),
    [
        pytest.param(["--HIDDEN", "[32,32],[128,128]"], [[32, 32], [128, 128]], id="lists"),
        pytest.param(["--TAG", "'a,b',c"], ["a,b", "c"], id="quoted-comma"),
        pytest.param(["--TAG", "a,b"], ["a", "b"], id="bare-words"),
        pytest.param(["--TAG", "007,2018-11-25"], ["007", "2018-11-25"], id="digit-like-text"),
        pytest.param(["--LR", "1,2"], [1.0, 2.0], id="int-to-float"),
        pytest.param(["--USE_AMP", "True,false"], [True, False], id="bool-words"),
        pytest.param(["--USE_AMP=True,False"], [True, False], id="bool-inline"),
        pytest.param(["TAG=x,y"], ["x", "y"], id="assignment-form"),
        pytest.param(["--EPOCHS", "range(1, 3)"], [1, 2], id="range"),
        pytest.param(["--LR", "logspace(-2, -1, 2)"], [0.01, 0.1], id="logspace"),
    ],
)
def test_plan_sweep_typed_values(net, tokens, values):
    plan = plan_sweep(net, tokens)

    key = plan.swept_keys[0]
    assert [point.values[key] for point in plan.points] == values
    assert [type(point.values[key]) for point in plan.points] == [type(value) for value in values]


@pytest.mark.parametrize(
    ("tokens", "point_tokens"),
    [
        pytest.param(["--TAG", "a,b"], [("--TAG", "a"), ("--TAG", "b")], id="separate-value"),
        pytest.param(["--TAG=a,b"], [("--TAG=a",), ("--TAG=b",)], id="inline-value"),
        pytest.param(["TAG=a,b"], [("TAG=a",), ("TAG=b",)], id="assignment"),
        pytest.param(
            ["--USE_AMP", "--TAG", "a,b"], [("--USE_AMP", "--TAG", "a"), ("--USE_AMP", "--TAG", "b")], id="flag-kept"
        ),
        pytest.param(
            ["--TAG", "a,b", "--", "--x", "1,2"],
            [("--TAG", "a", "--", "--x", "1,2"), ("--TAG", "b", "--", "--x", "1,2")],
            id="passthrough-kept",
        ),
        pytest.param(["--LR", "-1,-2"], [("--LR", "-1"), ("--LR", "-2")], id="negative"),
    ],
)
def test_plan_sweep_point_tokens(net, tokens, point_tokens):
    plan = plan_sweep(net, tokens)

    assert [point.tokens for point in plan.points] == point_tokens


def test_plan_sweep_without_sweep_is_one_point(net):
    plan = plan_sweep(net, ["--TAG", "'a,b'", "--EPOCHS", "3"])

    assert len(plan) == 1
    assert plan.swept_keys == []
    assert plan.points[0].tokens == ("--TAG", "'a,b'", "--EPOCHS", "3")
    assert plan.points[0].label == "run"


def test_plan_sweep_labels(net):
    plan = plan_sweep(net, ["--TAG", "a,b", "--EPOCHS", "1,2"])

    assert [point.label for point in plan.points] == [
        "TAG='a' EPOCHS=1",
        "TAG='a' EPOCHS=2",
        "TAG='b' EPOCHS=1",
        "TAG='b' EPOCHS=2",
    ]


def test_plan_sweep_long_label_cut(net):
    plan = plan_sweep(net, ["--TAG", "'" + "x" * 60 + "',y"])

    assert plan.points[0].label == "TAG='" + "x" * 34 + "…"
    assert len(plan.points[0].label) == 40


def test_plan_sweep_qualified_keys(tmp_path):
    path = tmp_path / "two.py"
    path.write_text(textwrap.dedent("""\
        from cascade_core import Config

        class Model(Config):
            size = 8

        class Data(Config):
            size = 100
        """))

    plan = plan_sweep(discover(path), ["--Model.size", "1,2"])

    assert plan.swept_keys == ["Model.size"]
    assert [point.values for point in plan.points] == [{"Model.size": 1}, {"Model.size": 2}]
    assert plan.points[0].label == "size=1"


def test_plan_sweep_bad_point_type(net):
    with pytest.raises(TypeMismatchError, match=r"EPOCHS"):
        plan_sweep(net, ["--EPOCHS", "1,2.5"])


def test_plan_sweep_linspace_to_int_field(net):
    with pytest.raises(TypeMismatchError, match=r"EPOCHS"):
        plan_sweep(net, ["--EPOCHS", "linspace(1, 3, 3)"])


def test_plan_sweep_unknown_key(net):
    with pytest.raises(UnknownKeyError, match=r"EPOCH"):
        plan_sweep(net, ["--EPOCH", "1,2"])


def test_plan_sweep_invalid_sweep(net):
    with pytest.raises(SweepError, match=r"Invalid sweep for EPOCHS: 'range\(2, 1\)'"):
        plan_sweep(net, ["--EPOCHS", "range(2, 1)"])
