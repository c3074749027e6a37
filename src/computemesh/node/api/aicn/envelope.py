"""AICN's answer envelope ``{code, message, data}`` and the AICN API's codes for every failure.

``AicnRoute`` is the route class of every AICN router: whatever a handler raises (a bad
body, a refused operator call, a forwarding failure, a bug) becomes the envelope with
its code and an HTTP status that says whose fault it is (400 bad input, 403 permission,
404 no such node or content, 502 a node or model that failed, 503 nobody serves it,
504 timeout; 500 only for this node's own faults), never a traceback and never another
surface's format.
"""

import logging
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from computemesh.errors import ComputemeshError
from computemesh.protocol.aicn import Code
from computemesh.routing.errors import (
    AllAttemptsFailed,
    DeadlineExceeded,
    ForwardError,
    NoProvider,
    UnknownPeer,
    UnknownService,
)

log = logging.getLogger(__name__)
API_PREFIX = "/api/v0"
ENVELOPE_KEYS = frozenset({"code", "message", "data"})
Handler = Callable[[Request], Coroutine[Any, Any, Response]]

_STATUS = {
    Code.PARAMETER: 400,
    Code.PARSE: 400,
    Code.UNSUPPORTED: 400,
    Code.PERMISSION: 403,
    Code.ROUTING: 502,
    Code.MODEL: 502,
    Code.IPFS: 502,
    Code.STREAM: 502,
    Code.NO_PROVIDER: 503,
    Code.TIMEOUT: 504,
}


class AicnError(ComputemeshError):
    """A failure answered as ``{code, message}``; the status follows the code unless given."""

    def __init__(self, code: Code, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.status = status or _STATUS.get(code, 500)


def ok(
    data: BaseModel | list[Any] | dict[str, Any] | None = None,
    top: BaseModel | dict[str, Any] | None = None,
) -> JSONResponse:
    """``{"code": 0, "message": "ok"}``, with ``data`` when there is some.

    ``top`` are the fields AICN v0.1.8+ answers at the top level (``choices``, ``peer_id``…):
    they go beside the envelope for its clients, never over ``code``, ``message`` or ``data``.
    """
    body: dict[str, Any] = {"code": 0, "message": "ok"}
    if data is not None:
        body["data"] = data.model_dump() if isinstance(data, BaseModel) else data
    newer = top.model_dump() if isinstance(top, BaseModel) else top or {}
    body.update({key: value for key, value in newer.items() if key not in ENVELOPE_KEYS})
    return JSONResponse(body)


def failure(error: AicnError) -> JSONResponse:
    return JSONResponse({"code": int(error.code), "message": str(error)}, status_code=error.status)


def is_aicn_path(path: str) -> bool:
    return path == API_PREFIX or path.startswith(API_PREFIX + "/")


def http_failure(request: Request, error: StarletteHTTPException) -> JSONResponse:
    """A 404 or 405 under ``/api/v0`` (no such route, wrong method) in the envelope."""
    where = f"{request.method} {request.url.path}"
    if error.status_code == 404:
        message = f"no AICN endpoint {where}"
    elif error.status_code == 405:
        headers = {key.lower(): value for key, value in (error.headers or {}).items()}
        allowed = headers.get("allow", "")
        message = f"method not allowed: {where}" + (f"; use {allowed}" if allowed else "")
    else:
        message = str(error.detail)
    answer = failure(AicnError(Code.PARAMETER, message, error.status_code))
    answer.headers.update(error.headers or {})
    return answer


def as_aicn_error(error: Exception) -> AicnError:
    """Any exception as the AICN failure it stands for."""
    if isinstance(error, AicnError):
        return error
    if isinstance(error, RequestValidationError):
        return _invalid_body(error)
    if isinstance(error, StarletteHTTPException):  # FastAPI's and the body limit's 413
        code = Code.PERMISSION if error.status_code == 403 else Code.PARAMETER
        return AicnError(code, str(error.detail), error.status_code)
    if isinstance(error, ForwardError):
        return forward_failure(error)
    log.exception("unhandled error on the AICN surface", exc_info=error)
    return AicnError(Code.INTERNAL, f"internal error ({type(error).__name__})")


def forward_failure(error: ForwardError) -> AicnError:
    """Routing and forwarding failures: timeouts are 1004, missing providers 1016."""
    if isinstance(error, DeadlineExceeded) or isinstance(error.__cause__, TimeoutError):
        return AicnError(Code.TIMEOUT, str(error))
    if isinstance(error, NoProvider | UnknownService):
        return AicnError(Code.NO_PROVIDER, str(error))
    if isinstance(error, AllAttemptsFailed):
        return AicnError(Code.NO_PROVIDER, str(error), 502)
    if isinstance(error, UnknownPeer):
        return AicnError(Code.ROUTING, str(error), 404)
    return AicnError(Code.ROUTING, str(error))  # an unreachable node


def _invalid_body(error: RequestValidationError) -> AicnError:
    problems = error.errors()
    if any(problem.get("type") == "json_invalid" for problem in problems):
        return AicnError(Code.PARSE, "the request body is not valid JSON")
    described = "; ".join(
        f"{'.'.join(str(p) for p in problem['loc'][1:]) or 'body'}: {problem['msg']}"
        for problem in problems
    )
    return AicnError(Code.PARAMETER, f"invalid parameters: {described}")


class AicnRoute(APIRoute):
    """Routes whose every failure answers in the AICN envelope."""

    def get_route_handler(self) -> Handler:
        handler = super().get_route_handler()

        async def enveloped(request: Request) -> Response:
            try:
                return await handler(request)
            except Exception as error:  # each one is answered with its code
                return failure(as_aicn_error(error))

        return enveloped
