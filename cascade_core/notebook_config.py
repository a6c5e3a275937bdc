"""Config of Jupyter notebooks: a Config class in a code cell, or a `parameters` cell.

The code cells are read as one source text, joined by newlines, so the
usual `Field.span` offsets work. Each field also records the index of its
cell in the notebook's `cells` list, and its `lineno` counts lines within
that cell. IPython syntax (`%magic`, `!command`)
is masked as comments before parsing, and a cell that still does not parse
(`%%bash`) is skipped. As with papermill, every public assignment of the
cell tagged `parameters` is a field, whatever its case.
"""

from __future__ import annotations

import ast
import bisect
import dataclasses
import json
import logging
import re
from dataclasses import dataclass
from pathlib import Path

from cascade_core.errors import ScriptError
from cascade_core.sourcefile import SourceMap, read_script_bytes

logger = logging.getLogger(__name__)

# A line whose first non-blank character starts IPython syntax.
_MAGIC_LINE = re.compile(r"^([ \t]*)[%!]", re.MULTILINE)

__all__ = ["NotebookCell", "discover_notebook", "write_cells"]


@dataclass(frozen=True)
class NotebookCell:
    """The position of one code cell in the joined source text.

    Attributes:
        index: The cell's index in the notebook's `cells` list.
        start: Offset of the cell's first character in the joined text.
        end: Offset after its last character.
        tags: The cell's metadata tags.
    """

    index: int
    start: int
    end: int
    tags: tuple[str, ...] = ()


def discover_notebook(path: Path):
    """Read the config of a notebook statically, without running any cell.

    Raises:
        ScriptNotFoundError: The path does not exist or is a folder.
        ScriptError: The file is not a notebook in JSON.
    """
    from cascade_core.discovery import ConfigFinder, ScriptConfig

    data, notebook = _read_notebook(path)
    cells, source = _code_cells(notebook)
    tree, skipped = _parse_cells(cells, source, path)

    finder = ConfigFinder(tree, source, path, SourceMap(source))
    classes, fields = finder.find_classes()
    notes = [f"cell {index} is not Python (IPython cell magic?) and was not read" for index in skipped]
    notes += finder.notes
    if not classes:
        fields = _parameter_fields(finder, tree, cells)

    config = ScriptConfig(
        path,
        source,
        "notebook",
        _with_cells(finder, fields, cells),
        classes=classes,
        imported=finder.imports.imported_configs,
        data=data,
        notes=notes,
    )
    config.extras["cells"] = cells
    return config


def _read_notebook(path: Path) -> tuple[bytes, dict]:
    data = read_script_bytes(path, "notebook")
    try:
        notebook = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ScriptError(f"{path} is not a Jupyter notebook: its content is not JSON text ({exc})", path) from exc
    if not isinstance(notebook, dict) or not isinstance(notebook.get("cells"), list):
        raise ScriptError(f"{path} is not a Jupyter notebook: it has no 'cells' list", path)
    return data, notebook


def _cell_text(cell: dict) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else str(source)


def _code_cells(notebook: dict) -> tuple[list[NotebookCell], str]:
    cells: list[NotebookCell] = []
    texts: list[str] = []
    offset = 0
    for index, cell in enumerate(notebook["cells"]):
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        text = _cell_text(cell)
        tags = tuple((cell.get("metadata") or {}).get("tags") or ())
        cells.append(NotebookCell(index, offset, offset + len(text), tags))
        texts.append(text)
        offset += len(text) + 1
    return cells, "\n".join(texts)


def _parse_cells(cells: list[NotebookCell], source: str, path: Path) -> tuple[ast.Module, list[int]]:
    """Parse each cell on its own and join their statements into one module."""
    body: list[ast.stmt] = []
    skipped: list[int] = []
    line = 1
    for cell in cells:
        text = source[cell.start : cell.end]
        masked = _MAGIC_LINE.sub(lambda match: match.group(1) + "#", text)
        try:
            tree = ast.parse(masked, filename=str(path))
        except (SyntaxError, ValueError) as exc:
            logger.debug("Cell %d of %s skipped, it does not parse: %s", cell.index, path, exc)
            skipped.append(cell.index)
        else:
            ast.increment_lineno(tree, line - 1)
            body += tree.body
        line += len(SourceMap(text).line_starts)
    return ast.Module(body=body, type_ignores=[]), skipped


def _parameter_fields(finder, tree: ast.Module, cells: list[NotebookCell]) -> list:
    tagged = [cell for cell in cells if "parameters" in cell.tags]
    if not tagged:
        return []

    cell = tagged[0]
    statements = [
        statement
        for statement in tree.body
        if cell.start <= finder.source_map.offset(statement.lineno, statement.col_offset) <= cell.end
    ]
    fields, _ = finder.find_globals(statements, uppercase_only=False)
    return fields


def _with_cells(finder, fields: list, cells: list[NotebookCell]) -> list:
    from cascade_core.discovery import assign_keys

    placed = []
    for field in fields:
        cell = next(cell for cell in cells if cell.start <= field.span[0] <= cell.end)
        first_line = bisect.bisect_right(finder.source_map.line_starts, cell.start)
        placed.append(dataclasses.replace(field, cell=cell.index, lineno=field.lineno - first_line + 1))
    return assign_keys(placed)


def write_cells(notebook_text: str, config, changes: list[tuple[int, int, str]]) -> str:
    """Return the notebook's JSON text with replacements applied to its code cells.

    Args:
        notebook_text: The `.ipynb` text.
        config: The notebook's `ScriptConfig`.
        changes: (start, end, text) spans in `config.source`, as
            `cascade_core.rewrite.replacements` returns them.
    """
    from cascade_core.rewrite import apply_replacements

    notebook = json.loads(notebook_text)
    for cell in config.extras["cells"]:
        local = [(start - cell.start, end - cell.start, text) for start, end, text in changes if cell.start <= start <= cell.end]
        if not local:
            continue
        entry = notebook["cells"][cell.index]
        new_text = apply_replacements(config.source[cell.start : cell.end], local)
        entry["source"] = new_text.splitlines(keepends=True) if isinstance(entry["source"], list) else new_text
    return json.dumps(notebook, indent=1, sort_keys=True, ensure_ascii=False) + "\n"
