"""An ASGI app served by Hypercorn on 127.0.0.1 the way the node serves it, for tests."""

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import trio
from hypercorn.config import Config
from hypercorn.trio import serve

from computemesh.cli.localmesh import free_port
from computemesh.node.response_writes import hold_response_heads

App = Callable[[dict[str, Any], Any, Any], Any]


def with_lifespan(http: App) -> App:
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            return await http(scope, receive, send)
        while (await receive())["type"] != "lifespan.shutdown":
            await send({"type": "lifespan.startup.complete"})
        await send({"type": "lifespan.shutdown.complete"})

    return app


@asynccontextmanager
async def serving(app: App) -> AsyncIterator[int]:
    hold_response_heads()
    port = free_port()
    config = Config()
    config.bind = [f"127.0.0.1:{port}"]
    config.accesslog = None
    async with trio.open_nursery() as nursery:
        stop = trio.Event()
        nursery.start_soon(lambda: serve(with_lifespan(app), config, shutdown_trigger=stop.wait))  # type: ignore[arg-type]
        for _ in range(200):
            try:
                await (await trio.open_tcp_stream("127.0.0.1", port)).aclose()
                break
            except OSError:
                await trio.sleep(0.01)
        yield port
        stop.set()


async def exchange(port: int) -> bytes:
    stream = await trio.open_tcp_stream("127.0.0.1", port)
    await stream.send_all(b"GET / HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
    answer = b""
    while data := await stream.receive_some():
        answer += data
    await stream.aclose()
    return answer
