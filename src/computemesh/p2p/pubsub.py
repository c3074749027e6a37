"""Gossipsub tuned for the node table, gated by network membership.

Defects contained here: gossipsub silently drops everything above 10 messages/s per
peer per topic (``max_messages_per_topic_per_second``); a subscription is a
bounded queue that drops when full, so a dedicated task drains each one; and a
peer whose pubsub stream failed to open is never tried again (``repair_streams``).
"""

import logging
import random
from collections.abc import Callable, Iterable

import trio
from libp2p.abc import IHost, INetStream
from libp2p.custom_types import TProtocol
from libp2p.peer.id import ID
from libp2p.pubsub.gossipsub import GossipSub
from libp2p.pubsub.pb import rpc_pb2
from libp2p.pubsub.pubsub import Pubsub

from computemesh.ids import PeerId
from computemesh.p2p.membership import MembershipGate
from computemesh.p2p.patch_registry import Target, declare

# How often a node looks for connected members it has no pubsub stream to.
STREAM_REPAIR_INTERVAL_S = 5.0

GOSSIPSUB_PROTOCOLS = [TProtocol("/meshsub/1.1.0"), TProtocol("/meshsub/1.0.0")]

OnMessage = Callable[[bytes, PeerId], None]
Validate = Callable[[bytes], bool]

log = logging.getLogger(__name__)


FLOOD_PUBLISH_PATCH = declare(
    "flood_publish",
    Target(
        "libp2p.pubsub.gossipsub",
        "GossipSub._get_peers_to_send",
        "1d2d334126ca87ec4cf283128967dab3ad4ccd6f141f0fba18766b126a9438e5",
    ),
)


class FloodPublishGossipSub(GossipSub):
    """Gossipsub with go-libp2p's flood publishing, which py-libp2p lacks.

    A node's own messages go to every peer it has a pubsub stream to, not only to its
    mesh peers, so a record change reaches directly connected nodes in one hop
    instead of waiting for mesh forwarding or IHAVE gossip. Forwarded messages still
    follow the mesh, so the cost is one send per peer per record change.

    Defect: py-libp2p loses peers' subscriptions (at 50 nodes a node knew them for as
    few as 11 of its 49 connected peers), and it builds its mesh and its own flood
    from them; those peers then heard a record change only seconds later, from IHAVE
    gossip. Flooding to every stream does not depend on what was lost.
    """

    def _get_peers_to_send(
        self,
        topic_ids: Iterable[str],
        msg_forwarder: ID,
        origin: ID,
        msg_id: bytes | None = None,
    ) -> Iterable[ID]:
        topics = list(topic_ids)
        peers = set(super()._get_peers_to_send(topics, msg_forwarder, origin, msg_id))
        if self.pubsub is not None and origin == self.pubsub.my_id:
            # Every peer we hold a pubsub stream to, not only those whose subscription
            # we heard: at 50 nodes a node knew the subscriptions of as few as 11 of its
            # 49 connected peers, and every computemesh node subscribes to the table.
            peers.update(self.pubsub.peers)
            peers.discard(origin)
        return peers


def new_router() -> GossipSub:
    return FloodPublishGossipSub(
        protocols=GOSSIPSUB_PROTOCOLS,
        # Our own records are flooded to every connected peer, so the mesh only
        # carries them on to nodes that are not connected to their author (beyond
        # max_peers). Each node receives every message once per mesh neighbour, and
        # handling a message costs py-libp2p about a millisecond of CPU: go-libp2p's
        # 6/4/8 had 50 nodes on two cores saturated by duplicates alone.
        degree=3,
        degree_low=2,
        degree_high=4,
        # IHAVE gossip (each heartbeat, to a quarter or more of the non-mesh peers)
        # only recovers lost messages; table exchanges and re-signing already do
        # that, so a slower heartbeat saves work that grows with the peer count.
        heartbeat_interval=3,
        # "Adaptive" mode widens the mesh and the gossip when it judges the network
        # unhealthy, as it does under load: more traffic exactly when CPU is short.
        adaptive_gossip_enabled=False,
        # Records are re-signed every few seconds by every node: at 50 nodes that is
        # tens of messages/s, well above the default 10/s cap that drops silently.
        max_messages_per_topic_per_second=10_000.0,
        # Mesh IP diversity means nothing when peers share a host or a NAT; it would
        # keep a node's mesh empty in those set-ups.
        eclipse_protection_enabled=False,
    )


