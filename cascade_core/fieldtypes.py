"""Field types: reading annotations from source text and checking values against them.

A `FieldType` is built from a field's annotation (source text such as
`"Optional[int]"` or `"Literal['adam', 'sgd']"`) or, without one, from the
type of the field's literal default. Containers are checked at the container
level only: `list[int]` accepts any list. Type names this module does not
recognise (`Path`, a user's enum) leave the field unchecked.

Nothing here imports `typing`: annotations are read with `ast`, so the
script's own imports never matter.
"""

from __future__ import annotations

import ast
import numbers
import re
from dataclasses import dataclass

# Python type -> kind name used in FieldType.kinds.
_KIND_OF_TYPE = {
    bool: "bool",
    int: "int",
    float: "float",
    complex: "complex",
    str: "str",
    bytes: "bytes",
    list: "list",
    tuple: "tuple",
    dict: "dict",
    set: "set",
    frozenset: "frozenset",
    type(None): "None",
}

# Annotation name (last dotted part) -> the kinds it allows.
_KINDS_OF_NAME = {
    "int": ("int",),
    "float": ("float",),
    "complex": ("complex",),
    "str": ("str",),
    "bytes": ("bytes",),
    "bool": ("bool",),
    "list": ("list",),
    "List": ("list",),
    "MutableSequence": ("list",),
    "Sequence": ("list", "tuple"),
    "tuple": ("tuple",),
    "Tuple": ("tuple",),
    "dict": ("dict",),
    "Dict": ("dict",),
    "Mapping": ("dict",),
    "MutableMapping": ("dict",),
    "set": ("set",),
    "Set": ("set",),
    "MutableSet": ("set",),
    "AbstractSet": ("set", "frozenset"),
    "frozenset": ("frozenset",),
    "FrozenSet": ("frozenset",),
    "NoneType": ("None",),
}

# Wrappers whose first argument is the real type.
_TRANSPARENT = {"Annotated", "Final", "ClassVar", "Required", "NotRequired"}

_LEADING_ZERO_INT = re.compile(r"[+-]?0[0-9_]+\Z")
_NON_FINITE = {"inf", "+inf", "-inf", "infinity", "+infinity", "-infinity", "nan", "+nan", "-nan"}
_BOOL_WORDS = {"true": True, "false": False}


class Expression(str):
    """Source text of a value that is not a literal, such as `2 * BASE_LR`.

    It is a `str`, so it serialises to JSON as its text. `repr()` returns the
    text itself, so writing it back into a script inserts the expression.
    """

    __slots__ = ()

    def __repr__(self) -> str:
        return str.__str__(self)


class TypeCheckFailure(ValueError):
    """Raised by this module when a value does not fit a field type.

    `reason` is "type" for a value of the wrong type and "syntax" for text
    that is no Python literal. `value` is the value or text that failed.
    """

    def __init__(self, reason: str, value: object = None):
        super().__init__(reason)
        self.reason = reason
        self.value = value


@dataclass(frozen=True)
class FieldType:
    """The values a field accepts.

    Attributes:
        label: Text shown to users, such as "int" or "Optional[str]".
        kinds: Kind names allowed ("int", "str", "list", "None", ...).
        literals: Allowed values of a `Literal[...]`, checked with their type.
        checked: False when any value is accepted (unknown annotation,
            expression field, or None default without annotation).
        text_fallback: True when text that is no literal becomes a string
            even though the field is not a `str` field.
    """

    label: str
    kinds: tuple[str, ...] = ()
    literals: tuple = ()
    checked: bool = True
    text_fallback: bool = False

    @property
    def accepts_text(self) -> bool:
        """Whether unquoted text may be taken as a string value."""
        has_str_literal = any(type(value) is str for value in self.literals)
        return "str" in self.kinds or has_str_literal or self.text_fallback

    @property
    def accepts_bool(self) -> bool:
        """Whether the words true and false, in any case, parse as bools."""
        has_bool_literal = any(type(value) is bool for value in self.literals)
        return "bool" in self.kinds or has_bool_literal or not self.checked


UNCHECKED = FieldType(label="any", checked=False)
EXPRESSION = FieldType(label="expression", checked=False)
NONE_DEFAULT = FieldType(label="any (default None)", checked=False, text_fallback=True)


def kind_of(value: object) -> str | None:
    """Return the kind name of a literal value's exact type, or None."""
    return _KIND_OF_TYPE.get(type(value))


def type_of_default(default: object) -> FieldType:
    """Build the field type implied by a literal default."""
    if isinstance(default, Expression):
        return EXPRESSION

    if default is None:
        return NONE_DEFAULT

    kind = kind_of(default)
    if kind is None:
        return UNCHECKED
    return FieldType(label=type(default).__name__, kinds=(kind,))


def type_of_annotation(text: str | None) -> FieldType | None:
    """Build the field type of an annotation's source text.

    Returns:
        The type, or None when the annotation is missing or names a type this
        module cannot check (the caller then uses the default's type).
    """
    if not text:
        return None

    try:
        node = ast.parse(text.strip(), mode="eval").body
    except SyntaxError:
        return None

    parts = _read_annotation(node)
    if parts is None:
        return None

    kinds, literals = parts
    return FieldType(label=text, kinds=tuple(dict.fromkeys(kinds)), literals=tuple(literals))


def field_type(annotation: str | None, default: object) -> FieldType:
    """Return the type of a field: its annotation's when checkable, else its default's."""
    if isinstance(default, Expression):
        return EXPRESSION
    return type_of_annotation(annotation) or type_of_default(default)


