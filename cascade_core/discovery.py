"""Static discovery of a script's config.

`discover(path)` reads a script with the `ast` module and never imports or
executes it. The config is, in this order of preference:

1. the fields of the script's config classes: top-level classes deriving from
   `Config` under any import form, or from another config class of the file;
2. else the `add_argument` calls of an argparse parser;
3. else the top-level UPPERCASE assignments (`LR = 1e-3`);
4. else nothing (`style == "none"`).

Notebooks (`.ipynb`) are read cell by cell; see `cascade_core.notebook_config`.
"""

from __future__ import annotations

import ast
import dataclasses
import re
from dataclasses import dataclass
from pathlib import Path

from cascade_core.fieldtypes import Expression
from cascade_core.sourcefile import SourceMap, parse_source, read_script

# Dotted names under which `Config` can be imported: ours and cascade-ml 0.18's.
CONFIG_BASES = frozenset(
    {
        "cascade_core.Config",
        "cascade_core.config.Config",
        "cascade.base.Config",
        "cascade.base.config.Config",
    }
)

_UPPERCASE = re.compile(r"[A-Z][A-Z0-9_]*\Z")

__all__ = ["Expression", "Field", "ScriptConfig", "discover", "discover_source"]


@dataclass(frozen=True)
class Field:
    """One config field, as found in the source.

    Attributes:
        name: The name assigned, such as "lr".
        owner: The config class that assigns it, or None for globals,
            argparse options and notebook parameters.
        annotation: Source text of the annotation, or None.
        default: The literal value, or an `Expression` for other values.
        source: Source text of the value.
        lineno: 1-based line where the value starts.
        span: Character offsets [start, end) of the value in
            `ScriptConfig.source`.
        key: What users type and the run store records: the bare name when it
            is unique in the script, else "Class.name".
        qualname: "Class.name", or the bare name when `owner` is None.
        cell: Index of the notebook cell holding the field, or None.
    """

    name: str
    owner: str | None
    annotation: str | None
    default: object
    source: str
    lineno: int
    span: tuple[int, int]
    key: str
    qualname: str
    cell: int | None = None

    @property
    def is_expression(self) -> bool:
        """Whether the default is an expression rather than a literal."""
        return isinstance(self.default, Expression)

    def __hash__(self) -> int:
        # Defaults such as lists are unhashable, so a field's place identifies it.
        return hash((self.qualname, self.span, self.cell))


@dataclass(frozen=True)
class ConfigClass:
    """A config class defined in the script.

    Attributes:
        name: The class name.
        lineno: Line of the `class` statement.
        bases: Names of the config classes of this script it derives from.
        imported_bases: Names of config classes imported from other modules
            that it derives from.
    """

    name: str
    lineno: int
    bases: tuple[str, ...] = ()
    imported_bases: tuple[str, ...] = ()


@dataclass(frozen=True)
class ImportedConfig:
    """A config class that the script imports from another module.

    Attributes:
        name: The name it has in the script.
        module: The module it is imported from, as written ("configs", ".cfg").
        path: The module's file, when it was found next to the script.
        lineno: Line of the import.
        fields: Field names of the class, as read from `path`.
    """

    name: str
    module: str
    path: Path | None
    lineno: int
    fields: tuple[str, ...] = ()


class ScriptConfig:
    """The config discovered in one script.

    Attributes:
        path: Absolute path of the script.
        source: Decoded text of the script (for a notebook, its code cells
            joined by newlines).
        style: "class", "globals", "argparse", "notebook" or "none".
        fields: The fields in definition order.
        classes: The config classes of the script, by name.
        imported: Config classes imported from other modules (a list, or a
            function returning it on first access).
        encoding: The codec the file was decoded with ("utf-8-sig" for a BOM).
        data: The file's bytes as read.
        notes: Remarks for displays, such as a global assigned twice.
    """

    def __init__(
        self,
        path: Path,
        source: str,
        style: str,
        fields: list[Field],
        *,
        classes: dict[str, ConfigClass] | None = None,
        imported=None,
        encoding: str = "utf-8",
        data: bytes | None = None,
        notes: list[str] | None = None,
    ):
        self.path = path
        self.source = source
        self.style = style
        self.fields = fields
        self.classes = classes or {}
        self._imported = imported
        self.encoding = encoding
        self.data = source.encode(encoding) if data is None else data
        self.notes = notes or []
        self.extras: dict[str, object] = {}

    @property
    def imported(self) -> list[ImportedConfig]:
        """Config classes the script imports by name from modules next to it.

        Found on first access, because it reads those modules' files.
        """
        if callable(self._imported):
            self._imported = self._imported()
        return self._imported or []

    def __repr__(self) -> str:
        keys = ", ".join(field.key for field in self.fields)
        return f"<ScriptConfig {self.path.name} style={self.style!r} fields=[{keys}]>"

    def defaults(self) -> dict[str, object]:
        """Return field key -> default, in definition order."""
        return {field.key: field.default for field in self.fields}

    def lookup(self, key: str) -> Field:
        """Return the field a key names: bare, qualified ("Class.name") or dashed.

        Raises:
            AmbiguousKeyError: A bare name is a field of several classes.
            UnknownKeyError: No field has this key (with a did-you-mean).
            ImportedConfigError: The key names a field of a config class that
                the script imports from another module.
        """
        from cascade_core.lookup import lookup_field

        return lookup_field(self, key)

    def keys(self) -> list[str]:
        """Return the field keys in definition order."""
        return [field.key for field in self.fields]


