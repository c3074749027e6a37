"""A node that others cannot dial keeps slots at relays of the mesh, by itself.

While ``DialBack`` says this node is not reachable, ``AutoRelay`` holds reservations
at ``wanted`` relays among the peers it is directly connected to that speak circuit
relay v2 (identify says so), renews each before it expires, and replaces one whose
connection ended at once (a relay that dies is noticed by its connection closing,
and the next relay is asked within about a second). A relay that refused is left
alone for ``REFUSED_COOLDOWN_S``. Each change of the set calls ``on_change``: the
node's signed record then carries the new ``/p2p/<relay>/p2p-circuit`` addresses.

py-libp2p's ``RelayDiscovery`` looks for relays at start and then every 300 s, and
its refresher stops when the last reservation lapses; neither fits a node that must
be reachable again within seconds of losing its relay.
"""

import logging
import time
from collections.abc import Callable

import trio
from libp2p.abc import IHost
from libp2p.peer.id import ID
from multiaddr import Multiaddr

from computemesh.errors import DialError
from computemesh.p2p.circuit import HOP, Reservation, circuit_addr, reserve
from computemesh.p2p.dial_guard import existing_connections_only
from computemesh.p2p.reachability import Reachability, is_direct

log = logging.getLogger(__name__)

TICK_S = 1.0
RENEW_BEFORE_S = 120.0
REFUSED_COOLDOWN_S = 10.0


class AutoRelay:
    def __init__(
        self,
        host: IHost,
        reachability: Callable[[], Reachability],
        on_change: Callable[[], None],
        wanted: int = 2,
    ) -> None:
        self._host = host
        self._reachability = reachability
        self._on_change = on_change
        self._wanted = wanted
        self._held: dict[ID, tuple[Reservation, Multiaddr]] = {}
        self._refused: dict[ID, float] = {}
        self._wake = trio.Event()

    def circuit_addrs(self) -> list[str]:
        """Where peers can reach this node through its relays now."""
        return [str(circuit_addr(addr, relay)) for relay, (_, addr) in self._held.items()]

    def relays(self) -> list[ID]:
        return list(self._held)

    def poke(self) -> None:
        """Something changed (a connection closed): look again now."""
        self._wake.set()

    async def run(self) -> None:
        while True:
            with trio.move_on_after(TICK_S):
                await self._wake.wait()
            self._wake = trio.Event()
            before = set(self._held)
            await self._tend()
            if set(self._held) != before:
                log.info("relay reservations: %s", [r.to_base58() for r in self._held] or "none")
                self._on_change()

    async def _tend(self) -> None:
        if self._reachability() is not Reachability.PRIVATE:
            self._held.clear()
            return
        now = time.time()
        for relay in list(self._held):
            reservation, _ = self._held[relay]
            if self._relay_addr(relay) is None or reservation.expires_at <= now:
                del self._held[relay]
            elif reservation.expires_at - now < RENEW_BEFORE_S:
                await self._reserve(relay)
        for relay in self._candidates():
            if len(self._held) >= self._wanted:
                break
            await self._reserve(relay)

    def _candidates(self) -> list[ID]:
        now = time.monotonic()
        self._refused = {peer: until for peer, until in self._refused.items() if until > now}
        peerstore = self._host.get_peerstore()
        found = []
        for peer in self._host.get_connected_peers():
            if peer in self._held or now < self._refused.get(peer, 0.0):
                continue
            try:
                speaks_hop = bool(peerstore.supports_protocols(peer, [str(HOP)]))
            except Exception:
                speaks_hop = False
            if speaks_hop and self._relay_addr(peer) is not None:
                found.append(peer)
        return found

    def _relay_addr(self, relay: ID) -> Multiaddr | None:
        """The address our direct connection to ``relay`` reached it at."""
        for conn in self._host.get_network().get_connections(relay):
            if not is_direct(conn) or conn.is_closed:
                continue
            addrs = conn.get_transport_addresses()
            if addrs and "/tcp/" in str(addrs[0]):
                return Multiaddr(str(addrs[0]).split("/p2p/", 1)[0])
        return None

    async def _reserve(self, relay: ID) -> None:
        addr = self._relay_addr(relay)
        if addr is None:
            return
        try:
            with existing_connections_only():
                reservation = await reserve(self._host, relay)
        except DialError as error:
            log.debug("%s", error)
            self._held.pop(relay, None)
            self._refused[relay] = time.monotonic() + REFUSED_COOLDOWN_S
            return
        self._held[relay] = (reservation, addr)
