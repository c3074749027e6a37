"""Serves an ASGI app on inbound ``/libp2p-http`` streams, keep-alive included.

Each request gets an ASGI scope marked ``VIA_MESH`` with the caller's peer id. The
request body streams to the app as it arrives; the response streams back chunk by
chunk (chunked encoding when the app sets no length). A caller that resets the
stream is reported to the app as ``http.disconnect``, so it stops its upstream work.
"""

import logging
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import unquote

import anyio
import h11

from computemesh.errors import MeshError
from computemesh.ids import PeerId
from computemesh.p2p.stream import MeshStream
from computemesh.p2phttp import CALLER_PEER, VIA_MESH
from computemesh.p2phttp.channel import READ_SIZE, H11Channel
from computemesh.p2phttp.request_queue import RequestQueue

log = logging.getLogger(__name__)

Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Message, Receive, Send], Awaitable[None]]

IDLE_TIMEOUT_S = 90.0
REQUEST_MESSAGES_AHEAD = 8  # body chunks read ahead of the app; then the caller waits
_DISCONNECT: Message = {"type": "http.disconnect"}


async def serve_stream(
    stream: MeshStream, app: ASGIApp, idle_timeout: float = IDLE_TIMEOUT_S
) -> None:
    """Answer requests on ``stream`` until the caller closes it or stays idle too long."""
    channel = H11Channel(stream, h11.SERVER)
    try:
        while True:
            with anyio.move_on_after(idle_timeout):
                event = await channel.next_event()
                if not isinstance(event, h11.Request):
                    return
                await _Exchange(channel, event, app, stream.remote_peer).run()
                if not channel.reusable:
                    return
                channel.conn.start_next_cycle()
                continue
            return  # idle for too long
    except h11.RemoteProtocolError as error:
        await _refuse(channel, error)
    except MeshError as error:
        log.debug("libp2p-http stream from %s ended: %s", stream.remote_peer, error)
    finally:
        await stream.close()


async def _refuse(channel: H11Channel, error: h11.RemoteProtocolError) -> None:
    if channel.conn.our_state not in (h11.IDLE, h11.SEND_RESPONSE):
        return
    body = f'{{"error": "malformed HTTP request: {error}"}}'.encode()
    headers = [("content-type", "application/json"), ("content-length", str(len(body)))]
    try:
        await channel.write(
            channel.encode(h11.Response(status_code=error.error_status_hint, headers=headers))
            + channel.encode(h11.Data(data=body))
            + channel.encode(h11.EndOfMessage())
        )
    except (MeshError, h11.LocalProtocolError):
        return


class _Exchange:
    """One request/response cycle between the channel and the app."""

    def __init__(
        self, channel: H11Channel, request: h11.Request, app: ASGIApp, peer: PeerId
    ) -> None:
        self._channel = channel
        self._peer = peer
        self._request = request
        self._app = app
        self._head = b""
        self._started = False
        self._finished = False
        self._disconnected = False
        # Cancelled when the caller resets: its upstream work stops at once, even
        # in a handler that is not reading the request.
        self._app_scope = anyio.CancelScope()

    async def run(self) -> None:
        inbox = RequestQueue[Message](REQUEST_MESSAGES_AHEAD)
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(self._pump_request, inbox)
            with self._app_scope:
                await self._run_app(inbox)
            tasks.cancel_scope.cancel()
        if self._disconnected:
            raise MeshError("caller reset the stream")

    async def _run_app(self, inbox: RequestQueue[Message]) -> None:
        try:
            await self._app(self._scope(), self._receiver(inbox), self._send)
        except MeshError:
            self._disconnected = True  # the caller went away while we answered
            return
        except Exception:
            log.exception("libp2p-http app failed on %s", self._request.target)
        await self._fail()  # a no-op when the app answered in full

    def _scope(self) -> Message:
        target = self._request.target
        raw_path, _, query = target.partition(b"?")
        peer = self._peer
        return {
            "type": "http",
            "asgi": {"version": "3.0", "spec_version": "2.3"},
            "http_version": "1.1",
            "method": self._request.method.decode("ascii"),
            "scheme": "http",
            "path": unquote(raw_path.decode("latin-1")),
            "raw_path": raw_path,
            "query_string": query,
            "root_path": "",
            "headers": [(name.lower(), value) for name, value in self._request.headers],
            "client": (str(peer), 0),
            "server": None,
            VIA_MESH: True,
            CALLER_PEER: PeerId(peer),
        }

    async def _pump_request(self, inbox: RequestQueue[Message]) -> None:
        """Body chunks to the app; after the body, watch for the caller resetting."""
        try:
            while True:
                event = await self._channel.next_event()
                if isinstance(event, h11.Data):
                    await inbox.put(
                        {"type": "http.request", "body": bytes(event.data), "more_body": True}
                    )
                elif isinstance(event, h11.EndOfMessage):
                    await inbox.put({"type": "http.request", "body": b"", "more_body": False})
                    break
                else:
                    raise MeshError(f"request body cut off ({event})")
            await self._watch_caller()
        except (MeshError, h11.RemoteProtocolError):
            self._disconnected = True
            self._app_scope.cancel()

    async def _watch_caller(self) -> None:
        """Reads past the request: bytes are a pipelined next request, an end is a disconnect.

        Known clients (ours, go-libp2p-http) never half-close before reading the
        answer, so the end of their side means they are gone, as nginx reads it too.
        """
        while data := await self._channel.stream.read(READ_SIZE):
            self._channel.conn.receive_data(data)
        raise MeshError("caller closed the stream")

    def _receiver(self, inbox: RequestQueue[Message]) -> Receive:
        async def receive() -> Message:
            if self._disconnected and not inbox:
                return _DISCONNECT
            return await inbox.get()

        return receive

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
            data = self._head + (self._channel.encode(h11.Data(data=body)) if body else b"")
            self._head = b""
            if not message.get("more_body", False):
                data += self._channel.encode(h11.EndOfMessage())
                self._finished = True
            # Head and first chunk leave in one write: one yamux frame, one Noise seal.
            await self._channel.write(data)

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
        # Headers went out but the body did not finish: cut the stream, so the
        # caller sees a broken response rather than a short "complete" one.
        raise MeshError("app ended without finishing its response")
