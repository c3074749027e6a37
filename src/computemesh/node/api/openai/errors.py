"""Errors of the OpenAI surface in the seed's shape ``{"error": {"message", "type", "code"}}``.

Paths of this surface answer 404/405 in that shape too; the OCF paths (``/v1/dnt``,
``/v1/health``, …) keep OCF's ``{"error": "..."}``, chosen by path in ``node.app``.
"""

from collections.abc import Mapping

from fastapi.responses import JSONResponse

from computemesh.errors import InvalidRequestError
from computemesh.protocol.openai_errors import (
    error_body,
    invalid_request_body,
    short_error_body,
)

OPENAI_PATHS = frozenset(
    {"/", "/health", "/v1/models", "/v1/chat/completions", "/v1/completions", "/v1/embeddings"}
)
API_ERROR = "api_error"  # the seed's type for model_not_found
INVALID_REQUEST = "invalid_request_error"
_CODES = {404: "not_found", 405: "method_not_allowed", 413: "request_too_large"}


def is_openai_path(path: str) -> bool:
    return path in OPENAI_PATHS or path.startswith("/v1/models/")


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
    response = openai_error(status, detail, _CODES.get(status, "http_error"))
    response.headers.update(headers or {})
    return response
