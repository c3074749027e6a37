"""An httpx transport that speaks HTTP/1.1 with h11 over pooled byte streams.

Mounted for ``libp2p://<peer id>/<path>`` (``/libp2p-http`` streams; httpx lowercases
URL hosts while base58 peer ids are case-sensitive, so ``locate`` resolves the host
back to a peer this node knows) and for ``http://`` upstreams (TCP connections).
"""

from collections.abc import AsyncIterator, Callable
from typing import Any

import anyio
import h11
import httpx

from computemesh.errors import MeshError
from computemesh.ids import PeerId
from computemesh.p2phttp import URL_SCHEME
from computemesh.p2phttp.channel import H11Channel
from computemesh.p2phttp.pool import ChannelPool

Locate = Callable[[httpx.URL], str | None]
_ERRORS = (MeshError, h11.ProtocolError)


def peer_locator(resolve: Callable[[str], PeerId | None]) -> Locate:
    """``libp2p://<peer id>`` URLs → the peer id, case restored."""
    return lambda url: resolve(url.host) if url.scheme == URL_SCHEME else None


def tcp_locator(url: httpx.URL) -> str | None:
    """``http://host:port`` URLs → ``host:port``."""
    return f"{url.host}:{url.port or 80}" if url.scheme == "http" else None


class H11Transport(httpx.AsyncBaseTransport):
    def __init__(self, pool: ChannelPool, locate: Locate) -> None:
        self._pool = pool
        self._locate = locate

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        destination = self._locate(request.url)
        if destination is None:
            raise httpx.ConnectError(f"unknown destination {request.url.host}", request=request)
        timeouts: dict[str, float | None] = request.extensions.get("timeout", {})
        channel = self._pool.take_idle(destination)
        if channel is not None:
            try:
                return await self._exchange(destination, channel, request, timeouts)
            except (httpx.ReadError, httpx.WriteError, httpx.RemoteProtocolError):
                # The parked stream died while idle; a fresh one is worth one try
                # when the body can be sent again.
                if not isinstance(request.stream, httpx.ByteStream):
                    raise
        channel = await self._open(destination, request, timeouts.get("connect"))
        return await self._exchange(destination, channel, request, timeouts)

    async def _open(
        self, destination: str, request: httpx.Request, limit: float | None
    ) -> H11Channel:
        try:
            with anyio.move_on_after(limit):
                return await self._pool.open(destination)
        except MeshError as error:
            raise httpx.ConnectError(str(error), request=request) from error
        raise httpx.ConnectTimeout(f"no connection to {destination} in {limit} s", request=request)

    async def _exchange(
        self,
        destination: str,
        channel: H11Channel,
        request: httpx.Request,
        timeouts: dict[str, float | None],
    ) -> httpx.Response:
        try:
            await self._send_request(channel, request, timeouts.get("write"))
            head = await self._receive_head(channel, request, timeouts.get("read"))
        except BaseException:
            await self._pool.discard(channel)
            raise
        return httpx.Response(
            status_code=head.status_code,
            headers=head.headers,
            stream=_ResponseBody(self._pool, destination, channel, request, timeouts.get("read")),
            extensions={"http_version": b"HTTP/1.1", "reason_phrase": head.reason},
        )

    async def _send_request(
        self, channel: H11Channel, request: httpx.Request, limit: float | None
    ) -> None:
        target = request.url.raw_path
        headers = [(name, value) for name, value in request.headers.raw]
        try:
            with anyio.move_on_after(limit):
                head = channel.encode(
                    h11.Request(method=request.method, target=target, headers=headers)
                )
                assert isinstance(request.stream, httpx.AsyncByteStream)
                async for chunk in request.stream:
                    # Small bodies leave with the head in one write (one yamux frame).
                    await channel.write(head + channel.encode(h11.Data(data=chunk)))
                    head = b""
                await channel.write(head + channel.encode(h11.EndOfMessage()))
                return
        except _ERRORS as error:
            raise httpx.WriteError(str(error), request=request) from error
        raise httpx.WriteTimeout("sending the request timed out", request=request)

    async def _receive_head(
        self, channel: H11Channel, request: httpx.Request, limit: float | None
    ) -> h11.Response:
        try:
            with anyio.move_on_after(limit):
                while True:
                    event = await channel.next_event()
                    if isinstance(event, h11.Response):
                        return event
                    if not isinstance(event, h11.InformationalResponse):
                        raise httpx.RemoteProtocolError(
                            f"the server closed the connection before answering ({event})",
                            request=request,
                        )
        except _ERRORS as error:
            raise httpx.ReadError(str(error), request=request) from error
        raise httpx.ReadTimeout("no response head in time", request=request)


class _ResponseBody(httpx.AsyncByteStream):
    """Yields body chunks as they arrive; parks the stream when the body ended cleanly."""

    def __init__(
        self,
        pool: ChannelPool,
        destination: str,
        channel: H11Channel,
        request: httpx.Request,
        read_limit: float | None,
    ) -> None:
        self._pool, self._destination, self._channel = pool, destination, channel
        self._request, self._limit = request, read_limit
        self._complete = False
        self._closed = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        while not self._complete:
            event = await self._next()
            if isinstance(event, h11.Data):
                yield bytes(event.data)
            elif isinstance(event, h11.EndOfMessage):
                self._complete = True
            else:
                raise httpx.RemoteProtocolError(
                    f"response body cut off ({event})", request=self._request
                )

    async def _next(self) -> Any:
        try:
            with anyio.move_on_after(self._limit):
                return await self._channel.next_event()
        except _ERRORS as error:
            raise httpx.ReadError(str(error), request=self._request) from error
        raise httpx.ReadTimeout("response body stalled", request=self._request)

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._complete:
            await self._pool.release(self._destination, self._channel)
        else:
            # The caller gave up (client disconnect, timeout): reset so the
            # serving side cancels its upstream request.
            await self._pool.discard(self._channel)
