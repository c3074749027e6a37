"""Where settings come from, shared by every process's settings class.

Precedence, highest first: CLI flags (passed as keyword arguments), environment
variables, a TOML file (``--config``), then the class defaults.
"""

import tomllib
from pathlib import Path
from typing import Any, Self, TypeVar

from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    SettingsError,
    TomlConfigSettingsSource,
)

from computemesh.errors import ConfigError

S = TypeVar("S", bound=BaseSettings)

PLACEHOLDER_SECRETS = frozenset(
    {"", "changeme", "change-me", "secret", "admin", "password", "your-secret-key-here"}
)


def is_placeholder(secret: str) -> bool:
    """True for values that are obviously not a real secret."""
    return secret.strip().lower() in PLACEHOLDER_SECRETS


class LayeredSettings(BaseSettings):
    """Settings read from flags, then env, then an optional TOML file."""

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml_file = settings_cls.model_config.get("toml_file")
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        if toml_file:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=toml_file))
        return tuple(sources)

    @classmethod
    def load(cls, config_file: Path | None = None, **flags: Any) -> Self:
        """Build settings from flags (None means "not given"), env, an optional TOML file.

        A file or environment variable that cannot be parsed raises ``ConfigError``
        with one line naming it; values that break the rules raise pydantic's
        ``ValidationError``.
        """
        given = {key: value for key, value in flags.items() if value is not None}
        if config_file is None:
            return _parsed(cls, given)
        if not config_file.is_file():
            raise ConfigError(f"config file not found: {config_file}")
        from_file = type(
            cls.__name__,
            (cls,),
            {"model_config": SettingsConfigDict(**{**cls.model_config, "toml_file": config_file})},
        )
        try:
            return _parsed(from_file, given)
        except tomllib.TOMLDecodeError as error:
            raise ConfigError(f"config file {config_file} is not valid TOML: {error}") from None
        except OSError as error:
            raise ConfigError(f"cannot read config file {config_file}: {error.strerror}") from None


def _parsed(cls: type[S], given: dict[str, Any]) -> S:
    try:
        return cls(**given)
    except SettingsError as error:
        # e.g. a list in the environment that is not JSON; the cause says where it broke.
        cause = f": {error.__cause__}" if error.__cause__ else ""
        raise ConfigError(f"{error}{cause} (lists in the environment are JSON)") from None
