"""The Kademlia DHT every computemesh node shares, behind a small interface.

It holds no private data: the only records a node puts in it are "this peer, at
these addresses, is a provider of <rendezvous key>", where the key is a one-way
hash (``rendezvous``). Non-members of a private network may use it (that is what
lets a node that knows only a node of another network find its own); everything
else they ask for is refused by the membership gate.

Defects contained here (besides the protocol id, ``kad_protocol``):

- the provider store announces ``host.get_addrs()``, which for a node listening on
  ``0.0.0.0`` is that wildcard, an address nobody can dial: it is given the
  addresses our own record claims instead (``_Advertising``);
- ``find_providers`` answers from the local cache whenever it holds any entry for
  the key, and a node that announced itself always does (itself), so it would never
  ask the network: ``providers`` queries the peers closest to the key instead;
- results repeat a provider once per peer that knew it (research/p2p.md §1.5), so
  they are merged per peer.
"""

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import trio
from libp2p.abc import IHost
from libp2p.kad_dht.kad_dht import DHTMode, KadDHT
from libp2p.peer.id import ID
from libp2p.tools.anyio_service import background_trio_service
from multiaddr import Multiaddr

from computemesh.ids import PeerId
from computemesh.p2p import kad_protocol
from computemesh.p2p.patch_registry import Target, declare

log = logging.getLogger(__name__)

QUERY_TIMEOUT_S = 10.0
MAX_QUERIED = 20
Advertised = Callable[[], list[str]]
Found = list[tuple[PeerId, list[str]]]

# The provider store asks its host for the addresses it announces: a node on 0.0.0.0
# announced the wildcard, so the store gets a host that answers with our claimed ones.
PROVIDER_ADDRESSES_PATCH = declare(
    "dht_provider_addresses",
    Target(
        "libp2p.kad_dht.provider_store",
        "ProviderStore.provide",
        "9495f7dca6a6ee17c1f60ac52e628b10df7f8a647d1eee183f76c44f28a73fa1",
    ),
    Target(
        "libp2p.kad_dht.provider_store",
        "ProviderStore._send_add_provider",
        "25a2d3ddef492d353d3529b07573dfd5dd0e06b682ff7d8b42618da90bf78402",
    ),
    Target(
        "libp2p.peer.peerstore",
        "env_to_send_in_RPC",
        "9fea9d702c187d224bec58beb9b09961e93c863bcad8a94baa90a79a287fed36",
    ),
)
# find_providers answers from its own cache, which holds this node once it announced,
# and never asks the network: providers are asked of the closest peers directly.
PROVIDER_LOOKUP_PATCH = declare(
    "dht_provider_lookup",
    Target(
        "libp2p.kad_dht.provider_store",
        "ProviderStore.find_providers",
        "a358a366df9f56ddf950a7490a19f32520cac49a7bda009999f4a5378cf39aac",
    ),
    Target(
        "libp2p.kad_dht.provider_store",
        "ProviderStore._get_providers_from_peer_with_closers",
        "082ac365ec4e61563c107f70df5edac887275e35e7f02bfcc45f7913f88a57ab",
    ),
    Target(
        "libp2p.kad_dht.peer_routing",
        "PeerRouting.find_closest_peers_network",
        "4780b8ae36ee8d08b77111a35a15bdfce4a60a47084a349ce013551c037a5ec1",
    ),
)


class _Advertising:
    """The host as the provider store sees it: our addresses are those we claim."""

    def __init__(self, host: IHost, advertised: Advertised) -> None:
        self._host = host
        self._advertised = advertised

    def get_addrs(self) -> list[Multiaddr]:
        # As ``host.get_addrs`` writes them, so that for a host listening on given
        # addresses its signed peer record stays the same one (not re-signed per call).
        own = f"/p2p/{self._host.get_id().to_base58()}"
        return [Multiaddr(addr + own) for addr in self._advertised()]

    def __getattr__(self, name: str) -> Any:
        return getattr(self._host, name)


class MeshDHT:
    """One host's part of the shared DHT (server mode: it answers queries too)."""

    def __init__(self, host: IHost, advertised: Advertised) -> None:
        kad_protocol.install()
        self._host = host
        self._kad = KadDHT(host, DHTMode.SERVER, enable_random_walk=False)
        self._kad.provider_store.host = _Advertising(host, advertised)  # type: ignore[assignment]

    @asynccontextmanager
    async def running(self) -> AsyncIterator["MeshDHT"]:
        async with background_trio_service(self._kad):
            yield self

    def size(self) -> int:
        """Peers in the routing table."""
        return int(self._kad.get_routing_table_size())

    async def add_peer(self, peer: PeerId) -> None:
        """A connected peer joins the routing table (py-libp2p adds only those that query us)."""
        try:
            await self._kad.add_peer(ID.from_base58(peer))
        except Exception as error:
            log.debug("cannot add %s to the DHT routing table: %s", peer, error)

    async def announce(self, key: str) -> bool:
        """Tell the peers closest to ``key`` that this node provides it."""
        with trio.move_on_after(QUERY_TIMEOUT_S * 2):
            return bool(await self._kad.provide(key))
        return False

    async def providers(self, key: str) -> Found:
        """Providers of ``key`` as the network knows them, never this node's own cache."""
        target = bytes.fromhex(key)
        own = self._host.get_id()
        found: dict[ID, list[str]] = {}
        with trio.move_on_after(QUERY_TIMEOUT_S * 2):
            closest = await self._kad.peer_routing.find_closest_peers_network(target)
            async with trio.open_nursery() as queries:
                for peer in [p for p in closest if p != own][:MAX_QUERIED]:
                    queries.start_soon(self._ask, peer, target, found)
        found.pop(own, None)
        return [(PeerId(peer.to_base58()), addrs) for peer, addrs in found.items()]

    async def _ask(self, peer: ID, key: bytes, found: dict[ID, list[str]]) -> None:
        with trio.move_on_after(QUERY_TIMEOUT_S):
            store = self._kad.provider_store
            providers, _ = await store._get_providers_from_peer_with_closers(peer, key)
            for info in providers:
                addrs = found.setdefault(info.peer_id, [])
                for addr in (_without_peer_id(a) for a in info.addrs):
                    if addr not in addrs:
                        addrs.append(addr)


def _without_peer_id(addr: Multiaddr) -> str:
    return str(addr).split("/p2p/", 1)[0]
