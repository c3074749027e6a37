"""One HTTP/1.1 connection on one byte stream: h11's state machine fed from the stream.

The stream is a libp2p stream (``MeshStream``) or a TCP connection (``TcpStream``);
both read ``b""`` at the end and raise ``MeshError`` on failure.
"""

from typing import Protocol

import h11

from computemesh.errors import MeshError

READ_SIZE = 64 * 1024
MAX_HEAD_BYTES = 64 * 1024


class ByteStream(Protocol):
    @property
    def is_open(self) -> bool: ...

    async def read(self, max_bytes: int = ...) -> bytes: ...

    async def write(self, data: bytes) -> None: ...

    async def close(self) -> None: ...

    async def reset(self) -> None: ...


class H11Channel:
    """Sends and receives h11 events over a byte stream; one side (client or server)."""

    def __init__(self, stream: ByteStream, role: type[h11.CLIENT] | type[h11.SERVER]) -> None:
        self.stream = stream
        self.conn = h11.Connection(role, max_incomplete_event_size=MAX_HEAD_BYTES)

    def encode(self, event: h11.Event) -> bytes:
        """The bytes of ``event`` (h11 advances its state); write them with ``write``."""
        return self.conn.send(event) or b""

    async def write(self, data: bytes) -> None:
        if data:
            await self.stream.write(data)

    async def send(self, event: h11.Event) -> None:
        await self.write(self.encode(event))

    async def next_event(self) -> h11.Event:
        """The next complete event, reading from the stream as h11 needs."""
        while (event := self.poll()) is None:
            # b"" tells h11 the remote closed its side; it then reports the close.
            self.conn.receive_data(await self.stream.read(READ_SIZE))
        return event

    def poll(self) -> h11.Event | None:
        """The next event if its bytes are already here; None if it needs more."""
        event = self.conn.next_event()
        if event is h11.PAUSED:
            # Only reachable if asked for the next request before answering this one.
            raise MeshError("HTTP/1.1 channel read out of turn")
        return event if isinstance(event, h11.Event) else None

    @property
    def reusable(self) -> bool:
        """Both sides finished a message cleanly and neither asked to close."""
        return self.conn.our_state is h11.DONE and self.conn.their_state is h11.DONE
