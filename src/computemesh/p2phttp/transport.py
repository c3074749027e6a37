"""An httpx transport that speaks HTTP/1.1 with h11 over pooled byte streams.

Mounted for ``libp2p://<peer id>/<path>`` (``/libp2p-http`` streams; httpx lowercases
URL hosts while base58 peer ids are case-sensitive, so ``locate`` resolves the host
back to a peer this node knows) and for ``http://`` upstreams (TCP connections).

Forwards skip ``httpx.Request`` and hand the transport an ``Outgoing`` instead:
building the request object, mostly parsing and checking its URL again, took 93 us
of a forward's CPU on a slow VM, for a URL this node has just built itself.
"""

import math
import time
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import anyio
import h11
import httpx

from computemesh.errors import MeshError
from computemesh.ids import PeerId
from computemesh.p2phttp import FORWARDED_MARKER, URL_SCHEME
from computemesh.p2phttp.channel import H11Channel
from computemesh.p2phttp.pool import ChannelPool

Locate = Callable[[str, str], str | None]  # (URL scheme, authority) → a pool destination
Body = bytes | AsyncIterable[bytes]
_ERRORS = (MeshError, h11.ProtocolError)
DEADLINE_PASSED = "the request deadline passed while the body streamed"
_BODILESS_METHODS = frozenset({"GET", "HEAD", "DELETE", "OPTIONS", "TRACE"})
_MARKER = FORWARDED_MARKER.encode("ascii")


class DeadlinePassed(httpx.ReadTimeout):
    """A body read stopped by the request's own deadline rather than by a stall."""


def peer_locator(resolve: Callable[[str], PeerId | None]) -> Locate:
    """``libp2p://<peer id>`` URLs → the peer id, case restored."""
    return lambda scheme, authority: resolve(authority.lower()) if scheme == URL_SCHEME else None


def tcp_locator(scheme: str, authority: str) -> str | None:
    """``http://host:port`` URLs → ``host:port``."""
    if scheme != "http":
        return None
    try:
        split = urlsplit("//" + authority)
        return f"{split.hostname}:{split.port or 80}"
    except ValueError:  # a port that is not a number
        return None


@dataclass(frozen=True)
class Outgoing:
    """A request sent as it is: the transport adds only Host and the body's framing."""

    method: str
    url: str  # scheme://authority/target, built by the caller
    headers: list[tuple[str, str]]
    body: Body
    timeouts: Mapping[str, float | None]
    deadline: float | None = None  # time.monotonic() by which the whole body must be in


@dataclass(frozen=True)
class _Call:
    """One request on the wire: complete headers, the body, and what to blame in errors."""

    destination: str
    method: bytes
    target: bytes
    headers: list[tuple[bytes, bytes]]
    body: Body
    timeouts: Mapping[str, float | None]
    request: httpx.Request | None = None
    deadline: float | None = None

    @property
    def replayable(self) -> bool:
        return isinstance(self.body, bytes | httpx.ByteStream)


