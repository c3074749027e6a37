"""Cost: py-libp2p reads every Noise message with two socket reads through five layers.

A secure session reads a Noise message as its 2-byte length and then its body, each
with ``read_exactly`` on the raw connection, the TCP stream's lock and a socket
read; the plaintext then waits in a ``BytesIO`` that yamux drains 12 header bytes
and one body at a time. Yamux's reader task spent 23% of an entry node's busy time
per forwarded request there. Here a session takes whatever the socket holds in one
read, cuts the Noise messages out of it, and keeps the plaintext as one ``bytes``
it slices: same messages, same decryption, same errors at the end of a connection.
Yamux reads a data frame's body without a time limit when the body has arrived
already (a frame almost always comes in one Noise message with its header).
"""

from typing import Any

from libp2p.io.exceptions import IncompleteReadError
from libp2p.io.utils import read_exactly as _original_read_exactly
from libp2p.security.noise.io import NoiseTransportReadWriter
from libp2p.security.secure_session import SecureSession
from libp2p.stream_muxer.yamux import yamux as yamux_module

from computemesh.p2p.patch_registry import Target, declare

NOISE_READS_PATCH = declare(
    "noise_reads",
    Target(
        "libp2p.security.secure_session",
        "SecureSession.read",
        "eeba14a89cf12325917fe19497a1bfc3c7c04b377947255a62bacbe854d65338",
    ),
    Target(
        "libp2p.stream_muxer.yamux.yamux",
        "read_exactly",
        "ae12723eff6b556d340497cf6b4a7c0b54ca2eb23c940ffcfe375dfb7e8cd9c1",
    ),
)


SOCKET_READ = 65536
_LENGTH = 2  # Noise's big-endian length prefix
_STATE = "_computemesh_noise_reads"


class SessionReads:
    """One session's bytes read but not yet used: ciphertext, and plaintext from it."""

    __slots__ = ("_at", "_cipher", "_decrypt", "_plain", "_raw")

    def __init__(self, transport: NoiseTransportReadWriter) -> None:
        self._raw: Any = transport.read_writer.read_write_closer
        self._decrypt = transport.decrypt
        self._cipher = b""
        self._at = 0  # where the next message starts in ``_cipher``
        self._plain = b""

    def take(self, size: int) -> bytes | None:
        """``size`` plaintext bytes if that many are here, else ``None`` (nothing taken)."""
        if len(self._plain) < size:
            return None
        taken, self._plain = self._plain[:size], self._plain[size:]
        return taken

    async def read(self, size: int | None) -> bytes:
        """As ``SecureSession.read``: ``size`` bytes, or all there is when ``size`` is None."""
        while not self._plain or (size is not None and len(self._plain) < size):
            message = await self._next_message()
            self._plain = self._plain + message if self._plain else message
        if size is None:
            taken, self._plain = self._plain, b""
            return taken
        return self.take(size) or b""

    async def _next_message(self) -> bytes:
        while True:
            cipher, at = self._cipher, self._at  # an offset: a read may hold many messages
            if len(cipher) - at >= _LENGTH:
                end = at + _LENGTH + int.from_bytes(cipher[at : at + _LENGTH], "big")
                if len(cipher) >= end:
                    self._at = end
                    plain: bytes = self._decrypt(cipher[at + _LENGTH : end])
                    return plain
            more: bytes = await self._raw.read(SOCKET_READ)
            if not more:  # as py-libp2p's own reads end: the connection closed mid-read
                raise IncompleteReadError(
                    "Connection closed during read operation: the next Noise message"
                    f" was cut after {len(cipher) - at} bytes",
                    expected_bytes=max(len(cipher) - at + 1, _LENGTH),
                    received_bytes=len(cipher) - at,
                )
            self._cipher, self._at = (cipher[at:] + more if at < len(cipher) else more), 0


def reads_of(session: Any) -> SessionReads | None:
    """The buffered reads of a Noise session over a raw connection; ``None`` for others."""
    reads: SessionReads | None = getattr(session, _STATE, None)
    if reads is None and _is_noise(session):
        reads = SessionReads(session.conn)
        setattr(session, _STATE, reads)
    return reads


def _is_noise(session: Any) -> bool:
    return isinstance(session, SecureSession) and isinstance(session.conn, NoiseTransportReadWriter)


_original_read = SecureSession.read


async def _read(self: Any, n: int | None = None) -> bytes:
    if n == 0:
        return b""
    reads = reads_of(self)
    if reads is None:
        data: bytes = await _original_read(self, n)
        return data
    return await reads.read(n)


async def _read_exactly(reader: Any, n: int, retry_count: int = 100) -> bytes:
    """Yamux's frame reads: one call when the session buffers its reads."""
    reads = reads_of(reader)
    if reads is None or n == 0:
        data: bytes = await _original_read_exactly(reader, n, retry_count)
        return data
    return await reads.read(n)


def install() -> None:
    """Patch py-libp2p's secure sessions and yamux's reads of them (once per process)."""
    session: Any = SecureSession
    session.read = _read
    module: Any = yamux_module
    module.read_exactly = _read_exactly
