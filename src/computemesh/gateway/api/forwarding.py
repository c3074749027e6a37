"""Forward one OpenAI request to a node and meter it, streamed or not.

The node's answer is passed on as it arrives. Usage is recorded when the answer
ends (or breaks off), with the tokens the node reported or an estimate, and the
tokens are charged to the caller's rate-limit budgets after the response.
"""

import json
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

from fastapi.responses import JSONResponse, Response, StreamingResponse

from computemesh.gateway.api.deps import Admission
from computemesh.gateway.api.errors import detail
from computemesh.gateway.api.state import GatewayState
from computemesh.gateway.auth.principal import Principal
from computemesh.gateway.db import UsageRecord
from computemesh.gateway.errors import UpstreamError, UpstreamTimeout
from computemesh.gateway.metering import tokens
from computemesh.gateway.metering.stream import StreamMeter
from computemesh.gateway.metering.tokens import TokenCount
from computemesh.gateway.upstream.client import UpstreamResponse

NODE_HEADER = "x-computing-node"
JSON_HEADERS = {"content-type": "application/json"}
NO_TOKENS = TokenCount(0, 0, reported=False)
OTHER_MODEL = "other"


class Call:
    """One forwarded request: who, what, when; ends exactly once with a usage record."""

    def __init__(
        self, state: GatewayState, principal: Principal | None, admission: Admission, model: str
    ) -> None:
        self.state = state
        self.principal = principal
        self.admission = admission
        self.model = model
        self.started = time.perf_counter()
        self.node = ""
        self.model_label = OTHER_MODEL
        """``model`` if the nodes' catalog lists it: a caller's free text is never a label."""
        self._ended = False

    def end(self, status: int, counted: TokenCount, streamed: bool) -> None:
        if self._ended:
            return
        self._ended = True
        principal = self.principal
        self.state.metrics.inference(
            principal.api_key_id if principal else None,
            self.model_label,
            status,
            counted.prompt,
            counted.completion,
        )
        self.state.recorder.record(
            UsageRecord(
                id=self.admission.request_id,
                user_id=principal.user_id if principal else None,
                api_key_id=principal.api_key_id if principal else None,
                model=self.model,
                node=self.node,
                prompt_tokens=counted.prompt,
                completion_tokens=counted.completion,
                latency_ms=(time.perf_counter() - self.started) * 1000,
                status=status,
                created_at=datetime.now(UTC),
                streamed=streamed,
            )
        )
        if counted.total and self.admission.limits:
            limiter = self.state.limiter
            self.state.behind(
                limiter.add_tokens(self.admission.limits, self.admission.request_id, counted.total)
            )

    def headers(self) -> dict[str, str]:
        headers = dict(self.admission.headers)  # X-Request-Id: set for every answer (RequestIds)
        if self.node:
            headers[NODE_HEADER] = self.node
        return headers


async def forward(call: Call, path: str, body: dict[str, Any], raw: bytes) -> Response:
    """POST ``body`` to a node's ``path``; stream the answer when the client asked for a stream."""
    streaming = bool(body.get("stream"))
    if call.state.metrics.enabled and await call.state.catalog.knows(call.model):
        call.model_label = call.model
    send, drop_usage_chunk = _ask_for_usage(body, raw) if streaming else (raw, False)
    try:
        upstream = await call.state.nodes.send("POST", path, send, JSON_HEADERS)
    except UpstreamError as error:
        call.end(504 if isinstance(error, UpstreamTimeout) else 502, NO_TOKENS, streaming)
        raise
    call.node = _node_name(upstream)
    is_stream = upstream.headers.get("content-type", "").startswith("text/event-stream")
    if streaming and upstream.status == 200 and is_stream:
        meter = StreamMeter(tokens.estimate_prompt(body), drop_usage_chunk)
        return StreamingResponse(
            _relay(call, upstream, meter),
            media_type="text/event-stream",
            headers={**call.headers(), "cache-control": "no-cache", "x-accel-buffering": "no"},
        )
    return await _whole(call, upstream, body, streamed=streaming)


async def _whole(
    call: Call, upstream: UpstreamResponse, body: dict[str, Any], streamed: bool
) -> Response:
    try:
        content = await upstream.read()
    except UpstreamError as error:
        call.end(504 if isinstance(error, UpstreamTimeout) else 502, NO_TOKENS, streamed)
        raise
    if upstream.status >= 400:
        status = upstream.status if upstream.status < 500 or upstream.status == 504 else 502
        if upstream.status >= 500:
            call.state.metrics.error("upstream")
        call.end(status, NO_TOKENS, streamed)
        return detail(status, _upstream_message(content, upstream.status), call.headers())
    call.end(upstream.status, tokens.from_response(content, body), streamed)
    media = upstream.headers.get("content-type", "application/json")
    return Response(content, status_code=upstream.status, media_type=media, headers=call.headers())


async def _relay(
    call: Call, upstream: UpstreamResponse, meter: StreamMeter
) -> AsyncIterator[bytes]:
    try:
        async for chunk in upstream.chunks():
            if out := meter.feed(chunk):
                yield out
        if rest := meter.finish():
            yield rest
    except UpstreamError as error:
        # The node broke off mid-stream: the status line has gone, so the stream ends
        # with an error event, as the node's own cut streams do.
        call.state.metrics.error("upstream")
        yield meter.cut(str(error))
    finally:
        # Also reached when the client disconnects: what was streamed is still metered.
        call.end(502 if meter.interrupted else 200, meter.tokens, streamed=True)


async def proxy_get(call: Call, path: str) -> Response:
    """A GET passed to a node as it is (``/v1/models``); not metered."""
    upstream = await call.state.nodes.send("GET", path)
    call.node = _node_name(upstream)
    content = await upstream.read()
    if upstream.status >= 400:
        status = upstream.status if upstream.status < 500 else 502
        return detail(status, _upstream_message(content, upstream.status), call.headers())
    media = upstream.headers.get("content-type", "application/json")
    return Response(content, status_code=upstream.status, media_type=media, headers=call.headers())


def models_list(models: list[str], call: Call) -> JSONResponse:
    """An OpenAI model list, for nodes that have no ``/v1/models`` of their own."""
    data = [{"id": m, "object": "model", "created": 0, "owned_by": "computemesh"} for m in models]
    return JSONResponse({"object": "list", "data": data}, headers=call.headers())


def _node_name(upstream: UpstreamResponse) -> str:
    """The serving peer's name, in printable ASCII only: it is stored and sent back as a header.

    aiohttp decodes header bytes that are not UTF-8 as surrogates, which neither a
    database nor a response header can hold.
    """
    name = upstream.headers.get(NODE_HEADER, "")
    return "".join(c for c in name if " " <= c <= "~")[:128]


def _ask_for_usage(body: dict[str, Any], raw: bytes) -> tuple[bytes, bool]:
    """Ask the node to end the stream with a usage chunk; True if the client did not ask."""
    options = body.get("stream_options") or {}
    if isinstance(options, dict) and options.get("include_usage"):
        return raw, False
    changed = {**body, "stream_options": {**options, "include_usage": True}}
    return json.dumps(changed, separators=(",", ":")).encode(), True


def _upstream_message(content: bytes, status: int) -> str:
    """The node's own error text from OpenAI, OCF or FastAPI shaped bodies."""
    try:
        body = json.loads(content)
    except ValueError:
        body = None
    if isinstance(body, dict):
        error = body.get("error", body.get("detail"))
        if isinstance(error, dict):
            error = error.get("message")
        if isinstance(error, str) and error:
            return error
    return f"the node answered HTTP {status}"
