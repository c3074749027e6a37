"""LocalAI P2P API wire models, with the LocalAI P2P API's exact field names.

``/api/p2p`` uses Go's exported names (``Name``, ``ID``…); ``/api/p2p/workers`` and
``/api/p2p/federation`` the camel-case ones plus ``isOnline``.

LocalAI v4.0 split its workers into llama.cpp and MLX workers and renamed the keys its
pages read (``llama_cpp_workers``, ``llama_cpp_nodes``, ``llama_cpp{nodes}``, the
``mlx`` ones beside them). Both generations are served: the new keys sit beside the
old ones and carry the same workers; no node is an MLX worker, so those stay empty.
"""

from pydantic import BaseModel, ConfigDict, Field


class NodeData(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    Name: str
    ID: str
    TunnelAddress: str
    ServiceID: str
    LastSeen: str


class P2PNodes(BaseModel):
    nodes: list[NodeData]
    federated_nodes: list[NodeData]
    llama_cpp_nodes: list[NodeData] = Field(description="LocalAI v4's name for nodes")
    mlx_nodes: list[NodeData] = Field(default_factory=list, description="MLX workers (none)")


class NodeStatus(BaseModel):
    name: str
    id: str
    tunnelAddress: str
    serviceID: str
    lastSeen: str
    isOnline: bool


class NodeList(BaseModel):
    nodes: list[NodeStatus]


class WorkerGroup(BaseModel):
    nodes: list[NodeStatus]


class WorkerList(NodeList):
    """``/api/p2p/workers``: ``nodes`` and, since LocalAI v4, the same grouped by kind."""

    llama_cpp: WorkerGroup
    mlx: WorkerGroup = Field(default_factory=lambda: WorkerGroup(nodes=[]))


class Count(BaseModel):
    online: int
    total: int


class P2PStats(BaseModel):
    workers: Count
    federated: Count
    llama_cpp_workers: Count = Field(description="LocalAI v4's name for workers")
    mlx_workers: Count = Field(default_factory=lambda: Count(online=0, total=0))
