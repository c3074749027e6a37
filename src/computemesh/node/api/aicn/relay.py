"""Sending an AICN call to a peer over ``/libp2p-http`` and relaying its answer.

A peer answers in the envelope already, so its bytes go back as they are; a stream
goes back chunk by chunk and, if it breaks midway, ends with an SSE event carrying
code 1017 (the AICN API's stream error) instead of stopping short.
"""

import json
import logging
import time
from collections.abc import AsyncIterator

import anyio
import httpx
from fastapi import Response
from starlette.responses import StreamingResponse

from computemesh.ids import PeerId
from computemesh.node.api.state import NodeState
from computemesh.protocol.aicn import Code
from computemesh.routing.forwarder import Forwarded, Outbound, forward

log = logging.getLogger(__name__)
JSON_HEADERS = [("content-type", "application/json")]
SSE_HEADERS = {"cache-control": "no-cache", "x-accel-buffering": "no"}


def deadline(state: NodeState) -> float:
    """AICN model calls get ``aicn_timeout`` seconds (the AICN API's 1004 past that)."""
    return time.monotonic() + state.settings.aicn_timeout


async def call_peer(
    state: NodeState, peer: PeerId, path: str, body: bytes | None, until: float
) -> Forwarded:
    """POST ``body`` (GET without one) to ``peer``'s peer-safe app; raises ForwardError."""
    method, headers = ("GET", []) if body is None else ("POST", JSON_HEADERS)
    outbound = Outbound(method, path, b"", headers, body or b"")
    url = f"libp2p://{peer}{path}"
    return await forward(state.forwarding, url, outbound, state.timeouts, until)


async def relay(forwarded: Forwarded, until: float) -> Response:
    """The peer's answer as this node's answer."""
    media_type = forwarded.content_type or "application/json"
    if forwarded.complete or not media_type.startswith("text/event-stream"):
        body = await _read_closing(forwarded)
        return Response(body, status_code=forwarded.status, media_type=media_type)
    return stream(forwarded, until)


def stream(forwarded: Forwarded, until: float) -> Response:
    """Relay server-sent events as they come; always closes the forwarded response."""
    return StreamingResponse(
        _events(forwarded, until),
        status_code=forwarded.status,
        media_type="text/event-stream",
        headers=SSE_HEADERS,
    )


async def _read_closing(forwarded: Forwarded) -> bytes:
    try:
        return await forwarded.read_all()
    finally:
        await forwarded.aclose()


async def _events(forwarded: Forwarded, until: float) -> AsyncIterator[bytes]:
    chunks = forwarded.chunks()
    problem = ""
    try:
        while True:
            # Per chunk: a cancel scope must not span a yield.
            with anyio.move_on_after(max(until - time.monotonic(), 0)) as scope:
                try:
                    chunk = await anext(chunks)
                except StopAsyncIteration:
                    return
                except httpx.HTTPError as error:
                    problem = f"the model's stream broke: {error or type(error).__name__}"
            if scope.cancelled_caught:
                problem = "the request deadline passed while streaming"
            if problem:
                break
            yield chunk
        log.warning("AICN stream cut: %s", problem)
        event = {"code": int(Code.STREAM), "message": problem}
        yield f"data: {json.dumps(event)}\n\n".encode()
    finally:
        await forwarded.aclose()
