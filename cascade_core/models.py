"""Models and model lines: saved models with their files, metrics, config and run.

A model line is a folder of numbered model folders, in the layout of
cascade-ml 0.18, so its `ModelLine` and viewers read lines written here:

    line/
        meta.json           [{"type": "model_line", "len": 2, ...}]
        00000/
            meta.json       [{"type": "model", "run_id": ..., "metrics": [...], ...}]
            SLUG            the model's slug, as cascade-ml looks it up
            files/          attached files, copied at save time
        00001/
            ...

Inside a run, saving also appends a line to the run folder's `models.jsonl`,
so the run lists the models it saved (`models_of_run`).
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import sys
import warnings
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from cascade_core import store
from cascade_core.errors import (
    ModelFileConflictError,
    ModelFileNotFoundError,
    ModelTypeError,
    NotALineError,
    OutsideRunWarning,
)
from cascade_core.metrics import (
    RUN_DIR_ENV,
    append_json_line,
    check_metric_name,
    check_metric_value,
    current_run_dir,
    current_run_id,
    json_safe,
    read_json_lines,
)

logger = logging.getLogger(__name__)

META_FILE = "meta.json"
SLUG_FILE = "SLUG"
FILES_DIR = "files"
RUN_CONFIG_FILE = store.CONFIG_FILE

CASCADE_ML_FORMAT = "0.18.0"
"""The cascade-ml version whose line and model layout these files follow."""

_MODEL_FOLDER = re.compile(r"^\d{5,}$")
_UNSET = object()


@dataclass(frozen=True)
class _Attachment:
    source: Path
    from_run: bool  # a run file missing at save time is skipped with a warning, not an error


def _utc_now() -> datetime:
    return datetime.now(timezone.utc)


# Model ---------------------------------------------------------------------


class Model:
    """A model to save into a `ModelLine`: files, metrics, params, config and the run it came from.

    Nothing is written until `ModelLine.save(model)`. Files are copied then,
    so a log attached with `add_log()` contains the output printed so far.

    Args:
        description: Free text shown by cascade-ml's viewers.
        tags: Tags stored with the model.
        **params: Hyperparameters or any JSON-friendly values, stored under
            `params` in the model's `meta.json`.

    Example:
        >>> model = Model(arch="resnet18")
        >>> model.add_file("weights.pt")
        >>> model.add_log()
        >>> model.add_config()
        >>> model.add_metric("val/acc", 0.93)
        >>> ModelLine("models/resnet").save(model)
    """

    def __init__(self, description: str | None = None, tags=(), **params):
        if tags is None:
            tags = ()
        elif isinstance(tags, str):
            tags = [tags]
        self.description = description
        self.tags = list(tags)
        self.params = dict(params)
        self.metrics: list[dict] = []
        self.created_at = _utc_now()
        self._attachments: dict[str, _Attachment] = {}
        self._config: dict | None = None

    def __repr__(self) -> str:
        names = ", ".join(self._attachments) or "no files"
        return f"Model({len(self.metrics)} metrics, {names})"

    # Files -----------------------------------------------------------------

    def add_file(self, path, name: str | None = None) -> None:
        """Attach a file or folder, copied into the model's `files/` when the model is saved.

        Attaching the same path twice attaches it once.

        Args:
            path: An existing file or folder.
            name: The name inside `files/`. Defaults to the source's own name.

        Raises:
            ModelFileNotFoundError: If `path` does not exist.
            ModelFileConflictError: If another file is already attached under that name.
            ModelTypeError: If `name` is not a plain file name.
        """
        source = Path(path).expanduser()
        if not source.exists():
            raise ModelFileNotFoundError(
                f"Cannot attach {str(path)!r} to the model: no such file or folder "
                f"(relative to {os.getcwd()}). Check the path, or write the file before attaching it.",
                path=path,
            )
        self._attach(source.absolute(), name, from_run=False)

    def add_log(self) -> None:
        """Attach the current run's log (`logs/cascade_run.log`), as it is when the model is saved.

        Outside a run this warns with `OutsideRunWarning` and attaches nothing.
        A run started with `--no-log` has no log, and saving then warns.
        """
        folder = _run_folder_or_warn("add_log", "no log is attached", stacklevel=3)
        if folder is None:
            return

        self._attach(folder / store.LOG_FILE, None, from_run=True)

    def add_config(self, config=_UNSET) -> None:
        """Record the model's config.

        Without an argument, inside a run, this attaches the run's
        `cascade_config.json`, `cascade_overrides.json` and
        `cascade_run_meta.json` as they are when the model is saved. It also
        records the run's config under `config` in the model's meta. Outside
        a run it warns with `OutsideRunWarning` and records nothing.

        A config may be a `Config` instance or class, cascade-ml's `Config`,
        a dict, an `argparse.Namespace` or a dataclass instance. In or outside
        a run, it is recorded under `config` and written as
        `files/cascade_config.json`, so the saved model can serve as a base
        for a later run. The last call to `add_config` decides the config.

        Raises:
            ModelTypeError: If `config` is not one of the types above.
        """
        if config is _UNSET:
            self._add_run_config()
            return

        self._config = config_to_dict(config)
        self._attachments.pop(RUN_CONFIG_FILE, None)

    def add_metric(self, name: str, value) -> None:
        """Record a metric value with the model, replacing any earlier value of the same name.

        Raises:
            InvalidMetricError: If the name is empty.
            MetricTypeError: If the name is not a string or the value not a real number.
        """
        block = {
            "name": check_metric_name(name),
            "value": check_metric_value(name, value),
            "created_at": _utc_now().isoformat(),
        }
        for index, existing in enumerate(self.metrics):
            if existing["name"] == name:
                self.metrics[index] = block
                return
        self.metrics.append(block)

    # Meta ------------------------------------------------------------------

    def get_meta(self) -> list[dict]:
        """Return the model's meta as cascade-ml 0.18 lays it out, before the keys added at save time."""
        block = {
            "name": f"{type(self).__module__}.{type(self).__qualname__}",
            "description": self.description,
            "tags": self.tags,
            "comments": [],
            "links": [],
            "type": "model",
            "created_at": self.created_at.isoformat(),
            "metrics": self.metrics,
            "params": self.params,
        }
        return [json_safe(block)]

    # Internals used by ModelLine.save -------------------------------------

    def _attach(self, source: Path, name: str | None, from_run: bool) -> None:
        name = _check_file_name(source.name if name is None else name)
        existing = self._attachments.get(name)
        if existing is not None and existing.source != source:
            raise ModelFileConflictError(
                f"Cannot attach {str(source)!r} as {name!r}: {str(existing.source)!r} is already attached "
                f"under that name. Give another name: model.add_file(path, name='other_{name}')",
                path=source,
            )
        if name == RUN_CONFIG_FILE:
            self._config = None
        self._attachments[name] = _Attachment(source, from_run)

    def _add_run_config(self) -> None:
        folder = _run_folder_or_warn("add_config", "no config is attached", stacklevel=4)
        if folder is None:
            return

        for name in (store.CONFIG_FILE, store.OVERRIDES_FILE, store.META_FILE):
            self._attach(folder / name, None, from_run=True)

    def _files_to_copy(self) -> dict[str, Path]:
        """Return name -> source of the attachments that exist now.

        Raises:
            ModelFileNotFoundError: If a file attached with `add_file` was removed since.
        """
        files = {}
        for name, attachment in self._attachments.items():
            if attachment.source.exists():
                files[name] = attachment.source
            elif attachment.from_run:
                warnings.warn(
                    f"The run file {str(attachment.source)!r} does not exist, so the model is saved without it. "
                    "A run started with --no-log has no log file.",
                    UserWarning,
                    stacklevel=3,
                )
            else:
                raise ModelFileNotFoundError(
                    f"Cannot save the model: the attached file {str(attachment.source)!r} no longer exists. "
                    "Write it again or attach another file before saving.",
                    path=attachment.source,
                )
        return files

    def _config_to_record(self, files: dict[str, Path]) -> dict | None:
        if self._config is not None:
            return self._config

        attachment = self._attachments.get(RUN_CONFIG_FILE)
        if attachment is None or not attachment.from_run or RUN_CONFIG_FILE not in files:
            return None
        return store.read_json(attachment.source)


