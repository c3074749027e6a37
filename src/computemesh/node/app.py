"""The node's ASGI app: every HTTP surface mounted on one FastAPI instance."""

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from computemesh import __version__
from computemesh.node.api.ocf.router import router as ocf_router
from computemesh.node.api.state import NodeState


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
