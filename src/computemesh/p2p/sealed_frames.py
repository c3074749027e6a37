"""Defect: a cancelled write can break a Noise session, and with it the connection.

Yamux writes a frame by sealing it with Noise, which uses up the session's next
nonce, and then sending it. A cancel that lands after the seal (any caller's timeout
expiring while the frame waits for the socket) drops a frame the peer never sees.
The peer then opens every later frame with a nonce one behind, fails ("Failed
authentication of message") and closes the connection, with every stream on it.
At 50 nodes this closed 271 connections in a few minutes, pubsub streams included,
so a published record missed whole groups of nodes for seconds.

Here a frame that has been sealed is always sent in full: the send is shielded
from the caller's cancellation. The wait for the connection's write lock, before
anything is sealed, stays cancellable. A send that cannot finish within
``SEALED_SEND_LIMIT_S`` (the peer stopped reading) would leave half a frame on the
wire, so the connection is closed instead.
"""

import logging
from collections.abc import Awaitable, Callable
from typing import Any

import trio
from libp2p.io.exceptions import IOException
from libp2p.stream_muxer.yamux.yamux import Yamux

from computemesh.p2p.patch_registry import Target, declare

log = logging.getLogger(__name__)

SEALED_FRAMES_PATCH = declare(
    "sealed_frames",
    Target(
        "libp2p.stream_muxer.yamux.yamux",
        "Yamux._write_frame",
        "16ff969cdd0d2b1b296bf1b1765471239ce96e18c8b00784ef77a2fb808c4d5b",
    ),
)


SEALED_SEND_LIMIT_S = 10.0


def install() -> None:
    yamux: Any = Yamux
    yamux._write_frame = _write_frame_whole


async def _write_frame_whole(self: Any, data: bytes) -> None:
    async with self._write_lock:  # cancellable: nothing is sealed while waiting here
        await send_sealed(self, self.secured_conn.write, data)
    # A cancel that came during the shielded send is delivered now, without the
    # extra trip through the scheduler a full checkpoint costs on every frame.
    await trio.lowlevel.checkpoint_if_cancelled()


async def send_sealed(muxer: Any, send: Callable[[bytes], Awaitable[None]], data: bytes) -> None:
    """``send(data)`` to the end whatever the caller's cancellation: ``data`` is, or
    becomes, a sealed frame. Closes ``muxer``'s connection if that takes too long.

    Call with ``muxer``'s write lock held.
    """
    with trio.CancelScope(shield=True) as sending:
        sending.deadline = trio.current_time() + SEALED_SEND_LIMIT_S
        await send(data)
    if sending.cancelled_caught:
        log.info("closing the connection to %s: a frame was not sent in time", muxer.peer_id)
        with trio.CancelScope(shield=True):
            await muxer.secured_conn.close()
        raise IOException(f"a frame to {muxer.peer_id} was not sent in time")
