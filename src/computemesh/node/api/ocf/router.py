"""OCF node-table endpoints: /v1/health and /v1/dnt/*."""

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, HTTPException

from computemesh.node.api.deps import State
from computemesh.node.api.ocf import explain
from computemesh.node.api.ocf.adapter import addr_info, peer_json
from computemesh.node.api.ocf.models import NodeUpdate, OcfPeer
from computemesh.node.api.operator import require_operator
from computemesh.registry.service_urls import BadServiceAddress, ServiceAddress
from computemesh.registry.sync import TOPIC

# Read-only routes are peer-safe (served over /libp2p-http too); operator ones are not.
router = APIRouter(prefix="/v1")
operator_router = APIRouter(prefix="/v1")
router.include_router(explain.router)


@router.get("/health")
async def health() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/dnt/table", response_model=dict[str, OcfPeer])
async def table(state: State, all: bool = False) -> dict[str, OcfPeer]:
    """Online nodes keyed ``/<peer id>`` (``?all=true`` adds nodes not seen recently)."""
    rows = state.rows()
    return {f"/{row.claims.peer_id}": peer_json(row) for row in rows if all or row.online}


@router.get("/dnt/peers")
async def peers(state: State) -> dict[str, list[dict[str, Any]]]:
    """Peers with a live libp2p connection, as go-libp2p AddrInfo JSON."""
    host = state.host
    return {"peers": [addr_info(p, host.peer_addrs(p)) for p in host.connected_peers()]}


@router.get("/dnt/peers_status")
async def peers_status(state: State) -> dict[str, list[dict[str, Any]]]:
    """Every peer this node knows of (peerstore and table), with its connectedness."""
    host = state.host
    rows = {row.claims.peer_id: row for row in state.rows()}
    known = sorted(set(host.known_peers()) | set(rows) - {host.peer_id})
    result = []
    for peer in known:
        seen = state.observation(peer)
        row = rows.get(peer)
        result.append(
            {
                "id": peer,
                "connectedness": "Connected" if host.is_connected(peer) else "NotConnected",
                "connection": host.connection_kind(peer),  # "direct", "relayed" or None
                "online": bool(row and row.online),
                "last_seen": int(seen.last_seen),
                "disconnected_at": seen.disconnected_at,
                "latency_ms": seen.latency_ms,
            }
        )
    return {"peers": result}


@router.get("/dnt/bootstraps")
async def bootstraps(state: State) -> dict[str, list[str]]:
    return {"bootstraps": state.bootstraps()}


@router.get("/dnt/stats")
async def stats(state: State) -> dict[str, Any]:
    rows = state.rows()
    host = state.host
    return {
        "reachability": host.reachability(),  # public, private (behind NAT) or unknown
        "relay_reservations_held": len(host.autorelay.relays()),
        "relay_reservations_served": host.relay.reservations() if host.relay else 0,
        "relay_circuits_open": host.relay.open_circuits() if host.relay else 0,
        "connected_peers": len(host.connected_peers()),
        "total_peers_known": len(host.known_peers()),
        # pubsub's own view: streams our publishes go out on, and peers whose table
        # subscription we heard (gossip forwarding builds its mesh from the latter)
        "pubsub_peers": len(state.host.pubsub_peers()),
        "table_subscribers": len(state.host.topic_peers(TOPIC)),
        "table_entries": len(rows),
        "online_nodes": sum(row.online for row in rows),
        **{key.replace(" ", "_"): count for key, count in sorted(state.table_counts().items())},
        **{f"dial_{name}": count for name, count in state.host.dial_counts().items()},
        "rejected_records": state.rejected_records(),
        "libp2p_patches": state.host.patches(),
    }


@operator_router.post(
    "/dnt/_node", dependencies=[Depends(require_operator)], response_model=OcfPeer
)
async def post_node(state: State, update: NodeUpdate) -> OcfPeer:
    """Add or replace services (by name), or set owner and role, of this node's own entry."""
    fields = update.model_dump(exclude_unset=True)
    await _refuse_self_pointing(state, update)
    if "service" in fields:  # a service sent without host (OCF's own example) gets the default
        fields["service"] = [service.model_dump() for service in update.service]
    state.update_own_entry(fields)
    return _own_row(state)


@operator_router.delete("/dnt/_node", dependencies=[Depends(require_operator)])
async def delete_node(state: State, _body: Annotated[Any, Body()] = None) -> dict[str, str]:
    """Remove this node's entry from the mesh (a signed tombstone); POST adds it back."""
    state.withdraw_own_entry()
    return {"status": "removed", "id": state.peer_id}


async def _refuse_self_pointing(state: State, update: NodeUpdate) -> None:
    """A service on this node's own ports would let peers reach the node itself: 400."""
    own = state.own_endpoints()
    for service in update.service:
        assert isinstance(service.port, int)  # the model's validator made it one
        try:
            await own.check_not_self_resolved(ServiceAddress("http", service.host, service.port))
        except BadServiceAddress as error:
            raise HTTPException(400, f"service {service.name}: {error}") from None


def _own_row(state: State) -> OcfPeer:
    row = state.row(state.peer_id)
    assert row is not None  # our own record is always in the table after an update
    return peer_json(row)
