"""Gateway settings: the OCF proxy's names for its three, ``COMPUTEMESH_GATEWAY_*`` for the rest.

``OCF_HEAD_URL``, ``SECRET_KEY`` and ``ACCESS_TOKEN_EXPIRE_MINUTES`` are read without
a prefix so an OCF proxy deployment's environment works unchanged. ``OCF_HEAD_URL``
may list several node URLs (comma separated or a JSON list); they are tried in turn.

The database URL names an async driver; the plain ``sqlite://`` and ``postgresql://``
forms are accepted and given theirs. Without one, the SQLite file lives under
``data_dir``, never in whatever folder the gateway was started from.
"""

import ipaddress
import json
import secrets
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator
from pydantic_settings import NoDecode, SettingsConfigDict

from computemesh.config.layered import LayeredSettings, is_placeholder

MIN_SECRET_LENGTH = 32
# The OCF proxy's published default; refusing it is the point of this check.
OCF_PROXY_DEFAULT_SECRET = "your-secret-key-here-change-in-production"
DATABASE_FILE = "gateway.db"
# The async drivers the gateway ships with, and the plain schemes that mean them.
DRIVERS = {
    "sqlite+aiosqlite": "sqlite+aiosqlite",
    "sqlite": "sqlite+aiosqlite",
    "postgresql+asyncpg": "postgresql+asyncpg",
    "postgresql": "postgresql+asyncpg",
    "postgres": "postgresql+asyncpg",
}
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


def _env(name: str) -> Any:
    """Accept the field name (flags, TOML) and the OCF proxy API's unprefixed env name."""
    return AliasChoices(name.lower(), name)


