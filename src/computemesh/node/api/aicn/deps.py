"""What AICN handlers share: this node's URL and the relay rule."""

from fastapi import Request

from computemesh.ids import PeerId
from computemesh.node.api.aicn.envelope import AicnError
from computemesh.node.api.operator import VIA_MESH
from computemesh.node.api.state import NodeState
from computemesh.protocol.aicn import Code

WILDCARD_HOSTS = ("0.0.0.0", "::", "")


def is_self(state: NodeState, node_id: str) -> bool:
    return node_id == state.peer_id


def target_node(state: NodeState, request: Request, node_id: str) -> PeerId | None:
    """None when ``node_id`` is this node; else the peer to forward to.

    A request that came over the mesh is only ever served here: a peer cannot use
    this node as a relay, so no request bounces around the mesh.
    """
    if is_self(state, node_id):
        return None
    if request.scope.get(VIA_MESH):
        raise AicnError(
            Code.ROUTING, f"this node is not {node_id}; peers cannot relay through it", 404
        )
    peer = PeerId(node_id)
    if not state.directory.knows(peer):
        raise AicnError(Code.ROUTING, f"unknown node {node_id}: not in this node's table", 404)
    return peer


def own_url(state: NodeState) -> str:
    """Where this node's HTTP API (and so its ``/ipfs/<cid>``) can be reached."""
    settings = state.settings
    host = settings.http_host
    if host in WILDCARD_HOSTS:
        host = settings.public_addr or "127.0.0.1"
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{settings.http_port}"
