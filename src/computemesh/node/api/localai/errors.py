"""LocalAI's error answer ``{"error": {"code", "message"}}`` for every failure of its routes."""

import logging
from collections.abc import Callable, Coroutine, Mapping
from typing import Any

from fastapi import Request, Response
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException as StarletteHTTPException

from computemesh.errors import ComputemeshError

log = logging.getLogger(__name__)
Handler = Callable[[Request], Coroutine[Any, Any, Response]]


class P2PUnavailable(ComputemeshError):
    """The node runs without the P2P layer (or without what was asked of it): 500."""


PREFIX = "/api/p2p"


def is_localai_path(path: str) -> bool:
    """Paths of this surface: an unknown one, or a wrong method, answers in its format too."""
    return path == PREFIX or path.startswith(PREFIX + "/")


def error(status: int, message: str, headers: Mapping[str, str] | None = None) -> JSONResponse:
    body = {"error": {"code": status, "message": message}}
    return JSONResponse(body, status_code=status, headers=dict(headers or {}))


class LocalAiRoute(APIRoute):
    def get_route_handler(self) -> Handler:
        handler = super().get_route_handler()

        async def answered(request: Request) -> Response:
            try:
                return await handler(request)
            except P2PUnavailable as problem:
                return error(500, str(problem))
            except StarletteHTTPException as problem:  # /token's guard, the body limit
                return error(problem.status_code, str(problem.detail))
            except Exception as problem:  # a bug still answers in LocalAI's format
                log.exception("unhandled error on the LocalAI P2P surface")
                return error(500, f"internal error ({type(problem).__name__})")

        return answered
