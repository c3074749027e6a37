"""The node's 413: request bodies it reads whole stay under ``max_body_bytes``.

The node's FastAPI app runs behind ``computemesh.body_limit.BodyLimit``, which raises
``BodyTooLarge`` from the body read, so each surface (OpenAI, OCF, AICN, LocalAI)
answers it in its own format. The forwarding lane serves ``/v1/service`` in front of
FastAPI and reads the body whole to route by its fields: ``read_whole`` keeps the same
bound there. Bodies that ``/v1/p2p`` and ``/v1/_service`` stream through are never
held whole, so they are not bounded.
"""

from starlette.exceptions import HTTPException
from starlette.requests import Request

from computemesh.body_limit import bounded

CONTENT_TOO_LARGE = 413


class BodyTooLarge(HTTPException):
    def __init__(self, limit: int) -> None:
        super().__init__(CONTENT_TOO_LARGE, f"the request body is over {limit} bytes")


async def read_whole(request: Request, limit: int) -> bytes:
    """The body, or ``BodyTooLarge`` as soon as it is known to be over ``limit`` bytes."""
    receive = bounded(request.receive, request.scope, limit, BodyTooLarge)
    return await Request(request.scope, receive).body()
