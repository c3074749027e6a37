"""TCP connections to upstream HTTP servers, shaped like mesh streams for ``H11Channel``.

The same lean h11 client then serves both hops of a forward, and the node's HTTP
port serves clients over the same kind of stream. Compared with httpx's own transport
it writes a request's head and body in one send, which matters here: a loopback send
costs tens of microseconds on these machines. Reads and writes that need no wait
skip trio's scheduler (``p2p.ready_io``), as the node's libp2p connections do.
"""

import socket

import anyio
from anyio.abc import SocketAttribute, SocketStream

from computemesh.errors import MeshError
from computemesh.p2p.ready_io import ReadyIO

READ_SIZE = 64 * 1024


class TcpStream:
    def __init__(self, stream: SocketStream) -> None:
        self._stream = stream
        self._socket = stream.extra(SocketAttribute.raw_socket)  # anyio rebuilds it per ask
        self._io = ReadyIO(self._socket)
        self._closed = False

    @property
    def is_open(self) -> bool:
        """False once closed, or when the server closed it while it sat idle.

        An idle keep-alive connection has nothing to read; readable means the server
        hung up (or broke protocol), so it must not carry another request.
        """
        if self._closed:
            return False
        # A peek, not select(): select() refuses descriptors of 1024 and more.
        try:
            self._socket.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT)
        except BlockingIOError:
            return True  # nothing to read: idle and open
        except OSError:
            return False
        return False  # bytes, or b"" for the server's close

    async def read(self, max_bytes: int = READ_SIZE) -> bytes:
        try:
            return await self._io.read(max_bytes)
        except OSError as error:
            raise MeshError(f"connection failed: {error}") from error

    async def write(self, data: bytes) -> None:
        try:
            await self._io.write(data)
        except OSError as error:
            raise MeshError(f"connection failed: {error}") from error

    async def close(self) -> None:
        self._closed = True
        await self._stream.aclose()

    async def reset(self) -> None:
        await self.close()


async def connect(host: str, port: int) -> TcpStream:
    try:
        return TcpStream(await anyio.connect_tcp(host, port))
    except OSError as error:
        raise MeshError(f"cannot connect to {host}:{port}: {error}") from error


async def open_tcp(destination: str) -> TcpStream:
    """``host:port`` (as ``tcp_locator`` writes it) → a connection."""
    host, _, port = destination.rpartition(":")
    return await connect(host, int(port))
