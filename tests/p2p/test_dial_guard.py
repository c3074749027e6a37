"""Every dial path of a real host goes through the address check and the pacer (dial_guard).

The hosts listen on 127.0.0.1. Addresses that must not be dialed are private ones of
a range no interface here has; the TCP transport is replaced by a recorder that
lets loopback dials through and fails every other at once, so whatever the guard
would let through is seen, and nothing leaves this machine.
"""

import ipaddress
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from typing import Any

import pytest
import trio
from libp2p import new_host
from libp2p.peer.id import ID
from libp2p.transport.exceptions import OpenConnectionError
from multiaddr import Multiaddr

from computemesh.cli.localmesh import free_port
from computemesh.errors import DialError, MeshError
from computemesh.ids import PeerId
from computemesh.p2p.dial_guard import check_targets, existing_connections_only
from computemesh.p2p.host import MeshHost, open_mesh_host
from computemesh.p2p.identity import generate
from computemesh.p2p.plausible import local_networks
from tests.support.mesh_hosts import LOCALHOST, address, mesh_host, network

# A private range, on no interface of this machine (checked below).
ELSEWHERE = "10.77.0.5"


class DialRecorder:
    """The node's TCP transport, recording what it is asked to dial, in order and when."""

    def __init__(self, host: MeshHost) -> None:
        probe = Multiaddr("/ip4/127.0.0.1/tcp/1")
        self.transport: Any = network(host).transport_manager.transport_for_dialing(probe)
        self.dial = self.transport.dial
        self.dialed: list[tuple[float, str]] = []
        self.transport.dial = self.record

    async def record(self, maddr: Multiaddr) -> Any:
        self.dialed.append((trio.current_time(), str(maddr)))
        if not str(maddr).startswith("/ip4/127."):
            raise OpenConnectionError(f"test: {maddr} is not dialed from this machine")
        return await self.dial(maddr)

    def hosts(self) -> set[str]:
        return {addr.split("/")[2] for _, addr in self.dialed}


@asynccontextmanager
async def recorded(**options: Any) -> AsyncIterator[tuple[MeshHost, DialRecorder]]:
    async with open_mesh_host(generate("ed25519"), LOCALHOST, **options) as node:
        yield node, DialRecorder(node)


def some_peer() -> ID:
    return ID.from_base58(generate("ed25519").peer_id)


def test_the_elsewhere_range_is_on_no_interface_here() -> None:
    assert not any(ipaddress.ip_address(ELSEWHERE) in net for net in local_networks())


async def test_py_libp2ps_own_dials_from_the_peerstore_skip_implausible_addresses() -> None:
    async with recorded() as (node, recorder), mesh_host() as peer:
        peer_id = ID.from_base58(peer.peer_id)
        real = Multiaddr(peer.listen_addrs()[0])
        # As identify or gossipsub's peer exchange would store them: bogus first.
        peerstore = node._host.get_peerstore()
        peerstore.add_addrs(peer_id, [Multiaddr(f"/ip4/{ELSEWHERE}/tcp/4001"), real], 600)

        with trio.fail_after(10):
            await network(node).dial_peer(peer_id)  # what new_stream and pubsub call

        assert node.is_connected(peer.peer_id)
        assert ELSEWHERE not in recorder.hosts()


async def test_hole_punching_dials_refuse_an_implausible_address() -> None:
    async with recorded() as (node, recorder):
        with pytest.raises(Exception, match="not a plausible address"):
            await network(node).dial_addr(Multiaddr(f"/ip4/{ELSEWHERE}/tcp/4001"), some_peer())
        assert recorder.dialed == []


