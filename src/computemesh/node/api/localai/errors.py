"""LocalAI's error answer ``{"error": {"code", "message"}}`` for every failure of its routes."""

import logging
from collections.abc import Callable, Coroutine
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


def error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": {"code": status, "message": message}}, status_code=status)


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
