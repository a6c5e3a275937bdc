"""Tests of field types: annotations read from source text, and value checks."""

from __future__ import annotations

import pytest

from cascade_core.fieldtypes import (
    EXPRESSION,
    NONE_DEFAULT,
    Expression,
    FieldType,
    TypeCheckFailure,
    check_value,
    field_type,
    normalize_value,
    parse_text,
    type_of_annotation,
    type_of_default,
)


@pytest.mark.parametrize(
    ("annotation", "kinds", "literals"),
    [
        pytest.param("int", ("int",), (), id="int"),
        pytest.param("float", ("float",), (), id="float"),
        pytest.param("Optional[int]", ("int", "None"), (), id="optional"),
        pytest.param("typing.Optional[str]", ("str", "None"), (), id="dotted-optional"),
        pytest.param("int | None", ("int", "None"), (), id="pipe-union"),
        pytest.param("Union[int, float, None]", ("int", "float", "None"), (), id="union"),
        pytest.param("Literal['a', 'b']", (), ("a", "b"), id="literal"),
        pytest.param("Literal[1, Literal[2]]", (), (1, 2), id="nested-literal"),
        pytest.param("Literal['a'] | None", ("None",), ("a",), id="literal-or-none"),
        pytest.param("list[int]", ("list",), (), id="parametrised-list"),
        pytest.param("List[int]", ("list",), (), id="typing-list"),
        pytest.param("Sequence[int]", ("list", "tuple"), (), id="sequence"),
        pytest.param("tuple[int, ...]", ("tuple",), (), id="tuple"),
        pytest.param("Dict[str, int]", ("dict",), (), id="dict"),
        pytest.param("set[str]", ("set",), (), id="set"),
        pytest.param("'int'", ("int",), (), id="forward-reference"),
        pytest.param("Annotated[int, 'meta']", ("int",), (), id="annotated"),
        pytest.param("Final[float]", ("float",), (), id="final"),
        pytest.param("ClassVar[bool]", ("bool",), (), id="classvar"),
    ],
)
def test_type_of_annotation_kinds(annotation, kinds, literals):
    ftype = type_of_annotation(annotation)

    assert ftype.kinds == kinds
    assert ftype.literals == literals
    assert ftype.label == annotation


@pytest.mark.parametrize(
    "annotation",
    [
        pytest.param(None, id="missing"),
        pytest.param("Path", id="unknown-name"),
        pytest.param("Any", id="any"),
        pytest.param("Optional[Path]", id="union-with-unknown"),
        pytest.param("np.ndarray", id="dotted-unknown"),
        pytest.param("Literal[SOME_CONSTANT]", id="literal-of-name"),
        pytest.param("int[", id="not-parsable"),
    ],
)
def test_type_of_annotation_unchecked(annotation):
    assert type_of_annotation(annotation) is None


@pytest.mark.parametrize(
    ("default", "expected"),
    [
        pytest.param(1, FieldType("int", ("int",)), id="int"),
        pytest.param(True, FieldType("bool", ("bool",)), id="bool"),
        pytest.param((1, 2), FieldType("tuple", ("tuple",)), id="tuple"),
        pytest.param(None, NONE_DEFAULT, id="none"),
        pytest.param(Expression("2 * X"), EXPRESSION, id="expression"),
    ],
)
def test_type_of_default(default, expected):
    assert type_of_default(default) == expected


def test_field_type_annotation_wins():
    assert field_type("Optional[int]", None).kinds == ("int", "None")


def test_field_type_unknown_annotation_uses_default():
    assert field_type("MyEnum", "a").kinds == ("str",)


@pytest.mark.parametrize(
    ("ftype", "value", "expected"),
    [
        pytest.param(FieldType("float", ("float",)), 1, 1.0, id="int-to-float"),
        pytest.param(FieldType("complex", ("complex",)), 2, 2 + 0j, id="int-to-complex"),
        pytest.param(FieldType("int", ("int",)), 3, 3, id="int"),
        pytest.param(FieldType("x", (), (1, "a")), "a", "a", id="literal"),
        pytest.param(NONE_DEFAULT, object, object, id="unchecked"),
    ],
)
def test_check_value_accepts(ftype, value, expected):
    result = check_value(ftype, value)

    assert result == expected
    assert type(result) is type(expected)


