"""The node record each node signs about itself, and the envelopes that carry it.

A record holds only claims its author makes; what a receiver observes locally
(connected, last seen, latency) lives in ``registry.observations``.

Rolling upgrades: a newer node may add fields (and raise ``schema_version``). Parsing
ignores fields this version does not know, so its record still counts here; the
signature covers the payload's bytes as signed, never a re-serialization, so nothing
ignored weakens it. A newer version only adds fields; one that changes what an
existing field means must use a new topic.
"""

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from computemesh.ids import PeerId

ServiceStatus = Literal["online", "unhealthy"]


# The schema this version writes; 1 is a record from before the field existed.
SCHEMA_VERSION = 2


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


class ServiceClaim(_Frozen):
    """One service a node offers, e.g. ``llm`` at a local upstream, for ``model=gpt2``."""

    name: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._-]+$")
    kind: str = "http"
    host: str = ""
    port: int = Field(default=0, ge=0, le=65535)
    identity_group: tuple[str, ...] = ()
    status: ServiceStatus = "online"


class GpuClaim(_Frozen):
    name: str
    total_memory: int = Field(ge=0, description="MiB")
    used_memory: int = Field(ge=0, description="MiB")


class HardwareClaim(_Frozen):
    gpus: tuple[GpuClaim, ...] = ()
    host_memory: int = Field(default=0, ge=0, description="MiB")
    host_memory_used: int = Field(default=0, ge=0, description="MiB")
    cpu_count: int = Field(default=0, ge=0)


class NodeClaims(_Frozen):
    """What a node says about itself; signed as a whole by its libp2p key."""

    peer_id: PeerId
    schema_version: int = Field(
        default=1, ge=1, description="of the record's fields; unknown fields are ignored"
    )
    seq: int = Field(ge=0, description="strictly increasing per author; higher wins")
    issued_at: float = Field(description="unix seconds when the author signed it")
    ttl: float = Field(gt=0, le=3600, description="seconds the record stays valid")
    deleted: bool = Field(default=False, description="a tombstone: the node left")
    addresses: tuple[str, ...] = ()
    public_address: str = ""
    role: tuple[str, ...] = ()
    services: tuple[ServiceClaim, ...] = ()
    hardware: HardwareClaim = HardwareClaim()
    load: int = Field(default=0, ge=0, description="requests in flight")
    owner: str = ""
    version: str = ""

    @property
    def expires_at(self) -> float:
        return self.issued_at + self.ttl


class RecordAuthor(_Frozen):
    """Only the peer a payload names: enough to check its signature before parsing the rest."""

    peer_id: PeerId


class SignedRecord(_Frozen):
    """A record on the wire: the exact signed bytes plus the signature.

    Signing the serialized payload (not a re-serialization) means every receiver
    verifies the very bytes the author signed.
    """

    payload: str = Field(max_length=64 * 1024)
    signature: str = Field(max_length=512, description="base64 of the libp2p key signature")


class TableSnapshot(_Frozen):
    """The anti-entropy message: every record the sender holds."""

    records: tuple[SignedRecord, ...] = ()
