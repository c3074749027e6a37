"""Dial-back reachability between real hosts on 127.0.0.1 (``p2p/reachability.py``).

py-libp2p's AutoNAT answers over the connection that already exists, so every node
is told it is reachable; here the peer opens a new connection to the asker's listen
port, and a port nobody can reach gets "not reachable".
"""

import logging

import pytest
import trio
from multiaddr import Multiaddr

from computemesh.cli.localmesh import free_port
from computemesh.p2p.host import MeshHost
from computemesh.p2p.reachability import Reachability
from tests.support.mesh_hosts import address, mesh_host


async def settled(host: MeshHost) -> Reachability:
    for _ in range(100):
        if host.dialback.status is not Reachability.UNKNOWN:
            break
        await trio.sleep(0.1)
    return host.dialback.status


async def test_a_peer_dials_back_the_listen_port_on_a_new_connection(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async with mesh_host() as asker, mesh_host() as peer:
        with caplog.at_level(logging.ERROR):
            await asker.dial(address(peer))
            assert await settled(asker) is Reachability.PUBLIC
        assert asker.dialback.reached == asker.listen_addrs()
        assert asker.reachability() == "public"
        # The node dialed back ends the connection after the handshake: not an error.
        assert not [r for r in caplog.records if "upgrade mux" in r.getMessage()]


async def test_a_port_nobody_can_reach_is_reported_unreachable() -> None:
    async with mesh_host() as asker, mesh_host() as peer:
        closed = Multiaddr(f"/ip4/127.0.0.1/tcp/{free_port()}")
        asker.dialback._tcp_listen_addrs = lambda: [closed]  # type: ignore[method-assign]
        await asker.dial(address(peer))
        assert await settled(asker) is Reachability.PRIVATE
        assert asker.dialback.reached == []


async def test_py_libp2ps_autonat_reports_a_dead_port_dialable_over_the_open_connection() -> None:
    """The defect this module replaces: AutoNAT's dial-back is ``host.connect``, which
    returns at once when a connection exists (the one the request came over)."""
    from libp2p.host.autonat.autonat import AutoNATService
    from libp2p.peer.id import ID

    async with mesh_host() as asker, mesh_host() as peer:
        await asker.dial(address(peer))
        dead = Multiaddr(f"/ip4/127.0.0.1/tcp/{free_port()}")
        autonat = AutoNATService(peer._host, serve=True)  # type: ignore[arg-type]
        answer = await autonat._try_dial(ID.from_base58(asker.peer_id), [dead.to_bytes()])
        assert answer == dead.to_bytes()  # "reachable" at a port nobody listens on
