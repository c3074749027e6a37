"""A forwarded response streamed to the client as it arrives, and always closed.

Server-sent events get ``Cache-Control: no-cache`` and ``X-Accel-Buffering: no``.
A stream cut midway (provider gone, deadline) ends an SSE stream with an error
event; any other body is aborted so the client sees it incomplete, never short.
"""

import json
import logging
import time
from collections.abc import AsyncIterator

import anyio
import httpx
from starlette.responses import Response, StreamingResponse
from starlette.types import Receive, Scope, Send

from computemesh.node.api.forward.errors import error_body
from computemesh.routing.forwarder import Forwarded

log = logging.getLogger(__name__)

SSE_HEADERS = [("cache-control", "no-cache"), ("x-accel-buffering", "no")]


async def respond(forwarded: Forwarded, deadline: float) -> Response:
    """A whole body goes out in one piece with its length; anything else streams."""
    if not forwarded.complete:
        return ForwardedResponse(forwarded, deadline)
    await forwarded.aclose()
    response = Response(forwarded.first, status_code=forwarded.status)
    response.raw_headers = _raw(forwarded.headers) + response.raw_headers  # + content-length
    return response


def _raw(headers: list[tuple[str, str]]) -> list[tuple[bytes, bytes]]:
    return [(name.encode("latin-1"), value.encode("latin-1")) for name, value in headers]


class StreamCut(Exception):
    """The upstream body broke after the response began; the connection is aborted."""


class ForwardedResponse(StreamingResponse):
    def __init__(self, forwarded: Forwarded, deadline: float) -> None:
        self._forwarded = forwarded
        self._deadline = deadline
        self._sse = forwarded.content_type.startswith("text/event-stream")
        super().__init__(self._body(), status_code=forwarded.status)
        headers = forwarded.headers
        if self._sse:  # ours replace the upstream's (an earlier hop may have set them)
            replaced = {name for name, _ in SSE_HEADERS}
            headers = [h for h in headers if h[0] not in replaced] + SSE_HEADERS
        self.raw_headers = _raw(headers)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            await self._forwarded.aclose()

    async def _body(self) -> AsyncIterator[bytes]:
        chunks = self._forwarded.chunks()
        problem = "the request deadline passed while streaming"
        while True:
            chunk: bytes | None = None
            # The deadline is applied per chunk: a cancel scope must not span a yield.
            try:
                with anyio.move_on_after(max(self._deadline - time.monotonic(), 0)):
                    chunk = await anext(chunks)
            except StopAsyncIteration:
                return
            except httpx.HTTPError as error:
                problem = f"the provider's stream broke: {error or type(error).__name__}"
                break
            if chunk is None:  # the deadline passed
                break
            yield chunk
        log.warning("forwarded stream cut: %s", problem)
        if not self._sse:
            raise StreamCut(problem)
        event = error_body(problem, "stream_interrupted", "upstream_error")
        yield f"data: {json.dumps(event)}\n\n".encode()
