"""An error answered before any route runs, in the format of the surface its path belongs to.

The node's ASGI middlewares (the Host check, CORS preflights) answer some requests
themselves; the path says which surface's clients will read the answer: AICN's
envelope under ``/api/v0``, LocalAI's under ``/api/p2p``, OpenAI's on its paths and
the forwarding routes, OCF's ``{"error": "..."}`` everywhere else.
"""

from fastapi.responses import JSONResponse

from computemesh.node.api.aicn.envelope import AicnError, failure
from computemesh.node.api.forward.errors import error_response
from computemesh.node.api.localai.errors import error as localai_error
from computemesh.node.api.openai import errors as openai_errors
from computemesh.protocol.aicn import Code

FORWARDING_PREFIXES = ("/v1/p2p/", "/v1/_service/", "/v1/service/")


def surface_error(path: str, status: int, message: str, code: str) -> JSONResponse:
    """``message`` with ``status``; ``code`` names it where the format has string codes."""
    if path.startswith("/api/v0/"):
        number = Code.PERMISSION if status == 403 else Code.PARAMETER
        return failure(AicnError(number, message, status))
    if path == "/api/p2p" or path.startswith("/api/p2p/"):
        return localai_error(status, message)
    if openai_errors.is_openai_path(path):
        return openai_errors.openai_error(status, message, code)
    if path.startswith(FORWARDING_PREFIXES):
        return error_response(status, message, code, "invalid_request_error")
    return JSONResponse({"error": message}, status_code=status)
