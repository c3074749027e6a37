"""Every py-libp2p 0.8.1 defect we can hit, contained here (research/p2p.md §1.6 to 1.8).

Each function names the defect it works around; ``tests/p2p/test_workarounds.py``
has a test per defect that fails if its workaround is removed.
"""

import logging
from collections.abc import Awaitable, Callable, Mapping
from contextvars import ContextVar
from typing import Any

import trio
from libp2p.abc import IHost, INetStream
from libp2p.crypto.keys import KeyPair
from libp2p.crypto.x25519 import create_new_key_pair as new_x25519
from libp2p.custom_types import TProtocol
from libp2p.network import swarm as swarm_module
from libp2p.network.exceptions import SwarmException
from libp2p.peer.id import ID
from libp2p.pubsub import pubsub as pubsub_module
from libp2p.pubsub.pubsub import Pubsub
from libp2p.pubsub.rpc_queue import RpcQueue
from libp2p.security.noise.transport import PROTOCOL_ID as NOISE_PROTOCOL_ID
from libp2p.security.noise.transport import Transport as NoiseTransport
from libp2p.stream_muxer.yamux.yamux import YamuxStream

from computemesh.p2p import (
    frame_writes,
    noise_reads,
    quick_locks,
    ready_io,
    sealed_frames,
    sender_record,
    stream_reads,
    task_lookup,
    yamux_tuning,
)
from computemesh.p2p.patch_registry import Target, declare

log = logging.getLogger(__name__)

Handler = Callable[[INetStream], Awaitable[None]]

DIAL_HEAD_START_PATCH = declare(
    "dial_head_start",
    Target(
        "libp2p.network.swarm",
        "_HAPPY_EYEBALLS_DELAY",
        "1893918fdb1bd3e926d4deb37e82fbb88e02d0c6c9831e9d27be994313d1a3f7",
    ),
)


# Defect: every dial waits a fixed 250 ms "happy eyeballs" head start even when the
# first address already connected. Our peers publish one or two addresses, so a
# short head start keeps dial fallback while removing the floor.
DIAL_HEAD_START_S = 0.005

SUBSCRIPTION_BUFFER_PATCH = declare(
    "subscription_buffer",
    Target(
        "libp2p.pubsub.pubsub",
        "SUBSCRIPTION_CHANNEL_SIZE",
        "5ac56b8530d31b05160855d5ec90d0fe4b877366d44c9002c29b3a8bb38b4dde",
    ),
)


# Defect: a subscription is a 32-slot channel that silently drops when full. The
# drain task empties it promptly; the larger buffer absorbs anti-entropy bursts.
SUBSCRIPTION_BUFFER = 4096

# Longest a (shielded) yamux window update may take before it is abandoned.
WINDOW_UPDATE_BOUND_S = 5.0

OUTBOUND_RPC_QUEUE_PATCH = declare(
    "outbound_rpc_queue",
    Target(
        "libp2p.pubsub.pubsub",
        "RpcQueue",
        "f816055e5c2b6a3ca4220995e901a14624fed135302fb75a2b0cb6762df3fe88",
    ),
)


# Defect: the queue of RPCs waiting to be sent to a pubsub peer holds 32 and drops
# the rest silently, so a burst of publishes reaches each peer cut to 32 messages.
OUTBOUND_RPC_QUEUE = 1024


class _RoomyRpcQueue(RpcQueue):
    def __init__(self) -> None:
        super().__init__(max_size=OUTBOUND_RPC_QUEUE)


