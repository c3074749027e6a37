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
    return [
        row_of(sync, claims, now, online_window) for claims in own_first(sync, sync.table.live())
    ]


def own_first(sync: TableSync, live: list[NodeClaims]) -> list[NodeClaims]:
    """Records in the order every view gives them: this node's own, then by peer id."""
    own = sync.host.peer_id
    return sorted(live, key=lambda claims: (claims.peer_id != own, claims.peer_id))


def row_of(sync: TableSync, claims: NodeClaims, now: float, online_window: float) -> PeerRow:
    """A record joined with what this node observed of its peer at ``now``."""
    own = claims.peer_id == sync.host.peer_id
    observation = sync.observations.get(claims.peer_id)
    return PeerRow(
        claims=claims,
        observation=observation,
        online=own or is_online(observation, now, online_window),
        is_self=own,
    )


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