async def test_dcutr_responder_dials_refuse_an_implausible_address() -> None:
    """``dial_addr_as_responder`` (DCUtR's initiator side) skips ``_dial_with_retry``:
    a peer's hole-punch message naming 0.0.0.0 or our loopback would be dialed."""
    async with recorded() as (node, recorder):
        for claimed in (f"/ip4/{ELSEWHERE}/tcp/4001", "/ip4/0.0.0.0/tcp/4001"):
            with pytest.raises(Exception, match="not a plausible address"):
                await network(node).dial_addr_as_responder(Multiaddr(claimed), some_peer())
        assert recorder.dialed == []


async def test_a_record_claiming_a_private_address_first_is_dialed_where_plausible() -> None:
    async with recorded() as (node, recorder), mesh_host() as peer:
        claimed = [f"/ip4/{ELSEWHERE}/tcp/4001", *peer.listen_addrs()]
        await node.dial_peer(peer.peer_id, claimed)
        assert node.is_connected(peer.peer_id)
        assert ELSEWHERE not in recorder.hosts()
        assert f"/ip4/{ELSEWHERE}/tcp/4001" not in node.peer_addrs(peer.peer_id)

        with pytest.raises(DialError):
            await node.dial_peer(PeerId(some_peer().to_base58()), [f"/ip4/{ELSEWHERE}/tcp/1"])
        assert ELSEWHERE not in recorder.hosts()
        assert node.dial_counts()["refused"] >= 2


async def test_an_address_the_operator_gave_is_dialed_as_given() -> None:
    async with recorded() as (node, recorder):
        with pytest.raises(DialError):
            await node.dial(f"/ip4/{ELSEWHERE}/tcp/4001/p2p/{some_peer().to_base58()}")
        assert ELSEWHERE in recorder.hosts()


async def test_learned_bootstrap_addresses_are_dialed_only_where_plausible() -> None:
    async with recorded() as (node, recorder), mesh_host() as peer:
        with pytest.raises(DialError):
            await node.dial_learned(f"/ip4/{ELSEWHERE}/tcp/4001/p2p/{peer.peer_id}")
        assert await node.dial_learned(address(peer)) == peer.peer_id
        assert ELSEWHERE not in recorder.hosts()


async def test_connection_attempts_are_paced_whatever_asks_for_them() -> None:
    rate, burst = 5.0, 4
    async with recorded(dial_rate=rate, dial_burst=burst) as (node, recorder):
        closed_ports = [free_port() for _ in range(40)]

        async def dial_one(port: int) -> None:
            with suppress(DialError):
                await node.dial_peer(
                    PeerId(some_peer().to_base58()), [f"/ip4/127.0.0.1/tcp/{port}"]
                )

        with trio.move_on_after(3.0):
            async with trio.open_nursery() as nursery:
                for port in closed_ports:
                    nursery.start_soon(dial_one, port)

        times = [when for when, _ in recorder.dialed]
        assert len(times) > burst  # the dials did run
        for i, start in enumerate(times):
            in_window = [t for t in times[i:] if t - start <= 1.0]
            # Unpaced, all 40 dials (and their three retries each) start at once.
            assert len(in_window) <= burst + rate * 1.0 + 1
        assert node.dial_counts()["attempts"] == len(times)


def test_a_swarm_without_what_the_guard_patches_is_refused_at_start() -> None:
    check_targets(new_host(key_pair=generate("ed25519").key_pair).get_network())

    class Changed:
        async def dial_peer(self, peer_id: ID) -> None:
            return None

    with pytest.raises(MeshError, match=r"written against libp2p==0\.8\.1"):
        check_targets(Changed())


async def test_background_chores_never_dial_a_peer_back() -> None:
    """``new_stream`` dials a peer that has no connection; a dial-back request or a
    reservation renewal racing a disconnect would bring the peer back each time."""
    async with mesh_host() as node, mesh_host() as peer:
        await node.dial(address(peer))
        await node.disconnect(peer.peer_id)
        with existing_connections_only(), pytest.raises(MeshError):
            await node.open_stream(peer.peer_id, "/computemesh-test/chore/1.0.0")
        assert not node.is_connected(peer.peer_id)
