"""Serves an ASGI app on HTTP/1.1 connections with h11, keep-alive included.

The connections are inbound ``/libp2p-http`` streams (each request's scope is marked
``VIA_MESH`` with the caller's peer id) and the node's own TCP port (``listener``).
The request body streams to the app as it arrives; the response streams back chunk
by chunk (chunked encoding when the app sets no length). A caller that goes away
cancels the app at once (scope flag ``CANCELS_ON_DISCONNECT``), so its upstream
work stops; the app also sees ``http.disconnect`` if it asks. A body that stalls
(``drain.BodyTimeouts``) gets a 408 (unless part of an answer already left) and ends
the connection, the app's work with it, as if the caller had left.
"""

import json
import logging
from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

import anyio
import h11

from computemesh.errors import MeshError
from computemesh.p2p.stream import MeshStream
from computemesh.p2phttp import CALLER_PEER, CANCELS_ON_DISCONNECT, VIA_MESH
from computemesh.p2phttp.channel import ByteStream, H11Channel
from computemesh.p2phttp.drain import Drain
from computemesh.p2phttp.inbound import BodyStalled, Inbound

log = logging.getLogger(__name__)

Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Message, Receive, Send], Awaitable[None]]

_DISCONNECT: Message = {"type": "http.disconnect"}
_STALLED_BODY = json.dumps({"error": "the request body did not arrive in time"}).encode()


@dataclass(frozen=True)
class Origin:
    """Where a connection comes from, as its requests' ASGI scopes tell the app."""

    client: tuple[str, int]
    server: tuple[str, int] | None = None
    marks: Mapping[str, Any] = field(default_factory=dict)  # extra scope keys


async def serve_stream(stream: MeshStream, app: ASGIApp, drain: Drain) -> None:
    """Answer requests on a ``/libp2p-http`` stream until the caller leaves or idles."""
    peer = stream.remote_peer
    origin = Origin(client=(str(peer), 0), marks={VIA_MESH: True, CALLER_PEER: peer})
    await serve_connection(stream, app, origin, drain)


async def serve_connection(
    stream: ByteStream, app: ASGIApp, origin: Origin, drain: Drain | None = None
) -> None:
    """Answer requests on ``stream`` until the caller closes it, idles, or ``drain`` closes."""
    drain = drain or Drain()
    channel = H11Channel(stream, h11.SERVER)
    inbound = Inbound(channel)
    try:
        with drain.watching(inbound):
            async with anyio.create_task_group() as connection:
                connection.start_soon(inbound.run)
                # A caller that leaves cancels the whole connection, its answer included.
                await _answer(channel, inbound, app, origin, drain, connection.cancel_scope.cancel)
                connection.cancel_scope.cancel()
    finally:
        await stream.close()


async def _answer(
    channel: H11Channel,
    inbound: Inbound,
    app: ASGIApp,
    origin: Origin,
    drain: Drain,
    cancel: Callable[[], None],
) -> None:
    """Requests, one after the other; never raises (it runs beside the reader task)."""
    try:
        while True:
            event = await drain.next_request(inbound)
            if not isinstance(event, h11.Request):
                return  # idle, closing, or the caller closed
            await _Exchange(channel, inbound, event, app, origin, cancel).run()
            if not channel.reusable or drain.closing:
                return
            channel.conn.start_next_cycle()
    except h11.RemoteProtocolError as error:
        await _refuse(channel, error)
    except MeshError as error:
        log.debug("HTTP connection from %s ended: %s", origin.client[0], error)


async def _refuse(channel: H11Channel, error: h11.RemoteProtocolError) -> None:
    if channel.conn.our_state not in (h11.IDLE, h11.SEND_RESPONSE):
        return
    body = json.dumps({"error": f"malformed HTTP request: {error}"}).encode()
    headers = [("content-type", "application/json"), ("content-length", str(len(body)))]
    try:
        await channel.write(
            channel.encode(h11.Response(status_code=error.error_status_hint, headers=headers))
            + channel.encode(h11.Data(data=body))
            + channel.encode(h11.EndOfMessage())
        )
    except (MeshError, h11.LocalProtocolError):
        return


class CallerGone(OSError):
    """``send`` after the caller went away (ASGI 2.4 asks for an ``OSError``)."""