class H11Transport(httpx.AsyncBaseTransport):
    def __init__(self, pool: ChannelPool, locate: Locate) -> None:
        self._pool = pool
        self._locate = locate

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        destination = self._destination(url.scheme, url.netloc.decode("ascii"), request)
        assert isinstance(request.stream, httpx.AsyncByteStream)
        call = _Call(
            destination=destination,
            method=request.method.encode("ascii"),
            target=url.raw_path,
            headers=_marked(request.headers.raw),
            body=request.stream,
            timeouts=request.extensions.get("timeout", {}),
            request=request,
        )
        return await self._call(call)

    async def send(self, outgoing: Outgoing) -> httpx.Response:
        """Send ``outgoing`` as it is (its URL is trusted: this node built it)."""
        scheme, _, rest = outgoing.url.partition("://")
        authority, _, path = rest.partition("/")
        headers = [(b"host", authority.encode("ascii"))]
        headers += _marked((n.encode("latin-1"), v.encode("latin-1")) for n, v in outgoing.headers)
        body = outgoing.body
        if not isinstance(body, bytes):
            headers.append((b"transfer-encoding", b"chunked"))
        elif body or outgoing.method not in _BODILESS_METHODS:
            headers.append((b"content-length", str(len(body)).encode("ascii")))
        call = _Call(
            destination=self._destination(scheme, authority, None),
            method=outgoing.method.encode("ascii"),
            target=("/" + path).encode("ascii"),
            headers=headers,
            body=body,
            timeouts=outgoing.timeouts,
            deadline=outgoing.deadline,
        )
        return await self._call(call)

    def _destination(self, scheme: str, authority: str, request: httpx.Request | None) -> str:
        destination = self._locate(scheme, authority)
        if destination is None:
            raise httpx.ConnectError(f"unknown destination {authority}", request=request)
        return destination

    async def _call(self, call: _Call) -> httpx.Response:
        channel = self._pool.take_idle(call.destination)
        if channel is not None:
            try:
                return await self._exchange(channel, call)
            except (httpx.ReadError, httpx.WriteError, httpx.RemoteProtocolError):
                # The parked stream died while idle; a fresh one is worth one try
                # when the body can be sent again.
                if not call.replayable:
                    raise
        return await self._exchange(await self._open(call), call)

    async def _open(self, call: _Call) -> H11Channel:
        destination, request = call.destination, call.request
        limit = _time_limit(call.timeouts.get("connect"), call.deadline)
        try:
            with anyio.CancelScope(deadline=limit):
                return await self._pool.open(destination)
        except MeshError as error:
            raise httpx.ConnectError(str(error), request=request) from error
        raise httpx.ConnectTimeout(f"no connection to {destination} in time", request=request)

    async def _exchange(self, channel: H11Channel, call: _Call) -> httpx.Response:
        try:
            head = await self._request_and_head(channel, call)
        except BaseException:
            await self._pool.discard(channel)
            raise
        body = _ResponseBody(self._pool, call.destination, channel, call)
        return httpx.Response(
            status_code=head.status_code,
            headers=head.headers,
            stream=body,
            extensions={"http_version": b"HTTP/1.1", "reason_phrase": head.reason},
        )

    async def _request_and_head(self, channel: H11Channel, call: _Call) -> h11.Response:
        """Send the request, then wait for the response head.

        One cancel scope serves both: its time limit moves from the write limit to
        the read limit once the request is out (a scope costs a forward more CPU
        than moving its deadline).
        """
        timeouts, request, sending = call.timeouts, call.request, True
        try:
            with anyio.CancelScope(
                deadline=_time_limit(timeouts.get("write"), call.deadline)
            ) as limit:
                await self._send_request(channel, call)
                sending = False
                limit.deadline = _time_limit(timeouts.get("read"), call.deadline)
                return await self._receive_head(channel, request)
        except _ERRORS as error:
            if sending:
                raise httpx.WriteError(str(error), request=request) from error
            raise httpx.ReadError(str(error), request=request) from error
        if sending:
            raise httpx.WriteTimeout("sending the request timed out", request=request)
        raise httpx.ReadTimeout("no response head in time", request=request)

    async def _send_request(self, channel: H11Channel, call: _Call) -> None:
        head = channel.encode(
            h11.Request(method=call.method, target=call.target, headers=call.headers)
        )
        if isinstance(call.body, bytes):
            # Head, body and end leave in one write (one yamux frame).
            body = channel.encode(h11.Data(data=call.body)) if call.body else b""
            await channel.write(head + body + channel.encode(h11.EndOfMessage()))
            return
        async for chunk in call.body:
            # A first chunk leaves with the head in one write.
            await channel.write(head + channel.encode(h11.Data(data=chunk)))
            head = b""
        await channel.write(head + channel.encode(h11.EndOfMessage()))

    async def _receive_head(
        self, channel: H11Channel, request: httpx.Request | None
    ) -> h11.Response:
        while True:
            event = await channel.next_event()
            if isinstance(event, h11.Response):
                return event
            if not isinstance(event, h11.InformationalResponse):
                raise httpx.RemoteProtocolError(
                    f"the server closed the connection before answering ({event})",
                    request=request,
                )


def _marked(headers: Iterable[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    """``headers`` with this node's forwarding marker (one, whatever the caller sent)."""
    kept = [(name, value) for name, value in headers if name.lower() != _MARKER]
    kept.append((_MARKER, b"1"))
    return kept


def _time_limit(seconds: float | None, deadline: float | None) -> float:
    """The trio-clock time by which a step must end: ``seconds`` from now, and no
    later than ``deadline`` (``time.monotonic()``); infinite when neither is set."""
    now = anyio.current_time()
    limit = math.inf if seconds is None else now + seconds
    if deadline is not None:
        limit = min(limit, now + deadline - time.monotonic())
    return limit


class _ResponseBody(httpx.AsyncByteStream):
    """Yields body chunks as they arrive; parks the stream when the body ended cleanly."""

    def __init__(
        self,
        pool: ChannelPool,
        destination: str,
        channel: H11Channel,
        call: _Call,
    ) -> None:
        self._pool, self._destination, self._channel = pool, destination, channel
        self._request, self._deadline = call.request, call.deadline
        self._limit = call.timeouts.get("read")
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
            # Most events are already read (a small body and its end come with the
            # head): those need no time limit, whose cancel scope costs more than h11.
            event = self._channel.poll()
            if event is not None:
                return event
            limit, by_deadline = self._limit, False
            if self._deadline is not None:
                # One time limit per read serves both: a stall, and the whole deadline.
                remaining = max(self._deadline - time.monotonic(), 0)
                if limit is None or remaining < limit:
                    limit, by_deadline = remaining, True
            with anyio.move_on_after(limit):
                return await self._channel.next_event()
        except _ERRORS as error:
            raise httpx.ReadError(str(error), request=self._request) from error
        if by_deadline:
            raise DeadlinePassed(DEADLINE_PASSED, request=self._request)
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