GATED_PUBSUB_PATCH = declare(
    "gated_pubsub",
    Target(
        "libp2p.pubsub.pubsub",
        "Pubsub._handle_new_peer",
        "305ba4224e6151d750666fb7e2f43b1c58ed44d1b415409d05207065ffbcbc35",
    ),
    Target(
        "libp2p.pubsub.pubsub",
        "Pubsub.stream_handler",
        "4be06aba2f448b7b202fe89aac19befdcfb72e6a347ca18a9edcc07294d1ecd2",
    ),
)


class GatedPubsub(Pubsub):
    """Pubsub that exchanges nothing with a peer before it proved membership."""

    def __init__(self, host: IHost, router: GossipSub, gate: MembershipGate) -> None:
        super().__init__(host, router, strict_signing=True)
        self._gate = gate

    async def _handle_new_peer(self, peer_id: ID) -> None:
        if await self._gate.wait_member(PeerId(peer_id.to_base58())):
            await super()._handle_new_peer(peer_id)

    async def repair_streams(self) -> None:
        """Defect: a peer whose pubsub stream failed to open is never tried again.

        Pubsub opens its stream to a peer once per connection and retries only
        some errors; a protocol negotiation that times out, as many do while a
        crowd of nodes starts on few cores, raises ``StreamFailure``, which it
        gives up on. The connection lives on, but nothing we publish reaches the
        peer and, as the peer's own attempt often failed the same way, we never
        learn its subscriptions either: at 50 nodes a node had a stream to a
        median 20 of its 49 connected peers, minutes after start.

        Here every few seconds each connected member without a stream is tried
        again, one at a time, so that repairs never add to a start-up storm.
        """
        while True:
            await trio.sleep(STREAM_REPAIR_INTERVAL_S * random.uniform(0.8, 1.2))
            for peer_id in self._members_without_stream():
                try:
                    await self._handle_new_peer(peer_id)
                except Exception as error:
                    log.debug("pubsub stream to %s still failing: %s", peer_id, error)

    def _members_without_stream(self) -> list[ID]:
        connected = self.host.get_network().get_connections_map()
        return [
            peer_id
            for peer_id in connected
            if peer_id not in self.peers
            and peer_id not in self._peer_stream_retries_pending
            and self._peer_is_connected(peer_id)
            and self._gate.is_member(PeerId(peer_id.to_base58()))
        ]

    async def stream_handler(self, stream: INetStream) -> None:
        peer = PeerId(stream.muxed_conn.peer_id.to_base58())
        if not await self._gate.wait_member(peer):
            await stream.reset()
            return
        await super().stream_handler(stream)


def member_validator(
    gate: MembershipGate, validate: Validate
) -> Callable[[ID, rpc_pb2.Message], bool]:
    """Accept (and so forward) a message only from a member and only if it is valid."""

    def check(forwarder: ID, message: rpc_pb2.Message) -> bool:
        if not gate.is_member(PeerId(forwarder.to_base58())):
            return False
        return validate(message.data)

    return check


async def drain(subscription: object, own_id: PeerId, on_message: OnMessage) -> None:
    """Empty a subscription as fast as messages arrive; skip our own messages."""
    while True:
        try:
            message = await subscription.get()  # type: ignore[attr-defined]
        except (trio.EndOfChannel, trio.ClosedResourceError):
            return
        author = PeerId(ID(message.from_id).to_base58())
        if author == own_id:
            continue
        try:
            on_message(message.data, author)
        except Exception:
            log.exception("subscriber failed on a message from %s", author)
