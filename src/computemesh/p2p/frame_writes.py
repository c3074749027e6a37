"""Cost: a yamux frame reaches the socket through nine layers, four locks and a shielded scope.

py-libp2p writes a stream's data under the stream's write lock (an async context
manager) and window lock, then the connection's write lock, then seals the frame with
Noise and sends it through the secure session, the Noise framing, the raw connection
and the TCP stream's own lock; ``sealed_frames`` adds a shielded, time-limited cancel
scope, so a sealed frame is always sent whole. Relaying a stream of small messages,
that path was more than a third of a provider node's busy time, the scope and locks
alone a fifth.

When no other task is writing on the connection and the socket has room, none of
that protects anything: trio runs no other task between sealing a frame and putting
it into the socket, so here a frame is sealed and written at once, without an await in
between. If the socket takes only part of it, the rest goes out as ``sealed_frames``
sends every frame: under the connection's write lock, shielded, bounded. Whenever
a lock is held, a window is short or a frame is too big for one Noise message, the
frame takes py-libp2p's own path.
"""

import errno
import struct
from typing import Any

import trio
from libp2p.io.trio import TrioTCPStream
from libp2p.network.connection.raw_connection import RawConnection
from libp2p.security.noise.io import MAX_PLAINTEXT_LENGTH, NoiseTransportReadWriter
from libp2p.security.secure_session import SecureSession
from libp2p.stream_muxer.yamux import yamux as yamux_module
from libp2p.stream_muxer.yamux.yamux import Yamux, YamuxStream

from computemesh.p2p import sealed_frames
from computemesh.p2p.patch_registry import Target, declare
from computemesh.p2p.quick_locks import QuickLock
from computemesh.p2p.ready_io import closed_error, ready_io_of

_DATA_HEADER = struct.Struct(yamux_module.YAMUX_HEADER_FORMAT)
_MAX_DATA = yamux_module.MAX_MESSAGE_SIZE - yamux_module.HEADER_SIZE
_NOISE_LENGTH = 2
_DIRECT = "_computemesh_direct_path"

FRAME_WRITES_PATCH = declare(
    "frame_writes",
    Target(
        "libp2p.stream_muxer.yamux.yamux",
        "YamuxStream.write",
        "d87f74dfb53ab194e7907a44c7400ce2f7e64f8cde63b5840af83772b17547af",
    ),
    Target(
        "libp2p.stream_muxer.yamux.yamux",
        "Yamux._write_frame",
        "16ff969cdd0d2b1b296bf1b1765471239ce96e18c8b00784ef77a2fb808c4d5b",
    ),
)


_original_stream_write = YamuxStream.write


def install() -> None:
    """Patch yamux's stream and frame writes (once per process, after ``quick_locks``)."""
    stream: Any = YamuxStream
    stream.write = _stream_write
    muxer: Any = Yamux
    muxer._write_frame = _write_frame


async def _stream_write(self: Any, data: bytes) -> None:
    if not _fits_at_once(self, len(data)):
        await _original_stream_write(self, data)
        return
    self.send_window -= len(data)
    header = _DATA_HEADER.pack(0, yamux_module.TYPE_DATA, 0, self.stream_id, len(data))
    await self.conn._write_frame(header + data)


def _fits_at_once(stream: Any, size: int) -> bool:
    """One DATA frame within the window, with neither of the stream's write locks held."""
    return (
        0 < size <= min(stream.send_window, _MAX_DATA)
        and not (stream.send_closed or stream.closed)
        and _free(stream.window_lock)
        and _free(stream.rw_lock._writer_lock)
    )


def _free(lock: Any) -> bool:
    return isinstance(lock, QuickLock) and not lock.locked()


async def _write_frame(self: Any, frame: bytes) -> None:
    direct = _direct_path(self)
    if direct is None or not _at_once(self, direct, len(frame)):
        await sealed_frames._write_frame_whole(self, frame)
        return
    noise, tcp = direct
    sealed = noise.encrypt(frame)
    wire = len(sealed).to_bytes(_NOISE_LENGTH, "big") + sealed
    io = ready_io_of(tcp)
    try:
        sent = io.write_now(wire)
    except OSError as error:
        if error.errno == errno.EBADF:
            return  # closed here: py-libp2p drops the write quietly
        raise closed_error(error) from error
    if sent < len(wire):
        async with self._write_lock:  # free: nobody was writing, and nothing awaited since
            raw: RawConnection = noise.read_writer.read_write_closer  # type: ignore[assignment]
            await sealed_frames.send_sealed(self, raw.write, wire[sent:])
    await trio.lowlevel.checkpoint_if_cancelled()
    await io.now_and_then()


Direct = tuple[NoiseTransportReadWriter, TrioTCPStream]


def _at_once(muxer: Any, direct: Direct, size: int) -> bool:
    """Nobody is writing on the connection, and the frame fits one Noise message."""
    return size <= MAX_PLAINTEXT_LENGTH and _free(muxer._write_lock) and _free(direct[1].write_lock)


def _direct_path(muxer: Any) -> Direct | None:
    """The Noise session and TCP stream under ``muxer``; None over any other kind."""
    if not hasattr(muxer, _DIRECT):
        setattr(muxer, _DIRECT, _find_direct_path(muxer.secured_conn))
    found: Direct | None = getattr(muxer, _DIRECT)
    return found


def _find_direct_path(session: Any) -> Direct | None:
    noise = session.conn if isinstance(session, SecureSession) else None
    if not isinstance(noise, NoiseTransportReadWriter):
        return None
    raw = noise.read_writer.read_write_closer
    tcp = getattr(raw, "stream", None)
    if not isinstance(raw, RawConnection) or not isinstance(tcp, TrioTCPStream):
        return None
    return noise, tcp
