"""AICN's AI project endpoints: register and unregister here, list what the mesh runs.

A registration becomes services of this node's signed record at once (and is saved in
the data directory); the lists are read from the node table, so they show what every
node registered, not only what reached one collecting node as in AICN.

The lists answer both generations: the seed's POST forms, and AICN v0.1.8+'s GET forms
with query parameters (``ai/projects/peers`` answers objects there, as AICN does).
"""

import time
from collections.abc import Callable

from fastapi import APIRouter, Request, Response

from computemesh.errors import ConfigError
from computemesh.ids import PeerId
from computemesh.node.api.aicn.deps import is_self
from computemesh.node.api.aicn.envelope import AicnError, AicnRoute, ok
from computemesh.node.api.aicn.query import documented, get_params
from computemesh.node.api.deps import State
from computemesh.node.api.state import NodeState
from computemesh.protocol.aicn import (
    Code,
    ListQuery,
    NodeRequest,
    ProjectModelQuery,
    ProjectModelRequest,
    ProjectModels,
    ProjectPeer,
    ProjectQuery,
    ProjectRegistration,
    ProjectRequest,
)
from computemesh.registry import view
from computemesh.registry.projects import Offer, ProjectModel, check_local_api, offers
from computemesh.registry.view import PeerRow

router = APIRouter(prefix="/api/v0", tags=["AICN"], route_class=AicnRoute)
LIST_DEFAULT = 100  # AICN's defaults and cap for the GET forms' ``number``
PEERS_DEFAULT, PEERS_MAX = 20, 100


def _offers(state: NodeState, *, online_only: bool = True) -> list[Offer]:
    found = offers(view.rows(state.sync, time.time(), state.online_window))
    return [offer for offer in found if offer.online or not online_only]


@router.post("/ai/project/register")
async def register(body: ProjectRegistration, state: State) -> Response:
    """Offer a project's models from this node (each ``api`` must be on this machine)."""
    models = [ProjectModel(body.project, m.model, m.api, int(m.type)) for m in body.models]
    try:
        for model in models:
            check_local_api(model.api)
    except ConfigError as error:
        raise AicnError(Code.PARAMETER, str(error)) from error
    _save(lambda: state.projects.register(state.sync.own, models))
    state.sync.publish_now()
    return ok()


@router.post("/ai/project/unregister")
async def unregister(body: ProjectRequest, state: State) -> Response:
    """Withdraw every model of a project from this node."""
    if not any(m.project == body.project for m in state.projects.models.values()):
        raise AicnError(Code.PARAMETER, f"this node has no project {body.project!r}")
    _save(lambda: state.projects.unregister(state.sync.own, body.project))
    state.sync.publish_now()
    return ok()


def _save(change: Callable[[], object]) -> None:
    try:
        change()
    except OSError as error:
        raise AicnError(Code.DATABASE, f"cannot save the registrations: {error}") from error


@router.post("/ai/project/peer")
async def project_peer(body: NodeRequest, state: State) -> Response:
    """What projects and models a node registered, from its signed record."""
    row = view.peer_row(state.sync, PeerId(body.node_id), time.time(), state.online_window)
    if row is None and not is_self(state, body.node_id):
        raise AicnError(Code.ROUTING, f"unknown node {body.node_id}: not in this node's table", 404)
    states: dict[str, dict[str, str]] = {}
    for offer in _offers(state, online_only=False):
        if offer.peer == body.node_id:
            states.setdefault(offer.project, {})[offer.model] = offer.status
    return ok(
        [
            ProjectModels(project=p, models=sorted(s), status=dict(sorted(s.items()))).model_dump()
            for p, s in sorted(states.items())
        ]
    )


@router.post("/ai/projects/list")
async def projects_list(state: State) -> Response:
    """Projects that at least one online node runs."""
    return ok(_projects(state))


@router.get("/ai/projects/list", openapi_extra=documented("number"))
async def projects_list_newer(request: Request, state: State) -> Response:
    """AICN v0.1.8+: the same list, ``?number=`` at most (default 100)."""
    query = await get_params(request, ListQuery)
    return ok(_projects(state)[: query.number or LIST_DEFAULT])


def _projects(state: NodeState) -> list[str]:
    return sorted({offer.project for offer in _offers(state)})


@router.post("/ai/projects/models")
async def projects_models(body: ProjectRequest, state: State) -> Response:
    """Models of a project that at least one online node runs."""
    return ok(_models(state, body.project))


@router.get("/ai/projects/models", openapi_extra=documented("project", "number"))
async def projects_models_newer(request: Request, state: State) -> Response:
    """AICN v0.1.8+: ``?project=…&number=…`` (default 100)."""
    query = await get_params(request, ProjectQuery)
    return ok(_models(state, query.project)[: query.number or LIST_DEFAULT])


def _models(state: NodeState, project: str) -> list[str]:
    return sorted({o.model for o in _offers(state) if o.project == project})


@router.post("/ai/projects/peers")
async def projects_peers(body: ProjectModelRequest, state: State) -> Response:
    """Online nodes running a project's model (the seed's list of node ids)."""
    found = _offers(state)
    return ok(sorted({o.peer for o in found if (o.project, o.model) == (body.project, body.model)}))


@router.get("/ai/projects/peers", openapi_extra=documented("project", "model", "number"))
async def projects_peers_newer(request: Request, state: State) -> Response:
    """AICN v0.1.3+'s objects for ``?project=…&model=…&number=…`` (default 20, at most 100).

    Every online node that registered the model is listed, its model's state beside it,
    those whose model answers first: a registration whose API went down shows as
    ``unhealthy`` instead of vanishing.
    """
    query = await get_params(request, ProjectModelQuery)
    table = view.rows(state.sync, time.time(), state.online_window)
    rows = {row.claims.peer_id: row for row in table if row.online}
    wanted = (query.project, query.model)
    found = [o for o in offers(table) if (o.project, o.model) == wanted and o.peer in rows]
    found.sort(key=lambda o: (not o.online, o.peer))
    limit = min(query.number or PEERS_DEFAULT, PEERS_MAX)
    return ok([_project_peer(state, rows[o.peer], o).model_dump() for o in found[:limit]])


def _project_peer(state: NodeState, row: PeerRow, offer: Offer) -> ProjectPeer:
    latency_ms = row.observation.latency_ms
    connected = row.is_self or state.sync.host.is_connected(offer.peer)
    return ProjectPeer(
        node_id=offer.peer,
        connectivity=1 if connected else 0,
        latency=round(latency_ms * 1000) if latency_ms else 0,
        Idle=row.claims.load,
        status=offer.status,
    )
