"""LocalAI's P2P API, read from the node table.

Workers are the nodes that offer compute services (LocalAI v4's llama.cpp workers as
well; none is an MLX worker); federated nodes are all the mesh members, since every
node accepts and routes requests. A node is online when seen
within 40 s (LocalAI's rule) and not seen to drop since. A standalone node has no
P2P layer: 500 with a clear message, as LocalAI answers without ``--p2p``.
"""

import time
from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.responses import PlainTextResponse

from computemesh.node.api.deps import node_state
from computemesh.node.api.localai.adapter import is_worker, node_data, node_status
from computemesh.node.api.localai.errors import PREFIX, LocalAiRoute, P2PUnavailable
from computemesh.node.api.operator import require_operator
from computemesh.node.api.state import NodeState
from computemesh.protocol.localai import (
    Count,
    NodeList,
    P2PNodes,
    P2PStats,
    WorkerGroup,
    WorkerList,
)
from computemesh.registry.view import PeerRow

ONLINE_WINDOW_S = 40.0
router = APIRouter(prefix=PREFIX, tags=["LocalAI P2P"], route_class=LocalAiRoute)


async def _state(state: Annotated[NodeState, Depends(node_state)]) -> NodeState:
    if state.settings.standalone:
        raise P2PUnavailable("P2P is not running: this node was started --standalone")
    return state


State = Annotated[NodeState, Depends(_state)]


def _rows(state: NodeState) -> tuple[list[PeerRow], list[PeerRow], float]:
    """(workers, federated nodes, now)."""
    now = time.time()
    rows = state.rows(now, ONLINE_WINDOW_S)
    return [row for row in rows if is_worker(row)], rows, now


@router.get("", response_model=P2PNodes)
async def nodes(state: State) -> P2PNodes:
    """Every worker and federated node."""
    workers, federated, now = _rows(state)
    found = [node_data(row, now, False) for row in workers]
    return P2PNodes(
        nodes=found,
        federated_nodes=[node_data(row, now, True) for row in federated],
        llama_cpp_nodes=found,
    )


@router.get("/token", response_class=PlainTextResponse, dependencies=[Depends(require_operator)])
async def token(state: State) -> PlainTextResponse:
    """The network's join token, as plain text (operator only: it admits new nodes)."""
    if state.settings.token is None:
        raise P2PUnavailable("this mesh is open: the node was started without a join token")
    return PlainTextResponse(state.settings.token.get_secret_value())


@router.get("/workers", response_model=WorkerList)
async def workers(state: State) -> WorkerList:
    """Worker nodes with their online flag."""
    found, _, now = _rows(state)
    listed = [node_status(row, now, False) for row in found]
    return WorkerList(nodes=listed, llama_cpp=WorkerGroup(nodes=listed))


@router.get("/federation", response_model=NodeList)
async def federation(state: State) -> NodeList:
    """Federated nodes with their online flag."""
    _, found, now = _rows(state)
    return NodeList(nodes=[node_status(row, now, True) for row in found])


@router.get("/stats", response_model=P2PStats)
async def stats(state: State) -> P2PStats:
    """How many workers and federated nodes are online, of how many."""
    workers, federated, _ = _rows(state)
    counted = Count(online=sum(r.online for r in workers), total=len(workers))
    return P2PStats(
        workers=counted,
        federated=Count(online=sum(r.online for r in federated), total=len(federated)),
        llama_cpp_workers=counted,
    )
