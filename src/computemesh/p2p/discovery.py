"""Finding the nodes of this network beyond the bootstraps, and dialing them.

py-libp2p's auto-connector is off (``workarounds.disable_auto_connector``), so a peer
that mDNS or the DHT reveals is dialed by nobody unless this does it. Two sources:

- the LAN (``lan``): nodes announcing this network's mDNS service type;
- the shared DHT (``dht``): members announce themselves under the network's
  rendezvous key at the peers closest to it; a node connected to no member (its
  bootstraps are gone, or it knows only nodes of other networks) looks the key up
  and dials the providers.

Every dial goes through ``MeshHost.dial_peer``, so only plausible addresses are
dialed, at the host's paced rate; a peer whose dial failed waits, doubling up to a
minute, before it is tried again. Whoever is found must still pass the membership
challenge before it sees anything of this network.
"""

import logging
import math
import random
from collections.abc import Awaitable, Callable
from functools import partial

import trio

from computemesh.errors import ComputemeshError
from computemesh.ids import PeerId
from computemesh.p2p import lan
from computemesh.p2p.dht import MeshDHT
from computemesh.p2p.host import MeshHost
from computemesh.p2p.rendezvous import lan_service_type, rendezvous_key

log = logging.getLogger(__name__)

Loop = Callable[[], Awaitable[None]]
DIAL_INTERVAL_S = 1.0
BACKOFF_MAX_S = 60.0
# Two nodes that find each other at once would open two connections; the lower
# peer id dials at once, the higher only if no connection came meanwhile.
DIAL_GRACE_S = 3.0
LONELY_LOOKUP_S = (1.0, 30.0)  # first and longest wait between lookups with no member
CONNECTED_LOOKUP_S = 300.0  # a lookup now and then heals a network split in two
ANNOUNCE_EVERY_S = 600.0
ANNOUNCE_RETRY_S = 5.0
# Nodes started together would all announce at the same instant (a query and 20
# streams each): the first announcement waits a random part of this.
FIRST_ANNOUNCE_SPREAD_S = 3.0
DIALS_PER_LOOKUP = 4


class Candidates:
    """Peers found by discovery, with their addresses and when each may be dialed."""

    def __init__(self, host: MeshHost) -> None:
        self._host = host
        self._addrs: dict[PeerId, list[str]] = {}
        self._due: dict[PeerId, tuple[float, float]] = {}  # peer -> (not before, backoff)
        self._dialing: set[PeerId] = set()

    def offer(self, peer: PeerId, addrs: list[str]) -> None:
        if peer == self._host.peer_id or not addrs:
            return
        if peer not in self._addrs:
            grace = 0.0 if self._host.peer_id < peer else DIAL_GRACE_S
            self._due[peer] = (trio.current_time() + grace, DIAL_INTERVAL_S)
        self._addrs[peer] = addrs

    async def dial_forever(self) -> None:
        # One nursery for all: a dial to a dead peer (its timeout is 10 s) holds up none.
        async with trio.open_nursery() as dials:
            while True:
                await trio.sleep(DIAL_INTERVAL_S)
                for peer in self._due_now():
                    self._dialing.add(peer)
                    dials.start_soon(self._dial, peer)

    def _due_now(self) -> list[PeerId]:
        now = trio.current_time()
        for peer in [p for p in self._addrs if self._host.is_connected(p)]:
            # Reached: the table keeps it connected from now on.
            self._addrs.pop(peer)
            self._due.pop(peer, None)
        due = (p for p in self._addrs if self._due.get(p, (0.0, 0.0))[0] <= now)
        return [p for p in due if p not in self._dialing]

    async def _dial(self, peer: PeerId) -> None:
        try:
            await self._host.dial_peer(peer, self._addrs[peer])
        except ComputemeshError as error:
            self._failed(peer, error)
        finally:
            self._dialing.discard(peer)

    def _failed(self, peer: PeerId, error: ComputemeshError) -> None:
        log.debug("discovered peer %s not reachable: %s", peer, error)
        _, delay = self._due.get(peer, (0.0, DIAL_INTERVAL_S))
        if delay >= BACKOFF_MAX_S:  # long gone (a stale DHT entry); found again if back
            self._addrs.pop(peer, None)
            self._due.pop(peer, None)
            return
        delay = min(delay * 2, BACKOFF_MAX_S)
        self._due[peer] = (trio.current_time() + delay * random.uniform(0.5, 1.0), delay)


class Discovery:
    """The loops that find and dial this network's nodes (run each supervised)."""

    def __init__(self, host: MeshHost, secret: bytes | None, *, mdns: bool) -> None:
        self._host = host
        self._secret = secret
        self._mdns = mdns
        self.candidates = Candidates(host)

    def loops(self) -> list[tuple[str, Loop]]:
        loops: list[tuple[str, Loop]] = [("discovered peer dialing", self.candidates.dial_forever)]
        ips = lan.lan_ips(self._host.listen_addrs()) if self._mdns else []
        if ips:
            loops.append(("mDNS", partial(self._lan, ips)))
        if self._host.dht is not None:
            loops.append(("DHT rendezvous", partial(self._rendezvous, self._host.dht)))
        return loops

    async def _lan(self, ips: list[str]) -> None:
        addrs = lan.on_lan(self._host.listen_addrs(), ips)
        service = lan_service_type(self._secret)
        await lan.announce_and_browse(service, self._host.peer_id, addrs, ips, self._offer)

    def _offer(self, peer: PeerId, addrs: list[str]) -> None:
        self.candidates.offer(peer, addrs)

    async def _rendezvous(self, dht: MeshDHT) -> None:
        key = rendezvous_key(self._secret)
        next_announce = trio.current_time() + random.uniform(0, FIRST_ANNOUNCE_SPREAD_S)
        next_lookup = -math.inf
        first, longest = LONELY_LOOKUP_S
        lonely_wait, had_members = first, False
        while True:
            await trio.sleep(DIAL_INTERVAL_S)
            if not self._host.connected_peers() and not self._host.outsiders():
                continue  # nobody to ask; the bootstrapper and mDNS are on it
            now = trio.current_time()
            if now >= next_announce:
                announced = await dht.announce(key)
                next_announce = now + (ANNOUNCE_EVERY_S if announced else ANNOUNCE_RETRY_S)
            lonely = not self._members()
            if lonely and had_members:  # just lost the last member: look at once
                next_lookup, lonely_wait = now, first
            had_members = not lonely
            if now < next_lookup:
                continue
            await self._look_up(dht, key, DIALS_PER_LOOKUP if lonely else 1)
            if lonely:
                next_lookup, lonely_wait = now + lonely_wait, min(lonely_wait * 2, longest)
            else:
                next_lookup, lonely_wait = now + CONNECTED_LOOKUP_S, first

    def _members(self) -> list[PeerId]:
        return [p for p in self._host.connected_peers() if self._host.is_member(p)]

    async def _look_up(self, dht: MeshDHT, key: str, dials: int) -> None:
        found = [(p, a) for p, a in await dht.providers(key) if not self._host.is_connected(p)]
        random.shuffle(found)
        for peer, addrs in found[:dials]:
            self.candidates.offer(peer, addrs)
