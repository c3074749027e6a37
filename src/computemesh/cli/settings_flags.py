"""Command-line flags made from a settings class, so no command declares a setting again.

A ``FlagSet`` names which settings a command offers as flags; each flag takes its name,
type and help from the setting (``http_port`` is ``--http-port INTEGER``, a bool is
``--x/--no-x``, a list is repeated). Every flag's own default is "not given", so a setting
left off the command line keeps its place in the precedence: environment, then TOML,
then the class default. A nested setting's flag drops the table (``engine.threads`` is
``--threads``).
"""

import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic_settings import BaseSettings
from rich.markup import escape

from computemesh.config.fields import Setting, settings_of

# The body of a command: the ``--config`` file, the flags given (nested as the settings
# are), then the command's own options as keywords.
Body = Callable[..., None]
# Types click parses itself; anything else (literals, secrets) reaches pydantic as text,
# so a bad value is refused in one line naming the setting, like every other bad setting.
CLICK_TYPES = (bool, int, float, Path)


@dataclass(frozen=True)
class Flag:
    """A setting offered on the command line as ``--name``."""

    setting: Setting
    name: str

    @property
    def parameter(self) -> str:
        """The command function's parameter name (an identifier, unique per command)."""
        return "__".join(self.setting.path)

    def signature_parameter(self) -> inspect.Parameter:
        kind = self.setting.value_type
        if getattr(kind, "__origin__", None) is list:
            annotation: Any = list[str] | None
        else:
            annotation = (kind if kind in CLICK_TYPES else str) | None
        decls = f"--{self.name}/--no-{self.name}" if kind is bool else f"--{self.name}"
        option = typer.Option(decls, help=escape(self.help), show_default=False)
        return inspect.Parameter(
            self.parameter,
            inspect.Parameter.KEYWORD_ONLY,
            default=None,
            annotation=Annotated[annotation, option],
        )

    @property
    def help(self) -> str:
        env = " or ".join(self.setting.env)
        return f"{self.setting.description} [default: {self.setting.default_text}; env {env}]"


@dataclass(frozen=True)
class FlagSet:
    """The flags one command offers: all settings of ``settings`` unless ``only`` names some.

    ``names`` maps a setting's key to its flag name where the two differ (flags older
    than the settings, such as the gateway's ``--node``); ``without`` keeps settings off
    the command line (secrets that would show in ``ps``: environment or TOML only).
    """

    settings: type[BaseSettings]
    only: tuple[str, ...] | None = None
    without: frozenset[str] = frozenset()
    names: Mapping[str, str] = field(default_factory=dict)

    def flags(self) -> list[Flag]:
        found = [
            Flag(setting, self.names.get(setting.key, setting.path[-1].replace("_", "-")))
            for setting in settings_of(self.settings)
            if setting.key not in self.without and (self.only is None or setting.key in self.only)
        ]
        _refuse_clashes(found)
        return found

    def flag_of(self, key: str) -> str | None:
        """``--name`` of the setting ``key``, or None when this command has no flag for it."""
        return next((f"--{flag.name}" for flag in self.flags() if flag.setting.key == key), None)

    def given(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """The flags given (neither None nor an empty repeat), nested as the settings are."""
        nested: dict[str, Any] = {}
        for flag in self.flags():
            value = values.get(flag.parameter)
            if value is None or (isinstance(value, list | tuple) and not value):
                continue
            *tables, name = flag.setting.path
            place = nested
            for table in tables:
                place = place.setdefault(table, {})
            place[name] = value
        return nested

    def command(self, body: Body, *own: inspect.Parameter) -> Callable[..., None]:
        """A typer command with ``--config`` and these flags that calls ``body``.

        ``own`` are the command's options that are no setting (``--force``): they reach
        ``body`` as keyword arguments.
        """
        flags = self.flags()
        own_names = [parameter.name for parameter in own]

        def run(config: Path | None = None, **values: Any) -> None:
            extra = {name: values.pop(name) for name in own_names}
            body(config, self.given(values), **extra)

        config = inspect.Parameter(
            "config",
            inspect.Parameter.KEYWORD_ONLY,
            default=None,
            annotation=Annotated[Path | None, typer.Option(help="TOML settings file")],
        )
        # typer reads a command's options from its signature: this one is made, not written.
        run.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
            [config, *(flag.signature_parameter() for flag in flags), *own]
        )
        run.__name__ = body.__name__
        run.__qualname__ = body.__qualname__
        run.__doc__ = body.__doc__
        run.__module__ = body.__module__
        return run


def own_option(name: str, default: Any, option: Any) -> inspect.Parameter:
    """An option of a command that is no setting, for ``FlagSet.command``."""
    return inspect.Parameter(
        name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=option
    )


def _refuse_clashes(flags: list[Flag]) -> None:
    """Two settings on one flag name would silently shadow each other: a bug, said at once."""
    seen: dict[str, str] = {}
    for flag in flags:
        if flag.name in seen:
            raise ValueError(
                f"--{flag.name} would set both {seen[flag.name]} and {flag.setting.key}"
            )
        seen[flag.name] = flag.setting.key
