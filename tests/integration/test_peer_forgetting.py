"""A node forgets transient peers once they are gone, and keeps its table members."""

import anyio

from computemesh.cli.localmesh import LocalNode
from computemesh.ids import PeerId
from computemesh.p2p.host import open_mesh_host
from computemesh.p2p.identity import generate
from tests.integration.conftest import StartNode

SETTLE_S = 30.0


def known(node: LocalNode) -> set[str]:
    return {peer["id"] for peer in node.get("/v1/dnt/peers_status")["peers"]}


async def test_transient_peers_are_forgotten_table_members_are_kept(start_node: StartNode) -> None:
    forgetful = {"COMPUTEMESH_PEER_FORGET_AFTER": "1"}
    node = start_node("--public-addr", "127.0.0.1", env=forgetful)
    member = start_node("--bootstrap", node.bootstrap_addr())

    transients: set[PeerId] = set()
    for _ in range(10):
        async with open_mesh_host(generate("ed25519"), ["/ip4/127.0.0.1/tcp/0"]) as host:
            await host.dial(node.bootstrap_addr())
            transients.add(host.peer_id)
    assert transients & await anyio.to_thread.run_sync(known, node)

    with anyio.move_on_after(SETTLE_S):
        # The node prunes every few seconds, after a grace of one second here.
        while transients & await anyio.to_thread.run_sync(known, node):  # noqa: ASYNC110
            await anyio.sleep(0.5)
    remaining = await anyio.to_thread.run_sync(known, node)
    # Unpruned, all ten stay in the peerstore (and in peers_status) for good.
    assert not transients & remaining
    assert member.peer_id in remaining

    stats = await anyio.to_thread.run_sync(member.get, "/v1/dnt/stats")
    assert stats["dial_attempts"] >= 1
    assert stats["dial_refused"] == 0
