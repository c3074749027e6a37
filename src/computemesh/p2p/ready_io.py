"""Cost: trio's socket reads and writes go through the scheduler even when they need no wait.

``trio.SocketStream`` yields to the scheduler after every read and write that
succeeds at once, which on a relay is nearly all of them: py-libp2p reads each Noise
message in two reads from its TCP stream (the 2-byte length, then the body, which
almost always arrived with it) and writes each frame in one, and a node's HTTP
connections read a request and write an answer. Each such yield is one more turn of
the event loop, an ``epoll_wait`` among it. Here a read takes bytes already in the
socket, and a write puts bytes into a socket with room, at once; trio is asked to
wait only when the socket would block. Every ``FAIR_EVERY``-th operation that did not
wait still yields, so a peer that keeps a socket busy cannot hold the other tasks back.
"""

import errno
import os
from typing import Any

import trio
from libp2p.io.exceptions import ConnectionClosedError
from libp2p.io.trio import TrioTCPStream

from computemesh.p2p.patch_registry import Target, declare

READY_IO_PATCH = declare(
    "ready_io",
    Target(
        "libp2p.io.trio",
        "TrioTCPStream.read",
        "c606ac89ec9d0eae3f945af30415a2c417a7b7b565d7500a7e0a284a3785c59b",
    ),
    Target(
        "libp2p.io.trio",
        "TrioTCPStream.write",
        "4b00ddfa205203200feda545d6a9e6f5645c1c5f67127a05371d2b1309aa5e2e",
    ),
)


FAIR_EVERY = 16
DEFAULT_READ = 65536  # what trio reads when no size is given
_IO = "_computemesh_ready_io"


class ReadyIO:
    """Reads and writes on one non-blocking socket that yield only when they must wait."""

    __slots__ = ("_done_at_once", "_socket")

    def __init__(self, socket: Any) -> None:
        self._socket = socket  # trio's or the standard library's, non-blocking
        self._done_at_once = 0

    async def read(self, size: int) -> bytes:
        """Up to ``size`` bytes; ``b""`` at the end; ``OSError`` as the socket raises it."""
        await trio.lowlevel.checkpoint_if_cancelled()  # yields only if cancelled
        waited = False
        while True:
            try:
                data = os.read(self._socket.fileno(), size)
            except BlockingIOError:
                await _wait(trio.lowlevel.wait_readable, self._socket)
                waited = True
                continue
            if not waited:
                await self.now_and_then()
            return data

    async def write(self, data: bytes) -> None:
        """All of ``data``; ``OSError`` as the socket raises it."""
        await trio.lowlevel.checkpoint_if_cancelled()
        view = memoryview(data)
        waited = False
        while view := view[self.write_now(view) :]:
            await _wait(trio.lowlevel.wait_writable, self._socket)
            waited = True
        if not waited:
            await self.now_and_then()

    def write_now(self, data: bytes | memoryview) -> int:
        """How much of ``data`` the socket took without waiting; ``OSError`` as it raises it."""
        sent = 0
        try:
            while sent < len(data):
                sent += os.write(self._socket.fileno(), data[sent:])
        except BlockingIOError:
            pass
        return sent

    async def now_and_then(self) -> None:
        """Yield on every ``FAIR_EVERY``-th call: the turn an operation that did not wait owes."""
        self._done_at_once += 1
        if self._done_at_once % FAIR_EVERY == 0:
            # The operation is done: a cancel landing here would lose the bytes read.
            await trio.lowlevel.cancel_shielded_checkpoint()


async def _wait(wait: Any, socket: Any) -> None:
    try:
        await wait(socket)
    except trio.ClosedResourceError as error:  # closed by another task meanwhile
        raise OSError(errno.EBADF, "the socket was closed") from error


def install() -> None:
    """Patch py-libp2p's TCP stream (once per process)."""
    stream: Any = TrioTCPStream
    stream.read = _read
    stream.write = _write


def ready_io_of(stream: Any) -> ReadyIO:
    io: ReadyIO | None = getattr(stream, _IO, None)
    if io is None:
        io = ReadyIO(stream.stream.socket)
        setattr(stream, _IO, io)
    return io


async def _read(self: Any, n: int | None = None) -> bytes:
    async with self.read_lock:
        if n == 0:
            return b""
        try:
            return await ready_io_of(self).read(n or DEFAULT_READ)
        except OSError as error:
            if error.errno == errno.EBADF:
                return b""  # closed here: an end, as py-libp2p reads it
            raise closed_error(error) from error


async def _write(self: Any, data: bytes) -> None:
    async with self.write_lock:
        try:
            await ready_io_of(self).write(data)
        except OSError as error:
            if error.errno == errno.EBADF:
                return  # closed here: py-libp2p drops the write quietly
            raise closed_error(error) from error


def closed_error(error: OSError) -> ConnectionClosedError:
    return ConnectionClosedError(f"TCP connection reset by remote peer: {error}", transport="tcp")
