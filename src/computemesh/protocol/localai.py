"""LocalAI P2P API wire models (seed 002), with the seed's exact field names.

``/api/p2p`` uses Go's exported names (``Name``, ``ID``…); ``/api/p2p/workers`` and
``/api/p2p/federation`` the camel-case ones plus ``isOnline``.
"""

from pydantic import BaseModel, ConfigDict


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


class NodeStatus(BaseModel):
    name: str
    id: str
    tunnelAddress: str
    serviceID: str
    lastSeen: str
    isOnline: bool


class NodeList(BaseModel):
    nodes: list[NodeStatus]


class Count(BaseModel):
    online: int
    total: int


class P2PStats(BaseModel):
    workers: Count
    federated: Count
