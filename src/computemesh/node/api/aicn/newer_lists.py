"""AICN v0.1.8+'s GET forms of the project lists, beside the AICN API's POST forms.

``ai/projects/list`` and ``ai/projects/models`` answer the lists POST answers, capped at
``number``. ``ai/projects/peers`` is the one name the two generations give two shapes:
POST keeps the AICN API's node ids, GET answers AICN v0.1.3+'s objects, with each model's
state, so a registration whose model API went down shows as ``unhealthy`` instead of
vanishing. The parameters come from the query string (or a JSON body, as v0.1.8 sent).
"""

from fastapi import APIRouter, Request, Response

from computemesh.node.api.aicn.envelope import AicnRoute, ok
from computemesh.node.api.aicn.query import documented, get_params
from computemesh.node.api.deps import State
from computemesh.node.api.state import NodeState
from computemesh.protocol.aicn import ListQuery, ProjectModelQuery, ProjectPeer, ProjectQuery
from computemesh.registry.projects import Offer, offers
from computemesh.registry.view import PeerRow

router = APIRouter(prefix="/api/v0", tags=["AICN"], route_class=AicnRoute)
LIST_DEFAULT = 100  # AICN's defaults and cap for ``number``
PEERS_DEFAULT, PEERS_MAX = 20, 100


def _running(state: NodeState) -> list[Offer]:
    """Models that an online node offers and that answer (what the POST lists show)."""
    return [o for o in offers(state.rows()) if o.online]


@router.get("/ai/projects/list", openapi_extra=documented("number"))
async def projects_list(request: Request, state: State) -> Response:
    """Projects that at least one online node runs, ``number`` at most (default 100)."""
    query = await get_params(request, ListQuery)
    found = sorted({offer.project for offer in _running(state)})
    return ok(found[: query.number or LIST_DEFAULT])


@router.get("/ai/projects/models", openapi_extra=documented("project", "number"))
async def projects_models(request: Request, state: State) -> Response:
    """Models of ``project`` that at least one online node runs (default 100)."""
    query = await get_params(request, ProjectQuery)
    found = sorted({o.model for o in _running(state) if o.project == query.project})
    return ok(found[: query.number or LIST_DEFAULT])


@router.get("/ai/projects/peers", openapi_extra=documented("project", "model", "number"))
async def projects_peers(request: Request, state: State) -> Response:
    """Every online node that registered the model (default 20, at most 100), those
    whose model answers first."""
    query = await get_params(request, ProjectModelQuery)
    table = state.rows()
    rows = {row.claims.peer_id: row for row in table if row.online}
    wanted = (query.project, query.model)
    found = [o for o in offers(table) if (o.project, o.model) == wanted and o.peer in rows]
    found.sort(key=lambda o: (not o.online, o.peer))
    limit = min(query.number or PEERS_DEFAULT, PEERS_MAX)
    return ok([_project_peer(state, rows[o.peer], o).model_dump() for o in found[:limit]])


def _project_peer(state: NodeState, row: PeerRow, offer: Offer) -> ProjectPeer:
    latency_ms = row.observation.latency_ms
    connected = row.is_self or state.host.is_connected(offer.peer)
    return ProjectPeer(
        node_id=offer.peer,
        connectivity=1 if connected else 0,
        latency=round(latency_ms * 1000) if latency_ms else 0,
        Idle=row.claims.load,
        status=offer.status,
    )
