"""A Noise session reads whole socket buffers and hands out the same bytes py-libp2p would."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
import trio
import trio.testing
from libp2p.crypto.secp256k1 import create_new_key_pair
from libp2p.io.exceptions import IncompleteReadError
from libp2p.io.trio import TrioTCPStream
from libp2p.network.connection.raw_connection import RawConnection
from libp2p.peer.id import ID
from libp2p.security.noise.io import NoiseTransportReadWriter
from libp2p.security.secure_session import SecureSession
from libp2p.stream_muxer.yamux.yamux import Yamux

from computemesh.p2p import workarounds

KEY = 0x5A


class MaskingState:
    """Stands in for a Noise cipher: masks each byte, so a misplaced cut decodes to garbage."""

    def encrypt(self, data: bytes) -> bytes:
        return bytes(byte ^ KEY for byte in data)

    def decrypt(self, data: bytes) -> bytes:
        return bytes(byte ^ KEY for byte in data)


class CountedReads(RawConnection):
    """A raw connection that counts the reads a session makes of its socket."""

    reads = 0

    async def read(self, n: int | None = None) -> bytes:
        self.reads += 1
        return await super().read(n)


def sealed(plain: bytes) -> bytes:
    """One Noise message on the wire: 2-byte length, then the masked body."""
    return len(plain).to_bytes(2, "big") + MaskingState().encrypt(plain)


@asynccontextmanager
async def session_pair() -> AsyncIterator[tuple[SecureSession, CountedReads, trio.SocketStream]]:
    """A secure session reading one end of a socket pair; the test writes at the other."""
    workarounds.patch_module_constants()  # as every node does before it connects
    ours, theirs = trio.socket.socketpair()
    raw = CountedReads(TrioTCPStream(trio.SocketStream(ours)), initiator=False)
    keys = create_new_key_pair()
    session = SecureSession(
        local_peer=ID.from_pubkey(keys.public_key),
        local_private_key=keys.private_key,
        remote_peer=ID.from_pubkey(keys.public_key),
        remote_permanent_pubkey=keys.public_key,
        is_initiator=False,
        conn=NoiseTransportReadWriter(raw, MaskingState()),  # type: ignore[arg-type]
    )
    peer = trio.SocketStream(theirs)
    try:
        yield session, raw, peer
    finally:
        await raw.close()
        await peer.aclose()


async def test_messages_that_arrived_together_take_one_socket_read() -> None:
    async with session_pair() as (session, raw, peer):
        await peer.send_all(sealed(b"header-12345") + sealed(b"body") + sealed(b"more"))
        await trio.testing.wait_all_tasks_blocked()
        assert await session.read(12) == b"header-12345"
        assert await session.read(4) == b"body"
        assert await session.read(None) == b"more"
        assert raw.reads == 1  # py-libp2p's own reads: two per message, six here


async def test_hundreds_of_small_messages_in_one_read_come_out_in_order() -> None:
    messages = [f"event {index:04d}".encode() for index in range(600)]  # 16 kB on the wire
    async with session_pair() as (session, raw, peer):
        await peer.send_all(b"".join(sealed(message) for message in messages))
        await trio.testing.wait_all_tasks_blocked()
        assert [await session.read(10) for _ in messages] == messages
        assert raw.reads == 1


async def test_reads_cut_across_messages_as_asked() -> None:
    async with session_pair() as (session, _, peer):
        await peer.send_all(sealed(b"abc") + sealed(b"defgh"))
        assert await session.read(2) == b"ab"
        assert await session.read(4) == b"cdef"  # the rest of one message and part of the next
        assert await session.read(None) == b"gh"


async def test_a_message_split_across_socket_writes_is_put_together() -> None:
    wire = sealed(b"x" * 300)
    async with session_pair() as (session, _, peer), trio.open_nursery() as nursery:
        got: list[bytes] = []

        async def read() -> None:
            got.append(await session.read(300))

        nursery.start_soon(read)
        for piece in (wire[:1], wire[1:3], wire[3:200], wire[200:]):
            await trio.testing.wait_all_tasks_blocked()
            assert got == []
            await peer.send_all(piece)
    assert got == [b"x" * 300]


async def test_the_end_of_the_connection_is_an_incomplete_read() -> None:
    async with session_pair() as (session, _, peer):
        await peer.send_all(sealed(b"whole") + sealed(b"cut")[:3])
        await peer.aclose()
        assert await session.read(5) == b"whole"
        with pytest.raises(IncompleteReadError):
            await session.read(3)


async def test_a_frame_body_is_read_whether_it_came_with_its_header_or_after() -> None:
    async with session_pair() as (session, _, peer):
        muxer: Any = Yamux.__new__(Yamux)  # only the body read is exercised
        muxer.secured_conn = session
        await peer.send_all(sealed(b"H" * 12 + b"payload"))
        assert await session.read(12) == b"H" * 12
        assert await muxer._read_data_body(7) == b"payload"  # taken from what arrived
        await peer.send_all(sealed(b"h" * 12 + b"split") + sealed(b"-body"))
        assert await session.read(12) == b"h" * 12
        assert await muxer._read_data_body(10) == b"split-body"  # waits for the next message
