"""One reader task per server connection: it reads when asked, and watches for the end."""

import h11
import trio

from computemesh.p2phttp.channel import H11Channel
from computemesh.p2phttp.inbound import UNREAD_LIMIT, Inbound


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