def _run_folder_or_warn(method: str, consequence: str, stacklevel: int) -> Path | None:
    folder = current_run_dir()
    if folder is None:
        warnings.warn(
            f"Model.{method}() was called outside a run ({RUN_DIR_ENV} is not set), so {consequence}. "
            "Start the script with `cascade run SCRIPT` to record it.",
            OutsideRunWarning,
            stacklevel=stacklevel,
        )
    return folder


def _check_file_name(name: object) -> str:
    if not isinstance(name, str) or name in ("", ".", "..") or "/" in name or "\\" in name:
        raise ModelTypeError(
            f"A model file name must be a plain file name without folders, got {name!r}. Example: name='weights.pt'"
        )
    return name


def config_to_dict(config: object) -> dict:
    """Return the fields of a config as a dict.

    Accepts a mapping, an `argparse.Namespace`, a dataclass instance, an
    object with `to_dict()` (a `Config` instance, also cascade-ml's), or a
    config class, which is instantiated without arguments for its defaults.

    Raises:
        ModelTypeError: If `config` is none of these.
    """
    import dataclasses
    from argparse import Namespace
    from collections.abc import Mapping

    if isinstance(config, type) and callable(getattr(config, "to_dict", None)):
        config = _default_instance(config)
    if isinstance(config, Mapping):
        return dict(config)
    if isinstance(config, Namespace):
        return vars(config).copy()
    if dataclasses.is_dataclass(config) and not isinstance(config, type):
        return dataclasses.asdict(config)
    if callable(getattr(config, "to_dict", None)):
        return dict(config.to_dict())

    raise ModelTypeError(
        f"add_config() needs a config: a Config instance or class, a dict, an argparse.Namespace "
        f"or a dataclass instance, got {type(config).__name__} {config!r:.80}. "
        "Call add_config() without an argument inside a run to attach the run's config."
    )


