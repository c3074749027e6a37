"""AICN's AI project endpoints: register and unregister here, list what the mesh runs.

A registration becomes services of this node's signed record at once (and is saved in
the data directory); the lists are read from the node table, so they show what every
node registered, not only what reached one collecting node as in AICN.

Register and unregister are operator actions (a registration publishes a port of this
machine to every peer), gated as ``/v1/dnt/_node`` is; a refusal is AICN's permission
error, 1009, with HTTP 403.
"""

from collections.abc import Callable

from fastapi import APIRouter, Depends, Response

from computemesh.errors import ConfigError
from computemesh.ids import PeerId
from computemesh.node.api.aicn.deps import is_self
from computemesh.node.api.aicn.envelope import AicnError, AicnRoute, ok
from computemesh.node.api.deps import State
from computemesh.node.api.operator import require_operator
from computemesh.node.api.state import NodeState
from computemesh.protocol.aicn import (
    Code,
    NodeRequest,
    ProjectModelRequest,
    ProjectModels,
    ProjectRegistration,
    ProjectRequest,
)
from computemesh.registry.projects import Offer, ProjectModel, check_local_api, offers

router = APIRouter(prefix="/api/v0", tags=["AICN"], route_class=AicnRoute)
OPERATOR = [Depends(require_operator)]


def _offers(state: NodeState, *, online_only: bool = True) -> list[Offer]:
    found = offers(state.rows())
    return [offer for offer in found if offer.online or not online_only]


@router.post("/ai/project/register", dependencies=OPERATOR)
async def register(body: ProjectRegistration, state: State) -> Response:
    """Offer a project's models from this node (each ``api`` on this machine, not on the
    node's own ports)."""
    models = [ProjectModel(body.project, m.model, m.api, int(m.type)) for m in body.models]
    own = state.own_endpoints()
    for model in models:
        try:
            check_local_api(model.api, own)
        except ConfigError as error:
            raise AicnError(Code.PARAMETER, f"model {model.model!r}: {error}") from error
    _save(lambda: state.register_models(models))
    return ok()


@router.post("/ai/project/unregister", dependencies=OPERATOR)
async def unregister(body: ProjectRequest, state: State) -> Response:
    """Withdraw every model of a project from this node."""
    if not state.projects.has_project(body.project):
        raise AicnError(Code.PARAMETER, f"this node has no project {body.project!r}")
    _save(lambda: state.unregister_project(body.project))
    return ok()


def _save(change: Callable[[], object]) -> None:
    try:
        change()
    except OSError as error:
        raise AicnError(Code.DATABASE, f"cannot save the registrations: {error}") from error


@router.post("/ai/project/peer")
async def project_peer(body: NodeRequest, state: State) -> Response:
    """What projects and models a node registered, from its signed record."""
    row = state.row(PeerId(body.node_id))
    if row is None and not is_self(state, body.node_id):
        raise AicnError(Code.ROUTING, f"unknown node {body.node_id}: not in this node's table", 404)
    states: dict[str, dict[str, str]] = {}  # project → model → its state
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
    return ok(sorted({offer.project for offer in _offers(state)}))


@router.post("/ai/projects/models")
async def projects_models(body: ProjectRequest, state: State) -> Response:
    """Models of a project that at least one online node runs."""
    return ok(sorted({o.model for o in _offers(state) if o.project == body.project}))


@router.post("/ai/projects/peers")
async def projects_peers(body: ProjectModelRequest, state: State) -> Response:
    """Online nodes running a project's model."""
    found = _offers(state)
    return ok(sorted({o.peer for o in found if (o.project, o.model) == (body.project, body.model)}))
