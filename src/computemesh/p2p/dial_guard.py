"""Every outbound connection attempt passes one address check and one pacer.

Defect: py-libp2p dials whatever its peerstore holds for a peer (what the peer
claimed in identify, what gossipsub's peer exchange brought, what we added from a
record), from several places (``Swarm.dial_peer`` for connects and new streams,
``dial_addr`` for hole punching, ``dial_peer_replacement`` for its health monitor),
as fast as they ask. Here, on the swarm:

- ``dial_peer`` runs with the peer it dials in a context variable, so that the
  connection gate, which filters a peer's addresses before the swarm picks the one
  it tries per transport, drops the implausible ones (if the gate let a bogus first
  address through, the swarm would try only that one);
- ``_dial_with_retry``, the step every dial path shares, refuses an implausible
  address outright, so no path reaches the transport with one; so does
  ``dial_addr_as_responder``, DCUtR's hole-punch dial, which does not share it (a
  peer's hole-punch message could otherwise name 0.0.0.0 or a port on our loopback);
- ``_dial_addr_single_attempt``, each try including retries, waits for the pacer.
"""

import inspect
import logging
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from libp2p.abc import IHost
from libp2p.network.exceptions import SwarmException
from libp2p.peer.id import ID
from multiaddr import Multiaddr

from computemesh.errors import MeshError
from computemesh.p2p.dial_pacing import DialPacer
from computemesh.p2p.patch_registry import Target, declare

log = logging.getLogger(__name__)

Plausible = Callable[[ID, Multiaddr], bool]
PATCHED = ("dial_peer", "_dial_with_retry", "_dial_addr_single_attempt", "dial_addr_as_responder")

DIAL_GUARD_PATCH = declare(
    "dial_guard",
    Target(
        "libp2p.network.swarm",
        "Swarm.dial_peer",
        "da3b538ccaeaeaa6d5f5ebb87cc7f6f9ae1dd1bbde05ac6cbbc1e1a41f286ac7",
    ),
    Target(
        "libp2p.network.swarm",
        "Swarm._dial_with_retry",
        "bd2025f00c84dddb6edaebd5555399123c0dbd99a46f8aca930809c2636fb418",
    ),
    Target(
        "libp2p.network.swarm",
        "Swarm._dial_addr_single_attempt",
        "54e3f8e1ea5b966e420fab22221ff0ca3885b8da17b59c2be63966596e868e5c",
    ),
    Target(
        "libp2p.network.swarm",
        "Swarm.dial_addr_as_responder",
        "c8d1ee2541ca43a5161e1ef5210f31e81cb9940df16625b51fba4beb5306cc67",
    ),
    Target(
        "libp2p.network.connection_gate",
        "ConnectionGate.is_allowed",
        "2fe6bc184878a2db3d563381169d06418aeea263e99f15e736c1737621a0b9df",
    ),
)


# The peer whose addresses the connection gate is filtering (inside dial_peer).
_dialing: ContextVar[ID | None] = ContextVar("computemesh_dialing", default=None)
# Set where only an open connection may be used (``existing_connections_only``).
_no_dial: ContextVar[bool] = ContextVar("computemesh_no_dial", default=False)


@contextmanager
def existing_connections_only() -> Iterator[None]:
    """Inside, ``Swarm.dial_peer`` refuses: ``new_stream`` to a peer whose connection
    has just closed fails instead of dialing it again (background chores, such as
    asking for a dial-back or renewing a reservation, must not bring a peer back)."""
    token = _no_dial.set(True)
    try:
        yield
    finally:
        _no_dial.reset(token)


class DialGuard:
    """Installed on one host's swarm; counts what it let through and what it refused."""

    def __init__(self, plausible: Plausible, pacer: DialPacer) -> None:
        self._plausible = plausible
        self.pacer = pacer
        self.counts: Counter[str] = Counter()

    def allows(self, peer: ID, addr: Multiaddr) -> bool:
        if self._plausible(peer, addr):
            return True
        self.counts["refused"] += 1
        log.debug("not dialing %s at %s: not a plausible address for it", peer, addr)
        return False

    def install(self, host: IHost) -> None:
        network: Any = host.get_network()
        check_targets(network)
        dial_peer = network.dial_peer
        dial_with_retry = network._dial_with_retry
        single_attempt = network._dial_addr_single_attempt
        as_responder = network.dial_addr_as_responder
        gate = network.connection_gate
        gate_allows = gate.is_allowed

        async def dial_peer_in_context(peer_id: ID) -> Any:
            if _no_dial.get():
                raise SwarmException(f"not dialing {peer_id}: only an open connection is used")
            token = _dialing.set(peer_id)
            try:
                return await dial_peer(peer_id)
            finally:
                _dialing.reset(token)

        async def gate_allows_for_peer(addr: Multiaddr) -> bool:
            peer_id = _dialing.get()
            if peer_id is not None and not self.allows(peer_id, addr):
                return False
            return bool(await gate_allows(addr))

        async def dial_plausible(addr: Multiaddr, peer_id: ID, *args: Any, **kwargs: Any) -> Any:
            if not self.allows(peer_id, addr):
                raise SwarmException(f"{addr} is not a plausible address of {peer_id}")
            return await dial_with_retry(addr, peer_id, *args, **kwargs)

        async def responder_plausible(
            addr: Multiaddr, peer_id: ID, *args: Any, **kwargs: Any
        ) -> Any:
            if not self.allows(peer_id, addr):
                raise SwarmException(f"{addr} is not a plausible address of {peer_id}")
            await self.pacer.slot()
            self.counts["attempts"] += 1
            return await as_responder(addr, peer_id, *args, **kwargs)

        async def paced_attempt(addr: Multiaddr, peer_id: ID, *args: Any, **kwargs: Any) -> Any:
            await self.pacer.slot()
            self.counts["attempts"] += 1
            return await single_attempt(addr, peer_id, *args, **kwargs)

        network.dial_peer = dial_peer_in_context
        network._dial_with_retry = dial_plausible
        network._dial_addr_single_attempt = paced_attempt
        network.dial_addr_as_responder = responder_plausible
        gate.is_allowed = gate_allows_for_peer


def check_targets(network: Any) -> None:
    """Refuse to start on a py-libp2p whose swarm no longer has what is patched here."""
    targets = [getattr(network, name, None) for name in PATCHED]
    targets.append(getattr(getattr(network, "connection_gate", None), "is_allowed", None))
    if not all(inspect.iscoroutinefunction(target) for target in targets):
        raise MeshError(
            "py-libp2p's Swarm changed (dial_peer, _dial_with_retry, "
            "_dial_addr_single_attempt, dial_addr_as_responder, connection_gate.is_allowed):"
            " the dial guard "
            "was written against libp2p==0.8.1"
        )
