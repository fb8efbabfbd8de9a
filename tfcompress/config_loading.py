"""Turn YAML mappings into dataclasses, with errors that name the offending key."""

import dataclasses
import types
import typing
from pathlib import Path

import yaml

from tfcompress.errors import ConfigError


def read_yaml(path, overrides=None):
    """The mapping in a YAML file, with dotted `overrides` ({"training.epochs": 1}) applied."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file {path} does not exist")
    try:
        values = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f":{mark.line + 1}" if mark else ""
        raise ConfigError(f"{path}{where}: not valid YAML ({getattr(e, 'problem', e)})") from None
    if not isinstance(values, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level")
    for dotted, value in (overrides or {}).items():
        _set_dotted(values, dotted, value)
    return values


def _set_dotted(values, dotted, value):
    *parents, last = dotted.split(".")
    node = values
    for key in parents:
        node = node.setdefault(key, {})
        if not isinstance(node, dict):
            raise ConfigError(f"config.{dotted}: {key} is not a mapping")
    node[last] = value


def resolve_path(path, base_dir):
    """`path` made absolute against `base_dir` (None stays None)."""
    return None if path is None else str((Path(base_dir) / Path(path).expanduser()).resolve())


def _coerce(value, annotation):
    """`value` as `annotation` (a plain type), or raises TypeError."""
    annotation = typing.get_origin(annotation) or annotation
    if annotation is typing.Any:
        return value
    if annotation is float and not isinstance(value, bool):
        if isinstance(value, int):
            return float(value)
        if isinstance(value, str):  # YAML 1.1 reads 1e-3 as a string
            try:
                return float(value)
            except ValueError:
                pass
    if isinstance(value, annotation) and not (annotation is int and isinstance(value, bool)):
        return value
    raise TypeError


def _check_type(value, annotation, where):
    """Checks `value` against an annotation: a plain type or a union of them (e.g. `int | None`)."""
    union = typing.get_origin(annotation) in (typing.Union, types.UnionType)
    options = typing.get_args(annotation) if union else (annotation,)
    if value is None and type(None) in options:
        return value
    for option in options:
        if option is type(None):
            continue
        try:
            return _coerce(value, option)
        except TypeError:
            continue
    names = " or ".join(getattr(o, "__name__", str(o)) for o in options if o is not type(None))
    raise ConfigError(f"{where}: expected {names}, got {value!r}")


def dataclass_from_dict(cls, values, where):
    """Builds `cls` from `values`; nested dataclass fields recurse with a dotted `where`."""
    if values is None:
        values = {}
    if not isinstance(values, dict):
        raise ConfigError(f"{where}: expected a mapping, got {values!r}")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - set(fields))
    if unknown:
        raise ConfigError(
            f"{where}.{unknown[0]}: unknown key; expected one of {', '.join(sorted(fields))}"
        )
    hints = typing.get_type_hints(cls)
    kwargs = {}
    for name, field in fields.items():
        key = f"{where}.{name}"
        if name not in values:
            no_default = field.default is dataclasses.MISSING
            if no_default and field.default_factory is dataclasses.MISSING:
                raise ConfigError(f"{key}: required")
            continue
        hint = hints[name]
        if dataclasses.is_dataclass(hint) and values[name] is None and field.default is None:
            kwargs[name] = None  # an optional section, absent (as to_dict writes it back)
        elif dataclasses.is_dataclass(hint):
            kwargs[name] = dataclass_from_dict(hint, values[name], key)
        else:
            kwargs[name] = _check_type(values[name], hint, key)
    try:
        return cls(**kwargs)
    except ConfigError as e:
        raise ConfigError(f"{where}.{e}") from None


def require_positive(config, *keys):
    """ConfigError naming the first of `keys` whose value on `config` is not > 0."""
    for key in keys:
        if getattr(config, key) <= 0:
            raise ConfigError(f"{key}: must be positive, got {getattr(config, key)}")