def _read_annotation(node: ast.expr) -> tuple[list[str], list] | None:
    """Return (kinds, literal values) of an annotation node, or None if unknown."""
    if isinstance(node, ast.Constant):
        if node.value is None:
            return ["None"], []
        if isinstance(node.value, str):
            # A quoted forward reference: "int".
            inner = type_of_annotation(node.value)
            return None if inner is None else (list(inner.kinds), list(inner.literals))
        return None

    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
        return _read_union([node.left, node.right])

    if isinstance(node, ast.Subscript):
        return _read_subscript(node)

    name = _last_name(node)
    if name in ("Any", "object"):
        return None
    kinds = _KINDS_OF_NAME.get(name)
    return None if kinds is None else (list(kinds), [])


def _read_subscript(node: ast.Subscript) -> tuple[list[str], list] | None:
    name = _last_name(node.value)
    arguments = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]

    if name == "Optional":
        return _read_union([arguments[0], ast.Constant(None)])
    if name == "Union":
        return _read_union(arguments)
    if name == "Literal":
        return _read_literal(arguments)
    if name in _TRANSPARENT:
        return _read_annotation(arguments[0])

    kinds = _KINDS_OF_NAME.get(name)
    return None if kinds is None else (list(kinds), [])


def _read_union(members: list[ast.expr]) -> tuple[list[str], list] | None:
    kinds: list[str] = []
    literals: list = []
    for member in members:
        parts = _read_annotation(member)
        if parts is None:
            return None
        kinds += parts[0]
        literals += parts[1]
    return kinds, literals


def _read_literal(arguments: list[ast.expr]) -> tuple[list[str], list] | None:
    literals = []
    for argument in arguments:
        if isinstance(argument, ast.Subscript) and _last_name(argument.value) == "Literal":
            nested = _read_annotation(argument)
            if nested is None:
                return None
            literals += nested[1]
            continue
        try:
            literals.append(ast.literal_eval(argument))
        except ValueError:
            return None
    return [], literals


def _last_name(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


# Checking values -------------------------------------------------------------


def check_value(ftype: FieldType, value: object) -> object:
    """Check a typed value against a field type.

    An int given to a float field becomes a float (and an int or float given
    to a complex field a complex). A bool never counts as an int.

    Returns:
        The value, converted where the rule above applies.

    Raises:
        TypeCheckFailure: The value does not fit.
    """
    if not ftype.checked:
        return value

    if ftype.literals and _in_literals(value, ftype.literals):
        return value

    kind = kind_of(value)
    if kind in ftype.kinds:
        return value

    converted = _widen_number(value, kind, ftype.kinds)
    if converted is not None:
        return converted
    raise TypeCheckFailure("type", value)


def _in_literals(value: object, literals: tuple) -> bool:
    return any(type(value) is type(allowed) and value == allowed for allowed in literals)


def _widen_number(value: object, kind: str | None, kinds: tuple[str, ...]) -> object | None:
    if kind == "int" and "float" in kinds:
        return float(value)
    if kind in ("int", "float") and "complex" in kinds:
        return complex(value)
    return None


def parse_text(ftype: FieldType, text: str) -> object:
    """Parse command-line text into a value of a field type.

    The text is read with `ast.literal_eval`. For a field that accepts
    strings, text that is no literal of an accepted type is the string
    itself, so `007` given to a `str` field stays `'007'`. Bool fields take
    true and false in any case. Int fields also take leading zeros (`007`),
    and float fields `inf` and `nan`, as `int()` and `float()` do.

    Raises:
        TypeCheckFailure: The text does not give a value that fits.
    """
    word = _BOOL_WORDS.get(text.strip().lower())
    if word is not None and ftype.accepts_bool and not _is_literal_text(text, ftype):
        return word

    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return _parse_non_literal(ftype, text)

    try:
        return check_value(ftype, value)
    except TypeCheckFailure:
        if ftype.accepts_text:
            return check_value(ftype, text)
        raise


def _is_literal_text(text: str, ftype: FieldType) -> bool:
    """Check whether a true/false word is meant as a string (a pure str field)."""
    return "str" in ftype.kinds and "bool" not in ftype.kinds


def _parse_non_literal(ftype: FieldType, text: str) -> object:
    if ftype.accepts_text:
        return check_value(ftype, text)

    number = _parse_number_word(ftype, text.strip())
    if number is not None:
        return number
    raise TypeCheckFailure("syntax", text)


def _parse_number_word(ftype: FieldType, text: str) -> int | float | None:
    if "int" in ftype.kinds and _LEADING_ZERO_INT.match(text):
        return int(text)
    if "float" in ftype.kinds and text.lower() in _NON_FINITE:
        return float(text)
    return None


# Normalising typed values ------------------------------------------------------


def normalize_value(value: object) -> object:
    """Return a value as plain builtin literals, or raise TypeCheckFailure.

    Subclasses of str, int and float (enum members, numpy scalars that
    subclass float) become the builtin type, containers are rebuilt, and
    anything that cannot be written as a Python literal raises.
    """
    if isinstance(value, Expression) or value is None or type(value) in (bool, int, float, complex, str, bytes):
        return value

    if isinstance(value, (list, tuple, set, frozenset)):
        items = [normalize_value(item) for item in value]
        return items if isinstance(value, list) else _rebuild(value, items)
    if isinstance(value, dict):
        return {normalize_value(key): normalize_value(item) for key, item in value.items()}
    return _normalize_scalar(value)


def _rebuild(value: object, items: list) -> object:
    for kind in (tuple, frozenset, set):
        if isinstance(value, kind):
            return kind(items)
    raise TypeCheckFailure("type", value)


def _normalize_scalar(value: object) -> object:
    if isinstance(value, str):
        return str.__str__(value)
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return float(value)
    raise TypeCheckFailure("type", value)
