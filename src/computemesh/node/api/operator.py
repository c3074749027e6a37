"""Who may call operator endpoints: the operator's channel, and nothing a peer can borrow.

An operator is a caller with the admin token, or a trusted loopback caller. Never one:

- a request over the mesh (``/libp2p-http``: the ASGI scope flag ``VIA_MESH``);
- a request carrying ``FORWARDED_MARKER``: this node, or another, forwarding a request
  (a peer could otherwise make a node call itself, or a neighbour, from 127.0.0.1);
- a browser page of another origin (``Origin``, ``Sec-Fetch-Site``), whatever address
  and token it shows: a page the user visits can POST to loopback without a preflight.

Loopback is trusted only with ``trust_loopback`` on, and never for a request that
names a client behind a proxy (``X-Forwarded-For``, ``Forwarded``, ``X-Real-IP``):
behind a reverse proxy on the same host every caller would look like loopback.

``OperatorRoutes`` finds the routes guarded by ``require_operator`` in an app (their
OpenAPI operations name the ``adminToken`` scheme), so CORS never opens them.
"""

import hmac
import ipaddress
import re
import warnings
from typing import Annotated

from fastapi import FastAPI, HTTPException, Request, Security, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from computemesh.node.api.browser import from_another_origin
from computemesh.node.api.state import NodeState
from computemesh.p2phttp import FORWARDED_MARKER, VIA_MESH

__all__ = ["VIA_MESH", "OperatorRoutes", "require_operator"]

PROXY_HEADERS = ("x-forwarded-for", "forwarded", "x-real-ip")
ADMIN_SCHEME = "adminToken"
# Names the operator routes in the OpenAPI description (and so for OperatorRoutes);
# the token itself is checked below, with the other rules of the channel.
ADMIN_TOKEN = HTTPBearer(
    scheme_name=ADMIN_SCHEME,
    description="the node's admin_token; loopback callers need none (trust_loopback)",
    auto_error=False,
)
ASK_FOR_TOKEN = "send Authorization: Bearer <admin token>"
REFUSED = "operator endpoint: "


async def require_operator(
    request: Request,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Security(ADMIN_TOKEN)],
) -> None:
    refusal = _refusal(request, request.app.state.node, bearer.credentials if bearer else "")
    if refusal is not None:
        raise HTTPException(status.HTTP_403_FORBIDDEN, refusal)


def _refusal(request: Request, state: NodeState, bearer: str) -> str | None:
    """Why this request gets no operator rights, or None when it is the operator."""
    headers = request.headers
    if request.scope.get(VIA_MESH):
        return "operator endpoints are not reachable over the mesh"
    if FORWARDED_MARKER in headers:
        return REFUSED + "a request a node forwarded never has operator rights"
    if from_another_origin(headers):
        return REFUSED + "browser requests from another origin are refused"
    if _is_admin_token(bearer, state):
        return None
    if not _is_loopback(request.client.host if request.client else None):
        return f"{REFUSED}call from loopback or {ASK_FOR_TOKEN}"
    if not state.settings.trust_loopback:
        return f"{REFUSED}this node does not trust loopback (trust_loopback); {ASK_FOR_TOKEN}"
    if any(name in headers for name in PROXY_HEADERS):
        return f"{REFUSED}a request through a proxy is not trusted as loopback; {ASK_FOR_TOKEN}"
    return None


def _is_admin_token(bearer: str, state: NodeState) -> bool:
    token = state.admin_token.get_secret_value() if state.admin_token else ""
    return bool(token) and hmac.compare_digest(bearer.strip().encode(), token.encode())


def _is_loopback(host: str | None) -> bool:
    try:
        return host is not None and ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class OperatorRoutes:
    """The (path pattern, methods) of every operation guarded by ``require_operator``.

    Read from the app's OpenAPI description, where those operations name the
    ``adminToken`` security scheme. Building it takes about 0.1 s of CPU, so it is
    built on first use (the first browser request), not at every node's start.
    """

    def __init__(self, app: FastAPI) -> None:
        self._app = app
        self._routes: list[tuple[re.Pattern[str], frozenset[str]]] | None = None

    def match(self, method: str, path: str) -> bool:
        method = method.upper()
        return any(method in methods and regex.fullmatch(path) for regex, methods in self.routes)

    @property
    def routes(self) -> list[tuple[re.Pattern[str], frozenset[str]]]:
        if self._routes is None:
            self._routes = _guarded_routes(self._app)
        return self._routes


def _guarded_routes(app: FastAPI) -> list[tuple[re.Pattern[str], frozenset[str]]]:
    with warnings.catch_warnings():
        # The forwarding routes take several methods under one operation id, which
        # FastAPI warns about each time it builds the description.
        warnings.filterwarnings("ignore", "Duplicate Operation ID", UserWarning)
        paths = app.openapi().get("paths", {})
    guarded = []
    for path, operations in paths.items():
        methods = frozenset(
            method.upper()
            for method, operation in operations.items()
            if any(ADMIN_SCHEME in need for need in operation.get("security", []))
        )
        if methods:
            guarded.append((_pattern(path), methods))
    return guarded


def _pattern(template: str) -> re.Pattern[str]:
    """``/a/{name}/b`` as a regular expression (a parameter is one path segment)."""
    parts = re.split(r"\{[^}]*\}", template)
    return re.compile("[^/]+".join(re.escape(part) for part in parts))
