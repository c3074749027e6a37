"""Every error answers ``{"detail": ...}`` with the OCF proxy's status codes; never a traceback."""

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from computemesh.gateway.api.metrics import GatewayMetrics, route_of
from computemesh.gateway.errors import (
    GatewayError,
    NotFound,
    RateLimited,
    StorageError,
    Unauthorized,
    Unavailable,
    UpstreamError,
    UpstreamTimeout,
)

log = logging.getLogger(__name__)

STATUS: list[tuple[type[GatewayError], int]] = [
    (Unauthorized, 401),
    (NotFound, 404),
    (RateLimited, 429),
    (UpstreamTimeout, 504),
    (UpstreamError, 502),
    (StorageError, 500),
    (Unavailable, 503),
]


def install(app: FastAPI) -> None:
    app.add_exception_handler(GatewayError, _gateway_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _invalid_request)
    app.add_exception_handler(Exception, _unexpected)


def detail(status: int, message: object, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"detail": message}, status_code=status, headers=headers)


async def _gateway_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, GatewayError)
    status = next((code for kind, code in STATUS if isinstance(error, kind)), 500)
    headers: dict[str, str] = {}
    metrics: GatewayMetrics | None = getattr(request.app.state, "metrics", None)
    if metrics is not None:
        _count(metrics, error, request)
    if isinstance(error, RateLimited):
        headers = error.headers
    elif isinstance(error, Unauthorized):
        headers = {"www-authenticate": "Bearer"}
    if status == 500:
        log.error("%s on %s %s: %s", type(error).__name__, request.method, request.url.path, error)
    return detail(status, str(error), headers)


def _count(metrics: GatewayMetrics, error: GatewayError, request: Request) -> None:
    if isinstance(error, RateLimited):
        metrics.refused(route_of(request.scope))
    elif isinstance(error, StorageError):
        metrics.error("database")
    elif isinstance(error, UpstreamError):
        metrics.error("upstream")


async def _http_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, StarletteHTTPException)
    return detail(error.status_code, error.detail, dict(error.headers or {}))


async def _invalid_request(request: Request, error: Exception) -> JSONResponse:
    """422 with one readable line per problem (inputs are not echoed: they may be secrets)."""
    assert isinstance(error, RequestValidationError)
    problems = [
        f"{'.'.join(str(part) for part in item['loc'])}: {item['msg']}" for item in error.errors()
    ]
    return detail(422, "invalid request: " + "; ".join(problems))


async def _unexpected(request: Request, error: Exception) -> JSONResponse:
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return detail(500, f"internal error ({type(error).__name__})")
