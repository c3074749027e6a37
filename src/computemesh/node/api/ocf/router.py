"""OCF node-table endpoints (seed 000): /v1/health and /v1/dnt/*."""

import time
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, HTTPException

from computemesh.node.api.deps import State
from computemesh.node.api.ocf.adapter import peer_json
from computemesh.node.api.ocf.models import NodeUpdate, OcfPeer
from computemesh.node.api.operator import require_operator
from computemesh.registry import view
from computemesh.registry.node_entry import update_own, withdraw_own
from computemesh.registry.service_urls import BadServiceAddress, ServiceAddress
from computemesh.registry.sync import TOPIC

# Read-only routes are peer-safe (served over /libp2p-http too); operator ones are not.
router = APIRouter(prefix="/v1")
operator_router = APIRouter(prefix="/v1")


@router.get("/health")
async def health() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/dnt/table", response_model=dict[str, OcfPeer])
async def table(state: State, all: bool = False) -> dict[str, OcfPeer]:
    """Online nodes keyed ``/<peer id>`` (``?all=true`` adds nodes not seen recently)."""
    rows = view.rows(state.sync, time.time(), state.online_window)
    return {f"/{row.claims.peer_id}": peer_json(row) for row in rows if all or row.online}


@router.get("/dnt/peers")
async def peers(state: State) -> dict[str, list[dict[str, Any]]]:
    """Peers with a live libp2p connection, as go-libp2p AddrInfo JSON."""
    host = state.sync.host
    return {"peers": [{"ID": p, "Addrs": host.peer_addrs(p)} for p in host.connected_peers()]}


@router.get("/dnt/peers_status")
async def peers_status(state: State) -> dict[str, list[dict[str, Any]]]:
    """Every peer this node knows of (peerstore and table), with its connectedness."""
    host, now = state.sync.host, time.time()
    rows = {row.claims.peer_id: row for row in view.rows(state.sync, now, state.online_window)}
    known = sorted(set(host.known_peers()) | set(rows) - {host.peer_id})
    result = []
    for peer in known:
        seen = state.sync.observations.get(peer)
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
    return {"bootstraps": view.bootstraps(state.sync, time.time(), state.online_window)}


@router.get("/dnt/stats")
async def stats(state: State) -> dict[str, int | str]:
    rows = view.rows(state.sync, time.time(), state.online_window)
    host = state.sync.host
    return {
        "reachability": host.reachability(),  # public, private (behind NAT) or unknown
        "relay_reservations_held": len(host.autorelay.relays()),
        "relay_reservations_served": host.relay.reservations() if host.relay else 0,
        "relay_circuits_open": host.relay.open_circuits() if host.relay else 0,
        "connected_peers": len(state.sync.host.connected_peers()),
        "total_peers_known": len(state.sync.host.known_peers()),
        # pubsub's own view: streams our publishes go out on, and peers whose table
        # subscription we heard (gossip forwarding builds its mesh from the latter)
        "pubsub_peers": len(state.sync.host.pubsub_peers()),
        "table_subscribers": len(state.sync.host.topic_peers(TOPIC)),
        "table_entries": len(rows),
        "online_nodes": sum(row.online for row in rows),
        **{key.replace(" ", "_"): count for key, count in sorted(state.sync.counts.items())},
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
    update_own(state.sync, fields)
    return _own_row(state)


@operator_router.delete("/dnt/_node", dependencies=[Depends(require_operator)])
async def delete_node(state: State, _body: Annotated[Any, Body()] = None) -> dict[str, str]:
    """Remove this node's entry from the mesh (a signed tombstone); POST adds it back."""
    withdraw_own(state.sync)
    return {"status": "removed", "id": state.sync.host.peer_id}


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
    row = view.peer_row(state.sync, state.sync.host.peer_id, time.time(), state.online_window)
    assert row is not None  # our own record is always in the table after an update
    return peer_json(row)
