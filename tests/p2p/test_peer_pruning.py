"""Peers that are gone leave py-libp2p's peerstore (MeshHost.prune_peers).

Real hosts on 127.0.0.1.
"""

import trio
from libp2p.peer.id import ID

from computemesh.ids import PeerId
from computemesh.p2p.host import MeshHost, open_mesh_host
from computemesh.p2p.identity import generate
from tests.support.mesh_hosts import LOCALHOST, address, mesh_host, network

GRACE_S = 1.0
SETTLE_S = 15.0


async def churn(node: MeshHost, count: int) -> list[PeerId]:
    """``count`` transient peers connect to ``node`` and leave again."""
    gone: list[PeerId] = []
    for _ in range(count):
        async with mesh_host() as transient:
            await transient.dial(address(node))
            gone.append(transient.peer_id)
    with trio.fail_after(SETTLE_S):
        # Disconnects are swarm notifications; nothing here to wait on but the state.
        while any(node.is_connected(peer) for peer in gone):  # noqa: ASYNC110
            await trio.sleep(0.02)
    return gone


async def prune_until(node: MeshHost, expected: set[PeerId], keep: set[PeerId]) -> set[PeerId]:
    """Prune (as the table sync does, every few seconds) until ``expected`` are forgotten."""
    forgotten: set[PeerId] = set()
    with trio.move_on_after(SETTLE_S):
        while not expected <= forgotten:
            forgotten.update(node.prune_peers(keep=keep))
            await trio.sleep(0.1)
    return forgotten


async def test_peer_count_stays_bounded_under_churn() -> None:
    async with open_mesh_host(generate("ed25519"), LOCALHOST, forget_after=GRACE_S) as node:
        for _ in range(3):
            transients = set(await churn(node, 8))
            assert transients <= set(node.known_peers())  # identify stored them all
            assert await prune_until(node, transients, keep=set()) == transients
            # Unpruned, the peerstore grows by 8 every round: 8, 16, 24.
            assert node.known_peers() == []


async def test_pruning_spares_connected_kept_and_bootstrap_peers_and_waits_for_the_grace() -> None:
    async with (
        open_mesh_host(generate("ed25519"), LOCALHOST, forget_after=GRACE_S) as node,
        mesh_host() as connected,
        mesh_host() as member,
        mesh_host() as bootstrap,
    ):
        await connected.dial(address(node))
        await member.dial(address(node))
        await node.dial(address(bootstrap))  # the operator's address: a bootstrap
        await node.disconnect(member.peer_id)
        await node.disconnect(bootstrap.peer_id)
        assert node.prune_peers(keep=set()) == []  # just left: within the grace

        (transient,) = await churn(node, 1)
        assert await prune_until(node, {transient}, keep={member.peer_id}) == {transient}
        assert set(node.known_peers()) == {connected.peer_id, member.peer_id, bootstrap.peer_id}
        peerstore = node._host.get_peerstore()
        transient_id = ID.from_base58(transient)
        assert not peerstore.has_peer(transient_id)  # addresses, keys, protocols, metadata
        assert transient_id not in peerstore.peer_record_map
        assert transient_id not in network(node).connections

        # Once the table no longer holds it, a disconnected member goes too.
        assert await prune_until(node, {member.peer_id}, keep=set()) == {member.peer_id}
        assert set(node.known_peers()) == {connected.peer_id, bootstrap.peer_id}
