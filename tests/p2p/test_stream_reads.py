"""An open yamux stream is read straight from its buffer; its end still reads as before."""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import trio
import trio.testing
from libp2p.stream_muxer.yamux import yamux as yamux_module

from computemesh.p2p.stream import MeshStream
from tests.support.mesh_hosts import address, mesh_host, quiet_stream

SETTLE_S = 15.0


@contextmanager
def yamux_debug_messages() -> Iterator[list[str]]:
    """The debug messages yamux builds (formatted even with debug logging off)."""
    built: list[str] = []
    logger: Any = yamux_module.logger
    original = logger.debug
    logger.debug = lambda message, *args, **kwargs: built.append(str(message))
    try:
        yield built
    finally:
        logger.debug = original


async def test_reading_an_open_stream_builds_no_log_message() -> None:
    async with mesh_host() as node, mesh_host() as client:
        stream = await quiet_stream(node, client)
        with trio.fail_after(SETTLE_S):
            await stream.write(b"ready")
            await trio.testing.wait_all_tasks_blocked()  # the echo is in the buffer
            with yamux_debug_messages() as built:
                assert await stream.read_exactly(5) == b"ready"
            await stream.write(b"later")
            with yamux_debug_messages() as waited:
                assert await stream.read_exactly(5) == b"later"  # waits for it first
        # py-libp2p builds three messages for a read of buffered bytes, six with a wait.
        assert built == []
        assert [m for m in waited if "Waiting for data" in m or "Reading from" in m] == []
        await stream.close()


async def test_many_small_reads_keep_order_and_credit_the_window() -> None:
    async with mesh_host() as node, mesh_host() as client:
        stream = await quiet_stream(node, client)
        sent = bytes(range(256)) * 2048  # 512 KiB: twice yamux's initial window
        received = bytearray()

        async def send() -> None:
            for start in range(0, len(sent), 30_000):
                await stream.write(sent[start : start + 30_000])

        with trio.fail_after(SETTLE_S):
            async with trio.open_nursery() as nursery:
                nursery.start_soon(send)
                while len(received) < len(sent):
                    received += await stream.read(1000)  # small reads, many window credits
        assert bytes(received) == sent
        await stream.close()


async def test_the_end_of_a_stream_and_a_reset_read_as_before() -> None:
    async def say_and_close(stream: MeshStream) -> None:
        await stream.write(b"bye")
        await stream.close()

    async def reset_at_once(stream: MeshStream) -> None:
        await stream.read(1)
        await stream.reset()

    async with mesh_host() as node, mesh_host() as client:
        node.set_handler("/computemesh-test/bye/1.0.0", say_and_close, members_only=False)
        node.set_handler("/computemesh-test/reset/1.0.0", reset_at_once, members_only=False)
        await client.dial(address(node))
        with trio.fail_after(SETTLE_S):
            polite = await client.open_stream(node.peer_id, "/computemesh-test/bye/1.0.0")
            assert await polite.read_exactly(3) == b"bye"
            assert await polite.read(10) == b""  # the FIN: py-libp2p's path answers
            rude = await client.open_stream(node.peer_id, "/computemesh-test/reset/1.0.0")
            await rude.write(b"x")
            assert await rude.read(10) == b""  # py-libp2p's read ends a reset stream so
