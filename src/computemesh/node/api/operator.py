"""Who may call operator endpoints: loopback callers, or anyone with the admin token.

Requests that arrive over the mesh (``/libp2p-http``) carry the ASGI scope flag
``VIA_MESH`` and are never treated as loopback, whatever address they show.
"""

import hmac
import ipaddress

from fastapi import HTTPException, Request, status

from computemesh.node.api.state import NodeState

VIA_MESH = "computemesh.via_mesh"


def _is_loopback(host: str | None) -> bool:
    try:
        return host is not None and ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _bearer(request: Request) -> str:
    scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
    return credentials.strip() if scheme.lower() == "bearer" else ""


async def require_operator(request: Request) -> None:
    state: NodeState = request.app.state.node
    if request.scope.get(VIA_MESH):
        raise HTTPException(
            status.HTTP_403_FORBIDDEN, "operator endpoints are not reachable over the mesh"
        )
    if _is_loopback(request.client.host if request.client else None):
        return
    token = state.admin_token.get_secret_value() if state.admin_token else ""
    if token and hmac.compare_digest(_bearer(request).encode(), token.encode()):
        return
    raise HTTPException(
        status.HTTP_403_FORBIDDEN,
        "operator endpoint: call from loopback or send Authorization: Bearer <admin token>",
    )
