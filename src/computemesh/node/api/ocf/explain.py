"""``GET /v1/dnt/explain?model=X[&peer=P]``: why each provider of a model is used or not.

A read-only view beside ``/v1/dnt/table`` (served where the table is, the peer-safe
app included); the answer is built by ``routing.explain``.
"""

import dataclasses
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query

from computemesh.ids import PeerId
from computemesh.node.api.deps import State
from computemesh.p2p.identity import is_valid_peer_id

router = APIRouter()


@router.get("/dnt/explain")
async def explain_model(
    state: State,
    model: Annotated[str, Query(min_length=1, max_length=256, description="a model id")],
    peer: Annotated[str | None, Query(max_length=128, description="only this peer")] = None,
) -> dict[str, Any]:
    """Every node whose record claims ``model``: candidate or not, and why."""
    if peer is not None and not is_valid_peer_id(peer):
        raise HTTPException(400, f"peer {peer!r} is not a libp2p peer id")
    found = state.explain(model, PeerId(peer) if peer is not None else None)
    return dataclasses.asdict(found)
