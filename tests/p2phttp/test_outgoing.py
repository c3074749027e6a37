"""Forwards sent without httpx's Request: what goes on the wire is what was asked."""

from collections.abc import AsyncIterator
from functools import partial

import httpx
import pytest
import trio

from computemesh.p2phttp import FORWARDED_MARKER
from computemesh.p2phttp.direct import DirectSender
from computemesh.p2phttp.pool import ChannelPool
from computemesh.p2phttp.tcp import open_tcp
from computemesh.p2phttp.transport import H11Transport, tcp_locator

TIMEOUT = httpx.Timeout(5.0)


class Recorder:
    """A TCP server that keeps each request's bytes and answers ``ok``."""

    def __init__(self) -> None:
        self.requests: list[bytes] = []

    async def handle(self, stream: trio.SocketStream) -> None:
        data = b""
        while not _complete(data):
            chunk = await stream.receive_some()
            if not chunk:
                return
            data += chunk
        self.requests.append(data)
        await stream.send_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")


def _complete(data: bytes) -> bool:
    head, found, body = data.partition(b"\r\n\r\n")
    if not found:
        return False
    if b"transfer-encoding: chunked" in head:
        return body.endswith(b"0\r\n\r\n")
    for line in head.split(b"\r\n"):
        if line.startswith(b"content-length: "):
            return len(body) >= int(line.split(b": ")[1])
    return True


async def sent(request_body: bytes | AsyncIterator[bytes], method: str = "POST") -> bytes:
    recorder = Recorder()
    async with trio.open_nursery() as nursery:
        listeners = await nursery.start(
            partial(trio.serve_tcp, recorder.handle, 0, host="127.0.0.1")
        )
        port = listeners[0].socket.getsockname()[1]
        sender = DirectSender({"http": H11Transport(ChannelPool(open_tcp), tcp_locator)})
        headers = [("content-type", "application/json"), ("x-note", "café")]
        outgoing = sender.build(
            method, f"http://127.0.0.1:{port}/a%2Fb?q=1", headers, request_body, TIMEOUT
        )
        response = await sender.send(outgoing)
        assert await response.aread() == b"ok"
        await response.aclose()
        nursery.cancel_scope.cancel()
    return recorder.requests[0]


async def test_a_body_in_memory_goes_with_its_length_and_the_host() -> None:
    wire = await sent(b'{"model": "m"}')
    head, _, body = wire.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    assert lines[0] == b"POST /a%2Fb?q=1 HTTP/1.1"  # the target exactly as built
    assert lines[1].startswith(b"host: 127.0.0.1:")
    assert b"content-length: 14" in lines
    assert b"x-note: caf\xe9" in lines  # latin-1, as the client's header arrived
    assert body == b'{"model": "m"}'


async def test_a_get_without_a_body_has_no_length_and_a_post_has_zero() -> None:
    assert b"content-length" not in await sent(b"", method="GET")
    assert b"content-length: 0" in await sent(b"")


async def test_a_streamed_body_is_chunked() -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b"one"
        yield b"two"

    wire = await sent(chunks())
    assert b"transfer-encoding: chunked" in wire
    assert wire.endswith(b"3\r\none\r\n3\r\ntwo\r\n0\r\n\r\n")


async def test_an_unmounted_scheme_is_refused() -> None:
    sender = DirectSender({})
    with pytest.raises(httpx.UnsupportedProtocol, match="ftp"):
        await sender.send(sender.build("GET", "ftp://host/x", [], b"", TIMEOUT))


async def test_every_request_carries_one_forwarding_marker_of_this_node() -> None:
    """Forwards and the node's own httpx calls alike; a caller's marker is replaced."""
    recorder = Recorder()
    async with trio.open_nursery() as nursery:
        listeners = await nursery.start(
            partial(trio.serve_tcp, recorder.handle, 0, host="127.0.0.1")
        )
        url = f"http://127.0.0.1:{listeners[0].socket.getsockname()[1]}/x"
        transport = H11Transport(ChannelPool(open_tcp), tcp_locator)
        spoofed = [(FORWARDED_MARKER, "spoofed")]
        forward = await DirectSender({"http": transport}).send(
            DirectSender({}).build("GET", url, spoofed, b"", TIMEOUT)
        )
        await forward.aclose()
        async with httpx.AsyncClient(mounts={"http://": transport}) as client:
            await client.get(url, headers=dict(spoofed))
        nursery.cancel_scope.cancel()
    for wire in recorder.requests:
        lines = wire.partition(b"\r\n\r\n")[0].lower().split(b"\r\n")
        assert [line for line in lines if line.startswith(FORWARDED_MARKER.encode())] == [
            FORWARDED_MARKER.encode() + b": 1"
        ]
    assert len(recorder.requests) == 2
