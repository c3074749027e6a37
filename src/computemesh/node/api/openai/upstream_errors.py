"""A provider's error answer, reshaped into the OffGrid API's error format.

llama.cpp says ``{"error": {"code": 400, "message", "type"}}``, vLLM and Ollama have
shapes of their own; clients of this surface always get ``message``, ``type`` and a
string ``code``, with the provider's status and the ``X-Computing-Node`` header. A
number in ``code`` (llama.cpp repeats the HTTP status there) says nothing a client can
match on, so it becomes ``upstream_<status>``; a prompt over the context is OpenAI's
``context_length_exceeded``, which clients do match on to shorten and retry.
"""

import json
from typing import Any

from fastapi.responses import JSONResponse

from computemesh.node.api.openai.errors import API_ERROR, INVALID_REQUEST, openai_error
from computemesh.routing.forwarder import Forwarded

MAX_ERROR_BYTES = 64 * 1024
KEPT_HEADERS = frozenset({"x-computing-node"})
# Provider error types with an OpenAI meaning: (type, code) as OpenAI says them.
_OPENAI_MEANING = {"exceed_context_size_error": (INVALID_REQUEST, "context_length_exceeded")}


async def reshaped_error(forwarded: Forwarded) -> JSONResponse:
    """Read the (small) error body and answer it in OffGrid's format; closes ``forwarded``."""
    try:
        raw = await _read_bounded(forwarded)
    finally:
        await forwarded.aclose()
    message, kind, code = _describe(raw, forwarded.status)
    response = openai_error(forwarded.status, message, code, kind)
    for name, value in forwarded.headers:
        if name in KEPT_HEADERS:
            response.headers[name] = value
    return response


async def _read_bounded(forwarded: Forwarded) -> bytes:
    kept = b""
    async for chunk in forwarded.chunks():
        kept += chunk
        if len(kept) >= MAX_ERROR_BYTES:
            break
    return kept[:MAX_ERROR_BYTES]


def _describe(raw: bytes, status: int) -> tuple[str, str, str]:
    fallback = raw.decode("utf-8", "replace").strip() or f"the provider answered HTTP {status}"
    try:
        document: Any = json.loads(raw)
    except ValueError:
        return fallback, API_ERROR, f"upstream_{status}"
    detail = document.get("error", document) if isinstance(document, dict) else None
    if isinstance(detail, str):
        return detail, API_ERROR, f"upstream_{status}"
    if not isinstance(detail, dict):
        return fallback, API_ERROR, f"upstream_{status}"
    message = str(detail.get("message") or detail.get("detail") or fallback)
    kind = str(detail.get("type") or API_ERROR)
    if kind in _OPENAI_MEANING:
        return message, *_OPENAI_MEANING[kind]
    code = str(detail.get("code") or "")
    return message, kind, code if code and not code.isdigit() else f"upstream_{status}"
