"""AIComputingNode wire models: request bodies and the ``data`` of answers.

Field names and order follow the AICN API. Requests accept unknown fields (AICN clients send
``wallet``, ``signature``, ``hash``…), but a model's API gets only the documented ones
(``node.api.aicn.serving``); the AICN API's required fields are checked, so a bad body is a
clear 1001 instead of a model error.
"""

from enum import IntEnum
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

Name = Annotated[str, Field(min_length=1, max_length=128)]


def _strict_flag(value: object) -> object:
    """A JSON boolean; null is false (Go's decoder leaves it so), anything else refused."""
    if value is None:
        return False
    if not isinstance(value, bool):
        raise ValueError("must be true or false")
    return value


Flag = Annotated[bool, BeforeValidator(_strict_flag)]
Number = Annotated[int, Field(ge=0, le=10_000)]


class Code(IntEnum):
    """The AICN API's error-code table (the real AICN code later shifted these numbers)."""

    OK = 0
    PARAMETER = 1001
    PARSE = 1002
    PROTOBUF = 1003
    TIMEOUT = 1004
    ROUTING = 1005
    MODEL = 1006
    IPFS = 1007
    BUFFER = 1008
    PERMISSION = 1009
    UNSUPPORTED = 1010
    HOST_INFO = 1011
    ENCRYPT = 1012
    DECRYPT = 1013
    UUID = 1014
    DATABASE = 1015
    NO_PROVIDER = 1016
    STREAM = 1017
    INTERNAL = 5000


class ModelType(IntEnum):
    """What an AI project's model does."""

    TEXT_TO_TEXT = 0
    TEXT_TO_IMAGE = 1
    IMAGE_EDIT = 2


class _Request(BaseModel):
    model_config = ConfigDict(extra="allow")


class NodeRequest(_Request):
    """``/peer``, ``/host/info``, ``/ai/project/peer``."""

    node_id: Name


class NodeAddressRequest(_Request):
    """``/swarm/connect``, ``/swarm/disconnect``: a multiaddr ending in ``/p2p/<peer id>``."""

    node_addr: Annotated[str, Field(min_length=1, max_length=1024)]


class ModelRegistration(_Request):
    model: Name
    api: Annotated[str, Field(min_length=1, max_length=2048)]
    type: ModelType = ModelType.TEXT_TO_TEXT


class ProjectRegistration(_Request):
    project: Name
    models: Annotated[list[ModelRegistration], Field(min_length=1, max_length=64)]


class ProjectRequest(_Request):
    project: Name


class ProjectModelRequest(_Request):
    project: Name
    model: Name


class ListQuery(_Request):
    """The query of AICN v0.2's ``GET /ai/projects/list``: ``number`` caps it (0: default)."""

    number: Number = 0


class ProjectQuery(ListQuery):
    """``GET /ai/projects/models?project=…&number=…``."""

    project: Name


class ProjectModelQuery(ProjectQuery):
    """``GET /ai/projects/peers?project=…&model=…&number=…``."""

    model: Name


class Message(BaseModel):
    model_config = ConfigDict(extra="allow")

    role: Annotated[str, Field(min_length=1)]
    content: str | list[dict[str, Any]] | None = None


class ChatCompletionProxyRequest(_Request):
    """``/chat/completion/proxy``: routed by project and model."""

    project: Name
    model: Name
    messages: Annotated[list[Message], Field(min_length=1)]
    stream: Flag = False


class ChatCompletionRequest(ChatCompletionProxyRequest):
    """``/chat/completion``: to the node ``node_id``."""

    node_id: Name


class ImageGenProxyRequest(_Request):
    """``/image/gen/proxy``: routed by project and model."""

    project: Name
    model: Name
    prompt: Annotated[str, Field(min_length=1)]
    n: Annotated[int, Field(ge=1, le=16)] = 1
    size: Annotated[str, Field(pattern=r"^\d{1,5}x\d{1,5}$")] = "1024x1024"
    ipfs_node: str = ""


class ImageGenRequest(ImageGenProxyRequest):
    """``/image/gen``: to the node ``node_id``."""

    node_id: Name


class PeerInfo(BaseModel):
    peer_id: str
    protocol_version: str
    agent_version: str
    addresses: list[str]
    protocols: list[str]


class ChatData(BaseModel):
    created: int
    choices: list[dict[str, Any]]
    usage: dict[str, Any] | None = None


class ImageChoice(BaseModel):
    cid: str
    image_name: str


class ImageData(BaseModel):
    ipfs_node: str
    choices: list[ImageChoice]


class ProjectModels(BaseModel):
    project: str
    models: list[str]
    status: dict[str, str] = Field(
        default_factory=dict, description="each model's state: online or unhealthy"
    )


class ProjectPeer(BaseModel):
    """One node of AICN v0.1.3+'s ``ai/projects/peers`` objects, plus its model's state."""

    node_id: str
    connectivity: int = Field(description="1 connected (or this node), 0 not connected")
    latency: int = Field(description="round trip in microseconds, 0 when unknown")
    Idle: int = Field(description="requests in flight on that node (AICN: on that model)")
    cid: str = Field(default="", description="AICN's container id; computemesh has none")
    status: str = Field(description="online, or unhealthy when its model API is down")


class SwarmPeer(BaseModel):
    id: str
    peer: str
    addr: str
    latency: str
    direction: str
    connection: str = "direct"  # or "relayed" (through a circuit relay)


class SwarmAddrs(BaseModel):
    peer: str
    addrs: list[str]


class OsInfo(BaseModel):
    os: str
    platform: str
    platform_family: str
    platform_version: str
    kernel_version: str
    kernel_arch: str


class CpuInfo(BaseModel):
    model_name: str
    total_cores: int
    total_threads: int


class MemoryInfo(BaseModel):
    total_physical_bytes: int
    total_usable_bytes: int


class DiskInfo(BaseModel):
    drive_type: str
    size_bytes: int
    model: str
    serial_number: str = Field(description="empty unless the operator opted in")


class GpuInfo(BaseModel):
    """The AICN API's ``vendor``/``product``, plus memory and utilisation when NVML answers."""

    vendor: str
    product: str
    memory_total_bytes: int | None = None
    memory_used_bytes: int | None = None
    utilization_percent: int | None = None


class HostInfo(BaseModel):
    os: OsInfo
    cpu: list[CpuInfo]
    memory: MemoryInfo
    disk: list[DiskInfo]
    gpu: list[GpuInfo]
