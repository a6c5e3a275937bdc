"""The import statements of a script, read statically.

`ImportTable` maps the names a script binds by importing to dotted paths,
so `cc.Config` after `import cascade_core as cc` resolves to
`cascade_core.Config`. It also finds config classes that the script imports
from its own modules (`from configs import Train`) by reading those modules'
files next to the script, again without importing them.
"""

from __future__ import annotations

import ast
import logging
from dataclasses import dataclass
from pathlib import Path

logger = logging.getLogger(__name__)

# How many modules deep an imported config class is followed.
_MAX_DEPTH = 3

_OWN_PACKAGES = ("cascade_core", "cascade")


@dataclass(frozen=True)
class _FromImport:
    module: str  # as written, with leading dots for relative imports
    name: str
    lineno: int


class ImportTable:
    """The names bound by the imports of one module."""

    def __init__(self, tree: ast.Module, path: Path, depth: int = 0):
        self.path = path
        self.depth = depth
        self.aliases: dict[str, str] = {}
        self.from_imports: dict[str, _FromImport] = {}
        self.uses_argparse = False
        self._module_cache: dict[Path, dict[str, tuple[str, ...]] | None] = {}
        for node in _import_nodes(tree):
            self._add(node)

    def _add(self, node: ast.Import | ast.ImportFrom) -> None:
        if isinstance(node, ast.Import):
            for alias in node.names:
                self.uses_argparse |= alias.name == "argparse"
                if alias.asname:
                    self.aliases[alias.asname] = alias.name
                else:
                    top = alias.name.split(".")[0]
                    self.aliases[top] = top
            return

        module = "." * node.level + (node.module or "")
        self.uses_argparse |= module == "argparse"
        for alias in node.names:
            local = alias.asname or alias.name
            dotted = f"{module}.{alias.name}" if node.module else f"{module}{alias.name}"
            self.aliases[local] = dotted
            self.from_imports[local] = _FromImport(module, alias.name, node.lineno)

    def resolve(self, node: ast.expr) -> str | None:
        """Return the dotted path that an imported name or attribute chain refers to, or None."""
        if isinstance(node, ast.Name):
            return self.aliases.get(node.id)
        if isinstance(node, ast.Attribute):
            owner = self.resolve(node.value)
            return None if owner is None else f"{owner}.{node.attr}"
        return None

    # Config classes of other modules ---------------------------------------------

    def is_imported_config(self, node: ast.expr) -> bool:
        """Check whether a base-class expression names a config class of another local module."""
        return self.imported_fields(node) is not None

    def imported_fields(self, node: ast.expr) -> tuple[str, ...] | None:
        """Return the field names of the imported config class `node` names, or None."""
        dotted = self.resolve(node)
        if dotted is None or "." not in dotted.strip("."):
            return None
        module, _, name = dotted.rpartition(".")
        if module.split(".")[0] in _OWN_PACKAGES:
            return None
        configs = self._module_configs(module)
        return None if configs is None else configs.get(name)

    def imported_configs(self) -> list:
        """Return an `ImportedConfig` for each config class imported by name."""
        from cascade_core.discovery import ImportedConfig

        found = []
        for local, item in self.from_imports.items():
            configs = self._module_configs(item.module)
            if not configs or item.name not in configs:
                continue
            path = self.module_file(item.module)
            found.append(ImportedConfig(local, item.module, path, item.lineno, configs[item.name]))
        return found

    def module_file(self, module: str) -> Path | None:
        """Return the file of a module imported relative to the script's folder, if it exists."""
        if not self.path.is_absolute() or self.depth >= _MAX_DEPTH:
            return None

        level = len(module) - len(module.lstrip("."))
        folder = self.path.parent
        for _ in range(max(level - 1, 0)):
            folder = folder.parent
        parts = [part for part in module.lstrip(".").split(".") if part]
        if not parts:
            return None

        base = folder.joinpath(*parts)
        for candidate in (base.with_suffix(".py"), base / "__init__.py"):
            if candidate.is_file():
                return candidate
        return None

    def _module_configs(self, module: str) -> dict[str, tuple[str, ...]] | None:
        path = self.module_file(module)
        if path is None:
            return None
        if path not in self._module_cache:
            self._module_cache[path] = _read_module_configs(path, self.depth + 1)
        return self._module_cache[path]


def _import_nodes(tree: ast.Module):
    """Yield the import statements of a module, also those inside if/try blocks at the top."""
    pending = list(tree.body)
    while pending:
        node = pending.pop(0)
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
        elif isinstance(node, (ast.If, ast.Try)) or type(node).__name__ == "TryStar":
            for block in ("body", "orelse", "finalbody", "handlers"):
                pending.extend(getattr(node, block, []))
        elif isinstance(node, ast.ExceptHandler):
            pending.extend(node.body)


def _read_module_configs(path: Path, depth: int) -> dict[str, tuple[str, ...]] | None:
    """Return class name -> field names (inherited ones first) of a module's config classes."""
    from cascade_core.discovery import ConfigFinder
    from cascade_core.errors import ScriptError
    from cascade_core.sourcefile import parse_source, read_script

    try:
        source, _, _ = read_script(path)
    except ScriptError as exc:
        logger.debug("Imported module %s not read for config classes: %s", path, exc)
        return None

    # NOTE: a module whose text never mentions "Config" is taken to define no
    # config class, which skips parsing most imported modules. A class that
    # derives from a config class through a base renamed on import
    # (`from cfg import Train as Base`) in such a module is missed.
    if "Config" not in source:
        return {}
    try:
        tree = parse_source(source, path)
    except ScriptError as exc:
        logger.debug("Imported module %s not read for config classes: %s", path, exc)
        return None

    finder = ConfigFinder(tree, source, path)
    finder.imports.depth = depth
    classes, fields = finder.find_classes()
    own: dict[str, list[str]] = {name: [] for name in classes}
    for field in fields:
        own[field.owner].append(field.name)

    return {name: tuple(_all_fields(name, classes, own)) for name in classes}


def _all_fields(name: str, classes: dict, own: dict[str, list[str]]) -> list[str]:
    names: list[str] = []
    for base in classes[name].bases:
        names += [field for field in _all_fields(base, classes, own) if field not in names]
    return names + [field for field in own[name] if field not in names]
