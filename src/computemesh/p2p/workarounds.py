"""Every py-libp2p 0.8.1 defect we can hit, contained here (research/p2p.md §1.6 to 1.8).

Each function names the defect it works around; ``tests/p2p/test_workarounds.py``
has a test per defect that fails if its workaround is removed.
"""

import logging
import math
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import trio
from libp2p.abc import IHost, INetStream
from libp2p.crypto.keys import KeyPair
from libp2p.crypto.x25519 import create_new_key_pair as new_x25519
from libp2p.custom_types import TProtocol
from libp2p.network import swarm as swarm_module
from libp2p.network.config import ConnectionConfig
from libp2p.peer.id import ID
from libp2p.pubsub import pubsub as pubsub_module
from libp2p.security.noise.transport import PROTOCOL_ID as NOISE_PROTOCOL_ID
from libp2p.security.noise.transport import Transport as NoiseTransport

log = logging.getLogger(__name__)

Handler = Callable[[INetStream], Awaitable[None]]

# Defect: every dial waits a fixed 250 ms "happy eyeballs" head start even when the
# first address already connected. Our peers publish one or two addresses, so a
# short head start keeps dial fallback while removing the floor.
DIAL_HEAD_START_S = 0.005

# Defect: a subscription is a 32-slot channel that silently drops when full. The
# drain task empties it promptly; the larger buffer absorbs anti-entropy bursts.
SUBSCRIPTION_BUFFER = 4096


def patch_module_constants() -> None:
    """Lower the dial floor and widen subscription buffers (module-level in libp2p)."""
    swarm_module._HAPPY_EYEBALLS_DELAY = DIAL_HEAD_START_S
    pubsub_module.SUBSCRIPTION_CHANNEL_SIZE = SUBSCRIPTION_BUFFER


def noise_only(key_pair: KeyPair) -> Mapping[TProtocol, Any]:
    """Defect: by default the host also offers secio and *plaintext* security.

    A plaintext session lets a peer claim any peer id without proof, which would
    break every signature and membership check above it. Offer Noise only.
    """
    return {NOISE_PROTOCOL_ID: NoiseTransport(key_pair, noise_privkey=new_x25519().private_key)}


def connection_config() -> ConnectionConfig:
    """Defect: the auto-connector redials every peer ever seen, forever.

    Below ``low_watermark`` (100) it dials peerstore entries every 30 s, and the
    peerstore keeps dead peers. We dial only live table members ourselves
    (``MeshHost.dial``), so the built-in auto-connector is turned off.
    """
    return ConnectionConfig(low_watermark=0, min_connections=0, auto_connect_interval=3600.0)


def lift_inbound_cap(host: IHost) -> None:
    """Defect: an inbound slot is held until the swarm stops, not until the connection ends.

    After ``max_connections - min_connections`` (250) inbound connections over the
    host's lifetime every new inbound connection is refused. Connection counts are
    bounded instead by ``MeshHost`` (``max_peers``), which closes surplus peers.
    """
    network: Any = host.get_network()
    network._inbound_limiter = trio.CapacityLimiter(math.inf)


def forget_peer(host: IHost, peer_id: ID) -> None:
    """Defect: the peerstore never drops a peer, so its addresses are redialed forever.

    Also removes the per-peer state the swarm and identify caches keep for a peer
    after its connections close (the ~20 KB per closed connection p2p.md measured).
    """
    host.get_peerstore().clear_peerdata(peer_id)
    network: Any = host.get_network()
    for attribute in ("connections", "_connection_health", "health_data"):
        table = getattr(network, attribute, None)
        if isinstance(table, dict) and not table.get(peer_id):
            table.pop(peer_id, None)


def guarded(handler: Handler, protocol: str) -> Handler:
    """Defect: an exception raised by a stream handler takes the whole host down.

    Also closes the stream afterwards (a handler that forgets leaks a yamux stream),
    and resets it on error so the remote sees a failure instead of a hang.
    """

    async def run_guarded(stream: INetStream) -> None:
        try:
            await handler(stream)
        except Exception:
            log.exception("handler for %s failed", protocol)
            await _quietly(stream.reset())
        else:
            await _quietly(stream.close())

    return run_guarded


async def _quietly(closing: Awaitable[None]) -> None:
    try:
        await closing
    except Exception:
        # The stream is already gone; nothing else to release.
        log.debug("closing an already closed stream", exc_info=True)
