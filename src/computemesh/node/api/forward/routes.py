"""``/v1/p2p/{peer}/{path}``, ``/v1/_service/{service}/{path}``, ``/v1/service/{service}/{path}``.

``_service`` is peer-safe (the mesh reaches it over ``/libp2p-http``); the other two
are entry points for clients of this node and are not offered to peers, so a
request cannot bounce around the mesh.
"""

import time

from fastapi import APIRouter, Request
from starlette.responses import Response

from computemesh.ids import PeerId
from computemesh.node.api.body_limit import read_whole
from computemesh.node.api.deps import State
from computemesh.node.api.forward.lane import Handler
from computemesh.node.api.forward.responses import respond
from computemesh.node.api.local_target import local_service_url
from computemesh.node.api.state import NodeState
from computemesh.routing.candidates import request_fields
from computemesh.routing.errors import UnknownPeer, UnknownService
from computemesh.routing.forwarder import Outbound, forward
from computemesh.routing.headers import end_to_end
from computemesh.routing.paths import UnsafePath, safe_path

METHODS = ["GET", "POST", "PATCH"]
BUFFERED_BODY_MAX = 1024 * 1024
service_router = APIRouter(prefix="/v1", tags=["forwarding"])
entry_router = APIRouter(prefix="/v1", tags=["forwarding"])


def _tail(request: Request) -> str:
    """The raw path after ``/v1/<route>/<name>``, checked against path tricks."""
    raw: bytes = request.scope.get("raw_path") or request.url.path.encode()
    parts = raw.split(b"/", 4)  # "", "v1", route, name, rest
    return safe_path(b"/" + parts[4] if len(parts) > 4 else b"/")


async def _outbound(request: Request, body: bytes | None = None) -> Outbound:
    if body is None and _small_body(request):
        # A body held in memory can be sent again if a parked stream turns out dead
        # (a replaced libp2p connection); only large or unsized bodies are streamed.
        body = await request.body()
    return Outbound(
        method=request.method,
        path=_tail(request),
        query=request.scope.get("query_string", b""),
        headers=end_to_end(request.headers.items()),
        body=request.stream() if body is None else body,
    )


def _small_body(request: Request) -> bool:
    length = request.headers.get("content-length")
    if length is None:
        return "transfer-encoding" not in request.headers  # no body at all
    return length.isdigit() and int(length) <= BUFFERED_BODY_MAX


def _deadline(state: NodeState) -> float:
    return time.monotonic() + state.timeouts.total


@entry_router.api_route("/p2p/{peer_id}/{path:path}", methods=METHODS)
async def to_peer(peer_id: str, request: Request, state: State) -> Response:
    """Forward to that peer's peer-safe router over ``/libp2p-http``."""
    peer = PeerId(peer_id)
    if peer == state.peer_id:
        raise UnsafePath("that peer id is this node: call the path on it directly")
    if not state.directory.knows(peer):
        raise UnknownPeer(f"unknown peer {peer}: not in this node's table or peer store")
    outbound, deadline = await _outbound(request), _deadline(state)
    url = f"libp2p://{peer}{outbound.target()}"
    forwarded = await forward(state.forwarding, url, outbound, state.timeouts, deadline)
    return await respond(forwarded)


@service_router.api_route("/_service/{service}/{path:path}", methods=METHODS)
async def to_local_service(service: str, request: Request, state: State) -> Response:
    """Forward to a service this node registered (and nothing else)."""
    base = await local_service_url(state, service, request)
    if base is None:
        raise UnknownService(f"this node has no service {service!r}")
    outbound, deadline = await _outbound(request), _deadline(state)
    state.load.started()
    try:
        forwarded = await forward(
            state.forwarding, base + outbound.target(), outbound, state.timeouts, deadline
        )
    except BaseException:
        state.load.finished()
        raise
    forwarded.on_close(state.load.finished)
    return await respond(forwarded)


@entry_router.api_route("/service/{service}/{path:path}", methods=METHODS)
async def to_any_provider(service: str, request: Request, state: State) -> Response:
    """Forward to a good provider of ``service`` in the mesh, failing over before the first byte."""
    body = await read_whole(request, state.settings.max_body_bytes)
    outbound, deadline = await _outbound(request, body), _deadline(state)
    fields = request_fields(body, outbound.query)
    # A client that leaves cancels this handler (the node's server does), dispatch included.
    forwarded = await state.dispatcher.dispatch(service, outbound, fields, deadline)
    return await respond(forwarded)


# Served first by the forwarding lane (``lane.py``); the routers above describe them.
ENTRY_ROUTES: dict[str, Handler] = {
    "p2p": to_peer,
    "_service": to_local_service,
    "service": to_any_provider,
}
PEER_ROUTES: dict[str, Handler] = {"_service": to_local_service}