def _default_instance(config_class: type) -> object:
    try:
        return config_class()
    except TypeError as error:
        raise ModelTypeError(
            f"add_config() cannot create {config_class.__name__}() to read its defaults: {error}. "
            f"Pass an instance instead: add_config({config_class.__name__}(...))"
        ) from error


# Model line ----------------------------------------------------------------


class ModelLine:
    """A folder of numbered model folders (`00000`, `00001`, ...) with its own `meta.json`.

    The folder is created by the first `save`. Constructing a `ModelLine`
    only checks that an existing `path` is a model line.

    Args:
        path: The line's folder, with `~` expanded.

    Raises:
        NotALineError: If `path` exists but is a file, a model folder, another
            cascade-ml object, a line with YAML meta, or a folder with other content.
    """

    def __init__(self, path):
        self.root = Path(path).expanduser().absolute()
        _check_line_folder(self.root)

    def __repr__(self) -> str:
        return f"ModelLine({str(self.root)!r}, {len(self)} models)"

    def __len__(self) -> int:
        return len(self.model_paths())

    def model_paths(self) -> list[Path]:
        """Return the model folders of the line in number order, including one being saved right now."""
        if not self.root.is_dir():
            return []
        return [self.root / name for name in _model_folder_names(self.root)]

    def load_model_meta(self, model: int | str) -> list[dict]:
        """Return the meta of a model of this line.

        Args:
            model: Its position in `model_paths()` (negative counts from the
                end), its folder name (`"00003"`) or its slug.

        Raises:
            FileNotFoundError: If no model matches, or its `meta.json` is not written yet.
        """
        folder = self._find_model(model)
        meta = store.read_json(folder / META_FILE)
        if meta is None:
            raise FileNotFoundError(f"Model folder {str(folder)!r} has no readable {META_FILE} (is it being saved right now?)")
        return meta

    def get_meta(self) -> list[dict]:
        """Return the line's meta, or [] before the first save."""
        return store.read_json(self.root / META_FILE) or []

    def save(self, model: Model) -> Path:
        """Save `model` into the next numbered folder of the line and return that folder.

        The number is claimed with `os.mkdir`, so parallel saves, from any
        number of processes, get distinct folders. The model's `meta.json` is
        written last and atomically, so a folder that has it is complete. If
        anything fails after the folder is claimed, the folder is removed.

        Raises:
            ModelTypeError: If `model` is not a `Model`.
            ModelFileNotFoundError: If a file attached with `add_file` no longer exists.
        """
        if not isinstance(model, Model):
            raise ModelTypeError(
                f"ModelLine.save() needs a cascade_core Model, got {type(model).__name__}. "
                "Models of cascade-ml go into cascade-ml's own ModelLine."
            )
        files = model._files_to_copy()
        config = model._config_to_record(files)

        self.root.mkdir(parents=True, exist_ok=True)
        folder = _claim_model_folder(self.root)
        try:
            meta = _fill_model_folder(folder, model, files, config)
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise

        _update_line_meta(self.root)
        _record_in_run(meta[0])
        logger.info("Saved model %s (run %s)", folder, meta[0]["run_id"])
        return folder

    def _find_model(self, model: int | str) -> Path:
        names = _model_folder_names(self.root) if self.root.is_dir() else []
        if isinstance(model, int) and not isinstance(model, bool):
            if -len(names) <= model < len(names):
                return self.root / names[model]
        elif isinstance(model, str):
            if model in names:
                return self.root / model
            for name in names:
                if _read_text(self.root / name / SLUG_FILE) == model:
                    return self.root / name
        raise FileNotFoundError(f"No model {model!r} in the line {str(self.root)!r}, which has {len(names)} models.")


