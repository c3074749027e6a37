"""A forwarded response streamed to the client as it arrives, and always closed.

Server-sent events get ``Cache-Control: no-cache`` and ``X-Accel-Buffering: no``.
A stream cut midway (provider gone, deadline) ends an SSE stream with an error
event; any other body is aborted so the client sees it incomplete, never short.
"""

import json
import logging
from collections.abc import AsyncIterator

import httpx
from starlette.requests import ClientDisconnect
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from computemesh.errors import ComputemeshError
from computemesh.p2phttp.transport import DeadlinePassed
from computemesh.protocol.openai_errors import short_error_body
from computemesh.routing.forwarder import Forwarded

log = logging.getLogger(__name__)

SSE_HEADERS = [("cache-control", "no-cache"), ("x-accel-buffering", "no")]


async def respond(forwarded: Forwarded) -> Response:
    """A whole body goes out in one piece with its length; anything else streams."""
    if not forwarded.complete:
        return ForwardedResponse(forwarded)
    await forwarded.aclose()
    response = Response(forwarded.first, status_code=forwarded.status)
    response.raw_headers = _raw(forwarded.headers) + response.raw_headers  # + content-length
    return response


def _raw(headers: list[tuple[str, str]]) -> list[tuple[bytes, bytes]]:
    return [(name.encode("latin-1"), value.encode("latin-1")) for name, value in headers]


class StreamCut(ComputemeshError):
    """The upstream body broke after the response began; the connection is aborted."""


class ForwardedResponse(Response):
    """Relays the forwarded body chunk by chunk, as it comes, until the request's deadline.

    Its own ``__call__`` rather than Starlette's ``StreamingResponse``: no generator
    between the transport and the client, and no time limit of its own per chunk
    (the transport's reads already stop at the deadline the forward carried).
    """

    def __init__(self, forwarded: Forwarded) -> None:
        super().__init__(status_code=forwarded.status)
        self._forwarded = forwarded
        self._sse = forwarded.content_type.startswith("text/event-stream")
        headers = forwarded.headers
        if self._sse:  # ours replace the upstream's (an earlier hop may have set them)
            replaced = {name for name, _ in SSE_HEADERS}
            headers = [h for h in headers if h[0] not in replaced] + SSE_HEADERS
        self.raw_headers = _raw(headers)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            start = {"type": "http.response.start", "status": self.status_code}
            await send({**start, "headers": self.raw_headers})
            problem = await self._relay(send)
            if problem is not None:
                await self._cut(problem, send)
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        except OSError as error:  # the client went away (ASGI 2.4 servers raise it)
            raise ClientDisconnect() from error
        finally:
            await self._forwarded.aclose()

    def _body(self) -> AsyncIterator[bytes]:
        """The chunks to send; a surface that edits answers gives its own."""
        return self._forwarded.chunks()

    async def _relay(self, send: Send) -> str | None:
        """Send every chunk on; what broke the stream, if something did."""
        try:
            async for chunk in self._body():
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
        except DeadlinePassed as error:
            return str(error)
        except httpx.HTTPError as error:
            return _broke(error)
        return None

    async def _cut(self, problem: str, send: Send) -> None:
        log.warning("forwarded stream cut: %s", problem)
        if not self._sse:
            raise StreamCut(problem)
        event = short_error_body(problem, "upstream_error", "stream_interrupted")
        body = f"data: {json.dumps(event)}\n\n".encode()
        await send({"type": "http.response.body", "body": body, "more_body": True})


def _broke(error: httpx.HTTPError) -> str:
    return f"the provider's stream broke: {error or type(error).__name__}"