def patch_module_constants() -> None:
    """Lower the dial floor, widen pubsub queues, batch yamux window updates,
    check each pubsub peer's address record once, find a task's parent directly,
    send every sealed frame whole, read yamux's tuning once, take free locks
    and socket reads and writes that need no wait without a trip through the scheduler,
    read whole socket buffers of Noise messages, write a frame straight to the
    socket when nobody else is writing, and read an open stream's buffer directly."""
    sender_record.install()
    sealed_frames.install()
    yamux_tuning.install()
    quick_locks.install()
    frame_writes.install()
    ready_io.install()
    noise_reads.install()
    stream_reads.install()
    task_lookup.install()
    swarm_module._HAPPY_EYEBALLS_DELAY = DIAL_HEAD_START_S
    pubsub_module.SUBSCRIPTION_CHANNEL_SIZE = SUBSCRIPTION_BUFFER
    pubsub_internals: Any = pubsub_module
    pubsub_internals.RpcQueue = _RoomyRpcQueue
    yamux_stream: Any = YamuxStream
    yamux_stream._auto_tune_and_send_window_update = _window_update_with_hysteresis


WINDOW_UPDATE_HYSTERESIS_PATCH = declare(
    "window_update_hysteresis",
    Target(
        "libp2p.stream_muxer.yamux.yamux",
        "YamuxStream._auto_tune_and_send_window_update",
        "6ebcbd822fe7f996efbc9efd5dceea1e8d0d729380a807eb7e4aa81cf79ca036",
    ),
    Target(
        "libp2p.stream_muxer.yamux.yamux",
        "YamuxStream._grow_threshold",
        "fde3988bca54745c16a562ae8884b5b56ff72beb3d1ad7af37d6e8c42f1dc05d",
    ),
)


async def _window_update_with_hysteresis(stream: Any, *, bytes_read: int = 0) -> None:
    """Defects: a yamux stream sends a WINDOW_UPDATE after every read, and a read
    cancelled during that update loses the bytes it had already taken.

    The "partial slack" branch credits the sender whenever anything was consumed,
    so each small message costs the receiver an extra encrypted frame and syscall
    (about a fifth of an idle node's CPU went to them). go-yamux, which this code
    says it mirrors, waits until half the window is consumed; so do we. The sender
    still has the other half in hand, so it never stalls.

    ``read`` takes bytes out of the buffer and only then awaits this update; a
    cancellation there (a timeout, a task group closing) dropped the bytes. The
    update is shielded, with a bound so a stuck connection cannot hold it forever.

    Most reads owe nothing yet. The books are kept without the window lock: the
    update is computed with no await, so no other task can run in between (and
    nothing in py-libp2p awaits while holding that lock); only a read that owes an
    update pays for a shielded send.
    """
    total = _credit_due(stream, bytes_read)
    if total > 0:
        with trio.CancelScope(shield=True, deadline=trio.current_time() + WINDOW_UPDATE_BOUND_S):
            await stream.send_window_update(total, skip_lock=True)


def _credit_due(stream: Any, bytes_read: int) -> int:
    """Record ``bytes_read`` as consumed; the credit to send the sender now, or 0."""
    stream._pending_recv_release += bytes_read
    buffered = len(stream.conn.stream_buffers.get(stream.stream_id, b""))
    consumed = stream.target_recv_window - (stream.recv_window + buffered)
    threshold = stream._grow_threshold()
    if consumed > 0 and consumed >= threshold:
        stream._pending_recv_release = 0
        return int(stream._grow_to_delta(buffered) + stream._apply_autotune_epoch(buffered))
    if stream._pending_recv_release >= threshold > 0:
        total = int(stream._pending_recv_release)
        stream.recv_window += total
        stream._pending_recv_release = 0
        return total + int(stream._apply_autotune_epoch(buffered))
    return 0


def noise_only(key_pair: KeyPair) -> Mapping[TProtocol, Any]:
    """Defect: by default the host also offers secio and *plaintext* security.

    A plaintext session lets a peer claim any peer id without proof, which would
    break every signature and membership check above it. Offer Noise only.
    """
    return {NOISE_PROTOCOL_ID: NoiseTransport(key_pair, noise_privkey=new_x25519().private_key)}


DISABLE_AUTO_CONNECTOR_PATCH = declare(
    "disable_auto_connector",
    Target(
        "libp2p.network.auto_connector",
        "AutoConnector.maybe_connect",
        "018fac95eafc2413f4d0e79fd048e93528191ee55afbd083c322b94e2caafab0",
    ),
)


