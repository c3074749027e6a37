"""py-libp2p's TCP reads and writes that need no wait skip the scheduler, yet still yield."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
import trio
import trio.testing
from libp2p.io.exceptions import ConnectionClosedError
from libp2p.io.trio import TrioTCPStream

from computemesh.p2p import workarounds
from computemesh.p2p.ready_io import FAIR_EVERY


@asynccontextmanager
async def connected() -> AsyncIterator[tuple[TrioTCPStream, trio.SocketStream]]:
    """py-libp2p's stream on one end of a socket pair; the test writes at the other."""
    workarounds.patch_module_constants()  # as every node does before it connects
    ours, theirs = trio.socket.socketpair()
    stream = TrioTCPStream(trio.SocketStream(ours))
    peer = trio.SocketStream(theirs)
    try:
        yield stream, peer
    finally:
        await stream.close()
        await peer.aclose()


async def test_bytes_already_waiting_are_read_without_a_trip_through_trio() -> None:
    ran: list[str] = []

    async def other() -> None:
        ran.append("other")

    async with connected() as (stream, peer), trio.open_nursery() as nursery:
        await peer.send_all(b"\x00\x05hello")
        await trio.testing.wait_all_tasks_blocked()
        nursery.start_soon(other)
        assert await stream.read(2) == b"\x00\x05"
        assert await stream.read(5) == b"hello"
        assert ran == []  # no other task ran: neither read went through the scheduler


async def test_a_read_waits_for_bytes_to_arrive() -> None:
    async with connected() as (stream, peer), trio.open_nursery() as nursery:
        got: list[bytes] = []

        async def read() -> None:
            got.append(await stream.read(5))

        nursery.start_soon(read)
        await trio.testing.wait_all_tasks_blocked()
        assert got == []
        await peer.send_all(b"later")
    assert got == [b"later"]


async def test_a_write_with_room_in_the_socket_goes_without_a_trip_through_trio() -> None:
    ran: list[str] = []

    async def other() -> None:
        ran.append("other")

    async with connected() as (stream, peer), trio.open_nursery() as nursery:
        nursery.start_soon(other)
        await stream.write(b"frame")
        assert ran == []
        assert await peer.receive_some() == b"frame"


async def test_a_write_waits_for_room_and_sends_everything() -> None:
    big = b"y" * (4 * 1024 * 1024)  # far more than the socket buffers hold
    got = bytearray()
    async with connected() as (stream, peer), trio.open_nursery() as nursery:

        async def drain() -> None:
            while len(got) < len(big):
                got.extend(await peer.receive_some())

        nursery.start_soon(drain)
        await stream.write(big)
    assert bytes(got) == big


async def test_ready_reads_still_yield_now_and_then() -> None:
    async with connected() as (stream, peer):
        await peer.send_all(b"x" * FAIR_EVERY)
        await trio.testing.wait_all_tasks_blocked()
        with trio.testing.assert_checkpoints():
            for _ in range(FAIR_EVERY):
                assert await stream.read(1) == b"x"


async def test_a_read_cancelled_while_it_yields_its_turn_keeps_its_bytes() -> None:
    got: list[bytes] = []
    async with connected() as (stream, peer):
        await peer.send_all(b"x" * FAIR_EVERY)
        await trio.testing.wait_all_tasks_blocked()
        with trio.CancelScope() as reading:
            for count in range(1, FAIR_EVERY + 1):
                if count == FAIR_EVERY:  # the read that takes its byte, then yields
                    reading.deadline = trio.current_time()  # passes during that yield
                got.append(await stream.read(1))
    assert got == [b"x"] * FAIR_EVERY


async def test_the_ends_read_as_py_libp2p_reads_them() -> None:
    async with connected() as (stream, peer):
        await peer.aclose()
        assert await stream.read(5) == b""  # the peer closed
        await stream.close()
        assert await stream.read(5) == b""  # closed here


async def test_a_reset_is_a_closed_connection() -> None:
    async with connected() as (stream, peer):
        peer.socket.setsockopt(
            trio.socket.SOL_SOCKET, trio.socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00"
        )
        await stream.write(b"unread")  # unread data makes the close a reset
        await peer.aclose()
        await trio.sleep(0.05)
        with pytest.raises(ConnectionClosedError):
            await stream.read(5)
