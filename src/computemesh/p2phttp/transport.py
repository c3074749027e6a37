"""An httpx transport for ``libp2p://<peer id>/<path>`` URLs over ``/libp2p-http`` streams.

httpx lowercases URL hosts and base58 peer ids are case-sensitive, so the host is
resolved back to a peer id through ``resolve`` (the peers this node knows).
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

Resolve = Callable[[str], PeerId | None]
_ERRORS = (MeshError, h11.ProtocolError)


class MeshTransport(httpx.AsyncBaseTransport):
    def __init__(self, pool: ChannelPool, resolve: Resolve) -> None:
        self._pool = pool
        self._resolve = resolve

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.scheme != URL_SCHEME:
            raise httpx.UnsupportedProtocol(f"{request.url.scheme}:// is not {URL_SCHEME}://")
        peer = self._resolve(request.url.host)
        if peer is None:
            raise httpx.ConnectError(f"unknown peer {request.url.host}", request=request)
        timeouts: dict[str, float | None] = request.extensions.get("timeout", {})
        channel = self._pool.take_idle(peer)
        if channel is not None:
            try:
                return await self._exchange(peer, channel, request, timeouts)
            except (httpx.ReadError, httpx.WriteError, httpx.RemoteProtocolError):
                # The parked stream died while idle; a fresh one is worth one try
                # when the body can be sent again.
                if not isinstance(request.stream, httpx.ByteStream):
                    raise
        channel = await self._open(peer, request, timeouts.get("connect"))
        return await self._exchange(peer, channel, request, timeouts)

    async def _open(self, peer: PeerId, request: httpx.Request, limit: float | None) -> H11Channel:
        try:
            with anyio.fail_after(limit):
                return await self._pool.open(peer)
        except TimeoutError as error:
            raise httpx.ConnectTimeout(
                f"no stream to {peer} in {limit} s", request=request
            ) from error
        except MeshError as error:
            raise httpx.ConnectError(str(error), request=request) from error

    async def _exchange(
        self,
        peer: PeerId,
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
            stream=_ResponseBody(self._pool, peer, channel, request, timeouts.get("read")),
            extensions={"http_version": b"HTTP/1.1", "reason_phrase": head.reason},
        )

    async def _send_request(
        self, channel: H11Channel, request: httpx.Request, limit: float | None
    ) -> None:
        target = request.url.raw_path
        headers = [(name, value) for name, value in request.headers.raw]
        try:
            with anyio.fail_after(limit):
                head = channel.encode(
                    h11.Request(method=request.method, target=target, headers=headers)
                )
                assert isinstance(request.stream, httpx.AsyncByteStream)
                async for chunk in request.stream:
                    # Small bodies leave with the head in one write (one yamux frame).
                    await channel.write(head + channel.encode(h11.Data(data=chunk)))
                    head = b""
                await channel.write(head + channel.encode(h11.EndOfMessage()))
        except TimeoutError as error:
            raise httpx.WriteTimeout("sending the request timed out", request=request) from error
        except _ERRORS as error:
            raise httpx.WriteError(str(error), request=request) from error

    async def _receive_head(
        self, channel: H11Channel, request: httpx.Request, limit: float | None
    ) -> h11.Response:
        try:
            with anyio.fail_after(limit):
                while True:
                    event = await channel.next_event()
                    if isinstance(event, h11.Response):
                        return event
                    if not isinstance(event, h11.InformationalResponse):
                        raise httpx.RemoteProtocolError(
                            f"peer closed the stream before answering ({event})", request=request
                        )
        except TimeoutError as error:
            raise httpx.ReadTimeout("no response head in time", request=request) from error
        except _ERRORS as error:
            raise httpx.ReadError(str(error), request=request) from error


class _ResponseBody(httpx.AsyncByteStream):
    """Yields body chunks as they arrive; parks the stream when the body ended cleanly."""

    def __init__(
        self,
        pool: ChannelPool,
        peer: PeerId,
        channel: H11Channel,
        request: httpx.Request,
        read_limit: float | None,
    ) -> None:
        self._pool, self._peer, self._channel = pool, peer, channel
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
            with anyio.fail_after(self._limit):
                return await self._channel.next_event()
        except TimeoutError as error:
            raise httpx.ReadTimeout("response body stalled", request=self._request) from error
        except _ERRORS as error:
            raise httpx.ReadError(str(error), request=self._request) from error

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._complete:
            await self._pool.release(self._peer, self._channel)
        else:
            # The caller gave up (client disconnect, timeout): reset so the
            # serving side cancels its upstream request.
            await self._pool.discard(self._channel)
