"""HTTP/1.1 over real libp2p streams between two hosts on 127.0.0.1."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
import trio
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from computemesh.ids import PeerId
from computemesh.p2p.host import MeshHost, open_mesh_host
from computemesh.p2p.identity import generate
from computemesh.p2phttp import CALLER_PEER, PROTOCOL, VIA_MESH
from computemesh.p2phttp.drain import IDLE_TIMEOUT_S, Drain
from computemesh.p2phttp.mesh import mesh_pool
from computemesh.p2phttp.pool import ChannelPool
from computemesh.p2phttp.server import serve_stream
from computemesh.p2phttp.transport import H11Transport, peer_locator

LOCALHOST = ["/ip4/127.0.0.1/tcp/0"]


class Upstream:
    """A small app whose handlers let tests see what happened on the serving side."""

    def __init__(self) -> None:
        self.release = trio.Event()
        self.ticks = 0

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/whoami", self.whoami),
                Route("/echo", self.echo, methods=["POST"]),
                Route("/stream", self.stream),
                Route("/endless", self.endless),
                Route("/slow", self.slow),
            ]
        )

    async def whoami(self, request: Request) -> Response:
        return JSONResponse(
            {
                "via_mesh": request.scope.get(VIA_MESH),
                "peer": request.scope.get(CALLER_PEER),
                "path": request.url.path,
                "query": request.url.query,
            }
        )

    async def echo(self, request: Request) -> Response:
        sizes = [len(chunk) async for chunk in request.stream()]
        return JSONResponse({"total": sum(sizes), "chunks": len(sizes)})

    async def stream(self, request: Request) -> Response:
        async def chunks() -> AsyncIterator[bytes]:
            yield b"data: first\n\n"
            await self.release.wait()  # only the client's receipt of "first" sets this
            yield b"data: second\n\n"

        return StreamingResponse(chunks(), media_type="text/event-stream")

    async def slow(self, request: Request) -> Response:
        await trio.sleep(0.6)
        return JSONResponse({"slow": True})

    async def endless(self, request: Request) -> Response:
        async def chunks() -> AsyncIterator[bytes]:
            while True:
                self.ticks += 1
                yield b"tick\n"
                await trio.sleep(0.01)

        return StreamingResponse(chunks())


@asynccontextmanager
async def two_hosts(
    upstream: Upstream, idle_timeout: float = IDLE_TIMEOUT_S
) -> AsyncIterator[tuple[httpx.AsyncClient, MeshHost, ChannelPool]]:
    drain = Drain(idle_timeout)
    async with (
        open_mesh_host(generate("ed25519"), LOCALHOST) as server,
        open_mesh_host(generate("ed25519"), LOCALHOST) as client,
        trio.open_nursery() as sweeping,
    ):
        sweeping.start_soon(drain.sweep_forever)
        app: Any = upstream.app()
        server.set_handler(PROTOCOL, lambda stream: serve_stream(stream, app, drain))
        await client.dial(f"{server.listen_addrs()[0]}/p2p/{server.peer_id}")
        known = {server.peer_id.lower(): server.peer_id}
        pool = mesh_pool(client)
        transport = H11Transport(pool, peer_locator(known.get))
        async with httpx.AsyncClient(transport=transport, timeout=10) as http:
            http.base_url = httpx.URL(f"libp2p://{server.peer_id}")
            yield http, server, pool
        sweeping.cancel_scope.cancel()


async def test_request_carries_the_mesh_caller_and_streams_are_reused() -> None:
    upstream = Upstream()
    async with two_hosts(upstream) as (http, server, pool):
        first = (await http.get("/whoami?x=1")).json()
        second = (await http.get("/whoami")).json()
        await http.post("/echo", content=b"{}")
        assert pool.opened == 1  # one stream served all three requests
    assert first["via_mesh"] is True
    assert first["peer"] == second["peer"] != server.peer_id
    assert first["query"] == "x=1"


async def test_a_retired_destination_gets_new_streams_and_the_old_ones_close() -> None:
    """After a hole punch (``retire``), requests leave the relayed connection's streams."""
    async with two_hosts(Upstream()) as (http, server, pool):
        assert (await http.get("/whoami")).status_code == 200
        (parked,) = pool._idle[server.peer_id]
        pool.retire(server.peer_id)
        assert (await http.get("/whoami")).status_code == 200
        assert pool.opened == 2
        assert not parked.stream.is_open  # closed, not left open on the old connection


async def test_the_idle_limit_does_not_cut_a_long_answer() -> None:
    async with two_hosts(Upstream(), idle_timeout=0.2) as (http, _server, _pool):
        response = await http.get("/slow")
    assert response.status_code == 200
    assert response.json() == {"slow": True}


async def test_a_stream_idle_past_the_limit_is_closed_and_the_next_request_opens_one() -> None:
    async with two_hosts(Upstream(), idle_timeout=0.2) as (http, _server, pool):
        assert (await http.get("/whoami")).status_code == 200
        await trio.sleep(0.6)  # the limit, and a sweep after it
        assert (await http.get("/whoami")).status_code == 200
        assert pool.opened == 2


async def test_request_body_streams_in_chunks() -> None:
    async def body() -> AsyncIterator[bytes]:
        for _ in range(64):
            yield b"x" * 16384

    async with two_hosts(Upstream()) as (http, _server, _pool):
        answer = (await http.post("/echo", content=body())).json()
    assert answer["total"] == 64 * 16384
    assert answer["chunks"] > 1


async def test_response_chunks_arrive_before_the_upstream_finishes() -> None:
    upstream = Upstream()
    async with (
        two_hosts(upstream) as (http, _server, _pool),
        http.stream("GET", "/stream") as response,
    ):
        assert response.headers["content-type"].startswith("text/event-stream")
        chunks = response.aiter_bytes()
        assert await chunks.__anext__() == b"data: first\n\n"
        upstream.release.set()  # the upstream can only finish after we saw "first"
        assert [chunk async for chunk in chunks] == [b"data: second\n\n"]


async def test_a_client_that_gives_up_cancels_the_upstream() -> None:
    upstream = Upstream()
    async with two_hosts(upstream) as (http, _server, _pool):
        async with http.stream("GET", "/endless") as response:
            async for _chunk in response.aiter_bytes():
                break
        with trio.fail_after(10):
            while True:  # the serving side stops producing once it learns we left
                before = upstream.ticks
                await trio.sleep(0.3)
                if upstream.ticks == before:
                    break


async def test_garbage_gets_a_400_not_a_dead_host() -> None:
    upstream = Upstream()
    async with two_hosts(upstream) as (http, server, pool):
        channel = await pool.open(server.peer_id)
        await channel.stream.write(b"NOT HTTP AT ALL\r\n\r\n")
        reply = await channel.stream.read()
        assert reply.startswith(b"HTTP/1.1 400")
        assert (await http.get("/whoami")).status_code == 200


async def test_unknown_peer_is_a_connect_error() -> None:
    async with two_hosts(Upstream()) as (http, _server, _pool):
        with pytest.raises(httpx.ConnectError, match="unknown destination"):
            await http.get(f"libp2p://{PeerId('12D3KooWNotAPeer')}/whoami")
