"""Read-only views of the mesh for the HTTP surfaces: claims joined with observations."""

from dataclasses import dataclass

from computemesh.ids import PeerId
from computemesh.protocol.mesh import NodeClaims
from computemesh.registry.observations import Observation, is_online
from computemesh.registry.sync import TableSync


@dataclass(frozen=True)
class PeerRow:
    claims: NodeClaims
    observation: Observation
    online: bool
    is_self: bool


def rows(sync: TableSync, now: float, online_window: float) -> list[PeerRow]:
    """Every live (non-tombstoned, unexpired) record, this node's own first."""
    own = sync.host.peer_id
    found = [
        PeerRow(
            claims=claims,
            observation=sync.observations.get(claims.peer_id),
            online=claims.peer_id == own
            or is_online(sync.observations.get(claims.peer_id), now, online_window),
            is_self=claims.peer_id == own,
        )
        for claims in sync.table.live()
    ]
    return sorted(found, key=lambda row: (not row.is_self, row.claims.peer_id))


def bootstraps(sync: TableSync, now: float, online_window: float) -> list[str]:
    """Dialable addresses of online nodes that declared a public address (and of this node)."""
    found: list[str] = []
    for row in rows(sync, now, online_window):
        if row.online and row.claims.public_address:
            found.extend(_public_multiaddrs(row.claims))
    return sorted(set(found))


def _public_multiaddrs(claims: NodeClaims) -> list[str]:
    public = claims.public_address
    family = "ip6" if ":" in public else "ip4"
    ports = {port for addr in claims.addresses if (port := _tcp_port(addr))}
    return [f"/{family}/{public}/tcp/{port}/p2p/{claims.peer_id}" for port in sorted(ports)]


def _tcp_port(addr: str) -> str | None:
    parts = addr.split("/")
    return parts[parts.index("tcp") + 1] if "tcp" in parts[:-1] else None


def peer_row(sync: TableSync, peer: PeerId, now: float, online_window: float) -> PeerRow | None:
    for row in rows(sync, now, online_window):
        if row.claims.peer_id == peer:
            return row
    return None
