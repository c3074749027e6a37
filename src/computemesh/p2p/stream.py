"""A libp2p stream behind a small interface, and length-prefixed frames on it.

Defect contained here: ``INetStream.read()`` raises ``StreamEOF`` at end of stream
instead of returning ``b""``; ``MeshStream.read`` returns ``b""`` like a socket.
"""

import struct

from libp2p.abc import INetStream
from libp2p.network.stream.exceptions import StreamClosed, StreamEOF

from computemesh.errors import MeshError
from computemesh.ids import PeerId

MAX_FRAME = 16 * 1024 * 1024
_LENGTH = struct.Struct(">I")


class MeshStream:
    """One bidirectional stream to a peer."""

    def __init__(self, stream: INetStream) -> None:
        self._stream = stream

    @property
    def remote_peer(self) -> PeerId:
        return PeerId(self._stream.muxed_conn.peer_id.to_base58())

    @property
    def is_open(self) -> bool:
        """False once the stream or its connection closed or reset (checked before reuse)."""
        try:
            closed = getattr(self._stream, "is_closed", False)  # NetStream has it; the ABC not
            return not (closed or self._stream.muxed_conn.is_closed)
        except Exception:  # a half-torn-down stream without its attributes
            return False

    async def read(self, max_bytes: int = 65536) -> bytes:
        """Up to ``max_bytes``; ``b""`` once the remote has closed its side."""
        try:
            data: bytes = await self._stream.read(max_bytes)
        except (StreamEOF, StreamClosed):
            return b""
        except Exception as error:  # StreamReset, StreamError, closed connections
            raise MeshError(f"stream from {self.remote_peer} failed: {error}") from error
        return data

    async def read_exactly(self, size: int) -> bytes:
        chunks: list[bytes] = []
        missing = size
        while missing:
            chunk = await self.read(missing)
            if not chunk:
                raise MeshError(f"stream from {self.remote_peer} ended {missing} bytes early")
            chunks.append(chunk)
            missing -= len(chunk)
        return b"".join(chunks)

    async def write(self, data: bytes) -> None:
        try:
            await self._stream.write(data)
        except Exception as error:  # StreamClosed, StreamReset, StreamError, ...
            raise MeshError(f"stream to {self.remote_peer} failed: {error}") from error

    async def close(self) -> None:
        try:
            await self._stream.close()
        except Exception:
            # Closing twice or after a reset is harmless.
            return

    async def reset(self) -> None:
        try:
            await self._stream.reset()
        except Exception:
            return

    async def write_frame(self, payload: bytes) -> None:
        if len(payload) > MAX_FRAME:
            raise MeshError(f"frame of {len(payload)} bytes exceeds {MAX_FRAME}")
        await self.write(_LENGTH.pack(len(payload)) + payload)

    async def read_frame(self) -> bytes:
        (size,) = _LENGTH.unpack(await self.read_exactly(_LENGTH.size))
        if size > MAX_FRAME:
            raise MeshError(f"peer {self.remote_peer} announced a frame of {size} bytes")
        return await self.read_exactly(size)