# Line folder helpers -------------------------------------------------------


def _check_line_folder(root: Path) -> None:
    if not root.exists():
        return
    if not root.is_dir():
        raise NotALineError(f"Cannot use {str(root)!r} as a model line: it is a file. Give a folder path.", path=root)

    meta_files = sorted(path.name for path in root.glob("meta.*"))
    if META_FILE in meta_files:
        _check_line_meta(root, store.read_json(root / META_FILE))
        return
    if meta_files:
        raise NotALineError(
            f"The line {str(root)!r} keeps its meta as {meta_files[0]}, which cascade_core does not write. "
            "Save into it with cascade-ml's ModelLine, or use a new line folder.",
            path=root,
        )

    others = sorted(entry.name for entry in root.iterdir() if not _is_model_entry(entry))
    if others:
        listed_names = ", ".join(others[:3]) + (", ..." if len(others) > 3 else "")
        raise NotALineError(
            f"Cannot use {str(root)!r} as a model line: it is a folder with other content ({listed_names}). "
            "Give an empty or new folder.",
            path=root,
        )


def _check_line_meta(root: Path, meta: object) -> None:
    first = meta[0] if isinstance(meta, list) and meta and isinstance(meta[0], dict) else {}
    kind = first.get("type")
    if kind == "model_line":
        return

    hint = " It is a model folder; give its parent, the line." if kind == "model" else ""
    raise NotALineError(
        f"Cannot use {str(root)!r} as a model line: its {META_FILE} has type {kind!r}, "
        f"expected 'model_line'.{hint}",
        path=root,
    )


def _is_model_entry(entry: Path) -> bool:
    return entry.name.startswith(".") or (_MODEL_FOLDER.match(entry.name) is not None and entry.is_dir())


def _model_folder_names(root: Path) -> list[str]:
    names = [entry.name for entry in root.iterdir() if _MODEL_FOLDER.match(entry.name) and entry.is_dir()]
    return sorted(names, key=int)


def _claim_model_folder(root: Path) -> Path:
    """Create and return the next free numbered folder.

    `os.mkdir` fails for a name that another save took, so each folder goes to one save.
    """
    names = _model_folder_names(root)
    number = int(names[-1]) + 1 if names else 0
    while True:
        folder = root / f"{number:05d}"
        try:
            os.mkdir(folder)
        except FileExistsError:
            number += 1
            continue
        return folder


def _fill_model_folder(folder: Path, model: Model, files: dict[str, Path], config: dict | None) -> list[dict]:
    if files:
        (folder / FILES_DIR).mkdir()
    for name, source in files.items():
        _copy(source, folder / FILES_DIR / name)
    if model._config is not None:
        (folder / FILES_DIR).mkdir(exist_ok=True)
        store.write_json(folder / FILES_DIR / RUN_CONFIG_FILE, json_safe(model._config))

    slug = os.urandom(4).hex()
    (folder / SLUG_FILE).write_text(slug, encoding="utf-8")

    meta = model.get_meta()
    meta[0].update(_save_keys(folder, slug))
    meta[0]["files"] = sorted(set(files) | ({RUN_CONFIG_FILE} if model._config is not None else set()))
    if config is not None:
        meta[0]["config"] = json_safe(config)
    store.write_json(folder / META_FILE, meta)
    return meta