class _Exchange:
    """One request/response cycle between the channel and the app."""

    def __init__(
        self,
        channel: H11Channel,
        inbound: Inbound,
        request: h11.Request,
        app: ASGIApp,
        origin: Origin,
        cancel: Callable[[], None],
    ) -> None:
        self._channel = channel
        self._inbound = inbound
        self._origin = origin
        self._request = request
        self._app = app
        self._head = b""
        self._bodiless = request.method == b"HEAD"  # h11 refuses body bytes for HEAD
        self._started = False
        self._finished = False
        self._disconnected = False
        self._body_done = False
        self._early: list[h11.Event] = []  # body events already read with the head
        self._cut = False  # the app left a response half sent
        # Called when the caller goes away: the connection's work, this answer's
        # upstream work included, stops at once, even in a handler not reading.
        self._cancel = cancel

    async def run(self) -> None:
        self._take_early_events()
        self._inbound.start_body()
        self._inbound.on_gone = self._caller_left
        try:
            if self._inbound.gone.is_set():
                self._caller_left()
            await self._run_app()
        finally:
            self._inbound.on_gone = None
        if self._disconnected:
            raise MeshError("the caller went away")
        if self._cut:
            # Headers went out but the body did not finish: cut the connection, so
            # the caller sees a broken response rather than a short "complete" one.
            raise MeshError("app ended without finishing its response")

    def _take_early_events(self) -> None:
        """The body events already here: the end of a bodiless request among them.

        Taken before the app runs, so that a request the app never reads (a GET)
        is complete when it answers, and the connection can carry the next one.
        """
        try:
            while (event := self._inbound.poll()) is not None:
                self._early.append(event)
                if isinstance(event, h11.EndOfMessage):
                    return
        except (MeshError, h11.RemoteProtocolError):
            return  # the app's first read meets the same problem again

    def _caller_left(self) -> None:
        self._disconnected = True
        self._cancel()

    async def _run_app(self) -> None:
        try:
            await self._app(self._scope(), self._receive, self._send)
        except Exception:
            if self._disconnected:
                return  # the caller went away while we answered
            log.exception("HTTP app failed on %s", self._request.target)
        try:
            await self._fail()  # a no-op when the app answered in full
        except CallerGone:
            return

    def _scope(self) -> Message:
        target = self._request.target
        raw_path, _, query = target.partition(b"?")
        return {
            "type": "http",
            # 2.4: ``send`` raises OSError once the caller is gone, so Starlette streams
            # a response without a disconnect-watching task beside it.
            "asgi": {"version": "3.0", "spec_version": "2.4"},
            "http_version": "1.1",
            "method": self._request.method.decode("ascii"),
            "scheme": "http",
            "path": unquote(raw_path.decode("latin-1")),
            "raw_path": raw_path,
            "query_string": query,
            "root_path": "",
            "headers": [(name.lower(), value) for name, value in self._request.headers],
            "client": self._origin.client,
            "server": self._origin.server,
            CANCELS_ON_DISCONNECT: True,
            **self._origin.marks,
        }

    async def _receive(self) -> Message:
        if self._disconnected:
            return _DISCONNECT
        if self._body_done:  # ASGI: after the body, receive waits for the caller to leave
            await self._inbound.gone.wait()
            return _DISCONNECT
        if self._channel.conn.they_are_waiting_for_100_continue:
            # The client holds its body back until told to send it (curl does).
            await self._write(
                self._channel.encode(h11.InformationalResponse(status_code=100, headers=[]))
            )
        try:
            event = self._early.pop(0) if self._early else await self._inbound.next_body_event()
        except BodyStalled:
            # The app waits in this read: answer 408 in its place, then end the
            # connection, the app with it, as when the caller leaves.
            await self._time_out()
            self._caller_left()
            await anyio.lowlevel.checkpoint()  # the cancel lands here, in this read
            return _DISCONNECT
        except (MeshError, h11.RemoteProtocolError):
            event = None
        if isinstance(event, h11.Data):
            return {"type": "http.request", "body": bytes(event.data), "more_body": True}
        if isinstance(event, h11.EndOfMessage):
            self._body_done = True
            return {"type": "http.request", "body": b"", "more_body": False}
        self._disconnected = True  # the body was cut off
        return _DISCONNECT

    async def _send(self, message: Message) -> None:
        kind = message["type"]
        if kind == "http.response.start":
            headers = [(bytes(name), bytes(value)) for name, value in message.get("headers", [])]
            self._head = self._channel.encode(
                h11.Response(status_code=message["status"], headers=headers)
            )
            self._started = True
        elif kind == "http.response.body":
            body: bytes = message.get("body", b"")
            if self._bodiless:
                body = b""
            data = self._head + (self._channel.encode(h11.Data(data=body)) if body else b"")
            self._head = b""
            if not message.get("more_body", False):
                data += self._channel.encode(h11.EndOfMessage())
                self._finished = True
            # Head and first chunk leave in one write: one yamux frame, one Noise seal.
            await self._write(data)

    async def _write(self, data: bytes) -> None:
        if self._disconnected:
            raise CallerGone("the caller went away")
        try:
            await self._channel.write(data)
        except MeshError as error:
            self._disconnected = True
            raise CallerGone(str(error)) from error

    async def _time_out(self) -> None:
        """A 408 in place of the app's answer, unless part of an answer already left."""
        if self._channel.conn.our_state is not h11.SEND_RESPONSE:
            return
        headers = [
            ("content-type", "application/json"),
            ("content-length", str(len(_STALLED_BODY))),
            ("connection", "close"),
        ]
        try:
            await self._channel.write(
                self._channel.encode(h11.Response(status_code=408, headers=headers))
                + self._channel.encode(h11.Data(data=_STALLED_BODY))
                + self._channel.encode(h11.EndOfMessage())
            )
        except (MeshError, h11.LocalProtocolError):
            return

    async def _fail(self) -> None:
        """Close out a response the app left unfinished (or never began)."""
        if self._finished:
            return
        if not self._started:
            body = b'{"error": "internal error"}'
            await self._send(
                {
                    "type": "http.response.start",
                    "status": 500,
                    "headers": [
                        (b"content-type", b"application/json"),
                        (b"content-length", str(len(body)).encode()),
                    ],
                }
            )
            await self._send({"type": "http.response.body", "body": body})
            return
        self._cut = True
