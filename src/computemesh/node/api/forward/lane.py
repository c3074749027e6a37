"""The forwarding routes served in front of FastAPI, without its per-request machinery.

Forwarding is a node's hot path. Before a forwarding handler ran, FastAPI passed the
request through five middlewares, matched it against every surface's routes, and
solved its dependencies: 16% of an entry node's CPU per forwarded request, measured.
The lane matches the forwarding prefixes first and calls the very same handlers with
the same error answers. Every other path, and the OpenAPI description of these
routes, stays with FastAPI.
"""

import logging
from collections.abc import Awaitable, Callable, Mapping

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from computemesh.node.api.body_limit import BodyTooLarge
from computemesh.node.api.forward.errors import (
    body_too_large_response,
    forward_error_response,
    internal_error_response,
    unsafe_path_response,
)
from computemesh.node.api.state import NodeState
from computemesh.routing.errors import ForwardError
from computemesh.routing.paths import UnsafePath

log = logging.getLogger(__name__)

Handler = Callable[[str, Request, NodeState], Awaitable[Response]]
METHODS = frozenset({"GET", "POST", "PATCH"})


class ForwardingLane:
    """Serves ``/v1/<route>/<name>/<rest>`` for the given routes; passes the rest to ``app``."""

    def __init__(self, app: ASGIApp, state: NodeState, routes: Mapping[str, Handler]) -> None:
        self.app = app
        self._state = state
        self._routes = dict(routes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        found = self._match(scope)
        if found is None:
            await self.app(scope, receive, send)
            return
        handler, name = found
        scope["endpoint"] = handler  # as Starlette's router would: names the route for metrics
        request = Request(scope, receive)
        response = await _answer(handler, name, request, self._state)
        await response(scope, receive, send)

    def _match(self, scope: Scope) -> tuple[Handler, str] | None:
        """As FastAPI's ``/v1/<route>/{name}/{path:path}`` would match (a name, then a slash)."""
        if scope["type"] != "http" or scope["method"] not in METHODS:
            return None
        parts = scope["path"].split("/", 4)  # "", "v1", route, name, rest
        if len(parts) < 5 or parts[1] != "v1" or not parts[3]:
            return None
        handler = self._routes.get(parts[2])
        return None if handler is None else (handler, parts[3])


async def _answer(handler: Handler, name: str, request: Request, state: NodeState) -> Response:
    """The handler's response, or the error answer the node's FastAPI app would give."""
    try:
        return await handler(name, request, state)
    except ForwardError as error:
        return forward_error_response(error)
    except UnsafePath as error:
        return unsafe_path_response(error)
    except BodyTooLarge as error:
        return body_too_large_response(error)
    except Exception as error:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return internal_error_response(error)
