"""Config discovery and source rewriting on a generated 10,000-line script.

    .venv/bin/python benchmarks/bench_discovery.py [--quick] [--lines N]

The script has a config class of 200 fields (annotated, plain, expressions,
containers), UPPERCASE globals, and functions and classes filling the rest.
Timed in this process, best of several calls:

- `discover(path)`: reading the file and finding every field;
- `rewrite()` with 10 overrides, on the discovered config;
- the two together, which is what a run pays before its child starts.

The ratio against `ast.parse` of the same text shows what discovery adds to
parsing alone.
"""

from __future__ import annotations

import argparse
import ast
import shutil
import sys

import _harness as h

TOTAL_TARGET_SECONDS = 0.2

FIELD_TEMPLATES = (
    "    lr_{n}: float = 1e-3",
    "    size_{n} = ({n}, {n})",
    "    name_{n}: str = 'model-{n}'",
    "    flag_{n}: bool = False",
    "    scaled_{n} = 2 * BASE_{n}",
    "    layers_{n}: list[int] = [64, 128, {n}]",
    "    mode_{n}: Literal['a', 'b'] = 'a'  # a comment",
    "    table_{n} = {{'k': {n}, 'v': [1, 2]}}",
)

FILLER = '''

def step_{n}(batch, weights=None):
    """Apply update {n} to a batch."""
    total = 0
    for index, item in enumerate(batch):
        if index % 3 == 0:
            total += item * {n}
        else:
            total -= item / ({n} + 1)
    return {{"step": {n}, "total": total, "text": f"step {{total:.3f}}"}}


class Block{n}:
    width = {n}

    def __call__(self, x):
        return [value + self.width for value in x]
'''


def generate(lines: int) -> str:
    """Return a script of exactly `lines` lines: imports, globals, a 200-field config class, then filler code."""
    header = ["from typing import Literal", "", "from cascade_core import Config", ""]
    header += [f"BASE_{n} = {n}.5" for n in range(25)]
    header += ["", "", "class TrainConfig(Config):", '    """Settings of the generated training run."""']
    header += [FIELD_TEMPLATES[n % len(FIELD_TEMPLATES)].format(n=n) for n in range(200)]
    body: list[str] = []
    number = 0
    while True:
        block = FILLER.format(n=number).splitlines()
        if len(header) + len(body) + len(block) > lines:
            break
        body.extend(block)
        number += 1
    padding = ["# end of generated code"] * (lines - len(header) - len(body))
    return "\n".join([*header, *body, *padding]) + "\n"


OVERRIDES = {"lr_0": 0.1, "size_1": (32, 32), "name_2": "resnet", "flag_3": True, "scaled_4": 7.0,
             "layers_5": [1, 2], "mode_6": "b", "table_7": {"k": 1}, "lr_192": 0.5, "size_193": (1, 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 calls per measure instead of 15 (a smoke pass)")
    parser.add_argument("--lines", type=int, default=10_000, help="lines of the generated script (default 10000)")
    args = parser.parse_args()

    from cascade_core.discovery import discover
    from cascade_core.rewrite import rewrite

    repeat = 3 if args.quick else 15
    folder = h.work_folder("discovery")
    try:
        script = folder / "generated.py"
        source = generate(args.lines)
        script.write_text(source)
        config = discover(script)
        if len(config.fields) != 200:
            raise RuntimeError(f"discovery found {len(config.fields)} fields in the generated script, expected 200")
        rewritten = rewrite(config.source, config, OVERRIDES)
        if rewritten.count("\n") != source.count("\n"):
            raise RuntimeError("the rewritten script has a different line count")

        print(f"== discovery and rewrite: {args.lines:,}-line script, {len(config.fields)} fields, "
              f"{len(OVERRIDES)} overrides (best of {repeat})", flush=True)
        parse = h.best_of(lambda: ast.parse(source), repeat)
        found = h.best_of(lambda: discover(script), repeat)
        changed = h.best_of(lambda: rewrite(config.source, config, OVERRIDES), repeat)
        both = h.best_of(lambda: rewrite(config.source, discover(script), OVERRIDES), repeat)

        h.note(f"ast.parse {h.seconds(parse)}, discover {h.seconds(found)}, rewrite {h.seconds(changed)}")
        h.figure("discovery.discover_and_rewrite", both, "s",
                 f"discover() then rewrite() of {args.lines:,} lines", TOTAL_TARGET_SECONDS)
        h.report("discovery.vs_ast_parse", both, parse, "discover() + rewrite() / ast.parse() of the same text")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