def disable_auto_connector(host: IHost) -> None:
    """Defect: the auto-connector redials every peer ever seen, forever.

    Whenever the host has fewer than (low + high watermark) / 2 connections (150 by
    default) it dials peerstore entries: at start, every 30 s, and right after every
    disconnect, so a peer we just disconnected is dialed straight back. No
    ``ConnectionConfig`` turns it off (a high watermark of 0 would make the pruner
    close every connection). We dial only live table members ourselves
    (``MeshHost.dial``), so its dial round is replaced by a no-op.
    """
    network: Any = host.get_network()
    network.auto_connector.maybe_connect = _no_auto_connect


async def _no_auto_connect() -> None:
    return None


END_INBOUND_TASKS_PATCH = declare(
    "end_inbound_tasks",
    Target(
        "libp2p.network.swarm",
        "Swarm._do_handle_inbound_connection",
        "c22fdfd5289f671c6ca1d2141200153d74bd1b81c873259215d3f2f5b91bc782",
    ),
    Target(
        "libp2p.network.swarm",
        "Swarm.upgrade_inbound_raw_conn",
        "e24c4285f494767af5707012ad36680c5c34fca838697d0bd955446d2b8670e8",
    ),
)


def end_inbound_tasks(host: IHost) -> None:
    """Defect: an inbound connection's handler task outlives the connection.

    After upgrading an inbound connection the swarm parks its handler task on
    ``manager.wait_finished()``, i.e. until the swarm stops. The task keeps its
    inbound slot, so after ``max_connections - min_connections`` inbound connections
    over the host's lifetime every new one is refused, and it keeps its socket,
    raw connection and coroutine frames alive (about 8 KB per closed connection).

    Here each inbound handler task is ended once its connection has closed, which
    returns the slot and frees the memory; the cap then bounds concurrent inbound
    connections, as intended.
    """
    network: Any = host.get_network()
    handle_inbound = network._do_handle_inbound_connection
    upgrade_inbound = network.upgrade_inbound_raw_conn

    async def handle_until_closed(read_write_closer: Any, maddr: Any, failure_event: Any) -> None:
        async with trio.open_nursery() as nursery:
            token = _inbound_nursery.set(nursery)
            try:
                await handle_inbound(read_write_closer, maddr, failure_event)
            finally:
                _inbound_nursery.reset(token)
                nursery.cancel_scope.cancel()

    async def upgrade_and_watch(raw_conn: Any, maddr: Any) -> Any:
        muxed_conn = await upgrade_inbound(raw_conn, maddr)
        nursery = _inbound_nursery.get(None)
        closed = getattr(muxed_conn, "event_closed", None)
        if nursery is not None and isinstance(closed, trio.Event):
            nursery.start_soon(_cancel_when_set, closed, nursery.cancel_scope)
        return muxed_conn

    network._do_handle_inbound_connection = handle_until_closed
    network.upgrade_inbound_raw_conn = upgrade_and_watch


# The nursery of the inbound handler task running in this context, if any.
_inbound_nursery: ContextVar[trio.Nursery] = ContextVar("computemesh_inbound_nursery")


async def _cancel_when_set(event: trio.Event, scope: trio.CancelScope) -> None:
    await event.wait()
    scope.cancel()


FORGET_PEER_PATCH = declare(
    "forget_peer",
    Target(
        "libp2p.peer.peerstore",
        "PeerStore.clear_peerdata",
        "573a46564f45ed23aaf72506dd9b1d28c5ddd124a7ed3102fc949e1c0d5b132e",
    ),
    Target(
        "libp2p.network.swarm",
        "Swarm.__init__",
        "44f87a9ea1a14852df641fca78e8536861d2424e3440bb6d2c21f1bb8b873398",
    ),
)


