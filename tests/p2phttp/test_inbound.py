"""One reader task per server connection: it reads when asked, and watches for the end."""

import h11
import trio

from computemesh.p2phttp.channel import H11Channel
from computemesh.p2phttp.drain import Drain
from computemesh.p2phttp.inbound import UNREAD_LIMIT, BodyStalled, Inbound


class FakeStream:
    """Bytes the test feeds in; counts the reads the reader makes."""

    def __init__(self) -> None:
        self.send, self._receive = trio.open_memory_channel[bytes](100)
        self.reads = 0

    @property
    def is_open(self) -> bool:
        return True

    async def read(self, max_bytes: int = 65536) -> bytes:
        self.reads += 1
        return await self._receive.receive()

    async def write(self, data: bytes) -> None:
        return

    async def close(self) -> None:
        return

    async def reset(self) -> None:
        return


HEAD = b"POST / HTTP/1.1\r\nhost: x\r\ncontent-length: 10\r\n\r\n"
BIG_HEAD = b"POST / HTTP/1.1\r\nhost: x\r\ncontent-length: 1000000\r\n\r\n"


async def test_unread_bytes_stop_the_reader_until_someone_takes_them() -> None:
    stream = FakeStream()
    inbound = Inbound(H11Channel(stream, h11.SERVER))
    async with trio.open_nursery() as nursery:
        nursery.start_soon(inbound.run)
        await stream.send.send(BIG_HEAD)
        assert isinstance(await inbound.next_event(), h11.Request)
        chunk = b"x" * (UNREAD_LIMIT // 4)
        for _ in range(8):  # the app has not asked for any of it
            await stream.send.send(chunk)
        await trio.testing.wait_all_tasks_blocked()
        assert stream.reads == 1 + 4  # the head, then reads up to the limit
        assert isinstance(await inbound.next_event(), h11.Data)  # a taker: reading resumes
        await trio.testing.wait_all_tasks_blocked()
        assert stream.reads > 5
        nursery.cancel_scope.cancel()


async def test_after_a_complete_request_the_reader_notices_the_caller_leaving() -> None:
    stream = FakeStream()
    inbound = Inbound(H11Channel(stream, h11.SERVER))
    left: list[bool] = []
    inbound.on_gone = lambda: left.append(True)
    async with trio.open_nursery() as nursery:
        nursery.start_soon(inbound.run)
        await stream.send.send(HEAD + b"1234567890")
        while not isinstance(await inbound.next_event(), h11.EndOfMessage):
            pass
        await stream.send.send(b"")  # the caller closes while its answer is made
        with trio.fail_after(5):
            await inbound.gone.wait()
    assert left == [True]


async def test_a_wait_for_a_request_ends_only_past_the_idle_limit() -> None:
    stream = FakeStream()
    inbound = Inbound(H11Channel(stream, h11.SERVER))
    drain = Drain(idle_timeout=60)
    found: list[h11.Event | None] = []

    async def wait_for_request() -> None:
        found.append(await drain.next_request(inbound))

    async with trio.open_nursery() as nursery:
        nursery.start_soon(inbound.run)
        with drain.watching(inbound):
            nursery.start_soon(wait_for_request)
            await trio.testing.wait_all_tasks_blocked()
            inbound.end_if_idle(60)  # waited less than that: nothing happens
            await trio.testing.wait_all_tasks_blocked()
            assert found == []
            drain.close()  # ends every idle wait now
            await trio.testing.wait_all_tasks_blocked()
        nursery.cancel_scope.cancel()
    assert found == [None]
    assert inbound.idled_out


async def test_a_connection_answering_a_request_is_not_idle() -> None:
    stream = FakeStream()
    inbound = Inbound(H11Channel(stream, h11.SERVER))
    drain = Drain(idle_timeout=60)
    async with trio.open_nursery() as nursery:
        nursery.start_soon(inbound.run)
        await stream.send.send(HEAD + b"1234567890")
        assert isinstance(await drain.next_request(inbound), h11.Request)
        inbound.end_if_idle(0.0)
        assert not inbound.idled_out
        assert isinstance(await inbound.next_event(), h11.Data)  # the body still comes
        nursery.cancel_scope.cancel()


async def test_only_a_wait_for_body_bytes_can_stall() -> None:
    stream = FakeStream()
    inbound = Inbound(H11Channel(stream, h11.SERVER))
    drain = Drain(idle_timeout=60)
    async with trio.open_nursery() as nursery:
        nursery.start_soon(inbound.run)
        with drain.watching(inbound):
            nursery.start_soon(drain.next_request, inbound)
            await trio.testing.wait_all_tasks_blocked()
            inbound.end_if_stalled(0.0, 0.0)  # a wait for a request's head is not a body's
            assert not inbound.body_stalled
        nursery.cancel_scope.cancel()


async def test_a_body_read_ends_past_the_idle_limit_or_the_total() -> None:
    for idle, total in ((0.0, 1000.0), (1000.0, 0.0)):
        stream = FakeStream()
        inbound = Inbound(H11Channel(stream, h11.SERVER))
        outcome: list[str] = []

        async def read_body(inbound: Inbound = inbound, outcome: list[str] = outcome) -> None:
            try:
                await inbound.next_body_event()
            except BodyStalled:
                outcome.append("stalled")

        async with trio.open_nursery() as nursery:
            nursery.start_soon(inbound.run)
            await stream.send.send(BIG_HEAD)
            assert isinstance(await inbound.next_event(), h11.Request)
            inbound.start_body()
            nursery.start_soon(read_body)
            await trio.testing.wait_all_tasks_blocked()
            inbound.end_if_stalled(1000.0, 1000.0)  # within both limits: it waits on
            await trio.testing.wait_all_tasks_blocked()
            assert outcome == []
            inbound.end_if_stalled(idle, total)
            await trio.testing.wait_all_tasks_blocked()
            assert outcome == ["stalled"]
            nursery.cancel_scope.cancel()
