"""Private networks: peers must prove they hold the network secret.

Right after a connection opens, each side challenges the other on
``/computemesh/membership/1.0.0``: it sends a random nonce and expects
HMAC-SHA256(secret, label ‖ nonce ‖ prover id ‖ verifier id). Binding both peer ids
(already authenticated by Noise) stops a relay of someone else's answer. Without a
secret the network is open and every peer counts as a member.

A peer that fails or does not answer in time is an outsider: it may stay connected,
because the DHT all computemesh networks share (``/computemesh/kad/1.0.0``, served
to anyone) is how a member that knows only nodes of other networks finds its own.
It gets nothing else: every handler of ours, the table exchange and gossip wait for
``is_member``. At most ``MAX_OUTSIDERS`` outsiders stay connected at once, so they
cannot take the places of members; one more is disconnected, as before.

The peers refused last (and when) are kept, a bounded few, so an operator asking why a
peer is not used can be told it is of another network (``/v1/dnt/explain``).
"""

import hashlib
import hmac
import logging
import secrets
import time
from collections.abc import Awaitable, Callable

import trio

from computemesh.ids import PeerId
from computemesh.p2p.stream import MeshStream

PROTOCOL = "/computemesh/membership/1.0.0"
_LABEL = b"computemesh-membership-v1"
NONCE_BYTES = 32
CHALLENGE_TIMEOUT_S = 5.0
MAX_REFUSED_KEPT = 1024
MAX_OUTSIDERS = 8

log = logging.getLogger(__name__)

OpenStream = Callable[[PeerId, str], Awaitable[MeshStream]]
Disconnect = Callable[[PeerId], Awaitable[None]]


def answer(secret: bytes, nonce: bytes, prover: PeerId, verifier: PeerId) -> bytes:
    message = _LABEL + nonce + prover.encode() + verifier.encode()
    return hmac.new(secret, message, hashlib.sha256).digest()


class MembershipGate:
    """Tracks which connected peers are proven members; open networks admit all."""

    def __init__(self, own_id: PeerId, secret: bytes | None) -> None:
        self._own_id = own_id
        self._secret = secret
        self._members: set[PeerId] = set()
        self._outsiders: set[PeerId] = set()
        self._decided: dict[PeerId, trio.Event] = {}
        self.refused: dict[PeerId, float] = {}
        """Peers that failed the challenge, with the unix time of their last failure."""
        self.failed = 0
        """Challenges a peer failed (or left unanswered), since the start."""

    @property
    def private(self) -> bool:
        return self._secret is not None

    def is_member(self, peer: PeerId) -> bool:
        return not self.private or peer == self._own_id or peer in self._members

    async def wait_member(self, peer: PeerId, timeout: float = CHALLENGE_TIMEOUT_S) -> bool:
        """Wait until ``peer`` has passed or failed its challenge."""
        if self.is_member(peer):
            return True
        with trio.move_on_after(timeout):
            await self._decision(peer).wait()
        return self.is_member(peer)

    def is_outsider(self, peer: PeerId) -> bool:
        """Connected, and failed its challenge (only the shared DHT serves it)."""
        return peer in self._outsiders

    def forget(self, peer: PeerId) -> None:
        """A disconnected peer must prove itself again on its next connection."""
        self._members.discard(peer)
        self._outsiders.discard(peer)
        self._decided.pop(peer, None)

    async def challenge(
        self, peer: PeerId, open_stream: OpenStream, disconnect: Disconnect
    ) -> None:
        """Verify ``peer``; run once per new connection. One that fails stays as an
        outsider while there is room for one, and is disconnected otherwise."""
        if self._secret is None or peer in self._members:
            return
        passed = False
        with trio.move_on_after(CHALLENGE_TIMEOUT_S):
            passed = await self._ask(peer, open_stream)
        if passed:
            self._members.add(peer)
            self.refused.pop(peer, None)
        else:
            self.failed += 1
            if len(self.refused) >= MAX_REFUSED_KEPT:
                self.refused.clear()
            self.refused[peer] = time.time()
            if len(self._outsiders) < MAX_OUTSIDERS:
                log.info("peer %s is not a member of this network; it may use the DHT only", peer)
                self._outsiders.add(peer)
            else:
                log.warning("peer %s failed the network membership challenge; disconnecting", peer)
                await disconnect(peer)
        self._decision(peer).set()

    async def respond(self, stream: MeshStream) -> None:
        """Stream handler: answer a challenge from a peer."""
        if self._secret is None:
            return
        nonce = await stream.read_exactly(NONCE_BYTES)
        await stream.write(answer(self._secret, nonce, self._own_id, stream.remote_peer))

    async def _ask(self, peer: PeerId, open_stream: OpenStream) -> bool:
        assert self._secret is not None
        nonce = secrets.token_bytes(NONCE_BYTES)
        try:
            stream = await open_stream(peer, PROTOCOL)
            await stream.write(nonce)
            reply = await stream.read_exactly(32)
            await stream.close()
        except Exception as error:
            log.debug("membership challenge to %s failed: %s", peer, error)
            return False
        return hmac.compare_digest(reply, answer(self._secret, nonce, peer, self._own_id))

    def _decision(self, peer: PeerId) -> trio.Event:
        return self._decided.setdefault(peer, trio.Event())
