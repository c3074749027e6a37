"""``GET /metrics``: the gateway's Prometheus text, for its operator.

From loopback (and no proxy header naming another client, and no page of another
origin) it is open; from anywhere else it needs ``Authorization: Bearer <admin_token>``,
and with no admin token set it is refused, as a node's operator endpoints are.
"""

import hmac
import ipaddress

from fastapi import APIRouter, HTTPException, Request
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.responses import Response

from computemesh.gateway.api.deps import StateDep, bearer_or_none
from computemesh.gateway.api.state import GatewayState

router = APIRouter(tags=["operator"])
PROXY_HEADERS = ("x-forwarded-for", "forwarded", "x-real-ip")
ASK = "send Authorization: Bearer <admin token> (setting admin_token), or call from loopback"


@router.get("/metrics", response_class=Response)
async def metrics(request: Request, state: StateDep) -> Response:
    """Every metric of this gateway (docs/metrics.md lists them)."""
    watched = state.metrics
    if not watched.enabled:
        raise HTTPException(404, "metrics are off on this gateway (setting metrics = false)")
    refusal = _refusal(request, state)
    if refusal is not None:
        raise HTTPException(403, refusal)
    return Response(generate_latest(watched.registry), media_type=CONTENT_TYPE_LATEST)


def _refusal(request: Request, state: GatewayState) -> str | None:
    token = state.settings.admin_token
    sent = bearer_or_none(request) or ""
    if token is not None and hmac.compare_digest(sent.encode(), token.get_secret_value().encode()):
        return None
    headers = request.headers
    if not _is_loopback(request.client.host if request.client else None):
        return f"/metrics from another machine: {ASK}"
    if any(name in headers for name in PROXY_HEADERS):
        return f"/metrics through a proxy is not trusted as loopback: {ASK}"
    if "origin" in headers or headers.get("sec-fetch-site", "same-origin") == "cross-site":
        return "/metrics: browser requests from another origin are refused"
    return None


def _is_loopback(host: str | None) -> bool:
    try:
        return host is not None and ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
