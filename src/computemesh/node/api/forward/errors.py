"""Forwarding errors in the OpenAI shape ``{"error": {"message", "type", "code"}}``.

Never a 200 with an error body (OCF's bug): each failure has its honest status.
"""

from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from computemesh.protocol.openai_errors import short_error_body
from computemesh.routing.errors import (
    AllAttemptsFailed,
    DeadlineExceeded,
    ForwardError,
    NoProvider,
    UnknownPeer,
    UnknownService,
    Unreachable,
)

_STATUS: dict[type[ForwardError], int] = {
    NoProvider: 503,
    UnknownPeer: 502,
    UnknownService: 404,
    Unreachable: 502,
    AllAttemptsFailed: 502,
    DeadlineExceeded: 504,
}


def error_response(status: int, message: str, code: str, kind: str = "mesh_error") -> JSONResponse:
    return JSONResponse(short_error_body(message, kind, code), status_code=status)


def forward_error_response(error: ForwardError) -> JSONResponse:
    status = _STATUS.get(type(error), 502)
    return error_response(status, str(error), error.code)


def unsafe_path_response(error: Exception) -> JSONResponse:
    return error_response(400, str(error), "invalid_path", "invalid_request_error")


def body_too_large_response(error: HTTPException) -> JSONResponse:
    return error_response(
        error.status_code, error.detail, "request_too_large", "invalid_request_error"
    )


def internal_error_response(error: Exception) -> JSONResponse:
    """A bug must still answer in the surface's format, never with a traceback."""
    return JSONResponse({"error": f"internal error ({type(error).__name__})"}, status_code=500)
