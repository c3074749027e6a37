"""AICN's query and node-control endpoints: ``/id``, ``/peers``, ``/peer``, ``/host/info``,
``/swarm/*``, ``/pubsub/peers``.

A remote node's PeerInfo and machine information are asked of that node itself over
``/libp2p-http`` (its peer-safe ``/api/v0/id`` and ``/api/v0/host/info``).
"""

from typing import Any

import anyio
from fastapi import APIRouter, Depends, Request, Response

from computemesh import __version__
from computemesh.errors import DialError, InvalidAddress
from computemesh.hardware.host_info import host_info
from computemesh.ids import PeerId
from computemesh.node.api.aicn.deps import target_node
from computemesh.node.api.aicn.envelope import AicnError, AicnRoute, ok
from computemesh.node.api.aicn.relay import call_peer, deadline, relay
from computemesh.node.api.deps import State
from computemesh.node.api.operator import require_operator
from computemesh.node.api.state import NodeState
from computemesh.protocol.aicn import (
    Code,
    HostInfo,
    NodeAddressRequest,
    NodeRequest,
    PeerInfo,
    SwarmAddrs,
    SwarmPeer,
)
from computemesh.registry.sync import TOPIC

PROTOCOL_VERSION = "aicn/0.0.1"
peer_router = APIRouter(prefix="/api/v0", tags=["AICN"], route_class=AicnRoute)
router = APIRouter(prefix="/api/v0", tags=["AICN"], route_class=AicnRoute)
OPERATOR = [Depends(require_operator)]


def own_peer_info(state: NodeState) -> PeerInfo:
    host = state.host
    return PeerInfo(
        peer_id=host.peer_id,
        protocol_version=PROTOCOL_VERSION,
        agent_version=f"computemesh/{__version__}",
        addresses=host.advertised_addrs(),  # relayed ones while behind NAT, as go-libp2p
        protocols=host.protocols(),
    )


@peer_router.get("/id", response_model=PeerInfo)
async def peer_id(state: State) -> PeerInfo:
    """This node's PeerInfo (the AICN API answers it bare, without the envelope)."""
    return own_peer_info(state)


@router.get("/peers")
async def peers(state: State) -> Response:
    """Online nodes of the mesh, this one included."""
    rows = state.rows()
    return ok([row.claims.peer_id for row in rows if row.online])


@router.post("/peer")
async def peer(body: NodeRequest, request: Request, state: State) -> Response:
    """Any node's PeerInfo, asked of that node."""
    target = target_node(state, request, body.node_id)
    if target is None:
        info = own_peer_info(state)
        return ok(info, top=info)
    until = deadline(state)
    forwarded = await call_peer(state, target, "/api/v0/id", None, until)
    try:
        answer = await forwarded.read_all()
    finally:
        await forwarded.aclose()
    if forwarded.status != 200:
        raise AicnError(Code.ROUTING, f"node {target} did not answer its PeerInfo")
    info = PeerInfo.model_validate_json(answer)
    return ok(info, top=info)


@peer_router.post("/host/info")
async def host(body: NodeRequest, request: Request, state: State) -> Response:
    """Any node's machine information, asked of that node."""
    target = target_node(state, request, body.node_id)
    if target is not None:
        until = deadline(state)
        return await relay(
            await call_peer(
                state, target, "/api/v0/host/info", body.model_dump_json().encode(), until
            ),
            until,
        )
    info = await _own_host_info(state)
    return ok(info, top=info)


async def _own_host_info(state: NodeState) -> HostInfo:
    serials = state.settings.host_info_disk_serials
    try:
        return await anyio.to_thread.run_sync(lambda: host_info(disk_serials=serials))
    except (OSError, ValueError) as error:
        raise AicnError(
            Code.HOST_INFO, f"cannot read this machine's information: {error}"
        ) from error


@router.post("/swarm/peers", response_model=list[SwarmPeer])
@router.get("/swarm/peers", response_model=list[SwarmPeer])
async def swarm_peers(state: State) -> list[SwarmPeer]:
    """Open connections (bare list, as in the AICN API; GET since AICN v0.1.8); a relayed
    one's ``addr`` is its circuit, as go-libp2p shows it, and ``connection`` says which."""
    return [
        SwarmPeer(
            id=f"{peer[:10]}-{index}",
            peer=peer,
            addr=addr,
            latency=_go_duration(state.observation(peer).latency_ms),
            direction=direction,
            connection="relayed" if relayed else "direct",
        )
        for index, (peer, addr, direction, relayed) in enumerate(state.host.connections(), 1)
    ]


def _go_duration(milliseconds: float | None) -> str:
    """Go's ``time.Duration`` text, as AICN prints latencies (``"208.878448ms"``, ``"0s"``)."""
    if not milliseconds:
        return "0s"
    return f"{milliseconds:.6f}".rstrip("0").rstrip(".") + "ms"


@router.post("/swarm/addrs", response_model=list[SwarmAddrs])
@router.get("/swarm/addrs", response_model=list[SwarmAddrs])
async def swarm_addrs(state: State) -> list[SwarmAddrs]:
    """Known addresses of this node and of every peer it knows (bare list; GET too)."""
    host = state.host
    known = [SwarmAddrs(peer=host.peer_id, addrs=host.advertised_addrs())]
    return known + [SwarmAddrs(peer=p, addrs=host.peer_addrs(p)) for p in host.known_peers()]


@router.post("/swarm/connect", dependencies=OPERATOR)
async def swarm_connect(body: NodeAddressRequest, state: State) -> Response:
    """Dial a node (operator only: loopback or the admin token)."""
    try:
        await state.host.dial(body.node_addr)
    except InvalidAddress as error:
        raise AicnError(Code.PARAMETER, str(error)) from error
    except DialError as error:
        raise AicnError(Code.ROUTING, str(error)) from error
    return ok()


@router.post("/swarm/disconnect", dependencies=OPERATOR)
async def swarm_disconnect(body: NodeAddressRequest, state: State) -> Response:
    """Close every connection to a node (operator only)."""
    peer = _peer_of(body.node_addr)
    if not state.host.is_connected(peer):
        raise AicnError(Code.ROUTING, f"not connected to {peer}")
    await state.host.disconnect(peer)
    return ok()


def _peer_of(node_addr: str) -> PeerId:
    parts = node_addr.rstrip("/").split("/")
    if len(parts) < 3 or parts[-2] != "p2p" or not parts[-1]:
        raise AicnError(Code.PARAMETER, f"node_addr must end in /p2p/<node id>, got {node_addr!r}")
    return PeerId(parts[-1])


@router.post("/pubsub/peers", response_model=list[str])
@router.get("/pubsub/peers", response_model=list[str])
async def pubsub_peers(state: State) -> list[Any]:
    """Peers subscribed to the node-table topic, as far as this node knows (bare list)."""
    return list(state.host.topic_peers(TOPIC))
