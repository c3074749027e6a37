"""Read-only views of the mesh for the HTTP surfaces: claims joined with observations."""

from dataclasses import dataclass

from computemesh.ids import PeerId
from computemesh.protocol.mesh import NodeClaims
from computemesh.registry.observations import Observation, is_online
from computemesh.registry.sync import TableSync
from computemesh.registry.table import NodeTable


@dataclass(frozen=True)
class PeerRow:
    claims: NodeClaims
    observation: Observation
    online: bool
    is_self: bool


def rows(sync: TableSync, now: float, online_window: float) -> list[PeerRow]:
    """Every live (non-tombstoned, unexpired) record, this node's own first."""
    return [_row(sync, claims, now, online_window) for claims in _in_order(sync, sync.table.live())]


class ProviderIndex:
    """The rows of the live records that offer a service, as ``rows`` orders them.

    Routing asks for a service's providers on every request. Going through every
    record of the table each time grows with the mesh, so the records are grouped
    by service once per table; the table is immutable (a change is a new table),
    so an identity check says when to group again. Whether a provider is online
    is still worked out per request: it changes with time, not with the table.
    """

    def __init__(self, sync: TableSync, online_window: float) -> None:
        self._sync = sync
        self._online_window = online_window
        self._table: NodeTable | None = None
        self._by_service: dict[str, list[NodeClaims]] = {}

    def rows(self, service: str, now: float) -> list[PeerRow]:
        if self._sync.table is not self._table:
            self._table = self._sync.table
            self._by_service = _by_service(_in_order(self._sync, self._table.live()))
        offering = self._by_service.get(service, [])
        return [_row(self._sync, claims, now, self._online_window) for claims in offering]


def _by_service(ordered: list[NodeClaims]) -> dict[str, list[NodeClaims]]:
    grouped: dict[str, list[NodeClaims]] = {}
    for claims in ordered:
        for name in dict.fromkeys(claim.name for claim in claims.services):
            grouped.setdefault(name, []).append(claims)
    return grouped


def _in_order(sync: TableSync, live: list[NodeClaims]) -> list[NodeClaims]:
    own = sync.host.peer_id
    return sorted(live, key=lambda claims: (claims.peer_id != own, claims.peer_id))


def _row(sync: TableSync, claims: NodeClaims, now: float, online_window: float) -> PeerRow:
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
