"""Cost: reading a yamux stream takes two locks and formats up to six log messages.

py-libp2p's ``NetStream.read`` takes the stream's state lock to look at its state,
then yamux's ``read_stream`` takes the connection's stream lock on every pass and
builds its debug messages (peer ids in base58) whether or not debug logging is on,
before and after each wait for data. Reading the answer to a forwarded request, that
was about a twentieth of an entry node's busy time.

While the stream is open and its connection up, the bytes are taken straight from
the stream's buffer, with no await between looking and taking (so no other task
can change it in between), and the window is credited as py-libp2p's read would
(``workarounds``' hysteresis: most reads owe nothing; an update that is due is
shielded, so a cancelled read never loses the bytes it took). With no bytes yet,
the read waits on the stream's own event, as py-libp2p's does. Anything else (a
reset, a FIN, a closing connection, another muxer, a read of "everything") takes
py-libp2p's own path, which knows those cases.
"""

from typing import Any

import trio
from libp2p.network.stream.net_stream import NetStream, StreamState
from libp2p.stream_muxer.yamux.yamux import YamuxStream

from computemesh.p2p.patch_registry import Target, declare

STREAM_READS_PATCH = declare(
    "stream_reads",
    Target(
        "libp2p.network.stream.net_stream",
        "NetStream.read",
        "cc3b280850abe4b3ce5867fda6e23c2082096029bfa99ea1faa5dc663127cec9",
    ),
)


_READABLE = frozenset({StreamState.OPEN, StreamState.CLOSE_WRITE})
_original_read = NetStream.read


def install() -> None:
    """Patch ``NetStream.read`` (once per process, after the window hysteresis)."""
    stream: Any = NetStream
    stream.read = _read


async def _read(self: Any, n: int | None = None) -> bytes:
    data = await _read_open_yamux(self, n)
    if data is None:
        return await _original_read(self, n)
    return data


async def _read_open_yamux(stream: Any, n: int | None) -> bytes | None:
    """Up to ``n`` bytes, waiting for the first; None where py-libp2p's read must answer."""
    muxed = stream.muxed_stream
    if n is None or n <= 0 or type(muxed) is not YamuxStream:
        return None
    conn, stream_id = muxed.conn, muxed.stream_id
    while stream._state in _READABLE and _open(muxed, conn):
        buffer = conn.stream_buffers.get(stream_id)
        if buffer is None:
            return None
        if buffer:
            data = bytes(buffer[:n])
            del buffer[:n]
            await muxed._auto_tune_and_send_window_update(bytes_read=len(data))
            return data
        arrived = conn.stream_events.get(stream_id)
        if arrived is None:
            return None
        await arrived.wait()
        if conn.stream_events.get(stream_id) is arrived:
            conn.stream_events[stream_id] = trio.Event()  # re-armed, as py-libp2p does
    return None


def _open(muxed: Any, conn: Any) -> bool:
    return not (
        muxed.reset_received
        or muxed.recv_closed
        or muxed.closed
        or conn.event_shutting_down.is_set()
    )
