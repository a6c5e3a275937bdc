"""Reruns: start a recorded run again, with its recorded config forced and new overrides on top.

A rerun runs the script at the path the run recorded, as it is now on disk.
Every recorded config value is forced, so later edits to the script's
defaults do not change the rerun, and the new overrides apply on top. When the script
changed since the recorded run, the rerun reports the change as a unified diff.

`exact=True` runs the saved source instead: the script and the local modules
it imported, copied into the run folder's `sources/` when the run started
(see `snapshot_sources`).
"""

from __future__ import annotations

import ast
import json
import logging
import shutil
import warnings
from dataclasses import dataclass
from pathlib import Path

from cascade_core import store
from cascade_core.errors import ScriptChangedWarning, ScriptNotFoundError

logger = logging.getLogger(__name__)

SOURCES_DIR = "sources"


@dataclass(frozen=True)
class RerunPlan:
    """The launch plan of a rerun.

    Attributes:
        run: The recorded `Run` being rerun.
        launch_plan: The checked `run.LaunchPlan`: the script (the recorded
            path, or with `exact` the copy in the run's `sources/` folder),
            the recorded config as its base, the new overrides on top.
        base: The recorded config as a `bases.Base` labelled with the run id.
        script_diff: Unified diff from the sources the recorded run started
            from (the script and its local modules) to those on disk now.
            It is "" when nothing changed, and always with `exact`.
    """

    run: object
    launch_plan: object
    base: object
    script_diff: str

    @property
    def script(self) -> Path:
        return self.launch_plan.script


# Planning ------------------------------------------------------------------


def plan_rerun(ref, *overrides, exact: bool = False, force: bool = False, root=None) -> RerunPlan:
    """Compute what a rerun of `ref` launches, without launching it.

    Args:
        ref: A run reference: `last`, a run folder, a model folder or a
            unique run id prefix.
        *overrides: New overrides as CLI tokens (`"--lr", "0.1"`, then
            after a bare `"--"` arguments for the script) or one mapping of
            typed values, applied on top of the recorded config. Without new
            arguments after `"--"`, the recorded run's arguments are reused
            (argparse scripts get theirs from the config instead).
        exact: Run the source saved in the run folder instead of the script
            as it is now.
        force: Add recorded keys the script no longer defines instead of
            raising.
        root: The run store folder.

    Raises:
        RunNotFoundError, AmbiguousRunError: If `ref` matches no run or several.
        ScriptNotFoundError: If the script (or, with `exact`, its saved copy)
            no longer exists.
        UnknownBaseKeyError: If a recorded key is no longer defined by the
            script and `force` is False.
        OverrideError: If a new override is invalid.
    """
    from cascade_core.bases import Base
    from cascade_core.recorded import restore_values
    from cascade_core.run import Run, prepare

    run = Run.load(store.resolve(str(ref), root))
    script = _script_to_run(run, exact)
    base = Base(run.id, restore_values(run.path)["config"], kind="run")

    # The saved source is what ran, so keys added to it with -f belong there.
    launch_plan = prepare(
        script, *overrides, base=base, force=force or exact, argv=recorded_arguments(run, overrides, script), root=root
    )
    script_diff = "" if exact else changed_source_diff(run, script)
    return RerunPlan(run, launch_plan, base, script_diff)


def recorded_arguments(run, overrides, script: Path) -> tuple[str, ...]:
    """Return the recorded run's script arguments to pass again.

    None are reused when `overrides` has new ones after `"--"`, or for an
    argparse script, whose arguments come from its recorded config.
    """
    from cascade_core.discovery import discover

    if "--" in overrides or discover(script).style == "argparse":
        return ()
    return tuple(str(argument) for argument in (run.meta.get("argv") or [])[1:])


def _script_to_run(run, exact: bool) -> Path:
    if not exact:
        script = Path(run.script)
        if not script.is_file():
            raise ScriptNotFoundError(
                f"Cannot rerun {run.id}: its script {str(script)!r} no longer exists. "
                f"Pass --exact to run the source saved in {run.path}.",
                script,
            )
        return script

    saved = run.path / SOURCES_DIR / Path(run.script).name
    if not saved.is_file():
        raise ScriptNotFoundError(
            f"Cannot rerun {run.id} exactly: {str(saved)!r} does not exist, because the run was "
            "recorded without a source snapshot. Rerun it without --exact.",
            saved,
        )
    return saved


def changed_source_diff(run, script: Path) -> str:
    """Return a unified diff from the sources `run` started from to those on disk now ("" if equal).

    The sources the run started from are its snapshot in `sources/`: the
    script and the local modules it imported, each compared with the file
    at the same place under the script's folder. Runs without a snapshot
    are compared with `cascade_run_script.py`, which also shows the values
    that run overrode.
    """
    snapshot = run.path / SOURCES_DIR
    saved_script = snapshot / Path(run.script).name
    if not saved_script.is_file():
        return _file_diff(run, run.path / store.SCRIPT_FILE, script)

    pairs = [(saved_script, script)]
    for saved in sorted(snapshot.rglob("*.py")):
        if saved != saved_script:
            pairs.append((saved, script.parent / saved.relative_to(snapshot)))
    return "".join(_file_diff(run, saved, current) for saved, current in pairs)