def discover(path) -> ScriptConfig:
    """Read a script's config statically, without importing or executing it.

    Args:
        path: A `.py` script (or any Python source file) or a `.ipynb` notebook.

    Raises:
        ScriptNotFoundError: The path does not exist or is a folder.
        ScriptError: The file is not Python source text or does not parse.
            The message names the file and, for a syntax error, the line.
    """
    path = Path(path).expanduser().absolute()
    if path.suffix == ".ipynb":
        from cascade_core.notebook_config import discover_notebook

        return discover_notebook(path)

    source, encoding, data = read_script(path)
    config = discover_source(source, path)
    config.encoding = encoding
    config.data = data
    return config


def discover_source(source: str, path="<string>") -> ScriptConfig:
    """Read the config of Python source text.

    Args:
        source: The script's text.
        path: Used in messages and to find modules imported next to the script.

    Raises:
        ScriptError: The text does not parse.
    """
    path = Path(path)
    tree = parse_source(source, path)
    return ConfigFinder(tree, source, path).find()


class ConfigFinder:
    """Find the config of one parsed module: classes, else argparse options, else globals."""

    def __init__(self, tree: ast.Module, source: str, path: Path, source_map: SourceMap | None = None):
        from cascade_core.imports import ImportTable

        self.tree = tree
        self.source = source
        self.path = path
        self.source_map = source_map or SourceMap(source)
        self.imports = ImportTable(tree, path)
        self.notes: list[str] = []

    def find(self) -> ScriptConfig:
        classes, class_fields = self.find_classes()
        imported = self.imports.imported_configs
        if classes:
            return self.build("class", class_fields, classes=classes, imported=imported, notes=self.notes)

        # A script that declares argparse options is configured through them,
        # and its UPPERCASE globals are then constants such as DEFAULT_LR.
        if self.imports.uses_argparse:
            from cascade_core.argparse_config import find_argparse_fields

            fields, options = find_argparse_fields(self)
            if fields:
                config = self.build("argparse", fields, imported=imported)
                config.extras["argparse"] = options
                return config

        global_fields, notes = self.find_globals(self.tree.body, uppercase_only=True)
        if global_fields:
            return self.build("globals", global_fields, imported=imported, notes=notes)
        return self.build("none", [], imported=imported)

    def build(self, style: str, fields: list[Field], **extra) -> ScriptConfig:
        return ScriptConfig(self.path, self.source, style, assign_keys(fields), **extra)

    # Config classes ------------------------------------------------------------

    def find_classes(self) -> tuple[dict[str, ConfigClass], list[Field]]:
        classes: dict[str, ConfigClass] = {}
        fields: list[Field] = []
        for node in self.tree.body:
            if not isinstance(node, ast.ClassDef):
                continue
            config_class = self.read_class(node, classes)
            if config_class is None:
                continue
            classes[node.name] = config_class
            fields += self.class_fields(node)
        return classes, fields

    def read_class(self, node: ast.ClassDef, known: dict[str, ConfigClass]) -> ConfigClass | None:
        is_config = False
        local_bases: list[str] = []
        imported_bases: list[str] = []
        for base in node.bases:
            if isinstance(base, ast.Name) and base.id in known:
                local_bases.append(base.id)
                is_config = True
                continue
            dotted = self.imports.resolve(base)
            if dotted in CONFIG_BASES:
                is_config = True
            elif dotted is not None and self.imports.is_imported_config(base):
                imported_bases.append(ast.get_source_segment(self.source, base) or dotted)
                is_config = True
        if not is_config:
            return None
        return ConfigClass(node.name, node.lineno, tuple(local_bases), tuple(imported_bases))

    def class_fields(self, node: ast.ClassDef) -> list[Field]:
        fields = []
        seen: dict[str, int] = {}
        for statement in node.body:
            target, annotation, value = assignment_parts(statement)
            if target in seen:
                self.notes.append(
                    f"{node.name}.{target} is assigned again on line {statement.lineno}; an override "
                    f"replaces only the value on line {seen[target]}"
                )
            if target is None or target.startswith("_") or target in seen:
                continue
            if isinstance(value, ast.Lambda):
                continue
            seen[target] = value.lineno
            fields.append(self.make_field(target, node.name, annotation, value))
        return fields

    # Globals -------------------------------------------------------------------

    def find_globals(self, body: list[ast.stmt], uppercase_only: bool) -> tuple[list[Field], list[str]]:
        """Return the fields assigned at the top level of `body`, first assignment each."""
        fields: dict[str, Field] = {}
        notes: list[str] = []
        for statement in body:
            for name in reassigned_names(statement):
                if name in fields:
                    notes.append(
                        f"{name} is assigned again on line {statement.lineno}; an override "
                        f"replaces only the value on line {fields[name].lineno}"
                    )
            target, annotation, value = assignment_parts(statement)
            if target is None or target in fields or not is_global_name(target, uppercase_only):
                continue
            fields[target] = self.make_field(target, None, annotation, value)
        return list(fields.values()), notes

    # Fields --------------------------------------------------------------------

    def make_field(self, name: str, owner: str | None, annotation: ast.expr | None, value: ast.expr) -> Field:
        start, end = self.source_map.span(value)
        source = self.source[start:end]
        return Field(
            name=name,
            owner=owner,
            annotation=None if annotation is None else self.source_map.text(annotation),
            default=literal_or_expression(value, source),
            source=source,
            lineno=value.lineno,
            span=(start, end),
            key=name,
            qualname=name if owner is None else f"{owner}.{name}",
        )