def forget_peer(host: IHost, peer_id: ID) -> None:
    """Defect: the peerstore never drops a peer, so its addresses are redialed forever.

    Called for a peer whose dial failed or whose record expired, and by
    ``MeshHost.prune_peers`` for every peer that is gone. Also removes the per-peer
    entries the swarm keeps for a peer after its connections close. (The memory
    p2p.md saw retained per closed connection was the inbound handler task; see
    ``end_inbound_tasks``.)
    """
    sender_record.forget(host, peer_id)
    peerstore = host.get_peerstore()
    if peer_id in peerstore.peer_ids():  # clear_peerdata raises for an unknown peer
        peerstore.clear_peerdata(peer_id)
    network: Any = host.get_network()
    for attribute in ("connections", "_connection_health", "health_data"):
        table = getattr(network, attribute, None)
        if isinstance(table, dict) and not table.get(peer_id):
            table.pop(peer_id, None)


DROP_DISCONNECT_RECORD_PATCH = declare(
    "drop_disconnect_record",
    Target(
        "libp2p.network.auto_connector",
        "AutoConnector.__init__",
        "c39b99e53dbc92e480c786fde1cc25b30d902f995c19f92c0c647f2534d5a45a",
    ),
)


def drop_disconnect_record(host: IHost, peer_id: ID) -> None:
    """Defect: the auto-connector remembers every peer that ever disconnected.

    The swarm records each disconnect for the auto-connector's redial backoff and
    prunes those records only inside a dial round, which never runs once
    ``disable_auto_connector`` is in place: one entry per distinct peer, forever.
    """
    network: Any = host.get_network()
    network.auto_connector._recent_disconnects.pop(peer_id, None)


NO_PUBSUB_REDIAL_PATCH = declare(
    "no_pubsub_redial",
    Target(
        "libp2p.pubsub.pubsub",
        "Pubsub._handle_new_peer",
        "305ba4224e6151d750666fb7e2f43b1c58ed44d1b415409d05207065ffbcbc35",
    ),
    Target(
        "libp2p.network.swarm",
        "Swarm.dial_peer",
        "da3b538ccaeaeaa6d5f5ebb87cc7f6f9ae1dd1bbde05ac6cbbc1e1a41f286ac7",
    ),
)


def no_pubsub_redial(pubsub: Pubsub) -> None:
    """Defect: pubsub redials a peer that has just disconnected.

    Pubsub registers each new peer from a queue, later, by opening a stream with
    ``host.new_stream``, which dials when there is no connection. A peer that is
    disconnected right after connecting (over ``max_peers``, or by
    ``MeshHost.disconnect``) is therefore dialed straight back. Pubsub is made to
    use existing connections only: a dial made while it registers a peer fails.
    """
    handle_new_peer = pubsub._handle_new_peer
    network: Any = pubsub.host.get_network()
    dial_peer = network.dial_peer

    async def handle_without_dialing(peer_id: ID) -> None:
        token = _no_dial.set(True)
        try:
            await handle_new_peer(peer_id)
        finally:
            _no_dial.reset(token)

    async def dial_unless_forbidden(peer_id: ID) -> Any:
        if _no_dial.get() and not network.get_connections(peer_id):
            raise SwarmException(f"not connected to {peer_id}; pubsub does not dial")
        return await dial_peer(peer_id)

    pubsub._handle_new_peer = handle_without_dialing  # type: ignore[method-assign]
    network.dial_peer = dial_unless_forbidden


# Set while pubsub registers a peer (and in the tasks it starts meanwhile).
_no_dial: ContextVar[bool] = ContextVar("computemesh_no_dial", default=False)


CLOSE_PEER_PATCH = declare(
    "close_peer",
    Target(
        "libp2p.network.swarm",
        "Swarm.close_peer",
        "535619a968fb6b6b902cd61d0a4243a4069b4ed7c9616797ab16bab15888ea97",
    ),
)


