"""Defect: py-libp2p's Kademlia speaks ``/ipfs/kad/1.0.0`` whatever it is told.

``KadDHT(protocol_prefix=...)`` stores the prefix and checks it, but every module of
``libp2p.kad_dht`` imported ``PROTOCOL_ID`` (``/ipfs/kad/1.0.0``) by name and uses
that constant for its handler and for every query it sends. Our nodes would then
answer, and query, the public IPFS DHT's protocol: any IPFS node could fill our
routing tables, and our rendezvous records would sit beside the IPFS network's.

Here the constant is rebound in each module that holds a copy (the routing table
reads it from ``common`` at call time), before any ``KadDHT`` is built, so a
computemesh DHT speaks ``KAD_PROTOCOL`` only. A process runs computemesh's DHT only,
so the rebinding is process-wide on purpose.
"""

from types import ModuleType
from typing import Any

from libp2p.custom_types import TProtocol
from libp2p.kad_dht import common, kad_dht, peer_routing, provider_store, value_store

from computemesh.errors import MeshError
from computemesh.p2p.patch_registry import Target, declare

KAD_PROTOCOL = TProtocol("/computemesh/kad/1.0.0")
UPSTREAM_PROTOCOL = TProtocol("/ipfs/kad/1.0.0")
HOLDERS: tuple[ModuleType, ...] = (common, kad_dht, peer_routing, provider_store, value_store)

KAD_PROTOCOL_PATCH = declare(
    "kad_protocol",
    Target(
        "libp2p.kad_dht.common",
        "PROTOCOL_ID",
        "3e27a7f57a5dc73bdcfcdc2f78c373579130bab8645d2383b38df8878962422b",
    ),
    Target(
        "libp2p.kad_dht.kad_dht",
        "PROTOCOL_ID",
        "3e27a7f57a5dc73bdcfcdc2f78c373579130bab8645d2383b38df8878962422b",
    ),
    Target(
        "libp2p.kad_dht.peer_routing",
        "PROTOCOL_ID",
        "3e27a7f57a5dc73bdcfcdc2f78c373579130bab8645d2383b38df8878962422b",
    ),
    Target(
        "libp2p.kad_dht.provider_store",
        "PROTOCOL_ID",
        "3e27a7f57a5dc73bdcfcdc2f78c373579130bab8645d2383b38df8878962422b",
    ),
    Target(
        "libp2p.kad_dht.value_store",
        "PROTOCOL_ID",
        "3e27a7f57a5dc73bdcfcdc2f78c373579130bab8645d2383b38df8878962422b",
    ),
)


def install() -> None:
    """Make every py-libp2p Kademlia module use ``KAD_PROTOCOL``; idempotent."""
    for module in HOLDERS:
        current = getattr(module, "PROTOCOL_ID", None)
        if current not in (UPSTREAM_PROTOCOL, KAD_PROTOCOL):
            raise MeshError(
                f"py-libp2p changed: {module.__name__}.PROTOCOL_ID is {current!r}, the"
                " Kademlia protocol fix was written against libp2p==0.8.1"
            )
        patched: Any = module
        patched.PROTOCOL_ID = KAD_PROTOCOL
