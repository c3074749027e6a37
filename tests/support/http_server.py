"""An ASGI app served on 127.0.0.1 by the node's own HTTP server, for tests."""

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import trio

from computemesh.p2phttp.drain import BodyTimeouts
from computemesh.p2phttp.listener import serve_tcp

App = Callable[[dict[str, Any], Any, Any], Any]


@asynccontextmanager
async def serving(
    app: App, keep_alive: float = 5.0, grace: float = 1.0, body: BodyTimeouts | None = None
) -> AsyncIterator[int]:
    """The port ``app`` answers on; the server stops (gracefully) when the block ends."""
    stop = trio.Event()
    async with trio.open_nursery() as nursery:
        port: int = await nursery.start(
            lambda task_status: serve_tcp(
                app, "127.0.0.1", 0, stop, grace, keep_alive, body, task_status=task_status
            )
        )
        yield port
        stop.set()


async def exchange(port: int, request: bytes = b"GET / HTTP/1.1\r\nhost: x\r\n") -> bytes:
    """Everything the server sends back to one request asking to close after it."""
    stream = await trio.open_tcp_stream("127.0.0.1", port)
    await stream.send_all(request + b"connection: close\r\n\r\n")
    answer = b""
    while data := await stream.receive_some():
        answer += data
    await stream.aclose()
    return answer
