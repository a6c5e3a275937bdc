"""Finding the field an override key names, with helpful errors when none does."""

from __future__ import annotations

from cascade_core.errors import AmbiguousKeyError, ImportedConfigError, UnknownKeyError


def lookup_field(config, key: str):
    """Return the field of `config` (a ScriptConfig) that `key` names.

    A key is a field's key, its qualified name ("Class.name"), or either one
    spelled with dashes for underscores ("batch-size"). For argparse scripts
    an option spelling ("--batch-size" without its dashes) works too.

    Raises:
        AmbiguousKeyError: A bare name is a field of several classes.
        ImportedConfigError: The key names a field of an imported config class.
        UnknownKeyError: No field matches. The message suggests close keys.
    """
    field = find_field(config, key)
    if field is not None:
        return field

    bare = key.replace("-", "_")
    matches = [field for field in config.fields if field.name == bare]
    if len(matches) > 1:
        spellings = " or ".join(f"--{field.qualname}" for field in matches)
        raise AmbiguousKeyError(
            f"--{key} is ambiguous: {_classes(matches)} each define {bare!r}; write {spellings}", key
        )

    if "." in bare:
        _raise_if_inherited(config, key, bare)
    _raise_if_imported(config, key, bare)
    raise UnknownKeyError(unknown_key_message(config, key), key)


def find_field(config, key: str):
    """Return the field `key` names exactly (key, qualified name or alias), or None."""
    index = _index(config)
    return index.get(key) or index.get(key.replace("-", "_"))


def unknown_key_message(config, key: str, extra_names=()) -> str:
    """Build the message for a key that names no field, with a did-you-mean."""
    script = config.path.name
    if not config.fields:
        return (
            f"--{key} cannot be applied: {script} has no config (no Config class, no UPPERCASE "
            "globals, no argparse options). Pass arguments for the script itself after --"
        )

    message = f"--{key} is not a field of {script}"
    suggestion = suggest(key, config.keys(), extra_names)
    if suggestion:
        message += f"; did you mean {suggestion}?"
    message += f" Fields: {', '.join(config.keys())}"
    return message


def suggest(key: str, keys, extra_names=()) -> str | None:
    """Return the closest spelling of `key` among field keys and run options, as typed."""
    spellings = {f"--{name}": name for name in keys}
    spellings.update({name: name.lstrip("-") for name in extra_names if name.startswith("--")})

    lowered = {name.lower(): spelling for spelling, name in spellings.items()}
    if key.lower() in lowered:
        return lowered[key.lower()]

    import difflib

    close = difflib.get_close_matches(key, list(spellings.values()), n=1, cutoff=0.6)
    if not close:
        return None
    return next(spelling for spelling, name in spellings.items() if name == close[0])


def _index(config) -> dict:
    index = config.__dict__.get("_lookup_index")
    if index is not None:
        return index

    index = {}
    for field in config.fields:
        index.setdefault(field.qualname, field)
        option = config.extras.get("argparse", {}).get(field.key)
        if option is not None:
            for spelling in option.option_strings:
                index.setdefault(spelling.lstrip("-"), field)
    for field in config.fields:
        index[field.key] = field
    config._lookup_index = index
    return index


def _classes(fields) -> str:
    names = [field.owner or "the script" for field in fields]
    return ", ".join(names[:-1]) + " and " + names[-1]


def _raise_if_inherited(config, key: str, bare: str) -> None:
    owner, _, name = bare.rpartition(".")
    if owner not in config.classes:
        return

    for base in _ancestors(config, owner):
        if find_field(config, f"{base}.{name}") is not None:
            raise UnknownKeyError(
                f"--{key}: {owner} inherits {name!r} from {base} without assigning it; "
                f"override it as --{base}.{name} (which changes {owner} too), "
                f"or assign {name} in {owner} to give it its own value",
                key,
            )


def _ancestors(config, name: str) -> list[str]:
    found: list[str] = []
    pending = list(config.classes[name].bases)
    while pending:
        base = pending.pop(0)
        if base not in found:
            found.append(base)
            pending.extend(config.classes[base].bases)
    return found


def _raise_if_imported(config, key: str, bare: str) -> None:
    owner, _, name = bare.rpartition(".")
    for imported in config.imported:
        if name not in imported.fields:
            continue
        if owner and owner != imported.name and imported.name not in _imported_bases(config, owner):
            continue
        location = f" ({imported.path})" if imported.path else ""
        raise ImportedConfigError(
            f"--{key}: {name!r} is a field of {imported.name}, which is imported from module "
            f"{imported.module!r}{location}, so it cannot be overridden from {config.path.name}; "
            f"define the config class in {config.path.name}, or run the script that defines it",
            config.path,
            imported.lineno,
        )


def _imported_bases(config, owner: str) -> tuple[str, ...]:
    config_class = config.classes.get(owner)
    return () if config_class is None else config_class.imported_bases
