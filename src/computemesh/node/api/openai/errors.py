"""Errors of the OpenAI surface in OffGrid's shape ``{"error": {"message", "type", "code"}}``.

Every ``/v1/*`` path that is not OCF's belongs to this surface, as do ``/`` and
``/health``: an unknown one, or a wrong method, answers 404/405 in OpenAI's shape
(``param`` too, null, as OpenAI's own answers carry it). The OCF paths (``/v1/dnt``,
``/v1/health``, the forwarding routes) keep OCF's ``{"error": "..."}``; ``node.app``
chooses by path.
"""

from collections.abc import Mapping

from fastapi.responses import JSONResponse

from computemesh.errors import InvalidRequestError
from computemesh.protocol.openai_errors import (
    error_body,
    invalid_request_body,
    short_error_body,
)

ROOT_PATHS = frozenset({"/", "/health"})
OCF_PREFIXES = ("/v1/health", "/v1/dnt", "/v1/p2p", "/v1/_service", "/v1/service")
API_ERROR = "api_error"  # the OffGrid API's type for model_not_found
INVALID_REQUEST = "invalid_request_error"
_CODES = {404: "not_found", 405: "method_not_allowed", 413: "request_too_large"}


def is_openai_path(path: str) -> bool:
    if path in ROOT_PATHS:
        return True
    if not path.startswith("/v1/"):
        return False
    return not any(path == ocf or path.startswith(ocf + "/") for ocf in OCF_PREFIXES)


def openai_error(status: int, message: str, code: str, kind: str = INVALID_REQUEST) -> JSONResponse:
    return JSONResponse(short_error_body(message, kind, code), status_code=status)


def invalid_request(error: InvalidRequestError) -> JSONResponse:
    return JSONResponse(invalid_request_body(error), status_code=400)


def model_not_found(model: str) -> JSONResponse:
    return openai_error(404, f"Model not found: {model}", "model_not_found", API_ERROR)


def wrong_kind(model: str, kind: str) -> JSONResponse:
    """A known model asked for what it does not do (embeddings of a chat model)."""
    what = "embeddings" if kind == "embedding" else "chat or text completions"
    message = f"Model {model} does not serve {what}"
    body = error_body(message, INVALID_REQUEST, "model_not_supported", param="model")
    return JSONResponse(body, status_code=400)


def http_error(status: int, detail: str, headers: Mapping[str, str] | None) -> JSONResponse:
    """A routing-level error (unknown path, wrong method) on one of this surface's paths."""
    body = error_body(detail, INVALID_REQUEST, _CODES.get(status, "http_error"))
    return JSONResponse(body, status_code=status, headers=dict(headers or {}))