async def close_peer(host: IHost, peer_id: ID) -> None:
    """Defect: ``Swarm.close_peer`` forgets connections that it never closed.

    It closes the connections it found, which takes a few hundred milliseconds,
    then drops the peer's whole entry, including a connection the peer opened
    meanwhile. That connection stays open but untracked: the remote believes it
    is connected and this host never closes it. Close until none is left instead;
    each closed connection removes itself.
    """
    network: Any = host.get_network()
    attempted: list[Any] = []
    while pending := [c for c in network.get_connections(peer_id) if not _among(c, attempted)]:
        for connection in pending:
            attempted.append(connection)
            try:
                await connection.close()
            except Exception:
                log.debug("closing a connection to %s failed", peer_id, exc_info=True)


def _among(item: object, items: list[Any]) -> bool:
    return any(item is other for other in items)


ALLOW_REDIAL_PATCH = declare(
    "allow_redial",
    Target(
        "libp2p.network.swarm",
        "_NegativePeerCache.evict",
        "5e5f4a072e59cd9d8c8539401f60e0f6051535f5e40062fdc94e16b6f50e24b1",
    ),
)


def allow_redial(host: IHost, peer_id: ID) -> None:
    """Defect: after one failed dial the swarm refuses every dial to that peer for 60 s.

    Its negative cache blocks a peer "whose addresses recently failed", so a node
    that restarts within the minute stays unreachable however often we redial.
    Our own loops already pace redials with backoff, so an explicit dial lifts it.
    """
    network: Any = host.get_network()
    network._negative_peer_cache.evict(str(peer_id))


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


CONTAIN_STREAM_ERRORS_PATCH = declare(
    "contain_stream_errors",
    Target(
        "libp2p.host.basic_host",
        "BasicHost._swarm_stream_handler",
        "cec985884b1ba2699de5bf4cf6ba8f4e85b6338279777c812068a176c10bc4cd",
    ),
    Target(
        "libp2p.network.swarm",
        "Swarm.set_stream_handler",
        "2a7fda1f18e0bb71d588808a483551fe6ddc2788740b8846fdd6101a2aa49e4c",
    ),
)


def contain_stream_errors(host: IHost) -> None:
    """Defect: an exception in any stream handler, libp2p's own included, kills the host.

    ``BasicHost._swarm_stream_handler`` negotiates the protocol and awaits the handler
    with no try/except. libp2p's identify handler raises ``StreamError`` when the
    remote hangs up mid-reply, which is routine. Wrapping the swarm's single entry
    point for inbound streams contains every handler; it only catches errors, so a
    stream a handler leaves to a background task is not closed.
    """
    network: Any = host.get_network()
    accept = host._swarm_stream_handler  # type: ignore[attr-defined]

    async def accept_contained(stream: INetStream) -> None:
        try:
            await accept(stream)
        except Exception as error:
            log.debug("inbound stream failed: %r", error)
            await _quietly(stream.reset())

    network.set_stream_handler(accept_contained)


STOP_SEEN_CACHE_PATCH = declare(
    "stop_seen_cache",
    Target(
        "libp2p.pubsub.pubsub",
        "Pubsub.__init__",
        "fc7e7f95ffc4b1355e1a8b9dfa28b313afc4cb62991945bb0bb0b724a68b8dad",
    ),
    Target(
        "libp2p.tools.timed_cache.last_seen_cache",
        "LastSeenCache",
        "233b00298cbbe12fdc78bd6aea229be310fe8695516ebb9b705770a5e6a3d7c9",
    ),
)


def stop_seen_cache(pubsub: Pubsub) -> None:
    """Defect: every ``Pubsub`` starts a sweeper thread that nothing ever stops.

    Its seen-message cache runs a thread that wakes every 60 s for the life of the
    process, so each closed host leaves a thread and its cache behind. Stop it when
    the host closes.
    """
    pubsub.seen_messages.stop()


async def _quietly(closing: Awaitable[None]) -> None:
    try:
        await closing
    except Exception:
        # The stream is already gone; nothing else to release.
        log.debug("closing an already closed stream", exc_info=True)
