"""OCF's JSON shapes (Go field names, so OCF clients work unchanged)."""

from pydantic import BaseModel, ConfigDict, Field, field_validator

from computemesh.protocol.mesh import ServiceClaim
from computemesh.registry.service_urls import BadServiceAddress, check_host, check_port


class OcfGpu(BaseModel):
    name: str = ""
    total_memory: int = 0
    used_memory: int = 0


class OcfHardware(BaseModel):
    gpus: list[OcfGpu] = Field(default_factory=list)
    host_memory: int = 0
    host_memory_bandwidth: int = 0
    host_memory_used: int = 0


class OcfService(BaseModel):
    name: str
    hardware: OcfHardware = Field(default_factory=OcfHardware)
    status: str = "connected"
    host: str = ""
    port: str = ""
    identity_group: list[str] = Field(default_factory=list)


class OcfPeer(BaseModel):
    id: str
    latency: int = 0
    privileged: bool = False
    owner: str = ""
    current_offering: list[str] = Field(default_factory=list)
    role: list[str] = Field(default_factory=list)
    status: str = "online"
    available_offering: list[str] = Field(default_factory=list)
    service: list[OcfService] = Field(default_factory=list)
    last_seen: int = 0
    version: str = ""
    public_address: str = ""
    hardware: OcfHardware = Field(default_factory=OcfHardware)
    connected: bool = False
    load: list[int] = Field(default_factory=list)
    # computemesh additions, ignored by OCF clients
    seq: int = 0
    addresses: list[str] = Field(default_factory=list)
    expires_at: float = 0.0
    received_at: float = Field(default=0.0, description="when this node got this version")


class ServiceUpdate(BaseModel):
    """One service in ``POST /v1/dnt/_node``: where its upstream listens and what it serves."""

    model_config = ConfigDict(extra="ignore")

    name: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._-]+$")
    host: str = Field(default="127.0.0.1", min_length=1, max_length=253)
    port: int | str = Field(description="TCP port of the upstream (OCF sends a string)")
    identity_group: list[str] = Field(default_factory=list, max_length=64)

    @field_validator("host")
    @classmethod
    def _host(cls, value: str) -> str:
        try:
            return check_host(value)
        except BadServiceAddress as error:
            raise ValueError(str(error)) from None

    @field_validator("port")
    @classmethod
    def _port(cls, value: int | str) -> int:
        try:
            return check_port(value)
        except BadServiceAddress as error:
            raise ValueError(str(error)) from None

    @field_validator("identity_group")
    @classmethod
    def _groups(cls, groups: list[str]) -> list[str]:
        for group in groups:
            key, eq, value = group.partition("=")
            if not eq or not key or not value:
                raise ValueError(f"identity_group entries look like key=value, got {group!r}")
        return groups


class NodeUpdate(BaseModel):
    """Body of ``POST /v1/dnt/_node``: a (partial) OCF peer for this node's own entry."""

    model_config = ConfigDict(extra="ignore")

    service: list[ServiceUpdate] = Field(default_factory=list, max_length=64)
    owner: str | None = Field(default=None, max_length=128)
    role: list[str] | None = Field(default=None, max_length=16)


# OCF's words for a service's state (its registrar writes "connected"). The signed
# record keeps computemesh's own words, so older nodes still read it; only this view
# speaks OCF's.
OCF_SERVICE_STATUS = {"online": "connected", "unhealthy": "disconnected"}


def service_json(claim: ServiceClaim) -> OcfService:
    return OcfService(
        name=claim.name,
        status=OCF_SERVICE_STATUS[claim.status],
        host=claim.host,
        port=str(claim.port),
        identity_group=list(claim.identity_group),
    )