def _file_diff(run, saved: Path, current: Path) -> str:
    before = _read_source(saved)
    now = _read_source(current)
    if before is None or before == now:
        return ""

    import difflib

    lines = difflib.unified_diff(
        before.splitlines(keepends=True),
        (now or "").splitlines(keepends=True),
        fromfile=f"{run.id}/{saved.relative_to(run.path).as_posix()}",
        tofile=str(current) if now is not None else f"{current} (deleted)",
    )
    return "".join(line if line.endswith("\n") else line + "\n" for line in lines)


def _read_source(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except (FileNotFoundError, IsADirectoryError):
        return None


# Launching -----------------------------------------------------------------


def start_rerun(ref, *overrides, exact: bool = False, force: bool = False, root=None, **run_options):
    """Start a rerun of a recorded run and return the running `Run` at once.

    Takes the arguments of `plan_rerun`, plus the options of
    `cascade_core.start` (`name`, `tags`, `no_log`, `chdir`, `sweep_id`,
    `on_stdout`, `on_stderr`, `on_exit`, `env`, `interactive`). When the
    script or its local modules changed since the recorded run, a
    `ScriptChangedWarning` carrying the diff is issued. The new run records the rerun run's id as its `base`.

    Raises:
        The errors of `plan_rerun`.
    """
    plan = plan_rerun(ref, *overrides, exact=exact, force=force, root=root)
    if plan.script_diff:
        warnings.warn(
            f"{plan.script} or its local modules changed since run {plan.run.id}:\n{plan.script_diff}",
            ScriptChangedWarning,
            stacklevel=2,
        )
    return launch_rerun(plan, root=root, **run_options)


def launch_rerun(plan: RerunPlan, root=None, **run_options):
    """Start the run that a `RerunPlan` describes and return it at once."""
    from cascade_core.run import launch

    logger.info("Rerunning %s from %s", plan.run.id, plan.script)
    return launch(plan.launch_plan, root=root, **run_options)


# Source snapshots ----------------------------------------------------------


def snapshot_sources(script_path, run_path) -> list[Path]:
    """Copy a script and the local modules it imports into `<run_path>/sources/`.

    Local modules are found statically: every `import` and `from ... import`
    in the script (at any depth, inside functions and `try` blocks too) is
    resolved against the script's folder, then the same is done for each
    module found, relative imports included. Modules outside the script's
    folder (the standard library, site-packages) are not copied. Paths under
    `sources/` are those relative to the script's folder.

    A file that cannot be copied is logged and left out, so the snapshot
    never stops a run from starting.

    Returns:
        The copied files, in the order found, the script first.
    """
    script = Path(script_path).resolve()
    target = Path(run_path) / SOURCES_DIR
    copied = []
    for module in local_modules(script):
        destination = target / module.relative_to(script.parent)
        try:
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(module, destination)
        except OSError as exc:
            logger.warning("Cannot copy %s into the source snapshot of %s: %s", module, run_path, exc)
            continue
        copied.append(destination)
    return copied


def local_modules(script: Path) -> list[Path]:
    """Return the script and the files of the local modules it imports, transitively."""
    script = Path(script).resolve()
    folder = script.parent
    found = [script]
    pending = [script]
    while pending:
        module = pending.pop()
        for path in _imported_files(module, folder):
            if path not in found:
                found.append(path)
                pending.append(path)
    return found


def _imported_files(module: Path, folder: Path) -> list[Path]:
    from cascade_core.sourcefile import paused_gc

    try:
        with paused_gc():
            tree = ast.parse(_module_code(module), filename=str(module))
    except (SyntaxError, ValueError, OSError) as exc:
        logger.warning("Cannot read the imports of %s for the source snapshot: %s", module, exc)
        return []

    package = _package_parts(module, folder)
    files = []
    for node in ast.walk(tree):
        for dotted in _imported_names(node, package):
            files.extend(_files_for(dotted, folder))
    return files


def _module_code(module: Path) -> bytes | str:
    """Return a module's source, or for a notebook its code cells without IPython magics and shell commands."""
    if module.suffix != ".ipynb":
        return module.read_bytes()

    notebook = json.loads(module.read_text(encoding="utf-8"))
    lines = []
    for cell in notebook.get("cells", []):
        if cell.get("cell_type") != "code":
            continue
        source = cell.get("source", "")
        text = "".join(source) if isinstance(source, list) else str(source)
        if text.lstrip().startswith("%%"):
            continue  # a cell magic: its body is not Python
        lines += [line for line in text.splitlines() if not line.lstrip().startswith(("%", "!"))]
    return "\n".join(lines)


def _package_parts(module: Path, folder: Path) -> list[str]:
    return list(module.relative_to(folder).parent.parts)


def _imported_names(node: ast.AST, package: list[str]) -> list[list[str]]:
    if isinstance(node, ast.Import):
        return [alias.name.split(".") for alias in node.names]
    if not isinstance(node, ast.ImportFrom):
        return []

    if node.level:
        base = package[: len(package) - (node.level - 1)] if node.level - 1 <= len(package) else None
        if base is None:
            return []
    else:
        base = []
    module = base + (node.module.split(".") if node.module else [])
    # `from pkg import name` may import the submodule pkg/name.py.
    return [module] + [module + [alias.name] for alias in node.names if alias.name != "*"]


def _files_for(dotted: list[str], folder: Path) -> list[Path]:
    files = []
    current = folder
    for part in dotted:
        package_init = current / part / "__init__.py"
        module_file = current / f"{part}.py"
        if package_init.is_file():
            files.append(package_init)
        elif module_file.is_file():
            files.append(module_file)
            break
        elif not (current / part).is_dir():
            break
        current = current / part
    return files
