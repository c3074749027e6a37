"""CORS for browser clients on other origins (OCF's ``ui/index.html``, dashboards, web chats).

The node answers preflights and adds ``Access-Control-Allow-Origin`` from
``cors_allow_origins`` (``*`` by default, as OCF does) to its views, forwarding
routes and inference surfaces, never to operator routes: those are closed to other
origins (``operator.require_operator`` also refuses the simple requests a browser
sends without a preflight). Every answer loses the ``Access-Control-*`` headers an
upstream set (llama-server sends its own): a forwarded answer carries this node's.
"""

from collections.abc import Callable

from starlette.datastructures import Headers
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from computemesh.node.api.surface_errors import surface_error

Closed = Callable[[str, str], bool]  # (method, path) → no CORS for it
ANY = "*"
PREFLIGHT_MAX_AGE_S = "600"
EXPOSED = b"x-computing-node"  # which provider served a routed request
_PREFIX = b"access-control-"


class Cors:
    def __init__(self, app: ASGIApp, origins: list[str], closed: Closed) -> None:
        self.app = app
        self._any = ANY in origins
        self._origins = frozenset(origin.rstrip("/").lower() for origin in origins)
        self._closed = closed

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        origin = _origin(scope)
        method, path = scope["method"], scope["path"]
        if method == "OPTIONS" and origin:
            headers = Headers(scope=scope)
            if "access-control-request-method" in headers:
                await self._preflight(path, headers, origin)(scope, receive, send)
                return
        allowed = None if origin is None or self._closed(method, path) else self._allow(origin)
        own = self._headers(allowed) if allowed else []

        async def send_with_own_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                kept = [h for h in message["headers"] if not h[0].lower().startswith(_PREFIX)]
                message = {**message, "headers": kept + own}
            await send(message)

        await self.app(scope, receive, send_with_own_cors)

    def _preflight(self, path: str, headers: Headers, origin: str) -> Response:
        method = headers["access-control-request-method"].strip().upper()
        allowed = self._allow(origin)
        if allowed is None or self._closed(method, path):
            message = f"{method} {path} is not open to pages of other origins"
            return surface_error(path, 403, message, "cors_refused")
        response = Response(status_code=204)
        response.raw_headers += self._headers(allowed)
        response.headers["access-control-allow-methods"] = method
        if requested := headers.get("access-control-request-headers"):
            response.headers["access-control-allow-headers"] = requested
        response.headers["access-control-max-age"] = PREFLIGHT_MAX_AGE_S
        return response

    def _allow(self, origin: str) -> str | None:
        """The ``Access-Control-Allow-Origin`` value for ``origin``, None if it is not let in."""
        if self._any:
            return ANY
        return origin if origin.rstrip("/").lower() in self._origins else None

    def _headers(self, allowed: str) -> list[tuple[bytes, bytes]]:
        own = [
            (b"access-control-allow-origin", allowed.encode("latin-1")),
            (b"access-control-expose-headers", EXPOSED),
        ]
        return own if allowed == ANY else [*own, (b"vary", b"origin")]


def _origin(scope: Scope) -> str | None:
    # A scan of the raw headers: this runs on every request, forwards included.
    for name, value in scope["headers"]:
        if name == b"origin":
            return bytes(value).decode("latin-1")
    return None
