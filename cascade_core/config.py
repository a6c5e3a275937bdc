"""`Config`, the runtime container of a script's settings.

Class attributes are the defaults. `cascade run` overrides them by rewriting
their values in the script's source, so inside a run `TrainConfig.lr` is
already the overridden value. An instance can override fields once more:

    class TrainConfig(Config):
        lr = 1e-3
        batch_size: int = 32

    cfg = TrainConfig({"batch_size": 64})
    cfg.to_dict()  # {'lr': 0.001, 'batch_size': 64}
"""

from __future__ import annotations

import copy
import difflib
import types

from cascade_core.errors import UnknownKeyError

__all__ = ["Config"]

# Class attributes that are behaviour, not fields. Descriptors such as
# functools.cached_property are excluded through `__set_name__`.
_NOT_FIELDS = (types.FunctionType, types.BuiltinFunctionType, staticmethod, classmethod, property, type)


class Config:
    """A plain container of config fields.

    Fields are the public class attributes that are not methods,
    properties or nested classes, in definition order, base classes first.
    Each instance gets its own copy of mutable defaults.

    Args:
        values: A mapping or a namespace (such as `argparse.Namespace`) of
            field values for this instance.
        **fields: More field values, which take precedence over `values`.

    Raises:
        UnknownKeyError: A key names no field of the class.
        TypeError: `values` is neither a mapping nor a namespace.
    """

    def __init__(self, values=None, /, **fields):
        requested = {**_as_dict(values), **fields}
        names = self.field_names()
        for key in requested:
            if key not in names:
                raise UnknownKeyError(_unknown_message(type(self), key, names), key, requested[key])

        for name in names:
            value = requested[name] if name in requested else copy.deepcopy(getattr(type(self), name))
            object.__setattr__(self, name, value)

    @classmethod
    def field_names(cls) -> list[str]:
        """Return the names of the class's fields, in definition order."""
        names: dict[str, None] = {}
        for klass in reversed(cls.__mro__):
            if klass is object or klass is Config:
                continue
            for name, value in vars(klass).items():
                if _is_field(name, value):
                    names[name] = None
        return list(names)

    def to_dict(self) -> dict[str, object]:
        """Return field name -> value, in definition order, inherited fields included."""
        return {name: getattr(self, name) for name in self.field_names()}

    def __repr__(self) -> str:
        fields = ", ".join(f"{name}={value!r}" for name, value in self.to_dict().items())
        return f"{type(self).__name__}({fields})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Config):
            return NotImplemented
        return type(self) is type(other) and self.to_dict() == other.to_dict()

    __hash__ = None


def _as_dict(values) -> dict:
    if values is None:
        return {}
    if isinstance(values, Config):
        return values.to_dict()
    if hasattr(values, "keys"):
        return dict(values)
    if hasattr(values, "__dict__"):
        return dict(vars(values))
    raise TypeError(
        f"Config() takes a mapping or a namespace such as argparse.Namespace, "
        f"got {type(values).__name__}: {values!r}"
    )


def _is_field(name: str, value: object) -> bool:
    if name.startswith("_"):
        return False
    return not isinstance(value, _NOT_FIELDS) and not hasattr(value, "__set_name__")


def _unknown_message(cls: type, key: str, names: list[str]) -> str:
    message = f"{cls.__name__} has no field {key!r}"
    close = difflib.get_close_matches(key, names, n=1)
    if close:
        message += f"; did you mean {close[0]!r}?"
    return message + f" Fields: {', '.join(names) or '(none)'}"
