"""Rewriting proven on the standard library of the running Python.

A fixed 60% sample of the stdlib's `.py` files is discovered and rewritten
with no overrides, which must give each file's bytes back. In each file
whose UPPERCASE globals are a config, one to three fields (picked with a
fixed seed) get new values. The text around them must stay byte-identical,
and the line count and every statement's lines must stay the same. The
syntax tree must also be the same once the overridden values are masked.
"""

from __future__ import annotations

import ast
import math
import random
import sysconfig
import zlib
from pathlib import Path

import pytest

from cascade_core.discovery import assignment_parts, discover
from cascade_core.errors import ScriptError
from cascade_core.rewrite import rewrite, rewrite_bytes
from cascade_core.sourcefile import SourceMap, count_lines

STDLIB = Path(sysconfig.get_paths()["stdlib"])
SEED = 20261204
GROUPS = 8
# Share of the files checked, so the module stays under a minute on 2 busy cores.
SAMPLE_PERCENT = 60

# Files that do not parse on purpose: test data for Python 2 syntax, bad
# encodings and syntax errors. Matched against the path relative to STDLIB.
INVALID_ON_PURPOSE = (
    "lib2to3/tests/data/",
    "test/tokenizedata/bad",
    "test/badsyntax_",
    "test/bad_coding",
    "test/test_lib2to3/data/",
)

MASK = "<overridden>"


def stdlib_files() -> list[Path]:
    """Return a fixed sample of SAMPLE_PERCENT of the stdlib's files, chosen by a hash of their path."""
    files = []
    for path in sorted(STDLIB.rglob("*.py")):
        if {"site-packages", "dist-packages"} & set(path.parts):
            continue
        if zlib.crc32(path.relative_to(STDLIB).as_posix().encode()) % 100 < SAMPLE_PERCENT:
            files.append(path)
    return files


def new_value(rng: random.Random) -> object:
    choices = [
        lambda: rng.randint(-(10**9), 10**9),
        lambda: rng.random() * 10 ** rng.randint(-30, 30),
        lambda: "it's \"quoted\" \u00e9\u20ac\n",
        lambda: [rng.randint(0, 9), (1.5, None), {"k": "v"}],
        lambda: None,
        lambda: rng.random() < 0.5,
        lambda: float("inf"),
        lambda: "",
        lambda: {1, 2},
    ]
    return rng.choice(choices)()


def same(a: object, b: object) -> bool:
    if isinstance(a, float) and math.isnan(a):
        return isinstance(b, float) and math.isnan(b)
    return a == b and type(a) is type(b)


def first_assignments(tree: ast.Module, names: set[str]) -> dict[str, ast.stmt]:
    found: dict[str, ast.stmt] = {}
    for statement in tree.body:
        name, _, _ = assignment_parts(statement)
        if name in names and name not in found:
            found[name] = statement
    return found


def masked_dump(tree: ast.Module, names: set[str]) -> str:
    """Return ast.dump of a tree whose overridden values are replaced by one constant."""
    for statement in first_assignments(tree, names).values():
        statement.value = ast.Constant(MASK)
    return ast.dump(tree)


def statement_lines(tree: ast.Module) -> list[tuple[int, int]]:
    return [(node.lineno, node.end_lineno) for node in ast.walk(tree) if isinstance(node, ast.stmt)]


def check_overrides(config, relative: str) -> None:
    rng = random.Random(f"{SEED}:{relative}")
    count = rng.randint(1, min(3, len(config.fields)))
    chosen = rng.sample(config.fields, count)
    overrides = {field.key: new_value(rng) for field in chosen}
    source = config.source

    new = rewrite(source, config, overrides)

    assert count_lines(new) == count_lines(source), relative
    old_tree = ast.parse(source)
    new_tree = ast.parse(new)
    assert statement_lines(new_tree) == statement_lines(old_tree), relative

    # The text between overridden values is byte-identical, and each new
    # value evaluates to the override. A value padded to keep the line count
    # is wrapped as "(" value newlines ")".
    new_map = SourceMap(new)
    new_nodes = first_assignments(new_tree, set(overrides))
    old_position = new_position = 0
    for field in sorted(chosen, key=lambda item: item.span):
        gap = source[old_position : field.span[0]]
        replaced_at = new_position + len(gap)
        assert new[new_position:replaced_at] == gap, (relative, field.key)

        start, end = new_map.span(new_nodes[field.name].value)
        assert same(eval(new[start:end], {}), overrides[field.key]), (relative, field.key)
        if start != replaced_at:
            assert (new[replaced_at], start) == ("(", replaced_at + 1), (relative, field.key)
            while new[end] in "\r\n":
                end += 1
            assert new[end] == ")", (relative, field.key)
            end += 1
        old_position, new_position = field.span[1], end
    assert new[new_position:] == source[old_position:], relative

    assert masked_dump(new_tree, set(overrides)) == masked_dump(old_tree, set(overrides)), relative


def check_file(path: Path) -> str:
    """Check one file; return "invalid" (does not parse on purpose), "overridden" or "unchanged"."""
    relative = path.relative_to(STDLIB).as_posix()
    try:
        config = discover(path)
    except ScriptError:
        assert any(marker in relative for marker in INVALID_ON_PURPOSE), f"{relative} should parse"
        return "invalid"

    assert rewrite(config.source, config, {}) is config.source
    assert rewrite_bytes(config, {}) == path.read_bytes(), relative
    if config.style != "globals":
        return "unchanged"
    check_overrides(config, relative)
    return "overridden"


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::SyntaxWarning")
@pytest.mark.parametrize("group", [pytest.param(group, id=f"group-{group}") for group in range(GROUPS)])
def test_rewrite_stdlib_group(group):
    files = stdlib_files()[group::GROUPS]
    outcomes = [check_file(path) for path in files]

    assert len(files) > 100
    assert outcomes.count("invalid") < 10
    assert outcomes.count("overridden") >= 10
