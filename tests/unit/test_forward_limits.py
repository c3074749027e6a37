"""A forward's time limits: the first byte's limit, and the request's whole deadline."""

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial

import httpx
import pytest
import trio

from computemesh.p2phttp.direct import DirectSender
from computemesh.p2phttp.pool import ChannelPool
from computemesh.p2phttp.tcp import open_tcp
from computemesh.p2phttp.transport import DeadlinePassed, H11Transport, tcp_locator
from computemesh.routing.errors import DeadlineExceeded, Unreachable
from computemesh.routing.forwarder import Outbound, Timeouts, forward

REQUEST = Outbound("POST", "/v1/chat/completions", b"", [], b"{}")


async def _silent(stream: trio.SocketStream) -> None:
    """Takes the request and never answers."""
    while await stream.receive_some():
        pass


@asynccontextmanager
async def silent_upstream() -> AsyncIterator[str]:
    async with trio.open_nursery() as nursery:
        listeners = await nursery.start(partial(trio.serve_tcp, _silent, 0, host="127.0.0.1"))
        yield f"http://127.0.0.1:{listeners[0].socket.getsockname()[1]}"
        nursery.cancel_scope.cancel()


def sender() -> DirectSender:
    return DirectSender({"http": H11Transport(ChannelPool(open_tcp), tcp_locator)})


async def test_no_first_byte_in_time_is_an_unreachable_provider() -> None:
    async with silent_upstream() as base:
        started = time.monotonic()
        with pytest.raises(Unreachable, match="no response head in time"):
            await forward(sender(), base + "/x", REQUEST, Timeouts(first_byte=0.3), started + 30)
    assert 0.3 <= time.monotonic() - started < 5


async def test_the_deadline_cuts_a_longer_first_byte_limit() -> None:
    async with silent_upstream() as base:
        started = time.monotonic()
        with pytest.raises(DeadlineExceeded, match="before the deadline"):
            await forward(sender(), base + "/x", REQUEST, Timeouts(first_byte=30), started + 0.3)
    assert 0.3 <= time.monotonic() - started < 5


async def test_a_deadline_already_past_sends_nothing() -> None:
    with pytest.raises(DeadlineExceeded):
        await forward(sender(), "http://127.0.0.1:9/x", REQUEST, Timeouts(), time.monotonic())


async def _one_chunk_then_silent(stream: trio.SocketStream) -> None:
    """Answers a head and one chunk of a chunked body, then never more."""
    await stream.receive_some()
    head = b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n"
    await stream.send_all(head + b"5\r\nfirst\r\n")
    while await stream.receive_some():
        pass


async def _read_on(base: str, timeouts: Timeouts, deadline: float) -> None:
    forwarded = await forward(sender(), base + "/x", REQUEST, timeouts, deadline)
    try:
        await forwarded.read_all()
    finally:
        await forwarded.aclose()


async def test_a_body_cut_by_the_deadline_is_told_apart_from_a_stall_by_its_type() -> None:
    async with trio.open_nursery() as nursery:
        serve = partial(trio.serve_tcp, _one_chunk_then_silent, 0, host="127.0.0.1")
        listeners = await nursery.start(serve)
        base = f"http://127.0.0.1:{listeners[0].socket.getsockname()[1]}"
        with pytest.raises(DeadlinePassed):
            await _read_on(base, Timeouts(first_byte=30), time.monotonic() + 0.3)
        with pytest.raises(httpx.ReadTimeout) as stalled:
            await _read_on(base, Timeouts(first_byte=0.3), time.monotonic() + 30)
        assert not isinstance(stalled.value, DeadlinePassed)
        nursery.cancel_scope.cancel()
