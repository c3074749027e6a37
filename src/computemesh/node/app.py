"""The node's ASGI apps: every HTTP surface for clients, and the peer-safe subset for the mesh."""

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp

from computemesh import __version__
from computemesh.body_limit import BodyLimit
from computemesh.errors import InvalidRequestError
from computemesh.json_bodies import JsonBodies
from computemesh.node.api import aicn
from computemesh.node.api.aicn import envelope as aicn_envelope
from computemesh.node.api.body_limit import BodyTooLarge
from computemesh.node.api.cors import Cors
from computemesh.node.api.forward.errors import (
    forward_error_response,
    internal_error_response,
    unsafe_path_response,
)
from computemesh.node.api.forward.lane import ForwardingLane
from computemesh.node.api.forward.routes import (
    ENTRY_ROUTES,
    PEER_ROUTES,
    entry_router,
    service_router,
)
from computemesh.node.api.known_hosts import KnownHosts, known_names
from computemesh.node.api.localai import errors as localai_errors
from computemesh.node.api.localai.router import router as localai_router
from computemesh.node.api.metrics.endpoint import router as metrics_router
from computemesh.node.api.metrics.http_requests import ObservedRequests
from computemesh.node.api.metrics.routes import RouteNames
from computemesh.node.api.ocf.router import operator_router
from computemesh.node.api.ocf.router import router as ocf_router
from computemesh.node.api.openai import errors as openai_errors
from computemesh.node.api.openai import offgrid
from computemesh.node.api.openai.routes import router as openai_router
from computemesh.node.api.operator import OperatorRoutes
from computemesh.node.api.state import NodeState
from computemesh.request_id import RequestIds
from computemesh.routing.errors import ForwardError
from computemesh.routing.paths import UnsafePath

log = logging.getLogger(__name__)


def create_app(state: NodeState) -> ASGIApp:
    """What clients of this node reach on its HTTP port: FastAPI behind the forwarding lane,
    behind CORS, behind the Host check (the order a request meets them: last first)."""
    app = _base_app(
        state, "A computemesh node: the OCF node-table API, mesh routing and the OpenAI API."
    )
    app.include_router(openai_router)
    app.include_router(offgrid.router)
    app.include_router(ocf_router)
    app.include_router(operator_router)
    app.include_router(service_router)
    app.include_router(entry_router)
    for router in aicn.routers:
        app.include_router(router)
    app.include_router(localai_router)
    app.include_router(metrics_router)
    lane = ForwardingLane(app, state, ENTRY_ROUTES)
    settings = state.settings
    cors = Cors(lane, settings.cors_allow_origins, OperatorRoutes(app).match)
    return _observed(KnownHosts(cors, known_names(settings)), state, "client")


def create_peer_app(state: NodeState) -> ASGIApp:
    """What other nodes reach over ``/libp2p-http``: health, read-only views, local services.

    Operator endpoints and the mesh entry points (``/v1/p2p``, ``/v1/service``) are
    simply absent, so a peer can neither administer this node nor bounce requests.
    """
    app = _base_app(state, "The peer-safe surface of a computemesh node.", docs=False)
    app.include_router(ocf_router)
    app.include_router(service_router)
    for router in aicn.peer_routers:
        app.include_router(router)
    return _observed(ForwardingLane(app, state, PEER_ROUTES), state, "mesh")


def _observed(inner: ASGIApp, state: NodeState, channel: str) -> ASGIApp:
    """Outermost: the request's id (``X-Request-Id``), then its count and access log line."""
    metrics = state.metrics if state.metrics.enabled else None
    access_log = state.settings.access_log
    if metrics is not None or access_log:
        routes = RouteNames([*entry_router.routes, *service_router.routes])
        inner = ObservedRequests(inner, routes, metrics, channel=channel, access_log=access_log)
    return RequestIds(inner)


def _base_app(state: NodeState, description: str, *, docs: bool = True) -> FastAPI:
    app = FastAPI(
        title="computemesh node",
        version=__version__,
        description=description,
        docs_url="/docs" if docs else None,
        redoc_url="/redoc" if docs else None,
        openapi_url="/openapi.json" if docs else None,
    )
    app.add_middleware(BodyLimit, limit=state.settings.max_body_bytes, too_large=BodyTooLarge)
    app.add_middleware(JsonBodies)  # curl -d, requests' data=, Go clients: JSON all the same
    app.state.node = state
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _invalid_body)
    app.add_exception_handler(InvalidRequestError, _invalid_openai_body)
    app.add_exception_handler(ForwardError, _forward_failed)
    app.add_exception_handler(UnsafePath, _unsafe_path)
    app.add_exception_handler(Exception, _unexpected)
    return app


async def _http_error(request: Request, error: Exception) -> JSONResponse:
    """OCF's error shape ``{"error": "<message>"}``, except on the other surfaces' paths
    (an unknown path, a wrong method), which answer in their own."""
    assert isinstance(error, StarletteHTTPException)
    path = request.url.path
    if aicn_envelope.is_aicn_path(path):
        return aicn_envelope.http_failure(request, error)
    if openai_errors.is_openai_path(path):
        return openai_errors.http_error(error.status_code, str(error.detail), error.headers)
    if localai_errors.is_localai_path(path):
        return localai_errors.error(error.status_code, str(error.detail), error.headers)
    return JSONResponse(
        {"error": error.detail}, status_code=error.status_code, headers=error.headers
    )


async def _invalid_body(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, RequestValidationError)
    problems = [
        f"{'.'.join(str(part) for part in item['loc'])}: {item['msg']}" for item in error.errors()
    ]
    # A body that is no JSON at all is 400, as OCF's BindJSON answers; a JSON body that
    # fails the schema is FastAPI's 422.
    malformed = any(item["type"] == "json_invalid" for item in error.errors())
    message = "invalid request: " + "; ".join(problems)
    return JSONResponse({"error": message}, status_code=400 if malformed else 422)


async def _invalid_openai_body(request: Request, error: Exception) -> JSONResponse:
    """A bad body on the OpenAI surface: 400 in the OffGrid API's format."""
    assert isinstance(error, InvalidRequestError)
    return openai_errors.invalid_request(error)


async def _forward_failed(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, ForwardError)
    return forward_error_response(error)


async def _unsafe_path(request: Request, error: Exception) -> JSONResponse:
    return unsafe_path_response(error)


async def _unexpected(request: Request, error: Exception) -> JSONResponse:
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return internal_error_response(error)
