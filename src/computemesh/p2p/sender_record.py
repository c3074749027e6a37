"""Checking a pubsub peer's signed address record once, not on every message.

Defect: py-libp2p attaches the sender's signed peer record to every pubsub RPC,
and the receiver decodes it, verifies its signature, and rewrites that peer's
address book on every one, twice for an RPC that carries control messages. The
record changes only when the sender's addresses do; at 50 nodes each node takes
about 17 RPCs a second and this was about a tenth of its CPU.

Here a record is consumed as before the first time, and again only when its bytes
differ from the last one accepted from that peer.
"""

import weakref
from typing import Any

from libp2p.abc import IHost
from libp2p.peer.id import ID
from libp2p.pubsub import gossipsub as gossipsub_module
from libp2p.pubsub import pubsub as pubsub_module
from libp2p.pubsub.pb.rpc_pb2 import RPC
from libp2p.pubsub.utils import maybe_consume_signed_record

from computemesh.p2p.patch_registry import Target, declare

# host -> peer -> the record bytes last accepted from that peer
_accepted: "weakref.WeakKeyDictionary[IHost, dict[ID, bytes]]" = weakref.WeakKeyDictionary()


SENDER_RECORD_PATCH = declare(
    "sender_record",
    Target(
        "libp2p.pubsub.pubsub",
        "maybe_consume_signed_record",
        "11b2181c27d75df4753635abc3ee3c7e9adaf6a0dd7829d8e6c416f161ef0f8b",
    ),
    Target(
        "libp2p.pubsub.gossipsub",
        "maybe_consume_signed_record",
        "11b2181c27d75df4753635abc3ee3c7e9adaf6a0dd7829d8e6c416f161ef0f8b",
    ),
)


def consume_once(msg: RPC, host: IHost, peer_id: ID) -> bool:
    """``maybe_consume_signed_record`` that skips a record it already accepted."""
    if not msg.HasField("senderRecord"):
        return True
    known = _accepted.setdefault(host, {})
    if known.get(peer_id) == msg.senderRecord:
        return True
    if not maybe_consume_signed_record(msg, host, peer_id):
        return False
    known[peer_id] = msg.senderRecord
    return True


def forget(host: IHost, peer_id: ID) -> None:
    _accepted.get(host, {}).pop(peer_id, None)


def install() -> None:
    for module in (pubsub_module, gossipsub_module):
        patched: Any = module
        patched.maybe_consume_signed_record = consume_once
