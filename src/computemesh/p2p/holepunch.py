"""Hole punching: two nodes connected through a relay try to become directly connected
(DCUtR, ``/libp2p/dcutr``), with py-libp2p 0.8.1's ``DCUtRProtocol`` doing the protocol
and the simultaneous TCP dials from the listen port.

Defects worked around here:

- after an upgrade it closes the relayed connection 60 s later whatever it carries, so
  a stream that began before the upgrade (an LLM answer of several minutes) is cut;
  here the relayed connection is closed only once no stream but pubsub's (which
  reopens itself on the direct connection) is left on it;
- its auto-drive tries a peer 3 times and then never again while the connection lives,
  so a NAT mapping that settles later is never used, and both ends drive at once
  (two crossed sessions); here only the end with the lower peer id drives, and it
  tries again with a growing pause (``RETRY_FIRST_S`` doubling up to ``RETRY_MAX_S``).

Its stream handler registers past the membership gate, as relay traffic does: the
exchange carries only the addresses each end would dial anyway.
"""

import logging
import time

import trio
from libp2p.abc import IHost, INetConn
from libp2p.peer.id import ID
from libp2p.relay.circuit_v2.dcutr import PROTOCOL_ID, DCUtRProtocol

from computemesh.errors import MeshError
from computemesh.p2p import workarounds
from computemesh.p2p.dial_guard import existing_connections_only
from computemesh.p2p.patch_registry import Target, declare
from computemesh.p2p.reachability import is_direct

log = logging.getLogger(__name__)

DRIVE_EVERY_S = 1.0
RETRY_FIRST_S = 5.0
RETRY_MAX_S = 30.0
CLOSE_CHECK_S = 1.0
SELF_REPAIRING = ("/meshsub/", "/floodsub/")  # pubsub opens its stream again on another conn


# What is used or replaced of py-libp2p 0.8.1's DCUtRProtocol (checked at start).
PATCHED = ("_schedule_relay_close", "_handle_dcutr_stream", "initiate_hole_punch")

HOLEPUNCH_PATCH = declare(
    "holepunch",
    Target(
        "libp2p.relay.circuit_v2.dcutr",
        "DCUtRProtocol._schedule_relay_close",
        "77e45deb1be40a8f63c2fce6edf79f70b1b7400d21bd538ead32f832069c710d",
    ),
    Target(
        "libp2p.relay.circuit_v2.dcutr",
        "DCUtRProtocol._handle_dcutr_stream",
        "765b03b9a2de6379459283bd3ffd19e4c0d536be6eaee2f865851c4dcd58b27f",
    ),
    Target(
        "libp2p.relay.circuit_v2.dcutr",
        "DCUtRProtocol.initiate_hole_punch",
        "6c975989f47d70903884dda10bc3e5c195ce06ac654c5a7f87f88ce3f14bb0de",
    ),
)


def check_targets() -> None:
    """Refuse to start on a py-libp2p whose DCUtR no longer has what is used here."""
    found = [getattr(DCUtRProtocol, name, None) for name in PATCHED]
    if not all(callable(target) for target in found):
        raise MeshError(
            f"py-libp2p's DCUtRProtocol changed ({', '.join(PATCHED)}): the hole puncher"
            " was written against libp2p==0.8.1"
        )


class HolePuncher:
    """Drives DCUtR toward relayed peers and retires their relayed connections."""

    def __init__(self, host: IHost) -> None:
        check_targets()
        self._host = host
        self.dcutr = DCUtRProtocol(host)
        self.dcutr._schedule_relay_close = self._retire_relayed_later  # type: ignore[method-assign]
        self._next_try: dict[ID, tuple[float, float]] = {}  # peer -> (when, pause)
        self._busy: set[ID] = set()
        self._nursery: trio.Nursery | None = None
        self.upgrades = 0

    async def run(self) -> None:
        """The DCUtR handler, and the driving loop (py-libp2p's own is not started)."""
        handler = workarounds.guarded(self.dcutr._handle_dcutr_stream, str(PROTOCOL_ID))
        self._host.set_stream_handler(PROTOCOL_ID, handler)
        async with trio.open_nursery() as nursery:
            self._nursery = nursery
            self.dcutr._nursery = nursery
            while True:
                await trio.sleep(DRIVE_EVERY_S)
                for peer in self._relayed_only_peers():
                    if self._due(peer):
                        self._busy.add(peer)
                        nursery.start_soon(self._punch, peer)

    def _relayed_only_peers(self) -> list[ID]:
        own = self._host.get_id().to_base58()
        return [
            peer
            for peer, conns in self._host.get_network().get_connections_map().items()
            if conns and not any(is_direct(c) for c in conns) and own < peer.to_base58()
        ]

    def _due(self, peer: ID) -> bool:
        if peer in self._busy:
            return False
        when, _ = self._next_try.get(peer, (0.0, 0.0))
        return time.monotonic() >= when

    async def _punch(self, peer: ID) -> None:
        try:
            self.dcutr._hole_punch_attempts.pop(peer, None)  # no lifetime budget
            with existing_connections_only():  # over the relayed connection, or not at all
                done = await self.dcutr.initiate_hole_punch(peer)
        except Exception as error:
            log.debug("hole punch to %s failed: %r", peer, error)
            done = False
        finally:
            self._busy.discard(peer)
        if done:
            self._next_try.pop(peer, None)
            return
        _, pause = self._next_try.get(peer, (0.0, RETRY_FIRST_S / 2))
        pause = min(pause * 2, RETRY_MAX_S)
        self._next_try[peer] = (time.monotonic() + pause, pause)
        self._next_try = {
            p: t for p, t in self._next_try.items() if self._host.get_network().get_connections(p)
        }

    def _retire_relayed_later(self, peer_id: ID) -> None:
        self.upgrades += 1
        direct = [
            str(c.get_transport_addresses())
            for c in self._host.get_network().get_connections(peer_id)
            if is_direct(c)
        ]
        log.info("hole punched: direct connection to %s at %s", peer_id, ", ".join(direct))
        if self._nursery is not None:
            self._nursery.start_soon(self._retire_relayed, peer_id)

    async def _retire_relayed(self, peer: ID) -> None:
        """Close the relayed connections to ``peer`` once they carry nothing that would
        be cut; give up if the direct connection goes first (then the relay stays)."""
        while True:
            conns = self._host.get_network().get_connections(peer)
            if not any(is_direct(c) and not c.is_closed for c in conns):
                return
            relayed = [c for c in conns if not is_direct(c)]
            if not relayed:
                return
            for conn in relayed:
                if not _carries_streams(conn):
                    await conn.close()
            await trio.sleep(CLOSE_CHECK_S)


def _carries_streams(conn: INetConn) -> bool:
    for stream in conn.get_streams():
        protocol = str(stream.get_protocol() or "")
        if not protocol.startswith(SELF_REPAIRING):
            return True
    return False