def _copy(source: Path, target: Path) -> None:
    if source.is_dir():
        shutil.copytree(source, target)
    else:
        shutil.copyfile(source, target)


def _save_keys(folder: Path, slug: str) -> dict:
    """Return the keys that cascade-ml adds to a model's meta at save time, plus the run's."""
    run_dir = current_run_dir()
    keys = {
        "path": str(folder),
        "slug": slug,
        "saved_at": _utc_now().isoformat(),
        "python_version": sys.version,
        "user": _user_name(),
        "host": _host_name(),
        "run_id": current_run_id(),
        "run_path": None if run_dir is None else str(run_dir.absolute()),
        "cascade_ext_version": _package_version(),
    }
    keys.update(_git_keys())
    return keys


def _git_keys() -> dict:
    from cascade_core.environment import git_state

    main_file = getattr(sys.modules.get("__main__"), "__file__", None)
    folder = Path(main_file).absolute().parent if main_file else Path.cwd()
    state = git_state(folder)
    if state is None:
        return {}
    return {
        "cwd": os.getcwd(),
        "git_commit": state["commit"],
        "git_branch": state["branch"],
        "git_dirty": state["dirty"],
    }


def _update_line_meta(root: Path) -> None:
    """Rewrite the line's `meta.json` with the current model count, keeping the keys it has."""
    with _folder_lock(root):
        meta = store.read_json(root / META_FILE)
        if not (isinstance(meta, list) and meta and isinstance(meta[0], dict)):
            meta = [_new_line_block()]
        now = str(_utc_now())
        meta[0].update(
            {
                "type": "model_line",
                "root": str(root),
                "len": len(_model_folder_names(root)),
                "updated_at": now,
            }
        )
        meta[0].setdefault("created_at", now)
        store.write_json(root / META_FILE, meta)


def _new_line_block() -> dict:
    return {
        "name": f"{ModelLine.__module__}.{ModelLine.__qualname__}",
        "description": None,
        "tags": [],
        "comments": [],
        "links": [],
        "item_cls": "Model",
        "cascade_version": CASCADE_ML_FORMAT,
        "cascade_ext_version": _package_version(),
    }


class _folder_lock:
    """An exclusive `flock` on a folder, held for a `with` block (no lock where `fcntl` is missing)."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.descriptor = None

    def __enter__(self):
        try:
            import fcntl
        except ImportError:
            # NOTE: Windows has no fcntl, so parallel saves there may leave
            # the line's `len` one behind. Model folders are still distinct.
            return self
        self.descriptor = os.open(self.folder, os.O_RDONLY)
        fcntl.flock(self.descriptor, fcntl.LOCK_EX)
        return self

    def __exit__(self, *exc_info):
        if self.descriptor is not None:
            os.close(self.descriptor)
        return False


# Runs and models -----------------------------------------------------------


def _record_in_run(block: dict) -> None:
    run_dir = current_run_dir()
    if run_dir is None:
        return

    record = {
        "path": block["path"],
        "line": str(Path(block["path"]).parent),
        "saved_at": block["saved_at"],
        "slug": block["slug"],
    }
    append_json_line(run_dir / store.MODELS_FILE, record)


def models_of_run(run_path) -> list[dict]:
    """Return the models a run saved, oldest first.

    Each record has `path` (the model folder), `line` (the line folder),
    `saved_at` (ISO 8601 in UTC) and `slug`. A model folder deleted since
    is still listed.
    """
    return read_json_lines(Path(run_path) / store.MODELS_FILE)


# Small I/O helpers ---------------------------------------------------------


def _read_text(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8").strip()
    except OSError:
        return None


def _user_name() -> str | None:
    import getpass

    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return None


def _host_name() -> str:
    import socket

    return socket.gethostname()


def _package_version() -> str:
    from cascade_core import __version__

    return __version__
