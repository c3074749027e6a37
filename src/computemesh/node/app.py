"""The node's ASGI app: every HTTP surface mounted on one FastAPI instance."""

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from computemesh import __version__
from computemesh.node.api.ocf.router import router as ocf_router
from computemesh.node.api.state import NodeState

log = logging.getLogger(__name__)


def create_app(state: NodeState) -> FastAPI:
    app = FastAPI(
        title="computemesh node",
        version=__version__,
        description="A computemesh node: the OCF node-table API and mesh routing.",
    )
    app.state.node = state
    app.include_router(ocf_router)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _invalid_body)
    app.add_exception_handler(Exception, _unexpected)
    return app


async def _http_error(request: Request, error: Exception) -> JSONResponse:
    """OCF's error shape: ``{"error": "<message>"}``."""
    assert isinstance(error, StarletteHTTPException)
    return JSONResponse(
        {"error": error.detail}, status_code=error.status_code, headers=error.headers
    )


async def _invalid_body(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, RequestValidationError)
    problems = [
        f"{'.'.join(str(part) for part in item['loc'])}: {item['msg']}" for item in error.errors()
    ]
    return JSONResponse({"error": "invalid request: " + "; ".join(problems)}, status_code=422)


async def _unexpected(request: Request, error: Exception) -> JSONResponse:
    """A bug must still answer in the surface's format, never with a traceback."""
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return JSONResponse({"error": f"internal error ({type(error).__name__})"}, status_code=500)
