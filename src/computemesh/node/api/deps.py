"""FastAPI dependencies shared by every surface of the node."""

from typing import Annotated

from fastapi import Depends, Request

from computemesh.node.api.state import NodeState


async def node_state(request: Request) -> NodeState:
    """The running node's state, set on the app by its composition root."""
    state: NodeState = request.app.state.node
    return state


State = Annotated[NodeState, Depends(node_state)]
