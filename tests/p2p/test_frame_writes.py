"""A yamux frame goes straight to the socket when the connection is free, and whole always."""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import trio
import trio.testing

from computemesh.p2p import sealed_frames
from computemesh.p2p.host import MeshHost
from computemesh.p2p.ready_io import ReadyIO
from tests.support.mesh_hosts import PINGPONG, address, mesh_host, pong, quiet_stream, tcp_stream

SETTLE_S = 15.0
FRAME = 60_000  # one yamux DATA frame, many times what the small send buffer takes


@contextmanager
def scopes_entered_here() -> Iterator[list[int]]:
    """Counts the cancel scopes this task enters (other tasks' are theirs)."""
    entered = [0]
    task = trio.lowlevel.current_task()
    original = trio.CancelScope.__enter__

    def counting(scope: trio.CancelScope) -> trio.CancelScope:
        if trio.lowlevel.current_task() is task:
            entered[0] += 1
        return original(scope)

    setattr(trio.CancelScope, "__enter__", counting)  # noqa: B010 (a method of an attrs class)
    try:
        yield entered
    finally:
        setattr(trio.CancelScope, "__enter__", original)  # noqa: B010


def _shrink_buffers(client: MeshHost, node: MeshHost) -> None:
    """Small socket buffers at both ends: on loopback a write lands in the peer's."""
    sending = tcp_stream(client, node.peer_id).stream.socket
    sending.setsockopt(trio.socket.SOL_SOCKET, trio.socket.SO_SNDBUF, 4096)
    receiving = tcp_stream(node, client.peer_id).stream.socket
    receiving.setsockopt(trio.socket.SOL_SOCKET, trio.socket.SO_RCVBUF, 4096)


async def test_a_frame_to_a_free_connection_enters_no_cancel_scope() -> None:
    async with mesh_host() as node, mesh_host() as client:
        stream = await quiet_stream(node, client)
        with scopes_entered_here() as entered:
            for _ in range(10):
                await stream.write(b"x" * 100)
        # py-libp2p's path with sealed_frames' shield: one scope per frame.
        assert entered[0] == 0
        assert await stream.read_exactly(1000) == b"x" * 1000


async def test_a_frame_the_socket_takes_in_part_goes_out_whole_though_its_writer_gives_up(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    finished_shielded: list[str] = []  # the peer each such frame went to
    original_send, original_write_now = sealed_frames.send_sealed, ReadyIO.write_now

    async def counted(muxer: Any, *args: Any) -> None:
        await original_send(muxer, *args)
        finished_shielded.append(muxer.peer_id.to_base58())

    def socket_short_of_room(io: ReadyIO, data: bytes | memoryview) -> int:
        # The kernel's answer to a full send buffer, made certain: part of the frame.
        return original_write_now(io, data[:1000] if len(data) > FRAME else data)

    monkeypatch.setattr(sealed_frames, "send_sealed", counted)
    payload = bytes(range(250)) * (FRAME // 250)
    async with mesh_host() as node, mesh_host() as client:
        stream = await quiet_stream(node, client)
        monkeypatch.setattr(ReadyIO, "write_now", socket_short_of_room)
        with trio.CancelScope() as gave_up:
            gave_up.cancel()  # lands at the write's first chance
            await stream.write(payload)
        monkeypatch.setattr(ReadyIO, "write_now", original_write_now)
        assert gave_up.cancelled_caught
        assert finished_shielded[:1] == [node.peer_id]  # the rest went out, shielded
        with trio.fail_after(SETTLE_S):
            assert await stream.read_exactly(FRAME) == payload  # the peer opened it
            await stream.write(b"after")
            assert await stream.read_exactly(5) == b"after"
        assert client.is_connected(node.peer_id)


async def test_many_writers_on_a_small_socket_buffer_keep_every_stream_intact() -> None:
    async with mesh_host() as node, mesh_host() as client:
        node.set_handler(PINGPONG, pong, members_only=False)
        await client.dial(address(node))
        streams = [await client.open_stream(node.peer_id, PINGPONG) for _ in range(6)]
        _shrink_buffers(client, node)

        async def round_trips(index: int) -> None:
            stream = streams[index]
            for size in (10, 5_000, FRAME, 300, FRAME // 2):
                message = bytes([index]) * size
                await stream.write(message)
                assert await stream.read_exactly(size) == message

        with trio.fail_after(SETTLE_S * 2):
            async with trio.open_nursery() as nursery:
                for index in range(len(streams)):
                    nursery.start_soon(round_trips, index)
        assert client.is_connected(node.peer_id)
