"""Node table rows → LocalAI's node objects."""

from datetime import UTC, datetime

from computemesh.protocol.localai import NodeData, NodeStatus
from computemesh.registry.view import PeerRow

FEDERATED_SERVICE = "federated"


def is_worker(row: PeerRow) -> bool:
    """A worker offers at least one compute service."""
    return bool(row.claims.services)


def service_id(row: PeerRow, federated: bool) -> str:
    if federated:
        return FEDERATED_SERVICE
    return ",".join(sorted({claim.name for claim in row.claims.services}))


def last_seen(row: PeerRow, now: float) -> float:
    return now if row.is_self else row.observation.last_seen


def node_data(row: PeerRow, now: float, federated: bool) -> NodeData:
    peer = row.claims.peer_id
    return NodeData(
        Name=peer,
        ID=peer,
        TunnelAddress=f"libp2p://{peer}",
        ServiceID=service_id(row, federated),
        LastSeen=_iso(last_seen(row, now)),
    )


def node_status(row: PeerRow, now: float, federated: bool) -> NodeStatus:
    data = node_data(row, now, federated)
    return NodeStatus(
        name=data.Name,
        id=data.ID,
        tunnelAddress=data.TunnelAddress,
        serviceID=data.ServiceID,
        lastSeen=data.LastSeen,
        isOnline=row.online,
    )


def _iso(unix: float) -> str:
    return datetime.fromtimestamp(unix, UTC).isoformat().replace("+00:00", "Z")
