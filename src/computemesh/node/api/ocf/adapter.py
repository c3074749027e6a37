"""Node table rows → OCF JSON."""

from computemesh.ids import PeerId
from computemesh.node.api.ocf.models import OcfGpu, OcfHardware, OcfPeer, service_json
from computemesh.protocol.mesh import HardwareClaim
from computemesh.registry.view import PeerRow


def hardware_json(hardware: HardwareClaim) -> OcfHardware:
    return OcfHardware(
        gpus=[
            OcfGpu(name=g.name, total_memory=g.total_memory, used_memory=g.used_memory)
            for g in hardware.gpus
        ],
        host_memory=hardware.host_memory,
        host_memory_used=hardware.host_memory_used,
    )


def peer_json(row: PeerRow) -> OcfPeer:
    claims, seen = row.claims, row.observation
    last_seen = claims.issued_at if row.is_self else max(seen.last_seen, 0.0)
    return OcfPeer(
        id=claims.peer_id,
        latency=round(seen.latency_ms or 0),
        owner=claims.owner,
        role=list(claims.role),
        status="online" if row.online else "offline",
        service=[service_json(s) for s in claims.services],
        last_seen=int(last_seen),
        version=claims.version,
        public_address=claims.public_address,
        hardware=hardware_json(claims.hardware),
        connected=row.is_self or seen.connected,
        load=[claims.load],
        seq=claims.seq,
        addresses=list(claims.addresses),
        expires_at=claims.expires_at,
        received_at=claims.issued_at if row.is_self else seen.record_received,
    )


def addr_info(peer: PeerId, addrs: list[str]) -> dict[str, object]:
    """go-libp2p's JSON ``AddrInfo``: ``Addrs`` are transport addresses, the id stands apart."""
    suffix = f"/p2p/{peer}"
    bare = [addr.removesuffix(suffix) for addr in addrs]
    return {"ID": peer, "Addrs": list(dict.fromkeys(a for a in bare if a))}
