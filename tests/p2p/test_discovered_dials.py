"""Peers that discovery finds are dialed by the node itself, through the dial guard."""

import ipaddress

import pytest
import trio

from computemesh.p2p.discovery import DIAL_GRACE_S, Candidates
from computemesh.p2p.plausible import local_networks
from tests.support.mesh_hosts import mesh_host

SETTLE_S = DIAL_GRACE_S + 5.0
ELSEWHERE = ipaddress.ip_address("10.254.77.1")


async def test_a_found_peer_is_dialed() -> None:
    async with mesh_host() as node, mesh_host() as found, trio.open_nursery() as nursery:
        candidates = Candidates(node)
        nursery.start_soon(candidates.dial_forever)
        candidates.offer(found.peer_id, found.listen_addrs())
        with trio.move_on_after(SETTLE_S):
            while not node.is_connected(found.peer_id):  # noqa: ASYNC110
                await trio.sleep(0.05)
        assert node.is_connected(found.peer_id)
        nursery.cancel_scope.cancel()


async def test_a_found_address_that_is_not_plausible_is_never_dialed() -> None:
    if any(ELSEWHERE in network for network in local_networks()):
        pytest.skip(f"{ELSEWHERE} is on a LAN of this machine; the test would dial it")
    async with mesh_host() as node, mesh_host() as found, trio.open_nursery() as nursery:
        candidates = Candidates(node)
        nursery.start_soon(candidates.dial_forever)
        # A private range this machine has no interface in: nobody on our LAN.
        candidates.offer(found.peer_id, [f"/ip4/{ELSEWHERE}/tcp/4001"])
        await trio.sleep(SETTLE_S)
        assert not node.is_connected(found.peer_id)
        assert node.dial_counts()["attempts"] == 0
        assert node.dial_counts()["refused"] >= 1
        nursery.cancel_scope.cancel()