@pytest.mark.parametrize(
    ("ftype", "value"),
    [
        pytest.param(FieldType("int", ("int",)), 2.5, id="float-for-int"),
        pytest.param(FieldType("int", ("int",)), True, id="bool-for-int"),
        pytest.param(FieldType("float", ("float",)), False, id="bool-for-float"),
        pytest.param(FieldType("bool", ("bool",)), 1, id="int-for-bool"),
        pytest.param(FieldType("x", (), (1,)), True, id="bool-for-int-literal"),
        pytest.param(FieldType("list", ("list",)), (1,), id="tuple-for-list"),
        pytest.param(FieldType("str", ("str",)), None, id="none-for-str"),
    ],
)
def test_check_value_rejects(ftype, value):
    with pytest.raises(TypeCheckFailure) as caught:
        check_value(ftype, value)

    assert caught.value.reason == "type"
    assert caught.value.value is value


@pytest.mark.parametrize(
    ("ftype", "text", "expected"),
    [
        pytest.param(FieldType("str", ("str",)), "007", "007", id="str-digits"),
        pytest.param(FieldType("str", ("str",)), "'007'", "007", id="str-quoted"),
        pytest.param(FieldType("str", ("str",)), '"a b"', "a b", id="str-double-quoted"),
        pytest.param(FieldType("str", ("str",)), "  spaced ", "  spaced ", id="str-spaces-kept"),
        pytest.param(FieldType("int", ("int",)), " 5", 5, id="int-leading-space"),
        pytest.param(FieldType("int", ("int",)), "-0_7", -7, id="int-grouped-zero"),
        pytest.param(FieldType("float", ("float",)), "-inf", float("-inf"), id="float-minus-inf"),
        pytest.param(FieldType("bool", ("bool",)), "tRuE", True, id="bool-any-case"),
        pytest.param(FieldType("x", ("bool", "None")), "None", None, id="optional-bool-none"),
        pytest.param(NONE_DEFAULT, "false", False, id="none-default-bool-word"),
        pytest.param(NONE_DEFAULT, "a/b c", "a/b c", id="none-default-text"),
        pytest.param(FieldType("x", ("int", "str")), "12", 12, id="union-int-first"),
        pytest.param(FieldType("x", ("int", "str")), "12a", "12a", id="union-text"),
    ],
)
def test_parse_text_values(ftype, text, expected):
    value = parse_text(ftype, text)

    assert value == expected
    assert type(value) is type(expected)


@pytest.mark.parametrize(
    ("ftype", "text", "reason"),
    [
        pytest.param(FieldType("int", ("int",)), "abc", "syntax", id="word-for-int"),
        pytest.param(FieldType("int", ("int",)), "1.5", "type", id="float-for-int"),
        pytest.param(FieldType("float", ("float",)), "'1'", "type", id="quoted-for-float"),
        pytest.param(FieldType("bool", ("bool",)), "yes", "syntax", id="yes-for-bool"),
        pytest.param(FieldType("x", (), ("a", "b")), "c", "type", id="outside-literal"),
    ],
)
def test_parse_text_rejects(ftype, text, reason):
    with pytest.raises(TypeCheckFailure) as caught:
        parse_text(ftype, text)

    assert caught.value.reason == reason


def test_expression_repr_is_source():
    expression = Expression("2 * BASE")

    assert repr(expression) == "2 * BASE"
    assert expression == "2 * BASE"
    assert repr([expression]) == "[2 * BASE]"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param([1, (2, {3})], [1, (2, {3})], id="nested"),
        pytest.param({"a": frozenset({1})}, {"a": frozenset({1})}, id="frozenset"),
        pytest.param(True, True, id="bool"),
    ],
)
def test_normalize_value_keeps_literals(value, expected):
    assert normalize_value(value) == expected


def test_normalize_value_converts_subclasses():
    class Count(int):
        pass

    value = normalize_value([Count(3)])

    assert value == [3]
    assert type(value[0]) is int


def test_normalize_value_rejects_objects():
    with pytest.raises(TypeCheckFailure):
        normalize_value([object()])
