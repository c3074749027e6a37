"""Cost: py-libp2p's TCP reads go through trio's scheduler even when the bytes are waiting.

Each Noise message is read from the TCP stream in two reads, its 2-byte length and
then its body. ``trio.SocketStream.receive_some`` yields to the scheduler after every
read that succeeds, so the body, which almost always arrived with its length, costs
one more turn of the event loop (an ``epoll_wait`` among it) per frame: half of the
yamux reader's turns per relayed message. Here a read takes bytes that are already
in the socket at once and waits, through trio, only when there are none; every
``FAIR_EVERY``-th read that did not wait still yields, so a peer that keeps the
socket full cannot keep the other tasks from running.
"""

import errno
import os
from typing import Any

import trio
from libp2p.io.exceptions import ConnectionClosedError
from libp2p.io.trio import TrioTCPStream

FAIR_EVERY = 16
DEFAULT_READ = 65536  # what trio reads when no size is given
_COUNT = "_computemesh_ready_reads"


def install() -> None:
    """Patch py-libp2p's TCP stream (once per process)."""
    stream: Any = TrioTCPStream
    stream.read = _read


async def _read(self: Any, n: int | None = None) -> bytes:
    async with self.read_lock:
        if n == 0:
            return b""
        await trio.lowlevel.checkpoint_if_cancelled()  # yields only if cancelled
        socket = self.stream.socket
        waited = False
        while True:
            try:
                data = os.read(socket.fileno(), n or DEFAULT_READ)
            except BlockingIOError:
                await trio.lowlevel.wait_readable(socket)
                waited = True
                continue
            except OSError as error:
                if error.errno == errno.EBADF:
                    return b""  # closed here: an end, as py-libp2p reads it
                raise ConnectionClosedError(
                    f"TCP connection reset by remote peer: {error}", transport="tcp"
                ) from error
            if not waited:
                await _now_and_then(self)
            return data


async def _now_and_then(stream: Any) -> None:
    count = getattr(stream, _COUNT, 0) + 1
    setattr(stream, _COUNT, count)
    if count % FAIR_EVERY == 0:
        await trio.lowlevel.checkpoint()
