"""``GET /metrics``: Prometheus text, for the operator only (admin token off loopback)."""

from fastapi import APIRouter, Depends, HTTPException
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.responses import Response

from computemesh.node.api.deps import State
from computemesh.node.api.operator import require_operator

router = APIRouter()


@router.get("/metrics", dependencies=[Depends(require_operator)], response_class=Response)
async def metrics(state: State) -> Response:
    """Every metric of this node (docs/metrics.md lists them)."""
    watched = state.metrics
    if not watched.enabled:
        raise HTTPException(404, "metrics are off on this node (setting metrics = false)")
    for refresh in watched.before_scrape:
        await refresh()
    return Response(generate_latest(watched.registry), media_type=CONTENT_TYPE_LATEST)