class GatewaySettings(LayeredSettings):
    """Everything a gateway needs; built once by the CLI and passed down explicitly."""

    model_config = SettingsConfigDict(
        env_prefix="COMPUTEMESH_GATEWAY_", extra="forbid", populate_by_name=True
    )

    ocf_head_url: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["http://127.0.0.1:8092"],
        validation_alias=_env("OCF_HEAD_URL"),
        description="node URLs (comma separated or a JSON list), tried in turn",
    )
    secret_key: SecretStr | None = Field(
        default=None,
        validation_alias=_env("SECRET_KEY"),
        description="JWT signing secret: at least 32 characters, no placeholder (else refused"
        " unless dev)",
    )
    access_token_expire_minutes: int = Field(
        default=1440,
        gt=0,
        validation_alias=_env("ACCESS_TOKEN_EXPIRE_MINUTES"),
        description="minutes a login's JWT stays valid",
    )
    dev: bool = Field(default=False, description="allow a missing secret (a random one is made)")
    host: str = Field(default="127.0.0.1", description="address the gateway listens on")
    port: int = Field(default=8000, ge=0, le=65535, description="port the gateway listens on")
    data_dir: Path = Field(
        default=Path("~/.computemesh/gateway"),
        description="holds the default SQLite database; created private (0700)",
    )
    database_url: str = Field(
        default="",
        description="sqlite+aiosqlite:///… or postgresql+asyncpg://… (default: SQLite in data_dir)",
    )
    redis_url: str | None = Field(
        default=None,
        description="Redis URL: rate limits shared by every replica, API-key deactivations"
        " announced to all of them",
    )
    cors_origins: list[str] = Field(
        default_factory=lambda: ["*"], description="origins whose pages may call the gateway"
    )
    trusted_proxies: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="proxy IPs/CIDRs whose X-Forwarded-For names the client (rightmost untrusted)",
    )
    legacy_requires_key: bool = Field(
        default=False, description="require an API key on the legacy /v1/* routes too"
    )
    accept_legacy_login_message: bool = Field(
        default=False,
        description="also accept OCF's fixed, replayable login message (during a migration)",
    )
    key_rpm: int = Field(default=600, ge=0, description="requests per minute per API key; 0 = off")
    key_tpm: int = Field(default=200_000, ge=0, description="tokens per minute per API key")
    ip_rpm: int = Field(default=1200, ge=0, description="requests per minute per client IP")
    ip_tpm: int = Field(default=0, ge=0, description="tokens per minute per client IP")
    key_cache_ttl: float = Field(
        default=2.0, ge=0, description="seconds a resolved API key is remembered (0 = never)"
    )
    usage_flush_interval: float = Field(
        default=1.0, gt=0, le=60, description="seconds between usage writes (bounds the loss)"
    )
    nonce_ttl: float = Field(default=300.0, gt=0, description="seconds a login message is valid")
    # Per address above per client: one client alone cannot spend an address's budget.
    nonce_ip_rpm: int = Field(
        default=10, ge=0, description="login messages per minute per client IP; 0 = off"
    )
    nonce_address_rpm: int = Field(
        default=20, ge=0, description="login messages per minute per wallet address; 0 = off"
    )
    max_body_bytes: int = Field(
        default=32 * 1024 * 1024, ge=1024, description="largest request body accepted (more: 413)"
    )
    upstream_timeout: float = Field(default=600.0, gt=0, description="seconds to wait for a node")
    upstream_cooldown: float = Field(
        default=5.0, ge=0, description="seconds a node URL that refused a connection is skipped"
    )
    chain_name: str = Field(default="ethereum", description="the models' `blockchain` field")
    log_level: str = Field(default="INFO", description="DEBUG, INFO, WARNING, ERROR or CRITICAL")
    log_format: Literal["text", "json"] = Field(
        default="text", description="text, or json: one JSON object per line (with request_id)"
    )
    access_log: bool = Field(
        default=False, description="log one line per HTTP request (route, status, time, request id)"
    )
    metrics: bool = Field(
        default=True, description="count requests and serve Prometheus text at /metrics"
    )
    admin_token: SecretStr | None = Field(
        default=None,
        description="bearer token for /metrics from a caller that is not on loopback",
    )

    @field_validator("ocf_head_url", "trusted_proxies", mode="before")
    @classmethod
    def _split_list(cls, value: Any) -> Any:
        """A JSON list, or items separated by commas or spaces (as env variables are written)."""
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                return json.loads(text)
            return [part.strip() for part in text.replace(" ", ",").split(",") if part.strip()]
        return value

    @field_validator("ocf_head_url")
    @classmethod
    def _urls(cls, urls: list[str]) -> list[str]:
        if not urls:
            raise ValueError("OCF_HEAD_URL needs at least one node URL")
        for url in urls:
            if not url.startswith(("http://", "https://")):
                raise ValueError(f"OCF_HEAD_URL entries are http(s) URLs, got {url!r}")
        return [url.rstrip("/") for url in urls]

    @field_validator("data_dir")
    @classmethod
    def _expand(cls, value: Path) -> Path:
        return value.expanduser()

    @field_validator("database_url")
    @classmethod
    def _async_driver(cls, url: str) -> str:
        if not url:
            return url
        scheme, sep, rest = url.partition("://")
        driver = DRIVERS.get(scheme.lower()) if sep else None
        if driver is None:
            # Only the scheme: the rest of the URL may hold a password.
            shown = scheme if sep else "no scheme"
            raise ValueError(
                f"unsupported database ({shown}); use sqlite+aiosqlite:///path/to/file.db "
                "or postgresql+asyncpg://user@host/db"
            )
        return f"{driver}://{rest}"

    @field_validator("trusted_proxies")
    @classmethod
    def _networks(cls, entries: list[str]) -> list[str]:
        try:
            # Normalised, so the ASGI proxy middleware reads each as an address or network.
            return [
                str(ipaddress.ip_network(e.strip(), strict=False))
                if "/" in e
                else str(ipaddress.ip_address(e.strip()))
                for e in entries
            ]
        except ValueError as error:
            raise ValueError(f"trusted_proxies holds IP addresses or CIDRs: {error}") from None

    @field_validator("log_level")
    @classmethod
    def _level(cls, level: str) -> str:
        if level.upper() not in LOG_LEVELS:
            raise ValueError(f"log level is one of {', '.join(LOG_LEVELS)}, got {level!r}")
        return level.upper()

    @model_validator(mode="after")
    def _default_database(self) -> "GatewaySettings":
        if not self.database_url:
            self.database_url = f"sqlite+aiosqlite:///{self.data_dir / DATABASE_FILE}"
        return self

    @property
    def database_in_data_dir(self) -> bool:
        """True when the database is the default file, whose folder the gateway makes."""
        return self.database_url == f"sqlite+aiosqlite:///{self.data_dir / DATABASE_FILE}"

    @field_validator("admin_token")
    @classmethod
    def _refuse_placeholder_token(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and is_placeholder(value.get_secret_value()):
            raise ValueError(
                "admin_token is a placeholder; set a real random secret or leave it unset"
            )
        return value

    @model_validator(mode="after")
    def _real_secret(self) -> "GatewaySettings":
        secret = self.secret_key.get_secret_value() if self.secret_key else ""
        weak = (
            is_placeholder(secret)
            or secret == OCF_PROXY_DEFAULT_SECRET
            or len(secret) < MIN_SECRET_LENGTH
        )
        if weak and not self.dev:
            raise ValueError(
                f"SECRET_KEY is missing, a placeholder or shorter than {MIN_SECRET_LENGTH} "
                "characters; set a random one (python -c 'import secrets; "
                "print(secrets.token_urlsafe(48))') or start with --dev"
            )
        if weak:
            # Tokens then last only as long as this process: fine for development.
            self.secret_key = SecretStr(secrets.token_urlsafe(48))
        return self
