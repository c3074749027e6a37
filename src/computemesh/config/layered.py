"""Where settings come from, shared by every process's settings class.

Precedence, highest first: CLI flags (passed as keyword arguments), environment
variables, a TOML file (``--config``), then the class defaults.
"""

from pathlib import Path
from typing import Any, Self

from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from computemesh.errors import ConfigError

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
        """Build settings from flags (None means "not given"), env, an optional TOML file."""
        given = {key: value for key, value in flags.items() if value is not None}
        if config_file is None:
            return cls(**given)
        if not config_file.is_file():
            raise ConfigError(f"config file not found: {config_file}")
        from_file = type(
            cls.__name__,
            (cls,),
            {"model_config": SettingsConfigDict(**{**cls.model_config, "toml_file": config_file})},
        )
        settings: Self = from_file(**given)
        return settings
