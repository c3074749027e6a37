"""Each setting of a settings class as plain facts: its key, environment names, type, default
and description.

One walk over the pydantic fields, so the command line (its flags) and the generated
``docs/configuration.md`` read the settings classes instead of declaring them again.
Nested models (a node's ``engine``) are walked into: their settings have dotted keys
(``engine.threads``) and the nested environment names (``COMPUTEMESH_ENGINE__THREADS``).
"""

import json
import types
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Union, get_args, get_origin

from pydantic import AliasChoices, BaseModel, SecretStr
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings

NOT_SET = "\u2013"  # an en dash, as the docs' tables write "none"


@dataclass(frozen=True)
class Setting:
    """One setting: ``path`` is its place in the settings (``("engine", "threads")``)."""

    path: tuple[str, ...]
    annotation: Any
    default: Any
    description: str
    env: tuple[str, ...]

    @property
    def key(self) -> str:
        """The dotted key, as in TOML tables (``engine.threads``)."""
        return ".".join(self.path)

    @property
    def value_type(self) -> Any:
        """The annotation without ``| None``."""
        return without_none(self.annotation)

    @property
    def type_text(self) -> str:
        return type_text(self.annotation)

    @property
    def default_text(self) -> str:
        return value_text(self.default)


def settings_of(cls: type[BaseSettings]) -> list[Setting]:
    """Every setting of ``cls``, nested ones included, in declaration order."""
    prefix = str(cls.model_config.get("env_prefix") or "")
    delimiter = cls.model_config.get("env_nested_delimiter")
    found: list[Setting] = []
    for name, field in cls.model_fields.items():
        nested = _model_class(field.annotation)
        if nested is not None and delimiter:
            found += _nested(nested, (name,), f"{prefix}{name}{delimiter}".upper())
        else:
            found.append(_setting((name,), field, _env_names(name, field, prefix)))
    return found


def _nested(model: type[BaseModel], path: tuple[str, ...], env_prefix: str) -> list[Setting]:
    return [
        _setting((*path, name), field, ((env_prefix + name).upper(),))
        for name, field in model.model_fields.items()
    ]


def _setting(path: tuple[str, ...], field: FieldInfo, env: tuple[str, ...]) -> Setting:
    return Setting(
        path=path,
        annotation=field.annotation,
        default=field.get_default(call_default_factory=True),
        description=field.description or "",
        env=env,
    )


def _env_names(name: str, field: FieldInfo, prefix: str) -> tuple[str, ...]:
    """pydantic-settings reads an aliased field by its aliases alone, without the prefix."""
    alias = field.validation_alias
    if isinstance(alias, str):
        return (alias.upper(),)
    if isinstance(alias, AliasChoices):
        names = [choice.upper() for choice in alias.choices if isinstance(choice, str)]
        return tuple(dict.fromkeys(names))
    return (f"{prefix}{name}".upper(),)


def _model_class(annotation: Any) -> type[BaseModel] | None:
    plain = without_none(annotation)
    if isinstance(plain, type) and issubclass(plain, BaseModel):
        return plain
    return None


def without_none(annotation: Any) -> Any:
    """``X | None`` as ``X``; any other annotation as it is."""
    if get_origin(annotation) in (Union, types.UnionType):
        rest = [arg for arg in get_args(annotation) if arg is not type(None)]
        if len(rest) == 1:
            return rest[0]
    return annotation


def type_text(annotation: Any) -> str:
    """A reader's name for a type: ``int``, ``list of str``, ``one of "a", "b"``."""
    plain = without_none(annotation)
    optional = " (optional)" if plain is not annotation else ""
    if get_origin(plain) is Literal:
        return "one of " + ", ".join(json.dumps(choice) for choice in get_args(plain)) + optional
    if get_origin(plain) is list:
        [item] = get_args(plain)
        return f"list of {type_text(item)}"
    if plain is SecretStr:
        return "secret str" + optional
    if plain is Path:
        return "path" + optional
    name = getattr(plain, "__name__", str(plain))
    return f"{name}{optional}"


def value_text(value: Any) -> str:
    """A default as a reader writes it: TOML's ``true``, JSON lists, a dash for none."""
    if value is None:
        return NOT_SET
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return json.dumps([str(item) for item in value])
    if isinstance(value, str) and not value:
        return '""'
    return str(value)