def assignment_parts(statement: ast.stmt) -> tuple[str | None, ast.expr | None, ast.expr | None]:
    """Return (name, annotation, value) of `name = value` or `name: T = value`.

    Other statements, several targets (`a = b = 1`), unpacking, and
    annotations without a value give (None, None, None).
    """
    if isinstance(statement, ast.Assign):
        if len(statement.targets) == 1 and isinstance(statement.targets[0], ast.Name):
            return statement.targets[0].id, None, statement.value
    elif isinstance(statement, ast.AnnAssign):
        if statement.value is not None and isinstance(statement.target, ast.Name):
            return statement.target.id, statement.annotation, statement.value
    return None, None, None


def reassigned_names(statement: ast.stmt) -> list[str]:
    """Return the plain names a module-level statement assigns."""
    if isinstance(statement, ast.Assign):
        return [target.id for target in statement.targets if isinstance(target, ast.Name)]
    if isinstance(statement, (ast.AnnAssign, ast.AugAssign)) and isinstance(statement.target, ast.Name):
        if isinstance(statement, ast.AnnAssign) and statement.value is None:
            return []
        return [statement.target.id]
    return []


def is_global_name(name: str, uppercase_only: bool) -> bool:
    """Check whether a module-level name is a config field: UPPERCASE, or any public name."""
    if uppercase_only:
        return bool(_UPPERCASE.match(name))
    return not name.startswith("_")


def literal_or_expression(value: ast.expr, source: str) -> object:
    """Return the literal a value node spells, or its source as an `Expression`."""
    try:
        return ast.literal_eval(value)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return Expression(source)


def assign_keys(fields: list[Field]) -> list[Field]:
    """Give each field its key: the bare name when unique, else "Class.name"."""
    counts: dict[str, int] = {}
    for field in fields:
        counts[field.name] = counts.get(field.name, 0) + 1

    keyed = []
    for field in fields:
        key = field.name if counts[field.name] == 1 else field.qualname
        keyed.append(field if key == field.key else _replace(field, key=key))
    return keyed


def _replace(field: Field, **changes) -> Field:
    return dataclasses.replace(field, **changes)
